"""From a segment body to safe HTML blocks: plain text verbatim, Markdown sanitised and offline."""

from __future__ import annotations

import html

import pytest

from sitegen.content.markup import (
    markdown_blocks,
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
