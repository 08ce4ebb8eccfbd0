"""The search documents of the whole site, kept in the build cache between builds.

Each segment's analysed document is stored with its digest and its day (the ranking's
order); the search index's key is made of all the digests. When a build remakes a few
files, the documents they held before are kept aside (:meth:`CachedDocuments.changes`), so
that the search output can patch the previous index instead of laying it out again.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter

from ..outputs.base import DocumentChanges
from ..outputs.search.writer import in_code_point_order, sort_in_id_order
from .cache import BuildCache, CacheDamaged, load_value
from .files import SearchEntry

_URL_OF = itemgetter(0)  # of a (url, digest) pair, read in C

# Past this many remade files, the previous documents are not kept aside: a change this
# large is laid out cold, and ten thousand old documents need not sit in memory.
MAX_FILES_TO_PATCH = 500


class CachedDocuments:
    """A DocumentStore (outputs/base.py) over the cache's search table."""

    def __init__(self, cache: BuildCache, allowed: dict):
        self.cache = cache
        self.allowed = allowed
        self._changes: DocumentChanges | None = None

    def replace(self, rels: Iterable[str], entries: dict[str, tuple[SearchEntry, ...]], kept: dict[str, tuple[str, ...]] | None = None) -> None:
        """Drop the documents of ``rels``; store ``entries`` (rel -> its documents) and keep
        those ``kept`` names (rel -> URLs: segments of a file made again that were not).
        :class:`CacheDamaged` if a document to keep is not stored."""
        rels = list(rels)
        rows = [(e.url, rel, e.day, e.digest, e.packed) for rel, found in entries.items() for e in found]
        patched = len(rels) <= MAX_FILES_TO_PATCH
        # The documents replaced, read once: kept aside for the patch, and those kept stored again.
        stored = self.cache.search_rows_of(rels if patched else list(kept or ()))
        rows += _kept_rows(stored, kept or {})
        if patched:
            self._changes = DocumentChanges({url: (row[3], row[4]) for url, row in stored.items()}, {row[0]: row[3] for row in rows})
        self.cache.replace_search(rels, rows)

    def sequence(self) -> list[tuple[str, str]]:
        """(url, digest) of every document, in id order (the ranking's tie-break reversed):
        sqlite's order by day and URL, unless a URL holds a character JavaScript orders
        otherwise. Sorted here, reading the days, it cost a one-change build 17-33 ms at
        10,000 segments, against 11-19."""
        pairs = self.cache.search_by_day()
        if in_code_point_order(map(_URL_OF, pairs)):
            return pairs
        rows = self.cache.search_sequence()
        sort_in_id_order(rows)
        return [(url, digest) for url, _day, digest in rows]

    def changes(self) -> DocumentChanges | None:
        return self._changes

    def packed(self, urls: Iterable[str] | None = None) -> dict[str, bytes]:
        return self.cache.search_documents(urls)

    def unpack(self, packed: bytes):
        """One document, read back through the cache's allow-list (in a worker: no database access)."""
        return load_value(packed, self.allowed)


def _kept_rows(stored: dict[str, tuple], kept: dict[str, tuple[str, ...]]) -> list[tuple]:
    """The stored rows of the documents ``kept`` names (rel -> urls); :class:`CacheDamaged` if
    one is missing: its file's record said the previous build stored it."""
    rows = []
    for rel, urls in kept.items():
        for url in urls:
            row = stored.get(url)
            if row is None or row[1] != rel:
                raise CacheDamaged(f"the build cache lacks the search document of {url}")
            rows.append(row)
    return rows
