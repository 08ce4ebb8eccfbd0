"""Fenced code blocks as Python-Markdown's fenced_code extension finds them, in linear time.

The extension searches its ``FENCED_BLOCK_RE`` from each place on, and an opening fence that
is never closed sends that search to the end of the text, once for each such fence: 1,000 of
them in 500 KB took 14 s, before any time budget. The same blocks are found here a line at a
time, by the extension's own rules (its expression, read as it matches):

* the text is first normalised as its ``NormalizeWhitespace`` leaves it (tabs to four spaces,
  lines of spaces emptied; neither changes the line count);
* an opening line is a fence (three or more ``~`` or backticks, the whole run) at the start
  of the line, spaces, then ``{attributes}`` ending the line, or an optional ``.lang`` and
  spaces with an optional ``hl_lines="..."`` whose closing quote may lie on a later line
  (the first quote that ends a line, spaces aside);
* the block ends at the first later line made of the very same fence and spaces;
* a block whose attributes the extension cannot read (braces left over) is no block, and the
  lines after its opening line are searched again;
* the search goes on after each block.

``tests/test_segments.py`` compares the lines found with the extension's own expression, run
from the start, on random texts.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

_OPENER = re.compile(
    r"(?P<fence>~{3,}|`{3,})[ ]*"
    r"(?:\{(?P<attrs>.*)\}|\.?[\w#.+-]*[ ]*(?:hl_lines=(?P<quote>[\"'])(?P<rest>.*))?)"
)
_CLOSER = re.compile(r"(?P<fence>~{3,}|`{3,})[ ]*")


@dataclass(frozen=True)
class Fences:
    blocks: tuple[tuple[int, int], ...]  # first and last line index of each block, in order
    scanned: int  # characters the extension's search reads on from openings that make no block
    first_scanning: int | None  # the line of the first such opening


def normalised(lines: list[str]) -> list[str]:
    """The lines as the extension reads them (after ``NormalizeWhitespace``)."""
    return ["" if not line.expandtabs(4).strip(" ") else line.expandtabs(4) for line in lines]


def find_fences(lines: list[str]) -> Fences:
    """The fenced code blocks of ``lines`` (a text split at line breaks)."""
    if not any(line.startswith(("```", "~~~")) for line in lines):
        return Fences((), 0, None)  # no fence can open (most stories)
    lines = normalised(lines)
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    total = offset + 1  # the extension's text ends with two line breaks
    closers: dict[str, list[int]] = {}
    quote_ends: dict[str, list[int]] = {'"': [], "'": []}  # lines whose last character but spaces is the quote
    for index, line in enumerate(lines):
        closer = _CLOSER.fullmatch(line)
        if closer is not None:
            closers.setdefault(closer.group("fence"), []).append(index)
        end = line.rstrip(" ")[-1:]
        if end in quote_ends:
            quote_ends[end].append(index)
    blocks: list[tuple[int, int]] = []
    scanned, first_scanning, index = 0, None, 0
    while index < len(lines):
        opener = _OPENER.fullmatch(lines[index]) if lines[index].startswith(("`", "~")) else None
        if opener is None:
            index += 1
            continue
        last_opening = index
        if opener.group("quote") is not None:
            last_opening = _hl_lines_end(lines, index, opener, quote_ends)
        same = closers.get(opener.group("fence"), ())
        after = bisect_right(same, last_opening) if last_opening is not None else len(same)
        if after == len(same):  # no block: the search reads on to the end
            scanned += total - starts[index]
            first_scanning = index if first_scanning is None else first_scanning
            index += 1
            continue
        closing = same[after]
        if opener.group("attrs") is not None and _attributes_left_over(opener.group("attrs")):
            scanned += starts[closing] - starts[index]
            first_scanning = index if first_scanning is None else first_scanning
            index += 1
            continue
        blocks.append((index, closing))
        index = closing + 1
    return Fences(tuple(blocks), scanned, first_scanning)


def _hl_lines_end(lines: list[str], index: int, opener: re.Match[str], quote_ends: dict[str, list[int]]) -> int | None:
    """The last line of an opening with ``hl_lines="...``: where the first quote that ends a
    line (spaces aside) stands, after the opening quote; None when no line ends so."""
    quote = opener.group("quote")
    ends = quote_ends[quote]
    here = bisect_left(ends, index)
    if here < len(ends) and ends[here] == index and opener.group("rest").rstrip(" ").endswith(quote):
        return index  # closed on its own line (after the opening quote: 'rest' follows it)
    later = bisect_right(ends, index)
    return ends[later] if later < len(ends) else None


def _attributes_left_over(attrs: str) -> bool:
    """Whether the extension refuses these ``{attributes}`` (braces left over: no block)."""
    from markdown.extensions.attr_list import get_attrs_and_remainder  # only for a fence with attributes

    return bool(get_attrs_and_remainder(attrs)[1])


def fenced_lines(lines: list[str]) -> set[int]:
    """Indexes of the lines inside fenced code blocks, their fences included."""
    return {line for first, last in find_fences(lines).blocks for line in range(first, last + 1)}
