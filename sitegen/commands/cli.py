"""The command line: parse options, run the build, print problems, choose the exit code.

Exit codes: 0 built, 1 errors in content or configuration, 2 wrong usage.
A traceback is shown only with --debug: a user's mistake gets a message.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from ..core.generated_code import save_generated_code
from ..core.pattern_code import save_pattern_programs
from ..config import ConfigError, SiteConfig, load_config
from ..core.forked import ForkedWork
from ..pipeline.listing import Listed, start_listing
from .messages import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
    describe_template_error,
    is_template_error,
    parse_arguments,
    print_problems,
)

COMMANDS = ("build", "serve", "check", "translations")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py",
        description="Build a bilingual (Arabic / English) static site from content/. Commands: build (default), serve, check, translations.",
    )
    parser.add_argument("--config", default="site.yml", metavar="PATH", help="site configuration (default: ./site.yml); paths in it resolve against its folder")
    parser.add_argument("--out", metavar="DIR", help="output folder (overrides output_dir)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--offline", action="store_true", help="never contact a translation service: use the translation memory only")
    parser.add_argument("--drafts", action="store_true", help="include segments marked 'draft: true'")
    parser.add_argument("--quiet", action="store_true", help="print only problems")
    parser.add_argument("--debug", action="store_true", help="show a traceback on unexpected failures")
    return parser


def main(argv: list[str] | None = None, keep: Callable[[object], None] | None = None) -> int:
    """``keep``: see :class:`BuildOptions` (given by build.py, which ends the process at once)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "build"
    if argv and argv[0] in COMMANDS:
        command = argv.pop(0)
    if command in ("serve", "check", "translations"):
        return _run_subcommand(command, argv)
    args, code = parse_arguments(_build_parser(), argv)
    if args is None:
        return code
    try:
        return run_build(args, keep)
    except KeyboardInterrupt:
        print("interrupted: the previous site is untouched; translations finished so far are saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 -- the last line of defence against tracebacks
        if args.debug:
            traceback.print_exc()
        else:
            print(f"error: unexpected failure ({type(exc).__name__}: {exc}); run again with --debug and report it", file=sys.stderr)
        return EXIT_PROBLEMS


def leave(code: int | None) -> NoReturn:
    """End the process with ``code`` once what it printed is flushed, skipping the interpreter's
    teardown: freeing a build's hundreds of thousands of objects one at a time, after a last
    full collection, cost a one-change build 60-100 ms. Nothing is left to do by then: every
    file is written and closed (atomically), the cache committed and closed, workers joined."""
    save_generated_code()  # no atexit function runs after os._exit
    save_pattern_programs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # a reader that went away (| head): there is no one left to tell
    os._exit(code or 0)  # as sys.exit: None is success


def _run_subcommand(command: str, argv: list[str]) -> int:
    debug = "--debug" in argv
    try:
        if command == "serve":
            from .serve.main import serve_main

            return serve_main([a for a in argv if a != "--debug"])
        if command == "translations":
            from .translations import translations_main

            return translations_main([a for a in argv if a != "--debug"])
        from .check import check_main

        return check_main([a for a in argv if a != "--debug"])
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001
        if debug:
            traceback.print_exc()
        else:
            print(f"error: unexpected failure in '{command}' ({type(exc).__name__}: {exc}); run again with --debug and report it", file=sys.stderr)
        return EXIT_PROBLEMS


def run_build(args: argparse.Namespace, keep: Callable[[object], None] | None = None) -> int:
    started = time.monotonic()
    try:
        config = load_config(Path(args.config), Path(args.out) if args.out else None)
    except ConfigError as exc:
        print_problems(exc.problems, strict=args.strict)
        return EXIT_PROBLEMS
    # The sources listed by a child from here on, while this process imports the build: the
    # listing is what a build with nothing to do waits for (stages.build_site).
    with start_listing(config) as listing:
        return _run_build(args, config, listing, started, keep)


def _run_build(args: argparse.Namespace, config: SiteConfig, listing: ForkedWork[Listed], started: float, keep: Callable[[object], None] | None) -> int:
    import sqlite3

    from ..pages.theme import ThemeError
    from ..pipeline.staging import OutputError
    from ..pipeline.stages import BuildOptions, build_site

    options = BuildOptions(
        offline=args.offline,
        strict=args.strict,
        drafts=args.drafts,
        translator_factory=_translator_factory(config),
        progress=_progress_printer() if not args.quiet else None,
        keep=keep,
    )
    try:
        result = build_site(config, options, listing)
    except (OutputError, ThemeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except sqlite3.Error as exc:
        print(f"error: the build cache in {config.cache_dir} cannot be used ({exc}): free disk space if it is full, or delete that folder (always safe); the previous site is untouched", file=sys.stderr)
        return EXIT_PROBLEMS
    except Exception as exc:
        return _build_failure(exc, config)
    print_problems(result.problems, strict=args.strict)
    if not args.quiet:
        for note in result.notes:
            print(f"note: {note}")
    if result.report is not None and not args.quiet:
        print(result.report.summary())
        if result.report.without_companion:
            shown = result.report.without_companion[:20]
            more = len(result.report.without_companion) - len(shown)
            print("without English companion: " + ", ".join(shown) + (f" and {more} more" if more > 0 else ""))
    if result.unchanged:
        if result.failed or (args.strict and result.problems):
            return EXIT_PROBLEMS
        if not args.quiet:
            print(f"nothing changed: {config.output_dir} is up to date ({time.monotonic() - started:.2f} s)")
        return EXIT_OK
    if not result.written:
        print("build failed: the previous site is untouched", file=sys.stderr)
        return EXIT_PROBLEMS
    if not args.quiet:
        print(
            f"built {result.segments} segments into {result.pages} pages in {config.output_dir} "
            f"({result.rebuilt_files} source files processed, {time.monotonic() - started:.1f} s)"
        )
    return EXIT_OK


def _translator_factory(config: SiteConfig):
    """The real translator, made only when something is missing from the memory."""

    def make():
        from ..translation.companions import api_key_from_environment
        from ..translation.providers import TranslatorSettings
        from ..translation.translator import make_translator

        settings = TranslatorSettings(
            provider=config.translation.provider,
            source=config.language,
            target=config.translation.target,
            url=config.translation.url,
            timeout=config.translation.timeout,
            api_key=api_key_from_environment(),
            max_retries=config.translation.retries,
        )
        return make_translator(settings)

    return make


def _progress_printer():
    """A progress bar on a terminal; plain lines (every tenth) when output is a file or CI log."""
    state: dict[str, object] = {"bar": None, "last": -1}

    def progress(done: int, total: int, report) -> None:
        if sys.stderr.isatty():
            from tqdm import tqdm

            bar = state["bar"]
            if bar is None:
                bar = tqdm(total=total, desc="translating", unit="para", file=sys.stderr)
                state["bar"] = bar
            bar.update(done - bar.n)  # type: ignore[attr-defined]
            bar.set_postfix(new=report.translated, failed=report.failed, cached=report.cached)  # type: ignore[attr-defined]
            if done == total:
                bar.close()  # type: ignore[attr-defined]
            return
        tenth = done * 10 // max(total, 1)
        if tenth != state["last"] or done == total:
            state["last"] = tenth
            print(f"translating: {done}/{total} (new {report.translated}, failed {report.failed}, from memory {report.cached})", file=sys.stderr)

    return progress


def _build_failure(exc: Exception, config: SiteConfig) -> int:
    """A template's mistake or a file that cannot be written: said in one line, no traceback."""
    # First: Jinja's TemplateNotFound is an OSError too. (Jinja is imported only by builds that render.)
    if is_template_error(exc):
        print(f"error: {describe_template_error(exc)}; the previous site is untouched", file=sys.stderr)
        return EXIT_PROBLEMS
    if not isinstance(exc, OSError):
        raise exc
    where = exc.filename or config.output_dir
    if exc.filename and Path(exc.filename).resolve().is_relative_to(config.memory_dir.resolve()):
        what = "cannot save the translation memory"  # every translation saved before is kept
    else:
        what = "cannot write the site"
    print(f"error: {what} ({exc.strerror or exc}: {where}); the previous site is untouched", file=sys.stderr)
    return EXIT_PROBLEMS
