"""The offline edition: the whole site as one deterministic zip, for a phone or a USB stick.

A small zip writer of our own instead of ``zipfile``: it can copy a member's
compressed bytes from the previous build's zip, so a rebuild after one edit
compresses a few pages instead of the whole archive, and it compresses the rest
in threads (zlib releases the GIL). Fixed times, permissions and order make
two builds of the same site byte-identical.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
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


def _compress(data: bytes) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _previous_members(previous_zip: Path | None) -> dict[str, tuple[int, int, int, int]]:
    """name -> (offset of compressed data, compressed size, crc, size) in the previous zip."""
    if previous_zip is None or not previous_zip.is_file():
        return {}
    members = {}
    try:
        with zipfile.ZipFile(previous_zip) as archive, open(previous_zip, "rb") as raw:
            for info in archive.infolist():
                if info.compress_type != zipfile.ZIP_DEFLATED:
                    continue
                raw.seek(info.header_offset + 26)
                name_length, extra_length = struct.unpack("<HH", raw.read(4))
                start = info.header_offset + 30 + name_length + extra_length
                members[info.filename] = (start, info.compress_size, info.CRC, info.file_size)
    except (OSError, zipfile.BadZipFile, struct.error):
        return {}  # unreadable: compress everything again
    return members


def write_site_zip(target: Path, root: Path, names: Sequence[str], reusable: Iterable[str] = (), previous_zip: Path | None = None, threads: int = 2) -> None:
    """Zip ``names`` (paths under ``root``) into ``target``, each under the folder 'site/'.

    A name in ``reusable`` whose member is in ``previous_zip`` is copied from it
    without recompressing: the caller vouches that its content is unchanged.
    """
    previous = _previous_members(previous_zip)
    reuse = {n for n in reusable if f"{FOLDER}/{n}" in previous}
    central: list[bytes] = []
    offset = 0
    with open(target, "wb") as out, ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        old = open(previous_zip, "rb") if reuse and previous_zip else None
        try:
            ordered = sorted(names)
            for start in range(0, len(ordered), _BATCH):
                batch = ordered[start : start + _BATCH]
                fresh = [n for n in batch if n not in reuse]
                contents = {n: (root / n).read_bytes() for n in fresh}
                compressed = dict(zip(fresh, pool.map(_compress, (contents[n] for n in fresh))))
                for name in batch:
                    member = f"{FOLDER}/{name}"
                    if name in reuse:
                        data_offset, size_c, crc, size = previous[member]
                        old.seek(data_offset)  # type: ignore[union-attr]
                        body = old.read(size_c)  # type: ignore[union-attr]
                    else:
                        body, crc, size = compressed[name], zlib.crc32(contents[name]), len(contents[name])
                    encoded = member.encode("utf-8")
                    header = struct.pack(
                        "<IHHHHHIIIHH", 0x04034B50, _VERSION, _FLAGS, 8, _DOS_TIME, _DOS_DATE, crc, len(body), size, len(encoded), 0
                    )
                    if offset + len(header) + len(encoded) + len(body) > 0xFFFFFFFF:
                        raise ArchiveTooLarge(f"the site is over 4 GiB: site.zip is not written (set 'offline_archive: false')")
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
                    offset += len(header) + len(encoded) + len(body)
        finally:
            if old is not None:
                old.close()
        directory = b"".join(central)
        out.write(directory)
        _write_end(out, len(central), len(directory), offset)


def _write_end(out, count: int, size: int, offset: int) -> None:
    """End of central directory; zip64 records when there are more than 65,535 members."""
    if count > 0xFFFF:
        zip64_end = offset + size
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _MADE_BY, 45, 0, 0, count, count, size, offset))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1))
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, size, offset, 0))
    else:
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, offset, 0))
