"""tools/pick-python: which interpreter `make` makes .venv from (the Makefile's PYTHON)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "pick-python"


def _stub(folder: Path, name: str, qualifies: bool) -> str:
    """A stand-in interpreter that answers the script's question (3.11+ CPython with venv) yes or no."""
    path = folder / name
    path.write_text(f"#!/bin/sh\nexit {0 if qualifies else 1}\n")
    path.chmod(0o755)
    return str(path)


def _pick(candidates: list[str], version: str | None = None) -> str:
    env = dict(os.environ, PICK_PYTHON_CANDIDATES=" ".join(candidates))
    if version is not None:
        env["PICK_PYTHON_VERSION"] = version
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_the_first_candidate_that_qualifies_is_picked(tmp_path: Path) -> None:
    old, first, second = _stub(tmp_path, "old", False), _stub(tmp_path, "first", True), _stub(tmp_path, "second", True)
    assert _pick([old, first, second]) == first
    assert _pick([second, first]) == second


def test_a_missing_candidate_is_passed_over(tmp_path: Path) -> None:
    good = _stub(tmp_path, "good", True)
    assert _pick([str(tmp_path / "absent"), good]) == good


def test_python3_from_path_when_none_qualifies(tmp_path: Path) -> None:
    assert _pick([_stub(tmp_path, "old", False), str(tmp_path / "absent")]) == "python3"


def test_an_interpreter_of_the_version_on_the_path_qualifies() -> None:
    # The tests run under CPython 3.11+ in a venv: asked for its own version, it says yes.
    mine = "%d.%d" % sys.version_info[:2]
    assert _pick([sys.executable], mine) == sys.executable


def test_an_interpreter_of_another_version_is_passed_over() -> None:
    # A faster build of the same Python, never another version than the one on the PATH.
    other = "%d.%d" % (sys.version_info[0], sys.version_info[1] + 1)
    assert _pick([sys.executable], other) == "python3"


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no system Python")
def test_the_system_python_comes_first_by_default() -> None:
    version = subprocess.run(["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True).stdout.strip()
    check = "import sys, venv, ensurepip; sys.exit(not (sys.implementation.name == 'cpython' and '%d.%d' % sys.version_info[:2] == sys.argv[1] and sys.version_info >= (3, 11)))"
    system_qualifies = subprocess.run(["/usr/bin/python3", "-c", check, version], capture_output=True).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICK_PYTHON_")}
    picked = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert picked == ("/usr/bin/python3" if system_qualifies else "python3")


def test_the_makefile_makes_the_venv_from_the_picked_interpreter() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "PYTHON ?= $(shell bash tools/pick-python)" in makefile
    assert "$(PYTHON) -m venv $(VENV)" in makefile
