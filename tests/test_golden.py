"""The sample site, built from the repository's own content, compared file by file with a golden copy.

Refresh on purpose, after reading the diff of what changed:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
    git diff --stat tests/golden/

The golden site is built with --offline from the committed translation memory,
and the sample's date comes from git (the file's last commit), as in a real build.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sitekit import REPO, tree_bytes

GOLDEN = Path(__file__).parent / "golden" / "sample-site"
# The zip holds the same pages again; it is checked for determinism elsewhere. The marker
# holds the build id, a hash over every file, site.zip included (checked in test_output).
NOT_COMPARED = {"site.zip", ".sitegen-output"}


def build_sample(out: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "build.py"), "--config", str(REPO / "site.yml"), "--out", str(out), "--offline", "--quiet"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr


def test_sample_site_matches_golden(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_sample(out)
    built = {k: v for k, v in tree_bytes(out).items() if k not in NOT_COMPARED}
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
            diff = "\n".join(
                difflib.unified_diff(
                    expected[rel].decode("utf-8", "replace").splitlines(),
                    built[rel].decode("utf-8", "replace").splitlines(),
                    f"golden/{rel}", f"built/{rel}", lineterm="", n=1,
                )
            )
            pytest.fail(f"{rel} differs from the golden site (refresh on purpose with UPDATE_GOLDEN=1):\n{diff[:4000]}")
