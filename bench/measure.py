"""Timing one build: wall clock, CPU and peak memory of a subprocess and its children.

Every build is one subprocess timed wall-clock from spawn to exit; its peak memory is
the ``ru_maxrss`` that ``os.wait4`` returns for that child (its largest process, own
children included), or the sampled sum of RSS over its process tree when that is
larger (a build that forks workers).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo += [int(c) for c in handle.read().split()]
        except OSError:
            pass
    return found


def _tree_rss_kb(pid: int) -> int:
    total = 0
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            pass
    return total


@dataclass
class Measure:
    wall: float  # seconds, spawn to exit
    maxrss_kb: int  # ru_maxrss from wait4: the largest process of the tree
    tree_kb: int  # largest sampled sum of RSS over the process tree (every 50 ms)
    user: float
    sys: float
    returncode: int
    log: str = ""

    @property
    def peak_kb(self) -> int:
        return max(self.maxrss_kb, self.tree_kb)


def measure(cmd: list[str], cwd: Path, log: Path, env: dict | None = None, sample: float = 0.05) -> Measure:
    """Run ``cmd`` once; wall time, per-child rusage via os.wait4, and a sampled tree RSS."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        peak = [0]
        done = threading.Event()

        def sampler() -> None:
            while not done.wait(sample):
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        thread.join()
        proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
    return Measure(wall, usage.ru_maxrss, peak[0], usage.ru_utime, usage.ru_stime, proc.returncode, str(log))


NOT_A_SEGMENT = re.compile(r"^(index|page-\d+|404|search|archive|tags|authors|sections)\.html$")


def count_html(folder: Path) -> int:
    """Segment pages in one output folder: HTML files other than index, pagination, 404 and search."""
    try:
        return sum(1 for name in os.listdir(folder) if name.endswith(".html") and not NOT_A_SEGMENT.match(name))
    except OSError:
        return 0


def clean(*paths: Path) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
