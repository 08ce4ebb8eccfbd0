"""One's own archive benchmarked as it is (bench/own.py, run.py --corpus): the corpus made of a
site folder, its Hugo twin, and a run of the phases on it (no timing is checked).

The twin made of a generated shape's site, read as the SSG reads it, must be the twin the
generator wrote: same pages, dates, tags and authors, and the same figures in the manifest.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import corpus  # noqa: E402
import own  # noqa: E402
import run  # noqa: E402
import shapes  # noqa: E402

SEGMENTS = 14
# Front matter dates, tags and authors, Markdown, half the memory; and git dates, flat, no memory.
SPECS = ("bytes=400-1200,paragraphs=1-3,dating=front_matter,layout=nested,memory=half,per-file=1-4,markup=md,tags=2/9",
         "bytes=300-900,paragraphs=1-2,dating=git,layout=flat,memory=absent,per-file=2-5")


@pytest.fixture(scope="module", params=SPECS)
def generated(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, shapes.Shape]:
    shape = shapes.shape_from_spec(request.param)
    root = tmp_path_factory.mktemp("generated")
    return root, shapes.generate(root, shape, SEGMENTS, per_page=5), shape


def front(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n", 2)[1])


def twin_pages(hugo: Path) -> dict[str, dict]:
    return {p.name: front(p) for p in sorted((hugo / "content" / "posts").glob("*.md"))}


def test_the_twin_of_a_generated_site_is_the_one_the_generator_wrote(generated, tmp_path: Path) -> None:
    root, manifest, shape = generated
    made = own.make(tmp_path / "own", own.own_corpus(root / "ssg"), per_page=5)
    ours, theirs = twin_pages(tmp_path / "own" / "hugo"), twin_pages(root / "hugo")
    assert ours.keys() == theirs.keys() and len(ours) == 2 * SEGMENTS
    for name, page in ours.items():
        expected = theirs[name]
        assert (page.get("date"), page["slug"]) == (expected.get("date"), expected["slug"]), name
        if name.endswith(".ar.md"):  # the English twin's terms are the memory's names for them
            assert (page.get("tags", []), page.get("authors", [])) == (expected.get("tags", []), expected.get("authors", [])), name
    for key in ("segments", "files", "paragraphs", "memory_entries", "english_offline", "dated_segments"):
        assert made[key] == manifest[key], key
    config = (tmp_path / "own" / "hugo" / "hugo.toml").read_text(encoding="utf-8")
    assert ("[taxonomies]" in config) == bool(shape.tags[0])


def test_english_is_the_memory_s_where_it_has_one_and_never_arabic(generated, tmp_path: Path) -> None:
    root, _, shape = generated
    own.make(tmp_path / "own", own.own_corpus(root / "ssg"), per_page=5)
    posts = tmp_path / "own" / "hugo" / "content" / "posts"
    english = "\n".join(p.read_text(encoding="utf-8") for p in posts.glob("*.en.md"))
    assert not corpus.ARABIC.search(english.replace("tags:", "").split("---")[-1])
    translations = [entry["translation"] for path in (root / "ssg" / "translations").rglob("*.yml")
                    for entry in (yaml.safe_load(path.read_text(encoding="utf-8")).get("entries") or [])
                    if not path.name.startswith("tags")] if shape.memory != "absent" else []
    assert all(t in english for t in translations)
    assert len(list(posts.glob("*.en.md"))) == SEGMENTS  # every segment, translated or not


def test_only_what_a_build_reads_is_copied(tmp_path: Path, generated) -> None:
    root, _, _ = generated
    site = tmp_path / "site"
    shutil.copytree(root / "ssg", site, symlinks=True)
    (site / "_site").mkdir()
    (site / "_site" / "index.html").write_text("made by a build", encoding="utf-8")
    (site / "notes.txt").write_text("the editor's notes", encoding="utf-8")
    own.make(tmp_path / "own", own.own_corpus(site), per_page=5)
    copied = {p.name for p in (tmp_path / "own" / "ssg").iterdir()}
    assert copied <= {"site.yml", "content", "translations", "themes", "templates", ".git"}
    assert "site.yml" in copied and "content" in copied


def test_the_corpus_is_made_again_when_the_site_changes_and_not_otherwise(tmp_path: Path, generated) -> None:
    root, _, _ = generated
    site = tmp_path / "site"
    shutil.copytree(root / "ssg", site, symlinks=True)
    corpus_of = own.own_corpus(site)
    first = own.cached(tmp_path / "own", corpus_of, per_page=5)
    marker = tmp_path / "own" / "hugo" / "marker"
    marker.write_text("kept", encoding="utf-8")
    assert own.cached(tmp_path / "own", corpus_of, per_page=5) == first and marker.exists()
    source = sorted(p for p in (site / "content").rglob("*") if p.suffix in (".md", ".txt") and ".git" not in p.parts)[0]
    source.write_text(source.read_text(encoding="utf-8") + "\n===\nفقرة جديدة في آخر الملف.\n", encoding="utf-8")
    again = own.cached(tmp_path / "own", corpus_of, per_page=5)
    assert again["segments"] == first["segments"] + 1 and not marker.exists()


def test_drafts_are_left_out_of_the_twin(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "site.yml").write_text("title: أرشيف\nbase_url: https://example.org/\n", encoding="utf-8")
    (site / "content" / "2012-02-24-homs.txt").write_text(
        "قصف حي بابا عمرو لليوم العشرين.\n===\n---\ndraft: true\n---\nمسودة لم تنشر بعد.\n===\nوصول قافلة إغاثة إلى المدينة.\n", encoding="utf-8")
    made = own.make(tmp_path / "own", own.own_corpus(site), per_page=5)
    names = sorted(twin_pages(tmp_path / "own" / "hugo"))
    assert made["segments"] == 2 and names == ["2012-02-24-homs-1.ar.md", "2012-02-24-homs-1.en.md", "2012-02-24-homs-3.ar.md", "2012-02-24-homs-3.en.md"]


def test_a_folder_that_is_no_site_or_reads_outside_itself_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no site.yml there"):
        own.own_corpus(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (site / "site.yml").write_text("title: أرشيف\nbase_url: https://example.org/\ncontent_dir: ../elsewhere\n", encoding="utf-8")
    with pytest.raises(ValueError, match="content_dir .*outside the site folder"):
        own.own_corpus(site)
    (site / "site.yml").write_text("title: أرشيف\nbase_url: https://example.org/\ncolour: red\n", encoding="utf-8")
    with pytest.raises(ValueError, match="colour"):  # site.yml's own message, with its line
        own.own_corpus(site)


def test_run_benchmarks_one_s_own_archive_through_every_phase(tmp_path: Path, generated, capsys) -> None:
    root, manifest, _ = generated
    site = tmp_path / "site"
    shutil.copytree(root / "ssg", site, symlinks=True)
    args = ["--corpus", str(site), "--runs", "1", "--no-search", "--pause", "0", "--workdir", str(tmp_path / "work")]
    assert [s.name for s in run.parse_args(args).shape_list] == [own.own_corpus(site).name]
    assert run.main(args) == 0  # every build ran, the edited page showed the edit, the pages were counted
    raw = json.loads(next((tmp_path / "work").glob("results-*.json")).read_text())
    (result,) = raw["results"]
    assert result["segments"] == manifest["segments"] and not result["problems"]
    assert set(result["runs"][0]) == {"ssg_cold", "ssg_noop", "ssg_one_change"}  # not translated from scratch
    assert re.search(r"### Shape `own-site-[0-9a-f]{8}`", capsys.readouterr().out)
