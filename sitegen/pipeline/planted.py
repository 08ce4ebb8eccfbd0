"""What the build never makes, found in a copy of the live site and removed; and the marks
that let a copy's folders, as the build that made them left them, go unread.

A staging folder starts as a copy of a site that stood in the output folder, where anyone
who can write there may have planted a link or a device. :func:`remove_planted_entries`
finds them before the build writes anything; :func:`folder_marks` and the marks' seal
(core/sealing.py) spare it reading the folders nobody touched since.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from ..core.sealing import holds, seal, user_key


def plain_relative(rel: object) -> bool:
    """A path the build writes: relative, no '..', no empty or dot parts (the cache may be planted)."""
    return isinstance(rel, str) and bool(rel) and not rel.startswith("/") and all(part not in ("", ".", "..") for part in rel.split("/"))


FolderMark = tuple[str, int, int, int]  # (folder below the site, inode, ctime in ns, link count)

# A folder changed more recently than this is not marked (see folder_marks).
_SETTLED_NS = 50_000_000


def folder_marks(site: Path, folders: Iterable[str], build_id: str) -> tuple[tuple[FolderMark, ...], str]:
    """The mark of each of ``folders`` of the site (below it: '' is the site itself, never
    marked) and of every folder holding one, and their seal (core/sealing.py: the cache
    may be planted, and a mark forged to fit a folder someone planted a link in must not
    pass), taken by the build ``build_id`` once its site is published: the build after
    next finds that site as its spare, and reads only the folders whose mark changed
    (remove_planted_entries). No key, no marks.

    A folder's ctime changes whenever an entry is added to it, removed or renamed, and nobody
    can set it back (setting the mtime sets the ctime to now); its link count is 2 plus its
    subfolders (ext4, XFS, tmpfs; btrfs says 1, so that a btrfs folder never passes for
    complete and is always read). The kernel stamps a change with a coarse clock, up to a
    tick old (10 ms at most): a folder changed in the last ``_SETTLED_NS`` is not marked,
    as a change made after its mark, within the same tick, could leave the same ctime.
    POSIX only: elsewhere a ctime is not a change time."""
    key = user_key()
    if os.name != "posix" or key is None:
        return (), ""
    names: set[str] = set()
    for folder in folders:
        while folder and folder not in names:
            names.add(folder)
            folder = folder.rpartition("/")[0]
    settled_before = time.time_ns() - _SETTLED_NS
    marks = []
    for name in sorted(names):
        try:
            info = os.lstat(site / name)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_ctime_ns < settled_before:
            marks.append((name, info.st_ino, info.st_ctime_ns, info.st_nlink))
    return tuple(marks), seal(key, _sealed_parts(build_id, marks))


def marks_hold(build_id: str, marks: object, sealed: object) -> bool:
    """Whether ``marks`` are folder marks sealed by this user's builds for the site ``build_id``."""
    return type(marks) is tuple and all(map(_a_mark, marks)) and holds(user_key(), _sealed_parts(build_id, marks), sealed)


def _sealed_parts(build_id: str, marks) -> list[str]:
    return [build_id, *(f"{name}/{inode}/{ctime}/{links}" for name, inode, ctime, links in marks)]


def _a_mark(mark: object) -> bool:
    """A folder mark as folder_marks makes them (the cache may be planted)."""
    return type(mark) is tuple and len(mark) == 4 and plain_relative(mark[0]) and all(type(n) is int for n in mark[1:])


def remove_planted_entries(folder: Path, files: set[str] | None = None, marks: Iterable[FolderMark] = (), settled: set[str] | None = None, read: set[str] | None = None) -> int:
    """Remove every symbolic link, named pipe, socket or device below ``folder``; returns how many.

    The build never makes any of them, so one in the copy of the live site was planted: a link
    to a folder elsewhere would have the build write through it (outside the output folder), a
    link to a private file would be published and zipped. Links are removed, never followed.
    The walk reads only directory entries (their type comes with the name): no stat per file.
    ``files`` receives the path of every regular file read, relative to ``folder`` (for
    :func:`remove_strays`, which then needs no walk of its own).

    ``marks``: the folders of this copy as the build that made it left them (folder_marks). A
    folder found with its mark holds the entries that build left in it, which were no links:
    it is not read (reading the 30,000 entries of a site of 10,000 segments took 15-25 ms of
    every one-change build), and ``settled`` receives it. Its link count says its subfolders
    are the marked ones, and each of them is judged in turn. The top folder is always read
    (moving a site aside changes its own ctime), and any folder whose mark changed.
    ``read`` receives every folder read below ``folder``.
    """
    removed = 0
    root = os.fspath(folder)
    marked = {name: (inode, ctime, links) for name, inode, ctime, links in marks}
    below: dict[str, list[str]] = {}
    for name in marked:
        below.setdefault(name.rpartition("/")[0], []).append(name)
    pending = [(root, "")]  # folders to read, with their path below ``folder``
    while pending:
        path, prefix = pending.pop()
        if read is not None and prefix:
            read.add(prefix[:-1])
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    judge = [prefix + entry.name]  # a folder, then the marked ones of a settled folder
                    while judge:
                        name = judge.pop()
                        found = f"{root}/{name}"
                        if settled is not None and _as_marked(found, marked.get(name), len(below.get(name, ()))):
                            settled.add(name)
                            judge += below.get(name, ())
                        elif _is_folder(found):  # never read through a link
                            pending.append((found, name + "/"))
                elif not entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
                    removed += 1
                elif files is not None:
                    files.add(prefix + entry.name)
    return removed


def _is_folder(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _as_marked(path: str, mark: tuple[int, int, int] | None, subfolders: int) -> bool:
    """Whether the folder at ``path`` is as its mark says, holding the marked subfolders only."""
    if mark is None or mark[2] != 2 + subfolders:
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and (info.st_ino, info.st_ctime_ns, info.st_nlink) == mark
