"""Offline search: analyser, index files, and the JavaScript side (via node).

The JavaScript tests need ``node``; the browser test needs Playwright and a
Chromium.  Each is skipped, with the reason, when its tool is missing.
"""

from __future__ import annotations

import datetime
import json
import random
import re
import shutil
import subprocess
from bisect import bisect_right
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.outputs.search import analyser, writer
from sitegen.outputs.search import postings as codec
from sitegen.outputs.search.analyser import SearchDocument, normalize_arabic, tokenize
from sitegen.outputs.search.writer import build_search_index

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
    ("homs", "hom"),           # the English plural rule takes any final -s: queries are stemmed alike
])
def test_stemmer(word, expected):
    assert tokenize(word) == [expected]


def test_tokenize_mixed_text_and_punctuation():
    text = "قال أحمدُ، في «حمص»؛ هل وصلت؟ COVID-19 test_case ١٢"
    assert tokenize(text) == ["قال", "احمد", "في", "حمص", "هل", "صلت", "covid", "19",
                              "test", "case", "12"]


def test_tokenize_folds_latin_diacritics_and_presentation_forms():
    assert tokenize("Ḥimṣ Café ＨＯＭＳ") == ["him", "cafe", "hom"]  # folded, then the English -s rule
    assert tokenize("\ufefb") == ["لا"]  # lam-alef ligature
    assert tokenize("x" * 41) == []      # over-long tokens are dropped
    assert tokenize("x" * 40) == ["x" * 40]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(0, 200_000), st.integers(1, codec.MAX_WEIGHT)))
def test_postings_round_trip(postings):
    items = sorted(postings.items())
    enc = codec._encode_postings(i * codec.MAX_WEIGHT + w - 1 for i, w in items)
    assert codec._decode_postings(enc) == items
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


# English words through the plural stemmer: every branch, and words it must leave alone.
ENGLISH = [
    "archives cities Cities ARCHIVES houses boxes news bus glass series species",
    "days keys toys ladies pies ties lies dies aes oes ees ies is as us ss s",
    "Homs Ḥimṣ naïves cafés COVIDs 2012s x1s", "the hospitals of Homs were shelled",
]


def _english_words(n: int, seed: int = 11) -> list[str]:
    """Short words of the letters the stemmer looks at, so that its rare branches come up."""
    rnd = random.Random(seed)
    return [" ".join("".join(rnd.choice("aeiousyb") for _ in range(rnd.randint(1, 6))) + rnd.choice(["s", "es", "ies", ""])
                     for _ in range(8)) for _ in range(n)]


_DOCUMENT_TEXT = st.lists(st.sampled_from(["حمص", "بحمص", "المدينة", "Homs", "cities", "٢٠١٢", "حمـص", "،", " ", "\n", "x" * 41, "قصف", "وقصف"]), max_size=60).map("".join)


@settings(max_examples=150, deadline=None)
@given(_DOCUMENT_TEXT, _DOCUMENT_TEXT, st.one_of(st.none(), _DOCUMENT_TEXT), st.one_of(st.none(), _DOCUMENT_TEXT))
def test_a_document_weighs_each_term_by_its_count_and_the_titles(title_ar, text_ar, title_en, text_en):
    # The rule, stated on tokenize: a term's count in both texts, +2 if a title holds it,
    # at most MAX_WEIGHT, each term once in the order the texts first give it, then the
    # titles' own in the titles' order (whatever the process's string hashes); kept packed
    # (words and weights), it reads back the same after pickling, as the cache keeps it.
    import pickle

    doc = SearchDocument("ar/a.html", title_ar, text_ar, "2012-02-24", "en/a.html" if text_en is not None else None, title_en, text_en)
    analysed = analyser.analyse_document(doc)
    counts = Counter(tokenize(text_ar) + tokenize(text_en or ""))
    for token in dict.fromkeys(tokenize(title_ar) + tokenize(title_en or "")):
        counts[token] += 2
    terms = analysed.terms
    assert terms == tuple((term, min(count, codec.MAX_WEIGHT)) for term, count in counts.items())
    assert tuple(analysed.weighted_terms()) == terms
    assert analyser.pack_terms(terms) == (analysed.words, analysed.weights)
    assert pickle.loads(pickle.dumps(analysed, protocol=5)).terms == terms


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["حمص", "مدين", "قصف", "في", "من", "homs", "2012", "٣٤", "حماه", "ادلب", "نزوح", "خبز", "اغاثه", "حصار", "مظاهر", "تعليم", "صح", "كهرباء"]),
                          st.integers(1, codec.MAX_WEIGHT)), max_size=40, unique_by=lambda pair: pair[0]))
def test_a_documents_keywords_read_packed_are_those_of_its_weighted_terms(terms):
    # document_keywords scans the packed weights from the heaviest; keywords_of sorts the
    # pairs: the same words, in the same order (ties of weight by length, then code points).
    from sitegen.outputs.search.keywords import document_keywords, keywords_of

    document = analyser.IndexedDocument("ar/a.html", "t", None, None, None, "", *analyser.pack_terms(terms))
    assert document_keywords(document) == keywords_of(terms)


def test_english_plurals_are_folded():
    assert tokenize("Archives CITIES houses glass bus news") == ["archive", "city", "house", "glass", "bus", "new"]
    assert tokenize("days ladies series") == ["day", "lady", "sery"]  # Lucene over-stems "series" alike in index and query
    assert tokenize("المدينة archives") == ["مدين", "archive"]  # Arabic keeps its own stemmer


@needs_node
def test_python_and_javascript_analysers_agree():
    strings = TRICKY + ENGLISH + _english_words(300) + _random_strings(600)
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


def _shard_data(files: dict[str, bytes], path: str):
    """The data a shard file passes to window.__searchShard, checking that the
    name it passes is the one its path gives ("search/d3.js" → "d3")."""
    name = re.fullmatch(r"search/(t[0-9a-f]{16}|d\d+)\.js", path)[1]
    text = files[path].decode("utf-8").lstrip("\ufeff").rstrip("\n")
    head = f'window.__searchShard("{name}",'
    assert text.startswith(head) and text.endswith(");"), text[:80]
    return json.loads(text[len(head):-2])


def _root_data(files: dict[str, bytes]) -> dict:
    text = files["search-index.js"].decode("utf-8")
    return json.loads(re.search(r"window\.__searchIndex=(\{.*?\});", text)[1])


def _day(date: str | None) -> int:
    return datetime.date.fromisoformat(date).toordinal() if date else 0


def _id_order(docs) -> list[str]:
    """Arabic URLs in id order: the ranking's tie-break (newest, undated last, URL) reversed."""
    return [d.url_ar for d in sorted(docs, key=lambda d: (-_day(d.date), writer.utf16_key(d.url_ar)), reverse=True)]


def _check_layout(files: dict[str, bytes], docs) -> dict:
    """Every rule of the layout, from the files alone; returns the root's data."""
    for path, content in files.items():
        assert re.fullmatch(r"[a-z0-9_/-]+\.js", path), path
        text = content.decode("utf-8")
        assert text.startswith("\ufeff")  # BOM: decoded as UTF-8 whatever the page says
        lowered = text.lower()
        assert "</script" not in lowered and "<!--" not in lowered and "<" not in text
        assert "\u2028" not in text and "\u2029" not in text
    root = _root_data(files)
    assert root["docs"] == len(docs) and root["dir"] == "search/" and root["version"] == writer.INDEX_VERSION
    assert root["weights"] == codec.MAX_WEIGHT and root["docChunk"] == writer.DOC_CHUNK
    bounds = root["shards"]
    term_paths = sorted(p for p in files if p.startswith("search/t"))
    doc_paths = [f"search/d{i}.js" for i in range(-(-len(docs) // writer.DOC_CHUNK))]
    assert set(files) == {"search-index.js", *term_paths, *doc_paths}
    # Documents in id order, chunk by chunk.
    rows = [row for p in doc_paths for row in _shard_data(files, p)]
    assert [row[0] for row in rows] == _id_order(docs)
    # Shards: named by their first term, in order, cut where the rule says and nowhere else.
    assert sorted(writer.shard_path(b) for b in bounds) == term_paths
    assert bounds == writer.js_sorted(bounds)
    every = []
    span = _span(files)
    for i, bound in enumerate(bounds):
        entries = _shard_data(files, writer.shard_path(bound))
        terms = list(entries)
        assert terms and terms == writer.js_sorted(terms) and terms[0] == bound
        assert not any(writer.cuts_at(t, span) for t in terms[1:])
        # A shard of more than one term is within the limit, and it is a part of a shard cut
        # at its span only when that whole shard would be over it.
        size = sum(writer.entry_size(t, e) for t, e in entries.items())
        assert len(terms) == 1 or size <= writer.SHARD_LIMIT
        assert len(files[writer.shard_path(bound)]) <= size + 60  # entry_size: the bytes in the file
        every += terms
    assert every == writer.js_sorted(every) and len(set(every)) == len(every)
    cuts = [i for i, t in enumerate(every) if i == 0 or writer.cuts_at(t, span)]
    for a, b in zip(cuts, cuts[1:] + [len(every)]):
        parts = [t for t in every[a:b] if t in bounds]
        whole = sum(writer.entry_size(t, e) for p in parts for t, e in _shard_data(files, writer.shard_path(p)).items())
        assert len(parts) == 1 or whole > writer.SHARD_LIMIT
    return root


def _span(files: dict[str, bytes]) -> int:
    """The span the index was cut with, from its terms and sizes (as the writer chooses it)."""
    entries = [e for p in files if p.startswith("search/t") for e in _shard_data(files, p).items()]
    return writer.span_for(len(entries), sum(writer.entry_size(t, e) for t, e in entries))


def test_index_paths_and_script_safety(monkeypatch):
    assert len(_check_layout(build_search_index(_docs()), _docs())["shards"]) == 1
    monkeypatch.setattr(writer, "SHARD_TARGET", 40)  # a shard every few terms
    assert len(_check_layout(build_search_index(_docs()), _docs())["shards"]) > 3


def test_a_shard_over_the_limit_is_cut_in_parts(monkeypatch):
    # Terms cut by their hash land beside others by chance: one shard can hold several words
    # of every document. Its parts are cut at half the span, again, until within the limit;
    # the shards within it stand as they were.
    docs = [SearchDocument(f"ar/{i}.html", "عنوان", " ".join(f"كلمة{k}" for k in range(60)) + f" نادرة{i}", None)
            for i in range(400)]
    monkeypatch.setattr(writer, "SHARD_LIMIT", 10**9)
    whole = build_search_index(docs)
    before = {b: len(whole[writer.shard_path(b)]) for b in _check_layout(whole, docs)["shards"]}
    assert max(before.values()) > 3000
    monkeypatch.setattr(writer, "SHARD_LIMIT", 3000)
    files = build_search_index(docs)
    after = {b: len(files[writer.shard_path(b)]) for b in _check_layout(files, docs)["shards"]}
    assert len(after) > len(before) + 3
    assert max(size for b, size in after.items() if len(_shard_data(files, writer.shard_path(b))) > 1) <= 3000
    assert {b: n for b, n in before.items() if n <= 3000 - 60} == {b: n for b, n in after.items() if b in before and before[b] <= 3000 - 60}


def test_js_json_escapes():
    assert codec.js_json("</script>&\u2028\u2029") == '"\\u003c/script\\u003e\\u0026\\u2028\\u2029"'


def test_rejects_urls_that_are_not_site_relative():
    for bad in ("javascript:alert(1)", "/abs.html", "//evil.example/x", "http://x/y", ""):
        with pytest.raises(ValueError):
            build_search_index([SearchDocument(bad, "t", "نص", None)])
    with pytest.raises(ValueError):
        build_search_index([SearchDocument("ar/a.html", "t", "نص", None, "data:text/html,x")])


def test_empty_index():
    files = build_search_index([])
    assert set(files) == {"search-index.js"}
    assert _root_data(files) == {"dir": "search/", "docChunk": writer.DOC_CHUNK, "docs": 0, "shards": [],
                                 "version": writer.INDEX_VERSION, "weights": codec.MAX_WEIGHT}


@needs_node
def test_empty_index_searches(tmp_path):
    _write(build_search_index([]), tmp_path)
    [r] = _search(tmp_path, ["حمص"], page_size=5)
    assert r["ids"] == [] and r["docs"] == [] and r["pages"] == []


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
const requested = [];  // every shard the engine asks for, cached or not
const shard = engine.shard;
engine.shard = function (name) { requested.push(name); return shard.call(this, name); };
const plain = x => JSON.parse(JSON.stringify(x));
(async () => {
  const { queries, pageSize, allDocs } = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = [];
  for (const q of queries) {
    const r = {};
    let mark = loaded.length;
    const asked = requested.length;
    const res = await engine.search(q);
    r.searchRequested = [...new Set(requested.slice(asked))];
    r.ids = Array.from(res.ids);
    r.searchLoaded = loaded.slice(mark);
    if (pageSize) {
      // As the search page does: a page at a time.
      r.pages = [];
      for (let start = 0; start < res.ids.length; start += pageSize) {
        r.pages.push(plain(await engine.page(res, start, pageSize)).map(d => d.urlAr));
      }
    }
    mark = loaded.length;
    r.docs = plain(await engine.documents(allDocs ? res.ids : res.ids.slice(0, 20)));
    r.docsLoaded = loaded.slice(mark);
    out.push(r);
  }
  process.stdout.write(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"""


def _search(site: Path, queries: list[str], page_size: int | None = None,
            all_docs: bool = False) -> list[dict]:
    """Run queries through search.js in node.  Each result has ``ids`` (all
    results, in order), ``docs`` (the rows of the first 20, or of all with
    ``all_docs``), the files loaded, and with ``page_size`` the Arabic URLs of
    each page as the search page gets them (search(q, page_size), page())."""
    stdin = json.dumps({"queries": queries, "pageSize": page_size, "allDocs": all_docs})
    return json.loads(_node(NODE_SEARCH, str(SEARCH_JS), str(site), stdin=stdin))


@needs_node
@pytest.mark.parametrize("target", [None, 40])
def test_end_to_end_queries(tmp_path, monkeypatch, target):
    if target:
        monkeypatch.setattr(writer, "SHARD_TARGET", target)  # many shards
    files = build_search_index(_docs())
    _write(files, tmp_path)
    queries = ["احمد", "حمـــص", "مُسْتَشْفًى ", "hospital", "Homs 2012", "احمد xyz", "hosp",
               "المستشف", "٢٠١٢", "حمص", "عريض", "evil"]
    results = _search(tmp_path, queries, page_size=2)
    res = {q: r for q, r in zip(queries, results)}
    urls = {q: [d["urlAr"] for d in r["docs"]] for q, r in res.items()}

    for q, r in res.items():
        assert all(isinstance(i, int) for i in r["ids"]), r["ids"]
        assert len(set(r["ids"])) == len(r["ids"])
        assert [d["id"] for d in r["docs"]] == r["ids"][:20]
        assert [u for page in r["pages"] for u in page] == urls[q]  # paging gives the same order
        # A query loads term shards only (one a word, a few for the word being typed).
        assert all(re.fullmatch(r"search/t[0-9a-f]{16}\.js", p) for p in r["searchLoaded"]), r["searchLoaded"]
        assert len(r["searchRequested"]) <= len(_query_groups(q)) + MAX_PREFIX_SHARDS

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

    assert urls["hosp"] == ["ar/undated.html", "ar/ahmad.html"]  # "hospital" in a title weighs more

    ahmad = res["احمد"]["docs"][0]
    assert ahmad == {"id": ahmad["id"], "urlAr": "ar/ahmad.html", "titleAr": "أَحْمَد في حمص",
                     "date": "2012-03-01", "urlEn": "en/ahmad.html", "titleEn": "Ahmad in Homs",
                     "snippet": "ذهب أَحْمَد إلى المستشفى في مدينة حمص، «الخالدية»؟ ٢٠١٢",
                     "snippetEn": "Ahmad went to the hospital in the city of Homs in 2012."}
    evil = res["evil"]["docs"][0]  # hostile text survives the round trip unchanged
    assert evil["titleAr"] == "</script><script>alert(1)</script>\u2028\u2029<!-- \"\\"
    assert evil["titleEn"] == "</script >Evil & co"
    assert evil["snippetEn"] == "x </script><img src=x onerror=alert(1)> y"  # the English result's own text
    assert res["عريض"]["docs"][0]["urlAr"] == "ar/evil.html"


TITLES_FROM_TEXT = [
    # (title, text): titles drawn from the text, as a segment without a title gets one
    ("مدينة حمص تحت…", "مدينة حمص تحت القصف منذ أسابيع، والأهالي في الأقبية."),
    ("😀 نص فيه…", "😀 نص فيه رمز خارج المستوى الأساسي ثم كلام كثير بعده يطول ويطول."),  # UTF-16 lengths
    ("نص قصير كله", "نص قصير كله"),  # the whole text, no '…'
    ("عنوان آخر", "نص لا يبدأ بالعنوان"),  # a title of its own
    ("…", "نص"),
    ("", "نص بلا عنوان"),
]


@needs_node
def test_titles_drawn_from_the_text_are_sent_as_lengths_and_read_back_whole(tmp_path):
    """A title that is the start of its snippet is written as the length of that start (a
    third of a chunk's bytes): every title comes back from search.js as it was."""
    docs = [SearchDocument(f"ar/t{i}.html", title, text + " كلمةمشتركة", "2012-03-01", f"en/t{i}.html",
                           f"Title {i}…" if i % 2 else f"Other {i}", f"Title {i} and more words for the English text.")
            for i, (title, text) in enumerate(TITLES_FROM_TEXT)]
    files = build_search_index(docs)
    _write(files, tmp_path)
    rows = [row for path, data in sorted(files.items()) if path.startswith("search/d") for row in writer.read_chunk(data)]
    kinds = {row[0]: (type(row[1]).__name__, type(row[4]).__name__) for row in rows}
    assert [kinds[f"ar/t{i}.html"] for i in range(len(docs))] == [
        ("int", "str"), ("int", "int"), ("int", "str"), ("str", "int"), ("str", "str"), ("str", "int")]
    (result,) = _search(tmp_path, ["كلمةمشتركة"], all_docs=True)
    shown = {d["urlAr"]: (d["titleAr"], d["titleEn"]) for d in result["docs"]}
    assert shown == {d.url_ar: (d.title_ar, d.title_en) for d in docs}


def _vocabulary(rnd: random.Random) -> list[str]:
    letters = "ابتثجحخدذرسشصطعغفقكلمنهويءأإآةى"
    return ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 6))) for _ in range(300)] + \
        ["".join(rnd.choice("abcdefghij") for _ in range(rnd.randint(2, 6))) for _ in range(100)] + \
        ["سم" + "".join(rnd.choice(letters) for _ in range(rnd.randint(2, 4))) for _ in range(150)]
    # (the last: a crowd of terms sharing a prefix, so that with small shards a
    # query for that prefix spans more term shards than search.js will load)


# A few dates and undated documents: many results tie on score and date, so the
# URL tie-break is exercised.
_DATES = ["2019-05-01", "2020-01-01", "2020-01-02", "2021-12-31", None]


def _random_docs(rnd: random.Random, count: int, vocab: list[str]) -> list[SearchDocument]:
    prefixes = ["", "", "ال", "و", "بال"]
    docs = []
    for i in rnd.sample(range(10 * count), count):  # URLs not in date order
        words = [rnd.choice(prefixes) + rnd.choice(vocab) for _ in range(rnd.randint(5, 40))]
        english = " ".join(rnd.choice(vocab[300:400]) for _ in range(rnd.randint(0, 8))) or None
        docs.append(SearchDocument(f"ar/d{i}.html", f"عنوان {i}", " ".join(words), rnd.choice(_DATES),
                                   f"en/d{i}.html" if english else None,
                                   f"Title {i}" if english else None, english))
    return docs


def _random_queries(rnd: random.Random, docs: list[SearchDocument], vocab: list[str]) -> list[str]:
    queries = []
    for _ in range(40):  # words of one document, all typed (exact terms only)
        words = rnd.choice(docs).text_ar.split()
        queries.append(" ".join(rnd.sample(words, min(len(words), rnd.randint(1, 3)))) + " ")
    for _ in range(30):  # ... the last one still being typed (prefix)
        words = rnd.sample(rnd.choice(docs).text_ar.split(), rnd.randint(1, 2))
        words[-1] = words[-1][:max(2, len(words[-1]) - rnd.randint(0, 3))]
        queries.append(" ".join(words))
    queries += [rnd.choice(vocab) + " " + rnd.choice(vocab) + " ",
                "عنوان ", "عنوان", "title", "سم", "السم", "عنوان سم", "سم عنوان ", "ti"]
    return queries


MAX_PREFIX_SHARDS = 3   # as in search.js
MAX_PREFIX_TERMS = 400  # as in search.js


def _query_groups(query: str) -> list[tuple[str, str | None]]:
    """(term, prefix or None) per query word: the query analysis search.js
    documents (the last word, when the query ends inside it, also matches
    the terms that start with it without its prefix, if 2 letters or more)."""
    prepared = analyser._prepare(query)
    words = re.findall(r"[^\W_]+", prepared)
    typing = bool(words) and bool(re.search(r"[^\W_]$", prepared))
    groups: dict[str, str | None] = {}
    for k, word in enumerate(words):
        if len(word) > analyser.MAX_TOKEN_LENGTH:
            continue
        term = analyser.stem(word)
        prefix = analyser.stem_prefix(word) if typing and k == len(words) - 1 else None
        if prefix is not None and len(prefix) < 2:
            prefix = None
        if term in groups:
            groups[term] = prefix or groups[term]
        else:
            groups[term] = prefix
    return list(groups.items())[:10]


def _weights(d: SearchDocument) -> dict[str, int]:
    """Term weights of a document: frequency, +2 in a title, at most 4."""
    counts = Counter(tokenize(d.text_ar) + tokenize(d.text_en or ""))
    for term in set(tokenize(d.title_ar) + tokenize(d.title_en or "")):
        counts[term] += 2
    return {t: min(n, 4) for t, n in counts.items()}


class _BruteForce:
    """Ranks documents by scanning them all, knowing of the index only its
    term-shard bounds (for the limit on the shards a prefix may span)."""

    def __init__(self, docs: list[SearchDocument], files: dict[str, bytes]):
        self.docs = docs
        self.weights = [_weights(d) for d in docs]
        self.bounds = _root_data(files)["shards"]
        self.prefix_limited = 0  # query words whose prefix was not searched
        self.prefix_matched = 0  # documents matched only through a prefix

    def _prefix_allowed(self, prefix: str) -> bool:
        lo = max(0, bisect_right(self.bounds, prefix) - 1)
        hi = max(0, bisect_right(self.bounds, prefix + "\uffff") - 1)
        return hi - lo + 1 <= MAX_PREFIX_SHARDS

    def rank(self, query: str) -> list[str]:
        groups = _query_groups(query)
        if not groups:
            return []
        allowed = {}
        for term, prefix in groups:
            ok = bool(prefix) and bool(self.bounds) and self._prefix_allowed(prefix)
            allowed[prefix] = ok
            self.prefix_limited += bool(prefix and self.bounds and not ok)
            if ok:
                terms = {t for w in self.weights for t in w if t != term and t.startswith(prefix)}
                assert len(terms) < MAX_PREFIX_TERMS  # that limit is not modelled
        scored = []
        for d, w in zip(self.docs, self.weights):
            total = 0
            for term, prefix in groups:
                score = 2 * w.get(term, 0)
                if allowed[prefix]:
                    best = max((n for t, n in w.items() if t != term and t.startswith(prefix)), default=0)
                    if best and not score:
                        self.prefix_matched += 1
                    score = max(score, best)
                if not score:
                    break
                total += score
            else:
                scored.append((-total, -_day(d.date), writer.utf16_key(d.url_ar), d.url_ar))
        return [url for *_, url in sorted(scored)]


def _check_against_brute_force(site: Path, docs, files, queries, page_size: int) -> _BruteForce:
    brute = _BruteForce(docs, files)
    results = _search(site, queries, page_size=page_size, all_docs=True)
    for q, r in zip(queries, results):
        expected = brute.rank(q)
        got = [d["urlAr"] for d in r["docs"]]
        assert got == expected, q
        assert [u for page in r["pages"] for u in page] == expected, q
        # Only the shards the query needs: one term shard per word, and at most
        # MAX_PREFIX_SHARDS more for the word being typed; no document chunk.
        groups = _query_groups(q)
        assert len(r["searchRequested"]) <= len(groups) + MAX_PREFIX_SHARDS * any(p for _, p in groups), q
        assert all(re.fullmatch(r"t[0-9a-f]{16}", p) for p in r["searchRequested"]), q
        assert not [p for p in r["docsLoaded"] if "/t" in p]
    return brute


@needs_node
def test_sharded_search_matches_brute_force(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "SHARD_TARGET", 100)  # many small shards
    rnd = random.Random(11)
    vocab = _vocabulary(rnd)
    docs = _random_docs(rnd, 150, vocab)
    files = build_search_index(docs)
    assert len(_root_data(files)["shards"]) > 10
    _check_layout(files, docs)
    _write(files, tmp_path)
    brute = _check_against_brute_force(tmp_path, docs, files, _random_queries(rnd, docs, vocab), page_size=7)
    # Both sides of the prefix rules were met.
    assert brute.prefix_limited > 0 and brute.prefix_matched > 0


@needs_node
def test_ranking_does_not_depend_on_the_shards(tmp_path, monkeypatch):
    rnd = random.Random(5)
    vocab = _vocabulary(rnd)[:400]
    docs = _random_docs(rnd, 120, vocab)
    queries = _random_queries(rnd, docs, vocab)
    ranked, shards = {}, set()
    for target in (writer.SHARD_TARGET, 2000, 500):
        monkeypatch.setattr(writer, "SHARD_TARGET", target)
        files = build_search_index(docs)
        site = tmp_path / f"t{target}"
        _write(files, site)
        results = _search(site, queries, page_size=6, all_docs=True)
        ranked[target] = [r["docs"] for r in results]
        shards.add(len(_root_data(files)["shards"]))
        for r in results:
            assert [u for page in r["pages"] for u in page] == [d["urlAr"] for d in r["docs"]]
        brute = _BruteForce(docs, files)
        assert [[d["urlAr"] for d in r] for r in ranked[target]] == [brute.rank(q) for q in queries]
        assert brute.prefix_limited == 0  # the same prefixes searched in every layout
    assert len(shards) == 3  # three layouts, one ranking
    one, *others = ranked.values()
    for rows in others:
        assert rows == one
    # Every document has the title word once and the texts never have it: one
    # score for all, so the order is by date (newest first, undated last), then URL.
    assert not any("عنوان" in d.text_ar for d in docs)
    everything = one[queries.index("عنوان ")]
    assert len(everything) == len(docs)
    assert [d["urlAr"] for d in everything] == _id_order(docs)[::-1]
    assert {d["date"] for d in everything} == set(_DATES)


# --------------------------------------------------------------------------
# Page: template and inline script

def test_search_js_is_safe_to_inline_and_offline_only():
    js = SEARCH_JS.read_text(encoding="utf-8")
    lowered = js.lower()
    for forbidden in ("</script", "<!--", "<script", "innerhtml", "fetch(", "xmlhttprequest",
                      "import(", "outerhtml", "insertadjacenthtml", "document.write", "eval("):
        assert forbidden not in lowered, forbidden


def _render(root: str = "", english: bool = False, language: str = "ar", numerals: str = "arab", calendar: str = "gregorian") -> str:
    jinja2 = pytest.importorskip("jinja2")
    from markupsafe import Markup

    base = ('<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
            '<title>بحث</title></head><body><main>{% block content %}{% endblock %}</main>'
            '{% block scripts %}{% endblock %}</body></html>')
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.DictLoader({"base.html": base}),
                                    jinja2.FileSystemLoader(str(TEMPLATES))]),
        autoescape=True, undefined=jinja2.StrictUndefined)
    from sitegen.pages.labels import labels_for
    from sitegen.pages.planner import search_settings

    return env.get_template("search.html").render(
        root=root, search_js=Markup(SEARCH_JS.read_text(encoding="utf-8")), labels=labels_for("en" if english else language),
        search_settings=search_settings("en" if english else language, english, "auto" if english else numerals, calendar))


def test_template_markup():
    html = _render()
    assert re.search(r'<form[^>]*role="search"', html)
    assert re.search(r'<label for="q">', html)
    assert re.search(r'<input type="search" id="q" name="q"', html)
    assert 'aria-live="polite"' in html
    assert "<noscript>" in html and "JavaScript" in html
    assert '<script src="search-index.js"></script>' in html
    assert _render("../").count('<script src="../search-index.js">') == 1


def test_fold_table_drops_every_combining_mark_in_all_planes():
    # The table scans only the planes that hold marks; a mark anywhere else would slip through.
    import sys
    import unicodedata

    table = analyser._build_fold_table()
    missed = [hex(cp) for cp in range(sys.maxunicode + 1)
              if unicodedata.category(chr(cp))[0] == "M" and table.get(cp, "kept") is not None]
    assert missed == []


def test_forgetting_the_words_empties_the_memo_and_changes_no_token():
    text = "قال الناشطون في حمص إن القصف استمر طوال الليل، Homs activists said"
    before = tokenize(text)
    memo = analyser._analyser()
    assert memo.chunks and memo.tokens  # what tokenize just analysed is kept
    analyser.forget_words()
    assert not memo.chunks and not memo.tokens
    assert analyser._analyser() is memo  # the analyser (its tables) stays; only its memo goes
    assert tokenize(text) == before


def test_a_build_leaves_no_analysed_words_in_its_own_process(tmp_path):
    # A site this small is made in this process (no workers): its words are analysed here, and
    # the memo of them would sit in the process through the outputs stage (its peak) otherwise.
    from tests.sitekit import build, write_site

    words = " ".join(f"كلمة{i} مختلفة{i}" for i in range(300))
    site = write_site(tmp_path / "site", {"content/2012-02-24-homs.txt": f"{words}\n===\nفقرة ثانية عن حماة\n"})
    result = build(site)
    assert result.written and not [p for p in result.problems if p.is_error]
    assert not analyser._analyser().chunks and not analyser._analyser().tokens


def test_cutting_the_shards_leaves_no_cycle_for_the_collector():
    # A build holds the cyclic collector off: a cycle made here (a closure calling itself, with
    # every term of the site in reach) would hold the site's terms to the end of the build.
    import gc

    terms = writer.js_sorted([f"t{i:05d}" for i in range(3000)])
    sizes = [200] * len(terms)  # 600 KB: shards over the limit are cut again, recursively
    gc.collect()
    gc.disable()
    try:
        starts = writer.split_shards(terms, sizes, 4)
        assert len(starts) > 3000 * 200 // writer.SHARD_LIMIT
        assert gc.collect() == 0, "split_shards left a cycle behind"
    finally:
        gc.enable()
