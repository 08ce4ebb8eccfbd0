"""The offline edition: the whole site as one deterministic zip, for a phone or a USB stick.

A small zip writer of our own instead of ``zipfile``, because compression is
most of the cost of a large archive and it can then happen anywhere:
worker processes compress the pages they render into *pack* files, members
unchanged since the previous build are copied from the previous zip, and only
the rest is compressed here (in threads: zlib releases the GIL). Fixed times,
permissions and order make two builds of the same site byte-identical.
"""

from __future__ import annotations

import errno
import mmap
import os
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from isal import isal_zlib

FOLDER = "site"
# ISA-L's deflate at level 3: the size of zlib's level 3 (itself 30% less CPU than the
# default 6 for a zip 6% larger) in a third of its time, measured on the benchmark pages.
# Any inflate reads it; the same bytes in give the same bytes out, on every machine.
LEVEL = 3
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
    # True when the bytes just before ``offset`` are this member's own local
    # header (a zip written by write_site_zip): a run of such members copies
    # from the old zip to the new one in one piece.
    framed: bool = False


def compress(data: bytes) -> bytes:
    return isal_zlib.compress(data, LEVEL, -15)


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
_FLUSH_AT = 1 << 20


class _Output:
    """The zip being written: small writes gathered, big unchanged runs copied file to file in the kernel."""

    def __init__(self, handle) -> None:
        self.handle = handle  # unbuffered: copies and writes must not overtake each other
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.run: list | None = None  # [source map, fd, start, end]: framed members to copy in one piece

    def write(self, data: bytes) -> None:
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            data = memoryview(b"".join(self.pending))
            while data:  # an unbuffered write may take only part of it
                data = data[self.handle.write(data):]
            self.pending.clear()
            self.pending_size = 0

    def copy_later(self, source: mmap.mmap, source_fd: int, start: int, end: int) -> None:
        """Copy ``source[start:end]``, once the run of spans it continues ends."""
        run = self.run
        if run and run[0] is source and run[3] == start:
            run[3] = end
        else:
            self.end_run()
            self.run = [source, source_fd, start, end]

    def end_run(self) -> None:
        if self.run:
            self.copy(*self.run)
            self.run = None

    def copy(self, source: mmap.mmap, source_fd: int, start: int, end: int) -> None:
        self.flush()
        copy_range = getattr(os, "copy_file_range", None)
        while start < end:
            done = 0
            if copy_range is not None:
                try:
                    done = copy_range(source_fd, self.handle.fileno(), end - start, start)
                except OSError:
                    copy_range = None  # e.g. across file systems on an old kernel: copy by hand
            if not done:
                chunk = source[start:end]
                if not chunk:
                    # The previous zip is shorter than its recorded layout says: never loop on it.
                    raise OSError(errno.EIO, "the previous site.zip is shorter than recorded")
                done = self.handle.write(chunk)
            start += done


class _Sources:
    """The files stored members lie in (packs, the previous zip), each opened and mapped once."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[mmap.mmap, int]] = {}
        self.handles: list = []

    def get(self, member: StoredMember) -> tuple[mmap.mmap, int]:
        if member.file not in self.files:
            handle = open(member.file, "rb")
            self.handles.append(handle)
            self.files[member.file] = (mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ), handle.fileno())
        return self.files[member.file]

    def close(self) -> None:
        for mapped, _ in self.files.values():
            mapped.close()
        for handle in self.handles:
            handle.close()


def write_site_zip(
    target: Path,
    root: Path,
    names: Sequence[str],
    stored: Mapping[str, StoredMember],
    threads: int = 2,
    final_path: Path | None = None,
    rewrite: Callable[[str, bytes], bytes] | None = None,
) -> dict[str, StoredMember]:
    """Zip ``names`` (paths under ``root``) into ``target``, each under the folder 'site/'.

    A name in ``stored`` is copied as it is (the caller vouches that it holds
    this build's content); the others are read from ``root`` and compressed.
    Returns where each member's compressed bytes lie in the zip once it is at
    ``final_path`` (default: ``target``), for the next build to reuse. ``rewrite(name,
    bytes)`` gives what the zip holds of a file read from ``root``.
    """
    where = str(final_path or target)
    sources = _Sources()
    layout: dict[str, StoredMember] = {}
    central: list[bytes] = []
    offset = 0
    try:
        with open(target, "wb", buffering=0) as raw, ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            out = _Output(raw)
            ordered = sorted(names)
            for start in range(0, len(ordered), _BATCH):
                batch = ordered[start : start + _BATCH]
                fresh = [n for n in batch if n not in stored]
                contents = {n: (root / n).read_bytes() for n in fresh}
                if rewrite is not None:
                    contents = {n: rewrite(n, data) for n, data in contents.items()}
                compressed = dict(zip(fresh, pool.map(compress, (contents[n] for n in fresh))))
                for name in batch:
                    encoded = f"{FOLDER}/{name}".encode("utf-8")
                    member = stored.get(name)
                    if member is not None:
                        crc, size, length = member.crc, member.size, member.compressed_size
                    else:
                        body = compressed[name]
                        crc, size, length = zlib.crc32(contents[name]), len(contents[name]), len(body)
                    header_size = _LOCAL_HEADER.size + len(encoded)
                    if offset + header_size + length > 0xFFFFFFFF:
                        raise ArchiveTooLarge("the site is over 4 GiB: site.zip is not written (set 'offline_archive: false')")
                    central.append(_central_record(encoded, crc, length, size, offset))
                    if member is not None and member.framed:
                        # Header, name and body lie as they are in the old zip: extend the run or start one.
                        mapped, fd = sources.get(member)
                        out.copy_later(mapped, fd, member.offset - header_size, member.offset + length)
                    else:
                        out.end_run()
                        if member is not None:
                            body = _stored_body(sources, member)
                        out.write(_LOCAL_HEADER.pack(0x04034B50, _VERSION, _FLAGS, 8, _DOS_TIME, _DOS_DATE, crc, length, size, len(encoded), 0))
                        out.write(encoded)
                        out.write(body)
                    data_offset = offset + header_size
                    layout[name] = StoredMember(where, data_offset, length, crc, size, True)
                    offset = data_offset + length
            out.end_run()
            directory = b"".join(central)
            out.write(directory)
            _write_end(out, len(central), len(directory), offset)
            out.flush()
    finally:
        sources.close()
    return layout


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
    mapped, _ = sources.get(member)
    body = mapped[member.offset : member.offset + member.compressed_size]
    if len(body) != member.compressed_size:
        raise OSError(errno.EIO, "a stored zip member lies past the end of its file", member.file)
    return body


def _write_end(out, count: int, size: int, offset: int) -> None:
    """End of central directory; zip64 records when there are more than 65,535 members."""
    if count > 0xFFFF:
        zip64_end = offset + size
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _MADE_BY, 45, 0, 0, count, count, size, offset))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1))
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, size, offset, 0))
    else:
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, offset, 0))


def remove_packs(folder: Path) -> None:
    if folder.is_dir():
        for pack in folder.iterdir():
            pack.unlink(missing_ok=True)
        os.rmdir(folder)
