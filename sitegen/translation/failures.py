"""Why a translation failed, said safely: never with the API key.

:class:`TranslationFailed` is what the pipeline sees. :func:`classify_attempt`
turns what went wrong in one attempt (an exception, the HTTP status the
transport recorded) into a short reason and whether another attempt may help.
"""

from __future__ import annotations

import http
import json
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import requests

from ..config import API_KEY_VARIABLE
from .transport import CallRecord


class TranslationFailed(Exception):
    """A paragraph could not be translated.

    ``reason`` is short, safe to print, and never contains the API key: pass the
    key as ``secret`` and it is redacted from the reason before it is stored.
    """

    def __init__(self, reason: str, *, secret: str | None = None):
        self.reason = redact(reason, secret)
        super().__init__(self.reason)


def redact(message: str, secret: str | None) -> str:
    """``message`` with every occurrence of ``secret`` (also %-encoded, as in a URL) replaced by ``***``."""
    if not secret:
        return message
    variants = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    for variant in sorted(variants, key=len, reverse=True):
        message = message.replace(variant, "***")
    return message


# --------------------------------------------------------------------------- classifying an attempt


@dataclass(frozen=True)
class Failure:
    """Why one attempt failed, and whether another attempt may go better."""

    reason: str
    retryable: bool


def _http_failure(status: int) -> Failure:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    text = f"HTTP {status} {phrase}"
    if status == 429 or status >= 500:
        return Failure(text, True)
    if status in (401, 403):
        return Failure(f"{text}: the provider refused the request; check {API_KEY_VARIABLE}", False)
    return Failure(text, False)


def classify_attempt(exc: BaseException | None, record: CallRecord, timeout: float) -> Failure | None:
    """Turn what happened in one attempt into a reason, or None when it went well.

    Built from the exception's type and the recorded HTTP status only, never
    from its message, which can hold the API key or a URL containing it.
    """
    from deep_translator import exceptions as dt

    if record.transport_error == "timeout":
        return Failure(f"timed out after {timeout:g} s", True)
    if record.transport_error == "connection":
        return Failure("could not connect to the translation server", True)
    if record.reply_too_large:  # the same text would get the same reply: not retried
        return Failure(
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
        return Failure("reply was not JSON", False)
    if isinstance(exc, requests.exceptions.Timeout):
        return Failure(f"timed out after {timeout:g} s", True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Failure("could not connect to the translation server", True)
    if isinstance(exc, requests.exceptions.RequestException):
        return Failure(f"request failed ({type(exc).__name__})", False)
    if isinstance(exc, (dt.NotValidLength, dt.NotValidPayload)):
        return Failure("text was too long or not valid for the provider", False)
    if isinstance(exc, (dt.LanguageNotSupportedException, dt.InvalidSourceOrTargetLanguage)):
        return Failure("the provider does not support this language pair", False)
    if isinstance(exc, (dt.MicrosoftAPIerror, dt.BaiduAPIerror)):
        return Failure("the provider replied with an error", False)
    if isinstance(
        exc,
        (dt.TranslationNotFound, dt.ElementNotFoundInGetRequest, KeyError, IndexError, TypeError, AttributeError, StopIteration),
    ):
        # e.g. {} or {"error": …} in place of {"translatedText": …}, or an HTML page without the result
        return Failure("reply had no translation", False)
    return Failure(f"unexpected error ({type(exc).__name__})", False)
