"""Each feature's members (the segments that have it, as positions in the site's order),
kept with a ranking of related stories (pages/related.py) for the next build.

Ranking a segment again needs the members of each of its features; listing them for every
segment (``related._all_members``) was most of an edit's ranking at 50,000 segments (0.1 s
of the 0.2 s an edit that changed a keyword spent there, 2 ms of it ranking). Kept packed,
they are read a feature at a time where a segment ranked again needs them, and those of the
features an edit moved segments into or out of are packed again around the others, in C.
"""

from __future__ import annotations

import bisect
import struct
from array import array
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate, chain
from operator import lt

# Positions are kept packed, four bytes each, in the machine's order (a ranking's ranked
# others too: related.py).
POSITION = struct.Struct("=I")
CAST = "I"  # how memoryview and array read them (four bytes wherever CPython runs: checked below)
if struct.calcsize(CAST) != POSITION.size or array(CAST).itemsize != POSITION.size:
    raise ImportError("related stories' positions need a four-byte unsigned int")
JOIN = "\x1e"  # between the features of one segment: no feature holds it (term slugs and words never do)


def split(joined: str) -> list[str]:
    """A segment's features, as ``related.related_features`` joined them."""
    return joined.split(JOIN) if joined else []


def pack_members(postings: Mapping[str, list[int]]) -> tuple[str, bytes, bytes]:
    """Each feature's members as a ranking keeps them: the features sorted and joined by JOIN
    (no feature holds it), their members (positions, ascending) packed as positions are, one
    feature's after the other, and where each feature's end (packed likewise). Made in C."""
    names = sorted(postings)
    lists = list(map(postings.__getitem__, names))
    return JOIN.join(names), array(CAST, chain.from_iterable(lists)).tobytes(), array(CAST, accumulate(map(len, lists))).tobytes()


class MembersUnfit(Exception):
    """The members a ranking kept are not those of its features (damaged or planted): found
    where they are read, the checks of :meth:`StoredMembers.of` being those made in C."""


class StoredMembers:
    """Each feature's members as a ranking kept them (:func:`pack_members`), read one feature
    at a time where a segment ranked again needs them, and those of the features an edit
    moved segments into or out of, in their place (:meth:`move`): what ``related._all_members``
    would list for every segment, read for a few. With ``shift``, every kept position is that
    many places later (stories newer than all come before them)."""

    def __init__(self, names: list[str], members: memoryview, ends: memoryview, shift: int = 0):
        self._names, self._members, self._ends, self._shift = names, members, ends, shift
        self._read: dict[str, list[int]] = {}
        self._moved: dict[str, list[int]] = {}  # a feature left with no member: an empty list

    @classmethod
    def of(cls, kept: tuple[str, bytes, bytes], features: str, each: list[str], shift: int = 0) -> StoredMembers | None:
        """The members a ranking ``kept`` (:func:`pack_members`), or None where they cannot be
        those of its ``features`` (``each`` segment's, split from them): of the wrong types,
        features not sorted, members past the segments, or not as many as the features name
        (checked in C; a damaged or planted value that passed would rank stories otherwise,
        never read outside the ranking)."""
        names, members, ends = kept
        if not (type(names) is str and type(members) is bytes and type(ends) is bytes) or len(members) % POSITION.size:
            return None
        names_list = names.split(JOIN) if names else []
        if len(ends) != POSITION.size * len(names_list) or not all(map(lt, names_list[:-1], names_list[1:])):
            return None
        members_view, ends_view = memoryview(members).cast(CAST), memoryview(ends).cast(CAST)
        named = features.count(JOIN) + len(each) - each.count("")  # each segment's features but its first follow a JOIN
        if len(members_view) != named or (ends_view and ends_view[-1] != named) or (members_view and max(members_view) >= len(each)):
            return None
        if not all(map(lt, chain((0,), ends_view), ends_view)):
            return None  # a feature without members, or ends going back
        return cls(names_list, members_view, ends_view, shift)

    def get(self, feature: str, default: list[int] | None = None) -> list[int] | None:
        found = self._moved.get(feature)
        if found is None:
            found = self._read.get(feature)
        if found is None:
            at = bisect.bisect_left(self._names, feature)
            if at == len(self._names) or self._names[at] != feature:
                return default
            kept = self._members[self._ends[at - 1] if at else 0 : self._ends[at]]
            found = self._read[feature] = list(map(self._shift.__add__, kept)) if self._shift else kept.tolist()
        return found if found else default

    def items(self) -> Iterator[tuple[str, list[int]]]:
        """Every feature with its members, as they are now (each read: for a change of the
        number of segments, which moves some features' weight)."""
        for feature in sorted({*self._names, *self._moved}):
            found = self.get(feature)
            if found:
                yield feature, found

    def values(self) -> Iterator[list[int]]:
        return (found for _, found in self.items())

    def __getitem__(self, feature: str) -> list[int]:
        """The members of a feature some segment has (:class:`MembersUnfit` if none are kept)."""
        found = self.get(feature)
        if found is None:
            raise MembersUnfit(f"no members kept for the feature {feature!r}")
        return found

    def move(self, changed: list[int], before: Sequence[str], joined: Sequence[str]) -> None:
        """The members of each feature the ``changed`` positions gained or lost, as they are now
        (:class:`MembersUnfit` where the kept ones do not say what ``before`` says)."""
        for position in changed:
            had, has = set(split(before[position])), set(split(joined[position]))
            for feature in had ^ has:
                members = self._moved.get(feature)
                if members is None:
                    members = self._moved[feature] = list(self.get(feature, []))
                at = bisect.bisect_left(members, position)
                if (at < len(members) and members[at] == position) != (feature in had):
                    raise MembersUnfit(f"the members kept for the feature {feature!r} are not those of the ranking's features")
                if feature in has:
                    members.insert(at, position)
                else:
                    del members[at]

    def packed(self) -> tuple[str, bytes, bytes]:
        """The members as :func:`pack_members` makes them of every feature's now: the kept
        ones copied in runs, in C, around the features moved."""
        names, members, ends, later = self._names, self._members, self._ends, self._shift
        out_names: list[str] = []
        out_members: list[bytes] = []
        out_ends = array(CAST)
        cursor = shift = 0  # the next kept feature; how far its end moved

        def keep(upto: int) -> None:  # the kept features cursor:upto, as they were (their positions moved ``later``)
            nonlocal cursor
            if upto > cursor:
                out_names.extend(names[cursor:upto])
                run = members[ends[cursor - 1] if cursor else 0 : ends[upto - 1]]
                out_members.append(array(CAST, map(later.__add__, run)).tobytes() if later else run.tobytes())
                out_ends.extend(map(shift.__add__, ends[cursor:upto]))
            cursor = max(cursor, upto)

        for feature in sorted(self._moved):
            at = bisect.bisect_left(names, feature)
            keep(at)
            kept = at < len(names) and names[at] == feature
            now = self._moved[feature]
            if now:
                out_names.append(feature)
                out_members.append(array(CAST, now).tobytes())
                out_ends.append((out_ends[-1] if out_ends else 0) + len(now))
            if kept:
                shift += len(now) - (ends[at] - (ends[at - 1] if at else 0))
                cursor = at + 1
            else:
                shift += len(now)
        keep(len(names))
        return JOIN.join(out_names), b"".join(out_members), out_ends.tobytes()
