"""Writing the site: built aside, then swapped in whole.

The new site is written to a staging folder beside the output folder and then
exchanged with it in one atomic ``renameat2(RENAME_EXCHANGE)`` (two renames
where that call is missing). A failed or killed build leaves the previous site
as it was; a file unchanged since the previous build is hard-linked, not
rewritten, so an incremental build costs little.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import secrets
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core import urls
from ..core.detached import start_detached
from ..core.fsutil import libc_function, write_all
from .planted import FolderMark, folder_marks, marks_hold, plain_relative, remove_planted_entries

MARKER = ".sitegen-output"
MARKER_TEXT = b"This folder is written by build.py and replaced whole on every build.\n"


class OutputError(Exception):
    """The output folder cannot be used; the message says why and what to do."""


def check_output_dir(output_dir: Path, project_root: Path, content_dir: Path, config_path: Path) -> None:
    """Refuse a folder whose replacement would destroy something that is not ours."""
    out = output_dir.resolve()
    root = project_root.resolve()
    if out == root or out in root.parents:
        raise OutputError(f"output folder {out} is the project folder or above it: set 'output_dir' to a folder of its own, e.g. _site")
    if out == Path(out.anchor) or out == Path.home().resolve():
        raise OutputError(f"output folder {out} is a system or home folder: set 'output_dir' to a folder of its own, e.g. _site")
    if content_dir.resolve() == out or out in content_dir.resolve().parents:
        raise OutputError(f"output folder {out} contains the content folder: choose another 'output_dir'")
    if content_dir.resolve() in out.parents:
        raise OutputError(f"output folder {out} is inside the content folder: choose a folder outside {content_dir}")
    if out in config_path.resolve().parents:
        raise OutputError(f"output folder {out} contains site.yml: choose another 'output_dir'")
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {out} is a file, not a folder: remove it or choose another 'output_dir'")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise OutputError(
            f"output folder {out} is not empty and was not made by build.py (no {MARKER} file in it): "
            "empty it, remove it, or choose another 'output_dir'"
        )


@contextmanager
def output_lock(output_dir: Path, wait_seconds: float = 600.0) -> Iterator[None]:
    """One build at a time per output folder; a second one waits, then gives up."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = output_dir.parent / f".{output_dir.name}.lock"
    handle = _open_lock_file(lock_path)
    try:
        deadline = time.monotonic() + wait_seconds
        announced = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    print(f"another build is writing {output_dir}; waiting for it to finish", flush=True)
                    announced = True
                if time.monotonic() > deadline:
                    raise OutputError(f"another build has held {lock_path} for {wait_seconds:.0f} s: wait for it or stop it") from None
                time.sleep(0.1)
        yield
    finally:
        handle.close()  # closing releases the lock, even after kill -9 (the kernel drops it)


def _open_lock_file(lock_path: Path):
    """The lock file, never through a symbolic link: a planted one would have the build
    create or touch a file wherever it points. A link found there is removed."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(lock_path, flags, 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        os.unlink(lock_path)
        fd = os.open(lock_path, flags, 0o644)
    return os.fdopen(fd, "r+b")


def staging_dir_for(output_dir: Path) -> Path:
    """A new name for every build, even several in one process (``serve``): the previous
    build's staging folder, now holding the old site, may still be under a detached ``rm``."""
    return output_dir.parent / f".{output_dir.name}.staging-{os.getpid()}-{next(_builds_in_process)}"


_builds_in_process = itertools.count(1)


def remove_leftovers(output_dir: Path) -> None:
    """Staging folders of builds that were killed, and old sites still being deleted; only
    called while holding the lock. They are renamed out of the way and deleted in the
    background, so that a build right after another does not wait for it."""
    for pattern in (f".{output_dir.name}.staging-*", f".{output_dir.name}.packs-*", f".{output_dir.name}.trash-*"):
        for leftover in output_dir.parent.glob(pattern):
            trash = leftover
            if ".trash-" not in leftover.name:
                trash = trash_dir_for(output_dir)
                try:
                    os.rename(leftover, trash)
                except OSError:
                    shutil.rmtree(leftover, ignore_errors=True)
                    continue
            remove_in_background(trash)
    parked = output_dir.parent / f".{output_dir.name}.previous"
    if parked.exists():
        if not output_dir.exists():
            # Killed between the two renames of the fallback swap: put the old site back.
            os.rename(parked, output_dir)
        else:
            shutil.rmtree(parked, ignore_errors=True)


def prepare_staging(output_dir: Path, link_previous: bool) -> Path:
    """A fresh staging folder; with ``link_previous``, a hard-linked copy of the live site.

    Linking costs a fraction of a second for tens of thousands of files (one
    ``cp -al``), after which an incremental build only replaces what changed.
    Every write into staging must unlink first (see article.replace_file).
    """
    return StagingCopy(output_dir, link_previous).ready()


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


def replace_file(path: Path | str, data: bytes) -> None:
    """Write a file in the staging folder as a new file. One there may be a hard link to the
    live site's file (or a planted link): it is unlinked, so nothing is written through it.

    Created exclusively first: a cold build's new file costs one ``open``, where unlinking
    first and making its folder cost two failed system calls and two exceptions a page."""
    try:
        fd = os.open(path, _NEW_FILE, 0o666)
    except FileExistsError:
        os.unlink(path)
        fd = os.open(path, _NEW_FILE, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, _NEW_FILE, 0o666)
    try:
        write_all(fd, data)  # no file object: thirty thousand pages a build
    finally:
        os.close(fd)


# Past this many paths behind, the spare site costs about what a hard-linked copy does.
MAX_BEHIND = 5000


def spare_dir_for(output_dir: Path) -> Path:
    """Where the site before the live one waits for the next build (see :class:`StagingCopy`)."""
    return output_dir.parent / f".{output_dir.name}.spare"


class StagingCopy:
    """The staging folder in the making, holding the live site's files as hard links.

    Made from the *spare* site when there is one: the site before the live one, kept aside
    by the previous build, which differs from the live site only where that build changed
    it (``spare.behind``). Bringing it up to date costs what the last build changed. Without
    a usable spare, ``cp -al`` of the whole live site runs while the build reads its cache,
    and :meth:`ready` waits for it (or falls back to linking file by file)."""

    def __init__(self, output_dir: Path, link_previous: bool, spare=None) -> None:
        self.output_dir = output_dir
        self.path = staging_dir_for(output_dir)
        self.process: subprocess.Popen | None = None
        self.planted = 0  # symbolic links and special files found (and removed) in the copy
        self.linking = link_previous and output_dir.is_dir()
        self.behind: tuple[str, ...] | None = None  # set when made from the spare site
        self.marks: tuple[FolderMark, ...] = ()  # the spare site's folders, as the build that made it left them
        self.files: set[str] = set()  # every file read in the copy once ready (relative paths)
        self.settled: set[str] = set()  # its folders found as marked: not read (see present)
        self.unlinked: set[str] = set()  # paths the catch-up took out and could not link again
        # The spare site's own site.zip, set aside by the catch-up: the new zip is written over
        # it in place (see site_zip.py). What the catch-up replaced waits in ``trash`` until
        # the outputs are made, then goes in the background (``let_go``).
        self.old_zip: Path | None = None
        self.trash: Path | None = None
        remove_path(self.path)
        if not self.linking:
            self.path.mkdir(parents=True)
            return
        if spare is not None and self._take_spare(spare):
            return
        self.process = _start_linked_copy(output_dir, self.path)

    def _take_spare(self, spare) -> bool:
        folder = spare_dir_for(self.output_dir)
        if len(spare.behind) > MAX_BEHIND or not all(map(plain_relative, spare.behind)) or read_build_id(folder) != spare.build_id:
            return False
        try:
            os.rename(folder, self.path)
        except OSError:
            return False
        self.behind = spare.behind
        self.marks = spare.folders if marks_hold(spare.build_id, spare.folders, spare.seal) else ()
        return True

    def ready(self) -> Path:
        if self.linking:
            self.linking = False
            if self.behind is not None:
                # Planted links removed first: nothing below is then written through one.
                self.planted = remove_planted_entries(self.path, self.files, self.marks, self.settled)
                if not self.planted:
                    self._catch_up()
                return self.path
            if self.process is None or self.process.wait() != 0:
                remove_path(self.path)
                # symlinks=True: a link is copied as a link (never followed), then removed below.
                shutil.copytree(self.output_dir, self.path, symlinks=True, copy_function=_link_or_copy)
            self.planted = remove_planted_entries(self.path, self.files)
        return self.path

    def _catch_up(self) -> None:
        """Make the spare site the live one: each path behind is linked again from the live
        site, or removed when the live site has no such file. What is replaced goes to a
        trash folder deleted in the background (the old site.zip alone takes a while)."""
        live = os.path.realpath(self.output_dir)
        for number, rel in enumerate(self.behind or ()):
            target = self.path / rel
            taken = os.path.lexists(target)
            if taken:
                if self.trash is None:
                    self.trash = trash_dir_for(self.output_dir)
                    self.trash.mkdir()
                os.rename(target, self.trash / str(number))
                self.files.discard(rel)
                if rel == urls.ARCHIVE:
                    self.old_zip = self.trash / str(number)
            source = os.path.join(live, rel)
            # Only a regular file that is really inside the live site (no planted link on the way).
            if os.path.realpath(source) == source and os.path.isfile(source):
                target.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(source, os.fspath(target))
                self.files.add(rel)
            else:
                self.unlinked.add(rel)
                if taken:  # a folder the live site no longer has (a tag's pages gone) goes too
                    _remove_empty_folders(self.path, target.parent)

    def present(self, listed: Iterable[str], keep: Container[str]) -> set[str]:
        """Every file the copy held once ready, as far as :func:`remove_strays` needs: those
        read, and of the settled folders (not read) the ones the live site's manifest
        ``listed`` there that ``keep`` lacks. A settled folder holds what the build that made
        the spare left there, brought up to the live site by the catch-up: the live site's
        files there."""
        if not self.settled:
            return self.files
        gone = {path for path in listed if path not in keep}
        return self.files | {path for path in gone if path.rpartition("/")[0] in self.settled and plain_relative(path)}

    def holds(self, rel: str) -> bool:
        """Whether the copy held ``rel`` once ready, for a path the live site's manifest lists
        (the engine asks it of every file of the artifacts it would carry over, before it
        writes any): read there, or in a settled folder, which holds the live site's files
        (see :meth:`present`) but for those the catch-up could not link. Asking the file
        system instead cost a one-change build 12-18 ms at 10,000 segments (2,000 artifacts
        carried over)."""
        return rel in self.files or (rel.rpartition("/")[0] in self.settled and rel not in self.unlinked)

    def let_go(self) -> None:
        """What the catch-up replaced (the old zip, if the new one was not written over it) is
        deleted in the background: the old site.zip alone takes a while."""
        if self.trash is not None:
            remove_in_background(self.trash)
            self.trash = self.old_zip = None

    def abandon(self) -> None:
        """The build stopped before using it: stop the copy and remove what it made."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.let_go()
        discard_staging(self.path)


def remove_strays(staging: Path, present: set[str], keep: Container[str]) -> None:
    """Whatever the new site does not contain goes: pages of removed sources, and files
    someone dropped into the output folder. ``present``: the files the staging folder held
    before the build wrote anything (every file written since is in ``keep``; see
    :meth:`StagingCopy.present`)."""
    for rel in sorted(path for path in present if path not in keep and path != MARKER):
        path = staging / rel
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        _remove_empty_folders(staging, path.parent)


def _remove_empty_folders(staging: Path, folder: Path) -> None:
    """``folder`` and the folders above it, up to the staging folder, while they are empty: a
    cold build makes no folder it puts nothing in."""
    while folder != staging and not any(os.scandir(folder)):
        os.rmdir(folder)
        folder = folder.parent


def remove_path(path: Path) -> None:
    """Remove whatever stands at ``path``: a link is unlinked (its target untouched), a folder deleted."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _mark_staging(staging: Path, build_id: str) -> None:
    """Name the build in the staging folder's marker (a new file: the old one may be a hard
    link to the spare's or the live site's)."""
    marker = staging / MARKER
    marker.unlink(missing_ok=True)
    marker.write_bytes(MARKER_TEXT + f"build {build_id}\n".encode())


def publish_staging(staging: Path, output_dir: Path, build_id: str, spare: SpareCopy | None = None) -> None:
    """Mark the staging folder as ours and swap it in. The previous site is kept aside as the
    next build's spare, or, when a hard-linked copy of the new site is being made for that
    (``spare``), removed in the background once the copy is linked (:meth:`SpareCopy.finish`
    it)."""
    if read_build_id(staging) != build_id:  # marked already when the site was made again the same (linked from the live one)
        _mark_staging(staging, build_id)
    if spare is not None:
        spare.ready()  # cp -al and the zip's copy read the staging folder by its name, which the swap gives the previous site
    swap_into_place(staging, output_dir)
    folder = spare_dir_for(output_dir)
    if folder.exists() or folder.is_symlink():
        throw_away(folder, output_dir)
    if spare is None:
        os.rename(staging, folder)  # now holds the previous site
        return
    remove_in_background(staging)
    spare.published(build_id)


class SpareCopy:
    """A hard-linked copy of the site being published (``cp -al`` of its staging folder,
    begun while the build writes site.zip on one core): the next build's spare, when the
    previous site could not be kept as one (a full build has no previous site worth catching
    up). Without it, the first build after a full one linked every file of the site again
    before it could start. Begun only once every other file of the staging folder is the
    site's (nothing is written into them after); the zip, which the copy may hold as a link
    or not at all, is given bytes of its own (copied once it is whole, while the build saves
    its work: :meth:`zip_whole`), put in on publishing, when the copy's marker is made to
    name the build, so that the copy is that build's spare."""

    def __init__(self, staging: Path, output_dir: Path):
        self.output_dir = output_dir
        self.build_id = ""  # of the site copied, once published
        self.folder = spare_dir_for(output_dir)
        # Its folders' marks and their seal, once linked and walked (planted.folder_marks):
        # the next build reads only the folders changed since (none: every folder is read).
        self.marks: tuple[tuple[FolderMark, ...], str] = ((), "")
        # Linked under a trash name, renamed into place once whole (finish): a copy cut short
        # (the build killed, cp failed) is never a spare, only a leftover that the next build
        # deletes. So the build's state can be committed while the copy goes on.
        self.partial = trash_dir_for(output_dir)
        self.process = _start_linked_copy(staging, self.partial)
        self.own_zip: threading.Thread | None = None
        self.copying: threading.Thread | None = None  # the zip's bytes, copied for the spare (zip_whole)
        self.zip_copy: Path | None = None  # where they are, once copied

    def linked(self) -> bool:
        """Wait for ``cp``; whether it linked every file."""
        return self.process is not None and self.process.wait() == 0

    def zip_whole(self, zipped: Path) -> None:
        """The new site.zip (in the staging folder) is whole: its bytes are copied for the
        spare meanwhile, under a trash name (put in on publishing). Copied after publishing,
        the build waited for the copy at its end (150 MB at 10,000 segments)."""
        def copy() -> None:
            target = trash_dir_for(self.output_dir)
            self.zip_copy = target if copy_file(zipped, target) else None

        self.copying = threading.Thread(target=copy, daemon=True)
        self.copying.start()

    def ready(self) -> None:
        """Wait for what reads the staging folder by its name: ``cp``, and the zip's copy."""
        self.linked()
        if self.copying is not None:
            self.copying.join()

    def published(self, build_id: str) -> None:
        """The site of ``build_id`` is live: the copy's marker names that build (a new file:
        the one cp linked may be the staging folder's before it was marked), and the zip's
        copy (:meth:`zip_whole`; none: no zip is kept) is put in the spare, meanwhile. The
        next build writes its zip over that one (site_zip._take_old_zip; the spare names the
        zip among the paths it lacks, so its catch-up sets it aside). A hard link to the live
        zip is never written through, and a new file of 150 MB, its blocks and pages all
        allocated, cost the first build after a full one 25-35 ms more than the next ones."""
        if self.linked():
            try:
                _mark_staging(self.partial, build_id)
            except OSError:
                return  # not marked: never a spare (finish)
            self.build_id = build_id
            self.own_zip = threading.Thread(target=self._own_zip, daemon=True)
            self.own_zip.start()

    def _own_zip(self) -> None:
        # Copied under a trash name (zip_whole), so that a build killed meanwhile leaves nothing remove_leftovers keeps.
        copy, self.zip_copy = self.zip_copy, None
        try:
            if copy is not None:
                os.replace(copy, self.partial / urls.ARCHIVE)
            else:  # no zip published (none made, or too large): none kept of one linked while it was written
                remove_path(self.partial / urls.ARCHIVE)
            self.marks = self._mark()
        except OSError:
            if copy is not None:
                remove_path(copy)

    def _mark(self) -> tuple[tuple[FolderMark, ...], str]:
        """The copy walked once whole (a link planted in the site as cp copied it is copied as
        a link: removed), then its folders marked: the first build after a full one then reads
        only the folders changed since, as every later build does (the spare it keeps aside
        is marked by the build that made it, Summary.folder_marks)."""
        read: set[str] = set()
        remove_planted_entries(self.partial, read=read)
        return folder_marks(self.partial, read, self.build_id)

    def finish(self) -> bool:
        """Whether the copy is whole, and now the spare. A partial one is removed: a spare is
        trusted to hold every file of the site it names (its marker), and would otherwise lend
        the next build holes."""
        if self.own_zip is not None:
            self.own_zip.join()
        if self.build_id and self.linked():  # marked as the spare of the build published
            try:
                os.rename(self.partial, self.folder)  # fails if anything took the name meanwhile
                return True
            except OSError:
                pass
        self.abandon()
        return False

    def abandon(self) -> None:
        """The build gave up before publishing: the copy is stopped, and what it linked removed."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.partial.exists() or self.partial.is_symlink():
            remove_in_background(self.partial)  # a trash name already
        if self.copying is not None:
            self.copying.join()
            if self.zip_copy is not None:
                remove_path(self.zip_copy)
                self.zip_copy = None


def copy_file(source: Path, target: Path) -> bool:
    """A copy of the regular file ``source`` made at ``target``, a new name; never read or
    written through a link (a link planted at the live zip's name would otherwise put what
    it points at into the spare site); False, and nothing left at ``target``, if there is no
    such file or the copy fails."""
    try:
        reader = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    made = False
    try:
        info = os.fstat(reader)
        if not stat.S_ISREG(info.st_mode):
            return False
        size = info.st_size
        writer = os.open(target, _NEW_FILE, 0o644)
        made = True
        try:
            done = 0
            while done < size:
                sent = os.sendfile(writer, reader, done, size - done)
                if sent == 0:
                    raise OSError(errno.EIO, "the file is shorter than it was")
                done += sent
        finally:
            os.close(writer)
        return True
    except OSError:
        if made:
            try:
                os.unlink(target)
            except OSError:
                pass
        return False
    finally:
        os.close(reader)


def _start_linked_copy(source: Path, target: Path) -> subprocess.Popen | None:
    """``cp -al``: a hard-linked copy of a whole site, made by one process in the background
    (None: it could not be started)."""
    try:
        return subprocess.Popen(["cp", "-al", str(source), str(target)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def trash_dir_for(output_dir: Path) -> Path:
    """A new name beside the site for something being deleted (remove_leftovers finishes it)."""
    return output_dir.parent / f".{output_dir.name}.trash-{secrets.token_hex(6)}"


def throw_away(folder: Path, output_dir: Path) -> None:
    """Move ``folder`` out of the way at once and delete it in the background."""
    trash = trash_dir_for(output_dir)
    os.rename(folder, trash)
    remove_in_background(trash)


def remove_in_background(folder: Path) -> None:
    """Deleting tens of thousands of files takes a while and nobody waits for it: hand it to
    a detached ``rm``. If it is interrupted, the next build's remove_leftovers() finishes it."""
    if not start_detached(["rm", "-rf", "--", str(folder)]):
        shutil.rmtree(folder, ignore_errors=True)


def discard_staging(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def read_build_id(output_dir: Path) -> str | None:
    """The build id in the live site's marker: the cache is trusted only if it matches."""
    try:
        text = (output_dir / MARKER).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        if line.startswith("build "):
            return line[6:].strip()
    return None


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def swap_into_place(staging: Path, output_dir: Path) -> None:
    """Make ``staging`` the output folder; afterwards ``staging`` holds the old site (if any)."""
    if not output_dir.exists():
        os.rename(staging, output_dir)
        staging.mkdir()
        return
    renameat2 = libc_function("renameat2")
    if renameat2 is not None:
        result = renameat2(_AT_FDCWD, os.fsencode(staging), _AT_FDCWD, os.fsencode(output_dir), _RENAME_EXCHANGE)
        if result == 0:
            return
        import ctypes  # loaded already by libc_function

        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(output_dir))
    # Fallback: two renames; remove_leftovers() repairs a kill between them.
    parked = output_dir.parent / f".{output_dir.name}.previous"
    os.rename(output_dir, parked)
    os.rename(staging, output_dir)
    os.rename(parked, staging)
