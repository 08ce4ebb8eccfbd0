"""The offline search index as an output: one artifact, patched when it can be.

The index's key is made of every document's digest in id order. When it changed, the
artifact patches the previous index (:mod:`.patch`) if this build only changed
documents in place or added new ones after the last id, and the previous files are
still where it left them; otherwise it lays the index out cold, in a worker. Either way
the bytes are the same. The documents themselves are analysed in the file stage
(:func:`packed_document`) and kept by the build between runs.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ...config import SiteConfig
from ...content.segment import Segment
from ...core import urls
from ...core.hashing import hash_bytes, hash_columns
from ...translation.companions import Companion
from ..base import Artifact, DocumentChanges, Job, Made, Output, SiteView, Split
from .analyser import IndexedDocument, SearchDocument, analyse_document
from .patch import Change, patch_layout
from .writer import INDEX_VERSION, SHARD_DIR, IndexStats, Inversion, day_number, invert, lay_out

# Patching reads a previous file per changed shard and chunk: past this share of the
# documents changed, laying the index out again is as quick.
MAX_PATCHED_SHARE = 0.05
# Fewer documents than this a core: inverting them in one process is quicker than joining.
MIN_RUN = 2000
# Runs of ids a core inverts, one after the other: a worker holds one run's inversion at a
# time, and these were the largest part of a cold build's peak memory (at 10,000 segments
# of short ones, the build's peak 491 MB with a run a core, 446-450 MB with three).
RUNS_PER_CORE = 3


class SearchIndex(Output):
    name = "search"

    def artifacts(self, view: SiteView) -> list[Artifact]:
        if not view.config.search or view.documents is None:
            return []
        sequence = view.documents.sequence()
        state = _state(sequence)
        return [Artifact("search", state, lambda memo: _make(view, sequence, state, memo))]


def _state(sequence: list[tuple[str, str]]) -> str:
    """The key of an index of these documents, in this order."""
    urls, digests = _columns(sequence)
    return _state_of(urls, digests)


def _columns(sequence: list[tuple[str, str]]) -> tuple[Sequence[str], Sequence[str]]:
    """The URLs and the digests of ``sequence``, apart (made in C)."""
    return tuple(zip(*sequence)) or ((), ())  # type: ignore[return-value]


def _state_of(urls: Sequence[str], digests: Sequence[str]) -> str:
    return hash_bytes("search index", str(INDEX_VERSION), hash_columns(urls, digests))


def _make(view: SiteView, sequence: list[tuple[str, str]], state: str, memo) -> Made | Split:
    made = _patched(view, sequence, state, memo)
    if made is not None:
        return made
    packed = view.documents.packed()
    ordered = [packed.pop(url) for url, _ in sequence]
    # The cores invert runs of ids; the runs are joined here. Passed still packed:
    # unpacking ten thousand documents is the workers' part.
    runs = max(1, min(view.workers * RUNS_PER_CORE, len(ordered) // MIN_RUN))
    bounds = [len(ordered) * k // runs for k in range(runs + 1)]
    parts = tuple(Job(_invert, (start, ordered[start:end])) for start, end in zip(bounds, bounds[1:]))
    return Split(parts, lambda inversions: _laid_out(state, inversions))


def _invert(view: SiteView, argument) -> Inversion:
    start, packed = argument
    return invert(start, (view.documents.unpack(data) for data in packed), len(packed))


def _laid_out(state: str, inversions: list[Inversion]) -> Made:
    layout = lay_out(inversions)
    return Made(layout.files, memo=_memo(state, layout.stats, {path: hash_bytes(data) for path, data in layout.files.items()}))


def _memo(state: str, stats: IndexStats, files: dict[str, str]) -> dict:
    return {"version": INDEX_VERSION, "state": state, "documents": stats.documents, "terms": stats.terms,
            "size": stats.size, "span": stats.span, "bounds": list(stats.bounds), "files": files}


def _patched(view: SiteView, sequence: list[tuple[str, str]], state: str, memo) -> Made | None:
    """The index patched from the previous one, or None when it must be laid out cold."""
    changes = view.documents.changes()
    if not isinstance(memo, dict) or memo.get("version") != INDEX_VERSION or changes is None:
        return None
    found = _changed_documents(sequence, changes, memo)
    if found is None or len(found) > MAX_PATCHED_SHARE * len(sequence) + 8:
        return None
    packed = view.documents.packed(url for _, url, _ in found)
    edits = [Change(doc_id, view.documents.unpack(old) if old else None, view.documents.unpack(packed[url])) for doc_id, url, old in found]
    files: dict[str, str] = memo["files"]
    if not all(isinstance(path, str) and _INDEX_PATH.fullmatch(path) for path in files):
        return None
    stats = IndexStats(memo["documents"], memo["terms"], memo["size"], memo["span"], tuple(memo["bounds"]))
    try:
        patch = patch_layout(stats, lambda path: _previous_file(view, files, path), edits, len(sequence))
    except Exception:  # noqa: BLE001 -- a previous file or memo not as this code writes them
        return None  # patching only saves time: the cold layout is always right
    if patch is None:
        return None
    kept = {path: digest for path, digest in files.items() if path not in patch.removed and path not in patch.files}
    if not _all_present(view.staging, kept):
        return None
    written = {path: hash_bytes(data) for path, data in patch.files.items()}
    return Made(patch.files, written=kept, memo=_memo(state, patch.stats, kept | written))


def _all_present(staging: Path, paths: Iterable[str]) -> bool:
    """Whether the staging folder holds a file (or link) at each of ``paths`` (the index's:
    ``_INDEX_PATH``), told from one listing of its search folder: at 50,000 segments it
    holds 6,847 files, each looked up alone in 18 ms against 4."""
    try:
        listed = set(os.listdir(os.path.join(staging, SHARD_DIR)))
    except OSError:  # gone, or not a folder: none of its files is there
        listed = set()
    root = os.fspath(staging)
    return all(path[_IN_FOLDER:] in listed if path.startswith(_FOLDER_PREFIX) else os.path.lexists(f"{root}/{path}") for path in paths)


_FOLDER_PREFIX = SHARD_DIR + "/"
_IN_FOLDER = len(_FOLDER_PREFIX)
_INDEX_PATH = re.compile(r"search-index\.js|search/(t[0-9a-f]{16}|d[0-9]{1,9})\.js")


def _previous_file(view: SiteView, files: dict[str, str], path: str) -> bytes | None:
    """A file of the previous index as the staging copy holds it, if it is the one recorded
    (and named as this module names them: a memo read back from the cache names no other)."""
    if path not in files or not _INDEX_PATH.fullmatch(path) or os.path.islink(view.staging / path):
        return None
    try:
        data = (view.staging / path).read_bytes()
    except OSError:
        return None
    return data if hash_bytes(data) == files[path] else None


def _changed_documents(sequence: list[tuple[str, str]], changes: DocumentChanges, memo: dict) -> list[tuple[int, str, bytes | None]] | None:
    """(id, url, previous packed document or None if new) of every document to patch, or None
    when ids moved: a document removed, re-dated, or added anywhere but after the last id."""
    previous, stored = changes.previous, changes.stored
    if any(url not in stored for url in previous):
        return None  # removed
    added = [url for url in stored if url not in previous]
    old_count = len(sequence) - len(added)
    if old_count != memo.get("documents") or {url for url, _ in sequence[old_count:]} != set(added):
        return None
    urls, digests = _columns(sequence)
    ids = _ids_of(previous, urls, old_count)
    if ids is None:
        return None  # a document replaced is not among those the previous index held
    before = list(digests[:old_count])
    for url, doc_id in ids.items():
        before[doc_id] = previous[url][0]
    if _state_of(urls[:old_count], before) != memo.get("state"):
        return None  # not the documents the previous index was made of, or not in that order
    found = sorted((doc_id, url, previous[url][1]) for url, doc_id in ids.items() if previous[url][0] != digests[doc_id])
    return found + [(doc_id, url, None) for doc_id, url in enumerate(urls[old_count:], old_count)]


# Past this many documents replaced, their ids are found from a dict of every URL's rather
# than each looked for along the URLs (in C, about 1 ms each at 50,000 documents).
_LOOKED_FOR_ALONE = 16


def _ids_of(urls_wanted: Iterable[str], urls: Sequence[str], count: int) -> dict[str, int] | None:
    """The id of each of ``urls_wanted`` among the first ``count`` of ``urls`` (the previous
    index's documents, whose ids stand); None if one is not there. Found without a step a
    document in Python: a one-change build replaces the few documents of one file, and going
    over every document for them cost 17 ms at 50,000 documents."""
    wanted = list(urls_wanted)
    if len(wanted) > _LOOKED_FOR_ALONE:
        ids = dict(zip(urls[:count], range(count)))
        return {url: ids[url] for url in wanted} if all(url in ids for url in wanted) else None
    found = {}
    for url in wanted:
        try:
            found[url] = urls.index(url, 0, count)
        except ValueError:
            return None
    return found


def document_url(segment: Segment, config: SiteConfig) -> str:
    """What the search's documents are known by: the segment's Arabic page."""
    return urls.segment_page(segment.slug, config.language)


def packed_document(segment: Segment, companion: Companion | None, config: SiteConfig) -> tuple[str, int, bytes, IndexedDocument]:
    """(Arabic URL, day number, analysed document packed, the document): the search's part of the file stage."""
    target = config.translation.target
    url = document_url(segment, config)
    date = segment.date.isoformat() if segment.date else None
    document = SearchDocument(
        url_ar=url,
        title_ar=segment.title,
        text_ar=segment.text,
        date=date,
        url_en=urls.companion_page(segment.slug, target) if companion else None,
        title_en=companion.title if companion else None,
        text_en="\n".join(" ".join(b) for b in companion.blocks) if companion else None,
    )
    # Packed: ten thousand analysed documents must fit in the main process's memory.
    analysed = analyse_document(document)
    return url, day_number(date), pickle.dumps(analysed, protocol=5), analysed
