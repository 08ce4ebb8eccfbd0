"""gettext PO through translate-toolkit: what Weblate, Poedit and Lokalize open.

``msgctxt`` is the memory key (two paragraphs are never merged by a tool because their
Arabic looks alike), ``#: FILE:PLACE`` the source file and place, ``#, fuzzy`` marks what
a person has not approved (machine output, or a reviewed translation of the previous
Arabic), and ``#| msgid`` holds that previous Arabic, so Poedit and Weblate show the change.
An editor approves by removing ``fuzzy``, or by changing the text.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path

from translate.storage import pypo
from translate.storage.poparser import PoParseError

from ..config import SiteConfig
from ..core.diagnostics import Problem, error
from .exchange import ExchangeUnit, entry_notes, offered, same_language, selected
from .worklist import FileWork, WorkUnit

_PARSE_LINE = re.compile(r"\bline (\d+)")
_CONTEXT_LINE = re.compile(r'^msgctxt\s+".*?([0-9a-fA-F]{16})"\s*$')


def write_po(works: list[FileWork], only: str, config: SiteConfig) -> bytes:
    store = pypo.pofile()
    store.init_headers(
        charset="UTF-8",
        encoding="8bit",
        project_id_version=config.title,
        po_revision_date=True,
        last_translator="",
        language_team="",
        Language=config.translation.target,
        X_Source_Language=config.language,
    )
    seen: set[str] = set()
    for work in works:
        for unit in work.units:
            if selected(unit, only):
                _add_unit(store, unit, seen)
    return bytes(store)


def _add_unit(store: pypo.pofile, unit: WorkUnit, seen: set[str]) -> None:
    node = store.addsourceunit(unit.source)
    # msgctxt is the key; the same paragraph in a second file (the same key) gets its file
    # in front, or the catalogue would hold one message twice, which gettext tools refuse.
    node.setcontext(unit.key if unit.key not in seen else f"{unit.source_file}:{unit.key}")
    seen.add(unit.key)
    node.addlocation(f"{unit.source_file}:{unit.at}")
    for note in entry_notes(unit):
        node.addnote(note, origin="developer")
    if unit.previous is not None:
        node.prev_source = unit.previous.source
    offer = offered(unit)
    node.target = offer.target
    node.markfuzzy(bool(offer.target) and not offer.approved)


def read_po(data: bytes, path: Path, config: SiteConfig) -> tuple[list[ExchangeUnit], list[Problem]]:
    try:
        store = pypo.pofile.parsestring(data)
    except PoParseError as exc:
        match = _PARSE_LINE.search(str(exc))
        return [], [error(path, int(match.group(1)) if match else None, f"PO syntax error ({_first_line(exc)}): the file is damaged or cut short; export again or fix that line")]
    except (UnicodeDecodeError, ValueError) as exc:
        return [], [error(path, None, f"cannot read the PO file ({_first_line(exc)}): save it as UTF-8 from your tool")]
    problems = []
    header = store.parseheader()
    target, source = header.get("Language"), header.get("X-Source-Language")
    if not same_language(target, config.translation.target) or not same_language(source, config.language):
        problems.append(error(path, 1, f"the catalogue translates {source or '?'} → {target or '?'}, but the site translates {config.language} → {config.translation.target}: this file is for another project or language pair"))
    lines = _context_lines(data)
    units = []
    for node in store.unit_iter():
        context = node.getcontext() or ""
        key = context.rpartition(":")[2]
        waiting = lines.get(key.lower())
        line = waiting.popleft() if waiting else None
        files = [loc.rpartition(":")[0] or loc for loc in node.getlocations()] or [None]
        for source_file in dict.fromkeys(files):
            units.append(ExchangeUnit(source_file, key, str(node.source or ""), str(node.target or ""), bool(node.target) and not node.isfuzzy(), line))
    return units, problems


def _context_lines(data: bytes) -> dict[str, deque[int | None]]:
    """Line of each ``msgctxt "KEY"``, in order: the toolkit's units do not keep their lines.
    (Queues: a catalogue of thousands of units under one key takes them from the front.)"""
    found: dict[str, deque[int | None]] = {}
    for number, text in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        match = _CONTEXT_LINE.match(text)
        if match:
            found.setdefault(match.group(1).lower(), deque()).append(number)
    return found


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
