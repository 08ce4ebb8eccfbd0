"""Pages of the whole site that list nothing: the 404 page and the search page."""

from __future__ import annotations

from ..core import urls
from ..core.hashing import hash_bytes
from ..pages.planner import SitePlanner
from .base import Artifact, Made, Output, SiteView, render_page


class SpecialPages(Output):
    name = "special pages"

    def artifacts(self, view: SiteView) -> list[Artifact]:
        # Made of the configuration and theme alone: the build fingerprint covers both.
        found = [Artifact(urls.NOT_FOUND, hash_bytes("404"), _maker(view, urls.NOT_FOUND, "not_found_page"), "the 404 page")]
        if view.config.search:
            found.append(Artifact(urls.SEARCH, hash_bytes("search"), _maker(view, urls.SEARCH, "search_page"), "the search page"))
        return found


def _maker(view: SiteView, path: str, method: str):
    def make(_memo) -> Made:
        page = getattr(SitePlanner(view.config), method)()
        return Made({path: render_page(view.theme, view.config, page)})

    return make
