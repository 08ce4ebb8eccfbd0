"""The finishing stage: each segment page gets its related stories, once the site is known.

The file stage leaves every segment page it renders in a spool, with a slot where its
related stories go (drafts.py). Here the related stories of every segment are chosen from
the whole site (pages/related.py), and

- each page of this build's spools is finished: its slot filled, written if its bytes
  changed, compressed for site.zip;
- each page of the live site whose related stories changed (another article's new tag,
  a retitled story) is patched: its old block replaced by the new one. Its source is not
  read again; the page is checked to be the one its record describes first.

A page's related stories are keyed by what they show (slugs, titles, dates): only pages
whose key changed are patched, so a build's cost follows what changed, not the archive.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from ..config import SiteConfig
from ..core import urls
from ..core.hashing import hash_bytes
from ..outputs.archive import StoredMember
from ..outputs.base import SiteView
from ..pages.figures import offline_page
from ..pages.labels import labels_for
from ..pages.listing import Listing, texts_at_hand
from ..pages.planner import RelatedEntry, SitePlanner
from ..pages.related import Ranked, Ranking, Related, rank_changed, rank_related, ranking_as_it_stands
from ..pages.theme import Theme
from . import workers
from .cache import CacheDamaged
from .drafts import Draft, Slot, SpoolReader
from .packs import pack_writer
from .files import FileOutcome
from .site import FileResults
from .staging import replace_file

BATCH = 64  # files (two to a dozen pages each)
PARALLEL_THRESHOLD = 150  # files: fewer are finished faster in this process
# The same in pages spooled by this build, for files of many segments: as many as 150 files
# usually hold, and a file holding as many as a batch of files is a batch of its own.
PARALLEL_PAGES = 800
HEAVY_PAGES = 320

Story = tuple[str, str, date | None]  # (slug, title, date) of a related story, as a page shows it


@dataclass(frozen=True)
class FinishTask:
    rel: str
    path: str
    english: bool
    stories: tuple[Story, ...]
    key: str  # of ``stories``
    draft: Draft | None  # the page in this build's spool; None: the live page, patched
    slot: Slot | None  # where the live page's related stories are (draft is None)
    previous: str | None  # the live page's digest


@dataclass(frozen=True)
class FinishContext:
    """What every finishing worker shares (inherited by fork): the site's records and their
    related stories too, so that a worker is sent only the names of its files and works out
    their pages' tasks itself. Made in this process and sent, the tasks of a cold build
    (twenty thousand pages, each with five stories) took 0.3 s before any worker started,
    then their pickling and the pipe."""

    config: SiteConfig
    theme: Theme
    staging: Path
    work_dir: Path | None
    files: FileResults
    related: Related

    def ready_for_workers(self) -> None:
        """Called before the workers are forked (workers.run_batches): the texts of every
        listing read back from the cache, read here, as a worker cannot read the cache (the
        related stories a page shows are any file's)."""
        texts_at_hand(listing for record in self.files.records.values() for listing in record.listings)


@dataclass(frozen=True)
class FinishedPage:
    rel: str
    path: str
    digest: str
    slot: Slot
    member: StoredMember | None


def finish_pages(view: SiteView, files: FileResults, work_dir: Path | None, previous: Ranking | None = None) -> tuple[FileResults, Ranking]:
    """Every segment page with its related stories; the records of the files it touched, and
    the ranking for the next build (``previous``: the last build's, for the same live site)."""
    ranked = _ranked(view, files, previous)
    rels = _files_to_finish(files, _pages_to_key(view.config, files, ranked))
    if not rels:
        return files, ranked.ranking
    context = FinishContext(view.config, view.theme, view.staging, work_dir, files, ranked.related)
    weights = workers.Weights([len(files.records[rel].drafts) for rel in rels], enough=PARALLEL_PAGES, heavy=HEAVY_PAGES)
    done = workers.run_batches(_finish_batch, rels, context, workers=view.workers, batch=BATCH, threshold=PARALLEL_THRESHOLD, weights=weights)
    return _with_finished(files, [page for pages in done for page in pages]), ranked.ranking


def _ranked(view: SiteView, files: FileResults, previous: Ranking | None) -> Ranked:
    """Every segment's related stories. A ranking is made of the site's order and each
    segment's features alone: when no file was added or removed and each file made again
    kept its segments' numbers, dates and features (most edits of a paragraph), the previous
    build ranked these very segments in this very order, and its ranking stands, told from
    the files made again rather than by joining the features of every segment and comparing
    them with the ranking's (0.13 s at 50,000 segments). Where only features changed, the
    ranking is made again from the previous one and the features of the files made again
    (``rank_changed``: 0.06 s rather than 0.2 at 50,000 segments); otherwise from every file's."""
    if previous is not None and files.made_again_as_before(_placed_and_featured, none_removed=True):
        standing = ranking_as_it_stands(view.articles, previous)
        if standing is not None:
            return standing
    if previous is not None and files.before:
        # The other files' records are the previous build's, whose features it ranked: only
        # the segments of the files made again may have others (rank_changed checks that the
        # segments and their order are the ranking's).
        changed = rank_changed(view.articles, previous, _features(files.outcomes))
        if changed is not None:
            return changed
    return rank_related(view.articles, {}, previous, features=_features(files.records))


def _features(records: Mapping[str, FileOutcome]) -> dict[tuple[str, int], str]:
    """Each segment's features (related.related_features, made in the file stage), by its key."""
    return {(rel, listing.number): made for rel, record in records.items() for listing, made in zip(record.listings, record.features)}


def _placed_and_featured(record: FileOutcome) -> tuple:
    """What the ranking takes of a file: its segments' numbers, dates (an article's place is
    its newest date) and features."""
    return tuple((listing.number, listing.date) for listing in record.listings), record.features


def _files_to_finish(files: FileResults, wanted: set[str] | None) -> list[str]:
    """The files, in name order, whose pages may be finished: each with a page spooled by
    this build or one whose related stories may have changed (``wanted``; None: any)."""
    records = files.records
    named = sorted(records) if wanted is None else sorted(wanted & records.keys())
    return [rel for rel in named if records[rel].drafts or records[rel].slots]


def _pages_to_key(config: SiteConfig, files: FileResults, ranked: Ranked) -> set[str] | None:
    """The files whose pages' related stories may have changed (None: every file's).

    With the previous ranking reused, a page lists other stories only where its segment was
    ranked again, and shows them otherwise only where a story it lists was made again (a new
    title, date, or English page): the pages of other files keep their key. A story of a
    file made again whose pages were kept (files._kept_pages) shows what it showed."""
    if ranked.reranked is None:
        return None
    related = ranked.related
    order, position = related.order, related.position
    remade = {rel: _stories_made_again(config, files.records[rel]) for rel in files.outcomes}
    wanted = {rel for rel in remade if files.records[rel].drafts}
    wanted.update(order[position].source_rel for position in ranked.reranked)
    shown_again = {at for rel, numbers in remade.items() for number in numbers if (at := position((rel, number))) is not None}
    wanted.update(order[position].source_rel for position in related.listing_any(shown_again))
    return wanted


def _stories_made_again(config: SiteConfig, record: FileOutcome) -> set[int]:
    """The numbers of the record's segments whose pages this build made (its Arabic page
    waits in the spool for its related stories: a segment page of a theme without them is
    finished in the file stage, and then no page shows any story)."""
    return {listing.number for listing in record.listings if _page_of(config, listing, False) in record.drafts}


def _tasks(config: SiteConfig, files: FileResults, related: Related, rels: list[str]) -> Iterator[FinishTask]:
    """The pages of ``rels`` to finish: those spooled, and the live ones whose stories changed."""
    editions = (False, True) if config.translation.enabled else (False,)
    # What each story adds to the key of a list showing it, in each edition: made once per
    # story rather than once per list (a story is in about five lists).
    shown_as: dict[int, tuple[str, str]] = {}
    for rel in rels:
        record = files.records[rel]
        finished = 0
        for listing in record.listings:
            for english in editions:
                path = _page_of(config, listing, english)
                draft, slot = record.drafts.get(path), record.slots.get(path)
                if draft is None and slot is None:
                    continue
                finished += draft is not None
                shown = related.shown((rel, listing.number), english)
                key = hash_bytes("\x00".join([_shown_as(shown_as, s)[english] for s in shown]))
                if draft is not None or slot.key != key:
                    stories = tuple((s.slug, s.english_title if english else s.title, s.date) for s in shown)
                    yield FinishTask(rel, path, english, stories, key, draft, slot, record.pages.get(path))
        if finished != len(record.drafts):
            # A spooled page no segment claims would never be written: a fault of this program.
            raise RuntimeError(f"{rel}: {len(record.drafts) - finished} spooled page(s) belong to no segment")


def _shown_as(known: dict[int, tuple[str, str]], story: Listing) -> tuple[str, str]:
    found = known.get(id(story))
    if found is None:
        found = known[id(story)] = (f"{story.slug}\x00{story.title}\x00{story.date}", f"{story.slug}\x00{story.english_title}\x00{story.date}")
    return found


def _page_of(config: SiteConfig, listing: Listing, english: bool) -> str:
    if english:
        return urls.companion_page(listing.slug, config.translation.target)
    return urls.segment_page(listing.slug, config.language)


def _finish_batch(context: FinishContext, rels: list[str]) -> list[list[FinishedPage]]:
    """Each file's finished pages (one list a file, as run_batches wants)."""
    tasks = list(_tasks(context.config, context.files, context.related, rels))
    done: dict[str, list[FinishedPage]] = {rel: [] for rel in rels}
    if not tasks:
        return list(done.values())
    entries = _Entries(SitePlanner(context.config))
    pack = pack_writer(context.work_dir, context.config.offline_archive)
    with closing(SpoolReader()) as spools:
        for task in tasks:
            done[task.rel].append(_finish(context, entries, pack, spools, task))
    if pack is not None:
        pack.flush()  # the main process reads the packs once this batch's results arrive
    return list(done.values())


def _finish(context: FinishContext, entries: _Entries, pack, spools: SpoolReader, task: FinishTask) -> FinishedPage:
    block = _block(context.theme, entries, task)
    if task.draft is not None:
        page = spools.read(task.draft)
        before, after = page[: task.draft.slot], page[task.draft.slot :]
    else:
        page = (context.staging / task.path).read_bytes()
        if hash_bytes(page) != task.previous:
            # Not the page the cache describes: nothing of the cache can be trusted.
            raise CacheDamaged(f"{task.path} differs from the page the previous build recorded")
        before, after = page[: task.slot.at], page[task.slot.at + task.slot.size :]
    data = before + block + after
    digest = hash_bytes(data)
    if digest != task.previous:
        replace_file(f"{context.staging}/{task.path}", data)  # a Path a page cost 1 % of a cold build
    member = pack.add(offline_page(data, context.config.offline_archive_images)) if pack is not None else None
    return FinishedPage(task.rel, task.path, digest, Slot(len(before), len(block), task.key), member)


def _block(theme: Theme, entries: _Entries, task: FinishTask) -> bytes:
    """The page's related stories as HTML: nothing when there are none."""
    if not task.stories:
        return b""
    planner = entries.planner
    language = planner.target if task.english else planner.source_language
    shown = [entries(task.path, story, task.english) for story in task.stories]
    return theme.render("related.html", {"labels": labels_for(language), "related": shown}).encode("utf-8")


class _Entries:
    """Related entries made once per batch: a story is listed by several pages, and pages of
    one folder link it alike."""

    def __init__(self, planner: SitePlanner):
        self.planner = planner
        self.made: dict[tuple, RelatedEntry] = {}

    def __call__(self, path: str, story: Story, english: bool) -> RelatedEntry:
        key = (path.rpartition("/")[0], story, english)
        entry = self.made.get(key)
        if entry is None:
            entry = self.made[key] = self.planner.related_entry(path, story, english)
        return entry


def _with_finished(files: FileResults, done: list[FinishedPage]) -> FileResults:
    """The records with their finished pages: digests, slots and site.zip members."""
    by_file: dict[str, list[FinishedPage]] = {}
    for page in done:
        by_file.setdefault(page.rel, []).append(page)
    records = dict(files.records)
    outcomes = dict(files.outcomes)
    touched = dict(files.touched)
    for rel, pages in by_file.items():
        record = records[rel]
        updated = record.amended(
            pages=record.pages | {p.path: p.digest for p in pages},
            slots=record.slots | {p.path: p.slot for p in pages},
            zip_members=record.zip_members | {p.path: p.member for p in pages if p.member is not None},
            drafts={},
        )
        records[rel] = updated
        if rel in outcomes:
            outcomes[rel] = updated
        else:
            touched[rel] = updated
    return replace(files, outcomes=outcomes, records=records, touched=touched)
