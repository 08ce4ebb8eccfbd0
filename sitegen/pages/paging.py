"""The pages of a series (the index of an edition, a term's pages, a month's), numbered from
the oldest so that a page keeps its stories when new ones come.

A series newest first, ``per_page`` stories a page: the front page (``urls.FRONT``:
index.html, tags/<slug>.html, archive/<month>.html) holds the newest, between ``per_page``
and twice as many less one (all of them when there are fewer); the others hold ``per_page``
each and are numbered from the oldest, 1 up (page-1.html holds the first stories ever
published). A story newer than all the others changes the front page only, and, once in
``per_page`` stories, makes the front page's oldest ``per_page`` a new numbered page, which
the two pages below it link to. Counted from the newest, as Hugo and most generators count,
every page would hold other stories after each new one (2,000 pages made again at 50,000
segments for one story), and a page a reader saved or a search engine keeps would hold
other stories the next day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..content.metadata import localise_digits
from ..core import urls

T = TypeVar("T")

FRONT = urls.FRONT
# How many numbered pages on each side of a page its navigation links to (with the front
# page and the oldest).
NEAR = 2


def series(items: Sequence[T], per_page: int) -> list[tuple[int, int, tuple[T, ...]]]:
    """(number, top, items) of every page of the series of ``items`` (newest first): the front
    page first, then the numbered ones from the newest (``top``, the highest number) down to 1."""
    top, _ = _shape(len(items), per_page)
    return [series_page(items, per_page, number) for number in (FRONT, *range(top, 0, -1))]


def series_page(items: Sequence[T], per_page: int, number: int) -> tuple[int, int, tuple[T, ...]]:
    """(number, top, items) of page ``number`` of the series of ``items`` (as :func:`series`)."""
    top, front = _shape(len(items), per_page)
    if number == FRONT:
        return FRONT, top, tuple(items[:front])
    start = _start(number, top, front, per_page)
    return number, top, tuple(items[start : start + per_page])


def place(number: int, top: int) -> int:
    """Where page ``number`` stands in :func:`series`' list of pages."""
    return 0 if number == FRONT else top - number + 1


def _shape(count: int, per_page: int) -> tuple[int, int]:
    """The highest page number of a series of ``count`` items, and how many its front page holds."""
    top = max(0, count // per_page - 1)
    return top, count - top * per_page


def _start(number: int, top: int, front: int, per_page: int) -> int:
    return front + (top - number) * per_page


def linked(current: int, top: int) -> tuple[int, ...]:
    """The pages the navigation of page ``current`` links to by number, newest first: the
    front page, the ``NEAR`` on each side and the oldest. What a page's key holds of its
    place: a page more than ``NEAR`` below the top links the same pages whatever comes."""
    if top == 0:
        return (FRONT,)
    at = top + 1 if current == FRONT else current  # the front page stands above the top
    shown = {1, top + 1, *range(max(1, at - NEAR), min(top + 1, at + NEAR) + 1)}
    return tuple(FRONT if position == top + 1 else position for position in sorted(shown, reverse=True))


def pagination(path: str, current: int, top: int, words: tuple[str, str, str], page_of: Callable[[int], str]) -> dict[str, Any]:
    """The navigation of page ``current`` of a series whose highest number is ``top``: links to
    the pages :func:`linked` names (a gap where numbers are left out), the newer page and the
    older one. Made of ``linked(current, top)`` alone (with the page's path and words), which
    the page's key holds. ``words``: the language, its numerals setting, and what the front page is
    called; ``page_of(number)``: the path of a page of the series."""
    language, numerals, front_label = words
    pages: list[dict[str, Any]] = []
    above = FRONT  # the number linked before
    for number in linked(current, top):
        # A gap between two numbered pages only: one between the front page (named, not
        # numbered) and the numbers below it would come and go with the top, and with it the
        # bytes of pages whose key (``linked``) stands.
        if above != FRONT and above - number > 1:
            pages.append({"gap": True})
        label = front_label if number == FRONT else localise_digits(str(number), language, numerals)
        pages.append({"gap": False, "current": number == current, "href": urls.relative_url(path, page_of(number)), "label": label})
        above = number
    newer = None if current == FRONT else FRONT if current == top else current + 1
    older = (top if top else None) if current == FRONT else current - 1 if current > 1 else None
    return {
        "pages": pages,
        "previous": urls.relative_url(path, page_of(newer)) if newer is not None else None,
        "next": urls.relative_url(path, page_of(older)) if older is not None else None,
    }
