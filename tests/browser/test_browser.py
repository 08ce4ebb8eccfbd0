"""The built site in a real browser (Debian's chromium via playwright), over file:// and over
http://127.0.0.1/repo/: text direction, click-through navigation, links, offline search,
console errors, requests that leave the machine, horizontal overflow, screenshots.

Each check is a plain function returning a list of problems; the tests on the real site
assert it is empty, the ``test_planted_*`` tests plant the fault in a copy and assert it is not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import (
    ARABIC_TYPES,
    ENGLISH_TYPES,
    ORIGINS,
    PAGE_TYPES,
    WIDTHS,
    Site,
    base_url,
    is_local,
    plant,
    url_to_path,
)

MAX_PAGES = 200  # pages opened per origin by the every-page sweeps (the sample has far fewer)


def fmt(problems: list[str]) -> str:
    return "\n".join(f"  - {p}" for p in problems)


def rel(url: str, site: Site, server) -> str:
    path = url_to_path(url, site, server)
    if path is None:
        return url
    try:
        return path.relative_to(site.root).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------- checks

DIRECTION_JS = """() => {
  const de = document.documentElement;
  const rtl = (l) => /^(ar|fa|ur|he|yi|ps|sd|ckb|dv)\\b/i.test(l || '');
  const out = {lang: de.getAttribute('lang'), dirAttr: de.getAttribute('dir'),
               html: getComputedStyle(de).direction,
               body: document.body ? getComputedStyle(document.body).direction : null, blocks: []};
  // Blocks of text only (not phrasing elements such as a, span, time, even when a flex
  // container blockifies them): their direction decides alignment and paragraph order.
  const blocks = 'body, main, article, section, header, footer, nav, aside, div, p, li, ol, ul, dl, dt, dd, '
      + 'h1, h2, h3, h4, h5, h6, blockquote, pre, figure, figcaption, table, caption, td, th, form, fieldset';
  for (const el of document.querySelectorAll('body [lang]')) {
    const cs = getComputedStyle(el);
    if (!el.matches(blocks) || ['none', 'contents'].includes(cs.display)) continue;
    const want = rtl(el.getAttribute('lang')) ? 'rtl' : 'ltr';
    if (cs.direction !== want) {
      const cls = el.classList.length ? '.' + [...el.classList].join('.') : '';
      out.blocks.push(`<${el.tagName.toLowerCase()}${cls} lang="${el.getAttribute('lang')}"> is ${cs.direction}: `
                      + JSON.stringify(el.textContent.trim().slice(0, 40)));
    }
  }
  return out;
}"""


def check_direction(page, expected_lang: str | None = None) -> list[str]:
    """Computed direction matches the language: rtl for Arabic, ltr for English (page and lang'd blocks)."""
    d = page.evaluate(DIRECTION_JS)
    lang = (d["lang"] or "").lower()
    problems = []
    if expected_lang and not lang.startswith(expected_lang):
        problems.append(f"<html lang={d['lang']!r}>, expected lang={expected_lang!r}")
    if not lang:
        problems.append("<html> has no lang attribute")
    want = "rtl" if re.match(r"(ar|fa|ur|he)\b", lang) else "ltr"
    if d["html"] != want:
        problems.append(f"computed direction of <html lang={d['lang']!r} dir={d['dirAttr']!r}> is {d['html']}, expected {want}")
    if d["body"] and d["body"] != want:
        problems.append(f"computed direction of <body> is {d['body']}, expected {want}")
    problems += [f"block {b}" for b in d["blocks"]]
    return problems


OVERFLOW_JS = """() => {
  const de = document.documentElement;
  const cw = de.clientWidth, sw = de.scrollWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.classList.length ? '.' + [...el.classList].join('.') : '');
  const inScroller = (el) => {
    for (let p = el.parentElement; p && p !== document.body && p !== de; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const offenders = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.right <= 0 || r.left >= cw) continue;  // wholly off-screen on purpose (e.g. the skip link)
    if ((r.right > cw + 0.5 || r.left < -0.5) && !inScroller(el)) {
      offenders.push(`${name(el)} spans x=${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return {cw, sw, offenders: offenders.slice(0, 8), more: Math.max(0, offenders.length - 8)};
}"""


def check_overflow(page) -> list[str]:
    """Nothing overflows horizontally: scrollWidth <= clientWidth, and no element sticks out of
    the viewport (in RTL, overflow to the right is clipped without growing scrollWidth)."""
    o = page.evaluate(OVERFLOW_JS)
    problems = []
    where = "; ".join(o["offenders"]) + (f"; +{o['more']} more" if o["more"] else "")
    if o["sw"] > o["cw"]:
        problems.append(f"scrollWidth {o['sw']} > clientWidth {o['cw']}" + (f" ({where})" if where else ""))
    elif o["offenders"]:
        problems.append(f"elements stick out of the {o['cw']} px viewport: {where}")
    return problems


def check_console(log) -> list[str]:
    """No console errors and no uncaught exceptions."""
    return [f"console error: {m}" for m in log.console_errors] + [f"uncaught exception: {e}" for e in log.page_errors]


def check_requests(log, base: str) -> list[str]:
    """Every request stays on file:// or 127.0.0.1 (anything else: the page needs the network),
    and inside the site's root (anything else breaks under the /repo/ sub-path or off disk)."""
    problems = []
    for url in dict.fromkeys(log.requests):
        if not is_local(url):
            problems.append(f"request leaves file:// / 127.0.0.1: {url}")
        elif url.split(":", 1)[0] in ("file", "http", "https") and not url.startswith(base):
            problems.append(f"request outside the site root {base}: {url}")
    return problems


LINKS_JS = """() => [...document.querySelectorAll('a[href]')].map((a) => ({
  href: a.getAttribute('href'), url: a.href,
  text: (a.textContent || a.getAttribute('aria-label') || '').trim().slice(0, 40)}))"""


def check_links(page, site: Site, server) -> list[str]:
    """Every link to this machine names an existing file inside the site; every #fragment exists."""
    problems = []
    here = page.url.split("#", 1)[0]
    for a in page.evaluate(LINKS_JS):
        url = a["url"]
        if not is_local(url) or url.startswith(("data:", "blob:", "about:")):
            continue  # external links (sources) cannot be checked offline
        target, _, fragment = url.partition("#")
        path = url_to_path(target, site, server)
        label = f"link {a['href']!r} ({a['text']!r})"
        if target == here:  # a link within this page
            if fragment and not page.evaluate(
                "(id) => !!document.getElementById(id) || document.getElementsByName(id).length > 0", fragment
            ):
                problems.append(f"{label}: no element with id {fragment!r} on this page")
        elif path is None:
            problems.append(f"{label}: cannot map {url} to a file")
        elif site.root not in path.parents:
            problems.append(f"{label} leaves the site root: {url}")
        elif not path.is_file():
            problems.append(f"{label} is broken: {rel(target, site, server)} does not exist")
    return problems


def _playwright_error():
    from playwright.sync_api import Error

    return Error


def follow(page, locator, what: str, site: Site, server) -> str | None:
    """Click the first element of ``locator`` and wait for the new page; a problem or None."""
    if locator.count() == 0:
        return f"{what}: no such link on {rel(page.url, site, server)}"
    link = locator.first
    href = link.get_attribute("href")
    before = page.url
    try:
        with page.expect_navigation(wait_until="load") as navigation:
            link.click()
        response = navigation.value
    except _playwright_error() as error:
        return f"{what}: clicking {href!r} on {rel(before, site, server)} failed: {str(error).splitlines()[0]}"
    if response is not None and response.status >= 400:
        return f"{what}: {href!r} on {rel(before, site, server)} answered HTTP {response.status}"
    path = url_to_path(page.url, site, server)
    if path is None or not path.is_file():
        return f"{what}: {href!r} on {rel(before, site, server)} led to {page.url}, not a page of the site"
    return None


def check_click_through(browser, site: Site, base: str, server, start: str, bilingual: bool) -> list[str]:
    """index -> segment ``start`` -> next segment [-> English companion -> parallel view] -> index,
    by real clicks; each landing page must be of the expected kind."""
    problems: list[str] = []

    def at(page) -> str:
        return rel(page.url, site, server)

    with browser.visit(base + "index.html") as (page, log):
        # index -> segment: the index link whose target is ``start``.
        links = page.evaluate("() => [...document.querySelectorAll('main a[href]')].map((a) => a.href)")
        wanted = [i for i, url in enumerate(links) if rel(url, site, server) == start]
        if not wanted:
            return [f"the index has no link to {start}"]
        steps = [
            ("index -> segment", lambda: page.locator("main a[href]").nth(wanted[0]), "segment"),
            ("segment -> next segment", lambda: page.locator('a[rel~="next"]'), "segment"),
        ]
        if bilingual:
            steps += [
                ("segment -> English companion (a.lang-switch)", lambda: page.locator("a.lang-switch"), "companion"),
                ("companion -> parallel view (a.parallel-link)", lambda: page.locator("a.parallel-link"), "parallel"),
            ]
        steps.append(
            ("-> index (navigation link)", lambda: page.get_by_role("navigation").locator('a[href$="index.html"]'), "index")
        )
        previous = at(page)
        for what, locate, kind in steps:
            locator = locate()
            if kind == "parallel" and locator.count() == 0:
                # The companion may not link the parallel view itself: the Arabic segment must.
                page.go_back(wait_until="load")
                locator = page.locator("a.parallel-link")
                what = "segment -> parallel view (a.parallel-link; the companion has none)"
            problem = follow(page, locator, what, site, server)
            if problem:
                problems.append(problem)
                break
            landed = at(page)
            shape = page.evaluate(
                """() => ({lang: document.documentElement.getAttribute('lang') || '',
                    segment: !!document.querySelector('main article'),
                    pairs: document.querySelectorAll('main .pair, main [lang] + [lang]').length,
                    entries: document.querySelectorAll('main a[href]').length})"""
            )
            if kind == "segment" and not (landed.startswith("ar/") and shape["lang"].startswith("ar") and shape["segment"]):
                problems.append(f"{what}: landed on {landed} (lang={shape['lang']!r}), not an Arabic segment page")
            elif kind == "segment" and landed == previous:
                problems.append(f"{what}: the next link leads back to {landed}")
            elif kind == "companion" and not shape["lang"].startswith("en"):
                problems.append(f"{what}: landed on {landed} with lang={shape['lang']!r}, not an English page")
            elif kind == "parallel" and not shape["pairs"]:
                problems.append(f"{what}: landed on {landed}, which shows no paragraph pairs")
            elif kind == "index" and not (landed.endswith("index.html") and shape["entries"]):
                problems.append(f"{what}: landed on {landed}, not an index page")
            if problems:
                break
            previous = landed
        problems += check_console(log) + check_requests(log, base)
    return problems


# Offline search: the analyser folds hamza forms of alef and drops diacritics.
_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_FOLD = str.maketrans({"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627",
                       "\u0649": "\u064a", "\u0629": "\u0647"})
PREFERRED_QUERY = "\u0625\u0650\u062c\u0652\u0644\u0627\u0621"  # إِجْلاء: hamza below, kasra, sukun


def normalize(text: str) -> str:
    return _MARKS.sub("", text).translate(_FOLD)


def page_words(path: Path) -> set[str]:
    text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))
    return set(re.findall(r"\w+", normalize(text)))


def search_query(site: Site) -> tuple[str, set[str]]:
    """A query spelled with another hamza form and diacritics, and the segments that contain it."""
    words = {s: page_words(site.root / s) for s in site.segments}

    def hosts(query: str) -> set[str]:
        return {s for s, w in words.items() if normalize(query) in w}

    if hosts(PREFERRED_QUERY):
        return PREFERRED_QUERY, hosts(PREFERRED_QUERY)
    # Otherwise: a word of the first segment that starts with a bare alef (or hamza on alef),
    # respelled with another hamza form, a kasra and a sukun.
    raw = re.sub(r"<[^>]+>", " ", (site.root / site.segments[0]).read_text(encoding="utf-8"))
    for word in re.findall(r"[\u0621-\u064a]{5,}", raw):
        if word[0] in "\u0627\u0623" and not word.startswith("\u0627\u0644"):
            query = "\u0625\u0650" + word[1] + "\u0652" + word[2:]
            if hosts(query):
                return query, hosts(query)
    pytest.fail("found no word starting with alef in the first segment to search for")


def check_search(page, query: str, expected: set[str], site: Site, server) -> list[str]:
    """Type ``query`` into the search box; a result must link one of the ``expected`` segment pages,
    and clicking it must open that page."""
    box = page.get_by_role("searchbox")
    if box.count() == 0:
        return [f"no search box (role=searchbox) on {rel(page.url, site, server)}"]
    box.first.click()
    box.first.press_sequentially(query, delay=30)
    # Wait for a result link, or for the live status to settle on a message (no result, failure).
    state = {"links": 0, "status": ""}
    settled = 0
    for _ in range(50):
        page.wait_for_timeout(100)
        now = page.evaluate(
            """() => ({links: document.querySelectorAll('main ol a[href], main ul a[href]').length,
                       status: ((document.querySelector('[aria-live]') || {}).innerText || '').trim()})"""
        )
        settled = settled + 1 if now == state and now["status"] else 0
        state = now
        if now["links"] or settled >= 8:
            break
    if not state["links"]:
        return [f"typing {query!r} gave no result (the page says: {state['status'][:200]!r})"]
    results = page.evaluate("() => [...document.querySelectorAll('main ol a[href], main ul a[href]')].map((a) => a.href)")
    found = [i for i, url in enumerate(results) if rel(url, site, server) in expected]
    if not found:
        shown = [rel(u, site, server) for u in results[:5]]
        return [f"typing {query!r}: no result links {sorted(expected)}; results: {shown}"]
    problem = follow(page, page.locator("main ol a[href], main ul a[href]").nth(found[0]), "search result", site, server)
    return [problem] if problem else []


# --------------------------------------------------------------------- fixtures


@pytest.fixture(params=ORIGINS)
def origin(request, site, server):
    """('file' | 'http', base URL of the site root) — the site over file:// and under /repo/ on 127.0.0.1."""
    return request.param, base_url(site, request.param, server)


def every_page(site: Site) -> list[str]:
    typed = [site.pages[t] for t in PAGE_TYPES if t in site.pages]
    rest = [p for p in site.html_files() if p not in typed]
    return (typed + rest)[:MAX_PAGES]


def expected_lang(site: Site, page: str) -> str | None:
    for kind, path in site.pages.items():
        if path == page:
            return "ar" if kind in ARABIC_TYPES else "en" if kind in ENGLISH_TYPES else None
    if page.startswith("ar/"):
        return "ar"
    if page.startswith("en/"):
        return "en"
    return None


# --------------------------------------------------------------------- the real site


def test_site_has_the_core_page_types(site):
    missing = [t for t in ("index", "segment", "404") if t not in site.pages]
    assert not missing, f"the build wrote no {missing} page; found {site.pages}"
    print("page types:", site.pages)


def test_direction_arabic_pages(browser, site, server, origin):
    kind, base = origin
    problems = []
    for page_path in every_page(site):
        if expected_lang(site, page_path) == "en":
            continue
        with browser.visit(base + page_path) as (page, _log):
            problems += [f"{page_path}: {p}" for p in check_direction(page, expected_lang(site, page_path))]
    assert not problems, f"direction over {kind}:\n{fmt(problems)}"


def test_direction_english_pages(browser, site, server, origin):
    kind, base = origin
    english = [p for p in every_page(site) if expected_lang(site, p) == "en"]
    if not english:
        site.require("companion")
    problems = []
    for page_path in english:
        with browser.visit(base + page_path) as (page, _log):
            problems += [f"{page_path}: {p}" for p in check_direction(page, "en")]
    assert not problems, f"direction over {kind}:\n{fmt(problems)}"


def test_no_console_errors_no_external_requests_no_broken_links(browser, site, server, origin):
    kind, base = origin
    problems = []
    for page_path in every_page(site):
        with browser.visit(base + page_path) as (page, log):
            found = check_links(page, site, server)
            if page_path == site.pages.get("search"):
                query, _ = search_query(site)
                # Run a search, so the requests of the index shards it loads are checked too
                # (whether it finds anything is test_search_folds_hamza_and_diacritics's business).
                page.get_by_role("searchbox").first.fill(query)
                try:
                    page.wait_for_function(
                        "() => document.querySelectorAll('main ol a[href], main ul a[href]').length > 0", timeout=5_000
                    )
                except _playwright_error():
                    pass
        found += check_console(log) + check_requests(log, base)
        problems += [f"{page_path}: {p}" for p in found]
    assert not problems, f"over {kind}:\n{fmt(problems)}"


def test_click_through_arabic(browser, site, server, origin):
    kind, base = origin
    start = next((s for s in site.segments if site.link(s, rel="next")), None)
    if start is None:
        pytest.skip("no segment has a next part: the sample has no multi-part article")
    problems = check_click_through(browser, site, base, server, start, bilingual=False)
    assert not problems, f"index -> {start} -> next -> index over {kind}:\n{fmt(problems)}"


def test_click_through_bilingual(browser, site, server, origin):
    kind, base = origin
    site.require("companion")
    # A segment whose next part has an English companion.
    start = next(
        (s for s in site.segments if (n := site.link(s, rel="next")) and site.link(n, cls_="lang-switch")), None
    )
    assert start, "no Arabic segment has a next part with an English companion (a.lang-switch)"
    problems = check_click_through(browser, site, base, server, start, bilingual=True)
    assert not problems, f"index -> {start} -> next -> companion -> parallel -> index over {kind}:\n{fmt(problems)}"


def test_search_folds_hamza_and_diacritics(browser, site, server, origin):
    kind, base = origin
    search = site.require("search")
    query, expected = search_query(site)
    with browser.visit(base + search) as (page, log):
        problems = check_search(page, query, expected, site, server)
        problems += check_console(log) + check_requests(log, base)
    assert not problems, f"search over {kind}:\n{fmt(problems)}"


@pytest.mark.parametrize("width", WIDTHS)
def test_no_horizontal_overflow_and_screenshots(browser, site, server, origin, width, screenshots):
    """Every page type at 360 and 1280 px; over file:// it also saves tests/screenshots/<type>-<width>.png."""
    kind, base = origin
    problems = []
    for page_type in PAGE_TYPES:
        if page_type not in site.pages:
            continue
        with browser.visit(base + site.pages[page_type], width=width) as (page, _log):
            problems += [f"{page_type} ({site.pages[page_type]}): {p}" for p in check_overflow(page)]
            if kind == "file":
                page.screenshot(path=str(screenshots / f"{page_type}-{width}.png"), full_page=True)
    assert not problems, f"overflow at {width} px over {kind}:\n{fmt(problems)}"


def test_404_page_links_work_when_served_for_a_missing_url_in_a_subfolder(browser, site, server):
    """GitHub Pages answers any missing URL under /repo/ with /repo/404.html, whatever its depth
    (e.g. a mistyped /repo/ar/<slug>.html): the page's links must still lead into the site."""
    not_found = site.require("404")
    base = base_url(site, "http", server)
    problems = []
    for folder in ["", *sorted({s.rsplit("/", 1)[0] + "/" for s in site.segments})]:
        missing = f"{base}{folder}no-such-page.html"
        browser.page.route(
            missing,
            lambda route: route.fulfill(status=404, path=str(site.root / not_found), content_type="text/html; charset=utf-8"),
        )
        try:
            with browser.visit(missing) as (page, log):
                found = check_links(page, site, server)
            # The 404 status of the page itself is logged as a console error: that one is expected.
            log.console_errors = [m for m in log.console_errors if not (" 404 " in m and missing in m)]
            found += check_console(log) + check_requests(log, base)
        finally:
            browser.page.unroute(missing)
        problems += [f"404.html served at /{site.root.name}/{folder}no-such-page.html: {p}" for p in found]
    assert not problems, fmt(problems)


# --------------------------------------------------------------------- planted faults


def test_planted_dir_removed_is_reported(browser, site_copy):
    copy = site_copy("fault-dir")
    page_path = copy.pages["segment"]
    plant(copy, page_path, re.compile(r'(<html[^>]*?)\s+dir="rtl"'), r"\1")
    with browser.visit(base_url(copy, "file") + page_path) as (page, _log):
        problems = check_direction(page, "ar")
    assert any("computed direction of <html" in p for p in problems), problems


def test_planted_broken_link_is_reported(browser, site_copy, server):
    copy = site_copy("fault-link")
    page_path = copy.pages["segment"]
    assert copy.link(page_path, rel="next"), "the segment type has a next link"
    plant(copy, page_path, re.compile(r'href="[^"]*"(\s+rel="next")'), r'href="no-such-part.html"\1')
    base = base_url(copy, "file")
    with browser.visit(base + page_path) as (page, _log):
        problems = check_links(page, copy, server)
    assert any("no-such-part.html" in p and "broken" in p for p in problems), problems
    for origin in ORIGINS:
        problems = check_click_through(browser, copy, base_url(copy, origin, server), server, page_path, bilingual=False)
        assert any("segment -> next segment" in p for p in problems), (origin, problems)


@pytest.mark.parametrize("origin_kind", ORIGINS)
def test_planted_external_stylesheet_is_reported_and_blocked(browser, site_copy, server, origin_kind):
    copy = site_copy(f"fault-cdn-{origin_kind}")
    page_path = copy.pages["segment"]
    plant(copy, page_path, "</head>", '<link rel="stylesheet" href="https://cdn.example/x.css">\n</head>')
    base = base_url(copy, origin_kind, server)
    with browser.visit(base + page_path) as (page, log):
        pass
    problems = check_requests(log, base)
    assert any("leaves file:// / 127.0.0.1: https://cdn.example/x.css" in p for p in problems), problems
    assert "https://cdn.example/x.css" in log.aborted, "the external request was not aborted by the route"


def test_planted_console_error_is_reported(browser, site_copy):
    copy = site_copy("fault-console")
    page_path = copy.pages["index"]
    plant(copy, page_path, "</body>", "<script>console.error('planted fault'); undefinedFunction();</script>\n</body>")
    with browser.visit(base_url(copy, "file") + page_path) as (page, log):
        pass
    problems = check_console(log)
    assert any("planted fault" in p for p in problems), problems
    assert any("undefinedFunction" in p for p in problems), problems


@pytest.mark.parametrize("side", ["wide block", "rtl right overflow"])
def test_planted_overflow_is_reported(browser, site_copy, side):
    copy = site_copy("fault-overflow")
    page_path = copy.pages["segment"]
    if side == "wide block":
        fault = '<div style="inline-size: 900px">wide</div>'
    else:  # pushed out to the right of an RTL page: clipped, scrollWidth unchanged
        fault = '<div style="position: relative; left: 200px">مدفوع إلى اليمين خارج الصفحة</div>'
    plant(copy, page_path, '<main id="main">', '<main id="main">' + fault)
    with browser.visit(base_url(copy, "file") + page_path, width=360) as (page, _log):
        problems = check_overflow(page)
    assert problems, "the planted overflow was not reported"


def test_planted_missing_search_index_is_reported(browser, site, site_copy, server):
    site.require("search")
    copy = site_copy("fault-search")
    scripts = list(copy.root.glob("search-index*.js"))
    assert scripts, "the search page's index script (search-index*.js) was not found"
    for script in scripts:
        script.unlink()
    query, expected = search_query(copy)
    with browser.visit(base_url(copy, "file") + copy.pages["search"]) as (page, log):
        problems = check_search(page, query, expected, copy, server)
    assert problems, "a search without its index still reported results"
