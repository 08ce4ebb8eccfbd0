"""Timing the search page: a reader's first query, opened from disk in Chromium.

Each query is typed into a fresh page (nothing cached: the reader's first search) at
``search.html?q=...`` opened from ``file://``; the time is the page's own clock
(``performance.now()``, from the start of navigation) when the first page of results
is in the document (or "no results") and the browser has painted it: loading the page
and the index, searching and showing, all told. The bytes are the sizes on disk of every
file the page loaded (HTML, scripts, index files).

The moment is stamped by the page itself: a script added before the page's own
(``WATCH``) observes the document and, once the results are in it, notes the time after
the next frame is painted. Asking from outside would add the test driver's delay: it can
only start asking once ``goto`` returns at the page's ``load`` event, which waits for
every index file the search added, and then each question is a round trip (70-150 ms
here, counted as the page's until 2026-12-03).

Queries are chosen from the site's own index so that they hold on any corpus: the
most common term, one of median frequency, a rare one (a single document), two
common words together, the six most common together (a headline pasted whole), ten
words drawn from every rank, a word still being typed (its first three letters after
the article ال, which the search strips), and a word that is in no document.

    python bench/search_timing.py _site            # prints one line per query
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from sitegen.outputs.search.analyser import _words as words  # noqa: E402

DONE = ("document.querySelector('#search-list li') || "
        "((document.getElementById('search-status') || {}).textContent || '').indexOf('لا توجد') >= 0")
# Runs before the page's scripts: stamps window.__shownAt once the results are shown and
# painted (a task queued from the next animation frame runs after that frame's paint).
WATCH = """(() => {
  let seen = false;
  const check = () => {
    if (seen || !(%s)) { return; }
    seen = true;
    requestAnimationFrame(() => setTimeout(() => { window.__shownAt = performance.now(); }, 0));
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true});
})();""" % DONE
SHOWN = "window.__shownAt !== undefined ? window.__shownAt : false"


@dataclass
class QueryTiming:
    kind: str
    query: str
    ms: float  # median over the runs: from opening search.html?q=... to the results shown
    query_ms: float  # median over the runs: from pressing Enter (page loaded) to the results shown
    kb: float  # bytes loaded, in KB (the same every run)
    files: int
    results: str  # what the status line says


def choose_queries(site: Path) -> list[tuple[str, str]]:
    """(kind, query) pairs drawn from the text of the Arabic pages: deterministic."""
    counts: Counter[str] = Counter()
    for page in sorted((site / "ar").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        start = text.find('<div class="body"')
        body = text[start:text.find("</article>", start)] if start >= 0 else ""
        seen = {w for w in words(_strip_tags(body)) if len(w) >= 4 and not w.isdigit()}
        counts.update(seen)
    ranked = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    if not ranked:
        return [("absent", "غيرموجودأبدا")]
    common, second = ranked[0], ranked[min(1, len(ranked) - 1)]
    once = [w for w in ranked if counts[w] == 1]
    return [
        ("common", common),
        ("median", ranked[len(ranked) // 2]),
        ("rare", once[len(once) // 2] if once else ranked[-1]),
        ("two words", f"{common} {second}"),
        # A headline pasted whole: every word's postings are loaded, the commonest being the largest.
        ("six common words", " ".join(ranked[:6])),
        ("ten words, every rank", " ".join(ranked[::max(1, len(ranked) // 10)][:10])),
        ("typing", _typed(ranked[len(ranked) // 4])),
        ("absent", "غيرموجودأبدا"),
    ]


def _typed(word: str) -> str:
    """The first three letters a reader types of ``word``, after its article (ال)."""
    article = "ال" if word.startswith("ال") and len(word) > 4 else ""
    return word[:len(article) + 3]


def _strip_tags(html: str) -> str:
    out, inside = [], False
    for ch in html:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
            out.append(" ")
        elif not inside:
            out.append(ch)
    return "".join(out)


def time_queries(site: Path, queries: list[tuple[str, str]], runs: int = 3) -> list[QueryTiming]:
    from playwright.sync_api import sync_playwright

    page_url = (site / "search.html").resolve().as_uri()
    timings = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=["--allow-file-access-from-files"])
        try:
            for kind, query in queries:
                times, loaded, status = [], set(), ""
                queried = []
                for _ in range(runs):
                    context = browser.new_context()
                    context.add_init_script(WATCH)
                    page = context.new_page()
                    loaded = set()
                    page.on("request", lambda r, into=loaded: into.add(r.url))
                    page.goto(page_url + "?q=" + quote(query))
                    shown = page.wait_for_function(SHOWN, timeout=60_000)
                    times.append(float(shown.json_value()))
                    status = page.locator("#search-status").inner_text()
                    context.close()
                    queried.append(_time_typed(browser, page_url, query))
                files = [Path(unquote(urlparse(u).path)) for u in loaded if u.startswith("file:")]
                size = sum(f.stat().st_size for f in files if f.is_file())
                timings.append(QueryTiming(kind, query, round(statistics.median(times), 1), round(statistics.median(queried), 1), round(size / 1024, 1),
                                           len(files), status.strip()))
        finally:
            browser.close()
    return timings


def _time_typed(browser, page_url: str, query: str) -> float:
    """Milliseconds from pressing Enter in a freshly opened search page to the results shown."""
    context = browser.new_context()
    context.add_init_script(WATCH)
    try:
        page = context.new_page()
        page.goto(page_url)
        page.fill("#q", query)
        start = page.evaluate("() => { document.getElementById('q').form.requestSubmit(); return performance.now(); }")
        shown = page.wait_for_function(SHOWN, timeout=60_000)
        return float(shown.json_value()) - float(start)
    finally:
        context.close()


def _chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="a built site (the folder holding search.html)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    timings = time_queries(args.site, choose_queries(args.site), args.runs)
    if args.json:
        print(json.dumps([asdict(t) for t in timings], ensure_ascii=False, indent=1))
    else:
        for t in timings:
            print(f"{t.kind:10} {t.ms:6.0f} ms opened {t.query_ms:6.0f} ms typed {t.kb:8.1f} KB {t.files:5d} files  {t.query}  ({t.results})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
