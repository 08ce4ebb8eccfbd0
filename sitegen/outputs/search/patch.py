"""Offline search, part four: patching the previous index for a few changed documents.

A build that changed one paragraph should not lay out the index of ten thousand
documents again. When no document was removed and no id moved (documents changed in
place, or new ones added after the last id: the newest articles), the previous
index's files are read back and only what the changed documents touch is written:
the term shards holding a term whose postings changed (split or merged where the
cut rule says), the document chunks holding a changed row, and the root. The rules
of :mod:`.writer` depend only on the documents, so the result is byte-identical to a
cold build of the same documents; tests/test_search.py checks it on random edits.

:func:`patch_layout` returns None whenever patching is not the way (the span changes,
a previous file cannot be read): the caller then builds the index cold.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .analyser import IndexedDocument
from .dense import patch_entry
from .writer import (
    DOC_CHUNK,
    INDEX_FILE,
    IndexStats,
    chunk_file,
    chunk_path,
    cuts_at,
    document_row,
    entry_size,
    js_sorted,
    read_chunk,
    read_shard,
    root_file,
    shard_file,
    shard_path,
    span_for,
    split_shards,
)

Reader = Callable[[str], "bytes | None"]  # a previous file's bytes, None if it cannot be trusted


@dataclass(frozen=True)
class Change:
    """One document whose terms or row changed, or a new one (``old`` None)."""

    doc_id: int
    old: IndexedDocument | None
    new: IndexedDocument


@dataclass(frozen=True)
class Patch:
    files: dict[str, bytes]  # written again (some may be byte-identical to before)
    removed: frozenset[str]  # previous files that are no longer part of the index
    stats: IndexStats


def patch_layout(stats: IndexStats, read: Reader, changes: Sequence[Change], documents: int) -> Patch | None:
    """The files to write so that the index of ``stats`` holds ``changes``; ``documents``
    is the new number of documents (new ones take the ids after the previous last)."""
    delta = _term_delta(changes)
    shards = _Shards(stats, read)
    if not shards.apply(delta):
        return None
    span = span_for(shards.terms, shards.size)
    if span != stats.span:
        return None  # every cut moves: a cold build is as cheap
    files, removed, bounds = shards.lay_out(span)
    if files is None:
        return None
    chunks = _patch_chunks(read, changes, stats.documents)
    if chunks is None:
        return None
    files |= chunks
    files[INDEX_FILE] = root_file(documents, bounds)
    return Patch(files, frozenset(removed), IndexStats(documents, shards.terms, shards.size, span, tuple(bounds)))


def _term_delta(changes: Sequence[Change]) -> dict[str, dict[int, int]]:
    """term -> {document id: its new weight, 0 when the term left the document}."""
    delta: defaultdict[str, dict[int, int]] = defaultdict(dict)
    for change in changes:
        old = dict(change.old.weighted_terms()) if change.old else {}
        new = dict(change.new.weighted_terms())
        for term in old.keys() | new.keys():
            if old.get(term) != new.get(term):
                delta[term][change.doc_id] = new.get(term, 0)
    return delta


class _Shards:
    """The previous shards a patch touches, read back, changed, and laid out again."""

    def __init__(self, stats: IndexStats, read: Reader):
        self.bounds = list(stats.bounds)
        self.span = stats.span
        self.read = read
        self.terms = stats.terms
        self.size = stats.size
        self.entries: dict[int, dict[str, str]] = {}  # shard index -> its entries, changed

    def _load(self, index: int) -> bool:
        """Loads the shard at ``index`` with every other part of the shard its span's cuts make
        (split_shards cuts one over the limit in parts, by what all its terms weigh)."""
        if index in self.entries:
            return True
        first = index
        while first > 0 and not cuts_at(self.bounds[first], self.span):
            first -= 1
        end = index + 1
        while end < len(self.bounds) and not cuts_at(self.bounds[end], self.span):
            end += 1
        for part in range(first, end):
            if part in self.entries:
                continue
            data = self.read(shard_path(self.bounds[part]))
            if data is None:
                return False
            self.entries[part] = dict(read_shard(data))
        return True

    def apply(self, delta: dict[str, dict[int, int]]) -> bool:
        for term in js_sorted(delta):
            index = max(0, bisect_right(self.bounds, term) - 1) if self.bounds else -1
            if index < 0:  # the index had no term at all: one shard to start from
                self.bounds, index = [term], 0
                self.entries[0] = {}
            elif not self._load(index):
                return False
            entries = self.entries[index]
            before = entries.get(term)
            after = patch_entry(before or "", delta[term])
            self.size -= entry_size(term, before) if before is not None else 0
            if after:
                entries[term] = after
                self.size += entry_size(term, after)
                self.terms += before is None
            elif before is not None:
                del entries[term]
                self.terms -= 1
        return self._merge_vanished_starts()

    def _merge_vanished_starts(self) -> bool:
        """A shard whose first term is gone joins the shard before it: load that one too."""
        for index in sorted(self.entries, reverse=True):
            while index > 0 and self.bounds[index] not in self.entries[index]:
                index -= 1
                if not self._load(index):
                    return False
        return True

    def lay_out(self, span: int) -> tuple[dict[str, bytes] | None, set[str], list[str]]:
        """The files of the changed runs of shards, the previous files they replace, and
        the new first terms of all shards."""
        files: dict[str, bytes] = {}
        removed: set[str] = set()
        bounds: list[str] = []
        index = 0
        while index < len(self.bounds):
            if index not in self.entries:
                bounds.append(self.bounds[index])
                index += 1
                continue
            end = index
            while end + 1 < len(self.bounds) and end + 1 in self.entries:
                end += 1
            encoded: dict[str, str] = {}
            for shard in range(index, end + 1):
                removed.add(shard_path(self.bounds[shard]))
                encoded |= self.entries[shard]
            terms = js_sorted(encoded)
            if index > 0 and terms[:1] != [self.bounds[index]]:
                return None, set(), []  # a run starts at its surviving first term (see _merge_vanished_starts)
            starts = split_shards(terms, [entry_size(term, encoded[term]) for term in terms], span)
            for start, stop in zip(starts, starts[1:] + [len(terms)]):
                entries = [(term, encoded[term]) for term in terms[start:stop]]
                path = shard_path(terms[start])
                files[path] = shard_file(entries)
                bounds.append(terms[start])
            index = end + 1
        return files, removed - files.keys(), bounds


def _patch_chunks(read: Reader, changes: Sequence[Change], previous_documents: int) -> dict[str, bytes] | None:
    """The document chunks holding a changed or new row, read back and changed."""
    rows: defaultdict[int, dict[int, list]] = defaultdict(dict)
    for change in changes:
        rows[change.doc_id // DOC_CHUNK][change.doc_id % DOC_CHUNK] = document_row(change.new)
    files = {}
    for chunk, changed in sorted(rows.items()):
        previous: list[list] = []
        if chunk * DOC_CHUNK < previous_documents:
            data = read(chunk_path(chunk))
            if data is None:
                return None
            previous = read_chunk(data)
        merged = previous + [None] * (max(changed) + 1 - len(previous)) if changed else previous
        for slot, row in changed.items():
            merged[slot] = row
        if any(row is None for row in merged):
            return None  # a gap: the changes do not fit the previous layout
        files[chunk_path(chunk)] = chunk_file(chunk, merged)
    return files
