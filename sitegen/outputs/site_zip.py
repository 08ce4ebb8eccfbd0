"""site.zip, the offline edition, as the last output: it is made of every other file.

Its key is the list of every file of the site with its digest. Members whose file is
unchanged are copied from the previous zip, a run of neighbours in one piece (its layout
is this artifact's memo); pages rendered in this build were compressed by the workers
into pack files; only the rest is compressed here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import filterfalse
from pathlib import Path

from ..config import SiteConfig
from ..core import urls
from ..core.diagnostics import warning
from ..core.hashing import hash_bytes
from ..pages.figures import archived_file
from .archive import (
    ArchiveTooLarge,
    BackgroundCopies,
    PreviousZip,
    StoredMember,
    ZipContent,
    ZipLayout,
    write_site_zip,
)
from .base import Artifact, Made, Output, SiteView


@dataclass(frozen=True)
class SiteFiles:
    """The site's files once every output but site.zip is made, gone over once: at 50,000
    segments each pass over the 156,000 paths (sorting them, hashing them with their digests,
    comparing them with the previous build's) cost 25-50 ms, and the zip's key, the build id
    and the paths the next build's staging folder lacks each made their own."""

    paths: list[str]  # sorted
    key: str  # every path with its digest (core.hashing.hash_columns)
    changed: frozenset[str]  # paths whose file differs from the previous build's: changed, added or removed


def site_files(manifest: Mapping[str, str], changed: frozenset[str], key: str) -> SiteFiles:
    """``changed``: the paths whose file differs from the previous build's (or may); ``key``:
    every path of ``manifest`` with its digest, hashed (pipeline/making.stock_key: by the
    parts the site is made of, each hashed where it is made)."""
    return SiteFiles(sorted(manifest), key, changed)


@dataclass(frozen=True)
class Finished:
    """The rest of the site, once every other output is made."""

    manifest: Mapping[str, str]  # path -> digest, this build
    files: SiteFiles  # the manifest's paths, key and changes
    packed: Mapping[str, StoredMember]  # pages compressed by this build's workers
    left_out: frozenset[str] = frozenset()  # photo files the zip does not carry (offline_archive_images)
    # A zip of an older site no one else links to (the spare site's, set aside by the staging
    # folder's catch-up): written over in place, not a new file made (see _take_old_zip).
    old_zip: Path | None = None


class SiteZip(Output):
    name = "site.zip"

    def artifacts(self, view: SiteView) -> list[Artifact]:
        return []  # made last, of the finished site: see final_artifacts


    def final_artifacts(self, view: SiteView, finished: Finished) -> list[Artifact]:
        if not view.config.offline_archive:
            return []
        names, key = finished.files.paths, finished.files.key
        left_out = finished.left_out.intersection(finished.manifest)
        if left_out:  # photos the zip does not carry: a key of what it does
            names = list(filterfalse(left_out.__contains__, names))
            key = hash_bytes(key, "\0".join(sorted(left_out)))
        return [Artifact(urls.ARCHIVE, key, lambda memo: _make(view, finished, names, key, memo))]


def _make(view: SiteView, finished: Finished, names: list[str], key: str, memo: ZipLayout | None) -> Made:
    config = view.config
    previous = _live_zip(config, memo)
    reuse = None
    if previous is not None:
        # The names whose file differs between the two manifests (changed, added or removed).
        # (The names the zip holds unchanged, judged one by one, cost 4-13 ms at 10,000 segments.)
        reuse = PreviousZip(previous, finished.files.changed)
    packed = {name: member for name, member in finished.packed.items() if name in finished.manifest}
    target = view.staging / urls.ARCHIVE
    _take_old_zip(finished.old_zip, target)
    copies = BackgroundCopies()  # the unchanged runs, copied while the build saves its state
    try:
        images = config.offline_archive_images
        # Pages point only at the photo files the zip carries (the workers did the same to the
        # pages they packed); so the setting is part of what the zip holds.
        content = ZipContent(hash_bytes(key, str(images)), lambda name, data: archived_file(name, data, images))
        layout = write_site_zip(target, view.staging, names, packed, reuse, config.output_dir / urls.ARCHIVE, content, copies)
    except ArchiveTooLarge as exc:
        target.unlink(missing_ok=True)
        return Made(problems=(warning(config.config_path, None, str(exc)),))
    # The zip is made of the names and contents its key lists, and of nothing else.
    return Made(written={urls.ARCHIVE: hash_bytes(key, str(layout.size))}, memo=layout, pending=copies.wait)


def _take_old_zip(old: Path | None, target: Path) -> None:
    """Put the zip ``old`` at ``target`` to be written over, if it is a plain file linked from
    nowhere else; otherwise clear ``target`` (a hard link to the live zip: never written
    through) for a new file. Writing over an old zip of about the same size reuses its blocks
    and its pages in memory: a new file of 150 MB at 10,000 segments had them all allocated
    again (0.08-0.3 s of a one-change build, where the copy itself takes 0.02 s), and the
    old one deleted meanwhile."""
    if old is not None:
        try:
            info = old.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                os.replace(old, target)
                return
        except OSError:
            pass  # gone, or not ours to move: a new file
    target.unlink(missing_ok=True)


def _live_zip(config: SiteConfig, memo: ZipLayout | None) -> ZipLayout | None:
    """The layout of the live site.zip, if it is the zip the record describes: its
    unchanged members are copied, not compressed again."""
    if not isinstance(memo, ZipLayout) or not memo.names:
        return None
    live: Path = config.output_dir / urls.ARCHIVE
    try:
        info = live.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size != memo.size:
        return None  # replaced or damaged since: compress again
    if memo.file != str(live):
        return None  # recorded for another place (the output folder moved): compress again
    memo = memo.read_back()
    return memo if memo.fits() else None
