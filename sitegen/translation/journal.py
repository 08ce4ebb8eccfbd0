"""A write-ahead journal of finished translations, folded into the memories.

A translation the service returned is paid for: a build killed at any moment must not lose
it. Rewriting (and fsyncing) a file's whole memory for each paragraph kept that promise at a
cost that grew with the archive: a first translation of 50,000 paragraphs took longer in our
client than at the service. Instead each result is appended, as one JSON line, to a journal
beside the memories (one ``write``: a killed process cannot undo it), flushed to disk in
groups (``GROUP_COMMIT_SECONDS``). Every touched memory is rewritten once: as soon as its
file has all its results (``fold_file``: the build makes that file's pages while the other
requests go on), or when the requests are over; then all of them are synced together
(``make_durable``) and only then is the journal removed. A journal left by a killed build is folded in by the
next build before it reads any memory (``recover``), so the next build sees every paragraph
the killed one paid for, and only the committed YAML files remain.

The journal lives in the memory folder, which a checkout can plant anything in: it is read
like a memory (a regular file of bounded size, never through a link leading out of the
folder), each line is checked (its key must be the hash of its text, its file one of the
site's sources) and it only ever adds entries a memory lacks: it never replaces one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core.diagnostics import Problem, warning
from ..core.fsutil import fsync_dir, sync_filesystem, write_all, write_atomic
from .memory import (
    Memory,
    MemoryEntry,
    entry_key,
    read_memory_bytes,
    save_memory,
    sweep_stale_temporaries,
)

# How long a finished translation may wait in the page cache before it is forced to disk.
# A killed process loses nothing either way (the kernel has the bytes after ``write``);
# this bounds what a power cut can take.
GROUP_COMMIT_SECONDS = 0.5
_REQUIRED = ("file", "key", "source", "translation", "provider", "date")


def journal_path(memory_dir: Path, target_language: str) -> Path:
    return memory_dir / f".journal.{target_language}.jsonl"


@dataclass(frozen=True)
class JournalLine:
    """One finished translation: which source file's memory it belongs to, and the entry."""

    source_rel: str
    entry: MemoryEntry

    def encode(self) -> bytes:
        e = self.entry
        record = {"file": self.source_rel, "key": e.key, "at": e.at, "source": e.source, "translation": e.translation, "provider": e.provider, "date": e.date}
        # ensure_ascii: a line is one line whatever the text holds (U+2028 included).
        return json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


class Journal:
    """The open journal of one build's translations (this thread only writes it)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():  # planted: never written through
            path.unlink()
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        self._fd = os.open(path, flags, 0o644)
        self._synced_at = time.monotonic()
        self._unsynced = False

    def append(self, line: JournalLine) -> None:
        data = line.encode()
        try:
            write_all(self._fd, data)  # a regular file takes it all at once; be exact anyway
        except OSError as exc:  # a full disk: say which file, as for a memory
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        self._unsynced = True
        if time.monotonic() - self._synced_at >= GROUP_COMMIT_SECONDS:
            self.sync()

    def sync(self) -> None:
        if self._unsynced:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(self.path)) from None
            self._unsynced = False
        self._synced_at = time.monotonic()

    def close(self) -> None:
        self.sync()
        os.close(self._fd)

    def discard(self) -> None:
        """Everything in it is in the memories (durably): it is no longer needed."""
        remove_journal(self.path)


def remove_journal(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    fsync_dir(path.parent)


def finish(journal: Journal, entries_by_file: dict[str, list[MemoryEntry]], memories: dict[str, Memory], written: Iterable[Path] = ()) -> None:
    """The requests are over (or interrupted): each touched memory written once, then no journal.

    ``written``: the folders of memories already written during the requests (``fold_file``),
    whose files are made durable here with the rest before the journal goes."""
    journal.close()
    make_durable(set(written) | fold(entries_by_file, memories))
    journal.discard()


def fold(entries_by_file: dict[str, list[MemoryEntry]], memories: dict[str, Memory]) -> set[Path]:
    """Write each memory once with the entries it lacks (``fold_file``); the folders written to,
    for ``make_durable``."""
    folders = set()
    for source_rel, new in entries_by_file.items():
        folder = fold_file(new, memories[source_rel])
        if folder is not None:
            folders.add(folder)
    return folders


def fold_file(new: list[MemoryEntry], memory: Memory) -> Path | None:
    """Write ``memory`` with the entries of ``new`` it lacks, in document order (as the build's
    tidying puts them, so the next pass does not rewrite a file only to reorder it); its folder
    if it was written. Not yet durable: the journal that holds the entries stays until
    ``make_durable`` has run over every folder written.

    ``memory``: the file's Memory as read before. An entry for a key the memory has is
    dropped: the journal only ever adds, never replaces (a reviewed entry above all).
    """
    known = {e.key for e in memory.entries}
    added: dict[str, MemoryEntry] = {}
    for entry in sorted(new, key=_document_order):
        if entry.key not in known:
            added.setdefault(entry.key, entry)
    if not added:
        return None
    try:
        save_memory(memory.with_entries(memory.entries + tuple(added.values())), many=True)
    except OSError as exc:  # a full disk: say which memory (the journal keeps every result)
        raise OSError(exc.errno, exc.strerror, exc.filename or str(memory.path)) from None
    return memory.path.parent


def make_durable(folders: set[Path]) -> None:
    """The memories written in ``folders`` on disk together, before the journal that also holds
    them may go: one sync per filesystem."""
    for folder in {os.stat(f).st_dev: f for f in sorted(folders)}.values():
        sync_filesystem(folder)
    for folder in sorted(folders):
        sweep_stale_temporaries(folder)


def _document_order(entry: MemoryEntry) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in entry.at.split("."))
    except ValueError:
        return (0,)


def recover(memory_dir: Path, target_language: str, source_language: str, sources: Iterable[str], read_memory: Callable[[str], tuple[Memory | None, list[Problem]]]) -> list[Problem]:
    """Fold a journal left by an interrupted build into the memories; the warnings it gives.

    ``read_memory(source_rel)`` gives a file's memory as the build reads it (None when it
    cannot be read: that file's lines stay in the journal for a later build). ``sources``:
    the site's source files; a line for any other file is dropped with a warning.
    """
    path = journal_path(memory_dir, target_language)
    data, problem = read_memory_bytes(path, memory_dir)
    if problem is not None:
        return [problem]
    if data is None:
        return []
    problems: list[Problem] = []
    by_file: dict[str, list[MemoryEntry]] = {}
    for line in _read_lines(path, data, (source_language, target_language), frozenset(sources), problems):
        by_file.setdefault(line.source_rel, []).append(line.entry)
    memories: dict[str, Memory] = {}
    waiting: list[JournalLine] = []
    for source_rel, entries in by_file.items():
        memory, _ = read_memory(source_rel)  # its own problems are the build's to report
        if memory is None:
            waiting += [JournalLine(source_rel, e) for e in entries]
        else:
            memories[source_rel] = memory
    make_durable(fold({rel: by_file[rel] for rel in memories}, memories))
    if waiting:
        problems.append(warning(path, None, f"{len(waiting)} paid-for translation(s) wait here for memories that cannot be read now: fix those files; the next build adds them"))
        write_atomic(path, b"".join(line.encode() for line in waiting), durable=True)
    else:
        remove_journal(path)
    return problems


def _read_lines(path: Path, data: bytes, languages: tuple[str, str], sources: frozenset[str], problems: list[Problem]) -> list[JournalLine]:
    """The journal's valid lines, and a warning naming the line of each one dropped.

    A last line without its line break was cut short by a power cut during its write: it was
    never a finished translation, and is dropped quietly.
    """
    found: list[JournalLine] = []
    for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
        if not raw.strip():
            continue
        line, why = _parse_line(raw, languages, sources)
        if line is None:
            problems.append(warning(path, number, f"journal line dropped: {why}"))
        else:
            found.append(line)
    return found


def _parse_line(raw: bytes, languages: tuple[str, str], sources: frozenset[str]) -> tuple[JournalLine | None, str]:
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, "not a JSON object"
    if not isinstance(record, dict) or not all(isinstance(record.get(name), str) and record[name].strip() for name in _REQUIRED):
        return None, f"needs the text fields {', '.join(_REQUIRED)}"
    if not isinstance(record.get("at", ""), str):
        return None, "'at' must be text"
    if record["file"] not in sources:
        return None, f"{record['file']!r} is not one of the site's source files"
    if entry_key(record["source"], *languages) != record["key"]:
        return None, "its key is not the hash of its text"
    entry = MemoryEntry(record["key"], record["source"], record["translation"], record["provider"], record["date"], False, record.get("at", ""))
    return JournalLine(record["file"], entry), ""
