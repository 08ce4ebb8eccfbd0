"""The build, top to bottom: config → sources → segments → translations → pages → files → output.

Each stage is a function over immutable values; only the edges read the
content, call a translation service or write the site. Every problem of a run
is collected and reported together; the site is written only when there is
no error (and, with --strict, no warning).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import urls
from .config import SiteConfig
from .content import Segment, build_segments
from .diagnostics import Problem, error, has_errors
from .metadata import slug_collision_key
from .output import check_output_dir, output_lock, remove_leftovers, write_site
from .pages import Page, SitePlanner, order_articles
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


def plan_pages(config: SiteConfig, files: list[tuple[str, tuple[Segment, ...]]], companions: dict[tuple[str, int], Companion], has_search: bool) -> list[Page]:
    planner = SitePlanner(config, companions, has_search=has_search, has_archive=False)
    articles = order_articles([s for _, segments in files for s in segments])
    pages: list[Page] = []
    for article in articles:
        pages += planner.segment_pages(article)
    pages += planner.index_pages(articles)
    if companions:
        pages += planner.index_pages(articles, english=True)
    pages.append(planner.not_found_page())
    return pages


def render_pages(theme: Theme, pages: list[Page]) -> dict[str, bytes]:
    rendered = {}
    for page in pages:
        context = dict(page.context)
        context["css"] = theme.css
        context.setdefault("archive", None)
        rendered[page.path] = theme.render(page.template, context).encode("utf-8")
    return rendered


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

    pages = plan_pages(config, files, companions, has_search=False)
    output = render_pages(theme, pages)
    output[".nojekyll"] = b""
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


__all__ = ["BuildOptions", "BuildResult", "build_site", "read_content", "plan_pages", "render_pages", "urls"]
