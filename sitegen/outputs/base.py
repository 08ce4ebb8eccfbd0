"""What every output is: a module that says which artifacts it would make, each keyed by its inputs.

An *artifact* is one unit of output work: an index page, the search index (many files),
a feed, the offline zip. It declares a ``key``, a hash of everything it is made from, and a
``make`` function that produces its files. The build's engine (``pipeline/engine.py``) compares
keys with the previous build's and calls ``make`` only where they differ: the rule of
reuse is stated once, there, for every output alike (Lektor's artifacts and their sources).
An output whose whole input is cheaper to state than its artifacts' keys says so
(``made_of``): while that stands, the engine carries its artifacts over without listing them.
An output made of the site's listings may also say where each listing stands in it
(``shaped_by``): while that stands, only the artifacts showing a changed listing are listed
(``touched``), and the others carried over.

Outputs see the site through a frozen :class:`SiteView`; they never read sources, the
cache or the previous site themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence, Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from ..config import SiteConfig
from ..core.diagnostics import Problem
from ..core.hashing import hash_bytes
from ..pages.lists import SOME_TERMS_AT_MOST, TAXONOMIES, Term, both_editions_months, browsable_lists, collect_all_terms, terms_wanted
from ..pages.listing import PLACE_OF, Article, Listing, listings_digest
from ..pages.planner import Page, SitePlanner
from ..pages.theme import Theme


@dataclass(frozen=True)
class Made:
    """What an artifact's ``make`` produced."""

    files: dict[str, bytes] = field(default_factory=dict)  # path under the site -> bytes, written by the engine
    # Files the artifact wrote into the staging folder itself (too big to pass around): path -> digest.
    written: dict[str, str] = field(default_factory=dict)
    memo: Any = None  # kept with the artifact's record for its next build (allow-listed plain values)
    problems: tuple[Problem, ...] = ()
    # Writing that goes on after ``make`` returned (site.zip's copied runs): called, and so
    # waited for, before the site is published; it raises what the writing met.
    pending: Callable[[], None] | None = None


@dataclass(frozen=True)
class Job:
    """Work an artifact hands to a worker process: ``run(view, argument)`` returns its Made.
    ``run`` is a module-level function and ``argument`` small and picklable; the view (with
    its compiled templates) is inherited by the forked workers, never pickled."""

    run: Callable[[Any, Any], Made]
    argument: Any
    # A job as long as a batch of pages or more (the sitemap, of every page): started first,
    # in a batch of its own, so that it never ends the run alone while the other cores wait.
    long: bool = False


@dataclass(frozen=True)
class Split:
    """Work too big for one worker: ``parts`` run in worker processes side by side (each
    ``run`` may return any picklable value), then ``combine(results)``, in this process,
    makes the artifact's Made from their results, in the order of ``parts``."""

    parts: tuple[Job, ...]
    combine: Callable[[list[Any]], Made]


@dataclass(frozen=True)
class Artifact:
    id: str  # unique in a build; the path of its file when it makes one
    key: str  # a hash of everything it is made from
    make: Callable[[Any], Made | Job | Split]  # called with the memo of its previous build (or None)
    # Set for a page of the whole site (an index page, the 404 page): how messages name it
    # when a segment's page would take its file. The build counts these as its pages.
    name: str | None = None


@dataclass(frozen=True)
class DocumentChanges:
    """What this build's file stage did to the stored search documents."""

    previous: dict[str, tuple[str, bytes]]  # url -> (digest, packed) of the documents it replaced
    stored: dict[str, str]  # url -> digest of the documents it stored


class DocumentStore(Protocol):
    """The analysed search documents of the whole site, kept by the build between runs."""

    def sequence(self) -> list[tuple[str, str]]: ...  # (url, digest) of every document, in id order

    def changes(self) -> DocumentChanges | None: ...  # None: not known (too many to keep)

    def packed(self, urls: Iterable[str] | None = None) -> dict[str, bytes]: ...  # url -> packed document

    def unpack(self, packed: bytes) -> Any: ...


@dataclass(frozen=True)
class SiteView:
    """The whole site as outputs see it: made once per build from every file's results."""

    config: SiteConfig
    theme: Theme
    articles: tuple[Article, ...]  # newest first
    listings: tuple[Listing, ...]
    staging: Path  # where the new site is being made (for outputs that write big files themselves)
    documents: DocumentStore | None = None
    workers: int = 1
    # A digest of the names ``config`` holds beyond site.yml's (tags named through the memory):
    # part of the key of every page of the English edition's lists, which show them.
    names: str = ""

    def terms(self, taxonomy: str, english: bool) -> list[Term]:
        """Every term of a taxonomy in one edition, collected once per build (the term pages and
        the sitemap both list them)."""
        if "terms" not in self._lists:
            self._lists["terms"] = collect_all_terms(self.articles)
        return self._lists["terms"][taxonomy, english]

    def some_terms(self, wanted: AbstractSet[tuple[str, str]]) -> dict[tuple[str, bool], list[Term]]:
        """The terms ``wanted`` ((taxonomy, slug)) in both editions ((taxonomy, english) -> those
        the edition has, in the order of their slugs), each as :meth:`terms` gives it: in one
        pass over the listings that collects no other, unless every term was collected."""
        if "terms" not in self._lists and len(wanted) > SOME_TERMS_AT_MOST:
            self._lists["terms"] = collect_all_terms(self.articles)  # one pass for all, kept for the rest of the build
        if "terms" in self._lists:
            return terms_wanted(self._lists["terms"], wanted)
        collected = collect_all_terms(self.articles if wanted else (), wanted)  # none wanted: no pass
        self._lists.setdefault("some terms", []).append(collected)
        return collected

    def term(self, taxonomy: str, english: bool, slug: str) -> Term:
        """The term of ``slug`` in an edition, from those collected (by :meth:`terms` or
        :meth:`some_terms`: a list page made in a worker finds what its parent collected before
        forking); every term is collected if it is not among them."""
        key = (taxonomy, english, slug)
        if key not in self._lists.get("term index", ()):
            self._index_terms()
            if key not in self._lists["term index"]:
                self.terms(taxonomy, english)
                self._index_terms()
        return self._lists["term index"][key]

    def _index_terms(self) -> None:
        collections = [self._lists["terms"]] if "terms" in self._lists else self._lists.get("some terms", [])
        self._lists["term index"] = {(term.taxonomy, english, term.slug): term for found in collections for (_, english), terms in found.items() for term in terms}

    def months(self, english: bool) -> dict[tuple[int, int], tuple[Listing, ...]]:
        """The dated segments of one edition by month, newest first, collected once per build."""
        if "months" not in self._lists:
            self._lists["months"] = both_editions_months(self.articles)
        return self._lists["months"][english]

    @cached_property
    def listed(self) -> bytes:
        """Every listing's digest, in the files' order: what the site's lists are made of (their
        order in the lists follows from them), joined once a build."""
        return listings_digest(self.listings)

    @cached_property
    def lists_made_of(self) -> str:
        """What every list of the site is made of besides the configuration and the theme
        (which key the whole build): its listings, and the names from the memory the English
        lists show."""
        return hash_bytes(self.listed, self.names)

    @cached_property
    def placed(self) -> bytes:
        """Where every listing stands in the site's lists (``Listing.place``), in the files'
        order: kept with the lists' records, to tell which listings moved since."""
        return b"".join(map(PLACE_OF, self.listings))

    @cached_property
    def lists_shape(self) -> str:
        """Where every listing stands (``placed``) and the names from the memory the English
        lists show: while it stands, the lists have the same pages holding the same listings,
        and a page changes only where a listing it shows changed (``Output.touched``)."""
        return self.shape_of(self.placed)

    def shape_of(self, placed: bytes) -> str:
        """The lists' shape (``lists_shape``) were the listings placed as ``placed`` says."""
        return hash_bytes(placed, self.names)

    def browsable(self, english: bool) -> tuple[str, ...]:
        """The lists an edition has, in the order its index links them: the archive (of dated
        segments), then each taxonomy with at least one term."""
        if "terms" in self._lists and "months" in self._lists:  # collected already: read there
            return (("archive",) if self.months(english) else ()) + tuple(t for t in TAXONOMIES if self.terms(t, english))
        if "browsable" not in self._lists:
            self._lists["browsable"] = browsable_lists(self.articles)
        return self._lists["browsable"][english]

    def index_chunks(self, english: bool) -> list[tuple[int, int, tuple[Listing, ...]]]:
        """(page number, page count, listings) of each page of an edition's index, collected
        once per build (the index pages and the sitemap both list them)."""
        key = ("index", english)
        if key not in self._lists:
            self._lists[key] = SitePlanner(self.config).index_chunks(self.articles, english)
        return self._lists[key]

    @cached_property
    def _lists(self) -> dict[tuple, Any]:
        return {}

    @cached_property
    def list_planner(self) -> SitePlanner:
        """The planner of the site's lists and indexes, one a process (a worker inherits it and
        fills its own copy): what it makes once a folder, a page's shared context and its
        entries' links, serves every list page the process makes, not one."""
        return SitePlanner(self.config)

    @property
    def languages(self) -> tuple[bool, ...]:
        """False for the site's own language, True for the English edition when there is one."""
        return (False, True) if self.config.translation.enabled else (False,)


class Output:
    """An output module's object: what it would make for this site. Subclasses set ``name``
    and define ``artifacts``; ``notes`` says what was left out and why (printed, not a problem)."""

    name = "output"

    def artifacts(self, view: SiteView) -> Sequence[Artifact]:
        raise NotImplementedError

    def made_of(self, view: SiteView) -> str | None:
        """A digest of everything every artifact of this output is made from, if the output
        can state it more cheaply than their keys; None: it cannot (its artifacts are listed
        and keyed at every build)."""
        return None

    def shaped_by(self, view: SiteView) -> str | None:
        """For an output made of the site's listings (``made_of``): a digest of where each
        listing stands in it (``SiteView.lists_shape``), if the output can say which of its
        artifacts show a listing (``touched``). None: it cannot."""
        return None

    def touched(self, view: SiteView, changed: Sequence[Listing], entered: Sequence[Listing] = ()) -> list[Artifact] | None:
        """The artifacts showing any of the listings ``changed``, while the output's shape is
        what it was (``shaped_by``) but for the listings ``entered`` (among ``changed``), which
        came into the English edition or left it: the others are as the previous build made
        them. None: the output cannot tell (all its artifacts are listed)."""
        return None

    def replaced(self, view: SiteView, entered: Sequence[Listing]) -> tuple[str, ...]:
        """Where the listings ``entered`` may add or remove artifacts: prefixes of their ids.
        ``touched`` lists every artifact there that stands now; one of the previous build's
        that it does not list is gone."""
        return ()

    def pages_among(self, ids: Sequence[str]) -> int:
        """How many of these ids of the output's artifacts name pages of the whole site (an
        artifact's ``name`` is set): what an artifact gone was. An output that defines
        ``replaced`` defines this too."""
        raise NotImplementedError

    def notes(self, view: SiteView) -> list[str]:
        return []


def render_page(theme: Theme, config: SiteConfig, page: Page) -> bytes:
    """A page's bytes: its template with the values every page shares."""
    shared = {"css": theme.css, "search_js": theme.search_js, "service_worker": config.service_worker, "archive": None}
    return theme.render(page.template, shared | page.context).encode("utf-8")
