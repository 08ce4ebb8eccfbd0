"""The offline search index as an output: its root file and one artifact per bucket.

A bucket's key is made of its documents' digests, so a bucket is written again only
when a document in it was added, removed or changed; the documents themselves are
analysed in the file stage (:func:`packed_document`) and kept by the build between runs.
"""

from __future__ import annotations

import pickle

from ...config import SiteConfig
from ...content.segment import Segment
from ...core import urls
from ...core.hashing import hash_bytes
from ...translation.companions import Companion
from ..base import Artifact, Job, Made, Output, SiteView
from .analyser import SearchDocument, analyse_document
from .writer import bucket_count, build_bucket, build_search_root


class SearchIndex(Output):
    name = "search"

    def artifacts(self, view: SiteView) -> list[Artifact]:
        if not view.config.search or view.documents is None:
            return []
        total = len(view.listings)  # one document per segment
        buckets = bucket_count(total)
        found = [Artifact("search:root", hash_bytes(f"{buckets}/{total}"), lambda _memo: Made(build_search_root(buckets, total)))]
        for bucket, digests in sorted(view.documents.bucket_digests(buckets).items()):
            key = hash_bytes(f"{bucket}/{buckets}", *digests)
            found.append(Artifact(f"search:b{bucket}", key, _maker(view, bucket, buckets)))
        return found


def _maker(view: SiteView, bucket: int, buckets: int):
    # Read here, in the main process (the store's database is not shared with workers), and
    # passed still packed: unpacking ten thousand documents is the workers' part.
    return lambda _memo: Job(_build_bucket, (bucket, buckets, view.documents.packed(bucket)))


def _build_bucket(view: SiteView, argument) -> Made:
    bucket, buckets, packed = argument
    return Made(build_bucket(bucket, buckets, [view.documents.unpack(data) for data in packed]))


def packed_document(segment: Segment, companion: Companion | None, config: SiteConfig) -> tuple[str, bytes]:
    """(Arabic URL, analysed document packed): the search's part of the file stage."""
    target = config.translation.target
    url = urls.segment_page(segment.slug, config.language)
    document = SearchDocument(
        url_ar=url,
        title_ar=segment.title,
        text_ar=segment.text,
        date=segment.date.isoformat() if segment.date else None,
        url_en=urls.companion_page(segment.slug, target) if companion else None,
        title_en=companion.title if companion else None,
        text_en="\n".join(" ".join(b) for b in companion.blocks) if companion else None,
    )
    # Packed: ten thousand analysed documents must fit in the main process's memory.
    return url, pickle.dumps(analyse_document(document), protocol=5)
