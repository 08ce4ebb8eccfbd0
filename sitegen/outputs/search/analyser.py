r"""Offline search, part one: turning documents into weighted terms.

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
   token.
6. English plurals, as Lucene's ``EnglishMinimalStemmer``, on tokens of the
   letters ``a``-``z`` alone (:func:`stem_english`): a token of at least 3
   letters ending in ``s``, but not ``ss`` or ``us``, loses it
   (``archives`` → ``archive``), ``ies`` becomes ``y`` unless after ``a`` or
   ``e`` (``cities`` → ``city``), and ``ies``, ``aes``, ``oes``, ``ees`` stay.
   No Arabic token ends in ``s``, so the two stemmers never meet.

:func:`analyse_document` does all the text work for one document and returns
a small, picklable :class:`IndexedDocument` (its weighted terms and what a
result shows), so it can run in worker processes and be cached.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from typing import Iterable, Iterator, Mapping

from ...core.remembered import remembered
from ...core.textrules import balance_bidi, collapsed_start, writable_as_utf8
from .postings import MAX_WEIGHT

__all__ = [
    "SearchDocument",
    "IndexedDocument",
    "pack_terms",
    "normalize_arabic",
    "tokenize",
    "stem",
    "stem_prefix",
    "stem_suffix",
    "stem_english",
    "analyse_document",
    "MAX_TOKEN_LENGTH",
    "SNIPPET_LENGTH",
]

MAX_TOKEN_LENGTH = 40
SNIPPET_LENGTH = 120


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
    """What the index needs of one document: small and picklable.

    Made by :func:`analyse_document`; its terms (:attr:`terms`) are each term once, in
    the order the texts first give it, then the titles' own (the same document, the same
    order), with its weight: the term frequency, +2 for a title term, capped at
    :data:`MAX_WEIGHT`.

    Kept as two values rather than a pair a term (:func:`pack_terms`): every document is
    pickled in the worker that analyses it, kept in the build cache, and unpickled for
    the inversion, and a pair a term was a tuple each way (a document of 320 terms: 33 µs
    to pickle and 62 to unpickle, against 3 and 7 now; 30 % fewer bytes in the cache).
    """

    url_ar: str
    title_ar: str
    date: str | None
    url_en: str | None
    title_en: str | None
    snippet: str
    words: str  # the terms, joined by TERM_SEPARATOR (no term holds it: a term is letters and digits)
    weights: bytes  # each term's weight, in the same order
    snippet_en: str | None = None  # the start of the English companion, for the English search page

    def term_words(self) -> list[str]:
        """The terms, in order, without their weights."""
        return self.words.split(TERM_SEPARATOR) if self.words else []

    def weighted_terms(self) -> Iterator[tuple[str, int]]:
        """Each (term, weight), in order, as they are read (paired in C, for one pass)."""
        return zip(self.term_words(), self.weights)

    @property
    def terms(self) -> tuple[tuple[str, int], ...]:
        """Each (term, weight), in order."""
        return tuple(self.weighted_terms())


TERM_SEPARATOR = "\n"


def pack_terms(terms: Mapping[str, int] | Iterable[tuple[str, int]]) -> tuple[str, bytes]:
    """(words, weights) of an :class:`IndexedDocument` holding ``terms``: each term's weight,
    or (term, weight) pairs. Joined and listed in C."""
    weights = terms if isinstance(terms, Mapping) else dict(terms)
    return TERM_SEPARATOR.join(weights), bytes(weights.values())


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


_ENGLISH_WORD = re.compile("[a-z]+").fullmatch


def stem_english(word: str) -> str:
    """Lucene's ``EnglishMinimalStemmer`` (plural -s) on a word of a to z only; see the module doc."""
    n = len(word)
    if n < 3 or word[-1] != "s" or not _ENGLISH_WORD(word):
        return word
    before = word[-2]
    if before in "us":
        return word
    if before == "e":
        if n > 3 and word[-3] == "i" and word[-4] not in "ae":
            return word[:-3] + "y"
        if word[-3] in "iaoe":
            return word
    return word[:-1]


_CACHE_LIMIT = 500_000


class _StemCache(dict):
    def __missing__(self, word: str) -> str:
        result = stem_english(stem_suffix(stem_prefix(word)))
        if len(self) < _CACHE_LIMIT:
            self[word] = result
        return result


_stem_cache = _StemCache()


def stem(word: str) -> str:
    """Light stem of one normalised, lower-cased word: Arabic affixes, English plurals."""
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
    for first, last in remembered("marks", f"{unicodedata.unidata_version} {_PLANES_WITH_MARKS}", _mark_runs, _are_runs):
        table.update(dict.fromkeys(range(first, last + 1)))
    for lo, hi in _LATIN_FOLD_RANGES:
        for cp in range(lo, hi + 1):
            decomposed = unicodedata.normalize("NFD", chr(cp))
            folded = "".join(ch for ch in decomposed if unicodedata.category(ch)[0] != "M")
            if folded != chr(cp):
                table[cp] = folded
    table.update(_NORMALIZE_TABLE)
    return table


def _mark_runs() -> list[list[int]]:
    """[first, last] of every run of combining marks (categories Mn, Mc, Me), by this Python's
    Unicode data: scanning the planes took every process 30 ms, so the runs are kept between
    processes (core/remembered.py), named by the Unicode version."""
    runs: list[list[int]] = []
    category = unicodedata.category
    for cp in chain.from_iterable(range(plane << 16, (plane + 1) << 16) for plane in _PLANES_WITH_MARKS):
        if category(chr(cp))[0] == "M":
            if runs and runs[-1][1] == cp - 1:
                runs[-1][1] = cp
            else:
                runs.append([cp, cp])
    return runs


def _are_runs(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(run, list) and len(run) == 2 and all(type(cp) is int for cp in run) and 0 <= run[0] <= run[1] <= 0x10FFFF for run in value)


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
        token = "" if len(folded) > MAX_TOKEN_LENGTH else stem_english(stem_suffix(stem_prefix(folded)))
        if len(self) < _CACHE_LIMIT:
            self[word] = token
        return token


@functools.cache
def _analyser() -> _Analyser:
    """The one analyser of this process, built on first use."""
    return _Analyser()


def forget_words() -> None:
    """Empty this process's memo of the words it has analysed (the pieces of text between white
    space, and each word's token), if it has analysed any; the analyser itself (its tables) stays.

    The memo follows the archive's vocabulary: a newsroom's 25,000 distinct words at 1,000
    segments (bench/shapes.py, ``words=rich``) hold 4 MB of the build's main process at its
    peak, in the outputs stage, where nothing analyses text any more. Emptied, that memory is
    what the later stages allocate into, and the workers they fork do not inherit it. Only a
    memo: what is analysed after this is analysed again, the same."""
    if _analyser.cache_info().currsize:
        analyser = _analyser()
        analyser.chunks.clear()
        analyser.tokens.clear()


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
    # Each title word once, in the titles' order (a set's order changes from process to
    # process: the same document would be packed otherwise, and stored with another digest).
    title = dict.fromkeys(tokens(doc.title_ar or ""))
    if doc.title_en:
        title.update(dict.fromkeys(tokens(doc.title_en)))
    for token in title:
        counts[token] += 2  # a title word counts as a frequent one
    if counts and max(counts.values()) > MAX_WEIGHT:
        for token in [t for t, n in counts.items() if n > MAX_WEIGHT]:
            counts[token] = MAX_WEIGHT
    # In the order the text first gives them, not sorted: nothing reads them in order (the
    # inversion and the index's patches take them as a map, the shards sort their own terms),
    # and sorting 200 to 400 terms was a quarter of the analysis.
    words, weights = pack_terms(counts)
    return IndexedDocument(
        url_ar=_clean(doc.url_ar), title_ar=_clean(doc.title_ar or ""), date=_clean(doc.date),
        url_en=_clean(doc.url_en), title_en=_clean(doc.title_en),
        snippet=_clean(_snippet(doc.text_ar or doc.text_en or "")),
        words=words, weights=weights,
        snippet_en=_clean(_snippet(doc.text_en)) if doc.text_en else None)


def _clean(text: str | None) -> str | None:
    """Replace lone surrogates, which cannot be written as UTF-8."""
    if text is None:
        return None
    return text.encode("utf-8", "replace").decode("utf-8") if not writable_as_utf8(text) else text



_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def _check_url(url: str, field: str) -> str:
    if (not url or _SCHEME_RE.match(url) or url.startswith(("/", "\\"))
            or "\\" in url or any(ord(c) < 0x20 for c in url)):
        raise ValueError(f"SearchDocument.{field} must be a relative path "
                         f"inside the site, got {url!r}")
    return url


def _snippet(text: str, limit: int = SNIPPET_LENGTH) -> str:
    head = collapsed_start(text, limit + 1)  # all the cut reads
    if len(head) <= limit:
        return balance_bidi(head)
    cut = head.rfind(" ", 0, limit + 1)
    if cut < limit // 2:
        cut = limit
    # Balanced: a result line must not be reversed by an override the cut left open.
    return balance_bidi(head[:cut].rstrip(" ،,.;؛:")) + "…"
