"""The search documents of the whole site, kept in the build cache between builds.

Each segment's analysed document is stored with its digest and its bucket; a search
bucket's key is made of the digests of its documents (outputs/search/output.py), so
only the buckets holding a changed document are written again.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..outputs.search.writer import bucket_of
from .cache import BuildCache, load_value
from .files import SearchEntry


class CachedDocuments:
    """A DocumentStore (outputs/base.py) over the cache's search table."""

    def __init__(self, cache: BuildCache, allowed: dict):
        self.cache = cache
        self.allowed = allowed

    def replace(self, rels: Iterable[str], entries: dict[str, tuple[SearchEntry, ...]]) -> None:
        """Drop the documents of ``rels``; store ``entries`` (rel -> its documents), in the
        buckets of the stored layout (:meth:`bucket_digests` moves them all if the site's
        size calls for another one: the search output decides the layout)."""
        buckets = self.cache.get("search_buckets") or 1
        rows = [(e.url, rel, bucket_of(e.url, buckets), e.digest, e.packed) for rel, found in entries.items() for e in found]
        self.cache.replace_search(rels, rows)

    def bucket_digests(self, buckets: int) -> dict[int, list[str]]:
        if self.cache.get("search_buckets") != buckets:
            # The site doubled or halved: every document moves to its new bucket.
            self.cache.rebucket(buckets, bucket_of)
            self.cache.put_many({"search_buckets": buckets})
        found: dict[int, list[str]] = {bucket: [] for bucket in range(buckets)}
        for bucket, digest in self.cache.search_digests():
            found[bucket].append(digest)
        return found

    def packed(self, bucket: int) -> list[bytes]:
        return self.cache.search_documents(bucket)

    def unpack(self, packed: bytes):
        """One document, read back through the cache's allow-list (in a worker: no database access)."""
        return load_value(packed, self.allowed)
