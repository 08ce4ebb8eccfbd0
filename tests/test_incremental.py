"""Incremental builds: never stale, never different from a full build, and lazy about the rest."""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

import sitegen.outputs.search.output
import sitegen.outputs.site_zip
import sitegen.pipeline.cache
import sitegen.pipeline.engine
import sitegen.pipeline.files
import sitegen.pipeline.making
import sitegen.pipeline.finishing
import sitegen.pipeline.listing
import sitegen.pipeline.plan
import sitegen.pipeline.site
import sitegen.pipeline.stages
import sitegen.pipeline.workers
from sitegen.pipeline.staging import read_build_id
from sitegen.translation.translator import FakeTranslator, fake_english
from tests.sitekit import REPO, build, tree_bytes, write_site

ARTICLES = {
    "content/2020-01-01-one.txt": "الأول عن حمص.\nفقرة ثانية.\n===\n---\ntitle: الجزء الأوسط\n---\nالجزء الثاني.\n===\nالجزء الثالث.\n",
    "content/2020-02-01-two.txt": "مقال ثان عن حماة.\n",
    "content/2021/2021-03-01-three.md": "# عنوان\n\nفقرة *مائلة*.\n",
}
CONFIG = {"translation": {"enabled": True}, "per_page": 2, "base_url": "https://example.org/repo/"}


@pytest.fixture(params=[1, 2], ids=["in-process", "worker-processes"])
def workers(request, monkeypatch) -> int:
    if request.param > 1:
        monkeypatch.setattr(sitegen.pipeline.files, "PARALLEL_THRESHOLD", 1)  # files in workers
        monkeypatch.setattr(sitegen.pipeline.engine, "PARALLEL_THRESHOLD", 1)  # index pages and buckets in workers
        monkeypatch.setattr(sitegen.pipeline.finishing, "PARALLEL_THRESHOLD", 1)  # related stories: files in workers
        monkeypatch.setattr(sitegen.pipeline.finishing, "BATCH", 1)  # one file per task
        monkeypatch.setattr(sitegen.pipeline.engine, "BATCH", 1)  # one artifact per task
        monkeypatch.setattr(sitegen.outputs.search.output, "MIN_RUN", 1)  # the search index inverted in several runs
    return request.param


def make(tmp_path: Path, name: str = "site") -> Path:
    site = write_site(tmp_path / name, dict(ARTICLES), CONFIG)
    build(site, translator_factory=FakeTranslator)  # fills the memory once
    return site


def cold_copy(site: Path, tmp_path: Path, workers: int) -> dict[str, bytes]:
    """The same inputs, built from nothing in another folder."""
    twin = tmp_path / "twin"
    shutil.rmtree(twin, ignore_errors=True)
    # Not the output, the cache, the lock, nor a previous site that a detached `rm` is deleting right now.
    shutil.copytree(site, twin, ignore=shutil.ignore_patterns("_site", ".cache", "._site.lock", "._site.staging-*", "._site.previous", "._site.packs-*", "._site.trash-*", "._site.spare"))
    result = build(twin, offline=True, workers=workers)
    assert result.written
    return tree_bytes(twin / "_site")


def rebuild(site: Path, workers: int):
    result = build(site, offline=True, workers=workers)
    assert result.written or result.unchanged, [str(p) for p in result.problems]
    return result


def page(site: Path, path: str) -> str:
    return (site / "_site" / path).read_text(encoding="utf-8")


def test_nothing_changed_means_nothing_done(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    rebuild(site, workers)
    inode = (site / "_site" / "ar" / "2020-02-01-two-1.html").stat().st_ino
    result = rebuild(site, workers)
    assert result.unchanged and not result.written
    assert (site / "_site" / "ar" / "2020-02-01-two-1.html").stat().st_ino == inode


def _watch_comparisons(monkeypatch) -> tuple[list[int], list[list[str]]]:
    """Calls of survey's file-by-file comparison, and the files whose recorded key was asked for."""
    compared: list[int] = []
    asked: list[list[str]] = []
    compare = sitegen.pipeline.plan._signatures
    recorded_keys = sitegen.pipeline.cache.BuildCache.recorded_keys
    monkeypatch.setattr(sitegen.pipeline.plan, "_signatures", lambda *args: compared.append(1) or compare(*args))
    monkeypatch.setattr(sitegen.pipeline.cache.BuildCache, "recorded_keys", lambda self, rels: asked.append(list(rels)) or recorded_keys(self, rels))
    return compared, asked


@pytest.mark.parametrize("dated_by", ["file name", "git"])
def test_a_build_with_nothing_to_do_compares_the_recorded_signatures_at_once(tmp_path: Path, workers: int, dated_by: str, monkeypatch) -> None:
    # Every source and memory as the previous build recorded them (git's dates, date objects,
    # in their signatures too): the recorded signatures, read back, equal the fresh ones as a
    # whole, and nothing is compared file by file. A touch makes the next build compare them
    # and ask for the touched file's key alone; it records the new signatures for the one after.
    site = make(tmp_path)
    if dated_by == "git":
        git = ["git", "-C", str(site / "content"), "-c", "user.name=t", "-c", "user.email=t@example.org"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-qm", "articles"], check=True)
    rebuild(site, workers)
    compared, asked = _watch_comparisons(monkeypatch)
    assert rebuild(site, workers).unchanged and compared == [] and asked == []
    source = site / "content" / "2020-01-01-one.txt"
    os.utime(source, ns=(source.stat().st_mtime_ns + 10**9,) * 2)
    assert rebuild(site, workers).unchanged and compared == [1] and asked == [["2020-01-01-one.txt"]]
    assert rebuild(site, workers).unchanged and compared == [1]


def test_a_memory_touched_or_edited_in_place_is_compared_and_seen(tmp_path: Path, workers: int, monkeypatch) -> None:
    # A touched memory makes the next build compare file by file (and records the new
    # signature); a memory edited in place at the same size is seen, and its page shows it.
    site = make(tmp_path)
    rebuild(site, workers)
    compared, asked = _watch_comparisons(monkeypatch)
    memory = next((site / "translations").rglob("*.yml"))
    os.utime(memory, ns=(memory.stat().st_mtime_ns + 10**9,) * 2)
    assert rebuild(site, workers).unchanged and compared == [1]
    assert rebuild(site, workers).unchanged and compared == [1]
    text = memory.read_text(encoding="utf-8")
    entry = yaml.safe_load(text)["entries"][0]
    edited = text.replace(entry["translation"], entry["translation"][::-1], 1)
    assert len(edited.encode()) == len(text.encode()) and edited != text
    memory.write_text(edited, encoding="utf-8")
    result = rebuild(site, workers)
    assert result.written and compared == [1, 1] and len(asked) == 2 and len(asked[1]) == 1
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_recorded_signatures_naming_a_file_without_its_record_are_damage(tmp_path: Path, workers: int) -> None:
    # The signatures say a file unchanged, the files' table has no record of it (written
    # together, they cannot disagree unless the cache was damaged): the build starts again
    # without the cache, and the file's pages stay in the site.
    site = make(tmp_path)
    rebuild(site, workers)
    caches = list((site / ".cache").glob("build-*.sqlite"))
    assert len(caches) == 1
    cache = sitegen.pipeline.cache.BuildCache.open(caches[0])
    with cache.transaction():
        cache.db.execute("DELETE FROM files WHERE rel='2020-01-01-one.txt'")
    cache.close()
    (site / "content" / "2020-02-01-two.txt").write_text("نص جديد تماما للمقالة الثانية.\n", encoding="utf-8")
    result = rebuild(site, workers)
    assert result.written and (site / "_site" / "ar" / "2020-01-01-one-1.html").is_file()
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_damaged_slots_looked_at_by_the_finishing_stage_start_the_build_again(tmp_path: Path, workers: int) -> None:
    # A record's slots are one text until the finishing stage looks at them (a file whose
    # related stories changed), in this process or a worker: damaged, the build starts again
    # without the cache, and the site is the one a full build makes.
    site = make(tmp_path)
    rebuild(site, workers)
    (database,) = (site / ".cache").glob("build-*.sqlite")
    db = sqlite3.connect(database)
    for rel, record in db.execute("SELECT rel, record FROM files").fetchall():
        values = list(pickle.loads(record))
        assert type(values[6]) is str, "the slots of a record are kept as one text"
        values[6] = "ar/2020-01-01-one-1.html\0" + "9" * 3
        db.execute("UPDATE files SET record=? WHERE rel=?", (pickle.dumps(tuple(values), protocol=5), rel))
    db.commit()
    db.close()
    _edit(site, "مقال ثان معدل عن حماة وحمص.\n")  # its title is in one's related stories
    result = rebuild(site, workers)
    assert result.written
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


@pytest.mark.parametrize("where", ["first page", "middle", "last page"])
def test_a_cache_file_damaged_on_disk_starts_the_build_again(tmp_path: Path, workers: int, where: str) -> None:
    # A cache file holding pages of garbage (a disk's fault, a copy cut short): sqlite says so
    # where it reads them, in the middle of a build; the build then starts again without it,
    # and the site is a full build's (it stopped with sqlite's traceback).
    site = make(tmp_path)
    rebuild(site, workers)
    (database,) = (site / ".cache").glob("build-*.sqlite")
    pages = database.stat().st_size // sitegen.pipeline.cache.PAGE_SIZE
    assert pages >= 3, "the tables span pages"
    page = {"first page": 0, "middle": pages // 2, "last page": pages - 1}[where]
    with open(database, "r+b") as handle:
        handle.seek(page * sitegen.pipeline.cache.PAGE_SIZE + (100 if page == 0 else 0))  # past the header's magic: sqlite must read to see it
        handle.write(bytes(range(256)) * 64)
    _edit(site, "مقال ثان معدل عن حماة وحمص.\n")
    result = rebuild(site, workers)
    assert result.written
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_touched_files_are_read_once_and_the_next_build_has_nothing_to_do(tmp_path: Path, workers: int, monkeypatch) -> None:
    # A touch or a checkout changes every file's mtime and none of its bytes: the build after
    # it reads them, makes nothing and writes nothing but their new signatures, so the one
    # after does not even read them.
    site = make(tmp_path)
    rebuild(site, workers)
    inode = (site / "_site" / "ar" / "2020-02-01-two-1.html").stat().st_ino
    later = (site / "content" / "2020-01-01-one.txt").stat().st_mtime_ns + 10**9
    sources = sorted(p.relative_to(site / "content").as_posix() for p in (site / "content").rglob("*") if p.is_file())
    for path in [*(site / "content").rglob("*"), *(site / "translations").rglob("*")]:
        if path.is_file():
            os.utime(path, ns=(later, later))
    keyed: list[str] = []
    file_key = sitegen.pipeline.plan.file_key
    monkeypatch.setattr(sitegen.pipeline.plan, "file_key", lambda config, rel, *rest: keyed.append(rel) or file_key(config, rel, *rest))
    touched = rebuild(site, workers)
    assert touched.unchanged and not touched.written
    assert sorted(keyed) == sources and len(sources) == 3
    keyed.clear()
    again = rebuild(site, workers)
    assert again.unchanged and not again.written and keyed == []
    assert (site / "_site" / "ar" / "2020-02-01-two-1.html").stat().st_ino == inode
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_editing_one_article_rebuilds_it_and_equals_a_full_build(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    rebuild(site, workers)
    untouched = (site / "_site" / "ar" / "2020-02-01-two-1.html").stat().st_ino
    source = site / "content" / "2020-01-01-one.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("الجزء الثالث.", "الجزء الثالث المعدل."), encoding="utf-8")
    result = rebuild(site, workers)
    assert result.rebuilt_files == 1
    assert "الجزء الثالث المعدل." in page(site, "ar/2020-01-01-one-3.html")
    assert (site / "_site" / "ar" / "2020-02-01-two-1.html").stat().st_ino == untouched, "an unchanged page is not rewritten"
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_neighbours_new_title_reaches_the_pages_that_link_to_it(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    rebuild(site, workers)
    source = site / "content" / "2020-01-01-one.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("title: الجزء الأوسط", "title: عنوان جديد للوسط"), encoding="utf-8")
    rebuild(site, workers)
    for neighbour in ("ar/2020-01-01-one-1.html", "ar/2020-01-01-one-3.html"):
        assert "عنوان جديد للوسط" in page(site, neighbour)
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_template_change_reaches_every_page_using_it(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    rebuild(site, workers)
    base = (Path(sitegen.pipeline.stages.__file__).parents[2] / "themes" / "default" / "templates" / "neighbours.html").read_text(encoding="utf-8")
    (site / "templates").mkdir()
    (site / "templates" / "neighbours.html").write_text(base.replace("<nav ", '<nav data-changed="yes" '), encoding="utf-8")
    rebuild(site, workers)
    for path in ("ar/2020-01-01-one-1.html", "en/2020-02-01-two-1.html", "parallel/2021-2021-03-01-three-1.html"):
        assert 'data-changed="yes"' in page(site, path), path
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_config_change_reaches_every_page(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    rebuild(site, workers)
    settings = yaml.safe_load((site / "site.yml").read_text(encoding="utf-8"))
    settings["title"] = "عنوان الموقع الجديد"
    settings["translation"]["title"] = "The New Site Name"
    (site / "site.yml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    rebuild(site, workers)
    for path in ("index.html", "page-1.html", "ar/2020-02-01-two-1.html", "404.html", "ar/feed.xml"):
        assert "عنوان الموقع الجديد" in page(site, path), path
    for path in ("en/index.html", "en/2020-02-01-two-1.html", "en/search.html"):
        assert "The New Site Name" in page(site, path), path
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_an_edited_memory_entry_reaches_its_english_page(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    rebuild(site, workers)
    memory = site / "translations" / "2020-02-01-two.txt.en.yml"
    data = yaml.safe_load(memory.read_text(encoding="utf-8"))
    data["entries"][0] |= {"translation": "An editor's corrected sentence.", "reviewed": True}
    memory.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    rebuild(site, workers)
    english = page(site, "en/2020-02-01-two-1.html")
    assert "An editor&#39;s corrected sentence." in english and "reviewed by an editor" in english
    assert 'name="robots"' not in english, "a reviewed page is indexed"
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_removed_source_takes_its_pages_along(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    rebuild(site, workers)
    (site / "content" / "2020-02-01-two.txt").unlink()
    rebuild(site, workers)
    assert not (site / "_site" / "ar" / "2020-02-01-two-1.html").exists()
    assert not (site / "_site" / "en" / "2020-02-01-two-1.html").exists()
    assert "2020-02-01-two" not in page(site, "index.html")
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_the_site_view_orders_the_files_as_their_segments_would_be(tmp_path: Path, workers: int) -> None:
    # The site view orders the files' records (pages.listing.order_files), each holding its
    # listings together and in order, instead of sorting and grouping every listing again: the
    # articles are those order_articles makes of the listings, in a cold build and in one
    # that reads most records back, with files undated, of several segments, empty, and in
    # folders sorting apart from their names.
    from sitegen.pages.listing import order_articles

    site = make(tmp_path)
    content = site / "content"
    (content / "b-undated.txt").write_text("جزء أول بلا تاريخ.\n===\nجزء ثان.\n===\nجزء ثالث.\n", encoding="utf-8")
    (content / "a-undated.txt").write_text("مقال آخر بلا تاريخ.\n", encoding="utf-8")
    (content / "empty.txt").write_text("", encoding="utf-8")
    (content / "2019").mkdir(exist_ok=True)
    (content / "2019" / "2020-02-01-two-b.txt").write_text("مقال في اليوم نفسه.\n===\nوجزؤه الثاني.\n", encoding="utf-8")

    def view_of_a_build():
        kept: list[object] = []
        assert build(site, offline=True, workers=workers, keep=kept.append).written
        return next(value for value in kept if isinstance(value, tuple))[5]

    for edit in (lambda: shutil.rmtree(site / ".cache"), lambda: (content / "a-undated.txt").write_text("مقال آخر معدل.\n===\nوجزء.\n", encoding="utf-8")):
        edit()
        view = view_of_a_build()
        assert len(view.articles) >= 5 and any(len(article.segments) == 3 for article in view.articles)
        assert view.articles == tuple(order_articles(view.listings))


def _touched(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 10_000_000
    os.utime(path, ns=(stamp, stamp))


def test_an_edit_claiming_another_segments_path_is_stopped_as_a_full_build_would_be(tmp_path: Path, workers: int, monkeypatch) -> None:
    # An edit of a paragraph claims the paths its file claimed before: the previous build,
    # which was made, found no two claims alike, so no claim is keyed again (50,000 slugs at
    # 50,000 segments). A new slug taking another segment's path, or the English archive's,
    # is found as a full build finds it, and nothing is published.
    keyed: list[int] = []
    keys = sitegen.pipeline.site.slug_collision_keys
    monkeypatch.setattr(sitegen.pipeline.site, "slug_collision_keys", lambda slugs: keyed.append(len(slugs)) or keys(slugs))
    site = make(tmp_path)
    source = site / "content" / "2020-02-01-two.txt"
    _touched(source, "مقال ثان عن حماة، معدل.\n")
    assert build(site, translator_factory=FakeTranslator, workers=workers).written  # its English page too
    _touched(source, "مقال ثان عن حماة، معدل.\n\n")  # the same paragraph: the same English page
    keyed.clear()
    assert rebuild(site, workers).rebuilt_files == 1 and keyed == []
    live = tree_bytes(site / "_site")
    for slug, error in (("2020-01-01-one-1", "already used"), ("archive", "is also the English archive")):
        _touched(source, f"---\nslug: {slug}\n---\nمقال ثان عن حماة، معدل.\n")
        result = build(site, offline=True, workers=workers)
        assert not result.written and any(error in p.message and "2020-02-01-two.txt" in str(p.path) for p in result.problems), [str(p) for p in result.problems]
        assert tree_bytes(site / "_site") == live
        twin = tmp_path / "twin"
        shutil.rmtree(twin, ignore_errors=True)
        shutil.copytree(site, twin, ignore=shutil.ignore_patterns("_site", ".cache", "._site*"))
        full = build(twin, offline=True, workers=workers)
        assert [p.message.replace("/twin/", "/site/") for p in full.problems if p.severity.name == "ERROR"] == [p.message for p in result.problems if p.severity.name == "ERROR"]


def test_a_page_of_the_site_new_to_this_build_is_checked_against_every_segments_page(tmp_path: Path, workers: int) -> None:
    # The first tag makes the English tags index, en/tags.html: a page no earlier build made,
    # so a segment whose page it is, although its file did not change, is found.
    site = make(tmp_path)
    _touched(site / "content" / "2021-05-01-tags.txt", "---\nslug: tags\n---\nمقال عن الوسوم.\n")
    assert build(site, translator_factory=FakeTranslator, workers=workers).written
    assert (site / "_site" / "en" / "tags.html").is_file() and not (site / "_site" / "en" / "tags").exists()  # the segment's page
    _touched(site / "content" / "2020-02-01-two.txt", "---\ntags: [حمص]\n---\nمقال ثان عن حماة.\n")
    result = build(site, offline=True, workers=workers)
    assert not result.written and any("en/tags.html" in p.message and "2021-05-01-tags.txt" in str(p.path) for p in result.problems), [str(p) for p in result.problems]


def test_the_paths_found_changed_are_where_the_two_whole_manifests_differ(tmp_path: Path, workers: int) -> None:
    # The paths a build changed (what site.zip compresses again, what the next build's spare
    # catches up) are found from the artifacts' files and the pages of the files whose record
    # changed, not from the whole manifests of both builds: they are where those differ, edit
    # after edit (a paragraph; tags, which finish other files' pages again; a file added, one
    # removed, one renamed) and on a build after a full one. Each edit is then built in full
    # elsewhere too: the site is that one.
    from sitegen.core.urls import ARCHIVE
    from sitegen.pipeline.engine import Engine

    site = make(tmp_path)

    def engine_of_a_build() -> Engine:
        kept: list[object] = []
        rebuild_result = build(site, offline=True, workers=workers, keep=kept.append)
        assert rebuild_result.written, [str(p) for p in rebuild_result.problems]
        return next(value for value in kept if isinstance(value, tuple))[-1]

    content = site / "content"
    edits = [
        lambda: (content / "2020-02-01-two.txt").write_text("مقال ثان معدل عن حماة.\n", encoding="utf-8"),
        lambda: (content / "2020-02-01-two.txt").write_text("---\ntags: [حمص]\n---\nمقال ثان معدل عن حماة.\n", encoding="utf-8"),
        lambda: (content / "2021" / "2021-03-01-three.md").write_text("---\ntags: [حمص]\n---\n# عنوان\n\nفقرة.\n", encoding="utf-8"),
        lambda: (content / "2022-05-01-new.txt").write_text("مقال جديد عن حمص.\n===\nجزء ثان.\n", encoding="utf-8"),
        lambda: (content / "2020-01-01-one.txt").unlink(),
        lambda: (content / "2022-05-01-new.txt").rename(content / "2022-05-02-moved.txt"),
    ]
    shutil.rmtree(site / ".cache")
    previous = engine_of_a_build()  # a full build: every path differs from none
    # (site.zip, made after the engine takes stock, is judged by its own digest: stages.changed_paths.)
    assert set(previous.stock.changed) - {ARCHIVE} == set(previous.manifest) - {ARCHIVE}
    for edit in edits:
        edit()
        engine = engine_of_a_build()
        whole = {path for path, _ in previous.manifest.items() ^ engine.manifest.items()} - {ARCHIVE}
        assert whole and set(engine.stock.changed) - {ARCHIVE} == whole
        previous = engine
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_deleted_cache_or_output_means_a_full_build(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    rebuild(site, workers)
    expected = tree_bytes(site / "_site")
    shutil.rmtree(site / ".cache")
    assert rebuild(site, workers).rebuilt_files == 3
    assert tree_bytes(site / "_site") == expected
    shutil.rmtree(site / "_site")
    assert rebuild(site, workers).rebuilt_files == 3
    assert tree_bytes(site / "_site") == expected


def test_site_zip_of_an_incremental_build_equals_a_full_one(tmp_path: Path, workers: int) -> None:
    import zipfile

    site = make(tmp_path)
    rebuild(site, workers)
    (site / "content" / "2020-02-01-two.txt").write_text("مقال ثان معدل عن حماة.\n", encoding="utf-8")
    rebuild(site, workers)
    with zipfile.ZipFile(site / "_site" / "site.zip") as archive:
        assert archive.testzip() is None
        assert "مقال ثان معدل" in archive.read("site/ar/2020-02-01-two-1.html").decode("utf-8")
    assert (site / "_site" / "site.zip").read_bytes() == cold_copy(site, tmp_path, workers)["site.zip"]


def test_search_index_is_patched_for_edits_and_new_articles_and_laid_out_again_otherwise(tmp_path: Path, workers: int, monkeypatch) -> None:
    from sitegen.outputs.search import output as search_output
    from sitegen.outputs.search.analyser import tokenize

    site = make(tmp_path)
    rebuild(site, workers)
    cold_layouts: list[int] = []
    lay_out = search_output.lay_out
    monkeypatch.setattr(search_output, "lay_out", lambda runs: cold_layouts.append(len(runs)) or lay_out(runs))

    source = site / "content" / "2020-01-01-one.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("الجزء الثالث.", "الجزء الثالث عن الخالدية."), encoding="utf-8")
    rebuild(site, workers)
    assert cold_layouts == []  # an edit in place: patched
    (site / "content" / "2030-01-01-newest.txt").write_text("خبر جديد من بابا عمرو.\n", encoding="utf-8")
    rebuild(site, workers)
    assert cold_layouts == []  # the newest article: a new id at the end, patched
    [term] = tokenize("الخالدية")
    assert any(f'"{term}":'.encode() in p.read_bytes() for p in (site / "_site" / "search").glob("t*.js"))
    patched = tree_bytes(site / "_site")
    assert patched == cold_copy(site, tmp_path, workers)

    cold_layouts.clear()
    (site / "content" / "2020-02-01-two.txt").unlink()
    rebuild(site, workers)
    # A document removed: every later id moves, laid out again (in one run, or in several a core).
    assert cold_layouts == [1] if workers == 1 else len(cold_layouts) == 1 and cold_layouts[0] > workers
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def _edit(site: Path, text: str) -> None:
    source = site / "content" / "2020-02-01-two.txt"
    source.write_text(text, encoding="utf-8")
    stamp = source.stat().st_mtime_ns + 10_000_000  # a new mtime even within the clock's tick
    os.utime(source, ns=(stamp, stamp))


def test_the_site_before_the_live_one_becomes_the_next_staging_folder(tmp_path: Path, workers: int, monkeypatch) -> None:
    # No hard-linked copy of every file: the spare site catches up with what the last build changed.
    site = make(tmp_path)
    spare = site / "._site.spare"
    # The full build left a hard-linked copy of itself as the first incremental build's spare.
    assert read_build_id(spare) == read_build_id(site / "_site")
    assert (spare / "index.html").stat().st_ino == (site / "_site" / "index.html").stat().st_ino
    for round_, text in enumerate(["مقال ثان معدل.\n", "مقال ثان معدل مرة أخرى.\n", "مقال ثان للمرة الثالثة.\n"]):
        copies = []
        popen = subprocess.Popen
        monkeypatch.setattr(subprocess, "Popen", lambda args, *a, **k: copies.append(args[0]) or popen(args, *a, **k))
        _edit(site, text)
        rebuild(site, workers)
        monkeypatch.setattr(subprocess, "Popen", popen)
        assert spare.is_dir(), "the replaced site is kept for the next build"
        # No incremental build copies the live site (cp -al): each catches up its spare.
        assert "cp" not in copies, copies
        assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)
        assert "للمرة الثالثة" in page(site, "ar/2020-02-01-two-1.html") or round_ < 2
    # The spare holds the site before the live one, hard-linked to it where they agree.
    # (one's Arabic page lists two among its related stories, so it changed too: its parallel view did not.)
    live, old = site / "_site" / "parallel" / "2020-01-01-one-1.html", spare / "parallel" / "2020-01-01-one-1.html"
    assert live.stat().st_ino == old.stat().st_ino
    assert "مرة أخرى" in (spare / "ar" / "2020-02-01-two-1.html").read_text(encoding="utf-8")


def test_site_zip_is_written_over_the_spare_sites_old_zip_and_equals_a_full_build(tmp_path: Path, workers: int) -> None:
    # A new file of the zip's size had every block and page allocated again (and the old zip
    # deleted meanwhile): the spare site's own zip, linked from nowhere else, is written over.
    # The first build after a full one too: the full build's spare (a hard-linked copy of the
    # site) was given a zip of its own meanwhile, the same bytes as the live one.
    site = make(tmp_path)
    spare = site / "._site.spare"
    first = (spare / "site.zip").stat()
    assert first.st_nlink == 1 and first.st_ino != (site / "_site" / "site.zip").stat().st_ino
    assert (spare / "site.zip").read_bytes() == (site / "_site" / "site.zip").read_bytes()
    assert (spare / "index.html").stat().st_ino == (site / "_site" / "index.html").stat().st_ino
    for text in ["مقال ثان معدل بنص أطول من الأول بكثير عن حماة وحمص.\n", "قصير.\n", "مقال ثان للمرة الثالثة.\n"]:
        old = (spare / "site.zip").stat()
        _edit(site, text)
        rebuild(site, workers)
        live = (site / "_site" / "site.zip").stat()
        assert live.st_ino == old.st_ino, "written over the spare's old zip"
        # Longer, then shorter than the zip written over: cut to its own length.
        assert (site / "_site" / "site.zip").read_bytes() == cold_copy(site, tmp_path, workers)["site.zip"]
    assert live.st_ino == old.st_ino


def test_a_spare_zip_linked_from_elsewhere_is_never_written_over(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    _edit(site, "مقال ثان معدل.\n")
    rebuild(site, workers)
    spare_zip = site / "._site.spare" / "site.zip"
    kept = tmp_path / "my-copy.zip"
    os.link(spare_zip, kept)  # someone's hard link to the old zip
    before = kept.read_bytes()
    _edit(site, "مقال ثان معدل مرة أخرى.\n")
    rebuild(site, workers)
    assert kept.read_bytes() == before
    assert (site / "_site" / "site.zip").stat().st_ino != kept.stat().st_ino
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_spare_site_that_is_not_the_recorded_one_is_not_used(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    _edit(site, "مقال ثان معدل.\n")
    rebuild(site, workers)
    spare = site / "._site.spare"
    (spare / ".sitegen-output").write_text("build someone-else\n", encoding="utf-8")
    (spare / "ar" / "2020-01-01-one-1.html").unlink()  # a hard link to the live page: not through it
    (spare / "ar" / "2020-01-01-one-1.html").write_text("<p>planted</p>", encoding="utf-8")
    _edit(site, "مقال ثان معدل مرة أخرى.\n")
    rebuild(site, workers)
    assert "planted" not in page(site, "ar/2020-01-01-one-1.html")
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_link_planted_in_the_spare_site_is_never_followed(tmp_path: Path, workers: int) -> None:
    site = make(tmp_path)
    _edit(site, "مقال ثان معدل.\n")
    rebuild(site, workers)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    spare = site / "._site.spare"
    shutil.rmtree(spare / "ar")
    os.symlink(elsewhere, spare / "ar")  # the next build links its changed pages into ar/
    _edit(site, "مقال ثان معدل مرة أخرى.\n")
    result = rebuild(site, workers)
    assert list(elsewhere.iterdir()) == []
    assert any("symbolic link" in p.message for p in result.problems)
    assert not any(p.is_symlink() for p in (site / "_site").rglob("*"))
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def _settled_folders(monkeypatch) -> list[set[str]]:
    """The folders each build's staging copy found as marked (not read), build by build; folder
    marks taken at once (the coarse-clock margin is for a folder someone changes right after)."""
    import sitegen.pipeline.planted as planted
    import sitegen.pipeline.staging as staging

    monkeypatch.setattr(planted, "_SETTLED_NS", 0)
    seen: list[set[str]] = []
    ready = staging.StagingCopy.ready

    def spied(self):
        path = ready(self)
        seen.append(set(self.settled))
        return path

    monkeypatch.setattr(staging.StagingCopy, "ready", spied)
    return seen


def _edited_once(tmp_path: Path, workers: int) -> Path:
    """A site built in full, then once more after an edit (its spare: the full build's copy)."""
    site = make(tmp_path)
    _edit(site, "مقال ثان معدل.\n")
    rebuild(site, workers)
    return site


def test_folders_of_the_spare_as_the_build_left_them_are_not_read(tmp_path: Path, workers: int, monkeypatch) -> None:
    settled = _settled_folders(monkeypatch)
    site = _edited_once(tmp_path, workers)
    _edit(site, "مقال ثان معدل مرة أخرى.\n")
    # A source removed: its pages lie in settled folders, which were not read, and go all the same.
    (site / "content" / "2021" / "2021-03-01-three.md").unlink()
    rebuild(site, workers)  # the spare: the first build's site, as it left it
    assert settled[-1] >= {"ar", "en", "parallel"}, settled
    assert not any((site / "_site" / "ar").glob("*three*"))
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_the_first_build_after_a_full_one_reads_only_the_changed_folders_of_its_copy(tmp_path: Path, workers: int, monkeypatch) -> None:
    # A full build leaves a linked copy of its site as the spare, walked and marked once whole.
    settled = _settled_folders(monkeypatch)
    site = _edited_once(tmp_path, workers)
    assert settled[-1] >= {"ar", "en", "parallel"}, settled
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


@pytest.mark.parametrize("where", ["spare", "live", "copy"])
def test_a_link_planted_in_a_marked_folder_is_found(tmp_path: Path, workers: int, monkeypatch, where: str) -> None:
    # Planting an entry changes its folder's ctime: the folder is read, and the link removed.
    settled = _settled_folders(monkeypatch)
    site = make(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("private key material", encoding="utf-8")
    if where == "live":
        # Into the live site, which the next build keeps aside as the spare of the one after.
        os.symlink(secret, site / "_site" / "en" / "planted.html")
    if where != "copy":
        _edit(site, "مقال ثان معدل.\n")
        rebuild(site, workers)
    if where in ("spare", "copy"):
        # "copy": into the linked copy a full build leaves as the spare, marked once whole.
        os.symlink(secret, site / "._site.spare" / "en" / "planted.html")
    _edit(site, "مقال ثان معدل مرة أخرى.\n")
    result = rebuild(site, workers)
    # The copy with the link was read where it changed, then abandoned for a full build.
    assert "en" not in settled[-2] and "ar" in settled[-2] and settled[-1] == set(), settled
    assert any("symbolic link" in p.message for p in result.problems)
    assert not any(p.is_symlink() for p in (site / "_site").rglob("*"))
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_folder_marks_forged_in_the_cache_are_not_used(tmp_path: Path, workers: int, monkeypatch) -> None:
    # Someone who can write the cache and the spare plants a link, then writes marks that fit
    # the folders as they now are: without this user's key their seal does not hold, so every
    # folder is read and the link found.
    from dataclasses import replace

    import sitegen.pipeline.planted as planted
    from sitegen.pipeline.stages import CACHE_TYPES
    from sitegen.pipeline.state import read_summary

    settled = _settled_folders(monkeypatch)
    site = _edited_once(tmp_path, workers)
    spare = site / "._site.spare"
    secret = tmp_path / "secret.txt"
    secret.write_text("private key material", encoding="utf-8")
    os.symlink(secret, spare / "en" / "planted.html")
    cache = sitegen.pipeline.cache.BuildCache.open(next((site / ".cache").glob("build-*.sqlite")), CACHE_TYPES)
    try:
        summary = read_summary(cache)
        names = [mark[0] for mark in summary.spare.folders]
        assert "en" in names
        forged = tuple((name, (info := os.lstat(spare / name)).st_ino, info.st_ctime_ns, info.st_nlink) for name in names)
        for seal in ("", "0" * 64, summary.spare.seal):
            assert not planted.marks_hold(summary.spare.build_id, forged, seal)
        cache.put_many({"summary": replace(summary, spare=replace(summary.spare, folders=forged))})
    finally:
        cache.close()
    _edit(site, "مقال ثان معدل مرة أخرى.\n")
    result = rebuild(site, workers)
    assert settled[-2:] == [set(), set()], settled  # every folder read, then a full build
    assert any("symbolic link" in p.message for p in result.problems)
    assert not any(p.is_symlink() for p in (site / "_site").rglob("*"))


def test_a_marked_folder_holding_an_unmarked_folder_is_read(tmp_path: Path, monkeypatch) -> None:
    # A folder holding no file of the site (here an empty one) gets no mark; a link planted in
    # it changes its own ctime, not its parent's. The parent's link count says it holds a
    # folder its marks do not name: the parent is read, and the link found.
    import sitegen.pipeline.planted as planted

    monkeypatch.setattr(planted, "_SETTLED_NS", 0)
    root = tmp_path / "copy"
    (root / "a" / "empty").mkdir(parents=True)
    (root / "a" / "page.html").write_text("x", encoding="utf-8")
    (root / "b").mkdir()
    (root / "b" / "page.html").write_text("x", encoding="utf-8")
    marks, sealed = planted.folder_marks(root, {"a", "b"}, "some build")
    assert [mark[0] for mark in marks] == ["a", "b"]
    assert planted.marks_hold("some build", marks, sealed) and not planted.marks_hold("another build", marks, sealed)
    os.symlink(tmp_path, root / "a" / "empty" / "planted")
    files: set[str] = set()
    settled: set[str] = set()
    assert planted.remove_planted_entries(root, files, marks, settled) == 1
    assert settled == {"b"} and files == {"a/page.html"}
    assert not (root / "a" / "empty" / "planted").is_symlink()


def test_the_command_line_keeps_what_a_build_made_until_the_process_ends(tmp_path: Path) -> None:
    """build.py ends the process right after a build: the site's records are handed to it to
    keep, not freed object by object on the build's return (see BuildOptions.keep)."""
    from sitegen.commands.cli import main
    from sitegen.pipeline.cache import BuildCache
    from sitegen.pipeline.site import FileResults

    site = write_site(tmp_path / "site", ARTICLES, CONFIG)
    kept: list[object] = []
    assert main(["--config", str(site / "site.yml"), "--offline", "--quiet"], keep=kept.append) == 0
    made = [value for value in kept if isinstance(value, tuple)]
    assert len(made) == 1
    files = [value for value in made[0] if isinstance(value, FileResults)]
    assert len(files) == 1 and set(files[0].records) == {name.removeprefix("content/") for name in ARTICLES}
    # Nothing to do: nothing made. The cache is handed over, with whatever records were read
    # ahead while the sources were listed (stages.build_site), as after any build.
    kept.clear()
    assert main(["--config", str(site / "site.yml"), "--offline", "--quiet"], keep=kept.append) == 0
    assert [type(value) for value in kept] == [BuildCache]


def test_the_command_line_starts_listing_the_sources_before_it_imports_the_build(tmp_path: Path) -> None:
    # What a build with nothing to do waits for is the child listing the sources: build.py
    # starts it as soon as the configuration is read, and imports the build's stages (and
    # SQLite, the theme, the staging) while the child lists. Run as a fresh process, as a
    # user runs it, since this one has imported everything already.
    site = write_site(tmp_path / "site", ARTICLES, CONFIG)
    probe = (
        "import sys\n"
        "import sitegen.core.forked as forked\n"
        "real = forked.ForkedWork.__init__\n"
        "def init(self, work):\n"
        "    print('fork', sorted(m for m in ('sitegen.pipeline.stages', 'sqlite3', 'sitegen.pages.theme') if m in sys.modules), file=sys.stderr)\n"
        "    real(self, work)\n"
        "forked.ForkedWork.__init__ = init\n"
        "from sitegen.commands.cli import main\n"
        f"sys.exit(main(['--config', {str(site / 'site.yml')!r}, '--offline', '--quiet']))\n"
    )
    for _ in range(2):  # a full build, then one with nothing to do
        run = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert [line for line in run.stderr.splitlines() if line.startswith("fork")][0] == "fork []"
    assert "nothing changed" not in run.stdout  # --quiet
    assert (site / "_site" / "index.html").is_file()


LONG_FIRST = "حمص " * 80  # past the excerpt's 200 characters: a later paragraph is in no list
LISTED = {
    "content/2020-01-01-one.txt": f"---\ntags: [حمص, حماة]\n---\n{LONG_FIRST.strip()}.\nفقرة ثانية.\n===\nالجزء الثاني.\n",
    "content/2020-02-01-two.txt": "---\ntags: [حمص]\nauthor: سلمى\n---\nمقال ثان عن حماة.\n",
    "content/2021/2021-03-01-three.md": "# عنوان\n\nفقرة *مائلة*.\n",
}


def count_listed(monkeypatch) -> dict[str, int]:
    """How many times the index and list pages are listed (and keyed) from the listings."""
    from sitegen.outputs.index_pages import IndexPages
    from sitegen.outputs.list_pages import ListPages

    calls = {"index pages": 0, "term and archive pages": 0}
    for output in (IndexPages, ListPages):
        listed = output.artifacts

        def counted(self, view, listed=listed):
            calls[self.name] += 1
            return listed(self, view)

        monkeypatch.setattr(output, "artifacts", counted)
    return calls


def test_lists_made_of_unchanged_listings_are_carried_over_unlisted(tmp_path: Path, workers: int, monkeypatch) -> None:
    site = write_site(tmp_path / "site", dict(LISTED), CONFIG)
    build(site, translator_factory=FakeTranslator)
    calls = count_listed(monkeypatch)
    source = site / "content" / "2020-01-01-one.txt"
    # A paragraph past the excerpt, translated (or the segment would leave the English
    # edition): the segment's pages change, no listing does.
    source.write_text(source.read_text(encoding="utf-8").replace("فقرة ثانية.", "فقرة ثانية معدلة."), encoding="utf-8")
    result = build(site, translator_factory=FakeTranslator, workers=workers)
    assert calls == {"index pages": 0, "term and archive pages": 0}
    assert "فقرة ثانية معدلة." in page(site, "ar/2020-01-01-one-1.html")
    pages = result.pages
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)
    # The pages they carried are counted as before.
    assert pages == build(tmp_path / "twin", offline=True, workers=workers).pages
    # A new tag is a listing changed: the lists are listed again, and equal a full build's.
    source.write_text(source.read_text(encoding="utf-8").replace("tags: [حمص, حماة]", "tags: [حمص, حماة, إدلب]"), encoding="utf-8")
    calls.update(dict.fromkeys(calls, 0))  # the twin's builds listed them too
    rebuild(site, workers)
    assert calls == {"index pages": 1, "term and archive pages": 1}
    assert (site / "_site" / "tags").is_dir() and tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def count_made(monkeypatch) -> tuple[list[str], list[str]]:
    """The ids of the artifacts a build judged by their keys, and of those it made (whose key changed)."""
    judged: list[str] = []
    made: list[str] = []
    run, record = sitegen.pipeline.engine.Engine.run, sitegen.pipeline.engine.Engine._record
    monkeypatch.setattr(sitegen.pipeline.engine.Engine, "run", lambda self, artifacts: judged.extend(a.id for a in artifacts) or run(self, artifacts))
    monkeypatch.setattr(sitegen.pipeline.engine.Engine, "_record", lambda self, artifact, result: made.append(artifact.id) or record(self, artifact, result))
    return judged, made


# Two tags, two months, pages of two: an edited story is on some pages of each list, not all.
SPREAD = dict(LISTED) | {
    f"content/2020-0{month}-{day:02d}-more.txt": f"---\ntags: [{'حمص' if day % 2 else 'درعا'}]\nauthor: سلمى\n---\nخبر {month} {day} عن المدينة.\n"
    for month in (3, 4) for day in range(1, 8)
}
LIST_PAGE = ("page-", "tags", "authors", "sections", "archive", "en/page-", "en/tags", "en/authors", "en/sections", "en/archive", "index.html", "en/index.html")


@pytest.mark.parametrize("edited", ["content/2020-03-05-more.txt", "content/2020-04-07-more.txt", "content/2020-01-01-one.txt"])
def test_an_edited_title_remakes_only_the_list_pages_showing_it(tmp_path: Path, workers: int, edited: str, monkeypatch) -> None:
    """A story's new title and excerpt leave every listing where it stood: the lists are not
    listed whole, only the pages and feeds showing the story are made, and the site is a
    full build's."""
    site = write_site(tmp_path / "site", SPREAD, CONFIG)
    build(site, translator_factory=FakeTranslator)
    calls = count_listed(monkeypatch)
    judged, made = count_made(monkeypatch)
    source = site / edited
    text = source.read_text(encoding="utf-8")
    first = text.split("---\n")[-1].split("\n")[0]
    source.write_text(text.replace(first, "عنوان جديد تماما " + first, 1), encoding="utf-8")
    translated = fake_english("عنوان جديد تماما " + first).split(":")[0]  # "English <digest>", the new paragraph's
    build(site, translator_factory=FakeTranslator, workers=workers)
    assert calls == {"index pages": 0, "term and archive pages": 0}
    lists_made = [path for path in made if path.startswith(LIST_PAGE) and path.endswith(".html")]
    lists_judged = [path for path in judged if path.startswith(LIST_PAGE) and path.endswith(".html")]
    remade = set(made)
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)
    # Every list page made shows the new title, in Arabic or in its translation ...
    assert [path for path in lists_made if "عنوان جديد تماما" not in page(site, path) and translated not in page(site, path)] == []
    # ... and only the pages showing it were judged: the others were carried over unkeyed.
    assert set(lists_judged) == set(lists_made)
    every_list_page = [p.relative_to(site / "_site").as_posix() for p in (site / "_site").rglob("*.html")]
    every_list_page = [path for path in every_list_page if path.startswith(LIST_PAGE)]
    assert 0 < len(lists_judged) < len(every_list_page) / 3
    # The sitemap names where pages are, not what they show: not made again.
    assert "sitemap.xml" not in remade


def test_a_story_come_into_the_english_edition_or_gone_remakes_only_its_english_lists(tmp_path: Path, workers: int, monkeypatch) -> None:
    """A story whose translation is no longer whole leaves the English edition, and comes
    back once it is: the English pages of its terms and month after it move, and their
    counts. Only those lists are keyed (with the pages showing the story in Arabic), not
    every list page, and the site is a full build's either way."""
    site = write_site(tmp_path / "site", SPREAD, CONFIG)
    build(site, translator_factory=FakeTranslator)
    english_page = site / "_site" / "en" / "2020-03-05-more-1.html"
    assert english_page.exists()
    every_list_page = [p.relative_to(site / "_site").as_posix() for p in (site / "_site").rglob("*.html")]
    every_list_page = [path for path in every_list_page if path.startswith(LIST_PAGE)]
    calls = count_listed(monkeypatch)
    judged, made = count_made(monkeypatch)
    source = site / "content" / "2020-03-05-more.txt"
    source.write_text(source.read_text(encoding="utf-8") + "فقرة جديدة لم تترجم بعد.\n", encoding="utf-8")
    for translator, in_english in ((None, False), (FakeTranslator, True)):
        calls.update(dict.fromkeys(calls, 0))
        judged.clear()
        made.clear()
        if translator is None:
            build(site, offline=True, workers=workers)
        else:
            build(site, translator_factory=translator, workers=workers)
        assert english_page.exists() is in_english
        # The index pages are listed whole (a few hundred at most); the term and archive pages are not.
        assert calls == {"index pages": 1, "term and archive pages": 0}
        lists_judged = [path for path in judged if path.startswith(LIST_PAGE) and path.endswith(".html") and not path.startswith(("index.html", "page-", "en/index.html", "en/page-"))]
        # Her English author's pages, the tag's, the month's and their indexes; no list of the other tag.
        assert {"en/authors.html", "en/tags.html", "en/archive.html"} <= set(lists_judged)
        assert [path for path in lists_judged if "درعا" in path] == []
        assert len(lists_judged) < len(every_list_page) / 2
        assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_story_gone_from_the_english_edition_takes_the_english_pages_of_its_only_tag_along(tmp_path: Path, workers: int, monkeypatch) -> None:
    """The English pages of a tag only one story has go with it, and come back with it: no
    page of the lists is carried over where it should have gone, none is missing, and the
    lists are not listed whole."""
    site = write_site(tmp_path / "site", SPREAD | {"content/2020-03-09-alone.txt": "---\ntags: [تدمر]\n---\nخبر وحيد عن تدمر.\n"}, CONFIG)
    build(site, translator_factory=FakeTranslator)
    english_tag = site / "_site" / "en" / "tags" / "تدمر.html"
    assert english_tag.exists()
    calls = count_listed(monkeypatch)
    source = site / "content" / "2020-03-09-alone.txt"
    source.write_text(source.read_text(encoding="utf-8") + "فقرة جديدة لم تترجم بعد.\n", encoding="utf-8")
    for translator, in_english in ((None, False), (FakeTranslator, True)):
        calls.update(dict.fromkeys(calls, 0))
        if translator is None:
            result = build(site, offline=True, workers=workers)
        else:
            result = build(site, translator_factory=translator, workers=workers)
        assert calls == {"index pages": 1, "term and archive pages": 0}
        assert english_tag.exists() is in_english and (site / "_site" / "tags" / "تدمر.html").exists()
        assert (quote("تدمر") in page(site, "en/tags.html")) is in_english  # the English index links it, or not
        assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)
        assert result.pages == build(tmp_path / "twin", offline=True, workers=workers).pages


def test_the_sitemap_is_started_first_in_a_batch_of_its_own(tmp_path: Path, monkeypatch) -> None:
    """The sitemap (of every page: as long as a batch of pages or more) is not left to the
    end of the run, where one core would make it while the others wait: it comes first among
    the jobs, and is counted among the work run alone; the other jobs keep their order."""
    site = write_site(tmp_path / "site", SPREAD, CONFIG)
    monkeypatch.setattr(sitegen.pipeline.engine, "PARALLEL_THRESHOLD", 1)
    runs = []
    run_batches = sitegen.pipeline.workers.run_batches

    def watched(task, items, shared, **kwargs):
        if task is sitegen.pipeline.engine._run_jobs:
            runs.append(([job for job, _ in items], kwargs["lead"].alone))
        return run_batches(task, items, shared, **kwargs)

    monkeypatch.setattr(sitegen.pipeline.workers, "run_batches", watched)
    build(site, translator_factory=FakeTranslator, workers=2)
    pages_run = next((jobs, alone) for jobs, alone in runs if any(job.long for job in jobs))
    jobs, alone = pages_run
    long = [number for number, job in enumerate(jobs) if job.long]
    assert [jobs[number].run.__name__ for number in long] == ["_sitemap"]
    first_long = long[0]
    assert all(not job.long and job.run.__name__ != "_sitemap" for job in jobs[:first_long])  # only split work before it
    assert alone == first_long + 1
    rendered = [job.argument[0] for job in jobs[first_long + 1 :] if isinstance(job.argument, tuple) and isinstance(job.argument[0], str)]
    top = max(int(path.name[5:-5]) for path in (site / "_site").glob("page-*.html"))
    assert rendered[:2] == ["index.html", f"page-{top}.html"]  # the pages keep their order behind it (the newest first)


# One author with more stories than a feed shows (FEED_SIZE, 30): her oldest are on her
# pages but not in her feed.
PROLIFIC = {f"content/2019-{1 + day // 28:02d}-{1 + day % 28:02d}-story.txt": f"---\nauthor: ريم\n---\nخبر رقم {day} من المدينة.\n" for day in range(34)}


@pytest.mark.parametrize(("edited", "in_feed"), [("content/2019-01-01-story.txt", False), ("content/2019-02-06-story.txt", True)])
def test_a_term_feed_is_made_again_only_when_a_story_it_shows_changed(tmp_path: Path, workers: int, edited: str, in_feed: bool, monkeypatch) -> None:
    """A feed is keyed by the stories it shows, the term's newest: a corrected title of an
    older story of a prolific author remakes her pages that show it, not her feed."""
    site = write_site(tmp_path / "site", PROLIFIC, CONFIG)
    build(site, translator_factory=FakeTranslator)
    feeds = sorted(p.relative_to(site / "_site").as_posix() for p in (site / "_site").rglob("authors/*.xml"))
    assert len(feeds) == 2, "her feed in each edition"
    judged, made = count_made(monkeypatch)
    source = site / edited
    source.write_text(source.read_text(encoding="utf-8").replace("خبر رقم", "خبر مصحح رقم"), encoding="utf-8")
    build(site, translator_factory=FakeTranslator, workers=workers)
    assert set(feeds) <= set(judged)  # keyed, as every feed of a changed story's term is
    assert (set(feeds) <= set(made)) is in_feed and (set(feeds) & set(made) == set()) is not in_feed
    assert any(path.startswith("authors/") and path.endswith(".html") for path in made)  # her page showing it
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_carried_list_page_missing_from_the_site_is_made_again(tmp_path: Path, workers: int, monkeypatch) -> None:
    site = write_site(tmp_path / "site", dict(LISTED), CONFIG)
    build(site, translator_factory=FakeTranslator)
    lists = sorted(p.relative_to(site / "_site").as_posix() for p in (site / "_site" / "tags").rglob("*.html"))
    assert lists, "the site has tag pages"
    # Deleted by hand from the live site, and from the site kept beside it for the next
    # build's staging folder (which would otherwise bring it back unasked).
    for folder in (site / "_site", site / "._site.spare"):
        (folder / lists[0]).unlink(missing_ok=True)
    calls = count_listed(monkeypatch)
    source = site / "content" / "2020-01-01-one.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("فقرة ثانية.", "فقرة ثانية معدلة."), encoding="utf-8")
    build(site, translator_factory=FakeTranslator, workers=workers)
    assert calls["term and archive pages"] == 1  # not carried: listed and the missing page made
    assert (site / "_site" / lists[0]).is_file()
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_a_list_page_the_staging_folder_could_not_take_from_the_live_site_is_made_again(tmp_path: Path, workers: int, monkeypatch) -> None:
    # The staging folder is the spare site (a build older) caught up with what the last build
    # changed, taken from the live site. A changed tag page deleted by hand from the live site
    # is not there to take: its folder, settled (not read), must not vouch for it, or the page
    # would be carried over and the site published without it.
    settled = _settled_folders(monkeypatch)
    site = write_site(tmp_path / "site", dict(LISTED), CONFIG)
    build(site, translator_factory=FakeTranslator)
    source = site / "content" / "2020-02-01-two.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("مقال ثان عن حماة.", "مقال ثان معدل عن حماة."), encoding="utf-8")
    build(site, translator_factory=FakeTranslator, workers=workers)  # its tag's page shows the new excerpt
    changed = sorted(p.relative_to(site / "_site").as_posix() for p in (site / "_site" / "tags").rglob("*.html") if "معدل" in p.read_text(encoding="utf-8"))
    assert changed, "a tag page shows the edited story"
    (site / "_site" / changed[0]).unlink()  # from the live site only: the spare keeps its older page
    other = site / "content" / "2020-01-01-one.txt"
    other.write_text(other.read_text(encoding="utf-8").replace("فقرة ثانية.", "فقرة ثانية معدلة."), encoding="utf-8")
    build(site, translator_factory=FakeTranslator, workers=workers)  # no listing changes
    assert "tags" in settled[-1], settled  # the page's folder was not read
    assert (site / "_site" / changed[0]).is_file()
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_an_edit_that_changes_no_file_of_the_site_keeps_its_zip(tmp_path: Path, workers: int) -> None:
    # The staging folder's stray files are removed once the outputs are made, site.zip's
    # link to the live zip among them; the zip, whose key stands, must be judged by what the
    # folder then holds, not by what it held when it was made ready.
    site = make(tmp_path)
    rebuild(site, workers)  # the spare: a copy of this site
    source = site / "content" / "2020-02-01-two.txt"
    source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # a blank line: the same pages
    stamp = source.stat().st_mtime_ns + 10_000_000
    os.utime(source, ns=(stamp, stamp))
    before = tree_bytes(site / "_site")
    result = rebuild(site, workers)
    assert result.rebuilt_files == 1, "the file was made again"
    assert (site / "_site" / "site.zip").is_file()
    assert tree_bytes(site / "_site") == before == cold_copy(site, tmp_path, workers)


def test_a_ranking_that_stands_as_read_is_not_stored_again(tmp_path: Path, workers: int, monkeypatch) -> None:
    # An edit that changes no segment's features reuses the related stories' ranking as it
    # was read: the cache keeps it, and the build after, which reads it, is still a full build's.
    from sitegen.pipeline.cache import BuildCache

    site = write_site(tmp_path / "site", dict(LISTED), CONFIG)
    build(site, translator_factory=FakeTranslator)
    stored: list[set[str]] = []
    put_many = BuildCache.put_many
    monkeypatch.setattr(BuildCache, "put_many", lambda self, values: stored.append(set(values)) or put_many(self, values))
    source = site / "content" / "2020-02-01-two.txt"
    source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # the same segments
    rebuild(site, workers)
    assert stored and not any("related" in keys for keys in stored), stored
    assert any("outputs" in keys for keys in stored)
    stored.clear()
    source.write_text(source.read_text(encoding="utf-8").replace("tags: [حمص]", "tags: [حمص, إدلب]"), encoding="utf-8")
    rebuild(site, workers)  # a new tag: a feature changed
    assert any("related" in keys for keys in stored), stored
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)
    source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    rebuild(site, workers)
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def test_pages_made_by_jobs_are_compressed_where_they_are_made_and_only_when_they_changed(tmp_path: Path, workers: int, monkeypatch) -> None:
    # The index pages and lists are written, and compressed for site.zip, by the process that
    # made them (engine._settled: a worker, with two): the zip copies their bytes from its
    # pack instead of compressing them itself. Only those whose bytes changed: an unchanged
    # one is copied from the previous zip.
    engines: list = []
    zipped: list[set[str]] = []

    class Watched(sitegen.pipeline.engine.Engine):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            engines.append(self)

    write_site_zip = sitegen.outputs.site_zip.write_site_zip

    def watched_zip(target, root, names, packed, *args, **kwargs):
        zipped.append(set(packed))
        return write_site_zip(target, root, names, packed, *args, **kwargs)

    monkeypatch.setattr(sitegen.pipeline.making, "Engine", Watched)
    monkeypatch.setattr(sitegen.outputs.site_zip, "write_site_zip", watched_zip)
    site = make(tmp_path)
    packed = set(engines[-1].packed)
    assert "index.html" in packed and "page-1.html" in packed
    assert packed <= zipped[-1], "the zip takes what the jobs packed"
    before = tree_bytes(site / "_site")
    _zip_holds_the_site(site)

    _edit(site, "مقال ثان معدل بعنوان جديد عن حماة.\n")
    rebuild(site, workers)
    after = tree_bytes(site / "_site")
    packed = set(engines[-1].packed)
    assert packed and packed <= zipped[-1]
    assert all(after[path] != before.get(path) for path in packed), "only pages whose bytes changed"
    assert after["site.zip"] == cold_copy(site, tmp_path, workers)["site.zip"]
    _zip_holds_the_site(site)


def _zip_holds_the_site(site: Path) -> None:
    """Every member of site.zip is the site's file (a site without photos: the same bytes);
    the output folder's marker is the folder's, not the site's."""
    with zipfile.ZipFile(site / "_site" / "site.zip") as archive:
        members = {name.removeprefix("site/"): archive.read(name) for name in archive.namelist()}
    files = {path: data for path, data in tree_bytes(site / "_site").items() if path not in ("site.zip", ".sitegen-output")}
    assert members == files


def test_site_zip_copied_in_the_background_is_whole_before_the_site_is_published(tmp_path: Path, workers: int, monkeypatch) -> None:
    # The unchanged runs of site.zip are copied by a thread while the build saves its state;
    # the site is published only once they are done. Each copy is held back here until the
    # build has saved its state: a build that published before waiting would publish a zip
    # with holes (and a thread still writing into it).
    import threading

    import sitegen.outputs.zip_io

    site = make(tmp_path)
    saved = threading.Event()
    real_copy, real_save = sitegen.outputs.zip_io.copy_range, sitegen.pipeline.making.save_work
    published_with_copies_done: list[bool] = []
    copies_done = threading.Event()

    def late_copy(*work):
        saved.wait(10)
        real_copy(*work)
        copies_done.set()

    def watched_save(*args, **kwargs):
        real_save(*args, **kwargs)
        saved.set()

    real_publish = sitegen.pipeline.stages.publish_staging

    def watched_publish(*args, **kwargs):
        published_with_copies_done.append(copies_done.is_set())
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(sitegen.outputs.zip_io, "copy_range", late_copy)
    monkeypatch.setattr(sitegen.pipeline.making, "save_work", watched_save)
    monkeypatch.setattr(sitegen.pipeline.stages, "publish_staging", watched_publish)
    _edit(site, "مقال ثان معدل.\n")
    rebuild(site, workers)
    assert published_with_copies_done == [True]
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)
    _zip_holds_the_site(site)


def test_a_background_copy_that_fails_publishes_nothing_and_keeps_the_cache(tmp_path: Path, workers: int, monkeypatch) -> None:
    import errno

    import sitegen.outputs.zip_io

    site = make(tmp_path)
    before = tree_bytes(site / "_site")

    def disk_full(*_work):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sitegen.outputs.zip_io, "copy_range", disk_full)
    _edit(site, "مقال ثان معدل.\n")
    with pytest.raises(OSError) as raised:
        build(site, offline=True, workers=workers)
    assert raised.value.errno == errno.ENOSPC
    assert tree_bytes(site / "_site") == before  # the live site is the previous build's
    monkeypatch.undo()
    result = rebuild(site, workers)  # the cache was left as it was: the edit is made now
    assert result.written and result.rebuilt_files == 1
    assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)


def _engine_after(previous: dict[str, str], manifest: dict[str, str], zip_digest: str | None):
    """An engine's manifests as make_outputs leaves them: stock taken before site.zip is made."""
    from types import SimpleNamespace

    from sitegen.core.urls import ARCHIVE
    from sitegen.outputs.site_zip import site_files
    from sitegen.pipeline.making import stock_key

    key = stock_key(SimpleNamespace(records={}), SimpleNamespace(artifact_files=lambda: dict(manifest)))  # every file an artifact's
    engine = SimpleNamespace(previous_manifest=previous, manifest=dict(manifest), stock=site_files(manifest, frozenset(path for path, _ in previous.items() ^ manifest.items()), key))
    if zip_digest is not None:
        engine.manifest[ARCHIVE] = zip_digest
    return engine


def test_the_build_id_depends_on_every_file_and_the_changed_paths_name_site_zip_only_when_it_changed() -> None:
    # The build id is made of the key taken before site.zip and of the zip's digest: a file the
    # zip does not carry (a photo left out of it) must change the id all the same.
    from sitegen.core.urls import ARCHIVE
    from sitegen.pipeline.stages import changed_paths, site_id

    files = {"index.html": "a1", "media/p-480.jpg": "b1", "ar/x.html": "c1"}
    previous = {**files, ARCHIVE: "z1"}
    same = site_id(_engine_after(previous, files, "z1"))
    assert same == site_id(_engine_after(previous, dict(reversed(list(files.items()))), "z1"))
    for path in files:
        assert site_id(_engine_after(previous, {**files, path: "changed"}, "z1")) != same, path
    assert site_id(_engine_after(previous, files, "z2")) != same
    assert site_id(_engine_after(previous, files, None)) != same

    assert changed_paths(_engine_after(previous, files, "z1")) == ()
    assert changed_paths(_engine_after(previous, {**files, "media/p-480.jpg": "b2"}, "z1")) == ("media/p-480.jpg",)
    edited = {**files, "ar/x.html": "c2", "ar/new.html": "d1"}
    del edited["index.html"]
    assert changed_paths(_engine_after(previous, edited, "z2")) == ("ar/new.html", "ar/x.html", "index.html", ARCHIVE)
    assert changed_paths(_engine_after(previous, files, None)) == (ARCHIVE,)  # offline_archive turned off


def test_the_replaced_site_is_kept_only_where_the_changed_paths_and_the_zip_fit_the_spare(monkeypatch: pytest.MonkeyPatch) -> None:
    # Told before site.zip is made (a copy of the new site is begun otherwise, while the zip is
    # written), so the zip counts as changed: at most MAX_BEHIND paths in all, as the next
    # build's catch-up takes them (staging.StagingCopy).
    from types import SimpleNamespace

    from sitegen.core.urls import ARCHIVE
    from sitegen.pipeline import stages

    monkeypatch.setattr(stages, "MAX_BEHIND", 4)
    files = {f"ar/{n}.html": "a" for n in range(8)}
    previous = {**files, ARCHIVE: "z1"}
    trusted, untrusted = SimpleNamespace(trusted=True), SimpleNamespace(trusted=False)
    for changed, kept in ((0, True), (3, True), (4, False), (8, False)):
        edited = {**files, **{f"ar/{n}.html": "b" for n in range(changed)}}
        engine = _engine_after(previous, edited, None)  # before the zip: its old entry differs
        assert stages.keeps_previous_site(trusted, engine) is kept, changed
        assert stages.keeps_previous_site(untrusted, engine) is False


def test_the_sources_are_listed_by_a_child_and_each_record_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The sources and their memories are stat'ed by a forked child while this process reads
    # the files' records ahead; make_files then reads only those not yet read.
    site = make(tmp_path)
    listed, read = [], []
    real_list, real_read = sitegen.pipeline.listing.list_sources, sitegen.pipeline.making.record_from_stored
    monkeypatch.setattr(sitegen.pipeline.listing, "list_sources", lambda config: listed.append(os.getpid()) or real_list(config))
    monkeypatch.setattr(sitegen.pipeline.making, "record_from_stored", lambda values, texts: read.append(values[1]) or real_read(values, texts))
    edit = site / "content" / "2020-02-01-two.txt"
    edit.write_text("مقال ثان عن حماة، مصحح.\n", encoding="utf-8")
    result = build(site, offline=True)
    assert result.written and result.rebuilt_files == 1
    assert listed == [], "listed by a child: nothing of it ran in this process"
    assert sorted(read) == sorted(rel for rel in (p.relative_to(site / "content").as_posix() for p in (site / "content").rglob("*.*"))), "each record once"
    by_child = tree_bytes(site / "_site")
    # Without fork, the same site from the same sources, listed here.
    monkeypatch.delattr(os, "fork")
    edit.write_text("مقال ثان عن حماة، مصحح مرتين.\n", encoding="utf-8")
    build(site, offline=True)
    edit.write_text("مقال ثان عن حماة، مصحح.\n", encoding="utf-8")
    assert build(site, offline=True).written and len(listed) == 2
    assert tree_bytes(site / "_site") == by_child


def test_sources_listed_by_a_child_are_found_as_they_are_here(tmp_path: Path) -> None:
    # Problems met while listing (a named pipe, a broken link, a link out of the folder) come
    # back from the child as objects (pickled, not marshalled) and in the same order.
    from sitegen.config import load_config
    from sitegen.core.forked import ForkedWork

    site = write_site(tmp_path / "site", {**ARTICLES, "translations/2020-02-01-two.txt.en.yml": "entries: []\n"}, CONFIG)
    os.mkfifo(site / "content" / "pipe.txt")
    os.symlink(site / "content" / "gone.txt", site / "content" / "broken.txt")
    (tmp_path / "outside.txt").write_text("خارج.\n", encoding="utf-8")
    os.symlink(tmp_path / "outside.txt", site / "content" / "out.txt")
    config = load_config(site / "site.yml")
    here = sitegen.pipeline.plan.discover(config)
    by_child = sitegen.pipeline.plan.discover(config, ForkedWork(lambda: sitegen.pipeline.plan.list_sources(config)).result())
    assert by_child == here
    assert len(here.problems) == 3 and len(here.sources) == 3
    assert here.memories["2020-02-01-two.txt"] is not None and here.memories["2020-01-01-one.txt"] is None


def test_a_full_build_links_its_spare_while_it_saves_its_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The hard-linked copy a full build leaves for the next one's spare is begun from the
    # staging folder once it is whole, before the work is saved, not after publishing.
    import sitegen.pipeline.staging as staging_module

    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG)
    events = []
    real_link, real_save = staging_module._start_linked_copy, sitegen.pipeline.making.save_work
    monkeypatch.setattr(staging_module, "_start_linked_copy", lambda source, target: events.append(("link", Path(source).name)) or real_link(source, target))
    monkeypatch.setattr(sitegen.pipeline.making, "save_work", lambda *args: events.append(("save",)) or real_save(*args))
    result = build(site, offline=True)
    assert result.written
    assert events[0][0] == "link" and events[0][1].startswith("._site.staging-") and events[1] == ("save",)
    spare = site / "._site.spare"
    assert read_build_id(spare) == read_build_id(site / "_site")
    assert tree_bytes(spare) == tree_bytes(site / "_site")
    assert (spare / "index.html").stat().st_ino == (site / "_site" / "index.html").stat().st_ino
    assert (spare / "site.zip").stat().st_nlink == 1, "its zip a file of its own"


def test_a_full_build_that_fails_after_its_spare_was_begun_leaves_no_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG)

    def no_room(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sitegen.pipeline.making, "save_work", no_room)
    with pytest.raises(OSError):
        build(site, offline=True)
    assert not (site / "_site").exists() and not (site / "._site.spare").exists()
    deadline = time.monotonic() + 20
    while list(site.glob("._site.trash-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(site.glob("._site.trash-*")), "the copy begun for a spare is removed"


def _folders(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())


def test_a_folder_the_site_no_longer_has_is_gone_from_a_spare_that_had_it(tmp_path: Path, workers: int) -> None:
    # A tag added, then removed: the build after that one starts from the spare, the site with
    # the tag's pages, and takes them out (the catch-up). Their folders must go with them, as a
    # build from nothing never makes them: tags/ and en/tags/ were left there, empty.
    site = make(tmp_path)
    rel = site / "content" / "2020-02-01-two.txt"
    rel.write_text("---\ntags: [حماة]\n---\nمقال ثان عن حماة.\n", encoding="utf-8")
    rebuild(site, workers)
    assert (site / "_site" / "tags").is_dir() and (site / "_site" / "en" / "tags").is_dir()
    rel.write_text("مقال ثان عن حماة.\n", encoding="utf-8")
    rebuild(site, workers)
    (site / "content" / "2020-01-01-one.txt").write_text(ARTICLES["content/2020-01-01-one.txt"].replace("فقرة ثانية.", "فقرة ثانية أطول."), encoding="utf-8")
    rebuild(site, workers)
    assert not (site / "_site" / "tags").exists() and not (site / "_site" / "en" / "tags").exists()
    twin_files = cold_copy(site, tmp_path, workers)
    assert _folders(site / "_site") == _folders(tmp_path / "twin" / "_site")
    assert tree_bytes(site / "_site") == twin_files


def test_a_one_change_build_copies_into_the_spare_sites_old_zip_only_what_moved(tmp_path: Path, workers: int, monkeypatch) -> None:
    # site.zip is written over the spare site's old zip (a copy of the live one after a full
    # build; the zip of the build before the live one after that): with members grouped, an
    # edit moves little, and what that file holds where it goes already is not copied. Small
    # groups here (one member in four starts one), so that a small site has many.
    import sitegen.outputs.archive
    import sitegen.outputs.zip_io

    monkeypatch.setattr(sitegen.outputs.archive, "_GROUP", 4)
    articles = {f"content/2019/2019-{1 + n // 28:02d}-{1 + n % 28:02d}-news.txt": f"خبر رقم {n} عن دمشق.\nفقرة ثانية عن حلب.\n" for n in range(80)}
    site = write_site(tmp_path / "site", articles, {"per_page": 10, "base_url": "https://example.org/repo/"})
    rebuild(site, workers)
    copied: list[int] = []
    real_copy = sitegen.outputs.zip_io.copy_range
    monkeypatch.setattr(sitegen.outputs.zip_io, "copy_range", lambda source, start, end, *rest: copied.append(end - start) or real_copy(source, start, end, *rest))
    source = site / "content" / "2019" / "2019-02-12-news.txt"
    for text in ("خبر معدل عن دمشق.\n", "خبر معدل مرة أخرى عن دمشق.\nفقرة ثانية.\n", "خبر معدل للمرة الثالثة عن دمشق وريفها.\n"):
        source.write_text(text, encoding="utf-8")
        stamp = source.stat().st_mtime_ns + 10_000_000  # a new mtime even within the clock's tick
        os.utime(source, ns=(stamp, stamp))
        copied.clear()
        rebuild(site, workers)
        size = (site / "_site" / "site.zip").stat().st_size
        assert sum(copied) < size // 4, (text, sum(copied), size)
        assert tree_bytes(site / "_site") == cold_copy(site, tmp_path, workers)
        _zip_holds_the_site(site)
