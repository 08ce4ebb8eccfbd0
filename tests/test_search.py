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


def _shard_data(files: dict[str, bytes], path: str):
    """The data a shard file passes to window.__searchShard, checking that the
    name it passes is the one its path gives ("search/b3/t001.js" → "b3/t001")."""
    name = re.fullmatch(r"search/(b\d+/(?:index|[td]\d{3,}))\.js", path)[1]
    text = files[path].decode("utf-8").lstrip("\ufeff").rstrip("\n")
    head = f'window.__searchShard("{name}",'
    assert text.startswith(head) and text.endswith(");"), text[:80]
    return json.loads(text[len(head):-2])


def _root_data(files: dict[str, bytes]) -> dict:
    text = files["search-index.js"].decode("utf-8")
    return json.loads(re.search(r"window\.__searchIndex=(\{.*?\});", text)[1])


def _day(date: str | None) -> int:
    return datetime.date.fromisoformat(date).toordinal() if date else 0


@pytest.mark.parametrize("buckets", [None, 1, 3])
def test_index_paths_and_script_safety(buckets):
    files = build_search_index(_docs(), buckets=buckets)
    assert "search-index.js" in files
    for path, content in files.items():
        assert re.fullmatch(r"[a-z0-9_/-]+\.js", path), path
        text = content.decode("utf-8")
        assert text.startswith("\ufeff")  # BOM: decoded as UTF-8 whatever the page says
        lowered = text.lower()
        assert "</script" not in lowered and "<!--" not in lowered and "<" not in text
        assert "\u2028" not in text and "\u2029" not in text
    root = _root_data(files)
    n = root["buckets"]
    assert n == (buckets or 1) and root["docs"] == len(_docs()) and root["dir"] == "search/"
    assert root["version"] == 2 and root["weights"] == codec.MAX_WEIGHT
    for path in files:
        if path != "search-index.js":
            assert re.fullmatch(r"search/b(\d+)/(index|[td]\d{3})\.js", path), path
            assert int(re.match(r"search/b(\d+)/", path)[1]) < n, path
    rows_seen = []
    for b in range(n):
        meta = _shard_data(files, f"search/b{b}/index.js")
        assert meta["buckets"] == n and meta["width"] == 3
        assert meta["docChunk"] == writer.DOC_CHUNK
        term_paths = sorted(p for p in files if re.fullmatch(rf"search/b{b}/t\d+\.js", p))
        doc_paths = sorted(p for p in files if re.fullmatch(rf"search/b{b}/d\d+\.js", p))
        assert term_paths == [f"search/b{b}/t{i:03d}.js" for i in range(len(meta["termShards"]))]
        assert doc_paths == [f"search/b{b}/d{i:03d}.js" for i in range(-(-meta["docs"] // writer.DOC_CHUNK))]
        rows = [row for p in doc_paths for row in _shard_data(files, p)]
        assert len(rows) == meta["docs"]
        # Every document sits in the bucket of its Arabic URL, in (date desc, URL) order...
        assert all(writer.bucket_of(row[0], n) == b for row in rows)
        assert [row[0] for row in rows] == [row[0] for row in sorted(rows, key=lambda r: (-_day(r[2]), r[0]))]
        # ... and the bucket's packed days are their day numbers, delta-encoded, in that order.
        deltas = codec._decode_numbers(meta["days"])
        days = [sum(deltas[:1]) - sum(deltas[1:i + 1]) for i in range(len(deltas))]
        assert days == [_day(row[2]) for row in rows]
        # Term shard bounds: the first term of each shard, in order.
        assert meta["termShards"][:1] == [""] * bool(term_paths)
        for i, p in enumerate(term_paths):
            terms = list(_shard_data(files, p))
            assert terms and terms == sorted(terms)
            assert terms[0] >= meta["termShards"][i]
            if i + 1 < len(term_paths):
                assert terms[-1] < meta["termShards"][i + 1]
        rows_seen += [row[0] for row in rows]
    assert sorted(rows_seen) == sorted(d.url_ar for d in _docs())


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
    assert set(files) == {"search-index.js", "search/b0/index.js"}  # the page loads every bucket's index
    assert _root_data(files) == {"buckets": 1, "dir": "search/", "docs": 0, "version": 2,
                                 "weights": codec.MAX_WEIGHT}
    meta = _shard_data(files, "search/b0/index.js")
    assert meta["docs"] == 0 and meta["termShards"] == [] and meta["days"] == "" and meta["buckets"] == 1


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
    if (pageSize) {
      // As the search page does: only the results shown are put in final order, a page at a time.
      const res = await engine.search(q, pageSize);
      r.orderedAfterSearch = res.ordered;
      r.pages = [];
      for (let start = 0; start < res.ids.length; start += pageSize) {
        r.pages.push(plain(await engine.page(res, start, pageSize)).map(d => d.urlAr));
      }
    }
    const asked = requested.length;
    const res = await engine.search(q);  // the whole order
    r.searchRequested = [...new Set(requested.slice(asked))];
    r.ids = Array.from(res.ids);
    r.ordered = res.ordered;
    r.searchLoaded = loaded.slice(mark);
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
@pytest.mark.parametrize("buckets", [None, 3])
def test_end_to_end_queries(tmp_path, buckets):
    files = build_search_index(_docs(), buckets=buckets)
    _write(files, tmp_path)
    n = _root_data(files)["buckets"]
    queries = ["احمد", "حمـــص", "مُسْتَشْفًى ", "hospital", "Homs 2012", "احمد xyz", "hosp",
               "المستشف", "٢٠١٢", "حمص", "عريض", "evil"]
    results = _search(tmp_path, queries, page_size=2)
    res = {q: r for q, r in zip(queries, results)}
    urls = {q: [d["urlAr"] for d in r["docs"]] for q, r in res.items()}

    # The first query loads every bucket's index, once; later ones none.
    first = results[0]["searchLoaded"]
    assert sorted(p for p in first if p.endswith("/index.js")) == \
        sorted(f"search/b{b}/index.js" for b in range(n))
    assert not any(p.endswith("/index.js") for r in results[1:] for p in r["searchLoaded"] + r["docsLoaded"])
    for q, r in res.items():
        assert all(re.fullmatch(r"\d+:\d+", i) for i in r["ids"]), r["ids"]
        assert len(set(r["ids"])) == len(r["ids"])
        assert r["ordered"] == len(r["ids"])
        assert r["orderedAfterSearch"] >= min(2, len(r["ids"]))
        assert [d["id"] for d in r["docs"]] == r["ids"][:20]
        assert [u for page in r["pages"] for u in page] == urls[q]  # paging gives the same order

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
                     "snippet": "ذهب أَحْمَد إلى المستشفى في مدينة حمص، «الخالدية»؟ ٢٠١٢"}
    evil = res["evil"]["docs"][0]  # hostile text survives the round trip unchanged
    assert evil["titleAr"] == "</script><script>alert(1)</script>\u2028\u2029<!-- \"\\"
    assert evil["titleEn"] == "</script >Evil & co"
    assert res["عريض"]["docs"][0]["urlAr"] == "ar/evil.html"


def _vocabulary(rnd: random.Random) -> list[str]:
    letters = "ابتثجحخدذرسشصطعغفقكلمنهويءأإآةى"
    return ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 6))) for _ in range(300)] + \
        ["".join(rnd.choice("abcdefghij") for _ in range(rnd.randint(2, 6))) for _ in range(100)] + \
        ["سم" + "".join(rnd.choice(letters) for _ in range(rnd.randint(2, 4))) for _ in range(150)]
    # (the last: a crowd of terms sharing a prefix, so that in some buckets a
    # query for that prefix spans more term shards than search.js will load)


# A few dates and undated documents: many results tie on score and date, in
# different buckets, so the URL tie-break across buckets is exercised.
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
    """Ranks documents by scanning them all, knowing of the index only each
    bucket's term-shard bounds (for the limit on the shards a prefix may span)."""

    def __init__(self, docs: list[SearchDocument], files: dict[str, bytes]):
        self.docs = docs
        self.weights = [_weights(d) for d in docs]
        self.buckets = _root_data(files)["buckets"]
        self.bounds = [_shard_data(files, f"search/b{b}/index.js")["termShards"] for b in range(self.buckets)]
        self.bucket = [writer.bucket_of(d.url_ar, self.buckets) for d in docs]
        self.prefix_limited = 0  # (query word, bucket) pairs where the prefix was not searched
        self.prefix_matched = 0  # documents matched only through a prefix

    def _prefix_allowed(self, prefix: str, bucket: int) -> bool:
        bounds = self.bounds[bucket]
        lo = bisect_right(bounds, prefix) - 1
        hi = bisect_right(bounds, prefix + "\uffff") - 1
        return hi - lo + 1 <= MAX_PREFIX_SHARDS

    def rank(self, query: str) -> list[str]:
        groups = _query_groups(query)
        if not groups:
            return []
        allowed = {}
        for term, prefix in groups:
            for b in range(self.buckets):
                ok = bool(prefix) and bool(self.bounds[b]) and self._prefix_allowed(prefix, b)
                allowed[prefix, b] = ok
                if prefix and self.bounds[b] and not ok:
                    self.prefix_limited += 1
                if ok:
                    terms = {t for i, w in enumerate(self.weights) if self.bucket[i] == b
                             for t in w if t != term and t.startswith(prefix)}
                    assert len(terms) < MAX_PREFIX_TERMS  # that limit is not modelled
        scored = []
        for i, (d, w) in enumerate(zip(self.docs, self.weights)):
            total = 0
            for term, prefix in groups:
                score = 2 * w.get(term, 0)
                if allowed[prefix, self.bucket[i]]:
                    best = max((n for t, n in w.items() if t != term and t.startswith(prefix)), default=0)
                    if best and not score:
                        self.prefix_matched += 1
                    score = max(score, best)
                if not score:
                    break
                total += score
            else:
                scored.append((-total, -_day(d.date), writer._utf16_key(d.url_ar), d.url_ar))
        return [url for *_, url in sorted(scored)]


def _check_against_brute_force(site: Path, docs, files, queries, page_size: int) -> _BruteForce:
    brute = _BruteForce(docs, files)
    results = _search(site, queries, page_size=page_size, all_docs=True)
    n = brute.buckets
    for q, r in zip(queries, results):
        expected = brute.rank(q)
        got = [d["urlAr"] for d in r["docs"]]
        assert got == expected, q
        assert [u for page in r["pages"] for u in page] == expected, q
        assert r["orderedAfterSearch"] >= min(page_size, len(expected))
        # Only the shards the query needs: per bucket, one term shard per word,
        # and at most MAX_PREFIX_SHARDS more for the word being typed.
        groups = _query_groups(q)
        for b in range(n):
            term_shards = [p for p in r["searchRequested"] if re.fullmatch(rf"b{b}/t\d+", p)]
            assert len(term_shards) <= len(groups) + MAX_PREFIX_SHARDS * any(p for _, p in groups), q
            assert not groups or term_shards or not brute.bounds[b], q
        # (document chunks too: search(q) puts all the results in order, so
        # breaks the ties across buckets by URL)
        assert all(re.fullmatch(r"b\d+/(index|[td]\d+)", p) for p in r["searchRequested"]), q
        assert not [p for p in r["docsLoaded"] if "/t" in p]
    return brute


@needs_node
def test_sharded_search_matches_brute_force(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "TERM_SHARD_TARGET", 400)  # many small shards
    monkeypatch.setattr(writer, "BUCKET_TARGET", 32)       # and several buckets
    rnd = random.Random(11)
    vocab = _vocabulary(rnd)
    docs = _random_docs(rnd, 150, vocab)
    files = build_search_index(docs)
    n = _root_data(files)["buckets"]
    assert n == 8
    for b in range(n):
        assert sum(bool(re.fullmatch(rf"search/b{b}/t\d+\.js", p)) for p in files) > 5
    _write(files, tmp_path)
    brute = _check_against_brute_force(tmp_path, docs, files, _random_queries(rnd, docs, vocab), page_size=7)
    # Both sides of the prefix rules were met.
    assert brute.prefix_limited > 0 and brute.prefix_matched > 0


@needs_node
def test_multi_bucket_index_ranks_as_single_bucket(tmp_path):
    rnd = random.Random(5)
    vocab = _vocabulary(rnd)[:400]
    docs = _random_docs(rnd, 120, vocab)
    queries = _random_queries(rnd, docs, vocab)
    ranked = {}
    for buckets in (1, 5, 16):
        files = build_search_index(docs, buckets=buckets)
        site = tmp_path / f"b{buckets}"
        _write(files, site)
        results = _search(site, queries, page_size=6, all_docs=True)
        ranked[buckets] = [r["docs"] for r in results]
        for r in results:
            assert [u for page in r["pages"] for u in page] == [d["urlAr"] for d in r["docs"]]
        brute = _BruteForce(docs, files)
        assert [[d["urlAr"] for d in r] for r in ranked[buckets]] == [brute.rank(q) for q in queries]
        assert brute.prefix_limited == 0  # the same prefixes searched in every layout
    strip = lambda rows: [{k: v for k, v in d.items() if k != "id"} for d in rows]  # noqa: E731
    for q, one, five, sixteen in zip(queries, ranked[1], ranked[5], ranked[16]):
        assert strip(five) == strip(one), q
        assert strip(sixteen) == strip(one), q
    # Every document has the title word once and the texts never have it: one
    # score for all, so the order is by date (newest first, undated last), then URL.
    assert not any("عنوان" in d.text_ar for d in docs)
    everything = strip(ranked[5][queries.index("عنوان ")])
    assert len(everything) == len(docs)
    assert [d["urlAr"] for d in everything] == \
        [d.url_ar for d in sorted(docs, key=lambda d: (-_day(d.date), d.url_ar))]
    assert {d["date"] for d in everything} == set(_DATES)


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


def test_fold_table_drops_every_combining_mark_in_all_planes():
    # The table scans only the planes that hold marks; a mark anywhere else would slip through.
    import sys
    import unicodedata

    table = analyser._build_fold_table()
    missed = [hex(cp) for cp in range(sys.maxunicode + 1)
              if unicodedata.category(chr(cp))[0] == "M" and table.get(cp, "kept") is not None]
    assert missed == []
