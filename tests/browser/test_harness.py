"""The browser harness itself: a chromium that stops answering costs a test, never the CI run."""

from __future__ import annotations

import pytest

from .conftest import Browser, BrowserStalled, base_url, chromium_processes_under


@pytest.mark.timeout(90)  # without the watchdog the evaluate below never returns
def test_a_stalled_chromium_is_killed_and_the_next_visit_opens_a_new_one(browser, site):
    """Playwright bounds navigations, not ``evaluate``: a page busy forever must not hang the run."""
    import os

    url = base_url(site, "file") + site.pages["index"]
    killed = chromium_processes_under(os.getpid())
    assert killed, "the session's chromium is found among this process's descendants"
    browser.stall_seconds = 3
    try:
        with pytest.raises(BrowserStalled, match="no answer for 3 s"):
            with browser.visit(url) as (page, _log):
                page.evaluate("() => { for (;;) {} }")
    finally:
        del browser.stall_seconds  # back to the class's value
    assert browser.stall_seconds == Browser.stall_seconds
    assert not set(killed) & set(chromium_processes_under(os.getpid())), "the stalled chromium is gone"
    with browser.visit(url) as (page, _log):
        assert page.evaluate("() => document.documentElement.getAttribute('dir')") == "rtl"
