"""The search timing's clock: the page's own moment of showing results, not the driver's.

A hand-made page stands in for search.html: it shows its results after a timer and
notes when it did, so the measured time can be checked against the page's own moment.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

import search_timing

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>بحث</title></head>
<body><form><input id="q"></form><p id="search-status"></p><ol id="search-list"></ol>
<script>
  var shown = function () {
    %s
    window.__insertedAt = performance.now();
  };
  document.getElementById("q").form.addEventListener("submit", function (ev) {
    ev.preventDefault(); setTimeout(shown, %d);
  });
  if (location.search) { setTimeout(shown, %d); }
</script></body></html>
"""
RESULTS = 'var li = document.createElement("li"); li.textContent = "نتيجة"; document.getElementById("search-list").appendChild(li);'
NOTHING = 'document.getElementById("search-status").textContent = "لا توجد نتائج مطابقة.";'


def _with_browser(measure):
    """``measure(browser)`` in a thread of its own, with a Chromium of its own: the browser
    tests hold Playwright's sync API in this thread for the whole session, and it runs one
    instance a thread."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        if os.environ.get("SKIP_BROWSER_TESTS") == "1":
            pytest.skip("SKIP_BROWSER_TESTS=1")
        pytest.fail("chromium is missing: run `bash .ci/browser-setup.sh`")
    outcome: dict = {}

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=search_timing._chromium(), args=["--allow-file-access-from-files"])
                try:
                    outcome["value"] = measure(browser)
                finally:
                    browser.close()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _page(tmp_path: Path, shows: str, delay_ms: int) -> str:
    page = tmp_path / "search.html"
    page.write_text(PAGE % (shows, delay_ms, delay_ms), encoding="utf-8")
    return page.as_uri()


def _opened(browser, url: str) -> tuple[float, float]:
    """(measured, the page's own moment of inserting the results) for ``url?q=...``."""
    context = browser.new_context()
    context.add_init_script(search_timing.WATCH)
    try:
        page = context.new_page()
        page.goto(url + "?q=x")
        measured = float(page.wait_for_function(search_timing.SHOWN, timeout=10_000).json_value())
        return measured, float(page.evaluate("window.__insertedAt"))
    finally:
        context.close()


@pytest.mark.parametrize("shows", [RESULTS, NOTHING], ids=["results", "no results"])
def test_opened_time_is_the_pages_moment_of_showing(tmp_path: Path, shows: str) -> None:
    measured, inserted = _with_browser(lambda browser: _opened(browser, _page(tmp_path, shows, 300)))
    assert inserted >= 300
    # After the results went in, within the frame that paints them (not the driver's next question).
    assert inserted <= measured <= inserted + 100, (measured, inserted)


def test_a_page_that_shows_nothing_yet_is_not_stamped(tmp_path: Path) -> None:
    def stamp(browser):
        context = browser.new_context()
        context.add_init_script(search_timing.WATCH)
        try:
            page = context.new_page()
            page.goto(_page(tmp_path, RESULTS, 300))  # no query: nothing is shown until one is typed
            page.wait_for_timeout(400)
            return page.evaluate("window.__shownAt")
        finally:
            context.close()

    assert _with_browser(stamp) is None


def test_typed_time_runs_from_the_submit(tmp_path: Path) -> None:
    ms = _with_browser(lambda browser: search_timing._time_typed(browser, _page(tmp_path, RESULTS, 200), "x"))
    assert 200 <= ms <= 300, ms


def test_queries_are_drawn_from_the_site_and_include_many_words(tmp_path):
    # Word k is in the pages 0..k-1 (ranked by how many pages hold it): the queries follow
    # the site's own ranks, a headline of its six commonest words and ten of every rank.
    (tmp_path / "ar").mkdir()
    letters = "بتثجحخدذرزسشصضطظعغفقكلمنهو"  # none that the analyser folds
    vocabulary = [f"كلم{letters[k // 10]}{letters[k % 10]}" for k in range(30)]
    for page in range(30):
        body = " ".join(w for k, w in enumerate(vocabulary) if page < 30 - k)
        (tmp_path / "ar" / f"p{page:02d}.html").write_text(f'<div class="body"><p>{body}</p></div></article>', encoding="utf-8")
    queries = dict(search_timing.choose_queries(tmp_path))
    assert queries["common"] == vocabulary[0]
    assert queries["six common words"].split() == vocabulary[:6]
    assert queries["ten words, every rank"].split() == vocabulary[::3][:10]
    assert queries["rare"] == vocabulary[-1] and queries["absent"] == "غيرموجودأبدا"
