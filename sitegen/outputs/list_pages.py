"""Term pages (a tag's, an author's, a section's), the index of each taxonomy, and the archive
by month: in both editions, keyed by what each page lists.

Changing one article's tags changes the entries of the pages of those tags only (and the
counts on the tag index): those are made again, every other page of this output stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..content.terms import term_slug
from ..core import urls
from ..core.hashing import hash_bytes, value_bytes
from ..pages.lists import TAXONOMIES, ListPlanner, Term, terms_of
from ..pages.listing import Listing, listings_digest, shows_any
from ..pages.paging import linked, series, series_page
from ..pages.planner import SitePlanner
from .base import Artifact, Job, Made, Output, SiteView, render_page
from .feeds import atom_feed, feed_entries, newest_listings


class ListPages(Output):
    name = "term and archive pages"

    def made_of(self, view: SiteView) -> str:
        # Every term, month and page of them is collected from the site's listings (a pass
        # over every listing, then a key a page): while they stand, no list page is listed.
        return view.lists_made_of

    def shaped_by(self, view: SiteView) -> str:
        # Which terms and months there are, their counts and names, and which page of them
        # holds which listings follow from where the listings stand.
        return view.lists_shape

    def artifacts(self, view: SiteView) -> list[Artifact]:
        return self._pages(view, None)

    def touched(self, view: SiteView, changed: Sequence[Listing], entered: Sequence[Listing] = ()) -> list[Artifact]:
        # The pages and feeds of the changed listings' terms and months that show them; the
        # indexes of terms and months show only counts and names, which stand with the shape.
        # A story come into the English edition or gone from it moves the English pages of its
        # terms and month after it, and their counts: those are made whole, indexes included.
        return self._pages(view, changed, _Whole.of(view, entered))

    def replaced(self, view: SiteView, entered: Sequence[Listing]) -> tuple[str, ...]:
        whole, folder = _Whole.of(view, entered), view.list_planner.target_folder
        terms = tuple(urls.term_files(taxonomy, slug, folder) for taxonomy, slug in sorted(whole.terms))
        months = tuple(urls.archive_month_files(year, month, folder) for year, month in sorted(whole.months))
        indexes = tuple(urls.term_index(taxonomy, folder) for taxonomy in whole.taxonomies) + ((urls.archive_index(folder),) if whole.months else ())
        return terms + months + indexes

    def pages_among(self, ids: Sequence[str]) -> int:
        return sum(1 for artifact_id in ids if artifact_id.endswith(".html"))  # the others are feeds

    def _pages(self, view: SiteView, changed: Sequence[Listing] | None, whole: _Whole | None = None) -> list[Artifact]:
        """Every page and feed of the lists; with ``changed``, those showing one of them, and
        every English page and feed of the terms and months ``whole`` names, with their indexes."""
        planner = SitePlanner(view.config)
        showing = shows_any(changed) if changed is not None else None
        whole = whole or _Whole()
        if changed is not None:
            # The changed listings each edition shows, and their terms only, collected in one pass.
            shown_in = {english: [listing for listing in changed if listing.in_english or not english] for english in view.languages}
            wanted = {english: _terms_of(listings) | (whole.terms if english else set()) for english, listings in shown_in.items()}
            if whole.taxonomies:
                # The English indexes of these taxonomies count every term: all are collected,
                # here, in one pass (a worker rendering an index inherits them).
                view.terms(whole.taxonomies[0], True)
            collected = view.some_terms(set().union(*wanted.values()))
        found: list[Artifact] = []
        for english in view.languages:
            lists = ListPlanner(planner, english)
            edition = " English" if english else ""
            named = view.names.encode() if english else b""  # tag names from the memory, shown here
            ours = None if changed is None else shown_in[english]
            entire = whole if english else _Whole()
            for taxonomy in TAXONOMIES:
                every_term = view.terms(taxonomy, english) if ours is None or taxonomy in entire.taxonomies else ()  # all collected: see above
                terms = every_term if ours is None else [term for term in collected[taxonomy, english] if (taxonomy, term.slug) in wanted[english]]
                if every_term:
                    counts = tuple((t.slug, t.name, len(t.listings)) for t in every_term)
                    found.append(_artifact(view, urls.term_index(taxonomy, lists.folder), ("terms", english, taxonomy, counts), value_bytes(counts) + named, f"the{edition} {taxonomy} index"))
                for term in terms:
                    if view.config.base_url:
                        found.append(_term_feed(view, lists, term))
                    every = (taxonomy, term.slug) in entire.terms
                    for number, top, chunk in series(term.listings, view.config.per_page):
                        if showing is not None and not every and not showing(chunk):
                            continue
                        path = urls.term_page(taxonomy, term.slug, number, lists.folder)
                        place = (term.taxonomy, term.slug, term.name, number, linked(number, top))
                        job = ("term", english, taxonomy, term.slug, number)
                        found.append(_artifact(view, path, job, value_bytes(place) + listings_digest(chunk) + named, f"the{edition} page of {taxonomy[:-1]} '{term.name}'"))
            by_month = view.months(english)
            if by_month and (ours is None or entire.months):
                counts = tuple((month, len(listings)) for month, listings in by_month.items())
                found.append(_artifact(view, urls.archive_index(lists.folder), ("archive", english, counts), value_bytes(counts) + named, f"the{edition} archive"))
            if ours is None:
                months = by_month
            else:
                shown = {(listing.date.year, listing.date.month) for listing in ours if listing.date} | entire.months
                months = {month: by_month[month] for month in sorted(shown, reverse=True) if month in by_month}
            for (year, month), listings in months.items():
                every = (year, month) in entire.months
                for number, top, chunk in series(listings, view.config.per_page):
                    if showing is not None and not every and not showing(chunk):
                        continue
                    place = (year, month, number, linked(number, top))
                    job = ("month", english, year, month, number)
                    found.append(_artifact(view, urls.archive_month(year, month, number, lists.folder), job, value_bytes(place) + listings_digest(chunk) + named, f"the{edition} archive of {year}-{month:02d}"))
        return found


@dataclass(frozen=True)
class _Whole:
    """The English lists that stories come into the English edition or gone from it move
    whole: their terms ((taxonomy, slug)), the taxonomies of these, their months."""

    terms: frozenset[tuple[str, str]] = frozenset()
    taxonomies: tuple[str, ...] = ()
    months: frozenset[tuple[int, int]] = frozenset()

    @classmethod
    def of(cls, view: SiteView, entered: Sequence[Listing]) -> _Whole:
        if not entered or True not in view.languages:
            return cls()
        terms = frozenset(_terms_of(entered))
        named = {taxonomy for taxonomy, _ in terms}
        return cls(terms, tuple(t for t in TAXONOMIES if t in named), frozenset((l.date.year, l.date.month) for l in entered if l.date))


def _terms_of(listings: Sequence[Listing]) -> set[tuple[str, str]]:
    """(taxonomy, slug) of every term of ``listings``."""
    return {(taxonomy, slug) for listing in listings for taxonomy in TAXONOMIES for slug in map(term_slug, terms_of(listing, taxonomy)) if slug}


def _term_feed(view: SiteView, lists: ListPlanner, term: Term) -> Artifact:
    """A term's Atom feed (with base_url only: a feed's links are absolute). Keyed by the
    listings it shows, the term's newest: an edit of an older story of a prolific author or
    section leaves the feed as it stands."""
    config = view.config
    path = urls.term_feed(term.taxonomy, term.slug, lists.folder)
    title = lists.feed_title(term)
    english, language = lists.english, lists.language
    shown = newest_listings(term.listings)  # the edition's: see newest_listings

    def make(_memo) -> Made:
        return Made({path: atom_feed(config, language, path, title, feed_entries(shown, config, english))})

    return Artifact(path, hash_bytes(listings_digest(shown), title, path), make)


def _artifact(view: SiteView, path: str, what: tuple, content: bytes, name: str) -> Artifact:
    # The page's whole input is what it lists (and where it stands in its series): its key.
    key = hash_bytes(content, path)
    # Rendering thousands of term pages is worth the cores: a job for the workers. It names
    # its page's place, not its listings: a worker finds them in the view it inherited (the
    # lists were collected before it forked), instead of unpickling thirty listings a page.
    return Artifact(path, key, lambda _memo: Job(_render, (path, what)), name)


def _render(view: SiteView, argument: tuple[str, tuple[Any, ...]]) -> Made:
    path, (kind, english, *rest) = argument
    lists = ListPlanner(view.list_planner, english)
    per_page = view.config.per_page
    if kind == "term":
        taxonomy, slug, number = rest
        term = view.term(taxonomy, english, slug)
        _, top, chunk = series_page(term.listings, per_page, number)
        page = lists.term_page(term, number, top, chunk)
    elif kind == "terms":
        taxonomy, counts = rest
        page = lists.term_index(taxonomy, counts)
    elif kind == "month":
        year, month, number = rest
        _, top, chunk = series_page(view.months(english)[(year, month)], per_page, number)
        page = lists.month_page(year, month, number, top, chunk)
    else:
        (counts,) = rest
        page = lists.archive_index(counts)
    return Made({path: render_page(view.theme, view.config, page)})
