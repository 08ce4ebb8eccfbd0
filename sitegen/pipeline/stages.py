"""The build, top to bottom.

    plan (sources, what changed, what the previous build left)
      → files: each changed source file becomes its pages (in parallel)
      → translate what the memories lack, and make those files again
      → the site view: every file's records, listings and problems
      → outputs: index pages, search, feeds, web app, then site.zip, by their keys
      → publish: the new site swapped in whole
      → state: what this build leaves for the next one

Only the edges read sources, call a translation service or write files. Every problem
of a run is collected and reported together; the new site replaces the old one only
when there is no error (and, with --strict, no warning). Incremental builds give the
same bytes as a full build: anything whose inputs are unchanged is reused, everything
else is made again (pipeline/engine.py states the rule once).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import SiteConfig, config_fingerprint
from ..core.diagnostics import Problem, Severity, has_errors, warning
from ..core.hashing import hash_bytes
from ..outputs.archive import StoredMember, remove_packs
from ..outputs.base import Output, SiteView
from ..outputs.feeds import FeedFiles
from ..outputs.index_pages import IndexPages
from ..outputs.search.analyser import IndexedDocument
from ..outputs.search.output import SearchIndex
from ..outputs.site_zip import Finished, SiteZip, ZipMemo
from ..outputs.special_pages import SpecialPages
from ..outputs.webapp import WebAppFiles
from ..pages.planner import Listing
from ..pages.theme import load_theme
from ..translation.companions import TranslationReport, Unit, translate_missing
from . import workers
from .cache import BuildCache, CacheDamaged, allow_list, tool_version
from .documents import CachedDocuments
from .engine import Engine
from .files import (
    FileContext,
    FileOutcome,
    FileTask,
    SearchEntry,
    SlugClaim,
    finish_packs,
    process_files,
)
from .plan import BuildOptions, BuildPlan, from_scratch, refresh, settle, survey
from .site import FileResults, file_problems, find_page_collisions, join, site_view
from .staging import (
    MARKER,
    StagingCopy,
    check_output_dir,
    output_lock,
    publish_staging,
    remove_leftovers,
    remove_path,
)
from .state import STATE_TYPES, OutputState, Summary, read_outputs, write_state

# The outputs of the whole site, made in this order; site.zip comes last, of all their files.
# Adding an output: a module in outputs/ with an Output subclass, and one line here.
OUTPUTS: tuple[Output, ...] = (IndexPages(), SpecialPages(), WebAppFiles(), FeedFiles(), SearchIndex())
FINAL = SiteZip()

# Everything the cache holds is made of these (and of dates, numbers, text and containers).
CACHE_TYPES = allow_list((FileOutcome, SlugClaim, SearchEntry, Listing, Unit, Problem, Severity, StoredMember, IndexedDocument, ZipMemo, *STATE_TYPES))

__all__ = ["BuildOptions", "BuildResult", "build_site"]


@dataclass
class BuildResult:
    problems: list[Problem] = field(default_factory=list)
    pages: int = 0
    segments: int = 0
    written: bool = False
    unchanged: bool = False  # nothing to do: the live site is already this build
    rebuilt_files: int = 0
    notes: list[str] = field(default_factory=list)
    report: TranslationReport | None = None

    @property
    def failed(self) -> bool:
        return has_errors(self.problems)


def build_site(config: SiteConfig, options: BuildOptions) -> BuildResult:
    check_output_dir(config.output_dir, config.root, config.content_dir, config.config_path)
    theme = load_theme(config.root, config.theme)
    fingerprint = hash_bytes(tool_version(), config_fingerprint(config), theme.fingerprint, str(options.drafts))
    with output_lock(config.output_dir):
        remove_leftovers(config.output_dir)
        # One cache per output folder: a preview (serve) and the real site must not invalidate each other.
        cache_path = config.cache_dir / f"build-{hash_bytes(str(config.output_dir))[:12]}.sqlite"
        cache = BuildCache.open(cache_path, CACHE_TYPES)
        try:
            try:
                return build(survey(config, options, theme, fingerprint, cache), cache)
            except CacheDamaged:
                # Damaged, or planted: nothing of it is used. The build starts again without it.
                cache.close()
                BuildCache.delete(cache_path)
                cache = BuildCache.open(cache_path, CACHE_TYPES)
                return build(survey(config, options, theme, fingerprint, cache), cache)
        finally:
            cache.close()


def build(plan: BuildPlan, cache: BuildCache) -> BuildResult:
    """The stages, in order; each takes and returns values."""
    if plan.nothing_to_do:
        return said_again(plan)
    result = BuildResult(problems=list(plan.discovery_problems))
    staging = StagingCopy(plan.config.output_dir, link_previous=plan.trusted)  # cp -al runs while keys are read
    try:
        plan, staging = ready_staging(settle(plan), staging, result)
        with cache.transaction(), pack_folder(plan.config) as pack_dir:
            will_translate = plan.online and plan.options.translator_factory is not None
            context = FileContext(plan.config, plan.theme, staging.path, plan.options.offline, plan.options.drafts, pack_dir, will_translate)
            files = make_files(plan, cache, context)
            plan, files, translation_problems = translate(plan, files, context)
            result.problems += translation_problems + file_problems(files)
            result.report, result.segments = files.report, sum(len(r.listings) for r in files.records.values())
            if blocked(result, plan.options.strict):
                return result
            view = site_view(plan, files, staging.path, store_documents(plan, files, cache))
            engine = make_outputs(view, files, read_outputs(cache) if plan.trusted else OutputState(), result)
            if engine is None or blocked(result, plan.options.strict):
                return result
            build_id = hash_bytes(*(f"{p}={d}" for p, d in sorted(engine.manifest.items())))
            publish_staging(staging.path, plan.config.output_dir, build_id)
            result.written, result.rebuilt_files = True, len(files.outcomes)
            save_state(plan, cache, files, engine, result, build_id)
        return result
    finally:
        if not result.written:
            staging.abandon()


def said_again(plan: BuildPlan) -> BuildResult:
    """Nothing to do: the live site is this build. Its warnings still stand, so say them again."""
    summary = plan.previous
    result = BuildResult(problems=[*plan.discovery_problems, *summary.problems], pages=summary.pages, segments=summary.segments, unchanged=True)
    if plan.config.translation.enabled:
        result.report = TranslationReport(cached=summary.cached_units, without_companion=list(summary.without_companion))
    return result


def ready_staging(plan: BuildPlan, staging: StagingCopy, result: BuildResult) -> tuple[BuildPlan, StagingCopy]:
    """The linked copy of the live site; a copy holding planted links is abandoned for a full build."""
    staging.ready()
    if not staging.planted:
        return plan, staging
    # Links or special files the build never makes: the copy of the live site cannot be
    # trusted to hold this build's unchanged pages. Build the whole site afresh.
    result.problems.append(warning(plan.config.output_dir, None, f"{staging.planted} symbolic link(s) or special file(s) that build.py never makes were found in the output folder: removed (never followed), and the whole site is built again"))
    staging.abandon()
    fresh = StagingCopy(plan.config.output_dir, link_previous=False)
    fresh.ready()
    return from_scratch(plan), fresh


@contextmanager
def pack_folder(config: SiteConfig) -> Iterator[Path | None]:
    """Where workers compress the pages they render, for site.zip; removed with the build."""
    if not config.offline_archive:
        yield None
        return
    folder = config.output_dir.parent / f".{config.output_dir.name}.packs-{os.getpid()}"
    remove_path(folder)  # a leftover, or a planted link: never written through
    folder.mkdir()
    try:
        yield folder
    finally:
        finish_packs()
        remove_packs(folder)


def make_files(plan: BuildPlan, cache: BuildCache, context: FileContext) -> FileResults:
    """The file stage: each changed file becomes its pages, listings and search documents."""
    if not plan.trusted:
        cache.clear()  # every file is processed again and recorded anew
    previous = cache.records() if plan.trusted else {}
    outcomes = _process(plan, plan.changed, previous, context)
    return join(plan, outcomes, previous, TranslationReport() if plan.config.translation.enabled else None)


def translate(plan: BuildPlan, files: FileResults, context: FileContext) -> tuple[BuildPlan, FileResults, list[Problem]]:
    """Ask the service for what the memories lack, then make those files again."""
    missing = {rel: record.missing for rel, record in files.records.items() if record.missing}
    if not (plan.online and plan.options.translator_factory is not None and missing):
        return plan, files, []
    problems = translate_missing(missing, plan.config, plan.options.translator_factory, files.report, plan.options.progress)
    outcomes = dict(files.outcomes)
    # Made now in full, whatever the service gave: a file deferred by the first pass included.
    for rel, outcome in _process(plan, list(missing), files.records, replace(context, defer_untranslated=False)).items():
        # Keep what the first pass said (e.g. a reviewed translation going stale) besides the new findings.
        first = outcomes.get(rel)
        earlier = tuple(p for p in first.problems if p not in outcome.problems) if first else ()
        outcomes[rel] = replace(outcome, problems=earlier + outcome.problems)
    plan = refresh(plan, list(missing))
    return plan, join(plan, outcomes, files.records, files.report), problems


def _process(plan: BuildPlan, rels, previous: dict[str, FileOutcome], context: FileContext) -> dict[str, FileOutcome]:
    tasks = [FileTask(rel, plan.sources[rel], plan.git_dates.get(rel), previous[rel].pages if rel in previous else {}) for rel in rels]
    return process_files(tasks, context, workers.core_count(plan.options.workers))


def blocked(result: BuildResult, strict: bool) -> bool:
    """An error, or with --strict any problem: the site is not made."""
    return has_errors(result.problems) or (strict and bool(result.problems))


def store_documents(plan: BuildPlan, files: FileResults, cache: BuildCache) -> CachedDocuments | None:
    """This build's search documents replace those of the files it made or removed."""
    if not plan.config.search:
        return None
    documents = CachedDocuments(cache, CACHE_TYPES)
    documents.replace([*files.outcomes, *plan.removed], {rel: o.search_entries for rel, o in files.outcomes.items()})
    return documents


def make_outputs(view: SiteView, files: FileResults, previous: OutputState, result: BuildResult) -> Engine | None:
    """Every output's artifacts, made where their keys changed; then site.zip of them all."""
    artifacts = [artifact for output in OUTPUTS for artifact in output.artifacts(view)]
    result.problems += find_page_collisions(files.ordered, artifacts)
    if has_errors(result.problems):
        return None
    result.notes = [note for output in OUTPUTS for note in output.notes(view)]
    result.pages = sum(len(r.pages) for r in files.records.values()) + sum(1 for a in artifacts if a.name)
    engine = Engine(view.staging, previous.artifacts, previous.manifest, view)
    engine.manifest.update({path: digest for record in files.ordered for path, digest in record.pages.items()})
    engine.run(artifacts)
    remove_strays(view.staging, set(engine.manifest))
    packed = {path: member for outcome in files.outcomes.values() for path, member in outcome.zip_members.items()}
    engine.run(FINAL.final_artifacts(view, Finished(dict(engine.manifest), previous.manifest, packed)))
    result.problems += engine.problems
    return engine


def save_state(plan: BuildPlan, cache: BuildCache, files: FileResults, engine: Engine, result: BuildResult, build_id: str) -> None:
    """What the next build needs, committed with the cache once the new site is in place."""
    # Search documents live in their own table and pack files die with the build: keep records small.
    slim = {rel: replace(o, search_entries=(), zip_members={}) for rel, o in files.outcomes.items()}
    cache.replace_files({rel: (plan.signatures[rel], plan.keys[rel], record) for rel, record in slim.items()}, plan.removed)
    report = files.report
    summary = Summary(
        fingerprint=plan.fingerprint,
        build_id=build_id,
        git_head=plan.git_head,
        git_dates=plan.git_dates,
        folders=folder_times(plan.config.output_dir, engine.manifest),
        problems=tuple(p for p in result.problems if p not in plan.discovery_problems),
        segments=result.segments,
        pages=result.pages,
        cached_units=report.cached + report.translated if report else 0,
        without_companion=tuple(report.without_companion) if report else (),
        needs_translation=frozenset(rel for rel, r in files.records.items() if r.missing),
    )
    write_state(cache, summary, OutputState(dict(engine.manifest), dict(engine.records)))


def folder_times(output_dir: Path, manifest: dict[str, str]) -> dict[str, int]:
    """mtime of every folder of the live site: adding or removing a file changes its folder's."""
    names = {path.rpartition("/")[0] for path in manifest}
    folders = {str(output_dir / name) if name else str(output_dir) for name in names} | {str(output_dir)}
    return {folder: os.stat(folder).st_mtime_ns for folder in folders}


def remove_strays(staging: Path, keep: set[str]) -> None:
    """Whatever the new site does not contain goes: pages of removed sources, and files
    someone dropped into the output folder. An incremental build equals a full one."""
    for folder, _dirnames, filenames in os.walk(staging):
        relative = os.path.relpath(folder, staging)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in filenames:
            if prefix + name not in keep and prefix + name != MARKER:
                os.unlink(os.path.join(folder, name))
    for folder, _dirnames, _filenames in os.walk(staging, topdown=False):
        if folder != str(staging) and not os.listdir(folder):
            os.rmdir(folder)
