"""An archive of one's own, benchmarked like a shape: ``bench/run.py --corpus SITE``.

A newsroom's site folder (``site.yml``, ``content/``, its memory) is taken as it is: its copy is
the SSG's side of the benchmark, and the Hugo twin is made of the segments as the SSG reads
them (sitegen's own reading: titles, dates, slugs, tags and authors; drafts left out), every
segment in Arabic and in English, as a shape's twin is: the memory's translation of a paragraph
where it holds one, ``corpus.fake_english`` of about the same length where it does not. Hugo
thus builds the site as it will be once translated, whatever the memory holds.

The corpus is made again when any file of the site changed (names, sizes and times), or this
module did. The one-change phase edits a paragraph and adds no memory entry (the site's memory
may live anywhere ``site.yml`` says); the first translation is not run on one's own archive.

Usage::

    python bench/run.py --corpus ~/newsroom --vs-hugo --runs 3 --no-first-translation
    python bench/own.py ~/newsroom --out /tmp/bench/own   # the corpus alone, to look at
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402  (puts the repository on the path)
import shapes  # noqa: E402

from sitegen.config import ConfigError, SiteConfig, load_config  # noqa: E402
from sitegen.content.segment import Segment, build_segments  # noqa: E402
from sitegen.content.sources import find_sources, git_commit_dates, read_source  # noqa: E402
from sitegen.translation.companions import read_memory, segment_units  # noqa: E402

OWN_VERSION = "1"  # bump when what this module writes changes


@dataclass(frozen=True)
class OwnCorpus:
    """One's own site folder, in the place of a shape (``name``, ``description``, ``axes()``)."""

    name: str
    site: Path
    description: str

    def axes(self) -> str:
        return f"the archive in {self.site}, as it is"


def own_corpus(site: Path) -> OwnCorpus:
    """The archive in ``site`` (a folder holding ``site.yml``); ValueError if it is not one."""
    site = Path(site).expanduser().resolve()
    if not (site / "site.yml").is_file():
        raise ValueError(f"--corpus {site}: no site.yml there (give the folder of a site: site.yml, content/)")
    _config(site)  # refused now, before any build, if it is not a site the benchmark can copy
    label = "".join(c if c.isalnum() or c in "-_" else "-" for c in site.name)[:40] or "site"
    digest = hashlib.sha256(str(site).encode("utf-8")).hexdigest()[:8]
    return OwnCorpus(f"own-{label}-{digest}", site, f"one's own archive ({site})")


def _config(site: Path) -> SiteConfig:
    """The site's configuration; ValueError if it is wrong, or reads folders outside the site."""
    try:
        config = load_config(site / "site.yml")
    except ConfigError as exc:
        raise ValueError(f"--corpus {site}: {exc}") from None
    outside = [name for name, folder in (("content_dir", config.content_dir), ("memory_dir", config.memory_dir)) if not folder.is_relative_to(site)]
    if outside:
        raise ValueError(f"--corpus {site}: {' and '.join(outside)} lie outside the site folder: the benchmark copies only that folder")
    return config


def _parts(site: Path, config: SiteConfig) -> list[Path]:
    """What a build of the site reads: its configuration, sources, memory, themes and
    templates, and the git repository its dates may come from (not what a build made, nor
    anything else kept in the folder)."""
    wanted = [site / "site.yml", config.content_dir, config.memory_dir, site / "themes", site / "templates", site / ".git"]
    return [path for path in dict.fromkeys(wanted) if path.exists()]


def _files(site: Path, parts: list[Path]) -> list[tuple[str, int, int]]:
    found = []
    for part in parts:
        walked = os.walk(part) if part.is_dir() else [(str(part.parent), [], [part.name])]
        for folder, dirs, names in walked:
            dirs.sort()
            for name in sorted(names):
                info = os.lstat(Path(folder) / name)
                found.append(((Path(folder) / name).relative_to(site).as_posix(), info.st_size, info.st_mtime_ns))
    return found


def fingerprint(site: Path) -> str:
    config = _config(site)
    listing = json.dumps(_files(site, _parts(site, config)))
    return hashlib.sha256(f"{OWN_VERSION}\n{corpus.GENERATOR_VERSION}\n{listing}".encode("utf-8")).hexdigest()


def cached(root: Path, own: OwnCorpus, per_page: int = corpus.DEFAULT_PER_PAGE) -> dict:
    """The manifest of the corpus at ``root`` for ``own``, made again when the site changed."""
    stamp = fingerprint(own.site)
    try:
        manifest = json.loads((root / "manifest.json").read_text())
        if manifest.get("fingerprint") == stamp and manifest.get("per_page") == per_page:
            return manifest
    except (OSError, ValueError):
        pass
    return make(root, own, per_page, stamp)


def make(root: Path, own: OwnCorpus, per_page: int, stamp: str | None = None) -> dict:
    """``root/ssg`` (a copy of the site), ``root/hugo`` (its twin), ``root/manifest.json`` last."""
    site = own.site
    config = _config(site)
    if root.exists():
        shutil.rmtree(root)
    for part in _parts(site, config):
        copy = root / "ssg" / part.relative_to(site)
        if part.is_dir():
            shutil.copytree(part, copy, symlinks=True)
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(part, copy)
    segments, stats = _segments(config)
    if not segments:
        raise ValueError(f"--corpus {site}: no segment to build (is content/ empty, or every segment a draft?)")
    hugo = root / "hugo"
    corpus.write_hugo_site(hugo, len(segments), per_page)
    posts = hugo / "content" / "posts"
    tags: set[str] = set()
    for segment, english in segments:
        arabic = [block.text for block in segment.blocks if block.text]
        tags.update(segment.tags)
        corpus.write_text(posts / f"{segment.slug}.ar.md", shapes.hugo_page(segment.title, segment.date, segment.slug, arabic, segment.tags, segment.authors))
        corpus.write_text(posts / f"{segment.slug}.en.md", shapes.hugo_page(corpus.derive_title(english[0]), segment.date, segment.slug, english,
                                                                             tuple(map(shapes.english_term, segment.tags)), tuple(map(shapes.english_term, segment.authors))))
    if tags:
        shapes.with_taxonomies(root / "ssg", hugo, sorted(tags), memory=False)
    manifest = {
        "own_version": OWN_VERSION,
        "site": str(site),
        "fingerprint": stamp or fingerprint(site),
        "shape": {"name": own.name, "description": own.description},
        "segments": len(segments),
        **stats,
        "per_page": per_page,
    }
    corpus.write_text(root / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def _segments(config: SiteConfig) -> tuple[list[tuple[Segment, list[str]]], dict]:
    """Every segment the site publishes, with its English for the twin; the manifest's figures."""
    found, _ = find_sources(config.content_dir)
    git_dates = git_commit_dates(config.content_dir)
    target, language = config.translation.target, config.language
    made: list[tuple[Segment, list[str]]] = []
    stats = {"files": 0, "paragraphs": 0, "source_bytes": 0, "memory_entries": 0, "english_offline": 0, "dated_segments": 0}
    for item in sorted(found, key=lambda item: item.rel):
        source, _ = read_source(Path(item.path), config.content_dir, item.rel)
        if source is None:
            continue
        segments, _ = build_segments(source, git_dates.get(item.rel))
        segments = [s for s in segments if not s.draft]
        if not segments:
            continue
        memory, _ = read_memory(config, item.rel)
        known = memory.lookup() if memory is not None else {}
        stats["files"] += 1
        for segment in segments:
            units = segment_units(segment, language, target)  # as the build asks the memory for them
            translated = [known.get(unit.key) for unit in units]
            english = [entry.translation if entry is not None else corpus.fake_english(unit.text, unit.key)
                       for unit, entry in zip(units, translated)] or [corpus.fake_english(segment.title, "0" * 16)]
            stats["paragraphs"] += len(units)
            stats["source_bytes"] += len(segment.text.encode("utf-8"))
            stats["memory_entries"] += sum(entry is not None for entry in translated)
            stats["english_offline"] += bool(units) and None not in translated  # a companion needs them all
            stats["dated_segments"] += segment.date is not None
            made.append((segment, english))
    return made, stats


def slug_of(site: Path, rel: str, number: int) -> str | None:
    """The slug the SSG gives the ``number``-th segment of ``content/rel`` (for checking an edit)."""
    config = _config(site)
    source, _ = read_source(config.content_dir / rel, config.content_dir, rel)
    if source is None:
        return None
    segments, _ = build_segments(source, None)
    return next((s.slug for s in segments if s.number == number), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the site folder (site.yml, content/)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (replaced)")
    parser.add_argument("--per-page", type=int, default=corpus.DEFAULT_PER_PAGE)
    args = parser.parse_args(argv)
    try:
        manifest = make(args.out, own_corpus(args.site), args.per_page)
    except ValueError as exc:
        parser.error(str(exc))
    print(json.dumps(manifest, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
