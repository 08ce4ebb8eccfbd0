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
import struct
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import accumulate, chain, compress, count, repeat
from operator import attrgetter

from ..content.terms import term_slug
from ..core.forked import ForkedWork
from .listing import Article, Listing, listing_file, listing_key
from .planner import RELATED_SLOT
from .related_members import CAST as _CAST
from .related_members import JOIN as _JOIN
from .related_members import POSITION as _POSITION
from .related_members import MembersUnfit, StoredMembers, pack_members
from .related_members import split as _split

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


# A ranking's positions are kept packed, RANKED of them a segment (its own position where it
# has fewer others: a segment never ranks itself), four bytes each, in the machine's order:
# unpickling 100,000 numbers as objects, checking them and pickling them again cost a
# one-change build 25-35 ms at 10,000 segments, against one text of 400 KB read once.
_SLOTS = struct.Struct(f"={RANKED}I")
_STRIDE = _SLOTS.size
# Above this many places shown again, one pass over the ranking finds those listing them
# sooner than a search of it for each (Related.listing_any).
_SEARCHED_AT_MOST = 16
_FEATURES = "\x1d"  # between the segments' joined features (a feature never holds it)
_SHARED_FROM = 4000  # segments: a full ranking is shared with a forked child (_rank_all)


_NUMBER = attrgetter("number")
_FILE, _SEGMENTS = attrgetter("source_rel"), attrgetter("segments")  # of an article


def _numbers(order: Sequence[Listing]) -> bytes:
    """Each listing's number, packed as positions are."""
    return struct.pack(f"={len(order)}I", *map(_NUMBER, order))


def _pack(ranked: Sequence[tuple[int, ...]], start: int = 0) -> bytearray:
    """Positions' ranked others, packed (``ranked``: those of the positions from ``start`` on)."""
    packed = bytearray(_STRIDE * len(ranked))
    for position, others in enumerate(ranked, start):
        _put(packed, position, others, start)
    return packed


def _put(packed: bytearray, position: int, others: tuple[int, ...], start: int = 0) -> None:
    """``position``'s others into ``packed``, which holds the positions from ``start`` on."""
    _SLOTS.pack_into(packed, (position - start) * _STRIDE, *others, *(position,) * (RANKED - len(others)))


def _others(packed: bytes | bytearray, position: int) -> tuple[int, ...]:
    return tuple(other for other in _SLOTS.unpack_from(packed, position * _STRIDE) if other != position)


@dataclass(frozen=True)
class Related:
    """Every segment's ranked related segments, as positions in the site's order: a build
    asks only for the pages it finishes (a few after a one-paragraph edit), so nothing is
    made for the others."""

    order: Sequence[Listing]  # the site's order
    packed: bytes | bytearray  # of each place, the places of its related segments, best first (_pack)
    articles: Sequence[Article] = ()  # the same order, file by file (``order`` is their segments)

    def position(self, key: Key) -> int | None:
        """The place of the segment ``key`` (its file and number) in the site's order, or None.
        A file's segments lie together there, their numbers ascending: found among them by
        halving. (A dict of every segment's place cost a one-change build 20-30 ms at 50,000
        segments, for the few places it looks up; one of every file's, from the segments', 30.)"""
        rel, number = key
        files, ends = self._files
        found = files.get(rel)
        if found is None:
            return None
        start, end = ends[found], ends[found + 1]
        at = bisect.bisect_left(self.order, number, start, end, key=_NUMBER)
        return at if at < end and self.order[at].number == number else None

    @cached_property
    def _files(self) -> tuple[dict[str, int], list[int]]:
        """Each file's place among the articles (16,667 at 50,000 segments), and where each
        article's segments end in the order (after a 0): made in C."""
        return dict(zip(map(_FILE, self.articles), count())), list(accumulate(map(len, map(_SEGMENTS, self.articles)), initial=0))

    def others(self, position: int) -> tuple[int, ...]:
        """The places of the segment at ``position``'s related segments, best first."""
        return _others(self.packed, position)

    def shown(self, key: Key, english: bool) -> tuple[Listing, ...]:
        """What the segment's page in one edition lists: the English edition only segments with an English page."""
        position = self.position(key)
        found = [self.order[other] for other in self.others(position)] if position is not None else []
        if english:
            found = [listing for listing in found if listing.in_english]
        return tuple(found[:SHOWN])

    def listing_any(self, shown: set[int]) -> set[int]:
        """The places whose related segments include any of the places ``shown``: found by a
        search of the packed positions in C, not a look at every segment's. For many places
        (a file of thousands of segments made again) one pass over every place's others, also
        in C: a search of the whole ranking for each was their product (2,000 places shown
        again in 8,000 segments: 17.7 % of the build)."""
        packed = self.packed
        if len(shown) > _SEARCHED_AT_MOST:
            others = memoryview(packed).cast(_CAST)  # every place's ranked others, RANKED a place
            return {at // RANKED for at in compress(count(), map(shown.__contains__, others)) if others[at] != at // RANKED}
        found: set[int] = set()
        for wanted in shown:
            needle = _POSITION.pack(wanted)
            at = packed.find(needle)
            while at != -1:
                if at % _POSITION.size:  # across two positions: not one
                    at = packed.find(needle, at + 1)
                    continue
                position = at // _STRIDE
                if position != wanted:  # its own position: a free slot
                    found.add(position)
                at = packed.find(needle, at + _POSITION.size)
        return found

    @cached_property
    def ranked(self) -> dict[Key, tuple[Key, ...]]:
        """Each segment's related segments by key (those that have any)."""
        keys = list(map(listing_key, self.order))
        return {keys[p]: tuple(keys[o] for o in others) for p in range(len(keys)) if (others := self.others(p))}


@dataclass(frozen=True)
class Ranking:
    """What one build ranked, kept for the next: the segments in the site's order (their
    files joined, their numbers packed), each one's features (joined, then joined again),
    each one's ranked others (packed positions in that order), and each feature's members
    (:func:`pack_members`). When the next build has the same segments in the same order,
    only the segments near a change of features are ranked again (:func:`rank_related`;
    :func:`rank_changed` where the caller knows which segments' features may have changed)."""

    files: str  # each segment's file, joined by NUL
    numbers: bytes  # each segment's number, packed as positions are
    features: str  # each segment's features (related_features), joined by _FEATURES
    ranked: bytes  # each segment's ranked others (_pack)
    # Each feature's members (pack_members). A ranking kept by a build of an earlier layout
    # has none (these defaults): it is then not one rank_changed can start from.
    feature_names: str = ""
    members: bytes = b""
    member_ends: bytes = b""

    def added_before(self, files: list[str], numbers: bytes) -> int | None:
        """How many segments of the site's order (``files`` and packed ``numbers``) come
        before the ones this ranking ranked, when it ranked all the others in the same order
        (new stories newer than every story it knew: a newsroom's day); None when it does not
        fit so (another order, a story gone or moved, a damaged or planted value)."""
        total = self.total()
        if total is None:
            return None
        added = len(files) - total
        if added < 0 or numbers[added * _POSITION.size :] != self.numbers or "\0".join(files[added:]) != self.files:
            return None
        return added

    def total(self) -> int | None:
        """How many segments this ranking ranked; None when it is not one as :func:`rank_related`
        makes them (a damaged or planted value): of the wrong types or sizes, or ranking a
        position past its segments (every position checked in C: a build reads a hundred thousand)."""
        if not (type(self.files) is str and type(self.numbers) is bytes and type(self.features) is str and type(self.ranked) is bytes):
            return None
        total, rest = divmod(len(self.numbers), _POSITION.size)
        if rest or len(self.ranked) != total * _STRIDE:
            return None
        if self.ranked and max(memoryview(self.ranked).cast(_CAST)) >= total:
            return None
        return total

    def features_before(self, added: int) -> list[str] | None:
        """Each position's features as this ranking had them (none for the ``added`` ones),
        or None when they are not one a segment (damaged or planted)."""
        total = len(self.ranked) // _STRIDE
        before = self.features.split(_FEATURES) if total else []
        return [""] * added + before if len(before) == total else None


@dataclass(frozen=True)
class Ranked:
    related: Related
    ranking: Ranking
    # Positions whose ranked others may differ from the previous build's (None: all of them,
    # nothing was reused).
    reranked: frozenset[int] | None


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
    numbers = _numbers(order)
    features_text = _FEATURES.join(joined)
    added = previous.added_before(files, numbers) if isinstance(previous, Ranking) else None
    if added == 0 and features_text == previous.features:
        # No segment's features changed, none added (most edits of a paragraph): nothing is
        # ranked again, no feature's members are listed (13 ms at 10,000 segments), and the
        # ranking stands as it was read: the very one read, which the build need not store again.
        return _standing(articles, order, previous)
    before = previous.features_before(added) if added is not None else None
    if before is not None:
        # New stories before all the others shift every position by as many: the distances
        # between the others, which break ties, stand, and so do their rankings unless a
        # change of features (the new stories have all theirs new) or of weight reaches them.
        changed = [position for position in range(total) if before[position] != joined[position]]
        postings = _all_members(joined)
        ranked, reranked = _ranked_again(previous.ranked, added, changed, (before, joined), postings, files)
    else:
        postings = _all_members(joined)
        ranked, reranked = _rank_all(postings, files, total), None
    ranked = bytes(ranked)
    ranking = Ranking("\0".join(files), numbers, features_text, ranked, *pack_members(postings))
    return Ranked(Related(order, ranked, articles), ranking, reranked)


def rank_changed(articles: Sequence[Article], previous: Ranking, features: Mapping[Key, str]) -> Ranked | None:
    """:func:`rank_related` of ``articles`` where the caller knows that only the segments
    ``features`` names (those of the files it made again, with their features now) may have
    other features than ``previous`` ranked them with, or be new: the same answer, in time that
    follows the change rather than the site. Every segment's features are the previous
    ranking's with those put in, and each feature's members are read where a segment ranked
    again needs them, from the ones the ranking kept, rather than listed for every segment (at
    50,000 segments an edit that changed a keyword spent 0.2 s in rank_related, 2 ms of it
    ranking). New stories newer than all the others (a newsroom's day) move every kept
    position by as many, in C. None where ``previous`` does not rank these segments in this
    order (after any such new ones), or keeps no members that fit its features (the caller
    then ranks with :func:`rank_related`)."""
    if not isinstance(previous, Ranking):
        return None
    order = [listing for article in articles for listing in article.segments]
    files, numbers = list(map(listing_file, order)), _numbers(order)
    added = previous.added_before(files, numbers)
    if added is None:
        return None  # other segments, or another order: positions do not carry over
    before = previous.features_before(added)
    members = StoredMembers.of((previous.feature_names, previous.members, previous.member_ends), previous.features, before[added:], added) if before is not None else None
    if members is None:
        return None
    related = Related(order, previous.ranked, articles)
    joined = list(before)
    changed = []
    for key, found in features.items():
        position = related.position(key)
        if position is None:
            return None
        if found != before[position]:
            joined[position] = found
            changed.append(position)
    if added == 0 and not changed:
        return _standing(articles, order, previous)
    changed.sort()
    try:
        members.move(changed, before, joined)
        ranked, reranked = _ranked_again(previous.ranked, added, changed, (before, joined), members, files)
    except MembersUnfit:
        return None
    ranked = bytes(ranked)
    ranking = Ranking("\0".join(files) if added else previous.files, numbers, _FEATURES.join(joined), ranked, *members.packed())
    return Ranked(Related(order, ranked, articles), ranking, reranked)


def ranking_as_it_stands(articles: Sequence[Article], previous: Ranking) -> Ranked | None:
    """``previous`` as the ranking of ``articles``, where the caller knows that it ranked
    their very segments in this order with the features they have now (the pipeline tells so
    from the files it made again: finishing._ranked), which :func:`rank_related` would find by
    joining every segment's features and comparing them (0.1 s at 50,000 segments). Checked
    only to hold as many segments, each ranking positions among them; None otherwise."""
    order = [listing for article in articles for listing in article.segments]
    if not isinstance(previous, Ranking) or previous.total() != len(order):
        return None
    return _standing(articles, order, previous)


def _standing(articles: Sequence[Article], order: Sequence[Listing], previous: Ranking) -> Ranked:
    """``previous``, the very one read, as the ranking of ``order`` (the segments of
    ``articles``): nothing ranked again."""
    return Ranked(Related(order, previous.ranked, articles), previous, frozenset())


def _ranked_again(packed: bytes, added: int, changed: list[int], features: tuple[Sequence[str], Sequence[str]], postings: Mapping[str, list[int]] | StoredMembers, files: list[str]) -> tuple[bytearray, frozenset[int]]:
    """A previous ranking's ranked others (``packed``, ``added`` stories before them all) with
    the positions a change of features can reach ranked again, and those positions.
    ``features``: each position's features joined, in the previous ranking and now."""
    before, joined = features
    total = len(files)
    reranked = frozenset(_reached(changed, before, joined, postings, files, (total - added, total)))
    ranked = _shifted(packed, added) if added else bytearray(packed)
    for position in reranked:
        _put(ranked, position, _rank_one(position, _split(joined[position]), postings, files, total))
    return ranked, reranked


def _shifted(packed: bytes, added: int) -> bytearray:
    """The ranked others of a previous ranking, every position ``added`` places later, after
    as many places ranking nothing yet. Every number moves alike, its own position's in the
    free slots too (_put), so the numbers are moved in C: a step a position in Python took
    0.2 s at 50,000 segments, on every build that adds a story newer than all."""
    fresh = array(_CAST, chain.from_iterable(repeat(position, RANKED) for position in range(added)))
    moved = array(_CAST, map(added.__add__, memoryview(packed).cast(_CAST)))
    return bytearray(fresh.tobytes() + moved.tobytes())


def _all_members(joined: Sequence[str]) -> dict[str, list[int]]:
    """Each feature's segments, as positions in the site's order (``joined``: each position's
    features, as ``related_features`` gives them)."""
    postings: dict[str, list[int]] = {}
    for position, found in enumerate(joined):
        if found:
            for feature in found.split(_JOIN):
                postings.setdefault(feature, []).append(position)
    return postings


def _rank_all(postings: dict[str, list[int]], files: list[str], total: int) -> bytes:
    """Every position's ranked others, packed. From ``_SHARED_FROM`` segments on, a forked
    child ranks the later half while this process ranks the earlier one: the two halves meet
    at an article's edge, so that each sees every run of an article's members whole, as one
    pass over all of them does (a full ranking took 0.36 s of one core at 10,000 segments,
    1.5 s at 50,000, with the other core idle)."""
    middle = _article_edge(files, total // 2) if total >= _SHARED_FROM else total
    if middle in (0, total):
        return _rank_range(postings, files, total, 0, total)
    with ForkedWork(partial(_rank_range, postings, files, total, middle, total)) as later:
        earlier = _rank_range(postings, files, total, 0, middle)
        return earlier + later.result()


def _article_edge(files: list[str], near: int) -> int:
    """The first position from ``near`` on that begins an article (another file than the
    position before it); 0 if none does."""
    for position in range(max(1, near), len(files)):
        if files[position] != files[position - 1]:
            return position
    return 0


def _rank_range(postings: dict[str, list[int]], files: list[str], total: int, low: int, high: int) -> bytes:
    """The ranked others of the positions from ``low`` to ``high`` (each at an article's edge
    or the order's), packed."""
    scores: list[dict[int, int]] = [{} for _ in range(high - low)]
    for feature, members in postings.items():
        weight = _weight(feature, len(members), total)
        if weight:
            _score_neighbours(scores, members, files, weight, (low, high))
    return bytes(_pack([_best(position, found) if found else () for position, found in enumerate(scores, low)], low))


def _rank_one(position: int, features: Sequence[str], postings: Mapping[str, list[int]] | StoredMembers, files: list[str], total: int) -> tuple[int, ...]:
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


def _reached(changed: list[int], before: Sequence[str], joined: Sequence[str], postings: Mapping[str, list[int]] | StoredMembers, files: list[str], totals: tuple[int, int]) -> set[int]:
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
        # A section is a folder's name, which may hold the features' separators but never "/".
        found.add("s" + listing.section.replace(_JOIN, "/").replace(_FEATURES, "/"))
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


def _score_neighbours(scores: list[dict[int, int]], members: list[int], files: list[str], weight: int, span: tuple[int, int]) -> None:
    """Add ``weight`` to each member's score of its nearest members of other articles, up to
    ``NEIGHBOURS`` on each side, for the members within ``span`` (from, to: each an article's
    edge; ``scores`` holds theirs, the first at ``from``). An article's segments stand
    together in the site's order, so they form one run in ``members``: the nearest others of
    any of them are the members just before the run and just after it, whatever the
    article's length."""
    low, high = span
    start, count = bisect.bisect_left(members, low), bisect.bisect_left(members, high)
    while start < count:
        own = files[members[start]]
        end = start + 1
        while end < count and files[members[end]] == own:
            end += 1
        others = members[max(0, start - NEIGHBOURS) : start] + members[end : end + NEIGHBOURS]
        for position in members[start:end]:
            found = scores[position - low]
            for other in others:
                found[other] = found.get(other, 0) + weight
        start = end
