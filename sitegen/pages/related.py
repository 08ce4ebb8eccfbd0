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

import bisect
import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain

from ..content.terms import term_slug
from .listing import Listing, listing_file, listing_key
from .planner import RELATED_SLOT, Article

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
    """Every segment's ranked related segments, as positions in the site's order: a build
    asks only for the pages it finishes (a few after a one-paragraph edit), so nothing is
    made for the others."""

    order: Sequence[Listing]  # the site's order
    positions: dict[Key, int]  # each segment's place in it
    ranked_at: Sequence[tuple[int, ...]]  # of each place, the places of its related segments, best first

    def shown(self, key: Key, english: bool) -> tuple[Listing, ...]:
        """What the segment's page in one edition lists: the English edition only segments with an English page."""
        position = self.positions.get(key)
        found = [self.order[other] for other in self.ranked_at[position]] if position is not None else []
        if english:
            found = [listing for listing in found if listing.in_english]
        return tuple(found[:SHOWN])

    @cached_property
    def ranked(self) -> dict[Key, tuple[Key, ...]]:
        """Each segment's related segments by key (those that have any)."""
        keys = list(map(listing_key, self.order))
        return {keys[p]: tuple(keys[o] for o in others) for p, others in enumerate(self.ranked_at) if others}


@dataclass(frozen=True)
class Ranking:
    """What one build ranked, kept for the next: the segments in the site's order, each one's
    features (joined), and each one's ranked others (as positions in that order). When the
    next build has the same segments in the same order, only the segments near a change of
    features are ranked again (:func:`rank_related`)."""

    order: tuple[Key, ...]
    features: tuple[str, ...]
    ranked: tuple[tuple[int, ...], ...]

    def fits(self, order: tuple[Key, ...]) -> bool:
        """Whether this is a whole ranking of these segments in this order. It comes from the
        cache, which may be damaged or planted: one that does not fit is not used."""
        return self.added_before(order) == 0

    def added_before(self, order: tuple[Key, ...]) -> int | None:
        """How many segments ``order`` has before the ones this ranking ranked, when it ranked
        all the others in the same order (new stories newer than every story it knew: a
        newsroom's day); None when it does not fit so (another order, a story gone or moved,
        a damaged or planted value)."""
        total = len(self.order)
        added = len(order) - total
        if added < 0 or order[added:] != self.order or not (len(self.features) == total == len(self.ranked)):
            return None
        # Checked a type at a time over all of them, in C: a build reads fifty thousand positions.
        if not (set(map(type, self.features)) <= {str} and set(map(type, self.ranked)) <= {tuple}):
            return None
        positions = list(chain.from_iterable(self.ranked))
        if not (set(map(type, positions)) <= {int} and (not positions or (min(positions) >= 0 and max(positions) < total))):
            return None
        return added


@dataclass(frozen=True)
class Ranked:
    related: Related
    ranking: Ranking
    # Positions whose ranked others may differ from the previous build's (None: all of them,
    # nothing was reused).
    reranked: frozenset[int] | None


_JOIN = "\x1e"  # between the features of one segment: no feature holds it (term slugs and words never do)


def rank_related(articles: Sequence[Article], keywords: Mapping[Key, tuple[str, ...]], previous: Ranking | None = None, *, features: Mapping[Key, str] | None = None) -> Ranked:
    """Each segment's related segments, best first, from the articles (newest first).

    With the ``previous`` build's ranking of the same segments in the same order (after any
    new ones newer than all of them), only the segments whose ranking a change of features
    can reach are ranked again: the changed and new segments, those within a few members of
    them in the lists of the features they gained or lost, and every member of a feature
    whose weight changed. Same result as ranking all."""
    order = [listing for article in articles for listing in article.segments]
    # Read and joined by maps in C: a one-change build does all this for every segment.
    keys = tuple(map(listing_key, order))
    files = list(map(listing_file, order))
    slugs: dict[str, str] = {}
    made = features or {}  # made where the listings were (the file stage): related_features
    joined = tuple(map(made.get, keys))
    if None in joined:
        joined = tuple(found if found is not None else related_features(listing, keywords.get(key, ()), slugs) for found, listing, key in zip(joined, order, keys))
    total = len(order)
    added = previous.added_before(keys) if isinstance(previous, Ranking) else None
    if added is not None:
        # New stories before all the others shift every position by as many: the distances
        # between the others, which break ties, stand, and so do their rankings unless a
        # change of features (the new stories have all theirs new) or of weight reaches them.
        before = ("",) * added + previous.features
        changed = [position for position in range(total) if before[position] != joined[position]]
        # No segment's features changed, none added (most edits of a paragraph): nothing is
        # ranked again, and no feature's members are listed (13 ms at 10,000 segments).
        postings = _all_members(joined) if changed or added else {}
        reranked = frozenset(_reached(changed, before, joined, postings, files, (total - added, total)))
        ranked = [()] * added + [tuple(other + added for other in others) for others in previous.ranked] if added else list(previous.ranked)
        for position in reranked:
            ranked[position] = _rank_one(position, _split(joined[position]), postings, files, total)
    else:
        ranked, reranked = _rank_all(_all_members(joined), files, total), None
    ranked = tuple(ranked)
    return Ranked(Related(order, dict(zip(keys, range(total))), ranked), Ranking(keys, joined, ranked), reranked)


def _split(joined: str) -> list[str]:
    """A segment's features, as ``related_features`` joined them."""
    return joined.split(_JOIN) if joined else []


def _all_members(joined: Sequence[str]) -> dict[str, list[int]]:
    """Each feature's segments, as positions in the site's order (``joined``: each position's
    features, as ``related_features`` gives them)."""
    postings: dict[str, list[int]] = {}
    for position, found in enumerate(joined):
        if found:
            for feature in found.split(_JOIN):
                postings.setdefault(feature, []).append(position)
    return postings


def _rank_all(postings: dict[str, list[int]], files: list[str], total: int) -> list[tuple[int, ...]]:
    scores: list[dict[int, int]] = [{} for _ in range(total)]
    for feature, members in postings.items():
        weight = _weight(feature, len(members), total)
        if weight:
            _score_neighbours(scores, members, files, weight)
    return [_best(position, found) if found else () for position, found in enumerate(scores)]


def _rank_one(position: int, features: Sequence[str], postings: dict[str, list[int]], files: list[str], total: int) -> tuple[int, ...]:
    """One segment's ranked others, as :func:`_rank_all` finds them."""
    found: dict[int, int] = {}
    own = files[position]
    for feature in features:
        members = postings[feature]
        weight = _weight(feature, len(members), total)
        if not weight:
            continue
        start = end = bisect.bisect_left(members, position)
        while start > 0 and files[members[start - 1]] == own:
            start -= 1
        while end < len(members) and files[members[end]] == own:
            end += 1
        for other in members[max(0, start - NEIGHBOURS) : start] + members[end : end + NEIGHBOURS]:
            found[other] = found.get(other, 0) + weight
    return _best(position, found) if found else ()


def _best(position: int, found: dict[int, int]) -> tuple[int, ...]:
    best = heapq.nsmallest(RANKED, [(-score, abs(other - position), other) for other, score in found.items()])
    return tuple(other for _, _, other in best)


def _reached(changed: list[int], before: Sequence[str], joined: Sequence[str], postings: dict[str, list[int]], files: list[str], totals: tuple[int, int]) -> set[int]:
    """The positions whose ranking the changed segments' features can change. ``before`` and
    ``joined``: each position's features joined, in the previous ranking and now;
    ``totals``: the number of segments then and now (a weight depends on it)."""
    total_before, total = totals
    reached = set(changed)
    moves: dict[str, list[int]] = {}  # feature -> the changed positions that gained or lost it
    lost: dict[str, int] = {}
    for position in changed:
        had = set(_split(before[position]))
        has = set(_split(joined[position]))
        for feature in had ^ has:
            moves.setdefault(feature, []).append(position)
            if feature in had:
                lost[feature] = lost.get(feature, 0) + 1
    if total != total_before:
        # Every member of a feature whose rarity moved with the number of segments scores it anew.
        moved_rarity = {count for count in set(map(len, postings.values())) if _rarity(count, total) != _rarity(count, total_before)}
        for feature, members in postings.items():
            if len(members) in moved_rarity and feature not in moves:
                reached.update(members)
    for feature, moved in moves.items():
        members = postings.get(feature, [])
        gone = lost.get(feature, 0)
        # Every list the feature had or has: its members now, and those that left it.
        union = sorted(set(members) | set(moved))
        if _weight(feature, len(members), total) != _weight(feature, len(members) - (len(moved) - gone) + gone, total_before):
            reached.update(union)  # every member's score of the feature changed
            continue
        # A member's others are the NEIGHBOURS members on each side of its article's run: a
        # segment entering or leaving the list reaches the runs that many members away (in
        # the union, a few more: those that left or entered in between).
        reach = NEIGHBOURS + len(moved)
        for position in moved:
            at = bisect.bisect_left(union, position)
            low, high = max(0, at - reach), min(len(union) - 1, at + reach)
            while low > 0 and files[union[low - 1]] == files[union[low]]:
                low -= 1
            while high < len(union) - 1 and files[union[high + 1]] == files[union[high]]:
                high += 1
            reached.update(union[low : high + 1])
    return reached


def related_features(listing: Listing, words: tuple[str, ...], slugs: dict[str, str] | None = None) -> str:
    """A segment's features, sorted and joined in one text: each a kind's letter, then the
    tag's slug, the section or the word. One text, not a tuple of them: a build reads every
    segment's from the cache (pipeline/records.py), and unpickling 80,000 short texts at
    10,000 segments took 15 ms against 4 for one text a segment; the ranking compares and
    keeps them joined, and splits only those it ranks again. ``slugs``: each tag spelling's
    slug, worked out once per ranking."""
    found = set()
    for tag in listing.tags:
        slug = slugs.get(tag) if slugs is not None else None
        if slug is None:
            slug = term_slug(tag)
            if slugs is not None:
                slugs[tag] = slug
        if slug:
            found.add("t" + slug)
    if listing.section:
        # A section is a folder's name, which may hold the features' separator but never "/".
        found.add("s" + listing.section.replace(_JOIN, "/"))
    found.update("w" + word for word in words)
    return _JOIN.join(sorted(found))


def _weight(feature: str, members: int, total: int) -> int:
    """A shared feature's weight: its kind's, times how rare it is (1 for one every segment
    has); none for a feature only one segment has."""
    base = TAG if feature[0] == "t" else KEYWORD if feature[0] == "w" else SECTION
    return base * _rarity(members, total)


def _rarity(members: int, total: int) -> int:
    """How rare a feature of ``members`` segments is among ``total`` (a weight's factor; 0 for one segment's own)."""
    return 1 + int(math.log2(total / members)) if members >= 2 else 0


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
