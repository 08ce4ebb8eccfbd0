"""A key only this user can read, to seal what a build trusts on sight in folders others may write.

The build cache lies beside the content, where other people may write too (a folder shared
with a group, a hostile checkout). Most of what it holds is checked where it is used; the
folder marks of the spare site (pipeline/staging.py) are trusted instead: a folder found as
marked is not read. A mark forged to match a folder someone planted a link in would let the
link through, so marks are sealed (an HMAC) under this key, and a mark whose seal does not
hold is not used.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from .fsutil import write_all
from .remembered import private_folder

KEY_BYTES = 32
_OPEN = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def seal(key: bytes, parts: Iterable[str]) -> str:
    """The seal of ``parts`` (texts without NUL) under ``key``."""
    return hmac.new(key, "\0".join(parts).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def holds(key: bytes | None, parts: Iterable[str], sealed: object) -> bool:
    """Whether ``sealed`` is the seal of ``parts`` under ``key`` (never without a key)."""
    return key is not None and type(sealed) is str and hmac.compare_digest(seal(key, parts), sealed)


@functools.cache
def user_key() -> bytes | None:
    """This user's key, made at first use in the folder only this user may enter
    (remembered.private_folder); None where there is no such folder or key: then nothing is
    sealed, and no seal holds."""
    folder = private_folder()
    if folder is None:
        return None
    try:
        path = os.path.join(folder, "seal.key")
        if not os.path.lexists(path):
            _make_key(folder, path)
        fd = os.open(path, os.O_RDONLY | _OPEN)
        try:
            if not _private(os.fstat(fd), stat.S_ISREG):
                return None
            key = os.read(fd, KEY_BYTES + 1)
        finally:
            os.close(fd)
    except OSError:
        return None
    return key if len(key) == KEY_BYTES else None


def _private(info: os.stat_result, kind) -> bool:
    """Of this user's, of the right kind, and closed to everyone else."""
    return kind(info.st_mode) and info.st_uid == os.getuid() and not stat.S_IMODE(info.st_mode) & 0o077


def _make_key(folder: Path, path: str) -> None:
    """Written whole under a name of its own, then linked into place: a build running at the
    same moment finds no key or a whole one, never part of one (the first link wins)."""
    draft = os.path.join(folder, f"seal.key.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN, 0o600)
    try:
        write_all(fd, secrets.token_bytes(KEY_BYTES))
    finally:
        os.close(fd)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)
