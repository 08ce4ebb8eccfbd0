"""From a segment body to safe HTML blocks: plain text verbatim, Markdown sanitised and offline."""

from __future__ import annotations

import html
import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.content.markup import (
    _ODD,
    emphasised_paragraph,
    markdown_blocks,
    not_paragraphs,
    not_plain,
    parsed_blocks,
    plain_paragraphs,
    render_body,
    split_top_level,
    text_blocks,
    with_anchor,
)

# -- plain text -------------------------------------------------------------------------------


def test_every_non_blank_line_is_one_paragraph():
    blocks = text_blocks("الأول\n\n  \nالثاني\nالثالث", 10)
    assert [b.tag for b in blocks] == ["p", "p", "p"]
    assert [b.units for b in blocks] == [("الأول",), ("الثاني",), ("الثالث",)]
    assert [b.line for b in blocks] == [10, 13, 14]


@pytest.mark.parametrize(
    "line",
    [
        "قال: «لا» — ثم خرج…",
        "a < b && c > d",
        "نص فيه <script>alert(1)</script> وسم",
        "  مسافات في البداية والنهاية  ",
        "تبويب\tفي الوسط",
        "علامات \u200f\u200e\u200d اتجاه ووصل",
        "مقتبس \"مزدوج\" و'مفرد'",
        "&amp; ليست كيانا",
        "# ليس عنوانا",
        "* ليس قائمة",
        "1. ليس قائمة مرقمة",
        "`ليس رمزا`",
        "[ليس رابطا](http://example.com)",
    ],
)
def test_txt_line_is_kept_verbatim_and_escaped(line):
    (block,) = text_blocks(line, 1)
    assert block.html.startswith("<p>") and block.html.endswith("</p>")
    inner = block.html[3:-4]
    assert html.unescape(inner) == line
    assert "<script" not in inner and "<a" not in inner
    assert block.units == (line,)


def test_txt_never_uses_markdown():
    blocks = render_body("# عنوان\n- بند\n**غامق**", "txt", 1)
    assert [b.tag for b in blocks] == ["p", "p", "p"]
    assert [html.unescape(b.html) for b in blocks] == ["<p># عنوان</p>", "<p>- بند</p>", "<p>**غامق**</p>"]


# -- Markdown ------------------------------------------------------------------------------------


def test_markdown_blocks_and_units():
    blocks = markdown_blocks("## عنوان فرعي\n\nفقرة *مائلة*.\n\n- أ\n- ب\n\n```\nكود\n```", 1)
    assert [b.tag for b in blocks] == ["h2", "p", "ul", "pre"]
    assert blocks[1].units == ("فقرة مائلة.",)
    assert blocks[2].units == ("أ", "ب")
    assert blocks[3].units == ()  # code is never sent for translation


@pytest.mark.parametrize(
    "source, forbidden",
    [
        ("<script>alert(1)</script>\n\nنص", "<script"),
        ("[اضغط](javascript:alert(1))", "javascript:"),
        ('<a href="data:text/html,x">ب</a>', "data:"),
        ("<img src=x onerror=alert(1)>", "onerror"),
        ('<p onclick="x()">ن</p>', "onclick"),
        ("<iframe src=http://example.com></iframe>", "<iframe"),
        ("<style>body{display:none}</style>نص", "<style"),
        ('<p style="color:red">ن</p>', "style="),
        ("<!-- تعليق -->نص", "<!--"),
    ],
)
def test_markdown_is_sanitised(source, forbidden):
    rendered = "".join(b.html for b in markdown_blocks(source, 1))
    assert forbidden not in rendered


def test_image_inside_text_becomes_a_link_never_a_load():
    rendered = "".join(b.html for b in markdown_blocks("قبل ![صورة الحي](photos/baba-amr.jpg) بعد", 1))
    assert "<img" not in rendered
    assert 'href="photos/baba-amr.jpg"' in rendered and "صورة الحي" in rendered


def test_image_alone_on_its_line_becomes_a_photo_block_with_its_words_and_line():
    body = 'فقرة.\n\n![صورة الحي](photos/baba-amr.jpg "بعد القصف")\n\n![](x.png)'
    blocks = markdown_blocks(body, 10)
    assert [b.tag for b in blocks] == ["p", "figure", "figure"]
    photo = blocks[1].photo
    assert (photo.src, photo.alt, photo.caption, photo.line) == ("photos/baba-amr.jpg", "صورة الحي", "بعد القصف", 12)
    assert blocks[1].units == ("صورة الحي", "بعد القصف") and blocks[1].html == ""
    assert blocks[2].photo.line == 14 and blocks[2].units == ()


def test_an_address_written_with_backslash_escapes_is_the_address_it_means_on_its_own_line():
    # Python-Markdown keeps an escaped character as a placeholder of control characters until
    # its own unescaping: a photo taken before that pointed nowhere (p\_1.jpg "not found" when
    # p_1.jpg was there), its link carried the control characters, and its line was the body's first.
    body = "فقرة.\n\n![صورة](photos/p\\_1.jpg \"تعليق\\*\")\n\nفقرة.\n\n![ب](https://example.org/a\\_2.jpg)\n\nقبل ![ج](c\\_3.jpg) بعد"
    blocks = markdown_blocks(body, 10)
    photos = [b.photo for b in blocks if b.photo is not None]
    assert [(p.src, p.caption, p.line) for p in photos] == [("photos/p_1.jpg", "تعليق*", 12), ("https://example.org/a_2.jpg", "", 16)]
    rendered = "".join(b.html for b in blocks)
    assert 'href="c_3.jpg"' in rendered and not re.search("[\x00-\x08\x0b-\x1f]", rendered)


@pytest.mark.timeout(60)
def test_photos_whose_address_is_found_on_no_line_cost_linear_time():
    # 20,000 photos looked for in a body of 40,000 lines, none found: each search read to the
    # end of the body (photos times lines, minutes); the lines read in all are now bounded.
    import time

    from sitegen.content.markup import _photos_found

    body = "\n".join(f"سطر {i}" for i in range(40_000))
    started = time.monotonic()
    photos = _photos_found([(f"nowhere-{i}.jpg", "", "") for i in range(20_000)], body, 5)
    assert time.monotonic() - started < 5
    assert len(photos) == 20_000 and {p.line for p in photos} == {5}


def test_text_that_looks_like_a_photo_marker_stays_text():
    # The marker is made from the body's hash: an author cannot write one.
    from sitegen.core.hashing import hash_bytes

    guess = "photo-" + hash_bytes("![a](b.jpg)")[:20] + "-0"
    blocks = markdown_blocks(f"{guess}\n\n![a](b.jpg)", 1)
    assert [b.tag for b in blocks] == ["p", "figure"] and blocks[0].units == (guess,)


def test_relative_and_http_links_are_kept():
    rendered = "".join(b.html for b in markdown_blocks("[أ](other.html) و[ب](https://example.com/x)", 1))
    assert 'href="other.html"' in rendered and 'href="https://example.com/x"' in rendered


def test_setext_underline_is_not_a_separator_concern_of_markup():
    # markup renders what it is given; the splitter must have cut '===' away before (see test_segments)
    blocks = markdown_blocks("نص", 1)
    assert [b.html for b in blocks] == ["<p>نص</p>"]


def test_split_top_level_keeps_nested_elements_together():
    pieces = split_top_level("<blockquote><p>أ</p><p>ب</p></blockquote><p>ج</p>")
    assert pieces == [("blockquote", "<blockquote><p>أ</p><p>ب</p></blockquote>"), ("p", "<p>ج</p>")]


def test_with_anchor_sets_the_id_on_the_outer_element_only():
    assert with_anchor("<p>أ <em>ب</em></p>", "p3") == '<p id="p3">أ <em>ب</em></p>'


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0c", "\x1c", "\r"])
def test_split_top_level_with_line_breaks_only_python_counts(separator):
    # HTMLParser counts lines by "\n" alone: a separator str.splitlines() also breaks at
    # (found by hypothesis: "<script\u2028" in Markdown) once cut a paragraph inside its <p>.
    fragment = f"<p>&lt;script{separator}</p>\n<p>ب</p>\n<ul><li>ج</li></ul>"
    assert split_top_level(fragment) == [("p", f"<p>&lt;script{separator}</p>"), ("p", "<p>ب</p>"), ("ul", "<ul><li>ج</li></ul>")]


# -- Markdown made of plain paragraphs, without the parser -------------------------------------

_PROSE = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي ءآأؤإئةى ًٌٍَُِّْ ،؛؟«»…—–-'\"().,:;?%/$@^{}0123456789٠١٢٣٤٥٦٧٨٩ abcXYZ \u200c\u200d\u200e\u200f\u2066\u2069\u061c😀中"


_MANY = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _bodies(line):
    """Bodies of lines drawn from ``line``, blank lines between some, now and then a few
    characters of any kind."""
    anything = st.text(st.characters(exclude_categories=("Cs",)), max_size=3)
    return st.lists(st.one_of(line, line, line, line, st.just(""), anything), max_size=10).map("\n".join)


def _plain_bodies():
    """Bodies of lines of words (two thirds of them plain paragraphs)."""
    word = st.text(alphabet=_PROSE.replace(" ", ""), min_size=1, max_size=8)
    return _bodies(st.lists(word, min_size=1, max_size=6).map(" ".join))


@_MANY
@given(_plain_bodies())
def test_plain_paragraphs_are_what_the_parser_makes_of_them(body):
    plain = plain_paragraphs(body)
    if plain is not None:
        assert markdown_blocks(body, 7) == parsed_blocks(body, 7)


_INLINE = _PROSE + "*_`[]()\\#=+~" + "*" * 6 + "_" * 3


def _marked_bodies():
    """Bodies of lines of words with inline markup (emphasis, code, links, escapes), each line
    led by a word that opens no block (a quarter of them parsed paragraph by paragraph, the
    rest whole or without the parser)."""
    word = st.text(alphabet=_INLINE.replace(" ", ""), min_size=1, max_size=8)
    lead = st.text(alphabet=_PROSE.replace(" ", "").replace("-", "").translate(str.maketrans("", "", "0123456789٠١٢٣٤٥٦٧٨٩")), min_size=1, max_size=4)
    lead = st.tuples(st.sampled_from(["", "", "*", "**"]), lead).map("".join)  # "*" and "**" before a word open no block
    return _bodies(st.tuples(lead, st.lists(word, max_size=6)).map(lambda t: " ".join([t[0], *t[1]])))


@_MANY
@given(_marked_bodies())
def test_paragraphs_parsed_one_at_a_time_are_what_the_parser_makes_of_the_body(body):
    assert markdown_blocks(body, 7) == parsed_blocks(body, 7)


# The rules not_plain and not_paragraphs check line by line, as one pattern each (how they
# were first written: anchored at every line, it tried every position of a body, five times
# the time).
_LINE_EDGES = r"|^[^\S\n]|[^\S\n]$|^\d+[.)]"
_NOT_PLAIN = re.compile(f"[\\\\`*_\\[\\]!<>&#|~=+{_ODD}]" + _LINE_EDGES + "|^-", re.M)
_NOT_PARAGRAPHS = re.compile(f"[<>&!|~{_ODD}]" + _LINE_EDGES + r"|^[-+#=_`\[\\]|^\*(?!\*?[^\s*])", re.M)
_SIGNIFICANT = " \n\t\r\xa0\u2028\u3000*-+#=_`[]\\!<>&|~0123456789٠١.)ab\u0627"


@_MANY
@given(st.text(alphabet=_SIGNIFICANT, max_size=14) | st.text(max_size=8))
def test_the_checks_line_by_line_say_what_the_line_anchored_patterns_say(text):
    assert not_plain(text) == (_NOT_PLAIN.search(text) is not None)
    assert not_paragraphs(text) == (_NOT_PARAGRAPHS.search(text) is not None)


def _emphasis_bodies():
    """Bodies of lines of words, some of them wrapped in asterisks: whole words, parts of
    words, phrases, marks touching white space, unbalanced, one to three of them; each line
    led by a word that opens no block."""
    word = st.text(alphabet=_PROSE.replace(" ", ""), min_size=1, max_size=6)
    mark = st.sampled_from(["", "*", "**", "***", " *", "* ", "** "])
    balanced = st.tuples(st.sampled_from(["*", "**"]), word).map(lambda t: t[0] + t[1] + t[0])
    marked = st.one_of(balanced, balanced, balanced, balanced, st.tuples(mark, word, mark).map("".join))
    # Mostly apart, now and then touching: "*أ**ب*" is one emphasis to the parser, not two.
    joined = st.tuples(st.sampled_from([" ", " ", ""]), st.one_of(word, word, marked)).map("".join)
    phrase = st.tuples(st.one_of(word, marked), st.lists(joined, max_size=3)).map(lambda t: t[0] + "".join(t[1]))
    wrapped = st.one_of(balanced, st.tuples(st.sampled_from(["*", "**"]), phrase, st.sampled_from(["*", "**", ""])).map("".join))
    plain_lead = st.text(alphabet="ابتثجحخدسعقلمنهوي", min_size=1, max_size=4)
    # Half the lines start with asterisks: emphasis, a list's marker, a rule.
    lead = st.one_of(plain_lead, st.tuples(st.sampled_from(["*", "**", "* ", "** ", "***", "* * *"]), plain_lead, mark).map("".join))
    return _bodies(st.tuples(lead, st.lists(st.one_of(phrase, wrapped), max_size=4)).map(lambda t: " ".join([t[0], *t[1]])))


@_MANY
@given(_emphasis_bodies())
def test_emphasis_made_without_the_parser_is_what_the_parser_makes_of_it(body):
    assert markdown_blocks(body, 7) == parsed_blocks(body, 7)
    for paragraph in (p.strip("\n") for p in body.split("\n\n") if p.strip()):
        made = emphasised_paragraph(paragraph)
        if made is not None:
            assert [(b.tag, b.html) for b in parsed_blocks(paragraph, 1)] == [("p", made)]


@pytest.mark.parametrize(
    "paragraph, html_made",
    [
        ("قال **الجيش** إن", "<p>قال <strong>الجيش</strong> إن</p>"),
        ("و**الجيش الحر** انسحب *اليوم*، من حمص.", "<p>و<strong>الجيش الحر</strong> انسحب <em>اليوم</em>، من حمص.</p>"),
        ("سطر *أول*\nو**ثان**", "<p>سطر <em>أول</em>\nو<strong>ثان</strong></p>"),
        ("(*مائل*) «**غامق**»", "<p>(<em>مائل</em>) «<strong>غامق</strong>»</p>"),
        ("**دمشق** - قال المرصد", "<p><strong>دمشق</strong> - قال المرصد</p>"),  # a bold dateline
    ],
)
def test_emphasised_prose_takes_the_way_without_the_parser(paragraph, html_made):
    assert emphasised_paragraph(paragraph) == html_made
    assert [b.html for b in markdown_blocks(paragraph, 1)] == [html_made] == [b.html for b in parsed_blocks(paragraph, 1)]


@pytest.mark.parametrize(
    "paragraph",
    ["** غامق**", "*مائل *", "*أ**ب*", "***كلاهما***", "**أ* ب*", "أ *ب\nج* د", "*أ*ب*", "**1.** أ", "*أ* [رابط](https://example.org)", "*أ* _ب_", "نجمة * وحدها"],
)
def test_other_asterisks_are_left_to_the_parser(paragraph):
    assert emphasised_paragraph(paragraph) is None
    assert markdown_blocks(paragraph, 1) == parsed_blocks(paragraph, 1)


def test_prose_takes_the_way_without_the_parser():
    body = "قال المرصد السوري إن 15 قتيلا سقطوا (في حمص)، و«الجيش» انسحب.\nسطر ثان من الفقرة نفسها\n\n\nفقرة ثانية: 2012-02-24 - انتهى؟"
    plain = plain_paragraphs(body)
    assert plain is not None and len(plain) == 2
    assert markdown_blocks(body, 1) == parsed_blocks(body, 1)


@pytest.mark.parametrize(
    "body",
    [
        "- بند", "* بند", "+ بند", "1. بند", "١. بند", "# عنوان", "عنوان\n===", "عنوان\n---", "---",
        "> اقتباس", "    شيفرة", "\tشيفرة", "سطر  \nسطر", "*مائل*", "_مائل_", "**غامق**", "`شيفرة`",
        "[رابط](https://example.org)", "![صورة](a.jpg)", "<script>alert(1)</script>", "<https://example.org>", "أ &copy; ب",
        "أ & ب", "أ < ب", "أ | ب\n--|--\n1 | 2", "~~~\nشيفرة\n~~~", "```\nشيفرة\n```", "أ\u00a0ب", "أ\\*ب",
        "أ\r\nب", "أ\x00ب",
    ],
)
def test_markup_takes_the_parser(body):
    assert plain_paragraphs(body) is None
    # What the parser makes of it is not the naive paragraphs: the check is needed for each.
    made = parsed_blocks(body, 1)
    paragraphs = [block.strip("\n") for block in body.split("\n\n") if block.strip()]
    assert [(b.tag, b.html) for b in made] != [("p", f"<p>{p}</p>") for p in paragraphs]


# -- one Markdown parser for every body of a process ---------------------------------------------


def test_a_body_does_not_see_what_the_body_before_defined():
    defined = parsed_blocks("[المصدر][1]\n\n[1]: https://example.org/a", 1)
    assert 'href="https://example.org/a"' in defined[0].html
    later = parsed_blocks("[المصدر][1] *مرة أخرى*", 1)
    assert "href" not in later[0].html and "[المصدر][1]" in later[0].html


def test_the_parser_is_kept_between_bodies_and_dropped_when_one_fails(monkeypatch):
    from sitegen.content import markdown_parser

    thread = threading.get_ident()
    parsed_blocks("*أول*", 1)
    kept = markdown_parser._parser(thread)
    parsed_blocks("**ثان**", 1)
    assert markdown_parser._parser(thread) is kept

    def fails(self, source):
        raise RuntimeError("stopped half way")

    monkeypatch.setattr(type(kept[0]), "convert", fails)
    with pytest.raises(RuntimeError):
        parsed_blocks("*ثالث*", 1)
    monkeypatch.undo()
    assert markdown_parser._parser(thread) is not kept
    assert parsed_blocks("*رابع*", 1)[0].html == "<p><em>رابع</em></p>"


def test_photos_of_one_body_are_not_counted_in_the_next():
    first = parsed_blocks("![أ](a.jpg)\n\n![ب](b.jpg)", 1)
    second = parsed_blocks("![ج](c.jpg)", 1)
    assert [b.photo.src for b in first] == ["a.jpg", "b.jpg"]
    assert [b.photo.src for b in second] == ["c.jpg"]


@pytest.mark.parametrize(
    "body",
    [
        "[المصدر][1] *هنا*\n\n[1]: https://example.org/a",  # a link defined in another paragraph
        "<b>غامق *هنا*\n\nالفقرة التالية",  # a tag left open goes on in the next paragraph
        "نص مع *تأكيد* ![أ](a.jpg)\n\n![ب](b.jpg)",  # photos are numbered across the body
        "- بند *أول*\n\n    تتمة البند",  # a list item goes on past a blank line
        "* بند *أول*\n\n    تتمة البند",  # so does one marked with "*"
        "```\nشيفرة *هنا*\n\nبقية الشيفرة\n```",  # a fence holds blank lines
    ],
)
def test_what_reaches_past_a_paragraph_is_parsed_with_the_whole_body(body):
    from sitegen.content.markup import _paragraph_by_paragraph

    assert markdown_blocks(body, 1) == parsed_blocks(body, 1)
    # Parsed a paragraph at a time, each of these would come out otherwise.
    assert _paragraph_by_paragraph(body, 1) != parsed_blocks(body, 1)


def test_each_thread_converts_with_its_own_parser():
    from sitegen.content import markdown_parser

    results: dict[str, list] = {}
    parsers: dict[str, object] = {}
    alive = threading.Barrier(3)  # none ends (and gives its id to another) before all have looked

    def convert(name: str, body: str) -> None:
        results[name] = [parsed_blocks(body, 1) for _ in range(30)]
        parsers[name] = markdown_parser._parser(threading.get_ident())[0]
        alive.wait(timeout=30)

    threads = [threading.Thread(target=convert, args=(name, f"*{name}* [رابط](https://example.org/{name})")) for name in ("أ", "ب", "ج")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, made in results.items():
        assert all(m == made[0] for m in made) and f"<em>{name}</em>" in made[0][0].html
    parsed_blocks("*هنا*", 1)
    mine = markdown_parser._parser(threading.get_ident())[0]
    assert len({id(p) for p in parsers.values()} | {id(mine)}) == 4
