"""Work done by a forked child (core/forked.py): its result, or the same work done here when
the child cannot give one; what this process does meanwhile; no child left behind."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from sitegen.core.forked import ForkedWork

PARENT = os.getpid()


def _in_child() -> bool:
    return os.getpid() != PARENT


def _gone(pid: int) -> bool:
    """Whether ``pid`` is no child of this process any more (reaped: no zombie left)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@dataclass(frozen=True)
class Found:
    where: str
    sizes: tuple[int, ...]


def test_the_result_is_the_childs_plain_values_or_objects(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"12345")
    plain = ForkedWork(lambda: (["a"], [os.stat(tmp_path / "a").st_size], os.getpid(), None, {"k": (1, 2**62)}))
    rels, sizes, pid, nothing, signatures = plain.result()
    assert (rels, sizes, nothing, signatures) == (["a"], [5], None, {"k": (1, 2**62)})
    assert pid != PARENT, "made by the child"
    objects = ForkedWork(lambda: Found("child" if _in_child() else "here", (1, 2)))  # pickled, not marshalled
    assert objects.result() == Found("child", (1, 2))


@pytest.mark.parametrize("failure", ["raises", "killed", "unpicklable"])
def test_a_child_that_gives_no_result_has_its_work_done_here(failure: str) -> None:
    def work():
        if _in_child():
            if failure == "raises":
                raise OSError("the child met an error")
            if failure == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            return lambda: None  # neither marshal nor pickle can send it
        return "done here"

    forked = ForkedWork(work)
    pid = forked._child[0]
    assert forked.result() == "done here"
    assert _gone(pid)


def test_without_fork_the_work_is_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    forked = ForkedWork(lambda: os.getpid())
    assert forked.ready()
    assert forked.result() == PARENT


def test_meanwhile_steps_are_taken_only_until_the_child_is_done() -> None:
    taken = []

    def steps(pause: float):
        while True:  # endless: only the child's end stops them
            time.sleep(pause)
            taken.append(pause)
            yield

    slow = ForkedWork(lambda: time.sleep(0.5) or "slow")
    assert slow.result(steps(0.01)) == "slow"
    assert len(taken) >= 10, "steps were taken while the child worked"
    quick = ForkedWork(lambda: "quick")
    while not quick.ready():
        time.sleep(0.01)
    taken.clear()
    assert quick.result(steps(0.01)) == "quick"
    assert taken == [], "no step once the child is done"


def test_leaving_without_the_result_stops_the_child_and_reaps_it() -> None:
    with pytest.raises(KeyError):
        with ForkedWork(lambda: time.sleep(60)) as forked:
            pid = forked._child[0]
            raise KeyError("the caller failed meanwhile")
    assert _gone(pid)
    # A result larger than the pipe holds: the child waits on a write when it is stopped.
    with ForkedWork(lambda: b"x" * (8 << 20)) as forked:
        pid = forked._child[0]
        time.sleep(0.2)
    assert _gone(pid)


def test_the_child_runs_without_the_cyclic_collector() -> None:
    # A collection in the child would walk, and so copy page by page, every object it
    # shares with this process: the child lives for one piece of work and makes plain values.
    import gc

    assert gc.isenabled()
    assert ForkedWork(lambda: (gc.isenabled(), _in_child())).result() == (False, True)
    assert gc.isenabled()
