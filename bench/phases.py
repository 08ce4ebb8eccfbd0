"""The timed phases of one shape at one size, and what they check.

For every run::

    SSG  cold               fresh copy of the corpus; output folder and <site>/.cache deleted; --offline
    SSG  no-op              build again, nothing changed
    SSG  one-change         one paragraph edited (and, when the shape has a memory, its entry added)
    SSG  first translation  a copy without translations/, translation through the fast LibreTranslate
                            stub (provider libre, concurrency 4): every paragraph is translated
    Hugo cold               Hugo's output, resources/ and cache dir deleted, then build

SSG and Hugo alternate (SSG first on even runs, Hugo first on odd ones).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import own  # noqa: E402
import shapes  # noqa: E402
from measure import Trash, clean, count_html, measure, peak_kb  # noqa: E402

BUILD_PY = PROJECT / "build.py"
STUB = HERE / "libre_fast_stub.py"
PHASES = ("ssg_cold", "ssg_noop", "ssg_one_change", "ssg_first_translation", "hugo_cold")
SSG_OFFLINE = PHASES[:3]
PHASE_NAMES = {"ssg_cold": "SSG cold", "ssg_noop": "SSG no-op", "ssg_one_change": "SSG one-change",
               "ssg_first_translation": "SSG first translation", "hugo_cold": "Hugo cold"}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# --- reading and editing a source file --------------------------------------------------------

EDIT_SUFFIX = " وأضاف المصدر أن الوضع ما زال متوترا في المنطقة حتى ساعة متأخرة من الليل رقم {n}."


def paragraph_lines(text: str) -> list[tuple[int, int, int]]:
    """(line index, segment number, paragraph number) of every paragraph line of a source file (one paragraph a line; blank lines, as Markdown has between paragraphs, are not paragraphs).

    A front-matter block (``---`` … ``---``) at the top of the file or of a segment is not
    paragraphs."""
    out, segment, paragraph, in_front, at_top = [], 1, 0, False, True
    for index, line in enumerate(text.split("\n")):
        if in_front:
            in_front = line.strip() != "---"
        elif corpus.SEPARATOR.match(line):
            segment, paragraph, at_top = segment + 1, 0, True
        elif at_top and line.strip() == "---":
            in_front, at_top = True, False
        elif line.strip():
            at_top = False
            paragraph += 1
            out.append((index, segment, paragraph))
    return out


def sources(content: Path) -> list[Path]:
    """The corpus's source files (``.txt`` or ``.md``), outside git's folder."""
    return [p for suffix in ("*.txt", "*.md") for p in content.rglob(suffix) if ".git" not in p.relative_to(content).parts]


def segment_paragraphs(text: str) -> list[list[str]]:
    """The paragraphs of each segment (front matter left out)."""
    lines = text.split("\n")
    found: list[list[str]] = []
    for index, segment, _ in paragraph_lines(text):
        while len(found) < segment:
            found.append([])
        found[segment - 1].append(lines[index])
    return found


def _load_memory(path: Path) -> dict | None:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError:
        return None


def _write_replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.bench-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _append_entry(memory_file: Path, rel: str, entry: dict) -> dict:
    """Append ``entry`` to the memory (kept as the build wrote it when possible); the document after."""
    doc = _load_memory(memory_file)
    if doc is None:
        doc = corpus.memory_document(rel, [entry])
        _write_replace(memory_file, corpus.dump_yaml(doc))
        return doc
    raw = memory_file.read_text(encoding="utf-8")
    appended = (raw if raw.endswith("\n") else raw + "\n") + corpus.dump_yaml([entry])  # type: ignore[arg-type]
    # Appending keeps whatever header comment the build wrote; fall back to a rewrite
    # when the file is not laid out with 'entries' as its last, block-style key.
    check = yaml.load(appended, Loader=_Loader)
    if not (isinstance(check, dict) and check.get("entries", [None])[-1:] == [entry] and len(check["entries"]) == len(doc.get("entries") or []) + 1):
        doc.setdefault("entries", []).append(entry)
        appended, check = corpus.dump_yaml(doc), doc
    _write_replace(memory_file, appended)
    return check


def edit_one_paragraph(site: Path, rel: str, n: int, memory: bool = True) -> dict:
    """Change the second paragraph of the article's first segment; with ``memory``, add its entry.

    Returns what was changed, for checking the output. The old entry is left for the build
    to prune, as after a real edit. ``english`` says whether the segment's English page
    should show the edit (every paragraph of the segment in the memory).
    """
    source = site / "content" / rel
    text = source.read_text(encoding="utf-8")
    lines = text.split("\n")
    places = paragraph_lines(text)
    index, segment, paragraph = places[1] if len(places) > 1 and places[1][1] == places[0][1] else places[0]
    new_text = lines[index].rstrip() + EDIT_SUFFIX.format(n=n)
    lines[index] = new_text
    entry = corpus.memory_entry(shapes.unit_text(new_text), f"{segment}.{paragraph}")
    english = False
    if memory:
        doc = _append_entry(corpus.memory_path(site, rel), rel, entry)
        keys = {e.get("key") for e in doc.get("entries") or []}
        wanted = segment_paragraphs("\n".join(lines))[segment - 1]
        english = all(corpus.entry_key(shapes.unit_text(p), corpus.SOURCE_LANGUAGE, corpus.TARGET_LANGUAGE) in keys for p in wanted)
    _write_replace(source, "\n".join(lines))
    slug = corpus.default_slug(rel, segment)
    return {"file": rel, "segment": segment, "paragraph": paragraph, "slug": slug, "source": new_text,
            "translation": entry["translation"], "english": english}


def check_edit(out: Path, edit: dict, target: str = corpus.TARGET_LANGUAGE) -> list[str]:
    """Problems with the rebuilt pages of the edited segment (empty when they show the edit)."""
    problems = []
    tail = EDIT_SUFFIX.split("{")[0].strip()[:30]
    pages = [(out / "ar" / f"{edit['slug']}.html", tail)]
    if edit.get("english", True):
        pages.append((out / target / f"{edit['slug']}.html", edit["translation"][:40]))
    for page, needle in pages:
        try:
            if needle not in page.read_text(encoding="utf-8"):
                problems.append(f"{page} does not show the edited paragraph")
        except OSError:
            problems.append(f"{page} is missing after the one-change build")
    return problems


def memory_gaps(site: Path) -> tuple[int, list[str]]:
    """(paragraphs, those missing from their file's memory as ``file at``) for the whole site."""
    content = site / "content"
    total, missing = 0, []
    for path in sorted(p for p in sources(content)):
        rel = path.relative_to(content).as_posix()
        doc = _load_memory(corpus.memory_path(site, rel)) or {}
        keys = {e.get("key") for e in doc.get("entries") or []}
        for s, paragraphs in enumerate(segment_paragraphs(path.read_text(encoding="utf-8")), start=1):
            for p, text in enumerate(paragraphs, start=1):
                total += 1
                if corpus.entry_key(shapes.unit_text(text), corpus.SOURCE_LANGUAGE, corpus.TARGET_LANGUAGE) not in keys:
                    missing.append(f"{rel} {s}.{p}")
    return total, missing


# --- the fast LibreTranslate stub, in its own process ---------------------------------------


class StubProcess:
    """``bench/libre_fast_stub.py`` started in a separate process on a free port of 127.0.0.1."""

    def __init__(self, python: str) -> None:
        self.proc = subprocess.Popen([python, str(STUB), "--port", "0"], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip() if self.proc.stdout else ""
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"the LibreTranslate stub did not start (it said {line!r})")
        self.url = line.split(" ", 1)[1]

    def stats(self) -> dict:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.url + "stats", timeout=10) as reply:
            return json.loads(reply.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> "StubProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Not passed to a build: a key (no build may reach a real service), and a setting of the
# harness's shell that forbids bytecode files (see compile_tool).
_NOT_INHERITED = ("TRANSLATOR_API_KEY", "PYTHONDONTWRITEBYTECODE")


def build_env() -> dict:
    """The environment of every build: no key, no proxy for the stub on 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def compile_tool(python: Path) -> None:
    """Byte-compile the tool's modules with the interpreter the builds use, as the first run of
    build.py leaves them for every later one. From a fresh clone, under a shell that sets
    PYTHONDONTWRITEBYTECODE, every timed build compiled the tool's seventy modules again:
    50-60 ms of a one-change build at 10,000 segments that no user's second build pays."""
    subprocess.run([str(python), "-m", "compileall", "-q", str(PROJECT / "sitegen")], env=build_env(), check=True, stdout=subprocess.DEVNULL)


def first_translation(pristine: Path, site: Path, out: Path, shape: shapes.Shape, manifest: dict, stub: StubProcess,
                      python: str, log: Path, strict: bool = False, trash: Trash | None = None) -> tuple[dict, dict, list[str]]:
    """Build a copy of the site without its memory, translating through ``stub``; untimed checks after.

    Returns (the measure as a dict, figures, problems)."""
    trash = trash or Trash(None)
    trash.put(site)
    trash.put_output(out)
    shutil.copytree(pristine / "ssg", site, symlinks=True)
    trash.put(site / "translations", site / ".cache")
    url = stub.url
    (site / "site.yml").write_text(shapes.site_yml(shape, manifest["segments"], manifest["per_page"], shapes.libre_translation(url, 4)), encoding="utf-8")
    before = stub.stats()["translate"]
    cmd = [python, str(BUILD_PY), "--config", str(site / "site.yml"), "--out", str(out)] + (["--strict"] if strict else [])
    m = measure(cmd, site, log, env=build_env())
    requests = stub.stats()["translate"] - before
    problems: list[str] = []
    if m.returncode != 0:
        problems.append(f"first translation: build.py exited {m.returncode}, see {m.log}")
    paragraphs, missing = memory_gaps(site)
    if missing:
        problems.append(f"first translation: {len(missing)} of {paragraphs} paragraphs not in the memory afterwards (first: {', '.join(missing[:3])})")
    english = count_html(out / corpus.TARGET_LANGUAGE)
    if m.returncode == 0 and english != manifest["segments"]:
        problems.append(f"first translation: {english} English pages, expected {manifest['segments']}")
    figures = {"paragraphs": paragraphs, "requests": requests, "ms_per_paragraph": m.wall * 1000 / max(1, paragraphs), "en_pages": english}
    return asdict(m), figures, problems


# --- one shape at one size ---------------------------------------------------------------------


@dataclass
class ShapeResult:
    shape: str
    segments: int
    manifest: dict
    runs: list[dict[str, dict]] = field(default_factory=list)  # per run: phase -> Measure as dict
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    translations: list[dict] = field(default_factory=list)  # per run: first translation figures
    search: list[dict] = field(default_factory=list)  # per query (search_timing.QueryTiming as dict)

    def values(self, phase: str, attribute: str = "wall") -> list[float]:
        out = []
        for run in self.runs:
            if phase in run and run[phase]["returncode"] == 0:  # a failed build's time means nothing
                m = run[phase]
                if attribute == "peak_kb":
                    out.append(peak_kb(m))
                elif attribute == "cpu":
                    out.append(m["user"] + m["sys"])
                else:
                    out.append(m[attribute])
        return out

    def median(self, phase: str, attribute: str = "wall") -> float | None:
        values = self.values(phase, attribute)
        return statistics.median(values) if values else None

    def ssg_peak_kb(self) -> float | None:
        """Per run, the largest peak of the three offline SSG builds (as before the first-translation
        phase existed; its own peak is in the detail table); then the median over runs."""
        peaks = []
        for run in self.runs:
            ok = [run[p] for p in SSG_OFFLINE if p in run and run[p]["returncode"] == 0]
            if ok:
                peaks.append(max(peak_kb(m) for m in ok))
        return statistics.median(peaks) if peaks else None

    def ms_per_paragraph(self) -> float | None:
        values = [t["ms_per_paragraph"] for t, run in zip(self.translations, self.runs) if run.get("ssg_first_translation", {}).get("returncode") == 0]
        return statistics.median(values) if values else None

    def ratio_inputs(self) -> dict[str, float | None]:
        return {**{p: self.median(p) for p in PHASES}, "ssg_rss": self.ssg_peak_kb(), "hugo_rss": self.median("hugo_cold", "peak_kb")}


def _note(text: str) -> None:
    print(f"[bench]   {text}", file=sys.stderr, flush=True)


def _line(run: int, phase: str, m: dict) -> str:
    peak = peak_kb(m) / 1024
    return f"run {run} {PHASE_NAMES[phase]:<22} {m['wall']:7.2f} s  {peak:7.0f} MB  (cpu {m['user'] + m['sys']:.1f} s, exit {m['returncode']})"


class ShapeRun:
    """The runs of one shape at one size (or of one's own archive, at its size): working copies
    under ``<workdir>/run-<shape>-<N>/``."""

    def __init__(self, shape: shapes.Shape | own.OwnCorpus, segments: int | None, args: argparse.Namespace, stub: StubProcess | None, trash: Trash):
        self.shape, self.args, self.trash = shape, args, trash
        self.is_own = isinstance(shape, own.OwnCorpus)
        # One's own archive is not translated from scratch: its site.yml names its own service.
        self.stub = None if self.is_own else stub
        self.pristine = args.workdir / (shape.name if self.is_own else f"{shape.name}-{segments}")
        print(f"[bench] shape {shape.name}, {segments or 'its own'} segments in {self.pristine} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        manifest = own.cached(self.pristine, shape, args.per_page) if self.is_own else shapes.cached(self.pristine, shape, segments, args.per_page)
        segments = manifest["segments"]
        _note(f"ready ({time.perf_counter() - started:.1f} s): {manifest['files']} files, {manifest['paragraphs']} paragraphs, "
              f"{manifest['source_bytes'] / 1e6:.1f} MB of Arabic")
        self.result = ShapeResult(shape.name, segments, manifest)
        self.dir = args.workdir / f"run-{shape.name}-{segments}"
        self.logs = self.dir / "logs"
        clean(self.logs)
        content = self.pristine / "ssg" / "content"
        self.articles = sorted(p.relative_to(content).as_posix() for p in sources(content))

    def settle(self) -> None:
        os.sync()  # the previous build's dirty pages must not be written back during the next one
        time.sleep(self.args.pause)

    def ssg(self, run: int, phases: dict) -> None:
        site, out, result = self.dir / "ssg", self.dir / "ssg-out", self.result
        self.trash.put(site)
        self.trash.put_output(out)
        shutil.copytree(self.pristine / "ssg", site, symlinks=True)
        self.trash.put(site / ".cache")
        cmd = [str(self.args.python), str(BUILD_PY), "--config", str(site / "site.yml"), "--out", str(out), "--offline"] + (["--strict"] if self.args.strict else [])
        for phase in SSG_OFFLINE:
            edit = None
            if phase == "ssg_one_change":
                rel = self.articles[(len(self.articles) // 2 + run) % len(self.articles)]
                # One's own archive keeps its memory where its site.yml says: no entry is added.
                edit = edit_one_paragraph(site, rel, run, memory=not self.is_own and self.shape.memory != "absent")
                if self.is_own:  # its slugs are its own: the page is found by the SSG's slug
                    edit.update(slug=own.slug_of(site, rel, edit["segment"]) or edit["slug"], english=False)
            self.settle()
            phases[phase] = m = asdict(measure(cmd, site, self.logs / f"run{run}-{phase}.log", env=build_env()))
            _note(_line(run, phase, m))
            if m["returncode"] != 0:
                result.problems.append(f"run {run} {PHASE_NAMES[phase]}: build.py exited {m['returncode']}, see {m['log']}")
            elif phase == "ssg_cold":
                result.counts["ssg_ar_pages"] = count_html(out / "ar")
                result.counts["ssg_en_pages_offline"] = count_html(out / corpus.TARGET_LANGUAGE)
            if edit is not None and m["returncode"] == 0:
                result.problems += [f"run {run}: {p}" for p in check_edit(out, edit)]
        if run == 0 and self.args.search and (out / "search.html").exists():
            self.time_search(out)

    def time_search(self, out: Path) -> None:
        """A reader's first query on the site just built, from disk, in Chromium (search_timing.py)."""
        import search_timing

        try:
            timings = search_timing.time_queries(out, search_timing.choose_queries(out), runs=3)
        except Exception as exc:  # noqa: BLE001 -- no Chromium or Playwright: said, not fatal
            self.result.problems.append(f"search not timed: {type(exc).__name__}: {exc}")
            return
        self.result.search = [asdict(t) for t in timings]
        for t in timings:
            _note(f"search {t.kind:<10} {t.query_ms:6.0f} ms typed, {t.ms:6.0f} ms opened, {t.kb:7.1f} KB in {t.files} files")

    def translate(self, run: int, phases: dict) -> None:
        if self.stub is None:
            return
        self.settle()
        m, figures, problems = first_translation(self.pristine, self.dir / "ssg-ft", self.dir / "ssg-ft-out", self.shape, self.result.manifest,
                                                 self.stub, str(self.args.python), self.logs / f"run{run}-ssg_first_translation.log", self.args.strict,
                                                 self.trash)
        phases["ssg_first_translation"] = m
        self.result.translations.append(figures)
        self.result.problems += [f"run {run} {p}" for p in problems]
        _note(_line(run, "ssg_first_translation", m) + f"  {figures['ms_per_paragraph']:.2f} ms/paragraph, {figures['requests']} requests")

    def hugo(self, run: int, phases: dict) -> None:
        src, out, cache = self.pristine / "hugo", self.dir / "hugo-out", self.dir / "hugo-cache"
        self.trash.put(out, cache, src / "resources", src / ".hugo_build.lock")
        self.settle()
        cmd = [self.args.hugo, "--quiet", "--source", str(src), "--destination", str(out), "--cacheDir", str(cache)]
        phases["hugo_cold"] = m = asdict(measure(cmd, src, self.logs / f"run{run}-hugo_cold.log"))
        _note(_line(run, "hugo_cold", m))
        if m["returncode"] != 0:
            self.result.problems.append(f"run {run} Hugo cold: hugo exited {m['returncode']}, see {m['log']}")
        elif Path(m["log"]).stat().st_size:
            self.result.problems.append(f"run {run} Hugo cold: hugo printed warnings, see {m['log']}")
        if m["returncode"] == 0:
            self.result.counts["hugo_ar_pages"] = count_html(out / "posts")
            self.result.counts["hugo_en_pages"] = count_html(out / "en" / "posts")

    def expected(self) -> dict[str, int]:
        n = self.result.segments
        return {"ssg_ar_pages": n, "ssg_en_pages_offline": self.result.manifest["english_offline"], "hugo_ar_pages": n, "hugo_en_pages": n}

    def run(self) -> ShapeResult:
        args = self.args
        for run in range(args.runs):
            phases: dict[str, dict] = {}
            ssg = [self.ssg, self.translate]
            if args.hugo_only:
                order = [self.hugo]
            elif args.vs_hugo:
                order = ssg + [self.hugo] if run % 2 == 0 else [self.hugo] + ssg
            else:
                order = ssg
            for step in order:
                step(run, phases)
            self.result.runs.append(phases)
        expected = self.expected()
        for key, value in self.result.counts.items():
            if value != expected[key]:
                self.result.problems.append(f"{key}: {value} pages, expected {expected[key]}")
        return self.result


def run_shape_size(shape: shapes.Shape, segments: int, args: argparse.Namespace, stub: StubProcess | None, trash: Trash) -> ShapeResult:
    return ShapeRun(shape, segments, args, stub, trash).run()
