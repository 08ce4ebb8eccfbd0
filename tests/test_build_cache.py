"""The build cache's tables: what a one-change build reads of them, and how."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import sqlite3

import pytest

from sitegen.pipeline.cache import PAGE_SIZE, SCHEMA, SEARCH_BY_DAY, SEARCH_SEQUENCE, BuildCache, CacheDamaged


def _page_size(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA page_size").fetchone()[0]
    finally:
        db.close()


def test_a_new_cache_and_one_of_an_older_layout_are_made_with_large_pages(tmp_path: Path) -> None:
    # sqlite keeps the page size a file was made with once it is in WAL mode: a cache made by
    # an older build (4 KiB pages, another layout) is made again, not only emptied.
    old = tmp_path / "old.sqlite"
    db = sqlite3.connect(old)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE files (rel TEXT PRIMARY KEY, key TEXT, record BLOB)")
    db.execute("INSERT INTO files VALUES ('a.txt', 'k', x'00')")
    db.execute(f"PRAGMA user_version={SCHEMA - 1}")
    db.close()
    assert _page_size(old) == 4096 != PAGE_SIZE
    for path in (tmp_path / "new.sqlite", old):
        with closing(BuildCache.open(path)) as cache:
            cache.replace_files({"b.txt": ("key", ("record",), b"")}, [])
            assert cache.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert cache.recorded_keys(["a.txt", "b.txt"]) == {"b.txt": "key"}  # the old rows are gone
        assert _page_size(path) == PAGE_SIZE
    # Opened again at this layout, it is kept: its records stand.
    with closing(BuildCache.open(old)) as cache:
        assert cache.recorded_keys(["b.txt"]) == {"b.txt": "key"}


def test_only_a_new_cache_file_is_written_without_syncing(tmp_path: Path) -> None:
    # A new file holds no earlier build's records for a power cut to mix with this build's
    # (what it leaves is damage or an empty cache: test_incremental's damaged files); a file
    # that holds some is synced at its checkpoints, which makes the first build's durable too.
    path = tmp_path / "build.sqlite"
    with closing(BuildCache.open(path)) as cache:
        assert cache.db.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF
        cache.replace_files({"a.txt": ("key", ("record",), b"")}, [])
    with closing(BuildCache.open(path)) as cache:
        assert cache.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert cache.recorded_keys(["a.txt"]) == {"a.txt": "key"}
        cache.clear()  # a full build into a file with an earlier build's pages in it: still synced
        assert cache.db.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_the_document_sequence_is_read_from_an_index_without_the_packed_documents(tmp_path: Path) -> None:
    with closing(BuildCache.open(tmp_path / "build.sqlite")) as cache:
        docs = [(f"ar/{n}.html", f"{n}.txt", 15000 + n, f"digest{n}", bytes(4000)) for n in range(50)]
        cache.replace_search([], docs)
        plan = " ".join(row[-1] for row in cache.db.execute("EXPLAIN QUERY PLAN " + SEARCH_SEQUENCE))
        # A scan of the table would page through every packed document to reach three short columns.
        assert "COVERING INDEX" in plan, plan
        assert sorted(cache.search_sequence()) == sorted((url, day, digest) for url, _rel, day, digest, _doc in docs)
        # In the search's order too, read in that order from the index, not sorted anew each build.
        plan = " ".join(row[-1] for row in cache.db.execute("EXPLAIN QUERY PLAN " + SEARCH_BY_DAY))
        assert "COVERING INDEX" in plan and "TEMP B-TREE" not in plan, plan
        cache.replace_search([], [(url, rel, 15000 + n % 7, digest, doc) for n, (url, rel, _day, digest, doc) in enumerate(docs)])  # days shared
        by_url_descending = sorted(cache.search_sequence(), key=lambda row: row[0], reverse=True)
        assert cache.search_by_day() == [(url, digest) for url, _day, digest in sorted(by_url_descending, key=lambda row: row[1])]


@pytest.mark.parametrize("seed", range(6))
def test_the_document_sequence_is_in_id_order_whether_sqlite_or_python_sorts_it(tmp_path: Path, seed: int) -> None:
    # sqlite orders the URLs as code points (UTF-8 bytes); the ids follow JavaScript's UTF-16
    # order, which differs only for an astral character against U+E000-U+FFFF: with one, the
    # sequence is sorted here instead. Either way: rank_key's order reversed, ties and all.
    import random

    from sitegen.outputs.search.writer import rank_key
    from sitegen.pipeline.documents import CachedDocuments

    rnd = random.Random(seed)
    letters = ["a", "b", "ب", "ت", "\ue000", "\uffee", "\u00e9"] + (["\U0001f600", "\U00010400"] if seed % 2 else [])
    docs = {}
    for n in range(300):
        url = "ar/" + "".join(rnd.choice(letters) for _ in range(rnd.randint(0, 4))) + f"{n % 7}.html"
        docs[url] = (url, f"{n}.txt", rnd.choice([0, 1, 19000, 19001, 2**40]), f"d{n}", b"")
    with closing(BuildCache.open(tmp_path / "build.sqlite")) as cache:
        cache.replace_search([], list(docs.values()))
        expected = [(url, digest) for url, _rel, day, digest, _doc in sorted(docs.values(), key=lambda row: rank_key(row[0], row[2]), reverse=True)]
        assert CachedDocuments(cache, {}).sequence() == expected


def test_an_output_state_is_read_back_as_written_and_a_planted_one_is_refused(tmp_path: Path, monkeypatch) -> None:
    # The state holds the artifacts and the outputs (the manifest is made of the artifacts'
    # files and the records' pages): anything else in its place is refused, and an artifact
    # whose files are not pairs of texts is damage when its files are asked for (the engine
    # compares them with the live site's).
    import pytest

    from sitegen.pipeline.cache import CacheDamaged, allow_list
    from sitegen.pipeline.state import STATE_TYPES, ArtifactRecord, OutputState, read_outputs

    with closing(BuildCache.open(tmp_path / "build.sqlite", allow_list(STATE_TYPES))) as cache:
        for state in (OutputState(), OutputState({"index": ArtifactRecord("k", (("index.html", "d1"), ("ar/حمص.html", "d2")))})):
            cache.put_many({"outputs": state})
            assert read_outputs(cache) == state
            assert read_outputs(cache).files() == {path: digest for record in state.artifacts.values() for path, digest in record.files}
        for planted in ({"artifacts": ["not", "a", "dict"], "outputs": {}}, {"artifacts": {}}, {"artifacts": {}, "outputs": {}, "manifest": {}}, "not a dict"):
            monkeypatch.setattr(OutputState, "__getstate__", lambda self, planted=planted: planted)
            cache.put_many({"outputs": OutputState()})
            monkeypatch.undo()
            with pytest.raises(CacheDamaged):
                read_outputs(cache)
        for files in ((("index.html", ["a list"]),), (("index.html",),), "ab", ((b"index.html", "d"),), None):
            cache.put_many({"outputs": OutputState({"index": ArtifactRecord("k", files)})})
            with pytest.raises(CacheDamaged):
                read_outputs(cache).files()


def test_an_output_record_of_the_wrong_kinds_does_not_fit() -> None:
    """The engine carries an output over only on a record that fits (making.make_outputs): a
    damaged or planted one (the allow-list lets any plain value into its fields) does not."""
    from sitegen.pipeline.state import OutputRecord

    assert OutputRecord("digest", ("index.html", "page-2.html"), 2).fits()
    assert OutputRecord("digest", (), 0).fits()
    for planted in (OutputRecord(b"digest", (), 0), OutputRecord("digest", ["index.html"], 1), OutputRecord("digest", ("index.html", 3), 1), OutputRecord("digest", (), "2")):
        assert not planted.fits()


def test_a_value_dumps_to_the_same_bytes_whichever_of_its_parts_are_one_object() -> None:
    # The build compares a fresh value dumped with the bytes stored (the signatures of a build
    # with nothing to do): a value rebuilt from other objects must give the same bytes. Pickle's
    # memo wrote a part named twice once, then a reference to it.
    from sitegen.pipeline.cache import dump_value, load_value

    path = "ar/" + "حمص" * 20 + ".html"
    shared = (path, (1, 2, 3))
    once = {"a": shared, "b": shared, "c": [path, path]}
    rebuilt = {"a": ("".join(["ar/", "حمص" * 20, ".html"]), (1, 2, 3)), "b": (path[:3] + path[3:], (1, 2, 3)), "c": [path[:], "ar/" + path[3:]]}
    assert once == rebuilt and once["a"] is once["b"] and rebuilt["a"] is not rebuilt["b"]
    assert dump_value(once) == dump_value(rebuilt)
    assert load_value(dump_value(once), {}) == once


def _cache_of(path: Path, n: int) -> BuildCache:
    cache = BuildCache.open(path)
    cache.replace_files({f"f{i:03}.txt": (f"key{i}", ("record", i), b"") for i in range(n)}, [])
    return cache


def test_records_read_ahead_are_not_read_again_and_the_rest_are(tmp_path: Path) -> None:
    cache = _cache_of(tmp_path / "c.sqlite", 25)
    try:
        reads = []

        def read(value, _texts):
            reads.append(value[1])
            return value[1]

        steps = cache.read_ahead(read, step=10)
        next(steps)
        assert sorted(reads) == list(range(10))
        assert cache.records(read) == {f"f{i:03}.txt": i for i in range(25)}
        assert sorted(reads) == list(range(25)), "each record read once"
        # Read ahead whole, then asked for: nothing is read again; asked for again: all are.
        reads.clear()
        assert list(cache.read_ahead(read, step=10)) == [None, None, None]
        assert cache.records(read) == {f"f{i:03}.txt": i for i in range(25)} and len(reads) == 25
        assert cache.records(read) == {f"f{i:03}.txt": i for i in range(25)} and len(reads) == 50
    finally:
        cache.close()


def test_a_change_to_the_records_forgets_those_read_ahead(tmp_path: Path) -> None:
    changes = {
        "replace_files": lambda cache: cache.replace_files({"f003.txt": ("new key", ("record", 103), b"")}, ["f004.txt"]),
        "update_records": lambda cache: cache.update_records({"f003.txt": (("record", 103), b"")}),
        "clear": lambda cache: cache.clear(),
    }
    for name, change in changes.items():
        cache = _cache_of(tmp_path / f"{name}.sqlite", 8)
        try:
            steps = cache.read_ahead(lambda value, _texts: value[1], step=5)
            next(steps)
            change(cache)
            assert next(steps, "ended") == "ended", "the steps end with the change"
            expected = {rel: cache.load(record)[1] for rel, record in cache.db.execute("SELECT rel, record FROM files")}
            assert cache.records(lambda value, _texts: value[1]) == expected, name
        finally:
            cache.close()


def test_a_record_that_cannot_be_read_ends_the_reading_ahead_and_is_met_again(tmp_path: Path) -> None:
    cache = _cache_of(tmp_path / "c.sqlite", 8)
    try:
        cache.db.execute("UPDATE files SET record=? WHERE rel='f006.txt'", (b"not a pickle",))
        steps = cache.read_ahead(lambda value, _texts: value[1], step=5)
        assert list(steps) == [None], "one step, then the damaged record ends them"
        with pytest.raises(CacheDamaged):
            cache.records(lambda value, _texts: value[1])
    finally:
        cache.close()


def test_values_read_by_one_unpickler_are_those_read_one_by_one(tmp_path: Path) -> None:
    # The records are read by one unpickler from their bytes joined, some hundreds at a time:
    # each value as load_value reads it alone, across the batches' edges.
    from sitegen.pipeline.cache import dump_value, load_value, load_values

    values = [("record", i, "حمص" * (i % 7), {"p": (i, None)}, b"\xff" * (i % 3), [1.5] * (i % 2)) for i in range(600)]
    data = [dump_value(value) for value in values]
    assert list(load_values(data, {})) == [load_value(d, {}) for d in data] == values
    cache = _cache_of(tmp_path / "c.sqlite", 600)
    try:
        assert cache.records(lambda value, _texts: value[1]) == {f"f{i:03}.txt": i for i in range(600)}
    finally:
        cache.close()


@pytest.mark.parametrize("damage", ["bytes after its pickle", "its pickle cut short", "its pickle and the next's as one", "no bytes"])
def test_a_value_not_ending_where_its_bytes_do_is_damage_among_others(damage: str) -> None:
    # Read one by one, pickle ignored bytes after a value's end; read joined, they would be
    # read as the next value's (and a value cut short would read on into the next): each
    # value must end where its bytes do.
    from sitegen.pipeline.cache import dump_value, load_values

    data = [dump_value(("record", i)) for i in range(5)]
    if damage == "bytes after its pickle":
        data[2] += b"."
    elif damage == "its pickle cut short":
        data[2] = data[2][:-1]
    elif damage == "its pickle and the next's as one":
        data[2:4] = [data[2] + data[3], b""]
    else:
        data[2] = b""
    with pytest.raises(CacheDamaged):
        list(load_values(data, {}))


def _main_file_alone(path: Path, copy: Path) -> dict[str, str] | None:
    """The files' keys the database file holds by itself, as if its write-ahead log were lost:
    what a checkpoint has copied into it. None while the copy is torn (being written)."""
    copy.write_bytes(path.read_bytes())
    db = sqlite3.connect(f"file:{copy}?immutable=1", uri=True)
    try:
        return dict(db.execute("SELECT rel, key FROM files"))
    except sqlite3.DatabaseError:
        return None
    finally:
        db.close()


def _existing_cache(path: Path) -> BuildCache:
    """A cache with an earlier build's work in it, synced as such (not a new file)."""
    BuildCache.open(path).close()
    cache = BuildCache.open(path)
    assert cache.synchronous == "NORMAL"
    return cache


def test_a_handed_over_cache_is_copied_into_its_file_by_a_detached_process(tmp_path: Path) -> None:
    # The command line ends with os._exit and never closes the cache: what the build committed
    # is in the write-ahead log until a detached process checkpoints it into the file.
    path = tmp_path / "build.sqlite"
    cache = _existing_cache(path)
    cache.replace_files({"a.txt": ("key", ("record",), b"")}, [])
    assert _main_file_alone(path, tmp_path / "copy.sqlite") == {}  # only in the log so far
    cache.hand_over()
    found = None
    deadline = time.monotonic() + 30
    while found != {"a.txt": "key"} and time.monotonic() < deadline:
        time.sleep(0.05)
        found = _main_file_alone(path, tmp_path / "copy.sqlite")
    assert found == {"a.txt": "key"}
    assert cache.recorded_keys(["a.txt"]) == {"a.txt": "key"}  # and the connection still reads it
    cache.close()


def test_a_cache_that_wrote_nothing_is_handed_to_no_process_and_a_new_one_without_syncing(tmp_path: Path, monkeypatch) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(subprocess, "Popen", lambda args, **kwargs: started.append(args))
    new = BuildCache.open(tmp_path / "new.sqlite")
    new.hand_over()
    assert started == []  # nothing written, nothing to copy
    new.replace_files({"a.txt": ("key", ("record",), b"")}, [])
    new.hand_over()
    existing = _existing_cache(tmp_path / "existing.sqlite")
    existing.put_many({"summary": "value"})
    existing.hand_over()
    # The new file's first build is copied unsynced, as its own commits were; a file with an
    # earlier build's work is synced (see test_only_a_new_cache_file_is_written_without_syncing).
    assert [(args[-2], args[-1]) for args in started] == [(str(tmp_path / "new.sqlite"), "OFF"), (str(tmp_path / "existing.sqlite"), "NORMAL")]
    new.close()
    existing.close()


def test_a_cache_whose_process_cannot_be_started_is_closed_in_place(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "build.sqlite"
    cache = _existing_cache(path)
    cache.replace_files({"a.txt": ("key", ("record",), b"")}, [])

    def no_process(args, **kwargs):
        raise OSError("no python")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    cache.hand_over()
    assert _main_file_alone(path, tmp_path / "copy.sqlite") == {"a.txt": "key"}  # checkpointed by the close
    with pytest.raises(sqlite3.ProgrammingError):
        cache.db.execute("SELECT 1")


def test_what_a_process_ending_without_closing_committed_is_read_by_the_next(tmp_path: Path) -> None:
    # The detached process may never run (killed with the build's group, a full process
    # table): the log it would have copied stays, and the next build reads it.
    path = tmp_path / "build.sqlite"
    _existing_cache(path).close()
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from sitegen.pipeline.cache import BuildCache\n"
        "cache = BuildCache.open(Path(sys.argv[1]))\n"
        "cache.replace_files({'a.txt': ('key', ('record',), b'')}, [])\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=Path(__file__).resolve().parent.parent)
    assert _main_file_alone(path, tmp_path / "copy.sqlite") == {}  # never checkpointed
    with closing(BuildCache.open(path)) as cache:
        assert cache.recorded_keys(["a.txt"]) == {"a.txt": "key"}


def test_the_detached_process_makes_no_cache_where_the_file_is_gone(tmp_path: Path) -> None:
    # A build that found the cache damaged deletes it: a process handed the old one must not
    # leave an empty file in its place. And a path with characters a URI escapes still works.
    from sitegen.pipeline.cache import _CHECKPOINT

    gone = tmp_path / "build #1?.sqlite"
    finished = subprocess.run([sys.executable, "-I", "-S", "-c", _CHECKPOINT, str(gone), "NORMAL"], capture_output=True)
    assert finished.returncode != 0 and not gone.exists()
    cache = _existing_cache(gone)
    cache.replace_files({"a.txt": ("key", ("record",), b"")}, [])
    subprocess.run([sys.executable, "-I", "-S", "-c", _CHECKPOINT, str(gone), "NORMAL"], check=True)
    assert _main_file_alone(gone, tmp_path / "copy.sqlite") == {"a.txt": "key"}
    cache.close()
