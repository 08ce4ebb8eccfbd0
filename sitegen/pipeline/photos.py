"""The photos of one source file, found, checked and processed during the file stage.

A photo is processed once per content and settings: its files are kept in the build
cache's media folder (``.cache/media-*``) and its record (sizes, file names) in the
cache's photos table, and a build only links them into the staging folder. So a changed
text never re-encodes its photos, and neither does a build that starts from scratch.
The photos a file references are its dependencies: their stat signatures join the file's
signature and their digests its key (plan.py), so a replaced photo remakes its pages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config import SiteConfig
from ..content.photos import PhotoRef, locate_photo
from ..content.segment import Segment
from ..core import urls
from ..core.diagnostics import Problem, error, warning
from ..core.fsutil import write_atomic
from ..core.hashing import hash_bytes, stat_signature
from ..media.records import PhotoRecord, PhotoRefused, PhotoSettings
from . import workers

# Larger than any camera's file by far; a bigger "photo" is a mistake (or an attack on memory).
MAX_PHOTO_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class PhotoUse:
    """One photo a file references: what the next build checks, and what was published."""

    rel: str  # under content/
    signature: tuple | None  # stat signature when it was read
    digest: str  # of its bytes
    key: str  # its processing's: digest and settings
    record: PhotoRecord


@dataclass(frozen=True)
class PhotoStore:
    """Processed photos this build may reuse: inherited by the workers."""

    folder: Path  # where processed files are kept between builds
    settings: PhotoSettings
    records: Mapping[str, PhotoRecord] = field(default_factory=dict)  # key -> record


@dataclass(frozen=True)
class FilePhotos:
    records: dict[str, PhotoRecord]  # by the path the text gives, for the page planner
    uses: tuple[PhotoUse, ...]
    problems: tuple[Problem, ...]
    files: dict[str, str]  # output path -> digest of every published file


def photo_settings(config: SiteConfig) -> PhotoSettings:
    return PhotoSettings(widths=config.photos.widths, max_pixels=int(config.photos.max_megapixels * 1_000_000))


def media_folder(config: SiteConfig) -> Path:
    """The cache's processed photos, one folder per output folder (as the cache itself)."""
    return config.cache_dir / f"media-{hash_bytes(str(config.output_dir))[:12]}"


def file_photos(segments: tuple[Segment, ...], config: SiteConfig, store: PhotoStore, staging: Path) -> FilePhotos:
    """Every photo the segments reference: located, checked, processed (or reused) and linked into staging."""
    records: dict[str, PhotoRecord] = {}
    uses: dict[str, PhotoUse] = {}
    problems: list[Problem] = []
    for segment in segments:
        for block in segment.blocks:
            photo = block.photo
            if photo is None or photo.src in records:
                continue
            use, found = _one_photo(photo, segment.source_path, config, store)
            problems += found
            if use is not None:
                records[photo.src] = use.record
                uses[use.rel] = use
    files = {urls.media_file(v.name): v.digest for use in uses.values() for v in use.record.variants}
    for path in files:
        _link_into(store.folder / path.rpartition("/")[2], staging / path)
    return FilePhotos(records, tuple(uses.values()), tuple(problems), files)


def _one_photo(photo: PhotoRef, source_path: Path, config: SiteConfig, store: PhotoStore) -> tuple[PhotoUse | None, list[Problem]]:
    problems: list[Problem] = []
    where = "image_alt in the front matter" if photo.lead else f"![what it shows]({photo.src})"
    if photo.remote:
        shown = "it is shown as a link" if photo.web_link else "it is left out"
        return None, [warning(source_path, photo.line, f"photo '{photo.src[:200]}' is not in content/: pages never load files from elsewhere, so {shown}; save the photo beside the article and reference it by its file name")]
    if not photo.alt:
        problems.append(warning(source_path, photo.line, f"photo '{photo.src}' has no alt text: describe what it shows for readers who cannot see it ({where})"))
    located = locate_photo(photo.src, source_path, config.content_dir)
    if located.rel is None:
        return None, [*problems, error(source_path, photo.line, located.problem)]
    path = config.content_dir / located.rel
    signature = stat_signature(path)
    if signature is not None and signature[0] > MAX_PHOTO_BYTES:
        return None, [*problems, error(source_path, photo.line, f"photo '{photo.src}' is {signature[0] // (1024 * 1024)} MB: export it at a smaller size (a photo for the web is a few MB at most)")]
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [*problems, error(source_path, photo.line, f"photo '{photo.src}' cannot be read ({exc.strerror}): check the file")]
    digest = hash_bytes(data)
    key = hash_bytes(digest, _processing().settings_key(store.settings))
    try:
        record = _processed(key, data, path.name, store)
    except PhotoRefused as refused:
        return None, [*problems, error(source_path, photo.line, refused.reason)]  # it names the file
    problems += [warning(source_path, photo.line, note) for note in record.notes]
    return PhotoUse(located.rel, signature, digest, key, record), problems


def _processed(key: str, data: bytes, name: str, store: PhotoStore) -> PhotoRecord:
    """The photo's record, its files in the store: reused when they are all there."""
    done = workers.process_local(("photos", str(store.folder)), dict)  # this process's, for a photo used twice
    record = done.get(key) or store.records.get(key)
    if record is not None and all((store.folder / v.name).is_file() for v in record.variants):
        return record
    record, files = _processing().process_photo(data, name, store.settings)
    for file_name, content in files.items():
        # Named by their bytes: a file already there is this one. Atomic: another worker may write it too.
        if not (store.folder / file_name).is_file():
            write_atomic(store.folder / file_name, content, durable=False)
    done[key] = record
    return record


def _processing():
    """media.photos, with Pillow: imported by a build that has a photo to look at, not by every build."""
    from ..media import photos

    return photos


def _link_into(kept: Path, target: Path) -> None:
    """A processed file into the staging folder; one already there has the same bytes (its name says so)."""
    if os.path.lexists(target):
        if os.path.isfile(target) and not os.path.islink(target):
            return
        os.unlink(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(kept, target)
    except OSError:  # another file system, or links not allowed: a copy
        write_atomic(target, kept.read_bytes(), durable=False)
