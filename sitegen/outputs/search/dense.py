"""Offline search: the postings of a common term, written as a row of weights.

A term in most documents costs a character a posting as gaps (:mod:`.postings`): a common
word's postings were 30-50 KB at 50,000 documents, and a query loads them whole, once a
word. Written *dense*, the weight of every document from the first up to the term's last
is a digit in base ``MAX_WEIGHT + 1`` (0: not there), five digits to two characters:
3.2 bits a document, 20 KB at 50,000 documents whatever the term. A term is written dense
when that is no longer than its gaps (:func:`is_dense_better`: in at least two documents
in five up to its last, and in 64 at least); the rule depends on the term's own postings
alone, so a patched index is still byte-identical to a cold one.

The form: a space (no digit of the gaps' alphabet, so the two never meet), the number of
postings as one packed number (:func:`postings._encode_number`: a patch keeps it without
reading the row), then a pair of characters for every five documents, the first one's
digit the most significant; the last pair holds the term's last document. search.js
``decodePostings`` reads both forms.
"""

from __future__ import annotations

import functools
import sys

from .postings import (
    _CONTINUATION,
    _CONTINUATION_RE,
    _NUMBER,
    _TERMINAL,
    MAX_WEIGHT,
    _decode_numbers,
    _decode_postings,
    _encode_number,
    _encode_postings,
    _passed,
    _steps_table,
    patch_postings,
)

__all__ = ["DENSE_MARK", "decode_entry", "is_dense_better", "patch_entry", "settled"]

DENSE_MARK = " "
GROUP = 5  # documents a pair of characters holds
_BASE = MAX_WEIGHT + 1
_ALPHABET = _TERMINAL + _CONTINUATION
assert _BASE**GROUP <= len(_ALPHABET) ** 2 and DENSE_MARK not in _ALPHABET
MIN_DENSE = 64  # postings: fewer are never written dense (a few bytes either way)


def is_dense_better(postings: int, last: int) -> bool:
    """Whether a term with ``postings`` postings, the last in document ``last``, is written
    dense: two characters for five documents against at least one a posting."""
    return postings >= MIN_DENSE and GROUP * postings >= 2 * (last + 1)


@functools.cache
def _pairs() -> dict[bytes, str]:
    """Five digits (as bytes) -> their pair of characters."""
    table = {}
    for value in range(_BASE**GROUP):
        digits = bytes((value // _BASE**(GROUP - 1 - k)) % _BASE for k in range(GROUP))
        table[digits] = _ALPHABET[value // len(_ALPHABET)] + _ALPHABET[value % len(_ALPHABET)]
    return table


@functools.cache
def _digits() -> dict[str, bytes]:
    return {pair: digits for digits, pair in _pairs().items()}


def _row(weights: bytes, postings: int) -> str:
    """The dense form of ``weights`` (one byte a document, up to the last that is not 0)."""
    data = bytes(weights) + bytes(-len(weights) % GROUP)
    pairs = _pairs()
    return _head(postings) + "".join([pairs[data[k:k + GROUP]] for k in range(0, len(data), GROUP)])


def _head(postings: int) -> str:
    return DENSE_MARK + _encode_number(postings)


def _split_row(encoded: str) -> tuple[int, str]:
    """(postings, the pairs) of a dense form."""
    head = _NUMBER.match(encoded, 1)
    if head is None or (len(encoded) - head.end()) % 2:
        raise ValueError("not a dense row")
    return _decode_numbers(head.group())[0], encoded[head.end():]


def _weights_of_pairs(pairs: str) -> bytes:
    """One byte a document, the last group's zeros included."""
    digits = _digits()
    return b"".join([digits[pairs[k:k + 2]] for k in range(0, len(pairs), 2)])


class _Expansions(dict):
    """A number of a form in gaps -> the bytes of the documents it moves over: zeros, then
    its posting's weight."""

    def __missing__(self, code: str) -> bytes:
        value = _decode_numbers(code)[0]
        expansion = self[code] = bytes(value // MAX_WEIGHT) + bytes((value % MAX_WEIGHT + 1,))
        return expansion


@functools.cache
def _expansions() -> _Expansions:
    return _Expansions()


def _weights_of_gaps(encoded: str) -> bytes:
    """One byte a document up to the last posting (each number's bytes joined in C)."""
    return b"".join(map(_expansions().__getitem__, _gaps_numbers(encoded)))


def _gaps_numbers(encoded: str) -> list[str] | str:
    """The numbers of a form in gaps, one string each."""
    if not encoded.isascii() or _CONTINUATION_RE.search(encoded):
        return _NUMBER.findall(encoded)
    return encoded  # numbers of one character: nearly every one of a common term


def _gaps(weights: bytes) -> str:
    return _encode_postings(doc * MAX_WEIGHT + w - 1 for doc, w in enumerate(weights) if w)


def settled(gaps: str, last: int | None = None) -> str:
    """A term's postings written in gaps, in the form the rule gives (``last``: the document
    of the last posting, when the caller knows it; read from the gaps otherwise)."""
    if len(gaps) < MIN_DENSE:  # a posting a character at least: too few to be a row
        return gaps
    postings = _count_numbers(gaps)
    if postings < MIN_DENSE:
        return gaps
    if not is_dense_better(postings, _last_of_gaps(gaps) if last is None else last):
        return gaps
    return _row(_weights_of_gaps(gaps), postings)


def decode_entry(encoded: str) -> list[tuple[int, int]]:
    """(document, weight) of either form, ids ascending."""
    if encoded.startswith(DENSE_MARK):
        return [(doc, w) for doc, w in enumerate(_weights_of_pairs(_split_row(encoded)[1])) if w]
    return _decode_postings(encoded)


def patch_entry(encoded: str, changes: dict[int, int]) -> str:
    """``encoded`` (either form) with ``changes`` (document -> new weight, 0: gone) made, in
    the form the rule gives: what a cold build writes for the changed postings."""
    if encoded.startswith(DENSE_MARK):
        return _patch_row(encoded, changes)
    return settled(patch_postings(encoded, changes))


def _patch_row(encoded: str, changes: dict[int, int]) -> str:
    """A row with ``changes`` made: only the pairs of the changed documents' groups are read
    and written again, the rest copied (a common word's row at 50,000 documents is 20 KB,
    and an edit touches hundreds of words)."""
    postings, pairs = _split_row(encoded)
    groups = len(pairs) // 2
    digits = _digits()
    edited: dict[int, bytearray] = {}  # group -> its five digits, changed
    for doc, weight in changes.items():
        group, place = divmod(doc, GROUP)
        if group not in edited:
            edited[group] = bytearray(digits[pairs[2 * group:2 * group + 2]] if group < groups else bytes(GROUP))
        postings += (weight != 0) - (edited[group][place] != 0)
        edited[group][place] = weight
    table = _pairs()
    zero = table[bytes(GROUP)]
    pieces, done = [], 0  # pairs written up to group ``done``
    for group in sorted(edited):
        pieces.append(pairs[2 * done:2 * group] if group <= groups else pairs[2 * done:] + zero * (group - max(done, groups)))
        pieces.append(table[bytes(edited[group])])
        done = group + 1
    pieces.append(pairs[2 * done:])
    pairs = "".join(pieces)
    end = len(pairs)
    while end and pairs[end - 2:end] == zero:  # the last pair holds the last document
        end -= 2
    pairs = pairs[:end]
    last_group = digits[pairs[-2:]] if pairs else b""
    last = (end // 2 - 1) * GROUP + len(last_group.rstrip(b"\0")) - 1
    if is_dense_better(postings, last):
        return _head(postings) + pairs
    return _gaps(_weights_of_pairs(pairs))


def _count_numbers(encoded: str) -> int:
    """Postings in a form in gaps (as this codec writes it): its terminal digits."""
    return len(encoded.encode("ascii").translate(None, _CONTINUATION_BYTES))


def _last_of_gaps(encoded: str) -> int:
    """The document of the last posting of a form in gaps (as this codec writes it): runs of
    short numbers summed in C (postings._passed), the rest a number at a time."""
    at, end = _passed(encoded, sys.maxsize)  # every run it can pass
    steps = _steps_table()
    return end + sum(map(steps.__getitem__, _gaps_numbers(encoded[at:]))) - 1


_CONTINUATION_BYTES = _CONTINUATION.encode("ascii")
