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


def test_a_manifest_holding_anything_but_text_is_not_used(tmp_path: Path) -> None:
    # Pickled values the allow-list lets through (lists, numbers) where digests belong: the
    # build compares manifests as sets of pairs, which a list cannot be in. Not used at all.
    from sitegen.pipeline.cache import allow_list
    from sitegen.pipeline.state import STATE_TYPES, OutputState, read_outputs

    cache = BuildCache.open(tmp_path / "build.sqlite", allow_list(STATE_TYPES))
    try:
        for manifest in ({"index.html": ["a list"]}, {"index.html": 7}, {7: "digest"}):
            cache.put_many({"outputs": OutputState(manifest, {})})
            assert read_outputs(cache) == OutputState()
        good = OutputState({"index.html": "digest"}, {})
        cache.put_many({"outputs": good})
        assert read_outputs(cache) == good
    finally:
        cache.close()
