"""workers.streamed: batches start in the workers as their items come, not when they are asked
for; workers.run_batches: the calling process is one of the cores."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
import weakref
from pathlib import Path

import pytest

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


def test_a_heavy_item_is_sent_at_once_without_waiting_for_a_whole_batch(tmp_path: Path) -> None:
    with workers.streamed(_mark, tmp_path, workers=2, batch=10, heavy=lambda item: item.startswith("big")) as stream:
        stream.put("a")
        assert not _appeared(tmp_path / "a", 0.3), "a light item waits for its batch"
        stream.put("big")
        assert _appeared(tmp_path / "big"), "a heavy item goes at once, with what waited"
        assert (tmp_path / "a").exists()
        stream.put("c")
        results = stream.results()
    assert [item for item, _ in results] == ["a", "big", "c"]


def test_one_worker_makes_everything_in_this_process_at_the_end(tmp_path: Path) -> None:
    with workers.streamed(_mark, tmp_path, workers=1, batch=1) as stream:
        stream.put("a")
        assert not (tmp_path / "a").exists()
        results = stream.results()
    assert results == [("a", os.getpid())]


def _slow_mark(folder: Path, items: list[str]) -> list[tuple[str, int]]:
    time.sleep(0.02)  # long enough that neither side runs every batch before the other starts
    return _mark(folder, items)


def _lock_kinds(_shared: object, items: list[threading.Lock]) -> list[tuple[str, int]]:
    time.sleep(0.02)
    return [(type(item).__name__, os.getpid()) for item in items]


def test_a_worker_inherits_its_batches_rather_than_being_sent_them() -> None:
    # Locks cannot be pickled: a batch of them reaches a worker only as the fork's copy.
    items = [threading.Lock() for _ in range(24)]
    results = workers.run_batches(_lock_kinds, items, None, workers=2, batch=2, threshold=4)
    assert [kind for kind, _ in results] == ["lock"] * 24
    assert len({pid for _, pid in results} - {os.getpid()}) == 1, "some batches ran in the worker"


class _Item:
    def __init__(self, n: int):
        self.n = n


def _numbers(_shared: object, items: list[_Item]) -> list[int]:
    time.sleep(0.01)
    return [item.n for item in items]


def test_nothing_holds_the_batches_once_they_are_run(tmp_path: Path) -> None:
    # A build keeps the cyclic collector from running: what a cycle holds stays to its end.
    items = [_Item(n) for n in range(24)]
    alive = [weakref.ref(item) for item in items]
    gc.disable()
    try:
        assert workers.run_batches(_numbers, items, None, workers=2, batch=2, threshold=4) == list(range(24))
        del items
        assert not [ref for ref in alive if ref() is not None], "the batches outlive the run"
    finally:
        gc.enable()


def test_the_caller_runs_batches_beside_one_worker_fewer_and_results_keep_their_order(tmp_path: Path) -> None:
    before = {p.pid for p in multiprocessing.active_children()}
    seen: set[int] = set()
    original = workers._fork_pool

    def counting_pool(shared, count, *batches):
        seen.add(count)
        return original(shared, count, *batches)

    workers._fork_pool = counting_pool
    try:
        items = [f"i{n:02d}" for n in range(24)]
        results = workers.run_batches(_slow_mark, items, tmp_path, workers=2, batch=2, threshold=4)
    finally:
        workers._fork_pool = original
    assert [item for item, _ in results] == items
    assert seen == {1}, "two cores: this process and one worker"
    pids = {pid for _, pid in results}
    assert os.getpid() in pids and len(pids) == 2, "batches ran here and in the worker"
    assert {p.pid for p in multiprocessing.active_children()} <= before, "the worker is gone"
    for item, pid in results:
        assert (tmp_path / item).read_text(encoding="utf-8") == str(pid)


def _long_first(folder: Path, items: list[str]) -> list[tuple[str, int]]:
    time.sleep(1.0 if "big" in items else 0.02)
    return _mark(folder, items)


def test_this_process_runs_the_first_batch_and_the_worker_is_fed_while_it_does(tmp_path: Path) -> None:
    """The first batch (the big one: run_batches' ``alone``) runs here, and made here it is not
    pickled nor copied into a worker. A long one must not starve the worker: it is handed
    new batches as it finishes them, not only when this process is free to hand them out."""
    items = ["big"] + [f"i{n:02d}" for n in range(20)]
    results = workers.run_batches(_long_first, items, tmp_path, workers=2, batch=1, threshold=2, lead=workers.Lead(alone=1))
    assert [item for item, _ in results] == items
    assert results[0][1] == os.getpid(), "the first batch ran in this process"
    by_worker = [item for item, pid in results if pid != os.getpid()]
    # 20 batches of 20 ms fit in the worker while the first batch's second runs here.
    assert len(by_worker) >= 15, f"the worker ran only {by_worker} while this process ran the first batch"


def _parts_then_small(folder: Path, items: list[str]) -> list[tuple[str, int, float]]:
    time.sleep({"part-0": 0.4, "part-1": 0.1}.get(items[0], 0.02))
    _mark(folder, items)
    return [(item, os.getpid(), time.monotonic()) for item in items]  # one clock for every process


def test_the_leads_parts_are_combined_here_as_soon_as_they_are_in_while_the_worker_goes_on(tmp_path: Path) -> None:
    """Split work's parts run first; what combines them (the search index's layout) must not
    wait for every other batch with one core idle: it runs in this process once the parts are
    in, and the worker goes on with the rest meanwhile."""
    items = ["part-0", "part-1"] + [f"i{n:02d}" for n in range(60)]
    calls: list[tuple[list, int, float, float]] = []

    def combine(results: list) -> None:
        started = time.monotonic()
        time.sleep(0.3)
        calls.append((results, os.getpid(), started, time.monotonic()))

    results = workers.run_batches(_parts_then_small, items, tmp_path, workers=2, batch=1, threshold=2, lead=workers.Lead(alone=2, parts=2, then=combine))
    assert [item for item, _, _ in results] == items
    assert len(calls) == 1, "combined once"
    given, pid, started, ended = calls[0]
    assert pid == os.getpid(), "combined in this process"
    assert [item for item, _, _ in given] == ["part-0", "part-1"], "given the parts' results, in order"
    worker = [done for item, ran_in, done in results if ran_in != os.getpid() and item.startswith("i")]
    assert any(started < done < ended for done in worker), "the worker went on while the parts were combined"
    assert started < max(done for _, _, done in results), "combined before the last batch was done, not after"


def test_a_lead_is_combined_once_when_everything_runs_in_this_process(tmp_path: Path) -> None:
    calls = []
    results = workers.run_batches(_mark, ["p", "a", "b"], tmp_path, workers=1, batch=8, threshold=2, lead=workers.Lead(alone=1, parts=1, then=calls.append))
    assert calls == [[("p", os.getpid())]]
    assert results == [(item, os.getpid()) for item in ("p", "a", "b")]


def test_a_failing_combination_fails_the_run() -> None:
    def fail(results: list) -> None:
        raise RuntimeError("cannot combine")

    with pytest.raises(RuntimeError, match="cannot combine"):
        workers.run_batches(_fail_on, ["p0", "p1"] + ["ok"] * 20, None, workers=2, batch=1, threshold=2, lead=workers.Lead(alone=2, parts=2, then=fail))


def test_a_lead_waits_only_for_items_it_runs_alone() -> None:
    with pytest.raises(ValueError):
        workers.Lead(alone=1, parts=2)


def _fail_on(folder: Path, items: list[str]) -> list[str]:
    if "bad" in items:
        raise ValueError("bad item")
    return items


def test_a_failing_batch_fails_the_run_wherever_it_ran(tmp_path: Path) -> None:
    import pytest

    for position in (0, 1, 2, 7):  # the worker's first, this process's first, later ones
        items = ["ok"] * 8
        items[position] = "bad"
        with pytest.raises(ValueError, match="bad item"):
            workers.run_batches(_fail_on, items, tmp_path, workers=2, batch=1, threshold=2)


def test_batches_shrink_towards_the_end_so_that_the_cores_end_together() -> None:
    """A worker is kept two batches ahead: whole batches at the end leave one core waiting for
    the other. The batches keep every item in order, none larger than asked, and those a core
    may still hold when the other runs out are a fraction of a batch."""
    for count, batch, cores in [(334, 64, 2), (1000, 24, 2), (3334, 24, 4), (7, 64, 2), (150, 1, 2)]:
        items = list(range(count))
        batches = workers._cut(items, batch, cores)
        assert [item for b in batches for item in b] == items
        assert all(0 < len(b) <= batch for b in batches)
        assert all(len(b) >= max(1, batch // 8) for b in batches[:-1])
        if count >= 4 * cores * batch:
            assert batches[0] == items[:batch], "full batches while there is much left"
            tail = batches[-2 * cores :]
            assert all(len(b) <= max(1, batch // 2) for b in tail), [len(b) for b in tail]


def test_run_batches_gives_every_item_its_result_in_order_with_shrinking_batches(tmp_path: Path) -> None:
    items = [f"item-{i}" for i in range(101)]
    results = workers.run_batches(_mark, items, tmp_path, workers=2, batch=16, threshold=4)
    assert [item for item, _ in results] == items


def _timed_mark(folder: Path, items: list[str]) -> list[tuple[str, int, float]]:
    started = time.monotonic()  # one clock for every process on the machine
    time.sleep(0.05)
    _mark(folder, items)
    return [(item, os.getpid(), started) for item in items]


def test_a_few_heavy_items_go_to_every_core_heaviest_first_and_come_back_in_order(tmp_path: Path) -> None:
    """Four items, far fewer than the threshold, weighing enough: on both cores. The heavy ones
    are batches of their own, run first, the heaviest in this process; results keep the items' order."""
    items = ["light-a", "heavy-1", "light-b", "heavy-2", "light-c"]
    weights = workers.Weights([1, 50, 1, 80, 1], enough=100, heavy=10)
    results = workers.run_batches(_timed_mark, items, tmp_path, workers=2, batch=8, threshold=1000, weights=weights)
    assert [item for item, _, _ in results] == items
    ran = {item: (pid, started) for item, pid, started in results}
    assert ran["heavy-2"][0] == os.getpid(), "the heaviest is the first batch, run in this process"
    assert ran["heavy-1"][0] != os.getpid(), "the next heaviest went to the worker at once"
    assert max(ran["heavy-1"][1], ran["heavy-2"][1]) < min(ran[item][1] for item in ("light-a", "light-b", "light-c"))


def test_items_too_light_in_all_are_made_in_this_process(tmp_path: Path) -> None:
    items = ["a", "b", "c"]
    results = workers.run_batches(_mark, items, tmp_path, workers=2, batch=8, threshold=1000, weights=workers.Weights([5, 5, 5], enough=100, heavy=10))
    assert results == [(item, os.getpid()) for item in items]


@pytest.mark.parametrize("translating", [False, True], ids=["offline", "translating"])
def test_a_site_of_a_few_big_files_is_made_on_every_core_as_one_core_makes_it(tmp_path: Path, monkeypatch, translating: bool) -> None:
    """An archive kept as a file a year: four files, far fewer than the file stage's and the
    finishing's thresholds, each of many segments. Both stages fork their workers (and so does
    the making of the files as their translations come in), and the site (site.zip included)
    is byte for byte the one a single process makes."""
    import sitegen.pipeline.files
    import sitegen.pipeline.finishing
    from sitegen.translation.translator import FakeTranslator
    from tests.sitekit import build, tree_bytes, write_site

    articles = {
        f"content/{2016 + year}/{2016 + year}-01-01-year.txt": "\n===\n".join(f"خبر رقم {n} عن حمص في السنة {year}.\nفقرة ثانية عن الحصار." for n in range(40)) + "\n"
        for year in range(4)
    }
    monkeypatch.setattr(sitegen.pipeline.files, "PARALLEL_BYTES", 4096)  # the stages' weights, scaled to these files
    monkeypatch.setattr(sitegen.pipeline.files, "HEAVY_BYTES", 1024)
    monkeypatch.setattr(sitegen.pipeline.finishing, "PARALLEL_PAGES", 100)
    monkeypatch.setattr(sitegen.pipeline.finishing, "HEAVY_PAGES", 20)
    assert all(len(text.encode()) > 4096 / 4 for text in articles.values())
    forked: list[str] = []
    original = workers._fork_pool

    def counting_pool(shared, count, *batches):
        forked.append(type(shared).__name__)
        return original(shared, count, *batches)

    monkeypatch.setattr(workers, "_fork_pool", counting_pool)
    config = {"per_page": 5, "translation": {"enabled": translating}}
    options = {"translator_factory": FakeTranslator} if translating else {"offline": True}
    one = write_site(tmp_path / "one", articles, config)
    assert build(one, workers=1, **options).written
    assert forked == []
    two = write_site(tmp_path / "two", articles, config)
    assert build(two, workers=2, **options).written
    assert {"FileContext", "FinishContext"} <= set(forked), forked
    if translating:
        assert forked.count("FileContext") == 2, f"made again as translated, in workers too: {forked}"
        assert (two / "_site" / "en").is_dir()
    assert tree_bytes(one / "_site") == tree_bytes(two / "_site")


class _Readied:
    """Shared by the workers: what it readies for them, made once in the forking process."""

    def __init__(self) -> None:
        self.readied_in: list[int] = []

    def ready_for_workers(self) -> None:
        self.readied_in.append(os.getpid())


def _readied(shared: _Readied, items: list[str]) -> list[tuple[int, tuple[int, ...]]]:
    time.sleep(0.02)
    return [(os.getpid(), tuple(shared.readied_in)) for _ in items]


def test_what_the_shared_value_readies_for_the_workers_is_made_once_before_forking_and_inherited() -> None:
    shared = _Readied()
    results = workers.run_batches(_readied, [f"i{n:02d}" for n in range(24)], shared, workers=2, batch=2, threshold=4)
    assert {pid for pid, _ in results} - {os.getpid()}, "some batches ran in a worker"
    assert {seen for _, seen in results} == {(os.getpid(),)}, "readied once, here, and every worker saw it"
    assert shared.readied_in == [os.getpid()]
    assert workers.run_batches(_readied, ["a"], _Readied(), workers=2, batch=2, threshold=4) == [(os.getpid(), ())], "no fork: nothing readied"
