"""Everything one source file becomes: its pages, its listings and its search documents.

A page depends only on its own source file, its translation memory, the
configuration and the theme (neighbour links stay inside one article), so each
file is processed on its own: in a worker process for a large build, in the
main process for a small one. Pages are written straight into the staging
folder; only small values travel back.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..config import SiteConfig
from ..content.segment import Segment, build_segments
from ..content.sources import read_source
from ..core import urls
from ..core.diagnostics import Problem, display_path, has_errors
from ..outputs.archive import PackWriter, StoredMember
from ..outputs.search import SearchDocument, analyse_document
from ..pages.planner import Article, Listing, SitePlanner, listing_of
from ..pages.theme import Theme
from ..translation.companions import Companion, Unit, file_translations
from .cache import hash_bytes


@dataclass(frozen=True)
class FileTask:
    rel: str
    path: Path
    git_date: date | None
    # Content hashes of this file's pages in the previous output: an unchanged page is not rewritten.
    previous_pages: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SlugClaim:
    slug: str
    where: str  # "content/x.txt:12 (segment 2)" for messages
    path: str
    line: int


@dataclass(frozen=True)
class FileOutcome:
    rel: str
    problems: tuple[Problem, ...] = ()
    listings: tuple[Listing, ...] = ()
    slugs: tuple[SlugClaim, ...] = ()
    pages: dict[str, str] = field(default_factory=dict)  # output path -> content hash
    search_documents: tuple[tuple[str, bytes], ...] = ()  # (Arabic URL, packed IndexedDocument)
    missing: tuple[Unit, ...] = ()
    cached_units: int = 0
    without_companion: tuple[str, ...] = ()
    zip_members: dict[str, StoredMember] = field(default_factory=dict)  # this build's pack files only

    @property
    def failed(self) -> bool:
        return has_errors(self.problems)


@dataclass(frozen=True)
class BuildContext:
    """What every file's processing shares; set once per worker process."""

    config: SiteConfig
    theme: Theme
    staging: Path
    offline: bool
    drafts: bool
    pack_dir: Path | None = None  # where pages are compressed for site.zip as they are rendered


def process_file(task: FileTask, context: BuildContext) -> FileOutcome:
    config = context.config
    source, problems = read_source(task.path, config.content_dir)
    if source is None:
        return FileOutcome(task.rel, tuple(problems))
    segments, found = build_segments(source, task.git_date)
    problems += found
    if not context.drafts:
        segments = tuple(s for s in segments if not s.draft)
    if has_errors(problems) or not segments:
        return FileOutcome(task.rel, tuple(problems))

    companions: dict[int, Companion] = {}
    missing: tuple[Unit, ...] = ()
    cached, without = 0, ()
    if config.translation.enabled:
        english = file_translations(task.rel, segments, config, write_memory=not context.offline)
        companions, missing, cached, without = english.companions, english.missing, english.cached, english.without_companion
        problems += english.problems

    planner = SitePlanner(config, {(task.rel, n): c for n, c in companions.items()})
    pages = planner.segment_pages(Article(task.rel, segments))
    written: dict[str, str] = {}
    members: dict[str, StoredMember] = {}
    pack = _pack_writer(context)
    shared = {"css": context.theme.css, "search_js": context.theme.search_js, "service_worker": config.service_worker, "archive": None}
    for page in pages:
        data = context.theme.render(page.template, shared | page.context).encode("utf-8")
        digest = hash_bytes(data)
        if task.previous_pages.get(page.path) != digest:
            replace_file(context.staging / page.path, data)
        written[page.path] = digest
        if pack is not None:
            members[page.path] = pack.add(data)

    count = len(segments)
    listings = tuple(listing_of(s, companions.get(s.number), count) for s in segments)
    shown = display_path(segments[0].source_path)  # one file: every segment has its path
    slugs = tuple(SlugClaim(s.slug, f"{shown}:{s.slug_line} (segment {s.number})", shown, s.slug_line) for s in segments)
    documents = tuple((urls.segment_page(s.slug, config.language), _packed_document(s, companions.get(s.number), config)) for s in segments) if config.search else ()
    return FileOutcome(task.rel, tuple(problems), listings, slugs, written, documents, missing, cached, tuple(without), members)


def _packed_document(segment: Segment, companion: Companion | None, config: SiteConfig) -> bytes:
    target = config.translation.target
    document = SearchDocument(
        url_ar=urls.segment_page(segment.slug, config.language),
        title_ar=segment.title,
        text_ar=segment.text,
        date=segment.date.isoformat() if segment.date else None,
        url_en=urls.companion_page(segment.slug, target) if companion else None,
        title_en=companion.title if companion else None,
        text_en="\n".join(" ".join(b) for b in companion.blocks) if companion else None,
    )
    # Packed: ten thousand analysed documents must fit in the main process's memory.
    return pickle.dumps(analyse_document(document), protocol=5)


def replace_file(path: Path, data: bytes) -> None:
    """Write a file in the staging folder. It may be a hard link to the live site's file:
    unlink first, so the live site is never written through."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


# -- per process state ----------------------------------------------------------
_worker_context: BuildContext | None = None  # one per worker process, set by its initializer
_packs: dict[tuple[int, str], PackWriter] = {}  # one pack file per process and build


def _pack_writer(context: BuildContext) -> PackWriter | None:
    if context.pack_dir is None:
        return None
    key = (os.getpid(), str(context.pack_dir))
    if key not in _packs:
        _packs[key] = PackWriter(context.pack_dir / f"{os.getpid()}.pack")
    return _packs[key]


def flush_packs() -> None:
    for pack in _packs.values():
        pack.flush()


def finish_packs() -> None:
    """Flush and forget this process's pack files (their data must be on disk before zipping)."""
    for pack in _packs.values():
        pack.handle.close()
    _packs.clear()


def init_worker(context: BuildContext) -> None:
    global _worker_context
    _worker_context = context


def process_batch(tasks: list[FileTask]) -> list[FileOutcome]:
    assert _worker_context is not None, "init_worker was not called"
    outcomes = [process_file(task, _worker_context) for task in tasks]
    flush_packs()  # the main process reads the packs once this batch's results arrive
    return outcomes
