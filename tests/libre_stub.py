"""A LibreTranslate-compatible stub server on 127.0.0.1, for tests and demos.

Speaks what deep-translator's LibreTranslator sends (``POST /translate`` with
``q``, ``source``, ``target``, ``format`` and ``api_key`` in the query string)
and also form and JSON bodies, as the real server does. Faults can be switched
on to exercise a client's error handling::

    with LibreStub() as stub:
        stub.set_fault("429", times=1)
        ...  # the first request gets HTTP 429, the next ones a translation

Besides HTTP errors and wrong replies, there are slow and oversized ones for
testing deadlines and size limits: ``drip`` (a whole reply, one byte every
``drip_seconds``), ``drip_forever`` (the start of a reply, then one byte more
at a time for ever), ``drip_headers`` (a status line, then one byte of a header
at a time for ever), ``stall_after_headers`` (the headers, then a pause of
``sleep_seconds`` before the body) and ``huge`` (a reply of ``huge_bytes``, sent
as fast as the client reads it). How many bytes of body each drip or huge reply
got out before it ended is appended to ``streamed`` (for ``huge``, what the
client read plus a few hundred KiB of socket buffers). ``escaped_json`` answers
normally, but writes every character of the JSON strings as a ``\\uXXXX`` escape.

By hand, for a demo: ``python tests/libre_stub.py --port 5000`` (Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import signal
import socket
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

FAULTS = frozenset(
    {"429", "500", "sleep", "empty_json", "not_json", "echo", "script", "key_in_error", "mymemory_warning", "arabic",
     "drip", "drip_forever", "drip_headers", "stall_after_headers", "huge", "escaped_json"}
)
MYMEMORY_WARNING = (
    "MYMEMORY WARNING: YOU USED ALL AVAILABLE FREE TRANSLATIONS FOR TODAY. NEXT AVAILABLE IN  "
    "10 HOURS 20 MINUTES 33 SECONDS VISIT HTTPS://MYMEMORY.TRANSLATED.NET/DOC/USAGELIMITS.PHP TO TRANSLATE MORE"
)
ARABIC_REPLY = "هذا النص لم يترجم إلى اللغة الإنجليزية بعد"
LANGUAGES = [
    {"code": "ar", "name": "Arabic", "targets": ["en"]},
    {"code": "en", "name": "English", "targets": ["ar"]},
]
_WORDS = (
    "the", "news", "report", "city", "people", "said", "today", "government",
    "market", "water", "school", "new", "minister", "week", "local", "council",
)


def default_translate(text: str) -> str:
    """Deterministic English-looking text for ``text``: a hash, then one word per source word."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    words = [_WORDS[zlib.crc32(w.encode("utf-8")) % len(_WORDS)] for w in text.split()]
    return " ".join([f"Translated {digest}:", *words])


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients that time out and hang up are part of the tests."""


class LibreStub:
    """A LibreTranslate stand-in serving on 127.0.0.1 from a daemon thread.

    Starts at construction; ``stop()`` (or leaving the ``with`` block) shuts it
    down and waits for its threads. ``requests`` lists every request received
    as a dict with path, method, q, source, target, format and api_key.
    """

    def __init__(
        self,
        translate: Callable[[str], str] | None = None,
        *,
        port: int = 0,
        sleep_seconds: float = 5.0,
        drip_seconds: float = 0.3,
        huge_bytes: int = 32 * 2**20,
    ):
        self.translate = translate or default_translate
        # How long the "sleep" and "stall_after_headers" faults stall; stop() wakes sleepers at once.
        self.sleep_seconds = sleep_seconds
        # The pause before each byte of the drip faults, and the size of the "huge" reply.
        self.drip_seconds = drip_seconds
        self.huge_bytes = huge_bytes
        self.requests: list[dict[str, Any]] = []
        # Bytes of body that each drip or huge reply got out (to the kernel) before it ended.
        self.streamed: list[int] = []
        self._lock = threading.Lock()
        self._fault: str | None = None
        self._fault_times: int | None = None
        self._fault_when: Callable[[str], bool] | None = None
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), _make_handler(self))
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="libre-stub", daemon=True
        )
        self._thread.start()

    def __enter__(self) -> LibreStub:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def set_fault(
        self, fault: str | None, *, times: int | None = None, when: Callable[[str], bool] | None = None
    ) -> None:
        """Make requests fail in the way ``fault`` names (None: behave normally).

        ``times``: only the next N matching requests fault. ``when``: only
        requests whose text makes it true fault.
        """
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: use one of {', '.join(sorted(FAULTS))}")
        with self._lock:
            self._fault, self._fault_times, self._fault_when = fault, times, when

    def stop(self) -> None:
        """Shut down, wake any sleeping handler, close the socket, join the threads. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()  # also joins the handler threads
        self._thread.join(timeout=5)

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def _pick_fault(self, text: str) -> str | None:
        """The fault for a request carrying ``text``, counting down ``times``."""
        with self._lock:
            if self._fault is None or (self._fault_when is not None and not self._fault_when(text)):
                return None
            if self._fault_times is not None:
                if self._fault_times <= 0:
                    return None
                self._fault_times -= 1
            return self._fault

    def _sleep(self) -> None:
        self._stopping.wait(self.sleep_seconds)

    def _drip_pause(self) -> bool:
        """Wait before the next dripped byte; False once the stub is stopping."""
        return not self._stopping.wait(self.drip_seconds)

    def _record_streamed(self, size: int) -> None:
        with self._lock:
            self.streamed.append(size)


def _make_handler(stub: LibreStub) -> type[BaseHTTPRequestHandler]:
    """A request-handler class bound to ``stub``."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "LibreStub/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """No access log on stderr."""

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/languages":
                self._send(200, LANGUAGES)
            elif path == "/translate":
                self._translate()
            else:
                self._send(404, {"error": "Not Found"})

        def do_POST(self) -> None:
            if urlsplit(self.path).path == "/translate":
                self._translate()
            else:
                self._send(404, {"error": "Not Found"})

        def _params(self) -> dict[str, Any] | None:
            """Query, form and JSON parameters merged (later ones win); None for a bad JSON body."""
            params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = self.headers.get_content_type()
            if body and content_type == "application/x-www-form-urlencoded":
                form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                params.update({k: v[-1] for k, v in form.items()})
            elif body and content_type == "application/json":
                try:
                    data = json.loads(body)
                except ValueError:
                    return None
                if not isinstance(data, dict):
                    return None
                params.update(data)
            return params

        def _translate(self) -> None:
            params = self._params()
            if params is None:
                self._send(400, {"error": "Invalid request: request body is not valid JSON"})
                return
            q = params.get("q")
            stub._record(
                {
                    "path": urlsplit(self.path).path,
                    "method": self.command,
                    **{key: params.get(key) for key in ("q", "source", "target", "format", "api_key")},
                }
            )
            if not q:
                self._send(400, {"error": "Invalid request: missing q parameter"})
                return
            texts = q if isinstance(q, list) else [str(q)]
            fault = stub._pick_fault("\n".join(map(str, texts)))
            self._reply(fault, texts, isinstance(q, list), params.get("api_key"))

        def _reply(self, fault: str | None, texts: list[str], batch: bool, api_key: Any) -> None:
            """Answer a translate request, as a working server or with ``fault``."""
            if fault == "429":
                self._send(429, {"error": "Slowdown: 10 per 1 minute"})
                return
            if fault == "500":
                self._send(500, {"error": "Internal Server Error"})
                return
            if fault == "key_in_error":
                self._send(403, {"error": f"Invalid API key: {api_key}"})
                return
            if fault == "empty_json":
                self._send(200, {})
                return
            if fault == "not_json":
                self._send_bytes(200, b"<html><body>502 Bad Gateway</body></html>", "text/html; charset=utf-8")
                return
            if fault == "sleep":
                stub._sleep()  # longer than the client waits; then answer normally
            if fault == "drip_headers":
                self._drip_headers()
                return
            if fault == "huge":
                self._send_huge()
                return
            results = [self._translated(fault, text) for text in texts]
            payload = {"translatedText": results if batch else results[0]}
            if fault in ("drip", "drip_forever", "stall_after_headers"):
                self._send_slowly(fault, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
            elif fault == "escaped_json":
                self._send_bytes(200, _escaped_json(payload).encode("ascii"), "application/json")
            else:
                self._send(200, payload)

        @staticmethod
        def _translated(fault: str | None, text: str) -> str:
            if fault == "echo":
                return text
            if fault == "script":
                return "<script>alert(1)</script>" + stub.translate(text)
            if fault == "mymemory_warning":
                return MYMEMORY_WARNING
            if fault == "arabic":
                return ARABIC_REPLY
            return stub.translate(text)

        def _send_slowly(self, fault: str, body: bytes) -> None:
            """A 200 reply whose body comes late: dripped, dripped for ever, or after a pause."""
            sent = 0
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if fault != "drip_forever":  # without a length, the body ends when the connection does
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if fault == "stall_after_headers":
                    stub._sleep()
                    self.wfile.write(body)
                    sent = len(body)
                    return
                if fault == "drip_forever":
                    body = body[: body.index(b":") + 3]  # '{"translatedText": "', then 'a' for ever
                    self.wfile.write(body)
                    sent = len(body)
                    body = itertools.repeat(ord("a"))
                sent += self._drip(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up
            finally:
                if fault != "stall_after_headers":
                    stub._record_streamed(sent)

        def _drip_headers(self) -> None:
            """A status line, then one byte of a header at a time, for ever: headers that never end."""
            try:
                self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Drip: ")
                self._drip(itertools.repeat(ord("a")))
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _drip(self, data: Iterable[int]) -> int:
            """Write ``data`` one byte per ``drip_seconds`` until it ends or the stub stops; bytes written."""
            sent = 0
            for byte in data:
                if not stub._drip_pause():
                    break
                self.wfile.write(bytes((byte,)))
                sent += 1
            return sent

        def _send_huge(self) -> None:
            """A valid reply of ``huge_bytes``, written 64 KiB at a time as fast as the client reads."""
            prefix, suffix = b'{"translatedText": "', b'"}'
            filler = b"a " * 32768
            sent = 0
            # A small send buffer, so that what ``streamed`` counts is close to what the client
            # took: otherwise the kernel would accept megabytes that nobody ever reads.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(stub.huge_bytes))
                self.end_headers()
                self.wfile.write(prefix)
                sent = len(prefix)
                remaining = stub.huge_bytes - len(prefix) - len(suffix)
                while remaining > 0 and not stub._stopping.is_set():
                    piece = filler[:remaining]
                    self.wfile.write(piece)
                    sent += len(piece)
                    remaining -= len(piece)
                self.wfile.write(suffix)
                sent += len(suffix)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up: the point of the fault
            finally:
                stub._record_streamed(sent)

        def _send(self, status: int, payload: Any) -> None:
            self._send_bytes(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json")

        def _send_bytes(self, status: int, body: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timed out) before the answer

    return Handler


def _escaped_json(value: Any) -> str:
    """JSON for ``value`` with every character of every string written as a \\uXXXX escape."""
    if isinstance(value, str):
        units = value.encode("utf-16-be")  # astral characters become surrogate pairs, as JSON wants
        return '"' + "".join(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2)) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_escaped_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_escaped_json(str(k))}: {_escaped_json(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def main(argv: list[str] | None = None) -> None:
    """Serve until Ctrl-C: ``python tests/libre_stub.py --port 5000 [--fault 429]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--fault", choices=sorted(FAULTS), default=None)
    args = parser.parse_args(argv)
    stub = LibreStub(port=args.port)
    stub.set_fault(args.fault)
    print(f"LibreTranslate stub at {stub.url} (Ctrl-C to stop)", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())  # `kill PID` stops it cleanly too
    try:
        while not done.wait(0.5):  # a timed wait, so that Ctrl-C gets through
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stub.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
