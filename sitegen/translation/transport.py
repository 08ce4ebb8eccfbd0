"""Deadlines and reply-size limits for every HTTP request deep-translator makes.

deep-translator sets no HTTP timeout, so each of its provider modules is given
:class:`_TimeoutRequests`, which gives each attempt a deadline (connecting,
waiting and reading the reply all count, see :class:`_Watchdog`), reads at most
:func:`reply_byte_limit` bytes of a reply, and notes the HTTP status and
transport errors in the thread's :class:`CallRecord`. Keys in the URLs urllib3
logs are hidden.
"""

from __future__ import annotations

import contextvars
import heapq
import importlib
import logging
import os
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

from ..config import PROVIDERS
from .direct import DirectClient, ReplyTooLarge

# Used when some other code calls deep-translator outside one of our calls.
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_REPLY_BYTES = 8 * 2**20

# How much of one reply is read from the network: 16 bytes per UTF-8 byte sent
# (a translation is rarely twice as long, and JSON may write each character as a
# 6-byte \uXXXX escape) plus room for the envelope. Google answers with a whole
# HTML page rather than JSON, hence its larger allowance.
_REPLY_BYTES_PER_SOURCE_BYTE = 16
_REPLY_BYTES_OVERHEAD = 64 * 1024
_REPLY_BYTES_OVERHEAD_BY_PROVIDER = {"google": 2**20}
_READ_SIZE = 16 * 1024


# --------------------------------------------------------------------------- deadlines and reply sizes


def reply_byte_limit(provider: str, chunk: str) -> int:
    """How many bytes of one reply to ``chunk`` are read from the network before giving up."""
    overhead = _REPLY_BYTES_OVERHEAD_BY_PROVIDER.get(provider, _REPLY_BYTES_OVERHEAD)
    return _REPLY_BYTES_PER_SOURCE_BYTE * len(chunk.encode("utf-8")) + overhead


class _Watchdog:
    """Shuts down the connections of one request when its deadline passes.

    A socket timeout bounds each read, not the request: a server sending one
    byte a second keeps every read short and the request going for ever, in the
    headers, in the body or in a TLS handshake. So every socket the request
    opens is registered here (see :class:`_WatchedConnection`), and at the
    deadline they are all shut down: a read blocked on one returns at once,
    and the request fails. ``expired`` tells that failure (or a body that
    merely looks complete) from a real one. One thread keeps every deadline
    (:class:`_DeadlineKeeper`): a timer thread per request cost more than the
    request itself on a kept-alive connection.
    """

    def __init__(self, seconds: float):
        self.expired = False
        self.stopped = False
        self.deadline = time.monotonic() + seconds
        self._sockets: list[tuple[socket.socket, bool]] = []  # (socket, whether it is our duplicate)
        self._lock = threading.Lock()  # shutting down and closing never overlap
        _KEEPER.keep(self)

    def watch(self, sock: socket.socket, duplicate: bool = True) -> None:
        """Shut ``sock``'s connection down at the deadline (at once if it has passed).

        ``duplicate``: watch a second descriptor of the same connection, for a socket that
        TLS wrapping detaches (shutting the duplicate down still ends the connection).
        """
        watched = sock.dup() if duplicate else sock
        with self._lock:
            self._sockets.append((watched, duplicate))
            if self.expired:
                _shut_down(watched)

    def watch_own(self, sock: socket.socket) -> None:
        """Watch a socket its owner keeps open after the request (a kept-alive connection).
        A TLS socket is watched through a duplicate: shutting an SSLSocket down from this
        thread would pull its TLS state from under the thread reading it."""
        self.watch(sock, duplicate=isinstance(sock, ssl.SSLSocket))

    def expire(self) -> None:
        with self._lock:
            if self.stopped:
                return
            self.expired = True
            for sock, _ in self._sockets:
                _shut_down(sock)

    def stop(self) -> None:
        """Let go of the sockets (the request has ended, one way or the other)."""
        with self._lock:
            self.stopped = True
            for sock, duplicate in self._sockets:
                if duplicate:
                    sock.close()
            self._sockets.clear()


class _DeadlineKeeper:
    """One daemon thread that expires each watchdog at its deadline, unless stopped before."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Watchdog]] = []
        self._count = 0
        self._pid: int | None = None  # a forked child starts without the thread

    def keep(self, watchdog: _Watchdog) -> None:
        with self._condition:
            if self._pid != os.getpid():
                self._pid, self._heap = os.getpid(), []
                threading.Thread(target=self._run, name="translator-deadlines", daemon=True).start()
            self._count += 1
            heapq.heappush(self._heap, (watchdog.deadline, self._count, watchdog))
            if self._heap[0][2] is watchdog:
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._heap and self._heap[0][2].stopped:
                    heapq.heappop(self._heap)  # ended in time: forgotten
                if not self._heap:
                    self._condition.wait()
                    continue
                left = self._heap[0][0] - time.monotonic()
                if left > 0:
                    self._condition.wait(left)
                    continue
                _, _, due = heapq.heappop(self._heap)
            due.expire()


_KEEPER = _DeadlineKeeper()


def _shut_down(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the other side


@dataclass
class CallRecord:
    """One attempt's limits, and what the HTTP layer saw during it, in the thread making it."""

    timeout: float
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    # time.monotonic() by which every request of the attempt must be over.
    deadline: float = field(init=False)
    status: int | None = None
    transport_error: str | None = None  # "timeout" or "connection"
    reply_too_large: bool = False
    watchdog: _Watchdog | None = None  # of the request under way

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout


current_call: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar("translator_call", default=None)


class _WatchedConnection:
    """Mixed into urllib3's connection classes: each new socket goes to the current watchdog.

    Registered as soon as TCP connects, before any TLS handshake or request.
    """

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        record = current_call.get()
        if record is not None and record.watchdog is not None:
            record.watchdog.watch(sock)
        return sock


class _WatchedHTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    """An adapter whose connections are watched and whose replies are read with a size limit.

    Every reply passes through :meth:`send`, redirects included (requests would
    otherwise read a redirect's body whole), and is read here in pieces of
    _READ_SIZE: past ``max_reply_bytes`` the connection is dropped, so an
    endless or enormous body is never held in memory. The bytes read become the
    response's content, so ``.json()`` and ``.text`` work as usual.
    """

    def __init__(self, max_reply_bytes: int):
        self._max_reply_bytes = max_reply_bytes
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS needs its own pools: deadline by socket timeouts only
            manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
        return manager

    def send(self, request: Any, stream: bool = False, **kwargs: Any) -> Any:
        response = super().send(request, stream=True, **kwargs)
        try:
            body = bytearray()
            for piece in response.iter_content(_READ_SIZE):  # decoded: a gzip bomb counts as what it becomes
                body += piece
                if len(body) > self._max_reply_bytes:
                    raise ReplyTooLarge(f"reply larger than {self._max_reply_bytes} bytes")
            response._content = bytes(body)
            response._content_consumed = True
        finally:
            response.close()  # drops the connection when the body was not read to its end
        return response


class _TimeoutRequests:
    """Stands in for the ``requests`` module inside one deep-translator module.

    deep-translator sets no timeout, and a timeout on each socket read would not
    do: a server dripping its reply keeps every read short. So each request
    gets what is left of the current attempt's deadline: as connect and read
    timeouts, and as a :class:`_Watchdog` that ends the connection when the
    deadline passes, whatever phase it is in. The reply is read through
    :class:`_GuardedAdapter`, at most the attempt's ``max_reply_bytes``. The
    HTTP status and transport errors are recorded, because deep-translator often
    hides them. Anything else (``requests.exceptions`` …) is the real module's.
    """

    def __init__(self, real: Any):
        self._real = real
        self._direct = DirectClient()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._send(method, url, **kwargs)

    def get(self, url: str, params: Any = None, **kwargs: Any) -> Any:
        return self._send("GET", url, params=params, **kwargs)

    def post(self, url: str, data: Any = None, **kwargs: Any) -> Any:
        return self._send("POST", url, data=data, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("allow_redirects", False)  # as requests.head
        return self._send("HEAD", url, **kwargs)

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        record = current_call.get()
        if record is None:  # deep-translator used outside our calls: the same guards, default limits
            token = current_call.set(CallRecord(timeout=DEFAULT_TIMEOUT))
            try:
                return self._send(method, url, **kwargs)
            finally:
                current_call.reset(token)
        left = record.deadline - time.monotonic()
        if left <= 0:  # e.g. Microsoft's second request of an attempt
            record.transport_error = "timeout"
            raise requests.exceptions.Timeout("the attempt's deadline has passed")
        kwargs["timeout"] = (left, left)  # connect, and each read; the watchdog bounds the whole
        watchdog = _Watchdog(left)
        record.watchdog = watchdog
        try:
            if self._direct.serves(url, kwargs):  # no proxy in the way: a kept-alive connection
                response = self._direct.request(method, url, watchdog.watch_own, record.deadline, record.max_reply_bytes, **kwargs)
            else:
                with self._real.Session() as session:  # what requests.request does, with our adapter
                    adapter = _GuardedAdapter(record.max_reply_bytes)
                    session.mount("http://", adapter)
                    session.mount("https://", adapter)
                    response = session.request(method, url, **kwargs)
        except ReplyTooLarge:
            record.reply_too_large = True
            raise
        except Exception as exc:
            # A connection the watchdog ended fails in many ways; it was the deadline.
            if watchdog.expired or isinstance(exc, requests.exceptions.Timeout):
                record.transport_error = "timeout"
            elif isinstance(exc, requests.exceptions.ConnectionError):
                record.transport_error = "connection"
            raise
        finally:
            watchdog.stop()
            record.watchdog = None
        if watchdog.expired:  # a body without a length, cut by the watchdog, looks complete
            record.transport_error = "timeout"
            raise requests.exceptions.Timeout("the attempt's deadline passed during the reply")
        record.status = response.status_code
        return response


class _RedactKeysInUrls(logging.Filter):
    """Hides key parameters in the URLs that urllib3 logs at DEBUG level.

    LibreTranslate, DeepL and QCRI get the key in the query string, and urllib3
    logs every request line, so without this a debug log would show the key.
    """

    _pattern = re.compile(r"([?&](?:api_key|auth_key|key|de)=)[^&\s\"']*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._pattern.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


# deep-translator has one module per provider, named as the provider.
_PATCHED_MODULES = PROVIDERS
_URLLIB3_LOGGER = "urllib3.connectionpool"
_install_lock = threading.Lock()


def install_http_guards() -> None:
    """Once, thread-safely: deadlines and size limits for deep-translator, key redaction for urllib3's log.

    Gives deep-translator's provider modules a guarded ``requests``: only
    those modules' ``requests`` attribute changes; the global module and
    everybody else's use of it stay as they were. Adds a filter hiding key
    parameters to urllib3's connection-pool logger.
    """
    with _install_lock:
        for name in _PATCHED_MODULES:
            module = importlib.import_module(f"deep_translator.{name}")
            if not isinstance(module.requests, _TimeoutRequests):
                module.requests = _TimeoutRequests(module.requests)
        pool_logger = logging.getLogger(_URLLIB3_LOGGER)
        if not any(isinstance(f, _RedactKeysInUrls) for f in pool_logger.filters):
            pool_logger.addFilter(_RedactKeysInUrls())
