"""Titles, excerpts, dates and slugs: what a segment is called and where it goes.

Pure functions over text; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from ..core.textrules import is_invisible

TITLE_LIMIT = 90
EXCERPT_LIMIT = 200
ELLIPSIS = "…"
# A file name may be at most 255 bytes on common file systems; ".html" takes five.
MAX_SLUG_BYTES = 255 - len(".html")

_SENTENCE_END = re.compile(r"[.!?؟…](?=\s|$|[»\"”’')\]])[»\"”’')\]]*")
_QUOTE_PAIRS = {"«": "»", "“": "”", "‘": "’", "(": ")", "[": "]"}
_SYMMETRIC_QUOTES = ('"',)
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[-_ .]|\Z)")

ARABIC_MONTHS = (
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
    "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
)
ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
_ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def first_sentence(text: str) -> str:
    for match in _SENTENCE_END.finditer(text):
        start = match.start()
        if text[start] == "." and 0 < _word_length_before(text, start) <= 2:
            continue  # an abbreviation or an initial (د. محمد, أ. ب.), not the end of a sentence
        return text[: match.end()].strip()
    return text.strip()


def _word_length_before(text: str, end: int) -> int:
    """Length of the word ending at ``end``, counted up to 3 (all the caller needs): looking at
    a few characters keeps a first line of a million "ab. " linear (slicing text[:end] was not)."""
    length = 0
    while length < 3 and end - length > 0 and not text[end - length - 1].isspace():
        length += 1
    return length


def cut_at_word(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary, with an ellipsis when cut."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cut = text[: room + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > room // 3 else text[:room]
    cut = cut.rstrip(" ،,؛;:-–—")
    return _balance(cut) + ELLIPSIS


def _balance(text: str) -> str:
    """Drop an opening quote or bracket left unclosed by a cut, and what follows it."""
    while True:
        open_at = _unclosed_position(text)
        if open_at is None:
            return text
        shorter = text[:open_at].rstrip(" ،,؛;:-–—")
        if shorter:
            text = shorter
        else:  # the quote opens the text: keep the words, lose the lone mark
            text = text[:open_at] + text[open_at + 1 :]
            text = text.strip()


def _unclosed_position(text: str) -> int | None:
    stack: list[tuple[str, int]] = []
    symmetric_open: dict[str, int] = {}
    # Only the quotes and brackets matter: visit them, not every character (excerpts of
    # every segment pass here).
    for match in _QUOTE_MARKS.finditer(text):
        index, char = match.start(), match.group()
        if char in _QUOTE_PAIRS:
            stack.append((char, index))
        elif stack and char == _QUOTE_PAIRS[stack[-1][0]]:
            stack.pop()
        elif char in _SYMMETRIC_QUOTES:
            if char in symmetric_open:
                del symmetric_open[char]
            else:
                symmetric_open[char] = index
    positions = [i for _, i in stack] + list(symmetric_open.values())
    return min(positions) if positions else None


_QUOTE_MARKS = re.compile("[" + re.escape("".join(sorted(set(_QUOTE_PAIRS) | set(_QUOTE_PAIRS.values()) | set(_SYMMETRIC_QUOTES)))) + "]")


def derive_title(text: str) -> str:
    """A title from the segment's first sentence, when front matter gives none."""
    return cut_at_word(first_sentence(text), TITLE_LIMIT)


def make_excerpt(text: str) -> str:
    return cut_at_word(text, EXCERPT_LIMIT)


def date_from_file_name(name: str) -> date | None:
    match = _DATE_PREFIX.match(name)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def format_date(day: date, language: str) -> str:
    """A date as readers of the language write it: Arabic month names and Arabic-Indic digits for ar."""
    if language == "ar":
        return f"{day.day} {ARABIC_MONTHS[day.month - 1]} {day.year}".translate(_ARABIC_INDIC_DIGITS)
    return f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year}"


def default_slug(source_rel: str, number: int) -> str:
    """The file name's stem plus the segment number: homs-baba-amr.txt, segment 2 -> homs-baba-amr-2."""
    stem = source_rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    folder = source_rel.rsplit("/", 1)[0] if "/" in source_rel else ""
    # Files of the same name in different folders must not collide.
    prefix = folder.replace("/", "-") + "-" if folder else ""
    return unicodedata.normalize("NFC", f"{prefix}{stem}-{number}")


def slug_problem(slug: str) -> str | None:
    """Why a slug cannot be an output file name, or None when it can."""
    if not slug or not slug.strip():
        return "slug is empty: give a name such as 'homs-2012-02'"
    if "/" in slug or "\\" in slug:
        return f"slug {slug!r} contains a path separator: use '-' instead of '/' or '\\'"
    if ".." in slug:
        return f"slug {slug!r} contains '..': remove it"
    if slug.startswith("."):
        return f"slug {slug!r} starts with '.', which hides the file: remove the dot"
    if any(is_invisible(c) for c in slug):
        return f"slug {slug!r} contains control or invisible characters: use letters, digits and '-'"
    if _mixes_confusable_scripts(slug):
        return f"slug {slug!r} mixes Latin letters with Cyrillic or Greek ones that look alike: write it in one script"
    if slug != slug.strip():
        return f"slug {slug!r} starts or ends with a space: remove it"
    if any(c in slug for c in '<>:"|?*#%'):
        return f"slug {slug!r} contains one of < > : \" | ? * # %, which break links or file names: remove it"
    size = len(slug.encode("utf-8"))
    if size > MAX_SLUG_BYTES:
        return (
            f"slug is {size} bytes long in UTF-8 but a file name may hold {MAX_SLUG_BYTES}: "
            "shorten it (Arabic letters take two bytes each)"
        )
    return None


def _mixes_confusable_scripts(slug: str) -> bool:
    """Latin with Cyrillic or Greek letters in one slug: 'homs' with a Cyrillic 'о' is
    another file that looks the same. Arabic beside Latin is ordinary and stays allowed."""
    scripts = set()
    for char in slug:
        if char.isalpha():
            scripts.add(unicodedata.name(char, "").split(" ", 1)[0])
    return "LATIN" in scripts and bool(scripts & {"CYRILLIC", "GREEK"})


def slug_collision_key(slug: str) -> str:
    """Two slugs that would name the same file on a case-insensitive or normalising file system."""
    return unicodedata.normalize("NFC", slug).casefold()
