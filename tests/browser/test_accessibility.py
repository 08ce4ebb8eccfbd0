"""Accessibility: axe-core (npm package, injected with page.add_script_tag) on every page type,
in the light AND the dark colour scheme: zero serious or critical violations (contrast, lang,
landmarks, link names, headings, ...).

``check_axe`` is a plain function returning a list of problems; the ``test_planted_*`` tests
plant a fault in a copy of the site and assert it is reported.
"""

from __future__ import annotations

import re

import pytest

from .conftest import AXE_JS, PAGE_TYPES, SCHEMES, Site, base_url, plant, require

FAILING_IMPACTS = ("serious", "critical")

AXE_RUN_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(' '), impact: n.impact,
                                summary: (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 240),
                                html: n.html.slice(0, 120)}))
  }));
}"""


def run_axe(page) -> list[dict]:
    """All axe-core violations on the loaded page."""
    require("axe")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(AXE_RUN_JS)


def check_axe(page, impacts=FAILING_IMPACTS) -> list[str]:
    """Serious or critical axe-core violations, one problem per failing element (5 per rule at most)."""
    problems = []
    for v in run_axe(page):
        nodes = [n for n in v["nodes"] if (n["impact"] or v["impact"]) in impacts]
        for n in nodes[:5]:
            problems.append(f"[{v['id']}, {n['impact'] or v['impact']}] {v['help']}: {n['target']} {n['html']!r} — {n['summary']}")
        if len(nodes) > 5:
            problems.append(f"[{v['id']}] ... and {len(nodes) - 5} more element(s)")
    return problems


@pytest.mark.parametrize("scheme", SCHEMES)
def test_no_serious_axe_violations(browser, site: Site, scheme, screenshots):
    """Every page type that exists, over file://, at 1280 and 360 px (dark: also screenshots
    tests/screenshots/<type>-<width>-dark.png)."""
    base = base_url(site, "file")
    problems = []
    checked = []
    for page_type in PAGE_TYPES:
        if page_type not in site.pages:
            continue
        checked.append(page_type)
        for width in (1280, 360):
            with browser.visit(base + site.pages[page_type], width=width, scheme=scheme) as (page, _log):
                problems += [f"{page_type} ({site.pages[page_type]}, {width} px): {p}" for p in check_axe(page)]
                if scheme == "dark":
                    page.screenshot(path=str(screenshots / f"{page_type}-{width}-dark.png"), full_page=True)
    listing = "\n".join(f"  - {p}" for p in problems)
    assert not problems, f"axe-core, {scheme} scheme, page types {checked}:\n{listing}"


def test_search_results_have_no_serious_axe_violations(browser, site: Site, screenshots):
    """The search page once results are shown (they are inserted by script); screenshots
    tests/screenshots/search-results-<scheme>.png."""
    from .test_browser import search_query

    search = site.require("search")
    query, _expected = search_query(site)
    problems = []
    for scheme in SCHEMES:
        with browser.visit(base_url(site, "file") + search, scheme=scheme) as (page, _log):
            page.get_by_role("searchbox").first.fill(query)
            try:
                page.wait_for_function(
                    "() => document.querySelectorAll('main ol a[href], main ul a[href]').length > 0", timeout=5_000
                )
            except Exception:  # noqa: BLE001 -- playwright's TimeoutError: reported by test_browser's search test
                pytest.fail(f"no search result appeared for {query!r}: see test_search_folds_hamza_and_diacritics")
            problems += [f"{scheme}: {p}" for p in check_axe(page)]
            page.screenshot(path=str(screenshots / f"search-results-{scheme}.png"), full_page=True)
    listing = "\n".join(f"  - {p}" for p in problems)
    assert not problems, f"axe-core on search results:\n{listing}"


# --------------------------------------------------------------------- planted faults

LOW_CONTRAST = "<style>body, body * { color: #ccc !important; background: #fff !important; }</style>\n</head>"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_planted_low_contrast_is_reported(browser, site_copy, scheme):
    copy = site_copy("fault-contrast")
    page_path = copy.pages["segment"]
    plant(copy, page_path, "</head>", LOW_CONTRAST)
    with browser.visit(base_url(copy, "file") + page_path, scheme=scheme) as (page, _log):
        problems = check_axe(page)
    assert any(p.startswith("[color-contrast, serious]") for p in problems), problems


@pytest.mark.parametrize(
    "fault, rule",
    [
        ("lang removed", "html-has-lang"),
        ("empty link", "link-name"),
    ],
)
def test_planted_a11y_fault_is_reported(browser, site_copy, fault, rule):
    copy = site_copy("fault-a11y")
    page_path = copy.pages["segment"]
    if fault == "lang removed":
        plant(copy, page_path, re.compile(r'(<html[^>]*?)\s+lang="[^"]*"'), r"\1")
    else:
        plant(copy, page_path, '<main id="main">', '<main id="main"><a href="../index.html"></a>')
    with browser.visit(base_url(copy, "file") + page_path) as (page, _log):
        problems = check_axe(page)
    assert any(p.startswith(f"[{rule},") for p in problems), problems
