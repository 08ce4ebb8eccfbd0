"""Splitting a source text into segments, and reading front matter.

Splitting happens on raw lines, before any Markdown parsing: in Markdown a
``===`` line under text is a setext heading, and it must never turn the last
paragraph of a segment into a heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..core.diagnostics import Problem, error, warning
from ..core.textrules import INVISIBLE_MARKS
from ..core.yamlfile import YamlError, key_lines, parse_yaml, read_flat_mapping
from .fences import fenced_lines
from .metadata import DIGITS
from .sources import SourceFile

# Around '===' the invisible marks an RTL editor leaves at the ends of lines do not count: the
# line is still a separator; and a line of them alone is a blank line (it was a paragraph
# showing nothing).
_BLANKS = "\\s" + INVISIBLE_MARKS  # white space as str.isspace says, and the marks
SEPARATOR = re.compile(f"^[{_BLANKS}]*={{3,}}[{_BLANKS}]*$")
_MARKS_ONLY = re.compile(f"[{_BLANKS}]*[{INVISIBLE_MARKS}][{_BLANKS}]*")
_MARK_OR_BLANK_START = re.compile(f"[{_BLANKS}]")
FRONT_MATTER_FENCE = "---"
# A segment's lead photo: the file, what it shows, its caption and who took it.
LEAD_PHOTO_KEYS = ("image", "image_alt", "image_caption", "image_credit")

FRONT_MATTER_KEYS = ("title", "date", "slug", "author", "tags", "summary", "translate", "draft", *LEAD_PHOTO_KEYS)


@dataclass(frozen=True)
class FrontMatter:
    values: tuple[tuple[str, Any], ...] = ()
    # absolute line in the source file of each key, for messages about a value
    lines: tuple[tuple[str, int], ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.values).get(key, default)

    def line_of(self, key: str, default: int | None = None) -> int | None:
        return dict(self.lines).get(key, default)

    def merged_over(self, base: "FrontMatter") -> "FrontMatter":
        """This segment's keys win over the file's."""
        values = dict(base.values) | dict(self.values)
        lines = dict(base.lines) | dict(self.lines)
        return FrontMatter(tuple(values.items()), tuple(lines.items()))


@dataclass(frozen=True)
class RawSegment:
    """One segment's text before rendering: body lines and where they stand in the file."""

    source: SourceFile
    number: int  # 1-based among the file's non-empty segments
    line: int  # first line of the body in the file
    body: str
    front_matter: FrontMatter = field(default_factory=FrontMatter)


def split_lines_into_chunks(lines: list[str], fenced_code_aware: bool) -> list[tuple[int, list[str]]]:
    """Cut lines at separator lines; returns (first line number, lines) per chunk.

    Separator lines themselves are dropped. With ``fenced_code_aware`` a
    separator inside a fenced code block is kept as text.
    """
    chunks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 1
    # The splitter must agree exactly with the renderer: a '===' line kept as code here but
    # shown as text there would make the line above it a setext <h1>. Python-Markdown's
    # fenced_code rules differ from CommonMark's (an unclosed fence, an indented one, a
    # longer closing fence), so fences.py follows the renderer's, in linear time.
    in_code = fenced_lines(lines) if fenced_code_aware else set()
    for index, line in enumerate(lines, start=1):
        if index - 1 not in in_code and SEPARATOR.match(line):
            chunks.append((start, current))
            current, start = [], index + 1
            continue
        current.append(line)
    chunks.append((start, current))
    return chunks


def read_front_matter(lines: list[str], first_line: int, source: SourceFile) -> tuple[FrontMatter, int, list[Problem]]:
    """Front matter at the top of ``lines`` (after blank lines), if any.

    Returns the front matter, how many lines it took, and problems.
    """
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines) or lines[index].rstrip() != FRONT_MATTER_FENCE:
        return FrontMatter(), 0, []
    opening = index
    closing = None
    for j in range(opening + 1, len(lines)):
        if lines[j].rstrip() in (FRONT_MATTER_FENCE, "..."):
            closing = j
            break
    open_line = first_line + opening
    if closing is None:
        return FrontMatter(), 0, [
            error(source.path, open_line, "front matter opened with '---' is never closed: add a line '---' after its last key")
        ]
    yaml_text = "\n".join(lines[opening + 1 : closing])
    offset = open_line  # line of the first YAML line is open_line + 1
    flat = read_flat_mapping(yaml_text)  # the common shape, without PyYAML's parser
    if flat is None:
        try:
            doc = parse_yaml(yaml_text)
        except YamlError as exc:
            line = offset + exc.line if exc.line else open_line
            return FrontMatter(), closing + 1, [error(source.path, line, f"front matter: {exc.message}: fix the YAML between the '---' lines")]
        flat = doc.value, key_lines(doc.node)
    read, read_lines = flat
    if read is None:
        return FrontMatter(), closing + 1, []
    if not isinstance(read, dict):
        return FrontMatter(), closing + 1, [
            error(source.path, open_line + 1, "front matter must be 'key: value' lines (a mapping), e.g. 'title: ...'")
        ]
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    lines_of: dict[str, int] = {}
    for key, line in read_lines.items():
        absolute = offset + line
        value = read.get(key)
        if key not in FRONT_MATTER_KEYS:
            problems.append(
                warning(source.path, absolute, f"unknown front matter key '{key}' ignored: known keys are {', '.join(FRONT_MATTER_KEYS)}")
            )
            continue
        checked, problem = _check_front_matter_value(key, value)
        if problem:
            problems.append(error(source.path, absolute, problem))
            continue
        values[key] = checked
        lines_of[key] = absolute
    return FrontMatter(tuple(values.items()), tuple(lines_of.items())), closing + 1, problems


def _check_front_matter_value(key: str, value: Any) -> tuple[Any, str | None]:
    """Coerce a front matter value to its type, or say what is wrong with it."""
    if key == "author" and isinstance(value, list):  # several authors
        names = tuple(str(name).strip() for name in value if isinstance(name, (str, int)) and not isinstance(name, bool) and str(name).strip())
        if names and len(names) == len(value):
            return names, None
        return None, "'author' must be a name, or a list of names such as [سلمى, خالد]"
    if key in ("title", "author", "summary", *LEAD_PHOTO_KEYS):
        if isinstance(value, date):  # 'title: 2012-02-24' is text to the author, a date to YAML
            value = value.isoformat()
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = str(value).strip()
            if text:
                return text, None
        return None, f"'{key}' must be non-empty text"
    if key == "slug":
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value), None
        return None, "'slug' must be text such as 'homs-2012-02'"
    if key in ("translate", "draft"):
        if isinstance(value, bool):
            return value, None
        return None, f"'{key}' must be true or false"
    if key == "tags":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(t, (str, int)) and not isinstance(t, bool) for t in value):
            parts = (part.strip() for t in value for part in _TAG_SEPARATOR.split(str(t)))
            return tuple(part for part in parts if part), None
        return None, "'tags' must be a list of words, e.g. [حمص, سوريا]"
    if key == "date":
        return _parse_date(value)
    raise AssertionError(key)


# Tags written as one text are separated by commas, Latin or Arabic ('،', which an Arabic
# keyboard gives, also within a YAML list: [حمص، سوريا] is one item to YAML).
_TAG_SEPARATOR = re.compile("[,\u060c]")
# A date written in Arabic-Indic or Persian digits (٢٠١٢-٠٣-٠١) is the date it says, as a file
# name's is (its pattern's \d takes any digit).
_LATIN_DIGITS = str.maketrans(DIGITS["arab"] + DIGITS["arabext"], DIGITS["latn"] * 2)


def _parse_date(value: Any) -> tuple[date | None, str | None]:
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    if isinstance(value, str):
        text = value.strip().translate(_LATIN_DIGITS)
        for candidate in (text, text[:10]):
            try:
                return date.fromisoformat(candidate), None
            except ValueError:
                continue
    return None, f"date {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2012-02-24"


def _blank_if_invisible(line: str) -> str:
    """The line, or nothing when it holds only invisible marks and blanks (looked at only when it
    starts with one: most lines start with a letter)."""
    if line and _MARK_OR_BLANK_START.match(line) and _MARKS_ONLY.fullmatch(line):
        return ""
    return line


def split_source(source: SourceFile) -> tuple[FrontMatter, list[RawSegment], list[Problem]]:
    """File front matter and the non-empty segments of one source file."""
    problems: list[Problem] = []
    lines = [_blank_if_invisible(line) for line in source.text.split("\n")]
    file_front, used, found = read_front_matter(lines, 1, source)
    problems += found
    # File front matter is cut off before splitting, so '===' inside it never splits.
    chunks = split_lines_into_chunks(lines[used:], fenced_code_aware=source.kind == "md")
    chunks = [(start + used, chunk) for start, chunk in chunks]
    segments: list[RawSegment] = []
    if not any(line.strip() for line in lines):
        return file_front, [], [warning(source.path, None, "empty file: nothing to publish; add text or remove the file")]
    empty_segments: list[Problem] = []
    for position, (start, chunk) in enumerate(chunks):
        own_front, own_used, found = read_front_matter(chunk, start, source) if position > 0 else (FrontMatter(), 0, [])
        problems += found
        body_lines = chunk[own_used:]
        skip = 0
        while skip < len(body_lines) and not body_lines[skip].strip():
            skip += 1
        body_lines = body_lines[skip:]
        while body_lines and not body_lines[-1].strip():
            body_lines.pop()
        if not body_lines:
            if position == 0 and used and len(chunks) == 1:
                problems.append(warning(source.path, start, "file has front matter but no text: add the article's text after it"))
            elif position == 0:
                empty_segments.append(warning(source.path, start, "empty segment before the first separator: remove the separator line above the text"))
                problems.append(empty_segments[-1])
            else:
                empty_segments.append(warning(source.path, start - 1, "empty segment after separator: remove the extra separator line"))
                problems.append(empty_segments[-1])
            continue
        segments.append(
            RawSegment(
                source=source,
                number=len(segments) + 1,
                line=start + own_used + skip,
                body="\n".join(body_lines),
                front_matter=own_front.merged_over(file_front),
            )
        )
    if not segments and empty_segments:
        # A file of separator lines alone is one problem, not one warning per separator
        # (two of them on its first line): say it once.
        problems = [p for p in problems if p not in empty_segments]
        problems.append(warning(source.path, chunks[1][0] - 1, "file has only separator lines and no text: nothing to publish; add text or remove the file"))
    return file_front, segments, problems
