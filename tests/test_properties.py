"""Properties over generated input (hypothesis), beyond the ones next to each module.

test_segments.py already shows that splitting keeps every line but the separators, and
test_metadata.py that slug_problem() refuses whatever leaves ``ar/``. Here the same
promises are checked further along: on the rendered blocks, on slugs as front matter and
file names really produce them, on whole built pages, and on the memory file.
"""

from __future__ import annotations

import datetime
import json
import re
import tempfile
from functools import lru_cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.content.markup import render_body
from sitegen.content.segment import build_segments
from sitegen.content.sources import decode_source
from sitegen.core import urls
from sitegen.translation.memory import (
    Memory,
    MemoryEntry,
    entry_key,
    load_memory,
    save_memory,
)
from sitegen.translation.translator import FakeTranslator, fake_english
from tests.safety import Baseline, page_problems, site_problems
from tests.sitekit import build, write_site

# The README's rules, written out here: "lines made only of three or more = (spaces around them
# allowed, and the invisible bidi marks an RTL editor leaves there; a line of such marks alone is
# a blank line)".
_MARKS = set("\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff")


def _blank(char: str) -> bool:
    return char.isspace() or char in _MARKS


def is_blank_line(line: str) -> bool:
    return all(_blank(char) for char in line)


def is_separator_line(line: str) -> bool:
    start, end = 0, len(line)
    while start < end and _blank(line[start]):
        start += 1
    while end > start and _blank(line[end - 1]):
        end -= 1
    return end - start >= 3 and set(line[start:end]) == {"="}


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def segments(text: str, name: str):
    source, problems = decode_source(text.encode("utf-8"), Path("/content") / name, name)
    assert source is not None, problems
    return build_segments(source, None)


# -- splitting: nothing lost but separators, and no separator on a page ---------------------------

_text_line = st.lists(st.sampled_from(["ا", "ب", "حمص", " ", "\t", "=", "==", "===", "<", "&", "x", "«", "\u200f", "«=»", "\u200b", "\u2003"]), max_size=6).map("".join)
_line = st.one_of(_text_line, st.sampled_from(["===", "  ====  ", "\t===", "=====", "==", "", "   "]))


@FAST
@given(st.lists(_line, min_size=1, max_size=30))
def test_txt_pages_keep_every_character_of_every_line_but_separators(lines):
    (found, _problems) = segments("\n".join(lines), "a.txt")
    shown = [unit for segment in found for block in segment.blocks for unit in block.units]
    assert shown == [line for line in lines if not is_blank_line(line) and not is_separator_line(line)]
    assert not any(is_separator_line(unit) for unit in shown)


# '=' only in separator lines: then any '===' a page shows outside code came from one of them.
_md_line = st.one_of(
    st.lists(st.sampled_from(["ا", "ب", "نص", " ", "x", "*", "_", "`", "«", "»", "1.", "<b>", "</b>"]), max_size=6).map("".join),
    st.sampled_from(["===", " ==== ", "\t===", "=====", "```", "~~~", "    code", "> ا", "- ا", "", "  "]),
)


@FAST
@given(st.lists(_md_line, min_size=1, max_size=30))
def test_no_separator_line_reaches_a_markdown_page_outside_code(lines):
    found, _problems = segments("\n".join(lines), "a.md")
    for segment in found:
        for block in segment.blocks:
            assert block.tag not in ("h1", "h2"), f"a separator became a setext heading: {block.html!r}"
            outside_code = re.sub(r"<pre>.*?</pre>", "", block.html, flags=re.S)  # a separator in fenced code is code
            assert "===" not in outside_code, block.html


# -- slugs: whatever front matter or a file name makes of them stays in the output folder --------

_slug_piece = st.one_of(st.sampled_from(["..", "/", "\\", ".", "-", " ", "ح", "x", "\x00", "\t", "%2e", "~", "#", "?", "\u202e", ":"]), st.characters(codec="utf-8", exclude_categories=("Cs",)))
_slug = st.lists(_slug_piece, max_size=10).map("".join)
_name = st.lists(st.sampled_from(["..", ".", "-", " ", "ح", "x", "#", "%", "2012-01-01-", "_", "ا"]), min_size=1, max_size=6).map("".join)


def _inside(out: Path, rel: str) -> bool:
    target = (out / rel).resolve()
    return target.is_relative_to(out.resolve()) and target.parent != out.resolve() and len(target.name.encode()) <= 255


@FAST
@given(_slug, st.integers(min_value=1, max_value=3), st.sampled_from(["file", "segment"]), _name)
def test_a_slug_from_front_matter_or_a_file_name_never_leaves_the_output_folder(tmp_path_factory, slug, parts, level, name):
    out = tmp_path_factory.getbasetemp() / "out"
    quoted = json.dumps(slug, ensure_ascii=False)  # a YAML double-quoted scalar, escapes and all
    bodies = [f"الجزء {n}." for n in range(1, parts + 1)]
    if level == "file":  # a file-level slug is numbered per segment when there are several
        text = f"---\nslug: {quoted}\n---\n" + "\n===\n".join(bodies)
    else:
        text = "\n===\n".join(f"---\nslug: {quoted}\n---\n{body}" for body in bodies)
    for source_text, file_name in ((text, "a.txt"), ("\n===\n".join(bodies), f"{name}.txt")):
        found, _problems = segments(source_text, file_name)
        for segment in found:  # accepted: every page of it lies in its folder of the output
            for page in (urls.segment_page(segment.slug, "ar"), urls.companion_page(segment.slug, "en"), urls.parallel_page(segment.slug)):
                assert _inside(out, page), (segment.slug, page)


# -- nothing generated runs: random HTML-ish content, whole built pages ---------------------------

FRAGMENTS = [
    "<script>alert(1)</script>", "<script", "</script>", "<img src=x onerror=alert(1)>", "<svg/onload=alert(1)>", "<svg><script>x</script></svg>",
    "<a href='javascript:alert(1)'>ب</a>", "<a href=\"jav&#x09;ascript:alert(1)\">ب</a>", "javascript:", "data:text/html,", "[ر](javascript:alert(1))",
    "<iframe src=x>", "<object data=x>", "<embed src=x>", "<style>*{}</style>", "<form action=javascript:x><button formaction=javascript:y>",
    "<base href=//evil/>", "<meta http-equiv=refresh content='0;url=javascript:x'>", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "<!--", "-->", "<![CDATA[", "]]>", "<p onclick=x>", "<div style=x>",
    "<textarea>", "<title>", "</title>", "<xmp>", "<plaintext>", "<template>", "&lt;script&gt;", "&#60;script&#62;", "`", "```", "\n\n", "\n", " ",
    "<", ">", "\"", "'", "=", "on", "onerror=", "حمص", "نص عربي", "*", "[", "](", ")", "\u2028", "\x0b", "===",
]
_fragment_text = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=25).map("".join)
# Without separators, for whole pages: a segment of markup alone is refused (no page), and the
# property is about what a page shows.
_page_text = st.lists(st.sampled_from([f for f in FRAGMENTS if f != "==="]), min_size=1, max_size=25).map("".join)


@FAST
@given(_fragment_text)
def test_no_markdown_or_text_block_carries_a_script_or_an_event_handler(text):
    for kind in ("md", "txt"):
        rendered = "".join(block.html for block in render_body(text, kind, 1))
        baseline = Baseline(tags=set(), scripts=set(), styles=set())
        assert page_problems(rendered, baseline) == [], (kind, rendered)


class HostileTranslator:
    """A service answering with markup: its reply must be shown as text."""

    provider = "hostile"

    def translate(self, text: str) -> str:
        return f"{fake_english(text)} <script>alert(1)</script><img src=x onerror=alert(2)> {text}"


CONFIG = {"base_url": "https://example.org/news/", "translation": {"enabled": True}}


@lru_cache(maxsize=1)
def _baseline() -> Baseline:
    files = {  # every kind of page and every optional part of one, so that every theme element is seen
        "content/2012-02-24-a.md": "---\ntitle: عنوان\nauthor: كاتب\ntags: [حمص]\nsummary: ملخص\n---\nنص *مهم* و[رابط](x.html).\n\n- أ\n===\nنص آخر.",
        "content/2012-02-25-b.txt": "سطر.\nسطر ثان.",
    }
    site = write_site(Path(tempfile.mkdtemp(prefix="baseline-")), files, CONFIG)
    assert build(site, translator_factory=FakeTranslator).written
    return Baseline.of_site(site / "_site")


@SLOW
@given(_page_text, _page_text, st.lists(st.sampled_from(FRAGMENTS[:12] + ["عنوان", " "]), min_size=1, max_size=6))
def test_no_generated_content_yields_a_script_or_event_handler_in_a_built_page(markdown, text, title_bits):
    title = json.dumps("".join(title_bits).strip() or "عنوان", ensure_ascii=False)
    files = {
        "content/2012-02-24-a.md": f"---\ntitle: {title}\nauthor: {title}\ntags: [{title}]\nsummary: {title}\n---\nمقدمة.\n\n{markdown}\n===\nتتمة.\n\n{markdown}\n\nخاتمة.",
        "content/2012-02-25-b.txt": f"سطر.\n{text}",
    }
    with tempfile.TemporaryDirectory() as folder:
        site = write_site(Path(folder), files, CONFIG)
        result = build(site, translator_factory=HostileTranslator)
        assert result.written, result.problems
        assert site_problems(site / "_site", _baseline()) == []


# -- the memory round-trips any text -------------------------------------------------------------

_any_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_some_text = _any_text.filter(lambda s: s.strip())
_entry = st.tuples(_some_text, _some_text, _some_text, _any_text, st.booleans(), st.booleans(), _any_text, _any_text)


@FAST
@given(st.lists(_entry, max_size=6), _some_text)
def test_memory_round_trips_any_text(raw_entries, source_file):
    entries = tuple(
        MemoryEntry(entry_key(source, "ar", "en"), source, translation, provider, day, reviewed, at, stale, note)
        for source, translation, provider, day, reviewed, stale, at, note in raw_entries
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.en.yml"
        save_memory(Memory(path, source_file, "ar", "en", entries))
        loaded, problems = load_memory(path, source_file, "ar", "en")
    assert problems == []
    assert loaded is not None and loaded.entries == entries


@st.composite
def _archives(draw):
    """Articles as the site orders them (newest first by their newest segment), with dated,
    undated and untranslated segments, and many on the same days."""
    import datetime

    from sitegen.pages.listing import Listing, ListingFields, order_articles

    listings = []
    for number in range(draw(st.integers(0, 60))):
        rel = f"a{number:02d}.txt"
        for segment in range(1, draw(st.integers(1, 4)) + 1):
            day = draw(st.one_of(st.none(), st.integers(0, 12).map(lambda d: datetime.date(2012, 2, 1) + datetime.timedelta(days=d))))
            english = f"en {rel} {segment}" if draw(st.booleans()) else None
            listings.append(ListingFields(rel, segment, 1, f"{rel}-{segment}", f"t {rel}", day, "", english_title=english, english_excerpt=None).listing())
    return order_articles(listings)


@FAST
@given(articles=_archives(), seed=st.randoms(use_true_random=False), empty=st.lists(st.text("abz.", min_size=1, max_size=4), max_size=3))
def test_files_ordered_as_their_segments_are(articles, seed, empty):
    # The site view orders the files' records (their listings already together and in
    # order), not every listing sorted and grouped again: the same articles in the same
    # order, whatever order the files come in, files without segments left out.
    from sitegen.pages.listing import order_articles, order_files

    files = [(article.source_rel, article.segments) for article in articles] + [(f"empty-{name}", ()) for name in empty]
    seed.shuffle(files)
    every = [listing for article in articles for listing in article.segments]
    seed.shuffle(every)
    assert order_files(files) == order_articles(every) == articles


@FAST
@given(articles=_archives(), english=st.booleans())
def test_a_feed_holds_the_newest_dated_segments_of_its_edition(articles, english):
    # The feed stops reading articles early: it must choose as a full scan of them all does.
    import heapq

    from sitegen.outputs.feeds import FEED_SIZE, feed_listings

    every = [listing for article in articles for listing in article.segments]
    candidates = [(-s.date.toordinal(), order, s) for order, s in enumerate(every) if s.date is not None and (not english or s.english_title is not None)]
    expected = [s for *_, s in heapq.nsmallest(FEED_SIZE, candidates, key=lambda c: c[:2])]
    assert feed_listings(articles, english) == expected


@FAST
@given(articles=_archives(), english=st.booleans(), seed=st.randoms(use_true_random=False))
def test_a_term_feed_chooses_as_a_full_scan_does(articles, english, seed):
    # A term's listings come in one run, nearly newest first (its first thirty are then
    # taken without sorting the rest) or in any order of dates: its feed (newest_listings)
    # must hold what a scan of them all keeps, and what feed_listings keeps of one article.
    import heapq

    from sitegen.outputs.feeds import FEED_SIZE, feed_listings, newest_listings
    from sitegen.pages.listing import Article

    in_order = [listing for article in articles for listing in article.segments]  # the site's order
    shuffled = seed.sample(in_order, len(in_order))
    for every in (in_order, shuffled):
        candidates = [(-s.date.toordinal(), order, s) for order, s in enumerate(every) if s.date is not None and (not english or s.english_title is not None)]
        expected = [s for *_, s in heapq.nsmallest(FEED_SIZE, candidates, key=lambda c: c[:2])]
        edition = [s for s in every if not english or s.in_english]  # a term's listings in that edition
        assert newest_listings(edition) == expected
        if every:
            assert feed_listings([Article("term", tuple(every))], english) == expected


def test_a_term_feed_takes_its_first_thirty_only_when_none_after_them_is_newer():
    import datetime

    from sitegen.outputs.feeds import FEED_SIZE, newest_listings
    from sitegen.pages.listing import Listing, ListingFields

    def story(n: int, day: int | None) -> Listing:
        return ListingFields(f"f{n:03d}.txt", 1, 1, f"s{n}", "t", None if day is None else datetime.date(2012, 1, 1) + datetime.timedelta(days=day), "", english_title=None, english_excerpt=None).listing()

    # Newest first, with ties on every day and undated ones among them: the first thirty dated.
    term = [story(n, None if n % 7 == 0 else 200 - n // 3) for n in range(100)]
    assert newest_listings(term) == [s for s in term if s.date is not None][:FEED_SIZE]
    # A story after the thirtieth is newer than some of them: it is in the feed, in its place.
    late = story(999, 195)
    chosen = newest_listings([*term, late])
    assert late in chosen and len(chosen) == FEED_SIZE
    assert chosen == sorted([s for s in [*term, late] if s.date is not None], key=lambda s: s.date, reverse=True)[:FEED_SIZE]


TERM_SPELLINGS = ["حمص", "حمـص", "حِمص", "HOMS", "homs", "Homs ", "a/b", "a b", "!!", "رأي", ""]


@FAST
@given(st.lists(st.tuples(st.lists(st.sampled_from(TERM_SPELLINGS), max_size=4), st.sampled_from([None, "حمص", "رأي", "homs"]),
                          st.booleans()), max_size=25),
       st.sampled_from(["tags", "authors", "sections"]), st.booleans())
def test_terms_are_collected_as_a_plain_count_would(segments, taxonomy, english):
    """Every listing once under each term it names, however many spellings of it it gives;
    a term named by its most used spelling (counted once a listing); terms in slug order."""
    from datetime import date

    from sitegen.content.terms import most_used, term_slug
    from sitegen.pages.lists import collect_terms
    from sitegen.pages.listing import Listing, ListingFields
    from sitegen.pages.listing import Article

    listings = [ListingFields(f"{n}.txt", 1, 1, f"s{n}", "t", date(2012, 1, 1), "e", "T" if has_english else None, None, tags=tuple(terms),
                        authors=tuple(reversed(terms)), section=section).listing() for n, (terms, section, has_english) in enumerate(segments)]
    expected: dict[str, tuple[list, dict]] = {}
    for listing in listings:
        if english and listing.english_title is None:
            continue
        named = {"tags": listing.tags, "authors": listing.authors, "sections": (listing.section,) if listing.section else ()}[taxonomy]
        slugs_here: list[str] = []
        for term in named:
            slug = term_slug(term)
            if slug and slug not in slugs_here:
                slugs_here.append(slug)
                found, counts = expected.setdefault(slug, ([], {}))
                found.append(listing)
                counts[term] = counts.get(term, 0) + 1
    got = collect_terms([Article(listing.source_rel, (listing,)) for listing in listings], taxonomy, english)
    assert [(t.slug, t.name, t.listings) for t in got] == [(slug, most_used(expected[slug][1]), tuple(expected[slug][0])) for slug in sorted(expected)]


def _term_listings(segments):
    from datetime import date

    from sitegen.pages.listing import Listing, ListingFields
    from sitegen.pages.listing import Article

    listings = [ListingFields(f"{n}.txt", 1, 1, f"s{n}", "t", date(2012, 1, 1) if n % 3 else None, "e", "T" if has_english else None, None, tags=tuple(terms),
                        authors=tuple(reversed(terms)), section=section).listing() for n, (terms, section, has_english) in enumerate(segments)]
    return [Article(listing.source_rel, (listing,)) for listing in listings]


_TERM_SEGMENTS = st.lists(st.tuples(st.lists(st.sampled_from(TERM_SPELLINGS), max_size=4), st.sampled_from([None, "حمص", "رأي", "homs", "!!"]),
                                    st.booleans()), max_size=25)


@FAST
@given(_TERM_SEGMENTS, st.sets(st.tuples(st.sampled_from(["tags", "authors", "sections"]), st.sampled_from(["حمص", "homs", "a-b", "رأي", "غائب"]))))
def test_some_terms_are_collected_as_the_whole_collection_holds_them(segments, wanted):
    """Collecting only some terms (a one-change build's pages of a changed story) gives each
    as collecting every term does: its listings, in order, and its most used spelling."""
    from sitegen.pages.lists import collect_all_terms

    articles = _term_listings(segments)
    every = collect_all_terms(articles)
    some = collect_all_terms(articles, wanted)
    assert some == {key: [term for term in terms if (term.taxonomy, term.slug) in wanted] for key, terms in every.items()}


def test_many_terms_wanted_are_collected_in_one_pass(monkeypatch):
    """An edit of every story wants every term: collected in one pass over the listings,
    not one a term (which grows as terms times listings)."""
    import sitegen.pages.lists as lists

    articles = _term_listings([([f"وسم{n}", f"tag {n % 7}"], f"قسم{n % 3}", bool(n % 2)) for n in range(40)])
    every = lists.collect_all_terms(articles)
    wanted = {(term.taxonomy, term.slug) for terms in every.values() for term in terms}
    assert len(wanted) > lists.SOME_TERMS_AT_MOST
    monkeypatch.setattr(lists, "_collect_some", lambda *_: (_ for _ in ()).throw(AssertionError("a pass for each term")))
    assert lists.collect_all_terms(articles, wanted) == every
    few = set(sorted(wanted)[:3])
    monkeypatch.undo()
    assert lists.collect_all_terms(articles, few) == {key: [t for t in terms if (t.taxonomy, t.slug) in few] for key, terms in every.items()}


@FAST
@given(_TERM_SEGMENTS)
def test_an_index_links_the_lists_its_edition_has(segments):
    """The front index page's links, found from each edition's days and distinct spellings,
    are the lists the whole collections hold: the archive if a segment is dated, each
    taxonomy with a term."""
    from sitegen.pages.lists import TAXONOMIES, both_editions_months, browsable_lists, collect_all_terms

    articles = _term_listings(segments)
    terms, months = collect_all_terms(articles), both_editions_months(articles)
    expected = {english: (("archive",) if months[english] else ()) + tuple(t for t in TAXONOMIES if terms[t, english]) for english in (False, True)}
    assert browsable_lists(articles) == expected


_PATH_PART = st.sampled_from(["ar", "en", "parallel", "tags", "حمص", "a b", "x%y", "page-2.html", "index.html", "2011-03.html"])
_OUTPUT_PATH = st.lists(_PATH_PART, min_size=1, max_size=4).map("/".join)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("aZ09/-._~ %?#&حé\u00a0"), max_size=12))
def test_a_link_target_is_encoded_as_quote_encodes_it(path):
    """The links' encoding (an ASCII path taken as it is) is urllib's quote, whatever the path."""
    from urllib.parse import quote

    assert urls._encode(path) == quote(path, safe="/-._~")


@settings(max_examples=500, deadline=None)
@given(_OUTPUT_PATH, _OUTPUT_PATH, st.one_of(st.none(), st.sampled_from(["p-2", "top"])))
def test_a_relative_link_leads_from_its_page_to_its_target_whatever_was_linked_before(from_page, to_path, anchor):
    # Links are remembered by the page's folder: the same answer however often, and in any order.
    import posixpath
    from urllib.parse import unquote

    url = urls.relative_url(from_page, to_path, anchor)
    link, _, fragment = url.partition("#")
    assert fragment == (anchor or "")
    assert posixpath.normpath(posixpath.join(posixpath.dirname(from_page), unquote(link))) == posixpath.normpath(to_path)
    assert " " not in url and "%" not in unquote(link).replace("x%y", "")
    assert urls.relative_url(from_page, to_path, anchor) == url


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("azAZ09/._~-%+ ?#&=:;,@!'()*[]حمصé\u200f\n")), max_size=16))
def test_an_absolute_url_quotes_its_path_as_quote_does(path):
    # The fast path for paths with nothing to quote must give what quote() gives, whatever the path.
    from urllib.parse import quote

    assert urls.absolute_url("https://example.org/", path) == "https://example.org/" + quote(path, safe="/-._~")


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aZ09-_.Σσςİıß\u0301\u0308e\u0065\u1100\u1161\u11a8가ﬁÅÅحمص\u064b/")), max_size=8), max_size=12))
def test_collision_keys_made_together_are_those_made_one_by_one(slugs):
    # Joined before folding, the keys must be what slug_collision_key gives each slug: case,
    # normal form and composition never reach across the separator.
    from sitegen.content.metadata import slug_collision_key, slug_collision_keys

    assert slug_collision_keys(slugs) == [slug_collision_key(slug) for slug in slugs]


# Spellings of a few terms: case, tatweel, a slash or a space. (A tag with nothing to name a
# page by is an error of its segment, which is then not built: test_newsroom.py.)
TAG_SPELLINGS = ("Homs", "HOMS", "homs", "حمص", "حمـص", "siege", "Siege", "a/b", "a b")


def _spellings_one_segment_at_a_time(tag_lists) -> dict[str, str]:
    """The rule written out: each segment counts each term (slug) once, in its first spelling;
    the spelling shown is the most counted, ties broken by code point order."""
    from collections import Counter

    from sitegen.content.terms import term_slug

    counts: dict[str, Counter] = {}
    for tags in tag_lists:
        seen = set()
        for tag in tags:
            slug = term_slug(tag)
            if slug and slug not in seen:
                seen.add(slug)
                counts.setdefault(slug, Counter())[tag] += 1
    return {slug: min(found.items(), key=lambda item: (-item[1], item[0]))[0] for slug, found in sorted(counts.items())}


@FAST
@given(st.lists(st.lists(st.sampled_from(TAG_SPELLINGS), max_size=6), min_size=1, max_size=10))
def test_the_spelling_a_tag_is_shown_in_is_counted_once_a_segment_as_written(written):
    """Tags as front matter writes them (repeats and several spellings of one term in one
    segment included), read by the segment stage, then counted for the whole site."""
    from sitegen.translation.term_words import tag_spellings

    text = "\n\n===\n\n".join("---\ntags: [" + ", ".join(json.dumps(t, ensure_ascii=False) for t in tags) + "]\n---\nنص.\n" for tags in written)
    source, problems = decode_source(text.encode("utf-8"), Path("content/a.md"), "a.md")
    assert source is not None, problems
    segments, _ = build_segments(source, None)
    tag_lists = [segment.tags for segment in segments]
    assert len(tag_lists) == len(written)
    assert tag_spellings(tag_lists) == _spellings_one_segment_at_a_time(tag_lists)
    assert tag_spellings(tag_lists) == _spellings_one_segment_at_a_time(written)


@FAST
@given(st.lists(st.tuples(st.sampled_from(TAG_SPELLINGS), st.sampled_from(["Homs", "Siege", "A-B"])), max_size=4),
       st.sampled_from(TAG_SPELLINGS), st.booleans())
def test_a_term_is_shown_by_the_name_site_yml_gives_any_of_its_spellings(names, term, english):
    """A tag on a page of the English edition: the name written for a spelling with its slug
    (any spelling finds it), else the term as written; never renamed on Arabic pages. The
    names are looked up by slug once a planner (tag_units too), the rule is stated here."""
    from sitegen.config import SiteConfig, TranslationConfig
    from sitegen.content.terms import term_slug
    from sitegen.pages.planner import SitePlanner
    from sitegen.translation.term_words import tag_units

    table = tuple(sorted(dict(names).items()))
    config = SiteConfig("t", Path("."), Path("site.yml"), Path("content"), Path("_site"), taxonomies=(("tags", table),) if table else (),
                        translation=TranslationConfig(enabled=True))
    written = {term_slug(spelling): name for spelling, name in table}
    expected = written.get(term_slug(term)) if english else None
    assert SitePlanner(config).term_label("tags", term, english)["text"] == (expected or term)
    assert [unit.text for unit in tag_units(config, {term_slug(term): term})] == ([] if term_slug(term) in written else [term])


# A listing's place, and what may change in it: its edition, its review, or where it stands.
PLACE_CHANGES = {
    "english_title": lambda listing: None if listing.english_title else "Title",
    "english_reviewed": lambda listing: not listing.english_reviewed,
    "tags": lambda listing: (*listing.tags, "جديد"),
    "date": lambda listing: None if listing.date else datetime.date(2013, 5, 1),
    "number": lambda listing: listing.number + 1,
    "section": lambda listing: "أخرى",
}


@FAST
@given(st.sets(st.sampled_from(sorted(PLACE_CHANGES))), st.booleans(), st.booleans(), st.booleans())
def test_a_listing_says_whether_it_came_into_the_english_edition_or_only_moved_there(changes, english, reviewed, dated):
    """edition_change, from a listing's place before: True when whether it is in English
    changed (its review with it or not), False when only its review did, None when anything
    else of its place changed (the lists it stands in). Its texts never count."""
    from sitegen.pages.listing import Listing, ListingFields, edition_change

    before = ListingFields("a.txt", 1, 2, "a-1", "t", datetime.date(2012, 1, 1) if dated else None, "e", "T" if english else None, None,
                     english_reviewed=reviewed, tags=("حمص",)).listing()
    after = before.replaced(title="عنوان آخر", excerpt="نص آخر", **{name: PLACE_CHANGES[name](before) for name in changes})
    moved = changes - {"english_title", "english_reviewed"}
    expected = None if moved else "english_title" in changes
    assert edition_change(after, before.place) is expected
    assert edition_change(before, before.place) is False  # a place that stands: nothing moved


_PAIR_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=6)


@FAST
@given(st.lists(st.tuples(_PAIR_TEXT, _PAIR_TEXT), max_size=6), st.lists(st.tuples(_PAIR_TEXT, _PAIR_TEXT), max_size=6))
def test_the_hash_of_pairs_given_as_two_columns_tells_any_two_lists_of_pairs_apart(first, second):
    """hash_columns keys site.zip and the search index by every (path, digest): the same
    pairs give the same key, and any other list of pairs (a name or value changed, a pair
    added or moved, text shifted between a name and its value) another."""
    from sitegen.core.hashing import hash_columns

    def key(pairs):
        return hash_columns([name for name, _ in pairs], (value for _, value in pairs))

    assert key(first) == key(list(first))
    assert (key(first) == key(second)) is (first == second)


_A_TEXT = st.none() | st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@FAST
@given(st.tuples(_A_TEXT, _A_TEXT, _A_TEXT, _A_TEXT))
def test_a_listings_texts_packed_in_one_bytes_object_read_back_as_they_were(texts):
    """A listing holds its four texts as one bytes object (pages/listing.pack_texts): any
    texts, None or empty among them and NUL within them, read back the same, and a packing
    cut short at a separator is told apart from one that fits."""
    from sitegen.pages.listing import pack_texts, packed_texts_fit, unpack_texts

    packed = pack_texts(texts)
    assert packed_texts_fit(packed)
    assert unpack_texts(packed) == list(texts)
    assert not packed_texts_fit(packed.rpartition(b"\xff")[0])


@FAST
@given(st.tuples(_A_TEXT, _A_TEXT, _A_TEXT, _A_TEXT), st.booleans(), st.integers(0, 3))
def test_a_listing_keyed_read_back_and_pickled_is_the_listing_made(texts, dated, tags):
    """A listing is a tuple now: its digest is still the hash of every field in the
    constructor's order, its place that of every field but its texts, and one rebuilt from
    what it holds (as the cache and the workers rebuild it) is equal, hashes equal, and gives
    the same texts once decoded."""
    import pickle

    from sitegen.core.hashing import value_digest
    from sitegen.pages.listing import LISTING_FIELDS, PLACE_FIELDS, Listing, ListingFields

    title, excerpt, english_title, english_excerpt = texts
    fields = {"source_rel": "2012/حمص.txt", "number": 2, "count": 3, "slug": "homs-2", "title": title or "", "date": datetime.date(2012, 2, 24) if dated else None,
              "excerpt": excerpt or "", "english_title": english_title, "english_excerpt": english_excerpt, "english_reviewed": dated,
              "tags": ("حمص", "بابا عمرو", "x")[:tags], "authors": ("مراسل",), "section": "أخبار" if tags else None}
    listing = ListingFields(**fields).listing()
    assert listing.digest == value_digest(tuple(fields[name] for name in LISTING_FIELDS))
    assert listing.place == value_digest((*(fields[name] for name in PLACE_FIELDS), english_title is not None))
    assert listing.in_english is (english_title is not None)
    for again in (Listing(tuple(listing)), pickle.loads(pickle.dumps(listing, protocol=5))):
        assert type(again) is Listing and again == listing and hash(again) == hash(listing)
        assert [getattr(again, name) for name in LISTING_FIELDS] == [fields[name] for name in LISTING_FIELDS]
    assert listing.replaced(number=5) == ListingFields(**{**fields, "number": 5}).listing()
