"""The file stage: everything one source file becomes, its pages, listings and search documents.

A page depends only on its own source file, its translation memory, the configuration
and the theme, so each file is processed on its own: in a worker process for a large
build (see workers.py), in the main process for a small one. Pages are written straight
into the staging folder, and compressed into this worker's pack file for site.zip; only
small values travel back.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NamedTuple

from ..config import SiteConfig
from ..content.segment import build_segments
from ..content.sources import decode_source, read_source_bytes
from ..core.diagnostics import Problem, display_path, has_errors
from ..core.hashing import hash_bytes, hash_mapping
from ..outputs.archive import StoredMember
from ..outputs.search.keywords import document_keywords, keywords
from ..outputs.search.output import document_url, packed_document
from ..outputs.segment_pages import segment_keys, segment_pages
from ..pages.figures import offline_page
from ..pages.listing import Listing
from ..pages.planner import listing_of
from ..pages.related import SLOT, related_features
from ..pages.theme import Theme
from ..translation.companions import Companion, Unit, file_translations
from ..translation.memory import MemoryRead
from . import workers
from .drafts import Draft, Slot
from .packs import flush_packs, pack_writer, spool_for
from .photos import FilePhotos, PhotoStore, PhotoUse, file_photos
from .plan import file_memory, key_of
from .staging import replace_file

_SLOT = SLOT.encode()

# Below this many changed files, worker processes cost more than they save.
PARALLEL_THRESHOLD = 48
BATCH = 24
# The same in bytes, for files of many segments (an archive kept as a file a year): a
# quarter of a megabyte is worth the workers however few the files, and a file the size of
# a batch of the benchmark's files is a batch of its own.
PARALLEL_BYTES = 256 * 1024
HEAVY_BYTES = 64 * 1024
# A file of fewer segments is made whole when it changes: keying its segments (segment_keys)
# would cost every cold build 20-40 µs a segment, to spare an edit a few pages at most.
KEYED_FROM = 8


@dataclass(frozen=True)
class FileTask:
    rel: str
    path: Path
    git_date: date | None
    # Content hashes of this file's pages in the previous output: an unchanged page is not rewritten.
    previous_pages: dict[str, str] = field(default_factory=dict)
    size: int = 0  # its bytes when listed: what its work weighs against the others'
    # Of the previous output's segment pages, the key of what each was made of
    # (segment_pages.segment_keys), and where their related stories are: a segment whose
    # key is unchanged keeps its pages.
    previous_made_of: dict[str, str] = field(default_factory=dict)
    previous_slots: dict[str, Slot] = field(default_factory=dict)
    previous_features: dict[str, str] = field(default_factory=dict)  # by slug: see FileOutcome.features


class SlugClaim(NamedTuple):
    """A segment's slug, and where it was given. (A named tuple: see drafts.Slot.)"""

    slug: str
    where: str  # "content/x.txt:12 (segment 2)" for messages
    path: str
    line: int


@dataclass(frozen=True)
class SearchEntry:
    url: str  # the segment's Arabic page
    day: int  # its date's day number (0: undated), for the search index's order
    digest: str  # of ``packed``: the search index's key is made of its entries' digests
    packed: bytes  # the analysed document, pickled


@dataclass(frozen=True)
class FileOutcome:
    rel: str
    problems: tuple[Problem, ...] = ()
    listings: tuple[Listing, ...] = ()
    slugs: tuple[SlugClaim, ...] = ()
    pages: dict[str, str] = field(default_factory=dict)  # output path -> content hash (its photos' files too)
    # Pages waiting for their related stories (this build's only), and where finished pages have them.
    drafts: dict[str, Draft] = field(default_factory=dict)
    slots: Mapping[str, Slot] = field(default_factory=dict)  # of a record read back: drafts.StoredSlots
    # Of each listing, in order: what related stories share (its tags, section and keywords,
    # joined in one text: pages/related.related_features), made here rather than by every
    # build that ranks them.
    features: tuple[str, ...] = ()
    photos: tuple[PhotoUse, ...] = ()
    search_entries: tuple[SearchEntry, ...] = ()
    # The units the memory lacks (``lacking`` counts them), of a file made in this build: a
    # record read back from the cache has only the count (records.py).
    missing: tuple[Unit, ...] = ()
    cached_units: int = 0
    without_companion: tuple[str, ...] = ()
    zip_members: dict[str, StoredMember] = field(default_factory=dict)  # this build's pack files only
    key: str = ""  # what the file's pages were made of (plan.file_key), read just before them
    lacking: int = 0  # how many units the memory lacks: len(missing) when made
    made_of: Mapping[str, str] = field(default_factory=dict)  # segment page -> its segment's key (segment_keys)
    # The Arabic pages of the segments whose search documents are those stored by the
    # previous build (their pages were kept): this build's only.
    kept_documents: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return has_errors(self.problems)

    def pages_key(self) -> str:
        """Every page of the file with its digest, hashed: what the site's stock is keyed by
        (making.stock_key). Kept beside the very pages it hashes (``_pages_keyed``: set by
        records.py for a record read back), so that a record read back, or amended with the
        same pages, is not hashed again; a record holding other pages is."""
        keyed = self.__dict__.get(PAGES_KEYED)
        if keyed is not None and keyed[0] is self.pages:
            return keyed[1]
        key = hash_mapping(self.pages)
        self.__dict__[PAGES_KEYED] = (self.pages, key)  # a cache of a field's hash, not a field
        return key

    def amended(self, **changes) -> FileOutcome:
        """A copy with ``changes``: what ``dataclasses.replace`` makes, without its pass over
        every field (10 µs a record; a full build amends each file's three times)."""
        if not _OUTCOME_FIELDS.issuperset(changes):
            raise TypeError(f"FileOutcome has no field {sorted(set(changes) - _OUTCOME_FIELDS)}")
        copy = _NEW(FileOutcome)
        copy.__dict__.update(self.__dict__, **changes)
        return copy


_OUTCOME_FIELDS = frozenset(FileOutcome.__dataclass_fields__)
_NEW = object.__new__
PAGES_KEYED = "_pages_keyed"  # (pages, their key): FileOutcome.pages_key


@dataclass(frozen=True)
class FileContext:
    """What every file's processing shares; inherited by the workers."""

    config: SiteConfig
    theme: Theme
    staging: Path
    offline: bool
    drafts: bool
    work_dir: Path | None = None  # this build's spools, and its packs of pages compressed for site.zip
    # A file whose memory lacks units that this build will ask for is made after translating
    # (the translate stage makes it again in any case): rendering it now was wasted work.
    defer_untranslated: bool = False
    photos: PhotoStore | None = None  # None: the build has no photo store (it is not needed)
    # What the segment pages of every file share, by folder (SitePlanner's made_once): filled
    # by each process for the files it makes (a forked worker fills its own copy).
    planner_memo: dict = field(default_factory=dict, compare=False, repr=False)

    def ready_for_workers(self) -> None:
        """Called before the file stage forks its workers (workers.run_batches): the theme's
        templates, which every worker renders, loaded once in this process."""
        self.theme.load_templates()


def process_files(tasks: list[FileTask], context: FileContext, workers_wanted: int) -> dict[str, FileOutcome]:
    """Each file on its own: in worker processes when there are many."""
    outcomes = workers.run_batches(process_batch, tasks, context, workers=workers_wanted, batch=BATCH, threshold=PARALLEL_THRESHOLD, weights=_weights(tasks))
    flush_packs()  # pages spooled and compressed in this process (a small build without workers)
    return {outcome.rel: outcome for outcome in outcomes}


class ReadyFiles:
    """Files to make as each becomes ready (``ready``): see ``process_files_as_ready``."""

    def __init__(self, tasks: list[FileTask], stream: workers.Stream) -> None:
        self._order = [task.rel for task in tasks]
        self._waiting = {task.rel: task for task in tasks}
        self._stream = stream

    def ready(self, rel: str) -> None:
        task = self._waiting.pop(rel, None)
        if task is not None:
            self._stream.put(task)

    def outcomes(self) -> dict[str, FileOutcome]:
        """Every file's outcome, in the tasks' order: those never said ready are made now."""
        for task in self._waiting.values():
            self._stream.put(task)
        self._waiting = {}
        made = {outcome.rel: outcome for outcome in self._stream.results()}
        flush_packs()  # as process_files
        return {rel: made[rel] for rel in self._order}


@contextmanager
def process_files_as_ready(tasks: list[FileTask], context: FileContext, workers_wanted: int) -> Iterator[ReadyFiles]:
    """``process_files``, each file started in a worker as soon as the caller says it is
    ready, while the caller goes on (asking for the translations of the others)."""
    weights = _weights(tasks)
    cores = workers_wanted if workers.worth_workers(len(tasks), PARALLEL_THRESHOLD, weights=weights) else 1
    with workers.streamed(process_batch, context, workers=cores, batch=BATCH, heavy=lambda task: weights.is_heavy(task.size)) as stream:
        yield ReadyFiles(tasks, stream)


def _weights(tasks: list[FileTask]) -> workers.Weights:
    return workers.Weights([task.size for task in tasks], enough=PARALLEL_BYTES, heavy=HEAVY_BYTES)


def process_batch(context: FileContext, tasks: list[FileTask]) -> list[FileOutcome]:
    outcomes = [process_file(task, context) for task in tasks]
    flush_packs()  # the main process reads the packs once this batch's results arrive
    return outcomes


def process_file(task: FileTask, context: FileContext) -> FileOutcome:
    # The file and its memory are read once, here: the key (what the pages are made of) is
    # made of the very bytes the pages are, in the worker rather than before the stage.
    data, problems = read_source_bytes(task.path)
    memory = file_memory(context.config, task.rel)
    outcome = _process_file(task, context, data, problems, memory)
    return outcome.amended(key=key_of(data, memory, task.git_date))


def _process_file(task: FileTask, context: FileContext, data: bytes | None, problems: list[Problem], memory: MemoryRead | None) -> FileOutcome:
    config = context.config
    source = None
    if data is not None:
        source, problems = decode_source(data, task.path, task.rel)
    if source is None:
        return FileOutcome(task.rel, tuple(problems))
    segments, found = build_segments(source, task.git_date)
    problems += found
    if not context.drafts:
        segments = tuple(s for s in segments if not s.draft)
    if has_errors(problems) or not segments:
        return FileOutcome(task.rel, tuple(problems))
    photos = _photos(segments, context)
    problems += photos.problems
    if has_errors(problems):
        return FileOutcome(task.rel, tuple(problems))

    companions: dict[int, Companion] = {}
    missing: tuple[Unit, ...] = ()
    cached, without = 0, ()
    if config.translation.enabled:
        english = file_translations(task.rel, segments, config, write_memory=not context.offline, read=memory)
        companions, missing, cached, without = english.companions, english.missing, english.cached, english.without_companion
        problems += english.problems
        if missing and context.defer_untranslated:
            # Its pages stay the previous build's until it is made: what the second pass compares with.
            previous = {"pages": dict(task.previous_pages), "made_of": task.previous_made_of, "slots": task.previous_slots}
            return FileOutcome(task.rel, tuple(problems), missing=missing, cached_units=cached, lacking=len(missing), **previous)

    made = _segment_pages(task, context, segments, companions, photos)
    count = len(segments)
    listings = tuple(listing_of(s, companions.get(s.number), count) for s in segments)
    shown = display_path(segments[0].source_path)  # one file: every segment has its path
    slugs = tuple(SlugClaim(s.slug, f"{shown}:{s.slug_line} (segment {s.number})", shown, s.slug_line) for s in segments)
    found = _analysed(task, config, segments, companions, listings, made.kept)
    return FileOutcome(
        task.rel, tuple(problems), listings, slugs, made.written, made.drafts, made.slots, found.features, photos.uses, found.entries, missing, cached, tuple(without), made.members,
        lacking=len(missing), made_of=made.made_of, kept_documents=found.kept_documents,
    )


class _Analysed(NamedTuple):
    entries: tuple[SearchEntry, ...]
    kept_documents: tuple[str, ...]
    features: tuple[str, ...]


def _analysed(task: FileTask, config: SiteConfig, segments, companions: dict[int, Companion], listings: tuple[Listing, ...], kept: Container[int]) -> _Analysed:
    """The file's search documents, and each listing's features for related stories. A
    segment whose pages were kept keeps its features and its stored document (the store
    checks it holds it: documents.py): analysing it again was a third of the time of a file
    made again."""
    entries, kept_documents, features = [], [], []
    for segment, listing in zip(segments, listings):
        before = task.previous_features.get(listing.slug) if segment.number in kept else None
        if before is not None:
            features.append(before)
            if config.search:
                kept_documents.append(document_url(segment, config))
            continue
        if config.search:
            url, day, packed, document = packed_document(segment, companions.get(segment.number), config)
            entries.append(SearchEntry(url, day, hash_bytes(packed), packed))
            words = document_keywords(document)  # related stories' words: the search's analysis, already made
        else:
            words = keywords(segment.title, segment.text)
        features.append(related_features(listing, words))
    return _Analysed(tuple(entries), tuple(kept_documents), tuple(features))


@dataclass
class _MadePages:
    written: dict[str, str]  # path -> content hash, of the pages finished here (its photos' files too)
    kept: set[int] = field(default_factory=set)  # the segments whose pages are the previous build's
    drafts: dict[str, Draft] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)  # of the pages kept from the previous build
    members: dict[str, StoredMember] = field(default_factory=dict)
    made_of: dict[str, str] = field(default_factory=dict)


def _segment_pages(task: FileTask, context: FileContext, segments, companions: dict[int, Companion], photos: FilePhotos) -> _MadePages:
    """The file's segment pages: those of a segment made of what it was made of before are
    the previous build's (their related stories patched by the finishing stage if those
    changed); the others rendered, written or spooled, and packed for site.zip."""
    config = context.config
    made = _MadePages(dict(photos.files))
    keys = dict(zip((s.number for s in segments), segment_keys(segments, companions, photos.records))) if len(segments) >= KEYED_FROM else {}
    kept = _kept_pages(task, keys)
    made.kept.update(kept)
    for number, paths in kept.items():
        made.written.update((path, task.previous_pages[path]) for path in paths)
        made.slots.update((path, task.previous_slots[path]) for path in paths if path in task.previous_slots)
        made.made_of.update((path, keys[number]) for path in paths)
    pack = pack_writer(context.work_dir, config.offline_archive)
    remade = {s.number for s in segments if s.number not in kept}
    for number, page, data in segment_pages(task.rel, segments, companions, config, context.theme, photos.records, remade, made_once=context.planner_memo) if remade else ():
        if keys:
            made.made_of[page.path] = keys[number]
        slot = data.find(_SLOT)
        if slot >= 0 and context.work_dir is not None:
            # Finished once the whole site is known: pipeline/finishing.py.
            spool = spool_for(context.work_dir)
            at, size = spool.add(data[:slot] + data[slot + len(_SLOT) :])
            made.drafts[page.path] = Draft(str(spool.path), at, size, slot, task.previous_pages.get(page.path))
            continue
        digest = hash_bytes(data)
        if task.previous_pages.get(page.path) != digest:
            replace_file(f"{context.staging}/{page.path}", data)  # no Path a page
        made.written[page.path] = digest
        if pack is not None:
            # site.zip carries fewer photo files: its copy of the page points only at those.
            made.members[page.path] = pack.add(offline_page(data, config.offline_archive_images))
    return made


def _kept_pages(task: FileTask, keys: dict[int, str]) -> dict[int, list[str]]:
    """Segment number -> the paths of its pages in the previous output, of each segment whose
    key is the one those pages were made of, and whose pages are all there as they were
    finished (a page still waiting for its related stories has no digest: it is made again)."""
    if not task.previous_made_of:
        return {}
    paths_of: dict[str, list[str]] = {}
    for path, key in task.previous_made_of.items():
        paths_of.setdefault(key, []).append(path)
    kept = {}
    for number, key in keys.items():
        paths = paths_of.get(key)
        if paths and all(path in task.previous_pages for path in paths):
            kept[number] = paths
    return kept


def _photos(segments, context: FileContext) -> FilePhotos:
    if context.photos is None or not any(b.photo is not None for s in segments for b in s.blocks):
        return FilePhotos({}, (), (), {})
    return file_photos(segments, context.config, context.photos, context.staging)
