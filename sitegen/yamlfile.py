"""Safe YAML loading that remembers where each key stood, for messages with line numbers.

Only YAML's safe subset is ever constructed: a tag such as ``!!python/object``
is refused with its line, never executed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

# libyaml's parser is several times faster; the pure-Python one gives the same nodes.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlError(Exception):
    """Invalid YAML; ``line`` is 1-based within the text that was parsed."""

    def __init__(self, line: int | None, message: str):
        self.line = line
        self.message = message
        super().__init__(f"{line}: {message}")


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
    """Parse one YAML document with the safe constructor, keeping its node tree."""
    loader = _Loader(text)
    node = None
    try:
        node = loader.get_single_node()
        value = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlError(line, _describe(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlError(None, str(exc).strip()) from None
    except (ValueError, TypeError, KeyError, OverflowError):
        # PyYAML's constructors raise plain Python errors for a well-formed scalar
        # they cannot build (``date: 2012-02-30``, ``!!int x``, ``!!bool maybe``):
        # without this the build died with "unexpected failure" instead of file:line.
        raise _unconstructable_value(node) from None
    finally:
        loader.dispose()
    return YamlDocument(value, node)


def _unconstructable_value(root: yaml.Node | None) -> YamlError:
    """The first scalar under ``root`` that the safe constructor cannot build, as a YamlError with its line."""
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop(0)
        if isinstance(node, yaml.ScalarNode):
            try:
                yaml.constructor.SafeConstructor().construct_object(node, deep=True)
            except (ValueError, TypeError, KeyError, OverflowError, yaml.YAMLError):
                kind = {"timestamp": "date (YYYY-MM-DD)"}.get(node.tag.rsplit(":", 1)[-1], node.tag.rsplit(":", 1)[-1])
                return YamlError(node.start_mark.line + 1, f"invalid value {node.value!r}: it is not a valid {kind}")
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            pending.extend(n for pair in node.value for n in pair)
    return YamlError(node_line(root), "invalid YAML value")


def _describe(exc: yaml.MarkedYAMLError) -> str:
    problem = (exc.problem or "").strip()
    context = (exc.context or "").strip()
    if "could not determine a constructor for the tag" in problem:
        tag = problem.split("tag", 1)[1].strip()
        return f"YAML tag {tag} is not allowed: only plain values (text, numbers, dates, lists, mappings) are read"
    if context and problem:
        return f"invalid YAML: {context}, {problem}"
    return f"invalid YAML: {problem or context or 'unreadable'}"
