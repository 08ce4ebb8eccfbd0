"""This user's sealing key (core/sealing.py): made once, private, never read from a link or
from a file others could read or write; a seal holds for its parts under its key only."""

from __future__ import annotations

import os
import tempfile

import pytest

from sitegen.core import sealing


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sealing.user_key.cache_clear()
    yield tmp_path
    sealing.user_key.cache_clear()


def _key_path(temp_dir) -> str:
    return os.path.join(temp_dir, f"sitegen-{os.getuid()}", "seal.key")


def test_the_key_is_made_once_and_closed_to_others(temp_dir):
    key = sealing.user_key()
    assert key is not None and len(key) == sealing.KEY_BYTES
    assert os.stat(_key_path(temp_dir)).st_mode & 0o777 == 0o600
    sealing.user_key.cache_clear()
    assert sealing.user_key() == key  # read back, not made again
    assert [name for name in os.listdir(os.path.dirname(_key_path(temp_dir))) if name.startswith("seal")] == ["seal.key"]


def test_a_seal_holds_for_its_parts_under_its_key_only(temp_dir):
    key = sealing.user_key()
    sealed = sealing.seal(key, ["build", "ar/1/2/3"])
    assert sealing.holds(key, ["build", "ar/1/2/3"], sealed)
    assert not sealing.holds(key, ["build", "ar/1/2/4"], sealed)
    assert not sealing.holds(bytes(sealing.KEY_BYTES), ["build", "ar/1/2/3"], sealed)
    assert not sealing.holds(None, ["build", "ar/1/2/3"], sealed)
    assert not sealing.holds(key, ["build", "ar/1/2/3"], None)


@pytest.mark.parametrize("planted", ["readable by others", "a link", "too short"])
def test_a_key_that_is_not_safely_this_users_is_never_used(temp_dir, planted):
    sealing.user_key()
    path = _key_path(temp_dir)
    if planted == "readable by others":
        os.chmod(path, 0o644)
    elif planted == "a link":
        elsewhere = os.path.join(temp_dir, "elsewhere.key")
        with open(elsewhere, "wb") as handle:
            handle.write(bytes(sealing.KEY_BYTES))
        os.chmod(elsewhere, 0o600)
        os.unlink(path)
        os.symlink(elsewhere, path)
    else:
        with open(path, "wb") as handle:
            handle.write(b"short")
    sealing.user_key.cache_clear()
    assert sealing.user_key() is None
