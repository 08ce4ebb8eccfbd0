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


def _pick(candidates: list[str]) -> str:
    env = dict(os.environ, PICK_PYTHON_CANDIDATES=" ".join(candidates))
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


def test_this_interpreter_qualifies() -> None:
    # The tests run under CPython 3.11+ in a venv: the question the script asks must say yes.
    assert _pick([sys.executable]) == sys.executable


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no system Python")
def test_the_system_python_comes_first_by_default() -> None:
    system_qualifies = subprocess.run(["/usr/bin/python3", "-c", "import sys, venv, ensurepip; sys.exit(not (sys.implementation.name == 'cpython' and sys.version_info >= (3, 11)))"], capture_output=True).returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "PICK_PYTHON_CANDIDATES"}
    picked = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert picked == ("/usr/bin/python3" if system_qualifies else "python3")


def test_the_makefile_makes_the_venv_from_the_picked_interpreter() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "PYTHON ?= $(shell bash tools/pick-python)" in makefile
    assert "$(PYTHON) -m venv $(VENV)" in makefile
