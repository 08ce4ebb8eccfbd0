"""The methods ``dataclasses`` writes for each class, compiled once per Python, not every run.

A frozen dataclass gets its ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__`` and ``__delattr__`` as source text that ``dataclasses`` compiles with
``exec`` while its module is imported: six compilations a class. The seventy-three classes a
one-change build imports spent 32 ms compiling in every run, a third of importing the
stages (docs/benchmarks.md, twenty-third round), and the texts are the same run after run.
So the compiled code is kept beside the package's own bytecode, in ``__pycache__``, stamped
with the interpreter's bytecode magic number, trusted as the ``.pyc`` files there are and
not written when Python is told not to write those (``sys.dont_write_bytecode``).

The code ``compile`` gives for a text is the code ``exec`` would have made of it (no
``__future__`` flags are inherited either way), so a class is the same whether its methods
were compiled now or read back.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType

from .pycache import read_marshalled, write_marshalled

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "__pycache__" / f"dataclass-methods.{sys.implementation.cache_tag}.marshal"
# Texts kept at most: past this, a save keeps only the texts this process used, so that the
# code of classes since edited or removed does not pile up.
MOST_KEPT = 4000


class GeneratedCode:
    """Compiled code by source text: those read from ``path`` and those compiled since."""

    def __init__(self, path: Path):
        self.path = path
        self.known = _read(path)
        self.used: dict[str, CodeType] = {}
        self.compiled = 0
        self._owner = os.getpid()  # a forked worker never writes the file

    def exec(self, source, globals=None, locals=None, /):  # noqa: A002 -- exec's own signature
        if type(source) is str:
            code = self.known.get(source)
            if code is None:
                code = self.known[source] = compile(source, "<string>", "exec", dont_inherit=True)
                self.compiled += 1
            self.used[source] = code
            source = code
        return exec(source, globals, locals)

    def save(self) -> None:
        """Write the file again when this process compiled anything (atomically: another build
        may read it meanwhile). A folder that cannot be written is left alone: every run then
        compiles, as without this module."""
        if self.compiled:
            write_marshalled(self.path, MAGIC_NUMBER, self.known if len(self.known) <= MOST_KEPT else self.used, self._owner)


def _read(path: Path) -> dict[str, CodeType]:
    """The file's codes; none if it is missing, of another Python, or not as ``save`` writes it."""
    return {text: code for text, code in read_marshalled(path, MAGIC_NUMBER).items() if type(text) is str and type(code) is CodeType}


def remember_generated_code(path: Path = DEFAULT_PATH) -> GeneratedCode:
    """Have ``dataclasses`` compile through a :class:`GeneratedCode` of ``path`` from now on
    (its module calls ``exec`` by name: a name in its namespace comes before the builtin),
    saved when the process ends (:func:`save_generated_code` for one ending by ``os._exit``)."""
    generated = GeneratedCode(path)
    dataclasses.exec = generated.exec  # type: ignore[attr-defined]
    atexit.register(generated.save)
    return generated


def save_generated_code() -> None:
    """Save what the code installed in ``dataclasses`` compiled: for a process that ends by
    ``os._exit``, which runs no ``atexit`` function (build.py: commands/cli.leave)."""
    installed = getattr(getattr(dataclasses, "exec", None), "__self__", None)
    if isinstance(installed, GeneratedCode):
        installed.save()
