"""The search index patched for a few documents, or built in runs by worker processes, is the
index built cold in one piece (outputs/search/patch.py, writer.invert and writer.lay_out).

Random sites, random edits of the kinds a newsroom makes (a paragraph rewritten, a
title changed, words that no other document has added or dropped, new articles
published): the previous files patched must be byte for byte the files a cold build of
the new documents makes, and the patch must read only the files it needs.
"""

from __future__ import annotations

import datetime
import random
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.outputs.search import writer
from sitegen.outputs.search.analyser import (
    IndexedDocument,
    SearchDocument,
    analyse_document,
    pack_terms,
)
from sitegen.outputs.search.dense import DENSE_MARK, decode_entry
from sitegen.outputs.search.patch import Change, patch_layout
from sitegen.outputs.search.postings import (
    _CONTINUATION,
    _NUMBER,
    _TERMINAL,
    MAX_WEIGHT,
    _decode_postings,
    _encode_number,
    _encode_postings,
    _encoded_table,
    gap_table,
    patch_postings,
)
from sitegen.outputs.search.writer import (
    build_layout,
    day_number,
    in_id_order,
    invert,
    lay_out,
)

LETTERS = "ابتثجحخدذرسشصطعغفقكلمنهوي"
DATES = ["2012-02-01", "2012-02-03", "2013-07-30", None]


def _word(rnd: random.Random) -> str:
    return "".join(rnd.choice(LETTERS) for _ in range(rnd.randint(3, 7)))


def _text(rnd: random.Random, vocab: list[str]) -> str:
    return " ".join(rnd.choice(vocab) if rnd.random() < 0.9 else _word(rnd) for _ in range(rnd.randint(3, 60)))


def _site(rnd: random.Random, count: int, vocab: list[str]) -> dict[str, SearchDocument]:
    docs = {}
    for i in range(count):
        url = f"ar/s{rnd.randrange(10**6)}-{i}.html"
        docs[url] = SearchDocument(url, _text(rnd, vocab)[:40], _text(rnd, vocab), rnd.choice(DATES),
                                   f"en/{i}.html" if rnd.random() < 0.5 else None, "Title" if rnd.random() < 0.5 else None)
    return docs


def _edit(rnd: random.Random, docs: dict[str, SearchDocument], vocab: list[str], day: int = 0) -> tuple[dict[str, SearchDocument], list[str]]:
    """Some documents changed in place and some new ones, dated after every other (``day``:
    days after 2020-01-01, later in every round)."""
    new = dict(docs)
    for url in rnd.sample(sorted(docs), min(len(docs), rnd.randint(1, 4))):
        d = docs[url]
        kind = rnd.choice(["text", "title", "fresh words", "fewer words"])
        if kind == "text":
            d = SearchDocument(url, d.title_ar, _text(rnd, vocab), d.date, d.url_en, d.title_en)
        elif kind == "title":
            d = SearchDocument(url, _word(rnd), d.text_ar, d.date, d.url_en, d.title_en)
        elif kind == "fresh words":
            d = SearchDocument(url, d.title_ar, d.text_ar + " " + " ".join(_word(rnd) for _ in range(20)), d.date, d.url_en, d.title_en)
        else:
            d = SearchDocument(url, d.title_ar, " ".join(d.text_ar.split()[:2]), d.date, d.url_en, d.title_en)
        new[url] = d
    added = []
    for i in range(rnd.choice([0, 0, 1, 3])):
        url = f"ar/new-{rnd.randrange(10**6)}-{i}.html"
        date = datetime.date(2020, 1, 1) + datetime.timedelta(days=day + i)
        new[url] = SearchDocument(url, _word(rnd), _text(rnd, vocab) + " " + _word(rnd), date.isoformat())
        added.append(url)
    return new, added


def _patch(old_docs, new_docs, added, layout):
    ordered = in_id_order(analyse_document(d) for d in new_docs.values())
    ids = {d.url_ar: i for i, d in enumerate(ordered)}
    assert sorted(ids[url] for url in added) == list(range(len(ordered) - len(added), len(ordered)))
    old = {url: analyse_document(d) for url, d in old_docs.items()}
    changes = [Change(ids[url], old.get(url), d) for url, d in ((d.url_ar, d) for d in ordered)
               if url not in old or old[url] != d]
    read = []

    def reader(path):
        read.append(path)
        return layout.files.get(path)

    return patch_layout(layout.stats, reader, changes, len(ordered)), read, changes, ordered


@pytest.mark.parametrize("seed", range(24))
def test_patched_index_is_the_cold_index(seed, monkeypatch):
    rnd = random.Random(seed)
    target = rnd.choice([300, 1500, 16 * 1024])
    monkeypatch.setattr(writer, "SHARD_TARGET", target)
    # A shard over the limit is cut in parts, which a patch re-cuts with the whole shard.
    monkeypatch.setattr(writer, "SHARD_LIMIT", int(target * rnd.choice([1.25, 2, 1000])))
    vocab = [_word(rnd) for _ in range(rnd.choice([40, 400, 2000]))]
    docs = _site(rnd, rnd.choice([1, 30, 200]), vocab)
    layout = build_layout(in_id_order(analyse_document(d) for d in docs.values()))
    patched_rounds = 0
    for round_ in range(6):
        new_docs, added = _edit(rnd, docs, vocab, 10 * round_)
        patch, read, changes, ordered = _patch(docs, new_docs, added, layout)
        cold = build_layout(ordered)
        if patch is None:
            # Only when every cut moves (a new span), never for any other reason.
            assert cold.stats.span != layout.stats.span
        else:
            patched_rounds += 1
            files = {p: b for p, b in layout.files.items() if p not in patch.removed} | patch.files
            assert files == cold.files
            assert patch.stats == cold.stats
            # Read back: only shards and chunks the changes touch, never the whole index.
            assert len(set(read)) <= 2 * sum(len(c.new.terms) + len((c.old.terms if c.old else ())) for c in changes) + len(changes) + 2
        docs, layout = new_docs, cold
    assert patched_rounds >= 4


def test_a_patch_reads_few_files_of_a_large_index(monkeypatch):
    monkeypatch.setattr(writer, "SHARD_TARGET", 500)
    rnd = random.Random(99)
    vocab = [_word(rnd) for _ in range(3000)]
    docs = _site(rnd, 600, vocab)
    layout = build_layout(in_id_order(analyse_document(d) for d in docs.values()))
    url = sorted(docs)[17]
    d = docs[url]
    words = d.text_ar.split()
    edited = dict(docs)
    edited[url] = SearchDocument(url, d.title_ar, " ".join(words[:-1] + ["كلمةجديدة"]), d.date, d.url_en, d.title_en)
    patch, read, _changes, ordered = _patch(docs, edited, [], layout)
    assert patch is not None
    shards = sum(1 for p in layout.files if p.startswith("search/t"))
    assert shards > 100
    assert len(read) <= 4  # the shards of the word dropped and the word added, and one chunk
    assert patch.files.keys() <= {*read, "search-index.js"} | {p for p in patch.files if p.startswith("search/t")}
    assert {p: b for p, b in layout.files.items() if p not in patch.removed} | patch.files == build_layout(ordered).files


def test_unreadable_previous_file_means_no_patch():
    rnd = random.Random(3)
    vocab = [_word(rnd) for _ in range(100)]
    docs = _site(rnd, 50, vocab)
    layout = build_layout(in_id_order(analyse_document(d) for d in docs.values()))
    new_docs, _ = _edit(rnd, docs, vocab)
    ordered = in_id_order(analyse_document(d) for d in new_docs.values())
    old = {url: analyse_document(d) for url, d in docs.items()}
    changes = [Change(i, old.get(d.url_ar), d) for i, d in enumerate(ordered) if old.get(d.url_ar) != d]
    assert patch_layout(layout.stats, lambda path: None, changes, len(ordered)) is None


def test_day_numbers():
    assert day_number("2012-02-03") == 734536 and day_number(None) == 0 and day_number("2012-02-30") == 0


@pytest.mark.parametrize("seed", range(4))
def test_index_laid_out_from_runs_is_the_index_from_one(seed):
    # The cold build inverts runs of ids in worker processes and joins them.
    rnd = random.Random(seed)
    vocab = [_word(rnd) for _ in range(300)]
    ordered = in_id_order(analyse_document(d) for d in _site(rnd, 120, vocab).values())
    cuts = sorted(rnd.sample(range(1, len(ordered)), rnd.randint(1, 5)))
    bounds = [0, *cuts, len(ordered)]
    runs = [invert(start, ordered[start:end]) for start, end in zip(bounds, bounds[1:])]
    assert lay_out(runs) == build_layout(ordered)
    with pytest.raises(ValueError):
        lay_out(runs[1:])  # runs must start at id 0 and follow each other


def test_an_inversion_told_its_count_builds_a_table_of_its_gaps_only():
    # The table of every number of up to three characters is 2.3 MB of small strings in each
    # process that inverts; told how many documents it has, an inversion builds one no longer
    # than its longest gap, and inverts them as the whole table does.
    docs = [IndexedDocument(f"ar/{i:05d}.html", "t", None, None, None, "", *pack_terms((("common", 1),) + ((("rare", 3),) if i in (0, 299) else ())))
            for i in range(300)]
    _encoded_table.cache_clear()
    told = invert(7, docs, len(docs))
    built = _encoded_table.cache_info()
    table = gap_table(len(docs) * MAX_WEIGHT)
    assert built.currsize == 1 and _encoded_table.cache_info().hits == built.hits + 1, "the table the inversion built"
    assert len(table) < 40_000 / 20 and len(table) > 299 * MAX_WEIGHT + MAX_WEIGHT, "its longest gap, and no more"
    assert told == invert(7, docs)  # with the table of every number of up to three characters


@pytest.mark.parametrize("largest", [0, 63, 64, 1_199, 39_999, 40_000, 10**9])
def test_a_table_for_a_largest_number_holds_every_number_up_to_it(largest):
    table = gap_table(largest)
    assert len(table) > min(largest, 39_999) and len(table) <= 40_000 and len(table) % 64 == 0
    assert table == [_encode_number(n) for n in range(len(table))]
    if len(table) == 40_000:
        assert table is gap_table() is _encoded_table(), "one whole table a process, however asked for"


def test_postings_far_apart_are_packed_and_joined():
    # A term in the first and the last of 12,001 documents: a gap past the table of small numbers.
    docs = [IndexedDocument(f"ar/{i:05d}.html", "t", None, None, None, "", *pack_terms((("common", 1),) + ((("rare", 2),) if i in (0, 12000) else ())))
            for i in range(12001)]
    whole = build_layout(docs)
    assert lay_out([invert(0, docs[:6000]), invert(6000, docs[6000:])]) == whole
    [shard] = [p for p in whole.files if p.startswith("search/t")]
    entries = dict(writer.read_shard(whole.files[shard]))
    assert _decode_postings(entries["rare"]) == [(0, 2), (12000, 2)]
    assert entries["common"].startswith(DENSE_MARK) and len(entries["common"]) < 12001 / 2
    assert decode_entry(entries["common"]) == [(i, 1) for i in range(12001)]


@pytest.mark.parametrize("seed", range(6))
def test_patching_a_terms_postings_gives_the_postings_encoded_afresh(seed):
    # Only the numbers around the changed ids are encoded again: gaps of one id and of
    # thousands (numbers of one to five characters), postings added before the first, after
    # the last and between, changed in weight, dropped, and every posting dropped.
    rnd = random.Random(seed)
    for _ in range(400):
        span = rnd.choice([8, 1000, 300_000])
        ids = sorted(rnd.sample(range(span), min(rnd.choice([0, 1, 2, 7, 300]), span)))
        before = {doc: rnd.randint(1, MAX_WEIGHT) for doc in ids}
        changes = {}
        for _ in range(rnd.choice([1, 3, 40])):
            doc = rnd.choice(ids) if ids and rnd.random() < 0.6 else rnd.randrange(span + 3)
            changes[doc] = rnd.choice([0, 0, 1, 2, MAX_WEIGHT])
        if rnd.random() < 0.05:
            changes = dict.fromkeys(ids, 0)
        after = {doc: w for doc, w in ({**before, **changes}).items() if w}
        encoded = _encode_postings(doc * MAX_WEIGHT + w - 1 for doc, w in sorted(before.items()))
        patched = patch_postings(encoded, changes)
        assert _decode_postings(patched) == sorted(after.items())
        assert patched == _encode_postings(doc * MAX_WEIGHT + w - 1 for doc, w in sorted(after.items()))


@pytest.mark.parametrize("chunk", [1, 2, 5, 64, 2048])
def test_patching_reads_the_postings_in_chunks_and_stops_past_the_last_change(chunk, monkeypatch):
    # A common word's postings are long: they are read a chunk at a time, only as far as one
    # posting past the last changed id, and the rest is copied as it stands. Chunks that end
    # inside a number, changes at the very start and end, and past the last posting.
    from sitegen.outputs.search import postings

    monkeypatch.setattr(postings, "_CHUNK", chunk)
    rnd = random.Random(chunk)
    for _ in range(150):
        span = rnd.choice([3000, 400_000])
        ids = sorted(rnd.sample(range(span), rnd.choice([1, 50, 2500])))
        before = {doc: rnd.randint(1, MAX_WEIGHT) for doc in ids}
        changes = {rnd.choice([ids[0], ids[-1], rnd.choice(ids), rnd.randrange(span + 5), 0]): rnd.choice([0, 1, MAX_WEIGHT]) for _ in range(rnd.choice([1, 2]))}
        after = {doc: w for doc, w in ({**before, **changes}).items() if w}
        encoded = _encode_postings(doc * MAX_WEIGHT + w - 1 for doc, w in sorted(before.items()))
        assert patch_postings(encoded, changes) == _encode_postings(doc * MAX_WEIGHT + w - 1 for doc, w in sorted(after.items()))


@pytest.mark.parametrize("gap", [2, 37, 399])
def test_a_common_words_postings_before_the_first_change_are_passed_over_not_read(gap, monkeypatch):
    # A word of every other document (numbers of one character), of one in 37 and one in 399
    # (two characters): the chunks of postings before the first changed id are passed over
    # with their ids summed in C, and only the chunks around the changes are read a number
    # at a time; the patch is still the postings encoded afresh.
    from sitegen.outputs.search import postings

    read: list[str] = []

    class Counted(postings._Steps):
        def __getitem__(self, code: str) -> int:
            read.append(code)
            return super().__getitem__(code)

    table = Counted(postings._steps_table())
    monkeypatch.setattr(postings, "_steps_table", lambda: table)
    ids = list(range(0, 30_000 * gap, gap))
    encoded = _encode_postings(doc * MAX_WEIGHT for doc in ids)
    top = ids[-1]
    for changes in ({top * 3 // 4 + 1: 3}, {top: 0}, {10: 2, top * 5 // 6: 0}, {top + 3: 1}):
        read.clear()
        after = {doc: w for doc, w in (dict.fromkeys(ids, 1) | changes).items() if w}
        assert patch_postings(encoded, changes) == _encode_postings(doc * MAX_WEIGHT + w - 1 for doc, w in sorted(after.items()))
        # Read at most: the postings of the two chunks before the first change through the
        # last change, and a chunk past it (a number of one character moves the id by ``gap``).
        width = len(postings._encode_number(gap * MAX_WEIGHT))
        window = [doc for doc in ids if min(changes) - 2 * gap * postings._CHUNK // width < doc <= max(changes)]
        assert len(read) <= len(window) + postings._CHUNK, (changes, len(read))


def test_postings_the_codec_never_writes_are_read_whole_before_they_are_patched():
    # A damaged shard (a stray quote, a number cut short at the end): the patch gives what
    # encoding its readable numbers afresh gives, as it did before postings were read in part.
    encoded = _encode_postings(doc * MAX_WEIGHT for doc in range(0, 6000, 3))
    for damaged in (encoded[:1000] + '"' + encoded[1000:], encoded + "!", "~" + encoded):
        readable = _decode_postings(damaged.replace('"', "").rstrip("!"))
        after = dict(readable) | {1: 2}
        expected = _encode_postings(doc * MAX_WEIGHT + w - 1 for doc, w in sorted(after.items()))
        assert patch_postings(damaged, {1: 2}) == expected


def test_a_shard_of_long_runs_without_a_number_end_is_read_in_bounded_time():
    """40,000 continuation digits and no terminal: the number search read the rest of the run
    from every digit (quadratic, half a second at 12,000); now once."""
    encoded = _encode_postings(doc * MAX_WEIGHT for doc in range(0, 600, 3))
    damaged = "../" * 40_000 + '"' + encoded
    started = time.monotonic()
    patched = patch_postings(damaged, {1: 2})
    assert time.monotonic() - started < 2.0
    after = dict(_decode_postings(encoded)) | {1: 2}
    assert patched == _encode_postings(doc * MAX_WEIGHT + w - 1 for doc, w in sorted(after.items()))


_PLAIN_NUMBER = re.compile(f"[{re.escape(_CONTINUATION)}]*[{re.escape(_TERMINAL)}]")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_CONTINUATION[:6] + _TERMINAL[:6] + '"x ', max_size=60))
def test_numbers_are_found_where_the_plain_pattern_finds_them(text):
    assert _NUMBER.findall(text) == _PLAIN_NUMBER.findall(text)


def test_the_lookup_tables_agree_with_the_codec():
    # Built by composition for speed: every entry must still be what the codec says.
    from sitegen.outputs.search.postings import _decode_numbers, _encode_number, _encoded_table, _steps_table

    table = _encoded_table()
    assert table == [_encode_number(n) for n in range(len(table))]
    if len(table) == 40_000:
        assert table is gap_table() is _encoded_table(), "one whole table a process, however asked for"
    assert all(_decode_numbers(code) == [n] for n, code in enumerate(table))
    _steps_table.cache_clear()  # as a new process makes it (lookups add the longer numbers met)
    steps = _steps_table()
    assert len(steps) == 64 * 25  # the numbers of one and two characters, made at once
    numbers = [*range(len(table)), 10**6, 10**9]
    assert [steps[_encode_number(n)] for n in numbers] == [n // MAX_WEIGHT + 1 for n in numbers]


@pytest.mark.parametrize("seed", range(4))
def test_rows_sorted_in_id_order_are_in_the_ranking_order_reversed(seed):
    # The fast path (no astral character) must agree with rank_key, ties and all.
    from sitegen.outputs.search.writer import rank_key, sort_in_id_order

    rnd = random.Random(seed)
    letters = ["a", "b", "ب", "ت", "\ue000", "\uffee"] + (["\U0001f600", "\U00010400"] if seed % 2 else [])
    rows = [("ar/" + "".join(rnd.choice(letters) for _ in range(rnd.randint(0, 3))) + f"{n % 7}", rnd.choice([0, 1, 19000, 19001]), f"d{n}") for n in range(300)]
    expected = sorted(rows, key=lambda row: rank_key(row[0], row[1]), reverse=True)
    sort_in_id_order(rows)
    assert rows == expected


def test_the_previous_index_files_are_told_present_as_lexists_tells_them(tmp_path):
    # A patch keeps the previous index's other files only where the staging folder holds
    # them: told from one listing of its search folder, as a look at each would tell.
    import os

    from sitegen.outputs.search.output import _all_present

    staging = tmp_path / "staging"
    (staging / "search").mkdir(parents=True)
    for name in ("t0123456789abcdef.js", "d0.js", "d7.js"):
        (staging / "search" / name).write_bytes(b"x")
    (staging / "search-index.js").write_bytes(b"x")
    os.symlink(staging / "nowhere", staging / "search" / "d9.js")  # a link, even dangling: there
    paths = ["search-index.js", "search/t0123456789abcdef.js", "search/d0.js", "search/d7.js", "search/d9.js"]
    cases = [paths, paths[1:], [], ["search/d1.js"], [*paths, "search/d8.js"], ["search-index.js", "search/d0.js"]]
    for case in cases:
        assert _all_present(staging, case) == all(os.path.lexists(staging / path) for path in case), case
    (staging / "search-index.js").unlink()
    assert not _all_present(staging, paths) and _all_present(staging, paths[1:])
    for name in os.listdir(staging / "search"):
        os.unlink(staging / "search" / name)
    (staging / "search").rmdir()
    assert not _all_present(staging, ["search/d0.js"]) and _all_present(staging, [])
    (staging / "search").write_bytes(b"a file where the folder was")
    assert not _all_present(staging, ["search/d0.js"])


def _changed_as_it_was(sequence, changes, memo):
    """The documents to patch, found as before ids were looked for: every document gone over
    in Python (the reference the quicker search is held to)."""
    from sitegen.outputs.search.output import _state

    previous, stored = changes.previous, changes.stored
    if any(url not in stored for url in previous):
        return None
    added = [url for url in stored if url not in previous]
    old_count = len(sequence) - len(added)
    if old_count != memo.get("documents") or {url for url, _ in sequence[old_count:]} != set(added):
        return None
    before = [(url, previous[url][0] if url in previous else digest) for url, digest in sequence[:old_count]]
    if _state(before) != memo.get("state"):
        return None
    found = [(doc_id, url, previous[url][1]) for doc_id, (url, digest) in enumerate(sequence[:old_count]) if url in previous and previous[url][0] != digest]
    return found + [(doc_id, url, None) for doc_id, (url, _) in enumerate(sequence[old_count:], old_count)]


@pytest.mark.parametrize("seed", range(40))
def test_the_documents_to_patch_are_found_as_going_over_every_one_finds_them(seed):
    # A build replaces the documents of the files it made again: their ids are looked for
    # (one by one, or from a dict past a few), not found by going over every document.
    from sitegen.outputs.base import DocumentChanges
    from sitegen.outputs.search.output import _changed_documents, _state

    rng = random.Random(seed)
    count = rng.choice([0, 1, 5, 40, 300])
    old = [(f"ar/s-{i}.html", f"{rng.getrandbits(128):032x}") for i in range(count)]
    memo = {"documents": count, "state": _state(old)}
    replaced = rng.sample(range(count), min(count, rng.choice([0, 1, 3, 16, 17, 60])))
    new = list(old)
    previous = {}
    for doc_id in replaced:
        url, digest = old[doc_id]
        previous[url] = (digest, f"old {doc_id}".encode())
        if rng.random() < 0.7:
            new[doc_id] = (url, f"{rng.getrandbits(128):032x}")
    new += [(f"ar/new-{i}.html", f"{rng.getrandbits(128):032x}") for i in range(rng.choice([0, 0, 1, 4]))]
    stored = {url: digest for url, digest in new if url in previous or url.startswith("ar/new-")}
    damage = rng.choice(["none", "none", "none", "memo of other documents", "a replaced one gone", "a document moved"])
    if damage == "memo of other documents":
        memo["state"] = _state(old[::-1])
    elif damage == "a replaced one gone" and previous:
        gone = next(iter(previous))
        new = [(url, digest) for url, digest in new if url != gone]
        memo["documents"] = count - 1
    elif damage == "a document moved" and count > 2:
        new[0], new[1] = new[1], new[0]
    changes = DocumentChanges(previous, stored)
    assert _changed_documents(new, changes, memo) == _changed_as_it_was(new, changes, memo)


def test_urls_are_in_code_point_order_unless_one_holds_an_astral_character():
    # JavaScript orders UTF-16 units: an astral character's surrogates sort before U+E000-U+FFFF.
    from sitegen.outputs.search.writer import in_code_point_order

    assert in_code_point_order([]) and in_code_point_order(["ar/a-1.html", "ar/b-2.html"])
    assert in_code_point_order(["ar/حمص-1.html", "ar/\uffee.html", "ar/é.html"])
    assert not in_code_point_order(["ar/a-1.html", "ar/\U0001f600.html"])
    assert not in_code_point_order(iter(["ar/\U00010400.html"]))
