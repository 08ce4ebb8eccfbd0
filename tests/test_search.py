"""Offline search: analyser, index files, and the JavaScript side (via node).

The JavaScript tests need ``node``; the browser test needs Playwright and a
Chromium.  Each is skipped, with the reason, when its tool is missing.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen import search
from sitegen.search import SearchDocument, build_search_index, normalize_arabic, tokenize

ROOT = Path(__file__).resolve().parent.parent
SEARCH_JS = ROOT / "themes" / "default" / "search.js"
TEMPLATES = ROOT / "themes" / "default" / "templates"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed: the JavaScript side cannot be run")


# --------------------------------------------------------------------------
# Python analyser

@pytest.mark.parametrize("variants", [
    ["أحمد", "احمد", "إحمد", "آحمد", "ٱحمد"],          # hamza / madda / wasla forms
    ["مستشفى", "مستشفي"],                             # alef maqsura
    ["مدينة", "مدينه"],                               # taa marbuta
    ["مُحَمَّد", "محمد", "مُحَمَّدٌ"],                       # harakat, shadda, tanwin
    ["حمـــص", "حمص", "حـمـص"],                       # tatweel
    ["٢٠١٢", "2012", "۲۰۱۲"],                         # Arabic-Indic digits
    ["رحمٰن", "رحمن"],                                # superscript alef
    ["مدر\u200cسة", "مدرسة"],                          # ZWNJ inside a word
])
def test_normalisation_merges_variants(variants):
    forms = {normalize_arabic(v) for v in variants}
    assert len(forms) == 1, forms
    assert len({tuple(tokenize(v)) for v in variants}) == 1


def test_normalize_arabic_exact_forms():
    assert normalize_arabic("أَحْمَد") == "احمد"
    assert normalize_arabic("مستشفى") == "مستشفي"
    assert normalize_arabic("مدينة") == "مدينه"
    assert normalize_arabic("حمـــص") == "حمص"
    assert normalize_arabic("٠١٢٣٤٥٦٧٨٩") == "0123456789"
    assert normalize_arabic("Homs") == "Homs"  # no case folding here


@pytest.mark.parametrize("word, expected", [
    ("والمدينة", "مدين"),      # وال + ه (from ة)
    ("المدينة", "مدين"),
    ("مدينة", "مدين"),
    ("بالمستشفى", "مستشف"),    # بال + ي (from ى)
    ("للعلم", "علم"),          # لل
    ("والده", "ده"),           # Lucene's rule over-stems: "وال" is taken as a prefix
    ("وقت", "وقت"),            # و needs a word of 4 letters or more
    ("وكتب", "كتب"),
    ("المعلمون", "معلم"),
    ("كتابها", "كتاب"),
    ("الطالبات", "طالب"),
    ("سوريين", "سور"),         # ين, then ي: one ordered pass of the suffix list
    ("ال", "ال"),              # too short to strip anything
    ("homs", "homs"),
])
def test_stemmer(word, expected):
    assert tokenize(word) == [expected]


def test_tokenize_mixed_text_and_punctuation():
    text = "قال أحمدُ، في «حمص»؛ هل وصلت؟ COVID-19 test_case ١٢"
    assert tokenize(text) == ["قال", "احمد", "في", "حمص", "هل", "صلت", "covid", "19",
                              "test", "case", "12"]


def test_tokenize_folds_latin_diacritics_and_presentation_forms():
    assert tokenize("Ḥimṣ Café ＨＯＭＳ") == ["hims", "cafe", "homs"]
    assert tokenize("\ufefb") == ["لا"]  # lam-alef ligature
    assert tokenize("x" * 41) == []      # over-long tokens are dropped
    assert tokenize("x" * 40) == ["x" * 40]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(0, 200_000), st.integers(1, search.MAX_WEIGHT)))
def test_postings_round_trip(postings):
    items = sorted(postings.items())
    enc = search._encode_postings(i * search.MAX_WEIGHT + w - 1 for i, w in items)
    assert search._decode_postings(enc) == items
    assert not set(enc) & set('"\\<>&')


# --------------------------------------------------------------------------
# Python vs JavaScript analyser

TRICKY = [
    "أحمد احمد إحمد آحمد ٱحمد", "ا\u0653حمد", "و\u0654", "مستشفى مستشفي", "مدينة مدينه",
    "مُحَمَّدٌ", "حمـــص", "ـــ", "والمدينة بالمستشفى للعلم وقت وكتب كالبيت فالأمر",
    "المعلمون كتابها الطالبات سوريين السوريون عربية", "٢٠١٢ ۲۰۱۲ 2012", "كوفيد-19 COVID19",
    "قال: «نعم»، ثم سأل؟ لا؛ نعم!", "Homs, Syria — the OLD city's walls",
    "\ufefb \ufdf2 \ufdfa \ufe8d\ufe8e", "مدر\u200cسة \u200fحمص\u200e", "Ḥimṣ Café naïve İstanbul",
    "ΟΔΟΣ Straße ﬁle ＨＯＭＳ ²³", "𝐇𝐨𝐦𝐬 𠀀𠀀 😀 emoji😀word", "ی ک فارسی", "رحمٰن", "ء ؤ ئ ئلا",
    "ال و ه", "x" * 40 + " " + "y" * 41, "हिन्दी", "test_case snake_case", "a\u0301b",
    "\u2028\u2029\t\n", "", "ؤ" * 45,
]


def _random_strings(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    pools = [range(0x0600, 0x0700), range(0x0750, 0x0780), range(0xFB50, 0xFDFF),
             range(0xFE70, 0xFEFF), range(0x20, 0x7F), range(0xC0, 0x250),
             range(0x1E00, 0x1F00), range(0x2000, 0x2070), range(0x0300, 0x0370)]
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rnd.randint(0, 30)):
            chars.append(chr(rnd.choice(rnd.choice(pools))))
            if rnd.random() < 0.15:
                chars.append(" ")
        out.append("".join(chars))
    return out


NODE_ANALYSE = r"""
const fs = require("fs"), vm = require("vm");
const ctx = {}; ctx.window = ctx; vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), ctx, { filename: "search.js" });
const core = ctx.__searchCore;
const input = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(input.map(s => [Array.from(core.tokenize(s)), core.normalizeArabic(s)])));
"""


def _node(script: str, *args: str, stdin: str = "") -> str:
    result = subprocess.run([NODE, "-e", script, "--", *args], input=stdin,
                            capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@needs_node
def test_python_and_javascript_analysers_agree():
    strings = TRICKY + _random_strings(600)
    out = json.loads(_node(NODE_ANALYSE, str(SEARCH_JS), stdin=json.dumps(strings)))
    mismatches = [(s, py, js) for s, js in zip(strings, out)
                  if (py := [tokenize(s), normalize_arabic(s)]) != js]
    assert not mismatches, mismatches[:5]


# --------------------------------------------------------------------------
# Index files

def _docs() -> list[SearchDocument]:
    return [
        SearchDocument("ar/ahmad.html", "أَحْمَد في حمص", "ذهب أَحْمَد إلى المستشفى في مدينة حمص، «الخالدية»؟ ٢٠١٢",
                       "2012-03-01", "en/ahmad.html", "Ahmad in Homs",
                       "Ahmad went to the hospital in the city of Homs in 2012."),
        SearchDocument("ar/old-city.html", "المدينة القديمة", "حمـــص والمدينة القديمة وأسواقها",
                       "2013-05-02"),
        SearchDocument("ar/undated.html", "بلا تاريخ", "مستشفي ميداني في حمص", None,
                       "en/undated.html", "Field hospital", "A field hospital in Homs."),
        SearchDocument("ar/newest.html", "حمص اليوم", "حمص مدينة", "2020-01-01"),
        SearchDocument("ar/evil.html", "</script><script>alert(1)</script>\u2028\u2029<!-- \"\\",
                       "نص </SCRIPT> & <b>عريض</b>", "2011-01-01", "en/evil.html",
                       "</script >Evil & co", "x </script><img src=x onerror=alert(1)> y"),
    ]


def _write(files: dict[str, bytes], site: Path) -> None:
    for rel, content in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def test_index_is_deterministic_and_order_independent():
    docs = _docs()
    first = build_search_index(docs)
    assert build_search_index(docs) == first
    shuffled = docs[:]
    random.Random(3).shuffle(shuffled)
    assert build_search_index(shuffled) == first


def test_index_paths_and_script_safety():
    files = build_search_index(_docs())
    assert "search-index.js" in files
    for path, content in files.items():
        assert re.fullmatch(r"[a-z0-9_/-]+\.js", path), path
        text = content.decode("utf-8")
        assert text.startswith("\ufeff")  # BOM: decoded as UTF-8 whatever the page says
        lowered = text.lower()
        assert "</script" not in lowered and "<!--" not in lowered and "<" not in text
        assert "\u2028" not in text and "\u2029" not in text
    assert any(p.startswith("search/t") for p in files)
    assert any(p.startswith("search/d") for p in files)


def test_js_json_escapes():
    assert search.js_json("</script>&\u2028\u2029") == '"\\u003c/script\\u003e\\u0026\\u2028\\u2029"'


def test_rejects_urls_that_are_not_site_relative():
    for bad in ("javascript:alert(1)", "/abs.html", "//evil.example/x", "http://x/y", ""):
        with pytest.raises(ValueError):
            build_search_index([SearchDocument(bad, "t", "نص", None)])
    with pytest.raises(ValueError):
        build_search_index([SearchDocument("ar/a.html", "t", "نص", None, "data:text/html,x")])


def test_empty_index():
    files = build_search_index([])
    assert set(files) == {"search-index.js"}


# --------------------------------------------------------------------------
# End to end in node: search-index.js + search.js + shards in one context

NODE_SEARCH = r"""
const fs = require("fs"), vm = require("vm"), path = require("path");
const [searchJs, site] = process.argv.slice(1);  // node -e: no script path
const ctx = { console }; ctx.window = ctx; vm.createContext(ctx);
const run = p => vm.runInContext(fs.readFileSync(path.join(site, p), "utf8"), ctx, { filename: p });
run("search-index.js");
vm.runInContext(fs.readFileSync(searchJs, "utf8"), ctx, { filename: "search.js" });
const loaded = [];
const engine = new ctx.__searchCore.Engine(ctx.__searchIndex, (p, done) => {
  loaded.push(p);
  if (fs.existsSync(path.join(site, p))) run(p);
  done();
});
(async () => {
  const out = [];
  for (const q of JSON.parse(fs.readFileSync(0, "utf8"))) {
    const before = loaded.length;
    const res = await engine.search(q);
    const docs = await engine.documents(res.ids.slice(0, 20));
    out.push({ ids: Array.from(res.ids), docs: JSON.parse(JSON.stringify(docs)),
               loaded: loaded.slice(before) });
  }
  process.stdout.write(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"""


def _search(site: Path, queries: list[str]) -> list[dict]:
    return json.loads(_node(NODE_SEARCH, str(SEARCH_JS), str(site), stdin=json.dumps(queries)))


@needs_node
def test_end_to_end_queries(tmp_path):
    _write(build_search_index(_docs()), tmp_path)
    queries = ["احمد", "حمـــص", "مُسْتَشْفًى ", "hospital", "Homs 2012", "احمد xyz", "hosp",
               "المستشف", "٢٠١٢", "حمص", "عريض", "evil"]
    res = {q: r for q, r in zip(queries, _search(tmp_path, queries))}
    urls = {q: [d["urlAr"] for d in r["docs"]] for q, r in res.items()}

    assert urls["احمد"] == ["ar/ahmad.html"]               # text has أَحْمَد
    assert set(urls["حمـــص"]) == {"ar/ahmad.html", "ar/old-city.html", "ar/undated.html",
                                   "ar/newest.html"}
    assert set(urls["مُسْتَشْفًى "]) == {"ar/ahmad.html", "ar/undated.html"}
    assert set(urls["hospital"]) == {"ar/ahmad.html", "ar/undated.html"}  # English companions
    assert urls["Homs 2012"] == ["ar/ahmad.html"]          # AND across both languages
    assert urls["احمد xyz"] == []
    assert set(urls["hosp"]) == {"ar/ahmad.html", "ar/undated.html"}      # prefix while typing
    assert set(urls["المستشف"]) == {"ar/ahmad.html", "ar/undated.html"}
    assert urls["٢٠١٢"] == ["ar/ahmad.html"]
    # Title matches first, then newest first; undated last.
    assert urls["حمص"] == ["ar/newest.html", "ar/ahmad.html", "ar/old-city.html", "ar/undated.html"]

    ahmad = res["احمد"]["docs"][0]
    assert ahmad == {"id": ahmad["id"], "urlAr": "ar/ahmad.html", "titleAr": "أَحْمَد في حمص",
                     "date": "2012-03-01", "urlEn": "en/ahmad.html", "titleEn": "Ahmad in Homs",
                     "snippet": "ذهب أَحْمَد إلى المستشفى في مدينة حمص، «الخالدية»؟ ٢٠١٢"}
    evil = res["evil"]["docs"][0]  # hostile text survives the round trip unchanged
    assert evil["titleAr"] == "</script><script>alert(1)</script>\u2028\u2029<!-- \"\\"
    assert evil["titleEn"] == "</script >Evil & co"
    assert res["عريض"]["docs"][0]["urlAr"] == "ar/evil.html"


def _vocabulary(rnd: random.Random) -> list[str]:
    letters = "ابتثجحخدذرسشصطعغفقكلمنهويءأإآةى"
    return ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 6))) for _ in range(300)] + \
        ["".join(rnd.choice("abcdefghij") for _ in range(rnd.randint(2, 6))) for _ in range(100)]


@needs_node
def test_sharded_search_matches_brute_force(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "TERM_SHARD_TARGET", 400)  # many small shards
    rnd = random.Random(11)
    vocab = _vocabulary(rnd)
    prefixes = ["", "", "ال", "و", "بال"]
    docs = []
    for i in range(120):
        words = [rnd.choice(prefixes) + rnd.choice(vocab) for _ in range(rnd.randint(5, 40))]
        docs.append(SearchDocument(f"ar/d{i}.html", f"عنوان {i}", " ".join(words),
                                   f"20{10 + i % 10}-01-{1 + i % 28:02d}" if i % 7 else None))
    files = build_search_index(docs)
    assert sum(p.startswith("search/t") for p in files) > 20
    _write(files, tmp_path)

    ordered = search._ordered(docs)
    token_sets = [set(tokenize(d.text_ar)) | set(tokenize(d.title_ar)) for d in ordered]
    queries = []
    for _ in range(40):
        d = rnd.choice(docs)
        words = d.text_ar.split()
        queries.append(" ".join(rnd.sample(words, min(len(words), rnd.randint(1, 3)))) + " ")
    queries.append(rnd.choice(vocab) + " " + rnd.choice(vocab) + " ")
    results = _search(tmp_path, queries)
    for q, r in zip(queries, results):
        wanted = set(tokenize(q))
        expected = {i for i, toks in enumerate(token_sets) if wanted <= toks}
        assert set(r["ids"]) == expected, q
        # Only the shards the query needs: one term shard per word at most.
        term_files = [p for p in r["loaded"] if p.startswith("search/t")]
        assert len(term_files) <= len(wanted)


# --------------------------------------------------------------------------
# Page: template and inline script

def test_search_js_is_safe_to_inline_and_offline_only():
    js = SEARCH_JS.read_text(encoding="utf-8")
    lowered = js.lower()
    for forbidden in ("</script", "<!--", "<script", "innerhtml", "fetch(", "xmlhttprequest",
                      "import(", "outerhtml", "insertadjacenthtml", "document.write", "eval("):
        assert forbidden not in lowered, forbidden


def _render(root: str = "") -> str:
    jinja2 = pytest.importorskip("jinja2")
    from markupsafe import Markup

    base = ('<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
            '<title>بحث</title></head><body><main>{% block content %}{% endblock %}</main>'
            '{% block scripts %}{% endblock %}</body></html>')
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.DictLoader({"base.html": base}),
                                    jinja2.FileSystemLoader(str(TEMPLATES))]),
        autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template("search.html").render(
        root=root, search_js=Markup(SEARCH_JS.read_text(encoding="utf-8")))


def test_template_markup():
    html = _render()
    assert re.search(r'<form[^>]*role="search"', html)
    assert re.search(r'<label for="q">', html)
    assert re.search(r'<input type="search" id="q" name="q"', html)
    assert 'aria-live="polite"' in html
    assert "<noscript>" in html and "JavaScript" in html
    assert '<script src="search-index.js"></script>' in html
    assert _render("../").count('<script src="../search-index.js">') == 1


# --------------------------------------------------------------------------
# In Chromium, opened from disk

def _chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    manager = sync_api.sync_playwright().start()
    candidates = [None] + [p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                                       shutil.which("google-chrome")) if p]
    for exe in candidates:
        try:
            return manager, manager.chromium.launch(executable_path=exe)
        except Exception:  # noqa: BLE001 - try the next browser
            continue
    manager.stop()
    pytest.skip("no Chromium that Playwright can launch")


def test_search_page_in_chromium_from_file(tmp_path):
    _write(build_search_index(_docs()), tmp_path)
    (tmp_path / "search.html").write_text(_render(), encoding="utf-8")
    manager, browser = _chromium()
    try:
        page = browser.new_page()
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

        page.fill("#q", "evil")
        page.wait_for_function("document.querySelector('#search-list li a') && "
                               "document.querySelector('#search-list li a').textContent.includes('alert')")
        assert page.evaluate("window.__pwned === undefined")
        assert page.locator("#search-list img").count() == 0
        assert "</script>" in page.locator("#search-list li a").first.inner_text()

        page.fill("#q", "لاشيء")
        page.wait_for_function("document.getElementById('search-status').textContent.includes('لا توجد')")
        assert problems == []

        off = browser.new_context(java_script_enabled=False).new_page()
        off.goto(url)
        assert "JavaScript" in off.locator("noscript").first.inner_text() or \
            "JavaScript" in off.content()
    finally:
        browser.close()
        manager.stop()
