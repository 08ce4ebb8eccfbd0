"""A mapping kept as the one text it was read as, made into a dict at the first look.

The build cache keeps parts of every file's record this way (the slots of its pages, the
keys they were made of): every build that makes something reads every record, and looks
into the few of the files it makes again or patches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

V = TypeVar("V")


class PackedMapping(Mapping[str, V], Generic[V]):
    """A subclass says how its text is unpacked (``_unpack``: a dict, or the cache's
    ``CacheDamaged`` if the text is not what its packer writes)."""

    __slots__ = ("_packed", "_unpacked")

    def __init__(self, packed: str):
        self._packed = packed
        self._unpacked: dict[str, V] | None = None

    def _unpack(self, packed: str) -> dict[str, V]:
        raise NotImplementedError

    @property
    def _read(self) -> dict[str, V]:
        if self._unpacked is None:
            self._unpacked = self._unpack(self._packed)
        return self._unpacked

    def as_read(self) -> str | None:
        """The text as read, if nothing looked into it (it is stored again as it was)."""
        return self._packed if self._unpacked is None else None

    def __getitem__(self, key: str) -> V:
        return self._read[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)

    def __or__(self, other: Mapping[str, V]) -> dict[str, V]:
        return {**self._read, **other}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._read!r})"
