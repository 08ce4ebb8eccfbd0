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

Index layout (all paths relative to the site root):

``search-index.js``
    Always loaded; small.  ``window.__searchIndex = {...}`` with the number of
    documents, the chunk size of the document table, and the first term of
    every term shard (terms are sorted in UTF-16 code-unit order, which is
    JavaScript's string order, so a binary search finds a term's shard).
``search/tNNN.js``
    Term shards of about :data:`TERM_SHARD_TARGET` bytes (consecutive ranges
    of the sorted terms, so a query loads one shard per word, and a few for
    the prefix of the word being typed):
    ``window.__searchShard("tNNN", {"term": "postings", ...})``.
    Postings are delta-encoded document ids, each with a 2-bit weight
    (term frequency, +2 when the term is in a title, capped at 4), packed as
    ASCII variable-length numbers (see :func:`_encode_number`).
``search/dNNN.js``
    The document table in chunks of :data:`DOC_CHUNK` documents, loaded only
    for the results shown: ``window.__searchShard("dNNN", [[url_ar,
    title_ar, date, url_en, title_en, snippet], ...])``.

Search (in search.js): every query word must match (AND); the last word,
while it is being typed, also matches terms that start with it.  Score: sum
over the words of the matched weight (exact matches count double), then
newest first.

Document ids follow date order, newest first (undated last), so "newest
first" among equal scores is simply ascending id and no date table is needed.

Every file is deterministic (no timestamps, stable sorting) and UTF-8 with a
BOM, so that browsers decode it as UTF-8 whatever the page says.  JSON is
embedded with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, so untrusted
titles and snippets can neither close the ``<script>`` nor break the parse.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = [
    "SearchDocument",
    "normalize_arabic",
    "tokenize",
    "stem",
    "build_search_index",
    "MAX_TOKEN_LENGTH",
    "DOC_CHUNK",
    "TERM_SHARD_TARGET",
    "SNIPPET_LENGTH",
]

INDEX_VERSION = 1
MAX_TOKEN_LENGTH = 40
DOC_CHUNK = 16
TERM_SHARD_TARGET = 24 * 1024
SNIPPET_LENGTH = 120
MAX_WEIGHT = 4

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


def stem_prefix(word: str) -> str:
    """Strip at most one prefix (Lucene ``ArabicStemmer.stemPrefix``)."""
    n = len(word)
    for prefix in _PREFIXES:
        if len(prefix) == 1 and n < 4:
            continue
        if n < len(prefix) + 2:
            continue
        if word.startswith(prefix):
            return word[len(prefix):]
    return word


def stem_suffix(word: str) -> str:
    """Strip suffixes, one pass in list order (Lucene ``stemSuffix``)."""
    for suffix in _SUFFIXES:
        if len(word) >= len(suffix) + 2 and word.endswith(suffix):
            word = word[: len(word) - len(suffix)]
    return word


class _StemCache(dict):
    def __missing__(self, word: str) -> str:
        result = stem_suffix(stem_prefix(word))
        if len(self) < 500_000:
            self[word] = result
        return result


_stem_cache = _StemCache()


def stem(word: str) -> str:
    """Light Arabic stem of one normalised, lower-cased word."""
    return _stem_cache[word]


# Latin letters with diacritics fold to their base letters (é → e, ḥ → h),
# so that transliterated names match however they are typed.
_LATIN_FOLD_RANGES = ((0x00C0, 0x024F), (0x1E00, 0x1EFF))

_fold_table: dict[int, str | None] | None = None


def _build_fold_table() -> dict[int, str | None]:
    """:data:`_NORMALIZE_TABLE`, plus Latin folding, plus removal of every
    remaining combining mark (categories Mn, Mc, Me)."""
    table: dict[int, str | None] = {}
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] == "M":
            table[cp] = None
    for lo, hi in _LATIN_FOLD_RANGES:
        for cp in range(lo, hi + 1):
            decomposed = unicodedata.normalize("NFD", chr(cp))
            folded = "".join(ch for ch in decomposed if unicodedata.category(ch)[0] != "M")
            if folded != chr(cp):
                table[cp] = folded
    table.update(_NORMALIZE_TABLE)
    return table


# Letters and digits (Unicode L* and N*: exactly str.isalnum()), which is
# JavaScript's /[\p{L}\p{N}]+/u.
_WORD_RE = re.compile(r"[^\W_]+")


def _prepare(text: str) -> str:
    """NFKC, lower case, Arabic normalisation, Latin folding, no marks."""
    global _fold_table
    if _fold_table is None:
        _fold_table = _build_fold_table()
    return unicodedata.normalize("NFKC", text).lower().translate(_fold_table)


def _words(text: str) -> list[str]:
    """Normalised words before stemming."""
    words = _WORD_RE.findall(_prepare(text))
    if any(len(w) > MAX_TOKEN_LENGTH for w in words):
        words = [w for w in words if len(w) <= MAX_TOKEN_LENGTH]
    return words


def tokenize(text: str) -> list[str]:
    """Normalised and stemmed tokens, Arabic and Latin, in text order."""
    return list(map(_stem_cache.__getitem__, _words(text)))


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


_ENCODED = [_encode_number(n) for n in range(64 * 25 * 25)]  # up to 3 characters


def _encode_postings(packed: Iterable[int]) -> str:
    """Postings as ``doc_id * MAX_WEIGHT + (weight - 1)``, ids ascending →
    packed string of ``(id delta - 1) * MAX_WEIGHT + (weight - 1)`` numbers."""
    out = []
    nxt = 0  # (previous id + 1) * MAX_WEIGHT
    table = _ENCODED
    limit = len(table)
    for value in packed:
        n = value - nxt
        nxt = value - value % MAX_WEIGHT + MAX_WEIGHT
        out.append(table[n] if n < limit else _encode_number(n))
    return "".join(out)


def _decode_postings(s: str) -> list[tuple[int, int]]:
    """Inverse of :func:`_encode_postings` (used by tests)."""
    result = []
    prev = -1
    acc = 0
    for ch in s:
        i = _CONTINUATION.find(ch)
        if i >= 0:
            acc = acc * 25 + i
            continue
        value = acc * 64 + _TERMINAL.index(ch)
        acc = 0
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
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit + 1)
    if cut < limit // 2:
        cut = limit
    return text[:cut].rstrip(" ،,.;؛:") + "…"


def _utf16_key(s: str) -> bytes:
    """Sort key giving JavaScript's string order (UTF-16 code units)."""
    return s.encode("utf-16-be", "surrogatepass")


def _script(body: str) -> bytes:
    return ("\ufeff" + body + "\n").encode("utf-8")


def _shard_name(kind: str, i: int, width: int) -> str:
    return f"{kind}{i:0{width}d}"


# ---------------------------------------------------------------------------
# Index.

def _ordered(documents: Sequence[SearchDocument]) -> list[SearchDocument]:
    """Newest first, undated last; ties broken by every field, so the order
    does not depend on the order of the input."""
    docs = sorted(documents, key=lambda d: (d.url_ar, d.title_ar, d.text_ar,
                                            d.url_en or "", d.title_en or "",
                                            d.text_en or ""))
    return sorted(docs, key=lambda d: d.date or "", reverse=True)


def build_search_index(documents: Sequence[SearchDocument]) -> dict[str, bytes]:
    """Build the search index files.

    Returns ``{path relative to the site root (POSIX): file content}``:
    ``search-index.js`` plus the ``search/t*.js`` term shards and the
    ``search/d*.js`` document-table chunks.  The output depends only on the
    documents (not on their order) and is byte-for-byte reproducible.
    """
    docs = _ordered(documents)

    # term -> [doc_id * MAX_WEIGHT + weight - 1, ...], ids ascending
    postings: dict[str, list[int]] = defaultdict(list)
    table = []
    for doc_id, d in enumerate(docs):
        _check_url(d.url_ar, "url_ar")
        if d.url_en is not None:
            _check_url(d.url_en, "url_en")
        counts = Counter(tokenize(d.text_ar or ""))
        if d.text_en:
            counts.update(tokenize(d.text_en))
        title_terms = set(tokenize(d.title_ar or ""))
        if d.title_en:
            title_terms.update(tokenize(d.title_en))
        for tok in title_terms:
            counts[tok] += 2  # a title word counts as a frequent one
        base = doc_id * MAX_WEIGHT - 1
        for tok, count in counts.items():
            postings[tok].append(base + (count if count < MAX_WEIGHT else MAX_WEIGHT))
        snippet = _snippet(d.text_ar or d.text_en or "")
        table.append([_clean(d.url_ar), _clean(d.title_ar), _clean(d.date),
                      _clean(d.url_en), _clean(d.title_en), _clean(snippet)])

    files: dict[str, bytes] = {}

    # Term shards: terms in JS order, cut into pieces of about the target size.
    terms = sorted(postings, key=_utf16_key)
    entries = []
    for term in terms:
        entries.append((term, _encode_postings(postings[term])))
    groups: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    size = 0
    for term, enc in entries:
        entry_size = len(term.encode("utf-8")) + len(enc) + 6
        if current and size + entry_size > TERM_SHARD_TARGET:
            groups.append(current)
            current, size = [], 0
        current.append((term, enc))
        size += entry_size
    if current:
        groups.append(current)

    doc_groups = [table[i:i + DOC_CHUNK] for i in range(0, len(table), DOC_CHUNK)]
    width = max(3, len(str(max(len(groups), len(doc_groups), 1) - 1)))

    bounds = []
    for i, group in enumerate(groups):
        bounds.append(group[0][0] if i else "")
        name = _shard_name("t", i, width)
        # Keys are written in JS order (not Python's sort_keys order).
        body = "{" + ",".join(js_json(t) + ":" + js_json(e) for t, e in group) + "}"
        files[f"{SHARD_DIR}/{name}.js"] = _script(
            f"window.__searchShard({js_json(name)},{body});")

    for i, group in enumerate(doc_groups):
        name = _shard_name("d", i, width)
        files[f"{SHARD_DIR}/{name}.js"] = _script(
            f"window.__searchShard({js_json(name)},{js_json(group)});")

    meta = {
        "version": INDEX_VERSION,
        "docs": len(docs),
        "docChunk": DOC_CHUNK,
        "docShards": len(doc_groups),
        "termShards": bounds,
        "dir": SHARD_DIR + "/",
        "width": width,
        "weights": MAX_WEIGHT,
    }
    files[INDEX_FILE] = _script(
        "/* Search index, generated by sitegen. */\n"
        "(function(d){var s=d&&d.currentScript;"
        f"window.__searchIndex={js_json(meta)};"
        "window.__searchIndex.base=s&&s.src?s.src:null;"
        "})(typeof document!==\"undefined\"?document:null);")
    return dict(sorted(files.items()))
