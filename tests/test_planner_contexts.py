"""What a planner makes once for the pages of a folder (their shared context) stays each page's
own: a page's title and address are its own, and what one page changes in its context never
reaches another's."""

from __future__ import annotations

from sitegen.config import load_config
from sitegen.pages.planner import SitePlanner
from tests.sitekit import write_site

BASE = "https://example.org/news/"


def _planner(tmp_path) -> SitePlanner:
    site = write_site(tmp_path / "site", {"content/a.txt": "نص.\n"}, {"base_url": BASE, "translation": {"enabled": True, "title": "News"}})
    return SitePlanner(load_config(site / "site.yml"))


def test_pages_of_one_folder_share_its_links_and_keep_their_own_title_and_address(tmp_path):
    planner = _planner(tmp_path)
    first = planner.base_context("tags/a.html", "ar", "أ")
    second = planner.base_context("tags/b.html", "ar", "ب")
    assert (first["page_title"], second["page_title"]) == ("أ", "ب")
    assert (first["canonical"], second["canonical"]) == (BASE + "tags/a.html", BASE + "tags/b.html")
    assert first["nav"] == second["nav"] and first["home_url"] == "../index.html"
    first["body_class"] = "changed"
    assert second["body_class"] == ""
    elsewhere = planner.base_context("index.html", "ar", "ج")
    assert elsewhere["home_url"] == "index.html" and elsewhere["root"] == ""
    english = planner.base_context("en/tags/a.html", "en", "A")
    assert english["lang"] == "en" and english["root"] == "../../" and english["nav"] != first["nav"]


def test_the_404_page_s_absolute_links_do_not_reach_the_pages_made_after_it(tmp_path):
    planner = _planner(tmp_path)
    before = planner.index_page(1, 1, [], False).context
    missing = planner.not_found_page().context
    after = planner.index_page(1, 1, [], False).context
    assert all(item["href"].startswith(BASE) for item in missing["nav"] + missing["feeds"])
    assert after["nav"] == before["nav"] and after["feeds"] == before["feeds"]
    assert not any(item["href"].startswith(BASE) for item in after["nav"] + after["feeds"])


def test_pages_made_with_one_memo_for_every_file_equal_pages_made_each_with_its_own(tmp_path, monkeypatch):
    """The file stage shares one planner memo among the files a process makes (FileContext.
    planner_memo): every page must be what a planner of its own file alone makes of it."""
    from sitegen.translation.translator import FakeTranslator
    from tests.sitekit import build, tree_bytes

    story = "---\ntags: [حمص, {tag}]\nauthor: {author}\n---\nفقرة أولى عن {tag}.\n\nفقرة ثانية.\n"
    files = {
        "content/2014/03/a.md": story.format(tag="بابا عمرو", author="مراسل"),
        "content/2014/03/b.md": story.format(tag="الخالدية", author="مراسلة"),
        "content/2014/c.txt": "نص أول.\n=====\nنص ثان.\n=====\nنص ثالث.\n",
        "content/d.txt": "قصة في أعلى المجلد.\n",
    }
    site = write_site(tmp_path / "site", files, {"base_url": BASE, "translation": {"enabled": True}})
    made_contexts = []
    folder_context = SitePlanner._folder_context
    monkeypatch.setattr(SitePlanner, "_folder_context", lambda self, *args: made_contexts.append(args) or folder_context(self, *args))
    assert build(site, workers=1, translator_factory=FakeTranslator).written
    shared, contexts_shared = tree_bytes(site / "_site"), len(made_contexts)

    planner_init = SitePlanner.__init__
    monkeypatch.setattr(SitePlanner, "__init__", lambda self, config, companions=None, photos=None, made_once=None: planner_init(self, config, companions, photos))
    for made in (site / "_site", site / ".cache"):
        __import__("shutil").rmtree(made)
    made_contexts.clear()
    assert build(site, workers=1, translator_factory=FakeTranslator).written
    assert tree_bytes(site / "_site") == shared
    assert contexts_shared < len(made_contexts)  # the memo was shared: fewer contexts were made


def test_a_files_pages_are_rendered_one_at_a_time_each_written_or_spooled_before_the_next(tmp_path, monkeypatch):
    """A file of many segments is not held whole: each page leaves the process (written, or
    spooled for its related stories) before the next is rendered. Rendered all first, a
    worker making a file of 500 segments held its 1,500 pages at once."""
    import sitegen.outputs.segment_pages as segment_pages_module
    import sitegen.pipeline.files as files_module
    from sitegen.pipeline.drafts import DraftSpool
    from sitegen.translation.translator import FakeTranslator
    from tests.sitekit import build

    segments = "\n=====\n".join(f"فقرة القصة رقم {n} عن حمص.\n" for n in range(40))
    site = write_site(tmp_path / "site", {"content/2014/big.txt": segments, "content/2014/small.txt": "قصة أخرى عن حمص.\n"}, {"translation": {"enabled": True}})
    events: list[str] = []
    render, add, replace = segment_pages_module.render_page, DraftSpool.add, files_module.replace_file
    monkeypatch.setattr(segment_pages_module, "render_page", lambda *args: events.append("render") or render(*args))
    monkeypatch.setattr(DraftSpool, "add", lambda self, data: events.append("out") or add(self, data))
    monkeypatch.setattr(files_module, "replace_file", lambda path, data: events.append("out") or replace(path, data))
    assert build(site, workers=1, translator_factory=FakeTranslator).written
    assert events.count("render") == 3 * 41  # the Arabic page, its companion and the parallel page of each
    assert "render,render" not in ",".join(events)
