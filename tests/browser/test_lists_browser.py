"""The newsroom's list pages in a real browser and the validators: term pages, term indexes and
the archive, in both editions, and the related stories of article pages, pass the Nu Html Checker and axe, and their links lead to pages
that exist from disk and under a sub-path.

The sample site has no tags or authors, so a small newsroom is built here and served beside it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ORIGINS, REPO, Site, base_url
from .test_accessibility import check_axe
from .test_validator import run_vnu

NEWSROOM = "newsroom-site"
ARTICLES = {
    "homs/2012-02-24-siege.md": "---\ntags: [حمص, بابا عمرو, حِصار]\nauthor: [سلمى, خالد]\n---\nقصف على الحي.\n",
    "homs/2012-03-01-bread.md": "---\ntags: [حمـص, HOMS]\nauthor: سلمى\n---\nنص ثان عن الخبز.\n",
    "opinion/2013-01-05-view.md": "---\ntags: [رأي, homs]\nauthor: خالد\n---\nمقال رأي.\n",
}
PAGES = ("tags.html", "tags/حمص.html", "authors.html", "sections.html", "archive.html", "archive/2012-02.html", "ar/homs-2012-02-24-siege-1.html")


@pytest.fixture(scope="module")
def newsroom(www, tmp_path_factory) -> Site:
    source = tmp_path_factory.mktemp("newsroom-source")
    for rel, text in ARTICLES.items():
        (source / "content" / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / "content" / rel).write_text(text, encoding="utf-8")
    (source / "site.yml").write_text("title: أخبار الحي\nlanguage: ar\nper_page: 1\nsections:\n  homs: {ar: حمص, en: Homs}\n", encoding="utf-8")
    out = www / NEWSROOM
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "--config", str(source / "site.yml"), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return Site.discover(out)


def test_list_pages_are_valid_html(newsroom):
    errors, _ = run_vnu(newsroom.root)[newsroom.root]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("page", PAGES)
def test_list_pages_have_no_serious_axe_violations(browser, newsroom, page):
    with browser.visit(newsroom.root.as_uri() + "/" + page) as (tab, _):
        problems = check_axe(tab)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("origin", ORIGINS)
def test_every_link_of_a_term_page_leads_to_a_page(browser, newsroom, server, origin):
    start = base_url(newsroom, origin, server) + "tags/%D8%AD%D9%85%D8%B5.html"
    with browser.visit(start) as (tab, log):
        hrefs = tab.eval_on_selector_all("main a[href]", "links => links.map(a => a.href)")
    assert len(hrefs) >= 3  # its entries and the next page
    for href in hrefs:
        with browser.visit(href) as (tab, log):
            assert tab.evaluate("document.querySelector('main') !== null"), href
            assert not log.console_errors and not log.aborted, (href, log.console_errors, log.aborted)


@pytest.mark.parametrize("origin", ORIGINS)
def test_related_stories_lead_to_pages_of_other_articles(browser, newsroom, server, origin):
    start = base_url(newsroom, origin, server) + "ar/homs-2012-02-24-siege-1.html"
    with browser.visit(start) as (tab, log):
        hrefs = tab.eval_on_selector_all("nav.related a[href]", "links => links.map(a => a.href)")
        heading = tab.eval_on_selector("nav.related", "nav => nav.getAttribute('aria-labelledby') && document.getElementById(nav.getAttribute('aria-labelledby')).textContent")
    # The bread article shares its tag حمص (another spelling) and section; the opinion piece nothing.
    assert len(hrefs) == 1 and heading == "قصص ذات صلة"
    for href in hrefs:
        assert "siege" not in href
        with browser.visit(href) as (tab, log):
            assert tab.evaluate("document.querySelector('article h1') !== null"), href
            assert not log.console_errors and not log.aborted, (href, log.console_errors, log.aborted)
