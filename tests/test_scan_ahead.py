"""The plan's scan in a child: while a forked child finds and stat's the sources and their
memories, the build reads what the previous build left (plan.survey). The plan and the site
are those of a scan made in the build's own process; a build with nothing to do stops
reading; a child that fails is made good by the build."""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import sitegen.pipeline.making
import sitegen.pipeline.plan
import sitegen.pipeline.workers
from sitegen.pipeline.stages import BuildOptions, build_site
from sitegen.config import load_config
from sitegen.translation.translator import FakeTranslator
from tests.sitekit import tree_bytes, write_site

ARTICLES = {
    "content/2020/2020-01-01-one.txt": "الأول عن حمص.\nفقرة ثانية.\n===\nالجزء الثاني.\n",
    "content/2020/2020-02-01-two.txt": "مقال ثان عن حماة.\n",
    "content/2021/2021-03-01-three.md": "# عنوان\n\nفقرة *مائلة*.\n",
    "content/2021/2021-04-01-four.txt": "مقال رابع.\n",
}
CONFIG = {"translation": {"enabled": True}, "per_page": 2}


def _build(site: Path, **options):
    """A build, and the plan it made by (handed over by BuildOptions.keep with what it made;
    None when it made nothing)."""
    kept: list = []
    result = build_site(load_config(site / "site.yml"), BuildOptions(keep=kept.append, **options))
    made = [value for value in kept if isinstance(value, tuple)]
    return result, (made[0][0] if made else None)


def _edit(site: Path) -> None:
    # A paragraph changed, a file removed and one added, a memory edited by hand.
    path = site / "content/2020/2020-02-01-two.txt"
    path.write_text(path.read_text(encoding="utf-8") + "فقرة جديدة.\n", encoding="utf-8")
    (site / "content/2021/2021-04-01-four.txt").unlink()
    (site / "content/2021/2021-05-01-five.txt").write_text("مقال خامس.\n", encoding="utf-8")
    memory = site / "translations/2020/2020-01-01-one.txt.en.yml"
    text = memory.read_text(encoding="utf-8")
    assert "translation: 'English" in text
    memory.write_text(text.replace("translation: 'English", "translation: 'Corrected English", 1), encoding="utf-8")


@contextmanager
def _no_child(monkeypatch):
    @contextmanager
    def refused(task, *args):
        yield None

    with monkeypatch.context() as patched:
        patched.setattr(sitegen.pipeline.workers, "in_child", refused)
        yield


def _twins(tmp_path: Path) -> tuple[Path, Path]:
    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG)
    assert _build(site, translator_factory=FakeTranslator)[0].written
    twin = tmp_path / "twin"
    shutil.copytree(site, twin, symlinks=True)
    # The copy's cache names the copy's output folder: built once more, it holds the twin's site.
    shutil.rmtree(twin / ".cache")
    assert _build(twin, offline=True)[0].written
    return site, twin


def test_a_plan_scanned_in_a_child_is_the_plan_scanned_here_and_gives_the_same_site(tmp_path: Path, monkeypatch) -> None:
    site, twin = _twins(tmp_path)
    for folder in (site, twin):
        _edit(folder)
    scanned_there = []
    real = sitegen.pipeline.plan._scan_to_send
    monkeypatch.setattr(sitegen.pipeline.plan, "_scan_to_send", lambda *args: scanned_there.append(1) or real(*args))
    result, plan = _build(site, offline=True)
    with _no_child(monkeypatch):
        twin_result, twin_plan = _build(twin, offline=True)
    assert scanned_there == []  # appended in the child, not here: the child did the scanning
    assert plan.ahead is not None and twin_plan.ahead is None
    for name in ("changed", "removed", "git_head", "git_dates", "discovery_problems"):
        assert getattr(plan, name) == getattr(twin_plan, name), name
    assert set(plan.changed) == {"2020/2020-02-01-two.txt", "2021/2021-05-01-five.txt", "2020/2020-01-01-one.txt"}
    assert plan.removed == ("2021/2021-04-01-four.txt",)
    strip = len(str(tmp_path / "site"))
    assert {rel: path[strip:] for rel, path in plan.sources.items()} == {rel: path[len(str(tmp_path / "twin")):] for rel, path in twin_plan.sources.items()}
    # Signatures hold inodes and times of each copy's own files: the same files, the same kinds.
    assert plan.signatures.keys() == twin_plan.signatures.keys()
    assert tree_bytes(site / "_site") == tree_bytes(twin / "_site")
    assert result.rebuilt_files == twin_result.rebuilt_files == 3


def test_a_build_with_nothing_to_do_stops_reading_what_the_previous_build_left(tmp_path: Path, monkeypatch) -> None:
    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG)
    assert _build(site, translator_factory=FakeTranslator)[0].written
    asked: list[bool] = []

    def reader(cache, keep_long_lived, wanted, abandoned=None):
        end = time.monotonic() + 20
        while wanted() and time.monotonic() < end:  # as the records are read, a few hundred at a time
            time.sleep(0.01)
        asked.append(wanted())
        return None

    monkeypatch.setattr(sitegen.pipeline.making, "read_ahead", reader)
    result, plan = _build(site, offline=True)
    assert result.unchanged and plan is None
    assert asked == [False]  # told to stop once the child's scan found everything as recorded


def test_a_build_with_something_to_do_reads_on_and_uses_what_it_read(tmp_path: Path, monkeypatch) -> None:
    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG)
    assert _build(site, translator_factory=FakeTranslator)[0].written
    _edit(site)
    asked: list[bool] = []
    real = sitegen.pipeline.making.read_ahead

    def reader(cache, keep_long_lived, wanted, abandoned=None):
        time.sleep(0.5)  # the child's scan is done by now
        asked.append(wanted())
        return real(cache, keep_long_lived, wanted, abandoned)

    monkeypatch.setattr(sitegen.pipeline.making, "read_ahead", reader)
    result, plan = _build(site, offline=True)
    assert asked == [True]
    # The previous build's records: its four files (one since removed, one not there yet).
    assert plan.ahead is not None and set(plan.ahead.records) == {rel.removeprefix("content/") for rel in ARTICLES}
    assert result.written and result.rebuilt_files == 3


def test_a_build_with_something_to_do_does_not_read_the_records_again(tmp_path: Path, monkeypatch) -> None:
    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG)
    assert _build(site, translator_factory=FakeTranslator)[0].written
    _edit(site)
    calls = []
    original = sitegen.pipeline.making._records

    def counted(cache, keep_long_lived, wanted=None, abandoned=None):
        calls.append(wanted is not None)
        return original(cache, keep_long_lived, wanted, abandoned)

    monkeypatch.setattr(sitegen.pipeline.making, "_records", counted)
    result, plan = _build(site, offline=True)
    assert calls == [True]  # read once, ahead; make_files took them from the plan
    assert plan.ahead is not None and result.rebuilt_files == 3


def test_a_child_that_fails_is_made_good_here(tmp_path: Path, monkeypatch) -> None:
    site, twin = _twins(tmp_path)
    for folder in (site, twin):
        _edit(folder)

    def fails(*args):
        raise OSError("the child could not scan")

    monkeypatch.setattr(sitegen.pipeline.plan, "_scan_to_send", fails)
    result, plan = _build(site, offline=True)
    with _no_child(monkeypatch):
        twin_result, twin_plan = _build(twin, offline=True)
    assert plan.changed == twin_plan.changed and plan.removed == twin_plan.removed
    assert tree_bytes(site / "_site") == tree_bytes(twin / "_site")


def test_files_the_memory_lacks_are_translated_when_nothing_else_changed(tmp_path: Path) -> None:
    # Built offline, every file lacks its translations; nothing changes on disk, and the next
    # build, allowed to translate, must still see those files as work (needs_translation),
    # though the child found every signature as recorded and sent none.
    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG)
    assert _build(site, offline=True)[0].written
    result, plan = _build(site, translator_factory=FakeTranslator)
    assert plan is not None and set(plan.changed) == {rel.removeprefix("content/") for rel in ARTICLES}
    assert result.report.translated > 0
    assert (site / "_site/en").is_dir()


def test_what_a_build_with_nothing_to_do_read_in_vain_is_handed_over_not_freed(tmp_path: Path, monkeypatch) -> None:
    # The command line ends the process right after a build (BuildOptions.keep): what was read
    # ahead and not used is kept to the end, as the records of a build that made something.
    from sitegen.pipeline.state import Ahead

    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG)
    assert _build(site, translator_factory=FakeTranslator)[0].written
    real = sitegen.pipeline.plan._scan_to_send

    def slow(*args):
        time.sleep(0.5)  # in the child: the records are read before the scan is done
        return real(*args)

    monkeypatch.setattr(sitegen.pipeline.plan, "_scan_to_send", slow)
    kept: list = []
    result = build_site(load_config(site / "site.yml"), BuildOptions(keep=kept.append, offline=True))
    assert result.unchanged
    assert [type(value) for value in kept] == [Ahead] and len(kept[0].records) == len(ARTICLES)
