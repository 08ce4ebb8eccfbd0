"""Shared fixtures: a small site written into tmp_path, an in-process build, and HTML reading helpers.

``make_site(files, config)`` writes ``site.yml`` (defaults: a title, translation
disabled) and the given files, whose keys are paths relative to the site folder
(``content/a.txt``, ``templates/404.html``). ``run_build(site, *args)`` runs
``sitegen.commands.cli.main`` in-process with ``--config`` pointing at the site and
returns its exit code and captured output. Nothing here touches the network.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from sitegen.commands.cli import main as cli_main
from tests.libre_stub import LibreStub

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "content" / "homs-baba-amr.txt"
DEFAULT_CONFIG = {"title": "موقع الاختبار", "translation": {"enabled": False}}


@dataclass
class BuildRun:
    """What a build printed and returned, like a CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def make_site(tmp_path: Path):
    """Factory: ``make_site(files, config=None, name="site") -> Path`` of the site folder.

    ``config`` may be a dict (merged over the defaults; ``translation`` merged
    key by key), a string (written verbatim as site.yml) or None (defaults).
    """

    def make(files: dict[str, str | bytes] | None = None, config: dict | str | None = None, name: str = "site") -> Path:
        site = tmp_path / name
        site.mkdir(parents=True, exist_ok=True)
        if isinstance(config, str):
            (site / "site.yml").write_text(config, encoding="utf-8")
        else:
            settings = {key: (dict(value) if isinstance(value, dict) else value) for key, value in DEFAULT_CONFIG.items()}
            for key, value in (config or {}).items():
                if key == "translation" and isinstance(value, dict):
                    settings["translation"].update(value)
                else:
                    settings[key] = value
            (site / "site.yml").write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
        (site / "content").mkdir(exist_ok=True)
        for rel, content in (files or {}).items():
            path = site / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                # newline="" so that a test's "\r\n" reaches the file unchanged
                with open(path, "w", encoding="utf-8", newline="") as handle:
                    handle.write(content)
        return site

    return make


def _run(argv: list[str]) -> BuildRun:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(argv)
    return BuildRun(code, out.getvalue(), err.getvalue())


@pytest.fixture
def run_build():
    """``run_build(site_dir, *args) -> BuildRun``: the CLI in-process, --config at the site, --offline."""

    def run(site_dir: Path | None, *args: str) -> BuildRun:
        argv = list(args)
        if site_dir is not None and "--config" not in argv:
            argv = ["--config", str(Path(site_dir) / "site.yml")] + argv
        if "--offline" not in argv:
            argv.append("--offline")  # belt and braces: no test may reach a translation service
        return _run(argv)

    return run


@pytest.fixture
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


# -- reading pages -------------------------------------------------------------


@dataclass
class ParsedPage:
    html_attrs: dict[str, str | None] = field(default_factory=dict)
    title: str = ""
    body_paragraphs: list[str] = field(default_factory=list)  # text of each <p> inside <div class="body">
    body_tags: list[str] = field(default_factory=list)  # every start tag inside <div class="body">
    hrefs: list[str] = field(default_factory=list)  # href of <a> and <link>
    srcs: list[str] = field(default_factory=list)  # src of any element
    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    times: list[tuple[str | None, str]] = field(default_factory=list)  # (datetime, text)
    h1: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self.stack: list[str] = []
        self.body_depth: int | None = None  # depth of <div class="body"> in the stack
        self.capture: str | None = None  # what text is being collected
        self.buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.page.tags.append((tag, a))
        if a.get("id"):
            self.page.ids.add(a["id"])
        if tag == "html":
            self.page.html_attrs = a
        if "href" in a and tag in ("a", "link", "area", "base"):
            self.page.hrefs.append(a["href"] or "")
        if "src" in a:
            self.page.srcs.append(a["src"] or "")
        if self.body_depth is not None:
            self.page.body_tags.append(tag)
        if tag in ("br", "hr", "img", "meta", "link", "input", "wbr"):
            return
        self.stack.append(tag)
        if tag == "div" and "body" in (a.get("class") or "").split() and self.body_depth is None:
            self.body_depth = len(self.stack)
        if self.capture is None:
            if tag == "title":
                self.capture, self.buffer = "title", []
            elif tag == "h1":
                self.capture, self.buffer = "h1", []
            elif tag == "style":
                self.capture, self.buffer = "style", []
            elif tag == "time":
                self.capture, self.buffer = "time", []
                self._time = a.get("datetime")
            elif tag == "p" and self.body_depth is not None:
                self.capture, self.buffer = "p", []
                self._p_depth = len(self.stack)

    def handle_endtag(self, tag: str) -> None:
        if self.capture == tag and (tag != "p" or len(self.stack) == self._p_depth):
            text = "".join(self.buffer)
            if tag == "title":
                self.page.title = text
            elif tag == "h1":
                self.page.h1.append(text)
            elif tag == "style":
                self.page.styles.append(text)
            elif tag == "time":
                self.page.times.append((self._time, text))
            elif tag == "p":
                self.page.body_paragraphs.append(text)
            self.capture = None
        if tag in self.stack:
            while self.stack:
                top = self.stack.pop()
                if top == tag:
                    break
        if self.body_depth is not None and len(self.stack) < self.body_depth:
            self.body_depth = None

    def handle_data(self, data: str) -> None:
        if self.capture is not None:
            self.buffer.append(data)


def read_html(source: str | Path) -> ParsedPage:
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return parser.page


@pytest.fixture
def parse_html():
    """``parse_html(path_or_html) -> ParsedPage``: title, <p>s of the body, links, ids, <time>s."""
    return read_html


@pytest.fixture
def parse_page():
    """Same as ``parse_html``."""
    return read_html


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def read_tree():
    """``read_tree(folder) -> {relative path: bytes}`` of every file below the folder."""
    return tree_bytes


@pytest.fixture
def stub():
    """A LibreTranslate-compatible stub server on 127.0.0.1, fresh for each test."""
    with LibreStub() as server:
        yield server
