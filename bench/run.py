"""Benchmark the SSG (build.py) against Hugo on synthetic bilingual corpora of several shapes.

For every shape (``bench/shapes.py``), size and run::

    SSG  cold               move the output folder (and what build.py keeps beside it) and
                            <site>/.cache out of the way, then build (--offline)
    SSG  no-op              build again, nothing changed
    SSG  one-change         edit one paragraph of one article (and add its memory entry
                            when the shape has a memory), build
    SSG  first translation  a copy of the site without its memory, provider libre against a
                            fast LibreTranslate stub (bench/libre_fast_stub.py, its own
                            process on 127.0.0.1), concurrency 4: every paragraph translated;
                            reported as ms per paragraph, the memory checked complete after
    Hugo cold               move Hugo's output, resources/ and cache dir out of the way, then
                            build  (--vs-hugo)

Nothing is deleted while builds are timed: what the harness would delete is moved into
``<workdir>/.trash`` and deleted at the end (measure.Trash; on ext4 without a journal, files
made within a minute of thousands deleted cost ten times more).

SSG and Hugo runs alternate (SSG first on even runs, Hugo first on odd ones), so
a noisy neighbour slows both alike. Every build is one subprocess timed wall-clock
from spawn to exit; its peak memory is the ``ru_maxrss`` that ``os.wait4`` returns
for that child (its largest process, own children included), or the sampled
proportional set size of its process tree when that is larger (a build that forks
workers: pages they share with their parent are counted once; measure.py).

Examples::

    python bench/run.py --segments 1000 --vs-hugo --runs 3
    python bench/run.py --shapes all --segments 10000 --vs-hugo --runs 5 --write-docs
    python bench/run.py --shapes long-flat-undated,mixed-git-absent --sizes 200,1000 --vs-hugo --runs 1
    python bench/run.py --sizes 1000,10000,50000 --vs-hugo --runs 3
    python bench/run.py --segments 10000 --hugo-only --runs 3
    python bench/run.py --corpus ~/newsroom --vs-hugo --runs 3 --no-first-translation
    python bench/run.py --shape-spec bytes=300-900,paragraphs=1-2,dating=git,layout=flat,memory=half --segments 10000 --vs-hugo --runs 3
    python bench/shapes.py --list
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402,F401  (bench/corpus.py)
import own  # noqa: E402
import shapes  # noqa: E402
from measure import Measure, Trash, clean, count_html, measure  # noqa: E402,F401  (the former API of this module)
from phases import (  # noqa: E402,F401
    EDIT_SUFFIX,
    PHASE_NAMES,
    PHASES,
    ShapeResult,
    StubProcess,
    check_edit,
    compile_tool,
    edit_one_paragraph,
    paragraph_lines,
    run_shape_size,
)
from report import (  # noqa: E402,F401
    DOCS,
    RESULTS_END,
    RESULTS_START,
    TARGETS,
    machine,
    report,
    write_docs,
)

DEFAULT_PYTHON = PROJECT / ".venv" / "bin" / "python"
SizeResult = ShapeResult  # the former name


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark build.py (cold, no-op, one-change, first translation) against Hugo.",
                                     epilog=__doc__.split("Examples::")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", help=f"NAME[,NAME…] or all (default standard, unless --shape-spec or --corpus is given); known: {', '.join(shapes.SHAPES)}")
    parser.add_argument("--shape-spec", action="append", default=[], metavar="KEY=VALUE,…",
                        help=f"a shape of your own, every axis given (repeat for more): {shapes.SPEC_EXAMPLE}; keys: "
                        + "; ".join(f"{key} {meaning}" for key, meaning in shapes.SPEC_KEYS.items()))
    parser.add_argument("--segments", type=int, default=10000, help="corpus size (default 10000)")
    parser.add_argument("--sizes", type=lambda s: [int(x.replace("_", "")) for x in s.split(",") if x], help="several sizes, e.g. 1000,10000,50000 (overrides --segments) for a scaling table")
    parser.add_argument("--corpus", action="append", default=[], type=Path, metavar="SITE",
                        help="one's own archive: a site folder (site.yml, content/, its memory), benchmarked as it is against a Hugo twin of its segments (repeat for more; bench/own.py)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--vs-hugo", action="store_true", help="also build the Hugo twin cold in every run")
    parser.add_argument("--hugo-only", action="store_true", help="time only Hugo (no SSG)")
    parser.add_argument("--no-first-translation", action="store_true", help="skip the first-translation phase")
    parser.add_argument("--no-search", dest="search", action="store_false", help="skip timing search queries in Chromium")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"), help="corpora (cached by shape and size), working copies, outputs and logs")
    parser.add_argument("--per-page", type=int, default=corpus.DEFAULT_PER_PAGE)
    parser.add_argument("--python", type=Path, default=DEFAULT_PYTHON if DEFAULT_PYTHON.exists() else Path(sys.executable))
    parser.add_argument("--hugo", default=shutil.which("hugo") or "hugo")
    parser.add_argument("--strict", action="store_true", help="pass --strict to build.py")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds to rest before each timed build (default 1)")
    parser.add_argument("--write-docs", action="store_true", help=f"replace the results section of {DOCS.relative_to(PROJECT)}")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.sizes = args.sizes or [args.segments]
    if any(n < 1 for n in args.sizes):
        parser.error("sizes must be positive")
    try:
        given = args.shape_spec or args.corpus
        named = shapes.get_shapes(args.shapes or "standard") if args.shapes is not None or not given else []
        args.shape_list = named + [shapes.shape_from_spec(spec) for spec in args.shape_spec] + [own.own_corpus(site) for site in args.corpus]
    except ValueError as exc:
        parser.error(str(exc))
    if (args.vs_hugo or args.hugo_only) and not shutil.which(args.hugo):
        parser.error(f"hugo not found ({args.hugo}): install it (apt-get install hugo) or pass --hugo PATH")
    args.workdir = args.workdir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = machine(args)
    compile_tool(args.python)
    trash = Trash(args.workdir / ".trash")  # see measure.Trash: nothing is deleted while builds are timed
    if trash.folder.exists():
        _empty_and_rest(trash, "the trash of an interrupted run")
    _rest_after_last_emptying(args.workdir)
    stub = None if (args.hugo_only or args.no_first_translation) else StubProcess(str(args.python))
    results = []
    try:
        for shape in args.shape_list:
            for n in args.sizes if not isinstance(shape, own.OwnCorpus) else [None]:  # one's own archive has its own size
                results.append(run_shape_size(shape, n, args, stub, trash))
                if shutil.disk_usage(args.workdir).free < LOW_DISK:
                    _empty_and_rest(trash, "the trash (the disk is filling up)")
    finally:
        if stub is not None:
            stub.stop()
        trash.empty()
        os.sync()  # the inode tables written back: a minute then suffices (measure.Trash)
        (args.workdir / EMPTIED).touch()
    text = report(results, info, args)
    print(text)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    raw = args.workdir / f"results-{stamp}.json"
    raw.write_text(json.dumps({"machine": info, "args": {k: str(v) for k, v in vars(args).items()}, "results": [asdict(r) for r in results]}, indent=1))
    print(f"[bench] raw results: {raw}", file=sys.stderr)
    if args.write_docs:
        write_docs(text)
        print(f"[bench] wrote {DOCS}", file=sys.stderr)
    return 1 if any(r.problems for r in results) else 0


LOW_DISK = 10 * 1024**3  # free bytes under which the trash is emptied between shapes
EMPTIED = ".trash-emptied"  # touched when a run has emptied its trash at the end
REST = 61  # seconds after a deletion (and a sync) before a file made nearby is made at full speed


def _rest_after_last_emptying(workdir: Path) -> None:
    """A run started right after another (the same workdir) would time its first builds
    while the inodes the other freed at its end still slow every file made (measure.Trash):
    in one such run at 1,000 segments, both tools' cold builds spent 1.2-2.8 s in the
    kernel against 0.2-0.4. Rest until a minute has passed since."""
    try:
        since = time.time() - (workdir / EMPTIED).stat().st_mtime
    except OSError:
        return
    if 0 <= since < REST:
        print(f"[bench] the previous run emptied its trash {since:.0f} s ago: resting {REST - since:.0f} s first", file=sys.stderr)
        time.sleep(REST - since)


def _empty_and_rest(trash: Trash, what: str) -> None:
    """Delete the trash, then rest a minute: inodes freed within the last minute slow every
    file the next build makes (measure.Trash)."""
    print(f"[bench] emptying {what}, then resting a minute", file=sys.stderr)
    trash.empty()
    os.sync()
    time.sleep(REST)


if __name__ == "__main__":
    sys.exit(main())
