"""The translation journal: what a killed build paid for reaches the memory; nothing is rewritten per paragraph."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml

import sitegen.translation.journal as journal_module
import sitegen.translation.memory as memory_module
from sitegen.translation.journal import Journal, JournalLine, journal_path
from sitegen.translation.memory import MemoryEntry, entry_key
from sitegen.translation.translator import FakeTranslator
from tests.sitekit import build, write_site

ARTICLE = "الفقرة الأولى عن حمص.\nالفقرة الثانية عن حماة.\n===\nالجزء الثاني هنا.\nفيه «اقتباس» مهم.\n"
PARAGRAPHS = ("الفقرة الأولى عن حمص.", "الفقرة الثانية عن حماة.", "الجزء الثاني هنا.", "فيه «اقتباس» مهم.")
PLACES = ("1.1", "1.2", "2.1", "2.2")
TRANSLATION_ON = {"translation": {"enabled": True, "provider": "google"}}


def entry(text: str, at: str, translation: str | None = None, reviewed: bool = False) -> MemoryEntry:
    return MemoryEntry(entry_key(text, "ar", "en"), text, translation or f"English of {at}", "libre", "2026-12-01", reviewed, at)


def left_by_killed_build(site: Path, lines: list[JournalLine]) -> Path:
    """A journal as a build killed with -9 leaves it: appended, never folded."""
    journal = Journal(journal_path(site / "translations", "en"))
    for line in lines:
        journal.append(line)
    journal.sync()
    return journal.path


def memory(site: Path, source: str = "news.txt") -> list[dict]:
    return yaml.safe_load((site / "translations" / f"{source}.en.yml").read_text(encoding="utf-8"))["entries"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "site", {"content/news.txt": ARTICLE}, TRANSLATION_ON)


def test_offline_build_folds_a_killed_builds_journal_into_the_memory_and_makes_the_companions(site: Path) -> None:
    path = left_by_killed_build(site, [JournalLine("news.txt", entry(p, at)) for p, at in zip(PARAGRAPHS, PLACES)])
    result = build(site, offline=True)
    assert result.written and not result.problems, result.problems
    assert not path.exists(), "folded, then removed"
    assert [(e["at"], e["translation"], e["reviewed"]) for e in memory(site)] == [(at, f"English of {at}", False) for at in PLACES]
    assert "English of 2.2" in (site / "_site" / "en" / "news-2.html").read_text(encoding="utf-8")


def test_online_build_asks_only_for_what_the_journal_lacks(site: Path) -> None:
    left_by_killed_build(site, [JournalLine("news.txt", entry(PARAGRAPHS[0], "1.1"))])
    fake = FakeTranslator()
    build(site, translator_factory=lambda: fake)
    assert sorted(fake.calls) == sorted(PARAGRAPHS[1:]), "the paragraph paid for before the kill is not asked again"
    assert memory(site)[0]["translation"] == "English of 1.1"


def test_journal_never_replaces_a_reviewed_translation(site: Path) -> None:
    build(site, translator_factory=FakeTranslator)
    entries = memory(site)
    entries[0] |= {"translation": "An editor's words.", "reviewed": True}
    document = yaml.safe_load((site / "translations" / "news.txt.en.yml").read_text(encoding="utf-8")) | {"entries": entries}
    (site / "translations" / "news.txt.en.yml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    left_by_killed_build(site, [JournalLine("news.txt", entry(PARAGRAPHS[0], "1.1", "Machine words."))])
    build(site, offline=True)
    assert memory(site)[0]["translation"] == "An editor's words." and memory(site)[0]["reviewed"] is True


def test_bad_journal_lines_are_dropped_with_their_line_and_the_good_ones_kept(site: Path) -> None:
    path = journal_path(site / "translations", "en")
    good = JournalLine("news.txt", entry(PARAGRAPHS[1], "1.2")).encode()
    wrong_key = json.loads(JournalLine("news.txt", entry(PARAGRAPHS[0], "1.1")).encode()) | {"key": "0" * 16}
    other_file = json.loads(JournalLine("news.txt", entry(PARAGRAPHS[2], "2.1")).encode()) | {"file": "../../etc/passwd"}
    path.parent.mkdir(parents=True)
    path.write_bytes(
        b"not json at all\n"
        + json.dumps(wrong_key).encode() + b"\n"
        + json.dumps(other_file).encode() + b"\n"
        + b"[1, 2]\n"
        + good
        + b'{"file": "news.txt", "key": "torn by a power cu'  # the last write, cut short: never finished
    )
    result = build(site, offline=True)
    messages = {(p.line, p.message) for p in result.problems if p.path.endswith(".journal.en.jsonl")}
    assert messages == {
        (1, "journal line dropped: not a JSON object"),
        (2, "journal line dropped: its key is not the hash of its text"),
        (3, "journal line dropped: '../../etc/passwd' is not one of the site's source files"),
        (4, "journal line dropped: needs the text fields file, key, source, translation, provider, date"),
    }
    assert [e["at"] for e in memory(site)] == ["1.2"]
    assert not path.exists()
    assert not (site.parent / "etc").exists()


def test_journal_for_an_unreadable_memory_waits_in_the_journal(site: Path) -> None:
    (site / "translations").mkdir()
    broken = site / "translations" / "news.txt.en.yml"
    broken.write_text("entries: [unclosed\n", encoding="utf-8")
    path = left_by_killed_build(site, [JournalLine("news.txt", entry(PARAGRAPHS[0], "1.1"))])
    result = build(site, offline=True)
    assert broken.read_text(encoding="utf-8") == "entries: [unclosed\n", "an unreadable memory is never written"
    assert any("wait here" in p.message for p in result.problems)
    assert b"English of 1.1" in path.read_bytes(), "the paid-for translation is still kept"
    broken.unlink()
    build(site, offline=True)
    assert not path.exists() and memory(site)[0]["translation"] == "English of 1.1"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_journal_that_is_a_link_out_of_the_folder_is_refused_never_read(site: Path, tmp_path: Path) -> None:
    (site / "translations").mkdir()
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(JournalLine("news.txt", entry(PARAGRAPHS[0], "1.1")).encode())
    journal_path(site / "translations", "en").symlink_to(outside)
    result = build(site, offline=True)
    assert any("symbolic link leads outside" in p.message for p in result.problems)
    assert not (site / "translations" / "news.txt.en.yml").exists()


def test_a_first_translation_writes_each_memory_once_not_once_a_paragraph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-paragraph rewrites made a first translation quadratic in a file's length."""
    paragraphs = [f"فقرة رقم {n} عن حمص وأحيائها." for n in range(60)]
    files = {f"content/{name}.txt": "\n".join(paragraphs) + f"\n{name}\n" for name in ("a", "b", "c")}
    site = write_site(tmp_path / "site", files, TRANSLATION_ON)
    saved: list[Path] = []
    real = memory_module.write_atomic
    monkeypatch.setattr(memory_module, "write_atomic", lambda path, data, **k: (saved.append(path), real(path, data, **k))[1])
    fake = FakeTranslator()
    result = build(site, translator_factory=lambda: fake, workers=1)
    assert result.written and len(fake.calls) == 183
    assert sorted(p.name for p in saved) == ["a.txt.en.yml", "b.txt.en.yml", "c.txt.en.yml"]
    for name in ("a", "b", "c"):
        assert len(yaml.safe_load((site / "translations" / f"{name}.txt.en.yml").read_text(encoding="utf-8"))["entries"]) == 61


def test_memories_written_together_are_made_durable_by_one_sync_not_an_fsync_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An fsync per memory cost 2 ms a file: a minute for a large archive's first translation."""
    files = {f"content/{name}.txt": f"فقرة أولى من {name}.\nفقرة ثانية من {name}.\n" for name in ("a", "b", "c", "d")}
    site = write_site(tmp_path / "site", files, TRANSLATION_ON)
    syncs: list[Path] = []
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(journal_module, "sync_filesystem", lambda folder: syncs.append(Path(folder)))
    monkeypatch.setattr(memory_module.os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    result = build(site, translator_factory=FakeTranslator, workers=1)
    assert result.written and not result.problems
    assert syncs == [site / "translations"], "one sync for the four memories"
    assert len(fsyncs) <= 3, "the journal's own, and its folder's once it is removed: none per memory"
    for name in ("a", "b", "c", "d"):
        assert len(yaml.safe_load((site / "translations" / f"{name}.txt.en.yml").read_text(encoding="utf-8"))["entries"]) == 2
    assert not journal_path(site / "translations", "en").exists()


def test_a_files_memory_is_written_once_its_translations_are_in_while_the_others_are_asked(tmp_path: Path) -> None:
    """The build makes a file's pages while the requests for the other files go on: its
    memory must be written by then, and the journal, which still holds it, stays until the end."""
    site = write_site(tmp_path / "site", {"content/a.txt": ARTICLE, "content/b.txt": "فقرة أخيرة عن دمشق.\n"}, {"translation": {"enabled": True, "provider": "google", "concurrency": 1}})
    written = site / "translations" / "a.txt.en.yml"
    seen: dict[str, bool] = {}

    class Watching(FakeTranslator):
        def translate(self, text: str) -> str:
            if text == "فقرة أخيرة عن دمشق.":  # b's only paragraph, asked after all of a's
                deadline = time.monotonic() + 5
                while not written.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
                seen["a's memory written"] = written.exists()
                seen["journal kept"] = journal_path(site / "translations", "en").exists()
            return super().translate(text)

    result = build(site, translator_factory=Watching, workers=1)
    assert result.written and not result.problems, result.problems
    assert seen == {"a's memory written": True, "journal kept": True}
    assert [e["at"] for e in memory(site, "a.txt")] == list(PLACES)
    assert not journal_path(site / "translations", "en").exists(), "removed once every memory is durable"


def test_a_journal_left_since_the_last_build_remakes_the_companions_it_completes(site: Path) -> None:
    # The memories' signatures are taken (by a child process) before the journal is folded
    # into them: those must be taken again after, or the file would look unchanged.
    first = build(site, offline=True)
    assert first.written
    assert not (site / "_site" / "en" / "news-2.html").exists(), "no memory yet: no companion"
    left_by_killed_build(site, [JournalLine("news.txt", entry(p, at)) for p, at in zip(PARAGRAPHS, PLACES)])
    second = build(site, offline=True)
    assert second.written and not second.problems, second.problems
    assert "English of 2.2" in (site / "_site" / "en" / "news-2.html").read_text(encoding="utf-8")
