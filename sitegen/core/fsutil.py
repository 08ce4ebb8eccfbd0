"""Writing files so that a crash never leaves half of one."""

from __future__ import annotations

import functools
import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary file beside ``path``, then rename it into place.

    With ``durable`` the data and the rename reach the disk before returning, so
    that even a power cut keeps either the old file or the new one.

    The new file gets the permissions of the one it replaces, or those the umask gives a
    new file: ``mkstemp`` makes it 0600, and a memory rewritten by a build became unreadable
    to the rest of a team sharing the checkout (and to a web server serving it).
    The rename replaces ``path`` itself: a symbolic link there is replaced, never written through.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(path.parent)


def read_at_most(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes of ``fd`` from where it stands, to its end: ``os.read`` without a
    file object, which builds a buffer and asks the system what the file is (ten thousand
    sources and as many memories a cold build)."""
    parts = []
    while limit > 0:
        part = os.read(fd, min(limit, 1 << 20))
        if not part:
            break
        parts.append(part)
        limit -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def write_all(fd: int, data: bytes) -> None:
    """All of ``data`` to ``fd`` with ``os.write``, continuing after a short write (a signal, a
    full pipe). Without a file object: one builds a buffer and asks the system what the file is."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _mode_for(path: Path) -> int:
    """Permission bits for a file written to ``path``: those of the file there, else 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask, read without changing it.

    ``os.umask`` only reads the mask by setting it: between setting and restoring, a file
    another thread creates gets the wrong mode. Linux shows the mask in /proc/self/status;
    elsewhere the mask found when this module was imported (before any worker thread) stands.
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _UMASK_AT_IMPORT


def _umask_by_setting() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK_AT_IMPORT = _umask_by_setting()


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sync_filesystem(folder: Path) -> None:
    """Everything written to ``folder``'s filesystem reaches the disk: one ``syncfs`` (Linux),
    ``sync`` elsewhere. Thousands of files written at once are made durable by this in one
    step; an fsync each cost 2 ms a file, a minute for a large archive's memories."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        if not _syncfs(fd):
            os.sync()
    finally:
        os.close(fd)


def _syncfs(fd: int) -> bool:
    call = libc_function("syncfs")
    return call is not None and call(fd) == 0


@functools.cache
def libc_function(name: str):
    """libc's ``name`` (through ctypes, errno kept), looked up once per process; None where it
    is missing. ctypes is imported here: most builds never need it."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    return getattr(libc, name, None)
