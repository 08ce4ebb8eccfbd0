"""Benchmark the SSG (build.py) against Hugo on a synthetic bilingual corpus.

For every run and every size::

    SSG  cold        delete the output folder and <site>/.cache, then build
    SSG  no-op       build again, nothing changed
    SSG  one-change  edit one paragraph of one article (and add its memory entry), build
    Hugo cold        delete Hugo's output, resources/ and cache dir, then build  (--vs-hugo)

SSG and Hugo runs alternate (SSG first on even runs, Hugo first on odd ones), so
a noisy neighbour slows both alike. Every build is one subprocess timed wall-clock
from spawn to exit; its peak memory is the ``ru_maxrss`` that ``os.wait4`` returns
for that child (its largest process, own children included), or the sampled sum of
RSS over its process tree when that is larger (a build that forks workers).

Examples::

    python bench/run.py --segments 1000 --vs-hugo --runs 3
    python bench/run.py --segments 10000 --vs-hugo --runs 5 --write-docs
    python bench/run.py --sizes 1000,10000,50000 --vs-hugo --runs 3
    python bench/run.py --segments 10000 --hugo-only --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402  (bench/corpus.py)

DEFAULT_PYTHON = PROJECT / ".venv" / "bin" / "python"
BUILD_PY = PROJECT / "build.py"
DOCS = PROJECT / "docs" / "benchmarks.md"
RESULTS_START = "<!-- bench/run.py results: start (replaced by --write-docs) -->"
RESULTS_END = "<!-- bench/run.py results: end -->"

TARGETS = {  # ratio name -> (numerator, denominator, upper bound)
    "SSG cold / Hugo cold": ("ssg_cold", "hugo_cold", 1.0),
    "SSG no-op / Hugo cold": ("ssg_noop", "hugo_cold", 0.05),
    "SSG one-change / Hugo cold": ("ssg_one_change", "hugo_cold", 0.10),
    "SSG peak RSS / Hugo peak RSS": ("ssg_rss", "hugo_rss", 0.5),
}
PHASES = ("ssg_cold", "ssg_noop", "ssg_one_change", "hugo_cold")
PHASE_NAMES = {"ssg_cold": "SSG cold", "ssg_noop": "SSG no-op", "ssg_one_change": "SSG one-change", "hugo_cold": "Hugo cold"}

# --- measuring one process -----------------------------------------------------------------

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo += [int(c) for c in handle.read().split()]
        except OSError:
            pass
    return found


def _tree_rss_kb(pid: int) -> int:
    total = 0
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            pass
    return total


@dataclass
class Measure:
    wall: float  # seconds, spawn to exit
    maxrss_kb: int  # ru_maxrss from wait4: the largest process of the tree
    tree_kb: int  # largest sampled sum of RSS over the process tree (every 50 ms)
    user: float
    sys: float
    returncode: int
    log: str = ""

    @property
    def peak_kb(self) -> int:
        return max(self.maxrss_kb, self.tree_kb)


def measure(cmd: list[str], cwd: Path, log: Path, env: dict | None = None, sample: float = 0.05) -> Measure:
    """Run ``cmd`` once; wall time, per-child rusage via os.wait4, and a sampled tree RSS."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        peak = [0]
        done = threading.Event()

        def sampler() -> None:
            while not done.wait(sample):
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        thread.join()
        proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
    return Measure(wall, usage.ru_maxrss, peak[0], usage.ru_utime, usage.ru_stime, proc.returncode, str(log))


# --- the one-change edit -------------------------------------------------------------------

EDIT_SUFFIX = " وأضاف المصدر أن الوضع ما زال متوترا في المنطقة حتى ساعة متأخرة من الليل رقم {n}."


def paragraph_lines(text: str) -> list[tuple[int, int, int]]:
    """(line index, segment number, paragraph number) of every paragraph line of a .txt file."""
    out, segment, paragraph = [], 1, 0
    for index, line in enumerate(text.split("\n")):
        if corpus.SEPARATOR.match(line):
            segment, paragraph = segment + 1, 0
        elif line.strip():
            paragraph += 1
            out.append((index, segment, paragraph))
    return out


def edit_one_paragraph(site: Path, rel: str, n: int) -> dict:
    """Change the second paragraph of the article's first segment and add its memory entry.

    Returns what was changed, for checking the output. The memory gains an entry for
    the new text; the old entry is left for the build to prune, as after a real edit.
    """
    source = site / "content" / rel
    text = source.read_text(encoding="utf-8")
    lines = text.split("\n")
    places = paragraph_lines(text)
    index, segment, paragraph = places[1] if len(places) > 1 else places[0]
    new_text = lines[index].rstrip() + EDIT_SUFFIX.format(n=n)
    lines[index] = new_text
    entry = corpus.memory_entry(new_text, f"{segment}.{paragraph}")

    memory_file = corpus.memory_path(site, rel)
    raw = memory_file.read_text(encoding="utf-8")
    doc = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    appended = raw if raw.endswith("\n") else raw + "\n"
    appended += corpus.dump_yaml([entry])  # type: ignore[arg-type]
    # Appending keeps whatever header comment the build wrote; fall back to a rewrite
    # when the file is not laid out with 'entries' as its last, block-style key.
    check = yaml.load(appended, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not (isinstance(check, dict) and check.get("entries", [None])[-1:] == [entry] and len(check["entries"]) == len(doc.get("entries") or []) + 1):
        doc.setdefault("entries", []).append(entry)
        appended = corpus.dump_yaml(doc)
    _write_replace(memory_file, appended)
    _write_replace(source, "\n".join(lines))
    slug = corpus.default_slug(rel, segment)
    return {"file": rel, "segment": segment, "paragraph": paragraph, "slug": slug, "source": new_text, "translation": entry["translation"]}


def _write_replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.bench-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def check_edit(out: Path, edit: dict, target: str = corpus.TARGET_LANGUAGE) -> list[str]:
    """Problems with the rebuilt pages of the edited segment (empty when both show the edit)."""
    problems = []
    tail = EDIT_SUFFIX.split("{")[0].strip()[:30]
    for page, needle in ((out / "ar" / f"{edit['slug']}.html", tail), (out / target / f"{edit['slug']}.html", edit["translation"][:40])):
        try:
            if needle not in page.read_text(encoding="utf-8"):
                problems.append(f"{page} does not show the edited paragraph")
        except OSError:
            problems.append(f"{page} is missing after the one-change build")
    return problems


# --- the runs -------------------------------------------------------------------------------


@dataclass
class SizeResult:
    segments: int
    manifest: dict
    runs: list[dict[str, dict]] = field(default_factory=list)  # per run: phase -> Measure as dict
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def values(self, phase: str, attribute: str = "wall") -> list[float]:
        out = []
        for run in self.runs:
            if phase in run and run[phase]["returncode"] == 0:  # a failed build's time means nothing
                m = run[phase]
                if attribute == "peak_kb":
                    out.append(max(m["maxrss_kb"], m["tree_kb"]))
                elif attribute == "cpu":
                    out.append(m["user"] + m["sys"])
                else:
                    out.append(m[attribute])
        return out

    def median(self, phase: str, attribute: str = "wall") -> float | None:
        values = self.values(phase, attribute)
        return statistics.median(values) if values else None

    def ssg_peak_kb(self) -> float | None:
        """Per run, the largest peak of the three SSG builds; then the median over runs."""
        peaks = []
        for run in self.runs:
            ok = [run[p] for p in PHASES[:3] if p in run and run[p]["returncode"] == 0]
            if ok:
                peaks.append(max(max(m["maxrss_kb"], m["tree_kb"]) for m in ok))
        return statistics.median(peaks) if peaks else None

    def ratio_inputs(self) -> dict[str, float | None]:
        return {
            "ssg_cold": self.median("ssg_cold"),
            "ssg_noop": self.median("ssg_noop"),
            "ssg_one_change": self.median("ssg_one_change"),
            "hugo_cold": self.median("hugo_cold"),
            "ssg_rss": self.ssg_peak_kb(),
            "hugo_rss": self.median("hugo_cold", "peak_kb"),
        }


NOT_A_SEGMENT = re.compile(r"^(index|page-\d+|404|search)\.html$")


def count_html(folder: Path) -> int:
    """Segment pages in one output folder: HTML files other than index, pagination, 404 and search."""
    try:
        return sum(1 for name in os.listdir(folder) if name.endswith(".html") and not NOT_A_SEGMENT.match(name))
    except OSError:
        return 0


def clean(*paths: Path) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def run_size(segments: int, args: argparse.Namespace) -> SizeResult:
    work: Path = args.workdir
    pristine = work / f"corpus-{segments}"
    print(f"[bench] corpus of {segments} segments in {pristine} …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    manifest = corpus.cached_corpus(pristine, segments, args.per_page)
    print(f"[bench]   ready ({time.perf_counter() - started:.1f} s): {manifest['files']} files, {manifest['paragraphs']} paragraphs, {manifest['source_bytes'] / 1e6:.1f} MB of Arabic", file=sys.stderr, flush=True)
    result = SizeResult(segments, manifest)
    run_dir = work / f"run-{segments}"
    site = run_dir / "ssg"
    ssg_out = run_dir / "ssg-out"
    hugo_src = pristine / "hugo"
    hugo_out = run_dir / "hugo-out"
    hugo_cache = run_dir / "hugo-cache"
    logs = run_dir / "logs"
    clean(logs)
    ssg_cmd = [str(args.python), str(BUILD_PY), "--config", str(site / "site.yml"), "--out", str(ssg_out), "--offline"] + (["--strict"] if args.strict else [])
    hugo_cmd = [args.hugo, "--quiet", "--source", str(hugo_src), "--destination", str(hugo_out), "--cacheDir", str(hugo_cache)]
    articles = sorted(str(p.relative_to(pristine / "ssg" / "content")) for p in (pristine / "ssg" / "content").rglob("*.txt"))

    def note(text: str) -> None:
        print(f"[bench]   {text}", file=sys.stderr, flush=True)

    def settle() -> None:
        os.sync()  # the previous build's dirty pages must not be written back during the next one
        time.sleep(args.pause)

    def do_ssg(run: int, phases: dict) -> None:
        clean(site, ssg_out)
        shutil.copytree(pristine / "ssg", site, symlinks=True)
        clean(site / ".cache")
        for phase in ("ssg_cold", "ssg_noop", "ssg_one_change"):
            edit = None
            if phase == "ssg_one_change":
                edit = edit_one_paragraph(site, articles[(len(articles) // 2 + run) % len(articles)], run)
            settle()
            m = measure(ssg_cmd, site, logs / f"run{run}-{phase}.log")
            phases[phase] = asdict(m)
            note(f"run {run} {PHASE_NAMES[phase]:<15} {m.wall:7.2f} s  {m.peak_kb / 1024:7.0f} MB  (cpu {m.user + m.sys:.1f} s, exit {m.returncode})")
            if m.returncode != 0:
                result.problems.append(f"run {run} {PHASE_NAMES[phase]}: build.py exited {m.returncode}, see {m.log}")
            if phase == "ssg_cold" and m.returncode == 0:
                result.counts["ssg_ar_pages"] = count_html(ssg_out / "ar")
                result.counts[f"ssg_{corpus.TARGET_LANGUAGE}_pages"] = count_html(ssg_out / corpus.TARGET_LANGUAGE)
            if edit is not None and m.returncode == 0:
                result.problems += [f"run {run}: {p}" for p in check_edit(ssg_out, edit)]

    def do_hugo(run: int, phases: dict) -> None:
        clean(hugo_out, hugo_cache, hugo_src / "resources", hugo_src / ".hugo_build.lock")
        settle()
        m = measure(hugo_cmd, hugo_src, logs / f"run{run}-hugo_cold.log")
        phases["hugo_cold"] = asdict(m)
        note(f"run {run} {'Hugo cold':<15} {m.wall:7.2f} s  {m.peak_kb / 1024:7.0f} MB  (cpu {m.user + m.sys:.1f} s, exit {m.returncode})")
        if m.returncode != 0:
            result.problems.append(f"run {run} Hugo cold: hugo exited {m.returncode}, see {m.log}")
        elif Path(m.log).stat().st_size:
            result.problems.append(f"run {run} Hugo cold: hugo printed warnings, see {m.log}")
        if m.returncode == 0:
            result.counts["hugo_ar_pages"] = count_html(hugo_out / "posts")
            result.counts["hugo_en_pages"] = count_html(hugo_out / "en" / "posts")

    for run in range(args.runs):
        phases: dict[str, dict] = {}
        if args.hugo_only:
            order = [do_hugo]
        elif args.vs_hugo:
            order = [do_ssg, do_hugo] if run % 2 == 0 else [do_hugo, do_ssg]
        else:
            order = [do_ssg]
        for step in order:
            step(run, phases)
        result.runs.append(phases)
    for key, value in result.counts.items():
        if value != segments:
            result.problems.append(f"{key}: {value} pages, expected {segments} (one per segment)")
    return result


# --- reporting --------------------------------------------------------------------------------


def _fmt_s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _fmt_mb(kb: float | None) -> str:
    return "–" if kb is None else f"{kb / 1024:.0f} MB"


def size_table(result: SizeResult) -> str:
    rows = ["| Build | runs ok | median wall | min – max wall | median CPU (user+sys) | median peak RSS |", "|---|---:|---:|---:|---:|---:|"]
    for phase in PHASES:
        tried = sum(1 for run in result.runs if phase in run)
        walls = result.values(phase)
        if not tried:
            continue
        if not walls:
            rows.append(f"| {PHASE_NAMES[phase]} | 0/{tried} | – | – | – | – |")
            continue
        cpu = result.values(phase, "cpu")
        rows.append(
            f"| {PHASE_NAMES[phase]} | {len(walls)}/{tried} | {_fmt_s(statistics.median(walls))} | {min(walls):.2f} – {max(walls):.2f} s | "
            f"{statistics.median(cpu):.2f} s | {_fmt_mb(result.median(phase, 'peak_kb'))} |"
        )
    return "\n".join(rows)


def ratio_table(result: SizeResult) -> str:
    inputs = result.ratio_inputs()
    cpu = {p: result.median(p, "cpu") for p in PHASES}
    rows = ["| Ratio (medians) | value | target | met | same ratio of CPU times |", "|---|---:|---:|:---:|---:|"]
    for name, (num, den, bound) in TARGETS.items():
        if inputs[num] is None or not inputs[den]:
            continue
        value = inputs[num] / inputs[den]
        by_cpu = f"{cpu[num] / cpu[den]:.3f}" if cpu.get(num) is not None and cpu.get(den) else "–"
        rows.append(f"| {name} | {value:.3f} | ≤ {bound:g} | {'yes' if value <= bound else '**no**'} | {by_cpu} |")
    return "\n".join(rows) if len(rows) > 2 else ""


def scaling_table(results: list[SizeResult]) -> str:
    rows = [
        "| Segments | SSG cold | per 1k segments | SSG no-op | SSG one-change | SSG peak RSS | Hugo cold | per 1k segments | Hugo peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        i = r.ratio_inputs()
        per = lambda v: "–" if v is None else f"{v / r.segments * 1000:.2f} s"  # noqa: E731
        rows.append(
            f"| {r.segments:,} | {_fmt_s(i['ssg_cold'])} | {per(i['ssg_cold'])} | {_fmt_s(i['ssg_noop'])} | {_fmt_s(i['ssg_one_change'])} | "
            f"{_fmt_mb(i['ssg_rss'])} | {_fmt_s(i['hugo_cold'])} | {per(i['hugo_cold'])} | {_fmt_mb(i['hugo_rss'])} |"
        )
    return "\n".join(rows)


def machine(args: argparse.Namespace) -> dict:
    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    cpuinfo = read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", read("/proc/meminfo"), re.M)

    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "not available"

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model.group(1).strip() if model else platform.processor() or "unknown",
        "ram_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": version([str(args.python), "--version"]),
        "hugo": version([args.hugo, "version"]) if (args.vs_hugo or args.hugo_only) else "not run",
    }


def report(results: list[SizeResult], info: dict, args: argparse.Namespace) -> str:
    lines = [
        f"Measured {info['date']} on {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gb']} GB RAM, "
        f"Linux {info['kernel']}, load average at start {info['load_average']}; {info['python']}; {info['hugo']}.",
        f"{args.runs} run(s) per size; "
        + ("Hugo only." if args.hugo_only else "SSG built with `--offline` from a filled translation memory")
        + ("; Hugo built cold in the same runs, alternating with the SSG." if args.vs_hugo and not args.hugo_only else "" if args.hugo_only else "."),
        "",
    ]
    for r in results:
        m = r.manifest
        lines += [
            f"#### {r.segments:,} segments",
            "",
            f"{m['files']:,} source files, {m['paragraphs']:,} paragraphs, {m['source_bytes'] / 1e6:.1f} MB of Arabic text; "
            f"pages per language: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.counts.items())) + ".",
            "",
            size_table(r),
            "",
        ]
        ratios = ratio_table(r)
        if ratios:
            lines += [ratios, ""]
        if r.problems:
            lines += ["Problems:", ""] + [f"- {p}" for p in r.problems] + [""]
    if len(results) > 1:
        lines += ["#### Scaling", "", scaling_table(results), ""]
    return "\n".join(lines)


DOC_TEMPLATE = """\
# Benchmarks

How fast the SSG (`build.py`) builds, compared with Hugo on the same articles.
See "How to run" below; the results section is rewritten by
`python bench/run.py ... --write-docs`.

## Latest results

{start}
{body}
{end}
"""


def write_docs(text: str) -> None:
    block = f"{RESULTS_START}\n{text.rstrip()}\n{RESULTS_END}"
    if DOCS.exists():
        current = DOCS.read_text(encoding="utf-8")
        if RESULTS_START in current and RESULTS_END in current:
            head, rest = current.split(RESULTS_START, 1)
            _, tail = rest.split(RESULTS_END, 1)
            DOCS.write_text(head + block + tail, encoding="utf-8")
            return
        DOCS.write_text(current.rstrip() + "\n\n## Latest results\n\n" + block + "\n", encoding="utf-8")
        return
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(DOC_TEMPLATE.format(start=RESULTS_START, body=text.rstrip(), end=RESULTS_END), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark build.py (cold, no-op, one-change) against Hugo.", epilog=__doc__.split("Examples::")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=10000, help="corpus size (default 10000)")
    parser.add_argument("--sizes", type=lambda s: [int(x.replace("_", "")) for x in s.split(",") if x], help="several sizes, e.g. 1000,10000,50000 (overrides --segments) for a scaling table")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--vs-hugo", action="store_true", help="also build the Hugo twin cold in every run")
    parser.add_argument("--hugo-only", action="store_true", help="time only Hugo (no SSG)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"), help="corpora (cached by size), working copies, outputs and logs")
    parser.add_argument("--per-page", type=int, default=corpus.DEFAULT_PER_PAGE)
    parser.add_argument("--python", type=Path, default=DEFAULT_PYTHON if DEFAULT_PYTHON.exists() else Path(sys.executable))
    parser.add_argument("--hugo", default=shutil.which("hugo") or "hugo")
    parser.add_argument("--strict", action="store_true", help="pass --strict to build.py")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds to rest before each timed build (default 1)")
    parser.add_argument("--write-docs", action="store_true", help=f"replace the results section of {DOCS.relative_to(PROJECT)}")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    sizes = args.sizes or [args.segments]
    if any(n < 1 for n in sizes):
        parser.error("sizes must be positive")
    if (args.vs_hugo or args.hugo_only) and not shutil.which(args.hugo):
        parser.error(f"hugo not found ({args.hugo}): install it (apt-get install hugo) or pass --hugo PATH")
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = machine(args)
    results = [run_size(n, args) for n in sizes]
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


if __name__ == "__main__":
    sys.exit(main())
