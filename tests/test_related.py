"""Related stories: which segments a page lists, and that incremental builds give a full build's bytes."""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sitegen.content.sources
import sitegen.pipeline.engine
import sitegen.pipeline.files
import sitegen.pipeline.finishing
from sitegen.pages.listing import Listing, ListingFields
from sitegen.pages.listing import Article
from sitegen.pages.related import NEIGHBOURS, SHOWN, rank_changed, rank_related, ranking_as_it_stands, related_features
from sitegen.translation.translator import FakeTranslator
from tests.sitekit import build, tree_bytes, write_site

# -- the rule ------------------------------------------------------------------------------------------


def _listing(rel: str, number: int, day: int | None, tags=(), section=None, english=True) -> Listing:
    when = date(2012, 1, 1) + timedelta(days=day) if day is not None else None
    return ListingFields(rel, number, 1, f"{rel}-{number}", f"title {rel} {number}", when, "", english_title=f"en {rel}" if english else None, english_excerpt=None, tags=tuple(tags), section=section).listing()


def _articles(listings: list[Listing]) -> list[Article]:
    ordered = sorted(listings, key=lambda s: (s.date is None, -(s.date.toordinal()) if s.date else 0, s.source_rel, s.number))
    articles: list[Article] = []
    for listing in ordered:
        if articles and articles[-1].source_rel == listing.source_rel:
            articles[-1] = Article(listing.source_rel, articles[-1].segments + (listing,))
        else:
            articles.append(Article(listing.source_rel, (listing,)))
    return articles


def test_segments_sharing_more_rank_first_and_the_own_article_never_appears():
    listings = [
        _listing("a", 1, 10, tags=["حمص", "قصف"], section="homs"),
        _listing("a", 2, 10, tags=["حمص", "قصف"], section="homs"),  # same article: never related to a-1
        _listing("b", 1, 9, tags=["حمص", "قصف"], section="homs"),  # shares two tags and the section
        _listing("c", 1, 11, tags=["حمص"], section="other"),  # one tag
        _listing("d", 1, 8, section="homs"),  # the section only
        _listing("e", 1, 12, tags=["اقتصاد"], section="other"),  # nothing with a-1
    ]
    related = rank_related(_articles(listings), {}).related
    shown = [s.source_rel for s in related.shown(("a", 1), english=False)]
    assert shown == ["b", "c", "d"]
    assert [s.source_rel for s in related.shown(("e", 1), english=False)] == ["c"]  # the section "other"


def test_spellings_of_one_tag_are_one_feature_and_words_relate_untagged_segments():
    listings = [
        _listing("a", 1, 1, tags=["حِمص"]),
        _listing("b", 1, 2, tags=["حمص"]),
        _listing("c", 1, 3),
        _listing("d", 1, 4),
        _listing("e", 1, 5),
    ]
    words = {("c", 1): ("سراقب", "بلد"), ("d", 1): ("سراقب",), ("e", 1): ("حلب",)}
    related = rank_related(_articles(listings), words).related
    assert [s.source_rel for s in related.shown(("a", 1), False)] == ["b"]
    assert [s.source_rel for s in related.shown(("c", 1), False)] == ["d"]
    assert related.shown(("e", 1), False) == ()


def test_the_english_edition_lists_only_stories_with_an_english_page():
    listings = [_listing(f"f{n}", 1, n, tags=["حمص"], english=n % 2 == 0) for n in range(12)]
    related = rank_related(_articles(listings), {}).related
    arabic = related.shown(("f5", 1), False)
    english = related.shown(("f5", 1), True)
    assert len(arabic) == SHOWN and any(s.english_title is None for s in arabic)
    assert english and all(s.english_title is not None for s in english)


def test_ties_are_broken_by_nearness_then_order_so_the_choice_is_the_same_every_time():
    listings = [_listing(f"f{n:02d}", 1, n, tags=["حمص"]) for n in range(20)]
    first = rank_related(_articles(listings), {}).related
    again = rank_related(_articles(list(reversed(listings))), {}).related
    assert first.ranked == again.ranked
    # f10's nearest in time are f09 and f11, then f08 and f12.
    assert [s.source_rel for s in first.shown(("f10", 1), False)][:4] in (["f11", "f09", "f12", "f08"], ["f09", "f11", "f08", "f12"])


def test_a_tag_on_thousands_of_segments_costs_each_only_its_neighbours():
    # Linear: each segment scores at most NEIGHBOURS on each side of it in the tag's list,
    # so a tag on every segment gives each a bounded number of candidates.
    listings = [_listing(f"f{n:05d}", 1, n, tags=["سوريا"]) for n in range(3000)]
    related = rank_related(_articles(listings), {}).related
    assert all(len(found) <= 2 * NEIGHBOURS for found in related.ranked.values())
    # An article of hundreds of segments sharing the tag: each of them still finds the stories
    # on either side of the article, without looking through its own segments.
    big = [_listing("before", 1, 4, tags=["سوريا"])] + [_listing("big", n, 5, tags=["سوريا"]) for n in range(1, 400)] + [_listing("after", 1, 6, tags=["سوريا"])]
    related = rank_related(_articles(big), {}).related
    assert all(set(related.ranked[("big", n)]) == {("before", 1), ("after", 1)} for n in range(1, 400))


def _vocabulary(rng: random.Random) -> tuple[list[str], list[str]]:
    """Tags and keywords for a random archive: few or many."""
    return [f"وسم{n}" for n in range(rng.choice([3, 12, 60]))], [f"كلمة{n}" for n in range(rng.choice([5, 40]))]


def _add_article(rng: random.Random, archive: tuple[list, dict], name: str, day: int, vocabulary: tuple[list[str], list[str]], most: tuple[int, int]) -> None:
    """A random article of up to ``most`` (segments, tags a segment) into ``archive`` (listings, keywords)."""
    (listings, keywords), (tags, words), (segments, tags_each) = archive, vocabulary, most
    for number in range(1, rng.randint(1, segments) + 1):
        listings.append(_listing(name, number, day, tags=rng.sample(tags, rng.randint(0, min(tags_each, len(tags)))), section=rng.choice([None, "homs", "idlib"])))
        keywords[(name, number)] = tuple(rng.sample(words, rng.randint(0, 4)))


@pytest.mark.parametrize("seed", range(12))
def test_ranking_again_from_the_previous_ranking_equals_ranking_everything(seed):
    # Random archives (articles of 1-6 segments, few or many tags, keywords shared or not)
    # changed at random: tags added, removed, renamed; keywords changed; a feature's last or
    # second member leaving; many segments at once. The reuse must never change the answer.
    rng = random.Random(seed)
    tags, words = _vocabulary(rng)
    listings, keywords = [], {}
    for file in range(rng.randint(20, 160)):
        _add_article(rng, (listings, keywords), f"f{file:03d}", rng.randint(0, 400), (tags, words), (6, 5))
    articles = _articles(listings)
    previous = rank_related(articles, keywords)
    assert previous.reranked is None  # nothing to start from: everything ranked
    for _ in range(4):
        changed = dict(keywords)
        edited = list(listings)
        for _ in range(rng.choice([1, 1, 2, 5, 30])):
            index = rng.randrange(len(edited))
            listing = edited[index]
            if rng.random() < 0.5:
                edited[index] = listing.replaced(tags=tuple(rng.sample(tags, rng.randint(0, min(5, len(tags))))), section=rng.choice([listing.section, None, "homs"]))
            else:
                changed[(listing.source_rel, listing.number)] = tuple(rng.sample(words, rng.randint(0, 4)))
        articles, keywords = _articles(edited), changed
        again = rank_related(articles, keywords, previous.ranking)
        full = rank_related(articles, keywords)
        assert again.reranked is not None and len(again.reranked) < len(edited) or len(edited) < 60
        assert again.related.ranked == full.related.ranked
        assert again.ranking == full.ranking
        listings, previous = edited, again


def _shared_and_alone(monkeypatch, articles, keywords):
    """rank_related of ``articles``, shared with a forked child from two segments on, and
    ranked in this process alone; and how many children were asked to rank."""
    import sitegen.pages.related as related

    forked = []

    class Counted(related.ForkedWork):
        def __init__(self, work):
            forked.append(work)
            super().__init__(work)

    monkeypatch.setattr(related, "ForkedWork", Counted)
    monkeypatch.setattr(related, "_SHARED_FROM", 2)
    shared = rank_related(articles, keywords)
    monkeypatch.setattr(related, "_SHARED_FROM", 10**9)
    alone = rank_related(articles, keywords)
    return shared, alone, len(forked)


@pytest.mark.parametrize("seed", range(10))
def test_a_ranking_shared_with_a_forked_child_equals_one_made_here(seed, monkeypatch):
    # The later half of the positions ranked by a child, from an article's edge: random
    # archives, some with one article of hundreds of segments (the edge far from the middle)
    # or of every segment (no edge: nothing shared).
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng)
    listings, keywords = [], {}
    for file in range(rng.randint(2, 120)):
        longest = rng.choice([6, 6, 400]) if file != 3 else 6
        _add_article(rng, (listings, keywords), f"f{file:03d}", rng.randint(0, 400), vocabulary, (longest, 5))
    if seed == 0:
        listings = [listing for listing in listings if listing.source_rel == listings[0].source_rel]
    shared, alone, forked = _shared_and_alone(monkeypatch, _articles(listings), keywords)
    assert shared.ranking == alone.ranking and shared.related.ranked == alone.related.ranked
    assert forked == (0 if seed == 0 else 1)


def test_an_archive_past_the_threshold_is_ranked_the_same_shared(monkeypatch):
    import sitegen.pages.related as related

    rng = random.Random(7)
    vocabulary = _vocabulary(rng)
    listings, keywords = [], {}
    while len(listings) < related._SHARED_FROM + 200:
        _add_article(rng, (listings, keywords), f"f{len(listings):05d}", rng.randint(0, 3000), vocabulary, (4, 5))
    articles = _articles(listings)
    shared = rank_related(articles, keywords)
    monkeypatch.setattr(related, "_SHARED_FROM", 10**9)
    assert shared.ranking == rank_related(articles, keywords).ranking


def test_the_halves_meet_at_an_articles_edge():
    from sitegen.pages.related import _article_edge

    assert _article_edge(["a", "a", "b", "b", "b", "c"], 3) == 5
    assert _article_edge(["a", "a", "b", "b", "b", "c"], 2) == 2
    assert _article_edge(["a", "a", "b", "b", "b", "b"], 3) == 0  # none after: not shared
    assert _article_edge(["a"] * 9, 4) == 0
    assert _article_edge(["a", "b"], 0) == 1


@pytest.mark.parametrize("seed", range(12))
def test_new_stories_newer_than_all_rank_again_only_what_they_reach(seed):
    # A newsroom's day: new articles, newer than every story, sometimes with edits of older
    # ones in the same build. Every position shifts; the reuse must still give a full
    # ranking's answer, and rank again far fewer than all.
    rng = random.Random(seed)
    tags, words = _vocabulary(rng)
    listings, keywords = [], {}

    def add_file(name: str, day: int) -> None:
        _add_article(rng, (listings, keywords), name, day, (tags, words), (4, 4))

    for file in range(rng.randint(60, 200)):
        add_file(f"f{file:03d}", rng.randint(0, 400))
    previous = rank_related(_articles(listings), keywords)
    newest = 400
    for round_ in range(4):
        for new in range(rng.choice([1, 1, 2, 5])):
            newest += rng.choice([0, 1, 1, 3]) if new else 1  # a new day's first story is newer than all
            add_file(f"new{round_}-{new}", newest)
        if rng.random() < 0.5:  # an older story edited in the same build
            index = rng.randrange(len(listings))
            listings[index] = listings[index].replaced(tags=tuple(rng.sample(tags, rng.randint(0, min(4, len(tags))))))
        articles = _articles(listings)
        again = rank_related(articles, keywords, previous.ranking)
        full = rank_related(articles, keywords)
        assert again.reranked is not None  # reused: the new stories come before all the others
        assert again.related.ranked == full.related.ranked
        assert again.ranking == full.ranking
        previous = again


def test_a_new_story_ranks_again_only_the_stories_near_it_in_its_features():
    listings = [_listing(f"f{n:02d}", 1, n, tags=[f"وسم{n % 40}", f"وسم{n * 7 % 40}"]) for n in range(100)]
    first = rank_related(_articles(listings), {})
    new = _listing("new", 1, 200, tags=["وسم5"])
    again = rank_related(_articles([*listings, new]), {}, first.ranking)
    assert again.related.ranked == rank_related(_articles([*listings, new]), {}).related.ranked
    # The new story and the few members of its tag's list nearest to it (the newest first).
    assert again.reranked is not None and 1 < len(again.reranked) <= 1 + 2 * (NEIGHBOURS + 1)


def test_a_new_story_among_older_ones_ranks_everything_again():
    listings = [_listing(f"f{n:02d}", 1, n * 2, tags=["حمص"]) for n in range(10)]
    first = rank_related(_articles(listings), {})
    backdated = rank_related(_articles([*listings, _listing("old", 1, 5, tags=["حمص"])]), {}, first.ranking)
    assert backdated.reranked is None  # the positions after it moved apart from those before
    assert backdated.related.ranked == rank_related(_articles([*listings, _listing("old", 1, 5, tags=["حمص"])]), {}).related.ranked


def test_a_ranking_of_other_segments_or_another_order_is_not_reused():
    listings = [_listing(f"f{n:02d}", 1, n, tags=["حمص"]) for n in range(10)]
    first = rank_related(_articles(listings), {})
    moved = [listings[0].replaced(date=date(2013, 1, 1))] + listings[1:]  # f00 is now the newest
    assert rank_related(_articles(moved), {}, first.ranking).reranked is None
    assert rank_related(_articles(listings[1:]), {}, first.ranking).reranked is None
    assert rank_related(_articles(listings), {}, first.ranking).reranked == frozenset()


def _features_of(listings: list[Listing], keywords: dict, rels: set[str]) -> dict:
    """The features of the segments of ``rels`` (files made again), as the file stage makes them."""
    return {(listing.source_rel, listing.number): related_features(listing, keywords.get((listing.source_rel, listing.number), ()))
            for listing in listings if listing.source_rel in rels}


@pytest.mark.parametrize("seed", range(16))
def test_ranking_only_the_files_made_again_equals_ranking_everything(seed):
    # rank_changed: the site's order as it was (after any new stories newer than all), the
    # features of a few files' segments changed (tags added, removed, renamed, a section moved,
    # keywords changed; a feature's last member leaving, a feature new to the site, a feature's
    # weight moving, with the number of segments too); files made again with their features
    # unchanged among them. Each ranking starts from the one before it, so the members it keeps
    # are the ones the previous rank_changed packed. Never another answer.
    rng = random.Random(seed)
    tags, words = _vocabulary(rng)
    listings, keywords = [], {}
    for file in range(rng.randint(20, 160)):
        _add_article(rng, (listings, keywords), f"f{file:03d}", rng.randint(0, 400), (tags, words), (6, 5))
    articles = _articles(listings)
    previous = rank_related(articles, keywords)
    fresh = iter(range(10**6))
    newest = 400
    for round_ in range(6):
        edited, changed, made_again = list(listings), dict(keywords), set()
        if rng.random() < 0.4:  # stories newer than all (a newsroom's day): every kept position moves
            for new in range(rng.choice([1, 1, 3])):
                newest += rng.choice([0, 1]) if new else 1
                _add_article(rng, (edited, changed), f"new{round_}-{new}", newest, (tags, words), (3, 4))
                made_again.add(f"new{round_}-{new}")
        for _ in range(rng.choice([1, 1, 2, 5, 30])):
            index = rng.randrange(len(edited))
            listing = edited[index]
            made_again.add(listing.source_rel)
            roll = rng.random()
            if roll < 0.4:
                edited[index] = listing.replaced(tags=tuple(rng.sample(tags, rng.randint(0, min(5, len(tags))))), section=rng.choice([listing.section, None, "homs"]))
            elif roll < 0.5:
                edited[index] = listing.replaced(tags=(f"جديد{next(fresh)}",))  # a tag no segment had
            else:
                changed[(listing.source_rel, listing.number)] = tuple(rng.sample(words, rng.randint(0, 4)))
        made_again.update(rng.sample(sorted({listing.source_rel for listing in edited}), 3))  # made again, features as they were
        articles, keywords = _articles(edited), changed
        again = rank_changed(articles, previous.ranking, _features_of(edited, keywords, made_again))
        full = rank_related(articles, keywords)
        assert again is not None and (again.reranked is not None or again.ranking is previous.ranking)
        assert again.related.ranked == full.related.ranked
        assert again.ranking == full.ranking  # the members it keeps too, byte for byte
        listings, previous = edited, again


def test_ranking_only_the_files_made_again_lists_no_features_members(monkeypatch):
    # Every segment's features and each feature's members come from the previous ranking:
    # at 50,000 segments listing them all (_all_members) was 0.1 s of an edit's build.
    import sitegen.pages.related as related

    listings = [_listing(f"f{n:02d}", 1, n, tags=[f"وسم{n % 3}"], section=("homs", "idlib")[n % 2]) for n in range(40)]
    keywords = {(listing.source_rel, 1): ("حمص",) for listing in listings}
    previous = rank_related(_articles(listings), keywords)
    monkeypatch.setattr(related, "_all_members", lambda features: pytest.fail("every feature's members listed"))
    rekeyed = dict(keywords) | {("f07", 1): ("إدلب",)}
    again = rank_changed(_articles(listings), previous.ranking, _features_of(listings, rekeyed, {"f07"}))
    assert again is not None and 0 < len(again.reranked) < len(listings)
    monkeypatch.undo()
    assert again.ranking == rank_related(_articles(listings), rekeyed).ranking


def test_ranking_only_the_files_made_again_starts_from_a_ranking_of_these_segments_in_this_order_only():
    listings = [_listing(f"f{n:02d}", 1, n, tags=[f"وسم{n % 4}"], section="homs") for n in range(12)]
    keywords: dict = {}
    first = rank_related(_articles(listings), keywords).ranking
    features = _features_of(listings, keywords, {"f03"})
    assert rank_changed(_articles(listings), first, features) is not None
    moved = [listings[0].replaced(date=date(2013, 1, 1)), *listings[1:]]  # f00 now the newest
    assert rank_changed(_articles(moved), first, _features_of(moved, keywords, {"f00"})) is None
    assert rank_changed(_articles(listings[1:]), first, features) is None  # a segment fewer
    assert rank_changed(_articles([*listings, _listing("f05b", 1, 5)]), first, features) is None  # one more among the others
    newest = [*listings, _listing("f99", 1, 99, tags=["وسم1"])]  # one more, newer than all: every position moves by one
    again = rank_changed(_articles(newest), first, _features_of(newest, keywords, {"f99"}))
    assert again is not None and again.ranking == rank_related(_articles(newest), keywords).ranking
    assert rank_changed(_articles([*listings, _listing("f03", 2, 3)]), first, features) is None  # a file's segment more
    assert rank_changed(_articles(listings), first, {("gone", 1): "thoms"}) is None  # a segment the site lacks


def test_ranking_only_the_files_made_again_never_uses_members_that_do_not_fit():
    # Kept by an earlier layout (none), damaged or planted: ranked by rank_related instead.
    listings = [_listing(f"f{n:02d}", 1, n, tags=[f"وسم{n % 3}"], section=("homs", "idlib")[n % 2]) for n in range(10)]
    ranking = rank_related(_articles(listings), {}).ranking
    features = {**_features_of(listings, {}, {"f02"}), ("f02", 1): "tوسم0"}
    names = ranking.feature_names.split("\x1e")
    ends = list(struct.unpack(f"={len(names)}I", ranking.member_ends))
    damaged = [
        replace(ranking, feature_names="", members=b"", member_ends=b""),  # an earlier layout's
        replace(ranking, feature_names="\x1e".join(reversed(names))),  # not sorted
        replace(ranking, members=ranking.members[:-4] + struct.pack("=I", 10)),  # a member past the segments
        replace(ranking, members=ranking.members[:-4], member_ends=struct.pack(f"={len(ends)}I", *ends[:-1], ends[-1] - 1)),  # a member short
        replace(ranking, member_ends=struct.pack(f"={len(ends)}I", ends[1], ends[0], *ends[2:])),  # ends going back
        replace(ranking, member_ends=ranking.member_ends[:-4]),  # an end short
        replace(ranking, members=ranking.members + b"\0"),  # not packed positions
        replace(ranking, feature_names=None),  # not text
    ]
    for previous in damaged:
        assert rank_changed(_articles(listings), previous, features) is None, previous
    assert rank_changed(_articles(listings), ranking, features) is not None


@pytest.mark.parametrize("seed", range(8))
def test_members_planted_to_pass_the_checks_rank_afresh_or_rank_never_fail(seed):
    # Every feature keeps as many members as before, sorted and among the segments, but not
    # the right ones: rank_changed must not fail (the caller then ranks with rank_related),
    # whatever it reads of them.
    rng = random.Random(seed)
    listings = [_listing(f"f{n:02d}", 1, n, tags=rng.sample(["أ", "ب", "ج", "د"], rng.randint(1, 3)), section=rng.choice(["homs", "idlib"])) for n in range(30)]
    ranking = rank_related(_articles(listings), {}).ranking
    names = ranking.feature_names.split("\x1e")
    ends = struct.unpack(f"={len(names)}I", ranking.member_ends)
    planted = b"".join(struct.pack(f"={end - start}I", *sorted(rng.sample(range(30), end - start))) for start, end in zip((0, *ends), ends))
    edited = list(listings)
    for index in rng.sample(range(30), 4):
        edited[index] = edited[index].replaced(tags=tuple(rng.sample(["أ", "ب", "ج", "هـ"], rng.randint(0, 3))))
    made_again = {edited[index].source_rel for index in range(30) if edited[index] is not listings[index]}
    again = rank_changed(_articles(edited), replace(ranking, members=planted), _features_of(edited, {}, made_again))
    # (Not raising is the point.) What it ranks, if anything, is segments of the site.
    assert again is None or all(0 <= other < 30 for position in range(30) for other in again.related.others(position))


# -- whole builds --------------------------------------------------------------------------------------

CONFIG = {"translation": {"enabled": True}, "per_page": 3, "base_url": "https://example.org/news/"}


def _article(tags: list[str], text: str, author: str = "سلمى") -> str:
    return f"---\ntags: [{', '.join(tags)}]\nauthor: {author}\n---\n{text}\n"


NEWSROOM = {
    "content/homs/2012-02-04-baba-amr.txt": _article(["حمص", "قصف"], "قصف عنيف على حي بابا عمرو في حمص.\n===\nاستمرار القصف على بابا عمرو لليوم الثاني."),
    "content/homs/2012-02-10-khalidiya.txt": _article(["حمص"], "مظاهرة في حي الخالدية في حمص."),
    "content/homs/2012-03-01-exodus.txt": _article(["حمص", "نزوح"], "نزوح العائلات من حمص إلى القرى."),
    "content/idlib/2012-03-05-saraqib.txt": _article(["إدلب", "قصف"], "قصف على سراقب في ريف إدلب."),
    "content/idlib/2012-04-01-market.txt": _article(["إدلب"], "سوق سراقب يعود إلى العمل."),
    "content/2013-01-01-economy.txt": "أسعار الخبز ترتفع في دمشق.\n",
}


def _related(site: Path, path: str) -> list[str]:
    html = (site / "_site" / path).read_text(encoding="utf-8")
    found = re.findall(r'<nav class="related".*?</nav>', html, re.S)
    assert len(found) <= 1
    return re.findall(r'<li><a href="([^"]+)"', found[0]) if found else []


def _cold(site: Path, tmp_path: Path, **options) -> dict[str, bytes]:
    twin = tmp_path / "twin"
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(site, twin, ignore=shutil.ignore_patterns("_site", ".cache", "._site*"))
    assert build(twin, offline=True, **options).written
    return tree_bytes(twin / "_site")


def _touch(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 10_000_000
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def newsroom(tmp_path: Path) -> Path:
    site = write_site(tmp_path / "site", dict(NEWSROOM), CONFIG)
    assert build(site, translator_factory=FakeTranslator).written
    return site


def test_pages_list_stories_of_other_articles_that_exist_in_their_edition(newsroom: Path):
    links = _related(newsroom, "ar/homs-2012-02-04-baba-amr-1.html")
    assert 1 <= len(links) <= SHOWN
    assert "homs-2012-02-04-baba-amr-2.html" not in links  # its own article: the neighbours link it
    assert links[0] in ("idlib-2012-03-05-saraqib-1.html", "homs-2012-02-10-khalidiya-1.html", "homs-2012-03-01-exodus-1.html")
    for path in ["ar/homs-2012-02-04-baba-amr-1.html", "en/homs-2012-02-04-baba-amr-1.html", "ar/idlib-2012-04-01-market-1.html"]:
        folder = (newsroom / "_site" / path).parent
        for link in _related(newsroom, path):
            assert (folder / link).is_file(), (path, link)
    english = (newsroom / "_site" / "en" / "homs-2012-02-04-baba-amr-1.html").read_text(encoding="utf-8")
    assert "Related stories" in english and "<!--sitegen" not in english
    assert "قصص ذات صلة" in (newsroom / "_site" / "ar" / "homs-2012-02-04-baba-amr-1.html").read_text(encoding="utf-8")
    # The parallel view has none: it is a reading aid for one text.
    assert 'class="related"' not in (newsroom / "_site" / "parallel" / "homs-2012-02-04-baba-amr-1.html").read_text(encoding="utf-8")


def test_changing_one_articles_tags_patches_the_pages_that_list_it_and_equals_a_full_build(newsroom: Path, tmp_path: Path, monkeypatch):
    source = newsroom / "content" / "2013-01-01-economy.txt"
    before = _related(newsroom, "ar/idlib-2012-04-01-market-1.html")
    _touch(source, _article(["إدلب", "اقتصاد"], "أسعار الخبز ترتفع في دمشق."))
    read = []
    real = sitegen.pipeline.files.read_source_bytes
    monkeypatch.setattr(sitegen.pipeline.files, "read_source_bytes", lambda path: read.append(path.name) or real(path))
    result = build(newsroom, offline=True)
    assert result.written and read == ["2013-01-01-economy.txt"]  # only the changed file is read
    after = _related(newsroom, "ar/idlib-2012-04-01-market-1.html")
    assert "2013-01-01-economy-1.html" in after and after != before
    assert tree_bytes(newsroom / "_site") == _cold(newsroom, tmp_path)


def test_a_retitled_story_is_retitled_on_every_page_listing_it(newsroom: Path, tmp_path: Path):
    _touch(newsroom / "content" / "idlib" / "2012-03-05-saraqib.txt", _article(["إدلب", "قصف"], "غارة جوية على سراقب في ريف إدلب."))
    assert build(newsroom, offline=True).written
    listing = [p for p in (newsroom / "_site" / "ar").glob("*.html") if "idlib-2012-03-05-saraqib-1.html" in _related(newsroom, f"ar/{p.name}")]
    assert listing, "some page lists the story"
    for page in listing:
        assert "غارة جوية" in page.read_text(encoding="utf-8")
    assert tree_bytes(newsroom / "_site") == _cold(newsroom, tmp_path)


def test_adding_and_removing_an_article_equals_a_full_build(newsroom: Path, tmp_path: Path):
    added = newsroom / "content" / "homs" / "2012-02-05-inshaat.txt"
    _touch(added, _article(["حمص", "قصف"], "قصف على حي الإنشاءات في حمص."))
    assert build(newsroom, offline=True).written
    assert "homs-2012-02-05-inshaat-1.html" in _related(newsroom, "ar/homs-2012-02-04-baba-amr-1.html")
    assert tree_bytes(newsroom / "_site") == _cold(newsroom, tmp_path)
    added.unlink()
    assert build(newsroom, offline=True).written
    assert "homs-2012-02-05-inshaat-1.html" not in _related(newsroom, "ar/homs-2012-02-04-baba-amr-1.html")
    assert tree_bytes(newsroom / "_site") == _cold(newsroom, tmp_path)


def test_a_new_story_newer_than_all_finishes_only_the_pages_it_reaches(newsroom: Path, tmp_path: Path, monkeypatch):
    """A newsroom's day: a story newer than every other is ranked with the previous ranking
    reused (every position shifted by one), so only the pages whose related stories it can
    change are finished again; the site is a full build's."""
    _touch(newsroom / "content" / "homs" / "2014-06-01-today.txt", _article(["حمص", "قصف"], "قصف جديد على حي بابا عمرو في حمص."))
    finished: list[list[str]] = []
    real = sitegen.pipeline.finishing._files_to_finish
    monkeypatch.setattr(sitegen.pipeline.finishing, "_files_to_finish", lambda files, wanted: finished.append(real(files, wanted)) or finished[-1])
    assert build(newsroom, offline=True).written
    every = [p for p in (newsroom / "content").rglob("*.txt")]
    assert finished and "homs/2014-06-01-today.txt" in finished[0] and len(finished[0]) < len(every)
    assert any("homs-2014-06-01-today-1.html" in _related(newsroom, f"ar/{p.name}") for p in (newsroom / "_site" / "ar").glob("*.html"))
    assert tree_bytes(newsroom / "_site") == _cold(newsroom, tmp_path)


def test_an_edit_that_keeps_every_segments_place_and_features_keeps_the_ranking_without_ranking(newsroom: Path, tmp_path: Path, monkeypatch):
    # A paragraph's punctuation changed: the file is made again, its segments keep their
    # numbers, dates and features, so the previous ranking stands without ranking (told from
    # that file alone). A date moved (the article's place in the site's order) is ranked by
    # rank_related; a new tag, every place as it was, by rank_changed from the previous
    # ranking and that file's features alone. Each build equals a full one.
    ranked: list[tuple[str, bool]] = []

    def watched(name: str):
        real = getattr(sitegen.pipeline.finishing, name)
        return lambda *args, **kwargs: ranked.append((name, (found := real(*args, **kwargs)) is not None)) or found

    for name in ("rank_related", "rank_changed"):
        monkeypatch.setattr(sitegen.pipeline.finishing, name, watched(name))
    source = newsroom / "content" / "idlib" / "2012-04-01-market.txt"
    _touch(source, _article(["إدلب"], "سوق سراقب يعود إلى العمل!"))
    result = build(newsroom, offline=True)
    assert result.written and result.rebuilt_files == 1 and ranked == []
    assert tree_bytes(newsroom / "_site") == _cold(newsroom, tmp_path)  # (a full build ranks)
    expected = {"date: 2011-06-01\ntags: [إدلب]": [("rank_changed", False), ("rank_related", True)],  # now the oldest
                "date: 2011-06-01\ntags: [إدلب, حمص]": [("rank_changed", True)]}  # then a tag more
    for front_matter, calls in expected.items():
        _touch(source, f"---\n{front_matter}\nauthor: سلمى\n---\nسوق سراقب يعود إلى العمل!\n")
        ranked.clear()
        assert build(newsroom, offline=True).written and ranked == calls
        assert tree_bytes(newsroom / "_site") == _cold(newsroom, tmp_path)


def test_a_live_page_changed_by_hand_is_not_patched_blindly(newsroom: Path, tmp_path: Path):
    # Its record no longer describes it: the cache is not trusted and the site is made again.
    page = newsroom / "_site" / "ar" / "idlib-2012-04-01-market-1.html"
    page.write_text(page.read_text(encoding="utf-8").replace("قصص ذات صلة", "عبث يدوي"), encoding="utf-8")
    _touch(newsroom / "content" / "2013-01-01-economy.txt", _article(["إدلب"], "أسعار الخبز ترتفع في إدلب."))
    assert build(newsroom, offline=True).written
    assert "عبث يدوي" not in page.read_text(encoding="utf-8")
    assert tree_bytes(newsroom / "_site") == _cold(newsroom, tmp_path)


def test_the_marker_written_in_an_article_is_text_not_a_slot(tmp_path: Path):
    hostile = "نص <!--sitegen:related--> فيه العلامة.\n"
    site = write_site(tmp_path / "site", {**NEWSROOM, "content/2012-05-01-x.txt": hostile, "content/2012-05-02-y.md": f"# عنوان\n\n{hostile}"}, CONFIG)
    assert build(site, offline=True).written
    for name in ("2012-05-01-x-1.html", "2012-05-02-y-1.html"):
        html = (site / "_site" / "ar" / name).read_text(encoding="utf-8")
        assert "<!--sitegen:related-->" not in html
        assert "&lt;!--sitegen:related--&gt;" in html
        assert html.count('<nav class="related"') <= 1
        body, _, tail = html.partition('<nav class="neighbours"')
        assert 'class="related"' not in body  # after the article and its neighbours, never inside the text


def test_workers_give_the_same_site_as_one_process(tmp_path: Path, monkeypatch):
    files = {f"content/{2000 + n % 7}/{2000 + n % 7}-0{1 + n % 9}-1{n % 9}-f{n}.txt": _article([f"وسم{n % 5}", f"مكان{n % 3}"], f"نص رقم {n} عن مكان {n % 3}.\n===\nجزء ثان من {n}.") for n in range(70)}
    one = write_site(tmp_path / "one", files, CONFIG)
    assert build(one, offline=True, workers=1).written
    monkeypatch.setattr(sitegen.pipeline.files, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(sitegen.pipeline.finishing, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(sitegen.pipeline.finishing, "BATCH", 7)
    two = write_site(tmp_path / "two", files, CONFIG)
    assert build(two, offline=True, workers=2).written
    assert tree_bytes(one / "_site") == tree_bytes(two / "_site")
    # Then one edit, in workers: the same as one process's full build.
    _touch(two / "content" / "2003" / "2003-04-13-f3.txt", _article(["وسم0"], "نص معدل."))
    assert build(two, offline=True, workers=2).written
    _touch(one / "content" / "2003" / "2003-04-13-f3.txt", _article(["وسم0"], "نص معدل."))
    assert tree_bytes(two / "_site") == _cold(one, tmp_path, workers=1)


def test_keywords_are_a_segments_frequent_words_without_particles_or_latin():
    from sitegen.outputs.search.keywords import KEYWORDS, keywords, keywords_of

    words = keywords("حصار حمص", "في حمص قصف على حمص. من حمص إلى بابا عمرو، قصف. CNN CNN CNN 2012 2012")
    # Most frequent first (a title word counts twice more: حصار 2, قصف 2), longer before shorter.
    assert words[:3] == ("حمص", "حصار", "قصف")
    assert len(words) <= KEYWORDS and "في" not in words and "على" not in words and "cnn" not in words and "2012" not in words
    # The search document's terms give the same choice as the text they were analysed from.
    assert keywords_of([("حمص", 5), ("قصف", 2), ("the", 9), ("في", 7)]) == ("حمص", "قصف")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["حمص", "قصف", "حماة", "بابا", "عمرو", "حصار", "مدينة", "في", "على", "من",
                                           "cnn", "the", "2012", "١٢٣", "حي", "ا", "دمشق", "درعا", "ريف", "جسر"])
                           | st.text(alphabet="ابتثجحخدرزسشصضطظعغفقكلمنهوي0123456789abc", max_size=6),
                           st.integers(min_value=0, max_value=6)),
                unique_by=lambda pair: pair[0], max_size=60))
def test_keywords_are_the_best_of_all_the_words_however_they_tie(terms):
    # keywords_of judges the words from the heaviest down and stops below the weight of the
    # last one it needs: the same choice as ordering every word kept, ties of weight, length
    # and letters included.
    from sitegen.outputs.search.keywords import KEYWORDS, SHORTEST, _stop_words, keywords_of

    stop = _stop_words()
    kept = [(w, n) for w, n in terms if len(w) >= SHORTEST and not w.isascii() and w not in stop and not w.isdigit()]
    kept.sort(key=lambda item: (-item[1], -len(item[0]), item[0]))
    assert keywords_of(terms) == tuple(w for w, _ in kept[:KEYWORDS])
    assert keywords_of(iter(terms)) == keywords_of(dict(terms).items())


def test_without_search_related_stories_come_from_the_same_words(tmp_path: Path):
    files = {
        "content/2012-01-01-a.txt": "حصار مدينة سراقب مستمر.\n",
        "content/2012-01-02-b.txt": "أهالي سراقب تحت الحصار.\n",
        "content/2012-01-03-c.txt": "أسعار الخبز في دمشق.\n",
    }
    pages = {}
    for search in (True, False):
        site = write_site(tmp_path / f"site-{search}", files, {"search": search})
        assert build(site, offline=True).written
        pages[search] = _related(site, "ar/2012-01-01-a-1.html")
    assert pages[True] == pages[False] == ["2012-01-02-b-1.html"]


def test_a_hostile_title_is_text_in_every_related_list(tmp_path: Path):
    hostile = '</nav><script>alert(1)</script><img src=x onerror=alert(2)> "\u202e'
    files = {
        "content/2012-01-01-a.txt": _article(["حمص"], hostile + " حمص."),
        "content/2012-01-02-b.txt": _article(["حمص"], "نص عن حمص."),
    }
    site = write_site(tmp_path / "site", files, CONFIG)
    assert build(site, translator_factory=FakeTranslator).written
    assert _related(site, "ar/2012-01-02-b-1.html") == ["2012-01-01-a-1.html"]
    for path in (site / "_site").rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert "<script>alert(1)" not in html and "<img src=x" not in html, path
        assert html.count('<nav class="related"') <= 1 and html.count("</nav>") == html.count("<nav"), path


def test_a_ranking_from_a_damaged_or_planted_cache_is_not_used():
    listings = [_listing(f"f{n:02d}", 1, n, tags=["حمص"]) for n in range(10)]
    articles = _articles(listings)
    first = rank_related(articles, {})
    ranking = first.ranking
    stride = len(ranking.ranked) // len(listings)

    def first_slot(value: int) -> bytes:  # the first segment's best other
        return struct.pack("=I", value) + ranking.ranked[4:]

    damaged = [
        replace(ranking, ranked=ranking.ranked[:-stride]),  # one segment short
        replace(ranking, ranked=ranking.ranked[:-1]),  # a position cut short
        replace(ranking, ranked=first_slot(99)),  # a position past the end
        replace(ranking, ranked=first_slot(10)),  # the first past the end
        replace(ranking, ranked=first_slot(2**32 - 1)),  # a position before the start, as packed
        replace(ranking, ranked=tuple(ranking.ranked)),  # not packed
        replace(ranking, features=None),  # not features
        replace(ranking, features=ranking.features + "\x1dwحمص"),  # features of one segment too many
        replace(ranking, numbers=ranking.numbers[:-1]),  # numbers cut short
        replace(ranking, files=ranking.files.encode()),  # files not text
        "not a ranking",
    ]
    for previous in damaged:
        again = rank_related(articles, {}, previous)
        assert again.reranked is None  # ranked afresh
        assert again.related.ranked == first.related.ranked


def test_a_ranking_stands_for_the_same_segments_only_when_it_fits_them():
    # The pipeline vouches that the previous ranking ranked these very segments (finishing._ranked);
    # what it still checks: as many segments, each ranking positions among them.
    listings = [_listing(f"f{n:02d}", 1, n, tags=[f"وسم{n % 3}"]) for n in range(12)]
    articles = _articles(listings)
    first = rank_related(articles, {})
    standing = ranking_as_it_stands(articles, first.ranking)
    assert standing is not None and standing.ranking is first.ranking and standing.reranked == frozenset()
    assert standing.related.ranked == first.related.ranked
    assert standing.related.shown(("f03", 1), False) == first.related.shown(("f03", 1), False)
    assert ranking_as_it_stands(_articles(listings[1:]), first.ranking) is None  # a segment fewer
    stride = len(first.ranking.ranked) // len(listings)
    for damaged in (replace(first.ranking, ranked=first.ranking.ranked[:-stride]), replace(first.ranking, ranked=struct.pack("=I", 12) + first.ranking.ranked[4:]),
                    replace(first.ranking, numbers=first.ranking.numbers[:-1]), replace(first.ranking, features=None), "not a ranking"):
        assert ranking_as_it_stands(articles, damaged) is None


def test_a_folder_named_with_the_features_separator_is_one_section_of_its_own():
    # Features are joined with "\x1e", and an edit's ranking finds each feature's segments by
    # searching the joined text: a section (a folder's name) holding it must neither split
    # into other features nor match a segment that has those features.
    hostile = "idlib\x1ewحمص"
    listings = [
        _listing("a", 1, 9, section=hostile), _listing("b", 1, 8, section="idlib"), _listing("c", 1, 7, section=hostile),
        _listing("d", 1, 6, section="idlib"), _listing("e", 1, 5, section="homs"),
    ]
    keywords = {("b", 1): ("حمص",), ("d", 1): ("حمص",), ("e", 1): ("حمص",)}
    full = rank_related(_articles(listings), keywords)
    assert full.related.ranked[("a", 1)] == (("c", 1),)
    assert set(full.related.ranked[("b", 1)]) == {("d", 1), ("e", 1)}
    edited = [listings[0].replaced(section="homs"), *listings[1:]]
    again = rank_related(_articles(edited), keywords, full.ranking)
    assert again.reranked is not None
    assert again.related.ranked == rank_related(_articles(edited), keywords).related.ranked
    assert again.ranking == rank_related(_articles(edited), keywords).ranking


def test_an_edit_that_changes_no_segments_features_lists_no_features_members(monkeypatch):
    # Most edits of a paragraph leave every segment's tags, section and keywords as they were:
    # nothing is ranked again, and the members of every feature (70,000 at 10,000 segments)
    # are not listed for nothing. An edit that changes a keyword lists them.
    import sitegen.pages.related as related

    listings = [_listing(f"f{n:02d}", 1, n, tags=[f"وسم{n % 3}"], section=("homs", "idlib")[n % 2]) for n in range(30)]
    keywords = {(listing.source_rel, 1): ("حمص",) for listing in listings}
    previous = rank_related(_articles(listings), keywords)
    listed: list[int] = []
    all_members = related._all_members
    monkeypatch.setattr(related, "_all_members", lambda features: listed.append(len(features)) or all_members(features))
    retitled = [listing.replaced(title=f"{listing.title} (corrected)") for listing in listings]
    again = rank_related(_articles(retitled), keywords, previous.ranking)
    assert listed == [] and again.reranked == frozenset()
    assert again.related.ranked == previous.related.ranked
    rekeyed = dict(keywords) | {("f07", 1): ("إدلب",)}
    again = rank_related(_articles(retitled), rekeyed, previous.ranking)
    assert listed == [30] and again.reranked
    monkeypatch.undo()
    assert again.related.ranked == rank_related(_articles(retitled), rekeyed).related.ranked


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=400).flatmap(lambda total: st.tuples(
    st.lists(st.lists(st.integers(min_value=0, max_value=total - 1), max_size=10, unique=True), min_size=total, max_size=total),
    st.sets(st.integers(min_value=0, max_value=total - 1), max_size=5))))
def test_the_places_listing_a_story_are_found_in_the_packed_ranking_as_by_a_look_at_each(case):
    # Packed four bytes a position, a search may meet a position's bytes across two of them
    # (256 and 1 are 00 01 00 00 01 00 00 00): only whole positions count, and a segment's
    # own position fills its free slots without listing it.
    from sitegen.pages.related import Related, _pack

    lists, shown = case
    ranked = [tuple(other for other in others if other != position) for position, others in enumerate(lists)]
    related = Related((), bytes(_pack(ranked)))
    assert [related.others(position) for position in range(len(ranked))] == ranked
    assert related.listing_any(set(shown)) == {position for position, others in enumerate(ranked) if set(others) & shown}


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.integers(min_value=0, max_value=300), st.randoms(use_true_random=False))
def test_the_places_listing_any_of_some_places_are_found_alike_for_few_and_for_many(count, wanted, rng):
    # A few places shown again are searched for in the packed ranking; many (a file of
    # thousands of segments made again) are found in one pass over it. Both must find exactly
    # the places whose ranked others include one of them, a place's own number (which fills
    # its free slots) never counting.
    from sitegen.pages import related

    ranked = [tuple(o for o in rng.sample(range(count), rng.randint(0, min(count, related.RANKED))) if o != p) for p in range(count)]
    ranking = related.Related(order=(), packed=bytes(related._pack(ranked)))
    shown = set(rng.sample(range(count), min(wanted, count)))
    assert ranking.listing_any(shown) == {p for p in range(count) for o in ranked[p] if o in shown}


@pytest.mark.parametrize("seed", range(25))
def test_a_segments_place_is_found_among_its_files_segments_as_a_dict_of_every_place_finds_it(seed: int) -> None:
    # Related.position looks for a segment among its file's (together in the site's order,
    # numbers ascending, some missing: drafts), where a dict of every segment's place was made.
    from sitegen.pages.listing import order_files
    from sitegen.pages.related import Related

    rng = random.Random(seed)
    files = []
    for n in range(rng.choice([0, 1, 3, 40])):
        numbers = sorted(rng.sample(range(1, 30), rng.randint(1, 6)))
        day = rng.choice([None, 100, 200, 300])
        files.append((f"f{n:02}.txt", tuple(_listing(f"f{n:02}.txt", number, day) for number in numbers)))
    articles = order_files(files)
    order = [listing for article in articles for listing in article.segments]
    related = Related(order, b"", articles)
    places = {(listing.source_rel, listing.number): at for at, listing in enumerate(order)}
    asked = list(places) + [(rel, number) for rel, _ in files[:3] for number in (0, 30, 7)] + [("absent.txt", 1), ("f0.txt", 1)]
    for key in asked:
        assert related.position(key) == places.get(key), key
