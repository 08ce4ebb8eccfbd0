"""What needs absolute URLs: Atom feeds, sitemap.xml and robots.txt.

Made only when ``base_url`` is set; without it they are skipped with one note,
never written with broken links. Dates come from the content, never from the
clock, so the same sources give the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape, quoteattr

from . import urls
from .config import SiteConfig
from .content import Segment
from .pages import Article
from .translation import Companion

FEED_SIZE = 30


@dataclass(frozen=True)
class FeedEntry:
    path: str
    title: str
    day: date
    summary: str
    content_html: str
    alternate: tuple[str, str] | None  # (hreflang, path) of the other language's page


def atom_feed(config: SiteConfig, language: str, feed_path: str, title: str, entries: Sequence[FeedEntry]) -> bytes:
    base = config.base_url
    assert base, "feeds need base_url"
    newest = max((e.day for e in entries), default=date(2000, 1, 1))
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(language)}>',
        f"<title>{escape(title)}</title>",
        f"<id>{escape(urls.absolute_url(base, feed_path))}</id>",
        f'<link rel="self" href={quoteattr(urls.absolute_url(base, feed_path))}/>',
        f'<link rel="alternate" href={quoteattr(urls.absolute_url(base, urls.index_page(1, "" if language == config.language else language)))}/>',
        f"<updated>{newest.isoformat()}T00:00:00Z</updated>",
        f"<author><name>{escape(config.author or config.title)}</name></author>",
    ]
    for entry in entries:
        url = urls.absolute_url(base, entry.path)
        lines += [
            "<entry>",
            f"<title>{escape(entry.title)}</title>",
            f"<id>{escape(url)}</id>",
            f'<link rel="alternate" href={quoteattr(url)}/>',
        ]
        if entry.alternate:
            hreflang, path = entry.alternate
            lines.append(f'<link rel="alternate" hreflang={quoteattr(hreflang)} href={quoteattr(urls.absolute_url(base, path))}/>')
        lines += [
            f"<updated>{entry.day.isoformat()}T00:00:00Z</updated>",
            f"<summary>{escape(entry.summary)}</summary>",
            # Content is escaped HTML: a reader shows it, nothing in it can break the XML.
            f'<content type="html">{escape(entry.content_html)}</content>',
            "</entry>",
        ]
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def feed_entries(articles: Sequence[Article], companions: dict[tuple[str, int], Companion], target: str, english: bool, render_english_blocks) -> list[FeedEntry]:
    """Newest dated segments first; undated ones cannot be placed in a feed and are left out."""
    entries = []
    for article in articles:
        for segment in article.segments:
            if segment.date is None:
                continue
            companion = companions.get((segment.source_rel, segment.number))
            if english:
                if companion is None:
                    continue
                entries.append(
                    FeedEntry(
                        urls.companion_page(segment.slug, target), companion.title, segment.date,
                        _first_text(companion), render_english_blocks(segment, companion), ("ar", urls.segment_page(segment.slug)),
                    )
                )
            else:
                entries.append(
                    FeedEntry(
                        urls.segment_page(segment.slug), segment.title, segment.date, segment.excerpt,
                        "".join(b.html for b in segment.blocks),
                        (target, urls.companion_page(segment.slug, target)) if companion else None,
                    )
                )
    entries.sort(key=lambda e: e.day, reverse=True)  # stable: keeps article order within a day
    return entries[:FEED_SIZE]


def _first_text(companion: Companion) -> str:
    return next((" ".join(b) for b in companion.blocks if b), "")[:300]


@dataclass(frozen=True)
class SitemapUrl:
    path: str
    day: date | None
    alternates: tuple[tuple[str, str], ...] = ()  # (hreflang, path), including itself


def sitemap(config: SiteConfig, entries: Sequence[SitemapUrl]) -> bytes:
    base = config.base_url
    assert base, "a sitemap needs base_url"
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">',
    ]
    for entry in entries:
        lines.append("<url>")
        lines.append(f"<loc>{escape(urls.absolute_url(base, entry.path))}</loc>")
        if entry.day:
            lines.append(f"<lastmod>{entry.day.isoformat()}</lastmod>")
        for hreflang, path in entry.alternates:
            lines.append(f'<xhtml:link rel="alternate" hreflang={quoteattr(hreflang)} href={quoteattr(urls.absolute_url(base, path))}/>')
        lines.append("</url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def sitemap_urls(config: SiteConfig, segments: Sequence[Segment], companions: dict[tuple[str, int], Companion], index_paths: Sequence[str]) -> list[SitemapUrl]:
    """Every page a search engine may index; noindex pages are left out."""
    target = config.translation.target
    out = [SitemapUrl(path, None) for path in index_paths]
    for segment in segments:
        companion = companions.get((segment.source_rel, segment.number))
        arabic, english = urls.segment_page(segment.slug), urls.companion_page(segment.slug, target)
        english_indexed = companion is not None and (companion.reviewed or not config.translation.noindex_unreviewed)
        pair = ((config.language, arabic), (target, english)) if english_indexed else ()
        out.append(SitemapUrl(arabic, segment.date, pair))
        if english_indexed:
            out.append(SitemapUrl(english, segment.date, pair))
    return out


def robots_txt(config: SiteConfig) -> bytes:
    assert config.base_url
    return f"User-agent: *\nAllow: /\nSitemap: {urls.absolute_url(config.base_url, 'sitemap.xml')}\n".encode("utf-8")
