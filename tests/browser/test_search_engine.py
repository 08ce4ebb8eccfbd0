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
        assert "٤٥" in page.locator("#search-status").inner_text()  # in the page's digits (numerals: arab)
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


def test_english_search_page_shows_english_titles_and_dates(tmp_path, browser):
    # The English page reads the same index: English title and page where there is a companion,
    # the Arabic ones (marked Arabic) where there is none; dates as the English pages write them.
    _write(build_search_index(_docs()), tmp_path)
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "search.html").write_text(_render("../", english=True), encoding="utf-8")
    page = browser.context.new_page()
    try:
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto((tmp_path / "en" / "search.html").as_uri() + "?q=hospitals")
        page.wait_for_selector("#search-list li")
        titles = page.locator("#search-list li h2 a")
        assert titles.count() == 2  # "hospitals" found "hospital": the English plural rule
        assert sorted(titles.all_inner_texts()) == ["Ahmad in Homs", "Field hospital"]
        ahmad = page.locator("#search-list li", has_text="Ahmad in Homs")
        assert ahmad.locator("h2 a").get_attribute("lang") is None
        assert ahmad.locator("h2 a").get_attribute("href").endswith("/en/ahmad.html")
        assert ahmad.locator("time").inner_text() == "1 March 2012"
        # The start of the English text, not the Arabic one, under an English title.
        assert ahmad.locator(".search-result-snippet").inner_text() == "Ahmad went to the hospital in the city of Homs in 2012."
        assert page.locator("#search-status").inner_text() == "2 results"
        page.fill("#q", "المدينة")
        page.wait_for_function("document.querySelector('#search-list li a') && "
                               "document.querySelector('#search-list li a').textContent.includes('المدينة')")
        arabic = page.locator("#search-list li h2 a").first
        assert (arabic.get_attribute("lang"), arabic.get_attribute("dir")) == ("ar", "rtl")
        assert arabic.get_attribute("href").endswith("/ar/old-city.html")
        page.fill("#q", "nothingatall")
        page.wait_for_function("document.getElementById('search-status').textContent === 'No matching results.'")
        assert problems == []
    finally:
        page.close()


def test_search_pages_hijri_dates_agree_with_the_pages(tmp_path, browser):
    # The pages convert with hijridate, the search page with the table the page carries: the
    # same day over the table's whole range, and none outside it. (Chromium's own Umm al-Qura
    # calendar, ICU's, was a day off on about one date in three: it cannot stand in.)
    import random
    from datetime import date, timedelta

    from hijridate import Gregorian

    (tmp_path / "search.html").write_text(_render(calendar="gregorian+hijri"), encoding="utf-8")
    first, last = date(1924, 8, 1), date(2077, 11, 16)
    rnd = random.Random(5)
    days = [first, last, date(2012, 2, 24)] + [first + timedelta(days=rnd.randrange((last - first).days)) for _ in range(400)]
    outside = [first - timedelta(days=1), last + timedelta(days=1)]
    page = browser.context.new_page()
    try:
        page.goto((tmp_path / "search.html").as_uri())
        found = page.evaluate("""days => { const t = JSON.parse(document.querySelector("[data-search]").dataset.search).hijri;
                                           return days.map(d => window.__searchCore.hijriNumbers(d, t)); }""",
                              [d.isoformat() for d in days + outside])
        assert found[-2:] == [None, None]
        found = found[:-2]
        expected = [list(Gregorian(d.year, d.month, d.day).to_hijri().datetuple()) for d in days]
        mismatches = [(d, f, e) for d, f, e in zip(days, found, expected) if f != e]
        assert not mismatches, mismatches[:5]

        # And a result shows it as the pages do.
        from sitegen.content.metadata import hijri_date

        _write(build_search_index(_docs()), tmp_path)
        page.goto((tmp_path / "search.html").as_uri() + "?q=" + "احمد")
        page.wait_for_selector("#search-list li .hijri")
        assert page.locator("#search-list li .hijri").first.inner_text() == hijri_date(date(2012, 3, 1), "ar", "arab")
    finally:
        page.close()
