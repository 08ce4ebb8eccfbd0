"""Related stories: for each segment, segments of other articles that share its tags, its
section or its words, chosen the same way on every build.

A segment's *features* are its tags (by ``term_slug``), its section and its keywords (a few
of its most frequent words, from the file stage: ``outputs/search/keywords.py``). Each
feature's segments are kept in the site's order (newest first); a segment looks at its
nearest segments of other articles in each of its features' lists, a few on each side,
and adds the feature's weight to each. Weights favour tags over words over the section,
and rare features over common ones. Candidates are ranked by score, then by nearness in
the site's order, then by that order: deterministic, and linear in the number of segments
(every segment looks at a bounded number of others, whatever the archive's size).

The pages show ``SHOWN`` of them; ``RANKED`` are kept so that the English edition can show
the first of them that have an English page.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..content.terms import term_slug
from .planner import RELATED_SLOT, Article, Listing

SHOWN = 5
RANKED = 10
NEIGHBOURS = 3  # on each side, in each feature's list
# How much one shared feature counts, before its rarity multiplies it.
TAG, KEYWORD, SECTION = 4, 2, 1

# The marker a segment page's template leaves where its related stories go
# (``{{ related_slot }}``); the finishing stage (pipeline/finishing.py) fills it. Text of an
# article is escaped, so no segment can write it.
SLOT = str(RELATED_SLOT)

Key = tuple[str, int]  # (source file, segment number)


@dataclass(frozen=True)
class Related:
    """Every segment's ranked related segments; ``listing`` finds each by its key."""

    ranked: dict[Key, tuple[Key, ...]]
    listing: dict[Key, Listing]

    def shown(self, key: Key, english: bool) -> tuple[Listing, ...]:
        """What the segment's page in one edition lists: the English edition only segments with an English page."""
        found = [self.listing[k] for k in self.ranked.get(key, ())]
        if english:
            found = [listing for listing in found if listing.english_title is not None]
        return tuple(found[:SHOWN])


def rank_related(articles: Sequence[Article], keywords: Mapping[Key, tuple[str, ...]]) -> Related:
    """Each segment's related segments, best first, from the articles (newest first)."""
    order = [listing for article in articles for listing in article.segments]
    keys = [(listing.source_rel, listing.number) for listing in order]
    files = [listing.source_rel for listing in order]
    postings: dict[tuple[str, str], list[int]] = {}
    for position, listing in enumerate(order):
        for feature in _features(listing, keywords.get(keys[position], ())):
            postings.setdefault(feature, []).append(position)
    total = len(order)
    scores: list[dict[int, int]] = [{} for _ in order]
    for feature, members in postings.items():
        if len(members) > 1:
            _score_neighbours(scores, members, files, _weight(feature[0], len(members), total))
    ranked = {}
    for position, found in enumerate(scores):
        if found:
            best = heapq.nsmallest(RANKED, [(-score, abs(other - position), other) for other, score in found.items()])
            ranked[keys[position]] = tuple(keys[other] for _, _, other in best)
    return Related(ranked, dict(zip(keys, order)))


def _features(listing: Listing, words: tuple[str, ...]) -> set[tuple[str, str]]:
    found = {("tag", slug) for slug in map(term_slug, listing.tags) if slug}
    if listing.section:
        found.add(("section", listing.section))
    found.update(("word", word) for word in words)
    return found


def _weight(kind: str, members: int, total: int) -> int:
    """A shared feature's weight: its kind's, times how rare it is (1 for one every segment has)."""
    base = TAG if kind == "tag" else KEYWORD if kind == "word" else SECTION
    return base * (1 + int(math.log2(total / members)))


def _score_neighbours(scores: list[dict[int, int]], members: list[int], files: list[str], weight: int) -> None:
    """Add ``weight`` to each member's score of its nearest members of other articles, up to
    ``NEIGHBOURS`` on each side. An article's segments stand together in the site's order, so
    they form one run in ``members``: the nearest others of any of them are the members just
    before the run and just after it, whatever the article's length."""
    start, count = 0, len(members)
    while start < count:
        own = files[members[start]]
        end = start + 1
        while end < count and files[members[end]] == own:
            end += 1
        others = members[max(0, start - NEIGHBOURS) : start] + members[end : end + NEIGHBOURS]
        for position in members[start:end]:
            found = scores[position]
            for other in others:
                found[other] = found.get(other, 0) + weight
        start = end
