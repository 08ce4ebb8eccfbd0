"""Inside a file made again, a segment whose pages would show what they showed keeps them.

An archive kept as a few big files (a file a month, hundreds of segments) edits one paragraph
of one: the file is made again, but only the pages of the segments whose inputs changed are
rendered, and only their search documents analysed (files._segment_pages, files._analysed).
Whatever the edit, the site must be byte for byte the one a full build makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

import sitegen.outputs.search.output
import sitegen.outputs.segment_pages
import sitegen.pipeline.files
from sitegen.translation.memory import entry_key
from sitegen.translation.translator import FakeTranslator
from tests.sitekit import build, tree_bytes, write_site
from tests.test_incremental import cold_copy, rebuild, workers  # noqa: F401 (a fixture)

SEGMENTS = 12
REL = "2020/2020-05-01-month.txt"


def _segment(number: int) -> str:
    return f"---\ntitle: عنوان الخبر {number}\ntags: [حمص]\n---\nخبر رقم {number} عن حمص والحصار.\nفقرة ثانية عن الحصار في الحي {number}.\n"


def _month(count: int = SEGMENTS) -> str:
    return "===\n".join(_segment(n) for n in range(1, count + 1))


OTHER = "2020/2020-06-01-other.txt"
ARTICLES = {
    f"content/{REL}": _month(),
    f"content/{OTHER}": "---\ntitle: خبر آخر عن حمص والحصار\ntags: [حمص]\n---\nخبر آخر عن حمص والحصار في الحي.\n",
    "content/2020/2020-07-01-third.txt": "---\ntitle: خبر ثالث عن حمص\ntags: [حمص]\n---\nخبر ثالث عن حمص والحصار في الحي.\n",
}
CONFIG = {"translation": {"enabled": True}, "per_page": 5}


def _site(tmp_path: Path) -> Path:
    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG)
    assert build(site, translator_factory=FakeTranslator).written  # fills the memory
    return site


def _edit_source(site: Path, old: str, new: str) -> None:
    source = site / "content" / REL
    text = source.read_text(encoding="utf-8")
    assert old in text
    source.write_text(text.replace(old, new), encoding="utf-8")


def _edit_memory(site: Path, source_text: str, translation: str, rel: str = REL) -> None:
    memory = site / "translations" / f"{rel}.en.yml"
    data = yaml.safe_load(memory.read_text(encoding="utf-8"))
    [entry] = [e for e in data["entries"] if e["source"] == source_text]
    entry |= {"translation": translation, "reviewed": True}
    memory.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _edit_translated(site: Path, old: str, new: str) -> None:
    """``old`` edited into ``new``, and the memory given a translation of ``new`` (as a desk
    editor's commit brings both)."""
    _edit_source(site, old, new)
    memory = site / "translations" / f"{REL}.en.yml"
    data = yaml.safe_load(memory.read_text(encoding="utf-8"))
    data["entries"].append({"key": entry_key(new, "ar", "en"), "source": new, "translation": "An edited paragraph.", "provider": "fake", "date": "2020-05-02", "reviewed": True})
    memory.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _add_paragraph(site: Path, after: str, added: str) -> None:
    """A paragraph of its own line added after ``after``, with its translation: every segment
    below it starts a line further down."""
    _edit_source(site, after, f"{after}\n{added}")
    memory = site / "translations" / f"{REL}.en.yml"
    data = yaml.safe_load(memory.read_text(encoding="utf-8"))
    data["entries"].append({"key": entry_key(added, "ar", "en"), "source": added, "translation": "An added paragraph.", "provider": "fake", "date": "2020-05-02", "reviewed": True})
    memory.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


EDITS = {
    # A paragraph added to the second story: the ten below it start a line further down, and
    # no page shows where a story stands in its file.
    "line added": (lambda site: _add_paragraph(site, "فقرة ثانية عن الحصار في الحي 2.", "فقرة ثالثة جديدة عن الحي 2."), {2}),
    # A blank line between two paragraphs of a text file shows nowhere.
    "blank line": (lambda site: _edit_source(site, "خبر رقم 3 عن حمص والحصار.\n", "خبر رقم 3 عن حمص والحصار.\n\n"), set()),
    # A paragraph that is not the title, with its translation: only its segment's pages show it.
    "paragraph": (lambda site: _edit_translated(site, "فقرة ثانية عن الحصار في الحي 5.", "فقرة ثانية معدلة عن الحي 5."), {5}),
    # The same without its translation (offline): the segment has no English page until it
    # is translated, and its neighbours' English pages link to its Arabic one instead.
    "paragraph untranslated": (lambda site: _edit_source(site, "فقرة ثانية عن الحصار في الحي 5.", "فقرة ثانية معدلة عن الحي 5."), {4, 5, 6}),
    # A title: its neighbours' pages link to it by its title.
    "title": (lambda site: _edit_source(site, "title: عنوان الخبر 5\n", "title: عنوان جديد للخبر الخامس\n"), {4, 5, 6}),
    # A reviewed translation of a paragraph: its segment's English and parallel pages.
    "memory paragraph": (lambda site: _edit_memory(site, "فقرة ثانية عن الحصار في الحي 7.", "A corrected second paragraph."), {7}),
    # A reviewed translation of a title: the English neighbours link to it by that title.
    "memory title": (lambda site: _edit_memory(site, "عنوان الخبر 7", "A corrected title"), {6, 7, 8}),
    # A segment more: every page says "part n of 13".
    "inserted": (lambda site: _edit_source(site, _segment(6), _segment(6) + "===\n" + _segment(60)), set(range(1, SEGMENTS + 2))),
    # A segment less, at the end: every page says "part n of 11".
    "removed": (lambda site: _edit_source(site, "===\n" + _segment(SEGMENTS), ""), set(range(1, SEGMENTS))),
}


def _rendered(monkeypatch) -> tuple[list[str], list[str]]:
    """The paths of the segment pages rendered and the search documents analysed (in this process)."""
    pages: list[str] = []
    documents: list[str] = []
    render, analyse = sitegen.outputs.segment_pages.render_page, sitegen.pipeline.files.packed_document

    def counting_render(theme, config, page):
        pages.append(page.path)
        return render(theme, config, page)

    def counting_analyse(segment, companion, config):
        documents.append(segment.slug)
        return analyse(segment, companion, config)

    monkeypatch.setattr(sitegen.outputs.segment_pages, "render_page", counting_render)
    monkeypatch.setattr(sitegen.pipeline.files, "packed_document", counting_analyse)
    return pages, documents


def _numbers(paths: list[str]) -> set[int]:
    """The segment numbers of the month file's pages among ``paths`` (a slug ends in its number)."""
    stem = Path(REL).stem
    return {int(Path(path).stem.rsplit("-", 1)[1]) for path in paths if stem in Path(path).stem}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_in_a_file_of_many_segments_makes_only_the_pages_it_changes(tmp_path: Path, workers: int, edit: str, monkeypatch) -> None:
    site = _site(tmp_path)
    rebuild(site, workers)
    change, expected = EDITS[edit]
    change(site)
    pages, documents = _rendered(monkeypatch)
    result = rebuild(site, workers)
    assert result.rebuilt_files == 1
    if workers == 1:  # (worker processes count in their own memory)
        assert _numbers(pages) == expected, sorted(pages)
        assert len(documents) == len(expected), documents
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_pages_kept_in_a_file_made_again_still_get_their_new_related_stories(tmp_path: Path, workers: int) -> None:
    """The kept pages of a file made again keep the place of their related stories: a story
    of another file given a new English title reaches their English pages (its features, and
    so the ranking, are the same: only the pages showing it change), as it reaches the pages
    of files not made again (here the third's)."""
    site = _site(tmp_path)
    rebuild(site, workers)
    showing = [site / "_site" / "en" / "2020-2020-05-01-month-3.html", site / "_site" / "en" / "2020-2020-07-01-third-1.html"]
    assert not any("A story of another month" in page.read_text(encoding="utf-8") for page in showing)
    _edit_memory(site, "خبر آخر عن حمص والحصار", "A story of another month", rel=OTHER)
    _edit_translated(site, "فقرة ثانية عن الحصار في الحي 9.", "فقرة ثانية معدلة في الحي 9.")
    assert rebuild(site, workers).rebuilt_files == 2
    assert all("A story of another month" in page.read_text(encoding="utf-8") for page in showing)
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_file_made_again_as_its_translations_come_in_keeps_its_other_segments_pages(tmp_path: Path, monkeypatch) -> None:
    """Translating: the file lacking a translation is made after the service answers, and
    still renders only the segment that lacked it."""
    site = _site(tmp_path)
    _edit_source(site, "فقرة ثانية عن الحصار في الحي 5.", "فقرة جديدة تحتاج إلى ترجمة في الحي 5.")
    pages, documents = _rendered(monkeypatch)
    result = build(site, translator_factory=FakeTranslator, workers=1)
    assert result.written and result.report.translated == 1
    assert _numbers(pages) == {5}, sorted(pages)
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, 1)


def test_a_kept_document_missing_from_the_store_is_damage_and_the_build_starts_again(tmp_path: Path) -> None:
    """A record says the previous build stored a segment's search document: if the store has
    lost it, nothing of the cache is trusted, and the site is still the full build's."""
    site = _site(tmp_path)
    rebuild(site, 1)
    [database] = (site / ".cache").glob("build-*.sqlite")  # the cache of this configuration and program
    with sqlite3.connect(database) as db:
        removed = db.execute("DELETE FROM search WHERE url LIKE ?", ("%2020-05-01-month-3.html",)).rowcount
    assert removed == 1
    _edit_source(site, "فقرة ثانية عن الحصار في الحي 5.", "فقرة ثانية معدلة عن الحي 5.")
    result = rebuild(site, 1)
    assert result.rebuilt_files == len(ARTICLES), "started again from nothing"
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, 1)


def test_a_segment_is_kept_only_with_every_page_it_made_finished_before() -> None:
    """A page of the previous build's record with no digest (it never got its related
    stories) cannot be kept: its segment is made again, whatever its key."""
    from sitegen.pipeline.files import FileTask, _kept_pages

    made_of = {"ar/a-1.html": "k1", "en/a-1.html": "k1", "ar/a-2.html": "k2", "en/a-2.html": "k2"}
    finished = {"ar/a-1.html": "d1", "en/a-1.html": "d2", "ar/a-2.html": "d3"}  # en/a-2.html never finished
    task = FileTask("a.txt", Path("a.txt"), None, previous_pages=finished, previous_made_of=made_of)
    assert _kept_pages(task, {1: "k1", 2: "k2"}) == {1: ["ar/a-1.html", "en/a-1.html"]}
    assert _kept_pages(task, {1: "changed", 2: "k2"}) == {}


def test_a_replaced_photo_makes_again_only_the_segment_showing_it(tmp_path: Path, monkeypatch) -> None:
    """The processed files of a segment's photos are part of its key: replacing the photo
    makes that segment's pages again (they name the new files), and only those."""
    from tests.test_photos import phone_photo

    segments = [f"خبر رقم {n} عن حمص.\n\nفقرة ثانية عن الحي {n}.\n" for n in range(1, 9)]
    segments[3] += "\n![شارع في الحي](street.jpg)\n"
    files = {"content/2020/2020-05-01-month.md": "===\n".join(segments), "content/2020/street.jpg": phone_photo(600, 400)}
    site = write_site(tmp_path / "site", files, {"translation": {"enabled": False}})
    rebuild(site, 1)
    (site / "content/2020/street.jpg").write_bytes(phone_photo(500, 500, (10, 200, 10)))
    pages, _ = _rendered(monkeypatch)
    assert rebuild(site, 1).rebuilt_files == 1
    assert _numbers(pages) == {4}, sorted(pages)
    assert 'width="500" height="500"' in (site / "_site" / "ar" / "2020-2020-05-01-month-4.html").read_text(encoding="utf-8")
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, 1)


def test_page_keys_are_stored_as_one_text_and_a_damaged_one_is_damage() -> None:
    from sitegen.pipeline.cache import CacheDamaged
    from sitegen.pipeline.records import StoredPairs, pack_pairs

    made_of = {"ar/a-1.html": "k1", "en/a-1.html": "k1"}
    stored = StoredPairs(pack_pairs(made_of))
    assert pack_pairs(stored) == pack_pairs(made_of), "stored again as read, without a look"
    assert dict(stored) == made_of
    assert dict(StoredPairs("")) == {}
    with pytest.raises(CacheDamaged):
        dict(StoredPairs("ar/a-1.html\0k1\0en/a-1.html"))


def test_a_file_of_a_few_segments_is_made_whole(tmp_path: Path, monkeypatch) -> None:
    """Below files.KEYED_FROM segments a file's segments are not keyed (a cost to every cold
    build, to spare an edit a few pages): an edit makes all of them again, as before."""
    few = sitegen.pipeline.files.KEYED_FROM - 1
    site = write_site(tmp_path / "site", {f"content/{REL}": _month(few)}, {"translation": {"enabled": False}})
    rebuild(site, 1)
    _edit_source(site, "فقرة ثانية عن الحصار في الحي 2.", "فقرة ثانية معدلة عن الحي 2.")
    pages, _ = _rendered(monkeypatch)
    assert rebuild(site, 1).rebuilt_files == 1
    assert _numbers(pages) == set(range(1, few + 1))
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, 1)
