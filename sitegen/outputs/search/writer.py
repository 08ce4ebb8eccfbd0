"""Offline search, part three: laying out the index files.

Buckets (:func:`bucket_count`, :func:`bucket_of`), the files of one bucket
(:func:`build_bucket`), the root file (:func:`build_search_root`), and all of
it in one call (:func:`build_search_index`).  The layout is described in the
package docstring.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from bisect import bisect_right
from collections import defaultdict
from itertools import accumulate
from operator import add
from typing import Iterable, Sequence

from .analyser import _ASTRAL_RE, IndexedDocument, SearchDocument, analyse_document
from .postings import (
    MAX_WEIGHT,
    _encode_number,
    _encode_postings,
    _encoded_table,
    js_json,
)

__all__ = [
    "bucket_count",
    "bucket_of",
    "build_bucket",
    "build_search_root",
    "build_search_index",
    "DOC_CHUNK",
    "TERM_SHARD_TARGET",
    "BUCKET_TARGET",
    "MAX_BUCKETS",
]

INDEX_VERSION = 2
DOC_CHUNK = 8
TERM_SHARD_TARGET = 8 * 1024
BUCKET_TARGET = 512  # documents per bucket, about (at most this many on average)
MAX_BUCKETS = 256

INDEX_FILE = "search-index.js"
SHARD_DIR = "search"


def _utf16_key(s: str) -> bytes:
    """Sort key giving JavaScript's string order (UTF-16 code units)."""
    return s.encode("utf-16-be", "surrogatepass")


def _js_sorted(strings: Iterable[str]) -> list[str]:
    """Sorted in JavaScript's order (differs from Python's only for astral
    characters against U+E000-U+FFFF)."""
    result = sorted(strings)
    if _ASTRAL_RE.search("".join(result)):
        result.sort(key=_utf16_key)
    return result


def _script(body: str) -> bytes:
    return ("\ufeff" + body + "\n").encode("utf-8")


def _shard_name(bucket: int, kind: str, i: int, width: int) -> str:
    return f"b{bucket}/{kind}{i:0{width}d}"


# ---------------------------------------------------------------------------
# Buckets.

def bucket_count(document_count: int) -> int:
    """Number of buckets for a site of ``document_count`` documents: the next
    power of two of ``ceil(n / BUCKET_TARGET)``, between 1 and MAX_BUCKETS.
    It only changes when the site doubles (or halves) in size."""
    wanted = max(1, -(-document_count // BUCKET_TARGET))
    return min(MAX_BUCKETS, 1 << (wanted - 1).bit_length())


def bucket_of(url_ar: str, buckets: int) -> int:
    """The bucket of a document: a stable hash of its Arabic URL (the same in
    every process and Python version, unlike ``hash()``)."""
    if buckets < 1:
        raise ValueError(f"bucket count must be positive, got {buckets}")
    digest = hashlib.blake2b(url_ar.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % buckets


_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _day(date: str | None) -> int:
    """Day number of an ISO date (0001-01-01 is 1); 0 for none or not a date,
    which sorts last."""
    if not date:
        return 0
    m = _DATE_RE.match(date)
    if not m:
        return 0
    try:
        return datetime.date(int(m[1]), int(m[2]), int(m[3])).toordinal()
    except ValueError:
        return 0


def _doc_key(d: IndexedDocument) -> tuple:
    # Newest first, undated last, then the Arabic URL (in JavaScript's order,
    # which search.js uses across buckets); the rest only makes exact
    # duplicates sort deterministically.
    return (-_day(d.date), _utf16_key(d.url_ar), d.title_ar, d.date or "", d.url_en or "",
            d.title_en or "", d.snippet, d.terms)


def build_bucket(bucket: int, buckets: int, documents: Sequence[IndexedDocument]) -> dict[str, bytes]:
    """The files of one bucket (``search/b<bucket>/...``), from the documents
    whose :func:`bucket_of` is ``bucket``.  Deterministic: the same documents in
    any order give the same bytes.  An empty bucket still gets its
    ``index.js`` (the search page loads every bucket's)."""
    if not 0 <= bucket < buckets:
        raise ValueError(f"bucket {bucket} is not in 0..{buckets - 1}")
    for d in documents:
        if bucket_of(d.url_ar, buckets) != bucket:
            raise ValueError(f"{d.url_ar!r} belongs to bucket {bucket_of(d.url_ar, buckets)}, "
                             f"not {bucket} (of {buckets})")
    docs = sorted(documents, key=_doc_key)

    # term -> [doc_id * MAX_WEIGHT + weight - 1, ...], ids ascending
    postings: defaultdict[str, list[int]] = defaultdict(list)
    for doc_id, d in enumerate(docs):
        base = doc_id * MAX_WEIGHT - 1
        for term, weight in d.terms:
            postings[term].append(base + weight)

    terms = _js_sorted(postings)
    lists = list(map(postings.__getitem__, terms))
    table = _encoded_table()
    limit = len(table)
    encoded = [table[p[0]] if len(p) == 1 and p[0] < limit else _encode_postings(p) for p in lists]
    if all(map(str.isalnum, terms)):  # tokens: no quote, backslash or < > &
        entries = list(map('"{}":"{}"'.format, terms, encoded))
    else:
        entries = list(map('{}:"{}"'.format, map(js_json, terms), encoded))
    # Shards of consecutive terms, cut greedily at about TERM_SHARD_TARGET
    # bytes (entry length + term length: about the UTF-8 size of Arabic).
    ends = list(accumulate(map(add, map(len, entries), map(len, terms))))
    groups: list[list[str]] = []
    bounds: list[str] = []
    start = 0
    while start < len(entries):
        end = bisect_right(ends, (ends[start - 1] if start else 0) + TERM_SHARD_TARGET, start)
        end = max(end, start + 1)
        bounds.append(terms[start] if start else "")
        groups.append(entries[start:end])
        start = end

    doc_groups = [docs[i:i + DOC_CHUNK] for i in range(0, len(docs), DOC_CHUNK)]
    width = max(3, len(str(max(len(groups), len(doc_groups), 1) - 1)))
    files: dict[str, bytes] = {}
    for i, group in enumerate(groups):
        name = _shard_name(bucket, "t", i, width)
        files[f"{SHARD_DIR}/{name}.js"] = _script(
            f'window.__searchShard("{name}",{{' + ",".join(group) + "});")
    for i, group in enumerate(doc_groups):
        name = _shard_name(bucket, "d", i, width)
        rows = [[d.url_ar, d.title_ar, d.date, d.url_en, d.title_en, d.snippet] for d in group]
        files[f"{SHARD_DIR}/{name}.js"] = _script(f'window.__searchShard("{name}",{js_json(rows)});')

    days = []
    previous = None
    for d in docs:
        day = _day(d.date)
        days.append(_encode_number(day if previous is None else previous - day))
        previous = day
    meta = {
        "buckets": buckets,
        "days": "".join(days),
        "docChunk": DOC_CHUNK,
        "docs": len(docs),
        "termShards": bounds,
        "width": width,
    }
    name = f"b{bucket}/index"
    files[f"{SHARD_DIR}/{name}.js"] = _script(f'window.__searchShard("{name}",{js_json(meta)});')
    return dict(sorted(files.items()))


def build_search_root(buckets: int, document_count: int) -> dict[str, bytes]:
    """``search-index.js``: the bucket count and little else, so it only
    changes when the number of documents does."""
    meta = {
        "version": INDEX_VERSION,
        "buckets": buckets,
        "docs": document_count,
        "dir": SHARD_DIR + "/",
        "weights": MAX_WEIGHT,
    }
    return {INDEX_FILE: _script(
        "/* Search index, generated by sitegen. */\n"
        "(function(d){var s=d&&d.currentScript;"
        f"window.__searchIndex={js_json(meta)};"
        "window.__searchIndex.base=s&&s.src?s.src:null;"
        "})(typeof document!==\"undefined\"?document:null);")}


def build_search_index(documents: Sequence[SearchDocument], buckets: int | None = None) -> dict[str, bytes]:
    """Build all the search index files in one call (analyse, bucket, root).

    Returns ``{path relative to the site root (POSIX): file content}``.  The
    output depends only on the documents (not on their order) and is
    byte-for-byte reproducible.  ``buckets`` overrides :func:`bucket_count`.
    """
    analysed = [analyse_document(d) for d in documents]
    n = bucket_count(len(analysed)) if buckets is None else buckets
    groups: list[list[IndexedDocument]] = [[] for _ in range(n)]
    for d in analysed:
        groups[bucket_of(d.url_ar, n)].append(d)
    files: dict[str, bytes] = {}
    for b, group in enumerate(groups):
        files.update(build_bucket(b, n, group))
    files.update(build_search_root(n, len(analysed)))
    return dict(sorted(files.items()))
