"""Smoke tests of the corpus shapes and the benchmark phases (no timing), for every shape.

Each shape at a tiny size: generated twice (byte-identical), its axes checked, built once
with ``build.py --offline``, and translated once from scratch through the fast
LibreTranslate stub on 127.0.0.1 (the memory must hold every paragraph afterwards).

Run with: .venv/bin/python -m pytest bench/test_shapes.py -q
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import corpus  # noqa: E402
import phases  # noqa: E402
import report  # noqa: E402
import shapes  # noqa: E402

SEGMENTS = 12
FT_SEGMENTS = 4  # the first translation sends every paragraph: a smaller corpus keeps the smoke short
# Shapes given as a spec (run.py --shape-spec), unlike the named ones: every per-shape check
# below runs on them too (a spec's corpus is made by the same generator, so it must hold the same).
SPECS = ("bytes=300-900,paragraphs=1-2,dating=git,layout=flat,memory=half,per-file=5-9,markup=md,tags=3/40",
         "bytes=500-900,paragraphs=1-2,dating=filename,layout=bundle,memory=complete,per-file=1-2",
         "bytes=800-2000,paragraphs=1-4,dating=none,layout=year,memory=half,per-file=1-3,words=rich")
SHAPES = {**shapes.SHAPES, **{s.name: s for s in map(shapes.shape_from_spec, SPECS)}}
NAMES = list(SHAPES)
DATE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}[-_ .]")
PYTHON = sys.executable


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    made = {}
    for name in NAMES:
        root = tmp_path_factory.mktemp(f"shape-{name}")
        made[name] = (root, shapes.generate(root, SHAPES[name], SEGMENTS, per_page=5))
    return made


@pytest.fixture(scope="module")
def small_corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    made = {}
    for name in NAMES:
        root = tmp_path_factory.mktemp(f"small-{name}")
        made[name] = (root, shapes.generate(root, SHAPES[name], FT_SEGMENTS, per_page=5))
    return made


@pytest.fixture(scope="module")
def stub():
    with phases.StubProcess(PYTHON) as running:
        yield running


def content_files(root: Path) -> list[tuple[str, str]]:
    content = root / "ssg" / "content"
    found = [p for p in content.rglob("*") if p.is_file() and ".git" not in p.relative_to(content).parts]
    return sorted((p.relative_to(content).as_posix(), p.read_text(encoding="utf-8")) for p in found)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "/.git/" not in f"/{p.relative_to(root).as_posix()}"}


def git(content: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(content), *args], capture_output=True, text=True)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name: str, corpora, tmp_path: Path) -> None:
    root, manifest = corpora[name]
    again = shapes.generate(tmp_path / "again", SHAPES[name], SEGMENTS, per_page=5)
    assert tree_bytes(tmp_path / "again") == tree_bytes(root)
    assert again == manifest
    if SHAPES[name].dating == "git":
        log = lambda r: git(r / "ssg" / "content", "log", "--format=%H %cs %s").stdout  # noqa: E731
        assert log(root) and log(root) == log(tmp_path / "again")


@pytest.mark.parametrize("name", NAMES)
def test_sizes_and_paragraphs_within_range(name: str, corpora) -> None:
    root, manifest = corpora[name]
    shape = SHAPES[name]
    files = content_files(root)
    per_file, paragraphs = [], 0
    for rel, text in files:
        segments = phases.segment_paragraphs(text)
        per_file.append(len(segments))
        for paras in segments:
            paragraphs += len(paras)
            assert shape.paragraphs[0] <= len(paras) <= shape.paragraphs[1], (rel, len(paras))
            size = len("\n".join(map(shapes.unit_text, paras)).encode("utf-8"))
            assert shape.segment_bytes[0] <= size <= shape.segment_bytes[1], (rel, size)
            assert all(p.strip() == p and corpus.ARABIC.search(p) for p in paras)
    assert sum(per_file) == SEGMENTS == manifest["segments"]
    assert paragraphs == manifest["paragraphs"] and len(files) == manifest["files"]
    lo, hi = shape.segments_per_file
    assert all(lo <= n <= hi for n in per_file[:-1]) and 1 <= per_file[-1] <= hi


@pytest.mark.parametrize("name", NAMES)
def test_dating_and_layout(name: str, corpora) -> None:
    root, manifest = corpora[name]
    shape = SHAPES[name]
    files = content_files(root)
    content = root / "ssg" / "content"
    named = [bool(DATE_NAME.match(rel.rsplit("/", 1)[-1])) for rel, _ in files]
    front = [bool(re.search(r"^date:", text, re.M)) for _, text in files]
    is_repo = (content / ".git").is_dir()
    assert all(named) if shape.dating == "filename" else not any(named)
    assert all(front) if shape.dating == "front_matter" else not any(front)
    assert is_repo == (shape.dating == "git")
    if shape.dating == "git":
        dates = git(content, "log", "--format=%cs").stdout.split()
        assert len(dates) == len(files) and int(max(dates)[:4]) - int(min(dates)[:4]) >= 2
        assert git(content, "status", "--porcelain").stdout == ""
    if shape.dating == "none":
        assert git(content, "rev-parse", "--show-toplevel").returncode != 0, "an undated corpus must not be inside a git repository"
    assert manifest["dated_segments"] == (0 if shape.dating == "none" else SEGMENTS)
    pattern = {"flat": r"[^/]+", "nested": r"(\d{4})/\d{2}/[^/]+", "year": r"(\d{4})/[^/]+", "bundle": r"(\d{4})/([^/]+)/\2\.(txt|md)"}[shape.layout]
    assert all(re.fullmatch(pattern, rel) for rel, _ in files)


@pytest.mark.parametrize("name", NAMES)
def test_memory_and_hugo_twin(name: str, corpora) -> None:
    root, manifest = corpora[name]
    shape = SHAPES[name]
    paragraphs, missing = phases.memory_gaps(root / "ssg")
    covered = paragraphs - len(missing)
    assert covered == manifest["memory_entries"]
    if shape.memory == "complete":
        assert not missing and manifest["english_offline"] == SEGMENTS
    elif shape.memory == "absent":
        assert not (root / "ssg" / "translations").exists() and manifest["english_offline"] == 0
    else:
        assert 0.25 <= covered / paragraphs <= 0.75 and manifest["english_offline"] == SEGMENTS // 2
    posts = root / "hugo" / "content" / "posts"
    assert len(list(posts.glob("*.ar.md"))) == len(list(posts.glob("*.en.md"))) == SEGMENTS
    for path in posts.glob("*.en.md"):
        meta = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n", 2)[1])
        assert not corpus.ARABIC.search(path.read_text(encoding="utf-8"))
        assert ("date" in meta) == (shape.dating != "none")
        assert len(meta.get("tags", ())) == shape.tags[0] and len(meta.get("authors", ())) == (1 if shape.tags[0] else 0)
    config = (root / "hugo" / "hugo.toml").read_text(encoding="utf-8")
    assert ("[taxonomies]" in config) == bool(shape.tags[0])
    # The tags' English names are in the memory when the memory is complete (none when it is half or absent).
    assert (root / "ssg" / "translations" / "tags.yml.en.yml").is_file() == (bool(shape.tags[0]) and shape.memory == "complete")
    if shape.tags[0]:
        for _, text in content_files(root):
            tag_lines = re.findall(r"^tags: \[(.*)\]$", text, re.M)
            assert tag_lines and all(len(line.split(", ")) == shape.tags[0] for line in tag_lines)


@pytest.mark.parametrize("name", NAMES)
def test_offline_build(name: str, corpora, tmp_path: Path) -> None:
    root, manifest = corpora[name]
    site, out = tmp_path / "ssg", tmp_path / "out"
    shutil.copytree(root / "ssg", site, symlinks=True)
    done = subprocess.run([PYTHON, str(phases.BUILD_PY), "--config", str(site / "site.yml"), "--out", str(out), "--offline"],
                          capture_output=True, text=True, env=phases.build_env(), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert phases.count_html(out / "ar") == SEGMENTS
    assert phases.count_html(out / "en") == manifest["english_offline"]
    rel = content_files(root)[len(content_files(root)) // 2][0]
    edit = phases.edit_one_paragraph(site, rel, 1, memory=SHAPES[name].memory != "absent")
    done = subprocess.run([PYTHON, str(phases.BUILD_PY), "--config", str(site / "site.yml"), "--out", str(out), "--offline"],
                          capture_output=True, text=True, env=phases.build_env(), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert phases.check_edit(out, edit) == []


@pytest.mark.parametrize("name", NAMES)
def test_first_translation_fills_the_memory(name: str, small_corpora, stub, tmp_path: Path) -> None:
    root, manifest = small_corpora[name]
    m, figures, problems = phases.first_translation(root, tmp_path / "ssg", tmp_path / "out", SHAPES[name], manifest, stub,
                                                    PYTHON, tmp_path / "ft.log")
    assert problems == [], Path(m["log"]).read_text()
    assert m["returncode"] == 0
    assert figures["paragraphs"] == manifest["paragraphs"] and figures["en_pages"] == FT_SEGMENTS
    assert figures["requests"] >= manifest["paragraphs"]


def test_stub_answers_as_libretranslate_with_keep_alive(stub) -> None:
    parts = urlsplit(stub.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    replies = []
    for text in ("مرحبا بالعالم.", "مرحبا بالعالم."):
        connection.request("POST", "/translate?" + urlencode({"q": text, "source": "ar", "target": "en", "format": "text", "api_key": "x"}))
        reply = connection.getresponse()
        assert reply.status == 200 and not reply.will_close
        replies.append(json.loads(reply.read())["translatedText"])
    assert replies[0] == replies[1] and replies[0].isascii() and replies[0]
    connection.request("GET", "/languages")
    codes = {language["code"] for language in json.loads(connection.getresponse().read())}
    assert {"ar", "en"} <= codes
    connection.close()


def test_paragraph_lines_skip_front_matter() -> None:
    text = "---\ndate: 2012-01-01\n---\nأ.\nب.\n===\n---\ndate: 2012-01-02\n---\nج.\n===\nد.\n"
    assert phases.segment_paragraphs(text) == [["أ.", "ب."], ["ج."], ["د."]]
    assert [(s, p) for _, s, p in phases.paragraph_lines(text)] == [(1, 1), (1, 2), (2, 1), (3, 1)]


def test_shape_selection_and_table() -> None:
    assert [s.name for s in shapes.get_shapes("all")] == list(shapes.SHAPES)
    assert [s.name for s in shapes.get_shapes("standard,mixed-git-absent")] == ["standard", "mixed-git-absent"]
    with pytest.raises(ValueError):
        shapes.get_shapes("standard,nope")
    result = phases.ShapeResult("standard", 10, {})
    run = {p: {"wall": w, "returncode": 0, "maxrss_kb": 1000, "tree_kb": 0, "user": 0.0, "sys": 0.0}
           for p, w in zip(phases.PHASES, (1.0, 0.01, 0.05, 2.0, 2.0))}
    result.runs.append(run)
    result.translations.append({"ms_per_paragraph": 3.5})
    table = report.phase_table(result)
    assert "| cold | 1.00 s | 2.00 s | 0.500 | ≤ 1 | pass |" in table
    assert "first translation (3.50 ms per paragraph)" in table
    assert table.count("\n") == 6


@pytest.mark.parametrize(("typed", "opened", "kb", "verdict"), [(200, 450, 100, "pass"), (200, 520, 100, "**fail**"), (520, 450, 100, "**fail**"), (200, 300, 420, "**fail**")])
def test_a_search_query_passes_only_when_typed_and_opened_are_both_within_the_bound(typed, opened, kb, verdict) -> None:
    result = phases.ShapeResult("standard", 10, {})
    result.search.append({"kind": "common", "query": "x", "ms": opened, "query_ms": typed, "kb": kb, "files": 3, "results": "r"})
    row = report.search_table(result)[2]
    assert row.endswith(f"| {verdict} |"), row


def _one_change_at(segments: int, wall: float) -> phases.ShapeResult:
    result = phases.ShapeResult("standard", segments, {})
    result.runs.append({"ssg_one_change": {"wall": wall, "returncode": 0, "maxrss_kb": 1000, "tree_kb": 0, "user": wall, "sys": 0.0}})
    return result


def test_the_scaling_table_judges_the_one_change_at_fifty_thousand_against_twice_ten_thousand() -> None:
    within = report.scaling_table([_one_change_at(10_000, 0.45), _one_change_at(50_000, 0.90)])
    over = report.scaling_table([_one_change_at(10_000, 0.45), _one_change_at(50_000, 0.91)])
    assert "| 50,000 |" in within and "| 2.00 (≤ 2: pass) |" in within
    assert "| 2.02 (≤ 2: **fail**) |" in over
    # Other sizes are shown against 10,000 and not judged; without a run at 10,000, none is.
    between = report.scaling_table([_one_change_at(1_000, 0.30), _one_change_at(10_000, 0.45), _one_change_at(30_000, 0.60)])
    assert "| 1.33 |" in between and "pass" not in between and "fail" not in between
    alone = report.scaling_table([_one_change_at(1_000, 0.30), _one_change_at(50_000, 3.0)])
    assert "pass" not in alone and "fail" not in alone


def test_write_docs_replaces_only_the_results_section(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text(f"# B\n\nintro\n\n{report.RESULTS_START}\nold\n{report.RESULTS_END}\n\n## How to run\n", encoding="utf-8")
    report.write_docs("### Shape `standard`\n\nnew table", docs)
    text = docs.read_text(encoding="utf-8")
    assert "old" not in text and "new table" in text and text.startswith("# B\n\nintro") and text.endswith("## How to run\n")


def test_the_harness_moves_what_it_would_delete_and_deletes_it_at_the_end(tmp_path: Path) -> None:
    from measure import Trash

    out = tmp_path / "ssg-out"
    (out / "ar").mkdir(parents=True)
    (out / "ar" / "a.html").write_text("x")
    (tmp_path / ".ssg-out.spare").mkdir()
    (tmp_path / ".ssg-out.lock").write_text("")
    (tmp_path / "ssg-outer").mkdir()  # another folder whose name begins alike: not the output's
    inode = (out / "ar" / "a.html").stat().st_ino
    trash = Trash(tmp_path / ".trash")
    trash.put_output(out)
    trash.put(tmp_path / "absent")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".trash", "ssg-outer"]
    moved = [p for p in (tmp_path / ".trash").rglob("a.html")]
    assert len(moved) == 1 and moved[0].stat().st_ino == inode  # renamed: no inode freed
    trash.empty()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ssg-outer"]
    at_once = Trash(None)
    at_once.put(tmp_path / "ssg-outer")
    assert list(tmp_path.iterdir()) == []


def test_builds_are_timed_as_a_user_runs_them(monkeypatch) -> None:
    """No build sees a translation key, nor a harness setting that forbids bytecode files
    (every timed build would compile the tool's modules again)."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("TRANSLATOR_API_KEY", "secret")
    env = phases.build_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env and "TRANSLATOR_API_KEY" not in env
    assert env["NO_PROXY"] == "127.0.0.1,localhost"


def test_the_markdown_shape_is_markdown_and_built_as_such(corpora, tmp_path: Path) -> None:
    root, _ = corpora["markdown-nested"]
    files = content_files(root)
    assert files and all(rel.endswith(".md") for rel, _ in files)
    paragraphs = [p for _, text in files for paras in phases.segment_paragraphs(text) for p in paras]
    assert all("\n\n" in text for _, text in files if sum(map(len, phases.segment_paragraphs(text))) > 1)
    assert any("**" in p for p in paragraphs) and not any("**" in paras[0] for _, t in files for paras in phases.segment_paragraphs(t))
    site, out = tmp_path / "ssg", tmp_path / "out"
    shutil.copytree(root / "ssg", site, symlinks=True)
    done = subprocess.run([PYTHON, str(phases.BUILD_PY), "--config", str(site / "site.yml"), "--out", str(out), "--offline"],
                          capture_output=True, text=True, env=phases.build_env(), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    pages = "".join(p.read_text(encoding="utf-8") for p in (out / "ar").glob("*.html"))
    assert "<strong>" in pages and "**" not in pages


def test_a_spec_gives_every_axis_and_its_name_follows_the_axes_not_their_order() -> None:
    spec = "bytes=1500-6000,paragraphs=3-10,dating=none,layout=year,memory=complete,per-file=2-5,markup=md,tags=4/90"
    shape = shapes.shape_from_spec(spec)
    assert (shape.segment_bytes, shape.paragraphs, shape.dating, shape.layout, shape.memory) == ((1500, 6000), (3, 10), "none", "year", "complete")
    assert (shape.segments_per_file, shape.markup, shape.tags) == ((2, 5), "md", (4, 90))
    shuffled = ", ".join(reversed(spec.split(",")))
    assert shapes.shape_from_spec(shuffled) == shape  # the same cached corpus
    assert shapes.shape_from_spec(spec.replace("3-10", "3-9")).name != shape.name
    defaults = shapes.shape_from_spec("bytes=500-900,paragraphs=1-2,dating=git,layout=flat,memory=half")
    assert (defaults.segments_per_file, defaults.markup, defaults.tags) == ((1, 3), "txt", (0, 0))


@pytest.mark.parametrize(("spec", "said"), [
    ("bytes=500-900,paragraphs=1-2,dating=git,layout=flat", "memory missing"),
    ("bytes=500-900,paragraphs=1-2,dating=never,layout=flat,memory=half", "dating=never: one of filename"),
    ("bytes=900-500,paragraphs=1-2,dating=git,layout=flat,memory=half", "bytes=900-500: the numbers must be positive"),
    ("bytes=500-900,paragraphs=x,dating=git,layout=flat,memory=half", "paragraphs=x is not LO-HI"),
    ("bytes=500-900,paragraphs=10-12,dating=git,layout=flat,memory=half", "10 paragraphs do not fit in 900 bytes"),
    ("bytes=500-900,paragraphs=1-2,dating=git,layout=flat,memory=half,colour=red", "unknown key 'colour'"),
    ("bytes=500-900,paragraphs=1-2,dating=git,layout=flat,memory=half,tags=5", "tags=5 is not N/VOCABULARY"),
    ("bytes=500-900,bytes=600-900,paragraphs=1-2,dating=git,layout=flat,memory=half", "bytes given twice"),
    ("bytes", "'bytes' is not key=value"),
    ("bytes=500-900,paragraphs=1-2,dating=git,layout=flat,memory=half,words=poor", "words=poor: one of seed, rich"),
])
def test_a_wrong_spec_is_refused_saying_what_is_wrong(spec: str, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        shapes.shape_from_spec(spec)


def test_run_takes_specs_beside_or_instead_of_named_shapes(capsys) -> None:
    import run
    spec = SPECS[0]
    assert [s.name for s in run.parse_args(["--shape-spec", spec]).shape_list] == [shapes.shape_from_spec(spec).name]
    both = run.parse_args(["--shapes", "standard", "--shape-spec", spec]).shape_list
    assert [s.name for s in both] == ["standard", shapes.shape_from_spec(spec).name]
    assert [s.name for s in run.parse_args([]).shape_list] == ["standard"]
    with pytest.raises(SystemExit):
        run.parse_args(["--shape-spec", "bytes=1-2"])
    assert "memory missing" in capsys.readouterr().err


def test_the_report_describes_a_spec_shape_by_its_axes(corpora) -> None:
    shape = shapes.shape_from_spec(SPECS[0])
    result = phases.ShapeResult(shape.name, SEGMENTS, corpora[shape.name][1])
    result.runs.append({p: {"wall": 1.0, "returncode": 0, "maxrss_kb": 1000, "tree_kb": 0, "user": 0.0, "sys": 0.0} for p in phases.PHASES})
    info = {k: "x" for k in ("date", "cpus", "cpu_model", "ram_gb", "kernel", "load_average", "python", "hugo")}
    args = argparse.Namespace(runs=1, hugo_only=False, vs_hugo=True, shape_list=[shape])
    text = report.report([result], info, args)
    assert f"### Shape `{shape.name}`" in text and shape.axes() in text and "dating=git" in text


def test_a_rich_vocabulary_grows_with_the_archive_where_the_samples_words_do_not(tmp_path: Path) -> None:
    axes = "bytes=800-2000,paragraphs=1-4,dating=filename,layout=flat,memory=absent,per-file=1-1"
    seed, explicit, rich = (shapes.shape_from_spec(axes + extra) for extra in ("", ",words=seed", ",words=rich"))
    assert explicit == seed and rich.name != seed.name  # the default keeps the name (and cached corpus) it had

    def distinct(shape, segments: int) -> tuple[int, int]:
        root = tmp_path / f"{shape.name}-{segments}"
        shapes.generate(root, shape, segments, per_page=5)
        words = [w for _, text in content_files(root) for w in text.split()]
        return len(words), len(set(words))

    (_, seed_small), (seed_large_count, seed_large) = distinct(seed, 40), distinct(seed, 160)
    (_, rich_small), (rich_large_count, rich_large) = distinct(rich, 40), distinct(rich, 160)
    assert seed_large < 1.5 * seed_small  # the sample's few hundred words (and their punctuation), whatever the size
    assert rich_small > 3 * seed_small and rich_large > 2 * rich_small  # many forms, more with more text
    assert 0.75 < rich_large_count / seed_large_count < 1.25  # as much text (in longer words: fewer of them)
