"""The incremental-build cache: what each source file became last time, and why.

Kept in ``.cache/build.sqlite`` beside site.yml (never committed). A file's
record is reused when its *key* is unchanged: a hash of its bytes, its
translation memory's bytes, its git date and the build fingerprint (tool
version, configuration, theme). Stat signatures let an unchanged file be
recognised without even reading it. The cache is trusted only when the output
folder carries the build id the cache was saved with; anything else means a
full build. Deleting ``.cache`` is always safe.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from ..core.detached import start_detached
from ..core.hashing import value_bytes

SCHEMA = 13
# The cache's page size, set when its file is made (sqlite keeps a database's page size for
# good once it is in WAL mode). A build writes its state values (megabytes each) and a cold
# build tens of megabytes of records and search documents in one transaction, and a build
# reads every record back: in pages of 64 KiB rather than sqlite's 4 KiB, a sixteenth of the
# system calls. Measured at 10,000 segments: storing the documents, saving the state,
# committing and closing took 0.40 s of a cold build against 0.71 s; 43 ms of a one-change
# build against 59 ms.
PAGE_SIZE = 65536
PACKAGE = Path(__file__).resolve().parent.parent  # sitegen/
SEARCH_SEQUENCE = "SELECT url, day, digest FROM search"
# Days ascending, then URLs descending as sqlite compares text (by UTF-8 bytes: code points).
SEARCH_BY_DAY = "SELECT url, digest FROM search ORDER BY day, url DESC"
# Past this many files, their keys are picked out of one scan of the table (a checkout that
# touched every file) rather than asked for one by one (the few files of an edit).
_ASKED_ONE_BY_ONE = 64


def tool_version() -> str:
    """A hash of the tool's own code: any change to it invalidates every cached page."""
    digest = hashlib.blake2b(digest_size=16)
    # Every module of every sub-package, named by its place in the package.
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class CacheDamaged(Exception):
    """The cache holds a value this tool never stores (damaged, or planted): build without it."""


def cache_damaged(exc: BaseException) -> bool:
    """Whether ``exc`` says the cache cannot be used: a value this tool never stores, or a page
    sqlite finds damaged (a disk's fault, a copy cut short, a hand). The build then goes on
    without it. A full disk or a failed read is not that: it stops the build as it would
    anywhere else."""
    if isinstance(exc, sqlite3.DatabaseError):
        return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return isinstance(exc, CacheDamaged)


class _PlainValues(pickle.Unpickler):
    """Unpickles only the value types the build stores. A cache file is not trusted input (a
    planted one must not run code, even with --offline): pickle would call whatever a file
    names; this refuses every name outside the allow-list, so nothing but those plain values,
    dates, and tuples, lists, sets and dicts of them can be made."""

    def __init__(self, stream: io.BytesIO, allowed: Mapping[tuple[str, str], type] | AllowList):
        super().__init__(stream)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise CacheDamaged(f"the build cache names {module}.{name}, which the build never stores")
        return found


def allow_list(types: Iterable[type]) -> dict[tuple[str, str], type]:
    """The classes a cache may hold, by the names pickle writes them under."""
    return {(t.__module__, t.__qualname__): t for t in (*types, date)}


class AllowList:
    """An allow-list known in two parts: ``types`` now, and ``more()`` (which may import the
    modules defining them) at the first name not among ``types``. The same names are allowed
    either way; a build that reads only its summary just never imports the rest."""

    def __init__(self, types: Iterable[type], more: Callable[[], Iterable[type]]):
        self._known = allow_list(types)
        self._more: Callable[[], Iterable[type]] | None = more

    def get(self, name: tuple[str, str]) -> type | None:
        found = self._known.get(name)
        if found is None and self._more is not None:
            self._known.update(allow_list(self._more()))
            self._more = None
            found = self._known.get(name)
        return found


def dump_value(value: Any) -> bytes:
    """A value as the cache stores it. Equal bytes are equal values, so a stored value can be
    compared unread with a fresh one dumped (the converse need not hold: a set's order follows
    its history, so a value whose bytes differ is read before it is judged).

    Without pickle's memo (``fast``): the values stored are trees of plain values, without
    cycles, and keeping a memo of each of their hundreds of thousands of tuples and strings
    was most of the work. A one-change build at 10,000 segments dumps the outputs' state, the
    ranking and the signatures in 7 ms against 18 (read back as fast); the outputs' state is
    6 % larger (a path it names twice is written twice), the ranking 4 % smaller."""
    return value_bytes(value)


def load_value(data: bytes, allowed: Mapping[tuple[str, str], type] | AllowList) -> Any:
    try:
        return _PlainValues(io.BytesIO(data), allowed).load()
    except CacheDamaged:
        raise
    except Exception as exc:  # any malformed pickle: truncated, wrong opcodes, bad arguments
        raise _unreadable(exc) from None


def load_values(data: list[bytes], allowed: Mapping[tuple[str, str], type] | AllowList) -> Iterator[Any]:
    """Each of ``data`` as :func:`load_value` reads it, read by one unpickler from them joined
    (a build reads every file's record: an unpickler made for each cost 20 ms of 135 at 50,000
    segments). Each value must end where its bytes do (its pickle read whole, and no further):
    :class:`CacheDamaged` otherwise, as for any value that does not read back."""
    stream = io.BytesIO(b"".join(data))
    try:
        load, at = _PlainValues(stream, allowed).load, stream.tell
        end = 0
        for value in data:
            loaded = load()
            end += len(value)
            if at() != end:
                raise CacheDamaged("the build cache holds a value whose pickle does not end where its bytes do")
            yield loaded
    except CacheDamaged:
        raise
    except Exception as exc:
        raise _unreadable(exc) from None


def _unreadable(exc: Exception) -> CacheDamaged:
    """Any malformed pickle: truncated, wrong opcodes, bad arguments."""
    return CacheDamaged(f"the build cache holds an unreadable value ({type(exc).__name__})")


class BuildCache:
    """A thin layer over sqlite: meta values, per-file records, per-document search entries.

    Values are pickled by the build and read back through an allow-list of types
    (``allowed``): see :class:`_PlainValues`.
    """

    def __init__(self, path: Path, allowed: Mapping[tuple[str, str], type] | AllowList | None = None):
        self.path = path
        self.allowed = allowed if allowed is not None else allow_list(())
        self._ahead: _ReadAhead | None = None  # records read ahead (read_ahead)
        self.texts = KeptApart(path)  # the column of the records' texts, read where looked at
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = self._connect(path)
        if self.db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
            # Another layout (or a new file): a new file, so that it takes this page size.
            self.db.close()
            self.delete(path)
            self.db = self._connect(path)
            self.db.executescript(
                """
                CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB);
                CREATE TABLE files (rel TEXT PRIMARY KEY, key TEXT, record BLOB, texts BLOB);
                CREATE TABLE search (url TEXT PRIMARY KEY, rel TEXT, day INTEGER, digest TEXT, doc BLOB);
                CREATE INDEX search_rel ON search(rel);
                CREATE INDEX search_sequence ON search(day, url DESC, digest);
                CREATE TABLE photos (key TEXT PRIMARY KEY, record BLOB);
                """
            )
            self.db.execute(f"PRAGMA user_version={SCHEMA}")
            # A new file holds no build's work to protect: what a power cut leaves of this
            # build's, unsynced, is met as damage or as an empty cache, never mixed with an
            # older build's records (there are none in it). Syncing the first build's 70 MB at
            # its commit took 0.45 s of a cold build at 10,000 segments. The next build, which
            # has one to protect, syncs (NORMAL) and so makes this one's durable too.
            self.db.execute("PRAGMA synchronous=OFF")
            self.synchronous = "OFF"

    synchronous = "NORMAL"  # as _connect sets it (OFF for a new file: see above)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL: only a new file takes it
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @classmethod
    def open(cls, path: Path, allowed: Mapping[tuple[str, str], type] | AllowList | None = None) -> "BuildCache":
        try:
            return cls(path, allowed)
        except sqlite3.DatabaseError:
            # A damaged cache is only a slower build: start again.
            cls.delete(path)
            return cls(path, allowed)

    @staticmethod
    def delete(path: Path) -> None:
        path.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        self.texts.close()
        self.db.close()

    def hand_over(self) -> None:
        """Leave the cache to a detached process, for a caller that ends right after without
        closing it (the command line, which ends with os._exit). SQLite copies what a build
        committed to the write-ahead log into the database file, and syncs both, when the last
        connection closes: 30 ms of a one-change build at 10,000 segments and 190 ms at
        50,000, waiting for the disk after the site is published. The detached process does
        that copy (a passive checkpoint, then its close) while nobody waits, with this
        connection's syncing. If it cannot run or is cut short, the log stays whole and the
        next build reads it (SQLite recovers the log when it opens the file); nothing
        committed is lost. Nothing written: nothing to copy."""
        if not self.db.total_changes:
            return
        if not start_detached([sys.executable, "-I", "-S", "-c", _CHECKPOINT, str(self.path), self.synchronous]):
            self.close()  # no process to hand it to: copied here, as before

    # -- meta ------------------------------------------------------------
    def get(self, name: str, default: Any = None) -> Any:
        data = self.get_bytes(name)
        return self.load(data) if data is not None else default

    def get_bytes(self, name: str) -> bytes | None:
        """A value as stored, unread (equal bytes are equal values: see dump_value)."""
        row = self.db.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def load(self, data: bytes) -> Any:
        """A value read from the bytes get_bytes gave."""
        return load_value(data, self.allowed)

    def put_many(self, values: dict[str, Any]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, dump_value(v)) for k, v in values.items()])

    # -- files ------------------------------------------------------------
    def recorded_keys(self, rels: Iterable[str]) -> dict[str, str]:
        """The key recorded for each of ``rels`` that has a record (see plan.file_key)."""
        rels = list(rels)
        if len(rels) > _ASKED_ONE_BY_ONE:
            wanted = set(rels)
            return {rel: key for rel, key in self.db.execute("SELECT rel, key FROM files") if rel in wanted}
        ask = self.db.execute
        return {rel: row[0] for rel in rels for row in ask("SELECT key FROM files WHERE rel=?", (rel,))}

    def records(self, read: Callable[[Any, KeptApart], Any]) -> dict[str, Any]:
        """Every file's record, made by ``read`` of the value stored and of where its texts are
        kept (:attr:`texts`: see records.py); those read ahead by ``read`` (:meth:`read_ahead`)
        are not read again. (The build reads them with the collector paused: making._records.)"""
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead.read is not read:
            ahead = _ReadAhead(read)
        rows = self.db.execute("SELECT rowid, rel, record FROM files WHERE rowid > ? ORDER BY rowid", (ahead.last,))
        return ahead.add(rows, self.allowed, self.texts)

    def read_ahead(self, read: Callable[[Any, KeptApart], Any], step: int = 200) -> Iterator[None]:
        """Steps that each read ``step`` more records (as :meth:`records` makes them), kept
        for it: a build reads them while it would otherwise wait (stages.build_site). Any
        change to the files' records forgets them; a record that cannot be read ends the
        steps, and :meth:`records` meets it again."""
        self._ahead = ahead = _ReadAhead(read)
        while self._ahead is ahead:
            rows = self.db.execute("SELECT rowid, rel, record FROM files WHERE rowid > ? ORDER BY rowid LIMIT ?", (ahead.last, step)).fetchall()
            if not rows:
                return
            try:
                ahead.add(rows, self.allowed, self.texts)
            except CacheDamaged:
                self._ahead = None
                return
            yield

    def replace_files(self, records: dict[str, tuple[str, Any, bytes]], removed: Iterable[str]) -> None:
        """records: rel -> (key, record, its texts kept apart)."""
        self._ahead = None
        self.db.executemany("DELETE FROM files WHERE rel=?", [(r,) for r in removed])
        self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", [(rel, key, dump_value(record), texts) for rel, (key, record, texts) in records.items()])

    def update_records(self, records: dict[str, tuple[Any, bytes]]) -> None:
        """New records (record, its texts) of files whose signature and key stand (their pages
        were finished again)."""
        self._ahead = None
        self.db.executemany("UPDATE files SET record=?, texts=? WHERE rel=?", [(dump_value(record), texts, rel) for rel, (record, texts) in records.items()])

    # -- search documents ---------------------------------------------------
    def search_sequence(self) -> list[tuple[str, int, str]]:
        """(url, day, digest) of every document: read from their own index (search_sequence), as
        the rows themselves hold the packed documents, 38 MB at 10,000 segments, and a scan of
        them cost a one-change build 18-50 ms."""
        return list(self.db.execute(SEARCH_SEQUENCE))

    def search_by_day(self) -> list[tuple[str, str]]:
        """(url, digest) of every document, days ascending, then URLs descending by their code
        points: read in that order from the index (search_sequence), without the days, which
        the build then has no use for. Sorted by sqlite, a one-change build spent 30-60 ms on
        it at 50,000 segments; read from the index, 25-30."""
        return self.db.execute(SEARCH_BY_DAY).fetchall()

    def search_documents(self, urls: Iterable[str] | None = None) -> dict[str, bytes]:
        """url -> packed document, of ``urls`` (all when None)."""
        if urls is None:
            return dict(self.db.execute("SELECT url, doc FROM search"))
        found = {}
        for url in urls:
            row = self.db.execute("SELECT doc FROM search WHERE url=?", (url,)).fetchone()
            if row:
                found[url] = row[0]
        return found

    def search_rows_of(self, rels: Iterable[str]) -> dict[str, tuple[str, str, int, str, bytes]]:
        """url -> (url, rel, day, digest, packed doc) of the stored documents of ``rels``."""
        found = {}
        for rel in rels:
            found.update((row[0], row) for row in self.db.execute("SELECT url, rel, day, digest, doc FROM search WHERE rel=?", (rel,)))
        return found

    def replace_search(self, rels: Iterable[str], docs: list[tuple[str, str, int, str, bytes]]) -> None:
        """Drop the documents of ``rels`` and store ``docs`` (url, rel, day, digest, packed doc)."""
        self.db.executemany("DELETE FROM search WHERE rel=?", [(r,) for r in rels])
        self.db.executemany("INSERT OR REPLACE INTO search VALUES (?, ?, ?, ?, ?)", docs)

    # -- processed photos: by content and settings, kept whatever the fingerprint ------
    def photo_records(self) -> dict[str, Any]:
        return {key: load_value(record, self.allowed) for key, record in self.db.execute("SELECT key, record FROM photos")}

    def replace_photos(self, records: dict[str, Any], removed: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM photos WHERE key=?", [(k,) for k in removed])
        self.db.executemany("INSERT OR REPLACE INTO photos VALUES (?, ?)", [(k, dump_value(r)) for k, r in records.items()])

    def clear(self) -> None:
        """Forget every file and document (the live site is not what the cache describes)."""
        self._ahead = None
        self.db.execute("DELETE FROM files")
        self.db.execute("DELETE FROM search")

    def transaction(self):
        return _Transaction(self.db)


# Run by the detached process of BuildCache.hand_over: only the standard library (-I -S), the
# cache's path and the syncing to use as arguments. The file is opened only if it is there
# (mode=rw): a build that deleted it meanwhile (a damaged cache) gets no empty one made.
_CHECKPOINT = (
    "import pathlib, sqlite3, sys\n"
    "db = sqlite3.connect(pathlib.Path(sys.argv[1]).absolute().as_uri() + '?mode=rw', uri=True, isolation_level=None)\n"
    "db.execute('PRAGMA synchronous=' + ('OFF' if sys.argv[2] == 'OFF' else 'NORMAL'))\n"
    "db.execute('PRAGMA wal_checkpoint(PASSIVE)')\n"
    "db.close()\n"
)


class KeptApart:
    """The texts of the files' records, kept apart from them (the column ``texts``: the
    listings' titles and excerpts, half of every record's bytes), read by the file they belong
    to where a build looks at them: a build reads every record, and shows the listings of a
    few files. Read through a connection of their own, of what the cache held when the build
    began (the build writes records only once the site is made, and never reads them again),
    and only in the process that opened the cache: a connection must not cross a fork, so a
    build reads what its workers may show before forking them (pages/listing.texts_at_hand).
    The value read is the column's, unchecked (records.py reads it)."""

    def __init__(self, path: Path):
        self.path = path
        self._pid = os.getpid()
        self._db: sqlite3.Connection | None = None

    def of(self, rel: str) -> bytes | None:
        """The texts kept for ``rel``: None if it has no record, or none kept."""
        rows = self._connection().execute("SELECT texts FROM files WHERE rel=?", (rel,)).fetchall()
        return rows[0][0] if rows else None

    def of_every_file(self) -> dict[str, bytes]:
        """rel -> the texts kept for it, of every file with a record: one read."""
        return dict(self._connection().execute("SELECT rel, texts FROM files"))

    def close(self) -> None:
        """Its connection closed (opened again if a record read looks at its texts after)."""
        if self._db is not None and os.getpid() == self._pid:
            self._db.close()
        self._db = None

    def _connection(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:
            raise RuntimeError("a record's texts read in a process forked from the build's: read them before forking (pages/listing.texts_at_hand)")
        if self._db is None:
            self._db = sqlite3.connect(self.path, isolation_level=None)
        return self._db


class _ReadAhead:
    """Records read so far, in the table's order, by ``read``; ``last``: the last one's rowid."""

    def __init__(self, read: Callable[[Any], Any]):
        self.read = read
        self.records: dict[str, Any] = {}
        self.last = 0

    def add(self, rows: Iterable[tuple[int, str, bytes]], allowed: Mapping[tuple[str, str], type] | AllowList, texts: KeptApart) -> dict[str, Any]:
        records, read = self.records, self.read
        rows = iter(rows)
        while batch := list(islice(rows, _LOADED_TOGETHER)):
            for (rowid, rel, _record), value in zip(batch, load_values([row[2] for row in batch], allowed)):
                records[rel] = read(value, texts)
                self.last = rowid
        return records


# Records read by one unpickler (load_values): some hundreds of kilobytes joined at a time.
_LOADED_TOGETHER = 256


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN")

    def __exit__(self, kind, value, traceback) -> None:
        # Committed only once the new site is in place: a failed build leaves the cache as it was.
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
