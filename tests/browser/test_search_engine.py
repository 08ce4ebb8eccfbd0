"""The search page's engine in Chromium, opened from disk, on small indexes made here.

(The built sample's search page is checked in test_browser.py.) These share the
session's one Chromium: a second Playwright in the same thread cannot start.
"""

from __future__ import annotations

from sitegen.outputs.search import writer
from sitegen.outputs.search.analyser import SearchDocument
from sitegen.outputs.search.writer import build_search_index
from tests.test_search import _day, _docs, _render, _write


def test_search_page_in_chromium_from_file(tmp_path, browser):
    _write(build_search_index(_docs()), tmp_path)
    (tmp_path / "search.html").write_text(_render(), encoding="utf-8")
    page = browser.context.new_page()
    try:
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        url = (tmp_path / "search.html").as_uri()
        page.goto(url + "?q=" + "احمد")
        page.wait_for_selector("#search-list li")
        item = page.locator("#search-list li").first
        assert item.locator("a").first.inner_text() == "أَحْمَد في حمص"
        assert item.locator("a").first.get_attribute("href").endswith("/ar/ahmad.html")
        en = item.locator('a[lang="en"]')
        assert en.inner_text() == "Ahmad in Homs" and en.get_attribute("dir") == "ltr"
        assert item.locator("time").get_attribute("datetime") == "2012-03-01"
        assert item.locator("time").inner_text() == "١ مارس ٢٠١٢"  # as the pages write dates

        page.fill("#q", "evil")
        page.wait_for_function("document.querySelector('#search-list li a') && "
                               "document.querySelector('#search-list li a').textContent.includes('alert')")
        assert page.evaluate("window.__pwned === undefined")
        assert page.locator("#search-list img").count() == 0
        assert "</script>" in page.locator("#search-list li a").first.inner_text()

        page.fill("#q", "لاشيء")
        page.wait_for_function("document.getElementById('search-status').textContent.includes('لا توجد')")
        assert problems == []

        off = browser.browser.new_context(java_script_enabled=False).new_page()
        off.goto(url)
        assert "JavaScript" in off.locator("noscript").first.inner_text() or \
            "JavaScript" in off.content()
    finally:
        page.close()


def test_search_page_pages_through_results_in_chromium(tmp_path, browser, monkeypatch):
    # 45 results over 6 document chunks and several term shards, tied on score, on a few
    # dates: the page shows them 20 at a time, in (date, URL) order, and "more" shows the rest.
    monkeypatch.setattr(writer, "SHARD_TARGET", 40)
    docs = [SearchDocument(f"ar/r{i:02d}.html", f"تقرير {i}", "نص", ["2020-01-01", "2021-06-01", None][i % 3])
            for i in range(45)]
    files = build_search_index(docs)
    assert sum(p.startswith("search/t") for p in files) > 3
    _write(files, tmp_path)
    (tmp_path / "search.html").write_text(_render(), encoding="utf-8")
    expected = [d.url_ar for d in sorted(docs, key=lambda d: (-_day(d.date), d.url_ar))]
    page = browser.context.new_page()
    try:
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto((tmp_path / "search.html").as_uri() + "?q=" + "تقرير")
        shown = lambda: [h.split("/")[-2] + "/" + h.split("/")[-1] for h in  # noqa: E731
                         page.eval_on_selector_all("#search-list li h2 a", "as => as.map(a => a.href)")]
        page.wait_for_function("document.querySelectorAll('#search-list li').length === 20")
        assert "45" in page.locator("#search-status").inner_text()
        assert shown() == expected[:20]
        assert page.locator("#search-more").is_visible()
        page.click("#search-more")
        page.wait_for_function("document.querySelectorAll('#search-list li').length === 40")
        assert shown() == expected[:40]
        page.click("#search-more")
        page.wait_for_function("document.querySelectorAll('#search-list li').length === 45")
        assert shown() == expected
        assert page.locator("#search-more").is_hidden()
        assert problems == []
    finally:
        page.close()
