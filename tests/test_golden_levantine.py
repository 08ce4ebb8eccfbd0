"""The sample as a Levantine paper would publish it (language: ar-SY, calendar: gregorian+hijri,
with base_url, so feeds and the sitemap too), compared file by file with a golden copy beside
the default one.

Refresh on purpose, after reading the diff of what changed:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_levantine.py
    git diff --stat tests/golden/

The sample's file is dated by its name here (2012-02-24-...), so the golden copy does not
depend on git; the translation memory is the repository's, made under plain 'ar'.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest

from test_english_edition import BASE_URL, built, sample_site
from tests.sitekit import tree_bytes

GOLDEN = Path(__file__).parent / "golden" / "levantine-site"
NOT_COMPARED = {"site.zip", ".sitegen-output"}


def test_levantine_sample_matches_golden(tmp_path: Path) -> None:
    site = sample_site(tmp_path / "site", language="ar-SY", numerals="auto", calendar="gregorian+hijri", base_url=BASE_URL)
    built_files = {k: v for k, v in tree_bytes(built(site)).items() if k not in NOT_COMPARED}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in built_files.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
        pytest.skip("golden site refreshed on purpose: review `git diff tests/golden` before committing")
    assert GOLDEN.is_dir(), "no golden site yet: run with UPDATE_GOLDEN=1 once, then review and commit it"
    expected = {k: v for k, v in tree_bytes(GOLDEN).items() if k not in NOT_COMPARED}
    assert sorted(built_files) == sorted(expected), "the set of files differs from the golden site"
    for rel in sorted(expected):
        if built_files[rel] != expected[rel]:
            diff = "\n".join(difflib.unified_diff(
                expected[rel].decode("utf-8", "replace").splitlines(), built_files[rel].decode("utf-8", "replace").splitlines(),
                f"golden/{rel}", f"built/{rel}", lineterm="", n=1))
            pytest.fail(f"{rel} differs from the golden site (refresh on purpose with UPDATE_GOLDEN=1):\n{diff[:4000]}")
