"""parse_yaml builds the values of a document without aliases itself (yamlfile._construct):
they must be exactly what PyYAML's safe loader builds, whatever the document holds."""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.core.yamlfile import YamlError, parse_yaml

# Words the resolver reads as something other than text when plain (bools, nulls, numbers,
# dates, merge keys), beside ordinary text and Arabic.
TRICKY = ["No", "yes", "off", "ON", "null", "~", "", "0x1F", "0o17", "1_000", "1e3", ".inf", "-.NaN", "2012-02-03",
          "2012-02-03 10:00:00", "<<", "=", "12:30", "0.5", "+1", "نص", "حمص 2012", "a: b", "- x", "'quoted'", "#", "!x"]
scalars = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
)
keys = st.one_of(st.sampled_from(TRICKY), st.text(min_size=1, max_size=8), st.integers(-3, 3), st.booleans())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=30)


def reference(text: str):
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def assert_read_as_pyyaml_reads(text: str) -> None:
    """The same value as PyYAML's safe loader; or, where PyYAML refuses the document (an
    unhashable key, too deep), refused too, with a YamlError."""
    try:
        expected = reference(text)
    except yaml.YAMLError:
        with pytest.raises(YamlError):
            parse_yaml(text)
        return
    assert parse_yaml(text).value == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.sampled_from([None, False, True]), st.booleans())
def test_values_are_those_of_pyyaml(value, flow_style, sort_keys):
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=flow_style, sort_keys=sort_keys)
    assert parse_yaml(text).value == reference(text)


@given(st.lists(st.tuples(st.sampled_from(TRICKY + ["key", "entries", "x"]), st.sampled_from(TRICKY + ["[a, No]", "{b: null}"])), max_size=6))
@settings(max_examples=200, deadline=None)
def test_hand_written_plain_scalars_are_typed_as_pyyaml_types_them(pairs):
    """Unquoted as people type them (``reviewed: No``, ``date: 2012-02-03``): the tag decides."""
    lines = []
    for key, value in pairs:
        if key in ("", "#", "- x", "a: b", "!x", "'quoted'", "<<") or value in ("#", "- x", "a: b", "!x"):
            continue  # not a plain key, or a comment: another document than meant
        lines.append(f"{key}: {value}")
    text = "\n".join(lines) + "\n"
    assert_read_as_pyyaml_reads(text)


@pytest.mark.parametrize("text", [
    "base: &b {lang: ar}\nfirst:\n  <<: *b\n  title: x\n",  # merge key, through an alias
    "first:\n  <<: {lang: ar, tags: [a]}\n  lang: en\n",  # merge key without alias: the loader's
    "a: !!str 12\nb: !!int '7'\nc: !!float 1\nd: !!binary aGVsbG8=\n",  # explicit tags
    "? [a, b]\n: pair\n",  # a complex key (refused: a list cannot be a key)
    "? {a: 1}\n: x\n",
    "a: 1\na: 2\n",  # a repeated key: the last one
    "entries:\n- key: x\n  reviewed: No\n  date: 2012-02-03\n  at: 1.1\n",
    "- - - - - - - - - - deep\n",  # deeper than the fast path goes
    "{a: {b: {c: {d: {e: {f: {g: [h, {i: j}]}}}}}}}\n",
    "!!set {a, b}\n",
    "!!omap [a: 1, b: 2]\n",
])
def test_documents_the_fast_path_hands_on_are_built_as_pyyaml_builds_them(text):
    assert_read_as_pyyaml_reads(text)


def test_a_value_the_loader_cannot_build_is_still_named_by_its_line_below_text():
    with pytest.raises(YamlError) as caught:
        parse_yaml("source: نص\nentries:\n- key: x\n  date: 2026-02-30\n")
    assert caught.value.line == 4


@pytest.mark.parametrize("depth", [300, 900])
@pytest.mark.parametrize("shape", ["flow lists", "block mappings", "block lists", "flow mappings"])
def test_deep_nesting_is_built_without_recursion_as_pyyaml_builds_it(shape, depth):
    """Below the fast path's few levels PyYAML builds the rest from its queue: a hostile
    memory or front matter nested hundreds deep is read (or refused), never a RecursionError."""
    text = {
        "flow lists": "[" * depth + "]" * depth,
        "block mappings": "a:\n" + "".join(" " * (i + 1) + "b:\n" for i in range(depth)),
        "block lists": "".join(" " * i + "- \n" for i in range(depth)) + " " * depth + "x\n",
        "flow mappings": "k: " + "{a: " * depth + "1" + "}" * depth,
    }[shape]
    assert_read_as_pyyaml_reads(text)
