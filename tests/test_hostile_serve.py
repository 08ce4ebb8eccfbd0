"""``build.py serve`` under attack (GitHub issue "Hostile input, round two").

Idle and half-open connections, more connections than the preview handles at
once, a full descriptor table, rebuilds and watchers that fail, DNS rebinding
(a ``Host`` that is not this machine) and request paths made to break the file
lookup. Every server listens on 127.0.0.1, port 0, over a small site written
with ``make_site``; nothing here reaches any other address. The descriptor
test runs the preview in a subprocess and lowers RLIMIT_NOFILE there, never in
this process. Every wait is a poll with a deadline, and every test has a time
limit of its own.
"""

from __future__ import annotations

import errno
import http.client
import io
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import sitegen.commands.serve.handler
import sitegen.config
from sitegen.commands.serve.server import PreviewServer, ServeSettings
from tests.sitekit import preview
from tests.sitekit import wait_until as wait_for

REPO = Path(__file__).resolve().parent.parent
NEWS = "الفقرة الأولى عن حمص.\nالفقرة الثانية عن السوق.\n"
PAGE = "/repo/ar/news-1.html"
DEADLINE = 10.0


@pytest.fixture
def site(make_site) -> Path:
    return make_site({"content/news.txt": NEWS})


def request(port: int, target: str, host: str | None = "127.0.0.1", method: str = "GET", timeout: float = 5.0) -> tuple[int, str, dict[str, str]]:
    """One request with the given Host header (None: no Host header at all)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace"), dict(response.getheaders())
    finally:
        connection.close()


def raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes as they are; everything the server answers until it closes (a silent server fails the test)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), f"not an HTTP answer: {answer[:80]!r}"
    return int(answer.split(b" ", 2)[1])


def wait_until(predicate, what: str, deadline: float = DEADLINE):
    return wait_for(predicate, what, deadline)


def edit_news(site: Path, old: str, new: str) -> None:
    path = site / "content" / "news.txt"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def page_shows(port: int, text: str) -> bool:
    try:
        status, body, _ = request(port, PAGE, timeout=2)
    except OSError:
        return False
    return status == 200 and text in body


def still_open(sockets: list[socket.socket], seconds: float) -> list[socket.socket]:
    """The sockets the server has not closed within ``seconds`` (whatever it answered before closing)."""
    open_ones = set(sockets)
    end = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        while open_ones and time.monotonic() < end:
            for key, _ in selector.select(timeout=max(0.0, end - time.monotonic())):
                sock = key.fileobj
                try:
                    closed = sock.recv(65536) == b""  # type: ignore[union-attr]
                except BlockingIOError:
                    closed = False
                except OSError:  # reset: closed as well
                    closed = True
                if closed:
                    selector.unregister(sock)
                    open_ones.discard(sock)  # type: ignore[arg-type]
    return [s for s in sockets if s in open_ones]


# -- 1. idle, half-open and too many connections ------------------------------------


@pytest.mark.timeout(60)
def test_half_open_connections_are_closed_after_the_request_timeout(site: Path):
    with preview(site, request_timeout=1.0) as server:
        sockets = []
        try:
            for n in range(200):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                if n % 2:
                    sock.sendall(b"GET /repo/index.ht")  # half a request line
                sockets.append(sock)
            left = still_open(sockets, 8.0)
            assert not left, f"{len(left)} of {len(sockets)} half-open connections still open after 8 s"
        finally:
            for sock in sockets:
                sock.close()
        assert request(server.port, PAGE)[0] == 200
        wait_until(lambda: server.connections == 0, "every connection slot given back")


@pytest.mark.timeout(60)
def test_connections_beyond_the_limit_are_refused_at_once_without_a_thread(site: Path):
    with preview(site, request_timeout=30.0, max_connections=4) as server:
        idle = []
        try:
            # Four kept-alive connections, each answered once and then silent, hold every slot.
            for _ in range(4):
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
                connection.request("GET", PAGE)
                response = connection.getresponse()
                assert response.status == 200
                response.read()
                idle.append(connection)
            threads = threading.active_count()
            extra = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            try:
                extra.sendall(b"GET /repo/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                answer = b""
                extra.settimeout(2.0)
                try:
                    while chunk := extra.recv(65536):
                        answer += chunk
                except ConnectionResetError:
                    pass  # closed at once, the request unread: as good as a 503
                except TimeoutError:
                    pytest.fail(f"a connection beyond the limit was kept open; it got {answer[:60]!r}")
                assert answer == b"" or status_of(answer) == 503, answer[:200]
            finally:
                extra.close()
            assert threading.active_count() == threads, "no thread was started for the refused connection"
        finally:
            for connection in idle:
                connection.close()
        wait_until(lambda: server.connections == 0, "every connection slot given back")
        assert request(server.port, PAGE)[0] == 200


@pytest.mark.timeout(60)
def test_the_long_poll_outlives_a_short_request_timeout(site: Path, monkeypatch):
    """The long poll waits in the server, not on the socket: a 1 s timeout must not cut it."""
    monkeypatch.setattr(sitegen.commands.serve.handler, "LONG_POLL_SECONDS", 3.0)
    with preview(site, request_timeout=1.0) as server:
        since = server.counter
        started = time.monotonic()
        status, body, _ = request(server.port, f"/__reload?since={since}", timeout=10)
        assert status == 200 and int(body) == since
        assert time.monotonic() - started >= 2.5, "answered after the full long poll, not cut by the socket timeout"
        answers: list[int] = []
        poll = threading.Thread(target=lambda: answers.append(int(request(server.port, f"/__reload?since={since}", timeout=10)[1])))
        poll.start()
        time.sleep(1.5)
        edit_news(site, "حمص", "EDIT-DURING-POLL")
        poll.join(timeout=DEADLINE)
        assert answers and answers[0] > since


# -- 2. failures of the build, the watchers and the descriptor table ---------------------


@pytest.mark.timeout(60)
def test_the_build_loop_outlives_any_failed_rebuild(site: Path, monkeypatch):
    with preview(site) as server:
        log = server.log  # type: ignore[attr-defined]
        real_load_config = sitegen.config.load_config

        def no_descriptors(*args, **kwargs):
            raise OSError(errno.EMFILE, "Too many open files", str(site / "site.yml"))

        monkeypatch.setattr(sitegen.config, "load_config", no_descriptors)
        failures = server.failures
        edit_news(site, "حمص", "FIRST-EDIT")
        wait_until(lambda: server.failures > failures, "the rebuild that could not read site.yml, reported")
        reported = [line for line in log.getvalue().splitlines() if "Too many open files" in line]
        assert len(reported) == 1 and reported[0].startswith("error:"), log.getvalue()
        monkeypatch.setattr(sitegen.config, "load_config", real_load_config)

        # Even a builder that raises (a bug of ours) costs one rebuild, not the preview.
        real_build = server.builder.build

        def broken_build():
            raise RuntimeError("a bug in the builder")

        server.builder.build = broken_build  # type: ignore[method-assign]
        failures = server.failures
        edit_news(site, "FIRST-EDIT", "SECOND-EDIT")
        wait_until(lambda: server.failures > failures, "the rebuild whose builder raised, reported")
        assert "a bug in the builder" in log.getvalue()
        server.builder.build = real_build  # type: ignore[method-assign]

        edit_news(site, "SECOND-EDIT", "THIRD-EDIT")
        wait_until(lambda: page_shows(server.port, "THIRD-EDIT"), "the next edit, rebuilt and served")
        assert "Traceback" not in log.getvalue()


@pytest.mark.timeout(60)
def test_the_watcher_threads_outlive_their_errors(site: Path, monkeypatch):
    """Each watcher fails once (as it does when no descriptor is left); both still see the next edit."""
    import watchfiles

    real_watch = watchfiles.watch
    failed: set[bool] = set()

    def flaky_watch(*paths, **options):
        recursive = options.get("recursive", True)  # the folder watcher, or the one of the project folder
        if recursive not in failed:
            failed.add(recursive)
            raise OSError(errno.EMFILE, "Too many open files")
        return real_watch(*paths, **options)

    monkeypatch.setattr(watchfiles, "watch", flaky_watch)
    log = io.StringIO()
    server = PreviewServer(ServeSettings(site / "site.yml", port=0, base="/repo/", offline=True, debounce_ms=50), out=log)
    real_paths = server.builder.watched_paths
    calls = []

    def flaky_paths():
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.EMFILE, "Too many open files", str(site / "content"))
        return real_paths()

    server.builder.watched_paths = flaky_paths  # type: ignore[method-assign]
    server.start()
    try:
        wait_until(lambda: failed == {True, False} and len(calls) > 1, "both watchers failing once and watching again")
        time.sleep(1.0)  # the retries are in place
        before = server.counter
        edit_news(site, "حمص", "EDIT-AFTER-WATCH-ERRORS")
        # (The page is on disk a moment before the counter moves: wait for both.)
        wait_until(lambda: server.counter > before and page_shows(server.port, "EDIT-AFTER-WATCH-ERRORS"), "a content edit, seen by the folder watcher")
        before = server.counter
        config = site / "site.yml"
        config.write_text(config.read_text(encoding="utf-8").replace("موقع الاختبار", "عنوان بعد الخطأ"), encoding="utf-8")
        wait_until(
            lambda: server.counter > before and "عنوان بعد الخطأ" in request(server.port, "/repo/index.html")[1],
            "a site.yml edit, seen by the project-folder watcher",
        )
        assert "Traceback" not in log.getvalue()
    finally:
        server.stop()


SERVER_SCRIPT = """\
import resource
import sys

sys.path.insert(0, {repo!r})
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, hard))

from sitegen.commands.serve.server import PreviewServer, ServeSettings

# More connection slots than descriptors, and a long request timeout: the table fills up.
server = PreviewServer(ServeSettings({config!r}, port=0, base="/repo/", offline=True, debounce_ms=50, max_connections=1000, request_timeout=120))
server.start()
print("listening on port", server.port, flush=True)
try:
    server.serve_forever()
finally:
    server.stop()
"""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.timeout(120)
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_full_descriptor_table_costs_no_cpu_and_the_preview_recovers(site: Path, tmp_path: Path):
    limit = 128
    script = tmp_path / "serve_limited.py"
    script.write_text(SERVER_SCRIPT.format(repo=str(REPO), limit=limit, config=str(site / "site.yml")), encoding="utf-8")
    log_path = tmp_path / "serve.log"
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT)

    def log() -> str:
        return log_path.read_text(encoding="utf-8", errors="replace")

    clients: list[socket.socket] = []
    try:
        line = wait_until(lambda: next((l for l in log().splitlines() if l.startswith("listening on port ")), None), "the preview started", 30)
        port = int(line.split()[-1])
        assert page_shows(port, "حمص")

        # Connect until the server has no descriptor left, then a few more that wait in the
        # listen backlog: each makes the listening socket readable while accept() fails.
        while descriptors(process.pid) < limit and len(clients) < 400:
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            if len(clients) % 20 == 0:
                time.sleep(0.2)  # let the server accept
        wait_until(lambda: descriptors(process.pid) >= limit, "the server's descriptor table full")
        for _ in range(5):
            try:
                clients.append(socket.create_connection(("127.0.0.1", port), timeout=0.5))
            except OSError:
                break  # the backlog is full too

        time.sleep(0.5)
        before, started = cpu_seconds(process.pid), time.monotonic()
        time.sleep(2.0)
        share = (cpu_seconds(process.pid) - before) / (time.monotonic() - started)
        assert share < 0.30, f"the saturated server used {share:.0%} of a core"

        # A rebuild now cannot even open site.yml: one message, and the preview goes on.
        edit_news(site, "حمص", "EDIT-WHILE-FULL")
        wait_until(lambda: "build failed: still serving the previous site" in log(), "the rebuild that failed for want of descriptors", 20)
        assert process.poll() is None, log()

        for sock in clients:
            sock.close()
        clients.clear()
        wait_until(lambda: descriptors(process.pid) < limit // 2, "the server closing the connections", 20)

        edit_news(site, "EDIT-WHILE-FULL", "EDIT-AFTER-FULL")
        wait_until(lambda: page_shows(port, "EDIT-AFTER-FULL"), "the edit after the sockets closed, rebuilt and served", 30)
        assert "Traceback" not in log(), log()
    finally:
        for sock in clients:
            sock.close()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- 3. DNS rebinding: only this machine's names ----------------------------------------


@pytest.mark.timeout(60)
def test_only_local_host_names_are_answered(site: Path):
    with preview(site) as server:
        port = server.port
        for host in (
            "evil.example",
            f"evil.example:{port}",
            "127.0.0.1.evil.example",
            f"localhost.evil.example:{port}",
            "127.0.0.2",
            "10.0.0.1",
            "[::2]",
            "localhost:port",
            "",
        ):
            for target in (PAGE, "/repo/", f"/__reload?since={server.counter}"):
                for method in ("GET", "HEAD"):
                    status, body, headers = request(port, target, host=host, method=method)
                    assert status in (403, 421), (host, target, method, status)
                    assert headers["Content-Type"].startswith("text/plain"), (host, headers)
                    assert "حمص" not in body and len(body) < 400, body
        for host in ("127.0.0.1", f"127.0.0.1:{port}", "localhost", "LocalHost", f"LOCALHOST:{port}", "[::1]", f"[::1]:{port}"):
            status, body, _ = request(port, PAGE, host=host)
            assert status == 200 and "حمص" in body, host

        # HTTP/1.0 without a Host header is still served.
        assert status_of(raw_exchange(port, f"GET {PAGE} HTTP/1.0\r\n\r\n".encode())) == 200
        # Two Host headers, or a request target naming another host, are not.
        two = f"GET {PAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        assert status_of(raw_exchange(port, two.encode())) in (400, 403, 421)
        absolute = f"GET http://evil.example{PAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        assert status_of(raw_exchange(port, absolute.encode())) in (400, 403, 421)
        absolute = f"GET http://127.0.0.1:{port}{PAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        assert status_of(raw_exchange(port, absolute.encode())) == 200


# -- 4. request paths -------------------------------------------------------------------------


HOSTILE_TARGETS: list[bytes] = [
    b"/repo/" + b"a" * 256,  # one component over NAME_MAX
    b"/repo/" + b"a" * 300 + b".html",
    b"/repo/ar/" + b"%D8%A8" * 200 + b".html",  # 400 bytes of UTF-8 in one component
    b"/repo/" + b"/".join([b"d" * 200] * 30),  # the whole path over PATH_MAX
    b"/repo/" + b"x" * 60000 + b"/",
    b"/repo/" + b"x" * 70000,  # a request line over 64 KiB
    b"/repo/%00",
    b"/repo/index.html%00.txt",
    b"/repo/ar%00/",
    b"/repo/%",
    b"/repo/%zz",
    b"/repo/%e0%a4",
    b"/repo/%ff%fe.html",
    b"/repo/%c0%ae%c0%ae/%c0%ae%c0%ae/site.yml",
    b"/repo/\xff\xfe/\xc3(",  # bytes that are not UTF-8 at all
    b"/repo/../../../../etc/passwd",
    b"/repo/%2e%2e/%2e%2e/site.yml",
    b"/repo/..%2f..%2fsite.yml",
    b"/repo/ar/..%5c..%5csite.yml",
    b"/repo/ar%0d%0aSet-Cookie:%20x=1",
    b"/repo/ar",
    b"///repo/ar",
    b"//evil.example/repo/ar",
    b"/repo//ar",
    b"/repo/ar?%zz%00",
    b"http://[evil/repo/",
    b"http://127.0.0.1:notaport/repo/",
    b"*",
    b"/__reload?since=" + b"9" * 5000 + b"&x=%00",
    b"/__reload?since=%ff",
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_no_request_path_breaks_the_connection(site: Path, method: str, capfd):
    with preview(site) as server:
        for target in HOSTILE_TARGETS:
            data = method.encode() + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            answer = raw_exchange(server.port, data)
            status = status_of(answer)
            assert status in (200, 302, 400, 403, 404, 414), (target[:80], answer[:300])
            head = answer.split(b"\r\n\r\n", 1)[0]
            assert b"Set-Cookie" not in head
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"location:"):
                    location = line.split(b":", 1)[1].strip()
                    assert location.startswith(b"/") and not location.startswith(b"//"), (target[:80], location)
        assert status_of(raw_exchange(server.port, f"{method} {PAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())) == 200
        out, err = capfd.readouterr()
        log = server.log.getvalue()  # type: ignore[attr-defined]
        for text in (out, err, log):
            assert "Traceback" not in text and "Exception occurred" not in text, text[-2000:]


@pytest.mark.timeout(30)
def test_redirects_under_a_base_that_is_not_ascii_are_percent_encoded(site: Path):
    """A header is Latin-1: a raw Arabic Location raised UnicodeEncodeError and dropped the connection."""
    with PreviewServer(ServeSettings(site / "site.yml", port=0, base="/أرشيف/", offline=True, debounce_ms=50), out=io.StringIO()) as server:
        base = "/%D8%A3%D8%B1%D8%B4%D9%8A%D9%81/"
        for target, location in (("/", base), ("/?x=1", base + "?x=1"), (base + "ar", base + "ar/")):
            status, _, headers = request(server.port, target)
            assert status == 302 and headers["Location"] == location, (target, status, headers)
        status, body, _ = request(server.port, base + "ar/news-1.html")
        assert status == 200 and "حمص" in body
