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


def test_loading_every_template_ahead_renders_as_loading_each_at_its_first_page_and_skips_a_broken_one(tmp_path):
    # Loaded before a build forks its workers (Theme.load_templates): a site's own template that
    # does not compile is left to fail where a page renders it, as it did when loaded on demand.
    templates = tmp_path / "site" / "templates"
    templates.mkdir(parents=True)
    (templates / "broken.html").write_text("{% if %}", encoding="utf-8")
    (templates / "notes.txt").write_text("not a template", encoding="utf-8")
    ahead, on_demand = load_theme(tmp_path / "site", "default"), load_theme(tmp_path / "site", "default")
    ahead.load_templates()
    assert {"segment.html", "parallel.html", "index.html", "related.html", "base.html"} <= set(ahead._templates)
    assert "broken.html" not in ahead._templates and "notes.txt" not in ahead._templates
    context = {"labels": {"related": "ذات صلة"}, "related": []}
    assert ahead.render("related.html", context) == on_demand.render("related.html", context)
    with pytest.raises(Exception, match="Expected an expression"):
        ahead.render("broken.html", {})
