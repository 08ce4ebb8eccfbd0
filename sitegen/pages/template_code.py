"""The Python code Jinja compiles this project's templates to, made cheaper to run.

Imported only when a page is rendered (theme.py imports it with Jinja). Every change here
keeps what a template prints, byte for byte (tests/test_template_code.py renders templates
with Jinja's own code generator and with this one); each is here because a cold build
spends a fifth of its time running templates:

- a value printed (``{{ x }}``, autoescaped) goes through ``escape_output``, not markupsafe's
  ``escape``, which makes a Markup of every value with a Python constructor;
- the pieces of one run of output (text, values, text) are joined and yielded once, where
  Jinja yields each: a page is some 500 pieces, and each yield passes up through every block
  and template the page extends;
- ``x.name`` on a dict that holds the key ``name`` reads it in place, where Jinja calls
  ``environment.getattr``, which tries the attribute first (and a dict's missing attribute
  raises every time).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from markupsafe import Markup, escape
from markupsafe import _escape_inner as _escape_text  # markupsafe's C escaping of text

# The names a dict answers as attributes (``x.items``): those stay Jinja's to resolve.
_DICT_ATTRIBUTES = frozenset(dir(dict))


def generator_version() -> str:
    """This module's own digest: part of the name of the compiled templates' cache, so that
    code compiled by another version of this generator is never read."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


class FasterCodeGenerator(CodeGenerator):
    """Jinja's code generator, with the changes this module's docstring lists."""

    def _output_child_pre(self, node, frame, finalize) -> None:
        if frame.eval_ctx.autoescape and not frame.eval_ctx.volatile:
            self.write("environment.escape_output(")
            if finalize.src is not None:
                self.write(finalize.src)
        else:
            super()._output_child_pre(node, frame, finalize)

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        # Jinja's own, but for the pieces yielded (not appended to a buffer): joined, one yield.
        if frame.buffer is not None:
            super().visit_Output(node, frame)
            return
        if frame.require_output_check:
            if self.has_known_extends:
                return  # a template that extends another prints nothing outside its blocks
            self.writeline("if parent_template is None:")
            self.indent()
        finalize = self._make_finalize()
        body: list[list | nodes.Expr] = []
        for child in node.nodes:
            try:
                if not (finalize.const or isinstance(child, nodes.TemplateData)):
                    raise nodes.Impossible()
                const = self._output_child_to_const(child, frame, finalize)
            except (nodes.Impossible, Exception):  # as Jinja: evaluated at run time (and errors said there)
                body.append(child)
                continue
            if body and isinstance(body[-1], list):
                body[-1].append(const)
            else:
                body.append([const])
        if len(body) == 1:
            self._write_piece(body[0], frame, finalize, "yield ")
        else:
            self.writeline("yield ''.join((")
            self.indent()
            for item in body:
                self._write_piece(item, frame, finalize, "")
                self.write(",")
            self.outdent()
            self.writeline("))")
        if frame.require_output_check:
            self.outdent()

    def _write_piece(self, item, frame: Frame, finalize, prefix: str) -> None:
        if isinstance(item, list):
            self.writeline(prefix + self._output_const_repr(item))
            return
        self.writeline(prefix, item)
        self._output_child_pre(item, frame, finalize)
        self.visit(item, frame)
        self._output_child_post(item, frame, finalize)

    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        if self.environment.is_async or node.attr in _DICT_ATTRIBUTES:
            super().visit_Getattr(node, frame)
            return
        # The object is evaluated once, into a name of its own: an assignment expression,
        # which Python allows everywhere Jinja writes an attribute's lookup.
        name = self.temporary_identifier()
        self.write(f"({name}[{node.attr!r}] if type({name} := ")
        self.visit(node.node, frame)
        self.write(f") is dict and {node.attr!r} in {name} else environment.jinja_getattr({name}, {node.attr!r}))")


class FasterEnvironment(jinja2.Environment):
    """Jinja's environment, compiling with FasterCodeGenerator and giving its code what it calls."""

    code_generator_class = FasterCodeGenerator

    @staticmethod
    def escape_output(value, _escape_text=_escape_text, _str=str, _markup=Markup):
        """What escape() prints of a value, without a Markup: printed, it is only joined
        into the page. Text escaped by markupsafe's own code; a Markup as it is (escape()
        copies it into a new one, the theme's CSS into every page); anything else (a
        number, None, an object with __html__) by escape() itself."""
        kind = type(value)
        if kind is _str:
            return _escape_text(value)
        return value if kind is _markup else escape(value)

    # What the compiled code calls for an attribute it could not read in place: Jinja's own
    # lookup (the attribute, then the item), without the test for a dict made already.
    jinja_getattr = jinja2.Environment.getattr

    def getattr(self, obj, attribute):
        # ``labels.skip`` on a dict, where the compiled code could not read it in place (a
        # name dict itself has): the key, unless dict itself has that attribute.
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def make_globals(self, d):
        # A plain dict where Jinja makes a ChainMap over the environment's globals: every
        # render copies a template's globals into its context, and a ChainMap is copied
        # key by key in Python (1.5 % of a cold build). Nothing changes the globals once
        # templates are loaded, so a copy made at loading is the same map.
        return {**self.globals, **(d or {})}
