"""The benchmark's tables (one per shape and size) and the results section of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from phases import PHASE_NAMES, PHASES, ShapeResult
from shapes import SHAPES

PROJECT = Path(__file__).resolve().parent.parent
DOCS = PROJECT / "docs" / "benchmarks.md"
RESULTS_START = "<!-- bench/run.py results: start (replaced by --write-docs) -->"
RESULTS_END = "<!-- bench/run.py results: end -->"

# row -> (SSG input, Hugo input, upper bound of the ratio or None)
# Issue #11's targets.
ROWS = {
    "cold": ("ssg_cold", "hugo_cold", 1.0),
    "no-op": ("ssg_noop", "hugo_cold", 0.02),
    "one change": ("ssg_one_change", "hugo_cold", 0.05),
    "first translation": ("ssg_first_translation", "hugo_cold", None),
    "peak memory": ("ssg_rss", "hugo_rss", 0.5),
}
# A first translation is judged by its time per paragraph, all told, against a stub that answers at once.
FIRST_TRANSLATION_MS_PER_PARAGRAPH = 2.0
SEARCH_MS = 500  # a reader's first query, from disk (issue #11)
# The cost of a change follows the change, not the archive: one change at 50,000 segments is
# no more than twice the figure at 10,000 (the same shape, in the same run).
ONE_CHANGE_BASE, ONE_CHANGE_SCALED, ONE_CHANGE_GROWTH = 10_000, 50_000, 2.0
SEARCH_KB = 400
# The former ratio names, for readers of older results.
TARGETS = {
    "SSG cold / Hugo cold": ("ssg_cold", "hugo_cold", 1.0),
    "SSG no-op / Hugo cold": ("ssg_noop", "hugo_cold", 0.05),
    "SSG one-change / Hugo cold": ("ssg_one_change", "hugo_cold", 0.10),
    "SSG peak RSS / Hugo peak RSS": ("ssg_rss", "hugo_rss", 0.5),
}


def _fmt_s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _fmt_mb(kb: float | None) -> str:
    return "–" if kb is None else f"{kb / 1024:.0f} MB"


def phase_table(result: ShapeResult) -> str:
    """Rows: phase; columns: SSG median, Hugo median, ratio, target, pass/fail."""
    inputs = result.ratio_inputs()
    rows = ["| Phase | SSG median | Hugo median | ratio | target | pass/fail |", "|---|---:|---:|---:|---:|:---:|"]
    for name, (ssg, hugo, bound) in ROWS.items():
        mine, theirs = inputs.get(ssg), inputs.get(hugo)
        if mine is None and theirs is None:
            continue
        fmt = _fmt_mb if name == "peak memory" else _fmt_s
        label = name
        if ssg == "ssg_first_translation" and result.ms_per_paragraph() is not None:
            label += f" ({result.ms_per_paragraph():.2f} ms per paragraph)"
        ratio = mine / theirs if mine is not None and theirs else None
        verdict = "–" if ratio is None or bound is None else ("pass" if ratio <= bound else "**fail**")
        target = "–" if bound is None else f"≤ {bound:g}"
        per_paragraph = result.ms_per_paragraph() if ssg == "ssg_first_translation" else None
        if per_paragraph is not None:
            target = f"≤ {FIRST_TRANSLATION_MS_PER_PARAGRAPH:g} ms/paragraph"
            verdict = "pass" if per_paragraph <= FIRST_TRANSLATION_MS_PER_PARAGRAPH else "**fail**"
        rows.append(f"| {label} | {fmt(mine)} | {fmt(theirs)} | {'–' if ratio is None else f'{ratio:.3f}'} | {target} | {verdict} |")
    return "\n".join(rows)


def search_table(result: ShapeResult) -> list[str]:
    """A reader's first query, from disk in Chromium: medians of 3, against the issue's bounds."""
    if not result.search:
        return []
    rows = ["| Search query | typed → results | opened → results | loaded | files | results | pass/fail |",
            "|---|---:|---:|---:|---:|---|:---:|"]
    for t in result.search:
        ok = max(t["query_ms"], t["ms"]) <= SEARCH_MS and t["kb"] <= SEARCH_KB
        rows.append(f"| {t['kind']}: {t['query']} | {t['query_ms']:.0f} ms | {t['ms']:.0f} ms | {t['kb']:.0f} KB | {t['files']} "
                    f"| {t['results']} | {'pass' if ok else '**fail**'} |")
    return rows + ["", f"Search bound: results ≤ {SEARCH_MS} ms after the query is submitted in a search page opened "
                   f"from `file://`, and after opening `search.html?q=…` (loading the page itself included), and ≤ "
                   f"{SEARCH_KB} KB loaded in all (the page, its scripts and every index file). The page stamps the "
                   "moment it has painted the results (bench/search_timing.py).", ""]


def detail_table(result: ShapeResult) -> str:
    rows = ["| Build | runs ok | median wall | min – max wall | median CPU (user+sys) | median peak memory | median peak RSS summed over processes |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for phase in PHASES:
        tried = sum(1 for run in result.runs if phase in run)
        walls = result.values(phase)
        if not tried:
            continue
        if not walls:
            rows.append(f"| {PHASE_NAMES[phase]} | 0/{tried} | – | – | – | – | – |")
            continue
        cpu = result.values(phase, "cpu")
        rows.append(
            f"| {PHASE_NAMES[phase]} | {len(walls)}/{tried} | {_fmt_s(statistics.median(walls))} | {min(walls):.2f} – {max(walls):.2f} s | "
            f"{statistics.median(cpu):.2f} s | {_fmt_mb(result.median(phase, 'peak_kb'))} | {_fmt_mb(result.median(phase, 'tree_kb'))} |"
        )
    return "\n".join(rows)


def scaling_table(results: list[ShapeResult]) -> str:
    """A shape's sizes side by side; the one change at each size over its figure at 10,000
    segments, judged at 50,000 (``ONE_CHANGE_GROWTH``)."""
    rows = [
        "| Segments | SSG cold | per 1k segments | SSG no-op | SSG one-change | one change / at 10,000 | first translation | Hugo cold | per 1k segments |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = next((r.ratio_inputs()["ssg_one_change"] for r in results if r.segments == ONE_CHANGE_BASE), None)
    for r in results:
        i = r.ratio_inputs()
        per = lambda v: "–" if v is None else f"{v / r.segments * 1000:.2f} s"  # noqa: E731
        rows.append(
            f"| {r.segments:,} | {_fmt_s(i['ssg_cold'])} | {per(i['ssg_cold'])} | {_fmt_s(i['ssg_noop'])} | {_fmt_s(i['ssg_one_change'])} | "
            f"{one_change_growth(i['ssg_one_change'], base, r.segments)} | {_fmt_s(i['ssg_first_translation'])} | {_fmt_s(i['hugo_cold'])} | {per(i['hugo_cold'])} |"
        )
    return "\n".join(rows)


def one_change_growth(one_change: float | None, base: float | None, segments: int) -> str:
    """The one change over its figure at 10,000 segments, and at 50,000 whether it is within twice."""
    if one_change is None or not base or segments == ONE_CHANGE_BASE:
        return "–"
    growth = one_change / base
    if segments != ONE_CHANGE_SCALED:
        return f"{growth:.2f}"
    return f"{growth:.2f} (≤ {ONE_CHANGE_GROWTH:g}: {'pass' if growth <= ONE_CHANGE_GROWTH else '**fail**'})"


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


def _size_section(r: ShapeResult) -> list[str]:
    m = r.manifest
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(r.counts.items()))
    lines = [
        f"#### {r.segments:,} segments",
        "",
        f"{m['files']:,} source files, {m['paragraphs']:,} paragraphs, {m['source_bytes'] / 1e6:.1f} MB of Arabic text, "
        f"{m['memory_entries']:,} memory entries, {m['dated_segments']:,} dated segments; pages: {counts or '–'}.",
        "",
        phase_table(r),
        "",
        *search_table(r),
        "<details><summary>every build</summary>",
        "",
        detail_table(r),
        "",
        "</details>",
        "",
    ]
    if r.problems:
        lines += ["Problems:", ""] + [f"- {p}" for p in r.problems] + [""]
    return lines


def report(results: list[ShapeResult], info: dict, args: argparse.Namespace) -> str:
    lines = [
        f"Measured {info['date']} on {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gb']} GB RAM, "
        f"Linux {info['kernel']}, load average at start {info['load_average']}; {info['python']}; {info['hugo']}.",
        f"{args.runs} run(s) per shape and size; "
        + ("Hugo only." if args.hugo_only else "SSG cold / no-op / one change built with `--offline` from the shape's memory; "
           "first translation: a copy without memory, translated through a local LibreTranslate stub that answers at once (provider `libre`, concurrency 4)")
        + ("; Hugo built cold in the same runs, alternating with the SSG; ratios are SSG / Hugo cold." if args.vs_hugo and not args.hugo_only else "" if args.hugo_only else "."),
        "",
    ]
    by_shape: dict[str, list[ShapeResult]] = {}
    for r in results:
        by_shape.setdefault(r.shape, []).append(r)
    given = {shape.name: shape for shape in getattr(args, "shape_list", ())}  # named ones and those of --shape-spec
    for name, group in by_shape.items():
        shape = given.get(name) or SHAPES[name]
        lines += [f"### Shape `{name}`", "", f"{shape.description[0].upper() + shape.description[1:]}: {shape.axes()}.", ""]
        for r in group:
            lines += _size_section(r)
        if len(group) > 1:
            lines += ["#### Scaling", "", scaling_table(group), ""]
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


def write_docs(text: str, docs: Path = DOCS) -> None:
    block = f"{RESULTS_START}\n{text.rstrip()}\n{RESULTS_END}"
    if docs.exists():
        current = docs.read_text(encoding="utf-8")
        if RESULTS_START in current and RESULTS_END in current:
            head, rest = current.split(RESULTS_START, 1)
            _, tail = rest.split(RESULTS_END, 1)
            docs.write_text(head + block + tail, encoding="utf-8")
            return
        docs.write_text(current.rstrip() + "\n\n## Latest results\n\n" + block + "\n", encoding="utf-8")
        return
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(DOC_TEMPLATE.format(start=RESULTS_START, body=text.rstrip(), end=RESULTS_END), encoding="utf-8")
