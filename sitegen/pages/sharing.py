"""What a segment's page says of itself to the sites that show a link to it, and to search engines.

A link shared on Facebook, WhatsApp, Telegram or X is previewed from the page's Open Graph and
Twitter card ``<meta>``s; search engines read a schema.org ``NewsArticle`` in JSON-LD. Both are
made here, for an Arabic segment page and for its English companion, as plain data: (attribute,
name, content) triples that the template prints (escaped, like any value), and the JSON-LD text,
already made safe here to sit inside a ``<script>`` element.

Open Graph wants absolute URLs: ``og:url``, ``og:image`` and the JSON-LD's URLs are written only
when ``base_url`` is set, never relative. A date is written only for a dated segment: an undated
one says nothing rather than something wrong.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup

from ..config import SiteConfig, section_name
from ..content.metadata import cut_at_word
from ..content.segment import Segment
from ..core import urls
from ..core.languages import locale_identifier
from ..core.remembered import package_stamp, remembered
from ..core.textrules import balance_bidi
from ..media.records import PhotoRecord
from ..translation.companions import Companion

# Google shows at most this much of a NewsArticle's headline.
HEADLINE_LIMIT = 110
_JPEG = "image/jpeg"
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A <script> ends at the first "</script" whatever JSON thinks, and "<!--" in it changes how the
# rest is parsed: escaping <, > and & keeps both out. U+2028/U+2029 ended lines in older
# JavaScript parsers, which some readers of JSON-LD still are.
_SCRIPT_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


@dataclass(frozen=True)
class SharedPage:
    """One segment page as the planner has made it: the words it shows, in its own language."""

    path: str  # the page's output path
    language: str  # its language tag, as configured (ar-SY, en)
    title: str
    description: str  # its description (the excerpt): may be empty
    site_name: str  # the name of its edition
    segment: Segment
    tags: tuple[str, ...]  # the tags the page shows (the companion shows none: they are not translated)
    companion: Companion | None = None  # on the English page: its own text
    counterpart: str | None = None  # the page in the other language, when there is one


@dataclass(frozen=True)
class _Image:
    url: str  # the largest JPEG, absolute
    width: int
    height: int
    alt: str
    every: tuple[str, ...]  # every JPEG, largest first


@dataclass(frozen=True)
class _Facts:
    """What the tags and the JSON-LD are both written from."""

    url: str | None  # the page's absolute URL (None without base_url)
    published: date | None
    modified: date | None
    section: str | None
    image: _Image | None


def page_sharing(config: SiteConfig, page: SharedPage, photos: dict[str, PhotoRecord]) -> dict[str, Any]:
    """The page's Open Graph and Twitter ``meta`` triples, and its JSON-LD (markup safe in a <script>)."""
    base = config.base_url
    published = page.segment.date
    facts = _Facts(
        url=urls.absolute_url(base, page.path) if base else None,
        published=published,
        modified=_modified(published, page.companion),
        section=_section(config, page.segment.source_rel, page.language),
        image=_lead_image(page, photos, base),
    )
    other = config.language if page.companion is not None else config.translation.target
    meta = _open_graph(page, facts, other) + _twitter(page, facts)
    # Safe: script_json leaves nothing that can end the element or open a comment.
    return {"meta": meta, "json_ld": Markup(script_json(_news_article(config, page, facts)))}


_OPEN_GRAPH_BARE = {"ar": "ar_AR"}


def facebook_locale(tag: str) -> str:
    """A language tag in Open Graph's ``ll_TT`` form: ``ar-SY`` -> ``ar_SY``, ``zh-Hant-TW`` -> ``zh_TW``.

    A bare language takes its usual territory from Babel's ``LOCALE_ALIASES`` (``en`` -> ``en_US``);
    one Babel has none for stays bare rather than get a made-up territory. Arabic is the exception:
    Babel says ``ar_SY``, which would place every pan-Arab paper in Syria; Open Graph's own list
    (Facebook's locales) has ``ar_AR`` for Arabic without a country.
    """
    # CLDR's reading of the tag (a region only where a region can stand), without its script.
    language, *rest = locale_identifier(tag).split("_")
    region = next((part for part in rest if not (len(part) == 4 and part.isalpha())), None)
    if region:
        return f"{language}_{region}"
    return _OPEN_GRAPH_BARE.get(language) or _locale_aliases().get(language, language)


@functools.lru_cache(maxsize=1)
def _locale_aliases() -> dict[str, str]:
    """Babel's ``LOCALE_ALIASES``, kept between processes (core/remembered.py): importing Babel
    for them cost every build that made a page 25 ms."""
    return remembered("locale-aliases", package_stamp("babel"), _babel_locale_aliases, _are_aliases)


def _babel_locale_aliases() -> dict[str, str]:
    from babel.core import LOCALE_ALIASES  # only when not remembered

    return dict(LOCALE_ALIASES)


def _are_aliases(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()) and bool(value)


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps made one a page


def script_json(value: Any) -> str:
    """JSON to sit inside a <script> element: deterministic, and unable to close it or open a comment."""
    text = _JSON.encode(value)
    for character, escaped in _SCRIPT_SAFE:  # str.replace, not str.translate: a tenth of the time
        if character in text:
            text = text.replace(character, escaped)
    return text


def headline(title: str) -> str:
    """A title as a NewsArticle headline: cut at a word to HEADLINE_LIMIT characters."""
    cut = cut_at_word(title, HEADLINE_LIMIT)
    # A cut can leave a bidi isolate or embedding open, which would reorder whatever shows it next.
    return balance_bidi(cut) if cut != title else title


def _modified(published: date | None, companion: Companion | None) -> date | None:
    """The original: its date. The companion: its translation's date, never before the original's
    (a translation cannot precede its source; a date that does is wrong, not informative)."""
    if published is None or companion is None:
        return published
    text = companion.date or ""
    if not _ISO_DAY.fullmatch(text):
        return published
    try:
        translated = date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        return published
    return max(translated, published)


def _section(config: SiteConfig, source_rel: str, language: str) -> str | None:
    """The section is the first folder under content/; a file at its top has none."""
    folder, slash, _ = source_rel.partition("/")
    return section_name(config, folder, language) if slash else None


def _lead_image(page: SharedPage, photos: dict[str, PhotoRecord], base: str | None) -> _Image | None:
    """The segment's lead photo, as absolute URLs of its JPEG files (every reader of Open Graph
    takes JPEG; not all take WebP), with the alt text in the page's language."""
    if not base:
        return None
    found = next(((i, b.photo) for i, b in enumerate(page.segment.blocks) if b.photo is not None and b.photo.lead), None)
    if found is None:
        return None
    index, photo = found
    record = photos.get(photo.src)
    jpegs = sorted((v for v in record.variants if v.mime == _JPEG), key=lambda v: v.width, reverse=True) if record else []
    if not jpegs:
        return None  # a remote or missing photo: nothing of ours to show
    alt = photo.alt
    if page.companion is not None:
        # The photo's units are its alt text then its caption, those present: the alt comes first.
        translated = page.companion.blocks[index] if index < len(page.companion.blocks) else ()
        alt = translated[0] if photo.alt and translated else ""
    every = tuple(urls.absolute_url(base, urls.media_file(v.name)) for v in jpegs)
    return _Image(every[0], jpegs[0].width, jpegs[0].height, alt, every)


def _open_graph(page: SharedPage, facts: _Facts, other_language: str) -> list[tuple[str, str, str]]:
    tags = [("og:type", "article"), ("og:title", page.title)]
    if page.description:
        tags.append(("og:description", page.description))
    if facts.url:
        tags.append(("og:url", facts.url))
    tags += [("og:site_name", page.site_name), ("og:locale", facebook_locale(page.language))]
    if page.counterpart:
        tags.append(("og:locale:alternate", facebook_locale(other_language)))
    image = facts.image
    if image is not None:
        # og:image's own properties follow it: that is how Open Graph ties them to it.
        tags += [("og:image", image.url), ("og:image:width", str(image.width)), ("og:image:height", str(image.height))]
        if image.alt:
            tags.append(("og:image:alt", image.alt))
    if facts.published:
        tags.append(("article:published_time", facts.published.isoformat()))
    tags += [("article:author", name) for name in page.segment.authors]
    if facts.section:
        tags.append(("article:section", facts.section))
    tags += [("article:tag", tag) for tag in page.tags]
    return [("property", name, content) for name, content in tags]


def _twitter(page: SharedPage, facts: _Facts) -> list[tuple[str, str, str]]:
    image = facts.image
    tags = [("twitter:card", "summary_large_image" if image else "summary"), ("twitter:title", page.title)]
    if page.description:
        tags.append(("twitter:description", page.description))
    if image is not None:
        tags.append(("twitter:image", image.url))
        if image.alt:
            tags.append(("twitter:image:alt", image.alt))
    return [("name", name, content) for name, content in tags]


def _news_article(config: SiteConfig, page: SharedPage, facts: _Facts) -> dict[str, Any]:
    """The schema.org NewsArticle of the page; the companion's says which work it translates."""
    article: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": headline(page.title),
        "inLanguage": page.language,
        "publisher": {"@type": "Organization", "name": page.site_name},
    }
    if page.description:
        article["description"] = page.description
    if facts.published and facts.modified:
        article |= {"datePublished": facts.published.isoformat(), "dateModified": facts.modified.isoformat()}
    if page.segment.authors:
        article["author"] = [{"@type": "Person", "name": name} for name in page.segment.authors]
    if facts.url:
        article["mainEntityOfPage"] = facts.url
    if facts.image is not None:
        article["image"] = list(facts.image.every)
    if facts.section:
        article["articleSection"] = facts.section
    if page.tags:
        article["keywords"] = list(page.tags)
    if page.companion is not None:
        original: dict[str, Any] = {"@type": "NewsArticle", "inLanguage": config.language}
        if config.base_url and page.counterpart:
            url = urls.absolute_url(config.base_url, page.counterpart)
            original |= {"@id": url, "url": url}
            article["isBasedOn"] = url
        article["translationOfWork"] = original
    return article
