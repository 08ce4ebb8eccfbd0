"""XLIFF 1.2 through translate-toolkit: what Weblate, OmegaT, memoQ and Trados open.

One ``<file original="SOURCE">`` per source file, one ``<trans-unit id="KEY">`` per unit.
The target's ``state`` says what the editor is asked to do: ``needs-review-translation``
with ``state-qualifier="mt-suggestion"`` for machine output, ``fuzzy-match`` for a reviewed
translation of the previous Arabic (which also stands in ``<alt-trans>`` with that Arabic,
so the tool can show the difference), and ``final`` (``approved="yes"``) for reviewed work.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from translate.storage import xliff

from ..config import SiteConfig
from ..core.diagnostics import Problem, error
from .exchange import (
    APPROVED_STATES,
    STATE_MACHINE,
    STATE_REVIEWED,
    ExchangeUnit,
    entry_notes,
    offered,
    refuse_entities,
    same_language,
    selected,
)
from .worklist import FileWork, WorkUnit

NAMESPACE = "urn:oasis:names:tc:xliff:document:1.2"
SKELETON = f'<?xml version="1.0" encoding="UTF-8"?>\n<xliff version="1.2" xmlns="{NAMESPACE}"><file original="NoName" source-language="ar" datatype="plaintext"><body/></file></xliff>'
ID_SEPARATOR = "\x04"  # translate-toolkit's between a unit's file and its id


class _Unit12(xliff.xliffunit):
    # Made in 1.2's namespace from the start: a unit made in the toolkit's default (1.1) and
    # moved kept a stray xmlns declaration that strict tools warn about.
    namespace = NAMESPACE


def write_xliff(works: list[FileWork], only: str, config: SiteConfig) -> bytes:
    store = xliff.xlifffile.parsestring(SKELETON.encode("utf-8"))
    store.setsourcelanguage(config.language)
    store.settargetlanguage(config.translation.target)
    for work in works:
        units = [u for u in work.units if selected(u, only)]
        if not units:
            continue
        store.switchfile(work.source_file, createifmissing=True)
        for unit in units:
            _add_unit(store, unit, config)
    for filenode in store.document.getroot().iterchildren(store.namespaced("file")):
        filenode.set("target-language", config.translation.target)
    return bytes(store)


def _add_unit(store: xliff.xlifffile, unit: WorkUnit, config: SiteConfig) -> None:
    node = _Unit12(unit.source)
    node.setid(unit.key)
    store.addunit(node)
    offer = offered(unit)
    for note in entry_notes(unit):
        node.addnote(note, origin="sitegen")
    if unit.previous is not None:
        node.addalttrans(unit.previous.translation, origin="previous-reviewed", lang=config.translation.target, sourcetxt=unit.previous.source)
    if not offer.target:
        return
    node.settarget(offer.target, lang=config.translation.target)
    target = node.xmlelement.find(node.namespaced("target"))
    if offer.approved:
        target.set("state", STATE_REVIEWED)
        node.markapproved(True)
    else:
        target.set("state", STATE_MACHINE)
        target.set("state-qualifier", offer.qualifier)
        node.markapproved(False)


def read_xliff(data: bytes, path: Path, config: SiteConfig) -> tuple[list[ExchangeUnit], list[Problem]]:
    refused = refuse_entities(data)
    if refused:
        return [], [error(path, None, refused)]
    try:
        store = xliff.xlifffile.parsestring(data)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        return [], [error(path, line, f"not well-formed XML ({exc.msg}): the file is damaged or cut short; export again or save it whole from your CAT tool")]
    except (ValueError, AssertionError, StopIteration) as exc:
        return [], [error(path, None, f"not an XLIFF 1.x file ({exc or 'no <file> element'}): export XLIFF 1.2 from your CAT tool")]
    problems = _check_languages(store, path, config)
    units = []
    for node in store.unit_iter():
        source_file, _, key = node.getid().rpartition(ID_SEPARATOR)
        target = node.xmlelement.find(node.namespaced("target"))
        state = target.get("state", "") if target is not None else ""
        approved = state in APPROVED_STATES or (not state and node.xmlelement.get("approved") == "yes")
        units.append(ExchangeUnit(source_file or None, key, str(node.source or ""), str(node.target or ""), approved, node.xmlelement.sourceline))
    return units, problems


def _check_languages(store: xliff.xlifffile, path: Path, config: SiteConfig) -> list[Problem]:
    problems = []
    for filenode in store.document.getroot().iterchildren(store.namespaced("file")):
        source, target = filenode.get("source-language"), filenode.get("target-language")
        if not same_language(source, config.language) or not same_language(target, config.translation.target):
            problems.append(
                error(path, filenode.sourceline, f"<file original={filenode.get('original')!r}> translates {source} → {target}, but the site translates "
                      f"{config.language} → {config.translation.target}: this file is for another project or language pair")
            )
    return problems
