"""A common term's postings written as a row of weights (outputs/search/dense.py).

The row must read back as the postings it was made of, in Python and in search.js; it is
chosen by a rule of the term's own postings, so that a patched index is the cold one; and a
term in every document of 50,000 costs 20 KB, not the 50 KB its gaps took.
"""

from __future__ import annotations

import json
import random

import pytest

from sitegen.outputs.search import dense, writer
from sitegen.outputs.search.analyser import IndexedDocument, pack_terms
from sitegen.outputs.search.postings import MAX_WEIGHT, _encode_postings
from tests.test_search import NODE, SEARCH_JS, _node, needs_node


def _gaps(postings: dict[int, int]) -> str:
    return _encode_postings(doc * MAX_WEIGHT + w - 1 for doc, w in sorted(postings.items()))


def _fresh(postings: dict[int, int]) -> str:
    """The form a cold build writes for these postings."""
    return dense.settled(_gaps(postings), max(postings, default=-1))


def _random_postings(rnd: random.Random) -> dict[int, int]:
    documents = rnd.choice([10, 100, 300, 3000])
    share = rnd.choice([0.01, 0.1, 0.35, 0.4, 0.45, 0.6, 0.99, 1.0])
    return {doc: rnd.randint(1, MAX_WEIGHT) for doc in range(documents) if rnd.random() < share}


def test_rows_read_back_and_are_chosen_by_the_rule():
    rnd = random.Random(5)
    seen = set()
    for _ in range(1500):
        postings = _random_postings(rnd)
        encoded = _fresh(postings)
        assert dense.decode_entry(encoded) == sorted(postings.items())
        is_row = encoded.startswith(dense.DENSE_MARK)
        assert is_row == dense.is_dense_better(len(postings), max(postings, default=-1))
        gaps = _gaps(postings)
        # Never longer than the gaps but for its head (a mark and the count).
        assert len(encoded) <= len(gaps) + 6
        seen.add(is_row)
    assert seen == {True, False}


def test_a_term_in_every_document_costs_two_characters_for_five():
    postings = {doc: 1 + doc % MAX_WEIGHT for doc in range(50_000)}
    gaps, row = _gaps(postings), _fresh(postings)
    assert len(gaps) == 50_000 and len(row) == 1 + 4 + 20_000  # the mark, the count, the pairs
    assert dense.decode_entry(row) == sorted(postings.items())


@pytest.mark.parametrize("seed", range(8))
def test_a_patched_entry_is_the_entry_written_afresh(seed):
    # Weights changed, postings added after the last and far past it, the last removed (the
    # row ends where the term's last document is), and terms crossing the rule both ways.
    rnd = random.Random(seed)
    crossings = {True: 0, False: 0}  # to a row, to gaps
    for _ in range(300):
        postings = _random_postings(rnd)
        documents = max(postings, default=0) + 1
        encoded = _fresh(postings)
        changes = {}
        for _ in range(rnd.choice([1, 3, 30, 300])):
            changes[rnd.randrange(documents + rnd.choice([1, 20, 2000]))] = rnd.choice([0, 0, 1, 2, 3, 4])
        if postings and rnd.random() < 0.3:
            changes[max(postings)] = 0
        if rnd.random() < 0.4:  # postings added within the term's range: gaps may become a row
            changes |= {doc: rnd.randint(1, MAX_WEIGHT) for doc in range(documents) if rnd.random() < 0.15}
        after = {doc: w for doc, w in (postings | changes).items() if w}
        patched = dense.patch_entry(encoded, changes)
        assert patched == _fresh(after)
        if encoded.startswith(dense.DENSE_MARK) != patched.startswith(dense.DENSE_MARK):
            crossings[patched.startswith(dense.DENSE_MARK)] += 1
    assert min(crossings.values()) >= 3, crossings


def test_the_index_writes_common_terms_as_rows():
    docs = [IndexedDocument(f"ar/{i:04d}.html", "t", None, None, None, "",
                            *pack_terms((("common", 1 + i % 4), ("half", 2)) if i % 2 else (("common", 1),)))
            for i in range(3000)]
    layout = writer.build_layout(docs)
    entries = {t: e for p, data in layout.files.items() if p.startswith("search/t") for t, e in writer.read_shard(data)}
    assert entries["common"].startswith(dense.DENSE_MARK) and entries["half"].startswith(dense.DENSE_MARK)
    assert dense.decode_entry(entries["common"]) == [(i, 1 + i % 4 if i % 2 else 1) for i in range(3000)]
    assert dense.decode_entry(entries["half"]) == [(i, 2) for i in range(1, 3000, 2)]


NODE_DECODE = r"""
const fs = require("fs"), vm = require("vm");
const ctx = {}; ctx.window = ctx; vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), ctx, { filename: "search.js" });
const input = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(input.map(s => Array.from(ctx.__searchCore.decodePostings(s, 4)))));
"""


@needs_node
def test_search_js_reads_rows_as_python_does():
    assert NODE and SEARCH_JS.exists()
    rnd = random.Random(9)
    entries = [_fresh(_random_postings(rnd)) for _ in range(300)]
    entries += [_fresh({doc: 4 for doc in range(50_000)}), _fresh({49_999: 1} | {doc: 2 for doc in range(0, 40_000, 2)})]
    assert sum(e.startswith(dense.DENSE_MARK) for e in entries) > 50
    decoded = json.loads(_node(NODE_DECODE, str(SEARCH_JS), stdin=json.dumps(entries)))
    for encoded, flat in zip(entries, decoded):
        assert [tuple(flat[k:k + 2]) for k in range(0, len(flat), 2)] == dense.decode_entry(encoded)
