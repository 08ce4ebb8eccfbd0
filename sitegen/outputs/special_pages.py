"""Pages of the whole site that list nothing: the 404 page and the search pages (one per edition)."""

from __future__ import annotations

from ..core import urls
from ..core.hashing import hash_bytes
from ..core.languages import language_folder
from ..pages.planner import SitePlanner
from .base import Artifact, Made, Output, SiteView, render_page


class SpecialPages(Output):
    name = "special pages"

    def artifacts(self, view: SiteView) -> list[Artifact]:
        # Made of the configuration and theme alone: the build fingerprint covers both.
        found = [Artifact(urls.NOT_FOUND, hash_bytes("404"), _maker(view, urls.NOT_FOUND, "not_found_page"), "the 404 page")]
        if view.config.search:
            found.append(Artifact(urls.SEARCH, hash_bytes("search"), _maker(view, urls.SEARCH, "search_page"), "the search page"))
            if view.config.translation.enabled:
                path = urls.search_page(language_folder(view.config.translation.target))
                found.append(Artifact(path, hash_bytes("search en"), _maker(view, path, "search_page", True), "the English search page"))
        return found

    def notes(self, view: SiteView) -> list[str]:
        translation = view.config.translation
        if translation.enabled and not translation.title:
            return ["no English name for the site yet: English pages show the Arabic one (marked as Arabic); a build that may translate asks for it (kept in the memory, reviewable), or set translation.title (and translation.description) in site.yml"]
        return []


def _maker(view: SiteView, path: str, method: str, *arguments: bool):
    def make(_memo) -> Made:
        page = getattr(SitePlanner(view.config), method)(*arguments)
        return Made({path: render_page(view.theme, view.config, page)})

    return make
