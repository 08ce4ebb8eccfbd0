"""The build cache's tables: what a one-change build reads of them, and how."""

from __future__ import annotations

from pathlib import Path

from sitegen.pipeline.cache import SEARCH_SEQUENCE, BuildCache


def test_the_document_sequence_is_read_from_an_index_without_the_packed_documents(tmp_path: Path) -> None:
    cache = BuildCache.open(tmp_path / "build.sqlite")
    try:
        docs = [(f"ar/{n}.html", f"{n}.txt", 15000 + n, f"digest{n}", bytes(4000)) for n in range(50)]
        cache.replace_search([], docs)
        plan = " ".join(row[-1] for row in cache.db.execute("EXPLAIN QUERY PLAN " + SEARCH_SEQUENCE))
        # A scan of the table would page through every packed document to reach three short columns.
        assert "COVERING INDEX" in plan, plan
        assert sorted(cache.search_sequence()) == sorted((url, day, digest) for url, _rel, day, digest, _doc in docs)
    finally:
        cache.close()


def test_an_output_state_is_read_back_as_written_and_a_planted_one_is_refused(tmp_path: Path, monkeypatch) -> None:
    # The manifest is pickled as two texts (paths, digests) and read back as a dictionary of
    # text: the build compares manifests as sets of pairs, which a planted list (the cache's
    # allow-list lets lists through) would stop. Anything else in its place is refused.
    import pytest

    from sitegen.pipeline.cache import CacheDamaged, allow_list
    from sitegen.pipeline.state import STATE_TYPES, ArtifactRecord, OutputState, read_outputs

    cache = BuildCache.open(tmp_path / "build.sqlite", allow_list(STATE_TYPES))
    try:
        for state in (OutputState(), OutputState({"index.html": "d1", "ar/حمص.html": "d2"}, {"index": ArtifactRecord("k", (("index.html", "d1"),))})):
            cache.put_many({"outputs": state})
            assert read_outputs(cache) == state
        for planted in ((["a list"], "d", {}), ("a\0b", "only one digest", {}), ("index.html", "d", ["not", "a", "dict"]), "not a tuple"):
            monkeypatch.setattr(OutputState, "__getstate__", lambda self, planted=planted: planted)
            cache.put_many({"outputs": OutputState()})
            monkeypatch.undo()
            with pytest.raises(CacheDamaged):
                read_outputs(cache)
    finally:
        cache.close()


def test_an_output_record_of_the_wrong_kinds_does_not_fit() -> None:
    """The engine carries an output over only on a record that fits (making.make_outputs): a
    damaged or planted one (the allow-list lets any plain value into its fields) does not."""
    from sitegen.pipeline.state import OutputRecord

    assert OutputRecord("digest", ("index.html", "page-2.html"), 2).fits()
    assert OutputRecord("digest", (), 0).fits()
    for planted in (OutputRecord(b"digest", (), 0), OutputRecord("digest", ["index.html"], 1), OutputRecord("digest", ("index.html", 3), 1), OutputRecord("digest", (), "2")):
        assert not planted.fits()
