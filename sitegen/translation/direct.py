"""deep-translator's requests over kept-alive connections, when no proxy stands in the way.

Each request through ``requests`` cost our client 2.5 to 7 ms of CPU on this project's
machine before any byte reached the service: a new session and connection pool per
request (the deadline design needed one), a new TCP (and TLS) connection, and two
byte-by-byte passes over the URL, into which deep-translator's providers put the whole
paragraph, percent-encoded. A first translation of 50,000 paragraphs spent most of its time
there. This client sends the same request (same method, URL, query, body and User-Agent)
over one kept-alive connection per thread and host, in under a millisecond.

It serves only what it can serve exactly: plain http/https with no proxy (environment or
argument) and the arguments deep-translator passes (params, data, json, headers). Anything
else goes through ``requests`` as before (transport.py decides). The limits are the same:
the attempt's deadline bounds connecting, waiting and reading (socket timeouts, and the
attempt's watchdog shuts the socket down at the deadline, whatever phase it is in), a reply
is read to at most the attempt's byte limit (decompressed size, for a server that compresses
although we ask it not to), and redirects are followed within the same deadline.
"""

from __future__ import annotations

import http.client
import json as jsonlib
import os
import re
import select
import socket
import ssl
import threading
import time
import zlib
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import (
    default_user_agent,
    get_encoding_from_headers,
    get_environ_proxies,
)

from . import http11

_ARGUMENTS = frozenset({"params", "data", "json", "headers", "timeout", "allow_redirects", "proxies"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy"})
_PROXY_VARIABLES_BYTES = frozenset(name.encode() for name in _PROXY_VARIABLES)
# What urlencode leaves as it is in a form value; every other byte becomes %XX (a space "+").
_FORM_ESCAPED = re.compile(rb"[^A-Za-z0-9_.~-]+")
# What requests leaves unquoted in a URL (requote_uri): reserved and unreserved characters, and '%'.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~-._"


class ReplyTooLarge(requests.exceptions.RequestException):
    """A reply went past the number of bytes we were willing to read."""


class DirectClient:
    """Kept-alive connections, one set per thread; used only through ``serves`` and ``request``."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._tls_lock = threading.Lock()
        self._tls: dict[str, ssl.SSLContext] = {}

    def serves(self, url: str, kwargs: dict[str, Any]) -> bool:
        """Whether this request can go direct: http(s), known arguments, and no proxy for it."""
        if not set(kwargs) <= _ARGUMENTS or kwargs.get("proxies"):
            return False
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
            return False  # (credentials in the URL: requests turns them into an Authorization header)
        return not _proxy_for(url)

    def request(self, method: str, url: str, watch, deadline: float, max_bytes: int, **kwargs: Any) -> requests.Response:
        """Send one request (following redirects) and read its reply, all by ``deadline``.

        ``watch(sock)``: registers each socket used with the attempt's watchdog.
        """
        target = _with_params(url, kwargs.get("params"))
        body, headers = _body_and_headers(kwargs.get("data"), kwargs.get("json"), kwargs.get("headers"))
        for _ in range(MAX_REDIRECTS + 1):
            response = self._exchange(method, target, body, headers, (watch, deadline, max_bytes))
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location or kwargs.get("allow_redirects") is False:
                return response
            target = urljoin(target, location)
            if urlsplit(target).scheme not in ("http", "https") or _proxy_for(target):
                raise requests.exceptions.InvalidURL(f"redirect to a URL this client cannot reach directly: {urlsplit(target).scheme}://…")
            if response.status_code == 303 and method != "HEAD" or response.status_code in (301, 302) and method == "POST":
                method, body = "GET", None  # as browsers and requests do
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        raise requests.exceptions.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")

    def _exchange(self, method: str, url: str, body: bytes | None, headers: dict[str, str], limits) -> requests.Response:
        """One request and its reply on a kept-alive connection (a fresh one if it was closed)."""
        watch, deadline, max_bytes = limits
        parts = urlsplit(url)
        path = quote(parts.path or "/", safe=_URL_SAFE) + (f"?{quote(parts.query, safe=_URL_SAFE)}" if parts.query else "")
        data = http11.request_bytes(method, path, parts.hostname, parts.port, 443 if parts.scheme == "https" else 80, body, headers)

        def before_read() -> None:
            _set_timeout(connection.sock, deadline)

        for attempt in (1, 2):
            connection, reused = self._connection(parts, deadline, watch)
            try:
                _set_timeout(connection.sock, deadline)
                connection.send(data)
                reply = connection.read_reply(method, before_read)
                content = _read_body(connection, reply, max_bytes, before_read)
            except BaseException as exc:
                self._drop(parts, connection)  # a reply not read to its end: the connection ends here
                stale = isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if stale and reused and attempt == 1:
                    continue  # the server closed a kept-alive connection: once more on a new one
                raise _as_requests_error(exc) from None
            if reply.will_close or connection.buffer:  # (bytes nobody asked for: not a connection to reuse)
                self._drop(parts, connection)
            return _response(reply, content, url)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _connection(self, parts, deadline: float, watch) -> tuple[http11.Connection, bool]:
        """This thread's connection to the host, connected and watched; whether it was reused."""
        pool = self._pool()
        key = (parts.scheme, parts.hostname, parts.port)
        connection = pool.pop(key, None)
        if connection is not None and not _closed_by_peer(connection.sock):
            watch(connection.sock)
            pool[key] = connection
            return connection, True
        if connection is not None:
            connection.close()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        sock = None
        try:
            sock = socket.create_connection((parts.hostname, port), timeout=_left(deadline))
            if parts.scheme == "https":
                sock = self._tls_context().wrap_socket(sock, server_hostname=parts.hostname)
        except BaseException as exc:
            if sock is not None:
                sock.close()
            raise _as_requests_error(exc) from None
        watch(sock)
        connection = pool[key] = http11.Connection(sock)
        return connection, False

    def _pool(self) -> dict:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def _drop(self, parts, connection: http11.Connection) -> None:
        """Forget the connection and end it."""
        if self._pool().get((parts.scheme, parts.hostname, parts.port)) is connection:
            del self._pool()[(parts.scheme, parts.hostname, parts.port)]
        try:
            connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        connection.close()

    def _tls_context(self) -> ssl.SSLContext:
        """Certificates as requests checks them: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, else certifi's."""
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or requests.certs.where()
        with self._tls_lock:
            context = self._tls.get(bundle)
            if context is None:
                if os.path.isdir(bundle):
                    context = ssl.create_default_context(capath=bundle)
                else:
                    context = ssl.create_default_context(cafile=bundle)
                self._tls[bundle] = context
            return context


def _proxy_for(url: str) -> bool:
    """Whether the environment sends this URL through a proxy (requests' own rule, NO_PROXY included).
    Asked only when a proxy variable is set: that lookup is most of requests' per-request cost."""
    environb = getattr(os, "environb", None)  # (POSIX: the names without decoding each one)
    if environb is not None:
        if _PROXY_VARIABLES_BYTES.isdisjoint(map(bytes.lower, environb)):
            return False
    elif not any(name.lower() in _PROXY_VARIABLES for name in os.environ):
        return False
    return bool(get_environ_proxies(url))


def _with_params(url: str, params: Any) -> str:
    """The URL with ``params`` added to its query, encoded as requests encodes them."""
    if not params:
        return url
    encoded = _encode_pairs(params)
    base, _, fragment = url.partition("#")
    joined = f"{base}&{encoded}" if urlsplit(base).query else f"{base}?{encoded}"
    return joined + (f"#{fragment}" if fragment else "")


def _encode_pairs(data: Any) -> str:
    """Form encoding as requests' ``_encode_params``: lists repeat a key, None values are left out."""
    if isinstance(data, (str, bytes)):
        return data.decode("ascii") if isinstance(data, bytes) else data
    pairs = []
    for key, values in data.items() if hasattr(data, "items") else data:
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        for value in values:
            if value is not None:
                pairs.append((key.encode("utf-8") if isinstance(key, str) else key, value.encode("utf-8") if isinstance(value, str) else value))
    return "&".join(_form_pair(key, value) for key, value in pairs)


def _form_pair(key: Any, value: Any) -> str:
    """``key=value`` as ``urlencode`` writes it."""
    if isinstance(key, bytes) and isinstance(value, bytes):
        return f"{_form_escape(key)}={_form_escape(value)}"
    return urlencode([(key, value)], doseq=True)


def _form_escape(data: bytes) -> str:
    """``quote_plus(data)``, by runs: a paragraph goes into the URL whole, and urllib escapes it
    byte by byte in Python (0.3 ms for 2 KB of Arabic; a third of that by runs). A space is
    escaped with its run, then "%20" made "+": after a "%" come the two digits of one byte,
    so "%20" is a space and nothing else."""
    return _FORM_ESCAPED.sub(_percent_run, data).decode("ascii").replace("%20", "+")


def _percent_run(match: re.Match) -> bytes:
    return ("%" + match.group().hex("%")).upper().encode("ascii")


def _body_and_headers(data: Any, json: Any, headers: Any) -> tuple[bytes | None, dict[str, str]]:
    """The body and headers requests would send (http.client adds Host and Content-Length)."""
    out = {"User-Agent": default_user_agent(), "Accept-Encoding": "identity", "Accept": "*/*", "Connection": "keep-alive"}
    body: bytes | None = None
    if data:
        if isinstance(data, (str, bytes, bytearray)):
            body = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        else:
            body = _encode_pairs(data).encode("ascii")
            out["Content-Type"] = "application/x-www-form-urlencoded"
    elif json is not None:
        body = jsonlib.dumps(json, allow_nan=False).encode("utf-8")
        out["Content-Type"] = "application/json"
    for name, value in (headers or {}).items():
        if value is not None:
            out[str(name)] = value if isinstance(value, str) else value.decode("latin-1")
    return body, out


def _read_body(connection: http11.Connection, reply: http11.Reply, max_bytes: int, before_read) -> bytes:
    """The reply's body, decoded, of at most ``max_bytes``: a longer one is never held whole."""
    encoding = (reply.header("content-encoding") or "identity").strip().lower()
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding in ("gzip", "x-gzip", "deflate") else None
    body = bytearray()
    for piece in connection.body_pieces(reply, before_read):
        body += decoder.decompress(piece, max_bytes + 1 - len(body)) if decoder else piece
        if len(body) > max_bytes:
            raise ReplyTooLarge(f"reply larger than {max_bytes} bytes")
    if decoder is not None:
        body += decoder.flush()
        if len(body) > max_bytes:
            raise ReplyTooLarge(f"reply larger than {max_bytes} bytes")
    return bytes(body)


def _response(reply: http11.Reply, data: bytes, url: str) -> requests.Response:
    """What requests would have made of it, for deep-translator: status, headers, content, text, json()."""
    response = requests.Response()
    response.status_code = reply.status
    response.reason = reply.reason
    headers: CaseInsensitiveDict = CaseInsensitiveDict()
    for name, value in reply.headers:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    response.headers = headers
    response._content = data
    response._content_consumed = True
    response.encoding = get_encoding_from_headers(headers)
    response.url = url
    return response


def _closed_by_peer(sock: socket.socket) -> bool:
    """A kept-alive connection the server has closed (or sent something unasked on) reads as ready."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise requests.exceptions.Timeout("the attempt's deadline has passed")
    return left


def _set_timeout(sock: socket.socket | None, deadline: float) -> None:
    if sock is not None:
        sock.settimeout(_left(deadline))


def _as_requests_error(exc: BaseException) -> BaseException:
    """The exception requests would have raised, so deep-translator and our classifier read it alike."""
    if isinstance(exc, requests.exceptions.RequestException) or not isinstance(exc, Exception):
        return exc
    if isinstance(exc, socket.timeout):
        return requests.exceptions.Timeout(str(exc) or "timed out")
    if isinstance(exc, ssl.SSLError):
        return requests.exceptions.SSLError(str(exc))
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return requests.exceptions.ConnectionError(str(exc) or type(exc).__name__)
    return exc
