"""Reading one built page: its language, its ids, and every reference it makes.

What ``build.py check`` resolves afterwards: each reference is labelled (``<img src>``,
``<link rel=stylesheet>``) and marked as a load (the browser fetches it at once) or a link.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote

from ..core.languages import direction

HTML_SUFFIXES = (".html", ".htm")
# <link rel=...> values that make the browser fetch the href (a load, not a link to follow).
LOAD_RELS = frozenset(
    {
        "stylesheet", "icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon", "manifest",
        "preload", "modulepreload", "prefetch", "prerender", "preconnect", "dns-prefetch",
    }
)
NO_TARGET_RELS = frozenset({"preconnect", "dns-prefetch"})  # an origin, not a file
# element -> attributes whose URL the browser fetches when the page loads
LOAD_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src", "srcset"),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
# element -> attributes that are links the reader may follow (external ones are fine)
LINK_ATTRS: dict[str, tuple[str, ...]] = {
    "a": ("href",),
    "area": ("href",),
    "form": ("action",),
    "button": ("formaction",),
    "input": ("formaction",),
}
SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.I)
SITEMAP_LOC = re.compile(r"<loc>\s*([^<\s]+)\s*</loc>")


# -- reading one page ------------------------------------------------------------


@dataclass
class PageData:
    """What one HTML file holds that the checks need; small, so 30,000 of them fit."""

    rel: str
    lang: str | None = None
    dir: str | None = None
    has_html: bool = False
    ids: frozenset[str] = frozenset()
    # (load?, label, url); load=True: fetched by the browser, must not be external
    refs: list[tuple[bool, str, str]] = field(default_factory=list)
    # links that name a language version: (url, label, is <link rel=alternate hreflang>)
    language_links: list[tuple[str, str, bool]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_attrs: dict[str, str | None] | None = None
        self.ids: set[str] = set()
        self.refs: list[tuple[bool, str, str]] = []
        self.language_links: list[tuple[str, str, bool]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: (value or "") for name, value in attrs}
        if tag == "html" and self.html_attrs is None:
            self.html_attrs = dict(attrs)
        if "id" in a and a["id"]:
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if "style" in a and a["style"]:
            self.styles.append(a["style"])
        if tag == "style":
            self._in_style = True
        if tag == "link":
            href = a.get("href")
            if href is None:
                return
            rels = set(a.get("rel", "").lower().split())
            loads = rels & LOAD_RELS
            label = f"<link rel={' '.join(sorted(rels)) or '?'}>"
            if loads:
                # preconnect/dns-prefetch name an origin, not a file: only a network one matters
                if not loads <= NO_TARGET_RELS or is_network(href):
                    self.refs.append((True, label, href))
            else:
                self.refs.append((False, label, href))
            if "alternate" in rels or "hreflang" in a:
                self.language_links.append((href, label, "alternate" in rels and bool(a.get("hreflang"))))
            return
        for attr in LOAD_ATTRS.get(tag, ()):
            value = a.get(attr)
            if value is None or (tag == "input" and a.get("type", "").lower() != "image"):
                continue
            label = f"<{tag} {attr}>"
            if attr == "srcset":
                for candidate in srcset_urls(value):
                    self.refs.append((True, label, candidate))
            else:
                self.refs.append((True, label, value))
        for attr in LINK_ATTRS.get(tag, ()):
            value = a.get(attr)
            if value is None:
                continue
            self.refs.append((False, f"<{tag} {attr}>", value))
            if attr == "href" and ("hreflang" in a or "alternate" in a.get("rel", "").lower().split()):
                self.language_links.append((value, f"<{tag}>", False))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def is_network(url: str) -> bool:
    url = url.strip().lower()
    return url.startswith(("http:", "https:", "//"))


def fragment_of(url: str) -> str | None:
    return unquote(url.partition("#")[2]) if "#" in url else None


def srcset_urls(srcset: str) -> list[str]:
    urls = []
    for candidate in srcset.split(","):
        parts = candidate.strip().split()
        if parts:
            urls.append(parts[0])
    return urls


def css_urls(css: str) -> list[str]:
    """Every url(...) and @import of a style sheet, comments left out."""
    css = CSS_COMMENT.sub("", css)
    found = [next(g for g in m.groups() if g is not None) for m in CSS_URL.finditer(css)]
    found += [next(g for g in m.groups() if g is not None) for m in CSS_IMPORT.finditer(css)]
    return found


def parse_page(root: str, rel: str) -> PageData:
    page = PageData(rel)
    try:
        with open(os.path.join(root, rel), "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        page.problems.append(f"cannot read the file ({exc.strerror or exc})")
        return page
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        page.problems.append("not UTF-8: pages must be saved as UTF-8")
        text = raw.decode("utf-8", "replace")
    parser = PageParser()
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:  # noqa: BLE001 -- html.parser is lenient; be safe on odd input
        page.problems.append(f"cannot parse the HTML ({exc})")
    page.ids = frozenset(parser.ids)
    page.refs = parser.refs
    page.language_links = parser.language_links
    for css in parser.styles:
        for url in css_urls(css):
            page.refs.append((True, "CSS url() in <style>/style=", url))
    attrs = parser.html_attrs
    if attrs is None:
        page.problems.append("no <html> element: the page has no lang and dir")
        return page
    page.has_html = True
    page.lang = (attrs.get("lang") or "").strip() or None
    page.dir = (attrs.get("dir") or "").strip().lower() or None
    if page.lang is None:
        page.problems.append('<html> has no lang attribute: add lang="ar" or lang="en"')
    if page.dir is None:
        page.problems.append('<html> has no dir attribute: add dir="rtl" (Arabic) or dir="ltr"')
    elif page.dir not in ("rtl", "ltr", "auto"):
        page.problems.append(f'<html dir="{page.dir}"> is not rtl, ltr or auto')
    elif page.lang:
        rtl_language = direction(page.lang) == "rtl"
        if rtl_language and page.dir == "ltr":
            page.problems.append(f'<html lang="{page.lang}" dir="ltr">: {page.lang} is written right to left, use dir="rtl"')
        if not rtl_language and page.dir == "rtl":
            page.problems.append(f'<html lang="{page.lang}" dir="rtl">: {page.lang} is written left to right, use dir="ltr"')
    return page


def parse_batch(args: tuple[str, list[str]]) -> list[PageData]:
    root, rels = args
    return [parse_page(root, rel) for rel in rels]
