"""From a decoded source file to its segments: text, metadata and blocks.

Pure: takes a SourceFile (and its git date) and returns frozen Segments plus
the problems found. Runs per file, so files can be processed in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..core.diagnostics import Problem, error
from ..core.textrules import balance_bidi
from .markdown_guard import MarkdownRefused
from .markup import Block, photo_block, render_body
from .metadata import (
    date_from_file_name,
    default_slug,
    derive_title,
    make_excerpt,
    slug_problem,
)
from .photos import PhotoRef
from .terms import term_slug
from .sources import SourceFile
from .splitting import FrontMatter, split_source


@dataclass(frozen=True)
class Segment:
    source_rel: str
    source_path: Path
    number: int  # 1-based within its file
    line: int  # first line of its text in the file
    kind: str
    title: str
    title_given: bool  # from front matter (then it is translated on its own)
    date: date | None
    slug: str
    slug_line: int
    author: str | None  # every author, as shown together
    tags: tuple[str, ...]
    summary: str | None
    translate: bool
    draft: bool
    blocks: tuple[Block, ...]
    excerpt: str
    authors: tuple[str, ...] = ()
    section: str | None = None  # the first folder under content/, when the file is in one

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)

    @property
    def units(self) -> tuple[str, ...]:
        """Everything sent for translation, in order: the given title first, then block units."""
        units = (self.title,) if self.title_given else ()
        return units + tuple(u for b in self.blocks for u in b.units)


def build_segments(source: SourceFile, git_date: date | None) -> tuple[tuple[Segment, ...], list[Problem]]:
    file_front, raw_segments, problems = split_source(source)
    file_date = file_front.get("date") or date_from_file_name(source.rel.rsplit("/", 1)[-1]) or git_date
    segments = []
    for raw in raw_segments:
        meta = raw.front_matter
        try:
            blocks = render_body(raw.body, source.kind, raw.line)
        except MarkdownRefused as refused:  # hostile Markdown: this segment is an error, the build goes on
            problems.append(error(source.path, raw.line + refused.line_offset, refused.reason))
            continue
        lead = lead_photo(meta)
        if lead is not None:
            blocks = (photo_block(lead), *blocks)
        if not blocks:
            problems.append(error(source.path, raw.line, "segment has no readable text after cleaning (only markup?): add text"))
            continue
        # Title and excerpt come from the first prose the story tells (a block with units, as the
        # English companion's do), not from code or a table it opens with; those only when it
        # has nothing else.
        first_text = next((b.prose for b in blocks if b.units and b.prose), "") or next((b.prose for b in blocks if b.prose), "")
        given_authors = meta.get("author")
        authors = _once(balance_bidi(a) for a in ((given_authors,) if isinstance(given_authors, str) else given_authors or ()))
        tags = _once(balance_bidi(tag) for tag in meta.get("tags") or ())
        unnamed = _unnamed_terms(source, meta, tags, authors)
        if unnamed:
            problems += unnamed
            continue
        given_title = meta.get("title")
        # 'is None', not 'or': an empty 'slug: ""' is a mistake to report, not a request for the default.
        given_slug = meta.get("slug")
        if given_slug and len(raw_segments) > 1 and meta.line_of("slug") == file_front.line_of("slug"):
            # A slug at the top of a file names the article; its segments are numbered under it.
            given_slug = f"{given_slug}-{raw.number}"
        slug = given_slug if given_slug is not None else default_slug(source.rel, raw.number)
        slug_line = meta.line_of("slug", raw.line)
        problem = slug_problem(slug)
        if problem:
            if given_slug is None:
                problem += " (this slug is made from the file name: rename the file, or set 'slug' in the front matter)"
            problems.append(error(source.path, slug_line, problem))
            continue
        segments.append(
            Segment(
                source_rel=source.rel,
                source_path=source.path,
                number=raw.number,
                line=raw.line,
                kind=source.kind,
                title=balance_bidi(given_title or derive_title(first_text) or f"{source.rel} ({raw.number})"),
                title_given=bool(given_title),
                date=meta.get("date") or file_date,
                slug=slug,
                slug_line=slug_line,
                author="، ".join(authors) if authors else None,
                tags=tags,
                summary=balance_bidi(meta.get("summary")) if meta.get("summary") else None,
                translate=meta.get("translate", True),
                draft=meta.get("draft", False),
                blocks=blocks,
                excerpt=balance_bidi(meta.get("summary") or make_excerpt(first_text)),
                authors=authors,
                section=source.rel.split("/", 1)[0] if "/" in source.rel else None,
            )
        )
    return tuple(segments), problems


def _once(terms) -> tuple[str, ...]:
    """Terms as written, each term once: spellings of one term (Homs, HOMS) are shown as first written."""
    kept: dict[str, str] = {}
    for term in terms:
        kept.setdefault(term_slug(term) or term, term)
    return tuple(kept.values())


def _unnamed_terms(source: SourceFile, meta: FrontMatter, tags: tuple[str, ...], authors: tuple[str, ...]) -> list[Problem]:
    """A tag or author with no letter or digit cannot name its page: an error for its author."""
    problems = []
    for key, terms in (("tags", tags), ("author", authors)):
        for term in terms:
            if not term_slug(term):
                what = "tag" if key == "tags" else "author"
                problems.append(error(source.path, meta.line_of(key), f"{what} {term!r} has no letter or digit to name its page by: write it with words"))
    return problems


def lead_photo(meta: FrontMatter) -> PhotoRef | None:
    """The photo front matter puts at the top of the segment (``image`` and its words)."""
    src = meta.get("image")
    if not src:
        return None
    words = [balance_bidi(meta.get(key) or "") for key in ("image_alt", "image_caption", "image_credit")]
    return PhotoRef(src, *words, line=meta.line_of("image") or 1, lead=True)
