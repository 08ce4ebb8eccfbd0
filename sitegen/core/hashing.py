"""Content hashes and stat signatures: how the build recognises what it made before."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

# SHA-256, cut to 128 bits: on processors with SHA instructions (x86 since 2017-2019, ARMv8)
# OpenSSL's is twice as fast as BLAKE2b here (1.6 against 0.8 GB/s), and a cold build hashes
# every page it writes, about 450 MB at 10,000 segments.
_DIGEST = hashlib.sha256


def _hex(digest) -> str:
    return digest.hexdigest()[:32]


def hash_bytes(*parts: bytes | str | None) -> str:
    digest = _DIGEST()
    for part in parts:
        if part is None:
            digest.update(b"\x01")
            continue
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)  # not joined to its length first: that copied every page
    return _hex(digest)


def hash_columns(names: Sequence[str], values: Iterable[str]) -> str:
    """The hash of many (name, value) pairs of text, given as a column of names and one of
    their values (as many), such as a manifest of tens of thousands of paths and digests:
    each column joined and hashed in one call (a part each cost a tenth of a second per
    build). Two joins of like texts cost a third of one join of the pairs interleaved: the
    digests stay ASCII, and the 23,000 pairs of a site of 10,000 segments took 12 ms that
    way. Names and values never hold NUL, the separator; the count tells no pairs from one
    pair of empty texts."""
    return hash_bytes(str(len(names)), "\x00".join(names), "\x00".join(values))


def hash_mapping(mapping: Mapping[str, str]) -> str:
    """:func:`hash_columns` of a mapping of texts (paths and digests), in key order."""
    names = sorted(mapping)
    return hash_columns(names, map(mapping.__getitem__, names))


def value_bytes(value: object) -> bytes:
    """Bytes that depend only on the value (not on which objects share it): pickle without
    its memo. A third of the cost of repr() for thousands of listings."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True  # no memo: equal values give equal bytes whatever their identity
    pickler.dump(value)
    return buffer.getvalue()


DIGEST_SIZE = 16  # bytes of a value_digest


def value_digest(value: object) -> bytes:
    """A short digest of :func:`value_bytes`, to key what is made of many values."""
    return _DIGEST(value_bytes(value)).digest()[:DIGEST_SIZE]


def stat_signature(path: Path | str) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return signature_of(info)


def stat_signatures(folder: str, rels: Sequence[str]) -> list[tuple[int, int, int] | None]:
    """:func:`stat_signature` of ``folder + rel`` for each of ``rels`` (``folder`` ends in a
    separator), in their order, each run of rels under one folder of ``folder`` (sorted rels:
    all of that folder's) through one :func:`folder_stat` of that folder, by the rest of their
    path: None for a missing file, the error otherwise. (By the folder at the top rather than
    the one a file is in: the memories of an archive of a folder an article are each alone in
    theirs, and were stat'ed by their whole path.)"""
    signatures: list[tuple[int, int, int] | None] = []
    tops = [rel.partition("/")[0] if "/" in rel else "" for rel in rels]
    start = 0
    while start < len(rels):
        end = start + 1
        while end < len(rels) and tops[end] == tops[start]:
            end += 1
        top = tops[start]
        cut = len(top) + 1 if top else 0
        stat_of, done = folder_stat(folder + top, end - start)
        try:
            for rel in rels[start:end]:
                try:
                    signatures.append(signature_of(stat_of(rel[cut:], folder + rel)))
                except FileNotFoundError:
                    signatures.append(None)
        finally:
            done()
        start = end
    return signatures


# A folder's files stat'ed this many at a time or more are stat'ed from a descriptor of the
# folder; for fewer, opening the folder costs more than it saves.
BY_DESCRIPTOR = 4


# A folder as seen from the folder it is in: (a descriptor of that one, the folder's name in
# it), or None where there is no such descriptor (the content folder itself).
Parent = tuple[int, str] | None


def folder_stat(folder: str, files: int, follow: bool = True, parent: Parent = None) -> tuple[Callable[[str, str], os.stat_result], Callable[[], None]]:
    """``(stat_of, done)``: ``stat_of(name, path)`` stats a file of one folder, by ``name``
    from a descriptor of the folder when ``files`` of its files are to be (BY_DESCRIPTOR or
    more); for fewer, by the folder's name and ``name`` from the descriptor of the folder it
    is in (``parent``), else by ``path``, as where the folder cannot be opened; ``done()``
    closes the descriptor. From a descriptor the kernel walks one name a file (or two), not
    the whole path (10,000 files in a folder six levels deep: 25 ms against 34; 10,000
    folders of an article, each folder, its source and its memory from its year folder's:
    listed in 114-119 ms against 130-136); for a folder an article, opening and closing each
    folder cost more than it saved (6.6 % of a build with nothing to do), and so does any
    object made a folder: a call, no more. ``follow``: links followed (the last name's only,
    as by path)."""
    if files >= BY_DESCRIPTOR:
        fd = open_folder(folder)
        if fd is not None:
            return (lambda name, path: os.stat(name, dir_fd=fd, follow_symlinks=follow)), (lambda: os.close(fd))
    elif parent is not None:
        at, where = parent[0], parent[1] + "/"
        return (lambda name, path: os.stat(where + name, dir_fd=at, follow_symlinks=follow)), _nothing
    return (_stat_path if follow else _lstat_path), _nothing


def open_folder(folder: str) -> int | None:
    """A descriptor of ``folder`` to look things up from (O_PATH where there is one: a folder
    one may search but not list is opened all the same); None where it cannot be opened, or
    where ``os.stat`` cannot look things up from a descriptor."""
    if os.stat not in os.supports_dir_fd:
        return None
    try:
        return os.open(folder or ".", getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


def _stat_path(name: str, path: str) -> os.stat_result:
    return os.stat(path)


def _lstat_path(name: str, path: str) -> os.stat_result:
    return os.lstat(path)


def _nothing() -> None:
    pass


def signature_of(info: os.stat_result) -> tuple[int, int, int]:
    """What says a file may have changed since it was last seen: its size, mtime and inode."""
    return (info.st_size, info.st_mtime_ns, info.st_ino)
