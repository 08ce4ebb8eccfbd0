"""Which exchange format a file is, and the writer and reader for each (translate-toolkit is
imported only here, and only when an exchange command runs: a build never loads it)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

from ..config import SiteConfig
from ..core.diagnostics import Problem, error
from .exchange import MAX_EXCHANGE_BYTES, ExchangeUnit
from .worklist import FileWork

FORMATS = ("xliff", "po", "tmx")
SUFFIXES = {".xlf": "xliff", ".xliff": "xliff", ".po": "po", ".pot": "po", ".tmx": "tmx"}
Reader = Callable[[bytes, Path, SiteConfig], tuple[list[ExchangeUnit], list[Problem]]]


def export_bytes(works: list[FileWork], format_name: str, only: str, config: SiteConfig) -> bytes:
    if format_name == "xliff":
        from .exchange_xliff import write_xliff as write
    elif format_name == "po":
        from .exchange_po import write_po as write
    else:
        from .exchange_tmx import write_tmx as write
    return write(works, only, config)


def read_exchange(path: Path, config: SiteConfig) -> tuple[list[ExchangeUnit], list[Problem]]:
    """The units of an exchange file, or the problems that make it unusable (then no unit)."""
    data, problem = _read_bytes(path)
    if problem is not None:
        return [], [problem]
    format_name = detect_format(path, data)
    if format_name is None:
        return [], [error(path, None, "not an XLIFF, PO or TMX file: name it .xlf, .po or .tmx as exported")]
    reader = _reader(format_name)
    units, problems = reader(data, path, config)
    if any(p.is_error for p in problems):
        return [], problems
    return units, problems


def detect_format(path: Path, data: bytes) -> str | None:
    by_name = SUFFIXES.get(path.suffix.lower())
    if by_name:
        return by_name
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"<xliff" in head:
        return "xliff"
    if b"<tmx" in head:
        return "tmx"
    if head.startswith((b"msgid", b"msgctxt", b"#")):
        return "po"
    return None


def _reader(format_name: str) -> Reader:
    if format_name == "xliff":
        from .exchange_xliff import read_xliff

        return read_xliff
    if format_name == "po":
        from .exchange_po import read_po

        return read_po
    from .exchange_tmx import read_tmx

    return read_tmx


def _read_bytes(path: Path) -> tuple[bytes, Problem | None]:
    """The file's bytes: a regular file of bounded size (a link to /dev/zero never ends)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return b"", error(path, None, "no such file: give the path of the file your CAT tool saved")
    except OSError as exc:
        return b"", error(path, None, f"cannot read the file ({exc.strerror}): check its permissions")
    if not stat.S_ISREG(info.st_mode):
        return b"", error(path, None, "not a regular file: give the path of the file your CAT tool saved")
    if info.st_size > MAX_EXCHANGE_BYTES:
        return b"", error(path, None, f"file is too large ({info.st_size // (1024 * 1024)} MB; the limit is {MAX_EXCHANGE_BYTES // (1024 * 1024)} MB): export less at a time (--only unreviewed)")
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_EXCHANGE_BYTES + 1), None
    except OSError as exc:
        return b"", error(path, None, f"cannot read the file ({exc.strerror}): check its permissions")
