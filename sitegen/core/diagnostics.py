"""Problems found in a user's input, reported as ``path:line: what is wrong, and what to do``.

Every stage returns the problems it found instead of raising on the first one,
so that one build reports all of them. Only the CLI decides how to print them
and which exit code follows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from .textrules import visible


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"

    def __reduce_ex__(self, protocol):
        # Pickled by value, Severity("warning"), on every Python 3.11: 3.11.2 (Debian 12's)
        # pickles a member as getattr(Severity, "WARNING"), where 3.11.7 pickles it by value,
        # and the build cache's allow-list refuses getattr (pipeline/cache.py): every record
        # holding a warning read as damage, and the whole site made again, build after build.
        return type(self), (self._value_,)


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int | None
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        label = "warning: " if self.severity is Severity.WARNING else ""
        # Escaped: a file name or value holding a bidi override or a line break must not
        # reorder or split the line a terminal or a CI log shows.
        return visible(f"{where}: {label}{self.message}")

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(path: str | Path, line: int | None, message: str) -> Problem:
    return Problem(display_path(path), line, message, Severity.ERROR)


def warning(path: str | Path, line: int | None, message: str) -> Problem:
    return Problem(display_path(path), line, message, Severity.WARNING)


def display_path(path: str | Path) -> str:
    """A path as the user typed it: relative to the working directory when inside it."""
    if isinstance(path, str) and not os.path.isabs(path):
        return path
    text = os.fspath(path)
    # What relpath gives a normal path below the working directory, without its work (14 µs,
    # for every source file of a build: each names its file where its slugs are claimed).
    below = os.path.join(os.getcwd(), "")
    if text.startswith(below) and len(text) > len(below) and os.path.normpath(text) == text:
        return text[len(below) :]
    try:
        return os.path.relpath(text)
    except ValueError:  # another drive on Windows
        return text


class BuildFailed(Exception):
    """Raised at the edges when problems make the build stop; carries all of them."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def has_errors(problems: list[Problem] | tuple[Problem, ...]) -> bool:
    return any(p.is_error for p in problems)
