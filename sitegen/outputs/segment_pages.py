"""Segment pages: each segment's Arabic page, its English companion and the parallel view.

Made in the file stage, in the worker that read the file (a page depends only on its own
source file, its translation memory, the configuration and the theme; neighbour links stay
inside one article), so they are keyed by the file's key: see pipeline/files.py. Within a
file that changed, each segment's pages are keyed again by what they show
(``segment_keys``): a paragraph edited in a file of three hundred segments makes the pages
of one segment, not of three hundred.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import fields
from typing import Any

from ..config import SiteConfig
from ..content.markup import Block
from ..content.photos import PhotoRef
from ..content.segment import Segment
from ..core.hashing import hash_bytes
from ..media.records import PhotoRecord
from ..pages.listing import Article
from ..pages.planner import Page, SitePlanner
from ..pages.theme import Theme
from ..translation.companions import Companion
from .base import render_page


def segment_pages(
    rel: str,
    segments: tuple[Segment, ...],
    companions: dict[int, Companion],
    config: SiteConfig,
    theme: Theme,
    photos: dict[str, PhotoRecord] | None = None,
    only: Container[int] | None = None,
    *,
    made_once: dict | None = None,
) -> Iterator[tuple[int, Page, bytes]]:
    """The pages of one source file, rendered, each with its segment's number (of the segments
    numbered in ``only``, if given); ``photos``: its processed photos, by the path its text gives;
    ``made_once``: what the planners of the build's other files made for every page of a folder
    (SitePlanner). Rendered one at a time, as the caller writes or spools each: rendered all
    before the first was written, a worker making a file of 500 segments held its 1,500 pages
    (20-25 MB), most of a 1,000-segment build's peak memory on an archive of a few big files."""
    planner = SitePlanner(config, {(rel, n): c for n, c in companions.items()}, photos, made_once)
    return ((number, page, render_page(theme, config, page)) for number, page in planner.segment_pages(Article(rel, segments), only))


def segment_keys(segments: tuple[Segment, ...], companions: dict[int, Companion], photos: dict[str, PhotoRecord] | None = None) -> list[str]:
    """Of each segment, a key of everything of its file its pages show: the segment itself
    (text, front matter, number), its companion, how many segments the file holds, what its
    pages show of its neighbours (their slugs and titles, in each edition) and its photos'
    processed files. The configuration, the theme and this program are the same for every
    page a build reuses (a change to them is a full build: plan.fingerprint).

    Not where the segment stands in its file: no page shows a line number (they go into
    messages, made again whenever the file is read), and a line added to a story near the top
    of a file of a thousand segments made every page below it again (``_AT_LINE``).

    Made of the values' ``repr``: every one of them is a frozen dataclass, a tuple, a text,
    a number or a date, whose repr shows all it holds."""
    photos = photos or {}
    count = len(segments)
    shown = [(s.slug, s.title, companions[s.number].title if s.number in companions else None) for s in segments]
    keys = []
    for index, segment in enumerate(segments):
        neighbours = (shown[index - 1] if index else None, shown[index + 1] if index + 1 < count else None)
        pictures = [photos.get(b.photo.src) for b in segment.blocks if b.photo is not None]
        keys.append(hash_bytes(repr((_shown_fields(segment), companions.get(segment.number), count, neighbours, pictures))))
    return keys


# The fields that say where a value stands in its source file, and of each class of a
# segment's, the others (what its pages may show), in their order.
_AT_LINE = frozenset({"line", "slug_line"})
_SHOWN = {kind: tuple(f.name for f in fields(kind) if f.name not in _AT_LINE) for kind in (Segment, Block, PhotoRef)}


def _shown_fields(value: Any) -> Any:
    """A segment, each of its blocks and photos, as the values of their fields but the lines."""
    names = _SHOWN.get(type(value))
    if names is None:
        return value
    shown = []
    for name in names:
        field = getattr(value, name)
        shown.append(tuple(map(_shown_fields, field)) if name == "blocks" else _shown_fields(field))
    return (type(value).__name__, *shown)
