"""Hostile translation servers, round two: slow drips, API keys echoed in replies, huge replies.

Every test runs the real deep-translator LibreTranslator through sitegen.translation.translator against
tests/libre_stub.py on 127.0.0.1 (no other address), with small timeouts so that the file stays fast.
Each test carries a time limit a few times its expected duration: a client that waits for ever
fails it instead of hanging the suite.
"""

from __future__ import annotations

import html
import logging
import re
import time
import traceback
from urllib.parse import quote, quote_plus

import pytest

from sitegen.translation.chunking import split_for_provider
from sitegen.translation.failures import TranslationFailed
from sitegen.translation.providers import TranslatorSettings
from sitegen.translation.translator import DeepParagraphTranslator
from tests.libre_stub import LibreStub, default_translate
from tests.sitekit import libre_translator

SECRET = "sk-Leak/Key+9z=Q7&x"  # '/', '+', '=' and '&' make every encoding of it differ from it
SENTENCE = "قال وزير المالية إن الحكومة ستخفض الضرائب على الشركات الصغيرة هذا العام"
MARKER = "المفتاح"  # the stub misbehaves only on paragraphs holding this word
# What a test may take beyond the stated bound: thread start-up and scheduling on a busy machine.
SLACK = 0.5



def libre(stub: LibreStub, **overrides) -> DeepParagraphTranslator:
    """A real libre translator aimed at ``stub``: 1 s timeout, 1 retry, quick backoff."""
    return libre_translator(stub, **{"timeout": 1.0, "max_retries": 1, **overrides})


def stated_bound(settings: TranslatorSettings, chunks: int = 1) -> float:
    """The worst case the translator's docstring states: per chunk, every attempt's deadline plus every pause."""
    pauses = sum(min(settings.backoff_cap, settings.backoff_base * 2**n) for n in range(settings.max_retries))
    return chunks * ((settings.max_retries + 1) * settings.timeout + pauses)


def translate_error(translator: DeepParagraphTranslator, text: str = SENTENCE) -> TranslationFailed:
    with pytest.raises(TranslationFailed) as info:
        translator.translate(text)
    return info.value


def all_text(error: BaseException) -> str:
    return " ".join(
        [str(error), repr(error), getattr(error, "reason", ""), repr(error.args),
         "".join(traceback.format_exception(error))]
    )


def wait_for(condition, seconds: float = 5.0) -> None:
    """Wait until ``condition()`` holds (the stub's handler threads finish after the client)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the stub"
        time.sleep(0.02)


# ------------------------------------------------------------------ the timeout is a deadline


@pytest.mark.network_stub
@pytest.mark.timeout(10)
@pytest.mark.parametrize("fault", ["drip", "drip_forever", "drip_headers", "stall_after_headers"])
def test_slow_server_is_timed_out_at_the_deadline_of_each_attempt(fault, stub):
    # drip: 57 bytes at 0.3 s each would take 17 s per attempt; each read comes well within 1 s.
    stub.drip_seconds, stub.sleep_seconds = 0.3, 30
    stub.set_fault(fault)
    translator = libre(stub)
    started = time.monotonic()
    error = translate_error(translator)
    elapsed = time.monotonic() - started
    assert error.reason == "timed out after 1 s, gave up after 1 retries"
    assert len(stub.requests) == 2
    assert 2 * 1.0 <= elapsed < stated_bound(translator.settings) + SLACK


@pytest.mark.network_stub
@pytest.mark.timeout(10)
def test_each_chunk_of_a_long_paragraph_gets_its_own_deadlines_and_the_bound_holds(stub):
    paragraph = " ".join(f"{SENTENCE} رقم {i}." for i in range(70))  # over 4,500 characters
    chunks = split_for_provider(paragraph, "libre")
    assert len(chunks) == 2
    first_time: set[str] = set()
    # The first request for each chunk drips until its deadline; the retry is answered.
    stub.set_fault("drip_forever", when=lambda text: text not in first_time and not first_time.add(text))
    translator = libre(stub)
    started = time.monotonic()
    result = translator.translate(paragraph)
    elapsed = time.monotonic() - started
    assert result == " ".join(default_translate(c) for c in chunks)
    assert [r["q"] for r in stub.requests] == [chunks[0], chunks[0], chunks[1], chunks[1]]
    assert 2 * 1.0 <= elapsed < stated_bound(translator.settings, chunks=2) + SLACK


# ------------------------------------------------------------------ an API key echoed in a reply


def lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), encoded)


KEY_ECHOES = {
    "plain": lambda key: key,
    "url_encoded": lambda key: quote(key, safe=""),
    "url_encoded_keeping_slashes": lambda key: quote(key),
    "quote_plus": lambda key: quote_plus(key, safe=""),
    "lower_case_hex": lambda key: lower_hex(quote(key, safe="")),
    "mixed_case_hex": lambda key: quote(key, safe="").replace("%2F", "%2f"),
    "twice_url_encoded": lambda key: quote(quote(key, safe=""), safe=""),
    "html_escaped": lambda key: html.escape(key),
    "decimal_entities": lambda key: "".join(f"&#{ord(c)};" for c in key),
    "hex_entities": lambda key: "".join(f"&#x{ord(c):X};" for c in key),
    "json_escapes_in_the_text": lambda key: "".join(f"\\u{ord(c):04x}" for c in key),
    "upper_cased": lambda key: key.upper(),
    "zero_width_spaces_inside": lambda key: "\u200b".join(key),
}


def leak_forms(key: str) -> set[str]:
    """Every form of ``key`` that must not show anywhere."""
    return {echo(key) for echo in KEY_ECHOES.values()}


def echoing_stub(echo: str) -> LibreStub:
    """A stub that appends ``api_key=<echo>`` to its translation of paragraphs holding MARKER."""

    def translate(text: str) -> str:
        suffix = f" (request sent with api_key={echo})" if MARKER in text else ""
        return default_translate(text) + suffix

    return LibreStub(translate=translate)


@pytest.mark.network_stub
@pytest.mark.timeout(5)
@pytest.mark.parametrize("encoding", KEY_ECHOES)
def test_reply_echoing_the_api_key_is_refused_and_the_key_shows_nowhere(encoding, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    echo = KEY_ECHOES[encoding](SECRET)
    with echoing_stub(echo) as stub:
        translator = libre(stub, api_key=SECRET)
        good = translator.translate(SENTENCE)  # a normal reply still passes with a key set
        error = translate_error(translator, f"{SENTENCE} {MARKER}")
    assert good == default_translate(SENTENCE)
    assert [r["api_key"] for r in stub.requests] == [SECRET, SECRET], "the key was really sent; refused at once"
    assert error.reason == "reply contained the API key"
    assert error.__cause__ is None and error.__context__ is None
    said = all_text(error) + good + caplog.text + "".join(str(r.args) for r in caplog.records)
    assert not [form for form in leak_forms(SECRET) | {echo} if form in said]


@pytest.mark.network_stub
@pytest.mark.timeout(5)
def test_reply_echoing_the_api_key_in_json_escapes_is_refused(caplog):
    caplog.set_level(logging.DEBUG)
    with echoing_stub(SECRET) as stub:
        stub.set_fault("escaped_json")  # every character of the reply's strings sent as \uXXXX
        translator = libre(stub, api_key=SECRET)
        good = translator.translate(SENTENCE)
        error = translate_error(translator, f"{SENTENCE} {MARKER}")
    assert good == default_translate(SENTENCE)
    assert error.reason == "reply contained the API key" and len(stub.requests) == 2
    assert not [form for form in leak_forms(SECRET) if form in all_text(error) + caplog.text]


@pytest.mark.network_stub
@pytest.mark.timeout(5)
def test_reply_echoing_the_key_is_refused_only_when_a_key_is_set():
    with echoing_stub(SECRET + " no-key") as stub:
        # Without a key there is nothing to protect: libre's placeholder 'no-key' is no secret.
        unkeyed = libre(stub).translate(f"{SENTENCE} {MARKER}")
        assert stub.requests[-1]["api_key"] == "no-key"
        assert unkeyed.endswith(f"api_key={SECRET} no-key)")
        error = translate_error(libre(stub, api_key=SECRET), f"{SENTENCE} {MARKER}")
    assert error.reason == "reply contained the API key"


# ------------------------------------------------------------------ replies far longer than their source


@pytest.mark.network_stub
@pytest.mark.timeout(5)
def test_reply_eleven_times_longer_than_its_source_is_refused_and_three_times_passes():
    source = " ".join(f"{SENTENCE} رقم {i}." for i in range(25))  # about 1,900 characters: one chunk
    factor = {"times": 3}

    def inflate(text: str) -> str:
        return ("the minister said " * len(text))[: factor["times"] * len(text) - 1] + "."

    with LibreStub(translate=inflate) as stub:
        translator = libre(stub)
        assert len(translator.translate(source)) == 3 * len(source)
        factor["times"] = 11
        error = translate_error(translator, source)
    assert error.reason == (
        f"reply was {11 * len(source):,} characters for {len(source):,} sent: far longer than a translation"
    )
    assert len(stub.requests) == 2, "refused at once, not retried"


@pytest.mark.network_stub
@pytest.mark.timeout(10)
def test_huge_reply_is_abandoned_after_a_bounded_read(stub):
    stub.set_fault("huge")  # 32 MiB of valid JSON, sent as fast as the client reads
    translator = libre(stub, timeout=10.0)
    started = time.monotonic()
    error = translate_error(translator)
    elapsed = time.monotonic() - started
    limit = 16 * len(SENTENCE.encode("utf-8")) + 64 * 1024
    assert error.reason == f"reply was larger than {limit:,} bytes: far more than a translation of the text sent"
    assert len(stub.requests) == 1, "not retried"
    wait_for(lambda: stub.streamed)
    # What the client read, plus a few hundred KiB of socket buffers: nowhere near the 32 MiB.
    assert stub.streamed[0] < 2 * 2**20
    assert elapsed < 2.0


def test_the_arabic_share_of_a_reply_counts_arabic_letters_only():
    from sitegen.core.textrules import arabic_letters as _arabic_letters

    # Letters of every Arabic block count (presentation forms too); Arabic digits, the Arabic
    # comma and question mark, harakat and tatweel-free punctuation do not; Latin never does.
    assert _arabic_letters("حمص") == 3
    assert _arabic_letters("ﻻ ﷲ ݐ ࢠ") == 4  # presentation forms, supplement, extended-A
    assert _arabic_letters("٠١٢٣ ، ؟ \u064b\u064e\u0650") == 0
    assert _arabic_letters("Homs, 2012: ٢٠١٢") == 0
    assert _arabic_letters("The army entered باب عمرو today.") == 7
