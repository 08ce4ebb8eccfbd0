"""sitegen/translation/http11.py against http.client, message by message.

The direct client used http.client until it cost more CPU than the request it sent; its
replacement must send the same bytes and read every reply as http.client reads it. Each
test puts the same bytes through both and compares what they make of them.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading

import pytest

from sitegen.translation import http11

SENTENCE = "قال وزير المالية إن الحكومة ستخفض الضرائب"


class _Recorder(io.BytesIO):
    """Stands in for http.client's socket: keeps what it is sent."""

    def sendall(self, data: bytes) -> None:
        self.write(data)


def _http_client_request(method: str, path: str, host: str, port: int | None, body: bytes | None, headers: dict[str, str]) -> bytes:
    connection = http.client.HTTPConnection(host, port)
    sent = _Recorder()
    connection.sock = sent
    connection.request(method, path, body=body, headers=headers)
    return sent.getvalue()


HEADERS = {"User-Agent": "python-requests/2.32.3", "Accept-Encoding": "identity", "Accept": "*/*", "Connection": "keep-alive"}


@pytest.mark.parametrize(
    ("method", "host", "port", "body", "headers"),
    [
        ("POST", "127.0.0.1", 5000, None, HEADERS),
        ("POST", "libre.example.org", None, b"q=%D9%82&source=ar", HEADERS | {"Content-Type": "application/x-www-form-urlencoded"}),
        ("GET", "libre.example.org", 80, None, HEADERS),
        ("PUT", "::1", 8080, b"", HEADERS),
        ("GET", "xn--mgbh0fb.example", 8443, None, HEADERS | {"X-Key": "value with spaces"}),
        ("POST", "host", None, b"{}", HEADERS | {"Content-Length": "2", "Host": "given.example"}),
    ],
)
def test_the_request_is_the_one_http_client_sends(method, host, port, body, headers) -> None:
    path = "/translate?q=%D9%82%D8%A7%D9%84+x&source=ar"
    assert http11.request_bytes(method, path, host, port, 80, body, headers) == _http_client_request(method, path, host, port, body, headers)


@pytest.mark.parametrize("bad", [{"X-Bad": "one\r\nInjected: yes"}, {"Bad Name:": "x"}, {"X-Bad": "line\nbreak"}])
def test_a_header_http_client_refuses_is_refused(bad) -> None:
    with pytest.raises(ValueError):
        _http_client_request("GET", "/", "h", None, None, bad)
    with pytest.raises(ValueError):
        http11.request_bytes("GET", "/", "h", None, 80, None, bad)


def _http_client_reply(raw: bytes, method: str) -> tuple:
    class _Socket:
        def makefile(self, mode: str) -> io.BytesIO:
            return io.BytesIO(raw)

    reply = http.client.HTTPResponse(_Socket(), method=method)  # type: ignore[arg-type]
    try:
        reply.begin()
        body = reply.read()
    except http.client.HTTPException as exc:
        return ("error", type(exc).__name__ if not isinstance(exc, http.client.IncompleteRead) else "IncompleteRead")
    return (reply.status, reply.reason, reply.getheaders(), body, reply.will_close)


def _our_reply(raw: bytes, method: str) -> tuple:
    ours, theirs = socket.socketpair()

    def send() -> None:
        try:
            theirs.sendall(raw)
            theirs.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the reader stopped early (a refused head)

    sender = threading.Thread(target=send, daemon=True)  # more than a socket buffer holds
    sender.start()
    try:
        connection = http11.Connection(ours)
        try:
            reply = connection.read_reply(method, lambda: None)
            body = b"".join(connection.body_pieces(reply, lambda: None))
        except http.client.HTTPException as exc:
            return ("error", type(exc).__name__ if not isinstance(exc, http.client.IncompleteRead) else "IncompleteRead")
        return (reply.status, reply.reason, reply.headers, body, reply.will_close)
    finally:
        ours.close()
        sender.join(5)
        theirs.close()


JSON = '{"translatedText": "The minister said"}'.encode()
REPLIES = {
    "content-length": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(JSON), JSON),
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n",
    "to the end": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it, then the connection closes",
    "HTTP/1.0": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.0 keep-alive": b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
    "connection close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    "100 continue first": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "204": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    "304": b"HTTP/1.1 304 Not Modified\r\n\r\n",
    "no reason": b"HTTP/1.1 429\r\nContent-Length: 0\r\n\r\n",
    "repeated headers": b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
    "bare newlines": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "bad length": b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\nbody to the end",
    "negative length": b"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\nbody to the end",
    "short body": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nHello\r\n0\r\n\r\n",
    "not HTTP": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    "bad status": b"HTTP/1.1 twohundred OK\r\n\r\n",
    "nothing": b"",
    "too many headers": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(101)) + b"Content-Length: 0\r\n\r\n",
    "Arabic in a header": "HTTP/1.1 200 OK\r\nX-Note: {}\r\nContent-Length: 0\r\n\r\n".format(SENTENCE).encode("utf-8"),
}


@pytest.mark.parametrize("name", sorted(REPLIES))
@pytest.mark.parametrize("method", ["POST", "HEAD"])
def test_a_reply_is_read_as_http_client_reads_it(name: str, method: str) -> None:
    raw = REPLIES[name]
    assert _our_reply(raw, method) == _http_client_reply(raw, method)


def test_a_reply_head_without_end_is_refused_after_a_bounded_read() -> None:
    raw = b"HTTP/1.1 200 OK\r\n" + b"X-Long: " + b"y" * (http11.MAX_HEAD + 10)
    assert _our_reply(raw, "GET") == ("error", "LineTooLong")
