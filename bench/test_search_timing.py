"""The search timing's clock: the page's own moment of showing results, not the driver's.

A hand-made page stands in for search.html: it shows its results after a timer and
notes when it did, so the measured time can be checked against the page's own moment.
"""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture(scope="module")
def browser():
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        if os.environ.get("SKIP_BROWSER_TESTS") == "1":
            pytest.skip("SKIP_BROWSER_TESTS=1")
        pytest.fail("chromium is missing: run `bash .ci/browser-setup.sh`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=search_timing._chromium(), args=["--allow-file-access-from-files"])
        try:
            yield launched
        finally:
            launched.close()


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
def test_opened_time_is_the_pages_moment_of_showing(browser, tmp_path: Path, shows: str) -> None:
    measured, inserted = _opened(browser, _page(tmp_path, shows, 300))
    assert inserted >= 300
    # After the results went in, within the frame that paints them (not the driver's next question).
    assert inserted <= measured <= inserted + 100, (measured, inserted)


def test_a_page_that_shows_nothing_yet_is_not_stamped(browser, tmp_path: Path) -> None:
    context = browser.new_context()
    context.add_init_script(search_timing.WATCH)
    try:
        page = context.new_page()
        page.goto(_page(tmp_path, RESULTS, 300))  # no query: nothing is shown until one is typed
        page.wait_for_timeout(400)
        assert page.evaluate("window.__shownAt") is None
    finally:
        context.close()


def test_typed_time_runs_from_the_submit(browser, tmp_path: Path) -> None:
    ms = search_timing._time_typed(browser, _page(tmp_path, RESULTS, 200), "x")
    assert 200 <= ms <= 300, ms
