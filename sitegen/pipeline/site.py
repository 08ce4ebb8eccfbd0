"""From every file's results to the site as a whole: records, problems, listings, the view.

Nothing here reads a source or writes a file: it joins this build's outcomes with the
previous build's records and says whether the site may be made.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Any

from ..config import SiteConfig
from ..content.metadata import slug_collision_key, slug_collision_keys
from ..core.diagnostics import Problem, error
from ..core.hashing import hash_bytes
from ..outputs.base import Artifact, DocumentStore, SiteView
from ..pages.listing import order_files
from ..translation.companions import TranslationReport
from . import workers
from .files import FileOutcome
from .plan import BuildPlan


@dataclass(frozen=True)
class FileResults:
    outcomes: dict[str, FileOutcome]  # made by this build
    records: dict[str, FileOutcome]  # of every source file: this build's, or the previous one's
    report: TranslationReport | None
    # Records of files this build did not make whose pages it finished again (their related
    # stories changed): saved with the outcomes.
    touched: dict[str, FileOutcome] = field(default_factory=dict)
    # The previous build's record of every file it recorded (those of removed files too): the
    # live site's segment pages are theirs. Empty when the cache is not trusted.
    before: Mapping[str, FileOutcome] = field(default_factory=dict)

    @cached_property
    def ordered(self) -> list[FileOutcome]:
        """The records by path, sorted once (five stages read them; the records never change
        once joined: a stage that amends them makes new FileResults)."""
        return [self.records[rel] for rel in sorted(self.records)]

    def made_again_as_before(self, what: Callable[[FileOutcome], object], *, none_removed: bool = False) -> bool:
        """Whether the site holds what the previous build's records held, as far as ``what``
        of a record tells: no file added (nor removed, with ``none_removed``), and each file
        made again with ``what`` of it as before. Told from the files made again alone: a
        build then need not go over every record for what the previous one found of them."""
        before = self.before
        if not before or not (self.records.keys() == before.keys() if none_removed else self.records.keys() <= before.keys()):
            return False
        return all(what(record) == what(before[rel]) for rel, record in self.outcomes.items())


def join(plan: BuildPlan, outcomes: dict[str, FileOutcome], previous: dict[str, FileOutcome], report: TranslationReport | None, before: Mapping[str, FileOutcome] | None = None) -> FileResults:
    """The records of every source: this build's ``outcomes``, else ``previous``; ``before``:
    the previous build's records (default: ``previous``)."""
    records = {rel: outcomes[rel] if rel in outcomes else previous[rel] for rel in plan.sources if rel in outcomes or rel in previous}
    if report is not None:
        ordered = records.values()
        # Pages made after translating count this run's new translations as found in the memory.
        report.cached = max(0, sum(r.cached_units for r in ordered) - report.translated)
        report.without_companion = [w for rel in sorted(records) for w in records[rel].without_companion]
    return FileResults(outcomes, records, report, before=previous if before is None else before)


def file_problems(files: FileResults) -> list[Problem]:
    """Every file's problems, then two files claiming one page."""
    ordered = files.ordered
    problems = [p for record in ordered for p in record.problems]
    # The previous build was made, so its claims collided nowhere (a collision stops a build):
    # with no other claim since, none is keyed again (50,000 slugs at 50,000 segments: 30 ms).
    if files.made_again_as_before(_slugs):
        return problems
    return problems + find_path_collisions(ordered)


def _slugs(record: FileOutcome) -> list[str]:
    return [claim.slug for claim in record.slugs]


def _pages(record: FileOutcome) -> list[str]:
    return sorted(record.pages)


def site_view(plan: BuildPlan, config: SiteConfig, files: FileResults, staging: Path, documents: DocumentStore | None) -> SiteView:
    """The site as outputs see it. ``config``: the plan's, with the tag names the memory gives
    (not part of the fingerprint: ``SiteView.names`` keys the pages that show them)."""
    ordered = files.ordered
    listings = tuple(listing for record in ordered for listing in record.listings)
    articles = tuple(order_files((record.rel, record.listings) for record in ordered))
    names = hash_bytes(repr(config.taxonomies)) if config.taxonomies != plan.config.taxonomies else ""
    return SiteView(config, plan.theme, articles, listings, staging, documents, workers.core_count(plan.options.workers), names)


def find_path_collisions(records: list[FileOutcome]) -> list[Problem]:
    """Two segments claiming one output file (even differing only in case) is an error naming both."""
    claims = [claim for record in records for claim in record.slugs]
    keys = slug_collision_keys([claim.slug for claim in claims])
    if len(set(keys)) == len(keys):
        return []  # every build but one with a collision: no claim walked in Python
    seen: dict[str, Any] = {}
    problems = []
    for claim, key in zip(claims, keys):
        other = seen.setdefault(key, claim)
        if other is not claim:
            problems.append(error(claim.path, claim.line, f"slug '{claim.slug}' is already used by {other.where}: give one of them another 'slug' in its front matter"))
    return problems


def find_page_collisions(files: FileResults, artifacts: list[Artifact], made_before: Container[str]) -> list[Problem]:
    """A segment's page claiming the file of a page of the whole site (slug 'index' makes
    en/index.html, the English index) is an error naming both: one would overwrite the other.
    ``made_before``: the ids of the previous build's artifacts (none of them a segment's page:
    it was made): with every page of the whole site one of them, and every segment's page
    where it was, none is keyed again (156,000 pages at 50,000 segments: 50 ms)."""
    named = [a for a in artifacts if a.name]
    if all(a.id in made_before for a in named) and files.made_again_as_before(_pages):
        return []
    records = files.ordered
    taken = dict(zip(slug_collision_keys([a.id for a in named]), (a.name for a in named)))
    keys = slug_collision_keys(list(chain.from_iterable(record.pages for record in records)))
    if taken.keys().isdisjoint(keys):
        return []  # every build but one with a collision: no page walked in Python (30,000 at 10,000 segments)
    paths = [(record, path) for record in records for path in record.pages]
    problems = []
    for (record, path), key in zip(paths, keys):
        name = taken.get(key)
        if name is not None:
            claims = {slug_collision_key(claim.slug): claim for claim in record.slugs}
            claim = claims[slug_collision_key(path.rpartition("/")[2].removesuffix(".html"))]
            problems.append(error(claim.path, claim.line, f"output file {path} of slug '{claim.slug}' is also {name}: give this segment another 'slug' in its front matter"))
    return problems
