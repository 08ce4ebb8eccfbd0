"""write_simple_block: the block YAML the build writes (a memory), written line by line, and
byte for byte what PyYAML's C emitter writes, or nothing (yaml.dump then writes it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import sitegen.core.yamlfile as yamlfile
from sitegen.core.yamlfile import write_simple_block
from tests.test_yaml_reading import ORDINARY, SIMPLE_KEYS, SIMPLE_TEXT

pytestmark = pytest.mark.skipif(not hasattr(yaml, "CSafeDumper"), reason="PyYAML without libyaml: every document goes through yaml.dump")


def reference(value: dict) -> str:
    """What dump_memory wrote before: yaml.dump through the C emitter."""
    return yaml.dump(value, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False)


def assert_written_as_pyyaml_writes(value: dict) -> str | None:
    written = write_simple_block(value)
    assert written is None or written == reference(value), value
    return written


# Characters at the edges of libyaml's rules: indicators, quotes, blanks, line breaks, the
# byte-order mark, non-printables, characters beyond the Basic Multilingual Plane.
EDGES = "-?:,[]{}#&*!|>'\"%@` .~=<+0123456789eExXoO_\t\n\r\x85\u2028\u2029\ufeff\x00\x07\x7f\x9f\ud7ff\ue000\ufffd\U0001f600حمص«»"
texts = st.one_of(st.sampled_from(SIMPLE_TEXT), st.text(alphabet=EDGES, max_size=8), st.text(max_size=12))
values = st.one_of(texts, st.booleans())


@settings(max_examples=1500, deadline=None)
@given(st.dictionaries(st.one_of(st.sampled_from(SIMPLE_KEYS), texts), values, max_size=4),
       st.lists(st.dictionaries(st.one_of(st.sampled_from(SIMPLE_KEYS), texts), values, min_size=1, max_size=5), max_size=4))
def test_a_simple_block_is_written_as_pyyaml_writes_it_or_not_at_all(top, entries):
    """Any text in keys and values: where write_simple_block writes, it writes PyYAML's bytes."""
    assert_written_as_pyyaml_writes({**top, "entries": entries})


@settings(max_examples=1500, deadline=None)
@given(texts)
def test_each_text_is_written_plain_or_quoted_as_pyyaml_writes_it_or_not_at_all(text):
    assert_written_as_pyyaml_writes({"source": text, "reviewed": False})


@pytest.mark.parametrize("text, written", [
    ("نص عادي، فيه «اقتباس» ونقطتان:نعم", "نص عادي، فيه «اقتباس» ونقطتان:نعم"),
    ("قال: نعم", "'قال: نعم'"),  # ': ' ends a key when plain
    ("1.1", "'1.1'"),  # a float when plain
    ("2026-11-25", "'2026-11-25'"),  # a date
    ("yes", "'yes'"),
    ("it's", "it's"),
    ("'quoted'", "'''quoted'''"),
    ("a: b", "'a: b'"),
    ("a #b", "'a #b'"),
    ("trail ", "'trail '"),
    ("...", "'...'"),
    ("-x", "-x"),
    ("- x", "'- x'"),
    ("---x", "'---x'"),
    (":x", ":x"),
    ("?", "'?'"),
])
def test_values_needing_quotes_are_quoted_as_pyyaml_quotes_them(text, written):
    assert write_simple_block({"source": text}) == f"source: {written}\n" == reference({"source": text})


@pytest.mark.parametrize("text", ["a\tb", "line\nbreak", "😀", "", "\ufeffx", "x\u2028y"])
def test_values_near_the_edges_of_the_rules_are_left_to_pyyaml(text):
    assert write_simple_block({"source": text}) is None


def test_a_value_long_enough_to_be_folded_at_the_width_is_left_to_pyyaml():
    long = "كلمة " * 40_000 + "نهاية"  # 200,000 characters: yaml.dump may fold it
    assert write_simple_block({"source": long}) is None
    assert write_simple_block({"source": long[:90_000].strip()}) == reference({"source": long[:90_000].strip()})


def test_other_shapes_are_left_to_pyyaml():
    assert write_simple_block({"entries": []}) is None  # PyYAML writes [] in flow style
    assert write_simple_block({"n": 1}) is None
    assert write_simple_block({"d": None}) is None
    assert write_simple_block({"entries": [{"a": {"b": "c"}}]}) is None
    assert write_simple_block({"entries": [{}]}) is None


def test_without_libyaml_nothing_is_written_here(monkeypatch: pytest.MonkeyPatch):
    """yaml.dump then goes through PyYAML's Python emitter, whose rules these are not."""
    monkeypatch.setattr(yamlfile, "_C_EMITTER", None)
    assert write_simple_block({"source": "text"}) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(ORDINARY, ORDINARY, st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_memories_the_build_writes_are_written_line_by_line_as_before(rows):
    """The fast path is the build's path: a memory (reviewed or not, stale, text with colons,
    quotes, hashes, digits) is written here, and its bytes are those yaml.dump wrote."""
    from sitegen.translation.memory import (
        Memory,
        MemoryEntry,
        _entry_dict,
        dump_memory,
        entry_key,
    )

    entries = tuple(MemoryEntry(entry_key(source, "ar", "en"), source, translation, "libre", "2026-11-25", reviewed, f"1.{n}", stale=stale and reviewed)
                    for n, (source, translation, reviewed, stale) in enumerate(rows))
    memory = Memory(Path("m.yml"), "a.txt", "ar", "en", entries)
    body = {"source_file": "a.txt", "source_language": "ar", "target_language": "en", "entries": [_entry_dict(e) for e in entries]}
    assert write_simple_block(body) is not None
    assert dump_memory(memory).decode("utf-8").endswith(reference(body))
