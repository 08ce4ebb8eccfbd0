"""A LibreTranslate-compatible stub server on 127.0.0.1, for tests and demos.

Speaks what deep-translator's LibreTranslator sends (``POST /translate`` with
``q``, ``source``, ``target``, ``format`` and ``api_key`` in the query string)
and also form and JSON bodies, as the real server does. Faults can be switched
on to exercise a client's error handling::

    with LibreStub() as stub:
        stub.set_fault("429", times=1)
        ...  # the first request gets HTTP 429, the next ones a translation

By hand, for a demo: ``python tests/libre_stub.py --port 5000`` (Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

FAULTS = frozenset(
    {"429", "500", "sleep", "empty_json", "not_json", "echo", "script", "key_in_error", "mymemory_warning", "arabic"}
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
    ):
        self.translate = translate or default_translate
        # How long the "sleep" fault stalls; stop() wakes sleepers at once.
        self.sleep_seconds = sleep_seconds
        self.requests: list[dict[str, Any]] = []
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
            results = [self._translated(fault, text) for text in texts]
            self._send(200, {"translatedText": results if batch else results[0]})

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
