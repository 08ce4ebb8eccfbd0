"""What a build returns to its caller (the command line, the preview server, tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.diagnostics import Problem, has_errors

if TYPE_CHECKING:
    from ..translation.companions import TranslationReport


@dataclass
class BuildResult:
    problems: list[Problem] = field(default_factory=list)
    pages: int = 0
    segments: int = 0
    written: bool = False
    unchanged: bool = False  # nothing to do: the live site is already this build
    rebuilt_files: int = 0
    notes: list[str] = field(default_factory=list)
    report: TranslationReport | None = None

    @property
    def failed(self) -> bool:
        return has_errors(self.problems)
