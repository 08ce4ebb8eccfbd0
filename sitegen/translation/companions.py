"""The translation stage: from segments and their memories to English companions.

What a segment needs is looked up in its file's memory; what is missing is sent
to the translator (unless offline), a few requests at a time, and every good
result is journalled at once (journal.py), so an interrupted build loses nothing.
A segment gets a companion only when every one of its units is translated:
never a half-Arabic English page.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import API_KEY_VARIABLE, SiteConfig
from ..content.metadata import derive_title
from ..core.diagnostics import Problem, warning
from ..core.textrules import balance_bidi
from .journal import Journal, JournalLine, finish, fold_file, journal_path, recover
from .memory import (
    Memory,
    MemoryEntry,
    MemoryRead,
    entry_key,
    load_memory,
    memory_path,
    resolve_duplicates,
    save_memory,
)

if TYPE_CHECKING:  # only named in annotations: a build with nothing to do never imports the content parser
    from ..content.segment import Segment


@dataclass(frozen=True)
class Companion:
    """The English version of one segment, assembled from memory entries."""

    title: str
    blocks: tuple[tuple[str, ...], ...]  # translated units, block by block (empty for untranslated blocks)
    providers: tuple[str, ...]
    date: str  # the newest translation date among its units
    reviewed: bool  # every unit reviewed by a person
    opening: str = ""  # the start of the story (its first text that is not a photo's): excerpts


@dataclass(frozen=True)
class Unit:
    key: str
    text: str
    at: str  # "segment.position"
    source_rel: str


@dataclass
class TranslationReport:
    cached: int = 0
    translated: int = 0
    failed: int = 0
    without_companion: list[str] = field(default_factory=list)  # "file (segment n)"

    def summary(self) -> str:
        return f"translations: {self.cached} from memory, {self.translated} new, {self.failed} failed"


ProgressCallback = Callable[[int, int, TranslationReport], None]


def segment_units(segment: Segment, source_language: str, target_language: str) -> list[Unit]:
    if not segment.translate:
        return []
    return [
        Unit(entry_key(text, source_language, target_language), text, f"{segment.number}.{position}", segment.source_rel)
        for position, text in enumerate(segment.units, start=1)
    ]


@dataclass(frozen=True)
class FileTranslations:
    """One source file's English side, from its memory alone (no network)."""

    companions: dict[int, Companion]  # by segment number
    missing: tuple[Unit, ...]  # units the memory lacks, to translate online
    cached: int
    without_companion: tuple[str, ...]
    problems: tuple[Problem, ...]
    memory_readable: bool


def file_translations(source_rel: str, segments: Sequence[Segment], config: SiteConfig, *, write_memory: bool, read: MemoryRead | None = None) -> FileTranslations:
    """Look up a file's units in its memory, tidy the memory (saved when allowed) and assemble
    companions. ``read``: the memory file as just read (memory.read_memory_bytes)."""
    source_language, target_language = config.language, config.translation.target
    memory, problems = read_memory(config, source_rel, read)
    # Keyed once: a key hashes its paragraph's normalised text (a tenth of a file's time here, twice).
    units_of = {s.number: segment_units(s, source_language, target_language) for s in segments}
    units = [u for s in segments for u in units_of[s.number]]
    if memory is None:  # unreadable: reported, never overwritten, no companion
        return FileTranslations({}, (), 0, tuple(f"{source_rel} (segment {s.number})" for s in segments if s.translate), tuple(problems), False)
    known = memory.lookup()
    missing = tuple({u.key: u for u in units if u.key not in known}.values())
    cached = sum(1 for u in units if u.key in known)
    final, notes = _tidy(memory, units)
    problems += notes
    if write_memory and final != memory and (final.entries or final.path.exists()):
        save_memory(final)
    lookup = final.lookup()
    companions: dict[int, Companion] = {}
    without: list[str] = []
    for segment in segments:
        if not segment.translate:
            continue
        companion = _assemble(segment, units_of[segment.number], lookup)
        if companion is None:
            without.append(f"{segment.source_rel} (segment {segment.number})")
        else:
            companions[segment.number] = companion
    return FileTranslations(companions, missing, cached, tuple(without), tuple(problems), True)


def read_memory(config: SiteConfig, source_rel: str, read: MemoryRead | None = None) -> tuple[Memory | None, list[Problem]]:
    """A source file's memory as the build uses it: read with the guards of its folder, one
    entry per key (a reviewed one first). ``None``: unreadable, or two reviewed translations
    to choose between; then nothing is translated into it and it is never written."""
    path = memory_path(config.memory_dir, source_rel, config.translation.target)
    memory, problems = load_memory(path, source_rel, config.language, config.translation.target, memory_dir=config.memory_dir, read=read)
    if memory is None:
        return None, problems
    settled, found = resolve_duplicates(memory)
    return settled, problems + found


def recover_translations(config: SiteConfig, sources: Sequence[str]) -> list[Problem]:
    """Fold into the memories the translations an interrupted build journalled (journal.py)."""
    return recover(config.memory_dir, config.translation.target, config.language, sources, lambda rel: read_memory(config, rel))


def translate_missing(
    missing_by_file: dict[str, Sequence[Unit]],
    config: SiteConfig,
    translator_factory: Callable[[], object],
    report: TranslationReport,
    progress: ProgressCallback | None = None,
    ready: Callable[[str], None] | None = None,
) -> list[Problem]:
    """Ask the service for what the memories lack; every result is kept as it arrives.

    ``ready(source_rel)``: called as soon as a file has every outcome it was waiting for and
    its memory is written, while the other requests go on (the build makes its pages then).
    A file with nothing to ask for, or whose outcomes an interruption cut short, is not named:
    the caller knows which files it gave."""
    problems: list[Problem] = []
    memories: dict[str, Memory] = {}
    units: list[Unit] = []
    for source_rel, file_units in missing_by_file.items():
        memory, found = read_memory(config, source_rel)  # its warnings were given by file_translations
        if memory is None:
            problems += found
            continue
        memories[source_rel] = memory
        known = memory.lookup()
        units += [u for u in file_units if u.key not in known]
    if not units:
        return problems
    translator = _make_translator(translator_factory, config, problems)
    if translator is not None:
        _translate_missing(units, translator, config, memories, report, problems, progress, ready)
    return problems


def _make_translator(factory: Callable[[], object], config: SiteConfig, problems: list[Problem]) -> object | None:
    """The translator, or a warning saying why there is none (a missing key never fails a build)."""
    from .failures import TranslationFailed

    try:
        return factory()
    except TranslationFailed as exc:
        problems.append(warning(config.config_path, None, f"no translation this time: {exc.reason}; pages without a complete translation get no English companion"))
        return None


def _translate_missing(
    units: list[Unit],
    translator: object,
    config: SiteConfig,
    memories: dict[str, Memory],
    report: TranslationReport,
    problems: list[Problem],
    progress: ProgressCallback | None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Send what is missing, a few at a time; journal each result as it arrives."""
    # Each result goes to the journal at once, and to its memory file when its file has all its
    # outcomes or when the requests are over (journal.py): a killed build loses nothing, and no
    # file is rewritten per paragraph.
    journal = Journal(journal_path(config.memory_dir, config.translation.target))
    results = _Results(journal, getattr(translator, "provider", config.translation.provider), report, problems, config.memory_dir, memories, ready)
    for unit in units:
        results.waiting[unit.source_rel] = results.waiting.get(unit.source_rel, 0) + 1
    try:
        # closing(): on an interruption the requests in flight are abandoned at once, not when collected.
        with closing(_completed(units, translator.translate, config.translation.concurrency)) as batches:  # type: ignore[attr-defined]
            for batch in batches:
                # Journal every success of this batch before raising anything: an interrupt loses nothing finished.
                interruptions = [results.take(*outcome) for outcome in batch]
                if progress:
                    progress(report.translated + report.failed, len(units), report)
                for interruption in filter(None, interruptions):
                    raise interruption
    finally:
        finish(journal, results.arrived, memories, results.written)


@dataclass
class _Results:
    """Where each finished request goes: the journal and the report, or a warning; and a
    file's memory, once the file has all its outcomes."""

    journal: Journal
    provider: str
    report: TranslationReport
    problems: list[Problem]
    memory_dir: Path
    memories: dict[str, Memory]
    ready: Callable[[str], None] | None = None
    today: str = field(default_factory=lambda: date.today().isoformat())
    arrived: dict[str, list[MemoryEntry]] = field(default_factory=dict)  # not yet in their memory files
    waiting: dict[str, int] = field(default_factory=dict)  # outcomes still to come, by file
    written: set[Path] = field(default_factory=set)  # folders of memories written, not yet synced

    def take(self, unit: Unit, translation: str | None, failure: BaseException | None) -> BaseException | None:
        """Record one request's outcome; an exception that is not a translation failure
        (Ctrl-C in a worker thread, a bug) is returned, for the caller to raise."""
        from .failures import (
            TranslationFailed,  # deep-translator is imported only when needed
        )

        if failure is None:
            self.report.translated += 1
            entry = MemoryEntry(unit.key, unit.text, translation, self.provider, self.today, False, unit.at)
            self.journal.append(JournalLine(unit.source_rel, entry))
            self.arrived.setdefault(unit.source_rel, []).append(entry)
        elif isinstance(failure, TranslationFailed):
            self.report.failed += 1
            message = f"translation of unit {unit.at} failed ({failure.reason}): that segment has no English page this time; the next build retries"
            self.problems.append(warning(self.memory_dir / unit.source_rel, None, message))
        else:
            return failure
        self.waiting[unit.source_rel] -= 1
        if not self.waiting[unit.source_rel]:
            self._file_done(unit.source_rel)
        return None

    def _file_done(self, source_rel: str) -> None:
        folder = fold_file(self.arrived.pop(source_rel, []), self.memories[source_rel])
        if folder is not None:
            self.written.add(folder)
        if self.ready is not None:
            self.ready(source_rel)


Outcome = tuple[Unit, str | None, BaseException | None]  # a request's unit, and its translation or what it raised


def _completed(units: list[Unit], translate: Callable[[str], str], concurrency: int) -> Iterator[list[Outcome]]:
    """The requests, ``concurrency`` at a time: each batch of outcomes that arrived since the
    last, in document order.

    Each of ``concurrency`` threads takes the next unit as soon as it has finished one, and
    puts its outcome in a queue this thread reads. (Through a pool of futures, every request
    also cost this thread, which journals the results, a future to make and a wait over the
    ones in flight: more of the process's time than the request's own.) When the caller stops
    (Ctrl-C, a crash), no thread starts another request, and none is waited for: a request in
    flight may take its whole timeout, and its outcome is dropped.
    """
    todo: queue.SimpleQueue[Unit] = queue.SimpleQueue()
    for unit in units:
        todo.put(unit)
    done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                unit = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((unit, translate(unit.text), None))
            except BaseException as exc:  # the caller judges it: a failure, or a reason to stop
                done.put((unit, None, exc))
                if not isinstance(exc, Exception):
                    return  # Ctrl-C and the like: this thread asks for nothing more

    threads = [threading.Thread(target=work, name=f"translator-{n}", daemon=True) for n in range(max(1, min(concurrency, len(units))))]
    for thread in threads:
        thread.start()
    left = len(units)
    try:
        while left:
            batch = [done.get()]
            while True:
                try:
                    batch.append(done.get_nowait())
                except queue.Empty:
                    break
            left -= len(batch)
            yield sorted(batch, key=lambda outcome: outcome[0].at)
    finally:
        stop.set()
    for thread in threads:
        thread.join()  # all ended, or ending: none is alive when the build next forks workers


def _tidy(memory: Memory, units: list[Unit]) -> tuple[Memory, list[Problem]]:
    """Entries in document order; unused machine output pruned; reviewed work always kept.

    Linear in entries and units: a memory of thousands of reviewed entries whose Arabic all
    changed is an ordinary day after a large edit.
    """
    by_key = memory.lookup()
    reviewed_at = {e.at: e for e in memory.entries if e.reviewed}
    current = {u.key for u in units}
    entries: list[MemoryEntry] = []
    used: set[str] = set()
    notes: list[Problem] = []
    stale: list[MemoryEntry] = [e for e in memory.entries if e.stale]
    stale_keys = {e.key for e in stale}
    for unit in units:
        if unit.key in used:
            continue
        entry = by_key.get(unit.key)
        old = reviewed_at.get(unit.at)
        if old is not None and old.key != unit.key and old.key not in current:
            if not old.stale:
                stale.append(replace(old, stale=True))
                stale_keys.add(old.key)
                notes.append(
                    warning(
                        memory.path,
                        None,
                        f"reviewed translation of {memory.source_file} unit {unit.at} went stale: the Arabic changed, "
                        "so the new text is translated again and the old reviewed one is kept (stale: true) for an editor to compare",
                    )
                )
        if entry is None:
            continue
        used.add(unit.key)
        if entry.stale:
            entry = replace(entry, stale=False)  # its very Arabic is back (an edit undone): current again
        elif entry.at != unit.at and not entry.reviewed:
            entry = replace(entry, at=unit.at)
        entries.append(entry)
    for entry in memory.entries:
        # Reviewed work never disappears silently, even when its paragraph is gone.
        if entry.reviewed and not entry.stale and entry.key not in current and entry.key not in stale_keys:
            stale.append(replace(entry, stale=True))
            stale_keys.add(entry.key)
            notes.append(
                warning(memory.path, None, f"reviewed translation at {entry.at or '?'} no longer matches any text of {memory.source_file}: kept as stale for an editor")
            )
    for entry in memory.entries:
        if entry.stale and entry.key not in current:
            notes.append(
                warning(memory.path, None, f"stale reviewed translation of unit {entry.at or '?'} kept for an editor (stale: true): compare it with the new one, then delete it")
            )
    seen_stale: set[str] = set()
    unique_stale = []
    for entry in sorted(stale, key=lambda e: (e.at, e.key)):
        if entry.key not in seen_stale and entry.key not in used:
            seen_stale.add(entry.key)
            unique_stale.append(entry)
    return memory.with_entries(entries + unique_stale), notes


def _assemble(segment: Segment, units: list[Unit], lookup: dict[str, MemoryEntry]) -> Companion | None:
    """The segment's companion from the memory's entries of its ``units`` (segment_units);
    None if one is missing."""
    entries = []
    for unit in units:
        entry = lookup.get(unit.key)
        if entry is None:
            return None
        entries.append(entry)
    if not entries:
        return None
    position = 0
    title = None
    if segment.title_given:
        title = balance_bidi(entries[0].translation)  # a reviewed entry is hand-edited text
        position = 1
    blocks = []
    for block in segment.blocks:
        count = len(block.units)
        blocks.append(tuple(e.translation for e in entries[position : position + count]))
        position += count
    # A photo's alt text is not the story: titles and excerpts start at the first prose.
    first = next((" ".join(b) for b, block in zip(blocks, segment.blocks) if b and block.photo is None), "")
    if title is None:
        title = balance_bidi(derive_title(first))
    return Companion(
        title=title,
        blocks=tuple(blocks),
        providers=tuple(sorted({e.provider for e in entries})),
        date=max(e.date for e in entries),
        reviewed=all(e.reviewed for e in entries),
        opening=first,
    )


def api_key_from_environment() -> str | None:
    return os.environ.get(API_KEY_VARIABLE) or None


def memory_file_for(config: SiteConfig, source_rel: str) -> Path:
    return memory_path(config.memory_dir, source_rel, config.translation.target)


