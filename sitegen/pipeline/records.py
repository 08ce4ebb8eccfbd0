"""A file's record as the build cache keeps it: plain values, rebuilt into objects here.

Every build that makes something reads the record of every source file (the site view
lists every segment), so reading them lies on the path of a one-change build. Pickled as
objects, 10,000 records took 0.2-0.4 s to read (1.4 s at 50,000): rebuilding each object
from its fields by name, and decoding every listing's titles and excerpts, most of a
record's bytes, of which a one-change build shows some 250. Kept as tuples of text,
numbers and dicts, a record is read by pickle's C code alone, and its objects are made here
without running their constructors (a listing is the tuple stored and where its texts are).
The slots of its pages and the pages themselves stay one text until a build looks at them
(drafts.StoredSlots, StoredPairs). A listing's texts (its titles and excerpts, half of a
record's bytes) are kept apart from the record, in a column of their own (cache.KeptApart),
and read by file only where a build shows one of its listings (pages/listing.TextsApart): at
50,000 segments, reading every record with its texts took 260 ms, without them 190. The rare
parts (problems, photos) stay objects, read through the cache's allow-list. Of the units the
memory lacks, a record keeps only their count: they are a record's texts all over again
where the memory is empty (10,000 records took 180-215 ms to read with them, 56-60 ms
without, on an archive without a memory), and a build that translates makes those files
again anyway (making.units_to_translate).

A stored record never carries what lives only within one build (pages waiting in a
spool, members of this build's packs, search documents): the search documents have their
own table, and the rest dies with the build.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from itertools import chain, repeat
from typing import Any

from ..core.packed import PackedMapping, PackedSequence
from ..pages.listing import HELD_DAY, HELD_FIELDS, HELD_TEXTS, Listing, TextsApart, packed_texts_fit
from .cache import CacheDamaged, KeptApart
from .drafts import StoredSlots, pack_slots
from .files import PAGES_KEYED, FileOutcome, SlugClaim

# Bumped when the layout below changes: a record of another layout is a damaged one (the
# build then starts again without the cache, as it does for any damage). 6: each listing's
# features one text (pages/related.related_features); 7: a listing kept as the tuple it is;
# 8: the slug claims one text (StoredClaims); 9: the pages' key (FileOutcome.pages_key);
# 10: the listings' texts kept apart (StoredTexts); 11: the pages one text (StoredPairs).
LAYOUT = 11

# Never stored (see the module's docstring): a record read back has them empty.
BUILD_ONLY = ("drafts", "zip_members", "search_entries", "kept_documents")
# Counted, not kept (``lacking``): a record read back has none.
COUNTED_ONLY = ("missing",)

# A listing is kept as the tuple it is but its texts (pages/listing.Listing: its fields, its
# digest, its place, whether it is in the English edition and its date as a day number, made
# a date only if the build looks at it), read back as that tuple with where its texts are.
_LISTING_SIZE = len(HELD_FIELDS) - 1
if HELD_TEXTS != _LISTING_SIZE:  # a listing read back is the stored tuple and its texts, last
    raise ImportError("a listing's texts must be the last of what it holds")
# Between the packed texts of a file's listings, in the column that keeps them: a byte that
# neither UTF-8 nor pack_texts writes.
_APART = b"\xfd"
_LAST_DAY = date.max.toordinal()
_NEW_TUPLE = tuple.__new__
_NEW = object.__new__


def stored_record(record: FileOutcome) -> tuple:
    """What the cache keeps of ``record``."""
    return (
        LAYOUT,
        record.rel,
        record.problems,
        tuple(map(_listing_values, record.listings)),
        pack_claims(record.slugs),
        pack_pairs(record.pages),
        pack_slots(record.slots),
        record.features,
        record.photos,
        record.lacking,
        record.cached_units,
        record.without_companion,
        record.key,
        pack_pairs(record.made_of),
        record.pages_key(),
    )


def stored_texts(record: FileOutcome) -> bytes:
    """What the cache keeps apart of ``record``: its listings' texts, packed, in order."""
    return _APART.join([listing.packed_texts() for listing in record.listings])


def record_from_stored(values: Any, texts: KeptApart) -> FileOutcome:
    """The record ``stored_record`` kept, its listings' texts in ``texts`` (read where looked
    at: :class:`StoredTexts`); :class:`CacheDamaged` if it is not one."""
    try:
        layout, rel, problems, listings, slugs, pages, slots, features, photos, lacking, cached_units, without_companion, key, made_of, pages_key = values
        if layout != LAYOUT or type(pages) is not str or type(slots) is not str or type(made_of) is not str or type(lacking) is not int or lacking < 0:
            raise ValueError("not a record of this layout")
        if type(pages_key) is not str:
            raise ValueError("the pages' key not a text")
        if type(features) is not tuple:
            raise ValueError("features not a tuple")
        "".join(features)  # TypeError unless each listing's features are one text (the quickest check)
        record = _NEW(FileOutcome)
        record.__dict__.update(
            rel=rel,
            problems=problems,
            listings=tuple(map(_listing, listings, repeat(StoredTexts(texts, rel, listings)))) if listings else (),
            slugs=StoredClaims(slugs) if type(slugs) is str else tuple(map(_slug_claim, slugs)),
            pages=StoredPairs(pages),
            drafts={},
            slots=StoredSlots(slots),
            features=features,
            photos=photos,
            search_entries=(),
            missing=(),
            cached_units=cached_units,
            without_companion=without_companion,
            zip_members={},
            key=key,
            lacking=lacking,
            made_of=StoredPairs(made_of),
            kept_documents=(),
        )
        record.__dict__[PAGES_KEYED] = (record.pages, pages_key)  # as the build that stored it hashed them
        return record
    except (TypeError, ValueError, OverflowError) as exc:
        raise CacheDamaged(f"the build cache holds a file record it cannot read ({exc})") from None


def _listing_values(listing: Listing) -> tuple:
    return listing[:HELD_TEXTS]  # a plain tuple (pickled as a Listing, it would name its class), its texts apart


def _listing(values: tuple, texts: StoredTexts) -> Listing:
    if type(values) is not tuple or len(values) != _LISTING_SIZE:
        raise ValueError("a listing of another layout")
    day = values[HELD_DAY]  # checked here, as it is made a date only where it is looked at
    if day is not None and (type(day) is not int or not 0 < day <= _LAST_DAY):
        raise ValueError("a listing's day is not a date's")
    return _NEW_TUPLE(Listing, values + (texts,))


_NUMBER = HELD_FIELDS.index("number")


class StoredTexts(TextsApart):
    """The texts of a record's listings as the cache keeps them (``stored_texts``, apart from
    the record: cache.KeptApart), read at the first look at one of them; held in their place
    by each of its listings. ``CacheDamaged`` at that look if the cache keeps none for the
    file, or not one packed text a listing."""

    __slots__ = ("_kept", "_rel", "_listings", "_texts")

    def __init__(self, kept: KeptApart, rel: str, listings: tuple):
        self._kept, self._rel, self._listings = kept, rel, listings  # the listings as stored
        self._texts: dict[int, bytes] | None = None  # by segment number, once read

    def packed_texts(self, number: int) -> bytes:
        if self._texts is None:
            self._texts = self._unpack(self._kept.of(self._rel))
        return self._texts[number]

    def read_together(self, others: Iterable[TextsApart]) -> None:
        wanted = [texts for texts in (self, *others) if type(texts) is StoredTexts and texts._texts is None]
        every = self._kept.of_every_file() if len(wanted) > _READ_ONE_BY_ONE else {}
        for texts in wanted:
            packed = every.get(texts._rel) if texts._kept is self._kept else None
            texts._texts = texts._unpack(packed if packed is not None else texts._kept.of(texts._rel))

    def _unpack(self, packed: Any) -> dict[int, bytes]:
        parts = packed.split(_APART) if type(packed) is bytes else ()
        if len(parts) != len(self._listings) or not all(map(packed_texts_fit, parts)):
            raise CacheDamaged(f"the build cache holds no texts of the listings of {self._rel}, or other texts than theirs")
        return {values[_NUMBER]: part for values, part in zip(self._listings, parts)}


# Past this many files, their texts are picked out of one read of the column (a build
# forking workers that may show every listing) rather than read one by one.
_READ_ONE_BY_ONE = 64


def _slug_claim(values: tuple) -> SlugClaim:
    if type(values) is not tuple or len(values) != len(SlugClaim._fields):
        raise ValueError("a slug claim of another length")
    return tuple.__new__(SlugClaim, values)


class StoredClaims(PackedSequence[SlugClaim]):
    """A record's slug claims as the cache keeps them: one text, made into claims at the first
    look. A build looks at those of the files it made again (and at every file's only where a
    file claims a slug it did not before: site.file_problems); making 50,000 of them, four
    values each, cost a one-change build 36 ms at 50,000 segments. ``CacheDamaged`` at that
    look if the text is not what :func:`pack_claims` writes. Equal to the claims it holds,
    as a tuple of them."""

    __slots__ = ()

    def _unpack(self, packed: str) -> tuple[SlugClaim, ...]:
        return _unpack_claims(packed)


def pack_claims(claims: Sequence[SlugClaim]) -> str | tuple:
    """The claims as the cache keeps them: each slug, where, path and line joined by NUL,
    which none holds (a slug holding one is refused: content/metadata.slug_problem). Where
    one would, the claims are kept as tuples of their values, as they were before."""
    if type(claims) is StoredClaims and claims.as_read() is not None:
        return claims.as_read()
    packed = "\0".join(f"{slug}\0{where}\0{path}\0{line}" for slug, where, path, line in claims)
    return packed if packed.count("\0") == max(0, 4 * len(claims) - 1) else tuple(map(tuple, claims))


def _unpack_claims(packed: str) -> tuple[SlugClaim, ...]:
    if packed == "":
        return ()
    fields = packed.split("\0")
    try:
        if len(fields) % 4:
            raise ValueError("not four fields a claim")
        lines = list(map(int, fields[3::4]))
        if any(line < 0 for line in lines):
            raise ValueError("a line before the file's first")
    except ValueError as exc:
        raise CacheDamaged(f"the build cache holds a file record whose slug claims it cannot read ({exc})") from None
    return tuple(map(_claim, fields[0::4], fields[1::4], fields[2::4], lines))


def _claim(slug: str, where: str, path: str, line: int) -> SlugClaim:
    return _NEW_TUPLE(SlugClaim, (slug, where, path, line))


class StoredPairs(PackedMapping[str]):
    """A record's pages (path -> digest) or ``made_of`` (segment page -> its segment's key) as
    the cache keeps them: one text, made into a dict at the first look. Only the files a build
    makes again or finishes are looked at; every record is read (31,000 pages at 10,000
    segments), and the site's manifest is made of every record's pages at once
    (:func:`every_page`)."""

    __slots__ = ()

    def _unpack(self, packed: str) -> dict[str, str]:
        fields = packed.split("\0") if packed else []
        if len(fields) % 2:
            raise CacheDamaged("the build cache holds a file record whose pages or page keys are not in pairs")
        return dict(zip(fields[::2], fields[1::2]))


def pack_pairs(pairs: Mapping[str, str]) -> str:
    """Pages or ``made_of`` as one text: each path and digest or key, joined by NUL (none holds one)."""
    if type(pairs) is StoredPairs and pairs.as_read() is not None:
        return pairs.as_read()
    return "\0".join(chain.from_iterable(pairs.items()))


def every_page(records: Iterable[FileOutcome]) -> dict[str, str]:
    """Path -> digest of every page of ``records``, in their order: the texts of those read back
    (and never looked at) joined and split at once, in C; the pages of the others (made by this
    build, or looked at) added as they are. A dict of each record's pages, unpickled, then
    merged into one, cost a one-change build 80 ms at 50,000 segments. ``CacheDamaged`` if a
    record's text does not hold pairs."""
    pages: dict[str, str] = {}
    texts: list[str] = []
    for record in records:
        held = record.pages
        text = held.as_read() if type(held) is StoredPairs else None
        if text is None:
            _add_texts(pages, texts)
            texts.clear()
            pages.update(held)
        elif text:
            texts.append(text)
    _add_texts(pages, texts)
    return pages


def _add_texts(pages: dict[str, str], texts: list[str]) -> None:
    if not texts:
        return
    if not all(map(_ODD, map(str.count, texts, repeat("\0")))):
        raise CacheDamaged("the build cache holds a file record whose pages are not in pairs")
    fields = "\0".join(texts).split("\0")
    pages.update(zip(fields[::2], fields[1::2]))


_ODD = (1).__and__  # of a count of NULs: a text of pairs holds one fewer than twice as many
