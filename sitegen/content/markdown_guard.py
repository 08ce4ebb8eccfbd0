"""Keeping hostile Markdown from costing more than linear time (issue #11).

Python-Markdown stays the parser, but several of its parts cost time quadratic in the
size of one block or one paragraph, and the costs add up to minutes for a few tens of KB:

* every inline match rebuilds the whole text of its paragraph around a placeholder, so a
  paragraph with m inline constructs (escapes, emphasis, code, entities, links) costs m x n;
* an unclosed ``[`` or ``](`` makes the link patterns scan, in Python, to the end of the
  paragraph, once per bracket;
* the raw-HTML pass (``HtmlBlockPreprocessor`` on the stdlib ``html.parser``) scans from
  every ``<tag`` to the next ``>``, over the whole document;
* a block processor that splits a block (ATX and setext headings, rules) puts the rest of
  the block back and every processor tests the rest again -- the tables extension even
  splits and strips all of its lines for every test;
* list and blockquote nesting recurses once per level.

What is done about it, cheapest first: the tables test is replaced by one that reads only
the lines it needs (same answers, same name and priority: markdown_parser.py); a linear pre-check estimates
the cost of each of the shapes above and refuses a segment far beyond anything an article
needs, saying where and what to do; and a time budget per segment, enforced with a timer
signal, refuses whatever shape nobody has thought of yet.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .fences import find_fences

# Far above what an article needs (measured: a 20 KB paragraph with a hundred links and as
# much emphasis stays two orders of magnitude below), far below what takes a second.
MAX_NESTING = 20  # list or blockquote levels
# Per paragraph or block, not summed: a paragraph under the limit has fewer markers than
# the square root of the limit per character, so a document of n characters costs at most
# that constant times n -- linear, and long ordinary documents are never refused.
MAX_INLINE_WORK = 600_000_000  # inline markers x length of their paragraph (about 2 ns each: 1.2 s at most)
MAX_LINK_SCAN = 2_000_000  # link openers (scanned in Python) x length of their paragraph
MAX_BLOCK_SPLITS = 40_000_000  # splitting lines x length of their block
# Summed over the document (the HTML pass reads it whole), with room for long documents.
MAX_TAG_SCAN = 5_000_000  # characters from each '<tag' to the next '>'
TAG_SCAN_PER_CHAR = 20
MAX_FENCE_SCAN = 5_000_000  # characters from each fence never closed to the end (25-100 ns each here)
FENCE_SCAN_PER_CHAR = 20
# The extension rebuilds the whole text around each block it stashes (and the block parser
# inserts each placeholder's block at the front of a list): blocks x length, about 0.1 ns each.
# 2,000 blocks in a megabyte pass; 80,000 empty ones in 640 KB took 22 s.
MAX_FENCED_BLOCKS_WORK = 2_000_000_000

# The backstop: seconds per segment, plus a little per character so that long ordinary
# documents are never refused for their length: ordinary Markdown takes up to about
# 20 us per character here (300 KB of headings, nested lists, quotes and links: 6 s).
BUDGET_BASE_SECONDS = 2.0
BUDGET_SECONDS_PER_CHAR = 50e-6

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# A link or image as authors write them: bounded lengths keep the search linear.
# ("[text](" whose parenthesis never closes is not one: it is what scans on.)
_WELL_FORMED_LINK = re.compile(r"!?\[[^\[\]\n]{0,500}\](?:\([^()\n]{0,2000}\)|(?!\())")
# A line that starts a new inline run (a paragraph ends there): list item, heading, table row.
_RUN_START = re.compile(r"^[ \t]*(?:[-*+][ \t]|\d+[.)][ \t]|#|\|)", re.MULTILINE)
# Quote markers at the start of a line, and the one space after the last: what Python-Markdown
# strips before it parses a quote's lines again as one block (so one paragraph, one block to
# split). Both pre-checks judge a block with them stripped. Each space belongs to one
# quantifier: spaces claimed by two (' {0,3}> ?' repeated) took a line of twenty '> ' half a
# second not to match.
_QUOTE_MARKERS = re.compile(r"^(?:[ \t]*>)+ ?", re.MULTILINE)
# Lines that make a block processor split its block and hand the rest back.
_SPLITTING_LINE = re.compile(r"^ {0,3}(?:#|=+[ \t]*$|-+[ \t]*$|(?:[-*_][ \t]*){3,}$)", re.MULTILINE)
_TAG_START = re.compile(r"<[!?/a-zA-Z]")
_LIST_INDENT = re.compile(r"^([ \t]*)(?:[-*+]|\d+[.)])[ \t]", re.MULTILINE)
# Markers a line can nest: '> ', '- ', '1. ' repeated at its start.
_NESTED_MARKERS = re.compile(r"^[ \t]*(?:(?:>|[-*+][ \t]|\d+[.)][ \t])[ \t]*){" + str(MAX_NESTING + 1) + ",}", re.MULTILINE)
# Characters an inline pattern can start or end a match at. Not '!': an image is '![', whose
# '[' is counted, and a '!' alone matches nothing (5,000 of them in a paragraph were refused).
_INLINE_MARKERS = "\\`*_[]<&"


class MarkdownRefused(Exception):
    """A segment the Markdown renderer will not take: where (lines into the body) and why."""

    def __init__(self, line_offset: int, reason: str):
        super().__init__(reason)
        self.line_offset = line_offset
        self.reason = reason


class _OutOfTime(BaseException):
    # A BaseException: Python-Markdown has 'except Exception' clauses that must not swallow it.
    pass


def check(body: str) -> None:
    """Refuse, cheaply and before parsing, a body whose rendering would cost superlinear time.

    Fenced code is judged apart: its text is stashed whole, so the other checks read the body
    without it (a listing of 3,000 lines of brackets and '===' is not a dense paragraph)."""
    visible = _without_fenced_code(body)
    for finder in (_too_deep, _too_much_tag_scanning, _too_much_block_splitting, _too_much_inline_work):
        refused = finder(visible)
        if refused is not None:
            raise refused


def _without_fenced_code(body: str) -> str:
    """The body with each fenced code block's lines emptied (line breaks kept, so lines count
    as in the body). An opening fence that makes no block (never closed, or attributes the
    extension refuses) sends its search on, to the end of the body or to the closing fence:
    their sum is refused past a limit, at the first of them."""
    lines = body.split("\n")
    fences = find_fences(lines)
    if fences.scanned > max(MAX_FENCE_SCAN, FENCE_SCAN_PER_CHAR * len(body)):
        raise MarkdownRefused(
            fences.first_scanning or 0,
            "too many code fences ('```' or '~~~') never closed; close each with the same fence on a line of its own",
        )
    if not fences.blocks:
        return body
    if len(fences.blocks) * len(body) > MAX_FENCED_BLOCKS_WORK:
        raise MarkdownRefused(
            fences.blocks[0][0],
            f"{len(fences.blocks)} fenced code blocks in one segment are too many to render in reasonable time;"
            " merge them, or split the segment with '===' lines",
        )
    for first, last in fences.blocks:
        lines[first : last + 1] = [""] * (last + 1 - first)
    return "\n".join(lines)


def _line_of(body: str, index: int) -> int:
    return body.count("\n", 0, index)


def _too_deep(body: str) -> MarkdownRefused | None:
    for match in _LIST_INDENT.finditer(body):
        if len(match.group(1).expandtabs(4)) >= 4 * MAX_NESTING:
            return _nesting_refusal(body, match.start())
    match = _NESTED_MARKERS.search(body)
    if match is not None:
        return _nesting_refusal(body, match.start())
    return None


def _nesting_refusal(body: str, index: int) -> MarkdownRefused:
    return MarkdownRefused(
        _line_of(body, index),
        f"Markdown lists or quotes nested more than {MAX_NESTING} levels deep; flatten them",
    )


def _too_much_tag_scanning(body: str) -> MarkdownRefused | None:
    # The HTML pass scans from each '<tag' to the next '>'; unclosed tags make that quadratic.
    work, next_close, first_open = 0, -1, None
    limit = max(MAX_TAG_SCAN, TAG_SCAN_PER_CHAR * len(body))
    for match in _TAG_START.finditer(body):
        start = match.start()
        if next_close < start:
            next_close = body.find(">", start)
            if next_close < 0:
                next_close = len(body)
        if next_close - start > 200 and first_open is None:
            first_open = start
        work += next_close - start
        if work > limit:
            where = first_open if first_open is not None else start
            return MarkdownRefused(
                _line_of(body, where),
                "too many unclosed '<' tags for the Markdown renderer; close them with '>' or write '&lt;'",
            )
    return None


def _blocks(body: str) -> Iterator[tuple[int, str]]:
    """The body cut at blank lines, as Python-Markdown cuts it, with each block's offset; a
    block's quote markers stripped (its line breaks stay, so lines are counted as in the body)."""
    start = 0
    for match in _BLANK_LINE.finditer(body):
        yield start, _unquoted(body[start : match.start()])
        start = match.end()
    yield start, _unquoted(body[start:])


def _unquoted(block: str) -> str:
    return _QUOTE_MARKERS.sub("", block) if ">" in block else block


def _too_much_block_splitting(body: str) -> MarkdownRefused | None:
    for offset, block in _blocks(body):
        splits = len(_SPLITTING_LINE.findall(block))
        if splits * len(block) > MAX_BLOCK_SPLITS:
            return MarkdownRefused(
                _line_of(body, offset),
                f"a block of {block.count(chr(10)) + 1} lines without a blank line holds {splits} headings or rules;"
                " separate them with blank lines (in a quote, a line of '>' alone)",
            )
    return None


def _runs(block: str) -> Iterator[tuple[int, str]]:
    """A block cut where a new paragraph, item, heading or row starts: the text one inline pass sees."""
    start = 0
    for match in _RUN_START.finditer(block):
        if match.start() > start:
            yield start, block[start : match.start()]
            start = match.start()
    yield start, block[start:]


def _too_much_inline_work(body: str) -> MarkdownRefused | None:
    for offset, block in _blocks(body):
        if not any(marker in block for marker in _INLINE_MARKERS) and "  \n" not in block:
            continue  # plain prose: nothing for the inline patterns to do
        for run_offset, run in _runs(block):
            size = len(run)
            markers = sum(run.count(marker) for marker in _INLINE_MARKERS) + run.count("  \n")  # hard breaks
            inline = markers * size
            # Only openers left unclosed make the link patterns scan on: a paragraph of a hundred
            # well-formed links renders in a tenth of a second and must never be refused.
            open_links = _WELL_FORMED_LINK.sub("", run)
            links = (open_links.count("[") + open_links.count("](")) * size
            if inline > MAX_INLINE_WORK or links > MAX_LINK_SCAN:
                return MarkdownRefused(
                    _line_of(body, offset) + block.count("\n", 0, run_offset),
                    "a paragraph too long and too dense in Markdown markers ('[', '*', '`', '\\', '<', '&')"
                    " to render in reasonable time; split it with blank lines (in a quote, a line of '>' alone) or escape fewer characters",
                )
    return None


def budget_seconds(body: str) -> float:
    return BUDGET_BASE_SECONDS + BUDGET_SECONDS_PER_CHAR * len(body)


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise MarkdownRefused if the block takes longer than ``seconds`` (wall clock).

    A SIGALRM timer, so only in the main thread (the build renders there, in the main
    process or in forked workers); elsewhere the pre-checks alone have to do. CPython's
    ``re`` checks for signals while matching, so a runaway expression is stopped too.
    A timer already set by someone else is put back with what is left of it.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        with _depth_guard():
            yield
        return

    def expire(signum, frame):
        raise _OutOfTime()

    previous_handler = signal.signal(signal.SIGALRM, expire)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        with _depth_guard():
            yield
    except _OutOfTime:
        raise MarkdownRefused(0, f"Markdown took more than {seconds:.1f} s to render; simplify or split this segment") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:
            left = max(previous_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, previous_interval)


@contextmanager
def _depth_guard() -> Iterator[None]:
    # Python-Markdown recurses once per nesting level; shapes the pre-check does not know
    # ('1. 1. 1. ...' used to end in a traceback) must end as a refusal too.
    try:
        yield
    except RecursionError:
        raise MarkdownRefused(0, "Markdown nested too deeply to render; flatten the lists or quotes") from None
