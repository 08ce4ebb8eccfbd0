"""Open Graph, Twitter card and JSON-LD (schema.org NewsArticle) on every segment page and companion.

Issue 13: a link to an article, shared anywhere, previews with its own title, text and photo, and
search engines read it as a news article and its translation. Built through whole sites (FakeTranslator,
never the network), read back with html.parser and json.loads.
"""

from __future__ import annotations

import io
import json
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from babel.core import LOCALE_ALIASES
from PIL import Image

from sitegen.core.diagnostics import Severity
from sitegen.pages.sharing import HEADLINE_LIMIT, facebook_locale, headline, script_json
from sitegen.translation.translator import FakeTranslator
from tests.sitekit import build, write_site

BASE_URL = "https://example.org/archive/"
TITLE = "قصف عنيف على حي بابا عمرو"
AUTHOR = "مراسل حمص"
TAGS = ["حمص", "سوريا"]
ALT = "دخان فوق الحي"
SITE_NAME = "أرشيف الاختبار"
ENGLISH_NAME = "Test Archive"
HOSTILE = "</script><script>alert(1)</script><!--"

# The NewsArticle properties these pages may use (schema.org: NewsArticle < Article < CreativeWork < Thing).
NEWS_ARTICLE_PROPERTIES = {
    "@context", "@type", "headline", "datePublished", "dateModified", "author", "publisher", "inLanguage",
    "mainEntityOfPage", "image", "articleSection", "keywords", "description", "translationOfWork", "isBasedOn",
}
ALWAYS = ("og:type", "og:title", "og:site_name", "og:locale", "og:description", "twitter:card", "twitter:title", "twitter:description")


def photo(width: int = 1800, height: int = 1200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (160, 60, 40)).save(out, "JPEG", quality=85)
    return out.getvalue()


def front(values: dict) -> str:
    return "---\n" + yaml.safe_dump(values, allow_unicode=True) + "---\n"


DATED = front({"title": TITLE, "author": AUTHOR, "tags": TAGS, "image": "p.jpg", "image_alt": ALT, "slug": "baba-amr"})
DATED += "قصفت القوات الحكومية حي بابا عمرو صباح اليوم.\n\nوقال ناشطون إن الاتصالات مقطوعة.\n"
UNDATED = "ملاحظة من هيئة التحرير حول الأرشيف.\n"
UNTRANSLATED = front({"translate": False, "slug": "arabic-only"}) + "نص لا يترجم.\n"


def news_site(folder: Path, base_url: str | None) -> Path:
    """A dated article in a section with a lead photo, an undated note at the top of content/ and
    an article left untranslated; language ar-SY, with an English edition."""
    config = {
        "title": SITE_NAME,
        "language": "ar-SY",
        "sections": {"homs": {"ar": "حمص", "en": "Homs"}},
        "translation": {"enabled": True, "title": ENGLISH_NAME},
    }
    if base_url:
        config["base_url"] = base_url
    files = {
        "content/homs/2012-02-24-baba-amr.md": DATED,
        "content/homs/p.jpg": photo(),
        "content/note.txt": UNDATED,
        "content/homs/2012-03-01-other.md": UNTRANSLATED,
    }
    site = write_site(folder, files, config)
    result = build(site, translator_factory=FakeTranslator)
    assert result.written and not [p for p in result.problems if p.severity == Severity.ERROR], [str(p) for p in result.problems]
    return site / "_site"


@pytest.fixture(scope="module")
def online(tmp_path_factory) -> Path:
    return news_site(tmp_path_factory.mktemp("online") / "site", BASE_URL)


@pytest.fixture(scope="module")
def offline(tmp_path_factory) -> Path:
    return news_site(tmp_path_factory.mktemp("offline") / "site", None)


class Head(HTMLParser):
    """A page's meta tags, its scripts (with their text and whether they are in <head>) and its <h1>."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: list[tuple[str, str, str | None]] = []
        self.scripts: list[tuple[str | None, str, bool]] = []
        self.description: str | None = None
        self.h1 = ""
        self._script: list | None = None
        self._in_head = False
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "head":
            self._in_head = True
        elif tag == "meta":
            if values.get("name") == "description":
                self.description = values.get("content")
            for attribute in ("property", "name"):
                if attribute in values:
                    self.meta.append((attribute, values[attribute], values.get("content")))
        elif tag == "script":
            self._script = [values.get("type"), "", self._in_head]
        elif tag == "h1":
            self._in_h1 = True

    def handle_data(self, data):
        if self._script is not None:
            self._script[1] += data
        elif self._in_h1:
            self.h1 += data

    def handle_endtag(self, tag):
        if tag == "head":
            self._in_head = False
        elif tag == "script" and self._script is not None:
            self.scripts.append(tuple(self._script))
            self._script = None
        elif tag == "h1":
            self._in_h1 = False


def read(page: Path) -> Head:
    head = Head()
    head.feed(page.read_text(encoding="utf-8"))
    head.close()
    return head


def shared(head: Head) -> dict[str, list[str]]:
    """Open Graph, article and Twitter values by name (in order), checking each one's attribute."""
    found: dict[str, list[str]] = {}
    for attribute, name, content in head.meta:
        if name.startswith(("og:", "article:", "twitter:")):
            assert attribute == ("name" if name.startswith("twitter:") else "property"), (attribute, name)
            found.setdefault(name, []).append(content)
    return found


def json_ld(head: Head) -> dict:
    blocks = [text for kind, text, _ in head.scripts if kind == "application/ld+json"]
    assert len(blocks) == 1, blocks
    assert all(in_head for kind, _, in_head in head.scripts if kind == "application/ld+json")
    return json.loads(blocks[0])


def segment_pages(site: Path) -> list[Path]:
    """Every Arabic segment page and English companion: not the indexes, search pages or parallel views."""
    pages = [p for folder in ("ar", "en") for p in sorted((site / folder).glob("*.html"))]
    lists = ("index.html", "search.html", "archive.html", "tags.html", "authors.html", "sections.html")
    return [p for p in pages if p.name not in lists and not p.name.startswith("page-")]


def own_url(site: Path, page: Path) -> str:
    return BASE_URL + quote(page.relative_to(site).as_posix(), safe="/-._~")


def memory_date(site: Path) -> str:
    memory = yaml.safe_load(next((site.parent / "translations").rglob("2012-02-24-baba-amr.md.en.yml")).read_text(encoding="utf-8"))
    return max(entry["date"] for entry in memory["entries"])


def jpeg_files(site: Path) -> list[Path]:
    """The lead photo's JPEG files, largest first (the site has one photo)."""
    return sorted((site / "media").glob("*.jpg"), key=lambda p: Image.open(p).size[0], reverse=True)


# -- small functions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("ar-SY", "ar_SY"),
        ("ar-sy", "ar_SY"),
        ("ar", "ar_AR"),  # Open Graph's Arabic without a country, not Babel's ar_SY
        ("en", "en_US"),
        ("en-GB", "en_GB"),
        ("zh-Hant-TW", "zh_TW"),
        ("es-419", "es_419"),
        ("sr-Latn", "sr"),
        ("en-basiceng-ca", LOCALE_ALIASES["en"]),  # a variant, then "ca": not a region where it stands
        ("ckb", "ckb"),  # no usual territory in Babel's aliases: left bare, never made up
    ],
)
def test_facebook_locale(tag, expected):
    assert facebook_locale(tag) == expected


def test_script_json_cannot_close_the_script_or_open_a_comment():
    value = {"a": HOSTILE + " & \u2028\u2029 </SCRIPT >", "b": ["<!--", "-->"]}
    text = script_json(value)
    for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
        assert forbidden not in text
    assert json.loads(text) == value
    assert script_json(value) == text  # deterministic


def test_a_long_title_is_cut_at_a_word_for_the_headline():
    title = " ".join(["كلمة"] * 60)
    cut = headline(title)
    assert len(cut) <= HEADLINE_LIMIT and cut.endswith("…") and cut[:-1].strip() == cut[:-1]
    assert headline(TITLE) == TITLE


# -- Open Graph and Twitter on every page ---------------------------------------------


@pytest.mark.parametrize("which", ["online", "offline"])
def test_every_segment_page_and_companion_has_its_open_graph(which, request):
    site = request.getfixturevalue(which)
    pages = segment_pages(site)
    assert len(pages) == 5  # three Arabic pages, two companions (one article is not translated)
    for page in pages:
        head = read(page)
        values = shared(head)
        for name in ALWAYS:
            assert len(values.get(name, [])) == 1, (page, name, values.get(name))
        assert values["og:type"] == ["article"]
        assert values["og:title"] == values["twitter:title"] == [head.h1]
        assert values["og:description"] == values["twitter:description"] == [head.description]
        english = page.parent.name == "en"
        assert values["og:site_name"] == [ENGLISH_NAME if english else SITE_NAME]
        assert values["og:locale"] == ["en_US" if english else "ar_SY"]
        has_counterpart = english or page.name != "arabic-only.html"
        assert values.get("og:locale:alternate") == (["ar_SY" if english else "en_US"] if has_counterpart else None)
        if which == "online":
            assert values["og:url"] == [own_url(site, page)]
        else:
            assert "og:url" not in values and "og:image" not in values and "twitter:image" not in values
        json_ld(head)  # one, in <head>, and it parses


def test_other_pages_have_no_article_data(online):
    others = [online / "index.html", online / "search.html", online / "404.html", online / "en" / "index.html", online / "en" / "search.html"]
    others += sorted((online / "parallel").glob("*.html"))
    for page in others:
        head = read(page)
        assert not shared(head), page
        assert not [kind for kind, _, _ in head.scripts if kind == "application/ld+json"], page


def test_a_dated_article_says_when_by_whom_where_and_about_what(online):
    arabic = shared(read(online / "ar" / "baba-amr.html"))
    assert arabic["article:published_time"] == ["2012-02-24"]
    assert arabic["article:author"] == [AUTHOR]
    assert arabic["article:section"] == ["حمص"]
    assert arabic["article:tag"] == TAGS
    english = shared(read(online / "en" / "baba-amr.html"))
    assert english["article:published_time"] == ["2012-02-24"]
    assert english["article:section"] == ["Homs"]
    assert english["article:author"] == [AUTHOR]  # a name is not translated
    assert "article:tag" not in english  # the tags are Arabic words the English page does not show


def test_an_undated_segment_says_no_date_and_a_file_at_the_top_no_section(online):
    for page in (online / "ar" / "note-1.html", online / "en" / "note-1.html"):
        head = read(page)
        values = shared(head)
        assert "article:published_time" not in values and "article:section" not in values, page
        article = json_ld(head)
        assert "datePublished" not in article and "dateModified" not in article and "articleSection" not in article


# -- the lead photo ------------------------------------------------------------------


def test_the_lead_photo_is_shared_as_an_absolute_jpeg_of_the_site(online):
    values = shared(read(online / "ar" / "baba-amr.html"))
    [image] = values["og:image"]
    assert image.startswith(BASE_URL + "media/") and image.endswith(".jpg")
    file = online / image.removeprefix(BASE_URL)
    assert file.is_file() and file == jpeg_files(online)[0]
    with Image.open(file) as opened:
        assert opened.format == "JPEG"
        assert (values["og:image:width"], values["og:image:height"]) == ([str(opened.size[0])], [str(opened.size[1])])
    assert values["og:image:alt"] == values["twitter:image:alt"] == [ALT]
    assert values["twitter:card"] == ["summary_large_image"]
    assert values["twitter:image"] == [image]
    english = shared(read(online / "en" / "baba-amr.html"))
    assert english["og:image"] == [image] and english["twitter:card"] == ["summary_large_image"]
    # The companion's alt text is the translated one.
    assert english["og:image:alt"] == english["twitter:image:alt"] and english["og:image:alt"][0] not in ("", ALT)
    # A page without a photo is a plain summary.
    assert shared(read(online / "ar" / "note-1.html"))["twitter:card"] == ["summary"]


def test_without_base_url_there_is_no_image_at_all(offline):
    for page in segment_pages(offline):
        head = read(page)
        values = shared(head)
        assert not [name for name in values if "image" in name], page
        assert values["twitter:card"] == ["summary"]
        assert "image" not in json_ld(head)


# -- JSON-LD ---------------------------------------------------------------------------


def test_the_arabic_page_is_a_news_article(online):
    head = read(online / "ar" / "baba-amr.html")
    article = json_ld(head)
    assert set(article) <= NEWS_ARTICLE_PROPERTIES
    assert article == {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": TITLE,
        "datePublished": "2012-02-24",
        "dateModified": "2012-02-24",
        "author": [{"@type": "Person", "name": AUTHOR}],
        "publisher": {"@type": "Organization", "name": SITE_NAME},
        "inLanguage": "ar-SY",
        "mainEntityOfPage": BASE_URL + "ar/baba-amr.html",
        "image": [BASE_URL + "media/" + p.name for p in jpeg_files(online)],
        "articleSection": "حمص",
        "keywords": TAGS,
        "description": head.description,
    }
    assert len(article["image"]) == 3  # every width, as JPEG


def test_the_companion_is_a_translation_of_the_arabic_page(online):
    head = read(online / "en" / "baba-amr.html")
    article = json_ld(head)
    assert set(article) <= NEWS_ARTICLE_PROPERTIES
    original = BASE_URL + "ar/baba-amr.html"
    translated = memory_date(online)
    assert article == {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": head.h1,
        "datePublished": "2012-02-24",
        "dateModified": max(translated, "2012-02-24"),
        "author": [{"@type": "Person", "name": AUTHOR}],
        "publisher": {"@type": "Organization", "name": ENGLISH_NAME},
        "inLanguage": "en",
        "mainEntityOfPage": BASE_URL + "en/baba-amr.html",
        "image": [BASE_URL + "media/" + p.name for p in jpeg_files(online)],
        "articleSection": "Homs",
        "description": head.description,
        "translationOfWork": {"@type": "NewsArticle", "@id": original, "url": original, "inLanguage": "ar-SY"},
        "isBasedOn": original,
    }
    assert date.fromisoformat(article["dateModified"]) >= date.fromisoformat(article["datePublished"])


def test_without_base_url_the_json_ld_has_no_url(offline):
    arabic = json_ld(read(offline / "ar" / "baba-amr.html"))
    assert arabic["inLanguage"] == "ar-SY" and arabic["datePublished"] == "2012-02-24"
    assert not {"mainEntityOfPage", "image", "isBasedOn", "translationOfWork"} & set(arabic)
    english = json_ld(read(offline / "en" / "baba-amr.html"))
    assert not {"mainEntityOfPage", "image", "isBasedOn"} & set(english)
    assert english["translationOfWork"] == {"@type": "NewsArticle", "inLanguage": "ar-SY"}
    assert english["publisher"] == {"@type": "Organization", "name": ENGLISH_NAME}
    # No address stands in for a missing base_url: no relative one, no made-up host.
    for page in segment_pages(offline):
        text = json.dumps(json_ld(read(page)))
        assert ".html" not in text and "media/" not in text and text.count("http") == 1, page  # @context's alone


# -- hostile words and long titles --------------------------------------------------------


def test_hostile_words_stay_words(tmp_path):
    article = front({"title": HOSTILE, "author": HOSTILE, "tags": [HOSTILE, "عادي"]}) + "نص المقال.\n"
    site = write_site(tmp_path / "site", {"content/2012-02-24-x.md": article}, {"base_url": BASE_URL, "translation": {"enabled": True}})
    build(site, translator_factory=FakeTranslator)
    pages = segment_pages(site / "_site")
    assert len(pages) == 2
    for page in pages:
        text = page.read_text(encoding="utf-8")
        head = read(page)
        # Every </script> closes a script the parser saw open; only the JSON-LD one is in <head>.
        assert text.lower().count("</script") == len(head.scripts)
        assert text.split("</head>", 1)[0].lower().count("</script") == 1
        assert [kind for kind, _, in_head in head.scripts if in_head] == ["application/ld+json"]
        start = text.index('<script type="application/ld+json">')
        block = text[start:text.index("</script>", start)]
        assert "<!--" not in text.split("</head>", 1)[0] and block.count("<") == 1
        article = json_ld(head)
        values = shared(head)
        assert article["author"] == [{"@type": "Person", "name": HOSTILE}]
        assert values["article:author"] == [HOSTILE]
        if page.parent.name == "ar":
            assert article["headline"] == HOSTILE and values["og:title"] == [HOSTILE]
            assert article["keywords"] == [HOSTILE, "عادي"] and values["article:tag"] == [HOSTILE, "عادي"]


def test_a_long_title_makes_a_short_headline(tmp_path):
    title = "عنوان طويل جدا " * 20
    site = write_site(tmp_path / "site", {"content/2012-02-24-x.md": front({"title": title}) + "نص.\n"})
    build(site)
    [page] = segment_pages(site / "_site")
    head = read(page)
    article = json_ld(head)
    assert len(article["headline"]) <= HEADLINE_LIMIT and article["headline"].endswith("…")
    assert title.strip().startswith(article["headline"][:-1])
    assert shared(head)["og:title"] == [title.strip()]
