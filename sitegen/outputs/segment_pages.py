"""Segment pages: each segment's Arabic page, its English companion and the parallel view.

Made in the file stage, in the worker that read the file (a page depends only on its own
source file, its translation memory, the configuration and the theme; neighbour links stay
inside one article), so they are keyed by the file's key: see pipeline/files.py.
"""

from __future__ import annotations

from ..config import SiteConfig
from ..content.segment import Segment
from ..media.records import PhotoRecord
from ..pages.planner import Article, Page, SitePlanner
from ..pages.theme import Theme
from ..translation.companions import Companion
from .base import render_page


def segment_pages(
    rel: str, segments: tuple[Segment, ...], companions: dict[int, Companion], config: SiteConfig, theme: Theme, photos: dict[str, PhotoRecord] | None = None
) -> list[tuple[Page, bytes]]:
    """Every page of one source file, rendered; ``photos``: its processed photos, by the path its text gives."""
    planner = SitePlanner(config, {(rel, n): c for n, c in companions.items()}, photos)
    return [(page, render_page(theme, config, page)) for page in planner.segment_pages(Article(rel, segments))]
