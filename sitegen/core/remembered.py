"""Facts a library's data gives (CLDR's month names for a locale, Unicode's combining marks),
remembered between processes.

Every build process made them afresh: loading Babel's locale data took 35-40 ms, scanning
three Unicode planes for marks 30 ms, in a build whose own work on one changed file takes
about a second. They change only with the library, whose version is part of their name
(``key``). They are kept as JSON (read as data, never run) in a folder only this user can
write, the way Jinja keeps its compiled templates (pages/theme.py); a value that is not
there, not readable or not of the expected shape (``accept``) is made again and kept.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable, TypeVar

from .fsutil import write_atomic

T = TypeVar("T")


def remembered(name: str, key: str, make: Callable[[], T], accept: Callable[[Any], bool]) -> T:
    """``make()``'s value (JSON data), read from the folder when an earlier process kept it
    under ``name`` and ``key`` and ``accept`` takes it; made and kept otherwise."""
    folder = private_folder()
    if folder is None:
        return make()
    path = folder / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    try:
        value = json.loads(path.read_bytes())
        if accept(value):
            return value
    except (OSError, ValueError):
        pass
    value = make()
    _keep(path, value)
    return value


def package_stamp(name: str) -> str:
    """An installed package's copy, by the path, size and time of its package file, without
    importing it: part of a key, so that another copy of the library makes its values again."""
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None and spec.origin else ""
    try:
        found = os.stat(origin)
    except OSError:
        return origin
    return f"{origin}:{found.st_size}:{found.st_mtime_ns}"


def private_folder() -> Path | None:
    """This user's folder under the system's temporary folder, made if need be; None when it
    is not safely this user's alone (another user's, a link, open to others) or cannot be made."""
    if not hasattr(os, "getuid"):
        return None
    folder = Path(tempfile.gettempdir()) / f"sitegen-{os.getuid()}"
    try:
        folder.mkdir(mode=stat.S_IRWXU, exist_ok=True)
        found = os.lstat(folder)
        others_write = stat.S_IWGRP | stat.S_IWOTH
        if stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid() and not found.st_mode & others_write and stat.S_IMODE(found.st_mode) != stat.S_IRWXU:
            # This user's own folder, made under another umask, that no one else could write
            # to: closed to others' reading too. (One others could write to is never used.)
            os.chmod(folder, stat.S_IRWXU)
            found = os.lstat(folder)
    except (OSError, NotImplementedError):
        return None
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or stat.S_IMODE(found.st_mode) != stat.S_IRWXU:
        return None
    return folder


def _keep(path: Path, value: Any) -> None:
    """Kept atomically (a process reading it meanwhile sees the old value or the new), not
    durably: a value lost in a crash is only made again."""
    try:
        write_atomic(path, json.dumps(value, ensure_ascii=False).encode("utf-8"), durable=False)
    except OSError:
        pass
