"""sitemap.xml within the sitemap protocol's bounds (sitemaps.org: 50,000 URLs and 50 MiB a
file, past which search engines refuse it): one file while the site fits, an index of
numbered sitemaps past that, each within both bounds, holding every URL once, in order."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.commands.check import check_site
from sitegen.config import load_config
from sitegen.outputs import feeds
from sitegen.outputs.feeds import SitemapUrl, sitemap_files
from sitegen.translation.translator import FakeTranslator
from tests.sitekit import build, tree_bytes, write_site

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
BASE = "https://example.org/news/"


def config_with_base(tmp_path: Path):
    site = write_site(tmp_path / "cfg", {}, {"base_url": BASE})
    return load_config(site / "site.yml")


def entries(n: int) -> list[SitemapUrl]:
    found = []
    for i in range(n):
        day = date(2012, 1 + i % 12, 1 + i % 28) if i % 3 else None  # some undated
        pair = (("ar", f"ar/{i}.html"), ("en", f"en/{i}.html")) if i % 2 else ()
        found.append(SitemapUrl(f"ar/{i}.html", day, pair))
    return found


def locs(data: bytes) -> list[str]:
    return [element.text for element in ElementTree.fromstring(data).iterfind("s:*/s:loc", NS)]


def test_a_site_within_the_bounds_has_one_sitemap(tmp_path):
    files = sitemap_files(config_with_base(tmp_path), entries(7))
    assert list(files) == ["sitemap.xml"]
    root = ElementTree.fromstring(files["sitemap.xml"])
    assert root.tag == "{%s}urlset" % NS["s"]
    assert locs(files["sitemap.xml"]) == [f"{BASE}ar/{i}.html" for i in range(7)]


@pytest.mark.parametrize("count", [4, 7, 9])
def test_past_the_url_bound_sitemap_xml_is_an_index_of_sitemaps_each_within_it(tmp_path, monkeypatch, count):
    monkeypatch.setattr(feeds, "SITEMAP_URLS_AT_MOST", 3)
    given = entries(count)
    files = sitemap_files(config_with_base(tmp_path), given)
    parts = -(-count // 3)
    assert sorted(files) == sorted(["sitemap.xml"] + [f"sitemap-{n}.xml" for n in range(1, parts + 1)])
    index = ElementTree.fromstring(files["sitemap.xml"])
    assert index.tag == "{%s}sitemapindex" % NS["s"]
    assert locs(files["sitemap.xml"]) == [f"{BASE}sitemap-{n}.xml" for n in range(1, parts + 1)]
    named = []
    for number, element in enumerate(index.iterfind("s:sitemap", NS), start=1):
        part = files[f"sitemap-{number}.xml"]
        assert ElementTree.fromstring(part).tag == "{%s}urlset" % NS["s"]
        urls = locs(part)
        assert 1 <= len(urls) <= 3
        named += urls
        # Each sitemap is named with the newest date of its URLs.
        days = [e.day for e in given[(number - 1) * 3 : number * 3] if e.day]
        lastmod = element.find("s:lastmod", NS)
        assert (lastmod.text if lastmod is not None else None) == (max(days).isoformat() if days else None)
    # Every URL once, in the order of the one sitemap the site would have had, with its alternates.
    assert named == [f"{BASE}ar/{i}.html" for i in range(count)]
    whole = b"".join(files[f"sitemap-{n}.xml"] for n in range(1, parts + 1))
    assert whole.count(b"<xhtml:link") == 2 * sum(1 for e in given if e.alternates)


def test_past_the_byte_bound_each_sitemap_stays_within_it(tmp_path, monkeypatch):
    given = entries(40)
    one = sitemap_files(config_with_base(tmp_path), given)["sitemap.xml"]
    bound = len(one) // 3
    monkeypatch.setattr(feeds, "SITEMAP_BYTES_AT_MOST", bound)
    files = sitemap_files(config_with_base(tmp_path), given)
    parts = [files[name] for name in sorted(files, key=lambda n: (len(n), n)) if name != "sitemap.xml"]
    assert len(parts) >= 3
    assert all(len(part) <= bound for part in parts), [len(p) for p in parts]
    assert [u for part in parts for u in locs(part)] == locs(one)


ARTICLES = {
    f"content/{year}/{year}-0{month}-0{day}-story.md": f"---\ntags: [حمص]\n---\nخبر {year} {month} {day}.\n\nفقرة ثانية.\n"
    for year in (2011, 2012)
    for month in (1, 2, 3)
    for day in (1, 2)
}


def site_urls(out: Path) -> list[str]:
    """Every URL the site's sitemaps name, in order, following sitemap.xml when it is an index."""
    top = (out / "sitemap.xml").read_bytes()
    if ElementTree.fromstring(top).tag.endswith("sitemapindex"):
        return [u for loc in locs(top) for u in locs((out / unquote(loc).removeprefix(BASE)).read_bytes())]
    return locs(top)


def test_a_built_site_past_the_bound_has_an_index_that_check_follows_and_a_smaller_one_drops_it(tmp_path, monkeypatch):
    config = {"base_url": BASE, "per_page": 2, "translation": {"enabled": True, "title": "News", "noindex_unreviewed": False}}
    plain = write_site(tmp_path / "plain", dict(ARTICLES), config)
    assert build(plain, translator_factory=FakeTranslator).written
    expected = site_urls(plain / "_site")
    assert len(expected) > 60 and not list((plain / "_site").glob("sitemap-*.xml"))

    monkeypatch.setattr(feeds, "SITEMAP_URLS_AT_MOST", 20)  # two stories' URLs fit, twelve's do not
    site = write_site(tmp_path / "site", dict(ARTICLES), config)
    assert build(site, translator_factory=FakeTranslator).written
    out = site / "_site"
    parts = sorted(out.glob("sitemap-*.xml"))
    assert len(parts) == -(-len(expected) // 20)
    assert site_urls(out) == expected
    assert check_site(out, "/news/", BASE).problems == []
    # A sitemap the index names that is gone is a problem the check reports.
    moved = parts[-1].with_suffix(".gone")
    parts[-1].rename(moved)
    problems = check_site(out, "/news/", BASE).problems
    assert any(page == "sitemap.xml" and parts[-1].name in message for page, message in problems), problems
    moved.rename(parts[-1])
    # So is a page a numbered sitemap names that is not in the site.
    first = parts[0].read_text(encoding="utf-8")
    parts[0].write_text(first.replace("</loc>", "-missing.html</loc>", 1), encoding="utf-8")
    problems = check_site(out, "/news/", BASE).problems
    assert [page for page, message in problems if "missing.html" in message] == [parts[0].name], problems
    parts[0].write_text(first, encoding="utf-8")

    # The archive shrinks below the bound: sitemap.xml is one file again, the numbered ones gone,
    # as a full build of the same sources makes it.
    for rel in list(ARTICLES)[2:]:
        (site / rel).unlink()
    assert build(site, translator_factory=FakeTranslator).written
    assert not list(out.glob("sitemap-*.xml"))
    fresh = tmp_path / "fresh"
    shutil.copytree(site, fresh, ignore=shutil.ignore_patterns("_site", ".cache", ".*"))
    assert build(fresh, translator_factory=FakeTranslator).written
    assert tree_bytes(out) == tree_bytes(fresh / "_site")
    assert re.search(rb"<urlset ", (out / "sitemap.xml").read_bytes())


@settings(max_examples=120, deadline=None)
@given(st.text(st.sampled_from("ab&<>\"'/:?=ح\x01 "), max_size=12),
       st.lists(st.tuples(st.text(st.sampled_from("az-._~حمص /%&<>\"'"), min_size=1, max_size=10), st.booleans(), st.booleans()), max_size=6))
def test_each_url_element_is_what_an_xml_writer_makes_of_its_address_date_and_alternates(base, pages):
    """Each <url> of the sitemap, as the standard library's XML escaping would write it (its
    base escaped once, its path quoted; its date, its pair's links), whatever the base and
    the paths hold."""
    from urllib.parse import quote
    from xml.sax.saxutils import escape, quoteattr

    def xml(text):  # what XML cannot hold is left out first, as feeds.escape does
        return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)

    given_entries = []
    for number, (path, dated, paired) in enumerate(pages):
        path = f"ar/{path}-{number}.html"
        pair = (("ar", path), ("en", f"en/{number}.html")) if paired else ()
        given_entries.append(SitemapUrl(path, date(2012, 1 + number, 2) if dated else None, pair))
    expected = []
    for path, day, pair in given_entries:
        lines = ["<url>", f"<loc>{escape(xml(base + quote(path, safe='/-._~')))}</loc>"]
        if day:
            lines.append(f"<lastmod>{day.isoformat()}</lastmod>")
        lines += [f'<xhtml:link rel="alternate" hreflang={quoteattr(lang)} href={quoteattr(xml(base + quote(target, safe="/-._~")))}/>' for lang, target in pair]
        expected.append("\n".join(lines + ["</url>\n"]))
    assert feeds._url_blocks(base, given_entries) == expected
