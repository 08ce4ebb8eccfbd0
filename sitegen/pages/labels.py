"""The words of the interface, per language. A theme can override them through templates."""

from __future__ import annotations

from ..content.metadata import format_date, localise_digits
from ..core.languages import base_language

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
        "related": "قصص ذات صلة",
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
        "front_page": "أحدث المقالات",
        "other_edition": "English",
        "edition_description": "ترجمات إنجليزية لمقالات هذا الموقع العربية.",
        "search_heading": "البحث في الأرشيف",
        "search_prompt": "ابحث بالعربية أو بالإنجليزية",
        "search_noscript": "البحث يحتاج إلى تفعيل JavaScript في المتصفح؛ أما بقية صفحات الموقع فتعمل من دونه.",
        "search_more": "عرض المزيد",
        "search_no_index": "تعذّر تحميل فهرس البحث.",
        "search_failed": "تعذّر تحميل جزء من فهرس البحث.",
        "searching": "جارٍ البحث…",
        "search_no_words": "اكتب كلمة أو أكثر للبحث.",
        "search_none": "لا توجد نتائج مطابقة.",
        "search_one": "نتيجة واحدة",
        "search_count": "عدد النتائج: {n}",
        "search_english": "بالإنجليزية: ",
        "not_found_link": "الذهاب إلى الفهرس",
        "photo_credit": "تصوير:",
        "tags": "الوسوم",
        "authors": "الكتّاب",
        "sections": "الأقسام",
        "archive_heading": "الأرشيف حسب الشهر",
        "archive_link": "الأرشيف",
        "terms_count": "عدد المقالات",
        "section": "القسم",
        "browse": "تصفح الأرشيف",
    },
    "en": {
        "skip": "Skip to content",
        "site_nav": "Site",
        "index": "Index",
        "search": "Search",
        "undated": "Undated",
        "neighbours": "Parts of this article",
        "related": "Related stories",
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
        "front_page": "Latest",
        "other_edition": "العربية",
        # The English edition's description when site.yml gives none (translation.description).
        "edition_description": "English translations of this site's Arabic articles.",
        "search_heading": "Search the archive",
        "search_prompt": "Search in English or Arabic",
        "search_noscript": "Search needs JavaScript turned on in the browser; every other page of the site works without it.",
        "search_more": "Show more",
        "search_no_index": "The search index could not be loaded.",
        "search_failed": "Part of the search index could not be loaded.",
        "searching": "Searching…",
        "search_no_words": "Type one or more words to search.",
        "search_none": "No matching results.",
        "search_one": "1 result",
        "search_count": "{n} results",
        "search_english": "",
        "not_found_link": "Go to the English index",
        "photo_credit": "Photo:",
        "tags": "Tags",
        "authors": "Authors",
        "sections": "Sections",
        "archive_heading": "Archive by month",
        "archive_link": "Archive",
        "terms_count": "Articles",
        "section": "Section",
        "browse": "Browse the archive",
    },
}


def labels_for(language: str) -> dict[str, str]:
    """The words of a page in ``language`` (a tag: ar-SY reads the ar words)."""
    return LABELS.get(base_language(language), LABELS["en"])


def part_label(number: int, count: int, language: str, numerals: str = "auto") -> str | None:
    if count <= 1:
        return None
    if base_language(language) == "ar":
        return localise_digits(f"الجزء {number} من {count}", language, numerals)
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
