"""Characters that must not pass unseen: invisible ones in names, unbalanced bidi controls in
titles, and both in messages printed to a terminal.

Stated once: slugs are judged by :func:`is_invisible`, titles are made safe by
:func:`balance_bidi`, and every message goes through :func:`visible`; the marks a line may hold
and still be blank are :data:`INVISIBLE_MARKS`, and Arabic letters are counted by
:func:`arabic_letters`.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that show nothing, or a blank, yet make another name: a reader cannot type or
# tell apart a link holding them. Controls, format characters (bidi overrides, zero-width
# joiners), line separators, private use, unassigned and surrogate code points by category;
# and by code point the blanks that are letters, marks or symbols to Unicode.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"})
_INVISIBLE = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u2800"  # braille pattern blank
    "\u17b4\u17b5\u180e"  # Khmer inherent vowels, Mongolian vowel separator
)

# Invisible marks an RTL editor or a copy from the web leaves at the ends of lines (bidi marks,
# embeddings and isolates, zero-width spaces and joiners, a word joiner, a BOM), as the body of
# a regular expression's character class.
INVISIBLE_MARKS = "\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"

# The Unicode blocks of the Arabic script: Arabic, its supplement, extended-A, and the
# presentation forms A and B.
_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_ARABIC_BLOCKS = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _ARABIC_RANGES) + "]+")


def arabic_letters(text: str) -> int:
    """How many letters of ``text`` are Arabic (in the Arabic blocks and alphabetic: not
    Arabic digits, punctuation or marks). Counted in C: a reply of a few hundred characters
    checked letter by letter in Python cost a quarter of a request's time."""
    return sum(map(str.isalpha, "".join(_ARABIC_BLOCKS.findall(text))))


def collapse_spaces(text: str) -> str:
    """Each run of white space one space, the ends stripped: the one rule for white space that
    does not count (titles, excerpts, search snippets and Markdown's plain text shown in one
    line; a memory's keys; a term's key; replies compared; messages). White space is what
    ``str.isspace`` says, as for ``re``'s ``\\s``; splitting and joining is three times faster
    than ``re.sub(r"\\s+")``, and it runs for every title, excerpt and headline of every page.

    Most texts are collapsed already (a paragraph is one line; a memory's source is a
    paragraph): such a text is given back as it is, found so without making a word of it.
    ``str.isprintable`` is false for every white space character but the space (all are
    separators or controls), so a printable text with no two spaces together and none at
    either end is its own collapse (a subclass, such as markup, is made a text as before).
    255 characters of Arabic: 1.7 µs against 5.2 to split and join; each memory entry read
    is keyed through this (memory.entry_key)."""
    if type(text) is str and text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


def collapsed_start(text: str, longer_than: int) -> str:
    """A beginning of ``collapse_spaces(text)``: all of it, or a start longer than
    ``longer_than`` characters, for a reader of only that much (a title, an excerpt, a search
    snippet). Collapsing a whole paragraph for its first 90 characters cost 2 % of a cold build.
    A start is a beginning of the whole's, character for character (only its last word may be
    cut short, and nothing is read past it). Linear whatever the text: a start that is mostly
    white space is taken again four times as long."""
    end = 2 * longer_than + 64
    while end < len(text):
        start = collapse_spaces(text[:end])
        if len(start) > longer_than:
            return start
        end *= 4
    return collapse_spaces(text)


def is_invisible(char: str) -> bool:
    code = ord(char)
    category = unicodedata.category(char)
    return (
        category in _INVISIBLE_CATEGORIES
        or char in _INVISIBLE
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or (category == "Zs" and char != " ")  # no-break and other odd spaces
    )


def visible(text: str) -> str:
    """``text`` with every invisible character written as ``\\uXXXX``: a message names a file
    or a value exactly, and a bidi override in a file name cannot reorder the terminal's line."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(f"\\u{ord(c):04x}" if c != "\t" and is_invisible(c) else c for c in text)


# Explicit bidi formatting: embeddings and overrides end with PDF, isolates with PDI.
_OPENERS = {"\u202a": "\u202c", "\u202b": "\u202c", "\u202d": "\u202c", "\u202e": "\u202c", "\u2066": "\u2069", "\u2067": "\u2069", "\u2068": "\u2069"}
_BIDI_FORMATTING = re.compile("[\u202a-\u202e\u2066-\u2069]")


def balance_bidi(text: str) -> str:
    """``text`` without unpaired bidi embeddings, overrides and isolates (and their stray
    closers). An unterminated U+202E in a title would reverse whatever follows it on the line
    of an index, a feed reader or a search result; paired ones stay, as the author meant them."""
    if _BIDI_FORMATTING.search(text) is None:
        return text
    stack: list[tuple[str, int]] = []
    dropped: set[int] = set()
    for match in _BIDI_FORMATTING.finditer(text):
        char, index = match.group(), match.start()
        if char in _OPENERS:
            stack.append((char, index))
        elif stack and _OPENERS[stack[-1][0]] == char:
            stack.pop()
        else:
            dropped.add(index)  # a closer with nothing open (or closing the wrong kind)
    dropped.update(index for _, index in stack)
    return "".join(c for i, c in enumerate(text) if i not in dropped)


def writable_as_utf8(text: str) -> bool:
    """False for text holding lone surrogates (a file name os.walk could not decode, a
    stray half of a pair): it cannot be written into a page, a file name or a message."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
