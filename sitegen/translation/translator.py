"""Machine translation of plain-text paragraphs, over deep-translator.

The rest of the pipeline only sees :class:`ParagraphTranslator`: one paragraph of
plain text in, one checked plain-text translation out, or :class:`TranslationFailed`
with a short reason that is safe to print. Everything deep-translator gets wrong
for a build that runs unattended is handled here:

* it sets no HTTP timeout, so every request made by its provider modules goes
  through :class:`_TimeoutRequests`, which gives each attempt a deadline
  (connecting, waiting and reading the reply all count, see :class:`_Watchdog`),
  reads at most :func:`reply_byte_limit` bytes of a reply, and notes the HTTP
  status (some providers swallow it into vague exceptions, or return ``None``);
* it raises a different exception per provider and fault (some of them carry the
  API key in their message), so each attempt is classified into a retryable or a
  final reason, and the original exception is never chained;
* providers have length limits, so long paragraphs are split at sentence ends;
* replies are untrusted, so each one goes through :func:`validate_translation`,
  which also refuses replies far longer than their source and replies holding
  the API key in any encoding (they would be published);
* its translator objects keep request state on the instance, so each thread
  gets its own.

Time bound: ``timeout`` is a deadline for each attempt, so one chunk of a
paragraph takes at most ``(max_retries + 1) × timeout`` plus the pauses between
attempts, ``backoff_delay(n)`` ≤ ``min(backoff_cap, backoff_base × 2**n)`` for
n = 0 … max_retries - 1, and a paragraph at most that once per chunk it is split
into. With the defaults (30 s, 4 retries, pauses of 0.5, 1, 2 and 4 s) that is
157.5 s per chunk. Not counted: resolving the server's host name (the system
resolver cannot be interrupted) and a few milliseconds per attempt.
"""

from __future__ import annotations

import contextvars
import hashlib
import html
import http
import importlib
import json
import logging
import re
import socket
import threading
import time
import unicodedata
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from ..config import API_KEY_VARIABLE, KEYED_PROVIDERS, PROVIDERS

logger = logging.getLogger(__name__)

# LibreTranslator refuses to start without a key, even for a self-hosted server
# that does not check it; a placeholder satisfies it.
LIBRE_PLACEHOLDER_KEY = "no-key"
# QcriTranslator.translate() reads kwargs["domain"] and raises KeyError without it.
QCRI_DOMAIN = "general"
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
# A translation longer than this many times its source, plus this many
# characters, is not a translation (a provider's error page, a runaway model).
MAX_REPLY_GROWTH = 10
MAX_REPLY_EXTRA_CHARS = 1000

# Per-provider chunk limits: (size, unit). Google carries the text in the URL,
# where each Arabic letter becomes 6 bytes of %-escapes, hence the low figure.
# MyMemory allows 500 bytes of UTF-8 and deep-translator rejects len(text) >= 500,
# so stay a little under both.
_LIMITS: dict[str, tuple[int, str]] = {
    "google": (1500, "chars"),
    "mymemory": (480, "bytes"),
}
_DEFAULT_LIMIT = (4500, "chars")

# Split levels, tried in order: sentence ends (the punctuation, any closing
# quotes or brackets, and only when whitespace follows, so "3.5" stays whole),
# then Arabic semicolon/comma (and the Latin semicolon; not the Latin comma,
# which appears inside numbers), then any whitespace. A hard cut is the last resort.
_SPLIT_LEVELS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[.!?؟…]+[\"'»”’)\]]*(?=\s)"),
    re.compile(r"[؛،;]"),
    re.compile(r"\s+"),
)

_BIDI_CONTROLS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
# Delete bidi controls, C0 controls except newline and tab, DEL and C1 controls;
# a tab becomes a space so that the words on either side stay apart.
_CLEAN_TABLE: dict[int, str | None] = {ord(c): None for c in _BIDI_CONTROLS}
_CLEAN_TABLE.update({c: None for c in range(0x00, 0x20) if c not in (0x09, 0x0A)})
_CLEAN_TABLE.update({c: None for c in range(0x7F, 0xA0)})
_CLEAN_TABLE[0x09] = " "

# Text that providers send with HTTP 200 in place of a translation (upper-cased
# before matching). MyMemory really spells it "EXCEDEED", hence the short prefix.
_PROVIDER_WARNINGS = (
    "MYMEMORY WARNING",
    "YOU USED ALL AVAILABLE FREE TRANSLATIONS",
    "QUERY LENGTH LIMIT EXC",
    "INVALID LANGUAGE PAIR SPECIFIED",
    "PLEASE SELECT TWO DISTINCT LANGUAGES",
)
# More than this share of the reply's letters in Arabic script means it was not
# translated; a few Arabic names in an English paragraph stay well below it.
MAX_ARABIC_SHARE = 0.20
_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))

# Looking for the API key in a reply: JSON and JavaScript escapes left in the
# text, and the invisible characters that could split the key without hiding it.
_CODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\([\"\\/])")
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\U000e0000-\U000e007f]")
# Encodings nest (an entity-escaped URL holding a URL-encoded key): decode this many layers.
_KEY_DECODING_DEPTH = 3


class TranslationFailed(Exception):
    """A paragraph could not be translated.

    ``reason`` is short, safe to print, and never contains the API key: pass the
    key as ``secret`` and it is redacted from the reason before it is stored.
    """

    def __init__(self, reason: str, *, secret: str | None = None):
        self.reason = redact(reason, secret)
        super().__init__(self.reason)


@dataclass(frozen=True)
class TranslatorSettings:
    """How to reach one provider. The API key is kept out of ``repr``."""

    provider: str
    source: str
    target: str
    url: str | None = None
    timeout: float = 30.0
    api_key: str | None = field(default=None, repr=False)
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 8.0


@runtime_checkable
class ParagraphTranslator(Protocol):
    """What the pipeline needs: a provider name and translate(paragraph)."""

    provider: str

    def translate(self, text: str) -> str:
        """One paragraph of plain text -> its validated translation; raises TranslationFailed."""
        ...


def redact(message: str, secret: str | None) -> str:
    """``message`` with every occurrence of ``secret`` (also %-encoded, as in a URL) replaced by ``***``."""
    if not secret:
        return message
    variants = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    for variant in sorted(variants, key=len, reverse=True):
        message = message.replace(variant, "***")
    return message


# --------------------------------------------------------------------------- splitting


def _limit_for(provider: str) -> tuple[int, str]:
    return _LIMITS.get(provider, _DEFAULT_LIMIT)


def _fits_function(provider: str) -> Callable[[str], bool]:
    size, unit = _limit_for(provider)
    if unit == "bytes":
        return lambda s: len(s.encode("utf-8")) <= size
    return lambda s: len(s) <= size


def split_for_provider(text: str, provider: str) -> list[str]:
    """Cut ``text`` into stripped chunks that each fit ``provider``'s request limit.

    Cuts at sentence ends first, then at ؛ and ،, then at whitespace, and only as a
    last resort in the middle of a word. Consecutive pieces are packed together
    while they fit, keeping the text between them as it was. Only whitespace at a
    cut is dropped: joined with spaces, the chunks hold every other character of
    ``text`` in order. Blank text gives no chunks.
    """
    return _pack(text, _fits_function(provider), _SPLIT_LEVELS)


def _pack(text: str, fits: Callable[[str], bool], levels: tuple[re.Pattern[str], ...]) -> list[str]:
    """Split ``text`` at the first level's boundaries and pack the pieces greedily."""
    text = text.strip()
    if not text:
        return []
    if fits(text):
        return [text]
    if not levels:
        return _hard_cut(text, fits)
    pattern, finer = levels[0], levels[1:]
    cuts = [m.end() for m in pattern.finditer(text) if 0 < m.end() < len(text)]
    if not cuts:
        return _pack(text, fits, finer)
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    chunks: list[str] = []
    current = ""  # raw text, so that the original spacing inside a chunk survives
    for piece in pieces:
        if fits((current + piece).strip()):
            current += piece
            continue
        if current.strip():
            chunks.append(current.strip())
        if fits(piece.strip()):
            current = piece
        else:
            chunks.extend(_pack(piece, fits, finer))
            current = ""
    if current.strip():
        chunks.append(current.strip())
    return chunks


def _hard_cut(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Cut a text with no usable boundary into the longest prefixes that fit."""
    chunks: list[str] = []
    while text:
        lo, hi = 1, len(text)  # binary search for the longest fitting prefix
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(text[:mid]):
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        # Do not separate a letter from its diacritics (harakat) when avoidable.
        while 1 < cut < len(text) and unicodedata.combining(text[cut]):
            cut -= 1
        chunks.append(text[:cut])
        text = text[cut:]
    return chunks


# --------------------------------------------------------------------------- validation


def _is_arabic_letter(char: str) -> bool:
    code = ord(char)
    return char.isalpha() and any(lo <= code <= hi for lo, hi in _ARABIC_RANGES)


def _has_arabic(text: str) -> bool:
    return any(_is_arabic_letter(c) for c in text)


def _normalise_space(text: str) -> str:
    return " ".join(text.split())


def _unescape_code(text: str) -> str:
    """``text`` with JSON/JavaScript escapes (``\\u002F``, ``\\x2f``, ``\\/``) decoded."""

    def decode(match: re.Match[str]) -> str:
        hex_digits = match.group(1) or match.group(2)
        return chr(int(hex_digits, 16)) if hex_digits else match.group(3)

    return _CODE_ESCAPE.sub(decode, text)


def _drop_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


_KEY_DECODINGS: tuple[Callable[[str], str], ...] = (
    unquote, unquote_plus, html.unescape, _unescape_code, _drop_invisible,
)


def contains_secret(text: str, secret: str) -> bool:
    """Whether ``text`` shows ``secret`` as it is or in any encoding a provider might apply.

    Rather than encoding the key every way a provider might (quote, quote_plus,
    upper- or lower-case hex, named, decimal or hex entities, JSON escapes, and
    combinations of them), the text is decoded every way, up to three layers
    deep, and each result searched ignoring case: percent-escapes and hex keys
    read the same in either case.
    """
    needle = secret.casefold()
    seen = {text}
    layer = {text}
    for _ in range(_KEY_DECODING_DEPTH):
        layer = {decode(t) for t in layer for decode in _KEY_DECODINGS} - seen
        seen |= layer
    return any(needle in t.casefold() for t in seen)


def validate_translation(source: str, result: object, *, secret: str | None = None) -> str:
    """Check one reply from a provider and return it cleaned, or raise TranslationFailed.

    Cleaning removes bidi controls and control characters (newlines kept) and
    strips the ends. The reply must then be non-empty text, at most
    MAX_REPLY_GROWTH times as long as ``source`` plus MAX_REPLY_EXTRA_CHARS,
    free of the API key ``secret`` in any encoding (a reply is published: pages,
    search index, the committed memory), not a provider warning, not the source
    sent back, and not still mostly Arabic. HTML in the reply is left alone: it
    is text, and the page escapes it.
    """
    if result is None:
        raise TranslationFailed("reply had no translation")
    if not isinstance(result, str):
        raise TranslationFailed(f"reply was not text but {type(result).__name__}")
    cleaned = result.translate(_CLEAN_TABLE).strip()
    if not cleaned:
        raise TranslationFailed("reply was empty")
    if len(cleaned) > MAX_REPLY_GROWTH * len(source) + MAX_REPLY_EXTRA_CHARS:
        raise TranslationFailed(
            f"reply was {len(cleaned):,} characters for {len(source):,} sent: far longer than a translation"
        )
    # Checked before cleaning too: cleaning could join a key split by control characters.
    if secret and (contains_secret(result, secret) or contains_secret(cleaned, secret)):
        raise TranslationFailed("reply contained the API key", secret=secret)
    upper = cleaned.upper()
    if any(marker in upper for marker in _PROVIDER_WARNINGS):
        raise TranslationFailed("reply was a provider warning (quota or limit reached), not a translation")
    # Text without Arabic letters (a number, a Latin name) is rightly sent back as it is.
    clean_source = _normalise_space(source.translate(_CLEAN_TABLE))
    if _normalise_space(cleaned) == clean_source and _has_arabic(clean_source):
        raise TranslationFailed("reply was the source text sent back untranslated")
    letters = [c for c in cleaned if c.isalpha()]
    arabic = sum(1 for c in letters if _is_arabic_letter(c))
    if letters and arabic / len(letters) > MAX_ARABIC_SHARE:
        raise TranslationFailed(f"reply was still {100 * arabic // len(letters)}% Arabic letters")
    return cleaned


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
    opens is registered here (see :class:`_WatchedConnection`), and a timer
    shuts them all down at the deadline: a read blocked on one returns at once,
    and the request fails. ``expired`` tells that failure (or a body that
    merely looks complete) from a real one.
    """

    def __init__(self, seconds: float):
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()  # shutting down and closing never overlap
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.name = "translator-deadline"
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock``'s connection down at the deadline (at once if it has passed)."""
        # A second descriptor of the same connection: TLS wrapping detaches the
        # original object, and shutting this one down still ends the connection.
        duplicate = sock.dup()
        with self._lock:
            self._sockets.append(duplicate)
            if self.expired:
                _shut_down(duplicate)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut_down(sock)

    def stop(self) -> None:
        """Cancel the timer and let go of the sockets (the request has ended, one way or the other)."""
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shut_down(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the other side


@dataclass
class _CallRecord:
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


_current_call: contextvars.ContextVar[_CallRecord | None] = contextvars.ContextVar("translator_call", default=None)


class _WatchedConnection:
    """Mixed into urllib3's connection classes: each new socket goes to the current watchdog.

    Registered as soon as TCP connects, before any TLS handshake or request.
    """

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        record = _current_call.get()
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


class _ReplyTooLarge(requests.exceptions.RequestException):
    """A reply went past the number of bytes we were willing to read."""


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
                    raise _ReplyTooLarge(f"reply larger than {self._max_reply_bytes} bytes")
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
        record = _current_call.get()
        if record is None:  # deep-translator used outside our calls: the same guards, default limits
            token = _current_call.set(_CallRecord(timeout=DEFAULT_TIMEOUT))
            try:
                return self._send(method, url, **kwargs)
            finally:
                _current_call.reset(token)
        left = record.deadline - time.monotonic()
        if left <= 0:  # e.g. Microsoft's second request of an attempt
            record.transport_error = "timeout"
            raise requests.exceptions.Timeout("the attempt's deadline has passed")
        kwargs["timeout"] = (left, left)  # connect, and each read; the watchdog bounds the whole
        watchdog = _Watchdog(left)
        record.watchdog = watchdog
        try:
            with self._real.Session() as session:  # what requests.request does, with our adapter
                adapter = _GuardedAdapter(record.max_reply_bytes)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                response = session.request(method, url, **kwargs)
        except _ReplyTooLarge:
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


_PATCHED_MODULES = ("google", "libre", "mymemory", "deepl", "microsoft", "qcri")
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


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class _Failure:
    reason: str
    retryable: bool


def _http_failure(status: int) -> _Failure:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    text = f"HTTP {status} {phrase}"
    if status == 429 or status >= 500:
        return _Failure(text, True)
    if status in (401, 403):
        return _Failure(f"{text}: the provider refused the request; check {API_KEY_VARIABLE}", False)
    return _Failure(text, False)


def _classify(exc: BaseException | None, record: _CallRecord, timeout: float) -> _Failure | None:
    """Turn what happened in one attempt into a reason, or None when it went well.

    Built from the exception's type and the recorded HTTP status only, never
    from its message, which can hold the API key or a URL containing it.
    """
    from deep_translator import exceptions as dt

    if record.transport_error == "timeout":
        return _Failure(f"timed out after {timeout:g} s", True)
    if record.transport_error == "connection":
        return _Failure("could not connect to the translation server", True)
    if record.reply_too_large:  # the same text would get the same reply: not retried
        return _Failure(
            f"reply was larger than {record.max_reply_bytes:,} bytes: far more than a translation of the text sent",
            False,
        )
    if record.status is not None and not 200 <= record.status < 300:
        # Whatever deep-translator made of it (QCRI even returns None), it was this status.
        return _http_failure(record.status)
    if exc is None:
        return None
    if isinstance(exc, dt.TooManyRequests):
        return _http_failure(429)
    if isinstance(exc, dt.ServerException):  # no status recorded: recover it from the message
        codes = {message: code for code, message in dt.ServerException.errors.items()}
        return _http_failure(codes.get(str(exc.args[0]) if exc.args else "", 503))
    if isinstance(exc, dt.AuthorizationException):
        return _http_failure(403)
    if isinstance(exc, (requests.exceptions.JSONDecodeError, json.JSONDecodeError)):
        return _Failure("reply was not JSON", False)
    if isinstance(exc, requests.exceptions.Timeout):
        return _Failure(f"timed out after {timeout:g} s", True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _Failure("could not connect to the translation server", True)
    if isinstance(exc, requests.exceptions.RequestException):
        return _Failure(f"request failed ({type(exc).__name__})", False)
    if isinstance(exc, (dt.NotValidLength, dt.NotValidPayload)):
        return _Failure("text was too long or not valid for the provider", False)
    if isinstance(exc, (dt.LanguageNotSupportedException, dt.InvalidSourceOrTargetLanguage)):
        return _Failure("the provider does not support this language pair", False)
    if isinstance(exc, (dt.MicrosoftAPIerror, dt.BaiduAPIerror)):
        return _Failure("the provider replied with an error", False)
    if isinstance(
        exc,
        (dt.TranslationNotFound, dt.ElementNotFoundInGetRequest, KeyError, IndexError, TypeError, AttributeError, StopIteration),
    ):
        # e.g. {} or {"error": …} in place of {"translatedText": …}, or an HTML page without the result
        return _Failure("reply had no translation", False)
    return _Failure(f"unexpected error ({type(exc).__name__})", False)


def backoff_delay(retry: int, base: float, cap: float, key: str = "") -> float:
    """Seconds to wait before retry number ``retry`` (0-based): base·2^retry, capped.

    The jitter (up to 10 % less) is deterministic, derived from ``key`` and the
    retry number, so that threads retrying different texts spread out while
    tests stay repeatable. Never more than ``cap``.
    """
    delay = min(cap, base * 2 ** min(retry, 32))
    fraction = zlib.crc32(f"{key}:{retry}".encode("utf-8")) / 0xFFFFFFFF
    return max(0.0, delay * (1.0 - 0.1 * fraction))


# --------------------------------------------------------------------------- the real translator


def _language_codes(provider: str, source: str, target: str) -> tuple[str, str]:
    """Codes as each deep-translator class accepts them (MyMemory wants ar-SA, en-GB …)."""
    if provider != "mymemory":
        return source, target
    from deep_translator.constants import (
        GOOGLE_LANGUAGES_TO_CODES,
        MY_MEMORY_LANGUAGES_TO_CODES,
    )

    names = {code: name for name, code in GOOGLE_LANGUAGES_TO_CODES.items()}

    def convert(code: str) -> str:
        if code in MY_MEMORY_LANGUAGES_TO_CODES.values():
            return code
        name = names.get(code, code)
        return MY_MEMORY_LANGUAGES_TO_CODES.get(name, code)

    return convert(source), convert(target)


def _factory(settings: TranslatorSettings) -> Callable[[], Any]:
    """A function building a fresh deep-translator object for ``settings``."""
    import deep_translator as dt

    provider = settings.provider
    source, target = _language_codes(provider, settings.source, settings.target)
    key = settings.api_key
    if provider == "google":
        return lambda: dt.GoogleTranslator(source=source, target=target)
    if provider == "mymemory":
        return lambda: dt.MyMemoryTranslator(source=source, target=target)
    if provider == "libre":
        url = settings.url
        if url:
            url = url if url.endswith("/") else url + "/"  # deep-translator appends "translate"
        return lambda: dt.LibreTranslator(
            source=source, target=target, api_key=key or LIBRE_PLACEHOLDER_KEY,
            use_free_api=False, custom_url=url,
        )
    if provider == "deepl":
        return lambda: _deepl(source, target, key)
    if provider == "microsoft":
        return lambda: dt.MicrosoftTranslator(source=source, target=target, api_key=key)
    if provider == "qcri":
        return lambda: dt.QcriTranslator(source=source, target=target, api_key=key)
    raise TranslationFailed(f"unknown translation provider {provider!r}: use one of {', '.join(PROVIDERS)}")


def _deepl(source: str, target: str, key: str | None) -> Any:
    """A DeeplTranslator, even for languages its 1.11.4 table lacks.

    DeepL's API translates Arabic, but deep-translator's language table predates
    that and refuses "ar" in the constructor; the public ``source``/``target``
    setters skip the table. A pair DeepL really lacks then fails with HTTP 400.
    """
    from deep_translator import DeeplTranslator
    from deep_translator.constants import DEEPL_LANGUAGE_TO_CODE

    known = set(DEEPL_LANGUAGE_TO_CODE.values())
    translator = DeeplTranslator(
        source=source if source in known else "en",
        target=target if target in known else "de",
        api_key=key,
        use_free_api=True,
    )
    translator.source, translator.target = source, target
    return translator


class DeepParagraphTranslator:
    """The real :class:`ParagraphTranslator`; use :func:`make_translator` to build one.

    Safe to use from several threads: each thread gets its own deep-translator
    object (they keep request parameters on the instance), and the timeout and
    the HTTP status seen live in a per-thread context.
    """

    def __init__(self, settings: TranslatorSettings, factory: Callable[[], Any]):
        self.settings = settings
        self.provider = settings.provider
        self._factory = factory
        self._local = threading.local()
        self._sleep: Callable[[float], None] = time.sleep  # replaced in tests

    def __repr__(self) -> str:
        return f"DeepParagraphTranslator({self.settings!r})"

    def _instance(self) -> Any:
        """This thread's deep-translator object, built on first use."""
        instance = getattr(self._local, "instance", None)
        if instance is None:
            instance = self._factory()
            self._local.instance = instance
        return instance

    def translate(self, text: str) -> str:
        """Translate one paragraph, splitting it for the provider; blank text gives ""."""
        if not isinstance(text, str):
            raise TranslationFailed(f"can only translate text, not {type(text).__name__}")
        return " ".join(self._translate_chunk(chunk) for chunk in split_for_provider(text, self.provider))

    def _translate_chunk(self, chunk: str) -> str:
        """One chunk with retries on 429, 5xx, timeouts and connection errors.

        Each attempt ends by its deadline, ``timeout`` seconds after it starts,
        so this takes at most (max_retries + 1) × timeout plus the backoff
        pauses, each at most min(backoff_cap, backoff_base × 2**n), n = 0 … max_retries - 1
        (not counting host-name resolution).
        """
        settings = self.settings
        failure: _Failure | None = None
        for attempt in range(settings.max_retries + 1):
            if failure is not None:  # the previous attempt failed in a retryable way
                delay = backoff_delay(attempt - 1, settings.backoff_base, settings.backoff_cap, chunk)
                message = f"{self.provider}: {failure.reason}; retry {attempt}/{settings.max_retries} in {delay:.2f} s"
                logger.info("%s", redact(message, settings.api_key))
                self._sleep(delay)
            result, failure = self._attempt(chunk)
            if failure is None:
                return validate_translation(chunk, result, secret=settings.api_key)
            if not failure.retryable:
                break
        assert failure is not None
        reason = failure.reason
        if failure.retryable and settings.max_retries:
            reason = f"{reason}, gave up after {settings.max_retries} retries"
        # Raised outside any except block, so no exception holding the key is chained.
        raise TranslationFailed(reason, secret=settings.api_key)

    def _attempt(self, chunk: str) -> tuple[Any, _Failure | None]:
        """One attempt, within one deadline: (raw result, None) or (None, why it failed)."""
        record = _CallRecord(timeout=self.settings.timeout, max_reply_bytes=reply_byte_limit(self.provider, chunk))
        token = _current_call.set(record)
        error: BaseException | None = None
        result: Any = None
        try:
            instance = self._instance()  # inside: Microsoft's constructor makes a request
            if self.provider == "qcri":
                result = instance.translate(chunk, domain=QCRI_DOMAIN)
            else:
                result = instance.translate(chunk)
        except Exception as exc:  # deep-translator raises almost anything; classified below
            error = exc
        finally:
            _current_call.reset(token)
        failure = _classify(error, record, self.settings.timeout)
        return (None, failure) if failure else (result, None)


def make_translator(settings: TranslatorSettings) -> ParagraphTranslator:
    """The real translator for ``settings``, backed by deep-translator.

    Raises TranslationFailed now, not at the first paragraph, for an unknown
    provider, a missing key, a libre setup without a URL, or a language pair
    deep-translator refuses.
    """
    provider = settings.provider
    if provider not in PROVIDERS:
        raise TranslationFailed(f"unknown translation provider {provider!r}: use one of {', '.join(PROVIDERS)}")
    if provider in KEYED_PROVIDERS and not settings.api_key:
        raise TranslationFailed(f"provider {provider!r} needs an API key: set the environment variable {API_KEY_VARIABLE}")
    if provider == "libre":
        if not settings.url:
            raise TranslationFailed("provider 'libre' needs 'url', the address of a LibreTranslate server")
        if urlsplit(settings.url).scheme not in ("http", "https"):
            raise TranslationFailed("provider 'libre' needs an http:// or https:// url")
    if not settings.timeout > 0:
        raise TranslationFailed("the translation timeout must be a positive number of seconds")
    if settings.max_retries < 0:
        raise TranslationFailed("max_retries cannot be negative")
    install_http_guards()
    translator = DeepParagraphTranslator(settings, _factory(settings))
    if provider != "microsoft":  # Microsoft's constructor downloads its language list
        error: Exception | None = None
        try:
            translator._instance()  # offline for the others; catches unsupported languages now
        except Exception as exc:
            error = exc
        if error is not None:
            failure = _classify(error, _CallRecord(timeout=settings.timeout), settings.timeout)
            reason = failure.reason if failure else type(error).__name__
            raise TranslationFailed(
                f"cannot set up {provider} for {settings.source}→{settings.target}: {reason}",
                secret=settings.api_key,
            )
    return translator


# --------------------------------------------------------------------------- fake


_FAKE_WORDS = (
    "the", "news", "report", "city", "people", "said", "today", "government",
    "market", "water", "school", "new", "minister", "week", "local", "council",
)


def fake_english(text: str) -> str:
    """Deterministic English-looking stand-in for a translation of ``text``.

    ``English <sha1[:8]>:`` then one word per source word; never any Arabic.
    Blank text gives "".
    """
    words = text.split()
    if not words:
        return ""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    english = [_FAKE_WORDS[zlib.crc32(w.encode("utf-8")) % len(_FAKE_WORDS)] for w in words]
    return f"English {digest}: " + " ".join(english)


class FakeTranslator:
    """A network-free ParagraphTranslator for tests of the pipeline.

    Returns :func:`fake_english` of the text, or raises TranslationFailed when
    ``fail_on(text)`` is true. Every call's text is appended to ``calls``.
    """

    provider = "fake"

    def __init__(self, fail_on: Callable[[str], bool] | None = None):
        self.fail_on = fail_on
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def translate(self, text: str) -> str:
        """fake_english(text), or TranslationFailed when fail_on says so."""
        with self._lock:
            self.calls.append(text)
        if self.fail_on is not None and self.fail_on(text):
            raise TranslationFailed("fake translator was told to fail on this text")
        return fake_english(text)
