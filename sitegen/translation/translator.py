"""Machine translation of plain-text paragraphs, over deep-translator.

The rest of the pipeline only sees :class:`ParagraphTranslator`: one paragraph of
plain text in, one checked plain-text translation out, or :class:`TranslationFailed`
with a short reason that is safe to print. Everything deep-translator gets wrong
for a build that runs unattended is handled in this package, and this module
puts the parts together (and retries):

* it sets no HTTP timeout, so every request made by its provider modules goes
  through :class:`.transport._TimeoutRequests`, which gives each attempt a deadline
  (connecting, waiting and reading the reply all count, see :class:`.transport._Watchdog`),
  reads at most :func:`.transport.reply_byte_limit` bytes of a reply, and notes the HTTP
  status (some providers swallow it into vague exceptions, or return ``None``);
* it raises a different exception per provider and fault (some of them carry the
  API key in their message), so each attempt is classified into a retryable or a
  final reason (:func:`.failures.classify_attempt`), and the original exception
  is never chained;
* providers have length limits, so long paragraphs are split at sentence ends
  (:mod:`.chunking`);
* replies are untrusted, so each one goes through :func:`.replies.validate_translation`,
  which also refuses replies far longer than their source and replies holding
  the API key in any encoding (they would be published);
* its translator objects keep request state on the instance, so each thread
  gets its own (:mod:`.providers` builds them).

Time bound: ``timeout`` is a deadline for each attempt, so one chunk of a
paragraph takes at most ``(max_retries + 1) × timeout`` plus the pauses between
attempts, ``backoff_delay(n)`` ≤ ``min(backoff_cap, backoff_base × 2**n)`` for
n = 0 … max_retries - 1, and a paragraph at most that once per chunk it is split
into. With the defaults (30 s, 4 retries, pauses of 0.5, 1, 2 and 4 s) that is
157.5 s per chunk. Not counted: resolving the server's host name (the system
resolver cannot be interrupted) and a few milliseconds per attempt.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import zlib
from typing import Any, Callable, Protocol, runtime_checkable
from urllib.parse import urlsplit

from ..config import API_KEY_VARIABLE, KEYED_PROVIDERS, PROVIDERS
from .chunking import split_for_provider
from .failures import Failure, TranslationFailed, classify_attempt, redact
from .providers import QCRI_DOMAIN, TranslatorSettings, provider_factory
from .replies import validate_translation
from .transport import CallRecord, current_call, install_http_guards, reply_byte_limit

logger = logging.getLogger(__name__)


@runtime_checkable
class ParagraphTranslator(Protocol):
    """What the pipeline needs: a provider name and translate(paragraph)."""

    provider: str

    def translate(self, text: str) -> str:
        """One paragraph of plain text -> its validated translation; raises TranslationFailed."""
        ...


# --------------------------------------------------------------------------- retries


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
        failure: Failure | None = None
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

    def _attempt(self, chunk: str) -> tuple[Any, Failure | None]:
        """One attempt, within one deadline: (raw result, None) or (None, why it failed)."""
        record = CallRecord(timeout=self.settings.timeout, max_reply_bytes=reply_byte_limit(self.provider, chunk))
        token = current_call.set(record)
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
            current_call.reset(token)
        failure = classify_attempt(error, record, self.settings.timeout)
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
    translator = DeepParagraphTranslator(settings, provider_factory(settings))
    if provider != "microsoft":  # Microsoft's constructor downloads its language list
        error: Exception | None = None
        try:
            translator._instance()  # offline for the others; catches unsupported languages now
        except Exception as exc:
            error = exc
        if error is not None:
            failure = classify_attempt(error, CallRecord(timeout=settings.timeout), settings.timeout)
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
