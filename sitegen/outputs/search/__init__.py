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
  JSON that is safe inside a ``<script>``; :mod:`.dense` writes a common term's
  postings as a row of weights, two characters for five documents.
* :mod:`.writer` lays out the files of one index for the whole site, by rules
  that depend only on the documents (never on the history of builds), and
  ``build_search_index`` does all of it in one call (small sites, tests).
* :mod:`.patch` changes the previous index for a few changed or new documents,
  reading back only the files they touch; the result is byte-identical to a cold
  build of the same documents.

Index layout (all paths relative to the site root):

``search-index.js``
    Always loaded, small.  ``window.__searchIndex = {...}``: the number of
    documents, the shard directory, the weight base, the document chunk size,
    and ``shards``: the first term of every term shard, in UTF-16 code-unit
    order (JavaScript's string order), so that a binary search finds the shard
    that would hold a term.
``search/t<hash>.js``
    A term shard: ``window.__searchShard("t<hash>", {"term": "postings", ...})``,
    a range of consecutive terms named by a hash of its first term
    (``writer.shard_name``, computed the same way in search.js).  A shard starts
    at every term whose hash is a multiple of the *span* (``writer.cuts_at``),
    so a shard holds about ``writer.SHARD_TARGET`` bytes and an edit moves
    no other shard's start; a shard that would be over ``writer.SHARD_LIMIT``
    is cut in parts at the cuts of half the span, again, until each part is
    within it or holds one term (``writer.split_shards``).  Postings are
    delta-encoded document ids, each with a 2-bit weight (term frequency, +2
    when the term is in a title, capped at 4), packed as ASCII variable-length
    numbers (see ``postings._encode_number``); those of a term in two documents
    in five or more are a row of weights instead, a digit a document
    (:mod:`.dense`), so that no term's postings are over 20 KB at 50,000
    documents and a query of ten words loads at most thirteen shards of 20 KB.
``search/d<n>.js``
    The document table in chunks of ``writer.DOC_CHUNK`` documents, loaded only
    for the results shown: ``window.__searchShard("d<n>", [[url_ar, title_ar,
    date, url_en, title_en, snippet, snippet_en], ...])``. A title that is the
    start of its snippet (as a title drawn from the text is) is written as the
    length of that start (``writer.title_code``): a third of a chunk's bytes.

Document ids run oldest first (undated before the oldest), then by Arabic URL
descending: the newest article takes a new id at the end and no other id moves.
Search (in search.js): every query word must match (AND); the last word, while
it is being typed, also matches terms that start with it, when those terms lie
in at most three shards (400 terms at most).  Score: sum over the words of the
matched weight (exact matches count double).  Results are ordered by score, then
id from the highest: newest first, undated last, then Arabic URL.  A query loads
``search-index.js``, one shard per word (up to three more for the word being
typed) and the chunks of the results shown, whatever the size of the site.

Every file is deterministic (no timestamps, stable sorting) and UTF-8 with a
BOM, so that browsers decode it as UTF-8 whatever the page says.  JSON is
embedded with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, so untrusted
titles and snippets can neither close the ``<script>`` nor break the parse.
"""
