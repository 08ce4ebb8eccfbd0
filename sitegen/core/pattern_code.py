"""The programs of regular expressions, compiled once per Python, not every run.

``re`` turns a pattern into the program its matching engine runs (a list of integers) by
parsing the pattern in Python, in every process that compiles it. A build compiles 120 to
170 of them (ours, and those PyYAML, Jinja and Python-Markdown compile as they are imported):
26-30 ms of a no-op build at 10,000 one-segment files (a tenth of it), 36-43 ms of a
one-change build of Markdown. The program follows from the pattern, its flags and the
interpreter alone, so it is kept in ``__pycache__`` as the dataclasses' methods are
(``generated_code.py``): stamped with the interpreter's version, trusted as the ``.pyc`` files
there are, not written when Python writes no bytecode, never written by a forked worker.

A program is kept only when the engine built from it equals the one ``re`` itself built (the
same flags, code, groups and group names): where a later Python compiles otherwise than
this module reads it, nothing is kept and every run compiles as before.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
from importlib.util import MAGIC_NUMBER
from pathlib import Path

import _sre

from .pycache import read_marshalled, write_marshalled

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "__pycache__" / f"regex-programs.{sys.implementation.cache_tag}.marshal"
# Written first in the file: a program is only as good as the interpreter that compiled it.
STAMP = MAGIC_NUMBER + sys.version.encode("utf-8") + b"\0"
# Programs kept at most: past this, a save keeps only those this process used.
MOST_KEPT = 4000

# (pattern, flags given) -> the arguments of _sre.compile after the pattern: the flags the
# pattern ends with, its program, its group count less one, its group names both ways.
Program = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]


class PatternPrograms:
    """Compiled programs by pattern: those read from ``path`` and those compiled since."""

    def __init__(self, path: Path, compile_pattern=None):
        self.path = path
        self.known = _read(path)
        self.used: dict[tuple[str | bytes, int], Program] = {}
        self.compiled = 0
        self._owner = os.getpid()
        self._compile_pattern = compile_pattern or re._compiler.compile  # re's own
        self._lock = threading.Lock()

    def compile(self, pattern, flags=0):
        """``re._compiler.compile``: the engine of ``pattern``, its program read back when known."""
        if type(pattern) not in (str, bytes) or flags & re.DEBUG:
            return self._compile_pattern(pattern, flags)  # a parsed pattern (re's own use); a debug listing
        key = (pattern, int(flags))
        program = self.known.get(key)
        if program is not None:
            try:
                engine = _sre.compile(pattern, *program)
            except (RuntimeError, TypeError, ValueError, OverflowError):
                self.known.pop(key, None)  # a damaged program (the engine checks it): compiled again below
            else:
                self.used[key] = program
                return engine
        engine = self._compile_pattern(pattern, flags)
        program = _program(pattern, int(flags))
        if program is not None and _same_engine(engine, pattern, program):
            with self._lock:
                self.known[key] = self.used[key] = program
                self.compiled += 1
        return engine

    def save(self) -> None:
        """Write the file again when this process compiled anything new (pycache.write_marshalled)."""
        if not self.compiled:
            return
        with self._lock:
            programs = dict(self.known if len(self.known) <= MOST_KEPT else self.used)
        write_marshalled(self.path, STAMP, programs, self._owner)


def _program(pattern: str | bytes, flags: int) -> Program | None:
    """What re._compiler.compile passes to the engine for ``pattern``, or None if this Python's
    compiler is not the one this reads (a later ``re``)."""
    try:
        parsed = re._parser.parse(pattern, flags)
        code = re._compiler._code(parsed, flags)
        names = dict(parsed.state.groupdict)
        by_number: list[str | None] = [None] * parsed.state.groups
        for name, number in names.items():
            by_number[number] = name
        # Plain ints: the opcodes are named int constants, which marshal does not write.
        return (int(flags | parsed.state.flags), list(map(int, code)), parsed.state.groups - 1, names, tuple(by_number))
    except Exception:  # noqa: BLE001 -- any surprise in another Python's internals: compile as before
        return None


def _same_engine(engine: re.Pattern, pattern: str | bytes, program: Program) -> bool:
    """Whether ``program`` builds ``engine`` again: patterns compare their flags, text and code."""
    try:
        again = _sre.compile(pattern, *program)
    except Exception:  # noqa: BLE001 -- see _program
        return False
    return again == engine and again.groupindex == engine.groupindex and again.groups == engine.groups


def _read(path: Path) -> dict[tuple[str | bytes, int], Program]:
    """The file's programs; none if it is missing, of another Python, or not as ``save`` writes it."""
    return {key: program for key, program in read_marshalled(path, STAMP).items() if _well_formed(key, program)}


def _well_formed(key, program) -> bool:
    return (
        type(key) is tuple and len(key) == 2 and type(key[0]) in (str, bytes) and type(key[1]) is int
        and type(program) is tuple and len(program) == 5
        and [type(part) for part in program] == [int, list, int, dict, tuple]
    )


def remember_pattern_programs(path: Path = DEFAULT_PATH) -> PatternPrograms | None:
    """Have ``re`` compile through a :class:`PatternPrograms` of ``path`` from now on, saved
    when the process ends (:func:`save_pattern_programs` for one ending by ``os._exit``).
    None where ``re`` has no ``_compiler`` module to ask (before Python 3.11)."""
    compiler = getattr(re, "_compiler", None)
    if compiler is None or not hasattr(compiler, "_code"):
        return None
    compile_pattern = compiler.compile
    installed = getattr(compile_pattern, "__self__", None)
    if isinstance(installed, PatternPrograms):
        compile_pattern = installed._compile_pattern  # replaced, not stacked: re's own again
    programs = PatternPrograms(path, compile_pattern)
    compiler.compile = programs.compile  # re._compile calls it by name
    atexit.register(programs.save)
    return programs


def save_pattern_programs() -> None:
    """Save what the installed :class:`PatternPrograms` compiled: for a process ending by
    ``os._exit``, which runs no ``atexit`` function (build.py: commands/cli.leave)."""
    installed = getattr(getattr(getattr(re, "_compiler", None), "compile", None), "__self__", None)
    if isinstance(installed, PatternPrograms):
        installed.save()
