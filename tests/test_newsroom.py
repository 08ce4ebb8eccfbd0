"""A newsroom's lists: tags, authors and sections as term pages, their indexes, the archive by
month, links to them from every article, in both editions, made again only where they change."""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from sitegen.translation.translator import FakeTranslator, fake_english
from tests.sitekit import build, run_cli, tree_bytes, write_site

ARTICLES = {
    "content/homs/2012-02-24-siege.md": "---\ntags: [حمص, بابا عمرو, حِصار]\nauthor: [سلمى, خالد]\n---\nقصف على الحي.\n",
    "content/homs/2012-03-01-bread.md": "---\ntags: [حمـص, HOMS]\nauthor: سلمى\n---\nنص ثان عن الخبز.\n",
    "content/opinion/2013-01-05-view.md": "---\ntags: [رأي, homs]\nauthor: خالد\n---\nمقال رأي.\n",
    "content/undated.md": "---\ntags: [حمص]\n---\nبلا تاريخ.\n",
}
CONFIG = {"per_page": 2, "sections": {"homs": {"ar": "حمص", "en": "Homs"}, "opinion": "رأي"}, "translation": {"enabled": True, "title": "News"}}


def newsroom(tmp_path: Path, name: str = "site", articles: dict | None = None) -> Path:
    site = write_site(tmp_path / name, dict(articles or ARTICLES), CONFIG)
    result = build(site, translator_factory=FakeTranslator)
    assert result.written, [str(p) for p in result.problems]
    return site


def read(site: Path, rel: str) -> str:
    return (site / "_site" / rel).read_text(encoding="utf-8")


def entry_links(html: str) -> list[str]:
    return [unquote(h) for h in re.findall(r'<h2><a href="([^"]+)">', html)]


def resolved(page: str, href: str) -> str:
    """Where a relative link on ``page`` leads, from the site's root."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(href)))


def test_spellings_of_one_tag_are_one_page_named_in_arabic_letters(tmp_path):
    site = newsroom(tmp_path)
    tags = sorted(p.name for p in (site / "_site" / "tags").iterdir())
    # حمص, حمـص (tatweel) and undated حمص: one page (three stories at per_page 2: a front page
    # holds up to twice per_page less one, pages/paging.py); Homs/HOMS/homs one.
    assert tags == sorted(["حمص.html", "homs.html", "بابا-عمرو.html", "حصار.html", "رأي.html"])
    first = read(site, "tags/حمص.html")
    # Newest first, undated last.
    assert entry_links(first) == ["../ar/homs-2012-03-01-bread-1.html", "../ar/homs-2012-02-24-siege-1.html", "../ar/undated-1.html"]
    assert 'rel="next"' not in first and 'class="pagination"' not in first


def test_each_taxonomy_has_an_index_of_its_terms_with_counts(tmp_path):
    site = newsroom(tmp_path)
    tags = unquote(read(site, "tags.html"))
    assert re.search(r'href="tags/حمص.html">حمص</a> <span class="count"[^>]*>\(3\)', tags)
    assert re.search(r'href="tags/homs.html">HOMS</a> <span class="count"[^>]*>\(2\)', tags)
    # The most written about first.
    assert tags.index("tags/حمص.html") < tags.index("tags/homs.html") < tags.index("tags/رأي.html")
    authors = unquote(read(site, "authors.html"))
    assert "authors/سلمى.html" in authors and "authors/خالد.html" in authors
    assert entry_links(read(site, "authors/خالد.html")) == ["../ar/opinion-2013-01-05-view-1.html", "../ar/homs-2012-02-24-siege-1.html"]


def test_sections_are_the_first_folders_named_from_site_yml(tmp_path):
    site = newsroom(tmp_path)
    assert ">حمص</a>" in read(site, "sections.html") and ">رأي</a>" in read(site, "sections.html")
    assert ">Homs</a>" in read(site, "en/sections.html")
    assert len(entry_links(read(site, "sections/homs.html"))) == 2 and not (site / "_site" / "sections" / "undated.html").exists()


def test_archive_by_month_in_both_editions(tmp_path):
    site = newsroom(tmp_path)
    archive = unquote(read(site, "archive.html"))
    assert '<h2 id="y2013">' in archive and '<h2 id="y2012">' in archive and archive.index("y2013") < archive.index("y2012")
    assert "archive/2012-02.html" in archive and "archive/2012-03.html" in archive and "archive/2013-01.html" in archive
    assert entry_links(read(site, "archive/2012-02.html")) == ["../ar/homs-2012-02-24-siege-1.html"]
    assert [resolved("en/archive/2012-02.html", h) for h in entry_links(read(site, "en/archive/2012-02.html"))] == ["en/homs-2012-02-24-siege-1.html"]
    assert "<h1" in read(site, "en/archive.html") and "February" in read(site, "en/archive.html")


def test_articles_and_the_index_link_to_their_lists(tmp_path):
    site = newsroom(tmp_path)
    page = unquote(read(site, "ar/homs-2012-02-24-siege-1.html"))
    assert '<a class="tag" href="../tags/حصار.html">حِصار</a>' in page  # shown as written, filed under the folded name
    assert '<a href="../authors/سلمى.html">سلمى</a>، <a href="../authors/خالد.html">خالد</a>' in page
    assert '<a class="section" href="../sections/homs.html">حمص</a>' in page
    english = unquote(read(site, "en/homs-2012-02-24-siege-1.html"))
    author = re.search(r'<a href="([^"]+)" lang="ar" dir="rtl">سلمى</a>', english)
    assert author and resolved("en/x.html", author.group(1)) == "en/authors/سلمى.html"
    section = re.search(r'<a class="section" href="([^"]+)">Homs</a>', english)
    assert section and resolved("en/x.html", section.group(1)) == "en/sections/homs.html"
    index = read(site, "index.html")
    for target in ("archive.html", "tags.html", "authors.html", "sections.html"):
        assert f'href="{target}"' in index, target


def test_every_link_of_the_lists_resolves(tmp_path):
    from sitegen.commands.check import check_site

    site = newsroom(tmp_path)
    assert check_site(site / "_site").lines() == []


def test_a_hostile_tag_is_text_and_a_tag_without_letters_is_an_error(tmp_path):
    articles = {"content/a.md": "---\ntags: ['</script><script>alert(1)</script>', 'عادي']\n---\nنص.\n"}
    site = newsroom(tmp_path, articles=articles)
    for path in (site / "_site").rglob("*.html"):
        assert "<script>alert(1)" not in path.read_text(encoding="utf-8"), path
    assert (site / "_site" / "tags" / "script-script-alert-1-script.html").is_file()
    (site / "content" / "a.md").write_text("---\ntags: ['///', 'عادي']\n---\nنص.\n", encoding="utf-8")
    result = build(site, offline=True)
    assert not result.written
    assert any(":2:" in str(p) and "'///'" in str(p) and "letter or digit" in str(p) for p in result.problems), [str(p) for p in result.problems]


@pytest.mark.parametrize("workers", [1, 2])
def test_changing_one_articles_tags_remakes_only_its_term_pages_and_equals_a_full_build(tmp_path, workers, monkeypatch):
    import sitegen.pipeline.engine

    if workers > 1:
        monkeypatch.setattr(sitegen.pipeline.engine, "PARALLEL_THRESHOLD", 1)
    site = newsroom(tmp_path)
    before = {p.relative_to(site / "_site").as_posix(): os.stat(p).st_ino for p in (site / "_site").rglob("*.html")}
    source = site / "content/opinion/2013-01-05-view.md"
    source.write_text(source.read_text(encoding="utf-8").replace("رأي, homs", "رأي, إدلب"), encoding="utf-8")
    assert build(site, offline=True, workers=workers).written
    after = {p.relative_to(site / "_site").as_posix(): os.stat(p).st_ino for p in (site / "_site").rglob("*.html")}
    remade = {path for path in after if before.get(path) != after[path]}
    assert {"tags/إدلب.html", "tags/homs.html", "tags.html"} <= remade
    # Lists that do not show the article stand (those that do show its tags with its entry).
    assert not remade & {"tags/حمص.html", "tags/بابا-عمرو.html", "authors/سلمى.html", "sections/homs.html", "archive/2012-02.html", "archive.html"}
    twin = tmp_path / "twin"
    shutil.copytree(site, twin, ignore=shutil.ignore_patterns("_site", ".cache", "._site*"))
    assert build(twin, offline=True).written
    assert tree_bytes(twin / "_site") == tree_bytes(site / "_site")


def test_each_term_has_its_own_feed_when_base_url_is_set(tmp_path):
    import feedparser

    site = write_site(tmp_path / "site", dict(ARTICLES), CONFIG | {"base_url": "https://example.org/news/"})
    assert build(site, translator_factory=FakeTranslator).written
    feed = feedparser.parse((site / "_site" / "tags" / "حمص.xml").read_bytes())
    assert not feed.bozo and feed.feed.title.endswith("حمص")
    # Dated entries only, newest first, each linking its own Arabic page.
    assert [e.link for e in feed.entries] == ["https://example.org/news/ar/homs-2012-03-01-bread-1.html", "https://example.org/news/ar/homs-2012-02-24-siege-1.html"]
    english = feedparser.parse((site / "_site" / "en" / "authors" / "خالد.xml").read_bytes())
    assert [e.link for e in english.entries] == ["https://example.org/news/en/opinion-2013-01-05-view-1.html", "https://example.org/news/en/homs-2012-02-24-siege-1.html"]
    page = read(site, "tags/حمص.html")
    assert re.search(r'<link rel="alternate" type="application/atom\+xml" hreflang="ar" title="[^"]*حمص" href="%D8%AD%D9%85%D8%B5.xml">', page)


def test_the_english_edition_names_terms_as_site_yml_says_and_marks_the_others_arabic(tmp_path):
    config = CONFIG | {"taxonomies": {"tags": {"حمص": "Homs (city)"}, "authors": {"سلمى": "Salma"}}}
    site = write_site(tmp_path / "site", dict(ARTICLES), config)
    assert build(site, translator_factory=FakeTranslator).written
    (site / "translations" / "tags.yml.en.yml").unlink()  # no tag named through the memory
    assert build(site, offline=True).written
    tags = read(site, "en/tags.html")
    assert ">Homs (city)</a>" in tags  # any spelling of the tag finds its English name (حمـص too)
    assert 'lang="ar" dir="rtl">حصار</a>' in unquote(tags) or 'lang="ar" dir="rtl">حِصار</a>' in tags
    assert "<h1" in read(site, "en/tags/حمص.html") and "Homs (city)" in read(site, "en/tags/حمص.html")
    english = read(site, "en/homs-2012-02-24-siege-1.html")
    assert ">Salma</a>" in english and 'lang="ar" dir="rtl">خالد</a>' in english
    # The Arabic edition keeps the Arabic names.
    assert ">حمص</a>" in read(site, "tags.html") and "Homs (city)" not in read(site, "tags.html")


def test_tags_without_an_english_name_are_translated_once_kept_and_reviewable(tmp_path):
    config = CONFIG | {"taxonomies": {"tags": {"حمص": "Homs (city)"}}}
    site = write_site(tmp_path / "site", dict(ARTICLES), config)
    translator = FakeTranslator()
    assert build(site, translator_factory=lambda: translator).written
    asked = [text for text in translator.calls if text in ("حصار", "حِصار", "بابا عمرو", "رأي", "HOMS", "Homs", "homs", "حمص")]
    # Each tag without a name once, in its most used spelling (HOMS and homs: once each, the first
    # in code point order); site.yml's names (حمص, حمـص) are never asked for.
    assert sorted(asked) == sorted(["HOMS", "بابا عمرو", "حِصار", "رأي"])
    memory = (site / "translations" / "tags.yml.en.yml").read_text(encoding="utf-8")
    assert "بابا عمرو" in memory and "Homs (city)" not in memory
    tags = read(site, "en/tags.html")
    assert fake_english("بابا عمرو") in tags and ">Homs (city)</a>" in tags
    assert 'lang="ar" dir="rtl">بابا عمرو' not in unquote(tags)
    assert fake_english("بابا عمرو") in read(site, "en/tags/بابا-عمرو.html")
    # The next build asks for nothing; the Arabic edition never shows the English names.
    again = FakeTranslator()
    assert not build(site, translator_factory=lambda: again).failed
    assert again.calls == []
    assert fake_english("بابا عمرو") not in read(site, "tags.html")
    # Editors see them with every other unit, and a corrected name reaches the English lists.
    status = run_cli("translations", "status", "--config", str(site / "site.yml"), "--json")
    assert status.code == 0 and "tags.yml" in status.out
    text = memory.replace(fake_english("بابا عمرو"), "Baba Amr")
    (site / "translations" / "tags.yml.en.yml").write_text(text, encoding="utf-8")
    pages = {path: (site / "_site" / path).read_bytes() for path in ("ar/homs-2012-02-24-siege-1.html", "en/homs-2012-02-24-siege-1.html")}
    assert build(site, offline=True).written
    assert ">Baba Amr</a>" in read(site, "en/tags.html") and "Baba Amr" in read(site, "en/tags/بابا-عمرو.html")
    # Only the lists show tag names: no segment page was made again.
    assert all((site / "_site" / path).read_bytes() == data for path, data in pages.items())
    assert tree_bytes(site / "_site") == _cold_twin(site, tmp_path)


def _cold_twin(site: Path, tmp_path: Path) -> dict[str, bytes]:
    twin = tmp_path / "twin"
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(site, twin, ignore=shutil.ignore_patterns("_site", ".cache", "._site*"))
    assert build(twin, offline=True).written
    return tree_bytes(twin / "_site")


def test_taxonomies_in_site_yml_are_checked(tmp_path):
    from sitegen.config import ConfigError, load_config

    site = write_site(tmp_path / "site", {}, {"taxonomies": {"places": {"حمص": "Homs"}}})
    with pytest.raises(ConfigError, match=r"site.yml:\d+: 'taxonomies' names tags and authors"):
        load_config(site / "site.yml")


def test_a_term_written_twice_in_one_article_is_shown_once(tmp_path):
    articles = {"content/a.md": "---\ntags: [Homs, HOMS, حمص, حمص]\nauthor: [سلمى, سلمى]\n---\nنص.\n"}
    site = newsroom(tmp_path, articles=articles)
    page = unquote(read(site, "ar/a-1.html"))
    assert page.count('class="tag"') == 2 and ">Homs</a>" in page and ">HOMS</a>" not in page
    assert page.count('href="../authors/سلمى.html"') == 1


def test_the_sitemap_lists_every_term_and_archive_page_and_only_pages_that_exist(tmp_path):
    # A fourth story of حمص: its pages are the front page (the two newest) and page 1 (at per_page 2).
    articles = dict(ARTICLES) | {"content/homs/2011-06-01-first.md": "---\ntags: [حمص]\n---\nأول قصة.\n"}
    site = write_site(tmp_path / "site", articles, CONFIG | {"base_url": "https://example.org/news/"})
    assert build(site, translator_factory=FakeTranslator).written
    sitemap = read(site, "sitemap.xml")
    locs = [unquote(loc).removeprefix("https://example.org/news/") for loc in re.findall(r"<loc>([^<]+)</loc>", sitemap)]
    assert len(locs) == len(set(locs))
    for path in locs:
        assert (site / "_site" / path).is_file(), path
    for wanted in ["tags.html", "tags/حمص.html", "tags/حمص.p1.html", "authors/سلمى.html", "sections/homs.html", "archive.html", "archive/2012-03.html", "en/tags/حمص.html", "en/archive/2013-01.html"]:
        assert wanted in locs, wanted
    # A term page's lastmod is the date of the newest story it lists.
    assert re.search(r"<loc>[^<]*archive/2012-03\.html</loc>\n<lastmod>2012-03-01</lastmod>", unquote(sitemap))


def test_a_section_is_named_in_the_page_language_then_its_base_language_then_in_any_then_by_its_folder(tmp_path):
    from sitegen.config import load_config, section_name

    site = write_site(tmp_path / "site", {"content/homs/a.txt": "نص.\n"}, {"sections": {"homs": {"ar": "حمص", "en": "Homs"}, "opinion": "رأي"}})
    config = load_config(site / "site.yml")
    assert section_name(config, "homs", "en") == "Homs" and section_name(config, "homs", "ar-SY") == "حمص"
    assert section_name(config, "opinion", "en") == "رأي"  # one name, every language
    assert section_name(config, "homs", "fr") == "homs" and section_name(config, "aleppo", "ar") == "aleppo"


@pytest.mark.timeout(60)
def test_naming_thousands_of_sections_costs_each_look_up_a_look_up_not_a_pass_over_them(tmp_path):
    # A folder per town or reporter, each named in site.yml: every page and list entry showing
    # a section asks its name. Made into a dict at every call, the table cost a pass over every
    # named section each time: 20,000 names asked 40,000 times took minutes.
    import time

    from sitegen.config import load_config, section_name

    names = {f"town{i}": {"ar": f"بلدة {i}", "en": f"Town {i}"} for i in range(20_000)}
    site = write_site(tmp_path / "site", {"content/town1/a.txt": "نص.\n"}, {"sections": names})
    config = load_config(site / "site.yml")
    started = time.monotonic()
    shown = [section_name(config, folder, language) for folder in names for language in ("ar", "en")]
    elapsed = time.monotonic() - started
    assert shown[:2] == ["بلدة 0", "Town 0"] and shown[-1] == "Town 19999"
    assert elapsed < 5, f"{elapsed:.1f} s"  # about 20 ms; minutes when each look-up made the table again
