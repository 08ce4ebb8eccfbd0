"""Finding and reading source files: the input edge of the pipeline.

Only this module opens files under ``content_dir``. It returns decoded text
(UTF-8, BOM dropped, line ends normalised to LF) or a problem naming the file. The one
thing it makes there is an unnamed file, never linked, to read the file system's clock
(``file_system_clock``).
"""

from __future__ import annotations

import operator
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import NamedTuple

from ..core.diagnostics import Problem, error, warning
from ..core.fsutil import read_at_most
from ..core.hashing import Parent, folder_stat, open_folder, signature_of
from ..core.textrules import arabic_letters, writable_as_utf8

SOURCE_SUFFIXES = (".txt", ".md")
# Larger files are almost always a mistake (a dump, a binary); a news article is a few KB.
MAX_SOURCE_BYTES = 10 * 1024 * 1024
_BACKUP_SUFFIXES = ("~", ".bak", ".orig", ".swp", ".swo", ".tmp", ".rej")


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # POSIX path relative to content_dir: the file's identity in the site
    kind: str  # "txt" or "md"
    text: str  # decoded, LF line ends, no BOM


def is_ignored_name(name: str) -> bool:
    """Hidden files and editor leftovers are never sources."""
    return name.startswith((".", "#", "~$")) or name.endswith(_BACKUP_SUFFIXES)


class FoundSource(NamedTuple):
    rel: str  # POSIX path relative to content_dir
    path: str  # as found under the resolved content folder
    signature: tuple[int, int, int]  # (size, mtime_ns, inode) when it was listed: hashing.stat_signature


def discover_sources(content_dir: Path) -> tuple[list[Path], list[Problem]]:
    """Every source file under content_dir, sorted; symlinks leading outside are refused."""
    found, problems = find_sources(content_dir)
    return [Path(source.path) for source in found], problems


def find_sources(content_dir: Path) -> tuple[list[FoundSource], list[Problem]]:
    """Every source file under content_dir, sorted by path, with its stat signature.

    One ``stat`` a file: the folder listing says which entries are links and folders, and
    the signature a build compares comes from the stat that checks the file is regular (a
    build with nothing to do spent most of its time on three per file and on pathlib)."""
    found, problems, _ = find_sources_knowing(content_dir, {})
    return found, problems


# A folder's scan, kept for the next listing (plain values, marshalled): the folder's mtime,
# ctime and inode when it was scanned, then the names of its source files and of the
# subfolders looked into, each sorted. Adding, removing or renaming an entry moves its
# folder's mtime and ctime; the ctime too because an mtime can be set back (tar and rsync
# restore folders' mtimes, a reproducible archive gives every folder the same one), and a
# ctime cannot: setting the mtime moves it.
FolderScan = tuple[int, int, int, list[str], list[str]]
# Those times are the file system's clock, which moves in ticks (a few milliseconds on Linux's
# own file systems, ten on exFAT, a second on HFS+, two on FAT) and, on a network file
# system, may be another machine's: a folder changed in the tick it was scanned in could
# change again without its times moving (git keeps its "racily clean" entries apart for the
# same reason). So a folder's scan is kept only once that clock has moved well past the
# folder's last change. The clock is read from the file system itself, as what it stamps an
# unnamed file made in the content folder with (O_TMPFILE: the file is never linked, so
# nothing is left and no folder's times move), before any folder is scanned: the folder's
# last change must lie SETTLED_TICKS of that clock's ticks before, and SETTLED_MIN_NS at
# least. Where it cannot be read (not Linux; a file system without unnamed files, as FAT and
# NFS; a content folder that cannot be written; a folder on another device), this machine's
# clock is used, and the last change must lie a minute before (SETTLED_NS). Until a minute
# was waited everywhere, an archive copied, built and built again at once listed every
# folder again: 0.30 s instead of 0.24 for a no-op of 10,000 folders of an article.
SETTLED_NS = 60 * 1_000_000_000
SETTLED_MIN_NS = 100_000_000  # 0.1 s: ten ticks of Linux's coarsest clock (HZ=100), 25 of its usual one
SETTLED_TICKS = 10


def find_sources_knowing(content_dir: Path, known: dict[str, FolderScan]) -> tuple[list[FoundSource], list[Problem], dict[str, FolderScan]]:
    """:func:`find_sources`, and the scans of the folders to keep for the next listing. A
    folder whose mtime, ctime and inode are those of its scan in ``known`` is not listed again:
    only its sources are stat'ed (an archive of a folder an article, 10,000 of them, was
    listed in 150 ms, three quarters of it listing the folders)."""
    if not content_dir.is_dir():
        return [], [error(content_dir, None, "content folder not found: create it or set 'content_dir' in site.yml")], {}
    root = content_dir.resolve()
    walk = _Walk(root, known)
    walk.folder(str(root), "")
    walk.found.sort(key=lambda source: source.rel)
    return walk.found, walk.problems, walk.scans


class _Walk:
    """One listing of the content folder: its sources, problems and folders' scans."""

    def __init__(self, root: Path, known: dict[str, FolderScan]):
        self.root, self.known = root, known
        self.found: list[FoundSource] = []
        self.problems: list[Problem] = []
        self.scans: dict[str, FolderScan] = {}
        self.now = time.time_ns()
        # The file system's own time, before any folder is scanned, and how far behind it a
        # folder's last change must lie (SETTLED_NS).
        self.clock = file_system_clock(str(root))
        self.margin = max(SETTLED_MIN_NS, SETTLED_TICKS * clock_tick(self.clock[1])) if self.clock is not None else SETTLED_NS

    def folder(self, path: str, prefix: str, parent: Parent = None) -> None:
        """One folder's sources, then its subfolders' (in name order, as os.walk goes).
        ``parent``: (a descriptor of the folder it is in, its name there), from which the
        kernel walks one name or two (the folder, a file in it), not the whole path: in an
        archive of a folder an article, 10,000 folders each stat'ed with its source."""
        try:
            # The content folder is resolved; a subfolder that became a link is not followed.
            info = os.lstat(path) if parent is None else os.stat(parent[1], dir_fd=parent[0], follow_symlinks=False)
        except OSError:
            return  # unreadable or gone since listed: as os.walk, skipped
        if not S_ISDIR(info.st_mode):
            return  # named by a kept scan, and since replaced behind its folder's mtime
        kept = self.known.get(prefix)
        if _usable(kept, info) and self._kept_sources(path, prefix, kept[3], parent):
            self.scans[prefix] = kept
            folders = kept[4]
        else:
            folders = self._scan(path, prefix, info, parent)
        if not folders:
            return
        base = path if path.endswith("/") else path + "/"  # as scandir joins a path and a name
        fd = open_folder(path)
        try:
            for name in folders:
                self.folder(base + name, f"{prefix}{name}/", (fd, name) if fd is not None else None)
        finally:
            if fd is not None:
                os.close(fd)

    def _kept_sources(self, path: str, prefix: str, names: list[str], parent: Parent) -> bool:
        """The sources a kept scan names, stat'ed; False (nothing added) if one is no longer a
        regular file: the folder is then listed again. Links are not followed: a kept scan
        names none (a folder holding one is never kept), so a file that became one since is
        no regular file here."""
        base = path if path.endswith("/") else path + "/"
        found: list[FoundSource] = []
        stat_of, done = folder_stat(path, len(names), follow=False, parent=parent)
        try:
            for name in names:
                try:
                    info = stat_of(name, base + name)
                except OSError:
                    return False
                if not S_ISREG(info.st_mode):
                    return False
                found.append(FoundSource(prefix + name, base + name, signature_of(info)))
        finally:
            done()
        self.found += found
        return True

    def _scan(self, path: str, prefix: str, info: os.stat_result, parent: Parent) -> list[str]:
        """The folder listed: its sources found, and its scan kept when nothing in it needs
        saying (no problem, no link) and it has not changed lately. Its subfolders' names."""
        try:
            with os.scandir(path) as listing:
                entries = sorted(listing, key=_NAME)
        except OSError:
            return []  # unreadable or gone since listed: as os.walk, skipped
        said, linked = len(self.problems), False
        folders, files = [], []
        for entry in entries:
            try:
                is_folder = entry.is_dir()  # a link to a folder is one too (and is refused below)
            except OSError:
                is_folder = False
            if not is_folder:
                if not is_ignored_name(entry.name) and entry.name.lower().endswith(SOURCE_SUFFIXES):
                    files.append(entry)
            elif is_ignored_name(entry.name):
                continue
            elif not writable_as_utf8(entry.name):
                # Its files' names could not be written into pages, the memory or messages (the build crashed).
                self.problems.append(error(entry.path, None, "folder name is not valid UTF-8: rename it (its files are skipped)"))
            elif entry.is_symlink():
                # Following linked folders risks loops and reading outside the content.
                self.problems.append(warning(entry.path, None, "symbolic link to a folder skipped: copy the folder into content/ instead"))
            else:
                folders.append(entry.name)
        sources = []
        stat_of, done = folder_stat(path, len(files), parent=parent)
        try:
            for entry in files:
                linked = linked or entry.is_symlink()
                problem = _unusable_source(entry, self.root)
                if problem is not None:
                    self.problems.append(problem)
                    continue
                signature = _regular_signature(entry, self.problems, stat_of)
                if signature is not None:
                    self.found.append(FoundSource(prefix + entry.name, entry.path, signature))
                    sources.append(entry.name)
        finally:
            done()
        if not linked and len(self.problems) == said and len(sources) == len(files) and self._settled(info):
            self.scans[prefix] = (info.st_mtime_ns, info.st_ctime_ns, info.st_ino, sources, folders)
        return folders

    def _settled(self, info: os.stat_result) -> bool:
        """Whether the folder's last change lies far enough back for its scan to be kept (SETTLED_NS)."""
        last = max(info.st_mtime_ns, info.st_ctime_ns)
        clock = self.clock
        if clock is not None and info.st_dev == clock[0]:
            return clock[1] - last >= self.margin
        return self.now - last > SETTLED_NS


def file_system_clock(folder: str) -> tuple[int, int] | None:
    """(device, time now in ns) by the clock of the file system ``folder`` is on: what it stamps
    an unnamed file made there with (O_TMPFILE; never linked, so it leaves nothing behind and
    moves no folder's times). None where no such file can be made: the caller falls back on
    this machine's clock (SETTLED_NS)."""
    unnamed = getattr(os, "O_TMPFILE", 0)
    if not unnamed:
        return None
    try:
        fd = os.open(folder, unnamed | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    return info.st_dev, max(info.st_mtime_ns, info.st_ctime_ns)


def clock_tick(stamp_ns: int) -> int:
    """The tick of a clock that stamps whole seconds (FAT, HFS+) or hundredths (exFAT), told by
    the digits it leaves at zero in ``stamp_ns``: the largest power of ten dividing it, up to a
    second. (The ticks of Linux's own clock, a few milliseconds, leave no such sign:
    SETTLED_MIN_NS covers them.)"""
    tick = 1
    while tick < 1_000_000_000 and stamp_ns % (tick * 10) == 0:
        tick *= 10
    return tick


def _usable(kept: object, info: os.stat_result) -> bool:
    """Whether ``kept`` is a scan of this very folder (its mtime, ctime and inode as they are now),
    naming plain names only. The scans come from a file in the cache folder: a hint, never
    trusted for more (a name with a separator, or '..', would lead out of the content)."""
    if type(kept) is not tuple or len(kept) != 5 or kept[:3] != (info.st_mtime_ns, info.st_ctime_ns, info.st_ino):
        return False
    files, folders = kept[3], kept[4]
    if type(files) is not list or type(folders) is not list:
        return False
    for name in (*files, *folders):
        if type(name) is not str or name in ("", ".", "..") or "/" in name or "\0" in name or os.sep in name:
            return False
    return True


_NAME = operator.attrgetter("name")


def _unusable_source(entry: os.DirEntry, root: Path) -> Problem | None:
    if not writable_as_utf8(entry.name):
        # A name that is not UTF-8 (surrogate-escaped by os.walk) crashed the build with
        # UnicodeEncodeError as soon as it reached a slug, a page or a message.
        return error(entry.path, None, "file name is not valid UTF-8: rename it")
    if entry.is_symlink():
        target = Path(entry.path).resolve()
        if not target.is_relative_to(root):
            return error(entry.path, None, f"symbolic link leads outside the content folder (to {target}): copy the file in instead")
    return None


def _regular_signature(entry: os.DirEntry, problems: list[Problem], stat_of) -> tuple[int, int, int] | None:
    """The file's stat signature, or None (and why) when it is no regular file."""
    try:
        info = stat_of(entry.name, entry.path)  # follows a link: what would be read
    except OSError:
        if entry.is_symlink():
            problems.append(error(entry.path, None, "broken symbolic link: remove it or restore the file it points to"))
        return None  # gone since the folder was listed: not a source
    if not S_ISREG(info.st_mode):
        # Reading a named pipe (or a device) never returns: the build hung for good.
        problems.append(error(entry.path, None, "not a regular file (a named pipe, socket or device): remove it from the content folder"))
        return None
    return signature_of(info)


def read_source(path: Path, content_dir: Path, rel: str | None = None) -> tuple[SourceFile | None, list[Problem]]:
    """Decode one source file, or explain why it cannot be used. ``rel``: its path under the
    content folder, when the caller knows it."""
    if rel is None:
        rel = path.relative_to(content_dir.resolve()).as_posix() if path.is_absolute() else path.as_posix()
    data, problems = read_source_bytes(path)
    return decode_source(data, path, rel) if data is not None else (None, problems)


def read_source_bytes(path: Path) -> tuple[bytes | None, list[Problem]]:
    """A source file's bytes, or why they cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            size = os.fstat(fd).st_size
            data = read_at_most(fd, MAX_SOURCE_BYTES + 1) if size <= MAX_SOURCE_BYTES else b""
        finally:
            os.close(fd)
        size = max(size, len(data))  # it may have grown since
        if size > MAX_SOURCE_BYTES:
            return None, [
                error(path, None, f"file is too large ({size / 1e6:.1f} MB; the limit is {MAX_SOURCE_BYTES // 1_000_000} MB): split it into several files")
            ]
        return data, []
    except FileNotFoundError:
        return None, [error(path, None, "file vanished while the site was being built: build again once it is back or gone")]
    except OSError as exc:
        return None, [error(path, None, f"cannot read the file ({exc.strerror}): check its permissions")]


def decode_source(data: bytes, path: Path, rel: str) -> tuple[SourceFile | None, list[Problem]]:
    # Windows editors save "Unicode" text as UTF-16 with a byte-order mark; its NUL bytes made it
    # "binary, remove it", when the text only needs saving again as UTF-8.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, [error(path, 1, "text saved as UTF-16, not UTF-8: save the file again as UTF-8")]
    if b"\x00" in data[:8192]:
        return None, [error(path, None, "binary file, not text: remove it from the content folder")]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = " (it reads as Windows-1256 Arabic: iconv -f WINDOWS-1256 -t UTF-8 converts it)" if _reads_as_windows_arabic(data) else ""
        return None, [error(path, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}): save the file as UTF-8{hint}")]
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return None, [error(path, line, "NUL character in text: remove it (the file may be damaged)")]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kind = "md" if rel.lower().endswith(".md") else "txt"
    return SourceFile(path=path, rel=rel, kind=kind, text=text), []


def _reads_as_windows_arabic(data: bytes) -> bool:
    """Whether text that is not UTF-8 is most likely Windows-1256, the code page of older Arabic
    archives: its start read so is mostly Arabic letters (Latin-1 text reads as Arabic too,
    but few of its letters do), and read as UTF-8 it holds almost none (Arabic in UTF-8 with
    a damaged byte reads as Arabic in Windows-1256 too)."""
    start = data[:65536]
    as_windows = start.decode("cp1256", errors="replace")
    letters = sum(map(str.isalpha, as_windows))
    arabic = arabic_letters(as_windows)
    return letters > 0 and arabic >= 0.6 * letters and arabic_letters(start.decode("utf-8", errors="replace")) < 0.1 * arabic


def git_head(content_dir: Path) -> str | None:
    """The commit checked out where the content lies (None: not in a repository, or no git)."""
    if not may_be_in_git(content_dir):
        return None
    try:
        return subprocess.run(["git", "-C", str(content_dir), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def may_be_in_git(folder: Path) -> bool:
    """False when git could find no repository for ``folder``: no ``.git`` (a folder, or the
    file of a worktree or submodule) in it or above it, and none named by GIT_DIR. Then git
    is not started at all: asking it cost every build, one with nothing to do included,
    5-7 ms a question."""
    if os.environ.get("GIT_DIR"):
        return True
    try:
        here = folder.resolve()
    except OSError:
        return True  # let git say
    return any(os.path.lexists(os.path.join(place, ".git")) for place in (here, *here.parents))


def git_commit_dates(content_dir: Path) -> dict[str, date]:
    """Date of the last commit touching each file, keyed by path relative to content_dir.

    One ``git log`` for the whole folder: a call per file would cost seconds on a
    large archive. Outside a repository, or without git, no file has a git date.
    """
    if not may_be_in_git(content_dir):
        return {}
    try:
        top = subprocess.run(
            ["git", "-C", str(content_dir), "rev-parse", "--show-toplevel"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.strip()
        log = subprocess.run(
            ["git", "-C", top, "-c", "core.quotepath=off", "log", "--format=%x00%cs", "--name-only", "--no-renames", "--", str(content_dir.resolve())],
            capture_output=True, text=True, timeout=120, check=True, encoding="utf-8", errors="replace",
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    top_path = Path(top).resolve()
    content_rel = content_dir.resolve().relative_to(top_path).as_posix() if content_dir.resolve().is_relative_to(top_path) else ""
    prefix = "" if content_rel in ("", ".") else content_rel + "/"
    dates: dict[str, date] = {}
    current: date | None = None
    for line in log.splitlines():
        if line.startswith("\x00"):
            try:
                current = date.fromisoformat(line[1:].strip())
            except ValueError:
                current = None
            continue
        name = line.strip()
        if not name or current is None or not name.startswith(prefix):
            continue
        # The log is newest first: the first date seen for a file is its last commit.
        dates.setdefault(name[len(prefix):], current)
    return dates
