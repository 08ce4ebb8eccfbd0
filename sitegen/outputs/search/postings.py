"""Offline search, part two: the on-disk codec of the index files.

A posting is a document id with a 2-bit weight (term frequency, +2 when
the term is in a title, capped at :data:`MAX_WEIGHT`). The postings of a
term, ids ascending, are delta-encoded and packed as ASCII variable-length
numbers (:func:`_encode_number`), so two packed runs of ids join by
re-encoding the second run's first number (``writer.lay_out``).
:func:`js_json` writes everything else as JSON that is safe inside an HTML
``<script>``.
"""

from __future__ import annotations

import functools
import json
import re
import zlib
from bisect import bisect_left
from itertools import accumulate
from typing import Iterable

__all__ = ["js_json", "MAX_WEIGHT"]

MAX_WEIGHT = 4

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


_TABLE_HEADS = 25 * 25  # every number of up to 3 characters: 625 heads joined to 64 digits


@functools.cache
def _encoded_table(heads: int = _TABLE_HEADS) -> list[str]:
    """The encodings of the numbers below ``64 * heads`` (by default every number of up to 3
    characters), made on first use (not at import: a build that changes no search bucket
    never needs it). Each is the encoding of its multiple of 64 with another terminal digit."""
    return [head + last for head in (_encode_number(n * 64)[:-1] for n in range(heads)) for last in _TERMINAL]


def gap_table(largest: int | None = None) -> list[str]:
    """The encodings of every number up to ``largest`` at least (None: of every number of up
    to 3 characters, the table :func:`_encode_postings` reads). The whole table is 2.3 MB of
    small strings in every process that builds it: the inversion of 1,000 documents needs
    some 4,000 of them."""
    heads = _TABLE_HEADS if largest is None else min(_TABLE_HEADS, largest // 64 + 1)
    return _encoded_table() if heads == _TABLE_HEADS else _encoded_table(heads)  # one key for the whole one


def _encode_postings(packed: Iterable[int]) -> str:
    """Postings as ``doc_id * MAX_WEIGHT + (weight - 1)``, ids ascending →
    packed string of ``(id delta - 1) * MAX_WEIGHT + (weight - 1)`` numbers."""
    out = []
    nxt = 0  # (previous id + 1) * MAX_WEIGHT
    table = _encoded_table()
    limit = len(table)
    for value in packed:
        n = value - nxt
        nxt = value - value % MAX_WEIGHT + MAX_WEIGHT
        out.append(table[n] if n < limit else _encode_number(n))
    return "".join(out)


def _decode_numbers(s: str) -> list[int]:
    """The numbers of a packed string (inverse of joined :func:`_encode_number`)."""
    result = []
    acc = 0
    for ch in s:
        i = _CONTINUATION.find(ch)
        if i >= 0:
            acc = acc * 25 + i
            continue
        result.append(acc * 64 + _TERMINAL.index(ch))
        acc = 0
    return result


def _decode_postings(s: str) -> list[tuple[int, int]]:
    """Inverse of :func:`_encode_postings` (used by tests)."""
    result = []
    prev = -1
    for value in _decode_numbers(s):
        prev = prev + 1 + value // MAX_WEIGHT
        result.append((prev, value % MAX_WEIGHT + 1))
    return result


# A number starts only where no continuation digit stands before it: tried from every digit of
# a damaged shard's long run of continuations without a terminal, the search read the rest of
# the run each time (quadratic). Numbers as written start after a terminal or at the start.
_NUMBER = re.compile(f"(?<![{re.escape(_CONTINUATION)}])[{re.escape(_CONTINUATION)}]*[{re.escape(_TERMINAL)}]")


class _Steps(dict):
    """How far a packed number moves the document id (``value // MAX_WEIGHT + 1``), by its
    characters: the numbers of one and two characters (gaps of up to 400 ids, nearly every
    number of a common word) at first use, longer ones decoded when met and kept. Small on
    purpose: a one-change build patches a few hundred words, and a table of every number of
    three characters took it 20 ms to make."""

    def __missing__(self, code: str) -> int:
        step = self[code] = _decode_numbers(code)[0] // MAX_WEIGHT + 1
        return step


@functools.cache
def _steps_table() -> _Steps:
    return _Steps((_encode_number(n), n // MAX_WEIGHT + 1) for n in range(64 * 25))


def patch_postings(encoded: str, changes: dict[int, int]) -> str:
    """``encoded`` with ``changes`` (document id -> its new weight, 0: no longer there) made:
    the same string as encoding the changed postings afresh, but only the numbers up to the
    last changed id are read, and only those around the changed ids are encoded again. The
    rest is copied: a common word's postings hold one number per document of the site, and
    a one-paragraph edit touches hundreds of words."""
    if not _well_formed(encoded):
        # Not as this codec writes it (a damaged shard): read it all, as a fresh encoding would.
        encoded = "".join(_NUMBER.findall(encoded))
    steps = _steps_table()
    # The postings before the first changed id stand as they are: whole chunks of them are
    # passed over in C (_passed), the id they reach summed, not read a posting at a time.
    start, base = _passed(encoded, min(changes, default=0))
    read = start  # characters of ``encoded`` passed over or read into ``codes``
    # codes[k]: the k-th number read from ``read`` on; ends[k]: the id of that posting, plus
    # one (each number says how far its id is past the previous one's; ``base``: the id of the
    # last posting passed over, plus one). Read a chunk at a time, and no further than one
    # posting past the last changed id: the rest stands as it is.
    codes: list[str] = []
    ends: list[int] = []
    past = max(changes, default=-1) + 1  # read until a posting's id is beyond this minus one

    def read_chunk() -> None:
        nonlocal read
        end = min(len(encoded), read + _CHUNK)
        while encoded[end - 1] not in _TERMINAL_SET:  # the chunk ends where a number does
            end += 1
        # A run of one-character numbers (gaps of up to 16 ids: most of a common word's) is
        # its characters; the regex, a string a match, costs five times more.
        found = _NUMBER.findall(encoded, read, end) if _CONTINUATION_RE.search(encoded, read, end) else encoded[read:end]
        running = accumulate(map(steps.__getitem__, found), initial=ends[-1] if ends else base)
        next(running)
        ends.extend(running)
        codes.extend(found)
        read = end

    while read < len(encoded) and (not ends or ends[-1] <= past):
        read_chunk()
    out: list[str] = [encoded[:start]]  # the postings passed over
    last = base - 1  # the id of the last posting written to ``out``
    copied = 0  # the postings before this one are written (copied or encoded again)

    def copy_until(stop: int) -> None:
        nonlocal last, copied
        if copied >= stop:
            return
        if (ends[copied - 1] - 1 if copied else base - 1) != last:
            # The first posting copied follows another one than before: its gap is new.
            value = (ends[copied] - 1 - last - 1) * MAX_WEIGHT + _decode_numbers(codes[copied])[0] % MAX_WEIGHT
            out.append(_encode_number(value))
            copied += 1
        out.extend(codes[copied:stop])
        last, copied = ends[stop - 1] - 1, stop

    for doc_id in sorted(changes):
        at = bisect_left(ends, doc_id + 1, copied)
        copy_until(at)
        if at < len(ends) and ends[at] == doc_id + 1:
            copied = at + 1  # the posting of doc_id: replaced (or dropped) below
        weight = changes[doc_id]
        if weight:
            value = (doc_id - last - 1) * MAX_WEIGHT + weight - 1
            out.append(_encode_number(value))
            last = doc_id
    copy_until(len(codes))
    # The postings not read follow the last one read, which was copied as it was: their
    # numbers (gaps from it) stand.
    out.append(encoded[read:])
    return "".join(out)


def _passed(encoded: str, first_changed: int) -> tuple[int, int]:
    """How far the postings of ``encoded`` (well formed) can be passed over: runs of numbers
    of one or two characters (gaps of up to 400 ids: nearly every number of a word in more
    than one document in a hundred) whose postings all come before ``first_changed``, in
    steps of _PASS characters, then of _CHUNK. The characters passed, and the id of the
    last posting passed plus one (0 when none is)."""
    data = encoded.encode("ascii")  # well formed: its digits only
    at = base = 0
    for step in (_PASS, min(_CHUNK, _PASS)):
        while at + step < len(data):
            end = at + step
            while data[end - 1] not in _TERMINAL_BYTES:  # a run ends where a number does
                end += 1
            run = data[at:end]
            if _TWO_HEADS in run.translate(_HEADS):
                return at, base  # a number of three characters or more: read a number at a time
            reached = base + _moved(run)
            if reached > first_changed:
                break
            at, base = end, reached
    return at, base


def _moved(numbers: bytes) -> int:
    """How far numbers of one or two characters move the document id: the sum of their steps
    (value // MAX_WEIGHT + 1). Each terminal digit adds its own part; each continuation digit,
    the first of a two-character number, adds its digit times 64 // MAX_WEIGHT. Both sums are
    made in C: a byte's part through a table, then the bytes summed by Adler-32, whose first
    half is one plus their sum modulo 65,521 (no run passed is long enough to reach it: _PASS)."""
    terminals = zlib.adler32(numbers.translate(_TERMINAL_STEPS)) & 0xFFFF
    heads = zlib.adler32(numbers.translate(_HEAD_DIGITS)) & 0xFFFF
    return terminals - 1 + _HEAD_STEP * (heads - 1)


_CHUNK = 256  # characters of postings read at a time (and passed over near a change: _passed)
# Characters passed over at a time, first: a run ends where a number does (one character
# more at most, numbers being of two at most there), and each of its bytes adds at most 24
# to a sum (a continuation digit), which must stay below Adler-32's modulus (_moved).
_PASS = 2048
assert 24 * (_PASS + 1) < 65521
_TERMINAL_SET = frozenset(_TERMINAL)
# What each byte of a number adds to the id it moves to (_passed): a terminal digit its value
# // MAX_WEIGHT, plus the one every posting moves; a continuation digit ahead of it, its digit
# (times _HEAD_STEP: 64 // MAX_WEIGHT, as 64 is the terminal digit's base).
_TERMINAL_STEPS = bytes(_TERMINAL.index(chr(b)) // MAX_WEIGHT + 1 if chr(b) in _TERMINAL else 0 for b in range(256))
_HEAD_DIGITS = bytes(_CONTINUATION.index(chr(b)) if chr(b) in _CONTINUATION else 0 for b in range(256))
_HEAD_STEP = 64 // MAX_WEIGHT
_TERMINAL_BYTES = frozenset(_TERMINAL.encode("ascii"))
_HEADS = bytes(1 if chr(b) in _CONTINUATION else 0 for b in range(256))  # continuation digits as 1
_TWO_HEADS = b"\x01\x01"  # two continuation digits in a row: a number of three characters or more
_CONTINUATION_RE = re.compile(f"[{re.escape(_CONTINUATION)}]")
_DIGITS = (_CONTINUATION + _TERMINAL).encode("ascii")


def _well_formed(encoded: str) -> bool:
    """Numbers as this codec writes them: its digits only, the last one a terminal. (Any such
    string reads as numbers one way only: a terminal digit ends each.) Checked in C: an ASCII
    text with nothing left once its digits are deleted."""
    return not encoded or (encoded[-1] in _TERMINAL_SET and encoded.isascii() and not encoded.encode("ascii").translate(None, _DIGITS))


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
