"""Every right-to-left language the build knows gives right-to-left pages that `check` accepts.

The list of right-to-left languages is stated once (sitegen/core/languages.py); the build
and `check` both read it. Before, each kept its own copy and a site in Uyghur (`ug`) was
built left-to-right and then refused by `check`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sitekit import build, write_site

from sitegen.commands.check import check_site
from sitegen.core.languages import RTL_LANGUAGES, direction

pytestmark = pytest.mark.timeout(120)

ROOT_TAG = re.compile(r"<html\b[^>]*>")


@pytest.mark.parametrize("language", sorted(RTL_LANGUAGES))
def test_every_right_to_left_language_builds_pages_that_check_accepts(language: str, tmp_path: Path):
    site = write_site(tmp_path / "site", {"content/a.txt": "فقرة أولى.\nفقرة ثانية.\n===\nجزء ثان.\n"}, {"language": language, "base_url": "https://example.org/repo/"})
    result = build(site)
    assert not result.failed, [str(p) for p in result.problems]
    pages = sorted((site / "_site").rglob("*.html"))
    assert len(pages) >= 4  # two segment pages, the index, 404 and search
    for page in pages:
        root = ROOT_TAG.search(page.read_text(encoding="utf-8")).group(0)
        assert 'dir="rtl"' in root, f"{page.name}: {root}"
    report = check_site(site / "_site", "/repo/", "https://example.org/repo/")
    assert report.problems == [], report.problems


@pytest.mark.parametrize("tag", ["ug", "ug-CN", "ug-Arab", "ar-SY", "fa-IR", "az-Arab", "pa-Arab", "en", "tr"])
def test_direction_follows_the_language_and_script_of_a_tag(tag: str):
    expected = "ltr" if tag in ("en", "tr") else "rtl"
    assert direction(tag) == expected
