"""A file's record as the build cache keeps it: plain values, rebuilt into objects here.

Every build that makes something reads the record of every source file (the site view
lists every segment), so reading them lies on the path of a one-change build. Pickled as
objects, 10,000 records took 0.2-0.4 s to read (1.4 s at 50,000): rebuilding each object
from its fields by name, and decoding every listing's titles and excerpts, most of a
record's bytes, of which a one-change build shows some 250. Kept as tuples of text,
numbers and dicts, a record is read by pickle's C code alone, its objects are made here
without running their constructors, and a listing's texts stay UTF-8 until one is read
(pages/listing.py); so do the slots of its pages, one text until a build looks at them
(drafts.StoredSlots). The rare parts (problems, photos) stay objects, read through the
cache's allow-list. Of the units the memory lacks, a record keeps only their count: they
are a record's texts all over again where the memory is empty (10,000 records took
180-215 ms to read with them, 56-60 ms without, on an archive without a memory), and a
build that translates makes those files again anyway (making.units_to_translate).

A stored record never carries what lives only within one build (pages waiting in a
spool, members of this build's packs, search documents): the search documents have their
own table, and the rest dies with the build.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from itertools import chain
from typing import Any

from ..core.packed import PackedMapping
from ..pages.listing import LISTING_FIELDS, TEXT_FIELDS, Listing, packed_texts, with_packed_texts
from .cache import CacheDamaged
from .drafts import StoredSlots, pack_slots
from .files import FileOutcome, SlugClaim

# Bumped when the layout below changes: a record of another layout is a damaged one (the
# build then starts again without the cache, as it does for any damage). 6: each listing's
# features one text (pages/related.related_features).
LAYOUT = 6

# Never stored (see the module's docstring): a record read back has them empty.
BUILD_ONLY = ("drafts", "zip_members", "search_entries", "kept_documents")
# Counted, not kept (``lacking``): a record read back has none.
COUNTED_ONLY = ("missing",)

# A listing is kept as its other fields (its date as a day number, read without a class),
# then its texts as UTF-8 (decoded only if the build shows the listing: pages/listing.py),
# then its digest (it keys the lists showing the listing) and its place (Listing.place).
_PLAIN_FIELDS = tuple(name for name in LISTING_FIELDS if name not in TEXT_FIELDS)
_DATE = _PLAIN_FIELDS.index("date")
_TEXTS, _DIGEST, _PLACE = len(_PLAIN_FIELDS), len(_PLAIN_FIELDS) + 1, len(_PLAIN_FIELDS) + 2
_NEW = object.__new__


def stored_record(record: FileOutcome) -> tuple:
    """What the cache keeps of ``record``."""
    return (
        LAYOUT,
        record.rel,
        record.problems,
        tuple(map(_listing_values, record.listings)),
        tuple(map(tuple, record.slugs)),
        record.pages,
        pack_slots(record.slots),
        record.features,
        record.photos,
        record.lacking,
        record.cached_units,
        record.without_companion,
        record.key,
        pack_keys(record.made_of),
    )


def record_from_stored(values: Any) -> FileOutcome:
    """The record ``stored_record`` kept; :class:`CacheDamaged` if it is not one."""
    try:
        layout, rel, problems, listings, slugs, pages, slots, features, photos, lacking, cached_units, without_companion, key, made_of = values
        if layout != LAYOUT or type(pages) is not dict or type(slots) is not str or type(made_of) is not str or type(lacking) is not int or lacking < 0:
            raise ValueError("not a record of this layout")
        if type(features) is not tuple:
            raise ValueError("features not a tuple")
        "".join(features)  # TypeError unless each listing's features are one text (the quickest check)
        record = _NEW(FileOutcome)
        record.__dict__.update(
            rel=rel,
            problems=problems,
            listings=tuple(map(_listing, listings)),
            slugs=tuple(map(_slug_claim, slugs)),
            pages=pages,
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
            made_of=StoredKeys(made_of),
            kept_documents=(),
        )
        return record
    except (TypeError, ValueError, OverflowError) as exc:
        raise CacheDamaged(f"the build cache holds a file record it cannot read ({exc})") from None


def _listing_values(listing: Listing) -> tuple:
    values = [getattr(listing, name) for name in _PLAIN_FIELDS]
    day = values[_DATE]
    values[_DATE] = None if day is None else day.toordinal()
    return (*values, packed_texts(listing), listing.digest, listing.place)


def _listing(values: tuple) -> Listing:
    if type(values) is not tuple or len(values) != _PLACE + 1:
        raise ValueError("a listing of another length")
    day = values[_DATE]
    if day is not None:
        values = (*values[:_DATE], date.fromordinal(day), *values[_DATE + 1 :])
    return with_packed_texts(zip(_PLAIN_FIELDS, values), values[_TEXTS], values[_DIGEST], values[_PLACE])  # zip stops at the plain fields


def _slug_claim(values: tuple) -> SlugClaim:
    if type(values) is not tuple or len(values) != len(SlugClaim._fields):
        raise ValueError("a slug claim of another length")
    return tuple.__new__(SlugClaim, values)


class StoredKeys(PackedMapping[str]):
    """A record's ``made_of`` (segment page -> its segment's key) as the cache keeps it: one
    text, made into a dict at the first look. Only the files a build makes again are looked
    at; every record is read (31,000 pages at 10,000 segments)."""

    __slots__ = ()

    def _unpack(self, packed: str) -> dict[str, str]:
        fields = packed.split("\0") if packed else []
        if len(fields) % 2:
            raise CacheDamaged("the build cache holds a file record whose page keys are not in pairs")
        return dict(zip(fields[::2], fields[1::2]))


def pack_keys(made_of: Mapping[str, str]) -> str:
    """``made_of`` as one text: each path and key, joined by NUL (neither holds one)."""
    if type(made_of) is StoredKeys and made_of.as_read() is not None:
        return made_of.as_read()
    return "\0".join(chain.from_iterable(made_of.items()))
