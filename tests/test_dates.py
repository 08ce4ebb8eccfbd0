"""Dates as each Arabic-speaking region writes them, from CLDR through Babel; a region never
changes the translation memory."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from babel import Locale
from babel.dates import format_date as babel_format_date

from sitegen.config import ConfigError, load_config
from hijridate import Gregorian

from sitegen.content.metadata import DIGITS, digits, format_date, hijri_date, localise_digits, month_names
from sitegen.core.languages import base_language, direction, locale_identifier
from sitegen.translation.memory import entry_key
from test_english_edition import built, sample_site

LOCALES = ["ar", "ar-SY", "ar-LB", "ar-IQ", "ar-JO", "ar-EG", "ar-SA", "ar-MA", "ar-DZ", "ar-TN", "en"]
DAYS = [date(2012, 2, 24), date(2026, 11, 25), date(2001, 1, 1), date(1999, 12, 31)]


@pytest.mark.parametrize("tag", LOCALES)
def test_dates_are_cldrs_long_date_with_the_locales_digits(tag):
    locale = Locale.parse(locale_identifier(tag))
    system = locale.default_numbering_system
    for day in DAYS:
        expected = babel_format_date(day, "d MMMM y", locale=locale)  # Babel writes Latin digits
        if system != "latn":
            expected = expected.translate(str.maketrans(DIGITS["latn"], DIGITS[system]))
        assert format_date(day, tag) == expected
    assert month_names(tag) == tuple(locale.months["format"]["wide"][m] for m in range(1, 13))


def test_levantine_months_and_arabic_indic_digits_for_ar_sy():
    assert format_date(date(2026, 11, 25), "ar-SY") == "٢٥ تشرين الثاني ٢٠٢٦"
    assert [month_names("ar-SY")[m - 1] for m in (2, 3, 11)] == ["شباط", "آذار", "تشرين الثاني"]
    assert month_names("ar-EG")[10] == "نوفمبر"


def test_numerals_override_the_locale():
    day = date(2012, 3, 1)
    assert format_date(day, "ar-SY", "latn") == "1 آذار 2012"
    assert format_date(day, "ar-MA", "arab") == localise_digits("1 " + month_names("ar-MA")[2] + " 2012", "ar", "arab")
    assert digits("ar-MA") == DIGITS[Locale.parse("ar_MA").default_numbering_system]
    assert localise_digits("الجزء 2 من 3", "ar-SY") == "الجزء ٢ من ٣"


def test_tags_and_their_base_language():
    assert base_language("ar-SY") == "ar" and direction("ar-SY") == "rtl"
    assert locale_identifier("ar-sy") == "ar_SY" and locale_identifier("zh-hant-tw") == "zh_Hant_TW"
    assert entry_key("نص", "ar-SY", "en") == entry_key("نص", "ar", "en") != entry_key("نص", "fa", "en")


def _config(tmp_path: Path, text: str):
    (tmp_path / "site.yml").write_text("title: اختبار\n" + text, encoding="utf-8")
    return load_config(tmp_path / "site.yml")


@pytest.mark.parametrize("line, expected", [
    ("language: ar-XX\n", r"site\.yml:2: 'language' 'ar-XX' is not a locale CLDR knows: use ar"),
    ("language: arabic_SY\n", r"site\.yml:2: 'language' must be a language code \(a BCP 47 tag\)"),
    ("numerals: hindi\n", r"site\.yml:2: 'numerals' must be one of auto, arab, latn, not 'hindi'"),
    ("calendar: julian\n", r"site\.yml:2: 'calendar' must be gregorian or gregorian\+hijri"),
])
def test_bad_language_or_numerals_name_the_line_and_the_fix(tmp_path, line, expected):
    with pytest.raises(ConfigError) as raised:
        _config(tmp_path, line)
    assert re.search(expected, str(raised.value)), str(raised.value)


def test_a_good_tag_is_kept_as_written(tmp_path):
    config = _config(tmp_path, "language: ar-SY\nnumerals: latn\n")
    assert (config.language, config.numerals) == ("ar-SY", "latn")


def test_switching_ar_to_ar_sy_keeps_every_companion(tmp_path):
    # The memory was made under 'ar' (the repository's sample); the site now says ar-SY.
    arabic = built(sample_site(tmp_path / "ar", language="ar"))
    levantine_site = sample_site(tmp_path / "sy", language="ar-SY", numerals="auto")
    memory = levantine_site / "translations"
    before = {p.name: p.read_bytes() for p in memory.iterdir()}
    levantine = built(levantine_site)
    english = sorted(p.name for p in (arabic / "en").glob("*.html"))
    assert len(english) >= 4 and english == sorted(p.name for p in (levantine / "en").glob("*.html"))
    assert {p.name: p.read_bytes() for p in memory.iterdir()} == before  # not one entry rewritten
    page = next((levantine / "ar").glob("*-1.html")).read_text(encoding="utf-8")
    assert '<html lang="ar-SY" dir="rtl">' in page
    assert '<time datetime="2012-02-24">٢٤ شباط ٢٠١٢</time>' in page
    assert 'hreflang="ar-SY"' in page
    assert yaml.safe_load(next(memory.iterdir()).read_text(encoding="utf-8"))["source_language"] == "ar"


def test_hijri_dates_are_umm_al_qura_in_arabic_or_english():
    day = date(2012, 2, 24)
    hijri = Gregorian(2012, 2, 24).to_hijri()
    assert (hijri.year, hijri.month, hijri.day) == (1433, 4, 2)
    assert hijri_date(day, "en") == f"2 {hijri.month_name('en')} 1433 AH" == "2 Rabi' al-Thani 1433 AH"
    assert hijri_date(day, "ar-SY") == localise_digits(f"2 {hijri.month_name('ar')} 1433 هـ", "ar", "arab")
    assert hijri_date(day, "ar", "latn") == "2 ربيع الثاني 1433 هـ"
    assert hijri_date(date(1900, 1, 1), "ar") is None  # before the Umm al-Qura tables: no date rather than a wrong one


def test_a_levantine_site_with_hijri_dates(tmp_path):
    site = built(sample_site(tmp_path / "sy", language="ar-SY", numerals="auto", calendar="gregorian+hijri"))
    arabic = next((site / "ar").glob("*-1.html")).read_text(encoding="utf-8")
    assert '<time datetime="2012-02-24">٢٤ شباط ٢٠١٢</time> <span class="sep" aria-hidden="true">·</span> <span class="hijri">٢ ربيع الثاني ١٤٣٣ هـ</span>' in arabic
    english = next((site / "en").glob("*-1.html")).read_text(encoding="utf-8")
    assert '<time datetime="2012-02-24">24 February 2012</time> <span class="sep" aria-hidden="true">·</span> <span class="hijri">2 Rabi&#39; al-Thani 1433 AH</span>' in english
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count('<span class="hijri">٢ ربيع الثاني ١٤٣٣ هـ</span>') >= 3  # every entry of the article
    for search in (site / "search.html", site / "en" / "search.html"):  # they carry the Umm al-Qura table
        assert "&#34;lengths&#34;" in search.read_text(encoding="utf-8") and search.stat().st_size < 30_000
