"""Titles, dates and slugs: what a segment is called, when it was published and where it goes."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.content.metadata import (
    ELLIPSIS,
    MAX_SLUG_BYTES,
    TITLE_LIMIT,
    cut_at_word,
    date_from_file_name,
    default_slug,
    derive_title,
    first_sentence,
    format_date,
    slug_collision_key,
    slug_problem,
)
from sitegen.content.segment import build_segments
from sitegen.content.sources import decode_source
from sitegen.core.textrules import collapse_spaces

WORDS = "قال المتحدث باسم المجلس الوطني السوري في مؤتمر صحفي عقده اليوم في العاصمة الفرنسية باريس"


def segments_of(text: str, name: str = "a.txt", git_date: date | None = None):
    src, problems = decode_source(text.encode(), Path("/content") / name, name)
    assert problems == []
    return build_segments(src, git_date)


def balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"«": 1, "»": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0 and text.count('"') % 2 == 0 and text.count("“") == text.count("”")


# -- titles ------------------------------------------------------------------------------


def test_title_is_the_first_sentence():
    assert derive_title("انتهى الاجتماع. ثم بدأ اجتماع آخر.") == "انتهى الاجتماع."


@pytest.mark.parametrize("end", ["؟", "!", "…", "?"])
def test_arabic_and_latin_sentence_ends(end):
    assert first_sentence(f"هل انتهى{end} نعم") == f"هل انتهى{end}"


def test_decimal_point_does_not_end_the_sentence():
    assert first_sentence("ارتفع السعر إلى 3.5 دولار. ثم هبط") == "ارتفع السعر إلى 3.5 دولار."


def test_closing_quote_after_the_full_stop_stays_with_the_sentence():
    assert first_sentence("قال «انتهى الأمر.» ثم خرج") == "قال «انتهى الأمر.»"


def test_short_title_is_not_cut():
    assert derive_title("خبر قصير") == "خبر قصير"


def test_long_title_is_cut_at_a_word_boundary_with_an_ellipsis():
    text = (WORDS + " ") * 3
    title = derive_title(text)
    assert len(title) <= TITLE_LIMIT
    assert title.endswith(ELLIPSIS)
    kept = title[: -len(ELLIPSIS)]
    assert text.startswith(kept)
    assert text[len(kept)] == " ", "cut in the middle of a word"
    assert len(title) > TITLE_LIMIT - 15, "cut far too early"


def test_title_cut_never_leaves_an_open_guillemet():
    text = "قال المتحدث باسم المجلس الوطني السوري في مؤتمر صحفي إن «الوضع في حمص كارثي ولا يمكن السكوت عنه بعد اليوم على الإطلاق» ثم غادر."
    assert text.index("«") < TITLE_LIMIT < text.index("»")  # the limit falls inside the quotation
    title = derive_title(text)
    assert title.endswith(ELLIPSIS)
    assert len(title) <= TITLE_LIMIT
    assert "«" not in title and "»" not in title
    assert balanced(title)


def test_quotation_opening_the_text_keeps_its_words_but_loses_the_lone_mark():
    text = "«" + "كلمة " * 30 + "» وانتهى."
    title = derive_title(text)
    assert title.startswith("كلمة")
    assert balanced(title)
    assert len(title) <= TITLE_LIMIT


def test_closed_quotation_before_the_cut_is_kept():
    text = "قال «نعم» ثم " + WORDS + " " + WORDS
    title = derive_title(text)
    assert "«نعم»" in title and title.endswith(ELLIPSIS)


@pytest.mark.parametrize("quote_open, quote_close", [('"', '"'), ("“", "”"), ("(", ")")])
def test_other_quotes_and_brackets_are_never_left_open(quote_open, quote_close):
    text = f"قال المتحدث باسم المجلس الوطني السوري في مؤتمر صحفي إن {quote_open}الوضع في حمص كارثي ولا يمكن السكوت عنه بعد اليوم أبدا{quote_close} ثم غادر."
    assert text.index(quote_open) < TITLE_LIMIT < text.rindex(quote_close)
    title = derive_title(text)
    assert title.endswith(ELLIPSIS)
    if quote_open == quote_close:
        assert title.count(quote_open) % 2 == 0
    else:
        assert title.count(quote_open) == title.count(quote_close)


_word = st.text(alphabet="ابتث", min_size=1, max_size=8)


def _quoted(opening: str, closing: str):
    return st.lists(_word, min_size=1, max_size=8).map(lambda words: opening + " ".join(words) + closing)


_piece = st.one_of(_word, _word, _quoted("«", "»"), _quoted("“", "”"), _quoted('"', '"'), _quoted("(", ")"))


def _balanced_all(text: str) -> bool:
    pairs = {"«": "»", "“": "”", "(": ")"}
    expected: list[str] = []
    for char in text:
        if char in pairs:
            expected.append(pairs[char])
        elif char in pairs.values() and (not expected or expected.pop() != char):
            return False
    return not expected and text.count('"') % 2 == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(_piece, min_size=1, max_size=40).map(" ".join))
def test_cut_of_balanced_text_is_bounded_balanced_and_a_prefix(text):
    cut = cut_at_word(text, TITLE_LIMIT)
    assert len(cut) <= TITLE_LIMIT
    assert _balanced_all(cut), cut
    if len(text) <= TITLE_LIMIT:
        assert cut == text
    else:
        assert cut.endswith(ELLIPSIS)


def test_a_story_opening_with_code_or_a_table_takes_its_title_and_excerpt_from_its_prose():
    """As its English companion does (code and tables have no translation units)."""
    body = "```\nx = [1, 2]  # الشيفرة\n```\n\n| أ | ب |\n|---|---|\n| ١ | ٢ |\n\nالجملة الأولى من الخبر. والثانية.\n"
    (segment,), problems = segments_of(body, "a.md")
    assert problems == []
    assert segment.title == "الجملة الأولى من الخبر."
    assert segment.excerpt.startswith("الجملة الأولى من الخبر.")
    (code_only,), _ = segments_of("```\nx = 1\n```\n", "b.md")
    assert code_only.title == "x = 1"  # nothing else to take it from


def test_title_from_front_matter_wins(make_site, run_build, parse_page):
    site = make_site({"content/a.txt": "---\ntitle: عنوان من الكاتب\n---\nالجملة الأولى. والثانية."})
    assert run_build(site).returncode == 0
    page = parse_page(site / "_site" / "ar" / "a-1.html")
    assert page.h1 == ["عنوان من الكاتب"]
    assert page.title.startswith("عنوان من الكاتب")


# -- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("2012-02-24-homs.txt", date(2012, 2, 24)),
        ("2012-02-24_homs.md", date(2012, 2, 24)),
        ("2012-02-24.txt", date(2012, 2, 24)),
        ("2012-02-30-homs.txt", None),  # no such day
        ("20120224-homs.txt", None),
        ("homs-2012-02-24.txt", None),  # a prefix, not anywhere in the name
        ("2012-02-245.txt", None),
    ],
)
def test_date_from_file_name(name, expected):
    assert date_from_file_name(name) == expected


def test_tags_separated_by_arabic_commas_are_separate_tags():
    (text,), problems = segments_of("---\ntags: حمص، سوريا، بابا عمرو\n---\nنص", "x.txt")
    (listed,), _ = segments_of("---\ntags: [حمص، إدلب, 2012]\n---\nنص", "y.txt")
    (latin,), _ = segments_of("---\ntags: حمص, سوريا,\n---\nنص", "z.txt")
    assert problems == []
    assert (text.tags, listed.tags, latin.tags) == (("حمص", "سوريا", "بابا عمرو"), ("حمص", "إدلب", "2012"), ("حمص", "سوريا"))


def test_a_date_in_arabic_indic_or_persian_digits_is_the_date_it_says():
    (arabic,), problems = segments_of("---\ndate: ٢٠١٢-٠٣-٠١\n---\nنص", "x.txt")
    (persian,), _ = segments_of("---\ndate: ۲۰۱۲-۰۳-۰۴\n---\nنص", "x.txt")
    (named,), _ = segments_of("نص", "٢٠١٢-٠٣-٠٢-حمص.txt")
    assert problems == [] and (arabic.date, persian.date, named.date) == (date(2012, 3, 1), date(2012, 3, 4), date(2012, 3, 2))
    _, refused = segments_of("---\ndate: ٢٠١٢/٠٣/٠١\n---\nنص", "x.txt")
    assert [p.message for p in refused] == ["date '٢٠١٢/٠٣/٠١' is not a date: write it as YYYY-MM-DD, e.g. 2012-02-24"]


def test_date_priority_front_matter_then_file_name_then_git():
    git_day = date(2010, 1, 1)
    (from_front,), _ = segments_of("---\ndate: 2012-03-01\n---\nنص", "2012-02-24-x.txt", git_day)
    (from_name,), _ = segments_of("نص", "2012-02-24-x.txt", git_day)
    (from_git,), _ = segments_of("نص", "x.txt", git_day)
    (undated,), _ = segments_of("نص", "x.txt", None)
    assert (from_front.date, from_name.date, from_git.date, undated.date) == (date(2012, 3, 1), date(2012, 2, 24), git_day, None)


def test_file_name_date_is_the_file_name_not_the_folder():
    (segment,), _ = segments_of("نص", "2012-02-24/x.txt")
    assert segment.date is None


def test_arabic_date_format():
    assert format_date(date(2012, 2, 24), "ar", "arab") == "٢٤ فبراير ٢٠١٢"
    assert format_date(date(2012, 2, 24), "ar") == "24 فبراير 2012"  # CLDR: plain ar writes Latin digits
    assert format_date(date(2012, 12, 1), "en") == "1 December 2012"


# -- slugs ------------------------------------------------------------------------------------


def test_default_slug_is_stem_and_number():
    assert default_slug("homs-baba-amr.txt", 2) == "homs-baba-amr-2"
    assert default_slug("2012/02/homs.md", 1) == "2012-02-homs-1"


def test_default_slugs_of_a_file():
    segments, _ = segments_of("أ\n===\nب\n===\nج", "homs.txt")
    assert [s.slug for s in segments] == ["homs-1", "homs-2", "homs-3"]


def test_front_matter_slug():
    (segment,), problems = segments_of("---\nslug: حمص-بابا-عمرو\n---\nنص")
    assert problems == []
    assert segment.slug == "حمص-بابا-عمرو"


@pytest.mark.parametrize(
    "slug",
    [
        "a/b", "../../etc/passwd", "a\\b", "..", "x..y", ".hidden", "a\x00b", "a\x07b", "a\nb", "a\u202eb",
        "", "   ", " lead", "trail ", "a?b", "a#b", "a%20b", "ح" * 126,
    ],
)
def test_slug_problem_refuses(slug):
    assert slug_problem(slug) is not None


@pytest.mark.parametrize("slug", ["homs-2012-02", "حمص-بابا-عمرو", "a_b.c", "ح" * 125, "x" * MAX_SLUG_BYTES])
def test_slug_problem_accepts(slug):
    assert slug_problem(slug) is None


@pytest.mark.parametrize(
    "yaml_slug",
    ['"a/b"', '"a\\\\b"', '"../escape"', '"a\\0b"', '"a\\x01b"', '""', '"   "', '"' + "ح" * 130 + '"'],
)
def test_bad_front_matter_slug_is_an_error_with_file_and_line(yaml_slug):
    segments, problems = segments_of(f"---\ntitle: ع\nslug: {yaml_slug}\n---\nنص", "2012/x.txt")
    assert segments == ()
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1, problems
    assert errors[0].path.endswith("2012/x.txt") and errors[0].line == 3


@pytest.mark.parametrize("name", ["q?.txt", "a#b.txt", "tab\there.txt", "rlo\u202ex.txt"])
def test_a_file_name_that_makes_a_bad_slug_says_to_rename_the_file(name):
    segments, problems = segments_of("نص", f"2012/{name}")
    assert segments == ()
    (problem,) = [p for p in problems if p.is_error]
    assert "made from the file name: rename the file, or set 'slug'" in problem.message, problem


def test_a_bad_front_matter_slug_does_not_blame_the_file_name():
    _, problems = segments_of("---\nslug: a?b\n---\nنص", "2012/x.txt")
    (problem,) = [p for p in problems if p.is_error]
    assert "made from the file name" not in problem.message


def test_bad_slug_fails_the_build_and_writes_nothing_outside(make_site, run_build, tmp_path):
    site = make_site({"content/a.txt": "---\nslug: ../../../escaped\n---\nنص"})
    run = run_build(site)
    assert run.returncode == 1
    assert "a.txt:2:" in run.stderr
    assert not list(tmp_path.rglob("escaped*"))


def test_collision_key_ignores_case_and_normalisation():
    assert slug_collision_key("Homs") == slug_collision_key("homs")
    assert slug_collision_key("e\u0301") == slug_collision_key("\u00e9")


@given(st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=127))))
def test_collision_key_is_nfc_casefolded_text_whatever_the_slug(slug):
    """ASCII takes a shorter way (lower()); every slug gets what NFC and casefold give."""
    assert slug_collision_key(slug) == unicodedata.normalize("NFC", slug).casefold()


_slug_chars = st.one_of(
    st.sampled_from(list("./\\\x00 \t-_~#?%:ح") + ["..", "../", "/.."]),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_slug_chars, max_size=12).map("".join))
def test_slug_validator_never_accepts_an_escape_from_the_output_folder(tmp_path_factory, slug):
    output_dir = tmp_path_factory.getbasetemp() / "out"
    if slug_problem(slug) is not None:
        return
    target = (output_dir / f"ar/{slug}.html").resolve()
    ar = (output_dir / "ar").resolve()
    assert target.parent == ar, slug
    assert target.name == f"{slug}.html"
    assert len(target.name.encode()) <= 255


_SPACES = st.sampled_from([" ", "  ", "\n", "\t \n", " " * 300, "\u00a0", "\u2003 "])
_WORDS = st.sampled_from(["حمص", "بابا", "عمرو", "«قصف»", "(حي", "الخالدية)", "a", "word", "…", "،"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_SPACES, _WORDS), max_size=400), st.sampled_from([5, 12, 90, 200]))
def test_cut_at_word_reads_only_a_start_but_cuts_as_if_it_collapsed_the_whole_text(parts, limit):
    # The text's white space is collapsed only as far as the cut reads; the result must be
    # what collapsing all of it first gives, whatever runs of spaces lie where the start ends.
    import re

    text = "".join(parts)
    whole = re.sub(r"\s+", " ", text).strip()
    assert cut_at_word(text, limit) == cut_at_word(whole, limit)
    assert len(cut_at_word(text, limit)) <= limit


# Every character Python calls white space, and some it does not (zero-width and joiners,
# which a title keeps), between words and at the ends.
_ANY_SPACE = st.sampled_from([chr(c) for c in range(0x110000) if chr(c).isspace()] + ["\u200b", "\u200c", "\u200d", "\ufeff", "\u180e"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.lists(_ANY_SPACE, min_size=1, max_size=4).map("".join), _WORDS), max_size=40))
def test_collapse_spaces_makes_each_run_of_white_space_one_space_as_the_regex_rule_does(parts):
    import re

    text = "".join(parts)
    assert collapse_spaces(text) == re.sub(r"\s+", " ", text).strip()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([" ", " ", " ", "\u200f", "\u200c", "\x85", "\u00a0", "\u3000"]), _WORDS), max_size=40))
def test_collapse_spaces_gives_a_text_collapsed_already_back_as_it_is_and_collapses_any_other(parts):
    # Mostly single spaces between words, so that many texts are collapsed already (the
    # quick path), with marks that are not white space (RLM, ZWNJ) and some that are.
    import re

    text = "".join(parts)
    expected = re.sub(r"\s+", " ", text).strip()
    collapsed = collapse_spaces(text)
    assert collapsed == expected and type(collapsed) is str
    if expected == text and text.isprintable():
        assert collapsed is text  # not split and joined again (a mark such as RLM is not printable: it is)


def test_collapse_spaces_makes_markup_a_text_as_splitting_and_joining_did():
    from markupsafe import Markup

    collapsed = collapse_spaces(Markup("حمص بابا"))
    assert collapsed == "حمص بابا" and type(collapsed) is str


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_SPACES, _WORDS), max_size=400), st.sampled_from([5, 12, 90, 200]))
def test_a_search_snippet_reads_only_a_start_but_cuts_as_if_it_collapsed_the_whole_text(parts, limit):
    # The search's snippets take the same collapsed start as titles (textrules.collapsed_start).
    from sitegen.outputs.search.analyser import _snippet

    text = "".join(parts)
    assert _snippet(text, limit) == _snippet(collapse_spaces(text), limit)
