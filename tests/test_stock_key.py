"""The key of the site's stock (making.stock_key): every file of the site with its digest,
hashed by the parts the site is made of (each source file's pages, the artifacts' files)."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from sitegen.pipeline.files import FileOutcome
from sitegen.pipeline.making import stock_key


def _stock(records: dict[str, dict[str, str]], artifacts: dict[str, str], order: list[str] | None = None) -> str:
    rels = order if order is not None else list(records)
    files = SimpleNamespace(records={rel: FileOutcome(rel, pages=dict(records[rel])) for rel in rels})
    engine = SimpleNamespace(artifact_files=lambda: dict(artifacts))
    return stock_key(files, engine)


@pytest.mark.parametrize("seed", range(30))
def test_the_stock_key_follows_every_path_and_digest_and_not_the_order_they_came_in(seed: int) -> None:
    rng = random.Random(seed)
    records = {f"{rng.randrange(10**6)}-{n}.txt": {f"ar/{n}-{k}.html": f"{rng.getrandbits(64):016x}" for k in range(rng.randint(0, 4))} for n in range(rng.randint(1, 12))}
    artifacts = {f"en/list-{n}.html": f"{rng.getrandbits(64):016x}" for n in range(rng.randint(0, 6))}
    key = _stock(records, artifacts)
    shuffled = list(records)
    rng.shuffle(shuffled)
    assert _stock(records, artifacts, shuffled) == key, "the same files in another order: the same key"
    assert _stock({rel: dict(reversed(list(pages.items()))) for rel, pages in records.items()}, dict(reversed(list(artifacts.items())))) == key
    rel = rng.choice(list(records))
    changes = []
    if records[rel]:
        path = rng.choice(list(records[rel]))
        changes.append(({**records, rel: {**records[rel], path: "f" * 16}}, artifacts))  # a page's digest
        changes.append(({**records, rel: {p: d for p, d in records[rel].items() if p != path}}, artifacts))  # a page gone
        changes.append(({**records, rel: {(p + "x" if p == path else p): d for p, d in records[rel].items()}}, artifacts))  # moved
    changes.append(({**records, rel: {**records[rel], "ar/new.html": "0" * 16}}, artifacts))  # a page added
    changes.append(({r: p for r, p in records.items() if r != rel}, artifacts))  # a file gone
    changes.append((records, {**artifacts, "sitemap.xml": "1" * 16}))  # an artifact's file added
    if artifacts:
        changes.append((records, {p: "e" * 16 for p in artifacts}))  # its digests
    for changed_records, changed_artifacts in changes:
        if (changed_records, changed_artifacts) != (records, artifacts):
            assert _stock(changed_records, changed_artifacts) != key
