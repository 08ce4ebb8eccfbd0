"""A write-ahead journal of finished translations, folded into the memories.

A translation the service returned is paid for: a build killed at any moment must not lose
it. Rewriting (and fsyncing) a file's whole memory for each paragraph kept that promise at a
cost that grew with the archive: a first translation of 50,000 paragraphs took longer in our
client than at the service. Instead each result is appended, as one JSON line, to a journal
beside the memories (one ``write``: a killed process cannot undo it), flushed to disk in
groups (``GROUP_COMMIT_SECONDS``); each touched memory is rewritten once, as soon as its
file's last result is in (``MemoryFolder``), and the journal is removed when the requests are
over and every memory is durable. A journal left by a killed build is folded in by the
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
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core.diagnostics import Problem, warning
from ..core.fsutil import fsync_dir, sync_filesystem, write_atomic
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
            written = os.write(self._fd, data)
            while written < len(data):  # a regular file takes it all; be exact anyway
                written += os.write(self._fd, data[written:])
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


def finish(journal: Journal, entries_by_file: dict[str, list[MemoryEntry]], memories: dict[str, Memory], folder: MemoryFolder | None = None) -> None:
    """The requests are over (or interrupted): each touched memory written once, then no journal.

    ``folder``: the writer that already wrote the memories whose every result had arrived,
    while the others were still being asked for; this writes the rest (an interrupted file's
    results, say)."""
    journal.close()
    done: set[str] = set()
    folders: set[Path] = set()
    if folder is not None:
        done, folders = folder.close()
    for source_rel, new in entries_by_file.items():
        if source_rel not in done:
            folders |= fold_file(memories[source_rel], new)
    make_durable(folders)
    journal.discard()


def fold(entries_by_file: dict[str, list[MemoryEntry]], memories: dict[str, Memory]) -> None:
    """Write each memory once with the entries it lacks, durably, in document order (as the
    build's tidying puts them, so the next pass does not rewrite a file only to reorder it).

    ``memories``: each file's Memory as read before. An entry for a key the memory has is
    dropped: the journal only ever adds, never replaces (a reviewed entry above all).
    """
    folders: set[Path] = set()
    for source_rel, new in entries_by_file.items():
        folders |= fold_file(memories[source_rel], new)
    make_durable(folders)


def fold_file(memory: Memory, new: list[MemoryEntry]) -> set[Path]:
    """Write one memory with those of ``new`` it lacks, not yet durably (``make_durable``
    does that for many at once); the folder written in, if any."""
    known = {e.key for e in memory.entries}
    added: dict[str, MemoryEntry] = {}
    for entry in sorted(new, key=_document_order):
        if entry.key not in known:
            added.setdefault(entry.key, entry)
    if not added:
        return set()
    try:
        save_memory(memory.with_entries(memory.entries + tuple(added.values())), many=True)
    except OSError as exc:  # a full disk: say which memory (the journal keeps every result)
        raise OSError(exc.errno, exc.strerror, exc.filename or str(memory.path)) from None
    return {memory.path.parent}


def make_durable(folders: set[Path]) -> None:
    """Memories written by ``fold_file`` made durable together, before the journal that also
    holds them may go: one sync per filesystem. Then each folder swept once."""
    for folder in {os.stat(f).st_dev: f for f in sorted(folders)}.values():
        sync_filesystem(folder)
    for folder in sorted(folders):
        sweep_stale_temporaries(folder)


class MemoryFolder:
    """Writes a file's memory as soon as all its results have arrived, on a thread of its own,
    while the requests for the other files go on.

    Writing thousands of memories after the last request was a sixth of a first translation,
    most of it in system calls (which leave the other threads free to run). Nothing changes for
    a build killed meanwhile: every result is in the journal first, and the journal goes only
    once the memories are durable (``finish``). The first error stops the writing; ``close``
    raises it, and the journal stays for the next build. ``written(source_rel)`` is told of
    each memory written.
    """

    def __init__(self, memories: dict[str, Memory], written: Callable[[str], None] | None = None):
        self._memories = memories
        self._written = written
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._done: set[str] = set()
        self._folders: set[Path] = set()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="memory-folder", daemon=True)
        self._thread.start()

    def add(self, source_rel: str, entries: list[MemoryEntry]) -> None:
        """``source_rel`` has every result it will get: write its memory."""
        self._queue.put((source_rel, list(entries)))

    def close(self) -> tuple[set[str], set[Path]]:
        """Wait for the writing to end: the files written and their folders."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._done, self._folders

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue
            source_rel, entries = item
            try:
                self._folders |= fold_file(self._memories[source_rel], entries)
            except BaseException as exc:  # raised by close(), in the thread that waits for this one
                self._error = exc
            else:
                self._done.add(source_rel)
                if self._written is not None:
                    self._written(source_rel)


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
    fold({rel: by_file[rel] for rel in memories}, memories)
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
