"""Building deep-translator's translator objects, one provider's quirks at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..config import PROVIDERS
from .failures import TranslationFailed

# LibreTranslator refuses to start without a key, even for a self-hosted server
# that does not check it; a placeholder satisfies it.
LIBRE_PLACEHOLDER_KEY = "no-key"
# QcriTranslator.translate() reads kwargs["domain"] and raises KeyError without it.
QCRI_DOMAIN = "general"


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


# --------------------------------------------------------------------------- deep-translator objects


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


def provider_factory(settings: TranslatorSettings) -> Callable[[], Any]:
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
