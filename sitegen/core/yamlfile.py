"""Safe YAML loading that remembers where each key stood, for messages with line numbers.

Only YAML's safe subset is ever constructed: a tag such as ``!!python/object``
is refused with its line, never executed.

A document may not expand, through its aliases (``*name``), to much more than its own
length: a few hundred bytes of nested aliases ("billion laughs") stand for gigabytes, and
every consumer of the value (a page, a hash, a message) pays for the whole expansion. The
limit is checked on the node graph, before any value is built.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import yaml

# libyaml's parser is several times faster; the pure-Python one gives the same nodes.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A document may expand to ten times its length, plus 64 K characters for the odd legitimate
# use of an anchor (a shared list of tags). Without aliases no document comes near it.
EXPANSION_FACTOR = 10
EXPANSION_ALLOWANCE = 64 * 1024

# Where an alias token can begin: at the start, after a line break (and indentation), or after
# an indicator that opens a node (``-``, ``?``, ``:``, ``,``, ``[``, ``{``), with only spaces or
# tabs between; a BOM may start a line. Anywhere else a ``*`` is text (``نص *مهم*``). Text
# without a match has no alias, so it cannot expand; a false match only costs a linear walk.
_MAY_HOLD_ALIAS = re.compile(r"(?:\A|[\n\r\x85\u2028\u2029\ufeff\-?:,\[{])[ \t]*\*")


class YamlError(Exception):
    """Invalid YAML; ``line`` is 1-based within the text that was parsed."""

    def __init__(self, line: int | None, message: str):
        self.line = line
        self.message = message
        super().__init__(f"{line}: {message}")


class _Loader(_BaseLoader):
    """The safe loader, saying which node a value could not be built from.

    PyYAML's constructors raise plain Python errors for a well-formed scalar they cannot
    build (``date: 2012-02-30``, ``!!int x``, ``!!bool maybe``), with no position. Catching
    them where the node is known gives its line at once: searching the tree afterwards cost
    minutes on a large memory, and followed every alias of a "billion laughs".
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, OverflowError):
            raise _unconstructable_value(node) from None


@dataclass(frozen=True)
class YamlDocument:
    value: Any
    node: yaml.Node | None

    def key_lines(self) -> dict[str, int]:
        """Line (1-based) of every top-level key of a mapping document."""
        return key_lines(self.node)

    def child(self, key: str) -> yaml.Node | None:
        if isinstance(self.node, yaml.MappingNode):
            for key_node, value_node in self.node.value:
                if key_node.value == key:
                    return value_node
        return None


def key_lines(node: yaml.Node | None) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value}


def node_line(node: yaml.Node | None, default: int | None = None) -> int | None:
    return node.start_mark.line + 1 if node is not None else default


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document with the safe constructor, keeping its node tree.

    Raises YamlError for invalid YAML, a refused tag, a value that cannot be built, or
    aliases that expand the document beyond ``expansion_limit(len(text))``.
    """
    loader = _Loader(text)
    node = None
    try:
        node = loader.get_single_node()
        value = None
        if node is not None:
            may_alias = _refuse_amplification(text, node)  # before a single value is built
            value = loader.construct_document(node) if may_alias else _construct(loader, node, _PLAIN_DEPTH)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlError(line, _describe(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlError(None, str(exc).strip()) from None
    except (ValueError, TypeError, KeyError, OverflowError):
        # A constructor failed outside any one node (the loader names the node otherwise).
        raise YamlError(node_line(node), "invalid YAML value") from None
    finally:
        loader.dispose()
    return YamlDocument(value, node)


def read_simple_block(text: str) -> dict[str, Any] | None:
    """The value of a document in the plain block YAML this tool writes (a memory file), read
    line by line; None for anything else, which then goes through :func:`parse_yaml`.

    The shape: at the left margin, ``key: value`` lines and ``key:`` lines opening a list whose
    items follow at the same margin (``- key: value``, then ``  key: value``); each value on its
    line, plain or quoted without escapes; blank and comment lines. Any other line, character or
    value (a tag, an anchor, a number, a date, a null, a repeated key, a plain value with
    ``: `` or `` #`` in it) gives None. A value read here is what PyYAML's safe loader builds:
    a plain value is typed by the loader's own resolver. PyYAML's reading of a memory (parse,
    resolve, construct) was the largest part of a cold build's reading of memories.
    """
    lines = _key_value_lines(text)
    if lines is None:
        return None
    top: dict[str, Any] = {}
    items: list[dict[str, Any]] | None = None  # the list the last key opened
    item: dict[str, Any] | None = None
    for _number, lead, key, raw in lines:
        if lead is None:
            if key in top or (items is not None and not items):
                return None  # a repeated key; a key with nothing under it (null)
            if raw is None:
                items, item = [], None
                top[key] = items
                continue
            items = item = None
            target = top
        else:
            if items is None or raw is None:
                return None
            if lead == "- ":
                item = {}
                items.append(item)
            elif item is None or key in item:
                return None
            target = item
        value = _short_scalar(raw) if len(raw) < _SHORT else _simple_scalar(raw)
        if value is _NOT_READ:
            return None
        target[key] = value
    if not top or (items is not None and not items):
        return None
    return top


def _key_value_lines(text: str) -> list[tuple[int, str | None, str, str | None]] | None:
    """Each ``key: value`` line of ``text`` as (its number from 1, its lead: None, '- ' or
    '  ', its key, its value or None), blank and comment lines left out; None if another line
    is there, a key PyYAML would not read as text (yes, no, null...), or a character PyYAML
    reads otherwise than as one more character of a line (a tab, another line break, a
    byte-order mark) or refuses."""
    if any(character in text for character in _NOT_SIMPLE):
        return None
    lines = text.split("\n")
    # What Python prints is printable to PyYAML too (its refusals are controls, surrogates and
    # two noncharacters, none of which Python prints); PyYAML's own search, three quarters of
    # the time of this check, runs only for a line holding something else (a bidi mark).
    if not all(map(str.isprintable, lines)) and _NON_PRINTABLE.search(text):
        return None
    found_lines = []
    match = _SIMPLE_LINE.match
    for number, line in enumerate(lines, 1):
        found = match(line)
        if found is None:
            bare = line.lstrip(" ")
            if not bare or bare[0] == "#":
                continue  # blank, or a comment
            return None
        lead, key, raw = found.groups()
        if not _key_is_text(key):
            return None
        found_lines.append((number, lead, key, raw))
    return found_lines


def read_flat_mapping(text: str) -> tuple[dict[str, Any], dict[str, int]] | None:
    """A document of ``key: value`` lines at the margin (blank and comment lines between),
    as PyYAML's safe loader reads it, with each key's line (1-based); None for anything else,
    which then goes through :func:`parse_yaml`. A value is text, a boolean or a date, plain or
    quoted without escapes, or a list of plain text on its line (``tags: [حمص, سوريا]``).
    The shape of a segment's front matter: PyYAML's parser, made for each of a few lines, was
    most of the time of reading it.
    """
    lines = _key_value_lines(text)
    if lines is None:
        return None
    values: dict[str, Any] = {}
    lines_of: dict[str, int] = {}
    for number, lead, key, raw in lines:
        if lead is not None or raw is None or key in values:
            return None  # indented; a null; a repeated key
        if raw[0] == "[":
            value = _flow_list(raw)
        else:  # a date or an author comes back segment after segment: judged once
            value = _short_front_scalar(raw) if len(raw) <= _SHORT_FRONT else _front_scalar(raw)
        if value is _NOT_READ:
            return None
        values[key] = value
        lines_of[key] = number
    return (values, lines_of) if values else None


_SHORT_FRONT = 32


@functools.lru_cache(maxsize=1024)
def _short_front_scalar(raw: str) -> Any:
    return _front_scalar(raw)  # text, a boolean or a date: values no one can change


def _front_scalar(raw: str) -> Any:
    value = _simple_scalar(raw)
    if value is _NOT_READ and raw[0] not in "'\"" and not _plain_reads_otherwise(raw) and _plain_tag(raw) == _TIMESTAMP:
        try:  # PyYAML's own constructor (the C loader's too): a date, or a date and time
            return _TIMESTAMPS.construct_yaml_timestamp(yaml.ScalarNode(_TIMESTAMP, raw))
        except (ValueError, TypeError, OverflowError):
            return _NOT_READ  # 2012-02-30: parse_yaml names the line
    return value


def _flow_list(raw: str) -> list[str] | object:
    """``[a, b]`` as PyYAML reads it, when each item is plain text of ordinary characters."""
    if raw[-1] != "]":
        return _NOT_READ
    inner = raw[1:-1]
    if not inner.strip(" "):
        return []
    if _FLOW_UNSURE.search(inner):
        return _NOT_READ
    items = [item.strip(" ") for item in inner.split(",")]
    if not all(items) or any(item[0] in "-?" or _plain_tag(item) != _STR for item in items):
        return _NOT_READ  # an empty item (a trailing comma), an indicator first, a number, a null...
    return items


# A memory's short values come back entry after entry, file after file (a provider, a date,
# false, '1.2'): each is judged once. Its keys (16 characters) and texts are not remembered.
_SHORT = 16


@functools.lru_cache(maxsize=1024)
def _short_scalar(raw: str) -> Any:
    return _simple_scalar(raw)


def _simple_scalar(raw: str) -> Any:
    """A value on its line, as PyYAML reads it; _NOT_READ for anything but text and booleans."""
    first, last = raw[0], raw[-1]
    if first == "'":
        inner = raw[1:-1]
        if len(raw) < 2 or last != "'" or "'" in inner.replace("''", ""):
            return _NOT_READ
        return inner.replace("''", "'")
    if first == '"':
        inner = raw[1:-1]
        if len(raw) < 2 or last != '"' or '"' in inner or "\\" in inner:
            return _NOT_READ
        return inner
    if _plain_reads_otherwise(raw):
        return _NOT_READ
    tag = _plain_tag(raw)
    if tag == _STR:
        return raw
    if tag == _BOOL:
        return _Loader.bool_values[raw.lower()]
    return _NOT_READ


def write_simple_block(value: dict[str, Any]) -> str | None:
    """``value`` in block YAML, as PyYAML's C emitter writes it (``yaml.dump`` with the
    CSafeDumper, ``allow_unicode``, ``sort_keys=False``, a width no line reaches and no flow
    style), written here line by line; None when unsure, for ``yaml.dump`` to write.

    The shape :func:`read_simple_block` reads: a mapping of text keys to text, booleans, or a
    non-empty list of such mappings. Text goes plain or in single quotes, by libyaml's rules
    for a value on its own line; text libyaml writes otherwise (with a tab, a line break, a
    byte-order mark, a character beyond the Basic Multilingual Plane, or long enough to be
    folded) gives None. PyYAML's Python representer and resolver were three quarters of the
    time ``yaml.dump`` took to write a memory.
    """
    if _C_EMITTER is None:
        return None  # PyYAML without libyaml writes through its Python emitter: leave it to it
    lines: list[str] = []
    for key, item in value.items():
        if not _plain_key(key):
            return None
        if isinstance(item, list):
            if not item:
                return None  # written as [] in flow style
            lines.append(f"{key}:")
            for entry in item:
                if not isinstance(entry, dict) or not entry:
                    return None
                lead = "- "
                for name, field in entry.items():
                    text = _block_value(field)
                    if not _plain_key(name) or text is None:
                        return None
                    lines.append(f"{lead}{name}: {text}")
                    lead = "  "
        else:
            text = _block_value(item)
            if text is None:
                return None
            lines.append(f"{key}: {text}")
    return "\n".join(lines) + "\n"


def _block_value(value: Any) -> str | None:
    if value is True or value is False:
        return "true" if value else "false"
    return _block_scalar(value) if type(value) is str else None


def _block_scalar(text: str) -> str | None:
    """A text value on its own line, plain or single-quoted, as libyaml writes it; None when unsure."""
    if len(text) > _LONGEST_LINE or not _emittable().fullmatch(text):
        return None  # empty; a tab, a break, a character libyaml escapes; folded at the width
    if _plain_reads_otherwise(text) or text.startswith(("---", "...")) or _plain_tag(text) != _STR:
        return "'" + text.replace("'", "''") + "'"
    return text


def _plain_reads_otherwise(text: str) -> bool:
    """Whether ``text``, plain on its line after a key, would not read back as itself: an
    indicator first ('-x' is text, '- x' an item of a list), a space first or last, a last
    ':', or ': ' or ' #' inside. (The reader refuses such a line; the writer quotes it.)"""
    first = text[0]
    return (first in _PLAIN_CANNOT_START and not (first in "-?:" and text[1:2] not in ("", " "))) or text[-1] in " :" or ": " in text or " #" in text


@functools.lru_cache(maxsize=256)
def _plain_key(key: Any) -> bool:
    """Whether a key is text written plain (the memory's few keys, judged once each)."""
    return type(key) is str and _block_scalar(key) == key


@functools.lru_cache(maxsize=256)
def _key_is_text(key: str) -> bool:
    return _plain_tag(key) == _STR


def _plain_tag(value: str) -> str:
    """The tag PyYAML's resolver gives a plain scalar (the resolver the safe loader types with).
    Text whose first character no rule starts with is text: the resolver looks its rules up by
    that character, and is not asked (most values of a memory)."""
    if not _ANY_FIRST_RESOLVED and value[:1] not in _RESOLVED_FIRST:
        return _STR
    return _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))


_NOT_READ = object()
_C_EMITTER = getattr(yaml, "CSafeDumper", None)
# Printable, by libyaml's rule for the emitter (as unicode is allowed), less what takes a line
# of its own or an escape: tabs, line breaks (\x85, \u2028, \u2029), the byte-order mark, and
# anything beyond the Basic Multilingual Plane (libyaml escapes it, even with allow_unicode).
# Compiled when a memory is first written: its class of ranges took 8 ms to compile, paid by
# every build that reads the module and writes nothing.
@functools.cache
def _emittable() -> re.Pattern[str]:
    return re.compile("[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]+")


# The memory is written 1,000,000 columns wide: a longer value would be folded there.
_LONGEST_LINE = 100_000
_RESOLVER = yaml.resolver.Resolver()
# The first characters the resolver has a rule for (bools, numbers, dates, nulls...): text
# starting with another is text, without asking it (PyYAML's resolver looks rules up the same way).
_RESOLVED_FIRST = frozenset(_RESOLVER.yaml_implicit_resolvers)
# A rule for any first character, or for a place in the document (PyYAML's own has none).
_ANY_FIRST_RESOLVED = None in _RESOLVED_FIRST or bool(_RESOLVER.yaml_path_resolvers)
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_TIMESTAMPS = yaml.constructor.SafeConstructor()
# In a flow list's items: what ends, opens or quotes a node, a comment, a key, an alias, a tag...
_FLOW_UNSURE = re.compile(r"[\[\]{}'\"#&*!|>%@`:]")
# A key of the shape, at the margin or under a list's item; its value after one space.
_SIMPLE_LINE = re.compile(r"(- |  )?([A-Za-z_][A-Za-z0-9_]*):(?: (.+))?\Z")
# What a plain scalar cannot start with (an indicator, a space), and characters PyYAML reads
# otherwise than as one more character of a line: a tab, other line breaks, a byte-order mark.
_PLAIN_CANNOT_START = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_NOT_SIMPLE = "\t\r\x85\u2028\u2029\ufeff"
# What PyYAML's reader refuses (compiled by PyYAML already: this one costs nothing to load).
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE


def expansion_limit(length: int) -> int:
    """The most a document of ``length`` characters may expand to through its aliases."""
    return EXPANSION_FACTOR * length + EXPANSION_ALLOWANCE


def _refuse_amplification(text: str, root: yaml.Node) -> bool:
    """Whether the document may hold an alias (and then expands within its limit)."""
    # No '*' at all (most memories): no alias, found by one scan in C before the pattern's.
    if "*" not in text or not _MAY_HOLD_ALIAS.search(text):
        return False
    limit = expansion_limit(len(text))
    if _expanded_size(root, limit) > limit:
        line, name = _first_alias(text)
        raise YamlError(line, f"YAML aliases (*{name}) expand this document to more than {limit:,} characters: write the values out instead")
    return True


# The resolver has already given every node its tag (``No`` a bool, ``2026-02-01`` a date):
# a node tagged as text, list or mapping of text keys is built here as PyYAML's safe
# constructor would build it, without its per-node Python calls (a third of reading a
# memory). Anything else (other scalars, merge keys ``<<``, other tags, deeper nesting) is
# handed to the loader, which builds it, or says on which line it cannot. Only for documents
# without aliases: an alias is one node reached twice, which PyYAML builds once.
_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_PLAIN_DEPTH = 6  # a memory is four levels deep, site.yml five; below, the loader's own queue


def _construct(loader: _Loader, node: yaml.Node, depth: int) -> Any:
    kind, tag = type(node), node.tag
    if kind is yaml.ScalarNode and tag == _STR:
        return node.value
    if depth and kind is yaml.MappingNode and tag == _MAP:
        pairs = node.value
        if all(type(key) is yaml.ScalarNode and key.tag == _STR for key, _ in pairs):
            return {key.value: _construct(loader, value, depth - 1) for key, value in pairs}
    elif depth and kind is yaml.SequenceNode and tag == _SEQ:
        return [_construct(loader, item, depth - 1) for item in node.value]
    # As a document of its own: PyYAML then builds nested values from a queue, not by
    # recursion, so hundreds of levels of nesting cannot exhaust Python's stack.
    return loader.construct_document(node)


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """The document's size with every alias written out: each scalar's length plus one per node,
    summed through sequences and mappings, a node counted each time it is used.

    Each node is sized once (memoised by identity), so the walk is linear in the text however
    much the aliases multiply; it stops as soon as anything exceeds ``limit``. A node that
    contains itself (``&a [*a]``) expands without end: ``limit + 1``.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the path from the root to the node being sized
    stack = [root]
    while stack:
        node = stack[-1]
        ident = id(node)
        if ident in sizes:
            stack.pop()
        elif isinstance(node, yaml.ScalarNode):
            sizes[ident] = len(node.value) + 1
            stack.pop()
        elif ident not in open_nodes:
            open_nodes.add(ident)
            for child in _children(node):
                if id(child) in open_nodes:
                    return limit + 1
                if id(child) not in sizes:
                    stack.append(child)
        else:  # every child is sized now
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > limit:
                return size
            sizes[ident] = size
            open_nodes.discard(ident)
            stack.pop()
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return []


def _first_alias(text: str) -> tuple[int | None, str]:
    """Line (1-based) and name of the first alias: the node graph no longer knows where its aliases stood."""
    loader = _BaseLoader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                return event.start_mark.line + 1, event.anchor
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return None, "name"


def _unconstructable_value(node: yaml.Node) -> YamlError:
    """The error for a node the safe constructor cannot build, on its line."""
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode):
        return YamlError(line, "invalid YAML value")
    kind = node.tag.rsplit(":", 1)[-1]
    kind = {"timestamp": "date (YYYY-MM-DD)"}.get(kind, kind)
    return YamlError(line, f"invalid value {node.value!r}: it is not a valid {kind}")


def _describe(exc: yaml.MarkedYAMLError) -> str:
    problem = (exc.problem or "").strip()
    context = (exc.context or "").strip()
    if "could not determine a constructor for the tag" in problem:
        tag = problem.split("tag", 1)[1].strip()
        return f"YAML tag {tag} is not allowed: only plain values (text, numbers, dates, lists, mappings) are read"
    if context and problem:
        return f"invalid YAML: {context}, {problem}"
    return f"invalid YAML: {problem or context or 'unreadable'}"
