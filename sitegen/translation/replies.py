"""Checking one reply from a translation service before it is used.

Replies are untrusted: each one goes through :func:`validate_translation`,
which also refuses replies far longer than their source and replies holding
the API key in any encoding (they would be published).
"""

from __future__ import annotations

import html
import re
from typing import Callable
from urllib.parse import unquote, unquote_plus

from ..core.textrules import arabic_letters, collapse_spaces
from .failures import TranslationFailed

# A translation longer than this many times its source, plus this many
# characters, is not a translation (a provider's error page, a runaway model).
MAX_REPLY_GROWTH = 10
MAX_REPLY_EXTRA_CHARS = 1000

_BIDI_CONTROLS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
# Delete bidi controls, C0 controls except newline and tab, DEL and C1 controls;
# a tab becomes a space so that the words on either side stay apart.
_CLEAN_TABLE: dict[int, str | None] = {ord(c): None for c in _BIDI_CONTROLS}
_CLEAN_TABLE.update({c: None for c in range(0x00, 0x20) if c not in (0x09, 0x0A)})
_CLEAN_TABLE.update({c: None for c in range(0x7F, 0xA0)})
_CLEAN_TABLE[0x09] = " "
# Whether a text holds any of them: most replies and paragraphs hold none, and a search in C
# is a fraction of ``str.translate``'s lookup per character (30 µs for an Arabic paragraph).
_NEEDS_CLEANING = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_CLEAN_TABLE)) + "]").search


def _clean(text: str) -> str:
    return text.translate(_CLEAN_TABLE) if _NEEDS_CLEANING(text) else text


# Text that providers send with HTTP 200 in place of a translation (upper-cased
# before matching). MyMemory really spells it "EXCEDEED", hence the short prefix.
_PROVIDER_WARNINGS = (
    "MYMEMORY WARNING",
    "YOU USED ALL AVAILABLE FREE TRANSLATIONS",
    "QUERY LENGTH LIMIT EXC",
    "INVALID LANGUAGE PAIR SPECIFIED",
    "PLEASE SELECT TWO DISTINCT LANGUAGES",
)
# More than this share of the reply's letters in Arabic script means it was not
# translated; a few Arabic names in an English paragraph stay well below it.
MAX_ARABIC_SHARE = 0.20

# Looking for the API key in a reply: JSON and JavaScript escapes left in the
# text, and the invisible characters that could split the key without hiding it.
_CODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\([\"\\/])")
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\U000e0000-\U000e007f]")
# Encodings nest (an entity-escaped URL holding a URL-encoded key): decode this many layers.
_KEY_DECODING_DEPTH = 3


# --------------------------------------------------------------------------- validation


def _has_arabic(text: str) -> bool:
    return arabic_letters(text) > 0


def _unescape_code(text: str) -> str:
    """``text`` with JSON/JavaScript escapes (``\\u002F``, ``\\x2f``, ``\\/``) decoded."""

    def decode(match: re.Match[str]) -> str:
        hex_digits = match.group(1) or match.group(2)
        return chr(int(hex_digits, 16)) if hex_digits else match.group(3)

    return _CODE_ESCAPE.sub(decode, text)


def _drop_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


_KEY_DECODINGS: tuple[Callable[[str], str], ...] = (
    unquote, unquote_plus, html.unescape, _unescape_code, _drop_invisible,
)


def contains_secret(text: str, secret: str) -> bool:
    """Whether ``text`` shows ``secret`` as it is or in any encoding a provider might apply.

    Rather than encoding the key every way a provider might (quote, quote_plus,
    upper- or lower-case hex, named, decimal or hex entities, JSON escapes, and
    combinations of them), the text is decoded every way, up to three layers
    deep, and each result searched ignoring case: percent-escapes and hex keys
    read the same in either case.
    """
    needle = secret.casefold()
    seen = {text}
    layer = {text}
    for _ in range(_KEY_DECODING_DEPTH):
        layer = {decode(t) for t in layer for decode in _KEY_DECODINGS} - seen
        seen |= layer
    return any(needle in t.casefold() for t in seen)


def validate_translation(source: str, result: object, *, secret: str | None = None) -> str:
    """Check one reply from a provider and return it cleaned, or raise TranslationFailed.

    Cleaning removes bidi controls and control characters (newlines kept) and
    strips the ends. The reply must then be non-empty text, at most
    MAX_REPLY_GROWTH times as long as ``source`` plus MAX_REPLY_EXTRA_CHARS,
    free of the API key ``secret`` in any encoding (a reply is published: pages,
    search index, the committed memory), not a provider warning, not the source
    sent back, and not still mostly Arabic. HTML in the reply is left alone: it
    is text, and the page escapes it.
    """
    if result is None:
        raise TranslationFailed("reply had no translation")
    if not isinstance(result, str):
        raise TranslationFailed(f"reply was not text but {type(result).__name__}")
    cleaned = _clean(result).strip()
    if not cleaned:
        raise TranslationFailed("reply was empty")
    if len(cleaned) > MAX_REPLY_GROWTH * len(source) + MAX_REPLY_EXTRA_CHARS:
        raise TranslationFailed(
            f"reply was {len(cleaned):,} characters for {len(source):,} sent: far longer than a translation"
        )
    # Checked before cleaning too: cleaning could join a key split by control characters.
    if secret and (contains_secret(result, secret) or contains_secret(cleaned, secret)):
        raise TranslationFailed("reply contained the API key", secret=secret)
    upper = cleaned.upper()
    if any(marker in upper for marker in _PROVIDER_WARNINGS):
        raise TranslationFailed("reply was a provider warning (quota or limit reached), not a translation")
    # Text without Arabic letters (a number, a Latin name) is rightly sent back as it is.
    clean_source = collapse_spaces(_clean(source))
    if collapse_spaces(cleaned) == clean_source and _has_arabic(clean_source):
        raise TranslationFailed("reply was the source text sent back untranslated")
    letters = sum(map(str.isalpha, cleaned))
    arabic = arabic_letters(cleaned)
    if letters and arabic / letters > MAX_ARABIC_SHARE:
        raise TranslationFailed(f"reply was still {100 * arabic // letters}% Arabic letters")
    return cleaned
