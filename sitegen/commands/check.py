"""``build.py check``: check a built site the way a reader's browser will use it.

Every page is read once (``html.parser``, several processes for a big site)
and then every reference is resolved twice:

* as ``file://``: against the page's own folder on disk. A link must name a
  file (``dir/`` or a bare folder shows no ``index.html`` from a disk), must not
  start with ``/`` (that is the disk's root) and must not climb above the site;
* under a sub-path: against ``http://127.0.0.1/<base>/<page>`` (``--base``,
  default ``/repo/`` as on GitHub Pages project sites); it must stay under it.

Besides links and ``#anchors`` it checks that nothing is loaded from the
network (stylesheets, scripts, images, frames, media, CSS ``url()`` and
``@import``; links *to* other sites are fine), that every page has
``<html lang dir>``, and that every Arabic↔English pair links both ways.

Output: one line per problem, ``PAGE: what is wrong``, then a summary.
Exit codes: 0 clean, 1 problems found, 2 wrong usage (no such folder).
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import sys
import time
import zipfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ..core.languages import is_language_code
from ..core.urls import normalise_base
from .messages import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, parse_arguments
from .page_scan import (
    HTML_SUFFIXES,
    SCHEME,
    SITEMAP_LOC,
    PageData,
    PageParser,
    fragment_of,
    parse_batch,
    css_urls,
    parse_page,
)

# -- resolving a reference -------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """Where a reference leads: a file of the site (``target``), or a problem, or nowhere to check."""

    target: str | None = None  # site-relative path of the file, when it is one of ours
    fragment: str | None = None
    problem: str | None = None
    external: bool = False  # http(s) or protocol-relative, outside the site


class Site:
    def __init__(self, root: Path, base: str, base_url: str | None = None):
        self.root = root
        self.base = base
        self.base_url = base_url
        self.files: set[str] = set()
        self.dirs: set[str] = {""}
        for folder, dirnames, filenames in os.walk(root):
            rel_folder = os.path.relpath(folder, root)
            rel_folder = "" if rel_folder == "." else rel_folder.replace(os.sep, "/")
            for name in dirnames:
                self.dirs.add(f"{rel_folder}/{name}" if rel_folder else name)
            for name in filenames:
                self.files.add(f"{rel_folder}/{name}" if rel_folder else name)
        self._cache: dict[tuple[str, str], Resolved] = {}

    @property
    def pages(self) -> list[str]:
        return sorted(f for f in self.files if f.lower().endswith(HTML_SUFFIXES))

    def resolve(self, page: str, url: str, folder: str | None = None) -> Resolved:
        """Resolve ``url`` found in ``page`` both as file:// and under the sub-path."""
        url = url.strip()
        if not url or url[0] in "#?":
            return Resolved(target=page, fragment=fragment_of(url))
        if folder is None:
            folder = posixpath.dirname(page)
        key = (folder, url)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(folder, url)
            self._cache[key] = found
        return found

    def _resolve(self, folder: str, url: str) -> Resolved:
        scheme = SCHEME.match(url)
        if scheme:
            name = scheme.group(1).lower()
            if name in ("http", "https"):
                if self.base_url and url.startswith(self.base_url):
                    return self._own_absolute(url)
                return Resolved(external=True)
            if name == "file":
                return Resolved(problem="is a file: URL, which exists only on the builder's disk: use a relative link")
            return Resolved()  # mailto:, tel:, data:, javascript:, ...
        if url.startswith("//"):
            return Resolved(external=True)
        fragment = fragment_of(url)
        raw_path = url.partition("#")[0].partition("?")[0]
        if url.startswith("/"):
            # Against http://127.0.0.1<base>: does it at least stay under the sub-path?
            if raw_path.startswith(self.base):
                return Resolved(problem="is root-absolute: on file:// it points at the disk's root; use a relative link")
            return Resolved(
                problem=f"is root-absolute: on file:// it points at the disk's root and under the sub-path {self.base} it leaves the site; use a relative link"
            )
        path = unquote(raw_path)
        # file:// -- against the page's own folder on disk
        joined = posixpath.normpath(f"{folder}/{path}" if folder else path)
        # sub-path -- against http://127.0.0.1<base><folder>/<page> (dot segments as a browser removes them)
        web = posixpath.normpath(f"{self.base}{folder}/{raw_path}" if folder else f"{self.base}{raw_path}")
        if joined == ".." or joined.startswith("../") or not (web + "/").startswith(self.base):
            return Resolved(problem=f"goes above the site's folder: broken on file:// and under the sub-path {self.base}")
        names_folder = path.endswith("/") or path in (".", "..") or path.endswith(("/.", "/.."))
        found = self._on_disk("" if joined == "." else joined, names_folder)
        return Resolved(target=found.target, fragment=fragment, problem=found.problem)

    def _own_absolute(self, url: str) -> Resolved:
        """https://user.github.io/repo/x.html when base_url is https://user.github.io/repo/."""
        parts = urlsplit(url)
        rel = unquote(parts.path[len(urlsplit(self.base_url).path):])  # type: ignore[arg-type]
        found = self._on_disk(rel, rel == "" or rel.endswith("/"), folders_allowed=True)
        fragment = unquote(parts.fragment) if "#" in url else None
        return Resolved(target=found.target, fragment=fragment, problem=found.problem, external=True)

    def _on_disk(self, rel: str, names_folder: bool, folders_allowed: bool = False) -> Resolved:
        rel = rel.strip("/") if folders_allowed else rel
        if rel in self.files and not names_folder:
            return Resolved(target=rel)
        if rel in self.dirs or names_folder:
            index = f"{rel.rstrip('/')}/index.html" if rel.strip("/") else "index.html"
            if folders_allowed and index in self.files:
                return Resolved(target=index)  # an absolute URL on the web server: fine
            if index in self.files:
                return Resolved(target=index, problem=f"ends in a folder: on file:// a folder shows no index.html; link to {index}")
            return Resolved(problem=f"ends in a folder ({rel or 'the site root'}) with no index.html in it: link to a file")
        return Resolved(problem=f"leads nowhere: no file {rel} in the site")


# -- the whole check -------------------------------------------------------------


@dataclass
class CheckReport:
    problems: list[tuple[str, str]] = field(default_factory=list)  # (page, message)
    pages: int = 0
    references: int = 0

    def add(self, page: str, message: str) -> None:
        self.problems.append((page, message))

    def lines(self) -> list[str]:
        return [f"{page}: {message}" for page, message in sorted(self.problems, key=lambda p: p[0])]


def parse_pages(root: Path, rels: list[str], jobs: int) -> list[PageData]:
    if jobs <= 1 or len(rels) < 400:
        return [parse_page(str(root), rel) for rel in rels]
    size = max(50, min(500, len(rels) // (jobs * 8) or 50))
    batches = [(str(root), rels[i : i + size]) for i in range(0, len(rels), size)]
    pages: list[PageData] = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for batch in pool.map(parse_batch, batches):
            pages += batch
    return pages


def check_site(root: Path, base: str = "/repo/", base_url: str | None = None, jobs: int = 0) -> CheckReport:
    """Check the built site in ``root``; the report lists every problem found."""
    root = Path(root)
    site = Site(root, base, base_url)
    report = CheckReport()
    rels = site.pages
    report.pages = len(rels)
    if not rels:
        report.add(".", "no HTML pages in this folder: is it a built site?")
        return report
    jobs = jobs or min(os.cpu_count() or 1, 8)
    pages = parse_pages(root, rels, jobs)
    # The site's own absolute URLs (canonical, hreflang alternates when base_url is set) are
    # recognised by the prefix its pages declare; site.yml's base_url only when they declare none.
    site.base_url = _base_url_from_canonical(pages) or base_url
    by_rel = {page.rel: page for page in pages}

    def fragment_problem(target: str, fragment: str | None) -> str | None:
        if not fragment or fragment == "top" or not target.lower().endswith(HTML_SUFFIXES):
            return None
        other = by_rel.get(target)
        if other is None or fragment in other.ids:
            return None
        return f"no element with id '{fragment}' in {target}"

    for page in pages:
        for message in page.problems:
            report.add(page.rel, message)
        folder = posixpath.dirname(page.rel)
        report.references += len(page.refs)
        for loads, label, url in page.refs:
            found = site.resolve(page.rel, url, folder)
            if found.external:
                if loads:
                    report.add(page.rel, f"{label} loads {url} from the network: the page must work offline; copy it into the theme")
                if found.problem:  # a link into our own site by its absolute URL
                    report.add(page.rel, f"{label} '{url}' {found.problem}")
                elif found.target and (problem := fragment_problem(found.target, found.fragment)):
                    report.add(page.rel, f"{label} '{url}': {problem}")
                continue
            if found.problem:
                report.add(page.rel, f"{label} '{url}' {found.problem}")
                continue
            if found.target and (problem := fragment_problem(found.target, found.fragment)):
                report.add(page.rel, f"{label} '{url}': {problem}")

    _check_pairs(pages, by_rel, site, report)
    _check_stylesheets(site, report)
    _check_manifest(site, report)
    _check_sitemap(site, report)
    _check_archive(root, report)
    return report


def _check_archive(root: Path, report: CheckReport) -> None:
    """site.zip is read offline, unpacked: every file its pages load must be inside it
    (it carries fewer photo files than the site, and its pages say so)."""
    path = root / "site.zip"
    if not path.is_file():
        return
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.add("site.zip", f"cannot be read as a zip ({exc}): build the site again")
        return
    with archive:
        names = {name.partition("/")[2] for name in archive.namelist()}
        for name in sorted(n for n in names if n.endswith(HTML_SUFFIXES)):
            data = archive.read(f"site/{name}")
            if b"<img" not in data and b"<source" not in data:
                continue
            parser = PageParser()
            parser.feed(data.decode("utf-8", "replace"))
            folder = posixpath.dirname(name)
            for loads, label, url in parser.refs:
                if not loads or not label.startswith(("<img", "<source")) or SCHEME.match(url):
                    continue
                target = posixpath.normpath(posixpath.join(folder, unquote(url.partition("#")[0].partition("?")[0])))
                if target not in names:
                    report.add(f"site.zip:{name}", f"{label} '{url}' is not in site.zip: a reader of the offline copy sees a broken image")


def _base_url_from_canonical(pages: list[PageData]) -> str | None:
    """base_url from a page's own <link rel=canonical>: https://host/repo/ar/x.html on ar/x.html."""
    for page in pages:
        for loads, label, url in page.refs:
            if label == "<link rel=canonical>" and SCHEME.match(url):
                parts = urlsplit(url)
                path = unquote(parts.path)
                if path.endswith("/" + page.rel):
                    return f"{parts.scheme}://{parts.netloc}" + quote(path[: -len(page.rel)], safe="/-._~")
    return None


def _check_pairs(pages: list[PageData], by_rel: dict[str, PageData], site: Site, report: CheckReport) -> None:
    """Every language pair links both ways.

    A pair is P → Q by a language link (``hreflang`` or ``rel=alternate``) where
    P and Q are F1/X.html and F2/X.html in two language folders (ar/, en/), or
    by ``<link rel=alternate hreflang>`` between any two pages. Q must then have
    a language link back to P.
    """
    back: dict[str, set[str]] = defaultdict(set)
    wanted: list[tuple[str, str, str]] = []  # (P, Q, label)
    for page in pages:
        for url, label, head_alternate in page.language_links:
            found = site.resolve(page.rel, url)
            target = found.target
            if not target or target == page.rel or target not in by_rel:
                continue
            back[page.rel].add(target)
            if head_alternate or _same_name_in_language_folders(page.rel, target):
                wanted.append((page.rel, target, label))
    seen: set[tuple[str, str]] = set()
    for source, target, label in wanted:
        if source in back.get(target, ()) or (source, target) in seen:
            continue
        seen.add((source, target))
        report.add(
            target,
            f"{source} links here as its other-language version ({label} with hreflang/rel=alternate), "
            f"but this page has no link back to {source}: add one (hreflang=\"{by_rel[source].lang or '?'}\")",
        )


def _same_name_in_language_folders(a: str, b: str) -> bool:
    folder_a, _, name_a = a.partition("/")
    folder_b, _, name_b = b.partition("/")
    return (
        bool(name_a)
        and name_a == name_b
        and "/" not in name_a
        and folder_a != folder_b
        and is_language_code(folder_a)
        and is_language_code(folder_b)
    )


def _check_stylesheets(site: Site, report: CheckReport) -> None:
    for rel in sorted(f for f in site.files if f.lower().endswith(".css")):
        try:
            css = (site.root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for url in css_urls(css):
            found = site.resolve(rel, url)
            if found.external:
                report.add(rel, f"CSS url()/@import loads {url} from the network: the site must work offline")
            elif found.problem:
                report.add(rel, f"CSS url() '{url}' {found.problem}")


def _check_manifest(site: Site, report: CheckReport) -> None:
    rel = "manifest.webmanifest"
    if rel not in site.files:
        return
    try:
        manifest = json.loads((site.root / rel).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.add(rel, f"not valid JSON ({exc})")
        return
    if not isinstance(manifest, dict):
        return
    urls = [("start_url", manifest.get("start_url"))]
    urls += [("icons src", icon.get("src")) for icon in manifest.get("icons") or [] if isinstance(icon, dict)]
    for label, url in urls:
        if not isinstance(url, str):
            continue
        found = site.resolve(rel, url)
        if found.external:
            report.add(rel, f"{label} {url} is on the network: the site must work offline")
        elif found.problem:
            report.add(rel, f"{label} '{url}' {found.problem}")


def _check_sitemap(site: Site, report: CheckReport) -> None:
    """Every <loc> of sitemap.xml names a file of the site under base_url; when sitemap.xml is
    an index of sitemaps (past the protocol's 50,000 URLs), so does every <loc> of each."""
    if "sitemap.xml" not in site.files or not site.base_url:
        return
    for sitemap in _checked_locs(site, report, "sitemap.xml"):
        _checked_locs(site, report, sitemap, nested=True)


def _checked_locs(site: Site, report: CheckReport, rel: str, nested: bool = False) -> list[str]:
    """The sitemaps ``rel`` names if it is an index (each checked to be a file of the site),
    after reporting every <loc> that is not."""
    text = (site.root / rel).read_text(encoding="utf-8", errors="replace")
    index = "<sitemapindex" in text
    if index and nested:
        report.add(rel, "is an index of sitemaps named by another: the sitemap protocol allows one level; list its sitemaps in sitemap.xml")
        return []
    named = []
    for url in SITEMAP_LOC.findall(text):
        if not url.startswith(site.base_url):
            report.add(rel, f"<loc> {url} is not under base_url {site.base_url}")
            continue
        found = site._own_absolute(url)
        if found.problem:
            report.add(rel, f"<loc> {url} {found.problem}")
        elif index:
            named.append(found.target)
    return named


# -- command line ----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py check",
        description="Check a built site: links and #anchors (as file:// and under a sub-path), no network loads, "
        "<html lang dir>, Arabic/English pairs linking both ways.",
    )
    parser.add_argument("dir", nargs="?", metavar="DIR", help="the built site (default: output_dir of the configuration, e.g. _site)")
    parser.add_argument("--config", default="site.yml", metavar="PATH", help="site configuration (default: ./site.yml)")
    parser.add_argument("--base", default="/repo/", metavar="PATH", help="sub-path the site is published under (default: /repo/, as on GitHub Pages)")
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="processes reading pages (default: one per CPU)")
    return parser


def check_main(argv: list[str] | None = None) -> int:
    args, code = parse_arguments(_parser(), argv)
    if args is None:
        return code
    base_url = None
    config = None
    config_error = None
    from ..config import ConfigError, load_config

    try:
        config = load_config(Path(args.config))
        base_url = config.base_url
    except ConfigError as exc:
        config_error = exc
    if args.dir:
        root = Path(args.dir)
    elif config is not None:
        root = config.output_dir
    else:
        assert config_error is not None
        for problem in config_error.problems:
            print(str(problem), file=sys.stderr)
        print("error: no site folder to check: fix the configuration or pass the folder (build.py check DIR)", file=sys.stderr)
        return EXIT_USAGE
    if not root.is_dir():
        print(f"error: no such folder: {root} (build the site first with `python build.py`, or pass the folder: build.py check DIR)", file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    report = check_site(root, normalise_base(args.base), base_url, jobs=args.jobs)
    for line in report.lines():
        print(line)
    seconds = time.monotonic() - started
    if report.problems:
        pages = len({page for page, _ in report.problems})
        print(
            f"check: {len(report.problems)} problem{'s' if len(report.problems) != 1 else ''} in {pages} file{'s' if pages != 1 else ''} "
            f"({report.pages} pages, {report.references} references checked in {seconds:.1f} s)"
        )
        return EXIT_PROBLEMS
    print(f"check: no problems in {report.pages} pages ({report.references} references, as file:// and under {normalise_base(args.base)}; {seconds:.1f} s)")
    return EXIT_OK
