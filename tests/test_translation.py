"""The translation stage with the fake translator: memory, companions, review, failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sitegen.translation.failures import TranslationFailed
from sitegen.translation.memory import entry_key, load_memory
from sitegen.translation.translator import FakeTranslator
from tests.sitekit import build, tree_bytes, write_site

ARTICLE = "الفقرة الأولى عن حمص.\nالفقرة الثانية عن حماة.\n===\nالجزء الثاني هنا.\nفيه «اقتباس» مهم.\n"
TRANSLATION_ON = {"translation": {"enabled": True, "provider": "google"}}


def memory_file(site: Path, name: str = "news.txt") -> Path:
    return site / "translations" / f"{name}.en.yml"


def memory_entries(site: Path, name: str = "news.txt") -> list[dict]:
    return yaml.safe_load(memory_file(site, name).read_text(encoding="utf-8"))["entries"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "site", {"content/news.txt": ARTICLE}, TRANSLATION_ON)


def test_fake_translation_fills_memory_in_document_order_and_makes_companions(site: Path) -> None:
    fake = FakeTranslator()
    result = build(site, translator_factory=lambda: fake)
    assert result.written and not result.failed
    assert [e["at"] for e in memory_entries(site)] == ["1.1", "1.2", "2.1", "2.2"]
    assert [e["source"] for e in memory_entries(site)] == ["الفقرة الأولى عن حمص.", "الفقرة الثانية عن حماة.", "الجزء الثاني هنا.", "فيه «اقتباس» مهم."]
    for slug in ("news-1", "news-2"):
        english = (site / "_site" / "en" / f"{slug}.html").read_text(encoding="utf-8")
        assert '<html lang="en" dir="ltr">' in english
        assert (site / "_site" / "parallel" / f"{slug}.html").is_file()
    assert sorted(fake.calls) == sorted(e["source"] for e in memory_entries(site))


def test_offline_rebuild_is_byte_identical_and_calls_nobody(site: Path, tmp_path: Path) -> None:
    build(site, translator_factory=FakeTranslator)
    first = tree_bytes(site / "_site")

    def no_translator():
        raise AssertionError("an offline build must not make a translator")

    build(site, offline=True, translator_factory=no_translator)
    assert tree_bytes(site / "_site") == first


def test_failed_paragraph_leaves_its_segment_without_companion_and_keeps_the_rest(site: Path) -> None:
    fake = FakeTranslator(fail_on=lambda text: "حماة" in text)
    result = build(site, translator_factory=lambda: fake)
    assert result.written, "a translation failure must never fail the build"
    assert not (site / "_site" / "en" / "news-1.html").exists(), "never a half-Arabic English page"
    assert (site / "_site" / "en" / "news-2.html").exists()
    assert result.report.failed == 1 and result.report.translated == 3
    assert {e["at"] for e in memory_entries(site)} == {"1.1", "2.1", "2.2"}
    assert any("failed" in p.message and "1.2" in p.message for p in result.problems)
    # The next build retries only what is missing.
    retry = FakeTranslator()
    build(site, translator_factory=lambda: retry)
    assert retry.calls == ["الفقرة الثانية عن حماة."]
    assert (site / "_site" / "en" / "news-1.html").exists()


def test_reviewed_entry_wins_and_is_never_overwritten(site: Path) -> None:
    build(site, translator_factory=FakeTranslator)
    path = memory_file(site)
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["entries"][0]["translation"] = "An editor's own words about Homs."
    data["entries"][0]["reviewed"] = True
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    build(site, translator_factory=FakeTranslator)
    entry = memory_entries(site)[0]
    assert entry["translation"] == "An editor's own words about Homs." and entry["reviewed"] is True
    page = (site / "_site" / "en" / "news-1.html").read_text(encoding="utf-8")
    assert "An editor&#39;s own words about Homs." in page or "An editor's own words about Homs." in page


def test_changed_source_of_reviewed_entry_is_retranslated_and_old_kept_as_stale(site: Path) -> None:
    build(site, translator_factory=FakeTranslator)
    path = memory_file(site)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["entries"][0] |= {"translation": "Reviewed text.", "reviewed": True}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    source = site / "content" / "news.txt"
    source.write_text(ARTICLE.replace("الفقرة الأولى عن حمص.", "الفقرة الأولى المعدلة عن حمص."), encoding="utf-8")
    fake = FakeTranslator()
    result = build(site, translator_factory=lambda: fake)
    assert fake.calls == ["الفقرة الأولى المعدلة عن حمص."]
    entries = memory_entries(site)
    stale = [e for e in entries if e.get("stale")]
    assert len(stale) == 1 and stale[0]["translation"] == "Reviewed text." and stale[0]["reviewed"] is True
    assert any("went stale" in p.message for p in result.problems)
    # The stale entry survives later builds too: an editor's work is never pruned.
    build(site, translator_factory=FakeTranslator)
    assert any(e.get("stale") and e["translation"] == "Reviewed text." for e in memory_entries(site))


def test_unreviewed_entries_of_removed_paragraphs_are_pruned(site: Path) -> None:
    build(site, translator_factory=FakeTranslator)
    (site / "content" / "news.txt").write_text("الفقرة الأولى عن حمص.\n", encoding="utf-8")
    build(site, translator_factory=FakeTranslator)
    assert [e["source"] for e in memory_entries(site)] == ["الفقرة الأولى عن حمص."]


def test_translate_false_in_front_matter_skips_the_segment(tmp_path: Path) -> None:
    site = write_site(tmp_path / "s", {"content/news.txt": "أولى.\n===\n---\ntranslate: false\n---\nسرية.\n"}, TRANSLATION_ON)
    fake = FakeTranslator()
    build(site, translator_factory=lambda: fake)
    assert fake.calls == ["أولى."]
    assert (site / "_site" / "en" / "news-1.html").exists()
    assert not (site / "_site" / "en" / "news-2.html").exists()


def test_offline_build_without_memory_lists_segments_without_companion(site: Path) -> None:
    result = build(site, offline=True, translator_factory=FakeTranslator)
    assert result.written
    assert result.report.without_companion == ["news.txt (segment 1)", "news.txt (segment 2)"]
    assert not memory_file(site).exists(), "an offline build writes no memory"


def test_an_online_build_after_offline_ones_translates_what_the_files_it_did_not_make_lack(tmp_path: Path) -> None:
    """A file's record read back counts the units its memory lacks without holding them: an
    online build with no file changed makes those files again and asks for every one."""
    site = write_site(tmp_path / "s", {"content/news.txt": ARTICLE, "content/other.txt": "فقرة أخرى.\n"}, TRANSLATION_ON)
    assert build(site, offline=True, translator_factory=FakeTranslator).written
    assert build(site, offline=True, translator_factory=FakeTranslator).unchanged
    fake = FakeTranslator()
    result = build(site, translator_factory=lambda: fake)
    assert result.written and not result.failed
    assert sorted(fake.calls) == sorted(["الفقرة الأولى عن حمص.", "الفقرة الثانية عن حماة.", "الجزء الثاني هنا.", "فيه «اقتباس» مهم.", "فقرة أخرى."])
    assert result.report.without_companion == []
    assert (site / "_site" / "en" / "other-1.html").is_file() and (site / "_site" / "en" / "news-2.html").is_file()


def test_memory_with_invalid_yaml_is_an_error_with_line_and_is_not_overwritten(site: Path) -> None:
    path = memory_file(site)
    path.parent.mkdir(parents=True)
    broken = b"source_file: news.txt\nentries:\n- key: abc\n  source: [unclosed\n"
    path.write_bytes(broken)
    result = build(site, translator_factory=FakeTranslator)
    assert result.failed and not result.written
    assert any(p.path.endswith("news.txt.en.yml") and p.line is not None for p in result.problems)
    assert path.read_bytes() == broken


def test_memory_entry_missing_a_field_names_its_line(site: Path) -> None:
    path = memory_file(site)
    path.parent.mkdir(parents=True)
    key = entry_key("الفقرة الأولى عن حمص.", "ar", "en")
    path.write_text(
        f"source_file: news.txt\nentries:\n- key: {key}\n  source: الفقرة الأولى عن حمص.\n  provider: google\n  date: '2026-01-01'\n  reviewed: false\n",
        encoding="utf-8",
    )
    memory, problems = load_memory(path, "news.txt", "ar", "en")
    assert memory is None
    assert [(p.line, "translation" in p.message) for p in problems] == [(3, True)]


def test_memory_round_trips_through_the_file(site: Path) -> None:
    build(site, translator_factory=FakeTranslator)
    memory, problems = load_memory(memory_file(site), "news.txt", "ar", "en")
    assert problems == [] and memory is not None
    from sitegen.translation.memory import dump_memory

    assert dump_memory(memory) == memory_file(site).read_bytes()


def test_interrupted_translation_keeps_every_finished_paragraph(site: Path) -> None:
    class Interrupting(FakeTranslator):
        def translate(self, text: str) -> str:
            if len(self.calls) >= 2:
                raise KeyboardInterrupt
            return super().translate(text)

    config_concurrency = {"translation": {"enabled": True, "concurrency": 1}}
    write_site(site, {}, config_concurrency)
    with pytest.raises(KeyboardInterrupt):
        build(site, translator_factory=Interrupting)
    saved = memory_entries(site)
    assert len(saved) == 2, "both translations finished before the interrupt are on disk"
    again = FakeTranslator()
    build(site, translator_factory=lambda: again)
    assert len(again.calls) == 2, "the next run continues where the last one stopped"


def test_missing_api_key_is_a_warning_not_a_failure(site: Path) -> None:
    def refuses():
        raise TranslationFailed("provider 'deepl' needs an API key: set the environment variable TRANSLATOR_API_KEY")

    result = build(site, translator_factory=refuses)
    assert result.written and not result.failed
    assert any("TRANSLATOR_API_KEY" in p.message for p in result.problems)


def test_companion_page_is_labelled_linked_both_ways_and_escapes_replies(tmp_path: Path) -> None:
    site = write_site(tmp_path / "s", {"content/news.txt": "قال أحمد إن الوضع صعب.\n"}, TRANSLATION_ON)

    class Hostile(FakeTranslator):
        def translate(self, text: str) -> str:
            return '<script>alert(1)</script> Ahmed said «الوضع» is hard <img src=x onerror=alert(2)>'

    build(site, translator_factory=Hostile)
    english = (site / "_site" / "en" / "news-1.html").read_text(encoding="utf-8")
    arabic = (site / "_site" / "ar" / "news-1.html").read_text(encoding="utf-8")
    assert "<script>alert" not in english and "&lt;script&gt;alert(1)&lt;/script&gt;" in english
    assert "<img" not in english
    assert '<bdi lang="ar">الوضع</bdi>' in english
    assert "Machine-translated from Arabic" in english and "Not reviewed" in english
    assert '<meta name="robots" content="noindex">' in english
    assert 'hreflang="ar" href="../ar/news-1.html"' in english and 'hreflang="en" href="news-1.html"' in english
    assert 'hreflang="en" href="../en/news-1.html"' in arabic
    assert 'href="../parallel/news-1.html"' in english and 'href="../parallel/news-1.html"' in arabic


def test_noindex_switch_off(tmp_path: Path) -> None:
    site = write_site(tmp_path / "s", {"content/news.txt": "نص.\n"}, {"translation": {"enabled": True, "noindex_unreviewed": False}})
    build(site, translator_factory=FakeTranslator)
    assert 'name="robots"' not in (site / "_site" / "en" / "news-1.html").read_text(encoding="utf-8")
