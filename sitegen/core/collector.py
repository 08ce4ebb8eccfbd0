"""The cyclic garbage collector during a build: told which objects live to its end."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Within: no collection. Plain values (a file's record) make no reference cycles, and
    the collector, woken again and again by hundreds of thousands of new objects, would walk
    them all for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
