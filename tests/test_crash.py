"""kill -9 at any moment of a build, and two builds into one output at once.

The real entry point runs in a subprocess over a generated site of a few hundred
segments and is killed after a random delay (seeded: a failure repeats). After
every kill the live site must be byte for byte one of the two whole sites (the
previous one, or the new one when the kill came after the swap), and every
translation memory must load and hold every translation that had reached the
disk before the kill.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from sitegen.translation.memory import load_memory
from tests.libre_stub import LibreStub, default_translate
from tests.sitekit import REPO, tree_bytes, write_site

WORDS = "حمص سوريا مدينة القصف الناس المكتب العسكري اليوم الحكومة السوق الماء المدرسة الحي الطريق".split()
ENV = {k: v for k, v in os.environ.items() if k != "TRANSLATOR_API_KEY"}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def article_files(variant: str, files: int = 30, segments: int = 10, paragraphs: int = 2) -> dict[str, str]:
    """``files`` articles of ``segments`` segments; ``variant`` opens every paragraph, so that
    another variant changes every page."""
    rng = random.Random(f"{files}/{segments}/{paragraphs}")
    out = {}
    for f in range(files):
        parts = ["\n".join(f"{variant} " + " ".join(rng.choice(WORDS) for _ in range(18)) + "." for _ in range(paragraphs)) for _ in range(segments)]
        out[f"content/2012-01-{f % 28 + 1:02d}-file{f}.txt"] = "\n===\n".join(parts) + "\n"
    return out


def build_command(site: Path, *args: str) -> list[str]:
    return [sys.executable, str(REPO / "build.py"), "--config", str(site / "site.yml"), "--quiet", *args]


def build(site: Path, *args: str) -> float:
    """One uninterrupted build in a subprocess; returns how long it took."""
    started = time.monotonic()
    done = subprocess.run(build_command(site, *args), capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def kill_after(command: list[str], delay: float, cwd: Path) -> bool:
    """Start ``command``, SIGKILL it after ``delay`` seconds; True when it was still running."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=ENV)
    try:
        time.sleep(delay)
        running = process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    return running


def settle(folder: Path, output: str = "_site", timeout: float = 20.0) -> list[str]:
    """Names beside the output folder other than it, its lock and the spare site kept for the
    next build, once background removals end."""
    deadline = time.monotonic() + timeout
    while True:
        left = sorted(p.name for p in folder.glob(f".{output}.*") if p.name not in (f".{output}.lock", f".{output}.spare"))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_kill_9_at_random_moments_of_an_offline_rebuild_leaves_one_whole_site(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", article_files("أولا"), {"base_url": "https://example.org/news/"})
    out = site / "_site"

    def use(variant: str) -> None:
        write_site(site, article_files(variant), {"base_url": "https://example.org/news/"})

    whole: dict[str, dict[str, bytes]] = {}
    build(site)
    whole["أولا"] = tree_bytes(out)
    use("ثانيا")
    duration = build(site)  # an incremental build that changes every page: the one to interrupt
    whole["ثانيا"] = tree_bytes(out)
    use("أولا")
    duration = min(duration, build(site))  # the quicker of two: kills then land inside builds
    assert tree_bytes(out) == whole["أولا"]
    live, other = "أولا", "ثانيا"
    rng = random.Random(9)
    killed_mid_build = 0
    for _ in range(10):
        written = other
        use(written)  # the build must now replace every page of the live site
        killed_mid_build += kill_after(build_command(site, "--offline"), rng.uniform(0.05, 1.05) * duration, tmp_path)
        now = tree_bytes(out)
        assert now in (whole[live], whole[other]), "the live site is one whole site, never a mix"
        if now == whole[other]:  # the kill came after the swap: the new site is the live one
            live, other = other, live
    assert killed_mid_build >= 5, "the kills did land during builds"
    build(site, "--offline")  # the next build repairs whatever a kill left half done
    # The content's variant: the last one written, live already when the last kill came after
    # the swap (the test expected the other one then, and failed on a slow run).
    assert tree_bytes(out) == whole[written]
    assert settle(site) == []
    assert sorted(p.name for p in site.iterdir()) == ["._site.lock", "._site.spare", ".cache", "_site", "content", "site.yml"]


class MemoryWatcher:
    """Reads every memory file as often as it can while a build runs: all it ever sees has reached
    the disk, and so must still be there after a kill. A memory is replaced atomically, so a
    reader never sees half of one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: dict[str, set[tuple[str, str]]] = {}
        self.unreadable: list[str] = []
        self._stats: dict[Path, tuple[int, int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "MemoryWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()  # once more: what is on disk after the kill was written before it

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.poll()

    def poll(self) -> None:
        for path in self.folder.rglob("*.en.yml") if self.folder.is_dir() else ():
            try:
                info = path.stat()
                signature = (info.st_ino, info.st_size, info.st_mtime_ns)
                if self._stats.get(path) == signature:
                    continue
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            self._stats[path] = signature
            try:
                entries = {(e["key"], e["translation"]) for e in yaml.load(data.decode("utf-8"), Loader=_Loader)["entries"]}
            except Exception as exc:  # noqa: BLE001 -- whatever it is, a reader saw a broken memory
                self.unreadable.append(f"{path.name}: {type(exc).__name__}")
                continue
            rel = path.relative_to(self.folder).as_posix()[: -len(".en.yml")]
            self.seen.setdefault(rel, set()).update(entries)


def _slow_translate(text: str) -> str:
    time.sleep(0.02)  # four requests at once: at most 200 paragraphs a second
    return default_translate(text)


@pytest.mark.parametrize(("file_count", "segments"), [(30, 10), (60, 5)], ids=["made in this process", "made in workers as translated"])
def test_kill_9_while_translating_keeps_the_previous_site_and_every_saved_translation(tmp_path: Path, file_count: int, segments: int) -> None:
    # 900 paragraphs either way; 60 files are enough for worker processes, which make each file
    # while the others are being translated (files.process_files_as_ready).
    files = article_files("نص", files=file_count, segments=segments, paragraphs=3)
    units = file_count * segments * 3
    with LibreStub(translate=_slow_translate) as stub:
        translation = {"enabled": True, "provider": "libre", "url": stub.url, "timeout": 10, "retries": 0, "concurrency": 4}
        site = write_site(tmp_path / "site", files, {"translation": translation})
        memory_dir = site / "translations"
        # The previous site, built from an empty memory (without companions). An online build
        # takes as long before it starts translating.
        before_translating = build(site, "--offline")
        previous = tree_bytes(site / "_site")
        rng = random.Random(5)
        latest = before_translating + 1.2  # the latest kill
        # Keep more paragraphs to translate than the stub can answer by then (200 a second at
        # most): no build finishes before its kill.
        keep = min(units, int(200 * latest) + 150)
        saved_counts = []
        for _ in range(8):
            if saved_counts and saved_counts[-1] > units - keep:
                shutil.rmtree(memory_dir)
            with MemoryWatcher(memory_dir) as watcher:
                # Mostly while translating (memory writes in flight), sometimes before.
                delay = rng.uniform(0.3 * before_translating, latest)
                running = kill_after(build_command(site), delay, tmp_path)
            assert running, "killed while it was still building"
            assert tree_bytes(site / "_site") == previous, "the previous site is byte for byte intact"
            assert watcher.unreadable == [], "a memory file was seen half-written"
            saved = 0
            for path in sorted(memory_dir.rglob("*.en.yml")) if memory_dir.is_dir() else ():
                rel = path.relative_to(memory_dir).as_posix()[: -len(".en.yml")]
                memory, problems = load_memory(path, rel, "ar", "en")
                assert memory is not None and not [p for p in problems if p.is_error], problems
                have = {(e.key, e.translation) for e in memory.entries}
                assert watcher.seen.get(rel, set()) <= have, f"{rel}: a translation written before the kill is gone"
                saved += len(have)
            saved_counts.append(saved)
        assert max(saved_counts) > 0, "translations were saved while the builds ran"
    build(site, "--offline")  # the next build clears what the killed ones left beside the site
    assert settle(site) == []


# -- two builds into one output ----------------------------------------------------------------------


def test_a_build_waits_while_another_holds_the_output_lock(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", article_files("أولا", files=4, segments=3))
    build(site, "--offline")
    before = tree_bytes(site / "_site")
    write_site(site, article_files("ثانيا", files=4, segments=3))
    log = tmp_path / "second.log"
    with open(site / "._site.lock", "a+b") as lock, open(log, "wb") as output:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # as a build in progress holds it
        process = subprocess.Popen(build_command(site, "--offline"), stdout=output, stderr=subprocess.STDOUT, env=ENV)
        try:
            deadline = time.monotonic() + 30
            while "another build is writing" not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
                assert process.poll() is None, log.read_text(encoding="utf-8")
                time.sleep(0.05)
            time.sleep(1.0)  # long enough for the whole build, were it not waiting
            assert process.poll() is None, "the second build waits for the lock"
            assert tree_bytes(site / "_site") == before, "and writes nothing meanwhile"
            assert not list(site.glob("._site.staging-*"))
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    assert process.wait(timeout=120) == 0, log.read_text(encoding="utf-8")
    assert "another build is writing" in log.read_text(encoding="utf-8")
    twin = write_site(tmp_path / "twin", article_files("ثانيا", files=4, segments=3))
    build(twin, "--offline")
    assert tree_bytes(site / "_site") == tree_bytes(twin / "_site")


def test_two_builds_into_one_output_at_once_leave_one_whole_site(tmp_path: Path) -> None:
    first = write_site(tmp_path / "first", article_files("أولا", files=30, segments=4))
    second = write_site(tmp_path / "second", article_files("ثانيا", files=30, segments=4))
    shared = tmp_path / "public"
    wholes, durations = [], []
    for site in (first, second):
        durations.append(build(site, "--offline"))
        wholes.append(tree_bytes(site / "_site"))
    rng = random.Random(3)
    for _ in range(4):
        # The second starts while the first is at some point of its work (a build starting clears
        # the staging folders it finds: without the lock, the one the first is writing).
        processes = []
        for site in (first, second):
            command = build_command(site, "--offline", "--out", str(shared))
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV))
            time.sleep(rng.uniform(0.2, 0.9) * min(durations))
        results = [(p.wait(timeout=120), p.stderr.read().decode()) for p in processes]
        for process in processes:
            process.stderr.close()
        assert [code for code, _ in results] == [0, 0], results
        assert tree_bytes(shared) in wholes, "one site or the other, whole: never a mix"
    assert settle(tmp_path, "public") == []
    # Beside the site: its lock and its spare (a full build leaves a hard-linked copy of itself).
    assert sorted(p.name for p in tmp_path.iterdir()) == [".public.lock", ".public.spare", "first", "public", "second"]
    assert tree_bytes(tmp_path / ".public.spare") == tree_bytes(shared)
