"""Segment pages between the file stage and the finishing stage.

The file stage renders a segment page before the site is known as a whole, so the page's
related stories (pages/related.py) cannot be in it yet: it is rendered around a slot and
appended to its worker's *spool*, one file written in sequence, with where the slot is.
The finishing stage (finishing.py) reads it back, fills the slot and writes the page. A page
of the live site keeps where its slot was (``Slot``), so that when only its related stories
change, the page is patched in place rather than made again from its source.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ..core.packed import PackedMapping
from .cache import CacheDamaged


@dataclass(frozen=True)
class Draft:
    """A page rendered by this build's file stage, waiting in a spool for its related stories."""

    spool: str  # the spool file's path
    at: int  # where the page's bytes start in it
    size: int
    slot: int  # where in the page its related stories go
    previous: str | None  # digest of the page as the live site has it (None: it has none)


class Slot(NamedTuple):
    """Where a finished page's related stories are, and what they show. (A named tuple, not a
    dataclass: every segment page of the archive has one in its file's record, and a build
    reads them all; with the slug claims, 33 → 24 ms at 10,000 segments.)"""

    at: int
    size: int
    key: str  # a hash of what the related stories show (pipeline/finishing.py)


class StoredSlots(PackedMapping[Slot]):
    """A record's slots as the build cache keeps them: one text, made into slots at the first
    look. Every build reads every file's record, and looks at the slots of the few files
    whose related stories changed: making 20,000 of them cost a one-change build 15-20 ms
    at 10,000 segments. ``CacheDamaged`` (from the cache) at that look if the text is not
    what ``pack_slots`` writes."""

    __slots__ = ()

    def _unpack(self, packed: str) -> dict[str, Slot]:
        return unpack_slots(packed)


def pack_slots(slots: Mapping[str, Slot]) -> str:
    """The slots as one text, as the build cache keeps them: each path, where, size and key,
    joined by NUL (no path or key holds one). Slots read back and never looked at are kept
    as they were read."""
    if type(slots) is StoredSlots and slots.as_read() is not None:
        return slots.as_read()
    return "\0".join(f"{path}\0{at}\0{size}\0{key}" for path, (at, size, key) in slots.items())


def unpack_slots(packed: str) -> dict[str, Slot]:
    """The slots ``pack_slots`` wrote; ``CacheDamaged`` if ``packed`` is not such a text."""
    if packed == "":
        return {}
    fields = packed.split("\0") if type(packed) is str else ()
    try:
        if not fields or len(fields) % 4:
            raise ValueError("not four fields a slot")
        slots = {}
        for number in range(0, len(fields), 4):
            at, size = int(fields[number + 1]), int(fields[number + 2])
            if at < 0 or size < 0:
                raise ValueError("a slot out of its page")
            slots[fields[number]] = Slot(at, size, fields[number + 3])
        return slots
    except ValueError as exc:
        raise CacheDamaged(f"the build cache holds a page's slot it cannot read ({exc})") from None


class DraftSpool:
    """One process's spool: pages appended in sequence (cheap), read back by position."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = open(path, "ab")
        self.offset = self.handle.tell()

    def add(self, data: bytes) -> tuple[int, int]:
        """Appends ``data``; (where it starts, its size)."""
        at = self.offset
        self.handle.write(data)
        self.offset += len(data)
        return at, len(data)

    def flush(self) -> None:
        self.handle.flush()


class SpoolReader:
    """Reads drafts back, each spool opened once (a batch reads hundreds of pages from a few
    spools: an open and a close a page were 1 % of a cold build)."""

    def __init__(self) -> None:
        self._open: dict[str, int] = {}

    def read(self, draft: Draft) -> bytes:
        fd = self._open.get(draft.spool)
        if fd is None:
            fd = self._open[draft.spool] = os.open(draft.spool, os.O_RDONLY)
        data = os.pread(fd, draft.size, draft.at)
        if len(data) != draft.size:
            raise OSError(f"spool {draft.spool} is shorter than this build wrote")
        return data

    def close(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()
