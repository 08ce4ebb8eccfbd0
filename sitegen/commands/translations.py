"""``build.py translations status|export|import|review``: the memory, for editors and CAT tools.

* ``status [--json]``: per file and in total, units missing, machine-translated, reviewed, and
  reviewed translations gone stale. Exit 0 (1 only when the configuration cannot be read).
* ``export --format xliff|po|tmx [--only unreviewed|stale|all] -o FILE``: for a CAT tool.
* ``import FILE [--as-machine] [--dry-run]``: an edited export back into the memories; exit 1
  when any unit was refused (the others are imported) or the file cannot be used (nothing is).
* ``review [-o review.html]``: a local HTML report of what is left to review.

Nothing here contacts a translation service or builds the site. docs/translations.md has
the editor's round trip.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import ConfigError, SiteConfig, load_config
from ..core.diagnostics import error
from ..core.fsutil import write_atomic
from .messages import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, parse_arguments, print_problems

COUNT_NAMES = ("missing", "machine", "reviewed", "stale")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py translations",
        description="Review the translation memory in CAT tools: status, export (XLIFF 1.2, PO, TMX 1.4b), import, review report.",
    )
    parser.add_argument("--config", default="site.yml", metavar="PATH", help="site configuration (default: ./site.yml)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="how many units are missing, machine-translated, reviewed and stale")
    status.add_argument("--json", action="store_true", help="print the figures as JSON, for scripts")
    export = actions.add_parser("export", help="write the units to review for a CAT tool")
    export.add_argument("--format", required=True, choices=("xliff", "po", "tmx"), help="xliff (1.2), po (gettext) or tmx (1.4b: reviewed pairs only)")
    export.add_argument("--only", default="unreviewed", choices=("unreviewed", "stale", "all"), help="which units (default: unreviewed: missing, machine output and stale places)")
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write ('-' for standard output)")
    importing = actions.add_parser("import", help="read an edited XLIFF, PO or TMX file back into the memories")
    importing.add_argument("file", metavar="FILE")
    importing.add_argument("--as-machine", action="store_true", help="keep the imported translations unreviewed (they never replace reviewed ones)")
    importing.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")
    review = actions.add_parser("review", help="write a self-contained HTML report of what is left to review")
    review.add_argument("-o", "--output", default="review.html", metavar="FILE", help="the report (default: review.html)")
    for sub in (status, export, importing, review):
        sub.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH", help="site configuration (default: ./site.yml)")
    return parser


def translations_main(argv: list[str]) -> int:
    args, code = parse_arguments(_parser(), argv)
    if args is None:
        return code
    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        print_problems(exc.problems)
        return EXIT_PROBLEMS
    from ..translation.worklist import survey

    works, problems = survey(config)
    print_problems(problems)
    if args.action == "status":
        return _status(works, args.json)
    if args.action == "export":
        return _export(works, args, config)
    if args.action == "import":
        return _import(works, args, config)
    return _review(works, args, config)


def _status(works: list, as_json: bool) -> int:
    from ..translation.worklist import totals

    rows = [{"file": w.source_file, **w.counts()} for w in works]
    total = totals(works)
    if as_json:
        print(json.dumps({"files": rows, "total": total}, ensure_ascii=False, indent=2))
        return EXIT_OK
    width = max([len("total"), *(len(r["file"]) for r in rows)])
    print(f"{'file':<{width}}  " + "  ".join(f"{n:>8}" for n in COUNT_NAMES))
    for row in rows + [{"file": "total", **total}]:
        print(f"{row['file']:<{width}}  " + "  ".join(f"{row[n]:>8}" for n in COUNT_NAMES))
    return EXIT_OK


def _export(works: list, args: argparse.Namespace, config: SiteConfig) -> int:
    from ..translation.exchange_formats import export_bytes

    data = export_bytes(works, args.format, args.only, config)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    code = _write(Path(args.output), data)
    if code == EXIT_OK:
        print(f"exported to {args.output} ({args.format}, {'reviewed pairs' if args.format == 'tmx' else args.only}); edit it in your CAT tool, then: python build.py translations import {args.output}")
    return code


def _import(works: list, args: argparse.Namespace, config: SiteConfig) -> int:
    from ..translation.exchange_formats import read_exchange
    from ..translation.importing import commit, plan_import

    path = Path(args.file)
    units, problems = read_exchange(path, config)
    if any(p.is_error for p in problems):
        print_problems(problems)
        print("import refused: no memory was changed", file=sys.stderr)
        return EXIT_PROBLEMS
    plan = plan_import(units, works, path, as_machine=args.as_machine)
    print_problems(problems + plan.problems)
    if plan.blocked:
        print("import refused: no memory was changed", file=sys.stderr)
        return EXIT_PROBLEMS
    if not args.dry_run:
        try:
            commit(plan)
        except OSError as exc:
            print(error(exc.filename or path, None, f"cannot save the translation memory ({exc.strerror}): memories saved before this one keep the import"), file=sys.stderr)
            return EXIT_PROBLEMS
    what = "would import" if args.dry_run else "imported"
    kind = "unreviewed" if args.as_machine else "reviewed"
    print(f"{what} {plan.applied} {kind} translation(s) into {len(plan.memories)} memory file(s); {plan.unchanged} unchanged; {plan.refused} refused")
    return EXIT_PROBLEMS if plan.refused else EXIT_OK


def _review(works: list, args: argparse.Namespace, config: SiteConfig) -> int:
    from ..translation.review import review_html

    page = review_html(works, config.title, config.language, config.translation.target)
    code = _write(Path(args.output), page.encode("utf-8"))
    if code == EXIT_OK:
        print(f"review report written to {args.output}: open it in a browser (it needs no server)")
    return code


def _write(path: Path, data: bytes) -> int:
    if path.is_dir():
        print(error(path, None, "is a folder: give a file name, e.g. -o review.xlf"), file=sys.stderr)
        return EXIT_USAGE
    try:
        write_atomic(path, data, durable=False)
    except OSError as exc:
        print(error(path, None, f"cannot write the file ({exc.strerror}): check the folder and its permissions"), file=sys.stderr)
        return EXIT_PROBLEMS
    return EXIT_OK
