"""Finding and reading source files: the input edge of the pipeline.

Only this module opens files under ``content_dir``. It returns decoded text
(UTF-8, BOM dropped, line ends normalised to LF) or a problem naming the file.
"""

from __future__ import annotations

import operator
import os
import stat
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

from ..core.diagnostics import Problem, error, warning
from ..core.fsutil import read_at_most
from ..core.hashing import signature_of
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
    problems: list[Problem] = []
    if not content_dir.is_dir():
        return [], [error(content_dir, None, "content folder not found: create it or set 'content_dir' in site.yml")]
    root = content_dir.resolve()
    found: list[FoundSource] = []
    _find_in(str(root), "", root, found, problems)
    found.sort(key=lambda source: source.rel)
    return found, problems


_NAME = operator.attrgetter("name")


def _find_in(folder: str, prefix: str, root: Path, found: list[FoundSource], problems: list[Problem]) -> None:
    """One folder's sources, then its subfolders' (in name order, as os.walk goes). The folder
    is listed through a descriptor, so that each file's ``stat`` walks its name alone, not
    the whole path (a tenth of a build with nothing to do on an archive of a file a segment)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return  # unreadable or gone since listed: as os.walk, skipped
    base = folder if folder.endswith("/") else folder + "/"  # as scandir joins a path and a name
    folders: list[str] = []
    try:
        try:
            with os.scandir(fd) as listing:
                entries = sorted(listing, key=_NAME)
        except OSError:
            return
        files = []
        for entry in entries:
            try:
                is_folder = entry.is_dir()  # a link to a folder is one too (and is refused below)
            except OSError:
                is_folder = False
            if not is_folder:
                files.append(entry)
            elif is_ignored_name(entry.name):
                continue
            elif not writable_as_utf8(entry.name):
                # Its files' names could not be written into pages, the memory or messages (the build crashed).
                problems.append(error(base + entry.name, None, "folder name is not valid UTF-8: rename it (its files are skipped)"))
            elif entry.is_symlink():
                # Following linked folders risks loops and reading outside the content.
                problems.append(warning(base + entry.name, None, "symbolic link to a folder skipped: copy the folder into content/ instead"))
            else:
                folders.append(entry.name)
        for entry in files:  # stat'ed while the folder's descriptor is open (DirEntry.stat uses it)
            name = entry.name
            if is_ignored_name(name) or not name.lower().endswith(SOURCE_SUFFIXES):
                continue
            path = base + name
            problem = _unusable_source(entry, path, root)
            if problem is not None:
                problems.append(problem)
                continue
            signature = _regular_signature(entry, path, problems)
            if signature is not None:
                found.append(FoundSource(prefix + name, path, signature))
    finally:
        os.close(fd)
    for name in folders:
        _find_in(base + name, f"{prefix}{name}/", root, found, problems)


def _unusable_source(entry: os.DirEntry, path: str, root: Path) -> Problem | None:
    if not writable_as_utf8(entry.name):
        # A name that is not UTF-8 (surrogate-escaped by os.walk) crashed the build with
        # UnicodeEncodeError as soon as it reached a slug, a page or a message.
        return error(path, None, "file name is not valid UTF-8: rename it")
    if entry.is_symlink():
        target = Path(path).resolve()
        if not target.is_relative_to(root):
            return error(path, None, f"symbolic link leads outside the content folder (to {target}): copy the file in instead")
    return None


def _regular_signature(entry: os.DirEntry, path: str, problems: list[Problem]) -> tuple[int, int, int] | None:
    """The file's stat signature, or None (and why) when it is no regular file."""
    try:
        info = entry.stat()  # follows a link: what would be read
    except OSError:
        if entry.is_symlink():
            problems.append(error(path, None, "broken symbolic link: remove it or restore the file it points to"))
        return None  # gone since the folder was listed: not a source
    if not stat.S_ISREG(info.st_mode):
        # Reading a named pipe (or a device) never returns: the build hung for good.
        problems.append(error(path, None, "not a regular file (a named pipe, socket or device): remove it from the content folder"))
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
