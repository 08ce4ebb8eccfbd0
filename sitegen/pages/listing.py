"""What lists of pages (indexes, feeds, the sitemap, related stories) know of one segment, and
the order of the articles they list (newest first)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from itertools import groupby
from operator import attrgetter
from typing import Any

from ..core.hashing import DIGEST_SIZE, value_digest

# A listing's texts: most of its bytes (an excerpt is some hundreds of Arabic letters).
TEXT_FIELDS = ("title", "excerpt", "english_title", "english_excerpt")
_ENGLISH_TITLE = TEXT_FIELDS.index("english_title")
_PACKED = "_texts"  # where a listing read back from the cache holds its texts, as UTF-8


@dataclass(frozen=True)
class Listing:
    """What lists of pages (indexes, feeds, sitemap) need to know of one segment: small, cacheable."""

    source_rel: str
    number: int
    count: int  # segments in its article
    slug: str
    title: str
    date: datetime.date | None
    excerpt: str
    # No defaults for the texts: a class attribute would answer for a text not decoded yet
    # (see __getattr__).
    english_title: str | None
    english_excerpt: str | None
    english_reviewed: bool = False
    # What term pages and archives are made of: as the front matter writes them.
    tags: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    section: str | None = None

    @cached_property
    def digest(self) -> bytes:
        """What the listing is made of, hashed: the pages and feeds listing it are keyed by
        it. Computed where the listing is made (the file stage) and kept with it, so a build
        keys thousands of pages without hashing ten thousand listings again."""
        return value_digest(tuple(getattr(self, name) for name in LISTING_FIELDS))

    @cached_property
    def place(self) -> bytes:
        """Where the listing stands in the site's lists, hashed: everything but its texts
        (``TEXT_FIELDS``), and whether it is in the English edition. Its date, file and
        number order it; its tags, authors, section and edition say which lists hold it;
        whether its translation was reviewed, whether the sitemap names it. While every
        listing's place stands, the lists hold the same listings on the same pages, and a
        page changes only where a listing it shows changed (``Output.touched``). Computed
        and kept with the digest."""
        return _place_digest([getattr(self, name) for name in PLACE_FIELDS], self.in_english)

    @property
    def in_english(self) -> bool:
        """Whether the segment has an English page: whether it has an English title. Read
        without decoding the texts of a listing read back from the cache (see below): the
        lists of the English edition ask it of every listing."""
        texts = self.__dict__.get(_PACKED)
        return (self.english_title if texts is None else texts[_ENGLISH_TITLE]) is not None

    def __getattr__(self, name: str) -> Any:
        """The texts of a listing read back from the build cache (pipeline/records.py), which
        keeps them as UTF-8 (``packed_texts``): decoded when one is first read. A build reads
        every file's record, but it shows only the listings near a change: decoding every
        text took a one-change build 60-80 ms at 10,000 segments. (Called only for an
        attribute the listing does not hold, so never for a listing made by this build.)"""
        state = self.__dict__
        if name not in TEXT_FIELDS or _PACKED not in state:
            raise AttributeError(f"'Listing' object has no attribute '{name}'")
        for field, text in zip(TEXT_FIELDS, state.pop(_PACKED)):
            state[field] = text if text is None else str(text, "utf-8", "replace")
        return state[name]


LISTING_FIELDS = tuple(f.name for f in fields(Listing))
PLACE_FIELDS = tuple(name for name in LISTING_FIELDS if name not in TEXT_FIELDS)
_REVIEWED = PLACE_FIELDS.index("english_reviewed")


def packed_texts(listing: Listing) -> tuple[bytes | None, ...]:
    """The listing's texts (``TEXT_FIELDS``) as UTF-8, as the build cache keeps them; those of
    a listing read back and never shown, as they were read."""
    texts = listing.__dict__.get(_PACKED)
    if texts is None:
        texts = tuple(None if text is None else text.encode("utf-8") for text in (getattr(listing, name) for name in TEXT_FIELDS))
    return texts


def with_packed_texts(state: Iterable[tuple[str, Any]], texts: Any, digest: bytes, place: bytes) -> Listing:
    """A listing of ``state`` (name and value of every field but its texts), its digest and its place,
    whose texts, kept as ``packed_texts`` gives them, are decoded when one is first read.
    ValueError if they are not what ``packed_texts`` gives."""
    if type(texts) is not tuple or len(texts) != len(TEXT_FIELDS) or not all(text is None or type(text) is bytes for text in texts):
        raise ValueError("a listing's texts are not what the build keeps")
    listing = object.__new__(Listing)  # no constructor: its texts are not there to give it
    fields_of = listing.__dict__
    fields_of.update(state)
    fields_of[_PACKED] = texts
    fields_of["digest"] = digest  # where the cached properties keep them
    fields_of["place"] = place
    return listing


def listings_digest(listings: Iterable[Listing]) -> bytes:
    """What a run of listings is made of, to key a page or feed that shows them: their digests."""
    return b"".join(map(_DIGEST_OF, listings))  # mapped in C: 160,000 a one-change build


_DIGEST_OF = attrgetter("digest")


def changed_since(listings: Sequence[Listing], digests: bytes, before: bytes) -> list[Listing] | None:
    """The listings whose digest differs from the one at their position in ``before``:
    ``digests`` is their ``listings_digest``, ``before`` that of the listings which stood in
    the same places, in the same order. None when ``before`` holds another number of digests."""
    size = DIGEST_SIZE
    if len(before) != len(digests) or len(digests) != size * len(listings):
        return None
    if digests == before:
        return []
    return [listing for listing, at in zip(listings, range(0, len(digests), size)) if digests[at : at + size] != before[at : at + size]]


def edition_change(listing: Listing, place_before: bytes) -> bool | None:
    """How the listing's place (``Listing.place``) differs from ``place_before``, its place in
    an earlier build: True, it came into the English edition or left it (and maybe its
    translation's review changed); False, only its review changed (no list moves); None, it
    moved otherwise (its date, terms, file or number: where it stands in every list).
    Tried for the few listings whose place changed: four digests at most."""
    values = [getattr(listing, name) for name in PLACE_FIELDS]
    for reviewed in (values[_REVIEWED], not values[_REVIEWED]):
        for in_english in (listing.in_english, not listing.in_english):
            if _place_digest([*values[:_REVIEWED], reviewed, *values[_REVIEWED + 1 :]], in_english) == place_before:
                return in_english != listing.in_english
    return None


def _place_digest(values: list[Any], in_english: bool) -> bytes:
    """``Listing.place`` of a listing whose ``PLACE_FIELDS`` hold ``values``."""
    return value_digest((*values, in_english))


def shows_any(listings: Iterable[Listing]) -> Callable[[Sequence[Listing]], bool]:
    """Whether a run of listings (a page's) holds one of ``listings``, the very objects."""
    held = set(map(id, listings))
    return lambda run: any(id(listing) in held for listing in run)


PLACE_OF = attrgetter("place")

# A listing's (source file, segment number), and its source file, read in C: every build
# orders every segment of the site by them, and ranks the related stories of each.
listing_key = attrgetter("source_rel", "number")
listing_file = attrgetter("source_rel")


@dataclass(frozen=True)
class Article:
    source_rel: str
    segments: tuple[Any, ...]  # Segment or Listing: both have number, slug, title, date

    @property
    def date(self) -> datetime.date | None:
        dates = [s.date for s in self.segments if s.date]
        return max(dates) if dates else None


def order_articles(segments: Sequence[Any]) -> list[Article]:
    """Newest first, undated last; an article's segments together and in order."""
    by_file = sorted(segments, key=listing_key)  # keys read in C: 0.2 s at 50,000 with lambdas
    return order_files((rel, tuple(group)) for rel, group in groupby(by_file, key=listing_file))


def order_files(files: Iterable[tuple[str, tuple[Any, ...]]]) -> list[Article]:
    """:func:`order_articles` of segments already together by file and in order (each file's
    record holds its listings so): the files ordered, not every segment sorted and grouped
    again (60-80 ms of every build at 50,000 segments). A file without segments is no article."""
    return sorted((Article(rel, segments) for rel, segments in files if segments), key=_newest_first)


def _newest_first(article: Article) -> tuple[bool, int, str]:
    day = article.date  # worked out once (it is the newest of the article's dates)
    return (True, 0, article.source_rel) if day is None else (False, -day.toordinal(), article.source_rel)
