"""Terms of a taxonomy (a tag, an author, a section): when two spellings are one term, and
the file name a term's page gets.

Authors type the same tag in several ways: with or without diacritics or tatweel (حمص,
حِمص, حمـص), in another Unicode normal form (NFD from a Mac), in another case (Homs,
HOMS). They are one term, whose page is named by the folded form: Arabic letters stay, so
the address reads (tags/بابا-عمرو.html), never an empty slug as slugifiers that keep ASCII
alone make of Arabic. A term with nothing left to name a file by is an error for its author.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping

from ..core.textrules import collapse_spaces

# Arabic diacritics (harakat, tanwin, shadda, sukun, dagger alef, Quranic marks) and tatweel:
# they change how a word is written, never which word it is.
_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640]")
# What a file name keeps: letters and digits of any script, and the joiners between words.
_NOT_NAME = re.compile(r"[^\w\-]+")
_DASHES = re.compile(r"[-_\s]+")
# Long enough for any real tag or name; a file name must stay under 255 bytes of UTF-8.
MAX_SLUG_CHARACTERS = 80


def term_key(term: str) -> str:
    """What makes two spellings one term: NFKC (NFD and full-width forms fold), no diacritics
    or tatweel, case folded, spaces tidied."""
    text = unicodedata.normalize("NFKC", term)
    text = _MARKS.sub("", text).casefold()
    return collapse_spaces(text)


@functools.lru_cache(maxsize=65536)  # a site has hundreds of terms, written tens of thousands of times
def term_slug(term: str) -> str:
    """The file name (without extension) of a term's page: '' when nothing of it can name a file.
    Terms with one slug are one term (a/b and a b): one page could not hold two."""
    text = _NOT_NAME.sub("-", term_key(term).replace("_", "-"))
    text = _DASHES.sub("-", text).strip("-")
    return text[:MAX_SLUG_CHARACTERS].rstrip("-")


@functools.lru_cache(maxsize=16)
def names_by_slug(names: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    """A table of names written in site.yml (or kept in the tags' memory), by the slug of the
    term each names: any spelling of a term finds its name. Made once a process; shared, so
    only read. Look it up once, then ask it for every term: finding it hashes the whole table
    (with hundreds of tags, asking it afresh for each link made list pages quadratic)."""
    return {term_slug(term): name for term, name in names}


def most_used(spellings: Mapping[str, int]) -> str:
    """The spelling a term is shown in: its most used one; of equally used ones, the first in
    code point order (deterministic)."""
    return min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]
