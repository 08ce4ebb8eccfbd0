"""What the tool keeps compiled in its own ``__pycache__`` beside Python's bytecode (the
dataclasses' methods, generated_code.py; the programs of regular expressions, pattern_code.py):
one dict a file, marshalled after a stamp of the interpreter that made it, read back only under
the same stamp, written atomically and only where Python writes bytecode."""

from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path


def read_marshalled(path: Path, stamp: bytes) -> dict:
    """The dict ``path`` holds; empty if it is missing, of another interpreter (``stamp``), or not
    as :func:`write_marshalled` writes it. Its entries are the caller's to check."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if not data.startswith(stamp):
        return {}
    try:
        value = marshal.loads(data[len(stamp):])
    except (EOFError, ValueError, TypeError):
        return {}
    return value if type(value) is dict else {}


def write_marshalled(path: Path, stamp: bytes, value: dict, owner: int) -> None:
    """Write ``value`` after ``stamp`` (atomically: another build may read the file meanwhile),
    unless Python writes no bytecode or this is not the ``owner`` process (a forked worker).
    A folder that cannot be written, or a value marshal cannot write, is left alone: every run
    then compiles, as without the file."""
    if sys.dont_write_bytecode or os.getpid() != owner:
        return
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        temporary.write_bytes(stamp + marshal.dumps(value))
        os.replace(temporary, path)
    except (OSError, ValueError):
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass  # not even a folder to have left it in
