"""The English edition as the browser lays it out: every piece of Arabic text on an English page
sits inside an element whose language is Arabic (so screen readers and fonts treat it as Arabic
and it cannot reorder its English neighbours), in light and dark, at a phone's width and a desk's.
"""

from __future__ import annotations

import pytest

from .conftest import ENGLISH_TYPES, SCHEMES, WIDTHS, plant

# Text nodes with Arabic letters, with the language the browser resolves for them.
ARABIC_RUNS_JS = r"""() => {
  const arabic = /[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]/;
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!arabic.test(node.data)) continue;
    const element = node.parentElement;
    if (element.closest('script, style, template')) continue;
    const owner = element.closest('[lang]');
    found.push({text: node.data.trim().slice(0, 60), lang: owner ? owner.getAttribute('lang') : '',
                dir: getComputedStyle(element).direction, shown: element.getClientRects().length > 0});
  }
  return found;
}"""


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page_type", ENGLISH_TYPES)
def test_arabic_on_english_pages_is_marked_arabic(browser, site, page_type, width, scheme):
    page = site.require(page_type)
    with browser.visit(site.root.as_uri() + "/" + page, width=width, scheme=scheme) as (tab, _):
        runs = tab.evaluate(ARABIC_RUNS_JS)
    unmarked = [run for run in runs if not run["lang"].lower().startswith("ar")]
    assert not unmarked, unmarked[:5]
    # Marked text is laid out right to left where it is shown.
    assert all(run["dir"] == "rtl" for run in runs if run["shown"]), [r for r in runs if r["shown"] and r["dir"] != "rtl"][:5]


def test_an_unmarked_arabic_link_is_reported(browser, site_copy):
    copy = site_copy("english-unmarked")
    page = copy.require("companion")
    plant(copy, page, 'lang="ar" hreflang="ar" dir="rtl">العربية</a>', 'hreflang="ar">العربية</a>')
    with browser.visit(copy.root.as_uri() + "/" + page) as (tab, _):
        runs = tab.evaluate(ARABIC_RUNS_JS)
    assert any(run["text"] == "العربية" and not run["lang"].startswith("ar") for run in runs), runs
