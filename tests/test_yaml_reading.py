"""parse_yaml builds the values of a document without aliases itself (yamlfile._construct):
they must be exactly what PyYAML's safe loader builds, whatever the document holds."""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sitegen.core.yamlfile import YamlError, key_lines, parse_yaml, read_flat_mapping, read_simple_block

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


# -- read_simple_block: the block YAML the build writes, read line by line ----------------------

SIMPLE_KEYS = ["key", "source", "translation", "entries", "at", "x_1", "reviewed", "yes", "No", "null", "on", "y", "n", "true", "_"]
SIMPLE_TEXT = [*TRICKY, "حمص: بابا عمرو", "قال # ثم", "نص #وسم", "a:b", "http://x.org/a?b#c", "'", "''", "a''b", "\"", "\\", "a\\nb",
               " lead", "trail ", "- item", "[x]", "{x}", "@x", "`x`", "%x", "|", ">", "*x", "&x", "?", ":", "...", "---", "=",
               "1.1", "2026-11-25", "0.", ".5", "+", "FALSE", "Off", "~x", "x:", "\u00a0نص\u00a0", "نص\u200f", "😀", "a,b", ",a"]
simple_values = st.one_of(st.sampled_from(SIMPLE_TEXT), st.text(max_size=10))


def _quoted(value: str, how: str) -> str:
    if how == "single":
        return "'" + value.replace("'", "''") + "'"
    if how == "double":
        return '"' + value + '"'  # as typed: PyYAML decides what the backslashes and quotes mean
    if how == "broken single":
        return "'" + value + "'"
    return value


value_lines = st.builds(_quoted, simple_values, st.sampled_from(["plain", "single", "double", "broken single"]))
line_shapes = st.one_of(
    st.builds(lambda lead, key, value: f"{lead}{key}: {value}", st.sampled_from(["", "- ", "  ", "   ", " ", "-  "]), st.sampled_from(SIMPLE_KEYS), value_lines),
    st.builds(lambda lead, key: f"{lead}{key}:", st.sampled_from(["", "- ", "  "]), st.sampled_from(SIMPLE_KEYS)),
    st.sampled_from(["", "  ", "# a comment", "  # indented", "---", "...", "%YAML 1.1", "- ", "  - a: b", "key:value", "key : v", "\tkey: v",
                     "key: v # note", "key: 'v' # note", "key: [a, b]", "key: {a: b}", "key: |", "  text", "key: &a v", "key: *a", "key: !!str 5"]),
)


def _simple_document(lines: list[str], crlf: bool) -> str:
    return ("\r\n" if crlf else "\n").join(lines) + "\n"


@settings(max_examples=600, deadline=None)
@given(st.lists(line_shapes, max_size=12), st.booleans())
def test_a_simple_block_is_read_as_pyyaml_reads_it_or_not_at_all(lines, crlf):
    """Lines typed every which way: where read_simple_block gives a value, it is PyYAML's; where
    PyYAML refuses the document, read_simple_block gives nothing (parse_yaml then says why)."""
    text = _simple_document(lines, crlf and len(lines) % 2 == 0)
    found = read_simple_block(text)
    try:
        expected = reference(text)
    except yaml.YAMLError:
        assert found is None
        return
    assert found is None or found == expected


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(SIMPLE_KEYS), simple_values, max_size=4),
       st.lists(st.dictionaries(st.sampled_from(SIMPLE_KEYS), st.one_of(simple_values, st.booleans()), min_size=1, max_size=5), max_size=4),
       st.sampled_from([80, 1_000_000]))
def test_documents_pyyaml_writes_are_read_as_pyyaml_reads_them_or_not_at_all(top, entries, width):
    """PyYAML's own writing (quoting, escapes, long lines folded at ``width``)."""
    text = yaml.safe_dump({**top, "entries": entries}, allow_unicode=True, sort_keys=False, width=width, default_flow_style=False)
    found = read_simple_block(text)
    assert found is None or found == reference(text)


ORDINARY = st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوي ،.؛:«»“”-'\"0123456789abcXYZ#()", min_size=1, max_size=60).filter(str.strip)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(ORDINARY, ORDINARY, st.booleans()), min_size=1, max_size=6))
def test_memories_the_build_writes_are_read_line_by_line(pairs):
    """The fast path is the build's path: a memory as dump_memory writes it (reviewed or not,
    text with colons, quotes, hashes, digits) is read by read_simple_block, as PyYAML reads it."""
    from pathlib import Path

    from sitegen.translation.memory import Memory, MemoryEntry, dump_memory, entry_key

    entries = tuple(MemoryEntry(entry_key(source, "ar", "en"), source, translation, "libre", "2026-11-25", reviewed, f"1.{n}")
                    for n, (source, translation, reviewed) in enumerate(pairs))
    text = dump_memory(Memory(Path("m.yml"), "a.txt", "ar", "en", entries)).decode("utf-8")
    found = read_simple_block(text)
    assert found is not None, text
    assert found == reference(text)


# -- read_flat_mapping: front matter's "key: value" lines, read line by line -------------------

FRONT_KEYS = ["title", "date", "author", "tags", "draft", "slug", "image_alt", "yes", "Null", "on", "x_2"]
FRONT_TEXT = [*SIMPLE_TEXT, "2012-02-24", "2012-2-4", "2012-02-30", "2012-02-24 10:30", "2012-02-24T10:30:00Z", "2012-02-24t10:30:00.5+03:00",
              "2012-02-24 10:30:00 -5", "20120224", "مراسل حمص", "true", "False", "12", "-1", "1_2", "0o7", "3.5", "2e3", "-", "-x", "?x"]
ITEMS = ["حمص", "مجلس الأمن", "سوريا  2012", " a", "b ", "", "12", "yes", "~", "-x", "- x", "?x", "x:", "a:b", "a: b", "x #y", "x#y",
         "'q'", '"q"', "[x]", "{x}", "*a", "&a", "!t", "@x", "`x`", "%x", "|", ">", "2012-02-24", "ن,ص", "a\\b"]
flow_lists = st.builds(lambda items, spaced: "[" + (", " if spaced else ",").join(items) + "]", st.lists(st.sampled_from(ITEMS), max_size=4), st.booleans())
front_values = st.one_of(value_lines, st.builds(_quoted, st.sampled_from(FRONT_TEXT), st.sampled_from(["plain", "single", "double"])), flow_lists,
                         st.sampled_from(["[a, b,]", "[ ]", "[]", "[a]x", "[a", "[a, [b]]", "[a, {b: c}]", "[ a , b ]"]))
front_lines = st.one_of(
    st.builds(lambda lead, key, value: f"{lead}{key}: {value}", st.sampled_from(["", "", "", " ", "  ", "- "]), st.sampled_from(FRONT_KEYS), front_values),
    st.builds(lambda key: f"{key}:", st.sampled_from(FRONT_KEYS)),
    st.sampled_from(["", "   ", "# note", "  # note", "...", "---", "key: v # note", "tags:", "  - a", "title: >", "  folded", "%TAG ! x", "\tdate: 2012-02-24"]),
)


def typed(value):
    """A value with the type of everything in it: True is not 1, nor a date a datetime."""
    if isinstance(value, dict):
        return {typed(k): typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


@settings(max_examples=800, deadline=None)
@given(st.lists(front_lines, max_size=5))
@example(["tags: [a, {b: c}]"]).via("a mapping in a list")
@example(["tags: [a, [b]]"]).via("a list in a list")
@example(["tags: ['q', b]"]).via("a quoted item")
@example(["tags: [a: b]"]).via("a pair in a list")
@example(["tags: [&x a, *x]"]).via("an alias in a list")
@example(["tags: [a #b]"]).via("a comment in a list")
@example(["tags: [ a ,  b  c ]"]).via("spaces around and inside items")
def test_front_matter_lines_are_read_as_pyyaml_reads_them_or_not_at_all(lines):
    """Where read_flat_mapping gives a value, it is PyYAML's, of the same types, with each key
    on the line PyYAML says; where PyYAML refuses the text, read_flat_mapping gives nothing."""
    text = "\n".join(lines)
    found = read_flat_mapping(text)
    try:
        expected = reference(text)
    except (yaml.YAMLError, ValueError):  # a date PyYAML cannot build (2012-02-30) raises ValueError
        assert found is None
        return
    if found is not None:
        value, lines_of = found
        assert typed(value) == typed(expected)
        assert lines_of == key_lines(parse_yaml(text).node)


WORDS = st.text(alphabet="abcdxzحمصدرعا ", min_size=1, max_size=12).map(str.strip).filter(bool)  # no yes/no/null/on in it
good_values = st.one_of(
    WORDS,
    st.builds(lambda word: "'" + word.replace("'", "''") + "'", st.text(alphabet="ab c'#:حم", min_size=1, max_size=8)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat),
    st.sampled_from(["true", "false", "True", "no", "On"]),
    st.builds(lambda items, gaps: "[" + ",".join(f"{gap}{item}{gap}" for item, gap in zip(items, gaps)) + "]",
              st.lists(WORDS, max_size=4), st.lists(st.sampled_from(["", " ", "  "]), min_size=4, max_size=4)),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "date", "author", "tags", "slug", "draft", "image_alt"]), good_values, min_size=1, max_size=6),
       st.lists(st.sampled_from(["", "# note", "  # note"]), max_size=2))
def test_front_matter_of_the_common_shape_takes_the_fast_path_and_reads_as_pyyaml(fields, between):
    """Front matter as newsrooms write it (text, dates, booleans, lists of words; comments and
    blank lines between) is read line by line, to PyYAML's very values and lines."""
    lines = [f"{key}: {value}" for key, value in fields.items()]
    text = "\n".join(lines[:1] + between + lines[1:])
    found = read_flat_mapping(text)
    assert found is not None, text
    assert typed(found[0]) == typed(reference(text))
    assert found[1] == key_lines(parse_yaml(text).node)


def test_front_matter_as_newsrooms_write_it_is_read_line_by_line():
    """The common shapes take the fast path (the test above holds on whatever it takes)."""
    text = "title: «حمص» تحت القصف\ndate: 2012-02-24\nauthor: مراسل حمص\ntags: [حمص, بابا عمرو]\ndraft: false\n# a note\nslug: homs-2012"
    value, lines_of = read_flat_mapping(text)
    assert value == {"title": "«حمص» تحت القصف", "date": date(2012, 2, 24), "author": "مراسل حمص", "tags": ["حمص", "بابا عمرو"], "draft": False, "slug": "homs-2012"}
    assert lines_of == {"title": 1, "date": 2, "author": 3, "tags": 4, "draft": 5, "slug": 7}
    for unsure in ("date: 2012-02-30", "tags: [12, حمص]", "title: x\ntitle: y", "title: 'it''s' # no", "count: 12", "empty:"):
        assert read_flat_mapping(unsure) is None, unsure


def test_what_python_prints_pyyaml_reads():
    """read_simple_block and read_flat_mapping skip PyYAML's check for characters it refuses
    when Python would print every character of every line: that must never let one through."""
    non_printable = yaml.reader.Reader.NON_PRINTABLE
    refused_yet_printable = [hex(code) for code in range(0x110000) if chr(code).isprintable() and non_printable.match(chr(code))]
    assert refused_yet_printable == []
