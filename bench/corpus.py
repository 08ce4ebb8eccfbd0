"""Synthetic benchmark corpus: the same articles as an SSG site and as a Hugo site.

Built deterministically (seeded RNG) from one real Arabic article, the sample in
``/work/shared/seeds/``: its sentences are shuffled and recombined into paragraphs,
paragraphs into segments of about 1.6 KB, three segments per ``.txt`` file, files
spread over one folder per year and named ``YYYY-MM-DD-<place>-<n>.txt`` so every
segment has a date without git. Every paragraph gets an entry in the translation
memory with a fake English text (ASCII words only), so an ``--offline`` build has
every English companion without a network.

Layout written under ``ROOT`` (see :func:`generate`)::

    ROOT/ssg/site.yml
    ROOT/ssg/content/<year>/<YYYY-MM-DD>-<place>-<n>.txt
    ROOT/ssg/translations/<year>/<YYYY-MM-DD>-<place>-<n>.txt.en.yml
    ROOT/hugo/hugo.toml, layouts/, content/posts/<slug>.ar.md and <slug>.en.md
    ROOT/manifest.json      (written last: its presence means the corpus is complete)

Usage::

    python bench/corpus.py --segments 1000 --out /tmp/bench/corpus-1000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import shutil
import sys
import unicodedata
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

import yaml

PROJECT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = Path("/work/shared/seeds/000_ee81a42cfdca4982.txt")
# Bump when the generated corpus changes, so cached corpora are rebuilt.
GENERATOR_VERSION = "6"

SEGMENT_BYTES = 1600  # target size of one segment's text, UTF-8
SEGMENTS_PER_FILE = 3
FILES_PER_DAY = 4
FIRST_DAY = date(2011, 3, 15)
SOURCE_LANGUAGE = "ar"
TARGET_LANGUAGE = "en"
MEMORY_DATE = "2026-11-25"
PROVIDER = "benchmark"
DEFAULT_PER_PAGE = 50
PLACES = ("homs", "hama", "idlib", "aleppo", "daraa", "damascus", "raqqa", "latakia", "deir-ezzor", "qamishli")

SEPARATOR = re.compile(r"^[ \t]*={3,}[ \t]*$")
ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")

# --- the project's own functions, with local stand-ins until they exist --------------

sys.path.insert(0, str(PROJECT))
try:  # the key must be the project's, or the SSG would not find the entries
    from sitegen.translation.memory import entry_key  # type: ignore
except Exception:  # pragma: no cover - only before sitegen/translation/memory.py exists

    def entry_key(text: str, source_language: str, target_language: str) -> str:
        normalised = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()
        return hashlib.sha256(f"{source_language}\n{target_language}\n{normalised}".encode("utf-8")).hexdigest()[:16]


try:
    from sitegen.content.metadata import derive_title  # type: ignore
except Exception:  # pragma: no cover

    def derive_title(text: str) -> str:
        match = re.search(r"[.!?؟…](?=\s|$)", text)
        first = text[: match.end()] if match else text
        first = re.sub(r"\s+", " ", first).strip()
        if len(first) <= 90:
            return first
        cut = first[:89]
        return cut[: cut.rfind(" ")] + "…" if " " in cut else cut + "…"


try:
    from sitegen.content.metadata import default_slug  # type: ignore
except Exception:  # pragma: no cover

    def default_slug(source_rel: str, number: int) -> str:
        stem = source_rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        folder = source_rel.rsplit("/", 1)[0] if "/" in source_rel else ""
        prefix = folder.replace("/", "-") + "-" if folder else ""
        return f"{prefix}{stem}-{number}"


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# --- Arabic text ------------------------------------------------------------------------

_OPENERS = {"«": "»", "“": "”", "(": ")"}


def split_sentences(paragraph: str) -> list[str]:
    """Cut after . ! ? ؟ followed by a space, but never inside «…», “…” or (…)."""
    sentences: list[str] = []
    depth: list[str] = []
    start = 0
    for i, ch in enumerate(paragraph):
        if ch in _OPENERS:
            depth.append(_OPENERS[ch])
        elif depth and ch == depth[-1]:
            depth.pop()
        elif ch in ".!?؟" and not depth and (i + 1 == len(paragraph) or paragraph[i + 1] == " "):
            piece = paragraph[start : i + 1].strip()
            if piece:
                sentences.append(piece)
            start = i + 1
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail if tail[-1] in ".!?؟»”" else tail + ".")
    return sentences


def load_sentences(seed_article: Path = SEED_ARTICLE) -> list[str]:
    lines = seed_article.read_text(encoding="utf-8").splitlines()
    sentences: list[str] = []
    for line in lines:
        if SEPARATOR.match(line) or not line.strip():
            continue
        sentences += split_sentences(line.strip())
    # Very short fragments (e.g. after "..") make odd paragraphs; glue them to the previous one.
    merged: list[str] = []
    for s in sentences:
        if merged and len(s) < 25:
            merged[-1] += " " + s
        else:
            merged.append(s)
    return merged


def _perturb(sentence: str, rng: random.Random) -> str:
    """Swap two neighbouring words: keeps the text Arabic and plausible, makes it new."""
    words = sentence.split(" ")
    if len(words) < 4:
        return sentence
    i = rng.randrange(0, len(words) - 2)  # never move the last word, which carries the full stop
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


class ArabicGenerator:
    """Paragraphs and segments from recombined sample sentences; globally unique paragraphs."""

    def __init__(self, sentences: list[str], seed: int):
        self.sentences = sentences
        self.rng = random.Random(seed)
        self.seen: set[str] = set()

    def paragraph(self) -> str:
        for _ in range(50):
            count = self.rng.choices((1, 2, 3), weights=(3, 4, 1))[0]
            picked = [_perturb(s, self.rng) for s in self.rng.sample(self.sentences, count)]
            text = " ".join(picked)
            while len(text.encode("utf-8")) > 900 and len(picked) > 1:  # keep paragraphs newspaper-sized
                picked.pop()
                text = " ".join(picked)
            key = entry_key(text, SOURCE_LANGUAGE, TARGET_LANGUAGE)
            if key not in self.seen:
                self.seen.add(key)
                return text
        raise RuntimeError("could not make a new paragraph; the sample has too few sentences")

    def segment(self) -> list[str]:
        paragraphs: list[str] = []
        size = 0
        while size < SEGMENT_BYTES * 0.85:
            p = self.paragraph()
            paragraphs.append(p)
            size += len(p.encode("utf-8")) + 1
        return paragraphs


# --- fake English ------------------------------------------------------------------------

WORDS = (
    "the of and to in a that for on with as was by said at from his it an were are which "
    "be this has have had not but after also its been their more one they who other government "
    "forces city army security council national people statement according reports activists "
    "local officials opposition military residents district town area region protest protests "
    "shelling clashes troops killed wounded civilians families refugees border villages province "
    "capital envoy united nations league arab international meeting talks plan peace ceasefire "
    "monday tuesday wednesday thursday friday saturday sunday week month year yesterday today "
    "morning night hours days several many some most dozens hundreds thousands two three four "
    "five new first last long early late heavy fierce sharp violent major small large main "
    "under over between against during before since while where when because although however "
    "spokesman minister president observers agency news press conference media footage video "
    "images witnesses hospital aid humanitarian support group committee office military political "
    "announced reported confirmed denied called urged warned added stressed told described "
    "demanded accused launched continued entered left reached returned surrounded withdrew "
    "neighbourhood street square road market mosque school building houses homes shelter "
    "water electricity communications food medicine doctors wounded dead missing arrested"
).split()
CAPITALISED = ("Homs", "Hama", "Idlib", "Aleppo", "Damascus", "Deraa", "Rastan", "Syria", "Geneva", "Cairo", "New York", "Annan", "Amos")


def fake_english(arabic: str, key: str) -> str:
    """Deterministic English-looking text about 10% longer than the Arabic (as translations are)."""
    rng = random.Random(int(key, 16))
    target = int(len(arabic) * 1.1)
    sentences: list[str] = []
    words: list[str] = []
    length = 0
    sentence_length = rng.randint(8, 24)
    while True:
        word = rng.choice(CAPITALISED) if words and rng.random() < 0.04 else rng.choice(WORDS)
        if len(words) > 3 and rng.random() < 0.03:
            words[-1] += ","
        words.append(word)
        length += len(word) + 1
        done = length >= target
        if len(words) >= sentence_length or done:
            sentence = " ".join(words).rstrip(",")
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
            words, sentence_length = [], rng.randint(8, 24)
        if done:
            return " ".join(sentences)


# --- the corpus ----------------------------------------------------------------------------


class Article:
    """One source file: its place in the tree and its segments' paragraphs."""

    def __init__(self, index: int, day: date, place: str, segments: list[list[str]]):
        self.index = index
        self.day = day
        self.place = place
        self.segments = segments

    @property
    def rel(self) -> str:
        return f"{self.day.year}/{self.day.isoformat()}-{self.place}-{self.index + 1:05d}.txt"

    def text(self) -> str:
        return "\n===\n".join("\n".join(paragraphs) for paragraphs in self.segments) + "\n"

    def slugs(self) -> list[str]:
        return [default_slug(self.rel, n) for n in range(1, len(self.segments) + 1)]


def articles(segments: int, seed: int = 20120224, seed_article: Path = SEED_ARTICLE) -> Iterator[Article]:
    gen = ArabicGenerator(load_sentences(seed_article), seed)
    files = math.ceil(segments / SEGMENTS_PER_FILE)
    for index in range(files):
        count = min(SEGMENTS_PER_FILE, segments - index * SEGMENTS_PER_FILE)
        day = FIRST_DAY + timedelta(days=index // FILES_PER_DAY)
        place = PLACES[index % len(PLACES)]
        yield Article(index, day, place, [gen.segment() for _ in range(count)])


def memory_entry(text: str, at: str) -> dict:
    key = entry_key(text, SOURCE_LANGUAGE, TARGET_LANGUAGE)
    return {
        "key": key,
        "at": at,
        "source": text,
        "translation": fake_english(text, key),
        "provider": PROVIDER,
        "date": MEMORY_DATE,
        "reviewed": False,
    }


def memory_document(article_rel: str, entries: list[dict]) -> dict:
    return {
        "source_file": article_rel,
        "source_language": SOURCE_LANGUAGE,
        "target_language": TARGET_LANGUAGE,
        "entries": entries,
    }


def dump_yaml(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False)


def memory_path(site: Path, rel: str) -> Path:
    return site / "translations" / f"{rel}.{TARGET_LANGUAGE}.yml"


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# A benchmark site's settings (shapes.py writes the same, under its own first line).
SITE_SETTINGS = """\
title: أرشيف الأخبار التجريبي
content_dir: content
output_dir: _site
base_url: https://example.org/
language: ar
theme: default
per_page: {per_page}
"""
# Translation on, built --offline from the memory: no service is asked.
OFFLINE_TRANSLATION = "translation:\n  enabled: true\n  target: en\n  provider: google\n  timeout: 30\n"
SITE_YML = "# Benchmark corpus: {segments} segments generated by bench/corpus.py (do not edit).\n" + SITE_SETTINGS + OFFLINE_TRANSLATION

HUGO_CONFIG = """\
# Benchmark corpus: {segments} segments generated by bench/corpus.py (do not edit).
# Written for Hugo {hugo_note}: top-level 'paginate' and 'languageDirection'.
baseURL = "https://example.org/"
title = "أرشيف الأخبار التجريبي"
defaultContentLanguage = "ar"
defaultContentLanguageInSubdir = false
paginate = {per_page}
uglyURLs = true
# Only the home page lists the posts (as the SSG's index does): no section or taxonomy lists.
disableKinds = ["taxonomy", "term", "section"]
rssLimit = 50
enableRobotsTXT = false
timeZone = "UTC"

[languages]
  [languages.ar]
    languageName = "العربية"
    languageDirection = "rtl"
    weight = 1
  [languages.en]
    languageName = "English"
    title = "Benchmark news archive"
    languageDirection = "ltr"
    weight = 2

[markup.goldmark.renderer]
  unsafe = false
"""

BASEOF = """\
<!DOCTYPE html>
<html lang="{{ .Site.Language.Lang }}" dir="{{ or .Site.Language.LanguageDirection "ltr" }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} · {{ end }}{{ .Site.Title }}</title>
{{ range .AllTranslations }}<link rel="alternate" hreflang="{{ .Language.Lang }}" href="{{ .Permalink }}">
{{ end }}<style>
body{max-width:42rem;margin:auto;padding:1rem;font-family:system-ui,sans-serif;line-height:1.7}
[dir=rtl] body{font-family:"Noto Naskh Arabic",serif}
nav.pages a{margin-inline-end:.5rem}
</style>
</head>
<body>
<header><a href="{{ .Site.Home.RelPermalink }}">{{ .Site.Title }}</a>
{{ range .Translations }} · <a href="{{ .RelPermalink }}" lang="{{ .Language.Lang }}" hreflang="{{ .Language.Lang }}">{{ .Language.LanguageName }}</a>{{ end }}
</header>
<main>{{ block "main" . }}{{ end }}</main>
</body>
</html>
"""

SINGLE = """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "2 January 2006" }}</time></p>
{{ .Content }}
</article>
<nav>
{{ with .Prev }}<a rel="prev" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
{{ with .Next }}<a rel="next" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
</nav>
{{ end }}
"""

LIST_PAGES = """\
<ul>
{{ range $pager.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "2006-01-02" }}</time><p>{{ .Summary | plainify | truncate 200 }}</p></li>
{{ end }}</ul>
<nav class="pages">
{{ if $pager.HasPrev }}<a rel="prev" href="{{ $pager.Prev.URL }}">&laquo;</a>{{ end }}
{{ $pager.PageNumber }} / {{ $pager.TotalPages }}
{{ if $pager.HasNext }}<a rel="next" href="{{ $pager.Next.URL }}">&raquo;</a>{{ end }}
</nav>
"""

HOME = (
    """\
{{ define "main" }}
<h1>{{ .Site.Title }}</h1>
{{ $pager := .Paginate (where .Site.RegularPages "Type" "posts").ByDate.Reverse }}
"""
    + LIST_PAGES
    + "{{ end }}\n"
)

LIST = (
    """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ $pager := .Paginate .Pages.ByDate.Reverse }}
"""
    + LIST_PAGES
    + "{{ end }}\n"
)


def hugo_front_matter(title: str, day: date, slug: str) -> str:
    # JSON strings are valid YAML scalars: safe for any quote or colon in an Arabic title.
    return f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\ndate: {day.isoformat()}\nslug: {json.dumps(slug)}\ntranslationKey: {json.dumps(slug)}\n---\n\n"


def write_hugo_site(hugo: Path, segments: int, per_page: int) -> None:
    write_text(hugo / "hugo.toml", HUGO_CONFIG.format(segments=segments, per_page=per_page, hugo_note="0.111 (Debian 12)"))
    layouts = hugo / "layouts" / "_default"
    write_text(layouts / "baseof.html", BASEOF)
    write_text(layouts / "single.html", SINGLE)
    write_text(layouts / "list.html", LIST)
    write_text(hugo / "layouts" / "index.html", HOME)


def generate(root: Path, segments: int, per_page: int = DEFAULT_PER_PAGE, seed: int = 20120224, seed_article: Path = SEED_ARTICLE, hugo: bool = True) -> dict:
    """Write the corpus under ``root`` (replacing it) and return the manifest."""
    if segments < 1:
        raise ValueError("segments must be at least 1")
    if root.exists():
        shutil.rmtree(root)
    ssg = root / "ssg"
    hugo_site = root / "hugo"
    write_text(ssg / "site.yml", SITE_YML.format(segments=segments, per_page=per_page))
    if hugo:
        write_hugo_site(hugo_site, segments, per_page)
    posts = hugo_site / "content" / "posts"
    posts.mkdir(parents=True, exist_ok=True)
    made_dirs: set[Path] = set()

    def put(path: Path, text: str) -> None:
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)

    files = paragraphs = seg_count = 0
    source_bytes = 0
    for article in articles(segments, seed, seed_article):
        files += 1
        text = article.text()
        source_bytes += len(text.encode("utf-8"))
        put(ssg / "content" / article.rel, text)
        entries: list[dict] = []
        for s, paras in enumerate(article.segments, start=1):
            for p, para in enumerate(paras, start=1):
                entries.append(memory_entry(para, f"{s}.{p}"))
        put(memory_path(ssg, article.rel), dump_yaml(memory_document(article.rel, entries)))
        paragraphs += len(entries)
        if hugo:
            by_source = {e["source"]: e["translation"] for e in entries}
            for slug, paras in zip(article.slugs(), article.segments):
                seg_count += 1
                english = [by_source[p] for p in paras]
                put(posts / f"{slug}.ar.md", hugo_front_matter(derive_title(paras[0]), article.day, slug) + "\n\n".join(paras) + "\n")
                put(posts / f"{slug}.en.md", hugo_front_matter(derive_title(english[0]), article.day, slug) + "\n\n".join(english) + "\n")
        else:
            seg_count += len(article.segments)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "segments": seg_count,
        "files": files,
        "paragraphs": paragraphs,
        "source_bytes": source_bytes,
        "per_page": per_page,
        "seed": seed,
        "seed_article": str(seed_article),
    }
    write_text(root / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def cached_corpus(root: Path, segments: int, per_page: int = DEFAULT_PER_PAGE) -> dict:
    """The manifest of a complete corpus of this size at ``root``, generating it if needed."""
    manifest_path = root / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("generator_version") == GENERATOR_VERSION and manifest.get("segments") == segments and manifest.get("per_page") == per_page:
            return manifest
    except (OSError, ValueError):
        pass
    return generate(root, segments, per_page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True, help="folder to write (replaced)")
    parser.add_argument("--per-page", type=int, default=DEFAULT_PER_PAGE)
    parser.add_argument("--seed", type=int, default=20120224)
    args = parser.parse_args(argv)
    manifest = generate(args.out, args.segments, args.per_page, args.seed)
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
