/* Site search, offline-safe.
 *
 * Works from file://: no Fetch API, no XHR, no modules.  search-index.js (a
 * classic script) sets window.__searchIndex; the term shards and document
 * chunks it lists are loaded on demand by inserting script elements with a
 * src attribute, and each calls window.__searchShard(name, data).
 *
 * The analyser below (normalizeArabic, words, stem) must give exactly the
 * tokens of sitegen/search.py: tests/test_search.py compares them.
 * Results are inserted with createElement/textContent only, never parsed as markup.
 */
(function (w) {
  "use strict";

  // ---------------------------------------------------------------- analyser
  var MAX_TOKEN_LENGTH = 40;
  var MAP = {};
  var i, c;
  function setRange(a, b, v) { for (c = a; c <= b; c++) { MAP[c] = v; } }
  [0x0640, 0x0670, 0x00AD, 0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F,
   0x2060, 0xFEFF].forEach(function (cp) { MAP[cp] = ""; });
  setRange(0x064B, 0x065F, "");   // harakat, shadda, sukun, hamza/madda marks
  setRange(0x0610, 0x061A, "");   // honorific signs, small high letters
  setRange(0x06D6, 0x06DC, "");   // Quranic annotation marks
  setRange(0x06DF, 0x06E8, "");
  setRange(0x06EA, 0x06ED, "");
  MAP[0x0622] = MAP[0x0623] = MAP[0x0625] = MAP[0x0671] = "\u0627"; // آ أ إ ٱ → ا
  MAP[0x0649] = MAP[0x06CC] = "\u064A";                             // ى ی → ي
  MAP[0x0629] = "\u0647";                                           // ة → ه
  MAP[0x06A9] = "\u0643";                                           // ک → ك
  for (i = 0; i < 10; i++) { MAP[0x0660 + i] = MAP[0x06F0 + i] = String(i); }
  var MARK_RE = /\p{M}/gu;
  var NORM_RE = new RegExp("[" + Object.keys(MAP).map(function (k) {
    return "\\u" + ("000" + Number(k).toString(16)).slice(-4);
  }).join("") + "]", "g");
  // Latin letters with diacritics fold to their base letters (é → e, ḥ → h).
  var FOLD = {};
  [[0x00C0, 0x024F], [0x1E00, 0x1EFF]].forEach(function (r) {
    for (var cp = r[0]; cp <= r[1]; cp++) {
      var ch = String.fromCharCode(cp);
      var folded = ch.normalize("NFD").replace(MARK_RE, "");
      if (folded !== ch) { FOLD[ch] = folded; }
    }
  });
  var FOLD_RE = /[\u00C0-\u024F\u1E00-\u1EFF]/g;
  var WORD_RE = /[\p{L}\p{N}]+/gu;
  var ENDS_IN_WORD_RE = /[\p{L}\p{N}]$/u;

  // Lucene ArabicNormalizer, plus digits and invisible characters.
  function normalizeArabic(text) {
    return String(text).replace(NORM_RE, function (ch) { return MAP[ch.charCodeAt(0)]; });
  }

  // NFKC, lower case, Arabic normalisation, Latin folding, no combining marks.
  function prepare(text) {
    return normalizeArabic(String(text).normalize("NFKC").toLowerCase())
      .replace(FOLD_RE, function (ch) { return FOLD[ch] === undefined ? ch : FOLD[ch]; })
      .replace(MARK_RE, "");
  }

  function cpLength(s) { return Array.from(s).length; }

  // Normalised words before stemming (tokens longer than the limit dropped).
  function words(text) {
    return (prepare(text).match(WORD_RE) || []).filter(function (word) {
      return cpLength(word) <= MAX_TOKEN_LENGTH;
    });
  }

  // Lucene ArabicStemmer: at most one prefix, then one ordered pass of suffixes.
  var PREFIXES = ["\u0627\u0644", "\u0648\u0627\u0644", "\u0628\u0627\u0644",
    "\u0643\u0627\u0644", "\u0641\u0627\u0644", "\u0644\u0644", "\u0648"];
  var SUFFIXES = ["\u0647\u0627", "\u0627\u0646", "\u0627\u062A", "\u0648\u0646",
    "\u064A\u0646", "\u064A\u0647", "\u064A\u0629", "\u0647", "\u0629", "\u064A"];

  function stemPrefix(word) {
    var n = cpLength(word);
    for (var k = 0; k < PREFIXES.length; k++) {
      var p = PREFIXES[k];
      if (p.length === 1 && n < 4) { continue; }
      if (n < p.length + 2) { continue; }
      if (word.lastIndexOf(p, 0) === 0) { return word.slice(p.length); }
    }
    return word;
  }

  function stemSuffix(word) {
    var n = cpLength(word);
    for (var k = 0; k < SUFFIXES.length; k++) {
      var s = SUFFIXES[k];
      if (n >= s.length + 2 && word.slice(-s.length) === s) {
        word = word.slice(0, word.length - s.length);
        n -= s.length;
      }
    }
    return word;
  }

  function stem(word) { return stemSuffix(stemPrefix(word)); }

  function tokenize(text) { return words(text).map(stem); }

  // A query as groups of {term, prefix}: every group must match (AND).  The
  // last word, while still being typed, also matches terms that start with
  // its prefix-stripped form.
  function analyze(query) {
    var prepared = prepare(query);
    var all = prepared.match(WORD_RE) || [];
    var open = all.length > 0 && ENDS_IN_WORD_RE.test(prepared);
    var groups = [];
    var seen = {};
    all.forEach(function (word, k) {
      if (cpLength(word) > MAX_TOKEN_LENGTH) { return; }
      var term = stem(word);
      var prefix = null;
      if (open && k === all.length - 1) {
        prefix = stemPrefix(word);
        if (cpLength(prefix) < 2) { prefix = null; }
      }
      if (Object.prototype.hasOwnProperty.call(seen, term)) {
        if (prefix) { seen[term].prefix = prefix; }
        return;
      }
      seen[term] = { term: term, prefix: prefix };
      groups.push(seen[term]);
    });
    return groups.slice(0, 10);
  }

  // ---------------------------------------------------------------- postings
  var TERMINAL = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$";
  var CONTINUATION = "!#%'()*+,-./:;=?@[]^`{|}~";
  var DIGIT = {};
  for (i = 0; i < TERMINAL.length; i++) { DIGIT[TERMINAL.charCodeAt(i)] = i; }
  for (i = 0; i < CONTINUATION.length; i++) { DIGIT[CONTINUATION.charCodeAt(i)] = -1 - i; }

  // "packed" → [docId, weight, docId, weight, ...]
  function decodePostings(packed, weights) {
    var out = [];
    var prev = -1;
    var acc = 0;
    for (var k = 0; k < packed.length; k++) {
      var d = DIGIT[packed.charCodeAt(k)];
      if (d === undefined) { break; }
      if (d < 0) { acc = acc * 25 + (-1 - d); continue; }
      var value = acc * 64 + d;
      acc = 0;
      prev = prev + 1 + Math.floor(value / weights);
      out.push(prev, (value % weights) + 1);
    }
    return out;
  }

  // ---------------------------------------------------------------- engine
  // load(path, done): make the script at `path` (relative to the site root)
  // run, then call done(); the script calls window.__searchShard.
  function Engine(index, load) {
    this.index = index;
    this.load = load;
    this.cache = {};
    this.waiting = {};
    var self = this;
    w.__searchShard = function (name, data) {
      name = String(name);
      self.cache[name] = data;
      var entry = self.waiting[name];
      if (entry) { delete self.waiting[name]; entry.resolve(data); }
    };
  }

  Engine.prototype.shardName = function (kind, n) {
    var s = String(n);
    while (s.length < this.index.width) { s = "0" + s; }
    return kind + s;
  };

  Engine.prototype.shard = function (name) {
    var self = this;
    if (Object.prototype.hasOwnProperty.call(this.cache, name)) {
      return Promise.resolve(this.cache[name]);
    }
    if (this.waiting[name]) { return this.waiting[name].promise; }
    var entry = {};
    entry.promise = new Promise(function (resolve, reject) {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    this.waiting[name] = entry;
    this.load(this.index.dir + name + ".js", function () {
      if (self.waiting[name] === entry) {
        delete self.waiting[name];
        entry.reject(new Error("search shard " + name + " did not load"));
      }
    });
    return entry.promise;
  };

  // Index of the term shard that would hold `term`.
  Engine.prototype.termShard = function (term) {
    var bounds = this.index.termShards;
    var lo = 0;
    var hi = bounds.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (bounds[mid] <= term) { lo = mid; } else { hi = mid - 1; }
    }
    return lo;
  };

  var MAX_PREFIX_SHARDS = 3;
  var MAX_PREFIX_TERMS = 400;

  // Resolves to {groups, ids}: matching document ids, best first.
  Engine.prototype.search = function (query) {
    var self = this;
    var groups = analyze(query);
    if (!groups.length || !this.index.termShards.length) {
      return Promise.resolve({ groups: groups, ids: [] });
    }
    var needed = {};
    groups.forEach(function (g) {
      g.shards = [self.termShard(g.term)];
      if (g.prefix) {
        var lo = self.termShard(g.prefix);
        var hi = self.termShard(g.prefix + "\uffff");
        if (hi - lo + 1 > MAX_PREFIX_SHARDS) {
          g.prefix = null;
        } else {
          for (var s = lo; s <= hi; s++) { g.shards.push(s); }
        }
      }
      g.shards.forEach(function (s) { needed[s] = true; });
    });
    var names = Object.keys(needed).map(function (s) { return self.shardName("t", Number(s)); });
    return Promise.all(names.map(function (n) { return self.shard(n); })).then(function () {
      return { groups: groups, ids: self.rank(groups) };
    });
  };

  Engine.prototype.rank = function (groups) {
    var self = this;
    var weights = this.index.weights;
    var has = Object.prototype.hasOwnProperty;
    var maps = groups.map(function (g) {
      var scores = new Map();
      var seenShard = {};
      g.shards.forEach(function (s, k) {
        if (has.call(seenShard, s)) { return; }
        seenShard[s] = true;
        var data = self.cache[self.shardName("t", s)] || {};
        if (k === 0 && has.call(data, g.term)) {
          var p = decodePostings(data[g.term], weights);
          for (var j = 0; j < p.length; j += 2) {
            scores.set(p[j], Math.max(scores.get(p[j]) || 0, 2 * p[j + 1]));
          }
        }
        if (!g.prefix) { return; }
        var count = 0;
        Object.keys(data).forEach(function (term) {
          if (term === g.term || count >= MAX_PREFIX_TERMS ||
              term.lastIndexOf(g.prefix, 0) !== 0) { return; }
          count++;
          var q = decodePostings(data[term], weights);
          for (var j = 0; j < q.length; j += 2) {
            scores.set(q[j], Math.max(scores.get(q[j]) || 0, q[j + 1]));
          }
        });
      });
      return scores;
    });
    maps.sort(function (a, b) { return a.size - b.size; });
    var result = [];
    maps[0].forEach(function (score, doc) {
      for (var k = 1; k < maps.length; k++) {
        var other = maps[k].get(doc);
        if (other === undefined) { return; }
        score += other;
      }
      result.push([doc, score]);
    });
    // More/more frequent matches first, then newest (ids are in date order).
    result.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
    return result.map(function (r) { return r[0]; });
  };

  // Resolves to [{id, urlAr, titleAr, date, urlEn, titleEn, snippet}, ...].
  Engine.prototype.documents = function (ids) {
    var self = this;
    var chunk = this.index.docChunk;
    var needed = {};
    ids.forEach(function (id) { needed[Math.floor(id / chunk)] = true; });
    return Promise.all(Object.keys(needed).map(function (n) {
      return self.shard(self.shardName("d", Number(n)));
    })).then(function () {
      return ids.map(function (id) {
        var rows = self.cache[self.shardName("d", Math.floor(id / chunk))] || [];
        var r = rows[id % chunk] || [];
        return { id: id, urlAr: r[0], titleAr: r[1], date: r[2], urlEn: r[3],
                 titleEn: r[4], snippet: r[5] };
      });
    });
  };

  w.__searchCore = {
    normalizeArabic: normalizeArabic,
    words: words,
    stem: stem,
    stemPrefix: stemPrefix,
    tokenize: tokenize,
    analyze: analyze,
    decodePostings: decodePostings,
    Engine: Engine
  };

  // ---------------------------------------------------------------- page
  if (typeof document === "undefined" || !document.getElementById) { return; }

  var PAGE_SIZE = 20;
  var DEBOUNCE_MS = 200;
  var TEXT = {
    noIndex: "تعذّر تحميل فهرس البحث.",
    failed: "تعذّر تحميل جزء من فهرس البحث.",
    searching: "جارٍ البحث…",
    noWords: "اكتب كلمة أو أكثر للبحث.",
    none: "لا توجد نتائج مطابقة.",
    count: function (n) { return n === 1 ? "نتيجة واحدة" : "عدد النتائج: " + n; },
    english: "بالإنجليزية: ",
    more: "عرض المزيد"
  };

  function start() {
    var input = document.getElementById("q");
    var status = document.getElementById("search-status");
    var list = document.getElementById("search-list");
    var more = document.getElementById("search-more");
    if (!input || !status || !list) { return; }
    var form = input.form;
    var index = w.__searchIndex;
    if (!index || !index.termShards) { status.textContent = TEXT.noIndex; return; }

    var base = index.base;
    if (!base) {
      var tag = document.querySelector('script[src$="search-index.js"]');
      base = tag ? tag.src : document.baseURI;
    }
    var baseUrl = new URL(base, document.baseURI);

    function resolve(path) {
      if (typeof path !== "string" || !path) { return null; }
      try {
        var u = new URL(path, baseUrl);
        return u.protocol === baseUrl.protocol ? u.href : null;
      } catch (e) { return null; }
    }

    var engine = new Engine(index, function (path, done) {
      var s = document.createElement("script");
      var finished = false;
      function finish() {
        if (finished) { return; }
        finished = true;
        if (s.parentNode) { s.parentNode.removeChild(s); }
        done();
      }
      s.onload = finish;
      s.onerror = finish;
      s.src = resolve(path);
      (document.head || document.documentElement).appendChild(s);
    });

    var seq = 0;
    var current = { query: null, ids: [], shown: 0 };
    var timer = null;

    function clear() {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      if (more) { more.hidden = true; }
    }

    function el(tag, className, text) {
      var e = document.createElement(tag);
      if (className) { e.className = className; }
      if (text !== undefined && text !== null) { e.textContent = String(text); }
      return e;
    }

    function link(href, text, lang) {
      var url = resolve(href);
      var e = el(url ? "a" : "span", null, text || href || "");
      if (url) { e.href = url; }
      if (lang === "en") { e.lang = "en"; e.dir = "ltr"; }
      return e;
    }

    function renderDoc(d) {
      var li = el("li", "search-result");
      var h = el("h2", "search-result-title");
      h.appendChild(link(d.urlAr, d.titleAr, "ar"));
      li.appendChild(h);
      if (d.date) {
        var meta = el("p", "search-result-date");
        var t = el("time", null, d.date);
        if (/^\d{4}-\d{2}-\d{2}$/.test(d.date)) { t.dateTime = d.date; }
        meta.appendChild(t);
        li.appendChild(meta);
      }
      if (d.urlEn || d.titleEn) {
        var en = el("p", "search-result-en", TEXT.english);
        en.appendChild(link(d.urlEn, d.titleEn || d.urlEn, "en"));
        li.appendChild(en);
      }
      if (d.snippet) { li.appendChild(el("p", "search-result-snippet", d.snippet)); }
      return li;
    }

    function showMore(mySeq) {
      var ids = current.ids.slice(current.shown, current.shown + PAGE_SIZE);
      if (!ids.length) { return Promise.resolve(); }
      return engine.documents(ids).then(function (docs) {
        if (mySeq !== seq) { return; }
        docs.forEach(function (d) { list.appendChild(renderDoc(d)); });
        current.shown += ids.length;
        if (more) { more.hidden = current.shown >= current.ids.length; }
      });
    }

    function fail(mySeq) {
      return function () { if (mySeq === seq) { status.textContent = TEXT.failed; } };
    }

    function updateUrl(query) {
      try {
        var u = new URL(w.location.href);
        if (query) { u.searchParams.set("q", query); } else { u.searchParams.delete("q"); }
        if (u.href !== w.location.href) { w.history.replaceState(null, "", u.href); }
      } catch (e) { /* file:// may refuse; the search still works */ }
    }

    function run(force) {
      var query = input.value;
      if (!force && query === current.query) { return; }
      var mySeq = ++seq;
      current = { query: query, ids: [], shown: 0 };
      if (!query.trim()) { clear(); status.textContent = ""; updateUrl(""); return; }
      status.textContent = TEXT.searching;
      engine.search(query).then(function (res) {
        if (mySeq !== seq) { return; }
        clear();
        updateUrl(query);
        if (!res.groups.length) { status.textContent = TEXT.noWords; return; }
        current.ids = res.ids;
        status.textContent = res.ids.length ? TEXT.count(res.ids.length) : TEXT.none;
        return showMore(mySeq);
      }).catch(fail(mySeq));
    }

    input.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () { timer = null; run(false); }, DEBOUNCE_MS);
    });
    if (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (timer) { clearTimeout(timer); timer = null; }
        run(true);
      });
    }
    if (more) {
      more.textContent = TEXT.more;
      more.addEventListener("click", function () {
        showMore(seq).catch(fail(seq));
      });
    }

    var initial = null;
    try { initial = new URLSearchParams(w.location.search).get("q"); } catch (e) { initial = null; }
    if (initial) { input.value = initial; }
    if (input.value) { run(true); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(typeof window !== "undefined" ? window : this);
