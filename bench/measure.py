"""Timing one build: wall clock, CPU and peak memory of a subprocess and its children.

Every build is one subprocess timed wall-clock from spawn to exit; its peak memory is
the ``ru_maxrss`` that ``os.wait4`` returns for that child (its largest process, own
children included), or the sampled proportional set size (PSS) of its process tree when
that is larger (a build that forks workers). PSS counts a page shared by n processes as
1/n in each: forked workers share their parent's pages copy-on-write, and a sum of their
RSS would count each of those pages once per process (it is sampled too, as ``tree_kb``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children(pid: int) -> list[int]:
    """The processes ``pid`` (any of its threads) started, as /proc lists them."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found += [int(c) for c in handle.read().split()]
    return found


def _tree(pid: int, children: Callable[[int], list[int]] = _children) -> list[tuple[int, int | None]]:
    """(process, its parent) of ``pid`` and every process below it, parents first."""
    found: list[tuple[int, int | None]] = []
    todo: list[tuple[int, int | None]] = [(pid, None)]
    while todo:
        current, parent = todo.pop()
        found.append((current, parent))
        try:
            todo += [(child, current) for child in children(current)]
        except OSError:
            pass  # gone since it was listed
    return found


def _descendants(pid: int) -> list[int]:
    return [p for p, _ in _tree(pid)]


def _tree_rss_kb(pid: int) -> int:
    total = 0
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            pass
    return total


# kcmp(2), by architecture, and its KCMP_VM: do two processes share one address space?
_KCMP = {"x86_64": 312, "aarch64": 272}.get(platform.machine())
_KCMP_VM = 1


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _shares_memory(a: int, b: int) -> bool | None:
    """Whether processes ``a`` and ``b`` share one address space, as the kernel says (kcmp): a
    child between ``vfork`` and ``exec`` and its parent do. None where it cannot say (another
    architecture, no kcmp, a process gone)."""
    if _KCMP is None:
        return None
    found = _libc().syscall(_KCMP, a, b, _KCMP_VM, 0, 0)
    return found == 0 if found >= 0 else None


def _tree_pss_kb(pid: int, children: Callable[[int], list[int]] = _children, rollup: Callable[[int], str] | None = None,
                 shares: Callable[[int, int], bool | None] = _shares_memory) -> int:
    """The process tree's proportional set size: what it holds in memory, shared pages once.

    A child between ``vfork`` and ``exec`` (a ``git`` or ``cp`` the build starts, the process
    a build hands its cache's checkpoint to) runs in its parent's address space, and its
    ``smaps_rollup`` is its parent's: counted, the sample would hold the build twice (107-118
    MB read at 1,000 segments, where the tree held 60-80). Such a child is not counted. The
    kernel says which it is (``shares``); where it cannot, a child whose rollup reads as its
    parent's to the byte is taken for one (two address spaces of their own never read the
    same, their ranges included), which misses one whose parent's other threads changed the
    memory between the two reads."""
    rollup = rollup or _rollup
    read: dict[int, str] = {}
    total = 0
    for current, parent in _tree(pid, children):
        try:
            # Asked before the rollup is read: a child that execs in between is left out (a
            # process just started), never read as its parent and counted twice.
            same = shares(current, parent) if parent is not None else False
            read[current] = rollup(current)
            if same is None:
                same = read[current] == read.get(parent)
            if not same:
                total += next(int(line.split()[1]) for line in read[current].splitlines() if line.startswith("Pss:"))
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    return total


def _rollup(pid: int) -> str:
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        return handle.read()


@dataclass
class Measure:
    wall: float  # seconds, spawn to exit
    maxrss_kb: int  # ru_maxrss from wait4: the largest process of the tree
    tree_kb: int  # largest sampled sum of RSS over the process tree (every 50 ms)
    user: float
    sys: float
    returncode: int
    log: str = ""
    tree_pss_kb: int = 0  # largest sampled PSS of the process tree (while it has more than one process)

    @property
    def peak_kb(self) -> int:
        return peak_kb(vars(self))


def peak_kb(m: dict) -> int:
    """A build's peak memory: its largest process's, or its process tree's PSS when larger."""
    return max(m["maxrss_kb"], m.get("tree_pss_kb", 0))


def measure(cmd: list[str], cwd: Path, log: Path, env: dict | None = None, sample: float = 0.05) -> Measure:
    """Run ``cmd`` once; wall time, per-child rusage via os.wait4, and a sampled tree RSS."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        peak = [0, 0]
        done = threading.Event()

        def sampler() -> None:
            while not done.wait(sample):
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
                if len(_descendants(proc.pid)) > 1:  # one process: its own peak RSS is exact
                    peak[1] = max(peak[1], _tree_pss_kb(proc.pid))

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        thread.join()
        proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
    return Measure(wall, usage.ru_maxrss, peak[0], usage.ru_utime, usage.ru_stime, proc.returncode, str(log), peak[1])


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


class Trash:
    """Where the harness puts what it would delete while it times builds, emptied once nothing
    more is timed.

    This machine's disk is ext4 without a journal. There, when the kernel makes a file it skips
    the inodes freed in the last minute (five, while their table is not yet written back), one
    buffer lookup each: a file made just after thousands were deleted nearby cost 270-390 µs,
    the same one a minute later 30-40 µs. The harness deleted the last build's output, its
    site copy and Hugo's output right before each timed build, so a cold build's 20,000 to
    30,000 files cost either tool seconds that depended on what the harness had deleted before.
    Renaming frees no inode.
    """

    def __init__(self, folder: Path | None):
        self.folder = folder  # None: delete at once (nothing timed follows)
        self.count = 0

    def put(self, *paths: Path) -> None:
        """Out of the way at once; what is not on this disk (or cannot be moved) is deleted."""
        for path in paths:
            if not (path.exists() or path.is_symlink()):
                continue
            self.count += 1
            try:
                if self.folder is None:
                    raise OSError("no trash folder")
                self.folder.mkdir(parents=True, exist_ok=True)
                os.rename(path, self.folder / f"{self.count}-{path.name}")
            except OSError:
                clean(path)

    def put_output(self, out: Path) -> None:
        """An SSG output folder and what build.py keeps beside it (the spare site, the lock)."""
        self.put(out, *sorted(out.parent.glob(f".{out.name}.*")))

    def empty(self) -> None:
        if self.folder is not None:
            clean(self.folder)
