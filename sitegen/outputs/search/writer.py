"""Offline search, part three: laying out the index files.

One index for the whole site, split by term into *term shards* and by document into
*document chunks* (the layout is described in the package docstring). Every rule that
decides a file's name or content depends only on the documents, never on the history
of builds, so a site patched one document at a time (:mod:`.patch`) is byte-identical to
the same site built cold:

* document ids follow the ranking's tie-break in reverse: oldest first (undated before
  the oldest), then by Arabic URL descending, so that the newest article, the one a
  newsroom adds every day, takes a new id at the end and no other id moves;
* a term shard starts at the first term, and at every term whose hash is a multiple of
  the *span* (:func:`cuts_at`): the cuts depend on each term alone, so a new term
  splits at most its own shard and a vanished one merges two, nothing else moves;
* the span is a power of two chosen from the vocabulary and the total size, so that a
  shard is about ``SHARD_TARGET`` bytes; it changes only when the ratio of the two
  crosses a power of two;
* a shard's file is named by a hash of its first term (:func:`shard_name`, computed the
  same way by search.js), so shards before and after a new cut keep their names.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import zlib
from dataclasses import dataclass
from itertools import accumulate
from operator import itemgetter
from typing import Iterable, Sequence

from .analyser import _ASTRAL_RE, IndexedDocument, SearchDocument, analyse_document
from .dense import settled
from .postings import MAX_WEIGHT, _encode_number, gap_table, js_json

__all__ = [
    "build_search_index",
    "build_layout",
    "IndexStats",
    "Layout",
    "DOC_CHUNK",
    "SHARD_TARGET",
]

INDEX_VERSION = 6
DOC_CHUNK = 8
SHARD_TARGET = 16 * 1024  # bytes of terms and postings a term shard aims at, on average
# Bytes a term shard of more than one term is never over: a query loads one shard a word (up to
# ten words, and three more shards for the word being typed), so its postings stay within
# 13 x this, whatever the cuts (a term cut by its hash lands beside others by chance: at 10,000
# segments, shards of 115 KB held eight common words).
SHARD_LIMIT = 20 * 1024
MAX_SPAN = 1 << 16

INDEX_FILE = "search-index.js"
SHARD_DIR = "search"


# ---------------------------------------------------------------------------
# Order: document ids.

def utf16_key(s: str) -> bytes:
    """Sort key giving JavaScript's string order (UTF-16 code units)."""
    return s.encode("utf-16-be", "surrogatepass")


def js_sorted(strings: Iterable[str]) -> list[str]:
    """Sorted in JavaScript's order (differs from Python's only for astral
    characters against U+E000-U+FFFF)."""
    result = sorted(strings)
    if _ASTRAL_RE.search("".join(result)):
        result.sort(key=utf16_key)
    return result


_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def day_number(date: str | None) -> int:
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


def rank_key(url: str, day: int) -> tuple:
    """The ranking's tie-break: newest first, undated last, then the Arabic URL.
    Document ids run the other way (see the module docstring)."""
    return (-day, utf16_key(url))


def in_code_point_order(urls: Iterable[str]) -> bool:
    """Whether JavaScript orders these URLs as their code points order them (as Python and
    sqlite compare text): unless one holds an astral character, which UTF-16 orders before
    U+E000-U+FFFF. (URLs of ASCII slugs, as most are, are told so at once.)"""
    joined = "".join(urls)
    return joined.isascii() or not _ASTRAL_RE.search(joined)


def sort_in_id_order(rows: list) -> None:
    """Rows of (url, day, ...) in document-id order: :func:`rank_key`'s order reversed.
    When no URL holds an astral character (Python's string order is then JavaScript's), two
    stable sorts on keys read in C give that order, a tenth of the cost of a key each."""
    if not in_code_point_order(row[0] for row in rows):
        rows.sort(key=lambda row: rank_key(row[0], row[1]), reverse=True)
        return
    rows.sort(key=itemgetter(0), reverse=True)  # within a day: URLs descending
    rows.sort(key=itemgetter(1))  # days ascending (rank_key: newest first)


def _document_key(d: IndexedDocument) -> tuple:
    # The rest only makes exact duplicates (tests) sort deterministically.
    return (*rank_key(d.url_ar, day_number(d.date)), d.title_ar, d.date or "", d.url_en or "",
            d.title_en or "", d.snippet, d.words, d.weights, d.snippet_en or "")


def in_id_order(documents: Iterable[IndexedDocument]) -> list[IndexedDocument]:
    return sorted(documents, key=_document_key, reverse=True)


# ---------------------------------------------------------------------------
# Term shards: where they start and what they are called.

def span_for(terms: int, size: int) -> int:
    """Terms a shard holds on average: a power of two giving about SHARD_TARGET bytes."""
    if not terms or not size:
        return 1
    exponent = round(math.log2(SHARD_TARGET * terms / size))
    return min(MAX_SPAN, 1 << max(0, exponent))


def cuts_at(term: str, span: int) -> bool:
    """Whether a shard starts at ``term`` (besides the first term of all)."""
    return zlib.crc32(term.encode("utf-8", "surrogatepass")) % span == 0


def _fnv1a(s: str, basis: int) -> int:
    h = basis
    for unit in _utf16_units(s):
        h = ((h ^ unit) * 16777619) & 0xFFFFFFFF
    return h


def _utf16_units(s: str) -> list[int]:
    data = utf16_key(s)
    return [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]


def shard_name(first_term: str) -> str:
    """The file name of the shard starting at ``first_term``: two 32-bit FNV-1a hashes of
    its UTF-16 code units (search.js computes the same)."""
    return f"t{_fnv1a(first_term, 0x811C9DC5):08x}{_fnv1a(first_term, 0x050C5D1F):08x}"


def shard_path(first_term: str) -> str:
    return f"{SHARD_DIR}/{shard_name(first_term)}.js"


def chunk_path(chunk: int) -> str:
    return f"{SHARD_DIR}/d{chunk}.js"


def entry_size(term: str, encoded: str) -> int:
    """The bytes a term's entry takes in its shard's file: ``"term":"postings",``."""
    return len(term.encode("utf-8", "surrogatepass")) + len(encoded) + 6


def split_shards(terms: Sequence[str], sizes: Sequence[int], span: int) -> list[int]:
    """Start indexes of the shards of ``terms`` (sorted; ``sizes``: their entries' sizes): the
    first, every cut, and, in a shard that would be over ``SHARD_LIMIT``, the cuts of half the
    span, again, until each part is within the limit or holds one term. The cuts of a span are
    among those of half of it, so a shard's parts depend on its own terms alone: an edit
    re-cuts the shard it touches (all its parts) and nothing else."""
    before = [0, *accumulate(sizes)]  # before[i]: the sizes of terms[:i] together
    cuts = [i for i, term in enumerate(terms) if i == 0 or cuts_at(term, span)]
    return [s for a, b in zip(cuts, cuts[1:] + [len(terms)]) for s in _parts(terms, before, a, b, span)]


def _parts(terms: Sequence[str], before: Sequence[int], start: int, end: int, span: int) -> list[int]:
    """The starts of the parts of ``terms[start:end]`` (see split_shards). A function of its own,
    not a closure calling itself: that closure and its cell make a cycle, which held every term
    of the site to the end of the build (the build holds the collector off)."""
    if end - start == 1 or before[end] - before[start] <= SHARD_LIMIT:
        return [start]
    half = span // 2  # at span 1 every term is a cut: a part of one term is never cut again
    cuts = [start] + [i for i in range(start + 1, end) if cuts_at(terms[i], half)]
    return [s for a, b in zip(cuts, cuts[1:] + [end]) for s in _parts(terms, before, a, b, half)]


# ---------------------------------------------------------------------------
# Files.

def script(body: str) -> bytes:
    return ("\ufeff" + body + "\n").encode("utf-8")


def shard_file(entries: Sequence[tuple[str, str]]) -> bytes:
    """A term shard: ``{"term": "packed postings", ...}`` in term order."""
    name = shard_name(entries[0][0])
    if all(term.isalnum() for term, _ in entries):  # tokens: no quote, backslash or < > &
        body = ",".join(f'"{term}":"{encoded}"' for term, encoded in entries)
    else:
        body = ",".join(f'{js_json(term)}:"{encoded}"' for term, encoded in entries)
    return script(f'window.__searchShard("{name}",{{{body}}});')


def read_shard(data: bytes) -> list[tuple[str, str]]:
    """The entries of a shard file this module wrote (inverse of :func:`shard_file`)."""
    text = data.decode("utf-8")
    return list(json.loads(text[text.index("{"):text.rindex("}") + 1]).items())


def document_row(d: IndexedDocument) -> list:
    return [d.url_ar, title_code(d.title_ar, d.snippet), d.date, d.url_en, title_code(d.title_en, d.snippet_en),
            d.snippet, d.snippet_en]


def title_code(title: str | None, snippet: str | None) -> str | int | None:
    """A title as a chunk row holds it. Most titles are drawn from the text, so they are the
    start of the snippet, cut with '…' (a third of a chunk's bytes, loaded for every result
    shown): such a title is written as the length of that start in UTF-16 code units
    (JavaScript's ``slice``), positive when '…' follows, negative when the title is the start
    alone. Any other title is written as it is. search.js ``titleOf`` reads it back."""
    if not title or not snippet:
        return title
    start, cut = (title[:-1], True) if title.endswith("…") else (title, False)
    if not start or not snippet.startswith(start):
        return title
    units = len(start.encode("utf-16-le", "surrogatepass")) // 2
    return units if cut else -units


def chunk_file(chunk: int, rows: Sequence[list]) -> bytes:
    return script(f'window.__searchShard("d{chunk}",{js_json(list(rows))});')


def read_chunk(data: bytes) -> list[list]:
    text = data.decode("utf-8")
    return json.loads(text[text.index("["):text.rindex("]") + 1])


def root_file(documents: int, bounds: Sequence[str]) -> bytes:
    """``search-index.js``, always loaded: the number of documents and the first term of
    every term shard."""
    meta = {
        "version": INDEX_VERSION,
        "docs": documents,
        "dir": SHARD_DIR + "/",
        "weights": MAX_WEIGHT,
        "docChunk": DOC_CHUNK,
        "shards": list(bounds),
    }
    return script(
        "/* Search index, generated by sitegen. */\n"
        "(function(d){var s=d&&d.currentScript;"
        f"window.__searchIndex={js_json(meta)};"
        "window.__searchIndex.base=s&&s.src?s.src:null;"
        "})(typeof document!==\"undefined\"?document:null);")


# ---------------------------------------------------------------------------
# The whole index.

@dataclass(frozen=True)
class IndexStats:
    """What the next build needs to patch the index: its size, vocabulary and shard starts."""

    documents: int
    terms: int
    size: int  # characters of terms and packed postings, all shards together
    span: int
    bounds: tuple[str, ...]  # the first term of each shard, in order


@dataclass(frozen=True)
class Layout:
    files: dict[str, bytes]  # path under the site -> bytes
    stats: IndexStats


@dataclass(frozen=True)
class Inversion:
    """The postings of a run of consecutive document ids, from ``start``: each term's first
    posting (as ``id * MAX_WEIGHT + weight - 1``), the packed rest (delta-encoded from the
    first), and where the next posting's delta would start (``(last id + 1) * MAX_WEIGHT``).
    Inversions of consecutive runs join by re-encoding only each term's first posting, so
    worker processes can each invert part of the site (:func:`lay_out`)."""

    start: int
    rows: tuple[list, ...]  # what a result shows of each document (document_row)
    postings: dict[str, tuple[int, str, int]]


def invert(start: int, documents: Iterable[IndexedDocument], count: int | None = None) -> Inversion:
    """The inversion of ``documents``, whose ids run from ``start`` (in id order); ``count``:
    how many there are, when known (a gap between two of them is then at most that many ids,
    and the table of encoded gaps no longer than that: a longer gap is encoded as it comes)."""
    table = gap_table(count * MAX_WEIGHT if count is not None else None)
    first: dict[str, int] = {}
    rest: dict[str, list[str]] = {}
    following: dict[str, int] = {}
    rows = []
    doc_id = start
    for doc_id, d in enumerate(documents, start):  # noqa: B007 -- doc_id read after the loop
        rows.append(document_row(d))
        base = doc_id * MAX_WEIGHT - 1
        after = base + 1 + MAX_WEIGHT
        for term, weight in d.weighted_terms():
            value = base + weight
            previous = following.get(term)
            if previous is None:
                first[term] = value
                rest[term] = []
            else:
                try:
                    rest[term].append(table[value - previous])
                except IndexError:  # a gap of more than ten thousand documents
                    rest[term].append(_encode_number(value - previous))
            following[term] = after
    postings = {term: (value, "".join(rest[term]), following[term]) for term, value in first.items()}
    return Inversion(start, tuple(rows), postings)


def lay_out(inversions: Sequence[Inversion]) -> Layout:
    """Every file of the index, from the inversions of consecutive runs of ids from 0."""
    expected = 0
    for inversion in inversions:
        if inversion.start != expected:
            raise ValueError(f"inversions must follow each other: {inversion.start} is not {expected}")
        expected += len(inversion.rows)
    joined: dict[str, list[str]] = {}
    following: dict[str, int] = {}
    for inversion in inversions:
        for term, (value, packed, after) in inversion.postings.items():
            pieces = joined.setdefault(term, [])
            pieces.append(_encode_number(value - following.get(term, 0)))
            pieces.append(packed)
            following[term] = after
    terms = js_sorted(joined)
    encoded = [settled("".join(joined[term]), following[term] // MAX_WEIGHT - 1) for term in terms]
    sizes = list(map(entry_size, terms, encoded))
    size = sum(sizes)
    span = span_for(len(terms), size)
    starts = split_shards(terms, sizes, span)
    files: dict[str, bytes] = {}
    for start, end in zip(starts, starts[1:] + [len(terms)]):
        files[shard_path(terms[start])] = shard_file(list(zip(terms[start:end], encoded[start:end])))
    rows = [row for inversion in inversions for row in inversion.rows]
    for chunk in range(-(-len(rows) // DOC_CHUNK)):
        files[chunk_path(chunk)] = chunk_file(chunk, rows[chunk * DOC_CHUNK:(chunk + 1) * DOC_CHUNK])
    bounds = tuple(terms[i] for i in starts)
    files[INDEX_FILE] = root_file(len(rows), bounds)
    return Layout(dict(sorted(files.items())), IndexStats(len(rows), len(terms), size, span, bounds))


def build_layout(documents: Sequence[IndexedDocument]) -> Layout:
    """Every file of the index, for documents already in id order (:func:`in_id_order`)."""
    return lay_out([invert(0, documents, len(documents))])


def build_search_index(documents: Sequence[SearchDocument]) -> dict[str, bytes]:
    """Build all the search index files in one call (analyse, order, lay out).

    Returns ``{path relative to the site root (POSIX): file content}``.  The output
    depends only on the documents (not on their order) and is byte-for-byte reproducible.
    """
    return build_layout(in_id_order(analyse_document(d) for d in documents)).files
