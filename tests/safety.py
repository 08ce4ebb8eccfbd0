"""Does a built site run anything it should not? Checks shared by test_hostile.py and test_properties.py.

A page may only hold what the theme itself puts there: the scripts, styles and
tags that a benign build of the same configuration produces (``Baseline``),
plus the sanitiser's allow-list. Anything else (a ``<script>`` of the
content's, an ``on…=`` attribute, a ``javascript:`` link, an ``<iframe>``) is
reported as a problem. Pages are read with the standard library's HTML
tokenizer, which, like a browser, decodes character references in attribute
values before they are checked.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

from sitegen.content.markup import ALLOWED_TAGS
from sitegen.outputs.archive import FOLDER as ARCHIVE_FOLDER

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "data", "background", "srcset", "ping", "cite", "manifest"}
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
# Browsers ignore these inside a URL's scheme: "java\tscript:" still runs.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
ATOM = "{http://www.w3.org/2005/Atom}"
_SHARD = re.compile(r'^window\.__searchShard\("[^"\\<>]+",(.*)\);$', re.S)


@dataclass
class PageScan:
    tags: set[str] = field(default_factory=set)
    scripts: list[tuple[str | None, str]] = field(default_factory=list)  # (src, inline text)
    styles: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)  # <script type="application/ld+json">: data, never run
    problems: list[str] = field(default_factory=list)


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = PageScan()
        self._raw: tuple[str, str | None, bool] | None = None  # inside <script> or <style>; a JSON-LD block?
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scan.tags.add(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.scan.problems.append(f"event handler <{tag} {name}={value!r}>")
            if name == "style":
                self.scan.problems.append(f"style attribute <{tag} style={value!r}>")
            if name == "srcdoc":
                self.scan.problems.append(f"srcdoc attribute on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                squeezed = _URL_NOISE.sub("", value).lower()
                if squeezed.startswith(DANGEROUS_SCHEMES):
                    self.scan.problems.append(f"dangerous URL <{tag} {name}={value!r}>")
        if tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() == "refresh":
            self.scan.problems.append("<meta http-equiv=refresh>")
        if tag in ("script", "style"):
            values = dict(attrs)
            # A JSON-LD block is data a browser never runs (that exact type only: others may be code).
            data = tag == "script" and values.get("type") == "application/ld+json" and values.get("src") is None
            self._raw = (tag, values.get("src"), data)
            self._buffer = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._raw is not None and tag == self._raw[0]:
            text = "".join(self._buffer)
            if self._raw[2]:
                self.scan.data.append(text)
            elif tag == "script":
                self.scan.scripts.append((self._raw[1], text))
            else:
                self.scan.styles.append(text)
            self._raw = None


def scan_page(html: str) -> PageScan:
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.scan


@dataclass
class Baseline:
    """What the theme itself puts in pages: learnt from a benign build of the same configuration."""

    scripts: set[tuple[str | None, str]] = field(default_factory=set)
    styles: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)

    @classmethod
    def of_site(cls, out: Path) -> "Baseline":
        baseline = cls()
        for path in sorted(out.rglob("*.html")):
            scan = scan_page(path.read_text(encoding="utf-8"))
            assert not scan.problems, f"the benign baseline itself is unsafe: {path}: {scan.problems}"
            baseline.scripts |= set(scan.scripts)
            baseline.styles |= set(scan.styles)
            baseline.tags |= scan.tags
        assert baseline.scripts and baseline.styles, "the baseline build shows no theme script or style"
        return baseline


def page_problems(html: str, baseline: Baseline) -> list[str]:
    """Everything in one page that could run or load something the theme did not put there."""
    scan = scan_page(html)
    problems = list(scan.problems)
    allowed_tags = baseline.tags | ALLOWED_TAGS
    problems += [f"unexpected element <{tag}>" for tag in sorted(scan.tags - allowed_tags)]
    problems += [f"script not from the theme: src={src!r} {text[:80]!r}" for src, text in scan.scripts if (src, text) not in baseline.scripts]
    problems += [f"style not from the theme: {text[:80]!r}" for text in scan.styles if text not in baseline.styles]
    for text in scan.data:
        # Each page has its own, so it is never in the baseline: safe while it is JSON and cannot end its element.
        if re.search("[<>&\u2028\u2029]", text):
            problems.append(f"JSON-LD holds an unescaped '<', '>', '&' or line separator: {text[:80]!r}")
        try:
            json.loads(text)
        except ValueError as exc:
            problems.append(f"JSON-LD is not JSON ({exc}): {text[:80]!r}")
    return problems


def site_problems(out: Path, baseline: Baseline) -> list[str]:
    """Every HTML page, feed, sitemap, search script and the zip of a built site, checked for their context."""
    problems: list[str] = []
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(out).as_posix()
        data = path.read_bytes()
        if rel.endswith(".html"):
            problems += [f"{rel}: {p}" for p in page_problems(data.decode("utf-8"), baseline)]
        elif rel.endswith(".xml"):
            try:
                root = ElementTree.fromstring(data)
            except ElementTree.ParseError as exc:
                problems.append(f"{rel}: not well-formed XML ({exc})")
                continue
            namespace = root.tag.partition("}")[0] + "}"
            stray = {el.tag for el in root.iter() if not el.tag.startswith(namespace) and not el.tag.startswith("{http://www.w3.org/1999/xhtml}")}
            if stray:
                problems.append(f"{rel}: elements outside the feed's vocabulary: {sorted(stray)}")
        elif rel.startswith("search/") and rel.endswith(".js"):
            text = data.decode("utf-8")
            match = _SHARD.match(text.lstrip("\ufeff").strip())
            if match is None:
                problems.append(f"{rel}: not a single window.__searchShard(name, JSON) call")
            else:
                try:
                    json.loads(match.group(1))
                except ValueError as exc:
                    problems.append(f"{rel}: payload is not JSON ({exc}): text could have become code")
            if re.search(r"</script|<!--|<script", text, re.I):
                problems.append(f"{rel}: holds '<script', '</script' or '<!--'")
        elif rel.endswith(".webmanifest"):
            json.loads(data)
    archive = out / "site.zip"
    if archive.is_file():
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                name = info.filename  # every member lies under the folder site/
                inner = name.partition("/")[2]
                if not name.startswith(f"{ARCHIVE_FOLDER}/") or ".." in name.split("/") or "\\" in name or not inner:
                    problems.append(f"site.zip: member {name!r} would unpack outside its folder")
                elif not (out / inner).is_file() or zipped.read(info) != (out / inner).read_bytes():
                    problems.append(f"site.zip: member {name!r} differs from the site's file")
    return problems
