"""What lists of pages (indexes, feeds, the sitemap, related stories) know of one segment, and
the order of the articles they list (newest first)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple, Protocol

from ..core.hashing import DIGEST_SIZE, value_digest

# A listing's texts: most of its bytes (an excerpt is some hundreds of Arabic letters).
TEXT_FIELDS = ("title", "excerpt", "english_title", "english_excerpt")
# Its other fields, in the order its place (Listing.place) hashes them.
PLACE_FIELDS = ("source_rel", "number", "count", "slug", "date", "english_reviewed", "tags", "authors", "section")
# What a listing holds, in order: those fields, its digest and place, whether it is in the
# English edition, its date as a day number (``day``: the proleptic Gregorian ordinal, or
# None), and its texts packed, last. The cache keeps the tuple but its texts (pipeline/
# records.py), which it keeps apart; the date itself is made at its first look (a build reads
# 50,000 listings back at 50,000 segments and looks at the dates of a few hundred: making
# each date and the tuple again to hold it cost 26 ms).
HELD_FIELDS = (*(name for name in PLACE_FIELDS if name != "date"), "digest", "place", "in_english", "day", "texts")
HELD_TEXTS = HELD_FIELDS.index("texts")
HELD_DAY = HELD_FIELDS.index("day")
_HELD_NUMBER = HELD_FIELDS.index("number")
_REVIEWED = PLACE_FIELDS.index("english_reviewed")

# A listing's four texts as one bytes object: their UTF-8 joined by a byte UTF-8 never holds,
# a text that is None written as another such byte alone.
_BETWEEN, _NONE = b"\xff", b"\xfe"
_SEPARATORS = len(TEXT_FIELDS) - 1


@dataclass(frozen=True)
class ListingFields:
    """What a listing is made of (``LISTING_FIELDS``, in this order), its texts decoded: the
    file stage makes one a segment (planner.listing_of), and :meth:`listing` the listing."""

    source_rel: str
    number: int
    count: int  # segments in its article
    slug: str
    title: str
    date: datetime.date | None
    excerpt: str
    english_title: str | None
    english_excerpt: str | None
    english_reviewed: bool = False
    # What term pages and archives are made of: as the front matter writes them.
    tags: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    section: str | None = None

    def listing(self) -> Listing:
        """The listing of these fields, its digest and place computed (where it is made: the
        file stage's worker) and kept with it."""
        texts = (self.title, self.excerpt, self.english_title, self.english_excerpt)
        held = {name: getattr(self, name) for name in PLACE_FIELDS}
        in_english = self.english_title is not None
        place = _place_digest(list(held.values()), in_english)
        held.update(
            day=None if self.date is None else self.date.toordinal(),
            texts=pack_texts(texts),
            # What the listing is made of, hashed: the pages and feeds listing it are keyed by
            # it, so a build keys thousands of pages without hashing ten thousand listings again.
            digest=value_digest(tuple(getattr(self, name) for name in LISTING_FIELDS)),
            place=place,
            in_english=in_english,
        )
        listing = Listing(map(held.__getitem__, HELD_FIELDS))
        listing.__dict__.update(zip(TEXT_FIELDS, texts), date=self.date)  # made already
        return listing


# Every field, in the order the digest hashes them.
LISTING_FIELDS = tuple(f.name for f in fields(ListingFields))


class Listing(tuple):
    """What lists of pages (indexes, feeds, sitemap) need to know of one segment: small, cacheable.

    A tuple of what it holds (``HELD_FIELDS``), not a dataclass: a build reads every file's
    record from the cache, and making each of 50,000 listings a frozen dataclass from its
    fields took 3 us (153 ms a one-change build at 50,000 segments), the tuple read back takes 1.
    Made by ``ListingFields.listing``; read back (pipeline/records.py) or unpickled, as the
    tuple it held. Its texts are held as one bytes object of UTF-8 (``pack_texts``) and decoded
    when one is first read (then kept in the instance's ``__dict__``): a build shows only the
    listings near a change, and decoding every text took a one-change build 60-80 ms at 10,000
    segments. A listing read back from the cache holds, in their place, where they are kept
    (:class:`TextsApart`): they are half of every record's bytes, read only for the listings a
    build shows."""

    def __getattr__(self, name: str) -> Any:
        """The date, or a text, not made yet (of a listing read back from the cache, or
        unpickled): the date made of its day number, or all four texts decoded, and kept.
        (Called only for an attribute the listing does not hold.)"""
        state = self.__dict__
        if name == "date":
            day = self[HELD_DAY]
            state["date"] = made = None if day is None else _fromordinal(day)
            return made
        if name not in TEXT_FIELDS:
            raise AttributeError(f"'Listing' object has no attribute '{name}'")
        state.update(zip(TEXT_FIELDS, unpack_texts(self.packed_texts())))
        return state[name]

    def packed_texts(self) -> bytes:
        """Its four texts as ``pack_texts`` packs them: held, or read from where they are kept
        apart (:class:`TextsApart`)."""
        packed = self[HELD_TEXTS]
        return packed if type(packed) is bytes else packed.packed_texts(self[_HELD_NUMBER])

    def held(self) -> tuple:
        """What it holds, its texts packed (read, if they are kept apart)."""
        packed = self[HELD_TEXTS]
        return tuple(self) if type(packed) is bytes else (*self[:HELD_TEXTS], self.packed_texts())

    def __reduce__(self) -> tuple:
        return (Listing, (self.held(),))  # what it holds, texts and all; decoded again where read

    def __eq__(self, other: object) -> bool:
        """Equal to a listing holding the same, its texts held or kept apart."""
        if not isinstance(other, Listing):
            return NotImplemented
        return self[:HELD_TEXTS] == other[:HELD_TEXTS] and self.packed_texts() == other.packed_texts()

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self[:HELD_TEXTS])  # equal listings hold equal fields: their texts need not be read

    def __repr__(self) -> str:
        """As a dataclass's: every field (a value's repr shows all it holds)."""
        return "Listing(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in LISTING_FIELDS) + ")"

    def as_fields(self) -> ListingFields:
        """What the listing is made of (its texts decoded)."""
        return ListingFields(*(getattr(self, name) for name in LISTING_FIELDS))

    def replaced(self, **changes: Any) -> Listing:
        """The listing of these fields with ``changes`` (as dataclasses.replace)."""
        return replace(self.as_fields(), **changes).listing()


_fromordinal = datetime.date.fromordinal

# Each field but the texts read from the tuple in C. ``digest``: what the listing is made of,
# hashed (its texts included). ``place``: where it stands in the site's lists, hashed:
# everything but its texts, and whether it is in the English edition. Its date, file and
# number order it; its tags, authors, section and edition say which lists hold it; whether
# its translation was reviewed, whether the sitemap names it. While every listing's place
# stands, the lists hold the same listings on the same pages, and a page changes only where a
# listing it shows changed (``Output.touched``). ``in_english``: whether the segment has an
# English page (an English title), read without decoding the texts: the lists of the English
# edition ask it of every listing.
for _index, _name in enumerate(HELD_FIELDS):
    if _name != "texts":
        setattr(Listing, _name, property(itemgetter(_index)))
del _index, _name


class TextsApart(Protocol):
    """Where the texts of listings read back from the cache are kept (pipeline/records.py):
    read at the first look at one of them. Read in the process that read the listings, never
    in a worker forked from it (the cache's connection must not cross a fork): before forking,
    a build has every listing's texts it may show read (:func:`texts_at_hand`)."""

    def packed_texts(self, number: int) -> bytes:
        """The texts of the listing of segment ``number``, packed."""
        ...

    def read_together(self, others: Iterable[TextsApart]) -> None:
        """Its texts and those of ``others`` (of the same kind) read now, together."""
        ...


def texts_at_hand(listings: Iterable[Listing]) -> None:
    """The texts of ``listings`` read where they are kept apart, all together (one read of the
    cache, not one a file): called before a build forks workers that may show them."""
    apart = {id(packed): packed for packed in map(_TEXTS_HELD, listings) if type(packed) is not bytes}
    if apart:
        first, *others = apart.values()
        first.read_together(others)


_TEXTS_HELD = itemgetter(HELD_TEXTS)


def pack_texts(texts: Sequence[str | None]) -> bytes:
    """A listing's four texts as it holds them (see ``_BETWEEN``)."""
    return _BETWEEN.join([_NONE if text is None else text.encode("utf-8") for text in texts])


def packed_texts_fit(packed: Any) -> bool:
    """Whether ``packed`` is what :func:`pack_texts` gives (as far as a reader needs: bytes of
    four parts), told without decoding it."""
    return type(packed) is bytes and packed.count(_BETWEEN) == _SEPARATORS


def unpack_texts(packed: bytes) -> list[str | None]:
    """The texts ``pack_texts`` packed (``packed_texts_fit``)."""
    return [None if part == _NONE else str(part, "utf-8", "replace") for part in packed.split(_BETWEEN)]


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


class Article(NamedTuple):
    """One source file's segments, in order (a tuple: a build makes one for every file of the
    site, 16,667 at 50,000 segments)."""

    source_rel: str
    segments: tuple[Any, ...]  # Segment or Listing: both have number, slug, title, date

    @property
    def date(self) -> datetime.date | None:
        """The newest of its segments' dates."""
        return max(filter(None, map(_DATE_OF, self.segments)), default=None)


_DATE_OF = attrgetter("date")
_UNDATED = 1  # after every dated article's key (minus a day number, never above -1)


def order_articles(listings: Sequence[Listing]) -> list[Article]:
    """Newest first, undated last; an article's listings together and in order."""
    by_file = sorted(listings, key=listing_key)  # keys read in C: 0.2 s at 50,000 with lambdas
    return order_files((rel, tuple(group)) for rel, group in groupby(by_file, key=listing_file))


def order_files(files: Iterable[tuple[str, tuple[Listing, ...]]]) -> list[Article]:
    """:func:`order_articles` of listings already together by file and in order (each file's
    record holds its listings so): the files ordered, not every segment sorted and grouped
    again (60-80 ms of every build at 50,000 segments). A file without listings is no article.
    Files by name, then (a stable sort) by their newest day number, as the listings hold it
    (no date made: ``Listing.day``), not a tuple of three compared (26 against 22 ms at
    50,000 segments)."""
    articles = sorted((Article(rel, segments) for rel, segments in files if segments), key=listing_file)  # in name order already: one pass
    articles.sort(key=_newest_first)
    return articles


def _newest_first(article: Article) -> int:
    day = max(filter(None, map(_DAY_OF, article.segments)), default=None)
    return _UNDATED if day is None else -day


_DAY_OF = attrgetter("day")
