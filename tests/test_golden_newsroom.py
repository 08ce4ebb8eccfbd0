"""A small newsroom, built and compared file by file with a golden copy: sections, tags in Arabic
with variant spellings, two authors, three years and an undated note, related stories, term and
archive pages and feeds in both editions, sharing and structured data.

Refresh on purpose, after reading the diff of what changed:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_newsroom.py
    git diff --stat tests/golden/

The English comes from the deterministic fake translator, asked once; its memory's dates are
then fixed, and the golden site is the offline build of that memory.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
from pathlib import Path

import pytest

from sitegen.translation.translator import FakeTranslator
from tests.sitekit import build, tree_bytes, write_site

GOLDEN = Path(__file__).parent / "golden" / "newsroom-site"
NOT_COMPARED = {"site.zip", ".sitegen-output"}


def _article(tags: str, author: str, text: str) -> str:
    return f"---\ntags: [{tags}]\nauthor: {author}\n---\n{text}\n"


NEWSROOM = {
    "content/homs/2011-12-20-bayada.txt": _article("حمص, البياضة", "سلمى", "مظاهرة حاشدة في حي البياضة في حمص.\nهتف المتظاهرون للحرية.\n===\nانتشار أمني كثيف بعد المظاهرة."),
    "content/homs/2012-02-04-baba-amr.txt": _article("حِمص, بابا عمرو, قصف", "[سلمى, خالد]", "قصف عنيف على حي بابا عمرو في حمص.\n===\nاستمرار القصف لليوم الثاني ونزوح العائلات."),
    "content/homs/2012-02-24-siege.md": _article("حمـص, حصار", "خالد", "## الحصار\n\nيدخل حصار بابا عمرو أسبوعه الثالث، والخبز *نادر*."),
    "content/idlib/2012-03-05-saraqib.txt": _article("إدلب, قصف", "خالد", "قصف على مدينة سراقب في ريف إدلب."),
    "content/opinion/2013-01-05-view.md": _article("رأي, حمص", "سلمى", "ما الذي تعلمناه من حصار حمص؟"),
    "content/notes.txt": "---\ntags: [حمص]\n---\nملاحظة بلا تاريخ عن حمص.\n",
}
CONFIG = {
    "title": "أخبار المدينة",
    "per_page": 3,
    "base_url": "https://example.org/news/",
    "sections": {"homs": {"ar": "حمص", "en": "Homs"}, "idlib": {"ar": "إدلب", "en": "Idlib"}, "opinion": {"ar": "رأي", "en": "Opinion"}},
    "taxonomies": {"authors": {"سلمى": "Salma"}},
    "translation": {"enabled": True, "title": "City News"},
}


def newsroom_site(folder: Path) -> Path:
    site = write_site(folder, dict(NEWSROOM), CONFIG)
    assert build(site, translator_factory=FakeTranslator).written
    for memory in (site / "translations").rglob("*.yml"):
        memory.write_text(re.sub(r"date: '\d{4}-\d{2}-\d{2}'", "date: '2026-12-01'", memory.read_text(encoding="utf-8")), encoding="utf-8")
    shutil.rmtree(site / "_site")
    shutil.rmtree(site / ".cache", ignore_errors=True)
    result = build(site, offline=True)
    assert result.written and not result.problems, [str(p) for p in result.problems]
    return site / "_site"


def test_newsroom_matches_golden(tmp_path: Path) -> None:
    built = {k: v for k, v in tree_bytes(newsroom_site(tmp_path / "site")).items() if k not in NOT_COMPARED}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in built.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
        pytest.skip("golden site refreshed on purpose: review `git diff tests/golden` before committing")
    assert GOLDEN.is_dir(), "no golden site yet: run with UPDATE_GOLDEN=1 once, then review and commit it"
    expected = {k: v for k, v in tree_bytes(GOLDEN).items() if k not in NOT_COMPARED}
    assert sorted(built) == sorted(expected), "the set of files differs from the golden site"
    for rel in sorted(expected):
        if built[rel] != expected[rel]:
            diff = "\n".join(difflib.unified_diff(
                expected[rel].decode("utf-8", "replace").splitlines(), built[rel].decode("utf-8", "replace").splitlines(),
                f"golden/{rel}", f"built/{rel}", lineterm="", n=1))
            pytest.fail(f"{rel} differs from the golden site (refresh on purpose with UPDATE_GOLDEN=1):\n{diff[:4000]}")


def test_the_newsroom_is_linked_through_and_through(tmp_path: Path) -> None:
    """What the golden copy holds, said as rules: so that a refresh cannot quietly lose it."""
    out = newsroom_site(tmp_path / "site")
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    for wanted in ["tags/حمص.html", "tags/حمص.p1.html", "en/tags/حمص.html", "authors/سلمى.html", "en/authors/خالد.html", "sections/homs.html", "en/sections/idlib.html", "archive/2011-12.html", "en/archive/2013-01.html", "tags/حمص.xml", "en/tags/قصف.xml"]:
        assert wanted in names, wanted
    page = (out / "ar" / "homs-2012-02-04-baba-amr-1.html").read_text(encoding="utf-8")
    assert '<nav class="related"' in page and '"@type": "NewsArticle"' in page and 'property="og:title"' in page
    english_tags = (out / "en" / "tags.html").read_text(encoding="utf-8")
    assert 'lang="ar"' not in english_tags.split("<main")[1].split("</main>")[0]  # every tag named in English
