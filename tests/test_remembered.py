"""Facts derived from a library's data, kept between processes (core/remembered.py): the
same values as made afresh, read back instead of made, never read from a folder another user
could write, and made again when what is kept is damaged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sitegen.content import metadata
from sitegen.core import remembered as memo
from sitegen.outputs.search import analyser
from sitegen.pages import sharing

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for cached in (metadata.month_names, metadata.digits, metadata._date_words):
        cached.cache_clear()
    yield tmp_path
    for cached in (metadata.month_names, metadata.digits, metadata._date_words):
        cached.cache_clear()


class Maker:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def is_pair(value) -> bool:
    return isinstance(value, list) and len(value) == 2


def test_a_value_is_made_once_then_read(temp_dir):
    make = Maker(["a", "ب"])
    assert memo.remembered("thing", "v1", make, is_pair) == ["a", "ب"]
    assert memo.remembered("thing", "v1", make, is_pair) == ["a", "ب"]
    assert make.calls == 1
    assert memo.remembered("thing", "v2", make, is_pair) == ["a", "ب"]  # another key: made again
    assert make.calls == 2


@pytest.mark.parametrize("damage", [b"", b"{not json", b'["only one"]', b"\xff\xfe", b'{"a": 1}'])
def test_damaged_values_are_made_again_and_replaced(temp_dir, damage):
    make = Maker([1, 2])
    memo.remembered("thing", "k", make, is_pair)
    [kept] = memo.private_folder().glob("thing-*.json")
    kept.write_bytes(damage)
    assert memo.remembered("thing", "k", make, is_pair) == [1, 2]
    assert make.calls == 2
    assert json.loads(kept.read_bytes()) == [1, 2]


def test_a_folder_others_can_write_is_never_read(temp_dir):
    folder = temp_dir / f"sitegen-{os.getuid()}"
    folder.mkdir(mode=0o700)
    (folder / "planted").write_text("x")
    os.chmod(folder, 0o777)
    assert memo.private_folder() is None
    make = Maker([3, 4])
    memo.remembered("thing", "k", make, is_pair)
    memo.remembered("thing", "k", make, is_pair)
    assert make.calls == 2
    assert sorted(p.name for p in folder.iterdir()) == ["planted"]


def test_a_folder_of_this_users_only_readable_by_others_is_closed_and_used(temp_dir):
    folder = temp_dir / f"sitegen-{os.getuid()}"
    folder.mkdir()
    os.chmod(folder, 0o755)  # another umask
    assert memo.private_folder() == folder
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_link_in_place_of_the_folder_is_never_followed(temp_dir):
    elsewhere = temp_dir / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (temp_dir / f"sitegen-{os.getuid()}").symlink_to(elsewhere)
    assert memo.private_folder() is None


@pytest.mark.parametrize("language", ["ar", "ar-SY", "ar-MA", "ar-EG", "en", "fr", "fa", "arc"])
def test_date_words_read_back_are_cldrs(temp_dir, language):
    fresh = metadata._date_words_from_cldr(language)
    for _ in range(2):  # made and kept, then read back
        metadata._date_words.cache_clear()
        metadata.month_names.cache_clear()
        metadata.digits.cache_clear()
        assert metadata.month_names(language) == tuple(fresh["months"])
        assert metadata.digits(language) == metadata.DIGITS.get(fresh["numbering"], metadata.DIGITS["latn"])
    assert len(list(memo.private_folder().glob("date-words-*.json"))) == 1


def test_a_later_process_writes_dates_and_open_graph_locales_without_loading_babel(tmp_path):
    script = ("import sys; from datetime import date; from sitegen.content.metadata import format_date; "
              "from sitegen.pages.sharing import facebook_locale; "
              "print(format_date(date(2012, 2, 4), 'ar-SY')); print(facebook_locale('en'), facebook_locale('fr'), facebook_locale('ar')); "
              "print('babel' in sys.modules)")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()
            for _ in range(2)]
    assert runs[0][:-1] == runs[1][:-1] == ["٤", "شباط", "٢٠١٢", "en_US", "fr_FR", "ar_AR"]
    assert [run[-1] for run in runs] == ["True", "False"]


def test_locale_aliases_read_back_are_babels(temp_dir):
    from babel.core import LOCALE_ALIASES

    for _ in range(2):  # made and kept, then read back
        sharing._locale_aliases.cache_clear()
        assert sharing._locale_aliases() == LOCALE_ALIASES
    [kept] = memo.private_folder().glob("locale-aliases-*.json")
    for planted in ({}, {"en": 1}, ["en", "en_US"], "en_US"):
        kept.write_text(json.dumps(planted))
        sharing._locale_aliases.cache_clear()
        assert sharing._locale_aliases() == LOCALE_ALIASES
    sharing._locale_aliases.cache_clear()


def test_the_search_fold_table_read_back_is_the_one_made_from_unicode(temp_dir, monkeypatch):
    made, kept = analyser._build_fold_table(), analyser._build_fold_table()  # made and kept, then read back
    with monkeypatch.context() as patch:
        patch.setattr(analyser, "remembered", lambda name, key, make, accept: make())
        afresh = analyser._build_fold_table()
    assert made == kept == afresh
    assert list(kept) == list(afresh)  # in the same order too
    assert 0x064B in kept and kept[0x064B] is None  # Arabic fathatan: a mark, removed
    assert len(list(memo.private_folder().glob("marks-*.json"))) == 1


def test_planted_mark_runs_of_the_wrong_shape_are_refused(temp_dir):
    expected = analyser._build_fold_table()
    [kept] = memo.private_folder().glob("marks-*.json")
    for planted in ([[5, 1]], [[0, 0x110000]], [["a", "b"]], [], [[1, 2, 3]], {"a": 1}, [[1.0, 2]]):
        kept.write_text(json.dumps(planted))
        assert analyser._build_fold_table() == expected
