"""Splitting a paragraph into chunks that fit a provider's request limit."""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

# Per-provider chunk limits: (size, unit). Google carries the text in the URL,
# where each Arabic letter becomes 6 bytes of %-escapes, hence the low figure.
# MyMemory allows 500 bytes of UTF-8 and deep-translator rejects len(text) >= 500,
# so stay a little under both.
_LIMITS: dict[str, tuple[int, str]] = {
    "google": (1500, "chars"),
    "mymemory": (480, "bytes"),
}
_DEFAULT_LIMIT = (4500, "chars")

# Split levels, tried in order: sentence ends (the punctuation, any closing
# quotes or brackets, and only when whitespace follows, so "3.5" stays whole),
# then Arabic semicolon/comma (and the Latin semicolon; not the Latin comma,
# which appears inside numbers), then any whitespace. A hard cut is the last resort.
# A sentence end is searched for only where a run of its punctuation begins (the lookbehind):
# tried from every dot of a run of dots not followed by a space, the search read the rest of
# the run each time, and 40,000 dots took 34 s to split.
_SPLIT_LEVELS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<![.!?؟…])[.!?؟…]+[\"'»”’)\]]*(?=\s)"),
    re.compile(r"[؛،;]"),
    re.compile(r"\s+"),
)


# --------------------------------------------------------------------------- splitting


def _limit_for(provider: str) -> tuple[int, str]:
    return _LIMITS.get(provider, _DEFAULT_LIMIT)


def _fits_function(provider: str) -> Callable[[str], bool]:
    size, unit = _limit_for(provider)
    if unit == "bytes":
        return lambda s: len(s.encode("utf-8")) <= size
    return lambda s: len(s) <= size


def split_for_provider(text: str, provider: str) -> list[str]:
    """Cut ``text`` into stripped chunks that each fit ``provider``'s request limit.

    Cuts at sentence ends first, then at ؛ and ،, then at whitespace, and only as a
    last resort in the middle of a word. Consecutive pieces are packed together
    while they fit, keeping the text between them as it was. Only whitespace at a
    cut is dropped: joined with spaces, the chunks hold every other character of
    ``text`` in order. Blank text gives no chunks.
    """
    return _pack(text, _fits_function(provider), _SPLIT_LEVELS)


def _pack(text: str, fits: Callable[[str], bool], levels: tuple[re.Pattern[str], ...]) -> list[str]:
    """Split ``text`` at the first level's boundaries and pack the pieces greedily."""
    text = text.strip()
    if not text:
        return []
    if fits(text):
        return [text]
    if not levels:
        return _hard_cut(text, fits)
    pattern, finer = levels[0], levels[1:]
    cuts = [m.end() for m in pattern.finditer(text) if 0 < m.end() < len(text)]
    if not cuts:
        return _pack(text, fits, finer)
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    chunks: list[str] = []
    current = ""  # raw text, so that the original spacing inside a chunk survives
    for piece in pieces:
        if fits((current + piece).strip()):
            current += piece
            continue
        if current.strip():
            chunks.append(current.strip())
        if fits(piece.strip()):
            current = piece
        else:
            chunks.extend(_pack(piece, fits, finer))
            current = ""
    if current.strip():
        chunks.append(current.strip())
    return chunks


def _hard_cut(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Cut a text with no usable boundary into the longest prefixes that fit."""
    chunks: list[str] = []
    start, end = 0, len(text)
    while start < end:
        # The longest fitting prefix of what is left: bounded by doubling first, then a binary
        # search within the bound, so each cut reads about its own length, not all the rest.
        lo = 1
        while start + lo < end and fits(text[start : start + 2 * lo]):
            lo *= 2
        hi = min(end - start, 2 * lo - 1)
        lo = min(lo, hi)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(text[start : start + mid]):
                lo = mid
            else:
                hi = mid - 1
        cut = start + lo
        # Do not separate a letter from its diacritics (harakat) when avoidable.
        while start + 1 < cut < end and unicodedata.combining(text[cut]):
            cut -= 1
        chunks.append(text[start:cut])
        start = cut
    return chunks
