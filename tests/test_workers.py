"""workers.streamed: batches start in the workers as their items come, not when they are asked for."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

from sitegen.pipeline import workers


def _mark(folder: Path, items: list[str]) -> list[tuple[str, int]]:
    for item in items:
        (folder / item).write_text(str(os.getpid()), encoding="utf-8")
    return [(item, os.getpid()) for item in items]


def _appeared(path: Path, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return path.exists()


def test_items_are_made_in_workers_while_the_caller_goes_on_and_come_back_in_order(tmp_path: Path) -> None:
    with workers.streamed(_mark, tmp_path, workers=2, batch=2) as stream:
        stream.put("a")
        stream.put("b")  # a whole batch: sent now
        assert _appeared(tmp_path / "b"), "started before results() was asked for"
        stream.put("c")  # the rest goes with results()
        assert not (tmp_path / "c").exists()
        results = stream.results()
    assert [item for item, _ in results] == ["a", "b", "c"]
    assert os.getpid() not in {pid for _, pid in results}


def test_the_workers_are_forked_on_entering_before_the_caller_starts_threads(tmp_path: Path) -> None:
    """A process with threads must not fork (a child may copy a lock a thread holds): the caller
    starts its threads inside the block, so every worker must exist before anything is put."""
    before = {p.pid for p in multiprocessing.active_children()}
    with workers.streamed(_mark, tmp_path, workers=2, batch=1) as stream:
        forked = {p.pid for p in multiprocessing.active_children()} - before
        assert len(forked) == 2
        thread = threading.Thread(target=time.sleep, args=(0.1,), daemon=True)
        thread.start()
        stream.put("x")
        results = stream.results()
        thread.join()
    assert results[0][1] in forked


def test_one_worker_makes_everything_in_this_process_at_the_end(tmp_path: Path) -> None:
    with workers.streamed(_mark, tmp_path, workers=1, batch=1) as stream:
        stream.put("a")
        assert not (tmp_path / "a").exists()
        results = stream.results()
    assert results == [("a", os.getpid())]
