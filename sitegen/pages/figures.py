"""How a photo is shown in a page, and what site.zip makes of that markup.

A photo is a ``<figure>``: a ``<picture>`` offering WebP in every width and JPEG as the
fallback, with ``width`` and ``height`` (no layout shift), the alt text, and a caption with
the credit. The page's HTML only links the files, so a page reads with every photo missing.

site.zip carries fewer photo files than the site (``offline_archive_images``), and the pages
in it must not point at files it lacks: :func:`offline_page` rewrites the markup made here,
and :func:`archive_files` says which files go in. Both rules live in this module with the
markup they read, so they cannot drift apart.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..content.photos import PhotoRef
from ..core import urls
from ..media.records import PhotoRecord, Variant

# The main column is 42rem wide with 1rem of padding on each side (style.css).
SIZES = "(min-width: 42rem) 40rem, calc(100vw - 2rem)"
_JPEG = "image/jpeg"
_WEBP = "image/webp"


@dataclass(frozen=True)
class FigureWords:
    """A photo's words in the page's language; ``mark`` isolates text of the other language."""

    alt: str
    caption: str
    credit: str
    credit_label: str  # "تصوير:" / "Photo:", from labels.py
    mark: Callable[[str], str] = lambda escaped: escaped


def figure_html(photo: PhotoRef, record: PhotoRecord | None, page_path: str, words: FigureWords) -> str:
    """The figure for one photo; a remote or missing photo is shown as words, never loaded."""
    if record is None or not record.variants:
        return _absent(photo, words)
    webp = [v for v in record.variants if v.mime == _WEBP]
    jpeg = [v for v in record.variants if v.mime == _JPEG]
    src = urls.relative_url(page_path, urls.media_file(jpeg[0].name))
    loading = "" if photo.lead else ' loading="lazy" decoding="async"'
    alt = html.escape(words.alt, quote=True)
    source = f'<source type="{_WEBP}" srcset="{_srcset(webp, page_path)}" sizes="{SIZES}">' if webp else ""
    image = (
        f'<img class="photo-img" src="{src}" srcset="{_srcset(jpeg, page_path)}" sizes="{SIZES}"'
        f' width="{record.width}" height="{record.height}" alt="{alt}"{loading}>'
    )
    lead = " lead" if photo.lead else ""
    return f'<figure class="photo{lead}"><picture>{source}{image}</picture>{_caption(words)}</figure>'


def _srcset(variants: list[Variant], page_path: str) -> str:
    return ", ".join(f"{urls.relative_url(page_path, urls.media_file(v.name))} {v.width}w" for v in variants)


def _caption(words: FigureWords) -> str:
    caption = words.mark(html.escape(words.caption, quote=False)) if words.caption else ""
    credit = f'<span class="credit">{html.escape(words.credit_label, quote=False)} {words.mark(html.escape(words.credit, quote=False))}</span>' if words.credit else ""
    if not (caption or credit):
        return ""
    return f"<figcaption>{caption}{' ' if caption and credit else ''}{credit}</figcaption>"


def _absent(photo: PhotoRef, words: FigureWords) -> str:
    text = words.mark(html.escape(words.alt or photo.src, quote=False))
    link = photo.web_link
    if link is not None:
        return f'<p class="photo-link"><a href="{html.escape(link, quote=True)}" rel="noopener noreferrer">{text}</a></p>'
    return f'<p class="photo-absent">{text}</p>'


# -- site.zip ---------------------------------------------------------------
# Every <source> and srcset written above, and the whole picture: made only by figure_html
# (a page's text is escaped, so '<' never starts markup an author wrote).
_SOURCE = re.compile(rb'<source type="image/webp" srcset="[^"]*" sizes="[^"]*">')
_SRCSET = re.compile(rb'(<img class="photo-img" src="[^"]*") srcset="[^"]*" sizes="[^"]*"')
_PICTURE = re.compile(rb'<picture>(?:<source [^>]*>)?<img class="photo-img" [^>]*? alt="([^"]*)"[^>]*></picture>')


def offline_page(data: bytes, images: str) -> bytes:
    """A page as site.zip holds it: its photos point only at the files the zip carries.

    ``small``: the smallest JPEG alone (the img's src); ``none``: the alt text in the
    photo's place; ``all``: the page as it is.
    """
    if images == "all" or b"<picture>" not in data:
        return data
    if images == "none":
        return _PICTURE.sub(rb'<span class="photo-absent">\1</span>', data)
    return _SRCSET.sub(rb"\1", _SOURCE.sub(b"", data))


def archived_file(path: str, data: bytes, images: str) -> bytes:
    """What site.zip holds of the site's file ``path``: a page rewritten by
    :func:`offline_page`, any other file as it is."""
    return offline_page(data, images) if path.endswith(".html") else data


def left_out_of_zip(records: Iterable[PhotoRecord], images: str) -> frozenset[str]:
    """The photo files of the site that site.zip does not carry."""
    records = list(records)
    every = {urls.media_file(v.name) for record in records for v in record.variants}
    return frozenset(every - {path for record in records for path in archive_files(record, images)})


def archive_files(record: PhotoRecord, images: str) -> list[str]:
    """The media files of one photo that site.zip carries."""
    if images == "all":
        return [urls.media_file(v.name) for v in record.variants]
    if images == "none":
        return []
    smallest = next((v for v in record.variants if v.mime == _JPEG), None)
    return [urls.media_file(smallest.name)] if smallest is not None else []
