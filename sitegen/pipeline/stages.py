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

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import replace
from importlib import import_module
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import SiteConfig, config_fingerprint
from ..core.diagnostics import Problem, Severity, has_errors, warning
from ..core.collector import long_lived_objects
from ..core.forked import ForkedWork
from ..core.hashing import hash_bytes
from ..core.urls import ARCHIVE
from ..pages.theme import load_theme
from ..translation.companions import TranslationReport
from ..translation.site_words import with_site_words
from .cache import AllowList, BuildCache, CacheDamaged, cache_damaged, tool_version
from .listing import Listed, keep_scans, start_listing
from .plan import (
    BuildOptions,
    BuildPlan,
    discover,
    from_scratch,
    online,
    previous_build,
    settle,
    survey,
)
from .result import BuildResult
from .staging import (
    MAX_BEHIND,
    SpareCopy,
    StagingCopy,
    check_output_dir,
    output_lock,
    publish_staging,
    remove_leftovers,
)
from .state import STATE_TYPES, OutputState, SpareTree, Summary, read_outputs, read_ranking, with_copy_marks, write_copy_marks, write_signatures

if TYPE_CHECKING:  # imported by build() once it knows there is work
    from ..outputs.base import SiteView
    from .engine import Engine
    from .site import FileResults


def _record_types() -> tuple[type, ...]:
    from .making import RECORD_TYPES

    return RECORD_TYPES


# Everything the cache holds. A build with nothing to do reads only its Summary: the types of
# the files' records (and the modules defining them) are loaded when a record is read.
CACHE_TYPES = AllowList((Problem, Severity, *STATE_TYPES), _record_types)

__all__ = ["BuildOptions", "BuildResult", "build_site"]


def build_site(config: SiteConfig, options: BuildOptions, listing: ForkedWork[Listed] | None = None) -> BuildResult:
    """``listing``: :func:`.listing.start_listing` of this configuration, started by the caller
    as soon as it had read it (None: started here)."""
    check_output_dir(config.output_dir, config.root, config.content_dir, config.config_path)
    theme = load_theme(config.root, config.theme)
    with output_lock(config.output_dir), long_lived_objects() as keep_long_lived:
        remove_leftovers(config.output_dir)
        # The sources and their memories are listed and stat'ed by a child process (a loop of
        # system calls that would hold this one's GIL), while this one opens the cache and,
        # until the child is done, imports the stages that make things and reads the files'
        # records (make_files reads those left).
        with nullcontext(listing) if listing is not None else start_listing(config) as listing:
            # The English name and description from the memory, when site.yml gives none: part of
            # the configuration, so of the fingerprint (an editor's correction remakes the site).
            config, words_problems = with_site_words(config, options.translator_factory, online(config, options))
            fingerprint = hash_bytes(tool_version(), config_fingerprint(config), theme.fingerprint, str(options.drafts))
            # One cache per output folder: a preview (serve) and the real site must not invalidate each other.
            cache_path = config.cache_dir / f"build-{hash_bytes(str(config.output_dir))[:12]}.sqlite"
            cache, summary = _open_cache(cache_path, config, fingerprint)
            try:
                meanwhile = chain(_import_making_stages(), _read_records_ahead(cache, keep_long_lived) if summary is not None else ())
                listed = listing.result(meanwhile)
                keep_scans(config, listed)
                found = discover(config, listed)
                found = replace(found, problems=found.problems + tuple(words_problems))
                try:
                    return build(survey(config, options, theme, fingerprint, cache, found, summary), cache, keep_long_lived)
                except (CacheDamaged, sqlite3.DatabaseError) as exc:
                    if not cache_damaged(exc):
                        raise
                    cache = _cache_anew(cache, cache_path)
                    return build(survey(config, options, theme, fingerprint, cache, found, None), cache, keep_long_lived)
            finally:
                if options.keep is None:
                    cache.close()
                else:  # the process ends right after
                    cache.hand_over()
                    options.keep(cache)  # with the records read ahead for nothing (no work to do): freed with the process


def _open_cache(path: Path, config: SiteConfig, fingerprint: str) -> tuple[BuildCache, Summary | None]:
    """The build cache, and the previous build's summary if this build can trust it."""
    cache = BuildCache.open(path, CACHE_TYPES)
    try:
        return cache, previous_build(config, cache, fingerprint)
    except (CacheDamaged, sqlite3.DatabaseError) as exc:
        if not cache_damaged(exc):
            raise
        return _cache_anew(cache, path), None


def _cache_anew(cache: BuildCache, path: Path) -> BuildCache:
    """Damaged, or planted: nothing of it is used. The build starts again without it."""
    cache.close()
    BuildCache.delete(path)
    return BuildCache.open(path, CACHE_TYPES)


# What build() imports once it knows there is work, in the order it needs them (jinja2 at the
# first page it renders).
_MAKING_STAGES = ("..translation.term_words", ".files", ".finishing", ".making", ".photos", ".site", ".workers", "jinja2")


def _import_making_stages() -> Iterator[object]:
    """The stages that make things, imported one module a step (build_site takes these steps
    only while a child lists the sources, so a build with nothing to do never waits for them)."""
    for name in _MAKING_STAGES:
        yield import_module(name, __package__)


def _read_records_ahead(cache: BuildCache, keep_long_lived: Callable[[], None]) -> Iterator[None]:
    from .making import read_records_ahead

    yield from read_records_ahead(cache, keep_long_lived)


def build(plan: BuildPlan, cache: BuildCache, keep_long_lived: Callable[[], None]) -> BuildResult:
    """The stages, in order; each takes and returns values."""
    if plan.nothing_to_do:
        return said_again(plan)
    plan = settle(plan)
    if plan.nothing_to_do:
        # Touched, not changed (a checkout): the live site is this build. Only the files' new
        # signatures are recorded, so that the next build need not read them again.
        with cache.transaction():
            write_signatures(cache, plan.signatures)
        return said_again(plan)
    # The stages that make things, imported only now: a build with nothing to do never needs them.
    from ..outputs.search.analyser import forget_words
    from ..translation.term_words import tag_spellings, with_tag_names
    from .files import FileContext
    from .finishing import finish_pages
    from .making import (
        make_files,
        make_outputs,
        save_state,
        save_work,
        store_documents,
        translate,
        work_folder,
    )
    from .photos import PhotoStore, media_folder, photo_settings
    from .site import file_problems, site_view

    result = BuildResult(problems=list(plan.discovery_problems))
    spare_copy = engine = None
    spare = with_copy_marks(cache, plan.previous.spare) if plan.trusted else None
    staging = StagingCopy(plan.config.output_dir, link_previous=plan.trusted, spare=spare)  # cp -al runs while the cache is read
    try:
        plan, staging = ready_staging(plan, staging, result)
        with cache.transaction(), work_folder(plan.config) as work_dir:
            will_translate = plan.online and plan.options.translator_factory is not None
            photos = PhotoStore(media_folder(plan.config), photo_settings(plan.config), cache.photo_records())
            context = FileContext(plan.config, plan.theme, staging.path, plan.options.offline, plan.options.drafts, work_dir, will_translate, photos)
            files = make_files(plan, cache, context, keep_long_lived)
            plan, files, translation_problems = translate(plan, files, context)
            forget_words()  # the file stage is over: nothing in this process analyses text now
            # Tag names for the English edition's lists, from the memory (asked for when missing).
            config, tag_problems = with_tag_names(plan.config, tag_spellings(listing.tags for record in files.ordered for listing in record.listings), plan.options.translator_factory, plan.online)
            result.problems += translation_problems + tag_problems + file_problems(files)
            result.report, result.segments = files.report, sum(len(r.listings) for r in files.records.values())
            if blocked(result, plan.options.strict):
                return result
            documents, files = store_documents(plan, files, cache)
            view = site_view(plan, config, files, staging.path, documents)
            stored_ranking = read_ranking(cache) if plan.trusted else None
            files, ranking = finish_pages(view, files, work_dir, stored_ranking)
            engine = make_outputs(view, files, read_outputs(cache) if plan.trusted else OutputState(), result, staging, work_dir)
            if engine is not None and not blocked(result, plan.options.strict):
                spare_copy = _archive_with_spare(plan, view, files, engine, result, staging)
            staging.let_go()
            if engine is None or blocked(result, plan.options.strict):
                return result
            build_id = site_id(engine)
            # A spare copy lacks only its own zip (copied in on publishing: the next zip is written over that one).
            kept = replaced_site(plan, engine) if spare_copy is None else SpareTree(build_id, (ARCHIVE,) if ARCHIVE in engine.manifest else ())
            save_work(plan, cache, files, engine, None if ranking is stored_ranking else ranking)
            engine.finish_writing()  # site.zip's unchanged runs, copied meanwhile
            publish_staging(staging.path, plan.config.output_dir, build_id, spare_copy)
            result.written, result.rebuilt_files = True, len(files.outcomes)
            save_state(plan, cache, files, engine, result, build_id, kept)
            if plan.options.keep is not None:
                plan.options.keep((plan, context, photos, files, documents, view, ranking, engine))
        # Committed (the cache's transaction ends above) while the spare's zip is still being
        # copied and its folders walked: it becomes the spare only once whole, and one cut
        # short is never taken.
        if spare_copy is not None and spare_copy.finish() and spare_copy.marks[0]:
            write_copy_marks(cache, build_id, *spare_copy.marks)
        return result
    finally:
        if engine is not None:
            engine.finish_writing(quietly=True)  # nothing goes on writing into a site given up
        if not result.written:
            if spare_copy is not None:
                spare_copy.abandon()  # first: it links from the staging folder
            staging.abandon()


def site_id(engine: Engine) -> str:
    """The build id: every file of the site with its digest, site.zip's last (the key of the
    others is the one the engine took stock of before making it)."""
    return hash_bytes(engine.stock.key, engine.manifest.get(ARCHIVE))


def _archive_with_spare(plan: BuildPlan, view: SiteView, files: FileResults, engine: Engine, result: BuildResult, staging: StagingCopy) -> SpareCopy | None:
    """site.zip made, on one core. When there is no previous site to keep for the next build's
    spare, the new site itself is linked meanwhile (every file of it is written but the zip),
    and once the zip is whole its bytes are copied for the spare while the build saves its
    work (SpareCopy); returned, for the build to publish or abandon."""
    from .making import make_archive

    spare_copy = None if keeps_previous_site(plan, engine) else SpareCopy(staging.path, plan.config.output_dir)
    try:
        make_archive(view, files, engine, result, staging)
        if spare_copy is not None:
            engine.finish_writing()  # the zip whole (its runs copied in)
            spare_copy.zip_whole(staging.path / ARCHIVE)
    except BaseException:
        if spare_copy is not None:
            spare_copy.abandon()
        raise
    return spare_copy


def keeps_previous_site(plan: BuildPlan, engine: Engine) -> bool:
    """Whether the site being replaced is kept for the next build's staging folder: when the
    next build can tell what it lacks (the paths this build changed, few enough to catch up
    on). Told before site.zip is made, the zip counted as changed (a copy of the new site is
    begun otherwise, while the zip is written)."""
    return plan.trusted and len(engine.stock.changed.difference((ARCHIVE,))) + 1 <= MAX_BEHIND


def replaced_site(plan: BuildPlan, engine: Engine) -> SpareTree:
    """The site being replaced, kept (:func:`keeps_previous_site`) with the paths this build
    changed and its folders as the previous build left them (the next build reads only those
    changed since)."""
    previous = plan.previous
    return SpareTree(previous.build_id, changed_paths(engine), previous.folder_marks, previous.marks_seal)


def changed_paths(engine: Engine) -> tuple[str, ...]:
    """Paths whose file differs between the previous build's site and this one (changed, added
    or removed): those the engine found before making site.zip, and the zip if it differs."""
    before, after = engine.previous_manifest.get(ARCHIVE), engine.manifest.get(ARCHIVE)
    zipped = (ARCHIVE,) if before != after else ()
    return tuple(sorted({*engine.stock.changed.difference((ARCHIVE,)), *zipped}))


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


def blocked(result: BuildResult, strict: bool) -> bool:
    """An error, or with --strict any problem: the site is not made."""
    return has_errors(result.problems) or (strict and bool(result.problems))
