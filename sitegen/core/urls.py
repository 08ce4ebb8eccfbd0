"""Where every page lives in the output, and every link between pages.

All links are relative to the page that holds them and end in a file name,
so the site works alike from file://, at a domain's root and under a GitHub
Pages project sub-path. This is the only module that builds them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

from .languages import language_folder

INDEX = "index.html"
SEARCH = "search.html"
NOT_FOUND = "404.html"
ARCHIVE = "site.zip"
# Linked by every page, so that no browser asks for a /favicon.ico the site does not have.
ICON = "icon.svg"
# Photos, as processed: file names are made of their bytes' hash, so a name never changes meaning.
MEDIA = "media"
# The number of a series' front page (index.html, tags/<slug>.html, archive/<month>.html): its
# other pages are numbered from the oldest, 1 up (pages/paging.py).
FRONT = 0


def segment_page(slug: str, language: str) -> str:
    return f"{language_folder(language)}/{slug}.html"


def companion_page(slug: str, target: str) -> str:
    return f"{language_folder(target)}/{slug}.html"


def parallel_page(slug: str) -> str:
    return f"parallel/{slug}.html"


def term_page(taxonomy: str, slug: str, number: int = FRONT, folder: str = "") -> str:
    """tags/<slug>.html, then tags/<slug>.p1.html (the oldest), .p2... (a term's slug never holds a dot)."""
    name = f"{slug}.html" if number == FRONT else f"{slug}.p{number}.html"
    return f"{folder}/{taxonomy}/{name}" if folder else f"{taxonomy}/{name}"


def term_feed(taxonomy: str, slug: str, folder: str = "") -> str:
    """A term's Atom feed, beside its first page: tags/<slug>.xml."""
    return f"{folder}/{taxonomy}/{slug}.xml" if folder else f"{taxonomy}/{slug}.xml"


def term_files(taxonomy: str, slug: str, folder: str = "") -> str:
    """What the path of each of a term's files (its pages, its feed) starts with: tags/<slug>."""
    return f"{folder}/{taxonomy}/{slug}." if folder else f"{taxonomy}/{slug}."


def term_index(taxonomy: str, folder: str = "") -> str:
    """Every term of a taxonomy with its count: tags.html, en/tags.html."""
    return f"{folder}/{taxonomy}.html" if folder else f"{taxonomy}.html"


def archive_month(year: int, month: int, number: int = FRONT, folder: str = "") -> str:
    name = f"{year:04d}-{month:02d}" + (f".p{number}" if number != FRONT else "")
    return f"{folder}/archive/{name}.html" if folder else f"archive/{name}.html"


def archive_month_files(year: int, month: int, folder: str = "") -> str:
    """What the path of each page of a month's archive starts with: archive/<yyyy-mm>."""
    return archive_month(year, month, FRONT, folder)[: -len("html")]


def archive_index(folder: str = "") -> str:
    return f"{folder}/archive.html" if folder else "archive.html"


def media_file(name: str) -> str:
    return f"{MEDIA}/{name}"


def feed(language: str) -> str:
    return f"{language_folder(language)}/feed.xml"


def search_page(folder: str = "") -> str:
    """search.html for the site's language; en/search.html for the translation's."""
    return f"{folder}/{SEARCH}" if folder else SEARCH


def index_page(number: int = FRONT, folder: str = "") -> str:
    """The front page is index.html; the others are page-1.html (the oldest), page-2.html, ..."""
    name = INDEX if number == FRONT else f"page-{number}.html"
    return f"{folder}/{name}" if folder else name


def relative_url(from_page: str, to_path: str, anchor: str | None = None) -> str:
    """The link from one output file to another, percent-encoded (slugs may be Arabic).

    Both paths are normalised output paths (no '.', '..' or leading '/'), so the
    link is either a sibling's file name or a climb to the root and down again;
    this runs for every link of every page, so it avoids os.path.relpath.
    """
    encoded = _encode(to_path)
    if from_page.rpartition("/")[0] == to_path.rpartition("/")[0]:
        url = encoded.rpartition("/")[2]  # "/" is never encoded: the name's own encoding
    else:
        url = root_prefix(from_page) + encoded
    return f"{url}#{anchor}" if anchor else url


# Only each target's encoding is remembered, whichever page links to it: a cache of whole
# links kept one for every folder and target, and filled a worker making list pages with
# 8,192 of them (some 4 MB) at 1,000 segments.
@lru_cache(maxsize=16384)
def _encode(path: str) -> str:
    # A path of ASCII letters and digits is its own encoding: most links of a site with Latin
    # slugs, each quoted once a process otherwise (a page's entries link pages no other links).
    return path if _NOTHING_TO_QUOTE(path) else quote(path, safe="/-._~")


def root_prefix(from_page: str) -> str:
    """The relative path from a page to the site root: '' or '../' or '../../'."""
    depth = from_page.count("/")
    return "../" * depth


def absolute_url(base_url: str, path: str) -> str:
    """Only for what must be absolute (feeds, sitemap, canonical links)."""
    if _NOTHING_TO_QUOTE(path):
        return base_url + path  # most paths: what quote() would give, without its passes (a sitemap has 30,000)
    return base_url + quote(path, safe="/-._~")


# What quote(path, safe="/-._~") leaves as it is: letters and digits of ASCII, and those.
_NOTHING_TO_QUOTE = re.compile(r"[A-Za-z0-9/._~-]*\Z").match


def normalise_base(base: str) -> str:
    """The sub-path a site is served under, as '/' or '/repo/' (GitHub Pages' project sites)."""
    base = "/" + base.strip().strip("/")
    return base if base == "/" else base + "/"
