"""bench/measure.py: the process tree's PSS, sampled while a build runs."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure  # noqa: E402


def _rollup(pss_kb: int, span: str) -> str:
    return f"{span} ---p 00000000 00:00 0 [rollup]\nRss: {pss_kb + 5} kB\nPss: {pss_kb} kB\n"


def test_a_child_sharing_its_parents_address_space_is_not_counted_twice() -> None:
    """1 is the build (a worker 2 of its own; 3 between vfork and exec, its parent's rollup
    to the byte; 4, 3's exec'd sibling, its own)."""
    build = _rollup(60_000, "00400000-7ffd0000")
    tree = {1: [2, 3, 4], 2: [], 3: [], 4: []}
    rollups = {1: build, 2: _rollup(20_000, "00400000-7ffd1000"), 3: build, 4: _rollup(1_000, "55550000-7ffe0000")}

    unknown = lambda a, b: None  # noqa: E731 -- the kernel cannot say: the rollups decide
    assert measure._tree_pss_kb(1, tree.__getitem__, rollups.__getitem__, unknown) == 81_000
    rollups[3] = _rollup(60_000, "00400000-7ffd2000")  # after exec: its own, counted
    assert measure._tree_pss_kb(1, tree.__getitem__, rollups.__getitem__, unknown) == 141_000


def test_a_child_the_kernel_says_shares_its_parents_memory_is_not_counted_even_read_apart() -> None:
    """3 between vfork and exec, its rollup read a moment after its parent's, when another
    thread of the parent had changed the memory: the reads differ, the address space is one."""
    tree = {1: [2, 3], 2: [], 3: []}
    rollups = {1: _rollup(60_000, "00400000-7ffd0000"), 2: _rollup(20_000, "00400000-7ffd1000"), 3: _rollup(60_100, "00400000-7ffd0000")}
    same_as_parent = lambda a, b: a == 3  # noqa: E731
    assert measure._tree_pss_kb(1, tree.__getitem__, rollups.__getitem__, same_as_parent) == 80_000


@contextmanager
def _a_process_with_a_forked_child() -> Iterator[int]:
    """The pid of a process that has forked a child (both sleeping), once the child is there."""
    code = "import os, time\nif os.fork() == 0:\n    time.sleep(2); os._exit(0)\ntime.sleep(2)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 5
        while len(measure._descendants(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(measure._KCMP is None, reason="kcmp is known here on x86_64 and aarch64 only")
def test_the_kernel_tells_a_forked_child_from_its_parent() -> None:
    with _a_process_with_a_forked_child() as parent:
        child = measure._children(parent)[0]
        assert measure._shares_memory(parent, parent) is True
        assert measure._shares_memory(child, parent) is False  # copy-on-write: an address space of its own


def test_the_tree_of_a_real_process_counts_its_forked_children() -> None:
    with _a_process_with_a_forked_child() as parent:
        alone = next(int(line.split()[1]) for line in measure._rollup(parent).splitlines() if line.startswith("Pss:"))
        assert measure._tree_pss_kb(parent) > alone > 0, "the forked child's PSS is counted besides its parent's"


def test_the_sampled_peak_is_at_least_the_largest_process(tmp_path: Path) -> None:
    result = measure.measure([sys.executable, "-c", "x = bytearray(30_000_000); import time; time.sleep(0.3)"], tmp_path, tmp_path / "build.log")
    assert result.returncode == 0
    assert result.peak_kb >= 30_000


def test_a_run_rests_only_while_the_previous_one_emptied_its_trash_a_moment_ago(tmp_path, monkeypatch):
    import os

    import run

    slept: list[float] = []
    monkeypatch.setattr(run.time, "sleep", slept.append)
    run._rest_after_last_emptying(tmp_path)  # no earlier run here
    stamp = tmp_path / run.EMPTIED
    stamp.touch()
    run._rest_after_last_emptying(tmp_path)  # just emptied: rests about a minute
    old = time.time() - 2 * run.REST
    os.utime(stamp, (old, old))
    run._rest_after_last_emptying(tmp_path)  # long enough ago
    assert len(slept) == 1 and run.REST - 5 < slept[0] <= run.REST
