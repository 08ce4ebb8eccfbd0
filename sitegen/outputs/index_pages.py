"""The index: every segment, newest first, paginated; one series per language."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..core import urls
from ..core.hashing import hash_bytes
from ..core.languages import language_folder
from ..pages.listing import Listing, listings_digest, shows_any
from ..pages.paging import linked, place
from .base import Artifact, Job, Made, Output, SiteView, render_page


class IndexPages(Output):
    name = "index pages"

    def made_of(self, view: SiteView) -> str:
        # Each page is keyed by its listings, its place in the series and the lists it links
        # (themselves made of the listings): all of it follows from the site's listings. An
        # edit that changes none (a paragraph past the excerpt) keys no index page: 400 pages
        # at 10,000 segments, 1,000 at 50,000, each hashing fifty listings' digests.
        return view.lists_made_of

    def shaped_by(self, view: SiteView) -> str:
        # Which page holds which listings, and what the first page links, follow from where
        # the listings stand.
        return view.lists_shape

    def artifacts(self, view: SiteView) -> list[Artifact]:
        return self._pages(view, None)

    def touched(self, view: SiteView, changed: Sequence[Listing], entered: Sequence[Listing] = ()) -> list[Artifact] | None:
        # A story come into an edition or gone moves every page after it: listed whole (a
        # few hundred keys, where the lists have thousands).
        return None if entered else self._pages(view, shows_any(changed))

    def _pages(self, view: SiteView, showing: Callable[[tuple[Listing, ...]], bool] | None) -> list[Artifact]:
        """The index pages (only those whose listings ``showing`` accepts, when given)."""
        found = []
        for english in view.languages:
            folder = language_folder(view.config.translation.target) if english else ""
            for number, top, chunk in view.index_chunks(english):
                if showing is not None and not showing(chunk):
                    continue
                path = urls.index_page(number, folder)
                links = view.browsable(english) if number == urls.FRONT else ()
                # The page's whole input: its entries, its place among the pages (the pages it
                # links), the lists it links.
                linked_pages = ",".join(map(str, linked(number, top)))
                key = hash_bytes(listings_digest(chunk), f"{number}/{linked_pages}/{english}/{','.join(links)}", view.names if english else "")
                found.append(Artifact(path, key, _maker(path, (number, english, links)), _name(number, english)))
        return found


def index_paths(view: SiteView) -> list[str]:
    """Every index page's path, both languages (the sitemap lists them)."""
    folders = {english: language_folder(view.config.translation.target) if english else "" for english in view.languages}
    return [urls.index_page(number, folders[english]) for english in view.languages for number, _, _ in view.index_chunks(english)]


def _maker(path: str, place: tuple[int, bool, tuple[str, ...]]):
    # Rendering thousands of index pages is worth the cores: a job for the workers. It names
    # the page, not its listings: a worker finds them in the view it inherited.
    return lambda _memo: Job(_render, (path, place))


def _render(view: SiteView, argument: tuple[str, tuple[int, bool, tuple[str, ...]]]) -> Made:
    path, (number, english, links) = argument
    chunks = view.index_chunks(english)
    _, top, chunk = chunks[place(number, chunks[0][1])]
    page = view.list_planner.index_page(number, top, chunk, english, links)
    return Made({path: render_page(view.theme, view.config, page)})


def _name(number: int, english: bool) -> str:
    """How messages name the page."""
    return f"the{' English' if english else ''} index page" + (f" {number}" if number != urls.FRONT else "")
