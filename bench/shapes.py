"""Named corpus shapes for the benchmark: the same generator, different axes.

Every shape is a frozen :class:`Shape` of independent axes:

- ``segment_bytes`` (lo, hi): UTF-8 bytes of one segment's text (its paragraphs
  joined by newlines, front matter not counted);
- ``paragraphs`` (lo, hi): paragraphs (lines) per segment;
- ``dating``: ``filename`` (``YYYY-MM-DD-<place>-<n>.txt``), ``front_matter``
  (a ``date:`` in the file's front matter, some later segments overriding it),
  ``git`` (the content folder is a git repository, one commit per file, dated
  over six years; no date in the files) or ``none`` (undated: no date in the
  name, no ``date:``, no repository);
- ``layout``: ``flat`` (one folder), ``nested`` (``YYYY/MM/`` folders),
  ``year`` (``YYYY/`` folders, the layout of ``corpus.py``) or ``bundle`` (a folder an
  article, named as its file, in ``YYYY/`` folders: Hugo's page bundles, an article beside
  its photos, the year its section);
- ``memory``: ``complete`` (every paragraph), ``half`` (every other segment,
  counted over the whole corpus, has all its paragraphs; the others none: so
  about half the paragraphs, and an ``--offline`` build has English pages for
  about half the segments) or ``absent`` (no ``translations/`` folder);
- ``segments_per_file`` (lo, hi);
- ``markup``: ``txt`` (one paragraph a line) or ``md`` (Markdown: a ``.md`` file, a blank line
  between paragraphs, and from the third paragraph of a segment on, one in three with a word
  in ``**bold**``; the memory is keyed by the paragraph's text without the markup, which is
  what the SSG sends for translation);
- ``words``: ``seed`` (the sample article's own words: some 460 distinct ones, whatever the
  size) or ``rich`` (each Arabic word of the sample drawn as one of many inflected forms: a
  prefix (و، ف، ب، ال …), a suffix (ه، ها، ات، ين …) and, further down the ranks, letters of
  an invented stem; the form's rank is drawn from a Pareto law (``RICH_ALPHA``), so that about
  two words in five stay the sample's own and the distinct forms grow with the archive as a
  newsroom's vocabulary does (Heaps' law): with segments of 1-4 KB, 25,000 distinct words at
  1,000 segments and 97,000 at 10,000, where the sample alone gives 460. Search terms, the
  analyser's memo of words and the related stories' features all follow the vocabulary).

The ``standard`` shape is exactly what ``bench/corpus.py`` makes (same files,
byte for byte, so its figures compare with earlier ones); its ranges describe
that corpus rather than steer it. The other shapes use :class:`RangedText`:
for each segment a size drawn in ``segment_bytes``, a paragraph count drawn in
``paragraphs`` (narrowed so that a paragraph stays between ``MIN_PARAGRAPH`` and
``MAX_PARAGRAPH`` bytes), paragraphs cut from a stream of the sample article's
sentences (recombined and perturbed as in ``corpus.py``, started at a random
word) at a word, ending with a full stop; every paragraph of a corpus is unique.

**The Hugo twin** gets every segment in Arabic *and* English whatever the
memory (the English is the memory's text, ``corpus.fake_english``, for the
paragraphs the memory lacks too): it builds the site as it is once translated.
With ``half`` or ``absent`` memory an ``--offline`` SSG build makes English
pages only for the segments the memory covers (``manifest["english_offline"]``),
so its cold / no-op / one-change builds do less than Hugo's; the first
translation phase (``run.py``) builds every English page, as Hugo does. Dates
in the twin are the dates the SSG derives (file name, front matter or git);
undated segments have no ``date`` (Hugo's zero date).

Usage::

    python bench/shapes.py --list
    python bench/shapes.py --shape long-flat-undated --segments 200 --out /tmp/bench/look
    python bench/shapes.py --spec bytes=300-900,paragraphs=1-2,dating=git,layout=flat,memory=half --out /tmp/bench/mine
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402  (bench/corpus.py)

from sitegen.content.terms import term_slug  # noqa: E402  (importable once corpus is: it puts the repository on the path)
from sitegen.translation.term_words import TAGS_SOURCE  # noqa: E402

SHAPES_VERSION = "4"  # bump when a shape's output changes, so cached corpora are rebuilt
DATINGS = ("filename", "front_matter", "git", "none")
MARKUPS = ("txt", "md")
LAYOUTS = ("flat", "nested", "year", "bundle")
MEMORIES = ("complete", "half", "absent")
WORDS = ("seed", "rich")
RICH_ALPHA = 0.7  # Pareto exponent of a word's form rank: lower, more distinct forms
_RICH_PREFIXES = ("", "و", "ف", "ب", "ل", "ال", "وال", "بال", "لل", "س", "ك", "فال")
_RICH_SUFFIXES = ("", "ه", "ها", "هم", "هما", "ات", "ين", "ون", "ة", "ي", "نا", "كم", "ان", "تين")
_RICH_STEM_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
_ARABIC_WORD = re.compile("[\u0621-\u064a]+")
MIN_PARAGRAPH = 120  # bytes: about a dozen Arabic words
MAX_PARAGRAPH = 2400
DATE_SPAN_DAYS = 6 * 365  # non-standard shapes spread their files over six years
AUTHORS = ("هيئة التحرير", "مراسل حمص", "مراسل حلب", "مكتب دمشق")
TAGS = ("سوريا", "حمص", "حماة", "إدلب", "حلب", "درعا", "دمشق", "لاجئون", "مجلس الأمن")
FRONT_OVERRIDE_SHARE = 0.3  # later segments of a front-matter file with their own date


@dataclass(frozen=True)
class Shape:
    name: str
    description: str
    segment_bytes: tuple[int, int]
    paragraphs: tuple[int, int]
    dating: str
    layout: str
    memory: str
    segments_per_file: tuple[int, int]
    text: str = "ranged"  # "ranged" (RangedText) or "standard" (corpus.py's generator)
    # (tags a segment, tags in all): each segment's front matter names that many tags of the
    # vocabulary and one of TERM_AUTHORS; (0, 0): none. The Hugo twin gets them as taxonomies.
    tags: tuple[int, int] = (0, 0)
    markup: str = "txt"
    words: str = "seed"

    def __post_init__(self) -> None:
        if self.dating not in DATINGS or self.layout not in LAYOUTS or self.memory not in MEMORIES or self.markup not in MARKUPS or self.words not in WORDS:
            raise ValueError(f"shape {self.name}: unknown dating, layout, memory, markup or words")
        for lo, hi in (self.segment_bytes, self.paragraphs, self.segments_per_file):
            if not 0 < lo <= hi:
                raise ValueError(f"shape {self.name}: bad range ({lo}, {hi})")
        if self.tags != (0, 0) and not 0 < self.tags[0] <= self.tags[1]:
            raise ValueError(f"shape {self.name}: bad tags {self.tags}")
        if self.text == "ranged" and self.paragraphs[0] * MIN_PARAGRAPH > self.segment_bytes[1]:
            raise ValueError(f"shape {self.name}: {self.paragraphs[0]} paragraphs do not fit in {self.segment_bytes[1]} bytes")

    def axes(self) -> str:
        kb = lambda b: f"{b / 1000:g}"  # noqa: E731
        return (
            f"segments {kb(self.segment_bytes[0])}–{kb(self.segment_bytes[1])} KB, {self.paragraphs[0]}–{self.paragraphs[1]} paragraphs, "
            f"{self.segments_per_file[0]}–{self.segments_per_file[1]} per file; dated by {self.dating.replace('_', ' ')}; "
            f"{self.layout} layout; memory {self.memory}"
            + (f"; {self.tags[0]} of {self.tags[1]} tags and one of {len(TERM_AUTHORS)} authors a segment" if self.tags[0] else "")
            + ("; Markdown, some words in bold" if self.markup == "md" else "")
            + ("; a rich vocabulary (inflected forms)" if self.words == "rich" else "")
        )


SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape("standard", "the corpus of bench/corpus.py: dated file names in year folders, complete memory",
              (1360, 2300), (1, 8), "filename", "year", "complete", (3, 3), text="standard"),
        Shape("long-flat-undated", "long segments of many paragraphs, undated, one flat folder, complete memory",
              (2000, 8000), (6, 12), "none", "flat", "complete", (3, 3)),
        Shape("short-nested-frontmatter-half", "short segments dated in front matter, year/month folders, half the memory",
              (500, 1500), (1, 3), "front_matter", "nested", "half", (1, 4)),
        Shape("mixed-git-absent", "every size, dated by git commits, year/month folders, no memory yet",
              (500, 8000), (1, 12), "git", "nested", "absent", (1, 6)),
        Shape("one-per-file-flat", "one medium segment per file, dated file names, one flat folder, complete memory",
              (1000, 4000), (2, 8), "filename", "flat", "complete", (1, 1)),
        Shape("tagged", "a newsroom's lists: five of 500 tags and an author on every segment, year folders, complete memory",
              (1000, 3000), (2, 6), "filename", "year", "complete", (1, 4), tags=(5, 500)),
        Shape("few-big-files", "an archive kept as a few big files (a file a month or a season): 100 to 500 segments a file, dated file names, year folders, complete memory",
              (1000, 4000), (2, 8), "filename", "year", "complete", (100, 500)),
        Shape("longest-nested-frontmatter", "the longest segments of the issue's range (6-8 KB, 10-12 paragraphs), dated in front matter, year/month folders, complete memory",
              (6000, 8000), (10, 12), "front_matter", "nested", "complete", (1, 3)),
        Shape("markdown-nested", "Markdown files: blank lines between paragraphs, some words in bold, dated in front matter, year/month folders, complete memory",
              (1000, 4000), (2, 8), "front_matter", "nested", "complete", (1, 3), markup="md"),
    )
}


def get_shapes(spec: str) -> list[Shape]:
    """``all`` or comma-separated names, in the order given."""
    if spec.strip() == "all":
        return list(SHAPES.values())
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in SHAPES]
    if unknown or not names:
        raise ValueError(f"unknown shape(s) {', '.join(unknown) or '(none)'}; known: {', '.join(SHAPES)}, all")
    return [SHAPES[n] for n in names]


# A shape given on the command line rather than named above: every axis as ``key=value``,
# pairs separated by commas. Our named shapes are the ones we measured ourselves; this is how
# an archive of another shape is benchmarked against Hugo without editing this file.
SPEC_KEYS = {
    "bytes": "LO-HI: UTF-8 bytes of a segment's text",
    "paragraphs": "LO-HI: paragraphs a segment",
    "dating": "|".join(DATINGS),
    "layout": "|".join(LAYOUTS),
    "memory": "|".join(MEMORIES),
    "per-file": "LO-HI: segments a file (default 1-3)",
    "markup": "|".join(MARKUPS) + " (default txt)",
    "tags": "N/VOCABULARY: N of that many tags and an author on every segment (default none)",
    "words": "|".join(WORDS) + " (default seed): the sample's own words, or many inflected forms of them",
}
_SPEC_REQUIRED = ("bytes", "paragraphs", "dating", "layout", "memory")
SPEC_EXAMPLE = "bytes=1500-6000,paragraphs=3-10,dating=none,layout=year,memory=complete,per-file=2-5,markup=md"


def shape_from_spec(spec: str) -> Shape:
    """The shape ``spec`` describes (see SPEC_KEYS), named after its axes: the same axes in
    any order give the same name, so the same cached corpus. ValueError says what is wrong."""
    values: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        key, equals, value = (part.strip() for part in pair.partition("="))
        if not equals or not value:
            raise ValueError(f"shape spec: {pair!r} is not key=value (e.g. {SPEC_EXAMPLE})")
        if key not in SPEC_KEYS:
            raise ValueError(f"shape spec: unknown key {key!r}; known: {', '.join(SPEC_KEYS)}")
        if key in values:
            raise ValueError(f"shape spec: {key} given twice")
        values[key] = value
    missing = [key for key in _SPEC_REQUIRED if key not in values]
    if missing:
        raise ValueError(f"shape spec: {', '.join(missing)} missing (e.g. {SPEC_EXAMPLE})")
    values.setdefault("per-file", "1-3")
    values.setdefault("markup", "txt")
    for key, allowed in (("dating", DATINGS), ("layout", LAYOUTS), ("memory", MEMORIES), ("markup", MARKUPS), ("words", WORDS)):
        if key in values and values[key] not in allowed:
            raise ValueError(f"shape spec: {key}={values[key]}: one of {', '.join(allowed)}")
    if values.get("words") == "seed":
        del values["words"]  # the default: the same shape, the same name as before the axis
    tags = _spec_pair(values["tags"], "tags", "/") if "tags" in values else (0, 0)
    canonical = ",".join(f"{key}={values[key]}" for key in SPEC_KEYS if key in values)
    name = "spec-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]
    axes = (_spec_pair(values["bytes"], "bytes"), _spec_pair(values["paragraphs"], "paragraphs"), values["dating"],
            values["layout"], values["memory"], _spec_pair(values["per-file"], "per-file"))
    try:
        return Shape(name, f"a shape given on the command line ({canonical})", *axes, tags=tags, markup=values["markup"], words=values.get("words", "seed"))
    except ValueError as exc:  # what Shape itself refuses (paragraphs that do not fit): said of the spec
        raise ValueError(f"shape spec: {str(exc).partition(': ')[2]}") from None


def _spec_pair(value: str, key: str, separator: str = "-") -> tuple[int, int]:
    low, found, high = value.partition(separator)
    try:
        if separator == "/" and not found:
            raise ValueError  # a vocabulary must be given: N alone reads as N of N
        pair = (int(low), int(high or low))
    except ValueError:
        raise ValueError(f"shape spec: {key}={value} is not {SPEC_KEYS[key].split(':')[0]}") from None
    if not 0 < pair[0] <= pair[1]:
        raise ValueError(f"shape spec: {key}={value}: the numbers must be positive, the first not above the second")
    return pair


# --- Arabic text within ranges -------------------------------------------------------------


class RangedText:
    """Segments of a drawn size and paragraph count; paragraphs unique across the corpus."""

    def __init__(self, sentences: list[str], seed: int, rich: bool = False):
        self.sentences = sentences
        self.rng = random.Random(seed)
        self.seen: set[str] = set()
        # Its own generator: a seed-words shape draws exactly what it drew before the axis.
        self.forms = random.Random(seed * 31337 + 7) if rich else None

    def _form(self, word: str) -> str:
        """One inflected form of an Arabic ``word`` (``words=rich``); anything else as it is."""
        if not _ARABIC_WORD.fullmatch(word):
            return word  # punctuation, digits, a word with a mark: left as the sample has it
        rank = int(self.forms.paretovariate(RICH_ALPHA))  # 1 about two times in five
        if rank == 1:
            return word
        rank -= 1
        prefix = _RICH_PREFIXES[rank % len(_RICH_PREFIXES)]
        rank //= len(_RICH_PREFIXES)
        suffix = _RICH_SUFFIXES[rank % len(_RICH_SUFFIXES)]
        rank //= len(_RICH_SUFFIXES)
        stem = ""
        while rank:
            stem += _RICH_STEM_LETTERS[rank % len(_RICH_STEM_LETTERS)]
            rank //= len(_RICH_STEM_LETTERS)
        return prefix + word + stem + suffix

    def _words(self) -> Iterator[str]:
        """Words of random, perturbed sentences, starting at a random word of the first."""
        rng = self.rng
        first = True
        while True:
            words = corpus._perturb(corpus._perturb(rng.choice(self.sentences), rng), rng).split(" ")
            if first and rng.random() < 0.5:
                words = words[rng.randrange(0, max(1, len(words) // 2)) :]
            first = False
            if self.forms is not None:
                words = [self._form(w) for w in words]
            yield from (w for w in words if w)

    def _cut(self, budget: int) -> str:
        words: list[str] = []
        size = -1
        for word in self._words():
            extra = len(word.encode("utf-8")) + 1
            if words and size + extra + 1 > budget:  # +1: room for a full stop
                break
            words.append(word)
            size += extra
        text = " ".join(words).rstrip(" ،,؛;:-–—")
        return text if text[-1] in ".!?؟»”)" else text + "."

    def paragraph(self, budget: int) -> str:
        for _ in range(200):
            text = self._cut(budget)
            key = corpus.entry_key(text, corpus.SOURCE_LANGUAGE, corpus.TARGET_LANGUAGE)
            if key not in self.seen:
                self.seen.add(key)
                return text
        raise RuntimeError(f"could not make a new paragraph of {budget} bytes; the sample has too few sentences")

    def segment(self, shape: Shape) -> list[str]:
        rng = self.rng
        total = rng.randint(*shape.segment_bytes)
        lo = max(shape.paragraphs[0], math.ceil(total / MAX_PARAGRAPH))
        hi = min(shape.paragraphs[1], total // MIN_PARAGRAPH)
        count = rng.randint(lo, hi) if lo <= hi else max(shape.paragraphs[0], min(shape.paragraphs[1], hi))
        weights = [rng.uniform(0.6, 1.4) for _ in range(count)]
        room = total - (count - 1)  # newlines between paragraphs
        budgets = [max(MIN_PARAGRAPH // 2, int(room * w / sum(weights))) for w in weights]
        paragraphs = [self.paragraph(b) for b in budgets]
        short = shape.segment_bytes[0] - len("\n".join(paragraphs).encode("utf-8"))
        if short > 0:  # words cut off at the ends: grow the longest paragraph back into range
            i = max(range(count), key=lambda j: budgets[j])
            self.seen.discard(corpus.entry_key(paragraphs[i], corpus.SOURCE_LANGUAGE, corpus.TARGET_LANGUAGE))
            paragraphs[i] = self.paragraph(budgets[i] + short + 60)
        return paragraphs


# --- articles --------------------------------------------------------------------------------


@dataclass
class ShapedArticle:
    """One source file: where it goes, its segments, their dates and front matter."""

    rel: str
    segments: list[list[str]]
    dates: list[date | None]  # the date the SSG derives for each segment (None: undated)
    file_date: date  # the file's nominal date: folder, file name, front matter or commit
    headers: list[str]  # front matter block (with its --- lines) before each segment, or ""
    terms: list[tuple[tuple[str, ...], str]] | None = None  # each segment's (tags, author), for a tagged shape
    markup: str = "txt"

    def text(self) -> str:
        between = "\n\n" if self.markup == "md" else "\n"
        return "\n===\n".join(h + between.join(p) for h, p in zip(self.headers, self.segments)) + "\n"

    def slugs(self) -> list[str]:
        return [corpus.default_slug(self.rel, n) for n in range(1, len(self.segments) + 1)]


def _standard_articles(segments: int, seed: int) -> Iterator[ShapedArticle]:
    for a in corpus.articles(segments, seed):
        yield ShapedArticle(a.rel, a.segments, [a.day] * len(a.segments), a.day, [""] * len(a.segments))


def _rel(shape: Shape, day: date, place: str, index: int) -> str:
    name = f"{place}-{index + 1:05d}.{shape.markup}"
    if shape.dating == "filename":
        name = f"{day.isoformat()}-{name}"
    folder = {"flat": "", "nested": f"{day.year}/{day.month:02d}/", "year": f"{day.year}/", "bundle": f"{day.year}/{name.rpartition('.')[0]}/"}[shape.layout]
    return folder + name


def _front_matter(shape: Shape, day: date, rng: random.Random, count: int) -> tuple[list[str], list[date | None]]:
    if shape.dating != "front_matter":
        dated = day if shape.dating in ("filename", "git") else None
        return [""] * count, [dated] * count
    tags = ", ".join(rng.sample(TAGS, 2))
    headers = [f"---\ndate: {day.isoformat()}\nauthor: {rng.choice(AUTHORS)}\ntags: [{tags}]\n---\n"]
    dates: list[date | None] = [day]
    for _ in range(1, count):
        if rng.random() < FRONT_OVERRIDE_SHARE:
            later = day + timedelta(days=rng.randint(1, 3))
            headers.append(f"---\ndate: {later.isoformat()}\n---\n")
            dates.append(later)
        else:
            headers.append("")
            dates.append(day)
    return headers, dates


TERM_AUTHORS = tuple(f"{first} {last}" for first in ("سلمى", "خالد", "رنا", "عمر", "هالة") for last in ("الحمصي", "العلي", "الشامي", "الحلبي", "الخطيب", "يوسف", "النجار", "الأحمد"))
_TAG_WORDS = ("حمص", "حماة", "إدلب", "حلب", "درعا", "دمشق", "لاجئون", "قصف", "حصار", "مظاهرة", "اقتصاد", "صحة", "تعليم", "خبز", "كهرباء", "مياه", "نزوح", "معتقلون", "إغاثة", "مفاوضات")


def tag_vocabulary(size: int) -> list[str]:
    """``size`` distinct Arabic tags: a topic, and past the twenty topics, a topic and a number."""
    return [_TAG_WORDS[n % len(_TAG_WORDS)] + (f" {n // len(_TAG_WORDS)}" if n >= len(_TAG_WORDS) else "") for n in range(size)]


def _with_terms(header: str, tags: tuple[str, ...], author: str) -> str:
    lines = f"tags: [{', '.join(tags)}]\nauthor: {author}\n"
    return header[: -len("---\n")] + lines + "---\n" if header else f"---\n{lines}---\n"


def _ranged_articles(shape: Shape, segments: int, seed: int) -> Iterator[ShapedArticle]:
    text = RangedText(corpus.load_sentences(), seed, rich=shape.words == "rich")
    layout_rng = random.Random(seed * 7919 + 1)
    terms_rng = random.Random(seed * 104729 + 3)  # its own: other shapes' corpora stay as they were
    markup_rng = random.Random(seed * 15485863 + 5)  # its own too
    vocabulary = tag_vocabulary(shape.tags[1])
    counts: list[int] = []
    while sum(counts) < segments:
        counts.append(min(layout_rng.randint(*shape.segments_per_file), segments - sum(counts)))
    for index, count in enumerate(counts):
        day = corpus.FIRST_DAY + timedelta(days=index * DATE_SPAN_DAYS // len(counts))
        place = corpus.PLACES[index % len(corpus.PLACES)]
        headers, dates = _front_matter(shape, day, layout_rng, count)
        terms = None
        if shape.tags[0]:
            terms = [(tuple(terms_rng.sample(vocabulary, shape.tags[0])), terms_rng.choice(TERM_AUTHORS)) for _ in range(count)]
            headers = [_with_terms(header, tags, author) for header, (tags, author) in zip(headers, terms)]
        segments_of = [text.segment(shape) for _ in range(count)]
        if shape.markup == "md":
            segments_of = [_with_bold(paras, markup_rng) for paras in segments_of]
        yield ShapedArticle(_rel(shape, day, place, index), segments_of, dates, day, headers, terms, shape.markup)


def _with_bold(paragraphs: list[str], rng: random.Random) -> list[str]:
    """From the third paragraph on (the first makes the title, the second is the one the
    benchmark edits), one in three gets one of its words in bold."""
    marked = list(paragraphs)
    for i in range(2, len(marked)):
        words = marked[i].split(" ")
        if rng.random() < 1 / 3 and len(words) > 2:
            w = rng.randrange(1, len(words) - 1)
            words[w] = f"**{words[w]}**"
            marked[i] = " ".join(words)
    return marked


def unit_text(paragraph: str) -> str:
    """What the SSG sends for translation of a paragraph of the corpus: its text without the markup."""
    return paragraph.replace("**", "")


def shaped_articles(shape: Shape, segments: int, seed: int = 20120224) -> Iterator[ShapedArticle]:
    if shape.text == "standard":
        return _standard_articles(segments, seed)
    return _ranged_articles(shape, segments, seed)


# --- writing the corpus ----------------------------------------------------------------------

SITE_YML = "# Benchmark corpus: {segments} segments of shape {shape} generated by bench/shapes.py (do not edit).\n" + corpus.SITE_SETTINGS
OFFLINE_TRANSLATION = corpus.OFFLINE_TRANSLATION


def site_yml(shape: Shape, segments: int, per_page: int, translation: str = OFFLINE_TRANSLATION) -> str:
    return SITE_YML.format(segments=segments, shape=shape.name, per_page=per_page) + translation


def libre_translation(url: str, concurrency: int = 4) -> str:
    return f"translation:\n  enabled: true\n  target: en\n  provider: libre\n  url: {json.dumps(url)}\n  concurrency: {concurrency}\n  timeout: 30\n"


def remembered(shape: Shape, segment_index: int) -> bool:
    """Whether the memory holds this segment (``segment_index`` counts over the whole corpus)."""
    return shape.memory == "complete" or (shape.memory == "half" and segment_index % 2 == 0)


def hugo_page(title: str, day: date | None, slug: str, paragraphs: list[str], tags: Sequence[str] = (), authors: Sequence[str] = ()) -> str:
    """A post of the Hugo twin; its tags and authors, when it has any, as Hugo taxonomies."""
    if day is not None:
        head = corpus.hugo_front_matter(title, day, slug)
    else:
        head = f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\nslug: {json.dumps(slug)}\ntranslationKey: {json.dumps(slug)}\n---\n\n"
    terms = "".join(f"{name}: {json.dumps(list(values), ensure_ascii=False)}\n" for name, values in (("tags", tags), ("authors", authors)) if values)
    if terms:
        head = head[: -len("---\n\n")] + terms + "---\n\n"
    return head + "\n\n".join(paragraphs) + "\n"


def english_term(term: str) -> str:
    """A tag's or author's English in the memory (and the Hugo twin's English pages)."""
    return corpus.memory_entry(term, "")["translation"]


class _Writer:
    """Files under one root, creating each folder once."""

    def __init__(self) -> None:
        self.made: set[Path] = set()

    def put(self, path: Path, text: str) -> None:
        if path.parent not in self.made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(path.parent)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)


def _write_article(article: ShapedArticle, shape: Shape, first_segment: int, ssg: Path, posts: Path, out: _Writer, stats: dict) -> None:
    text = article.text()
    out.put(ssg / "content" / article.rel, text)
    stats["files"] += 1
    stats["source_bytes"] += len(text.encode("utf-8"))
    entries: list[dict] = []
    for s, paras in enumerate(article.segments, start=1):
        all_entries = [corpus.memory_entry(unit_text(p), f"{s}.{n}") for n, p in enumerate(paras, start=1)]
        size = len("\n".join(map(unit_text, paras)).encode("utf-8"))
        stats["segment_bytes"] = [min(stats["segment_bytes"][0], size), max(stats["segment_bytes"][1], size)]
        stats["segment_paragraphs"] = [min(stats["segment_paragraphs"][0], len(paras)), max(stats["segment_paragraphs"][1], len(paras))]
        stats["paragraphs"] += len(paras)
        stats["dated_segments"] += article.dates[s - 1] is not None
        if remembered(shape, first_segment + s - 1):
            entries += all_entries
            stats["english_offline"] += 1
        slug = corpus.default_slug(article.rel, s)
        english = [e["translation"] for e in all_entries]
        day = article.dates[s - 1]
        tags, author = article.terms[s - 1] if article.terms else ((), None)
        authors = (author,) if author else ()
        out.put(posts / f"{slug}.ar.md", hugo_page(corpus.derive_title(paras[0]), day, slug, paras, tags, authors))
        out.put(posts / f"{slug}.en.md", hugo_page(corpus.derive_title(english[0]), day, slug, english,
                                                   tuple(map(english_term, tags)), tuple(map(english_term, authors))))
    if entries:
        out.put(corpus.memory_path(ssg, article.rel), corpus.dump_yaml(corpus.memory_document(article.rel, entries)))
        stats["memory_entries"] += len(entries)


def make_git_repo(content: Path, files: list[tuple[str, date]]) -> str:
    """Make ``content`` a git repository with one commit per file, in order, dated by its date.

    One ``git fast-import`` stream (a commit per file costs milliseconds, not a process
    each); commits carry fixed names and dates, so the history is deterministic. Returns HEAD.
    """
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(content)], check=True, env=env)
    stream = bytearray()
    for i, (rel, day) in enumerate(files):
        data = (content / rel).read_bytes()
        stamp = int(datetime(day.year, day.month, day.day, 9, 0, tzinfo=timezone.utc).timestamp()) + i % 3600
        message = f"Add {rel}\n".encode()
        who = f"Bench Newsroom <bench@example.org> {stamp} +0000\n".encode()
        stream += b"blob\nmark :%d\ndata %d\n" % (2 * i + 1, len(data)) + data + b"\n"
        stream += b"commit refs/heads/main\nmark :%d\nauthor " % (2 * i + 2) + who + b"committer " + who
        stream += b"data %d\n" % len(message) + message + (b"from :%d\n" % (2 * i) if i else b"")
        stream += b"M 100644 :%d %s\n\n" % (2 * i + 1, rel.encode())
    subprocess.run(["git", "-C", str(content), "fast-import", "--quiet"], input=bytes(stream), check=True, env=env)
    subprocess.run(["git", "-C", str(content), "reset", "-q"], check=True, env=env)
    return subprocess.run(["git", "-C", str(content), "rev-parse", "HEAD"], check=True, env=env, capture_output=True, text=True).stdout.strip()


def generate(root: Path, shape: Shape, segments: int, per_page: int = corpus.DEFAULT_PER_PAGE, seed: int = 20120224) -> dict:
    """Write the shape's corpus under ``root`` (replacing it): ``ssg/``, ``hugo/`` and
    ``manifest.json`` (written last: its presence means the corpus is complete). Returns the manifest."""
    if segments < 1:
        raise ValueError("segments must be at least 1")
    if root.exists():
        shutil.rmtree(root)
    ssg, hugo = root / "ssg", root / "hugo"
    corpus.write_text(ssg / "site.yml", site_yml(shape, segments, per_page))
    corpus.write_hugo_site(hugo, segments, per_page)
    posts = hugo / "content" / "posts"
    (ssg / "content").mkdir(parents=True, exist_ok=True)
    out = _Writer()
    stats = {"files": 0, "paragraphs": 0, "source_bytes": 0, "memory_entries": 0, "english_offline": 0, "dated_segments": 0,
             "segment_bytes": [10**9, 0], "segment_paragraphs": [10**9, 0]}
    done = 0
    committed: list[tuple[str, date]] = []
    tags_used: set[str] = set()
    for article in shaped_articles(shape, segments, seed):
        _write_article(article, shape, done, ssg, posts, out, stats)
        done += len(article.segments)
        committed.append((article.rel, article.file_date))
        tags_used.update(tag for tags, _ in article.terms or () for tag in tags)
    if shape.tags[0]:
        with_taxonomies(ssg, hugo, sorted(tags_used), shape.memory == "complete")
    head = make_git_repo(ssg / "content", committed) if shape.dating == "git" else None
    manifest = {
        "generator_version": f"{corpus.GENERATOR_VERSION}.{SHAPES_VERSION}",
        "shape": asdict(shape),
        "segments": done,
        **stats,
        "git_head": head,
        "per_page": per_page,
        "seed": seed,
        "seed_article": str(corpus.SEED_ARTICLE),
    }
    corpus.write_text(root / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


# The Hugo twin of a tagged shape makes what the SSG makes of tags: a page per tag and per
# author (paginated), their indexes, and related pages on every page (by tags, then date).
HUGO_TAXONOMIES = """
[taxonomies]
  tag = "tags"
  author = "authors"

[related]
  includeNewer = true
  threshold = 1
  toLower = false
  [[related.indices]]
    name = "tags"
    weight = 100
  [[related.indices]]
    name = "date"
    weight = 10
"""
HUGO_RELATED = """<nav class="related">{{ with .Site.RegularPages.Related . | first 5 }}<h2>Related</h2><ul>{{ range . }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time>{{ .Date.Format "2006-01-02" }}</time></li>{{ end }}</ul>{{ end }}</nav>
{{ end }}
"""


def with_taxonomies(ssg: Path, hugo: Path, tags: list[str], memory: bool) -> None:
    """Taxonomies and related pages for the Hugo twin; the tags' English names in the SSG's memory."""
    config = (hugo / "hugo.toml").read_text(encoding="utf-8")
    config = config.replace('disableKinds = ["taxonomy", "term", "section"]', 'disableKinds = ["section"]')
    # Top-level keys must come before the first table: the taxonomies go at the end.
    corpus.write_text(hugo / "hugo.toml", config + HUGO_TAXONOMIES)
    single = hugo / "layouts" / "_default" / "single.html"
    text = single.read_text(encoding="utf-8")
    corpus.write_text(single, text[: text.rindex("{{ end }}")] + HUGO_RELATED)
    if memory:
        entries = [corpus.memory_entry(tag, f"tag {term_slug(tag)}") for tag in tags]
        corpus.write_text(corpus.memory_path(ssg, TAGS_SOURCE), corpus.dump_yaml(corpus.memory_document(TAGS_SOURCE, entries)))


def cached(root: Path, shape: Shape, segments: int, per_page: int = corpus.DEFAULT_PER_PAGE) -> dict:
    """The manifest of a complete corpus of this shape and size at ``root``, generating it if needed."""
    try:
        manifest = json.loads((root / "manifest.json").read_text())
        if (
            manifest.get("generator_version") == f"{corpus.GENERATOR_VERSION}.{SHAPES_VERSION}"
            and manifest.get("shape") == json.loads(json.dumps(asdict(shape)))
            and manifest.get("segments") == segments
            and manifest.get("per_page") == per_page
        ):
            return manifest
    except (OSError, ValueError):
        pass
    return generate(root, shape, segments, per_page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the shapes and their axes")
    parser.add_argument("--shape", default="standard", choices=sorted(SHAPES))
    parser.add_argument("--spec", metavar="KEY=VALUE,…", help=f"a shape of your own instead of --shape (e.g. {SPEC_EXAMPLE}; keys: {', '.join(SPEC_KEYS)})")
    parser.add_argument("--segments", type=int, default=200)
    parser.add_argument("--out", type=Path, help="folder to write (replaced)")
    parser.add_argument("--per-page", type=int, default=corpus.DEFAULT_PER_PAGE)
    parser.add_argument("--seed", type=int, default=20120224)
    args = parser.parse_args(argv)
    if args.list:
        for shape in SHAPES.values():
            print(f"{shape.name}: {shape.axes()}")
        return 0
    if args.out is None:
        parser.error("--out is required (or --list)")
    try:
        shape = shape_from_spec(args.spec) if args.spec else SHAPES[args.shape]
    except ValueError as exc:
        parser.error(str(exc))
    print(json.dumps(generate(args.out, shape, args.segments, args.per_page, args.seed), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
