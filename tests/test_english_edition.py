"""The English edition is an English site: its own name, words, search and feed; Arabic left on
it is marked as Arabic (and English on Arabic pages as English); every page links the icon."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
import yaml

from sitekit import REPO, SAMPLE, run_cli

DATED = "2012-02-24-" + SAMPLE.name

ARABIC_LETTER = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
LATIN_WORD = re.compile("[A-Za-z]{2,}")
BASE_URL = "https://example.org/archive/"


def sample_site(folder: Path, **settings) -> Path:
    """The repository's sample (content and translation memory) with site.yml's keys overridden."""
    config = yaml.safe_load((REPO / "site.yml").read_text(encoding="utf-8"))
    translation = config.pop("translation") | settings.pop("translation", {})
    config |= settings | {"translation": translation}
    # Dated by its name (the sample is dated by git, which a copy has not): feeds list dated entries.
    (folder / "content").mkdir(parents=True)
    (folder / "translations").mkdir()
    shutil.copy(SAMPLE, folder / "content" / DATED)
    shutil.copy(REPO / "translations" / f"{SAMPLE.name}.en.yml", folder / "translations" / f"{DATED}.en.yml")
    (folder / "site.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return folder


def built(folder: Path) -> Path:
    run = run_cli("--config", str(folder / "site.yml"), "--offline", "--quiet")
    assert run.code == 0, run.out + run.err
    return folder / "_site"


class LanguageRuns(HTMLParser):
    """Text runs of a page, each with the language and direction of the element that holds it
    (attributes included: a title= or aria-label= is read aloud too)."""

    VOID = {"meta", "link", "br", "img", "input", "hr", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None, str | None]] = []
        self.runs: list[tuple[str, str, str]] = []  # (text, lang, dir)
        self.skip = 0

    def _here(self) -> tuple[str, str]:
        lang = next((l for _, l, _ in reversed(self.stack) if l), "")
        direction = next((d for _, _, d in reversed(self.stack) if d), "")
        return lang, direction

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in ("script", "style"):
            self.skip += 1
        if tag not in self.VOID:
            self.stack.append((tag, values.get("lang"), values.get("dir")))
        lang, direction = self._here()
        if tag == "link":
            # A <link>'s title is never shown in the text: its lang is all it needs.
            lang = values.get("lang") or lang
            direction = "rtl" if lang.startswith("ar") else direction
        for name in ("title", "aria-label", "alt", "placeholder"):
            if values.get(name):
                self.runs.append((values[name], lang, direction))
        if tag == "meta" and values.get("name") == "description":
            self.runs.append((values.get("content") or "", lang, direction))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.runs.append((data, *self._here()))


def language_runs(path: Path) -> list[tuple[str, str, str]]:
    parser = LanguageRuns()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.runs


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return built(sample_site(tmp_path_factory.mktemp("english") / "site", base_url=BASE_URL))


def english_pages(site: Path) -> list[Path]:
    return sorted((site / "en").glob("*.html"))


def test_the_english_edition_has_its_pages(site):
    names = {p.name for p in english_pages(site)}
    assert {"index.html", "search.html"} <= names
    assert len(names) >= 5  # the companions of the sample's segments


def test_english_pages_have_no_arabic_outside_elements_marked_arabic(site):
    for page in english_pages(site):
        unmarked = [text for text, lang, _ in language_runs(page) if ARABIC_LETTER.search(text) and not lang.startswith("ar")]
        assert not unmarked, (page.name, unmarked[:3])
        marked_wrongly = [text for text, lang, direction in language_runs(page) if lang.startswith("ar") and direction != "rtl"]
        assert not marked_wrongly, (page.name, marked_wrongly[:3])


def test_english_on_arabic_pages_is_marked_english(site):
    pages = [site / "index.html", site / "search.html", *sorted((site / "ar").glob("*.html"))]
    for page in pages:
        # Latin words in Arabic text (COVID-19, a name) are ordinary; a whole English phrase is not.
        unmarked = [text for text, lang, _ in language_runs(page)
                    if not lang.startswith("en") and len(LATIN_WORD.findall(text)) >= 2 and not ARABIC_LETTER.search(text)]
        assert not unmarked, (page.name, unmarked[:3])


def test_english_pages_use_english_words_and_name(site):
    index = (site / "en" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en" dir="ltr">' in index
    assert ">News Archive</a>" in index and "<h1 class=\"index-title\">News Archive</h1>" in index
    assert '<a href="index.html">Index</a>' in index and '<a href="search.html">Search</a>' in index
    assert '<a href="../index.html" lang="ar" hreflang="ar" dir="rtl">العربية</a>' in index
    assert '<meta name="description" content="An archive of Arabic news articles, with English translations.">' in index


def _archive_links(page: Path) -> list[tuple[str, str]]:
    """(href, text) of each link of the page that downloads a file."""
    return re.findall(r'<a href="([^"]*)" download>([^<]*)</a>', page.read_text(encoding="utf-8"))


def test_both_editions_first_pages_link_site_zip_in_their_own_language(site):
    """site.zip holds both editions: a reader of the English edition, offline, finds it from
    the English index as an Arabic reader does from the Arabic one."""
    assert (site / "site.zip").is_file()
    assert _archive_links(site / "en" / "index.html") == [("../site.zip", "The whole site for offline reading (zip)")]
    assert _archive_links(site / "index.html") == [("site.zip", "نسخة الموقع كاملة للقراءة دون اتصال (zip)")]
    later = [page for page in (*sorted(site.glob("page-*.html")), *sorted((site / "en").glob("page-*.html")), site / "en" / "search.html")]
    assert all(not _archive_links(page) for page in later)


def test_without_site_zip_neither_edition_links_one(tmp_path):
    out = built(sample_site(tmp_path / "site", offline_archive=False))
    assert not (out / "site.zip").exists()
    assert not _archive_links(out / "index.html") and not _archive_links(out / "en" / "index.html")


def test_every_english_page_has_a_description(site):
    for page in english_pages(site):
        match = re.search(r'<meta name="description" content="([^"]+)">', page.read_text(encoding="utf-8"))
        assert match and not ARABIC_LETTER.search(match.group(1)), page.name


def test_without_an_english_name_the_arabic_one_is_marked_and_a_note_says_so(tmp_path):
    folder = sample_site(tmp_path / "site", translation={"title": None, "description": None})
    run = run_cli("--config", str(folder / "site.yml"), "--offline")
    assert run.code == 0, run.err
    assert "no English name for the site yet" in run.out + run.err
    index = (folder / "_site" / "en" / "index.html").read_text(encoding="utf-8")
    title = yaml.safe_load((folder / "site.yml").read_text(encoding="utf-8"))["title"]
    assert f'<a class="site-title" href="index.html" lang="ar" dir="rtl">{title}</a>' in index
    assert re.search(r'<meta name="description" content="[A-Z][^"]+">', index)


def test_every_page_links_the_icon_and_the_icon_is_there(site):
    assert (site / "icon.svg").read_bytes().startswith(b"<svg")
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        links = re.findall(r'<link rel="icon" href="([^"]+)"', page.read_text(encoding="utf-8"))
        assert len(links) == 1, page
        if page.name == "404.html":
            # Served at any depth: over http(s) a script makes base_url the page's <base>.
            assert f'b.href="{BASE_URL}"' in page.read_text(encoding="utf-8")
        assert (page.parent / links[0]).resolve() == (site / "icon.svg").resolve(), (page, links)


def test_the_icon_is_made_without_the_service_worker(tmp_path):
    site = built(sample_site(tmp_path / "site", service_worker=False))
    assert (site / "icon.svg").is_file()
    assert '<link rel="icon" href="../icon.svg"' in (site / "en" / "index.html").read_text(encoding="utf-8")


def test_feed_readers_follow_each_feed_to_its_own_language(site):
    arabic = feedparser.parse((site / "ar" / "feed.xml").read_bytes())
    english = feedparser.parse((site / "en" / "feed.xml").read_bytes())
    assert not arabic.bozo and not english.bozo
    assert english.feed.title == "News Archive"
    assert arabic.entries and english.entries
    for feed, own, other in ((arabic, BASE_URL + "ar/", BASE_URL + "en/"), (english, BASE_URL + "en/", BASE_URL + "ar/")):
        for entry in feed.entries:
            assert entry.link.startswith(own), entry.link
            alternates = [link for link in entry.links if link.rel == "alternate"]
            assert [link.href for link in alternates] == [entry.link]
            assert any(link.rel == "related" and link.href.startswith(other) for link in entry.links)


def test_the_english_search_page_speaks_english_and_stays_small(site):
    page = site / "en" / "search.html"
    html = page.read_text(encoding="utf-8")
    assert len(page.read_bytes()) < 30_000 and len((site / "search.html").read_bytes()) < 30_000
    assert '<script src="../search-index.js"></script>' in html
    assert "<h1 id=\"search-heading\">Search the archive</h1>" in html
    settings = re.search(r'data-search="([^"]+)"', html).group(1)
    assert "&#34;english&#34;: true" in settings and "November" in settings


def test_a_site_without_translation_has_one_search_page_and_no_english_links(tmp_path):
    site = built(sample_site(tmp_path / "site", translation={"enabled": False}))
    assert (site / "search.html").is_file() and not (site / "en").exists()
    assert 'href="en/' not in (site / "index.html").read_text(encoding="utf-8")
    assert "Go to the index" in (site / "404.html").read_text(encoding="utf-8")


def test_without_an_english_name_the_site_name_is_translated_kept_and_reviewable(tmp_path):
    from sitekit import build

    from sitegen.translation.translator import FakeTranslator, fake_english

    folder = sample_site(tmp_path / "site", translation={"title": None, "description": None})
    settings = yaml.safe_load((folder / "site.yml").read_text(encoding="utf-8"))
    translator = FakeTranslator()
    result = build(folder, translator_factory=lambda: translator)
    assert result.written, [str(p) for p in result.problems]
    assert settings["title"] in translator.calls and settings["description"] in translator.calls
    # Kept in a memory file of its own, as reviewable as any paragraph's.
    memory = folder / "translations" / "site.yml.en.yml"
    assert settings["title"] in memory.read_text(encoding="utf-8")
    english_name = fake_english(settings["title"])
    index = (folder / "_site" / "en" / "index.html").read_text(encoding="utf-8")
    assert f'<a class="site-title" href="index.html">{english_name}</a>' in index
    assert f'<meta name="description" content="{fake_english(settings["description"])}">' in index
    assert "no English name for the site yet" not in " ".join(str(p) for p in result.problems)
    # The next build asks for nothing and changes nothing; an offline build reads it too.
    again = FakeTranslator()
    assert build(folder, translator_factory=lambda: again).unchanged and again.calls == []
    status = run_cli("translations", "status", "--config", str(folder / "site.yml"), "--json")
    assert status.code == 0 and "site.yml" in status.out
    # An editor's correction (here, straight in the memory as an import would write it) remakes the edition.
    memory.write_text(memory.read_text(encoding="utf-8").replace(english_name, "The Homs Archive"), encoding="utf-8")
    assert build(folder, offline=True).written
    assert '<a class="site-title" href="index.html">The Homs Archive</a>' in (folder / "_site" / "en" / "index.html").read_text(encoding="utf-8")
