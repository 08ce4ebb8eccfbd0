"""The offline edition: the whole site as one deterministic zip, for a phone or a USB stick.

A small zip writer of our own instead of ``zipfile``, because compression is
most of the cost of a large archive and it can then happen anywhere:
worker processes compress the pages they render into *pack* files, members
unchanged since the previous build are copied from the previous zip (or left where the
old zip written over holds them already: see _ALIGN), and only the rest is compressed
here (in threads: libdeflate runs without the GIL). Fixed times, permissions, order and
padding make two builds of the same site byte-identical.
"""

from __future__ import annotations

import errno
import operator
import os
import struct
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import deflate

from ..core.hashing import hash_bytes
from .zip_io import BackgroundCopies, MemberSources, ZipOutput

FOLDER = "site"
# libdeflate's level 1 (through the `deflate` package): on 4,300 of the benchmark's pages
# (segment pages of both editions and index pages), 92 µs a page against 164 for ISA-L's level
# 3, which it replaces, and 31.1 % of their size against 31.6 %. libdeflate's output is a
# function of the input and the level alone (no state outlives a call), which an incremental
# build needs: a member compressed again must give the bytes a full build gives. ISA-L's
# faster levels were left for that (sixth and seventh rounds of docs/benchmarks.md). Any
# inflate reads the zip.
# (A new level changes the bytes of the same contents: _FORMAT goes with it.)
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


# A CRC-32 (zip's own, zlib's), from libdeflate: 0.7 µs for a page of 35 KB against zlib's
# 8.5 (its carry-less multiplication), and a cold build checksums every page. (A name's,
# which chooses the groups, is the same number.)
member_crc = deflate.crc32


class PackWriter:
    """Appends compressed members to one file; used by a worker for the pages it renders."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = open(path, "ab")
        self.offset = self.handle.tell()

    def add(self, data: bytes) -> StoredMember:
        body = compress(data)
        self.handle.write(body)
        member = StoredMember(str(self.path), self.offset, len(body), member_crc(data), len(data))
        self.offset += len(body)
        return member

    def flush(self) -> None:
        self.handle.flush()


_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_OFFSET = struct.Struct("<I")  # a directory entry's local header offset
_OFFSET_FIELD = 42  # where it lies in the entry

# Where the bytes after a change lie. A member whose name's CRC-32 is a multiple of _GROUP
# starts a group (one member in 256, chosen by its name alone: a member added or removed
# changes only its own group), and the data of a group's first member begins at a multiple
# of _ALIGN, its local header padded to it by an extra field (Android's zipalign pads so;
# every reader skips an extra field it does not know, and the central directory's entry has
# none). A change within a group moves the rest of that group only: the next group starts
# where it started, unless the change outgrew the padding left before it (a chance of the
# growth in _ALIGN), and every later member then lies where the previous zip had it, which
# the spare site's old zip, written over, often holds already (see ZipOutput.copy). The
# padding costs half of _ALIGN a group, 0.7 % of the zip at 50,000 segments of the benchmark.
_ALIGN = 1 << 14
_GROUP = 256
_PAD_ID = 0xD935  # zipalign's
_PAD = struct.Struct("<HHH")  # the extra field's id, its length, the alignment
# The zip's comment names its contents (ZipContent.key, with this writer's format): a build
# that writes over an old zip knows from it which one the file holds. Bumped when the bytes
# written for the same contents change.
_FORMAT = "1"
_STAMP = b"sitegen site.zip "
_STAMP_SIZE = len(_STAMP) + 32


def _stored_name(name: str) -> bytes:
    """A member's name as the zip stores it: under FOLDER, in UTF-8 (Arabic slugs)."""
    return f"{FOLDER}/{name}".encode("utf-8")


def _starts_group(encoded: bytes) -> bool:
    return member_crc(encoded) % _GROUP == 0


def _padding(data_at: int) -> bytes:
    """The extra field that puts the data of a group's first member, which would otherwise
    begin at ``data_at``, at a multiple of _ALIGN (nothing when it is there already)."""
    gap = -data_at % _ALIGN
    if gap == 0:
        return b""
    if gap < _PAD.size:
        gap += _ALIGN
    return _PAD.pack(_PAD_ID, gap - 4, _ALIGN) + bytes(gap - _PAD.size)


def _form() -> str:
    """How this writer lays members out: a zip laid out otherwise is not copied from."""
    return f"{_FORMAT}/{_ALIGN}/{_GROUP}"


def zip_stamp(key: str) -> str:
    """What the comment of a zip of the contents ``key`` says (empty: no key, no comment)."""
    return hash_bytes(_form(), key)[:32] if key else ""


_BETWEEN_NAMES = "\0"


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
    stamp: str = ""  # its comment's (zip_stamp)
    # Where its bytes are those of the zip stamped ``kept_from`` at the same offsets (the runs
    # copied from it unmoved): (start, end) pairs, uint64, in order.
    kept_from: str = ""
    kept: bytes = b""
    form: str = ""  # how its members are laid out (_form)

    def __reduce__(self) -> tuple:
        """Pickled with its names joined by NUL (no path holds one): 163,000 names pickled one by
        one took 12 ms to write and 16 to read, against 3 and 1 (and 5 to split: read_back)."""
        names = self.names
        return (ZipLayout, (self.file, self.size, _BETWEEN_NAMES.join(names) if type(names) is tuple else names, *self[3:]))

    def read_back(self) -> ZipLayout:
        """This layout, its names a tuple again (unpickled, they are one text: ``__reduce__``)."""
        names = self.names
        return self if type(names) is not str else self._replace(names=tuple(names.split(_BETWEEN_NAMES)) if names else ())

    def fits(self) -> bool:
        """Whether the numbers can describe a zip of this size (a damaged record is not used)."""
        count = len(self.names) + 1
        if not isinstance(self.starts, bytes) or not isinstance(self.entries, bytes) or len(self.starts) != 8 * count or len(self.entries) != 8 * count:
            return False
        if self.form != _form() or not isinstance(self.stamp, str) or not isinstance(self.kept_from, str) or not isinstance(self.kept, bytes) or len(self.kept) % 16:
            return False
        starts, entries = memoryview(self.starts).cast("Q"), memoryview(self.entries).cast("Q")
        kept = memoryview(self.kept).cast("Q")
        return (
            starts[0] == 0 and entries[0] == 0
            and starts[-1] + entries[-1] + len(_end_records(len(self.names), entries[-1], starts[-1], self.stamp)) == self.size
            and all(map(operator.lt, starts[:-1], starts[1:])) and all(map(operator.lt, entries[:-1], entries[1:]))
            and all(map(operator.lt, kept[:-1], kept[1:])) and (not kept or kept[-1] <= starts[-1])
        )


class ZipContent(NamedTuple):
    """What the members hold beyond their names. ``key`` names the contents (the zip's comment
    says it: zip_stamp); ``rewrite(name, bytes)`` gives what the zip holds of a file read from
    the site (None: the file as it is)."""

    key: str = ""
    rewrite: Callable[[str, bytes], bytes] | None = None


class _Directory:
    """The zip's central directory as it is written, and where each member lies."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.count = 0
        self.starts = array("Q")
        self.entries = array("Q")

    def add(self, entry: bytes, start: int) -> None:
        self.count += 1
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
        chunk = memoryview(directory)[entries[first] : entries[end]]  # copied once, when written
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
        self.count += end - first
        self.parts.append(chunk)
        self.size += len(chunk)

    def layout(self, file: str, directory_at: int, size: int, names: tuple[str, ...]) -> ZipLayout:
        """Where the members lie, ``names`` being theirs in order (the writer's own list: a
        tuple made of the runs' names, slice by slice, cost 30 ms at 50,000 segments)."""
        if len(names) != self.count:
            raise AssertionError(f"a zip of {self.count} members described by {len(names)} names")
        self.starts.append(directory_at)
        self.entries.append(self.size)
        return ZipLayout(file, size, names, self.starts.tobytes(), self.entries.tobytes())


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

    def __init__(self, out: ZipOutput, sources: MemberSources, previous: PreviousZip | None):
        self.out, self.sources, self.previous = out, sources, previous
        self.directory = _Directory()
        self.offset = 0
        self.run: list[int] | None = None  # [first, end) of the previous zip's members
        self.old_directory: bytes | None = None  # read from the previous zip at the first run
        # Where the previous zip's members start (then its directory), read in place.
        self.old_starts = memoryview(previous.layout.starts).cast("Q") if previous is not None else None

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
        if self.old_directory is None:
            self.old_directory = self.sources.read(layout.file, self.old_starts[-1], memoryview(layout.entries).cast("Q")[-1])
        if (self.offset - self.old_starts[first]) % _ALIGN:
            # Moved by other than a multiple of _ALIGN: the first group starting in the run
            # is padded anew, and what follows it lies as it lay, give or take _ALIGNs.
            group = next((n for n in range(first, end) if _starts_group(_stored_name(layout.names[n]))), end)
            self._copy(first, group)
            if group < end:
                self._repadded(group, end)
        else:
            self._copy(first, end)

    def _copy(self, first: int, end: int) -> None:
        """The previous zip's members ``first:end`` as they are, next."""
        if first < end:
            self._copy_bytes(first, end, self.old_starts[first])

    def _copy_bytes(self, first: int, end: int, start: int) -> None:
        """The previous zip's bytes from ``start`` to the end of its member ``end - 1``, next:
        the members ``first:end``, after what comes before the first of them."""
        layout, starts = self.previous.layout, self.old_starts
        length = starts[end] - start
        _check_size(self.offset + length)
        self.out.copy(self.sources.get(layout.file), start, starts[end])
        if first < end:
            self.directory.add_run(layout, self.old_directory, first, end, self.offset + starts[first] - start)
        self.offset += length

    def _repadded(self, number: int, end: int) -> None:
        """The previous zip's members ``number:end``, next, the first of them the first of its
        group: its local header written with the padding of its new place, its data and the
        other members copied."""
        layout = self.previous.layout
        at = self.old_starts[number]
        fields = list(_LOCAL_HEADER.unpack(self.sources.read(layout.file, at, _LOCAL_HEADER.size)))
        encoded = _stored_name(layout.names[number])
        if fields[0] != 0x04034B50 or fields[-2] != len(encoded):
            raise OSError(errno.EIO, "the previous site.zip holds no such member where its layout says", layout.file)
        data_at = at + _LOCAL_HEADER.size + fields[-2] + fields[-1]
        extra = _padding(self.offset + _LOCAL_HEADER.size + len(encoded))
        fields[-1] = len(extra)
        header = _LOCAL_HEADER.pack(*fields) + encoded + extra
        _check_size(self.offset + len(header))
        self.directory.add_run(layout, self.old_directory, number, number + 1, self.offset)
        self.out.write(header)
        self.offset += len(header)
        self._copy_bytes(number + 1, end, data_at)

    def add(self, name: str, body: bytes, crc: int, size: int) -> None:
        """A member compressed anew or taken from a pack: ``body`` deflated, ``size`` bytes once inflated."""
        self.end_run()
        encoded = _stored_name(name)
        extra = _padding(self.offset + _LOCAL_HEADER.size + len(encoded)) if _starts_group(encoded) else b""
        header_size = _LOCAL_HEADER.size + len(encoded) + len(extra)
        _check_size(self.offset + header_size + len(body))
        self.directory.add(_central_record(encoded, crc, len(body), size, self.offset), self.offset)
        self.out.write(_LOCAL_HEADER.pack(0x04034B50, _VERSION, _FLAGS, 8, _DOS_TIME, _DOS_DATE, crc, len(body), size, len(encoded), len(extra)))
        self.out.write(encoded + extra)
        self.out.write(body)
        self.offset += header_size + len(body)

    def finish(self, file: str, stamp: str, names: tuple[str, ...]) -> ZipLayout:
        """The directory and end records written; ``names``: the members', in order."""
        self.end_run()
        for part in self.directory.parts:
            self.out.write(part)
        end_records = _end_records(self.directory.count, self.directory.size, self.offset, stamp)
        self.out.write(end_records)
        self.out.flush()
        layout = self.directory.layout(file, self.offset, self.offset + self.directory.size + len(end_records), names)
        kept_from = self.previous.layout.stamp if self.previous is not None and self.out.kept else ""
        return layout._replace(stamp=stamp, kept_from=kept_from, kept=self.out.kept.tobytes() if kept_from else b"", form=_form())


def write_site_zip(
    target: Path,
    root: Path,
    names: Sequence[str],
    packed: Mapping[str, StoredMember],
    previous: PreviousZip | None = None,
    final_path: Path | None = None,
    content: ZipContent = ZipContent(),
    copies: BackgroundCopies | None = None,
) -> ZipLayout:
    """Zip ``names`` (paths under ``root``) into ``target``, each under the folder 'site/'.
    A file already at ``target`` is written over from its start and cut to the new length
    (the caller puts there an old zip that nothing else links to, or nothing).

    A name the ``previous`` zip holds unchanged is copied from it (unless the old zip at
    ``target`` holds it at that place already: ``held_ranges``); a name in ``packed`` is taken
    from a worker's pack; the others are read from ``root``, as ``content`` rewrites them, and
    compressed. The result depends only on the names and contents, never on what was copied.
    Returns where the members lie once the zip is at ``final_path`` (default: ``target``), for
    the next build. With ``copies``, the runs of the previous zip may still be being copied on
    return: the caller waits for them (:meth:`BackgroundCopies.wait`) before the zip is read.
    """
    ordered = sorted(names)
    pieces = _pieces(ordered, previous) if previous is not None else None
    sources = MemberSources()
    fd = None
    try:
        fd = os.open(target, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # libdeflate runs without the GIL
            out = ZipOutput(fd, copies, held_ranges(fd, previous))
            writer = _ZipWriter(out, sources, previous)
            if pieces is not None:
                for batch in _batches_of(pieces, packed):
                    _add_pieces(writer, pool, root, batch, packed, content.rewrite)
            else:
                _write_batches(writer, pool, root, ordered, packed, previous, content.rewrite)
            layout = writer.finish(str(final_path or target), zip_stamp(content.key), tuple(ordered))
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


def held_ranges(fd: int, previous: PreviousZip | None) -> list[tuple[int, int]]:
    """Where the old zip open as ``fd`` (about to be written over) holds the bytes of the
    ``previous`` zip at the same offsets, as its comment tells: all of them when it is a copy
    of that zip (as after a full build); the ranges that zip kept of its own predecessor when
    it is that one (the spare site's zip, a build behind the live one); none otherwise."""
    if previous is None or not previous.layout.stamp:
        return []
    layout, held = previous.layout, held_stamp(fd)
    if held == layout.stamp:
        return [(0, layout.size)] if os.fstat(fd).st_size == layout.size else []
    if held and held == layout.kept_from:
        kept = memoryview(layout.kept).cast("Q")
        pairs = list(zip(kept[0::2], kept[1::2]))
        return pairs if not pairs or pairs[-1][1] <= os.fstat(fd).st_size else []
    return []


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
            writer.add(piece, compressed[piece], member_crc(data), len(data))


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


def _stored_body(sources: MemberSources, member: StoredMember) -> bytes:
    """The compressed bytes of a member stored without its header (in a pack)."""
    return sources.read(member.file, member.offset, member.compressed_size)


def _end_records(count: int, size: int, offset: int, stamp: str) -> bytes:
    """End of central directory (``size`` bytes at ``offset``), its comment the ``stamp``; zip64
    records when there are more than 65,535 members."""
    comment = _STAMP + stamp.encode("ascii") if stamp else b""
    if count > 0xFFFF:
        zip64_end = offset + size
        return (
            struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _MADE_BY, 45, 0, 0, count, count, size, offset)
            + struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)
            + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, size, offset, len(comment))
            + comment
        )
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, offset, len(comment)) + comment


def held_stamp(fd: int) -> str:
    """The stamp in the comment of the zip open as ``fd`` (empty: none, or not a zip of ours)."""
    size = os.fstat(fd).st_size
    tail_size = 22 + _STAMP_SIZE
    if size < tail_size:
        return ""
    tail = os.pread(fd, tail_size, size - tail_size)
    if len(tail) != tail_size or tail[:4] != b"PK\x05\x06" or tail[20:22] != _STAMP_SIZE.to_bytes(2, "little") or not tail[22:].startswith(_STAMP):
        return ""
    stamp = tail[22 + len(_STAMP):]
    return stamp.decode("ascii") if stamp.isalnum() and stamp.isascii() else ""
