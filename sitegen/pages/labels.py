"""The words of the interface, per language. A theme can override them through templates."""

from __future__ import annotations

from ..content.metadata import format_date

_PROVIDER_NAMES = {
    "google": "Google Translate",
    "libre": "LibreTranslate",
    "mymemory": "MyMemory",
    "deepl": "DeepL",
    "microsoft": "Microsoft Translator",
    "qcri": "QCRI",
    # The sample's entries were written by hand; saying "machine-translated" would be untrue.
    "developer-draft": "the project's developer (an AI model), written by hand rather than by a translation service",
}

_MACHINE_PROVIDERS = {"google", "libre", "mymemory", "deepl", "microsoft", "qcri", "fake"}

LABELS = {
    "ar": {
        "skip": "تخطَّ إلى المحتوى",
        "site_nav": "تصفح الموقع",
        "index": "الفهرس",
        "search": "بحث",
        "undated": "بلا تاريخ",
        "neighbours": "أجزاء المقال",
        "previous": "الجزء السابق",
        "next": "الجزء التالي",
        "parallel": "النص والترجمة جنبًا إلى جنب",
        "original": "النص العربي",
        "companion_short": "English",
        "pagination": "صفحات الفهرس",
        "newer": "الأحدث",
        "older": "الأقدم",
        "empty": "لا مقالات بعد.",
        "not_found": "هذه الصفحة غير موجودة.",
        "archive": "نسخة الموقع كاملة للقراءة دون اتصال (zip)",
        "english_index": "English",
        "page": "صفحة",
    },
    "en": {
        "skip": "Skip to content",
        "site_nav": "Site",
        "index": "Index",
        "search": "بحث",
        "undated": "Undated",
        "neighbours": "Parts of this article",
        "previous": "Previous part",
        "next": "Next part",
        "parallel": "Side by side with the Arabic",
        "original": "Arabic original",
        "companion_short": "English",
        "pagination": "Index pages",
        "newer": "Newer",
        "older": "Older",
        "empty": "No translated articles yet.",
        "not_found": "This page does not exist.",
        "archive": "The whole site for offline reading (zip)",
        "english_index": "English",
        "page": "Page",
    },
}


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def part_label(number: int, count: int, language: str) -> str | None:
    if count <= 1:
        return None
    if language == "ar":
        return f"الجزء {number} من {count}".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    return f"Part {number} of {count}"


def provider_name(provider: str) -> str:
    return _PROVIDER_NAMES.get(provider, provider)


def translation_notice(providers: tuple[str, ...], day: str, reviewed: bool) -> str:
    """What a reader must be told about where the English text comes from."""
    names = " and ".join(provider_name(p) for p in providers)
    when = _english_date(day)
    if reviewed:
        return f"Translated from Arabic on {when} by {names}, and reviewed by an editor."
    kind = "Machine-translated" if all(p in _MACHINE_PROVIDERS for p in providers) else "Translated"
    return f"{kind} from Arabic on {when} by {names}. Not reviewed by an editor; the Arabic original is authoritative."


def _english_date(day: str) -> str:
    from datetime import date

    try:
        return format_date(date.fromisoformat(day), "en")
    except ValueError:
        return day
