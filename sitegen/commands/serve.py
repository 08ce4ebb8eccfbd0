"""``build.py serve``: a live preview on 127.0.0.1.

The site is built into a folder of its own under ``.cache/serve/`` beside
site.yml (never the real output folder), served under the sub-path given by
``--base`` (as on GitHub Pages: ``/repo/``), and rebuilt when content/,
the translation memory, themes/, templates/ or site.yml change. A build that
fails prints its problems and leaves the last good site served.

Served HTML responses (not the files on disk) get a small script before
``</body>`` that long-polls ``/__reload?since=N``; the answer is the build
counter, and the page reloads itself when it differs from the one it was
served with.

The preview is on 127.0.0.1, yet a web page in the same browser can reach it
(and, by DNS rebinding, read it) and any local program can connect; so it
answers only to this machine's host names, closes connections that stay silent
(``request_timeout``), handles a bounded number at once (``max_connections``),
and neither a full descriptor table nor a failed rebuild stops it.
"""

from __future__ import annotations

import argparse
import errno
import mimetypes
import os
import posixpath
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote

from ..core.urls import normalise_base
from .messages import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    describe_failure,
    is_template_error,
    print_problems,
)

RELOAD_PATH = "/__reload"
LONG_POLL_SECONDS = 25.0  # waited in the server, not on the socket: request_timeout does not cut it
# A connection silent this long while its request is read (or its answer written) is
# closed: half-open connections would otherwise hold a thread and a descriptor forever.
REQUEST_TIMEOUT_SECONDS = 30.0
# Connections handled at once; more are answered 503 and closed by the accepting thread
# itself, without a thread each. A browser opens six per host, plus one long poll per tab.
MAX_CONNECTIONS = 64
# When accept() fails (EMFILE: no descriptor left) the listening socket stays readable;
# this pause keeps serve_forever() from spinning on a core until descriptors are free.
ACCEPT_BACKOFF_SECONDS = 0.1
WATCH_RETRY_SECONDS = 0.5  # a watcher that failed (no descriptor left, a folder gone) tries again after this
# Host names a browser uses for this machine (the Host header, port aside). Any other is
# refused: a page of another site that resolves its name to 127.0.0.1 (DNS rebinding)
# must not read the preview, drafts included.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
TEXT = "text/plain; charset=utf-8"
WATCHED_FOLDERS = ("content", "translations", "themes", "templates")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".zip": "application/zip",
}

# {since} is the build counter the page was served with. A failed fetch (server
# stopped or restarting) retries after a pause; a restarted server answers with
# another counter and the page reloads.
RELOAD_SCRIPT = (
    '<script data-sitegen-reload>(function(){{var n={since};function p(){{'
    'fetch("{path}?since="+n,{{cache:"no-store"}}).then(function(r){{return r.text()}})'
    '.then(function(t){{if(String(n)!==t.trim()){{location.reload()}}else{{p()}}}})'
    '.catch(function(){{setTimeout(p,1000)}})}}p()}})();</script>'
)


def reload_script(counter: int) -> bytes:
    return RELOAD_SCRIPT.format(since=counter, path=RELOAD_PATH).encode("utf-8")


def inject_reload(html: bytes, counter: int) -> bytes:
    """The reload script before the last </body> (or at the end when there is none)."""
    script = reload_script(counter)
    at = html.lower().rfind(b"</body>")
    if at < 0:
        return html + script
    return html[:at] + script + html[at:]


# -- building --------------------------------------------------------------------


@dataclass
class BuildOutcome:
    ok: bool
    seconds: float
    message: str
    changed: bool = True  # False: the build found nothing to do, the served site is current


class SiteBuilder:
    """Builds the site into the preview folder the way the CLI does, printing what the CLI prints."""

    def __init__(self, config_path: Path, output_dir: Path, offline: bool, drafts: bool = False, out=None):
        self.config_path = Path(config_path)
        self.output_dir = Path(output_dir)
        self.offline = offline
        self.drafts = drafts
        self.out = out  # a text stream; None means sys.stderr at the time of printing
        self.config = None  # the last configuration that loaded

    def _print(self, text: str) -> None:
        print(text, file=self.out or sys.stderr, flush=True)

    def build(self) -> BuildOutcome:
        from ..build.pipeline import BuildOptions, build_site
        from ..build.staging import OutputError
        from ..config import ConfigError, load_config
        from ..pages.theme import ThemeError

        started = time.monotonic()
        stream = self.out or sys.stderr
        try:
            config = load_config(self.config_path, output_override=self.output_dir)
        except ConfigError as exc:
            print_problems(exc.problems, stream=stream)
            return BuildOutcome(False, time.monotonic() - started, "configuration errors")
        except OSError as exc:  # EMFILE (no descriptor left), EACCES, EIO: this build fails, the next change tries again
            self._print(f"error: cannot read {self.config_path} ({exc.strerror or exc})")
            return BuildOutcome(False, time.monotonic() - started, str(exc))
        self.config = config
        try:
            result = build_site(config, BuildOptions(offline=self.offline, drafts=self.drafts))
        except (OutputError, ThemeError) as exc:
            self._print(f"error: {exc}")
            return BuildOutcome(False, time.monotonic() - started, str(exc))
        except OSError as exc:
            self._print(f"error: cannot write the site ({exc.strerror or exc}: {exc.filename or self.output_dir})")
            return BuildOutcome(False, time.monotonic() - started, str(exc))
        except Exception as exc:  # noqa: BLE001 -- a preview must survive any failed build
            self._print(f"error: {describe_failure(exc)}")
            # A traceback helps with a bug of ours; a file system that failed (wrapped, as
            # a worker pool does) needs only the line above.
            if not is_template_error(exc) and not _caused_by_os_error(exc):
                traceback.print_exc(file=stream)
            return BuildOutcome(False, time.monotonic() - started, str(exc))
        print_problems(result.problems, stream=stream)
        seconds = time.monotonic() - started
        if getattr(result, "unchanged", False) and not result.failed:
            return BuildOutcome(True, seconds, f"nothing changed since the last build ({seconds:.2f} s)", changed=False)
        if not result.written:
            return BuildOutcome(False, seconds, "build failed")
        return BuildOutcome(True, seconds, f"built {result.segments} segments into {result.pages} pages ({seconds:.1f} s)")

    def watched_paths(self) -> list[Path]:
        """Folders whose change means a rebuild (those that exist), from the last good configuration.

        A folder holding the preview output (``content_dir: .``) is left out: every
        build would trigger the next.
        """
        root = self.config_path.resolve().parent
        folders = [root / name for name in WATCHED_FOLDERS]
        if self.config is not None:
            folders += [self.config.content_dir, self.config.memory_dir, self.config.root / "themes", self.config.root / "templates"]
        output = self.output_dir.resolve()
        candidates = sorted({f.resolve() for f in folders if f.is_dir()}, key=lambda p: len(p.parts))
        unique: list[Path] = []
        for folder in candidates:
            if folder == output or folder in output.parents:
                continue
            if not any(u == folder or u in folder.parents for u in unique):
                unique.append(folder)
        return unique


def _caused_by_os_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an OSError, or was raised from one or while handling one (EMFILE in a worker, say)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _one_line(value: object, limit: int = 300) -> str:
    """``value`` as one line of at most ``limit`` characters, for a message (a request path may be 64 KiB)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- watching --------------------------------------------------------------------


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
                    print(f"watch: {describe(_one_line(exc))}; watching again", file=sys.stderr, flush=True)
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


# -- serving ---------------------------------------------------------------------


def _plain_answer(status: HTTPStatus, text: str) -> bytes:
    body = text.encode("utf-8")
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: {TEXT}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
    )
    return head.encode("ascii") + body


BUSY_ANSWER = _plain_answer(HTTPStatus.SERVICE_UNAVAILABLE, "503: the preview has too many connections open; try again\n")
_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class _PreviewHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a bound on the connections it handles, that survives a full descriptor table.

    A connection in hand holds a slot until its thread ends; with no slot free a
    new one is answered 503 (if its socket takes the bytes without waiting) and
    closed by the accepting thread itself, so a flood costs no thread.
    """

    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst (a browser opens six
    # connections at once), each costing its client a second's retransmit; waiting in the
    # kernel's queue costs this process no descriptor.
    request_queue_size = MAX_CONNECTIONS

    def __init__(self, address, handler, max_connections: int, report: Callable[[str], None]):
        self.max_connections = max_connections
        self.connections = 0  # handled now, each by a thread
        self._slots = threading.Lock()
        self._report = report
        self._starved = False  # accept() fails for want of descriptors: said once, until it works again
        super().__init__(address, handler)

    def get_request(self):
        try:
            connection = super().get_request()
        except OSError as exc:
            if exc.errno in _OUT_OF_DESCRIPTORS and not self._starved:
                self._starved = True
                self._report(f"cannot accept connections ({exc.strerror}): new ones wait until some close")
            time.sleep(ACCEPT_BACKOFF_SECONDS)  # see ACCEPT_BACKOFF_SECONDS
            raise
        if self._starved:
            self._starved = False
            self._report("accepting connections again")
        return connection

    def process_request(self, request, client_address) -> None:
        with self._slots:
            admitted = self.connections < self.max_connections
            if admitted:
                self.connections += 1
        if not admitted:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)  # starts the connection's thread
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._slots:
            self.connections -= 1

    def _refuse(self, request) -> None:
        try:
            request.setblocking(False)  # the accepting thread never waits on a client
            request.send(BUSY_ANSWER)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """One line, not a traceback; a client that hung up or went silent is no error of ours."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        self._report(f"error: a connection failed ({type(exc).__name__}: {_one_line(exc)})")


class PreviewServer:
    """Build, serve and rebuild. ``start()`` returns once the first build is done and the port is open.

    ``counter`` is the number of successful builds; pages reload when it changes.
    """

    def __init__(
        self,
        config_path: Path | str = "site.yml",
        port: int = 8000,
        base: str = "/",
        offline: bool = False,
        drafts: bool = False,
        host: str = "127.0.0.1",
        out=None,
        debounce_ms: int = 150,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ):
        if not request_timeout > 0 or max_connections < 1:
            raise ValueError("request_timeout must be positive and max_connections at least 1")
        self.config_path = Path(config_path).resolve()
        self.base = normalise_base(base)
        self.host = host
        self.request_timeout = request_timeout  # seconds a connection may stay silent while a request is read or answered
        self.max_connections = max_connections
        name = host.lower()
        # The Host header names this machine, or whatever the server was started on (IPv6 in brackets).
        self.local_hosts = {*LOCAL_HOSTS, f"[{name}]" if ":" in name else name}
        self.requested_port = port
        self.out = out
        self.counter = 0  # successful builds that changed the site: pages reload when it moves
        self.failures = 0
        self.builds = 0  # every build attempt, done
        self.last_outcome: BuildOutcome | None = None
        self._changed = threading.Condition()
        self._pending = False
        self._stopping = threading.Event()
        self.site_dir = self._make_site_dir(drafts)
        self.builder = SiteBuilder(self.config_path, self.site_dir, offline=offline, drafts=drafts, out=out)
        self.debounce_ms = debounce_ms
        self._httpd: _PreviewHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._watcher: Watcher | None = None

    # -- the preview folder

    def _make_site_dir(self, drafts: bool) -> Path:
        """``.cache/serve/site`` beside site.yml: kept between runs, so the next start builds incrementally.

        Two previews of one project share it safely (the build takes a lock per
        output folder); with --drafts the preview has a folder of its own.
        """
        folder = self.config_path.parent / ".cache" / "serve" / ("site-drafts" if drafts else "site")
        folder.parent.mkdir(parents=True, exist_ok=True)
        return folder

    # -- life cycle

    def start(self) -> "PreviewServer":
        """Listen, watch, build once, then rebuild on every change; returns after the first build.

        The port is taken first (a busy port fails at once, not after a build);
        until the first build is done, pages answer 503 and reload when it is.
        """
        self._httpd = _PreviewHTTPServer((self.host, self.requested_port), _handler_class(self), self.max_connections, self._warn)
        thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="sitegen-http", daemon=True)
        thread.start()
        self._threads.append(thread)
        self._say(f"building the site for the preview at {self.url}")
        self._watcher = Watcher(self.config_path.parent, self.config_path.name, self.builder.watched_paths, self._on_change, self.debounce_ms)
        self._watcher.start()
        self._rebuild(first=True)
        builder = threading.Thread(target=self._build_loop, name="sitegen-build", daemon=True)
        builder.start()
        self._threads.append(builder)
        return self

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() first"
        return self._httpd.server_address[1]

    @property
    def connections(self) -> int:
        """Connections handled now (each holds a thread until it closes or times out)."""
        return self._httpd.connections if self._httpd is not None else 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.base}"

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()  # wakes the builder and every long poll
        if self._watcher is not None:
            self._watcher.stop()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> "PreviewServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- rebuilding

    def _on_change(self, paths: set[str]) -> None:
        with self._changed:
            self._pending = True
            self._changed.notify_all()

    def _build_loop(self) -> None:
        """Rebuild after every burst of changes, until stop(). No exception ends this thread:
        a preview that silently stopped rebuilding would show an old site as if current."""
        while not self._stopping.is_set():
            try:
                if self._wait_for_quiet():
                    self._rebuild()
            except Exception as exc:  # noqa: BLE001 -- see the docstring
                self._warn(f"error: rebuilding failed ({type(exc).__name__}: {_one_line(exc)}); waiting for the next change")
                self._stopping.wait(WATCH_RETRY_SECONDS)

    def _wait_for_quiet(self) -> bool:
        """Wait for a change, then until changes stop; False when the preview is stopping."""
        with self._changed:
            while not self._pending and not self._stopping.is_set():
                self._changed.wait()
            if self._stopping.is_set():
                return False
        # Debounce: an editor's save or a `git checkout` is many events; wait for quiet.
        while True:
            with self._changed:
                self._pending = False
            if self._stopping.wait(self.debounce_ms / 1000):
                return False
            with self._changed:
                if not self._pending:
                    return True

    def _rebuild(self, first: bool = False) -> None:
        if not first:
            self._say("change detected: rebuilding")
        try:
            outcome = self.builder.build()
        except Exception as exc:  # noqa: BLE001 -- SiteBuilder reports what it expects; anything else costs this build only
            self._warn(f"error: {_one_line(describe_failure(exc), 500)}")
            outcome = BuildOutcome(False, 0.0, str(exc))
        self.last_outcome = outcome
        with self._changed:
            self.builds += 1
            if outcome.ok and (outcome.changed or self.counter == 0):
                self.counter += 1
            elif not outcome.ok:
                self.failures += 1
            self._changed.notify_all()
        if outcome.ok and not outcome.changed:
            self._say(outcome.message)
        elif outcome.ok:
            self._say(outcome.message if first else f"re{outcome.message}: reloading the browser")
        elif self.counter:
            self._say("build failed: still serving the previous site (fix the problems above and save again)")
        else:
            self._say("build failed: nothing to serve yet (fix the problems above and save again)")

    def wait_for_change(self, since: int, timeout: float) -> int:
        """The build counter, once it differs from ``since`` or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.counter == since and not self._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self.counter

    def _say(self, text: str) -> None:
        print(text, file=self.out or sys.stdout, flush=True)

    def _warn(self, text: str) -> None:
        print(text, file=self.out or sys.stderr, flush=True)

    def serve_forever(self) -> None:
        """Block until Ctrl-C."""
        try:
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


def _handler_class(server: PreviewServer):
    class Handler(BaseHTTPRequestHandler):
        server_version = "sitegen-preview"
        protocol_version = "HTTP/1.1"
        # Set on the socket before the first read: a silent client, or one that stops reading
        # an answer, is dropped after this long (BaseHTTPRequestHandler closes on TimeoutError).
        timeout = server.request_timeout

        def log_message(self, format: str, *args) -> None:  # noqa: A002 -- quiet: the terminal shows builds
            pass

        def do_HEAD(self) -> None:
            self._respond(head=True)

        def do_GET(self) -> None:
            self._respond(head=False)

        def _respond(self, head: bool) -> None:
            self._answered = False  # a status line went out: too late for a 500
            try:
                self._answer(head)
            except Exception as exc:  # noqa: BLE001 -- a bug of ours costs one answer, not the connection
                server._warn(f"error: cannot answer {self.command} {_one_line(self.path, 200)} ({type(exc).__name__}: {_one_line(exc)})")
                self.close_connection = True
                if not self._answered:
                    self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"500: the preview failed to answer: see the terminal running build.py serve\n", TEXT, head)

        def _answer(self, head: bool) -> None:
            if not self._from_this_machine():
                return self._send(
                    HTTPStatus.FORBIDDEN,
                    f"403: this preview answers only to {', '.join(LOCAL_HOSTS)} (another host name may be DNS rebinding): open {server.url}\n".encode(),
                    TEXT,
                    head,
                )
            try:
                path, query = _split_target(self.path)
            except ValueError as exc:
                return self._send(HTTPStatus.BAD_REQUEST, f"400: {exc}\n".encode(), TEXT, head)
            if path == RELOAD_PATH:
                return self._reload(query, head)
            base = server.base
            # As a browser would: '/repo/../x.html' is '/x.html', outside the site.
            decoded = unquote(path)
            clean = "/" + posixpath.normpath(decoded).lstrip("/")
            if decoded.endswith("/") and clean != "/":
                clean += "/"
            if base != "/" and clean in ("/", base.rstrip("/")):
                return self._redirect(_location(base, query))
            if not clean.startswith(base) or "\0" in clean:
                return self._send(
                    HTTPStatus.NOT_FOUND,
                    f"404: {_one_line(path, 200)} is outside the site, which is served under {base}: open {server.url}\n".encode(),
                    TEXT,
                    head,
                )
            normal = clean[len(base):].strip("/")
            site = server.site_dir
            file = site / normal if normal else site
            try:
                is_dir = file.is_dir()
            except OSError:  # a name over 255 bytes (ENAMETOOLONG), a loop: no page there, as read_bytes says below
                is_dir = False
            if is_dir:
                if not clean.endswith("/"):
                    return self._redirect(_location(clean + "/", query))
                file = file / "index.html"
            if server.counter == 0:
                what = "The site is being built" if server.builds == 0 else "The site did not build: see the terminal running build.py serve"
                body = (
                    f'<!DOCTYPE html><html lang="en" dir="ltr"><meta charset="utf-8"><title>Preview</title><body>'
                    f"<h1>{what}</h1><p>This page reloads when a build succeeds.</p></body></html>"
                ).encode()
                return self._send(HTTPStatus.SERVICE_UNAVAILABLE, inject_reload(body, 0), CONTENT_TYPES[".html"], head)
            try:
                data = file.read_bytes()
                status = HTTPStatus.OK
            except OSError as exc:
                if not _no_such_file(exc):
                    return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot read {_one_line(normal, 200)}: {exc.strerror or exc}\n".encode(), TEXT, head)
                status = HTTPStatus.NOT_FOUND
                try:
                    data, file = (site / "404.html").read_bytes(), site / "404.html"
                except OSError:
                    return self._send(status, b"404: not found\n", TEXT, head)
            content_type = _content_type(file.name)
            if content_type.startswith("text/html"):
                data = inject_reload(data, server.counter)
            self._send(status, data, content_type, head)

        def _from_this_machine(self) -> bool:
            """Whether the Host header names this machine (any port). HTTP/1.0 may leave it out; a browser never does."""
            hosts = self.headers.get_all("Host") or []
            if len(hosts) > 1:
                return False
            if hosts and _host_name(hosts[0]) not in server.local_hosts:
                return False
            # An absolute request target names the host too, and wins over the header (RFC 9112, 3.2.2).
            authority = _target_authority(self.path)
            return authority is None or _host_name(authority) in server.local_hosts

        def _reload(self, query: str, head: bool) -> None:
            try:
                since = int(parse_qs(query).get("since", ["-1"])[0])
            except ValueError:
                since = -1
            counter = server.wait_for_change(since, 0 if head else LONG_POLL_SECONDS)
            self._send(HTTPStatus.OK, str(counter).encode(), TEXT, head)

        def _redirect(self, location: str) -> None:
            self._answered = True
            try:
                self.send_response(HTTPStatus.FOUND)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # hung up, or stopped reading: the connection is done
                self.close_connection = True

        def _send(self, status: HTTPStatus, data: bytes, content_type: str, head: bool) -> None:
            self._answered = True
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                if not head:
                    self.wfile.write(data)
            except OSError:  # hung up, or stopped reading until request_timeout: the connection is done
                self.close_connection = True

    return Handler


# host, or [IPv6 literal], then an optional port
_HOST = re.compile(r"(\[[^\[\]]*\]|[^:\[\]]*)(?::[0-9]*)?")
_ABSOLUTE_TARGET = re.compile(r"(?i)https?://([^/?#]*)")


def _host_name(value: str) -> str | None:
    """The host of a Host header or an authority, lower case and without the port; None when malformed."""
    match = _HOST.fullmatch(value.strip())
    return match.group(1).lower() if match else None


def _target_authority(target: str) -> str | None:
    """The host and port of an absolute request target (``http://host:port/path``); None for ``/path``."""
    match = _ABSOLUTE_TARGET.match(target)
    return match.group(1) if match else None


def _split_target(target: str) -> tuple[str, str]:
    """The path (still percent-encoded) and query of a request target; ValueError for one no browser sends.

    Split by hand: urlsplit() raises on ``http://[x/`` and reads ``//host/path`` as a host.
    """
    match = _ABSOLUTE_TARGET.match(target)
    if match:
        target = "/" + target[match.end() :].lstrip("/")
    if not target.startswith("/"):
        raise ValueError("the request target must be a path")
    path, _, query = target.partition("#")[0].partition("?")
    return path, query


def _location(path: str, query: str) -> str:
    """A Location within this preview: one leading slash (never ``//host``), percent-encoded ASCII."""
    location = quote("/" + path.lstrip("/"), safe="/")
    return location + ("?" + quote(query, safe="=&;%+/?:@,!$'()*~") if query else "")


def _no_such_file(exc: OSError) -> bool:
    """A request for a name that is not in the site, however odd the name (too long for the file system too)."""
    return isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)) or exc.errno in (errno.ENAMETOOLONG, errno.ELOOP)


def _content_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


# -- command line ----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py serve",
        description="Preview the site on http://127.0.0.1: build it into .cache/serve/, serve it, rebuild and reload the browser on every change.",
    )
    parser.add_argument("--config", default="site.yml", metavar="PATH", help="site configuration (default: ./site.yml)")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000; 0 picks a free one)")
    parser.add_argument("--base", default="/", metavar="PATH", help="serve under this sub-path, as GitHub Pages does for a project site (e.g. /repo/; default: /)")
    parser.add_argument("--offline", action="store_true", help="never contact a translation service: use the translation memory only")
    parser.add_argument("--drafts", action="store_true", help="include segments marked 'draft: true'")
    return parser


def serve_main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    config_path = Path(args.config)
    if not config_path.is_file():
        print(f"error: no such configuration file: {config_path} (run from the project folder or pass --config PATH)", file=sys.stderr)
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be between 0 and 65535, not {args.port}", file=sys.stderr)
        return EXIT_USAGE
    server = PreviewServer(config_path, port=args.port, base=args.base, offline=args.offline, drafts=args.drafts)
    try:
        try:
            server.start()
        except OSError as exc:
            print(f"error: cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc}): try another --port", file=sys.stderr)
            return EXIT_PROBLEMS
        except Exception as exc:  # noqa: BLE001 -- as the CLI: a message, not a traceback
            print(f"error: unexpected failure ({type(exc).__name__}: {exc})", file=sys.stderr)
            return EXIT_PROBLEMS
        print(f"serving the preview at {server.url}  (rebuilds on change; Ctrl-C to stop)", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("stopped", flush=True)
    return EXIT_OK
