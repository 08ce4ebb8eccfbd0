"""Pages that list articles by what they share: a tag, an author, a section, a month.

Each term of a taxonomy gets its pages (newest first, paginated like the index) and each
taxonomy an index of its terms with their counts; the archive lists the months with their
counts, and each month its articles. Both editions: the English one lists the segments that
have a companion, as its index does. Terms are grouped by ``content.terms.term_slug``, so
spellings that differ only by diacritics, tatweel, case or normal form are one term, shown in
its most used spelling.
"""

from __future__ import annotations

from collections.abc import Sequence, Set as AbstractSet
from dataclasses import dataclass
from itertools import chain, compress
from operator import attrgetter, itemgetter, not_
from datetime import date
from typing import Any

from ..content.metadata import localise_digits, month_names
from ..content.terms import most_used, term_slug
from ..core import urls
from .labels import labels_for
from .listing import HELD_DAY, Article, Listing
from .paging import pagination, series
from .planner import Page, SitePlanner

TAXONOMIES = ("tags", "authors", "sections")


@dataclass(frozen=True)
class Term:
    taxonomy: str
    slug: str
    name: str  # its most used spelling (a section: its folder); shown through SitePlanner.term_label
    listings: tuple[Listing, ...]  # newest first


# The listing's field holding each taxonomy's terms: a tuple of them, or a section's one (or None).
_FIELD = {"tags": "tags", "authors": "authors", "sections": "section"}
_HOLDS = {taxonomy: attrgetter(name) for taxonomy, name in _FIELD.items()}  # a listing's terms (a section: one, or None)
_IN_ENGLISH, _DAY = attrgetter("in_english"), itemgetter(HELD_DAY)


def terms_of(listing: Listing, taxonomy: str) -> tuple[str, ...]:
    """A listing's terms of a taxonomy, as its front matter writes them (a section: one, or none)."""
    if taxonomy == "sections":
        return (listing.section,) if listing.section else ()
    return getattr(listing, _FIELD[taxonomy])


def collect_terms(articles: Sequence[Article], taxonomy: str, english: bool) -> list[Term]:
    """Every term of ``taxonomy`` with its listings, in the order of their slugs."""
    return collect_all_terms(articles)[taxonomy, english]


def collect_all_terms(articles: Sequence[Article], wanted: AbstractSet[tuple[str, str]] | None = None) -> dict[tuple[str, bool], list[Term]]:
    """Every term of every taxonomy in both editions ((taxonomy, english) -> its terms in the
    order of their slugs), in a pass over the listings a taxonomy (``_members``), the English
    edition's terms filtered from the site's.
    ``wanted``: only these terms, as (taxonomy, slug); each is what the whole collection holds
    of it (the pages showing a changed listing are made without collecting every term)."""
    if wanted is not None:
        if len(wanted) <= SOME_TERMS_AT_MOST:
            return _collect_some(articles, wanted)
        return terms_wanted(collect_all_terms(articles), wanted)  # one pass, not one a term
    listings = [listing for article in articles for listing in article.segments]
    english = set(map(id, filter(_IN_ENGLISH, listings)))
    collected: dict[tuple[str, bool], list[Term]] = {}
    for taxonomy in TAXONOMIES:
        members = _members(listings, taxonomy)
        for in_english in (False, True):
            terms = []
            for slug in sorted(members):
                held, spellings = members[slug]
                shown = [listing for listing in held if id(listing) in english] if in_english else held
                if shown:
                    name = next(iter(spellings)) if len(spellings) == 1 else _most_used_of(spellings, shown, taxonomy)
                    terms.append(Term(taxonomy, slug, name, tuple(shown)))
            collected[taxonomy, in_english] = terms
    return collected


_IN_ENGLISH = attrgetter("in_english")


def _members(listings: Sequence[Listing], taxonomy: str) -> dict[str, tuple[list[Listing], set[str]]]:
    """slug -> (the listings naming the term, each once, in order; the spellings naming it) of
    one taxonomy. A pass a taxonomy, each spelling slugged once: a term's name is counted
    only where it has several spellings (``_most_used_of``), and the English edition's
    terms are the listings of these in English; counting every spelling in both editions
    as the pass went cost a build 50-60 ms at 10,000 segments."""
    slug_of: dict[str, str] = {}
    members: dict[str, tuple[list[Listing], set[str]]] = {}
    sections = taxonomy == "sections"
    terms_of_listing = attrgetter(_FIELD[taxonomy])
    for listing in listings:
        terms = terms_of_listing(listing)
        if not terms:
            continue
        spellings = (terms,) if sections else terms
        # A listing counts once for a term however many of its spellings it gives (a set only
        # where it gives several: most give one, and a set each cost a fifth of the pass).
        seen = set() if len(spellings) > 1 else None
        for term in spellings:
            slug = slug_of.get(term)
            if slug is None:
                slug = slug_of[term] = term_slug(term)
                if slug:
                    members.setdefault(slug, ([], set()))[1].add(term)
            if slug and (seen is None or slug not in seen):
                if seen is not None:
                    seen.add(slug)
                members[slug][0].append(listing)
    return members


def terms_wanted(collected: dict[tuple[str, bool], list[Term]], wanted: AbstractSet[tuple[str, str]]) -> dict[tuple[str, bool], list[Term]]:
    """Of a collection of every term, only the terms ``wanted`` ((taxonomy, slug)), in each edition."""
    return {key: [term for term in terms if (term.taxonomy, term.slug) in wanted] for key, terms in collected.items()}


# Past this many terms wanted, collecting every term in one pass is quicker than a pass over
# the listings for each (and stays linear: an edit of every story's title, a memory
# translated again, wants every term).
SOME_TERMS_AT_MOST = 16


def _collect_some(articles: Sequence[Article], wanted: AbstractSet[tuple[str, str]]) -> dict[tuple[str, bool], list[Term]]:
    """:func:`collect_all_terms` of the terms ``wanted`` only. A term's listings are found in
    C (``itertools.compress`` over set tests of each listing's terms, against the spellings of
    its slug): the terms of a changed story can hold most of the site (a section, a prolific
    author), and a pass over every listing's terms in Python for each cost a one-change build
    25-30 ms at 10,000 segments."""
    listings = [listing for article in articles for listing in article.segments]
    english: set[int] | None = None  # the ids of the listings in English, found once
    collected: dict[tuple[str, bool], list[Term]] = {(taxonomy, in_english): [] for taxonomy in TAXONOMIES for in_english in (False, True)}
    for taxonomy in TAXONOMIES:
        slugs_wanted = sorted(slug for kind, slug in wanted if kind == taxonomy)
        if not slugs_wanted:
            continue
        sections = taxonomy == "sections"
        values = list(map(attrgetter(_FIELD[taxonomy]), listings))
        spellings = set(values) if sections else set().union(*values)
        slug_of = {spelling: term_slug(spelling) for spelling in spellings if spelling}
        for slug in slugs_wanted:
            named = frozenset(spelling for spelling, its_slug in slug_of.items() if its_slug == slug)
            held = list(compress(listings, map(named.__contains__, values) if sections else map(not_, map(named.isdisjoint, values))))
            if not held:
                continue
            if english is None:
                english = set(map(id, filter(_IN_ENGLISH, listings)))
            for in_english in (False, True):
                shown = list(compress(held, map(english.__contains__, map(id, held)))) if in_english else held
                if shown:
                    collected[taxonomy, in_english].append(Term(taxonomy, slug, _most_used_of(named, shown, taxonomy), tuple(shown)))
    return collected


def _most_used_of(named: AbstractSet[str], listings: Sequence[Listing], taxonomy: str) -> str:
    """The most used of a term's spellings ``named`` in ``listings``, each counted once a
    listing, by the first of them it gives (as :func:`collect_all_terms` counts)."""
    if len(named) == 1:
        return next(iter(named))  # one spelling: nothing to count
    counts: dict[str, int] = {}
    for listing in listings:
        first = next(term for term in terms_of(listing, taxonomy) if term in named)
        counts[first] = counts.get(first, 0) + 1
    return most_used(counts)


def browsable_lists(articles: Sequence[Article]) -> dict[bool, tuple[str, ...]]:
    """The lists each edition has (False: the site's own, True: the English one), in the
    order its index links them: the archive, if a segment is dated, then each taxonomy with at
    least one term (as :func:`collect_all_terms` finds them: a spelling with a slug). The front
    index page links them, and a build that makes it without making every list must not
    collect every term to know: each edition's days and spellings are gathered in C, and only
    the distinct spellings slugged (a pass over every listing in Python took 0.15 s at 50,000
    segments, on an archive without tags or authors, whose pass never ended early)."""
    listings = [listing for article in articles for listing in article.segments]
    english = list(compress(listings, map(_IN_ENGLISH, listings)))
    slugs: dict[str, str] = {}  # each spelling slugged once
    found = {}
    for edition, these in ((False, listings), (True, english)):
        names = ["archive"] if any(day is not None for day in map(_DAY, these)) else []
        for taxonomy in TAXONOMIES:
            held = map(_HOLDS[taxonomy], these)
            spellings = set(held) if taxonomy == "sections" else set(chain.from_iterable(held))
            if _any_slug([spelling for spelling in spellings if spelling], slugs):
                names.append(taxonomy)
        found[edition] = tuple(names)
    return found


def _any_slug(terms: Sequence[str], slugs: dict[str, str]) -> bool:
    for term in terms:
        slug = slugs.get(term)
        if slug is None:
            slug = slugs[term] = term_slug(term)
        if slug:
            return True
    return False


def both_editions_months(articles: Sequence[Article]) -> tuple[dict[tuple[int, int], tuple[Listing, ...]], ...]:
    """Dated segments by (year, month), newest month first (undated ones are in no month), of
    the source edition and of the English one, in one pass over the listings."""
    found: tuple[dict[tuple[int, int], list[Listing]], dict[tuple[int, int], list[Listing]]] = ({}, {})
    source, english = found
    for article in articles:
        for listing in article.segments:
            day = listing.date
            if day is not None:
                month = (day.year, day.month)
                listed = source.get(month)
                if listed is None:
                    listed = source[month] = []
                listed.append(listing)
                if listing.in_english:
                    english.setdefault(month, []).append(listing)
    return tuple({month: tuple(edition[month]) for month in sorted(edition, reverse=True)} for edition in found)


class ListPlanner:
    """The Page values of term pages, term indexes and the archive, for one edition."""

    def __init__(self, planner: SitePlanner, english: bool):
        self.planner = planner
        self.english = english
        self.language = planner.target if english else planner.source_language
        self.folder = planner.target_folder if english else ""
        self.labels = labels_for(self.language)
        self.numerals = planner.numerals_of(self.language)

    def _name(self, term: Term) -> dict[str, Any]:
        return self.planner.term_label(term.taxonomy, term.name, self.english)

    def feed_title(self, term: Term) -> str:
        return f"{self.planner.site_name(self.english)['text']} · {self._name(term)['text']}"

    def term_page(self, term: Term, number: int, top: int, listings: Sequence[Listing]) -> Page:
        path = urls.term_page(term.taxonomy, term.slug, number, self.folder)
        page = self._list_page(path, self._name(term), (number, top), listings, lambda n: urls.term_page(term.taxonomy, term.slug, n, self.folder))
        if not self.planner.config.base_url:
            return page
        # The term's own feed, besides the site's (see outputs/list_pages.py).
        feed = {"title": self.feed_title(term), "lang": self.language, "title_lang": None, "href": urls.relative_url(path, urls.term_feed(term.taxonomy, term.slug, self.folder))}
        return Page(page.path, page.template, page.context | {"feeds": [*page.context["feeds"], feed]})

    def month_page(self, year: int, month: int, number: int, top: int, listings: Sequence[Listing]) -> Page:
        path = urls.archive_month(year, month, number, self.folder)
        name = f"{month_names(self.language)[month - 1]} {localise_digits(str(year), self.language, self.numerals)}"
        return self._list_page(path, {"text": name, "lang": None, "dir": None}, (number, top), listings, lambda n: urls.archive_month(year, month, n, self.folder))

    def _list_page(self, path: str, heading: dict[str, Any], place: tuple[int, int], listings: Sequence[Listing], page_of) -> Page:
        """Page ``number`` of a list (``place``: it and the highest number: paging)."""
        number, top = place
        page_label = None if number == urls.FRONT else f"{self.labels['page']} {localise_digits(str(number), self.language, self.numerals)}"
        context = self.planner.base_context(path, self.language, heading["text"] + (f" · {page_label}" if page_label else ""))
        context |= {
            "heading": heading,
            "heading_page": page_label,
            "entries": [self.planner.index_entry(path, listing, self.language, self.english) for listing in listings],
            "page_number": number,
            "front_page": number == urls.FRONT,
            "pagination": pagination(path, number, top, (self.language, self.numerals, self.labels["front_page"]), page_of),
            "list_page": True,
            "browse": [],
        }
        return Page(path, "index.html", context)

    def term_index(self, taxonomy: str, counts: Sequence[tuple[str, str, int]]) -> Page:
        """``counts``: (slug, name, number of segments) of every term."""
        path = urls.term_index(taxonomy, self.folder)
        context = self.planner.base_context(path, self.language, self.labels[taxonomy])
        # The most written about first; then by slug, so the order never depends on the run.
        ordered = sorted(counts, key=lambda c: (-c[2], c[0]))
        context |= {
            "heading": self.labels[taxonomy],
            "groups": [{"heading": None, "anchor": None, "links": [
                self._item(path, urls.term_page(taxonomy, slug, urls.FRONT, self.folder), self._name(Term(taxonomy, slug, name, ())), count) for slug, name, count in ordered
            ]}],
        }
        return Page(path, "terms.html", context)

    def archive_index(self, counts: Sequence[tuple[tuple[int, int], int]]) -> Page:
        """``counts``: ((year, month), number of segments), newest month first."""
        path = urls.archive_index(self.folder)
        context = self.planner.base_context(path, self.language, self.labels["archive_heading"])
        groups: dict[int, list[dict[str, Any]]] = {}
        for (year, month), count in counts:
            name = {"text": month_names(self.language)[month - 1], "lang": None, "dir": None}
            groups.setdefault(year, []).append(self._item(path, urls.archive_month(year, month, urls.FRONT, self.folder), name, count))
        context |= {
            "heading": self.labels["archive_heading"],
            "groups": [{"heading": localise_digits(str(year), self.language, self.numerals), "anchor": f"y{year}", "links": items} for year, items in groups.items()],
        }
        return Page(path, "terms.html", context)

    def _item(self, path: str, target: str, name: dict[str, Any], count: int) -> dict[str, Any]:
        return {"href": urls.relative_url(path, target), "name": name, "count": localise_digits(str(count), self.language, self.numerals)}


def list_paths(view) -> list[tuple[str, date | None]]:
    """Every term and archive page of the site's editions, with the date of the newest story it
    lists (the sitemap lists them). ``view``: the outputs' SiteView, which collects the terms
    and months once for every output that lists them."""
    planner = SitePlanner(view.config)
    found: list[tuple[str, date | None]] = []
    for english in view.languages:
        folder = ListPlanner(planner, english).folder
        for taxonomy in TAXONOMIES:
            terms = view.terms(taxonomy, english)
            if terms:
                found.append((urls.term_index(taxonomy, folder), None))
            for term in terms:
                for number, _, chunk in series(term.listings, view.config.per_page):
                    found.append((urls.term_page(taxonomy, term.slug, number, folder), _newest(chunk)))
        by_month = view.months(english)
        if by_month:
            found.append((urls.archive_index(folder), None))
        for (year, month), listings in by_month.items():
            for number, _, chunk in series(listings, view.config.per_page):
                found.append((urls.archive_month(year, month, number, folder), _newest(chunk)))
    return found


def _newest(listings) -> date | None:
    return max((listing.date for listing in listings if listing.date), default=None)
