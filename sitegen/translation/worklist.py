"""What an editor has to do: every unit of every source file, with its memory entry and state.

The build decides per unit whether the memory has it (companions.py); an editor needs the
same view across the whole site, and without a build: what is missing, what the machine
made and nobody has read, what a person reviewed, and which reviewed translations went
stale because the Arabic under them changed. ``translations status``, ``export``, ``import``
and ``review`` all start from this survey, so they agree with each other and with the build.

Read only: sources are read and split as the build does (drafts left out, as a build without
``--drafts`` does), memories are read with the build's guards; nothing is written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import SiteConfig
from ..content.segment import build_segments
from ..content.sources import discover_sources, read_source
from ..core.diagnostics import Problem
from .companions import Unit, read_memory, segment_units
from .memory import Memory, MemoryEntry
from .site_words import SITE_SOURCE, site_units
from .term_words import TAGS_SOURCE, tag_spellings, tag_units

MISSING, MACHINE, REVIEWED = "missing", "machine", "reviewed"


@dataclass(frozen=True)
class WorkUnit:
    """One paragraph (or given title) of a source file as it stands now."""

    source_file: str
    key: str
    at: str
    source: str  # the current Arabic
    entry: MemoryEntry | None  # its memory entry; None when missing
    previous: MemoryEntry | None = None  # a reviewed translation of the Arabic this place held before

    @property
    def state(self) -> str:
        if self.entry is None:
            return MISSING
        # A stale entry whose very Arabic is back is current again (the build un-stales it).
        return REVIEWED if self.entry.reviewed else MACHINE


@dataclass(frozen=True)
class FileWork:
    """One source file: its current units, its memory, and the reviewed entries gone stale."""

    source_file: str
    memory: Memory | None  # None: unreadable (reported); nothing may be written to it
    units: tuple[WorkUnit, ...]
    stale: tuple[MemoryEntry, ...]  # reviewed entries whose Arabic is no longer in the file

    def counts(self) -> dict[str, int]:
        found = {MISSING: 0, MACHINE: 0, REVIEWED: 0}
        for unit in self.units:
            found[unit.state] += 1
        return found | {"stale": len(self.stale)}


def survey(config: SiteConfig) -> tuple[list[FileWork], list[Problem]]:
    """Every source file's work, in the order of the content folder, and the problems met."""
    paths, problems = discover_sources(config.content_dir)
    works: list[FileWork] = []
    tags: list[tuple[str, ...]] = []
    for path in paths:
        units, found, file_tags = current_units(path, config)
        problems += found
        tags += file_tags
        if units is None:
            continue
        rel = path.relative_to(config.content_dir.resolve()).as_posix()  # as the build names it
        memory, found = read_memory(config, rel)
        problems += found
        works.append(file_work(rel, memory, units))
    site = site_units(config)  # the site's name and description, when site.yml gives no English ones
    if site:
        memory, found = read_memory(config, SITE_SOURCE)
        problems += found
        works.append(file_work(SITE_SOURCE, memory, site))
    named = tag_units(config, tag_spellings(tags))  # tags without an English name in site.yml
    if named:
        memory, found = read_memory(config, TAGS_SOURCE)
        problems += found
        works.append(file_work(TAGS_SOURCE, memory, named))
    return works, problems


def current_units(path: Path, config: SiteConfig) -> tuple[list[Unit] | None, list[Problem], list[tuple[str, ...]]]:
    """The units a build without ``--drafts`` translates in one source file, once each; and
    the tags of its segments (their names are units of the tags' memory)."""
    source, problems = read_source(path, config.content_dir)
    if source is None:
        return None, problems, []
    segments, found = build_segments(source, None)  # dates play no part in what is translated
    units: dict[str, Unit] = {}
    tags = []
    for segment in segments:
        if segment.draft:
            continue
        tags.append(segment.tags)
        for unit in segment_units(segment, config.language, config.translation.target):
            units.setdefault(unit.key, unit)  # a paragraph repeated is one entry in the memory
    return list(units.values()), problems + found, tags


def file_work(source_file: str, memory: Memory | None, units: list[Unit]) -> FileWork:
    """Pair each unit with its entry, and each changed place with the reviewed text it had."""
    if memory is None:
        return FileWork(source_file, None, tuple(WorkUnit(source_file, u.key, u.at, u.text, None) for u in units), ())
    lookup = memory.lookup()
    current = {u.key for u in units}
    # A reviewed entry whose Arabic is gone: stale, whether or not a build has marked it yet.
    stale = tuple(e for e in memory.entries if e.reviewed and e.key not in current)
    stale_at = {}
    for entry in stale:
        stale_at.setdefault(entry.at, entry)
    work = tuple(WorkUnit(source_file, u.key, u.at, u.text, lookup.get(u.key), stale_at.get(u.at)) for u in units)
    return FileWork(source_file, memory, work, stale)


def totals(works: list[FileWork]) -> dict[str, int]:
    summed = {MISSING: 0, MACHINE: 0, REVIEWED: 0, "stale": 0}
    for work in works:
        for name, count in work.counts().items():
            summed[name] += count
    return summed
