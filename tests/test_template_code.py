"""The code this project compiles templates to (pages/template_code.py) prints what Jinja's own
code prints: on a whole site's pages, and on the template constructs a theme may use."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2.compiler import CodeGenerator

from sitegen.pages import template_code, theme
from tests.sitekit import tree_bytes
from tests.test_golden_newsroom import newsroom_site


class _Stock(jinja2.Environment):
    """Jinja as it comes, with the options the theme compiles with."""


def _environments(loader: jinja2.BaseLoader) -> tuple[jinja2.Environment, jinja2.Environment]:
    options = {"loader": loader, "undefined": jinja2.StrictUndefined, "autoescape": True, "keep_trailing_newline": True}
    return _Stock(**options), template_code.FasterEnvironment(**options)


def test_every_file_of_a_newsroom_site_is_what_jinja_s_own_code_makes(tmp_path: Path, monkeypatch) -> None:
    ours = tree_bytes(newsroom_site(tmp_path / "ours"))
    # Jinja's own code generator and attribute lookup; no compiled code read from the cache.
    monkeypatch.setattr(template_code.FasterEnvironment, "code_generator_class", CodeGenerator)
    monkeypatch.setattr(template_code.FasterEnvironment, "getattr", jinja2.Environment.getattr)
    monkeypatch.setattr(theme, "_bytecode_cache", lambda: None)
    stock = tree_bytes(newsroom_site(tmp_path / "stock"))
    assert sorted(ours) == sorted(stock)
    differing = [path for path in ours if ours[path] != stock[path] and path != ".sitegen-output"]
    assert differing == []
    assert len([p for p in ours if p.endswith(".html")]) > 40


TEMPLATES = {
    "base.html": "<title>{% block title %}{{ site.name }}{% endblock %}</title><main>{% block body %}{% endblock %}</main>{{ site.list|length }}",
    "page.html": (
        "{% extends 'base.html' %}{% block title %}{{ page.title }} · {{ super() }}{% endblock %}"
        "{% block body %}{% include 'entry.html' %}{% for e in entries if e.shown %}<li class=\"{{ e.kind }}\">{{ loop.index }}:{{ e.text }}"
        "{% if e.more %}+{{ e.more.count }}{% endif %}</li>{% else %}<p>{{ labels.empty }}</p>{% endfor %}"
        "{% set captured %}<b>{{ page.title }}</b>{% endset %}{{ captured }}{{ m(page) }}{% call wrap() %}{{ page.keys }}{% endcall %}{% endblock %}"
        "{% macro m(p, x=p.title) %}<i>{{ x }}</i>{{ p.get('title') }}{% endmacro %}"
        "{% macro wrap() %}[{{ caller() }}]{% endmacro %}"
    ),
    "entry.html": "<h2>{{ page.title }}</h2>{{ page.obj.name if page.obj else '-' }}{{ (page.title ~ '<')|upper }}",
}


class _Named:
    name = "<object's>"


def _context(title: str, texts: list[str], shown: list[bool]) -> dict:
    entries = [{"kind": "k<", "text": text, "shown": flag, "more": {"count": n} if n % 2 else None} for n, (text, flag) in enumerate(zip(texts, shown))]
    return {
        "site": {"name": "موقع & <site>", "list": [1, 2]},
        "page": {"title": title, "keys": "not dict.keys", "obj": _Named() if len(texts) % 2 else None},
        "entries": entries,
        "labels": {"empty": "لا شيء"},
    }


@given(st.text(), st.lists(st.text(), max_size=5), st.lists(st.booleans(), min_size=5, max_size=5))
def test_extends_blocks_loops_macros_and_calls_print_as_jinja_s_own_code_prints(title, texts, shown) -> None:
    stock, ours = _environments(jinja2.DictLoader(TEMPLATES))
    context = _context(title, texts, shown)
    assert ours.get_template("page.html").render(context) == stock.get_template("page.html").render(context)


def test_a_name_dict_itself_has_is_left_to_jinja() -> None:
    stock, ours = _environments(jinja2.DictLoader({"t": "{{ d.items is callable }}|{{ d.get('items') }}"}))
    context = {"d": {"items": "the key"}}
    assert ours.get_template("t").render(context) == stock.get_template("t").render(context) == "True|the key"


@pytest.mark.parametrize("source", ["{{ d.missing }}", "{{ d.a.missing }}", "<p>{{ d.a.b }}{{ nothing }}</p>"])
def test_an_undefined_attribute_or_name_fails_as_it_does_with_jinja_s_own_code(source) -> None:
    stock, ours = _environments(jinja2.DictLoader({"t": source}))
    context = {"d": {"a": {}}}
    with pytest.raises(jinja2.UndefinedError) as expected:
        stock.get_template("t").render(context)
    with pytest.raises(jinja2.UndefinedError) as raised:
        ours.get_template("t").render(context)
    assert str(raised.value) == str(expected.value)


def test_a_run_of_output_is_yielded_once_and_a_dict_read_in_place() -> None:
    _, ours = _environments(jinja2.DictLoader({}))
    code = ours.compile("<a href=\"{{ e.href }}\">{{ e.title }}</a>", raw=True)
    assert code.count("yield") == 2  # the generator's own "if 0: yield None", and the run's
    assert "''.join((" in code
    assert "is dict and 'href' in" in code and "environment.getattr(" not in code
