"""The build, top to bottom: config → sources → segments → translations → pages → files → output.

Each stage is a function over immutable values; only the edges read the
content, call a translation service or write the site. Every problem of a run
is collected and reported together; the site is written only when there is
no error (and, with --strict, no warning).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import urls
from .config import SiteConfig
from .content import Segment, build_segments
from .diagnostics import Problem, error, has_errors
from .metadata import slug_collision_key
from .output import check_output_dir, output_lock, remove_leftovers, write_site
from .archive import site_zip
from .feeds import atom_feed, feed_entries, robots_txt, sitemap, sitemap_urls
from .markup import translated_block_html
from .pages import Article, Page, SitePlanner, direction, order_articles
from .search import SearchDocument, build_search_index
from .sources import discover_sources, git_commit_dates, read_source
from .theme import Theme, load_theme
from .translation import Companion, ProgressCallback, TranslationReport, translate_site


@dataclass(frozen=True)
class BuildOptions:
    offline: bool = False
    strict: bool = False
    drafts: bool = False
    # Tests pass a fake; None means the real translator from site.yml and the environment.
    translator_factory: Callable[[], object] | None = None
    progress: ProgressCallback | None = None


@dataclass
class BuildResult:
    problems: list[Problem] = field(default_factory=list)
    pages: int = 0
    segments: int = 0
    written: bool = False
    notes: list[str] = field(default_factory=list)
    report: TranslationReport | None = None

    @property
    def failed(self) -> bool:
        return has_errors(self.problems)


def read_content(config: SiteConfig, include_drafts: bool) -> tuple[list[tuple[str, tuple[Segment, ...]]], list[Problem]]:
    """Every source file, split into segments. The input edge of the build."""
    paths, problems = discover_sources(config.content_dir)
    git_dates = git_commit_dates(config.content_dir) if paths else {}
    files: list[tuple[str, tuple[Segment, ...]]] = []
    for path in paths:
        source, found = read_source(path, config.content_dir)
        problems += found
        if source is None:
            continue
        segments, found = build_segments(source, git_dates.get(source.rel))
        problems += found
        if not include_drafts:
            segments = tuple(s for s in segments if not s.draft)
        if segments:
            files.append((source.rel, segments))
    return files, problems


def find_path_collisions(files: list[tuple[str, tuple[Segment, ...]]]) -> list[Problem]:
    """Two segments claiming one output file (even differing only in case) is an error naming both."""
    seen: dict[str, Segment] = {}
    problems = []
    for _, segments in files:
        for segment in segments:
            key = slug_collision_key(segment.slug)
            other = seen.get(key)
            if other is None:
                seen[key] = segment
                continue
            problems.append(
                error(
                    segment.source_path,
                    segment.slug_line,
                    f"slug '{segment.slug}' is already used by {_where(other)}: give one of them another 'slug' in its front matter",
                )
            )
    return problems


def _where(segment: Segment) -> str:
    from .diagnostics import display_path

    return f"{display_path(segment.source_path)}:{segment.slug_line} (segment {segment.number})"


def plan_pages(config: SiteConfig, articles: list[Article], companions: dict[tuple[str, int], Companion]) -> list[Page]:
    planner = SitePlanner(config, companions, has_search=config.search, has_archive=config.offline_archive)
    pages: list[Page] = []
    for article in articles:
        pages += planner.segment_pages(article)
    pages += planner.index_pages(articles)
    if companions:
        pages += planner.index_pages(articles, english=True)
    pages.append(planner.not_found_page())
    if config.search:
        pages.append(planner.search_page())
    return pages


def render_pages(theme: Theme, pages: list[Page], config: SiteConfig) -> dict[str, bytes]:
    shared = {"css": theme.css, "search_js": theme.search_js, "service_worker": config.service_worker, "archive": None}
    return {page.path: theme.render(page.template, shared | page.context).encode("utf-8") for page in pages}


def site_files(config: SiteConfig, theme: Theme, articles: list[Article], companions: dict[tuple[str, int], Companion], pages: list[Page]) -> tuple[dict[str, bytes], list[str]]:
    """Everything besides the pages: search index, feeds, sitemap, service worker. Returns files and notes."""
    files: dict[str, bytes] = {".nojekyll": b""}
    notes: list[str] = []
    segments = [s for a in articles for s in a.segments]
    target = config.translation.target
    if config.search:
        files |= build_search_index([_search_document(s, companions.get((s.source_rel, s.number)), target) for s in segments])
    if config.service_worker and theme.service_worker_js:
        files["sw.js"] = theme.service_worker_js.encode("utf-8")
        files["manifest.webmanifest"] = web_manifest(config)
        files["icon.svg"] = ICON_SVG
    if not config.base_url:
        notes.append("no base_url in site.yml: feeds, sitemap.xml, robots.txt and canonical links are skipped (set base_url to make them)")
        return files, notes
    english_blocks = lambda segment, companion: "".join(  # noqa: E731
        translated_block_html(b, t) for b, t in zip(segment.blocks, companion.blocks)
    )
    files[f"{config.language}/feed.xml"] = atom_feed(config, config.language, f"{config.language}/feed.xml", config.title, feed_entries(articles, companions, target, False, english_blocks))
    if companions:
        files[f"{target}/feed.xml"] = atom_feed(config, target, f"{target}/feed.xml", f"{config.title} (English)", feed_entries(articles, companions, target, True, english_blocks))
    index_paths = [p.path for p in pages if p.template == "index.html"]
    files["sitemap.xml"] = sitemap(config, sitemap_urls(config, segments, companions, index_paths))
    files["robots.txt"] = robots_txt(config)
    return files, notes


def _search_document(segment: Segment, companion: Companion | None, target: str) -> SearchDocument:
    return SearchDocument(
        url_ar=urls.segment_page(segment.slug),
        title_ar=segment.title,
        text_ar=segment.text,
        date=segment.date.isoformat() if segment.date else None,
        url_en=urls.companion_page(segment.slug, target) if companion else None,
        title_en=companion.title if companion else None,
        text_en="\n".join(" ".join(b) for b in companion.blocks) if companion else None,
    )


ICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" rx="96" fill="#0b5b8a"/>'
    b'<text x="256" y="340" font-size="280" text-anchor="middle" fill="#fdfcf8" font-family="serif">\xd8\xa3</text></svg>\n'
)


def web_manifest(config: SiteConfig) -> bytes:
    manifest = {
        "name": config.title,
        "short_name": config.title[:12],
        "lang": config.language,
        "dir": direction(config.language),
        "start_url": "index.html",
        "scope": "./",
        "display": "standalone",
        "background_color": "#fdfcf8",
        "theme_color": "#0b5b8a",
        "icons": [{"src": "icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def build_site(config: SiteConfig, options: BuildOptions) -> BuildResult:
    result = BuildResult()
    check_output_dir(config.output_dir, config.root, config.content_dir, config.config_path)
    theme = load_theme(config.root, config.theme)

    files, problems = read_content(config, options.drafts)
    result.problems += problems
    result.problems += find_path_collisions(files)
    result.segments = sum(len(s) for _, s in files)
    if has_errors(result.problems):
        return result

    companions: dict[tuple[str, int], Companion] = {}
    if config.translation.enabled:
        companions, report, problems = translate_site(
            files, config, offline=options.offline, translator_factory=options.translator_factory, progress=options.progress
        )
        result.report = report
        result.problems += problems
        if has_errors(result.problems):
            return result

    articles = order_articles([s for _, segments in files for s in segments])
    pages = plan_pages(config, articles, companions)
    output = render_pages(theme, pages, config)
    extra, result.notes = site_files(config, theme, articles, companions, pages)
    output |= extra
    if config.offline_archive:
        output[urls.ARCHIVE] = site_zip(output)
    result.pages = len(pages)
    if options.strict and result.problems:
        return result  # the CLI reports the warnings as errors
    with output_lock(config.output_dir):
        remove_leftovers(config.output_dir)
        write_site(config.output_dir, output)
    result.written = True
    return result


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


