"""What needs absolute URLs: Atom feeds, sitemap.xml and robots.txt.

Made only when ``base_url`` is set; without it they are skipped with one note,
never written with broken links. Dates come from the content, never from the
clock, so the same sources give the same files.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice
from operator import attrgetter
from typing import NamedTuple

from ..config import SiteConfig
from ..core import urls
from ..core.hashing import hash_bytes
from ..core.languages import language_folder
from ..pages.lists import list_paths
from ..pages.listing import Article, Listing, listings_digest
from ..pages.planner import SitePlanner
from .base import Artifact, Job, Made, Output, SiteView
from .index_pages import index_paths

FEED_SIZE = 30


@dataclass(frozen=True)
class FeedEntry:
    path: str
    title: str
    day: date
    summary: str
    related: tuple[str, str] | None  # (hreflang, path) of the other language's page


# What XML 1.0 cannot hold at all, not even escaped: C0 controls but tab and line breaks,
# lone surrogates, U+FFFE and U+FFFF. One of them (an ESC pasted from a terminal) would make
# the whole feed unreadable, so feeds and the sitemap leave them out (pages keep the text verbatim).
# (Written as those few ranges: the negated class of everything allowed took 10 ms to compile.)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """Text for XML: as xml.sax.saxutils.escape (which would import urllib.request, http.client
    and email into every build, a tenth of a no-op build's time)."""
    return _NOT_XML.sub("", text).replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def quoteattr(text: str) -> str:
    """An attribute value with its quotes: as xml.sax.saxutils.quoteattr."""
    data = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in data:
        return f'"{data}"'
    if "'" not in data:
        return f"'{data}'"
    return '"{}"'.format(data.replace('"', "&quot;"))


def atom_feed(config: SiteConfig, language: str, feed_path: str, title: str, entries: Sequence[FeedEntry], author: str | None = None) -> bytes:
    base = config.base_url
    assert base, "feeds need base_url"
    newest = max((e.day for e in entries), default=date(2000, 1, 1))
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(language)}>',
        f"<title>{escape(title)}</title>",
        f"<id>{escape(urls.absolute_url(base, feed_path))}</id>",
        f'<link rel="self" href={quoteattr(urls.absolute_url(base, feed_path))}/>',
        f'<link rel="alternate" href={quoteattr(urls.absolute_url(base, urls.index_page(urls.FRONT, "" if language == config.language else language_folder(language))))}/>',
        f"<updated>{newest.isoformat()}T00:00:00Z</updated>",
        f"<author><name>{escape(config.author or author or config.title)}</name></author>",
    ]
    for entry in entries:
        url = urls.absolute_url(base, entry.path)
        lines += [
            "<entry>",
            f"<title>{escape(entry.title)}</title>",
            f"<id>{escape(url)}</id>",
            f'<link rel="alternate" href={quoteattr(url)}/>',
        ]
        if entry.related:
            # Not a second "alternate": feed readers take the last one as the entry's link, and an
            # English reader's feed opened the Arabic pages. "related" names it without misleading.
            hreflang, path = entry.related
            lines.append(f'<link rel="related" hreflang={quoteattr(hreflang)} href={quoteattr(urls.absolute_url(base, path))}/>')
        lines += [
            f"<updated>{entry.day.isoformat()}T00:00:00Z</updated>",
            f"<summary>{escape(entry.summary)}</summary>",
            "</entry>",
        ]
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def feed_entries(listings: Sequence[Listing], config: SiteConfig, english: bool) -> list[FeedEntry]:
    """The entries of a feed showing ``listings`` (chosen by :func:`feed_listings` or
    :func:`newest_listings`). Entries carry a summary and link to the page: a feed stays
    small however long the articles are."""
    target = config.translation.target
    entries = []
    for listing in listings:
        arabic, english_path = urls.segment_page(listing.slug, config.language), urls.companion_page(listing.slug, target)
        if english:
            entries.append(FeedEntry(english_path, listing.english_title, listing.date, listing.english_excerpt or "", (config.language, arabic)))
        else:
            alternate = (target, english_path) if listing.in_english else None
            entries.append(FeedEntry(arabic, listing.title, listing.date, listing.excerpt, alternate))
    return entries


def feed_listings(articles: Sequence[Article], english: bool) -> list[Listing]:
    """The FEED_SIZE newest dated segments of an edition (the English one: those with a
    companion), newest first and in the articles' order within a day. Chosen before any entry
    is made: a feed is keyed and made of thirty of the archive's listings.

    Articles come newest first by their newest segment, so once thirty are kept, an article
    no newer than the oldest of them has nothing to add, nor has any after it."""
    kept: list[tuple[int, int, Listing]] = []  # (day, -order): the root is the one to drop first
    order = 0
    for article in articles:
        if article.date is None or (len(kept) == FEED_SIZE and article.date.toordinal() <= kept[0][0]):
            break  # undated articles come last
        for listing in article.segments:
            order += 1
            if listing.date is None or (english and not listing.in_english):
                continue
            entry = (listing.date.toordinal(), -order, listing)
            if len(kept) < FEED_SIZE:
                heapq.heappush(kept, entry)
            elif entry[:2] > kept[0][:2]:
                heapq.heapreplace(kept, entry)
    return [listing for *_, listing in sorted(kept, key=lambda entry: entry[:2], reverse=True)]


def newest_listings(listings: Sequence[Listing]) -> list[Listing]:
    """The FEED_SIZE newest dated ``listings``, newest first, in their order within a day: what
    a feed of them shows, as :func:`feed_listings` chooses, for listings in one run where no
    article's date bounds what follows (a term's). The caller gives its edition's listings: an
    English term holds only stories with an English page (lists.collect_all_terms).

    A term's listings come in the site's order, nearly newest first: when none after the
    first thirty dated ones is newer than the oldest of them (ties go to the earlier, as a
    stable sort gives them), those thirty are the feed, found by passes in C. A full listing
    of the lists does this for every term (60,000 listings at 10,000 segments). A property
    test holds it to feed_listings, in the site's order and shuffled."""
    dated = filter(_DATE_OF, listings)
    chosen = list(islice(dated, FEED_SIZE))
    newest_after = max(map(_DATE_OF, dated), default=None)  # the rest, in the same pass
    if newest_after is not None and newest_after > min(map(_DATE_OF, chosen)):
        chosen = list(filter(_DATE_OF, listings))  # a later story is newer than one of the first thirty: sort them all
    return sorted(chosen, key=_DATE_OF, reverse=True)[:FEED_SIZE]


_DATE_OF = attrgetter("date")


class SitemapUrl(NamedTuple):
    # A tuple, not a frozen dataclass: a sitemap has one a page (20,000 at 10,000 segments),
    # made in a third of the time.
    path: str
    day: date | None
    alternates: tuple[tuple[str, str], ...] = ()  # (hreflang, path), including itself


# The sitemap protocol's bounds on one file (sitemaps.org; search engines refuse a file past
# either): 50,000 URLs and 50 MiB before compression. A site past them (25,000 segments
# with their English pages indexed) gets sitemap.xml as an index of numbered sitemaps,
# each within both; robots.txt names sitemap.xml either way.
SITEMAP_URLS_AT_MOST = 50_000
SITEMAP_BYTES_AT_MOST = 50 * 1024 * 1024

_SITEMAP_XMLNS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
_URLSET_OPEN = f'<?xml version="1.0" encoding="utf-8"?>\n<urlset {_SITEMAP_XMLNS} xmlns:xhtml="http://www.w3.org/1999/xhtml">\n'
_URLSET_CLOSE = "</urlset>\n"


def sitemap_files(config: SiteConfig, entries: Sequence[SitemapUrl]) -> dict[str, bytes]:
    """sitemap.xml (path -> bytes): one sitemap of every entry while it keeps within the
    protocol's bounds; past them, an index of ``sitemap-1.xml``, ``sitemap-2.xml``… holding
    the entries in the same order, each file within the bounds, each named in the index with
    the newest date of its entries."""
    base = config.base_url
    assert base, "a sitemap needs base_url"
    blocks = _url_blocks(base, entries)
    whole = _urlset(blocks)
    if len(blocks) <= SITEMAP_URLS_AT_MOST and len(whole) <= SITEMAP_BYTES_AT_MOST:
        return {"sitemap.xml": whole}
    files: dict[str, bytes] = {}
    parts = []
    for number, (start, stop) in enumerate(_sitemap_runs(blocks), start=1):
        name = f"sitemap-{number}.xml"
        files[name] = _urlset(blocks[start:stop])
        parts.append((name, max((entry.day for entry in entries[start:stop] if entry.day), default=None)))
    lines = ['<?xml version="1.0" encoding="utf-8"?>', f"<sitemapindex {_SITEMAP_XMLNS}>"]
    for name, newest in parts:
        lines.append(f"<sitemap>\n<loc>{escape(urls.absolute_url(base, name))}</loc>")
        if newest:
            lines.append(f"<lastmod>{newest.isoformat()}</lastmod>")
        lines.append("</sitemap>")
    lines.append("</sitemapindex>")
    files["sitemap.xml"] = ("\n".join(lines) + "\n").encode("utf-8")
    return files


def _url_blocks(base: str, entries: Sequence[SitemapUrl]) -> list[str]:
    """Each entry's <url> element, as text."""
    blocks = []
    # Each page of a pair is named three times (its own entry, then an alternate in both):
    # its link is made once; so is each day's date and each language's attribute.
    links: dict[tuple[str, str], str] = {}
    days: dict[date, str] = {}
    # An address is escaped as its base escaped once and its path: a path's encoding
    # (urls.absolute_url) holds nothing XML escapes.
    escaped_base = escape(base)
    for path, day, alternates in entries:
        lastmod = ""
        if day:
            lastmod = days.get(day) or days.setdefault(day, f"\n<lastmod>{day.isoformat()}</lastmod>")
        alternate = ""
        for pair in alternates:
            link = links.get(pair)
            if link is None:
                hreflang, target = pair
                link = links[pair] = f'\n<xhtml:link rel="alternate" hreflang={quoteattr(hreflang)} href={quoteattr(urls.absolute_url(base, target))}/>'
            alternate += link
        blocks.append(f"<url>\n<loc>{urls.absolute_url(escaped_base, path)}</loc>{lastmod}{alternate}\n</url>\n")
    return blocks


def _urlset(blocks: Sequence[str]) -> bytes:
    return (_URLSET_OPEN + "".join(blocks) + _URLSET_CLOSE).encode("utf-8")


def _sitemap_runs(blocks: Sequence[str]) -> list[tuple[int, int]]:
    """(start, stop) of each numbered sitemap: as many entries as the bounds let in, in order."""
    room = SITEMAP_BYTES_AT_MOST - len((_URLSET_OPEN + _URLSET_CLOSE).encode("utf-8"))
    runs = []
    start, size = 0, 0
    for at, block in enumerate(blocks):
        length = len(block.encode("utf-8"))
        if at > start and (at - start == SITEMAP_URLS_AT_MOST or size + length > room):
            runs.append((start, at))
            start, size = at, 0
        size += length
    runs.append((start, len(blocks)))
    return runs


def sitemap_urls(config: SiteConfig, listings: Sequence[Listing], index_paths: Sequence[str], list_paths: Sequence[tuple[str, date | None]] = ()) -> list[SitemapUrl]:
    """Every page a search engine may index; noindex pages are left out. ``list_paths``: the
    term and archive pages, with the date of the newest story each lists."""
    language, target, reviewed_only = config.language, config.translation.target, config.translation.noindex_unreviewed
    out = [SitemapUrl(path, None) for path in index_paths] + [SitemapUrl(path, day) for path, day in list_paths]
    append = out.append
    for listing in listings:
        arabic = urls.segment_page(listing.slug, language)
        if listing.in_english and (listing.english_reviewed or not reviewed_only):
            english = urls.companion_page(listing.slug, target)
            pair = ((language, arabic), (target, english))
            append(SitemapUrl(arabic, listing.date, pair))
            append(SitemapUrl(english, listing.date, pair))
        else:
            append(SitemapUrl(arabic, listing.date))
    return out


def robots_txt(config: SiteConfig) -> bytes:
    assert config.base_url
    return f"User-agent: *\nAllow: /\nSitemap: {urls.absolute_url(config.base_url, 'sitemap.xml')}\n".encode("utf-8")


class FeedFiles(Output):
    """The Atom feed of each language, sitemap.xml and robots.txt."""

    name = "feeds"

    def artifacts(self, view: SiteView) -> list[Artifact]:
        config = view.config
        if not config.base_url:
            return []
        found = []
        planner = SitePlanner(config)
        editions = [(config.language, config.title, False)]
        if config.translation.enabled:
            editions.append((config.translation.target, planner.feed_title(), True))
        for language, title, english in editions:
            path = urls.feed(language)
            author = config.translation.title if english else None
            shown = feed_listings(view.articles, english)
            make = lambda p=path, lang=language, t=title, e=english, a=author, s=shown: atom_feed(config, lang, p, t, feed_entries(s, config, e), a)  # noqa: E731
            found.append(Artifact(path, hash_bytes(listings_digest(shown), str(english)), _made(path, make)))
        # The sitemap is made of every listing's address, date and edition and of the paths
        # (and dates) of the site's lists, which follow from where the listings stand: its key
        # is their shape alone, which no edit of a title or excerpt changes. A worker makes it
        # beside the list pages (0.1 s at 10,000 segments, which this process spent alone).
        found.append(Artifact("sitemap.xml", hash_bytes(view.lists_shape, "sitemap"), lambda _memo: Job(_sitemap, None, long=True)))
        found.append(Artifact("robots.txt", hash_bytes("robots"), _made("robots.txt", lambda: robots_txt(config))))
        return found

    def notes(self, view: SiteView) -> list[str]:
        if view.config.base_url:
            return []
        return ["no base_url in site.yml: feeds, sitemap.xml, robots.txt and canonical links are skipped (set base_url to make them)"]


def _sitemap(view: SiteView, _argument: None) -> Made:
    config = view.config
    return Made(sitemap_files(config, sitemap_urls(config, view.listings, index_paths(view), list_paths(view))))


def _made(path: str, produce):
    return lambda _memo: Made({path: produce()})
