"""The plan of a build: what the sources are, what the previous build left, what changed.

Made in two steps. :func:`survey` reads only directory listings, stat signatures, the
cache's small summary and the signatures the previous build recorded: enough to see that
nothing changed (the common case of a no-op build). :func:`settle` then reads the bytes of
the files whose signature changed, so that a file touched but identical (a checkout, an
editor saving twice) is not redone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from ..config import SiteConfig
from ..content.sources import git_commit_dates, git_head
from ..core.diagnostics import Problem
from ..core.hashing import hash_bytes, stat_signature
from ..pages.theme import Theme
from ..translation.companions import ProgressCallback, recover_translations
from ..translation.journal import journal_path
from ..translation.memory import (
    MemoryRead,
    memory_file_name,
    memory_path,
    read_memory_bytes,
)
from ..translation.site_words import SITE_SOURCE
from ..translation.term_words import TAGS_SOURCE
from .cache import BuildCache, CacheDamaged, dump_value
from .listing import Listed, list_sources, memory_folder
from .staging import read_build_id
from .state import SIGNATURES, Summary, read_signatures, read_summary


@dataclass(frozen=True)
class BuildOptions:
    offline: bool = False
    strict: bool = False
    drafts: bool = False
    # Tests pass a fake; None means the real translator from site.yml and the environment.
    translator_factory: Callable[[], object] | None = None
    progress: ProgressCallback | None = None
    workers: int | None = None  # None: one per core
    # Given what the build made, by a caller that ends the process right after (the command
    # line): the whole site's records, freed object by object when the build returned, cost a
    # one-change build 40-50 ms at 10,000 segments. None: freed as usual (serve, tests).
    keep: Callable[[object], None] | None = None


@dataclass(frozen=True)
class BuildPlan:
    config: SiteConfig
    options: BuildOptions
    theme: Theme
    fingerprint: str
    sources: dict[str, str]  # relative path under content/ -> path
    discovery_problems: tuple[Problem, ...]
    git_head: str | None
    git_dates: dict[str, date]
    # The previous build, when the live site is the one it describes; None means build it all.
    previous: Summary | None
    signatures: dict[str, tuple]  # this run's stat signatures of every source and its memory
    recorded_keys: dict[str, str]  # each file's key as the previous build recorded it
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    # The tags' memory: no file's key, but the English lists show the names it gives.
    tags_memory: tuple | None = None
    # Files whose stat signature changed but whose bytes did not (a touch, a checkout): not
    # made again, but their new signatures are recorded, or every later build reads them.
    settled: tuple[str, ...] = ()

    @property
    def trusted(self) -> bool:
        return self.previous is not None

    @property
    def online(self) -> bool:
        return online(self.config, self.options)

    @property
    def nothing_to_do(self) -> bool:
        return self.trusted and not self.changed and not self.removed and folders_unchanged(self.previous.folders) and self.previous.tags_memory == self.tags_memory


@dataclass(frozen=True)
class Discovery:
    """The source files, found before anything else; the problems met finding them."""

    sources: dict[str, str]  # relative path under content/ -> path (text: ten thousand Paths cost a build with nothing to do a tenth)
    problems: tuple[Problem, ...]
    listed: dict[str, tuple] = field(default_factory=dict)  # each source's stat signature, taken when it was found
    # Each source's memory's stat signature (None: no such file), taken with it; None: not
    # taken (no English edition, or a journal was folded into the memories since).
    memories: dict[str, tuple | None] | None = None


def discover(config: SiteConfig, listed: Listed | None = None) -> Discovery:
    """The sources (``listed``: as :func:`list_sources` gave them; None: listed here); then,
    before any memory is read, what a killed build paid for folded into them."""
    rels, paths, signatures, memory, problems, _ = listed if listed is not None else list_sources(config)
    sources = dict(zip(rels, paths))
    if config.translation.enabled:
        if os.path.lexists(journal_path(config.memory_dir, config.translation.target)):
            memory = None  # memories folded into below: their signatures are taken again
        problems = [*problems, *recover_translations(config, [*sources, SITE_SOURCE, TAGS_SOURCE])]
    return Discovery(sources, tuple(problems), dict(zip(rels, signatures)), dict(zip(rels, memory)) if memory is not None else None)


def previous_build(config: SiteConfig, cache: BuildCache, fingerprint: str) -> Summary | None:
    """The previous build's summary, if the live site is what it describes and this build
    would make it the same way (None: everything is made again)."""
    summary = read_summary(cache)
    if summary is not None and (summary.fingerprint != fingerprint or summary.build_id != read_build_id(config.output_dir)):
        return None
    return summary


def survey(config: SiteConfig, options: BuildOptions, theme: Theme, fingerprint: str, cache: BuildCache, found: Discovery, summary: Summary | None) -> BuildPlan:
    """What changed since ``summary`` (:func:`previous_build`) was written."""
    problems, sources = list(found.problems), found.sources
    head = git_head(config.content_dir) if sources else None
    git_dates = summary.git_dates if summary is not None and summary.git_head == head else (git_commit_dates(config.content_dir) if sources else {})
    needs_work = summary.needs_translation if summary is not None and online(config, options) else frozenset()
    fresh = _fresh_signatures(config, found, git_dates)
    recorded = cache.get_bytes(SIGNATURES) if summary is not None else None
    if recorded is not None and not needs_work and dump_value(fresh) == recorded:
        # Every source and memory is as the previous build recorded it (and no file was added
        # or removed): their bytes compared, nothing read back, nothing file by file. Dumping
        # the fresh ones makes no objects; reading the recorded ones back made 100,000 at
        # 10,000 files, and cost a build with nothing to do twice as much.
        return BuildPlan(config, options, theme, fingerprint, sources, tuple(problems), head, git_dates, summary, fresh, {}, (), (), tags_memory=tags_memory_signature(config))
    stored = read_signatures(cache, recorded)
    signatures, unchanged = _signatures(config, fresh, stored)
    changed = tuple(rel for rel in sources if rel not in unchanged or rel in needs_work)
    removed = tuple(rel for rel in stored if rel not in sources)
    keys = cache.recorded_keys(changed) if summary is not None else {}
    return BuildPlan(config, options, theme, fingerprint, sources, tuple(problems), head, git_dates, summary, signatures, keys, changed, removed, tags_memory=tags_memory_signature(config))


def settle(plan: BuildPlan) -> BuildPlan:
    """Read what changed files are made of; drop those whose bytes are what they were.

    Without a previous build there is nothing to compare with: every file is made, and its
    key is read where it is made (:func:`file_key`, in the file stage's workers)."""
    if not plan.trusted:
        return plan
    unchanged = {
        rel for rel in plan.changed
        if rel not in plan.previous.needs_translation
        and plan.recorded_keys.get(rel) == with_photos(file_key(plan.config, rel, plan.sources[rel], plan.git_dates.get(rel)), _photo_digests(plan, rel))
    }
    return replace(plan, changed=tuple(rel for rel in plan.changed if rel not in unchanged), settled=tuple(sorted(unchanged)))


def from_scratch(plan: BuildPlan) -> BuildPlan:
    """The same sources with nothing reused: every file is processed again."""
    return replace(plan, previous=None, recorded_keys={}, changed=tuple(plan.sources), removed=())


def refresh(plan: BuildPlan, rels: list[str]) -> BuildPlan:
    """After translating: these files' memories changed, so they are made (and recorded) again."""
    changed = tuple(sorted(set(plan.changed) | set(rels)))
    memories = memory_folder(plan.config)
    signatures = plan.signatures | {rel: _signature(plan.config, rel, plan.sources[rel], plan.git_dates.get(rel), photos_of(plan.signatures.get(rel)), None, memories) for rel in rels}
    return replace(plan, changed=changed, signatures=signatures)


def tags_memory_signature(config: SiteConfig) -> tuple | None:
    """The stat signature of the tags' memory (None: no English edition, or no such file)."""
    if not config.translation.enabled:
        return None
    return stat_signature(memory_path(config.memory_dir, TAGS_SOURCE, config.translation.target))


def online(config: SiteConfig, options: BuildOptions) -> bool:
    """Whether this run may ask a translation service for what the memories lack."""
    return config.translation.enabled and not options.offline


def file_key(config: SiteConfig, rel: str, source: Path | str, git_date: date | None) -> str:
    """What a file's pages are made of: its bytes, its memory's bytes and its git date."""
    return key_of(_read_or_none(source), file_memory(config, rel), git_date)


def file_memory(config: SiteConfig, rel: str) -> MemoryRead | None:
    """A source file's memory as read for its key (None: the site has no English edition).
    Read with the memory's own guards: a named pipe or a link to /dev/zero must not hang here."""
    if not config.translation.enabled:
        return None
    return read_memory_bytes(memory_path(config.memory_dir, rel, config.translation.target), config.memory_dir)


def key_of(source: bytes | None, memory: MemoryRead | None, git_date: date | None) -> str:
    """The key of a file made of these bytes (see :func:`file_key`)."""
    if memory is not None:
        data, problem = memory
        memory = data if problem is None else f"unreadable: {problem.message}"
    return hash_bytes(source, memory, str(git_date))


def with_photos(key: str, photo_digests: tuple[str, ...]) -> str:
    """A file's recorded key: what its text is made of, and the bytes of the photos it shows."""
    return hash_bytes(key, *photo_digests) if photo_digests else key


def photos_of(signature: tuple | None) -> tuple[str, ...]:
    """The photos (paths under content/) a file showed when this signature was recorded."""
    return tuple(rel for rel, _ in signature[3]) if signature is not None and len(signature) > 3 else ()


def listed_size(signature: tuple | None) -> int:
    """A source's bytes as its signature gives them (0 when it has none: not found)."""
    source = signature[0] if signature is not None else None
    return source[0] if source is not None else 0


def recorded_signature(signature: tuple, photos: tuple[tuple[str, tuple | None], ...]) -> tuple:
    """A file's signature as a build records it: with the photos it was just made with."""
    return (*signature[:3], photos) if photos else signature[:3]


def _photo_digests(plan: BuildPlan, rel: str) -> tuple[str, ...]:
    return tuple(hash_bytes(_read_or_none(plan.config.content_dir / photo)) for photo in photos_of(plan.signatures.get(rel)))


def folders_unchanged(recorded: dict[str, int]) -> bool:
    """Adding or removing a file in the live site changes its folder's mtime."""
    if not recorded:
        return False
    try:
        return all(os.stat(folder).st_mtime_ns == mtime for folder, mtime in recorded.items())
    except OSError:
        return False


def _fresh_signatures(config: SiteConfig, found: Discovery, git_dates: dict[str, date]) -> dict[str, tuple]:
    """Every source's signature as stat gives it now (its photos' not yet: see _signatures),
    in the sources' order: for ten thousand files in a loop that joins no paths and, where
    discovery took the memories' signatures, stats nothing."""
    if found.memories is not None:
        listed, memories = found.listed, found.memories
        return {rel: (listed[rel], memories[rel], git_dates.get(rel)) for rel in found.sources}
    memories = memory_folder(config)
    return {rel: _signature(config, rel, path, git_dates.get(rel), (), found.listed.get(rel), memories) for rel, path in found.sources.items()}


def _signatures(config: SiteConfig, fresh: dict[str, tuple], stored: dict[str, tuple]) -> tuple[dict[str, tuple], set[str]]:
    """Every source's signature, and the sources whose signature is the one recorded. The
    pairs both dicts hold are found in C; a file whose recorded signature names photos is
    then given theirs (its fresh one cannot: which photos a file shows is known once made),
    and is unchanged if the two then agree."""
    try:
        unchanged = {rel for rel, _ in fresh.items() & stored.items()}
        signatures = dict(fresh)
        for rel in fresh.keys() - unchanged:
            previous = stored.get(rel)
            if previous is not None and len(previous) > 3:
                signature = signatures[rel] = _with_photos(config, fresh[rel], photos_of(previous))
                if signature == previous:
                    unchanged.add(rel)
    except (TypeError, ValueError) as exc:  # a value no build records: unhashable, or photos not pairs
        raise CacheDamaged(f"the build cache holds a stat signature it cannot read ({type(exc).__name__})") from None
    return signatures, unchanged


def _signature(config: SiteConfig, rel: str, path: Path | str, git_date, photos: tuple[str, ...], listed: tuple | None, memories: str | None) -> tuple:
    """What says a source file may have changed; ``listed``: its stat signature, taken when
    found; ``memories``: :func:`.listing.memory_folder`."""
    memory = stat_signature(memories + memory_file_name(rel, config.translation.target)) if memories is not None else None
    source = listed if listed is not None else stat_signature(path)
    return _with_photos(config, (source, memory, git_date), photos)


def _with_photos(config: SiteConfig, signature: tuple, photos: tuple[str, ...]) -> tuple:
    """A file's signature with those of the photos it shows (none: as it is)."""
    return (*signature, tuple((photo, stat_signature(config.content_dir / photo)) for photo in photos)) if photos else signature


def _read_or_none(path: Path | str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None
