"""deep-translator's requests over kept-alive connections (sitegen/translation/direct.py).

A small HTTP/1.1 server on 127.0.0.1 that keeps connections alive (tests/libre_stub.py
speaks HTTP/1.0, one connection per request) records what it receives and on which
connection; each test drives the real LibreTranslator through our translator.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.translation.direct import DirectClient, _encode_pairs
from sitegen.translation.failures import TranslationFailed
from sitegen.translation.providers import TranslatorSettings
from sitegen.translation.translator import make_translator

pytestmark = pytest.mark.network_stub
SENTENCE = "قال وزير المالية إن الحكومة ستخفض الضرائب على الشركات الصغيرة هذا العام"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """Clients that time out and hang up are part of the tests."""


class KeepAliveServer:
    """Answers POST /translate with JSON over HTTP/1.1; ``behave(handler)`` may answer instead."""

    def __init__(self, behave=None):
        self.requests: list[dict] = []
        self.connections = 0
        self.behave = behave
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with lock:
                    server.connections += 1

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self._answer()

            def do_GET(self) -> None:  # noqa: N802
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                record = {"method": self.command, "path": parts.path, "query": parse_qs(parts.query), "body": body, "headers": dict(self.headers)}
                with lock:
                    server.requests.append(record)
                if server.behave is not None and server.behave(self, record):
                    return
                self.reply(200, json.dumps({"translatedText": f"English {len(record['query'].get('q', [''])[0])}"}).encode())

            def reply(self, status: int, data: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def __enter__(self) -> KeepAliveServer:
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def translator(url: str, **settings):
    values = dict(provider="libre", source="ar", target="en", url=url, timeout=1.0, max_retries=0, backoff_base=0.01, backoff_cap=0.05) | settings
    return make_translator(TranslatorSettings(**values))


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.timeout(20)
def test_many_paragraphs_from_one_thread_share_one_kept_alive_connection():
    with KeepAliveServer() as server:
        libre = translator(server.url)
        results = [libre.translate(f"{SENTENCE} {n}") for n in range(20)]
    assert results == [f"English {len(SENTENCE) + 1 + len(str(n))}" for n in range(20)]
    assert len(server.requests) == 20
    assert server.connections == 1, "a new connection per paragraph cost more than the request"


@pytest.mark.timeout(20)
def test_the_request_on_the_wire_is_the_one_requests_sends():
    """Same method, path, query, body, type and user agent as deep-translator through requests."""
    with KeepAliveServer() as server:
        translator(server.url, api_key="k/+= &ey").translate(SENTENCE)
        requests.post(server.url + "translate", params={"q": SENTENCE, "source": "ar", "target": "en", "format": "text", "api_key": "k/+= &ey"})
    ours, theirs = server.requests
    for field in ("method", "path", "query", "body"):
        assert ours[field] == theirs[field], field
    assert ours["headers"]["User-Agent"] == theirs["headers"]["User-Agent"]
    assert ours["query"]["q"] == [SENTENCE]


@pytest.mark.timeout(20)
def test_a_connection_the_server_closed_while_idle_is_replaced_not_failed():
    def close_after_answering(handler, record):
        handler.reply(200, json.dumps({"translatedText": "Closed after this"}).encode())
        handler.close_connection = True  # without saying so: no Connection: close header
        return True

    with KeepAliveServer(close_after_answering) as server:
        libre = translator(server.url)
        assert [libre.translate(SENTENCE) for _ in range(3)] == ["Closed after this"] * 3
        time.sleep(0.1)
    assert server.connections == 3 and len(server.requests) == 3, "each paragraph asked once"


@pytest.mark.timeout(20)
def test_a_stall_on_a_reused_connection_ends_at_the_attempts_deadline():
    calls = []

    def stall_the_second(handler, record):
        calls.append(1)
        if len(calls) == 2:
            time.sleep(3)  # longer than the 1 s deadline
        return False

    with KeepAliveServer(stall_the_second) as server:
        libre = translator(server.url, timeout=1.0)
        libre.translate(SENTENCE)
        started = time.monotonic()
        with pytest.raises(TranslationFailed) as failure:
            libre.translate(SENTENCE + " ثانية")
        elapsed = time.monotonic() - started
        assert server.connections == 1, "the stall came on the kept-alive connection"
    assert "timed out" in failure.value.reason or "timeout" in failure.value.reason
    assert elapsed < 1.8


@pytest.mark.timeout(20)
@pytest.mark.parametrize("status, method", [(307, "POST"), (308, "POST"), (303, "GET"), (302, "GET")])
def test_redirects_are_followed_as_requests_follows_them(status, method):
    def moved(handler, record):
        if record["path"] == "/translate":
            handler.reply(status, b"", {"Location": "/v2/translate?moved=1"})
            return True
        return False

    with KeepAliveServer(moved) as server:
        assert translator(server.url).translate(SENTENCE).startswith("English")
    first, second = server.requests
    assert second["path"] == "/v2/translate" and second["method"] == method and second["query"] == {"moved": ["1"]}


@pytest.mark.timeout(20)
def test_a_redirect_loop_fails_the_paragraph_in_bounded_time():
    def loop(handler, record):
        handler.reply(302, b"", {"Location": "/translate"})
        return True

    with KeepAliveServer(loop) as server:
        with pytest.raises(TranslationFailed):
            translator(server.url).translate(SENTENCE)
    assert len(server.requests) <= 12


@pytest.mark.timeout(20)
def test_a_compressed_reply_is_read_and_a_compression_bomb_is_refused():
    def compressed(handler, record):
        text = record["query"]["q"][0]
        if "قنبلة" in text:  # 64 MiB of zeros, a few tens of KiB on the wire
            payload = gzip.compress(b'{"translatedText": "' + b"0" * (64 * 2**20) + b'"}')
        else:
            payload = gzip.compress(json.dumps({"translatedText": "Unzipped"}).encode())
        handler.reply(200, payload, {"Content-Encoding": "gzip"})
        return True

    with KeepAliveServer(compressed) as server:
        libre = translator(server.url)
        assert libre.translate(SENTENCE) == "Unzipped"
        with pytest.raises(TranslationFailed) as failure:
            libre.translate(SENTENCE + " قنبلة")
    assert "larger than" in failure.value.reason


@pytest.mark.timeout(20)
def test_a_proxy_in_the_environment_sends_the_request_through_requests_and_the_proxy(monkeypatch):
    with KeepAliveServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        client = DirectClient()
        target = "http://translate.invalid/"
        assert not client.serves(target + "translate", {"params": {"q": "x"}})
        monkeypatch.setenv("NO_PROXY", "translate.invalid")
        assert client.serves(target + "translate", {"params": {"q": "x"}})
        monkeypatch.delenv("NO_PROXY")
        assert translator(target).translate(SENTENCE).startswith("English")
    assert proxy.requests and proxy.requests[0]["query"]["q"] == [SENTENCE], "the proxy got the request"


def test_only_plain_http_and_the_arguments_deep_translator_passes_go_direct():
    client = DirectClient()
    assert client.serves("https://example.org/translate", {"params": {}, "headers": {}})
    assert not client.serves("ftp://example.org/translate", {})
    assert not client.serves("http://example.org/", {"files": {"f": b""}})
    assert not client.serves("http://example.org/", {"proxies": {"http": "http://127.0.0.1:9"}})
    assert not client.serves("http://user:secret@example.org/", {}), "requests sends URL credentials as a header"


@pytest.mark.timeout(20)
def test_a_refused_connection_is_a_connection_failure_not_a_traceback():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(TranslationFailed) as failure:
        translator(f"http://127.0.0.1:{port}/").translate(SENTENCE)
    assert "connect" in failure.value.reason


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=200), st.binary(max_size=200), st.lists(st.text(max_size=20), max_size=3), st.integers()), max_size=5))
def test_form_encoding_is_urlencodes_byte_for_byte(data):
    """The query deep-translator puts the paragraph in is escaped by runs (direct._form_escape),
    not byte by byte: it must be urlencode's own string, whatever the text holds."""
    pairs = []
    for key, values in data.items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((key.encode(), value.encode() if isinstance(value, str) else value))
    assert _encode_pairs(data) == urlencode(pairs, doseq=True)
