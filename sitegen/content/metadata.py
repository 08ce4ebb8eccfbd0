"""Titles, excerpts, dates and slugs: what a segment is called and where it goes.

Pure functions over text; no I/O.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date
from typing import Any

from ..core.languages import base_language, locale_identifier
from ..core.remembered import package_stamp, remembered
from ..core.textrules import collapsed_start, is_invisible

TITLE_LIMIT = 90
EXCERPT_LIMIT = 200
ELLIPSIS = "…"
# A file name may be at most 255 bytes on common file systems; ".html" takes five.
MAX_SLUG_BYTES = 255 - len(".html")

_SENTENCE_END = re.compile(r"[.!?؟…](?=\s|$|[»\"”’')\]])[»\"”’')\]]*")
_QUOTE_PAIRS = {"«": "»", "“": "”", "‘": "’", "(": ")", "[": "]"}
_SYMMETRIC_QUOTES = ('"',)
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[-_ .]|\Z)")

# The digits of the numbering systems an Arabic-script site meets (CLDR's names). Babel gives
# month names and each locale's numbering system, but writes every number in Latin digits.
DIGITS = {"latn": "0123456789", "arab": "٠١٢٣٤٥٦٧٨٩", "arabext": "۰۱۲۳۴۵۶۷۸۹"}


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
    text = collapsed_start(text, limit + 2)  # all the cut reads
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


def format_date(day: date, language: str, numerals: str = "auto") -> str:
    """A date as readers of the locale write it, from CLDR: day, month name, year (CLDR's
    "d MMMM y"), with the locale's month names (ar-SY: شباط، تشرين الثاني) and digits.

    search.js writes dates the same way from the names and digits its page carries
    (``month_names`` and ``digits``): keep the two in step.
    """
    return localise_digits(f"{day.day} {month_names(language)[day.month - 1]} {day.year}", language, numerals)


@functools.lru_cache(maxsize=64)
def month_names(language: str) -> tuple[str, ...]:
    """January to December as the locale names them in a date (CLDR's wide format names)."""
    return tuple(_date_words(language)["months"])


@functools.lru_cache(maxsize=64)
def digits(language: str, numerals: str = "auto") -> str:
    """The ten digits a page in ``language`` writes: ``numerals`` (arab, latn), or with
    ``auto`` the locale's default numbering system (ar-SY: arab; ar and ar-MA: latn)."""
    system = _date_words(language)["numbering"] if numerals == "auto" else numerals
    return DIGITS.get(system, DIGITS["latn"])


@functools.lru_cache(maxsize=64)
def _date_words(language: str) -> dict[str, Any]:
    """What dates need of the locale's CLDR data, kept between processes (core/remembered.py):
    loading Babel's data for a locale cost every process 35-40 ms. Named by Babel's own
    files, so a new Babel makes them again."""
    return remembered("date-words", f"{language}\n{package_stamp('babel')}", lambda: _date_words_from_cldr(language), _are_date_words)


def _date_words_from_cldr(language: str) -> dict[str, Any]:
    from babel import (  # loaded at the first date written, never by a no-op build
        Locale,
        UnknownLocaleError,
    )

    # site.yml refuses a region CLDR does not know; a language it has no data for at all (arc, sam) reads English.
    for identifier in (locale_identifier(language), locale_identifier(base_language(language)), "en"):
        try:
            locale = Locale.parse(identifier)
        except (UnknownLocaleError, ValueError):
            continue
        months = locale.months["format"]["wide"]
        return {"months": [months[number] for number in range(1, 13)], "numbering": locale.default_numbering_system}
    raise AssertionError("Babel without English")


def _are_date_words(value: Any) -> bool:
    months = value.get("months") if isinstance(value, dict) else None
    return (isinstance(months, list) and len(months) == 12 and all(isinstance(m, str) and m for m in months)
            and isinstance(value.get("numbering"), str))


def hijri_date(day: date, language: str, numerals: str = "auto") -> str | None:
    """The Umm al-Qura Hijri date of a Gregorian day, in Arabic (٢ ربيع الثاني ١٤٣٣ هـ) or, for
    any other language, in English (2 Rabi' al-Thani 1433 AH); None outside the tables' years
    (1343-1500 AH, 1924-2077)."""
    from hijridate import Gregorian  # only for sites that show Hijri dates

    try:
        hijri = Gregorian(day.year, day.month, day.day).to_hijri()
    except (OverflowError, ValueError):
        return None
    names = "ar" if base_language(language) == "ar" else "en"
    text = f"{hijri.day} {hijri.month_name(names)} {hijri.year} {hijri.notation(names)}"
    return localise_digits(text, language, numerals) if names == "ar" else text


def hijri_names(language: str) -> dict[str, Any]:
    """What search.js needs to write Hijri dates exactly as :func:`hijri_date` does: the month
    names, the era's notation and the Umm al-Qura table itself, as the day its first month starts
    (days since 1970-01-01) and every month's length less 28, one digit each (about 1,900
    characters). Browsers' own Umm al-Qura calendar (ICU) is a day off on many dates."""
    from hijridate import Hijri
    from hijridate.ummalqura import HIJRI_RANGE

    names = "ar" if base_language(language) == "ar" else "en"
    (first_year, _, _), (last_year, _, _) = HIJRI_RANGE
    months = [(year, month) for year in range(first_year, last_year + 1) for month in range(1, 13)]
    lengths = "".join(str(Hijri(year, month, 1).month_length() - 28) for year, month in months)
    start = Hijri(first_year, 1, 1).to_gregorian().toordinal() - date(1970, 1, 1).toordinal()
    return {"months": [Hijri(1445, month, 1).month_name(names) for month in range(1, 13)],
            "notation": Hijri(1445, 1, 1).notation(names), "firstYear": first_year, "start": start, "lengths": lengths}


def localise_digits(text: str, language: str, numerals: str = "auto") -> str:
    """``text`` with its Latin digits written in the locale's (or ``numerals``') digits."""
    table = _digit_table(language, numerals)
    return text if table is None else text.translate(table)


@functools.lru_cache(maxsize=64)
def _digit_table(language: str, numerals: str) -> dict[int, str] | None:
    """The table writing Latin digits in a page's digits (None: they stay Latin); made once a
    process, where every date and part label of every list made it again."""
    table = digits(language, numerals)
    return None if table == DIGITS["latn"] else str.maketrans(DIGITS["latn"], table)


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
    return _folded(slug)


def slug_collision_keys(slugs: list[str]) -> list[str]:
    """``slug_collision_key`` of each of ``slugs`` (names of files: no NUL), made on them all
    joined: a call per name cost every build 30-40 ms at 10,000 segments. The same keys:
    casefolding maps each character alone, and NUL neither composes nor case-folds."""
    return _folded("\0".join(slugs)).split("\0") if slugs else []


def _folded(text: str) -> str:
    if text.isascii():
        return text.lower()  # the same, for ASCII, without the two calls
    return unicodedata.normalize("NFC", text).casefold()
