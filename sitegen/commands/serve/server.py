"""The PreviewServer: its sockets and connection limits, its life cycle, and the rebuilds it runs."""

from __future__ import annotations

import errno
import sys
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path

from ...core.urls import normalise_base
from ..messages import describe_failure, one_line
from .builder import BuildOutcome, SiteBuilder
from .handler import LOCAL_HOSTS, TEXT, PreviewHandler
from .watcher import WATCH_RETRY_SECONDS, Watcher

# A connection silent this long while its request is read (or its answer written) is
# closed: half-open connections would otherwise hold a thread and a descriptor forever.
REQUEST_TIMEOUT_SECONDS = 30.0
# Connections handled at once; more are answered 503 and closed by the accepting thread
# itself, without a thread each. A browser opens six per host, plus one long poll per tab.
MAX_CONNECTIONS = 64
# When accept() fails (EMFILE: no descriptor left) the listening socket stays readable;
# this pause keeps serve_forever() from spinning on a core until descriptors are free.
ACCEPT_BACKOFF_SECONDS = 0.1


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

    def __init__(self, preview: PreviewServer):
        self.preview = preview  # read by each PreviewHandler: the settings, the build counter, the site folder
        settings = preview.settings
        self.max_connections = settings.max_connections
        self.connections = 0  # handled now, each by a thread
        self._slots = threading.Lock()
        self._report = preview.warn
        self._starved = False  # accept() fails for want of descriptors: said once, until it works again
        super().__init__((settings.host, settings.port), PreviewHandler)

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
        self._report(f"error: a connection failed ({type(exc).__name__}: {one_line(exc)})")


@dataclass(frozen=True)
class ServeSettings:
    """How a PreviewServer builds and serves: the command line's options, and the limits tests lower."""

    config_path: Path | str = "site.yml"
    port: int = 8000  # 0 picks a free one
    base: str = "/"
    offline: bool = False
    drafts: bool = False
    host: str = "127.0.0.1"
    debounce_ms: int = 150
    request_timeout: float = REQUEST_TIMEOUT_SECONDS  # seconds a connection may stay silent while a request is read or answered
    max_connections: int = MAX_CONNECTIONS


class PreviewServer:
    """Build, serve and rebuild. ``start()`` returns once the first build is done and the port is open.

    ``counter`` is the number of successful builds; pages reload when it changes.
    ``out`` is a text stream for its messages; None means stdout (stderr for errors).
    """

    def __init__(self, settings: ServeSettings, out=None):
        if not settings.request_timeout > 0 or settings.max_connections < 1:
            raise ValueError("request_timeout must be positive and max_connections at least 1")
        self.settings = settings
        self.config_path = Path(settings.config_path).resolve()
        self.base = normalise_base(settings.base)
        name = settings.host.lower()
        # The Host header names this machine, or whatever the server was started on (IPv6 in brackets).
        self.local_hosts = {*LOCAL_HOSTS, f"[{name}]" if ":" in name else name}
        self.out = out
        self.counter = 0  # successful builds that changed the site: pages reload when it moves
        self.failures = 0
        self.builds = 0  # every build attempt, done
        self.last_outcome: BuildOutcome | None = None
        self._changed = threading.Condition()
        self._pending = False
        self._stopping = threading.Event()
        self.site_dir = self._make_site_dir(settings.drafts)
        self.builder = SiteBuilder(self.config_path, self.site_dir, offline=settings.offline, drafts=settings.drafts, out=out)
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
        self._httpd = _PreviewHTTPServer(self)
        thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="sitegen-http", daemon=True)
        thread.start()
        self._threads.append(thread)
        self._say(f"building the site for the preview at {self.url}")
        self._watcher = Watcher(self.config_path.parent, self.config_path.name, self.builder.watched_paths, self._on_change, self.settings.debounce_ms)
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
        return f"http://{self.settings.host}:{self.port}{self.base}"

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
                self.warn(f"error: rebuilding failed ({type(exc).__name__}: {one_line(exc)}); waiting for the next change")
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
            if self._stopping.wait(self.settings.debounce_ms / 1000):
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
            self.warn(f"error: {one_line(describe_failure(exc), 500)}")
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

    def warn(self, text: str) -> None:
        print(text, file=self.out or sys.stderr, flush=True)

    def serve_forever(self) -> None:
        """Block until Ctrl-C."""
        try:
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass

