"""What every command says and returns: exit codes, problems as printed, template mistakes.

Shared by ``build``, ``serve`` and ``check`` so that they word a failure alike.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import TextIO

from ..core.diagnostics import Problem, Severity
from ..core.textrules import collapse_spaces

# 0: done; 1: problems in the content, configuration or built site; 2: wrong usage.
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace | None, int]:
    """The command's arguments, or None and the exit code: argparse exits for ``--help`` (0,
    having printed it) and for a usage mistake (EXIT_USAGE, having said what is wrong)."""
    try:
        return parser.parse_args(list(sys.argv[1:] if argv is None else argv)), EXIT_OK
    except SystemExit as exc:
        return None, int(exc.code or 0) and EXIT_USAGE


def print_problems(problems: list[Problem], strict: bool = False, stream: TextIO | None = None) -> None:
    """Each problem on its own line; with --strict a warning is shown as the error it counts as."""
    for problem in problems:
        shown = problem
        if strict and problem.severity is Severity.WARNING:
            shown = Problem(problem.path, problem.line, problem.message, Severity.ERROR)
        print(str(shown), file=stream or sys.stderr, flush=True)


def is_template_error(exc: BaseException) -> bool:
    import jinja2

    return isinstance(exc, jinja2.TemplateError)


def describe_template_error(exc: Exception) -> str:
    """Which template, which line, what: a theme author's mistake, not the tool's."""
    import jinja2

    name = getattr(exc, "filename", None) or getattr(exc, "name", None)
    line = getattr(exc, "lineno", None)
    if not (name and line):
        # Render-time errors carry no position; Jinja puts the template's frames in the traceback.
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith((".html", ".xml", ".j2"))]
        if frames:
            name, line = frames[-1].filename, frames[-1].lineno
    where = f"{name}:{line}" if name and line else (name or "a template")
    if isinstance(exc, jinja2.UndefinedError):
        return f"{where}: {exc.message}: the template uses a variable the page does not have; fix the template"
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"template {exc.name} not found: add it to templates/ or the theme"
    return f"{where}: template error: {getattr(exc, 'message', None) or exc}: fix the template"


def describe_failure(exc: Exception) -> str:
    """A template mistake by file and line; anything else as an unexpected failure."""
    if is_template_error(exc):
        return describe_template_error(exc)
    return f"unexpected failure ({type(exc).__name__}: {exc})"


def one_line(value: object, limit: int = 300) -> str:
    """``value`` as one line of at most ``limit`` characters, for a message (a request path may be 64 KiB)."""
    text = collapse_spaces(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"
