"""A mapping or a sequence kept as the one text it was read as, made into a dict or a tuple
at the first look.

The build cache keeps parts of every file's record this way (the slots of its pages, the
keys they were made of, its slug claims): every build that makes something reads every
record, and looks into the few of the files it makes again or patches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class _Packed:
    """The text as read, and what it was made into at the first look (``_unpack``, said by a
    subclass: a dict or a tuple, or the cache's ``CacheDamaged`` if the text is not what its
    packer writes)."""

    __slots__ = ("_packed", "_unpacked")

    def __init__(self, packed: str):
        self._packed = packed
        self._unpacked: Any = None

    def _unpack(self, packed: str) -> Any:
        raise NotImplementedError

    @property
    def _read(self) -> Any:
        if self._unpacked is None:
            self._unpacked = self._unpack(self._packed)
        return self._unpacked

    def as_read(self) -> str | None:
        """The text as read, if nothing looked into it (it is stored again as it was)."""
        return self._packed if self._unpacked is None else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._read!r})"


class PackedMapping(_Packed, Mapping[str, V], Generic[V]):
    """A mapping: ``_unpack`` gives a dict."""

    __slots__ = ()

    def __getitem__(self, key: str) -> V:
        return self._read[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)

    def __or__(self, other: Mapping[str, V]) -> dict[str, V]:
        return {**self._read, **other}


class PackedSequence(_Packed, Sequence[V], Generic[V]):
    """A sequence: ``_unpack`` gives a tuple; equal to (and hashed as) the tuple it holds."""

    __slots__ = ()

    def __getitem__(self, index):  # type: ignore[override]
        return self._read[index]

    def __iter__(self) -> Iterator[V]:
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedSequence):
            other = other._read
        return self._read == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._read)
