"""Folding an edited exchange file back into the memories, safely.

The rules, each for a reason:

* a unit the editor changed (its text, or approved it) becomes ``reviewed: true`` with the
  editor's text; ``as_machine`` keeps it unreviewed (output of another engine, say);
* a unit sent back as it came changes nothing: unchanged files stay byte-identical;
* a reviewed entry is never replaced by machine output (``as_machine``);
* a unit whose Arabic is no longer in its source file (changed since the export) is refused,
  with its file and reason: its translation would be of text the site no longer has;
* a unit whose Arabic was edited in the CAT tool, or whose target holds markup the Arabic
  does not, is refused: translations are plain text and only the English may change;
* the file as a whole must be usable first: well-formed, for this language pair, each unit
  once. Otherwise nothing is written at all. Memories are then written with atomic renames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..core.diagnostics import Problem, error, warning
from ..core.textrules import collapse_spaces
from .exchange import KEY_PATTERN, ExchangeUnit, offered
from .memory import Memory, MemoryEntry, entry_key, save_memory
from .worklist import FileWork, WorkUnit

EDITOR_PROVIDER, IMPORTED_PROVIDER = "editor", "imported"
_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>?")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class ImportPlan:
    """What an import would do: the memories to write and every unit it refused."""

    memories: dict[str, Memory] = field(default_factory=dict)  # by source file, only changed ones
    applied: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    blocked: bool = False  # the file as a whole cannot be used: nothing is written

    @property
    def refused(self) -> int:
        return sum(1 for p in self.problems if p.is_error)


@dataclass(frozen=True)
class _Site:
    works: dict[str, FileWork]
    path: Path  # the exchange file, for messages
    as_machine: bool
    today: str


def plan_import(units: list[ExchangeUnit], works: list[FileWork], path: Path, *, as_machine: bool) -> ImportPlan:
    """Judge every unit against the memories as they are now; write nothing."""
    site = _Site({w.source_file: w for w in works}, path, as_machine, date.today().isoformat())
    plan = ImportPlan()
    duplicates = _duplicates(units, path)
    if duplicates:
        plan.problems += duplicates
        plan.blocked = True
        return plan
    for unit in units:
        for source_file in _files_for(unit, site):
            _judge(unit, source_file, site, plan)
        if unit.source_file is None and not _files_for(unit, site) and unit.target.strip():
            plan.problems.append(warning(path, unit.line, f"unit {unit.key}: its Arabic is in no source file of the site: skipped"))
    return plan


def commit(plan: ImportPlan) -> None:
    """Write every changed memory: each by an atomic rename, after every unit was judged."""
    if plan.blocked:
        return
    for memory in plan.memories.values():
        save_memory(memory)


def _duplicates(units: list[ExchangeUnit], path: Path) -> list[Problem]:
    """One unit twice (a merge of two exports): which translation wins cannot be guessed."""
    first_line: dict[tuple[str | None, str], int | None] = {}
    problems = []
    for unit in units:
        where = (unit.source_file, unit.key)
        if where in first_line:
            problems.append(error(path, unit.line, f"unit {unit.key} of {unit.source_file or 'the file'} appears twice (first at line {first_line[where] or '?'}): keep one and import again"))
        else:
            first_line[where] = unit.line
    return problems


def _files_for(unit: ExchangeUnit, site: _Site) -> list[str]:
    if unit.source_file is not None:
        return [unit.source_file]
    # A TMX made elsewhere says no file: its pair serves wherever the site has that Arabic.
    return [name for name, work in site.works.items() if any(u.key == unit.key for u in work.units)]


def _judge(unit: ExchangeUnit, source_file: str, site: _Site, plan: ImportPlan) -> None:
    path, where = site.path, f"unit {unit.key} of {source_file}"
    work = site.works.get(source_file)
    if work is None:
        plan.problems.append(error(path, unit.line, f"{where}: unknown source file {source_file!r}: this file is from another site, or the article was renamed; export again"))
        return
    if not KEY_PATTERN.fullmatch(unit.key) or not unit.source.strip():
        plan.problems.append(error(path, unit.line, f"unit id {unit.key!r} of {source_file} is not one an export writes: unknown unit, skipped; export again"))
        return
    current = next((u for u in work.units if u.key == unit.key), None)
    if current is None:
        _refuse_gone(unit, work, where, site, plan)
        return
    if work.memory is None:
        plan.problems.append(error(path, unit.line, f"{where}: the memory of {source_file} cannot be read (see above): fix it first"))
        return
    problem = _hostile(unit, current, where, path)
    if problem is not None:
        plan.problems.append(problem)
        return
    entry = _new_entry(unit, current, site)
    if entry is None:
        plan.unchanged += 1
        return
    if current.entry is not None and current.entry.reviewed and (site.as_machine or not unit.approved):
        # An unapproved unit (fuzzy, needs review) over reviewed work is most often an older
        # export sent back late: the editor's newer work wins unless the unit is approved.
        why = "import without --as-machine to replace it as an editor" if site.as_machine else "approve the unit in your tool (final, or not fuzzy) to replace it"
        plan.problems.append(error(path, unit.line, f"{where} (place {current.at}) refused: a reviewed translation is never replaced by machine or unapproved output: {why}"))
        return
    memory = plan.memories.get(source_file, work.memory)
    plan.memories[source_file] = _with_entry(memory, entry, None if site.as_machine else current.previous)
    plan.applied += 1


def _refuse_gone(unit: ExchangeUnit, work: FileWork, where: str, site: _Site, plan: ImportPlan) -> None:
    """The unit's Arabic is not in the source now: refused, unless it is sent back unchanged."""
    held = next((e for e in (work.memory.entries if work.memory else ()) if e.key == unit.key), None)
    if not unit.target.strip() or (held is not None and unit.target == held.translation):
        plan.unchanged += 1  # nothing to import, or a stale pair sent back as it went out (a TMX)
        return
    memory = work.memory
    if held is None and memory is not None and entry_key(unit.source, memory.source_language, memory.target_language) != unit.key:
        reason = "unknown unit id: it matches no text of the file and not its own Arabic (was the id edited?)"
    else:
        reason = "its Arabic changed since the export (this text is no longer in the file)"
    place = f" (was place {held.at})" if held is not None and held.at else ""
    plan.problems.append(error(site.path, unit.line, f"{where}{place} refused: {reason}; export again and translate the new text"))


def _hostile(unit: ExchangeUnit, current: WorkUnit, where: str, path: Path) -> Problem | None:
    if unit.source != current.source and collapse_spaces(unit.source) != collapse_spaces(current.source):
        return error(path, unit.line, f"{where} refused: its Arabic was edited in the exchange file; only the English may change (correct the Arabic in content/ instead)")
    tags = [t for t in _TAG.findall(unit.target) if t not in current.source]
    if tags:
        return error(path, unit.line, f"{where} refused: the translation holds markup ({tags[0][:40]!r}); translations are plain text: remove it")
    if _CONTROL.search(unit.target):
        return error(path, unit.line, f"{where} refused: the translation holds control characters: remove them")
    return None


def _new_entry(unit: ExchangeUnit, current: WorkUnit, site: _Site) -> MemoryEntry | None:
    """The entry the editor's unit makes, or None when it changes nothing."""
    offer = offered(current)
    target = unit.target
    if not target.strip():
        return None  # left empty: nothing to import
    text_changed = target != offer.target
    approved_now = unit.approved and not offer.approved and not site.as_machine
    if not text_changed and not approved_now:
        return None
    held = current.entry
    if site.as_machine:
        return MemoryEntry(current.key, current.source, target, IMPORTED_PROVIDER, site.today, False, current.at)
    kept = held is not None and not text_changed
    return MemoryEntry(
        key=current.key,
        source=current.source,
        translation=target,
        provider=held.provider if kept else EDITOR_PROVIDER,
        date=site.today,
        reviewed=True,
        at=current.at,
        note=held.note if kept else "",
    )


def _with_entry(memory: Memory, entry: MemoryEntry, settled: MemoryEntry | None) -> Memory:
    """``memory`` with ``entry`` in place of its key's entry (or at its place in document
    order); the stale entry it settles, if any, removed: the editor has compared the two."""
    entries = [e for e in memory.entries if not (settled is not None and e.key == settled.key and e.reviewed)]
    for index, held in enumerate(entries):
        if held.key == entry.key:
            entries[index] = entry
            return memory.with_entries(entries)
    position = next((i for i, held in enumerate(entries) if _place(held.at) > _place(entry.at)), len(entries))
    entries.insert(position, entry)
    return memory.with_entries(entries)


def _place(at: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in at.split("."))
    except ValueError:
        return (1 << 30,)

