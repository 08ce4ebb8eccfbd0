"""The stages of a build that make things: files, translations, outputs, the state.

Imported only by a build that has work to do (stages.py): a build with nothing to do
stops after the survey and never loads the page templates, the parsers, the search
analyser or the zip writer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ..config import SiteConfig
from ..core.collector import collector_paused
from ..core.diagnostics import Problem, Severity, has_errors
from ..core.hashing import hash_bytes, hash_mapping
from ..media.records import PhotoRecord, Variant
from ..outputs.archive import StoredMember, ZipLayout
from ..outputs.base import Output, SiteView
from ..outputs.feeds import FeedFiles
from ..outputs.index_pages import IndexPages
from ..outputs.list_pages import ListPages
from ..outputs.search.analyser import IndexedDocument
from ..outputs.search.output import SearchIndex
from ..outputs.site_zip import Finished, SiteZip, site_files
from ..outputs.special_pages import SpecialPages
from ..outputs.webapp import WebAppFiles
from ..pages.figures import left_out_of_zip
from ..pages.related import Ranking
from ..translation.companions import TranslationReport, Unit, translate_missing
from . import workers
from .cache import BuildCache, CacheDamaged, allow_list
from .documents import CachedDocuments
from .engine import Engine
from .files import (
    FileContext,
    FileOutcome,
    FileTask,
    SearchEntry,
    process_files,
    process_files_as_ready,
)
from .packs import finish_packs, remove_packs
from .photos import PhotoUse, media_folder
from .plan import (
    BuildPlan,
    listed_size,
    recorded_signature,
    refresh,
    tags_memory_signature,
    with_photos,
)
from .planted import folder_marks
from .records import every_page, record_from_stored, stored_record, stored_texts
from .result import BuildResult
from .site import FileResults, find_page_collisions, join
from .staging import StagingCopy, remove_path, remove_strays, throw_away
from .state import STATE_TYPES, OutputState, SpareTree, Summary, write_summary, write_work

# The outputs of the whole site, made in this order; site.zip comes last, of all their files.
# Adding an output: a module in outputs/ with an Output subclass, and one line here.
OUTPUTS: tuple[Output, ...] = (IndexPages(), ListPages(), SpecialPages(), WebAppFiles(), FeedFiles(), SearchIndex())
FINAL = SiteZip()

PHOTO_TYPES = (PhotoRecord, Variant)
# Everything the cache holds is made of these (and of dates, numbers, text and containers).
# A file's record is kept as plain values (records.py): its listings, slots and slug claims
# are never unpickled as objects, so a planted record cannot make one.
RECORD_TYPES = (Ranking, SearchEntry, Unit, Problem, Severity, StoredMember, IndexedDocument, ZipLayout, PhotoUse, *PHOTO_TYPES, *STATE_TYPES)


@contextmanager
def work_folder(config: SiteConfig) -> Iterator[Path]:
    """Where workers spool the pages they render and compress them for site.zip; removed with the build."""
    folder = config.output_dir.parent / f".{config.output_dir.name}.packs-{os.getpid()}"
    remove_path(folder)  # a leftover, or a planted link: never written through
    folder.mkdir()
    try:
        yield folder
    finally:
        finish_packs()
        _remove_work_folder(folder, config.output_dir)


def _remove_work_folder(folder: Path, output_dir: Path) -> None:
    if _holds_more_than(folder, _DELETE_IN_BACKGROUND):
        # After a full build: hundreds of megabytes of pages, spooled and packed. Deleting
        # them took 0.1 s that nothing waits for.
        try:
            throw_away(folder, output_dir)
            return
        except OSError:
            pass
    remove_packs(folder)


_DELETE_IN_BACKGROUND = 32 << 20  # bytes


def _holds_more_than(folder: Path, limit: int) -> bool:
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                total += entry.stat(follow_symlinks=False).st_size
    except OSError:
        return False
    return total > limit


def make_files(plan: BuildPlan, cache: BuildCache, context: FileContext, keep_long_lived: Callable[[], None]) -> FileResults:
    """The file stage: each changed file becomes its pages, listings and search documents."""
    if not plan.trusted:
        cache.clear()  # every file is processed again and recorded anew
    previous = _records(cache, keep_long_lived) if plan.trusted else {}
    if plan.trusted and not previous.keys() >= set(plan.sources).difference(plan.changed):
        # The recorded signatures said a file unchanged that has no record: they and the
        # records were written together, so the cache contradicts itself.
        raise CacheDamaged("the build cache records a file's signature but not its record")
    outcomes = _process(plan, plan.changed, previous, context)
    files = join(plan, outcomes, previous, TranslationReport() if plan.config.translation.enabled else None)
    keep_long_lived()
    return files


def _records(cache: BuildCache, keep_long_lived: Callable[[], None]) -> dict[str, FileOutcome]:
    """Every file's record (those read ahead included: read_records_ahead), read with the
    collector paused. They live to the end of the build, so they are taken out of its walks
    (``keep_long_lived``) before it resumes: paused, it still counts the objects made, and
    its first walk afterwards went over every one of them (17 ms at 10,000 segments)."""
    with collector_paused():
        records = cache.records(record_from_stored)
        keep_long_lived()  # gc.freeze, which also starts the collector's count again
    return records


def read_records_ahead(cache: BuildCache, keep_long_lived: Callable[[], None]) -> Iterator[None]:
    """Steps that read the files' records ahead for make_files (BuildCache.read_ahead), each
    as _records reads them, its records then kept."""
    steps = cache.read_ahead(record_from_stored)
    while True:
        with collector_paused():
            more = next(steps, _END) is not _END
            keep_long_lived()
        if not more:
            return
        yield


_END = object()


def translate(plan: BuildPlan, files: FileResults, context: FileContext) -> tuple[BuildPlan, FileResults, list[Problem]]:
    """Ask the service for what the memories lack, then make those files again."""
    if not (plan.online and plan.options.translator_factory is not None):
        return plan, files, []
    missing = units_to_translate(files)
    if not missing:
        return plan, files, []
    # Made now in full, whatever the service gave (a file deferred by the first pass included),
    # each as soon as its translations are in: the workers make pages while the requests go on.
    with process_files_as_ready(_tasks(plan, list(missing), _as_before(files)), replace(context, defer_untranslated=False), workers.core_count(plan.options.workers)) as made:
        problems = translate_missing(missing, plan.config, plan.options.translator_factory, files.report, plan.options.progress, made.ready)
        remade = made.outcomes()
    outcomes = dict(files.outcomes)
    for rel, outcome in remade.items():
        # Keep what the first pass said (e.g. a reviewed translation going stale) besides the new findings.
        first = outcomes.get(rel)
        earlier = tuple(p for p in first.problems if p not in outcome.problems) if first else ()
        outcomes[rel] = outcome.amended(problems=earlier + outcome.problems)
    plan = refresh(plan, list(missing))
    return plan, join(plan, outcomes, files.records, files.report, files.before), problems


def _as_before(files: FileResults) -> dict[str, FileOutcome]:
    """The records of the files whose pages, page keys, slots and stored search documents are
    still the previous build's: all but those the file stage made (a file it deferred has no
    listings; one it made has, and this build's pages, whose documents are not stored yet)."""
    return {rel: record for rel, record in files.records.items() if not (rel in files.outcomes and record.listings)}


def units_to_translate(files: FileResults) -> dict[str, tuple[Unit, ...]]:
    """rel -> the units its memory lacks, of every file that lacks some. A build that may
    translate makes every such file (survey puts the previous build's ``needs_translation``
    among the changed), so each record holds its units: the cache keeps only their count
    (records.py). A record counting units it does not hold is a cache that contradicts
    itself: damaged."""
    missing = {rel: record.missing for rel, record in files.records.items() if record.lacking}
    for rel, units in missing.items():
        if len(units) != files.records[rel].lacking:
            raise CacheDamaged(f"the build cache counts untranslated paragraphs of {rel} that no build listed to translate")
    return missing


def _process(plan: BuildPlan, rels, previous: dict[str, FileOutcome], context: FileContext) -> dict[str, FileOutcome]:
    return process_files(_tasks(plan, rels, previous), context, workers.core_count(plan.options.workers))


def _tasks(plan: BuildPlan, rels, previous: dict[str, FileOutcome]) -> list[FileTask]:
    return [_task(plan, rel, previous.get(rel)) for rel in rels]


def _task(plan: BuildPlan, rel: str, previous: FileOutcome | None) -> FileTask:
    """What a worker needs to make ``rel``: with its previous record's pages, which of them
    each segment made, and their related stories' slots (what it keeps of them: files.py)."""
    task = FileTask(rel, Path(plan.sources[rel]), plan.git_dates.get(rel), size=listed_size(plan.signatures.get(rel)))
    if previous is None:
        return task
    made_of = dict(previous.made_of)
    slots = {path: previous.slots[path] for path in made_of if path in previous.slots}
    features = {listing.slug: made for listing, made in zip(previous.listings, previous.features)}
    return replace(task, previous_pages=previous.pages, previous_made_of=made_of, previous_slots=slots, previous_features=features)


def store_documents(plan: BuildPlan, files: FileResults, cache: BuildCache) -> tuple[CachedDocuments | None, FileResults]:
    """This build's search documents replace those of the files it made or removed; the
    records go on without them (the store has them: the stages after this one fork workers
    that would each count a copy of tens of megabytes of documents)."""
    if not plan.config.search:
        return None, files
    documents = CachedDocuments(cache, allow_list(RECORD_TYPES))
    kept = {rel: o.kept_documents for rel, o in files.outcomes.items() if o.kept_documents}
    documents.replace([*files.outcomes, *plan.removed], {rel: o.search_entries for rel, o in files.outcomes.items()}, kept)
    outcomes = {rel: o.amended(search_entries=(), kept_documents=()) for rel, o in files.outcomes.items()}
    return documents, replace(files, outcomes=outcomes, records=files.records | outcomes)


def make_outputs(view: SiteView, files: FileResults, previous: OutputState, result: BuildResult, staging: StagingCopy, work_dir: Path | None = None) -> Engine | None:
    """Every output's artifacts but site.zip, made where their keys changed; strays removed;
    then the stock of the site's files taken (what site.zip is made of: make_archive)."""
    engine = Engine(view.staging, previous, view, work_dir, staging.holds)
    engine.manifest.update(every_page(files.ordered))  # every segment page and photo file: the artifacts' follow
    file_pages = len(engine.manifest)  # no two records share a page (the collisions below stop a build)
    artifacts, carried_pages = engine.listed(OUTPUTS)
    # The pages of an output carried over cannot collide with a segment's: the segments'
    # pages follow from the same listings, and the build that made them found no collision
    # (or it would have published nothing).
    result.problems += find_page_collisions(files, artifacts, engine.previous)
    if has_errors(result.problems):
        return None
    result.notes = [note for output in OUTPUTS for note in output.notes(view)]
    photo_files = sum(len(use.record.variants) for r in files.records.values() for use in r.photos)
    result.pages = file_pages - photo_files + sum(1 for a in artifacts if a.name) + carried_pages
    engine.run(artifacts)
    earlier, now = _entries_that_may_differ(engine, files)
    # The manifest itself, looked up for the few files present or listed (a set of its
    # 163,000 paths at 50,000 segments cost 10 ms).
    remove_strays(view.staging, staging.present(earlier, engine.manifest), engine.manifest)
    engine.stock = site_files(engine.manifest, frozenset(path for path, _ in earlier.items() ^ now.items()), stock_key(files, engine))
    result.problems += engine.problems
    return engine


def stock_key(files: FileResults, engine: Engine) -> str:
    """Every file of the site with its digest, hashed: each source file's pages by their own
    key (``FileOutcome.pages_key``: hashed where the file is made, and kept with its record),
    in the files' order, then the artifacts' files. The site's manifest is exactly these
    (two owners of a path stop a build), so the key changes wherever a file does; hashing
    the manifest's 163,000 paths and digests at 50,000 segments cost a one-change build 60 ms.
    The same files give the same key, however the build that made them came by them."""
    records = files.records
    rels = sorted(records)
    return hash_bytes(str(len(rels)), "\0".join(rels), "\0".join([records[rel].pages_key() for rel in rels]), hash_mapping(engine.artifact_files()))


def make_archive(view: SiteView, files: FileResults, engine: Engine, result: BuildResult, staging: StagingCopy) -> None:
    """site.zip of every other file of the site (the engine's stock), written over the spare
    site's old zip when the staging folder came from it. The pages compressed by the workers
    that made them (into packs in the work folder) are copied into the zip, not compressed
    again. Nothing else is written into the staging folder from here on (a full build links
    the next build's spare meanwhile: stages.build)."""
    packed = {path: member for outcome in [*files.outcomes.values(), *files.touched.values()] for path, member in outcome.zip_members.items()}
    packed.update(engine.packed)
    left_out = left_out_of_zip((use.record for r in files.records.values() for use in r.photos), view.config.offline_archive_images)
    said = len(engine.problems)  # make_outputs said those
    # The engine's manifest, not a copy: the zip is recorded in it once made (Engine.run).
    engine.run(FINAL.final_artifacts(view, Finished(engine.manifest, engine.stock, packed, left_out, staging.old_zip)))
    result.problems += engine.problems[said:]


def _entries_that_may_differ(engine: Engine, files: FileResults) -> tuple[dict[str, str], dict[str, str]]:
    """The entries of the previous build's manifest and of this build's that may differ: the
    artifacts' files, and the pages of each file whose record is not the very one the previous
    build left (made or finished again, added, removed). Every other file's pages are the same
    entries in both manifests, and no other file's page is at their paths (two owners of a path
    stop a build), so the manifests differ at exactly the paths where these two do (a photo of
    an unchanged file that a changed one stopped showing, or started, is said to differ: read
    again, never missed). At 50,000 segments the whole manifests were 163,000 entries each."""
    before, records = files.before, files.records
    earlier, now = engine.previous_manifest.copy(), engine.artifact_files()
    for rel, record in records.items():
        previous = before.get(rel)
        if previous is not record:
            if previous is not None:
                earlier.update(previous.pages)
            now.update(record.pages)
    for rel in before.keys() - records.keys():
        earlier.update(before[rel].pages)
    return earlier, now


def save_work(plan: BuildPlan, cache: BuildCache, files: FileResults, engine: Engine, ranking: Ranking | None = None) -> None:
    """What the next build reads of this one's work: the files' records, the outputs' state,
    the ranking (None: the one the cache holds stands) and the signatures. Written, not yet committed, before the site is published,
    while site.zip's unchanged runs are still being copied (their copy runs without the GIL:
    at 10,000 segments the two take 40-60 ms each)."""
    cache.replace_files({rel: _file_row(record) for rel, record in files.outcomes.items()}, plan.removed)
    cache.update_records({rel: (stored_record(record), stored_texts(record)) for rel, record in files.touched.items()})
    write_work(cache, OutputState(dict(engine.records), dict(engine.outputs)), ranking, _signatures_to_record(plan, files))


def save_state(plan: BuildPlan, cache: BuildCache, files: FileResults, engine: Engine, result: BuildResult, build_id: str, spare: SpareTree | None = None) -> None:
    """The rest of what the next build needs, once the new site is in place (its folders' marks
    and times describe the published site), committed with the cache."""
    save_photos(plan, cache, files)
    report = files.report
    folders = {path.rpartition("/")[0] for path in engine.manifest}  # '' for the site itself
    marks, marks_seal = folder_marks(plan.config.output_dir, folders, build_id)  # now that the site is published
    summary = Summary(
        fingerprint=plan.fingerprint,
        build_id=build_id,
        git_head=plan.git_head,
        git_dates=plan.git_dates,
        folders=folder_times(plan.config.output_dir, folders),
        problems=tuple(p for p in result.problems if p not in plan.discovery_problems),
        segments=result.segments,
        pages=result.pages,
        cached_units=report.cached + report.translated if report else 0,
        without_companion=tuple(report.without_companion) if report else (),
        needs_translation=frozenset(rel for rel, r in files.records.items() if r.lacking),
        spare=spare,
        tags_memory=tags_memory_signature(plan.config),  # after this build wrote to it
        folder_marks=marks,
        marks_seal=marks_seal,
    )
    write_summary(cache, summary)


def _file_row(record: FileOutcome) -> tuple[str, tuple, bytes]:
    """(key, stored record, its texts): the photos the file was made with join its key."""
    return with_photos(record.key, tuple(use.digest for use in record.photos)), stored_record(record), stored_texts(record)


def _signatures_to_record(plan: BuildPlan, files: FileResults) -> dict[str, tuple]:
    """The signature of every file with a record: a file made by this build with the photos
    it was made with; the others as this build read them (with the photos their records
    show, if their signature was compared: plan._signatures)."""
    signatures = {rel: plan.signatures[rel] for rel in files.records}
    for rel, record in files.outcomes.items():
        signatures[rel] = recorded_signature(plan.signatures[rel], tuple((use.rel, use.signature) for use in record.photos))
    return signatures


def save_photos(plan: BuildPlan, cache: BuildCache, files: FileResults) -> None:
    """Keep the records of the photos this build published; forget and delete the others."""
    used = {use.key: use.record for record in files.records.values() for use in record.photos}
    known = cache.photo_records()
    if not used and not known:
        return
    cache.replace_photos({k: r for k, r in used.items() if k not in known}, [k for k in known if k not in used])
    folder = media_folder(plan.config)
    kept = {v.name for record in used.values() for v in record.variants}
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name not in kept:
            remove_path(folder / name)


def folder_times(output_dir: Path, names: set[str]) -> dict[str, int]:
    """mtime of every folder of the live site holding a file (``names``, below it): adding or
    removing a file changes its folder's."""
    folders = {str(output_dir / name) if name else str(output_dir) for name in names} | {str(output_dir)}
    return {folder: os.stat(folder).st_mtime_ns for folder in folders}


