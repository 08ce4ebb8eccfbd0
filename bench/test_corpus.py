"""Smoke tests of the benchmark harness (corpus generator and one-change edit); no timing.

Run with: .venv/bin/python -m pytest bench/test_corpus.py -q
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import corpus  # noqa: E402
import run  # noqa: E402

from sitegen.translation.memory import entry_key  # noqa: E402  (the project's own key, not the local stand-in)

SEGMENTS = 14  # four full files and one with two segments


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus")
    corpus.generate(path, SEGMENTS, per_page=5)
    return path


def split_segments(text: str) -> list[list[str]]:
    segments: list[list[str]] = [[]]
    for line in text.split("\n"):
        if corpus.SEPARATOR.match(line):
            segments.append([])
        elif line.strip():
            segments[-1].append(line)
    return segments


def sources(root: Path) -> list[Path]:
    return sorted((root / "ssg" / "content").rglob("*.txt"))


def test_segment_count_layout_and_size(root: Path) -> None:
    files = sources(root)
    assert len(files) == 5
    counts = []
    for path in files:
        rel = path.relative_to(root / "ssg" / "content").as_posix()
        assert re.fullmatch(r"(\d{4})/\1-\d{2}-\d{2}-[a-z-]+-\d{5}\.txt", rel), rel
        segments = split_segments(path.read_text(encoding="utf-8"))
        counts.append(len(segments))
        for paragraphs in segments:
            size = len("\n".join(paragraphs).encode("utf-8"))
            assert 1000 <= size <= 2600, size
    assert sum(counts) == SEGMENTS
    assert corpus.json.loads((root / "manifest.json").read_text())["segments"] == SEGMENTS


def test_site_yml(root: Path) -> None:
    config = yaml.safe_load((root / "ssg" / "site.yml").read_text(encoding="utf-8"))
    assert config["translation"]["enabled"] is True
    assert config["translation"]["target"] == "en"
    assert config["per_page"] == 5


def test_memory_is_valid_and_complete(root: Path) -> None:
    for path in sources(root):
        rel = path.relative_to(root / "ssg" / "content").as_posix()
        memory = yaml.safe_load(corpus.memory_path(root / "ssg", rel).read_text(encoding="utf-8"))
        assert memory["source_file"] == rel
        assert (memory["source_language"], memory["target_language"]) == ("ar", "en")
        by_at = {e["at"]: e for e in memory["entries"]}
        for s, paragraphs in enumerate(split_segments(path.read_text(encoding="utf-8")), start=1):
            for p, text in enumerate(paragraphs, start=1):
                entry = by_at[f"{s}.{p}"]
                assert entry["source"] == text
                assert entry["key"] == entry_key(text, "ar", "en")
                assert entry["reviewed"] is False and entry["provider"] and entry["date"] == "2026-11-25"
                assert entry["translation"] and not corpus.ARABIC.search(entry["translation"])
                assert 0.8 <= len(entry["translation"]) / len(text) <= 2.0


def test_hugo_twin_has_every_segment_in_both_languages(root: Path) -> None:
    posts = root / "hugo" / "content" / "posts"
    assert len(list(posts.glob("*.ar.md"))) == SEGMENTS
    assert len(list(posts.glob("*.en.md"))) == SEGMENTS
    for path in posts.glob("*.en.md"):
        front, body = path.read_text(encoding="utf-8").split("---\n", 2)[1:]
        meta = yaml.safe_load(front)
        assert meta["translationKey"] == path.name[: -len(".en.md")]
        assert not corpus.ARABIC.search(body) and not corpus.ARABIC.search(meta["title"])
    config = (root / "hugo" / "hugo.toml").read_text(encoding="utf-8")
    assert 'languageDirection = "rtl"' in config and "paginate = 5" in config
    for layout in ("_default/baseof.html", "_default/single.html", "_default/list.html", "index.html"):
        assert (root / "hugo" / "layouts" / layout).is_file()


def test_deterministic(root: Path, tmp_path: Path) -> None:
    corpus.generate(tmp_path, SEGMENTS, per_page=5)
    for path in sources(root):
        twin = tmp_path / path.relative_to(root)
        assert twin.read_bytes() == path.read_bytes()


def test_one_change_edit_adds_matching_memory_entry(root: Path, tmp_path: Path) -> None:
    site = tmp_path / "ssg"
    corpus.shutil.copytree(root / "ssg", site)
    rel = sources(root)[0].relative_to(root / "ssg" / "content").as_posix()
    before = yaml.safe_load(corpus.memory_path(site, rel).read_text(encoding="utf-8"))["entries"]
    edit = run.edit_one_paragraph(site, rel, 7)
    text = (site / "content" / rel).read_text(encoding="utf-8")
    assert edit["source"] in text.split("\n")
    assert len(split_segments(text)) == 3
    after = yaml.safe_load(corpus.memory_path(site, rel).read_text(encoding="utf-8"))["entries"]
    assert len(after) == len(before) + 1
    assert after[-1]["key"] == entry_key(edit["source"], "ar", "en")
    assert after[-1]["at"] == f"{edit['segment']}.{edit['paragraph']}"
    assert edit["slug"] == corpus.default_slug(rel, edit["segment"])
