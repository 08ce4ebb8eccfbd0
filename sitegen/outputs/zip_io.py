"""Where site.zip's bytes go: the file being written, the files members are read from, and the
runs of the previous zip copied file to file in the kernel, by a thread of their own.

Kept apart from the writer (archive.py), which decides what goes where: this module only
moves bytes, at the offsets it is given.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from array import array
from bisect import bisect_right
from collections.abc import Sequence

_FLUSH_AT = 1 << 20


class ZipOutput:
    """The zip being written: small writes gathered, big unchanged runs copied file to file in
    the kernel. Everything goes at its own offset (``pwrite``, ``copy_file_range`` with
    offsets), so the runs may be copied by :class:`BackgroundCopies` while the rest is written.

    The file is often an old zip written over, which may hold some of the runs already, where
    they go: ``held``, (start, end) ranges in order, where it holds the bytes of the zip the runs
    are copied from at the same offsets. Those are not copied again. ``kept`` gathers where the
    new zip's bytes are that zip's at the same offsets (uint64 start, end pairs)."""

    def __init__(self, fd: int, copies: BackgroundCopies | None = None, held: Sequence[tuple[int, int]] = ()) -> None:
        self.fd = fd
        self.copies = copies
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.end = 0  # where the pending bytes go: everything before is written or being copied
        self.held = list(held)
        self.held_starts = [start for start, _ in self.held]
        self.kept = array("Q")

    def write(self, data: bytes | memoryview) -> None:
        if len(data) >= _FLUSH_AT:  # a big part (a run of the old directory, a large member): written as it is, not joined
            self.flush()
            write_at(self.fd, data, self.end)
            self.end += len(data)
            return
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            write_at(self.fd, b"".join(self.pending), self.end)
            self.end += self.pending_size
            self.pending.clear()
            self.pending_size = 0

    def copy(self, source: int, start: int, end: int) -> None:
        """Bytes ``start:end`` of the file open as ``source``, next."""
        self.flush()
        at = self.end
        if at == start:
            if self.kept and self.kept[-1] == start:
                self.kept[-1] = end
            else:
                self.kept.extend((start, end))
            missing = self._not_held(start, end)
        else:
            missing = [(start, end)]
        for first, last in missing:
            if self.copies is not None:
                self.copies.add(source, first, last, self.fd, at + first - start)
            else:
                copy_range(source, first, last, self.fd, at + first - start)
        self.end += end - start

    def _not_held(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``start:end`` the file does not hold already."""
        missing = []
        for held_start, held_end in self.held[max(bisect_right(self.held_starts, start) - 1, 0) :]:
            if held_start >= end:
                break
            if held_end <= start:
                continue
            if held_start > start:
                missing.append((start, held_start))
            start = held_end
            if start >= end:
                return missing
        missing.append((start, end))
        return missing


def write_at(fd: int, data: bytes, at: int) -> None:
    view = memoryview(data)
    while view:  # a write may take only part of it
        done = os.pwrite(fd, view, at)
        view, at = view[done:], at + done


def copy_range(source: int, start: int, end: int, target: int, at: int) -> None:
    """Bytes ``start:end`` of ``source`` written at ``at`` in ``target``: in the kernel where it
    can (no copy through this process, and no GIL held), by hand otherwise."""
    in_kernel = getattr(os, "copy_file_range", None)
    while start < end:
        done = 0
        if in_kernel is not None:
            try:
                done = in_kernel(source, target, end - start, start, at)
            except OSError:
                in_kernel = None  # e.g. across file systems on an old kernel: copy by hand
        if not done:
            chunk = os.pread(source, min(end - start, _FLUSH_AT), start)
            if not chunk:
                # The previous zip is shorter than its recorded layout says: never loop on it.
                raise OSError(errno.EIO, "the previous site.zip is shorter than recorded")
            done = os.pwrite(target, chunk, at)
        start += done
        at += done


class BackgroundCopies:
    """The runs of unchanged members, copied by a thread of their own while the build goes on.

    The zip's layout, and so its digest, is known before a byte of it is copied; only the
    publishing of the site needs the bytes. What moved is copied (after a build that outgrew a
    group's padding, every later member: 780 MB at 50,000 segments), in the kernel, where the
    thread holds no GIL: meanwhile the build saves its state. :meth:`wait` must be called
    before the zip is read or published; it raises what a copy met. Descriptors handed to
    :meth:`add` are duplicated, so the writer may close its own."""

    def __init__(self) -> None:
        self._ranges: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._owned: dict[int, int] = {}  # the writer's descriptor -> this object's duplicate
        self._error: BaseException | None = None

    def add(self, source: int, start: int, end: int, target: int, at: int) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._copy, name="site.zip copies", daemon=True)
            self._thread.start()
        self._ranges.put((self._own(source), start, end, self._own(target), at))

    def _own(self, fd: int) -> int:
        owned = self._owned.get(fd)
        if owned is None:
            owned = self._owned[fd] = os.dup(fd)
        return owned

    def _copy(self) -> None:
        while (work := self._ranges.get()) is not None:
            if self._error is None:  # after a failure the rest is only drained
                try:
                    copy_range(*work)
                except BaseException as exc:  # handed to the waiting thread
                    self._error = exc

    def wait(self) -> None:
        """Every run copied (or the first error met, raised); the duplicates closed."""
        if self._thread is not None:
            self._ranges.put(None)
            self._thread.join()
            self._thread = None
        for fd in self._owned.values():
            os.close(fd)
        self._owned.clear()
        error, self._error = self._error, None
        if error is not None:
            raise error


class MemberSources:
    """The files stored members lie in (packs, the previous zip), each opened once. Read with
    ``os.pread``, not mapped: pages of a mapped file count in the process's resident memory
    until it is unmapped (the packs of a build of 1,000 segments held 14 MB of its peak of
    70), and a read costs a system call of a microsecond a member."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}

    def get(self, file: str) -> int:
        """The descriptor ``file`` is open as."""
        found = self.files.get(file)
        if found is None:
            found = self.files[file] = os.open(file, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        return found

    def read(self, file: str, offset: int, size: int) -> bytes:
        """``size`` bytes of ``file`` from ``offset``; OSError if the file ends before them."""
        fd = self.get(file)
        data = os.pread(fd, size, offset)
        while len(data) < size:  # a regular file reads short only at its end, or when interrupted
            more = os.pread(fd, size - len(data), offset + len(data))
            if not more:
                raise OSError(errno.EIO, "a stored zip member lies past the end of its file", file)
            data += more
        return data

    def close(self) -> None:
        for fd in self.files.values():
            os.close(fd)
        self.files.clear()
