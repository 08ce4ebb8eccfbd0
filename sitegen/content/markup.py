"""Turning a segment's body into safe HTML blocks.

A block is one top-level element of the page (a paragraph, a heading, a list,
a code block). Blocks are the unit of the parallel view and carry the plain-text
*units* that are sent for translation: text only, never markup, code or URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

from ..core.hashing import hash_bytes
from ..core.textrules import collapse_spaces
from .markdown_guard import budget_seconds, check, time_budget
from .photos import PhotoRef, line_of

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "dl", "dt", "dd",
    "pre", "code", "em", "strong", "b", "i", "u", "s", "del", "ins", "sub", "sup", "small", "mark", "q",
    "cite", "abbr", "a", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "span", "bdi", "bdo",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "abbr": {"title"},
    "bdo": {"dir"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "*": {"lang", "dir"},
}
# Relative links stay allowed; javascript:, data: and every other scheme are removed.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
_TRANSLATED_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "dl"}
_LIST_TAGS = {"ul", "ol"}
_VOID = {"br", "hr", "img", "wbr"}


@dataclass(frozen=True)
class Block:
    tag: str
    html: str  # safe HTML of the element, without an id
    units: tuple[str, ...]  # plain-text translation units; empty for code and tables
    line: int  # where the block starts in the source (best effort for Markdown)
    # A photo: its HTML is made with the page (it needs the processed files); html is empty.
    photo: PhotoRef | None = None

    @property
    def text(self) -> str:
        return " ".join(self.units) if self.units else _plain_text(self.html)

    @property
    def prose(self) -> str:
        """The block's text when it is part of the story (a photo's alt text is not)."""
        return "" if self.photo is not None else self.text


def photo_block(photo: PhotoRef) -> Block:
    return Block("figure", "", photo.units, photo.line, photo)


def text_blocks(body: str, first_line: int) -> tuple[Block, ...]:
    """Plain text: every non-blank line is one paragraph, kept verbatim."""
    blocks = []
    for offset, line in enumerate(body.split("\n")):
        if line.strip():
            blocks.append(Block("p", f"<p>{html.escape(line, quote=False)}</p>", (line,), first_line + offset))
    return tuple(blocks)


def sanitise(fragment: str) -> str:
    import nh3  # imported by the builds that render Markdown, not by every run

    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


# Characters that some of Markdown, the sanitiser and the HTML parser treat otherwise than as
# text (controls, non-breaking and other odd spaces, line and paragraph separators, the byte
# order mark, noncharacters). Every white space but " " and the newline is one of them.
_ODD = "\x00-\x09\x0b-\x1f\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\ufdd0-\ufdef\ufffe\uffff"

# What keeps a Markdown body from being plain paragraphs: an odd character or one Markdown's
# inline syntax or its escaping gives a meaning to (_PLAIN_BREAKERS), or a line that opens or
# changes a block: one starting or ending with white space (code, a hard break, a stripped
# start), starting with a numbered list's number, or with "-" (a list, a rule, a setext
# heading's underline). Any of them sends the body through Python-Markdown.
_PLAIN_BREAKERS = re.compile(f"[\\\\`*_\\[\\]!<>&#|~=+{_ODD}]")

# What keeps a Markdown body from being parsed one paragraph at a time: the odd characters,
# the line edges above, what opens or goes on with a block at a line's start (a list's marker,
# a heading, a quote, a rule, a fence, a table, a link's definition, HTML), or what reaches
# past its paragraph: raw HTML and entities (the sanitiser reads the body as a whole: a tag
# left open goes on in the next paragraph), images (numbered across the body), tables. A "*"
# or "**" at a line's start with a word after it opens no block (a list's marker is followed
# by white space, a rule holds nothing else): a story's bold dateline, "**دمشق** -", is emphasis.
_PARAGRAPH_BREAKERS = re.compile(f"[<>&!|~{_ODD}]")
_NUMBERED = re.compile(r"\d+[.)]")
_STAR_OPENS = re.compile(r"\*(?!\*?[^\s*])")


def _opens_block(text: str, openers: str) -> bool:
    """Whether a line of ``text`` (which holds no odd character: its only white space is " "
    and the newline) starts or ends with a space, starts with a numbered list's number or with
    one of ``openers`` ("*" as _STAR_OPENS says). Read line by line: a pattern anchored at
    every line's start and end (re.M) tried every position of the body, 40 µs a segment of
    1.3 KB where the search of its characters takes 7."""
    for line in text.split("\n"):
        first = line[:1]
        if first == " " or line[-1:] == " " or _NUMBERED.match(line):
            return True
        if first and first in openers and (first != "*" or _STAR_OPENS.match(line)):
            return True
    return False


def not_plain(text: str) -> bool:
    """Whether ``text`` holds any Markdown (or any character or line Markdown reads otherwise
    than as a plain paragraph's text)."""
    return _PLAIN_BREAKERS.search(text) is not None or _opens_block(text, "-")


def not_paragraphs(body: str) -> bool:
    """Whether ``body`` may hold anything but paragraphs of inline markup."""
    return _PARAGRAPH_BREAKERS.search(body) is not None or _opens_block(body, "-+#=_`[\\*")


def _paragraphs(body: str) -> Iterator[str]:
    """A body's paragraphs, as Python-Markdown's parser cuts it (at blank lines)."""
    return (block.strip("\n") for block in body.split("\n\n") if block.strip())


def plain_paragraphs(body: str) -> list[tuple[str, str]] | None:
    """The top-level elements Python-Markdown and the sanitiser make of a body of plain
    paragraphs (blank lines between them, no markup), made directly; None for any other body.

    Most of a newsroom's Markdown is prose: parsed, a segment cost a millisecond, half of a
    cold build's time for a Markdown archive. tests/test_markup.py checks that both ways give
    the same blocks, on random bodies of every kind of character."""
    if not_plain(body):
        return None
    return [("p", f"<p>{text}</p>") for text in _paragraphs(body)]


# Emphasis, the markup prose has most: "*em*" or "**strong**" around text that neither starts
# nor ends with white space, holds no "*" and stays on its line, with no "*" touching it
# outside (Arabic attaches its conjunctions: "و**الجيش**" is as common as "**الجيش**").
_EMPHASIS = re.compile(r"(?<!\*)(\*\*?)(?!\s)([^*\n]+?)(?<!\s)\1(?!\*)")
_EMPHASIS_TAGS = {"*": "em", "**": "strong"}


def emphasised_paragraph(text: str) -> str | None:
    """The HTML Python-Markdown and the sanitiser make of a paragraph whose only markup is
    emphasis (``_EMPHASIS``) of plain text, made directly; None for any other paragraph.
    tests/test_markup.py compares it with the parser on random paragraphs."""
    if not_plain(_EMPHASIS.sub(r"\2", text)):
        return None  # markup of another kind, or a "*" the pattern leaves: the parser decides
    return "<p>" + _EMPHASIS.sub(_emphasis_html, text) + "</p>"


def _emphasis_html(match: re.Match) -> str:
    tag = _EMPHASIS_TAGS[match[1]]
    return f"<{tag}>{match[2]}</{tag}>"


def markdown_blocks(body: str, first_line: int) -> tuple[Block, ...]:
    """Raises MarkdownRefused (line counted from the body's start) for hostile Markdown."""
    plain = plain_paragraphs(body)  # linear time whatever the body: no guard needed
    if plain is not None:
        return _blocks_of(plain, first_line)
    if not not_paragraphs(body):
        return _paragraph_by_paragraph(body, first_line)
    return parsed_blocks(body, first_line)


def _paragraph_by_paragraph(body: str, first_line: int) -> tuple[Block, ...]:
    """The blocks of a body of paragraphs with inline markup only (emphasis, links, code): each
    paragraph is all Python-Markdown would make of it within the body, so only those with
    markup are parsed, each alone (tests/test_markup.py compares with the whole body parsed),
    and of those, a paragraph of plain text and emphasis is made without the parser."""
    pieces: list[tuple[str, str]] = []  # ("", text): a paragraph left to the parser
    for text in _paragraphs(body):
        if not not_plain(text):
            pieces.append(("p", f"<p>{text}</p>"))
        else:
            made = emphasised_paragraph(text)
            pieces.append(("p", made) if made is not None else ("", text))
    if all(tag for tag, _ in pieces):
        return _blocks_of(pieces, first_line)
    from .markdown_parser import convert  # Python-Markdown, imported only when needed

    check(body)
    made_pieces: list[tuple[str, str]] = []
    with time_budget(budget_seconds(body)):  # one budget for the whole body, as parsed whole
        for tag, piece in pieces:
            made_pieces += [(tag, piece)] if tag else split_top_level(sanitise(convert(piece, "", [])))
    return _blocks_of(made_pieces, first_line)


def parsed_blocks(body: str, first_line: int) -> tuple[Block, ...]:
    """The blocks of a Markdown body as Python-Markdown and the sanitiser make them."""
    from .markdown_parser import convert  # Python-Markdown, imported only when needed

    check(body)  # shapes known to cost superlinear time are refused before parsing
    # Made of the body itself: an author cannot write the marker into the body it is made from.
    marker = "photo-" + hash_bytes(body)[:20] + "-"
    found: list[tuple[str, str, str]] = []
    with time_budget(budget_seconds(body)):  # and anything else that runs away is stopped
        rendered = sanitise(convert(body, marker, found))
        pieces = split_top_level(rendered)
    return _blocks_of(pieces, first_line, _photos_found(found, body, first_line), marker)


def _photos_found(found: list[tuple[str, str, str]], body: str, first_line: int) -> list[PhotoRef]:
    """Each standalone image as a photo, with the line it is written on: looked for in order,
    in the lines as the parser reads them (escapes read), and never more lines read in all
    than a few times the body's. An address found nowhere (20,000 written a\\_1.jpg, before
    escapes were read) sent each search to the end of the body: photos times lines."""
    from .markdown_parser import escapes_read

    photos, line = [], first_line
    lines = [escapes_read(text) for text in body.split("\n")] if found else []
    left = 4 * len(lines) + 64
    for src, alt, title in found:
        line, read = line_of(lines, src, first_line, line, left)
        left -= read
        photos.append(PhotoRef(src, _plain_text(alt), _plain_text(title), "", line))
    return photos


def _blocks_of(pieces: list[tuple[str, str]], first_line: int, photos: list[PhotoRef] = (), marker: str = "") -> tuple[Block, ...]:
    blocks = []
    for tag, fragment in pieces:
        if photos and tag == "p":
            number = _plain_text(fragment).removeprefix(marker)
            if number != _plain_text(fragment) and number.isdigit() and int(number) < len(photos):
                blocks.append(photo_block(photos[int(number)]))
                continue
        if tag in _LIST_TAGS:
            units = tuple(u for u in (_plain_text(item) for item in _list_items(fragment)) if u)
        elif tag in _TRANSLATED_TAGS:
            text = _plain_text(fragment)
            units = (text,) if text else ()
        else:
            units = ()
        if not units and tag in _TRANSLATED_TAGS | _LIST_TAGS:
            continue  # emptied by the sanitiser (e.g. a lone <img onerror=...>): nothing to show
        blocks.append(Block(tag, fragment, units, first_line))
    return tuple(blocks)


def render_body(body: str, kind: str, first_line: int) -> tuple[Block, ...]:
    """Raises MarkdownRefused for a Markdown body that would take too long (see markdown_guard.py)."""
    return markdown_blocks(body, first_line) if kind == "md" else text_blocks(body, first_line)


def with_anchor(block_html: str, anchor: str) -> str:
    """Give the block's outer element an id, shared by both languages in the parallel view."""
    return re.sub(r"^<([a-zA-Z0-9]+)", lambda m: f'<{m.group(1)} id="{anchor}"', block_html, count=1)


def translated_block_html(block: Block, translations: tuple[str, ...]) -> str:
    """The English counterpart of a block: translated text, escaped, in the block's own element."""
    if not block.units:
        return block.html  # code and tables are shown as they are
    escaped = [html.escape(t, quote=False) for t in translations]
    if block.tag in _LIST_TAGS:
        items = "".join(f"<li>{t}</li>" for t in escaped)
        return f"<{block.tag}>{items}</{block.tag}>"
    if block.tag == "blockquote":
        return "<blockquote><p>" + " ".join(escaped) + "</p></blockquote>"
    tag = block.tag if block.tag != "dl" else "p"
    return f"<{tag}>" + " ".join(escaped) + f"</{tag}>"


class _TopLevelSplitter(HTMLParser):
    """Records where each top-level element starts, as offsets into the fragment."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=False)
        self.depth = 0
        self.starts: list[tuple[str, int]] = []
        # HTMLParser counts lines by "\n" alone; str.splitlines() also breaks at \r, \x0b,
        # \x0c, \x1c-\x1e, \x85, U+2028 and U+2029, which put every later start in the
        # wrong place (a paragraph cut inside its own <p>).
        self._line_offsets = [0]
        for line in fragment.split("\n"):
            self._line_offsets.append(self._line_offsets[-1] + len(line) + 1)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self.depth == 0:
            row, col = self.getpos()
            self.starts.append((tag, self._line_offsets[row - 1] + col))
        if tag not in _VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            self.depth = max(0, self.depth - 1)


def split_top_level(fragment: str) -> list[tuple[str, str]]:
    """Cut sanitised HTML into its top-level elements (tag, html)."""
    parser = _TopLevelSplitter(fragment)
    parser.feed(fragment)
    parser.close()
    starts = parser.starts
    pieces: list[tuple[str, str]] = []
    for index, (tag, start) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else len(fragment)
        piece = fragment[start:end].strip()
        if piece:
            pieces.append((tag, piece))
    leading = fragment[: starts[0][1]].strip() if starts else fragment.strip()
    if leading:  # bare text outside any element (nh3 can leave it): keep it as a paragraph
        pieces.insert(0, ("p", f"<p>{leading}</p>"))
    return pieces


def _list_items(fragment: str) -> list[str]:
    inner = re.sub(r"^<[^>]+>|</[^>]+>$", "", fragment.strip())
    return [tag_html for tag, tag_html in split_top_level(inner) if tag == "li"]


# Tags that separate words; every other (inline) tag joins its text to its neighbours.
_WORD_BREAKING_TAG = re.compile(
    r"</?(?:p|br|hr|h[1-6]|blockquote|ul|ol|li|dl|dt|dd|pre|table|thead|tbody|tfoot|tr|th|td|caption|div)\b[^>]*>", re.I
)


def _plain_text(fragment: str) -> str:
    # An inline tag must not become a space: "*مائلة*." is "مائلة." and "**حمص**،" is "حمص،",
    # not "مائلة ." -- the text goes to the translator, the derived title and the excerpt.
    text = _WORD_BREAKING_TAG.sub(" ", fragment)
    text = re.sub(r"<[^>]+>", "", text)
    return collapse_spaces(html.unescape(text))
