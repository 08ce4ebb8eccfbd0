"""The one place that forks: process pools, and what their workers inherit.

Work reaches a worker by inheritance, not by pickling: the pool is started with
``fork`` right after the shared value (the file stage's context, or the site view
with its theme and compiled templates) is put in ``_inherited``; each task then
names a module-level function and a small picklable argument. Per-process values a
worker keeps across its tasks (its pack file for site.zip) live in ``_local``.
Both are dictionaries filled and emptied here, never rebound: no ``global``.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
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


def run_batches(task: Callable[[Any, list[T]], list[R]], items: Sequence[T], shared: Any, *, workers: int, batch: int, threshold: int, alone: int = 0) -> list[R]:
    """``task(shared, batch)`` over ``items`` in batches; in forked workers when there are at
    least ``threshold`` items (or two to run ``alone``) and more than one core, in this
    process otherwise. The first ``alone`` items are batches of their own (big work, started
    first on every core). Results keep the order of ``items``."""
    if not items:
        return []
    if workers < 2 or (len(items) < threshold and alone < 2):
        return task(shared, list(items))
    batches = [[item] for item in items[:alone]]
    batches += [list(items[i : i + batch]) for i in range(alone, len(items), batch)]
    _inherited["shared"] = shared
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
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            return [result for results in pool.map(_call, [task] * len(batches), batches) for result in results]
    finally:
        _inherited.clear()
        if not frozen_before:
            gc.unfreeze()


WORKER_NICENESS = 10


class Stream:
    """Forked workers given items one at a time, from any thread, as each becomes ready: the
    files a first translation has finished are made while the others are still being asked
    for, on the cores the requests leave idle.

    The workers are forked on entering, before this process starts any thread of its own
    (forking a process whose threads may hold a lock copies the lock, held, into the child).
    With fewer than two cores it forks nothing and takes nothing: ``taken`` stays empty, and
    the caller makes the items after."""

    def __init__(self, task: Callable[[Any, list[T]], list[R]], shared: Any, workers: int):
        self._task = task
        self._shared = shared
        self._workers = workers
        self._pool: Any = None
        self._futures: list = []
        self._frozen_before = False
        self.taken: list = []

    def __enter__(self) -> "Stream":
        if self._workers < 2:
            return self
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        _inherited["shared"] = self._shared
        self._frozen_before = gc.get_freeze_count() > 0
        gc.freeze()  # as in run_batches: the workers' collectors never walk what they inherit
        _return_free_memory()
        # At a lower priority: they are to take the time the requests leave idle, not the
        # requests' own (the same work done sooner, and the requests slower, is no gain).
        self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=get_context("fork"), initializer=os.nice, initargs=(WORKER_NICENESS,))
        self._pool.submit(len, ()).result()  # a pool started with fork starts all its workers at the first task
        return self

    def give(self, item: Any) -> None:
        """Make ``item`` in a worker (nothing, without workers)."""
        if self._pool is not None:
            self._futures.append(self._pool.submit(_call, self._task, [item]))
            self.taken.append(item)

    def results(self) -> list:
        """The results of the items given, in the order they were given."""
        return [result for future in self._futures for result in future.result()]

    def __exit__(self, kind: object, *rest: object) -> None:
        if self._pool is None:
            return
        try:
            # After an error (Ctrl-C among them) the work not started is dropped, not waited for.
            self._pool.shutdown(wait=kind is None, cancel_futures=kind is not None)
        finally:
            _inherited.clear()
            if not self._frozen_before:
                gc.unfreeze()


@contextmanager
def long_lived_objects() -> Iterator[Callable[[], None]]:
    """Within: ``keep()`` takes every object made so far out of the collector's walks (the
    whole site's records, read from the cache: every full collection walked hundreds of
    thousands of them, a tenth of a one-change build). Given back to it on leaving, so that
    a process building again and again (serve) frees what each build made."""
    thresholds = gc.get_threshold()
    # A build makes objects by the hundred thousand and few cycles: collect less often.
    gc.set_threshold(max(thresholds[0], 20_000), *thresholds[1:])
    try:
        yield gc.freeze
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _return_free_memory() -> None:
    """Give the memory this process freed back to the system before forking: each worker
    would otherwise start with it in its resident set (glibc keeps freed blocks mapped)."""
    trim = libc_function("malloc_trim")
    if trim is not None:  # glibc only: elsewhere nothing to trim
        trim(0)


def _call(task: Callable[[Any, list[T]], list[R]], batch: list[T]) -> list[R]:
    return task(_inherited["shared"], batch)


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
