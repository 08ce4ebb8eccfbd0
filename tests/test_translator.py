"""Tests of sitegen.translation.translator: splitting, reply checks, and the real deep-translator
LibreTranslator path against a local stub (127.0.0.1 only, no other network)."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from sitegen.config import PROVIDERS
from sitegen.translation import transport
from sitegen.translation.chunking import _SPLIT_LEVELS, split_for_provider
from sitegen.translation.failures import TranslationFailed, redact
from sitegen.translation.providers import TranslatorSettings
from sitegen.translation.replies import validate_translation
from sitegen.translation.translator import (
    FakeTranslator,
    ParagraphTranslator,
    backoff_delay,
    make_translator,
)
from tests.libre_stub import ARABIC_REPLY, LibreStub, default_translate
from tests.sitekit import libre_translator

SECRET = "SECRET-KEY-123"
SENTENCE = "قال وزير المالية إن الحكومة ستخفض الضرائب على الشركات الصغيرة هذا العام"


def arabic_sentences(count: int, end: str = ".") -> str:
    """``count`` numbered Arabic sentences, each ending with ``end``."""
    return " ".join(f"{SENTENCE} رقم {i}{end}" for i in range(count))


def non_space(text: str) -> str:
    return "".join(text.split())


def fits(provider: str, chunk: str) -> bool:
    if provider == "mymemory":
        # 500 bytes for the API, and deep-translator rejects len(text) >= 500.
        return len(chunk.encode("utf-8")) <= 500 and len(chunk) < 500
    if provider == "google":
        return len(chunk) <= 1500
    return len(chunk) <= 4500



def libre(stub: LibreStub, **overrides) -> ParagraphTranslator:
    """A real libre translator aimed at ``stub``, with fast retries."""
    return libre_translator(stub, **{"timeout": 2.0, "max_retries": 2, **overrides})


def translate_error(translator: ParagraphTranslator, text: str = SENTENCE) -> TranslationFailed:
    with pytest.raises(TranslationFailed) as info:
        translator.translate(text)
    return info.value


# ------------------------------------------------------------------ splitting


def test_short_paragraph_is_a_single_chunk():
    assert split_for_provider(f"  {SENTENCE}. ", "google") == [f"{SENTENCE}."]


def test_blank_text_gives_no_chunks():
    assert split_for_provider(" \n\t ", "libre") == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_limit_is_respected(provider):
    text = arabic_sentences(400)  # about 30,000 characters
    chunks = split_for_provider(text, provider)
    assert len(chunks) > 1
    assert all(fits(provider, c) for c in chunks), [len(c) for c in chunks]
    assert non_space(" ".join(chunks)) == non_space(text)


def test_google_chunks_stay_under_1500_characters():
    chunks = split_for_provider(arabic_sentences(60), "google")
    assert max(map(len, chunks)) <= 1500 < sum(map(len, chunks))


def test_mymemory_limit_counts_utf8_bytes_not_characters():
    text = " ".join(["كلمة"] * 80)  # 399 characters, under 500, but 718 bytes
    assert len(text) < 500 < len(text.encode("utf-8"))
    chunks = split_for_provider(text, "mymemory")
    assert len(chunks) == 2
    assert all(len(c.encode("utf-8")) <= 500 for c in chunks)


def test_mymemory_limit_with_four_byte_characters():
    text = "📰" * 300  # no boundary at all: hard cut, 4 bytes each
    chunks = split_for_provider(text, "mymemory")
    assert all(len(c.encode("utf-8")) <= 500 for c in chunks)
    assert "".join(chunks) == text


def test_split_prefers_arabic_sentence_ends():
    text = arabic_sentences(40, end="؟")
    chunks = split_for_provider(text, "google")
    assert len(chunks) > 1
    assert all(c.endswith("؟") for c in chunks)


def test_decimal_point_is_not_a_sentence_end():
    text = ("ارتفع المؤشر بنسبة 3.5 في المئة " * 60).strip()  # no sentence end at all
    for chunk in split_for_provider(text, "google"):
        assert not chunk.startswith("5") and not chunk.endswith("3.")


def test_split_falls_back_to_arabic_comma_then_spaces():
    clauses = "، ".join([SENTENCE] * 40)  # one long sentence of clauses
    chunks = split_for_provider(clauses, "google")
    assert len(chunks) > 1 and all(c.endswith("،") for c in chunks[:-1])
    words = " ".join([SENTENCE] * 40)  # no punctuation at all: whole words only
    chunks = split_for_provider(words, "google")
    assert len(chunks) > 1
    assert set(" ".join(chunks).split()) == set(SENTENCE.split())


def test_hard_cut_as_last_resort_keeps_every_character():
    word = "ب" * 5000
    chunks = split_for_provider(word, "google")
    assert "".join(chunks) == word and all(len(c) <= 1500 for c in chunks)


# The sentence ends as the splitter has always meant them, found the plain way (from every
# position): the splitter's own pattern must cut at the same places, only faster.
_PLAIN_SENTENCE_END = re.compile(r"[.!?؟…]+[\"'»”’)\]]*(?=\s)")


@hyp_settings(max_examples=400, deadline=None)
@given(st.text(alphabet=".!?؟…\"'»”’)] \n\tbا3،;", max_size=60))
def test_sentence_ends_are_cut_where_the_plain_pattern_cuts(text):
    assert [m.end() for m in _SPLIT_LEVELS[0].finditer(text)] == [m.end() for m in _PLAIN_SENTENCE_END.finditer(text)]


@pytest.mark.parametrize("provider", ["libre", "mymemory", "google"])
@pytest.mark.parametrize("unit", [".", "…", "!?", "ب", "📰"])
def test_a_paragraph_of_forty_thousand_punctuation_marks_or_letters_is_cut_in_bounded_time(unit, provider):
    """40,000 dots took 34 s: the sentence-end search read the rest of the run from every dot."""
    text = unit * (40_000 // len(unit))
    started = time.monotonic()
    chunks = split_for_provider(text, provider)
    assert time.monotonic() - started < 2.0
    assert "".join(chunks) == text and all(fits(provider, c) for c in chunks)


def test_hard_cut_does_not_separate_letters_from_diacritics():
    word = "بَ" * 1000  # letter + fatha, 2000 code points, no boundary
    for chunk in split_for_provider(word, "google"):
        assert chunk[0] == "ب" and chunk.endswith("َ")


_WORD = st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوي0123456789.؟!،؛…abcXYZ\u064e\u0651", min_size=1, max_size=40)
_SEPARATOR = st.sampled_from([" ", " ", " ", "\n", ". ", "؟ ", "، ", "  ", "\t"])


@hyp_settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_WORD, _SEPARATOR), max_size=250), st.sampled_from(PROVIDERS))
def test_split_never_loses_text_and_always_fits(parts, provider):
    text = "".join(word + sep for word, sep in parts)
    chunks = split_for_provider(text, provider)
    assert non_space(" ".join(chunks)) == non_space(text)
    assert all(c and c == c.strip() and fits(provider, c) for c in chunks)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize("result", [None, 42, ["Hello"], {"translatedText": "Hello"}, b"Hello"])
def test_validate_rejects_non_text(result):
    with pytest.raises(TranslationFailed):
        validate_translation(SENTENCE, result)


@pytest.mark.parametrize("result", ["", "   \n ", "\u200f\u200e", "\x00\x01"])
def test_validate_rejects_empty(result):
    with pytest.raises(TranslationFailed, match="empty"):
        validate_translation(SENTENCE, result)


def test_validate_rejects_the_source_sent_back():
    echoed = "  " + SENTENCE.replace(" ", "\n  ") + " "
    with pytest.raises(TranslationFailed, match="sent back"):
        validate_translation(SENTENCE, echoed)


def test_validate_accepts_text_without_arabic_sent_back_unchanged():
    assert validate_translation("COVID-19 2024", "COVID-19 2024") == "COVID-19 2024"


def test_validate_rejects_mostly_arabic_reply():
    with pytest.raises(TranslationFailed, match="Arabic"):
        validate_translation(SENTENCE, "The minister said " + ARABIC_REPLY)


def test_validate_accepts_a_few_arabic_names():
    reply = "Finance minister محمد العلي said taxes on small companies will fall this year, in the capital."
    assert validate_translation(SENTENCE, reply) == reply


@pytest.mark.parametrize(
    "warning",
    [
        "MYMEMORY WARNING: YOU USED ALL AVAILABLE FREE TRANSLATIONS FOR TODAY. NEXT AVAILABLE IN 10 HOURS",
        "Notice: you used all available free translations for today",
        "QUERY LENGTH LIMIT EXCEEDED. MAX ALLOWED QUERY : 500 CHARS",
        "QUERY LENGTH LIMIT EXCEDEED. MAX ALLOWED QUERY : 500 CHARS",
    ],
)
def test_validate_rejects_provider_warnings(warning):
    with pytest.raises(TranslationFailed, match="warning"):
        validate_translation(SENTENCE, warning)


def test_validate_strips_bidi_and_control_characters_but_keeps_newlines():
    reply = "\u200fThe \u202bminister\u202c said\u2066 \u2069\u061ctaxes\x00 fall.\nMore\x07\ttext\u200e "
    assert validate_translation(SENTENCE, reply) == "The minister said taxes fall.\nMore text"


def test_validate_keeps_html_as_text():
    reply = "<script>alert(1)</script> The minister said"
    assert validate_translation(SENTENCE, reply) == reply


# ------------------------------------------------------------------ settings, keys, backoff


def test_settings_repr_hides_the_api_key():
    settings = TranslatorSettings("deepl", "ar", "en", api_key=SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    assert SECRET not in repr(make_translator(settings))


def test_redact_removes_plain_and_url_encoded_secret():
    secret = "k3y/with+odd&chars"
    message = f"bad key {secret} in https://x/?api_key=k3y%2Fwith%2Bodd%26chars"
    assert secret not in redact(message, secret)
    assert "k3y%2Fwith%2Bodd%26chars" not in redact(message, secret)
    assert redact("nothing here", None) == "nothing here"


def test_translation_failed_redacts_secret_given():
    exc = TranslationFailed(f"denied for {SECRET}", secret=SECRET)
    assert SECRET not in str(exc) + repr(exc) + exc.reason


def test_backoff_grows_exponentially_and_is_capped():
    delays = [backoff_delay(n, 0.5, 8.0, "text") for n in range(8)]
    for n, delay in enumerate(delays):
        assert 0.9 * min(8.0, 0.5 * 2**n) <= delay <= min(8.0, 0.5 * 2**n)
    assert delays == [backoff_delay(n, 0.5, 8.0, "text") for n in range(8)]  # deterministic
    assert backoff_delay(1000, 0.5, 8.0) <= 8.0


# ------------------------------------------------------------------ make_translator


def test_unknown_provider_is_refused():
    with pytest.raises(TranslationFailed, match="unknown translation provider"):
        make_translator(TranslatorSettings("babelfish", "ar", "en"))


@pytest.mark.parametrize("provider", ["deepl", "microsoft", "qcri"])
def test_keyed_provider_without_key_says_to_set_env(provider):
    with pytest.raises(TranslationFailed, match="TRANSLATOR_API_KEY"):
        make_translator(TranslatorSettings(provider, "ar", "en"))


def test_libre_without_url_is_refused():
    with pytest.raises(TranslationFailed, match="url"):
        make_translator(TranslatorSettings("libre", "ar", "en"))


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test on any HTTP request made through requests."""

    def refuse(*args, **kwargs):
        raise AssertionError("unexpected network access")

    monkeypatch.setattr(requests.sessions.Session, "request", refuse)


@pytest.mark.parametrize(
    ("provider", "codes"),
    [("google", ("ar", "en")), ("mymemory", ("ar-SA", "en-GB")), ("deepl", ("ar", "en")), ("qcri", ("ar", "en"))],
)
def test_providers_are_built_offline_with_codes_they_accept(no_network, provider, codes):
    translator = make_translator(TranslatorSettings(provider, "ar", "en", api_key="k"))
    instance = translator._instance()
    assert (instance.source, instance.target) == codes


def test_microsoft_is_built_lazily_without_network(no_network):
    translator = make_translator(TranslatorSettings("microsoft", "ar", "en", api_key="k"))
    assert translator.provider == "microsoft"


def test_http_guards_are_idempotent_and_leave_global_requests_alone():
    import deep_translator.libre as libre_module

    transport.install_http_guards()
    proxy = libre_module.requests
    transport.install_http_guards()
    assert libre_module.requests is proxy and isinstance(proxy, transport._TimeoutRequests)
    assert proxy.exceptions is requests.exceptions  # everything else is forwarded
    assert not isinstance(requests, transport._TimeoutRequests)
    assert requests.post.__module__ == "requests.api"
    pool_filters = logging.getLogger("urllib3.connectionpool").filters
    assert sum(isinstance(f, transport._RedactKeysInUrls) for f in pool_filters) == 1


# ------------------------------------------------------------------ the real libre path


@pytest.mark.network_stub
def test_libre_translates_a_paragraph(stub):
    assert libre(stub).translate(SENTENCE) == default_translate(SENTENCE)
    [request] = stub.requests
    assert request == {
        "path": "/translate", "method": "POST", "q": SENTENCE,
        "source": "ar", "target": "en", "format": "text", "api_key": "no-key",
    }


@pytest.mark.network_stub
def test_libre_url_without_trailing_slash_works(stub):
    assert libre(stub, url=stub.url.rstrip("/")).translate(SENTENCE) == default_translate(SENTENCE)


@pytest.mark.network_stub
def test_long_paragraph_is_sent_in_chunks_and_rejoined_with_a_space(stub):
    text = arabic_sentences(150)  # over 4,500 characters
    chunks = split_for_provider(text, "libre")
    assert len(chunks) > 1
    assert libre(stub).translate(text) == " ".join(default_translate(c) for c in chunks)
    assert [r["q"] for r in stub.requests] == chunks


@pytest.mark.network_stub
def test_429_is_retried_then_succeeds(stub):
    stub.set_fault("429", times=1)
    translator = libre(stub)
    slept: list[float] = []
    translator._sleep = slept.append
    assert translator.translate(SENTENCE) == default_translate(SENTENCE)
    assert len(stub.requests) == 2
    assert len(slept) == 1 and 0 < slept[0] <= 0.01


@pytest.mark.network_stub
def test_500_is_retried_until_exhausted(stub):
    stub.set_fault("500")
    error = translate_error(libre(stub, max_retries=2))
    assert "HTTP 500" in error.reason and "2 retries" in error.reason
    assert len(stub.requests) == 3


@pytest.mark.network_stub
def test_429_exhausted_names_the_status(stub):
    stub.set_fault("429")
    error = translate_error(libre(stub, max_retries=1))
    assert error.reason.startswith("HTTP 429 Too Many Requests")
    assert len(stub.requests) == 2


@pytest.mark.network_stub
def test_sleeping_server_times_out_within_budget(stub):
    stub.sleep_seconds = 10  # would hang the test for 30 s without the timeout
    stub.set_fault("sleep")
    translator = libre(stub, timeout=0.2, max_retries=2)
    started = time.monotonic()
    error = translate_error(translator)
    elapsed = time.monotonic() - started
    assert "timed out after 0.2 s" in error.reason
    assert len(stub.requests) == 3
    assert elapsed < 0.2 * 3 + 1.0


@pytest.mark.network_stub
def test_empty_json_reply_is_not_retried(stub):
    stub.set_fault("empty_json")
    assert translate_error(libre(stub)).reason == "reply had no translation"
    assert len(stub.requests) == 1


@pytest.mark.network_stub
def test_non_json_reply_fails(stub):
    stub.set_fault("not_json")
    assert translate_error(libre(stub)).reason == "reply was not JSON"
    assert len(stub.requests) == 1


@pytest.mark.network_stub
def test_echoed_reply_fails(stub):
    stub.set_fault("echo")
    assert "sent back" in translate_error(libre(stub)).reason


@pytest.mark.network_stub
def test_arabic_reply_fails(stub):
    stub.set_fault("arabic")
    assert "Arabic" in translate_error(libre(stub)).reason


@pytest.mark.network_stub
def test_mymemory_warning_reply_fails(stub):
    stub.set_fault("mymemory_warning")
    assert "warning" in translate_error(libre(stub)).reason


@pytest.mark.network_stub
def test_script_reply_comes_back_as_plain_text(stub):
    stub.set_fault("script")
    result = libre(stub).translate(SENTENCE)
    assert result == "<script>alert(1)</script>" + default_translate(SENTENCE)


@pytest.mark.network_stub
def test_fault_only_hits_matching_paragraphs(stub):
    stub.set_fault("500", when=lambda q: "خطأ" in q)
    translator = libre(stub, max_retries=0)
    assert translator.translate(SENTENCE) == default_translate(SENTENCE)
    translate_error(translator, "خطأ في الخادم")


def _all_text(error: BaseException) -> str:
    return " ".join(
        [str(error), repr(error), getattr(error, "reason", ""), repr(error.args),
         "".join(traceback.format_exception(error))]
    )


@pytest.mark.network_stub
def test_api_key_never_shows_in_errors_or_logs(stub, caplog):
    caplog.set_level(logging.DEBUG)
    stub.set_fault("key_in_error")
    error = translate_error(libre(stub, api_key=SECRET))
    assert stub.requests[0]["api_key"] == SECRET  # the key was really sent and echoed
    assert len(stub.requests) == 1  # 403 is not retried
    assert "HTTP 403" in error.reason
    assert SECRET not in _all_text(error)
    assert error.__cause__ is None and error.__context__ is None
    assert SECRET not in caplog.text


@pytest.mark.network_stub
def test_api_key_never_shows_when_the_server_is_down(caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = TranslatorSettings(
        "libre", "ar", "en", url=f"http://127.0.0.1:{port}/", timeout=1.0,
        api_key=SECRET, max_retries=1, backoff_base=0.01,
    )
    error = translate_error(make_translator(settings))
    assert "could not connect" in error.reason and "1 retries" in error.reason
    assert SECRET not in _all_text(error) and SECRET not in caplog.text


@pytest.mark.network_stub
def test_twenty_paragraphs_from_four_threads(stub):
    translator = libre(stub)
    paragraphs = [f"{SENTENCE} الفقرة رقم {i}." for i in range(20)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(translator.translate, paragraphs))
    assert results == [default_translate(p) for p in paragraphs]
    assert sorted(r["q"] for r in stub.requests) == sorted(paragraphs)


@pytest.mark.network_stub
def test_each_thread_gets_its_own_deep_translator_instance(stub):
    translator = libre(stub)
    barrier = threading.Barrier(4)

    def instances() -> tuple[object, object]:
        barrier.wait()  # all four alive at once, so no thread reuse
        return translator._instance(), translator._instance()

    with ThreadPoolExecutor(max_workers=4) as pool:
        pairs = list(pool.map(lambda _: instances(), range(4)))
    assert all(first is second for first, second in pairs)
    assert len({id(first) for first, _ in pairs}) == 4


# ------------------------------------------------------------------ fake translator


def test_fake_translator_is_deterministic_english_and_valid():
    fake = FakeTranslator()
    first, second = fake.translate(SENTENCE), fake.translate(SENTENCE)
    assert first == second != fake.translate(SENTENCE + " أمس")
    assert first.startswith("English ") and len(first.split()) == 2 + len(SENTENCE.split())
    assert validate_translation(SENTENCE, first) == first
    assert fake.calls == [SENTENCE, SENTENCE, SENTENCE + " أمس"]
    assert isinstance(fake, ParagraphTranslator)


def test_fake_translator_fails_on_request_and_records_calls_from_threads():
    fake = FakeTranslator(fail_on=lambda text: "فشل" in text)
    with pytest.raises(TranslationFailed):
        fake.translate("فشل هنا")
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(fake.translate, [f"نص {i}" for i in range(200)]))
    assert len(fake.calls) == 201


# ------------------------------------------------------------------ the stub itself


@pytest.mark.network_stub
def test_stub_accepts_json_and_form_bodies_and_lists_languages(stub):
    by_json = requests.post(stub.url + "translate", json={"q": "مرحبا", "source": "ar", "target": "en"}, timeout=2)
    by_form = requests.post(stub.url + "translate", data={"q": "مرحبا", "source": "ar", "target": "en"}, timeout=2)
    assert by_json.json() == by_form.json() == {"translatedText": default_translate("مرحبا")}
    assert by_json.headers["Content-Type"] == "application/json"
    assert [r["source"] for r in stub.requests] == ["ar", "ar"]
    assert {lang["code"] for lang in requests.get(stub.url + "languages", timeout=2).json()} == {"ar", "en"}


@pytest.mark.network_stub
def test_stub_stops_promptly_with_a_sleeping_request_in_flight():
    stub = LibreStub(sleep_seconds=30)
    stub.set_fault("sleep")
    client = threading.Thread(
        target=lambda: requests.post(stub.url + "translate", params={"q": "نص"}, timeout=5), daemon=True
    )
    client.start()
    while not stub.requests:
        time.sleep(0.01)
    started = time.monotonic()
    stub.stop()
    assert time.monotonic() - started < 2
    client.join(timeout=5)
    assert not client.is_alive()


@hyp_settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(max_codepoint=0xB0), st.sampled_from(list("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061cحمص"))), max_size=20))
def test_cleaning_a_reply_only_when_it_needs_it_gives_what_cleaning_always_gave(text):
    # The search that skips str.translate must find every character the table removes or changes.
    from sitegen.translation.replies import _CLEAN_TABLE, _clean

    assert _clean(text) == text.translate(_CLEAN_TABLE)
