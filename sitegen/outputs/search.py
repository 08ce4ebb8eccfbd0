r"""Offline full-text search: analyser and index writer.

The site is read from disk (``file://``), where ``fetch()``, XHR and ES modules
all fail.  The index is therefore written as *classic scripts* that assign
globals, and the search page loads the parts it needs by inserting
``<script src="...">`` elements, which browsers allow on ``file://``.

Analysis (identical in Python, used for the index, and in
``themes/default/search.js``, used for the query; a test runs both):

1. Unicode NFKC (folds Arabic presentation forms and ligatures, full-width
   Latin, ...), then lower-casing.
2. :func:`normalize_arabic`, as Lucene's ``ArabicNormalizer`` plus a little:
   drop tatweel (U+0640), harakat and other Arabic marks (U+064B-U+065F,
   U+0670, U+0610-U+061A, Quranic marks in U+06D6-U+06ED) and invisible
   format characters (ZWNJ, ZWJ, bidi marks, soft hyphen, BOM); fold
   ``آ أ إ ٱ`` to ``ا``, ``ى`` and Persian ``ی`` to ``ي``, ``ة`` to ``ه``,
   Persian ``ک`` to ``ك``, and Arabic-Indic digits (``٠``-``٩``,
   ``۰``-``۹``) to ``0``-``9``.  ``ؤ`` and ``ئ`` are kept, as in Lucene.
3. Latin letters with diacritics (U+00C0-U+024F, U+1E00-U+1EFF) fold to
   their base letters (``Ḥimṣ`` → ``hims``), and any combining mark left
   (category M*) is dropped.
4. Tokens are maximal runs of letters and digits (Unicode categories L* and
   N*: Python's ``str.isalnum``, JavaScript's ``[\p{L}\p{N}]``); everything
   else, Arabic punctuation ``، ؛ ؟ « »`` and ``_`` included, separates
   tokens.  Tokens longer than :data:`MAX_TOKEN_LENGTH` code points are
   dropped.
5. Light stemming exactly as Lucene's ``ArabicStemmer``: strip at most one
   prefix, the first that matches in the order ``ال وال بال كال فال لل و``,
   provided at least 2 letters remain (``و`` alone: the word must have at
   least 4 letters); then walk the suffix list ``ها ان ات ون ين يه ية ه ة ي``
   once, in that order, stripping each suffix that matches while at least 2
   letters remain (so several suffixes may go, each at most once).  Example:
   ``والمدينة`` → ``والمدينه`` → ``مدينه`` → ``مدين``.  No affix can match a Latin
   token, so English is only lower-cased and folded.

Building (parallel and incremental):

* :func:`analyse_document` does all the text work for one document and
  returns a small, picklable :class:`IndexedDocument` (its weighted terms and
  what a result shows).  It can run in worker processes and be cached.
* Documents are split into *buckets* by a stable hash of the Arabic URL
  (:func:`bucket_of`); :func:`bucket_count` depends only on the number of
  documents, in powers of two, so it stays the same over a range of sizes.
* :func:`build_bucket` turns the documents of one bucket into that bucket's
  files: a self-contained inverted index.  Editing one document changes only
  its bucket's files; :func:`build_search_root` writes the tiny root file.
* :func:`build_search_index` does all of it in one call (small sites, tests).

Index layout (all paths relative to the site root; ``<b>`` is the bucket
number, ``NNN`` a zero-padded shard number):

``search-index.js``
    Always loaded, tiny.  ``window.__searchIndex = {...}``: the number of
    buckets and of documents, the shard directory, the weight base.
``search/b<b>/index.js``
    Loaded, for every bucket, by the first query:
    ``window.__searchShard("b<b>/index", {...})`` with the bucket's number of
    documents, the bucket count it was built for, the first term of each of
    its term shards (terms sorted in UTF-16 code-unit order, JavaScript's
    string order, so a binary search finds a term's shard), and the date of
    each of its documents as packed day numbers (for ranking across buckets
    without loading the documents).
``search/b<b>/tNNN.js``
    Term shards of about :data:`TERM_SHARD_TARGET` bytes (consecutive ranges
    of the bucket's sorted terms, so a query loads, per bucket, one shard per
    word, and a few for the prefix of the word being typed):
    ``window.__searchShard("b<b>/tNNN", {"term": "postings", ...})``.
    Postings are delta-encoded document ids (local to the bucket), each with a
    2-bit weight (term frequency, +2 when the term is in a title, capped at
    4), packed as ASCII variable-length numbers (see :func:`_encode_number`).
``search/b<b>/dNNN.js``
    The bucket's document table in chunks of :data:`DOC_CHUNK` documents,
    loaded only for the results shown: ``window.__searchShard("b<b>/dNNN",
    [[url_ar, title_ar, date, url_en, title_en, snippet], ...])``.

Within a bucket, document ids follow date order, newest first (undated
last), then the Arabic URL.  Search (in search.js): every query word must
match (AND); the last word, while it is being typed, also matches terms that
start with it.  Score: sum over the words of the matched weight (exact
matches count double).  Results are ordered by score, then date (newest
first), then Arabic URL; the URL tie-break across buckets is resolved lazily,
for the results shown, from the document chunks.

Every file is deterministic (no timestamps, stable sorting) and UTF-8 with a
BOM, so that browsers decode it as UTF-8 whatever the page says.  JSON is
embedded with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, so untrusted
titles and snippets can neither close the ``<script>`` nor break the parse.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import re
import unicodedata
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import accumulate, chain
from operator import add
from typing import Iterable, Iterator, Sequence

from ..core.textrules import balance_bidi

__all__ = [
    "SearchDocument",
    "IndexedDocument",
    "normalize_arabic",
    "tokenize",
    "stem",
    "js_json",
    "analyse_document",
    "bucket_count",
    "bucket_of",
    "build_bucket",
    "build_search_root",
    "build_search_index",
    "MAX_TOKEN_LENGTH",
    "DOC_CHUNK",
    "TERM_SHARD_TARGET",
    "SNIPPET_LENGTH",
    "BUCKET_TARGET",
    "MAX_BUCKETS",
]

INDEX_VERSION = 2
MAX_TOKEN_LENGTH = 40
DOC_CHUNK = 8
TERM_SHARD_TARGET = 8 * 1024
SNIPPET_LENGTH = 120
MAX_WEIGHT = 4
BUCKET_TARGET = 512  # documents per bucket, about (at most this many on average)
MAX_BUCKETS = 256

INDEX_FILE = "search-index.js"
SHARD_DIR = "search"


@dataclass(frozen=True)
class SearchDocument:
    url_ar: str  # path of the Arabic page relative to the site root, e.g. "ar/homs-1.html"
    title_ar: str
    text_ar: str  # plain text of the Arabic segment
    date: str | None  # ISO "YYYY-MM-DD" or None
    url_en: str | None = None  # companion page path relative to site root, or None
    title_en: str | None = None
    text_en: str | None = None


@dataclass(frozen=True)
class IndexedDocument:
    """What a bucket needs of one document: small and picklable.

    Made by :func:`analyse_document`; ``terms`` are ``(term, weight)`` pairs
    sorted by term, the weight being the term frequency, +2 for a title term,
    capped at :data:`MAX_WEIGHT`.
    """

    url_ar: str
    title_ar: str
    date: str | None
    url_en: str | None
    title_en: str | None
    snippet: str
    terms: tuple[tuple[str, int], ...]


# ---------------------------------------------------------------------------
# Analysis.  Keep in step with the core of themes/default/search.js.

def _build_normalize_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    removed = [0x0640, 0x0670, 0x00AD, 0x061C, 0x200B, 0x200C, 0x200D,
               0x200E, 0x200F, 0x2060, 0xFEFF]
    removed += range(0x064B, 0x0660)  # harakat, shadda, sukun, maddah/hamza marks...
    removed += range(0x0610, 0x061B)  # honorific signs and small high letters
    removed += range(0x06D6, 0x06DD)  # Quranic annotation marks (small high
    removed += range(0x06DF, 0x06E9)  # letters, small waw/yeh, ...), but not the
    removed += range(0x06EA, 0x06EE)  # symbols U+06DD, U+06DE, U+06E9
    for cp in removed:
        table[cp] = None
    for cp in (0x0622, 0x0623, 0x0625, 0x0671):  # آ أ إ ٱ
        table[cp] = "\u0627"
    table[0x0649] = "\u064A"  # ى → ي
    table[0x06CC] = "\u064A"  # ی (Persian yeh) → ي
    table[0x0629] = "\u0647"  # ة → ه
    table[0x06A9] = "\u0643"  # ک (keheh) → ك
    for i in range(10):
        table[0x0660 + i] = str(i)  # Arabic-Indic digits
        table[0x06F0 + i] = str(i)  # Extended Arabic-Indic digits
    return table


_NORMALIZE_TABLE = _build_normalize_table()


def normalize_arabic(text: str) -> str:
    """Lucene-style Arabic orthographic normalisation (see the module doc).

    Does not lower-case, apply NFKC or stem; :func:`tokenize` does.
    """
    return text.translate(_NORMALIZE_TABLE)


_PREFIXES = ("\u0627\u0644", "\u0648\u0627\u0644", "\u0628\u0627\u0644",
             "\u0643\u0627\u0644", "\u0641\u0627\u0644", "\u0644\u0644", "\u0648")
_SUFFIXES = ("\u0647\u0627", "\u0627\u0646", "\u0627\u062A", "\u0648\u0646",
             "\u064A\u0646", "\u064A\u0647", "\u064A\u0629", "\u0647", "\u0629",
             "\u064A")


# Prefixes by first letter, in list order, with the least word length for
# each (at least 2 letters must remain; "و" alone needs a word of 4 letters).
_PREFIXES_BY_FIRST: dict[str, tuple[tuple[str, int], ...]] = {}
for _p in _PREFIXES:
    _PREFIXES_BY_FIRST[_p[0]] = _PREFIXES_BY_FIRST.get(_p[0], ()) + (
        (_p, max(len(_p) + 2, 4 if len(_p) == 1 else 0)),)
_SUFFIXES_BY_LAST: dict[str, tuple[tuple[int, str, int], ...]] = {}
for _i, _s in enumerate(_SUFFIXES):
    _SUFFIXES_BY_LAST[_s[-1]] = _SUFFIXES_BY_LAST.get(_s[-1], ()) + ((_i, _s, len(_s) + 2),)


def stem_prefix(word: str) -> str:
    """Strip at most one prefix (Lucene ``ArabicStemmer.stemPrefix``): the
    first of :data:`_PREFIXES`, in order, that matches."""
    candidates = _PREFIXES_BY_FIRST.get(word[:1])
    if candidates:
        n = len(word)
        for prefix, least in candidates:
            if n >= least and word.startswith(prefix):
                return word[len(prefix):]
    return word


def stem_suffix(word: str) -> str:
    """Strip suffixes, one pass in list order (Lucene ``stemSuffix``).

    Only the suffixes ending in the word's last letter can match, so each
    step looks at those, from the list position the previous one reached."""
    start = 0
    while True:
        candidates = _SUFFIXES_BY_LAST.get(word[-1:])
        if not candidates:
            return word
        for i, suffix, least in candidates:
            if i >= start and len(word) >= least and word.endswith(suffix):
                word = word[: len(word) - len(suffix)]
                start = i + 1
                break
        else:
            return word


_CACHE_LIMIT = 500_000


class _StemCache(dict):
    def __missing__(self, word: str) -> str:
        result = stem_suffix(stem_prefix(word))
        if len(self) < _CACHE_LIMIT:
            self[word] = result
        return result


_stem_cache = _StemCache()


def stem(word: str) -> str:
    """Light Arabic stem of one normalised, lower-cased word."""
    return _stem_cache[word]


# Latin letters with diacritics fold to their base letters (é → e, ḥ → h),
# so that transliterated names match however they are typed.
_LATIN_FOLD_RANGES = ((0x00C0, 0x024F), (0x1E00, 0x1EFF))

_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")
_ASTRAL_SEARCH = _ASTRAL_RE.search

# Letters and digits (Unicode L* and N*: exactly str.isalnum()), which is
# JavaScript's /[\p{L}\p{N}]+/u.
_WORD_RE = re.compile(r"[^\W_]+")


# Combining marks lie only in planes 0, 1 and 14: planes 2 and 3 are CJK
# ideographs, 4 to 13 unassigned, 15 and 16 private use. Scanning three planes
# instead of seventeen makes the tables (built in every process) six times faster.
_PLANES_WITH_MARKS = (0, 1, 14)


def _build_fold_table() -> dict[int, str | None]:
    """:data:`_NORMALIZE_TABLE`, plus Latin folding, plus removal of every
    remaining combining mark (categories Mn, Mc, Me)."""
    table: dict[int, str | None] = {}
    category = unicodedata.category
    for cp in chain.from_iterable(range(plane << 16, (plane + 1) << 16) for plane in _PLANES_WITH_MARKS):
        if category(chr(cp))[0] == "M":
            table[cp] = None
    for lo, hi in _LATIN_FOLD_RANGES:
        for cp in range(lo, hi + 1):
            decomposed = unicodedata.normalize("NFD", chr(cp))
            folded = "".join(ch for ch in decomposed if unicodedata.category(ch)[0] != "M")
            if folded != chr(cp):
                table[cp] = folded
    table.update(_NORMALIZE_TABLE)
    return table


def _char_class(code_points: Iterable[int]) -> str:
    """A regular-expression character class of the given code points."""
    points = sorted(set(code_points))
    parts = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        lo, hi = points[i], points[j]
        parts.append(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}")
        i = j + 1
    return "[" + "".join(parts) + "]"


class _Analyser:
    """The tables of the fast tokenizer, built once per process (~0.1 s).

    ``prepare(text)`` is, by construction, the same as
    ``translate(lower(NFKC(text)), fold table)``; it is computed as: NFKC and
    lower case on the whole text, then removal of every character the fold
    table deletes (one regular-expression pass), then words, and only then
    the remaining mapping, per distinct word, through a cache.  That is valid
    because every character the table maps to a non-empty string is a word
    character mapped to word characters (checked here): the mapping never
    joins or splits words, so it can be applied word by word.
    """

    def __init__(self) -> None:
        table = _build_fold_table()
        self.table = table
        removed = [cp for cp, value in table.items() if not value]
        for cp, value in table.items():
            if value and not (_WORD_RE.fullmatch(chr(cp)) and _WORD_RE.fullmatch(value)):
                raise AssertionError(f"fold table maps U+{cp:04X} across word boundaries")
        # Two classes: one of BMP characters only compiles to a fast lookup
        # table; the astral one is a slow list of ranges, run only when needed.
        self.remove_bmp = re.compile(_char_class(cp for cp in removed if cp <= 0xFFFF)).sub
        self.remove_astral = re.compile(_char_class(cp for cp in removed if cp > 0xFFFF)).sub
        mapped = "".join(chr(cp) for cp, value in table.items() if value)
        self.mapped = re.compile(_char_class(map(ord, mapped))).search
        self.words = _WORD_RE.findall
        # word as found in the lower-cased text → stemmed token ("" when dropped)
        self.tokens = _TokenCache(self)
        # raw text between white space → its tokens
        self.chunks = _ChunkCache(self)

    def text_tokens(self, text: str) -> Iterator[str]:
        """The tokens of ``text``: the same as :func:`tokenize`, faster.

        White space separates words before and after NFKC, case mapping (the
        final sigma rule does not look across it) and removal, so the text can
        be split at white space first, and each distinct piece analysed once.
        """
        return chain.from_iterable(map(self.chunks.__getitem__, text.split()))

    def raw_words(self, text: str) -> list[str]:
        """Words of the NFKC, lower-cased text without removed characters
        (before the per-word mapping)."""
        text = self.remove_bmp("", unicodedata.normalize("NFKC", text).lower())
        if _ASTRAL_SEARCH(text):
            text = self.remove_astral("", text)
        return self.words(text)


# One word of basic Arabic letters (no tatweel) or ASCII letters and digits:
# NFKC leaves it unchanged, lower() maps it within ASCII, nothing is removed.
_SIMPLE_WORD = re.compile("[\u0621-\u063f\u0641-\u064aa-zA-Z0-9]+").fullmatch


class _ChunkCache(dict):
    def __init__(self, analyser: _Analyser) -> None:
        super().__init__()
        self.raw_words = analyser.raw_words
        self.token = analyser.tokens.__getitem__

    def __missing__(self, chunk: str) -> tuple[str, ...]:
        if _SIMPLE_WORD(chunk):  # NFKC, removal and words would change nothing
            token = self.token(chunk.lower())
            tokens: tuple[str, ...] = (token,) if token else ()
        else:
            tokens = tuple([t for t in map(self.token, self.raw_words(chunk)) if t])
        if len(self) < _CACHE_LIMIT:
            self[chunk] = tokens
        return tokens


class _TokenCache(dict):
    def __init__(self, analyser: _Analyser) -> None:
        super().__init__()
        self.table = analyser.table
        self.mapped = analyser.mapped

    def __missing__(self, word: str) -> str:
        folded = word.translate(self.table) if self.mapped(word) else word
        token = "" if len(folded) > MAX_TOKEN_LENGTH else stem_suffix(stem_prefix(folded))
        if len(self) < _CACHE_LIMIT:
            self[word] = token
        return token


_analyser_instance: _Analyser | None = None


def _analyser() -> _Analyser:
    global _analyser_instance
    if _analyser_instance is None:
        _analyser_instance = _Analyser()
    return _analyser_instance


def _prepare(text: str) -> str:
    """NFKC, lower case, Arabic normalisation, Latin folding, no marks."""
    return unicodedata.normalize("NFKC", text).lower().translate(_analyser().table)


def _words(text: str) -> list[str]:
    """Normalised words before stemming."""
    words = _WORD_RE.findall(_prepare(text))
    if any(len(w) > MAX_TOKEN_LENGTH for w in words):
        words = [w for w in words if len(w) <= MAX_TOKEN_LENGTH]
    return words


def tokenize(text: str) -> list[str]:
    """Normalised and stemmed tokens, Arabic and Latin, in text order."""
    return list(_analyser().text_tokens(text))


def analyse_document(doc: SearchDocument) -> IndexedDocument:
    """All the text work for one document (runs in worker processes)."""
    _check_url(doc.url_ar, "url_ar")
    if doc.url_en is not None:
        _check_url(doc.url_en, "url_en")
    tokens = _analyser().text_tokens
    counts = Counter(tokens(doc.text_ar or ""))
    if doc.text_en:
        counts.update(tokens(doc.text_en))
    title = set(tokens(doc.title_ar or ""))
    if doc.title_en:
        title.update(tokens(doc.title_en))
    for token in title:
        counts[token] += 2  # a title word counts as a frequent one
    if counts and max(counts.values()) > MAX_WEIGHT:
        for token in [t for t, n in counts.items() if n > MAX_WEIGHT]:
            counts[token] = MAX_WEIGHT
    terms = tuple(sorted(counts.items()))
    return IndexedDocument(
        url_ar=_clean(doc.url_ar), title_ar=_clean(doc.title_ar or ""), date=_clean(doc.date),
        url_en=_clean(doc.url_en), title_en=_clean(doc.title_en),
        snippet=_clean(_snippet(doc.text_ar or doc.text_en or "")), terms=terms)


# ---------------------------------------------------------------------------
# Encoding.

# Variable-length numbers in characters that need no escaping inside a JSON
# string and are harmless in HTML: a number is zero or more "continuation"
# digits (base 25, most significant first) followed by one "terminal" digit
# (base 64).  Values below 64 take one character, below 1600 two.
_TERMINAL = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$"
_CONTINUATION = "!#%'()*+,-./:;=?@[]^`{|}~"
assert len(_TERMINAL) == 64 and len(_CONTINUATION) == 25
assert not set(_TERMINAL + _CONTINUATION) & set('"\\<>&')


def _encode_number(n: int) -> str:
    if n < 0:
        raise ValueError(n)
    last = _TERMINAL[n % 64]
    n //= 64
    head = []
    while n:
        head.append(_CONTINUATION[n % 25])
        n //= 25
    return "".join(reversed(head)) + last


@functools.cache
def _encoded_table() -> list[str]:
    """The encodings of every number of up to 3 characters, made on first use (not at import:
    a build that changes no search bucket never needs it)."""
    return [_encode_number(n) for n in range(64 * 25 * 25)]


def _encode_postings(packed: Iterable[int]) -> str:
    """Postings as ``doc_id * MAX_WEIGHT + (weight - 1)``, ids ascending →
    packed string of ``(id delta - 1) * MAX_WEIGHT + (weight - 1)`` numbers."""
    out = []
    nxt = 0  # (previous id + 1) * MAX_WEIGHT
    table = _encoded_table()
    limit = len(table)
    for value in packed:
        n = value - nxt
        nxt = value - value % MAX_WEIGHT + MAX_WEIGHT
        out.append(table[n] if n < limit else _encode_number(n))
    return "".join(out)


def _decode_numbers(s: str) -> list[int]:
    """The numbers of a packed string (inverse of joined :func:`_encode_number`)."""
    result = []
    acc = 0
    for ch in s:
        i = _CONTINUATION.find(ch)
        if i >= 0:
            acc = acc * 25 + i
            continue
        result.append(acc * 64 + _TERMINAL.index(ch))
        acc = 0
    return result


def _decode_postings(s: str) -> list[tuple[int, int]]:
    """Inverse of :func:`_encode_postings` (used by tests)."""
    result = []
    prev = -1
    for value in _decode_numbers(s):
        prev = prev + 1 + value // MAX_WEIGHT
        result.append((prev, value % MAX_WEIGHT + 1))
    return result


_JS_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JS_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def js_json(value: object) -> str:
    """JSON that is safe inside an HTML ``<script>`` and a valid JS expression."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True, allow_nan=False)
    return _JS_ESCAPE_RE.sub(lambda m: _JS_ESCAPES[m.group(0)], text)


def _clean(text: str | None) -> str | None:
    """Replace lone surrogates, which cannot be written as UTF-8."""
    if text is None:
        return None
    return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(text) else text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def _check_url(url: str, field: str) -> str:
    if (not url or _SCHEME_RE.match(url) or url.startswith(("/", "\\"))
            or "\\" in url or any(ord(c) < 0x20 for c in url)):
        raise ValueError(f"SearchDocument.{field} must be a relative path "
                         f"inside the site, got {url!r}")
    return url


def _snippet(text: str, limit: int = SNIPPET_LENGTH) -> str:
    # Only the start of the text matters: whitespace-collapsing a prefix gives
    # a prefix of the collapsed text, enough when it is longer than limit + 1.
    head = " ".join(text[: 4 * limit].split())
    if len(head) < limit + 2:
        head = " ".join(text.split())
    if len(head) <= limit:
        return balance_bidi(head)
    cut = head.rfind(" ", 0, limit + 1)
    if cut < limit // 2:
        cut = limit
    # Balanced: a result line must not be reversed by an override the cut left open.
    return balance_bidi(head[:cut].rstrip(" ،,.;؛:")) + "…"


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
