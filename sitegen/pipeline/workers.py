"""The one place that forks workers: process pools, and what their workers inherit. (A
build's other fork, core/forked.py, is the one child that lists the sources.)

Work reaches a worker by inheritance, not by pickling: the pool is started with
``fork`` right after the shared value (the file stage's context, or the site view
with its theme and compiled templates) is put in ``_inherited``, beside the batches of
items cut before the fork; each task then names a module-level function and its batch's
number (items that become ready after the fork, ``streamed``, are sent pickled: a file's
task is a few hundred bytes). Per-process values a worker keeps across its tasks (its pack
file for site.zip) live in ``_local``. Both are dictionaries filled and emptied here, never
rebound: no ``global``.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from ..core.fsutil import libc_function

T = TypeVar("T")
R = TypeVar("R")

_inherited: dict[str, Any] = {}  # set in the parent before forking, read in the children
# Per process: values a worker keeps between its tasks, under its own pid. A forked child
# inherits its parent's entries; keyed by pid, they stay the parent's and are never used here.
_local: dict[tuple[int, Hashable], Any] = {}


def core_count(requested: int | None) -> int:
    return requested or os.cpu_count() or 1


@dataclass(frozen=True)
class Weights:
    """What each item of :func:`run_batches` weighs (a file's bytes, its pages), for work whose
    items differ by orders of magnitude: an archive kept as a few big files is as much work as
    one of thousands of small ones, and must not be left to one core because it has few."""

    of: Sequence[int]  # each item's weight, in the order of the items
    enough: int  # in all, enough to be worth the workers, however few the items
    heavy: int  # an item weighing this much is a batch of its own, started first, heaviest first

    def is_heavy(self, weight: int) -> bool:
        return weight >= self.heavy


@dataclass(frozen=True)
class Lead:
    """The first items of :func:`run_batches`, run before the others: ``alone`` of them, each a
    batch of its own, started first on every core (big work: the parts of split work). ``then``,
    if given, is called in this process with the results of the first ``parts`` of them, in
    order, as soon as they are all in: between this process's own batches, while the other
    cores go on with the rest. What combines the parts (the search index's layout, its 1,500
    files at 10,000 segments written) ran after every batch, one core waiting: 0.3-0.4 s of a
    cold build at 10,000 segments."""

    alone: int = 0
    parts: int = 0  # at most ``alone``
    then: Callable[[list], None] | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.parts <= self.alone:
            raise ValueError("a lead's parts are some of the items it runs alone")


NO_LEAD = Lead()


def worth_workers(count: int, threshold: int, alone: int = 0, weights: Weights | None = None) -> bool:
    """Whether ``count`` items are worth forking workers for: at least ``threshold`` of them,
    two to run ``alone``, or at least two weighing ``weights.enough`` in all."""
    return count >= threshold or alone >= 2 or (weights is not None and count >= 2 and sum(weights.of) >= weights.enough)


def run_batches(task: Callable[[Any, list[T]], list[R]], items: Sequence[T], shared: Any, *, workers: int, batch: int, threshold: int, lead: Lead = NO_LEAD, weights: Weights | None = None) -> list[R]:
    """``task(shared, batch)`` over ``items`` in batches; on ``workers`` cores when there are at
    least ``threshold`` items (or two to run alone: ``lead``, or they weigh ``weights.enough``)
    and more than one core, in this process alone otherwise. The first ``lead.alone`` items
    are batches of their own (big work, started first on every core), and so is any item
    weighing ``weights.heavy``; ``lead.then`` is given the results of the first ``lead.parts``
    as soon as they are in (see :class:`Lead`). ``task`` gives one result an item, in its
    batch's order; the results come back in the order of ``items``.

    This process is one of the ``workers``: it forks one fewer and runs batches itself
    between theirs (it would only wait for them). One process fewer holds the build in
    memory, and the batches it runs hand their results over without pickling."""
    if not items:
        return []
    if workers < 2 or not worth_workers(len(items), threshold, lead.alone, weights):
        results = task(shared, list(items))
        if lead.then is not None:
            lead.then(results[: lead.parts])
        return results
    order, single = _run_order(len(items), lead.alone, weights)
    ranked = [items[i] for i in order]
    batches = [[item] for item in ranked[:single]] + _cut(ranked[single:], batch, workers)
    with _fork_pool(shared, workers - 1, batches) as pool:
        results = [result for results in _run_alongside(pool, task, shared, batches, workers - 1, lead) for result in results]
    in_order: list[Any] = [None] * len(items)
    for position, result in zip(order, results):
        in_order[position] = result
    return in_order


def _run_order(count: int, alone: int, weights: Weights | None) -> tuple[list[int], int]:
    """The items' positions in the order they are run, and how many of the first are batches
    of their own: the first ``alone``, then the heavy ones, heaviest first; the rest follow
    in their order."""
    heavy = [] if weights is None else sorted((i for i in range(alone, count) if weights.is_heavy(weights.of[i])), key=lambda i: -weights.of[i])
    taken = set(heavy)
    return [*range(alone), *heavy, *(i for i in range(alone, count) if i not in taken)], alone + len(heavy)


def _cut(items: Sequence[T], batch: int, workers: int) -> list[list[T]]:
    """``items`` in batches of ``batch``, smaller towards the end: a worker is kept two batches
    ahead, so the cores end apart by up to two batches' work, and whole batches left one core
    waiting for the other a quarter to a third of a 1,000-segment build's finishing. Each
    batch is at most a share of what is left (a core's half), and no smaller than an eighth
    of ``batch``."""
    batches, start, smallest = [], 0, max(1, batch // 8)
    while start < len(items):
        size = min(batch, max(smallest, -(-(len(items) - start) // (2 * workers))))
        batches.append(list(items[start : start + size]))
        start += size
    return batches


def _run_alongside(pool: Any, task: Callable[[Any, list[T]], list[R]], shared: Any, batches: list[list[T]], helpers: int, lead: Lead) -> list[list[R]]:
    """Each batch's results, in order. Both sides take batches from the front, one at a time:
    this process the first, then the next whenever it finishes one; the ``helpers`` (the
    pool's workers) are kept two batches ahead, each handed a new one as one of theirs ends
    (by the pool's own thread, so they never wait while this process runs a long batch).

    This process runs the first batch, the largest when there is work to run ``alone`` (the
    search index's inversion): made here, it is not pickled across, and its inputs and
    results are not copied into a worker, whose private pages add to the build's memory
    (a worker that inverted a 1,000-segment site's documents held 26 MB of its own)."""
    results: list[list[R] | None] = [None] * len(batches)
    given: dict[int, Any] = {}  # the pool's batches: index -> future
    lock = threading.Lock()
    following, stopped, count = 1, False, len(batches)  # the closures below never hold the batches

    def left() -> bool:  # called under the lock
        return following < count and not stopped

    def take() -> int | None:
        nonlocal following
        with lock:
            if not left():
                return None
            following += 1
            return following - 1

    def give(_finished: Any = None) -> None:
        # Called from the pool's thread as a batch ends. Submitted under the lock (once this
        # process finds no batch left, every batch the pool took is in ``given``), and counted
        # only once submitted: one a broken pool refuses is left to this process.
        nonlocal following
        with lock:
            if not left():
                return
            given[following] = future = pool.submit(_call_inherited, task, following)
            following += 1
        future.add_done_callback(give)

    def stop() -> None:
        nonlocal stopped
        with lock:
            stopped = True

    try:
        for _ in range(2 * helpers):
            give()
        mine, then = 0, lead.then
        while mine is not None:
            results[mine] = task(shared, batches[mine])
            if then is not None and all(results[b] is not None or (b in given and given[b].done()) for b in range(lead.parts)):
                then(_lead_results(results, given, lead.parts))
                then = None
            mine = take()
        stop()
        for index, future in given.items():
            results[index] = future.result()
        if then is not None:
            then(_lead_results(results, given, lead.parts))
    except BaseException:
        stop()
        pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C or a failed batch: no batch waits to be started
        raise
    finally:
        # Each future holds ``give`` (its done callback), which holds ``given``, which holds the
        # future: a cycle, kept until the collector runs (a build keeps it from running). What
        # it holds must stay small: not the batches (the search index's parts are the site's
        # packed documents, 3.5 MB at 1,000 segments, which it held to the end of the build).
        given.clear()
    return results  # type: ignore[return-value]  # every batch has its results by now


def _lead_results(results: list, given: dict[int, Any], parts: int) -> list:
    """The results of the first ``parts`` batches (one item each), wherever they ran."""
    return [result for b in range(parts) for result in (results[b] if results[b] is not None else given[b].result())]


@contextmanager
def _fork_pool(shared: Any, workers: int, batches: Sequence[list] = ()) -> Iterator[Any]:
    """A pool of ``workers`` forked processes that inherit ``shared``, and ``batches`` (made
    before the fork: a worker is told a batch's number, not sent the batch); each dies with
    this one."""
    _inherited["shared"] = shared
    # Inherited, not pickled: the search index's parts carry the site's packed documents (19 MB
    # pickled in 39 ms by this process at 10,000 segments, then read back in the worker).
    _inherited["batches"] = batches
    # What every worker would load for itself (a theme's templates), loaded once here: inherited.
    ready = getattr(shared, "ready_for_workers", None)
    if ready is not None:
        ready()
    # The workers inherit this process's objects. Frozen, the collector in a worker never walks
    # them: walking writes to every object, and each page written is copied (seconds of system
    # time when a late stage forks from a process holding the whole site).
    frozen_before = gc.get_freeze_count() > 0  # the build's own freeze (keep_long_lived) stays
    gc.freeze()
    _return_free_memory()
    # Imported here: a build that makes one or two files runs them in this process, and the
    # process pool's modules (multiprocessing and its kin) cost 9 ms to load.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"), initializer=_die_with_parent, initargs=(os.getpid(), libc_function("prctl"))) as pool:
            yield pool
    finally:
        _inherited.clear()
        if not frozen_before:
            gc.unfreeze()


class Stream:
    """Items given one at a time (``put``), run in batches as they come; see ``streamed``."""

    def __init__(self, task: Callable[[Any, list], list], shared: Any, pool: Any, batch: int, heavy: Callable[[Any], bool] | None = None) -> None:
        self._task, self._shared, self._pool, self._batch, self._heavy = task, shared, pool, batch, heavy
        self._items: list = []
        self._futures: list = []

    def put(self, item: Any) -> None:
        self._items.append(item)
        if self._pool is not None and (len(self._items) >= self._batch or (self._heavy is not None and self._heavy(item))):
            self._send()

    def results(self) -> list:
        """Every item's result, in the order they were put (waits for the workers)."""
        if self._pool is None:
            items, self._items = self._items, []
            return self._task(self._shared, items) if items else []
        self._send()
        return [result for future in self._futures for result in future.result()]

    def _send(self) -> None:
        if self._items:
            self._futures.append(self._pool.submit(_call, self._task, self._items))
            self._items = []


@contextmanager
def streamed(task: Callable[[Any, list[T]], list[R]], shared: Any, *, workers: int, batch: int, heavy: Callable[[Any], bool] | None = None) -> Iterator[Stream]:
    """``task(shared, batch)`` over items that become ready while this process does other work
    (``Stream.put``), in forked workers; ``Stream.results()`` waits for them all. With fewer
    than two workers, ``results()`` runs them in this process. A batch goes as soon as it
    holds ``batch`` items or a ``heavy`` one (a big file is work enough for a worker).

    Every worker is forked on entering, before the caller starts its threads: a process with
    threads must not fork (a child can inherit a lock some thread held)."""
    if workers < 2:
        yield Stream(task, shared, None, batch)
        return
    with _fork_pool(shared, workers) as pool:
        try:
            pool.submit(_nothing).result()  # a fork pool forks all its workers at the first task
            yield Stream(task, shared, pool, batch, heavy)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: no batch waits to be started
            raise


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int, prctl) -> None:
    """A worker ends with the build that forked it (SIGKILL when its parent dies, on Linux).
    A worker outlives a killed build otherwise: it waits for tasks on a pipe whose writing end
    it holds itself, and it holds the output folder's lock, inherited, so the next build waits
    for ever."""
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the build died before the line above
        os._exit(1)


def _nothing() -> None:
    return None


def _return_free_memory() -> None:
    """Give the memory this process freed back to the system before forking: each worker
    would otherwise start with it in its resident set (glibc keeps freed blocks mapped)."""
    trim = libc_function("malloc_trim")
    if trim is not None:  # glibc only: elsewhere nothing to trim
        trim(0)


def _call(task: Callable[[Any, list[T]], list[R]], batch: list[T]) -> list[R]:
    return task(_inherited["shared"], batch)


def _call_inherited(task: Callable[[Any, list[T]], list[R]], number: int) -> list[R]:
    return task(_inherited["shared"], _inherited["batches"][number])


def process_local(key: Hashable, make: Callable[[], T]) -> T:
    """This process's value for ``key``, made on first use (a worker's own pack file)."""
    mine = (os.getpid(), key)
    if mine not in _local:
        _local[mine] = make()
    return _local[mine]


def process_locals(kind: type[T]) -> list[T]:
    """This process's values of type ``kind``."""
    pid = os.getpid()
    return [value for (owner, _), value in _local.items() if owner == pid and isinstance(value, kind)]


def forget_process_locals(kind: type) -> None:
    pid = os.getpid()
    for mine in [k for k, v in _local.items() if k[0] == pid and isinstance(v, kind)]:
        del _local[mine]
