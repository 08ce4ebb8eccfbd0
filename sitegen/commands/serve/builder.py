"""Building the site for the preview, the way the CLI does, and reporting what went wrong."""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..messages import describe_failure, is_template_error, print_problems
from .watcher import WATCHED_FOLDERS


@dataclass
class BuildOutcome:
    ok: bool
    seconds: float
    message: str
    changed: bool = True  # False: the build found nothing to do, the served site is current


class SiteBuilder:
    """Builds the site into the preview folder the way the CLI does, printing what the CLI prints."""

    def __init__(self, config_path: Path, output_dir: Path, offline: bool, drafts: bool = False, out=None):
        self.config_path = Path(config_path)
        self.output_dir = Path(output_dir)
        self.offline = offline
        self.drafts = drafts
        self.out = out  # a text stream; None means sys.stderr at the time of printing
        self.config = None  # the last configuration that loaded

    def _print(self, text: str) -> None:
        print(text, file=self.out or sys.stderr, flush=True)

    def build(self) -> BuildOutcome:
        from ...config import ConfigError, load_config
        from ...pages.theme import ThemeError
        from ...pipeline.stages import BuildOptions, build_site
        from ...pipeline.staging import OutputError

        started = time.monotonic()
        stream = self.out or sys.stderr
        try:
            config = load_config(self.config_path, output_override=self.output_dir)
        except ConfigError as exc:
            print_problems(exc.problems, stream=stream)
            return BuildOutcome(False, time.monotonic() - started, "configuration errors")
        except OSError as exc:  # EMFILE (no descriptor left), EACCES, EIO: this build fails, the next change tries again
            self._print(f"error: cannot read {self.config_path} ({exc.strerror or exc})")
            return BuildOutcome(False, time.monotonic() - started, str(exc))
        self.config = config
        try:
            result = build_site(config, BuildOptions(offline=self.offline, drafts=self.drafts))
        except (OutputError, ThemeError) as exc:
            self._print(f"error: {exc}")
            return BuildOutcome(False, time.monotonic() - started, str(exc))
        except OSError as exc:
            self._print(f"error: cannot write the site ({exc.strerror or exc}: {exc.filename or self.output_dir})")
            return BuildOutcome(False, time.monotonic() - started, str(exc))
        except Exception as exc:  # noqa: BLE001 -- a preview must survive any failed build
            self._print(f"error: {describe_failure(exc)}")
            # A traceback helps with a bug of ours; a file system that failed (wrapped, as
            # a worker pool does) needs only the line above.
            if not is_template_error(exc) and not _caused_by_os_error(exc):
                traceback.print_exc(file=stream)
            return BuildOutcome(False, time.monotonic() - started, str(exc))
        print_problems(result.problems, stream=stream)
        seconds = time.monotonic() - started
        if getattr(result, "unchanged", False) and not result.failed:
            return BuildOutcome(True, seconds, f"nothing changed since the last build ({seconds:.2f} s)", changed=False)
        if not result.written:
            return BuildOutcome(False, seconds, "build failed")
        return BuildOutcome(True, seconds, f"built {result.segments} segments into {result.pages} pages ({seconds:.1f} s)")

    def watched_paths(self) -> list[Path]:
        """Folders whose change means a rebuild (those that exist), from the last good configuration.

        A folder holding the preview output (``content_dir: .``) is left out: every
        build would trigger the next.
        """
        root = self.config_path.resolve().parent
        folders = [root / name for name in WATCHED_FOLDERS]
        if self.config is not None:
            folders += [self.config.content_dir, self.config.memory_dir, self.config.root / "themes", self.config.root / "templates"]
        output = self.output_dir.resolve()
        candidates = sorted({f.resolve() for f in folders if f.is_dir()}, key=lambda p: len(p.parts))
        unique: list[Path] = []
        for folder in candidates:
            if folder == output or folder in output.parents:
                continue
            if not any(u == folder or u in folder.parents for u in unique):
                unique.append(folder)
        return unique


def _caused_by_os_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an OSError, or was raised from one or while handling one (EMFILE in a worker, say)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False

