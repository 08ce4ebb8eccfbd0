"""The offline edition: the whole site as one deterministic zip, for a phone or a USB stick.

A small zip writer of our own instead of ``zipfile``, because compression is
most of the cost of a large archive and it can then happen anywhere:
worker processes compress the pages they render into *pack* files, members
unchanged since the previous build are copied from the previous zip, and only
the rest is compressed here (in threads: zlib releases the GIL). Fixed times,
permissions and order make two builds of the same site byte-identical.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

FOLDER = "site"
LEVEL = 6
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest date zip can store
_DOS_TIME = 0
_FLAGS = 0x0800  # names are UTF-8 (Arabic slugs)
_VERSION = 20
_MADE_BY = (3 << 8) | _VERSION  # Unix, so the permissions below are read
_EXTERNAL_ATTR = 0o100644 << 16
_BATCH = 64


class ArchiveTooLarge(Exception):
    """Over 4 GiB: this writer does not write zip64 member sizes."""


@dataclass(frozen=True)
class StoredMember:
    """A member's compressed bytes, already lying in some file."""

    file: str
    offset: int
    compressed_size: int
    crc: int
    size: int


def compress(data: bytes) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


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


def write_site_zip(target: Path, root: Path, names: Sequence[str], stored: Mapping[str, StoredMember], threads: int = 2) -> dict[str, StoredMember]:
    """Zip ``names`` (paths under ``root``) into ``target``, each under the folder 'site/'.

    A name in ``stored`` is copied as it is (the caller vouches that it holds
    this build's content); the others are read from ``root`` and compressed.
    Returns where each member's compressed bytes lie in ``target``, for reuse.
    """
    maps: dict[str, mmap.mmap] = {}
    layout: dict[str, StoredMember] = {}
    central: list[bytes] = []
    offset = 0

    def source(member: StoredMember) -> mmap.mmap:
        if member.file not in maps:
            with open(member.file, "rb") as handle:
                maps[member.file] = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return maps[member.file]

    try:
        with open(target, "wb") as out, ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            ordered = sorted(names)
            for start in range(0, len(ordered), _BATCH):
                batch = ordered[start : start + _BATCH]
                fresh = [n for n in batch if n not in stored]
                contents = {n: (root / n).read_bytes() for n in fresh}
                compressed = dict(zip(fresh, pool.map(compress, (contents[n] for n in fresh))))
                for name in batch:
                    if name in stored:
                        member = stored[name]
                        body = source(member)[member.offset : member.offset + member.compressed_size]
                        crc, size = member.crc, member.size
                    else:
                        body, crc, size = compressed[name], zlib.crc32(contents[name]), len(contents[name])
                    encoded = f"{FOLDER}/{name}".encode("utf-8")
                    header = struct.pack("<IHHHHHIIIHH", 0x04034B50, _VERSION, _FLAGS, 8, _DOS_TIME, _DOS_DATE, crc, len(body), size, len(encoded), 0)
                    if offset + len(header) + len(encoded) + len(body) > 0xFFFFFFFF:
                        raise ArchiveTooLarge("the site is over 4 GiB: site.zip is not written (set 'offline_archive: false')")
                    central.append(
                        struct.pack(
                            "<IHHHHHHIIIHHHHHII", 0x02014B50, _MADE_BY, _VERSION, _FLAGS, 8, _DOS_TIME, _DOS_DATE,
                            crc, len(body), size, len(encoded), 0, 0, 0, 0, _EXTERNAL_ATTR, offset,
                        )
                        + encoded
                    )
                    out.write(header)
                    out.write(encoded)
                    out.write(body)
                    data_offset = offset + len(header) + len(encoded)
                    layout[name] = StoredMember("", data_offset, len(body), crc, size)
                    offset = data_offset + len(body)
            directory = b"".join(central)
            out.write(directory)
            _write_end(out, len(central), len(directory), offset)
    finally:
        for mapped in maps.values():
            mapped.close()
    return layout


def _write_end(out, count: int, size: int, offset: int) -> None:
    """End of central directory; zip64 records when there are more than 65,535 members."""
    if count > 0xFFFF:
        zip64_end = offset + size
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _MADE_BY, 45, 0, 0, count, count, size, offset))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1))
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, size, offset, 0))
    else:
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, offset, 0))


def in_file(layout: Mapping[str, StoredMember], path: Path) -> dict[str, StoredMember]:
    """The layout returned by write_site_zip, pointing at where that zip now lies."""
    name = str(path)
    return {n: StoredMember(name, m.offset, m.compressed_size, m.crc, m.size) for n, m in layout.items()}


def remove_packs(folder: Path) -> None:
    if folder.is_dir():
        for pack in folder.iterdir():
            pack.unlink(missing_ok=True)
        os.rmdir(folder)
