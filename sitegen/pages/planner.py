"""The site plan: which pages exist, in what order, and what each one shows.

Pure functions from segments and companions to ``Page`` values: an output path,
a template name and a context of plain data with every link already computed
(relative to that page) through ``urls``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

from markupsafe import Markup

from ..config import SiteConfig, section_name
from ..content.markup import Block, translated_block_html, with_anchor
from ..content.metadata import (
    digits,
    format_date,
    hijri_date,
    hijri_names,
    localise_digits,
    make_excerpt,
    month_names,
)
from ..content.segment import Segment
from ..content.terms import names_by_slug, term_slug
from ..core import urls
from ..core.languages import base_language, direction, language_folder
from ..media.records import PhotoRecord
from ..translation.companions import Companion
from .figures import FigureWords, figure_html
from .labels import LABELS, labels_for, part_label, translation_notice
from .listing import Article, Listing, ListingFields
from .paging import pagination, series
from .sharing import SharedPage, page_sharing

_ARABIC_RUN = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]+(?:[\s\d.,:؛،-]+[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]+)*")


# Where a segment page's related stories go: filled once the whole site is known (pages/related.py).
RELATED_SLOT = Markup("<!--sitegen:related-->")

# Tags shown with an entry of the index and of the lists.
ENTRY_TAGS = 3


class ShownDate(NamedTuple):
    iso: str
    display: str


class RelatedEntry(NamedTuple):
    """A related story in a page's list. A tuple: Jinja reads its fields by attribute at once
    (a dict's keys cost it a failed attribute lookup each), and twenty thousand pages list five."""

    href: str
    title: str  # in the page's own language: the English edition lists only stories it has
    date: ShownDate | None


@dataclass(frozen=True)
class Page:
    path: str  # relative to the output root, POSIX
    template: str
    context: dict[str, Any]
    source_rel: str | None = None  # the source file the page is made from, for incremental builds


def isolate_arabic(escaped: str) -> str:
    """Arabic left inside English text (names, quotes) is isolated so it cannot reorder its neighbours."""
    if escaped.isascii():
        return escaped  # most English paragraphs: nothing to look for, checked in C
    return _ARABIC_RUN.sub(lambda m: f'<bdi lang="ar">{m.group(0)}</bdi>', escaped)


@lru_cache(maxsize=4096)
def _shown_date(day: date, language: str, numerals: str, calendar: str) -> dict[str, str | None]:
    """A date as pages show it, made once a process: an archive's ten thousand entries, each
    on several lists, fall on a few thousand days. Shared: pages only read it."""
    hijri = hijri_date(day, language, numerals) if calendar == "gregorian+hijri" else None
    return {"iso": day.isoformat(), "display": format_date(day, language, numerals), "hijri": hijri}


class SitePlanner:
    """Builds the Page values of one site. Holds only read-only inputs."""

    def __init__(self, config: SiteConfig, companions: dict[tuple[str, int], Companion] | None = None, photos: dict[str, PhotoRecord] | None = None, made_once: dict[tuple, Any] | None = None):
        self.config = config
        # What the pages of a folder share, which they only read: their context, term links and
        # entries' term links. A list page's fifty entries show a few terms over and over
        # (their links were a quarter of a tag's or a month's page). Given, it is shared by the
        # planners of one build's files in a process (FileContext.planner_memo): made again for
        # each file, the contexts of its three pages were 3-4 % of a build's CPU on an archive
        # of one story a file. Every value in it follows from the configuration alone.
        self._made_once: dict[tuple, Any] = {} if made_once is None else made_once
        # Only the companions of the article being planned: a page depends on its own file alone.
        self.companions = companions or {}
        # The processed photos of that article, by the path its text gives them.
        self.photos = photos or {}
        self.english = config.translation.enabled
        self.source_language = config.language
        self.target = config.translation.target
        self.target_folder = language_folder(self.target)
        self.has_search = config.search
        self.has_archive = config.offline_archive
        self.numerals = config.numerals

    # -- shared pieces -------------------------------------------------
    @cached_property
    def term_names(self) -> dict[str, Mapping[str, str]]:
        """The English names of tags and authors by slug, found at the first term shown in
        English (finding a table hashes it whole: not for every planner of a file's pages)."""
        return {taxonomy: names_by_slug(names) for taxonomy, names in self.config.taxonomies}

    def companion_of(self, segment: Segment) -> Companion | None:
        return self.companions.get((segment.source_rel, segment.number))

    def is_english(self, language: str) -> bool:
        """Whether a page in ``language`` belongs to the translation's edition."""
        return base_language(language) != base_language(self.source_language)

    def _marked(self, language: str | None) -> dict[str, str | None]:
        """lang and dir for a piece of text in ``language``, or None for both when it needs none."""
        return {"lang": language, "dir": direction(language) if language else None}

    def site_name(self, english: bool) -> dict[str, Any]:
        """The site's name on a page of one edition: the English edition's own (translation.title),
        or the Arabic one marked as Arabic."""
        own = self.config.translation.title if english else None
        if english and not own:
            return {"text": self.config.title} | self._marked(self.source_language)
        return {"text": own or self.config.title} | self._marked(None)

    def _site_description(self, english: bool) -> str | None:
        if not english:
            return self.config.description
        if self.config.translation.description or base_language(self.target) != "en":
            return self.config.translation.description
        return labels_for(self.target)["edition_description"]

    def _nav(self, path: str, english: bool) -> list[dict[str, Any]]:
        """The site's links: its own edition's index and search, then the other edition in its own language."""
        own = self.target_folder if english else ""
        labels = labels_for(self.target if english else self.source_language)
        nav = [{"href": urls.relative_url(path, urls.index_page(urls.FRONT, own)), "label": labels["index"]} | self._marked(None)]
        other = {"href": urls.relative_url(path, urls.index_page(urls.FRONT, "" if english else self.target_folder)), "label": labels["other_edition"]}
        other |= self._marked(self.source_language if english else self.target)
        if self.english and not english:
            nav.append(other)
        if self.has_search:
            nav.append({"href": urls.relative_url(path, urls.search_page(own)), "label": labels["search"]} | self._marked(None))
        if english:
            nav.append(other)
        return nav

    def base_context(self, path: str, language: str, page_title: str) -> dict[str, Any]:
        """What every page's template is given: its title and address, and what the pages of
        its folder and language share (made once a planner: its values are only read)."""
        key = ("context", path.rpartition("/")[0], language)
        shared = self._made_once.get(key)
        if shared is None:
            shared = self._made_once[key] = self._folder_context(path, language)
        return shared | {"page_title": page_title, "canonical": urls.absolute_url(self.config.base_url, path) if self.config.base_url else None}

    def _folder_context(self, path: str, language: str) -> dict[str, Any]:
        """The part of a page's context that follows from its folder and language alone (its
        links are relative to the folder)."""
        english = self.is_english(language)
        own = self.target_folder if english else ""
        name = self.site_name(english)
        return {
            "lang": language,
            "dir": direction(language),
            "site_title": name["text"],
            "site_title_lang": name["lang"],
            "site_title_dir": name["dir"],
            "description": self._site_description(english),
            "labels": labels_for(language),
            "nav": self._nav(path, english),
            "home_url": urls.relative_url(path, urls.index_page(urls.FRONT, own)),
            "root": urls.root_prefix(path),
            "icon_url": urls.relative_url(path, urls.ICON),
            "noindex": False,
            "alternates": [],
            "feeds": self._feeds(path, english) if self.config.base_url else [],
            "body_class": "",
            "search_url": urls.relative_url(path, urls.search_page(own)) if self.has_search else None,
        }

    def _feeds(self, path: str, english: bool) -> list[dict[str, Any]]:
        """The <link>s to both feeds. A title is in the page's language where it can be (an English
        page calls the Arabic feed "News Archive (Arabic)"); ``title_lang`` marks one that is not."""
        english_name = self.config.translation.title
        source, target = self.source_language, self.target
        arabic = {"title": self.config.title, "lang": source, "title_lang": source if english else None}
        if english and english_name:
            arabic |= {"title": f"{english_name} (Arabic)", "title_lang": None}
        feeds = [arabic | {"href": urls.relative_url(path, urls.feed(source))}]
        if self.english:
            # Its title is the English name, or the Arabic one with "(English)": Arabic text either way without one.
            title_lang = (None if english else target) if english_name else (source if english else None)
            feeds.append({"title": self.feed_title(), "lang": target, "title_lang": title_lang, "href": urls.relative_url(path, urls.feed(target))})
        return feeds

    def _date(self, day: date | None, language: str) -> dict[str, str | None] | None:
        """A date as a page in ``language`` shows it; ``iso`` (the Gregorian date) is for <time datetime>."""
        if day is None:
            return None
        return _shown_date(day, language, self.numerals_of(language), self.config.calendar)

    def numerals_of(self, language: str) -> str:
        """site.yml's 'numerals' rule the site's own language; the translation writes its locale's digits."""
        return "auto" if self.is_english(language) else self.numerals

    def feed_title(self) -> str:
        """The English feed's title: the English edition's name, or the Arabic one said to be the English feed's."""
        return self.config.translation.title or f"{self.config.title} (English)"

    def _alternates(self, path: str, pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
        # hreflang alternates must be absolute for search engines; relative ones still help browsers offline.
        base = self.config.base_url
        return [
            {"hreflang": lang, "href": urls.absolute_url(base, target) if base else urls.relative_url(path, target)}
            for lang, target in pairs
        ]

    # -- segment pages ---------------------------------------------------
    def segment_pages(self, article: Article, only: Container[int] | None = None) -> Iterator[tuple[int, Page]]:
        """The pages of the article's segments, each with its segment's number (of the segments
        numbered in ``only``, if given: the others' pages are the previous build's). One at a
        time, as the caller takes them: a file of hundreds of segments is not held whole."""
        count = len(article.segments)
        for index, segment in enumerate(article.segments):
            if only is not None and segment.number not in only:
                continue
            previous = article.segments[index - 1] if index > 0 else None
            following = article.segments[index + 1] if index + 1 < count else None
            yield segment.number, self._arabic_page(segment, previous, following, count)
            companion = self.companion_of(segment)
            if companion is not None:
                yield segment.number, self._companion_page(segment, companion, previous, following, count)
                yield segment.number, self._parallel_page(segment, companion, previous, following)

    def term_label(self, taxonomy: str, term: str, english: bool) -> dict[str, Any]:
        """A term as an edition shows it: a section by its name from site.yml, a tag or author by
        its English name from site.yml on English pages (else as written); Arabic on an English
        page is marked as Arabic."""
        if taxonomy == "sections":
            shown = section_name(self.config, term, self.target if english else self.source_language)
        else:
            shown = (self.term_names[taxonomy].get(term_slug(term)) if english and taxonomy in self.term_names else None) or term
        return {"text": shown} | self._marked(self.source_language if english and _ARABIC_RUN.search(shown) else None)

    def _term_links(self, path: str, taxonomy: str, terms: Sequence[str], english: bool) -> list[dict[str, Any]]:
        """Links to the pages of a segment's tags, authors or section, in the page's edition."""
        made = self._made_once
        where = path.rpartition("/")[0]  # pages of one folder link a term alike
        links = []
        for term in terms:
            link = made.get(("link", where, taxonomy, term, english))
            if link is None:
                folder = self.target_folder if english else ""
                href = urls.relative_url(path, urls.term_page(taxonomy, term_slug(term), urls.FRONT, folder))
                link = made[("link", where, taxonomy, term, english)] = self.term_label(taxonomy, term, english) | {"href": href}
            links.append(link)
        return links

    def _block_html(self, block: Block, path: str) -> str:
        """A block as the original shows it: its HTML, or its photo's figure."""
        photo = block.photo
        if photo is None:
            return block.html
        label = labels_for(self.source_language)["photo_credit"]
        return figure_html(photo, self.photos.get(photo.src), path, FigureWords(photo.alt, photo.caption, photo.credit, label))

    def _translated_html(self, block: Block, translated: tuple[str, ...], path: str) -> str:
        """A block as the companion shows it; Arabic left in it is isolated."""
        photo = block.photo
        if photo is None:
            html = translated_block_html(block, translated)
            return isolate_arabic(html) if block.units else html
        # The units were the alt text and the caption, those present, in that order.
        words = iter(translated)
        alt = next(words, "") if photo.alt else ""
        caption = next(words, "") if photo.caption else ""
        label = labels_for(self.target)["photo_credit"]
        return figure_html(photo, self.photos.get(photo.src), path, FigureWords(alt, caption, photo.credit, label, isolate_arabic))

    def _neighbour(self, path: str, segment: Segment | None, english: bool) -> dict[str, Any] | None:
        if segment is None:
            return None
        companion = self.companion_of(segment) if english else None
        if english and companion is not None:
            return {"href": urls.relative_url(path, urls.companion_page(segment.slug, self.target)), "title": companion.title, "lang": None, "dir": None}
        # An English page whose neighbour has no companion links to the Arabic original, marked as such.
        lang = self.source_language if english else None
        return {"href": urls.relative_url(path, urls.segment_page(segment.slug, self.source_language)), "title": segment.title, "lang": lang, "dir": direction(self.source_language) if lang else None}

    def _arabic_page(self, segment: Segment, previous: Segment | None, following: Segment | None, count: int) -> Page:
        path = urls.segment_page(segment.slug, self.source_language)
        context = self.base_context(path, self.source_language, segment.title)
        companion = self.companion_of(segment)
        context |= {
            "date": self._date(segment.date, self.source_language),
            "author": segment.author,
            "authors": self._term_links(path, "authors", segment.authors, english=False),
            "section": next(iter(self._term_links(path, "sections", (segment.section,) if segment.section else (), english=False)), None),
            "tags": self._term_links(path, "tags", segment.tags, english=False),
            "part": part_label(segment.number, count, self.source_language, self.numerals),
            "blocks": [Markup(with_anchor(self._block_html(b, path), f"p{i}")) for i, b in enumerate(segment.blocks, start=1)],
            "companion": {"href": urls.relative_url(path, urls.companion_page(segment.slug, self.target)), "lang": self.target, "dir": direction(self.target), "label": f"Read in English: {companion.title}"} if companion else None,
            "parallel_url": urls.relative_url(path, urls.parallel_page(segment.slug)) if companion else None,
            "notice": None,
            "previous": self._neighbour(path, previous, english=False),
            "next": self._neighbour(path, following, english=False),
            "index_url": urls.relative_url(path, urls.index_page(urls.FRONT)),
            "description": segment.excerpt,
            "related_slot": RELATED_SLOT,
        }
        if companion:
            context["alternates"] = self._alternates(path, [(self.source_language, path), (self.target, urls.companion_page(segment.slug, self.target))])
        counterpart = urls.companion_page(segment.slug, self.target) if companion else None
        shared = SharedPage(path, self.source_language, segment.title, segment.excerpt, context["site_title"], segment, segment.tags, counterpart=counterpart)
        context["sharing"] = page_sharing(self.config, shared, self.photos)
        return Page(path, "segment.html", context, segment.source_rel)

    def _companion_page(self, segment: Segment, companion: Companion, previous: Segment | None, following: Segment | None, count: int) -> Page:
        path = urls.companion_page(segment.slug, self.target)
        context = self.base_context(path, self.target, companion.title)
        blocks = []
        for index, (block, translated) in enumerate(zip(segment.blocks, companion.blocks), start=1):
            blocks.append(Markup(with_anchor(self._translated_html(block, translated, path), f"p{index}")))
        original = urls.segment_page(segment.slug, self.source_language)
        context |= {
            "page_title": companion.title,
            "date": self._date(segment.date, self.target),
            "author": segment.author,
            "authors": self._term_links(path, "authors", segment.authors, english=True),
            "section": next(iter(self._term_links(path, "sections", (segment.section,) if segment.section else (), english=True)), None),
            "tags": [],
            "part": part_label(segment.number, count, self.target),
            "blocks": blocks,
            "companion": {"href": urls.relative_url(path, original), "lang": self.source_language, "dir": direction(self.source_language), "label": f"الأصل العربي: {segment.title}"},
            "parallel_url": urls.relative_url(path, urls.parallel_page(segment.slug)),
            "notice": translation_notice(companion.providers, companion.date, companion.reviewed),
            "previous": self._neighbour(path, previous, english=True),
            "next": self._neighbour(path, following, english=True),
            "index_url": urls.relative_url(path, urls.index_page(urls.FRONT, self.target_folder)),
            "noindex": self.config.translation.noindex_unreviewed and not companion.reviewed,
            "alternates": self._alternates(path, [(self.source_language, original), (self.target, path)]),
            "description": companion_excerpt(companion),
            "related_slot": RELATED_SLOT,
        }
        context["labels"] = labels_for(self.target) | {"parallel": "Arabic and English side by side"}
        shared = SharedPage(path, self.target, companion.title, context["description"], context["site_title"], segment, (), companion, original)
        context["sharing"] = page_sharing(self.config, shared, self.photos)
        return Page(path, "segment.html", context, segment.source_rel)

    def _parallel_page(self, segment: Segment, companion: Companion, previous: Segment | None, following: Segment | None) -> Page:
        path = urls.parallel_page(segment.slug)
        context = self.base_context(path, self.source_language, segment.title)
        pairs = []
        for index, (block, translated) in enumerate(zip(segment.blocks, companion.blocks), start=1):
            pairs.append(
                {
                    "anchor": f"p{index}",
                    "number": str(index),
                    "label": f"الفقرة {index}",
                    "source": Markup(self._block_html(block, path)),
                    "target": Markup(self._translated_html(block, translated, path)),
                }
            )

        def parallel_neighbour(other: Segment | None) -> dict[str, Any] | None:
            if other is None:
                return None
            if self.companion_of(other) is not None:
                return {"href": urls.relative_url(path, urls.parallel_page(other.slug)), "title": other.title, "lang": None, "dir": None}
            return self._neighbour(path, other, english=False)

        context |= {
            "target_lang": self.target,
            "title_translated": companion.title,
            "date": self._date(segment.date, self.source_language),
            "original_url": urls.relative_url(path, urls.segment_page(segment.slug, self.source_language)),
            "companion_url": urls.relative_url(path, urls.companion_page(segment.slug, self.target)),
            "notice": translation_notice(companion.providers, companion.date, companion.reviewed),
            "pairs": pairs,
            "previous": parallel_neighbour(previous),
            "next": parallel_neighbour(following),
            "index_url": urls.relative_url(path, urls.index_page(urls.FRONT)),
            "noindex": self.config.translation.noindex_unreviewed and not companion.reviewed,
            "body_class": "wide",
        }
        return Page(path, "parallel.html", context, segment.source_rel)

    # -- index pages -------------------------------------------------------
    def index_chunks(self, articles: Sequence[Article], english: bool = False) -> list[tuple[int, int, tuple[Listing, ...]]]:
        """(page number, highest number, listings) of each index page (paging.series); listings newest first."""
        return series([s for a in articles for s in a.segments if not english or s.in_english], self.config.per_page)

    def index_pages(self, articles: Sequence[Article], english: bool = False) -> list[Page]:
        return [self.index_page(n, top, chunk, english) for n, top, chunk in self.index_chunks(articles, english)]

    def index_page(self, number: int, top: int, listings: Sequence[Listing], english: bool = False, browse: Sequence[str] = ()) -> Page:
        """Page ``number`` of an edition's index (paging: ``top`` is the highest number).
        ``browse``: the lists the front page links to ("archive", "tags", "authors", "sections")."""
        language = self.target if english else self.source_language
        folder = self.target_folder if english else ""
        labels = labels_for(language)
        name = self.site_name(english)
        path = urls.index_page(number, folder)
        front = number == urls.FRONT
        context = self.base_context(path, language, name["text"] if front else f"{labels['page']} {number}")
        context |= {
            # The site's name (marked when it is Arabic on an English page), then the page's number.
            "heading": name,
            "heading_page": None if front else f"{labels['page']} {localise_digits(str(number), language, self.numerals_of(language))}",
            "entries": [self.index_entry(path, listing, language, english) for listing in listings],
            "page_number": number,
            "front_page": front,
            "list_page": False,
            "browse": [],
            "pagination": pagination(path, number, top, (language, self.numerals_of(language), labels["front_page"]), lambda n: urls.index_page(n, folder)),
        }
        if self.has_archive and front:
            # Both editions' front pages: site.zip holds both, and an English reader offline
            # finds it from the English index too.
            context["archive"] = {"href": urls.relative_url(path, urls.ARCHIVE), "label": labels["archive"]}
        if front:
            targets = {"archive": (urls.archive_index(folder), labels["archive_link"])} | {kind: (urls.term_index(kind, folder), labels[kind]) for kind in ("tags", "authors", "sections")}
            context["browse"] = [{"href": urls.relative_url(path, targets[kind][0]), "label": targets[kind][1]} for kind in browse]
        return Page(path, "index.html", context)

    def index_entry(self, path: str, listing: Listing, language: str, english: bool) -> dict[str, Any]:
        arabic_url = urls.relative_url(path, urls.segment_page(listing.slug, self.source_language))
        english_url = urls.relative_url(path, urls.companion_page(listing.slug, self.target))
        entry = {
            "date": self._date(listing.date, language),
            "part": part_label(listing.number, listing.count, language, self.numerals_of(language)),
            "continues": listing.number > 1,
            # Its section and first tags, so a reader can follow a story from any list (a few:
            # fifty entries with every tag would outgrow the page).
            "terms": self._entry_terms(path, listing.section, listing.tags[:ENTRY_TAGS], english),
        }
        if english:
            return entry | {
                "href": english_url,
                "title": listing.english_title,
                "excerpt": listing.english_excerpt,
                "alternate": {"href": arabic_url, "lang": self.source_language, "dir": direction(self.source_language), "label": "العربية"},
            }
        alternate = {"href": english_url, "lang": self.target, "dir": direction(self.target), "label": "English"}
        return entry | {
            "href": arabic_url,
            "title": listing.title,
            "excerpt": listing.excerpt,
            "alternate": alternate if listing.in_english else None,
        }

    def _entry_terms(self, path: str, section: str | None, tags: tuple[str, ...], english: bool) -> list[dict[str, Any]]:
        """A list entry's links to its section and tags, each made once for the pages of a
        folder (entries only read them). Kept term by term, not as each entry's run of terms:
        with five of 500 tags a story, the runs were as many as the stories, in every folder."""
        where, made, terms = path.rpartition("/")[0], self._made_once, []
        for taxonomy, names in (("sections", (section,) if section else ()), ("tags", tags)):
            for name in names:
                link = made.get(("entry link", where, taxonomy, name, english))
                if link is None:
                    link = made[("entry link", where, taxonomy, name, english)] = self._term_links(path, taxonomy, (name,), english)[0] | {"kind": taxonomy[:-1]}
                terms.append(link)
        return terms

    def related_entry(self, path: str, story: tuple[str, str, date | None], english: bool) -> RelatedEntry:
        """A related story, (slug, title, date), as a segment page of one edition lists it."""
        slug, title, day = story
        target = urls.companion_page(slug, self.target) if english else urls.segment_page(slug, self.source_language)
        shown = self._date(day, self.target if english else self.source_language)
        return RelatedEntry(urls.relative_url(path, target), title, ShownDate(shown["iso"], shown["display"]) if shown else None)

    def search_page(self, english: bool = False) -> Page:
        """search.html, or en/search.html: one index, each page in its own language, showing
        English titles and pages where there are some."""
        language = self.target if english else self.source_language
        path = urls.search_page(self.target_folder if english else "")
        labels = labels_for(language)
        context = self.base_context(path, language, labels["search"])
        # What search.js needs to speak the page's language and write dates as the pages do.
        context["search_settings"] = search_settings(language, english, self.numerals_of(language), self.config.calendar)
        return Page(path, "search.html", context)

    def not_found_page(self) -> Page:
        path = urls.NOT_FOUND
        context = self.base_context(path, self.source_language, labels_for(self.source_language)["not_found"])
        if self.config.base_url:
            # GitHub Pages serves 404.html at any depth: relative links would point nowhere.
            context["home_url"] = self.config.base_url + urls.INDEX
            context["nav"], context["feeds"] = ([item | {"href": self.config.base_url + item["href"]} for item in context[key]] for key in ("nav", "feeds"))
        context["noindex"] = True
        context["canonical"] = None
        # Without base_url, a script finds the site's root from the address (GitHub Pages serves
        # this page at any depth); the folders below the root are the ones this site makes.
        context["root_folders"] = sorted({language_folder(self.source_language), self.target_folder, "parallel", "search"})
        context["has_base_url"] = bool(self.config.base_url)
        # With base_url, a script makes it the page's <base> over http(s), so that the relative icon
        # (and service worker) resolve at any depth, while the page opened from disk stays offline.
        context["base_url"] = self.config.base_url
        # The page is the site's language's; its English paragraph leads to the English edition.
        context["english_home_url"] = (self.config.base_url or "") + urls.index_page(urls.FRONT, self.target_folder) if self.english else context["home_url"]
        context["english_labels"] = LABELS["en"] | ({} if self.english else {"not_found_link": "Go to the index"})
        return Page(path, "404.html", context)


def search_settings(language: str, english: bool, numerals: str, calendar: str = "gregorian") -> str:
    """What search.js needs to speak a search page's language and write dates as the pages do
    (format_date: day, CLDR month name, year, in the locale's digits; hijri_date), as JSON."""
    labels = labels_for(language)
    return json.dumps({
        "english": english,
        "hijri": hijri_names(language) if calendar == "gregorian+hijri" else None,
        "months": month_names(language),
        "digits": digits(language, numerals),
        "text": {key: value for key, value in labels.items() if key.startswith("search")} | {"searching": labels["searching"]},
    }, ensure_ascii=False, sort_keys=True)


def companion_excerpt(companion: Companion) -> str:
    """The start of a companion's text: its index entry's excerpt and its page's description."""
    return make_excerpt(companion.opening)


def listing_of(segment: Segment, companion: Companion | None, count: int) -> Listing:
    english_excerpt = companion_excerpt(companion) if companion else None
    return ListingFields(
        source_rel=segment.source_rel,
        number=segment.number,
        count=count,
        slug=segment.slug,
        title=segment.title,
        date=segment.date,
        excerpt=segment.excerpt,
        english_title=companion.title if companion else None,
        english_excerpt=english_excerpt,
        english_reviewed=companion.reviewed if companion else False,
        tags=segment.tags,
        authors=segment.authors,
        section=segment.section,
    ).listing()


