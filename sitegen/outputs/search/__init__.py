"""Offline full-text search: the index the search page queries from disk.

The site is read from disk (``file://``), where ``fetch()``, XHR and ES modules
all fail.  The index is therefore written as *classic scripts* that assign
globals, and the search page loads the parts it needs by inserting
``<script src="...">`` elements, which browsers allow on ``file://``.

The package has three parts:

* :mod:`.analyser` turns text into terms (normalisation, tokens, stems, the
  same as the core of ``themes/default/search.js``; a test runs both), and
  :func:`.analyser.analyse_document` does all the text work for one document,
  returning a small, picklable ``IndexedDocument`` (its weighted terms and
  what a result shows).  It can run in worker processes and be cached.
* :mod:`.postings` is the on-disk codec: packed postings and numbers, and
  JSON that is safe inside a ``<script>``.
* :mod:`.writer` lays out the files.  Documents are split into *buckets* by
  a stable hash of the Arabic URL (``bucket_of``); ``bucket_count`` depends
  only on the number of documents, in powers of two, so it stays the same
  over a range of sizes.  ``build_bucket`` turns the documents of one bucket
  into that bucket's files: a self-contained inverted index.  Editing one
  document changes only its bucket's files; ``build_search_root`` writes the
  tiny root file, and ``build_search_index`` does all of it in one call
  (small sites, tests).

Index layout (all paths relative to the site root; ``<b>`` is the bucket
number, ``NNN`` a zero-padded shard number):

``search-index.js``
    Always loaded, tiny.  ``window.__searchIndex = {...}``: the number of
    buckets and of documents, the shard directory, the weight base.
``search/b<b>/index.js``
    Loaded, for every bucket, by the first query:
    ``window.__searchShard("b<b>/index", {...})`` with the bucket's number of
    documents, the bucket count it was built for, the first term of each of
    its term shards (terms sorted in UTF-16 code-unit order, JavaScript's
    string order, so a binary search finds a term's shard), and the date of
    each of its documents as packed day numbers (for ranking across buckets
    without loading the documents).
``search/b<b>/tNNN.js``
    Term shards of about ``writer.TERM_SHARD_TARGET`` bytes (consecutive ranges
    of the bucket's sorted terms, so a query loads, per bucket, one shard per
    word, and a few for the prefix of the word being typed):
    ``window.__searchShard("b<b>/tNNN", {"term": "postings", ...})``.
    Postings are delta-encoded document ids (local to the bucket), each with a
    2-bit weight (term frequency, +2 when the term is in a title, capped at
    4), packed as ASCII variable-length numbers (see
    ``postings._encode_number``).
``search/b<b>/dNNN.js``
    The bucket's document table in chunks of ``writer.DOC_CHUNK`` documents,
    loaded only for the results shown: ``window.__searchShard("b<b>/dNNN",
    [[url_ar, title_ar, date, url_en, title_en, snippet], ...])``.

Within a bucket, document ids follow date order, newest first (undated
last), then the Arabic URL.  Search (in search.js): every query word must
match (AND); the last word, while it is being typed, also matches terms that
start with it.  Score: sum over the words of the matched weight (exact
matches count double).  Results are ordered by score, then date (newest
first), then Arabic URL; the URL tie-break across buckets is resolved lazily,
for the results shown, from the document chunks.

Every file is deterministic (no timestamps, stable sorting) and UTF-8 with a
BOM, so that browsers decode it as UTF-8 whatever the page says.  JSON is
embedded with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, so untrusted
titles and snippets can neither close the ``<script>`` nor break the parse.
"""
