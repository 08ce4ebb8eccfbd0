"""How the theme's templates print values: escaped exactly as markupsafe escapes them, by the
theme's own code generator (pages/theme.py), whatever the value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup, escape

from sitegen.pages.theme import load_theme

class _Shown:
    """Not a Markup, but printed through its __html__ (as markupsafe does)."""

    def __html__(self):
        return "<em>shown</em>"


class _Louder(Markup):
    """A Markup of another type, whose __html__ is its own."""

    def __html__(self):
        return Markup(str.upper(self))


HOSTILE = ["<script>alert('x')</script>", 'a "quoted" & <b>', "\u202eعربي<\u2066", "&amp; already", "", "{{ x }}"]


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    return load_theme(tmp_path_factory.mktemp("site"), "default").environment


def test_printed_values_are_escaped_through_the_theme_s_own_escaping(environment):
    code = environment.compile("{{ a }}<p>{{ b.c }}</p>", raw=True)
    assert "environment.escape_output(" in code
    assert "escape(" not in code.replace("escape_output(", "")


@pytest.mark.parametrize("value", [*HOSTILE, Markup("<b>kept</b>"), _Shown(), _Louder("<i>x</i>"), 5, 2.5, None, True, ["<a>"], {"k": "<v>"}])
def test_a_printed_value_reads_as_markupsafe_escapes_it(environment, value):
    assert environment.from_string("[{{ v }}]").render(v=value) == f"[{escape(value)}]"


@given(st.text())
def test_any_printed_text_reads_as_markupsafe_escapes_it(environment, text):
    assert environment.from_string("{{ v }}|{{ v ~ '<' }}").render(v=text) == f"{escape(text)}|{escape(text + '<')}"


def test_captured_blocks_macros_and_filter_blocks_stay_markup_and_are_not_escaped_twice(environment):
    source = (
        "{% macro m(x) %}<i>{{ x }}</i>{% endmacro %}"
        "{% set captured %}<b>{{ v }}</b>{% endset %}"
        "{{ m(v) }}|{{ captured }}|{% filter upper %}{{ v }}{% endfilter %}|{{ captured|length }}"
    )
    value = "<&>"
    expected = f"<i>{escape(value)}</i>|<b>{escape(value)}</b>|{str(escape(value)).upper()}|{len(f'<b>{escape(value)}</b>')}"
    assert environment.from_string(source).render(v=value) == expected


def test_an_autoescape_block_turned_off_prints_raw(environment):
    assert environment.from_string("{% autoescape false %}{{ v }}{% endautoescape %}|{{ v }}").render(v="<x>") == "<x>|&lt;x&gt;"
