"""Python-Markdown as this project uses it: its extensions and ours.

Kept apart from markup.py so that only a build that renders Markdown imports the parser
(a build with nothing to do never does).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from xml.etree import ElementTree

import markdown
from markdown.extensions import Extension
from markdown.extensions.tables import (
    PIPE_LEFT,
    PIPE_NONE,
    PIPE_RIGHT,
    TableExtension,
    TableProcessor,
)
from markdown.treeprocessors import Treeprocessor


class _StandalonePhotos(Treeprocessor):
    """A paragraph made of one image alone is a photo: it is taken out of the HTML and
    left as a paragraph holding only ``marker`` and its number, which markup.py turns
    into a photo block once the HTML is sanitised. The marker is made from the body's
    own hash, so no text an author writes can pass for one."""

    def __init__(self, md: markdown.Markdown, body: _Body):
        super().__init__(md)
        self.body = body

    def run(self, root: ElementTree.Element) -> None:
        found = self.body.found
        for paragraph in root.iter("p"):
            children = list(paragraph)
            if len(children) != 1 or children[0].tag != "img" or (paragraph.text or "").strip() or (children[0].tail or "").strip():
                continue
            image = children[0]
            found.append((image.get("src", ""), image.get("alt", ""), image.get("title", "")))
            paragraph.remove(image)
            paragraph.text = f"{self.body.marker}{len(found) - 1}"


class _ImagesToLinks(Treeprocessor):
    """An image inside text cannot be laid out as a photo: it becomes a link to it, never a load."""

    def run(self, root: ElementTree.Element) -> None:
        for parent in root.iter():
            for index, child in enumerate(list(parent)):
                if child.tag == "img":
                    link = ElementTree.Element("a", {"href": child.get("src", "")})
                    link.text = child.get("alt") or child.get("title") or child.get("src", "")
                    link.tail = child.tail
                    parent[index] = link


class _Body:
    """What the photo processor needs of the body being converted: its marker, and the list
    its standalone images go to. Set anew for every body."""

    def __init__(self) -> None:
        self.marker = ""
        self.found: list[tuple[str, str, str]] = []


class _OfflineExtension(Extension):
    def __init__(self, body: _Body):
        super().__init__()
        self.body = body

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (python-markdown's name)
        # After Python-Markdown's own unescaping (priority 0): an address written with a
        # backslash escape (a\_1.jpg) is then the address it means, not the parser's
        # placeholder for the escaped character (control characters, found nowhere).
        md.treeprocessors.register(_StandalonePhotos(md, self.body), "standalone_photos", -1)
        md.treeprocessors.register(_ImagesToLinks(md), "images_to_links", -2)


def convert(body: str, marker: str, found: list[tuple[str, str, str]]) -> str:
    """The HTML of one body (not yet sanitised): each standalone image's (src, alt, title) is
    appended to ``found`` and its paragraph left holding ``marker`` and its number.

    One parser serves every body of a process, reset before each (Python-Markdown's own way
    of converting many documents): made anew for each, it cost 0.4 ms a body, a third of the
    conversion. A conversion that does not end (a time budget spent, a parser's failure) drops
    the parser, whatever state it was left in. Each thread has its own: a parser holds the
    state of the body it converts."""
    parser, current = _parser(threading.get_ident())
    parser.reset()
    current.marker, current.found = marker, found
    try:
        return parser.convert(body)
    except BaseException:
        _parser.cache_clear()
        raise
    finally:
        current.found = []  # the caller's list is not kept past its body


def escapes_read(text: str) -> str:
    """``text`` with Markdown's backslash escapes read as the parser reads them (``a\\_1.jpg``
    is ``a_1.jpg``): where an address the parser gives stands in the source."""
    return _escape().sub(r"\1", text) if "\\" in text else text


@functools.cache
def _escape() -> re.Pattern[str]:
    characters = "".join(_parser(threading.get_ident())[0].ESCAPED_CHARS)
    return re.compile(r"\\([" + re.escape(characters) + "])")


@functools.cache
def _parser(thread: int) -> tuple[markdown.Markdown, _Body]:  # noqa: ARG001 -- the key
    body = _Body()
    # A safe, small set: no attr_list (it lets authors write attributes), no raw-HTML extensions.
    parser = markdown.Markdown(
        # LinearTableExtension is 'tables' with a test that costs linear time (below).
        extensions=["fenced_code", LinearTableExtension(), "sane_lists", _OfflineExtension(body)],
        output_format="html",
    )
    return parser, body


class _LinearTableProcessor(TableProcessor):
    """The tables extension's processor, with a test that reads only the rows it needs.

    The original splits and strips every line of the block for every test; a block of n
    headings is tested n times, so it cost n^2. The answers are the same.
    """

    def test(self, parent, block: str) -> bool:
        first, newline, rest = block.partition("\n")
        if not newline:
            return False
        header0 = first.strip(" ")
        self.border = PIPE_NONE
        if header0.startswith("|"):
            self.border |= PIPE_LEFT
        if self.RE_END_BORDER.search(header0) is not None:
            self.border |= PIPE_RIGHT
        row0_len = len(self._split_row(header0))
        is_table = row0_len > 1
        if not is_table and row0_len == 1 and self.border:
            for line in _lines(rest):
                row = line.strip(" ")
                is_table = row.startswith("|") or self.RE_END_BORDER.search(row) is not None
                if not is_table:
                    break
        if is_table:
            row = self._split_row(rest.partition("\n")[0].strip(" "))
            is_table = len(row) == row0_len and set("".join(row)) <= set("|:- ")
            if is_table:
                self.separator = row
        return is_table


def _lines(text: str) -> Iterator[str]:
    start = 0
    while True:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


class LinearTableExtension(TableExtension):
    """``tables``, registered under the same name and priority, with the linear test."""

    def extendMarkdown(self, md) -> None:
        super().extendMarkdown(md)
        md.parser.blockprocessors.register(_LinearTableProcessor(md.parser, self.getConfigs()), "table", 75)
