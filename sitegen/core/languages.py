"""Language tags: which ones are valid, which are written right to left, and where their pages go.

Stated once for the whole tool: the build gives a page its ``dir`` from here and
``build.py check`` judges that ``dir`` by the same table.
"""

from __future__ import annotations

import functools
import re

# A BCP 47 tag such as ar, ar-SY or zh-Hant-TW. Always used with fullmatch: a pattern ending
# in '$' lets "ar\n" through (a folder 'ar\n', <html lang="ar\n">).
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")

# Languages written right to left (primary subtags, CLDR's character order right-to-left)...
RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ps", "sd", "ug", "ur", "yi", "syr", "nqo", "sam", "mzn", "glk", "lrc", "bal", "bqi"})
# ...and scripts: a script subtag decides when there is one (ku-Arab, pa-Arab are RTL; ks-Deva is not).
RTL_SCRIPTS = frozenset({"arab", "hebr", "thaa", "syrc", "nkoo", "adlm", "rohg", "mand", "samr", "yezi"})


def is_language_code(tag: str) -> bool:
    return LANGUAGE_CODE.fullmatch(tag) is not None


@functools.cache  # asked for every entry of every list, of the site's two or three tags
def direction(tag: str) -> str:
    """'rtl' or 'ltr' for a language tag."""
    parts = tag.lower().split("-")
    scripts = [p for p in parts[1:] if len(p) == 4 and p.isalpha()]
    if scripts:
        return "rtl" if scripts[0] in RTL_SCRIPTS else "ltr"
    return "rtl" if parts[0] in RTL_LANGUAGES else "ltr"


@functools.cache  # called for every link of every page, with the site's few tags: 1 % of a cold build
def language_folder(tag: str) -> str:
    """The folder of a language's pages: its primary subtag (``ar-SY`` -> ``ar``), so that a
    region never moves a page. The configuration refuses a target of the same primary language."""
    return tag.split("-", 1)[0].lower()


@functools.cache
def base_language(tag: str) -> str:
    """The primary language of a tag (``ar-SY`` -> ``ar``): what the translation memory is keyed
    by, so that choosing a region (month names, digits) never invalidates a translation."""
    return language_folder(tag)


def locale_identifier(tag: str) -> str:
    """A BCP 47 tag as CLDR's (and Babel's) locale identifier: ``ar-SY`` -> ``ar_SY``,
    ``zh-hant-tw`` -> ``zh_Hant_TW``; subtags it does not use (variants, extensions) left out."""
    parts = tag.split("-")
    found = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha() and len(found) == 1:
            found.append(part.title())
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            found.append(part.upper())
            break
        else:
            break
    return "_".join(found)
