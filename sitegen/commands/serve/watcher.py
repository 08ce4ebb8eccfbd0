"""Watching the project for the preview: a change to a watched file means a rebuild."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..messages import one_line

WATCH_RETRY_SECONDS = 0.5  # a watcher that failed (no descriptor left, a folder gone) tries again after this
WATCHED_FOLDERS = ("content", "translations", "themes", "templates")


class Watcher:
    """Calls ``on_change`` (debounced) when a watched file changes, from two background threads.

    One thread watches the folders (recursively); the other watches the
    project folder itself, not recursively, for site.yml and for watched
    folders that appear or vanish (then the folder watcher restarts).
    """

    def __init__(self, root: Path, config_name: str, folders: Callable[[], list[Path]], on_change: Callable[[set[str]], None], debounce_ms: int = 150):
        self.root = root
        self.config_name = config_name
        self.folders = folders  # () -> list[Path]
        self.on_change = on_change  # (set of changed paths) -> None
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._restart = threading.Event()
        self._ready = (threading.Event(), threading.Event())
        self._threads: list[threading.Thread] = []

    def start(self, wait: float = 5.0) -> None:
        """Start both threads; return once both watch (a change made after this is seen)."""
        for target, name in ((self._watch_folders, "sitegen-watch-folders"), (self._watch_root, "sitegen-watch-root")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        deadline = time.monotonic() + wait
        for ready in self._ready:
            ready.wait(max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._restart.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _changes(self, paths: list[str], stop_event: threading.Event, **options):
        """watchfiles.watch: first an empty set once the watch is in place, then only real changes.

        watch() sets up its watcher on the first step of the generator and then
        blocks; a short ``rust_timeout`` with ``yield_on_timeout`` makes it yield
        soon (an empty set, or what changed meanwhile), which tells that the
        watcher exists.
        """
        from watchfiles import watch

        in_place = False
        for changes in watch(
            *paths,
            stop_event=stop_event,
            debounce=self.debounce_ms * 4,
            step=50,
            rust_timeout=300,
            yield_on_timeout=True,
            raise_interrupt=False,
            **options,
        ):
            if not in_place:
                in_place = True
                yield set()
            if changes:
                yield changes

    # Neither thread may end before stop(): a watcher that died would leave the preview
    # serving an old site with no word said. Any failure (no descriptor left for a new
    # watch, a folder gone) is reported once, and the watch set up again after a pause;
    # once it is, one rebuild picks up whatever changed while nothing was watching.

    def _keep_watching(self, ready: threading.Event, watch: Callable[[], Iterator[set]], describe: Callable[[str], str]) -> None:
        """Run ``watch`` (a generator of change sets, an empty set once the watch is in place)
        until stop(), setting it up again after any failure."""
        failing = False  # the last attempt failed: said once, and edits since then were not seen
        while not self._stop.is_set():
            try:
                for changes in watch():
                    if self._stop.is_set():
                        return
                    if changes:
                        self.on_change(changes)
                        continue
                    ready.set()  # the watch is in place
                    if failing:
                        failing = False
                        self.on_change(set())
            except Exception as exc:  # noqa: BLE001 -- see above: watch again
                ready.set()
                if self._stop.is_set():
                    return
                if not failing:
                    print(f"watch: {describe(one_line(exc))}; watching again", file=sys.stderr, flush=True)
                failing = True
                self._stop.wait(WATCH_RETRY_SECONDS)

    def _watch_folders(self) -> None:
        ready = self._ready[0]

        def watch() -> Iterator[set]:
            self._restart.clear()
            folders = [str(f) for f in self.folders()]
            if not folders:
                ready.set()
                self._restart.wait()
                return
            for changes in self._changes(folders, self._restart, watch_filter=_not_editor_noise):
                yield {path for _, path in changes}

        self._keep_watching(ready, watch, lambda reason: reason)

    def _watch_root(self) -> None:
        names = {self.config_name, *WATCHED_FOLDERS}

        def relevant(change, path: str) -> bool:
            return os.path.basename(path) in names

        def watch() -> Iterator[set]:
            for changes in self._changes([str(self.root)], self._stop, recursive=False, watch_filter=relevant):
                if any(os.path.basename(p) != self.config_name for _, p in changes):
                    self._restart.set()  # a watched folder appeared or went away
                yield {path for _, path in changes}

        self._keep_watching(self._ready[1], watch, lambda reason: f"cannot watch {self.root} ({reason})")


def _not_editor_noise(change, path: str) -> bool:
    name = os.path.basename(path)
    return not (
        name.startswith(".#")
        or name.endswith(("~", ".swp", ".swx", ".swo", ".tmp"))
        or name in ("4913", ".DS_Store")
        or "/.git/" in path
        or "__pycache__" in path
    )
