"""The offline edition: the whole site as one deterministic zip, for a phone or a USB stick.

A small zip writer of our own instead of ``zipfile``, because compression is
most of the cost of a large archive and it can then happen anywhere:
worker processes compress the pages they render into *pack* files, members
unchanged since the previous build are copied from the previous zip, and only
the rest is compressed here (in threads: libdeflate runs without the GIL). Fixed times,
permissions and order make two builds of the same site byte-identical.
"""

from __future__ import annotations

import errno
import operator
import os
import queue
import struct
import threading
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import deflate

FOLDER = "site"
# libdeflate's level 1 (through the `deflate` package): on 4,300 of the benchmark's pages
# (segment pages of both editions and index pages), 92 µs a page against 164 for ISA-L's level
# 3, which it replaces, and 31.1 % of their size against 31.6 %. libdeflate's output is a
# function of the input and the level alone (no state outlives a call), which an incremental
# build needs: a member compressed again must give the bytes a full build gives. ISA-L's
# faster levels were left for that (sixth and seventh rounds of docs/benchmarks.md). Any
# inflate reads the zip.
LEVEL = 1
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest date zip can store
_DOS_TIME = 0
_FLAGS = 0x0800  # names are UTF-8 (Arabic slugs)
_VERSION = 20
_MADE_BY = (3 << 8) | _VERSION  # Unix, so the permissions below are read
_EXTERNAL_ATTR = 0o100644 << 16
_BATCH = 64


class ArchiveTooLarge(Exception):
    """Over 4 GiB: this writer does not write zip64 member sizes."""


class StoredMember(NamedTuple):
    """A member's compressed bytes, already lying in some file. (A named tuple: tens of
    thousands of them are read back from the cache at every incremental build.)"""

    file: str
    offset: int
    compressed_size: int
    crc: int
    size: int


def compress(data: bytes) -> bytes:
    return bytes(deflate.deflate_compress(data, LEVEL))  # it gives a bytearray


class PackWriter:
    """Appends compressed members to one file; used by a worker for the pages it renders."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = open(path, "ab")
        self.offset = self.handle.tell()

    def add(self, data: bytes) -> StoredMember:
        body = compress(data)
        self.handle.write(body)
        member = StoredMember(str(self.path), self.offset, len(body), zlib.crc32(data), len(data))
        self.offset += len(body)
        return member

    def flush(self) -> None:
        self.handle.flush()


_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_OFFSET = struct.Struct("<I")  # a directory entry's local header offset
_OFFSET_FIELD = 42  # where it lies in the entry
_FLUSH_AT = 1 << 20


class _Output:
    """The zip being written: small writes gathered, big unchanged runs copied file to file in
    the kernel. Everything goes at its own offset (``pwrite``, ``copy_file_range`` with
    offsets), so the runs may be copied by :class:`BackgroundCopies` while the rest is written."""

    def __init__(self, fd: int, copies: BackgroundCopies | None = None) -> None:
        self.fd = fd
        self.copies = copies
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.end = 0  # where the pending bytes go: everything before is written or being copied

    def write(self, data: bytes) -> None:
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            _write_at(self.fd, b"".join(self.pending), self.end)
            self.end += self.pending_size
            self.pending.clear()
            self.pending_size = 0

    def copy(self, source: int, start: int, end: int) -> None:
        """Bytes ``start:end`` of the file open as ``source``, next."""
        self.flush()
        if self.copies is not None:
            self.copies.add(source, start, end, self.fd, self.end)
        else:
            _copy_range(source, start, end, self.fd, self.end)
        self.end += end - start


def _write_at(fd: int, data: bytes, at: int) -> None:
    view = memoryview(data)
    while view:  # a write may take only part of it
        done = os.pwrite(fd, view, at)
        view, at = view[done:], at + done


def _copy_range(source: int, start: int, end: int, target: int, at: int) -> None:
    """Bytes ``start:end`` of ``source`` written at ``at`` in ``target``: in the kernel where it
    can (no copy through this process, and no GIL held), by hand otherwise."""
    copy_range = getattr(os, "copy_file_range", None)
    while start < end:
        done = 0
        if copy_range is not None:
            try:
                done = copy_range(source, target, end - start, start, at)
            except OSError:
                copy_range = None  # e.g. across file systems on an old kernel: copy by hand
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
    publishing of the site needs the bytes. A one-change build copies all but a few members of
    the previous zip (150 MB at 10,000 segments, 780 MB at 50,000), in the kernel, where the
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
                    _copy_range(*work)
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


class _Sources:
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


class ZipLayout(NamedTuple):
    """Where the members of a written zip lie, for the next build to copy the unchanged ones.

    Arrays of numbers rather than an object a member: tens of thousands of members are read
    and saved again at every build, and a run of unchanged members is copied with its
    directory entries in one piece. The directory itself is read back from the zip."""

    file: str  # where the zip lies once published
    size: int
    names: tuple[str, ...]  # in the zip's order, without FOLDER
    starts: bytes  # each member's local header offset, then the directory's: len(names) + 1 uint64
    entries: bytes  # where each member's directory entry starts, then the directory's size: the same

    def fits(self) -> bool:
        """Whether the numbers can describe a zip of this size (a damaged record is not used)."""
        count = len(self.names) + 1
        if not isinstance(self.starts, bytes) or not isinstance(self.entries, bytes) or len(self.starts) != 8 * count or len(self.entries) != 8 * count:
            return False
        starts, entries = memoryview(self.starts).cast("Q"), memoryview(self.entries).cast("Q")
        return (
            starts[0] == 0 and entries[0] == 0
            and starts[-1] + entries[-1] + len(_end_records(len(self.names), entries[-1], starts[-1])) == self.size
            and all(map(operator.lt, starts[:-1], starts[1:])) and all(map(operator.lt, entries[:-1], entries[1:]))
        )


class _Directory:
    """The zip's central directory as it is written, and where each member lies."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.names: list[str] = []
        self.starts = array("Q")
        self.entries = array("Q")

    def add(self, name: str, entry: bytes, start: int) -> None:
        self.names.append(name)
        self.starts.append(start)
        self.entries.append(self.size)
        self.parts.append(entry)
        self.size += len(entry)

    def add_run(self, previous: ZipLayout, directory: bytes, first: int, end: int, start: int) -> None:
        """Members ``first:end`` of the previous zip, their bytes now beginning at ``start``.
        Their numbers are moved in C, not worked out a member at a time in Python: after a
        changed member every later one moves (130,000 at 50,000 segments)."""
        starts, entries = memoryview(previous.starts).cast("Q"), memoryview(previous.entries).cast("Q")
        shift, entry_shift = start - starts[first], self.size - entries[first]
        chunk = directory[entries[first] : entries[end]]
        if shift:
            moved = array("Q", map(shift.__add__, starts[first:end]))
            chunk = _with_offsets(chunk, entries[first:end], entries[first], moved)
            self.starts.extend(moved)
        else:
            self.starts.frombytes(starts[first:end].tobytes())
        if entry_shift:
            self.entries.extend(array("Q", map(entry_shift.__add__, entries[first:end])))
        else:
            self.entries.frombytes(entries[first:end].tobytes())
        self.names.extend(previous.names[first:end])
        self.parts.append(chunk)
        self.size += len(chunk)

    def layout(self, file: str, directory_at: int, size: int) -> ZipLayout:
        self.starts.append(directory_at)
        self.entries.append(self.size)
        return ZipLayout(file, size, tuple(self.names), self.starts.tobytes(), self.entries.tobytes())


def _with_offsets(chunk: bytes, entries: Sequence[int], base: int, offsets: array) -> bytes:
    """Directory entries ``chunk`` (the entry of each member at ``entries[i] - base``) with the
    local header offsets ``offsets`` written in. The new offsets are made in C beforehand and
    each written by the struct's own ``pack_into``: 5 ms for 32,000 entries, where working
    each out in the loop took 12 (and cutting the entries apart and joining them, 24)."""
    moved = bytearray(chunk)
    pack = _OFFSET.pack_into
    shift = base - _OFFSET_FIELD
    for entry, offset in zip(entries, offsets):
        pack(moved, entry - shift, offset)
    return bytes(moved)


class PreviousZip(NamedTuple):
    """The zip a new one may copy members from: its layout, and the names whose content has
    changed since (or that it lacks): every other member it holds is copied. (The caller
    vouches that the zip lies at ``layout.file``, whole.) The changed ones, not the others:
    a build changes a few hundred files of tens of thousands."""

    layout: ZipLayout
    changed: AbstractSet[str]


class _ZipWriter:
    """One zip being written: members appended, runs of the previous zip's copied in one piece."""

    def __init__(self, out: _Output, sources: _Sources, previous: PreviousZip | None):
        self.out, self.sources, self.previous = out, sources, previous
        self.directory = _Directory()
        self.offset = 0
        self.run: list[int] | None = None  # [first, end) of the previous zip's members
        self.old_directory: bytes | None = None  # read from the previous zip at the first run

    def copy_run(self, first: int, end: int) -> None:
        """The previous zip's members ``first:end``, next."""
        if self.run is not None and self.run[1] == first:
            self.run[1] = end
        else:
            self.end_run()
            self.run = [first, end]

    def end_run(self) -> None:
        if self.run is None:
            return
        (first, end), self.run = self.run, None
        layout = self.previous.layout
        starts = memoryview(layout.starts).cast("Q")
        if self.old_directory is None:
            at, size = starts[-1], memoryview(layout.entries).cast("Q")[-1]
            self.old_directory = self.sources.read(layout.file, at, size)
        length = starts[end] - starts[first]
        _check_size(self.offset + length)
        self.out.copy(self.sources.get(layout.file), starts[first], starts[end])
        self.directory.add_run(layout, self.old_directory, first, end, self.offset)
        self.offset += length

    def add(self, name: str, body: bytes, crc: int, size: int) -> None:
        """A member compressed anew or taken from a pack: ``body`` deflated, ``size`` bytes once inflated."""
        self.end_run()
        encoded = f"{FOLDER}/{name}".encode("utf-8")
        header_size = _LOCAL_HEADER.size + len(encoded)
        _check_size(self.offset + header_size + len(body))
        self.directory.add(name, _central_record(encoded, crc, len(body), size, self.offset), self.offset)
        self.out.write(_LOCAL_HEADER.pack(0x04034B50, _VERSION, _FLAGS, 8, _DOS_TIME, _DOS_DATE, crc, len(body), size, len(encoded), 0))
        self.out.write(encoded)
        self.out.write(body)
        self.offset += header_size + len(body)

    def finish(self, file: str) -> ZipLayout:
        self.end_run()
        for part in self.directory.parts:
            self.out.write(part)
        end_records = _end_records(len(self.directory.names), self.directory.size, self.offset)
        self.out.write(end_records)
        self.out.flush()
        return self.directory.layout(file, self.offset, self.offset + self.directory.size + len(end_records))


def write_site_zip(
    target: Path,
    root: Path,
    names: Sequence[str],
    packed: Mapping[str, StoredMember],
    previous: PreviousZip | None = None,
    final_path: Path | None = None,
    rewrite: Callable[[str, bytes], bytes] | None = None,
    copies: BackgroundCopies | None = None,
) -> ZipLayout:
    """Zip ``names`` (paths under ``root``) into ``target``, each under the folder 'site/'.
    A file already at ``target`` is written over from its start and cut to the new length
    (the caller puts there an old zip that nothing else links to, or nothing).

    A name the ``previous`` zip holds unchanged is copied from it; a name in ``packed`` is
    taken from a worker's pack; the others are read from ``root`` and compressed. The
    result depends only on the names and contents, never on what was copied. Returns where
    the members lie once the zip is at ``final_path`` (default: ``target``), for the next
    build. ``rewrite(name, bytes)`` gives what the zip holds of a file read from ``root``.
    With ``copies``, the runs of the previous zip may still be being copied on return: the
    caller waits for them (:meth:`BackgroundCopies.wait`) before the zip is read.
    """
    ordered = sorted(names)
    pieces = _pieces(ordered, previous) if previous is not None else None
    sources = _Sources()
    fd = None
    try:
        fd = os.open(target, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # libdeflate runs without the GIL
            out = _Output(fd, copies)
            writer = _ZipWriter(out, sources, previous)
            if pieces is not None:
                for batch in _batches_of(pieces, packed):
                    _add_pieces(writer, pool, root, batch, packed, rewrite)
            else:
                _write_batches(writer, pool, root, ordered, packed, previous, rewrite)
            layout = writer.finish(str(final_path or target))
            os.ftruncate(fd, out.end)  # written over an older zip: what lay past the new end goes
            return layout
    except BaseException:
        if copies is not None:
            _stop(copies)  # nothing may go on writing into a zip that is given up
        raise
    finally:
        sources.close()
        if fd is not None:
            os.close(fd)


# A build that changed more than one member in this many has its members judged a batch at a time.
_FEW = 8


def _pieces(names: list[str], previous: PreviousZip) -> list[tuple[int, int] | str] | None:
    """The zip's members in order, as runs of the previous zip's, ``(first, end)``, and names to
    add, found from the changed names alone: each run lies between two of them, in both zips.
    No step a member (at 50,000 segments, judging 156,000 members a batch at a time cost
    0.1 s of a one-change build). None where more than one member in ``_FEW`` changed, or where
    a run does not hold in the previous zip the names it holds in this one (that zip is not of
    these names but for the changed ones): the members are then judged a batch at a time."""
    changed, old = previous.changed, previous.layout.names
    if len(changed) * _FEW > len(names):
        return None
    pieces: list[tuple[int, int] | str] = []
    at = before = 0  # the next member of this zip, and of the previous one
    for name in sorted(changed):
        end, old_end = bisect_left(names, name, at), bisect_left(old, name, before)
        if not _same_run(names, at, end, old, before, old_end):
            return None
        if end > at:
            pieces.append((before, old_end))
        at, before = end, old_end
        if at < len(names) and names[at] == name:
            pieces.append(name)
            at += 1
        if before < len(old) and old[before] == name:
            before += 1
    if not _same_run(names, at, len(names), old, before, len(old)):
        return None
    if at < len(names):
        pieces.append((before, len(old)))
    return pieces


def _same_run(names: list[str], at: int, end: int, old: tuple[str, ...], before: int, old_end: int) -> bool:
    """Whether ``names[at:end]`` are the previous zip's members ``before:old_end`` (compared in C:
    4 ms for 156,000 names)."""
    return end - at == old_end - before and tuple(names[at:end]) == old[before:old_end]


def _batches_of(pieces: list[tuple[int, int] | str], packed: Mapping[str, StoredMember]) -> Iterator[list[tuple[int, int] | str]]:
    """``pieces`` cut after every ``_BATCH`` members to read and compress: a build may change
    thousands of files, which are never all in memory at once."""
    batch: list[tuple[int, int] | str] = []
    fresh = 0
    for piece in pieces:
        batch.append(piece)
        fresh += _to_compress(piece, packed)
        if fresh == _BATCH:
            yield batch
            batch, fresh = [], 0
    if batch:
        yield batch


def _to_compress(piece: tuple[int, int] | str, packed: Mapping[str, StoredMember]) -> bool:
    """Whether a piece is a member read from the site and compressed here (not a run of the
    previous zip's, nor a member a worker packed)."""
    return type(piece) is str and piece not in packed


def _write_batches(writer: _ZipWriter, pool: ThreadPoolExecutor, root: Path, names: list[str], packed: Mapping[str, StoredMember], previous: PreviousZip | None, rewrite: Callable[[str, bytes], bytes] | None) -> None:
    """Every member, judged a batch at a time (a zip written afresh, or many members changed).
    The previous zip's numbers found in C, as each batch's judgment."""
    old = dict(zip(previous.layout.names, range(len(previous.layout.names)))) if previous is not None else {}
    changed = previous.changed if previous is not None else frozenset()
    for begin in range(0, len(names), _BATCH):
        batch = names[begin : begin + _BATCH]
        if changed.isdisjoint(batch):
            numbers = list(map(old.get, batch))
            first = numbers[0]
            if first is not None and numbers == list(range(first, first + len(batch))):
                # Every member unchanged and neighbours in the previous zip, as most are:
                # one piece, judged and copied without a step a member in Python.
                writer.copy_run(first, first + len(batch))
                continue
        _add_pieces(writer, pool, root, [(old[n], old[n] + 1) if n in old and n not in changed else n for n in batch], packed, rewrite)


def _add_pieces(writer: _ZipWriter, pool: ThreadPoolExecutor, root: Path, pieces: list[tuple[int, int] | str], packed: Mapping[str, StoredMember], rewrite: Callable[[str, bytes], bytes] | None) -> None:
    """``pieces`` next in the zip: runs of the previous zip's members copied; members taken from
    their pack; the others read from ``root`` and compressed together (in threads)."""
    fresh = [piece for piece in pieces if _to_compress(piece, packed)]
    contents = {name: (root / name).read_bytes() for name in fresh}
    if rewrite is not None:
        contents = {name: rewrite(name, data) for name, data in contents.items()}
    compressed = dict(zip(fresh, pool.map(compress, contents.values())))
    for piece in pieces:
        if type(piece) is tuple:
            writer.copy_run(*piece)
        elif piece in packed:
            member = packed[piece]
            writer.add(piece, _stored_body(writer.sources, member), member.crc, member.size)
        else:
            data = contents[piece]
            writer.add(piece, compressed[piece], zlib.crc32(data), len(data))


def _stop(copies: BackgroundCopies) -> None:
    try:
        copies.wait()
    except Exception:
        pass  # the error being raised already says why the zip is given up


def _check_size(end: int) -> None:
    if end > 0xFFFFFFFF:
        raise ArchiveTooLarge("the site is over 4 GiB: site.zip is not written (set 'offline_archive: false')")


def _central_record(encoded: bytes, crc: int, length: int, size: int, offset: int) -> bytes:
    """One member's entry in the central directory (``encoded``: its name, as stored)."""
    return (
        _CENTRAL_HEADER.pack(
            0x02014B50, _MADE_BY, _VERSION, _FLAGS, 8, _DOS_TIME, _DOS_DATE,
            crc, length, size, len(encoded), 0, 0, 0, 0, _EXTERNAL_ATTR, offset,
        )
        + encoded
    )


def _stored_body(sources: _Sources, member: StoredMember) -> bytes:
    """The compressed bytes of a member stored without its header (in a pack)."""
    return sources.read(member.file, member.offset, member.compressed_size)


def _end_records(count: int, size: int, offset: int) -> bytes:
    """End of central directory (``size`` bytes at ``offset``); zip64 records when there are
    more than 65,535 members."""
    if count > 0xFFFF:
        zip64_end = offset + size
        return (
            struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _MADE_BY, 45, 0, 0, count, count, size, offset)
            + struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)
            + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, size, offset, 0)
        )
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, offset, 0)


def remove_packs(folder: Path) -> None:
    if folder.is_dir():
        for pack in folder.iterdir():
            pack.unlink(missing_ok=True)
        os.rmdir(folder)
