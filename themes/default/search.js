/* Site search, offline-safe.
 *
 * Works from file://: no Fetch API, no XHR, no modules.  search-index.js (a
 * classic script) sets window.__searchIndex (number of documents, the first term
 * of each term shard); term shards (search/t<hash>.js) and document chunks
 * (search/d<n>.js) are loaded on demand by inserting script elements with a src
 * attribute, and each calls window.__searchShard(name, data).
 *
 * The analyser below (normalizeArabic, words, stem) must give exactly the
 * tokens of sitegen/outputs/search/analyser.py: tests/test_search.py compares them.
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
  // harakat, shadda, sukun, hamza/madda marks
  setRange(0x064B, 0x065F, "");
  // honorific signs, small high letters
  setRange(0x0610, 0x061A, "");
  // Quranic annotation marks
  setRange(0x06D6, 0x06DC, "");
  setRange(0x06DF, 0x06E8, "");
  setRange(0x06EA, 0x06ED, "");
  // آ أ إ ٱ → ا
  MAP[0x0622] = MAP[0x0623] = MAP[0x0625] = MAP[0x0671] = "\u0627";
  // ى ی → ي
  MAP[0x0649] = MAP[0x06CC] = "\u064A";
  // ة → ه
  MAP[0x0629] = "\u0647";
  // ک → ك
  MAP[0x06A9] = "\u0643";
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

  // Lucene EnglishMinimalStemmer on words of a to z only: plural -s ("archives" →
  // "archive", "cities" → "city"), not -ss, -us, or -es after a vowel + i/a/o/e.
  var ENGLISH_RE = /^[a-z]+$/;
  function stemEnglish(word) {
    var n = word.length;
    if (n < 3 || word.charAt(n - 1) !== "s" || !ENGLISH_RE.test(word)) { return word; }
    var c = word.charAt(n - 2);
    if (c === "u" || c === "s") { return word; }
    if (c === "e") {
      var b = word.charAt(n - 3);
      if (n > 3 && b === "i" && word.charAt(n - 4) !== "a" && word.charAt(n - 4) !== "e") {
        return word.slice(0, n - 3) + "y";
      }
      if (b === "i" || b === "a" || b === "o" || b === "e") { return word; }
    }
    return word.slice(0, n - 1);
  }

  function stem(word) { return stemEnglish(stemSuffix(stemPrefix(word))); }

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

  // A common term's postings as a row of weights (sitegen/outputs/search/dense.py): a space,
  // the number of postings, then two digits for every five documents, a number of five digits
  // in base weights + 1 (0: not there), the first document's the most significant.
  function rowDigit(packed, k) { var d = DIGIT[packed.charCodeAt(k)]; return d < 0 ? 63 - d : d; }
  // weights -> the five digits of every pair, made once
  var ROW_DIGITS = {};

  function decodeRow(packed, weights) {
    var base = weights + 1, k = 1, count = 0, doc = 0, n = 0, j, d, w, value;
    var digits = ROW_DIGITS[weights];
    if (!digits) {
      digits = ROW_DIGITS[weights] = new Uint8Array(5 * 89 * 89);
      for (value = 0; value < 89 * 89; value++) {
        for (j = 4, d = value; j >= 0; j--, d = Math.floor(d / base)) { digits[5 * value + j] = d % base; }
      }
    }
    while ((d = DIGIT[packed.charCodeAt(k)]) < 0) { count = count * 25 - 1 - d; k++; }
    count = count * 64 + d;
    var out = new Int32Array(2 * count);
    for (k++; k + 1 < packed.length; k += 2, doc += 5) {
      value = 5 * (rowDigit(packed, k) * 89 + rowDigit(packed, k + 1));
      for (j = 0; j < 5; j++) {
        w = digits[value + j];
        if (w > 0 && w <= weights && n < out.length) { out[n++] = doc + j; out[n++] = w; }
      }
    }
    return out.subarray(0, n);
  }

  // "packed" → [docId, weight, docId, weight, ...]
  function decodePostings(packed, weights) {
    if (packed.charAt(0) === " ") { return decodeRow(packed, weights); }
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

  // The file name of the term shard starting at `term`: two 32-bit FNV-1a hashes of its
  // UTF-16 code units (sitegen/outputs/search/writer.py shard_name computes the same).
  function fnv1a(s, h) {
    for (var k = 0; k < s.length; k++) {
      h = Math.imul(h ^ s.charCodeAt(k), 16777619) >>> 0;
    }
    return ("0000000" + h.toString(16)).slice(-8);
  }

  function shardName(term) { return "t" + fnv1a(term, 0x811C9DC5) + fnv1a(term, 0x050C5D1F); }

  // ---------------------------------------------------------------- engine
  // One index for the whole site (see sitegen/outputs/search): search-index.js holds
  // the number of documents and the first term of every term shard; a query loads
  // one term shard per word (a few more for the word being typed), then the document
  // chunks of the results shown.
  //
  // Document ids run oldest first, so results are ordered by score (best first), then
  // id, highest first: newest first, undated last, then Arabic URL.
  //
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

  var has = Object.prototype.hasOwnProperty;

  Engine.prototype.shard = function (name) {
    var self = this;
    if (has.call(this.cache, name)) {
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

  // Index of the term shard (of the sorted first terms) that would hold `term`.
  function termShard(bounds, term) {
    var lo = 0;
    var hi = bounds.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (bounds[mid] <= term) { lo = mid; } else { hi = mid - 1; }
    }
    return lo;
  }

  // per query word: a longer range of terms is not searched
  var MAX_PREFIX_SHARDS = 3;
  // per query word
  var MAX_PREFIX_TERMS = 400;

  // Resolves to {groups, ids}: `ids` are all the matching document ids, best first.
  Engine.prototype.search = function (query) {
    var self = this;
    var groups = analyze(query);
    var bounds = this.index.shards;
    if (!groups.length || !this.index.docs || !bounds.length) {
      return Promise.resolve({ groups: groups, ids: [] });
    }
    var needed = {};
    var words = groups.map(function (g) {
      var p = { term: g.term, prefix: g.prefix, shard: termShard(bounds, g.term), lo: 0, hi: -1 };
      needed[shardName(bounds[p.shard])] = true;
      if (p.prefix) {
        var lo = termShard(bounds, p.prefix);
        var hi = termShard(bounds, p.prefix + "\uffff");
        if (hi - lo + 1 > MAX_PREFIX_SHARDS) {
          p.prefix = null;
        } else {
          p.lo = lo;
          p.hi = hi;
          for (var s = lo; s <= hi; s++) { needed[shardName(bounds[s])] = true; }
        }
      }
      return p;
    });
    return Promise.all(Object.keys(needed).map(function (n) { return self.shard(n); })).then(function () {
      return { groups: groups, ids: self.rank(words) };
    });
  };

  // The matching ids, best first: every word must match (AND); a word scores twice its
  // weight where it matches exactly, its weight where only a term it starts matches.
  // A word's scores are a byte a document (a Map of fifty thousand took a third of a second
  // for ten common words), and the results are sorted as numbers: score * docs + id.
  Engine.prototype.rank = function (words) {
    var self = this;
    var bounds = this.index.shards;
    var weights = this.index.weights;
    var docs = this.index.docs;
    var lists = words.map(function (p) {
      var list = { scores: new Uint8Array(docs), ids: [] };
      var data = self.cache[shardName(bounds[p.shard])] || {};
      if (has.call(data, p.term)) { addScores(list, decodePostings(data[p.term], weights), 2); }
      if (!p.prefix) { return list; }
      var count = 0;
      for (var s = p.lo; s <= p.hi; s++) {
        var shard = self.cache[shardName(bounds[s])] || {};
        Object.keys(shard).forEach(function (term) {
          if (term === p.term || count >= MAX_PREFIX_TERMS ||
              term.lastIndexOf(p.prefix, 0) !== 0) { return; }
          count++;
          addScores(list, decodePostings(shard[term], weights), 1);
        });
      }
      return list;
    });
    lists.sort(function (x, y) { return x.ids.length - y.ids.length; });
    var keys = [];
    var first = lists[0];
    next: for (var e = 0; e < first.ids.length; e++) {
      var id = first.ids[e];
      var score = first.scores[id];
      for (var k = 1; k < lists.length; k++) {
        var other = lists[k].scores[id];
        if (!other) { continue next; }
        score += other;
      }
      keys.push(score * docs + id);
    }
    return Array.from(Float64Array.from(keys).sort().reverse(), function (key) { return key % docs; });
  };

  // A term's postings into a word's scores: the best of its terms' for each document.
  function addScores(list, postings, factor) {
    var scores = list.scores;
    for (var j = 0; j < postings.length; j += 2) {
      var id = postings[j], score = factor * postings[j + 1];
      if (!(id < scores.length)) { continue; }
      if (!scores[id]) { list.ids.push(id); }
      if (score > scores[id]) { scores[id] = score; }
    }
  }

  // Loads the document chunks holding the given ids.
  Engine.prototype.loadRows = function (ids) {
    var self = this;
    var needed = {};
    ids.forEach(function (id) { needed["d" + Math.floor(id / self.index.docChunk)] = true; });
    return Promise.all(Object.keys(needed).map(function (n) { return self.shard(n); }));
  };

  // A title as a chunk row holds it (writer.title_code): a number is the length of the
  // snippet's start that makes the title, followed by "…" when positive.
  function titleOf(title, snippet) {
    if (typeof title !== "number") { return title; }
    return title > 0 ? snippet.slice(0, title) + "…" : snippet.slice(0, -title);
  }

  // [url_ar, title_ar, date, url_en, title_en, snippet, snippet_en] of a loaded id.
  Engine.prototype.row = function (id) {
    var rows = this.cache["d" + Math.floor(id / this.index.docChunk)] || [];
    return rows[id % this.index.docChunk] || [];
  };

  // Resolves to [{id, urlAr, titleAr, date, urlEn, titleEn, snippet, snippetEn}, ...] for result ids.
  Engine.prototype.documents = function (ids) {
    var self = this;
    return this.loadRows(ids).then(function () {
      return ids.map(function (id) {
        var r = self.row(id);
        return { id: id, urlAr: r[0], titleAr: titleOf(r[1], r[5]), date: r[2], urlEn: r[3],
                 titleEn: titleOf(r[4], r[6]), snippet: r[5], snippetEn: r[6] };
      });
    });
  };

  // Resolves to the documents of results start .. start + count - 1 of a search() result.
  Engine.prototype.page = function (res, start, count) {
    return this.documents(res.ids.slice(start, start + count));
  };

  // [year, month, day] of an ISO Gregorian day in the Umm al-Qura calendar, or null outside
  // the table: table.start is the first month's day (days since 1970-01-01), table.lengths
  // each month's length less 28 (sitegen/content/metadata.py hijri_names).
  function hijriNumbers(iso, table) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
    if (!m) { return null; }
    var day = Date.UTC(+m[1], +m[2] - 1, +m[3]) / 86400000 - table.start;
    if (!(day >= 0)) { return null; }
    for (var k = 0; k < table.lengths.length; k++) {
      var length = 28 + (+table.lengths.charAt(k));
      if (day < length) { return [table.firstYear + Math.floor(k / 12), k % 12 + 1, day + 1]; }
      day -= length;
    }
    return null;
  }

  w.__searchCore = {
    hijriNumbers: hijriNumbers,
    normalizeArabic: normalizeArabic,
    words: words,
    stem: stem,
    stemPrefix: stemPrefix,
    stemEnglish: stemEnglish,
    tokenize: tokenize,
    analyze: analyze,
    decodePostings: decodePostings,
    shardName: shardName,
    Engine: Engine
  };

  // ---------------------------------------------------------------- page
  if (typeof document === "undefined" || !document.getElementById) { return; }

  var PAGE_SIZE = 20;
  // the layout of sitegen/outputs/search/writer.py this page reads
  var INDEX_VERSION = 6;
  var DEBOUNCE_MS = 200;
  // The page's words, month names and digits (sitegen/pages/planner.py search_page): the same
  // page script serves search.html in Arabic and en/search.html in English.
  var SETTINGS = { english: false, months: [], digits: "0123456789", text: {} };
  var TEXT = {};

  function readSettings() {
    var holder = document.querySelector("[data-search]");
    try { SETTINGS = JSON.parse(holder.getAttribute("data-search")); } catch (e) { /* defaults */ }
    var t = SETTINGS.text || {};
    TEXT = {
      noIndex: t.search_no_index, failed: t.search_failed, searching: t.searching,
      noWords: t.search_no_words, none: t.search_none, english: t.search_english || "",
      more: t.search_more,
      count: function (n) { return n === 1 ? t.search_one : String(t.search_count).replace("{n}", localDigits(n)); }
    };
  }

  function localDigits(n) {
    var digits = SETTINGS.digits || "0123456789";
    return String(n).replace(/[0-9]/g, function (c) { return digits.charAt(+c); });
  }

  // As the pages write it (sitegen/content/metadata.py format_date, CLDR "d MMMM y"):
  // "٢٥ تشرين الثاني ٢٠٢٦" for ar-SY, "25 November 2026" in English.
  function localDate(year, month, day) {
    var name = (SETTINGS.months || [])[month - 1];
    if (!name) { return year + "-" + month + "-" + day; }
    return localDigits(day) + " " + name + " " + localDigits(year);
  }

  // The Umm al-Qura date as the pages write it (metadata.py hijri_date), from the table the page
  // carries (hijri_names); none outside the table's days.
  function hijriDate(iso) {
    var h = SETTINGS.hijri;
    var n = h ? hijriNumbers(iso, h) : null;
    if (!n) { return null; }
    var text = n[2] + " " + h.months[n[1] - 1] + " " + n[0] + " " + h.notation;
    return SETTINGS.english ? text : localDigits(text);
  }

  function start() {
    var input = document.getElementById("q");
    var status = document.getElementById("search-status");
    var list = document.getElementById("search-list");
    var more = document.getElementById("search-more");
    if (!input || !status || !list) { return; }
    readSettings();
    var form = input.form;
    var index = w.__searchIndex;
    if (!index || index.version !== INDEX_VERSION || typeof index.dir !== "string" ||
        !Array.isArray(index.shards) || !(index.docChunk >= 1) || !(index.weights >= 1)) {
      status.textContent = TEXT.noIndex;
      return;
    }

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
    var current = { query: null, res: null, shown: 0, busy: false };
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

    // Text in the other language than the page's is marked, so that it keeps its own direction.
    function link(href, text, english) {
      var url = resolve(href);
      var e = el(url ? "a" : "span", null, text || href || "");
      if (url) { e.href = url; }
      if (english !== SETTINGS.english) { e.lang = english ? "en" : "ar"; e.dir = english ? "ltr" : "rtl"; }
      return e;
    }

    function renderDoc(d) {
      var li = el("li", "search-result");
      var h = el("h2", "search-result-title");
      // The English page shows the English title and page where there is a companion.
      var inEnglish = SETTINGS.english && !!d.urlEn;
      h.appendChild(inEnglish ? link(d.urlEn, d.titleEn || d.urlEn, true) : link(d.urlAr, d.titleAr, false));
      li.appendChild(h);
      if (d.date) {
        var meta = el("p", "search-result-date");
        var iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d.date);
        var t = el("time", null, iso ? localDate(+iso[1], +iso[2], +iso[3]) : d.date);
        if (iso) { t.dateTime = d.date; }
        meta.appendChild(t);
        var hijri = iso ? hijriDate(d.date) : null;
        if (hijri) {
          meta.appendChild(document.createTextNode(" · "));
          meta.appendChild(el("span", "hijri", hijri));
        }
        li.appendChild(meta);
      }
      if (!SETTINGS.english && (d.urlEn || d.titleEn)) {
        var en = el("p", "search-result-en", TEXT.english);
        en.appendChild(link(d.urlEn, d.titleEn || d.urlEn, true));
        li.appendChild(en);
      }
      // Each result shows the start of the text in its title's language.
      if (inEnglish && d.snippetEn) {
        li.appendChild(el("p", "search-result-snippet", d.snippetEn));
      } else if (d.snippet && !inEnglish) {
        var snippet = el("p", "search-result-snippet", d.snippet);
        if (SETTINGS.english) { snippet.lang = "ar"; snippet.dir = "rtl"; }
        li.appendChild(snippet);
      }
      return li;
    }

    // The next page of the current results (one at a time).
    function showMore(mySeq) {
      var mine = current;
      var res = mine.res;
      if (!res || mine.busy || mine.shown >= res.ids.length) { return Promise.resolve(); }
      mine.busy = true;
      return engine.page(res, mine.shown, PAGE_SIZE).then(function (docs) {
        mine.busy = false;
        if (mySeq !== seq) { return; }
        docs.forEach(function (d) { list.appendChild(renderDoc(d)); });
        mine.shown += docs.length;
        if (more) { more.hidden = mine.shown >= res.ids.length; }
      }, function (err) {
        mine.busy = false;
        throw err;
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
      current = { query: query, res: null, shown: 0, busy: false };
      if (!query.trim()) { clear(); status.textContent = ""; updateUrl(""); return; }
      status.textContent = TEXT.searching;
      engine.search(query).then(function (res) {
        if (mySeq !== seq) { return; }
        clear();
        updateUrl(query);
        if (!res.groups.length) { status.textContent = TEXT.noWords; return; }
        current.res = res;
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
