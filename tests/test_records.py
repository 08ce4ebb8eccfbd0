"""A file's record as the build cache keeps it (pipeline/records.py): read back as it was made,
its listings' texts decoded only when read, and a damaged one refused."""

from __future__ import annotations

import os
import pickle
from dataclasses import fields, replace
from datetime import date
from pathlib import Path

import pytest

import sitegen.pipeline.drafts

from sitegen.core.diagnostics import Severity, error, warning
from sitegen.media.records import PhotoRecord, Variant
from sitegen.pages.listing import HELD_DAY, TEXT_FIELDS, Listing, ListingFields, order_files, texts_at_hand
from sitegen.pipeline.cache import BuildCache, CacheDamaged, KeptApart, allow_list
from sitegen.pipeline.drafts import Slot
from sitegen.core.hashing import hash_mapping as pages_digest
from sitegen.pipeline.files import PAGES_KEYED, FileOutcome, SlugClaim
from sitegen.pipeline.making import RECORD_TYPES, units_to_translate
from sitegen.pipeline.photos import PhotoUse
from sitegen.pipeline.records import BUILD_ONLY, COUNTED_ONLY, StoredPairs, every_page, record_from_stored, stored_record, stored_texts
from sitegen.pipeline.site import FileResults
from sitegen.translation.companions import Unit


def _listing(number: int, english: bool, day: date | None) -> Listing:
    return ListingFields(
        source_rel="2012/حمص.txt",
        number=number,
        count=2,
        slug=f"homs-{number}",
        title=f"عنوان الجزء {number} «بين قوسين»",
        date=day,
        excerpt="مقتطف عربي طويل\u200f بعلامة اتجاه، وأرقام ١٢٣",
        english_title=f"Title {number}" if english else None,
        english_excerpt="An English excerpt — with a dash" if english else None,
        english_reviewed=english,
        tags=("حمص", "بابا عمرو") if english else (),
        authors=("مراسل",),
        section="أخبار" if english else None,
    ).listing()


def _record() -> FileOutcome:
    """A record with every stored field set, and none of those a build keeps to itself."""
    variant = Variant("a-640.webp", 640, 480, "image/webp", "d" * 32)
    return FileOutcome(
        rel="2012/حمص.txt",
        problems=(warning("content/2012/حمص.txt", 3, "a warning said again"), error("content/2012/حمص.txt", None, "an error")),
        listings=(_listing(1, True, date(2012, 2, 24)), _listing(2, False, None)),
        slugs=(SlugClaim("homs-1", "content/2012/حمص.txt:1 (segment 1)", "content/2012/حمص.txt", 1), SlugClaim("homs-2", "content/2012/حمص.txt:9 (segment 2)", "content/2012/حمص.txt", 9)),
        pages={"ar/homs-1.html": "a" * 32, "en/homs-1.html": "b" * 32, "ar/homs-2.html": "c" * 32},
        slots={"ar/homs-1.html": Slot(120, 44, "e" * 32), "en/homs-1.html": Slot(99, 0, "f" * 32)},
        features=("wحمص\x1es:أخبار", ""),
        photos=(PhotoUse("photos/a.jpg", (10, 20, 30), "g" * 32, "h" * 32, PhotoRecord(640, 480, (variant,), ("note",))),),
        missing=(Unit("k" * 32, "فقرة لم تترجم", "2.1", "2012/حمص.txt"),),
        lacking=1,
        cached_units=5,
        without_companion=("2012/حمص.txt (segment 2)",),
        key="k" * 32,
    )


def _read_back(value: object, tmp_path: Path, texts: bytes | None = None) -> FileOutcome:
    """``value`` stored and read as a build does: through sqlite and the allow-list; its
    listings' texts kept apart (``texts``: those of _record's, by default)."""
    cache = BuildCache.open(tmp_path / "build.sqlite", allow_list(RECORD_TYPES))
    try:
        cache.replace_files({"2012/حمص.txt": ("key", value, stored_texts(_record()) if texts is None else texts)}, ())
        return cache.records(record_from_stored)["2012/حمص.txt"]
    finally:
        cache.close()


@pytest.mark.parametrize("severity", list(Severity))
def test_a_problems_severity_is_pickled_by_value_on_every_python(severity: Severity) -> None:
    # Python 3.11.2 (Debian 12's) pickled an enum member as getattr(Severity, name), which the
    # cache's allow-list refuses: every record holding a warning was read back as damage.
    data = pickle.dumps(warning("content/a.txt", 3, "said") if severity is Severity.WARNING else error("content/a.txt", 3, "said"), protocol=pickle.HIGHEST_PROTOCOL)
    assert b"getattr" not in data
    assert pickle.loads(data).severity is severity
    assert pickle.loads(pickle.dumps(severity)) is severity


def test_a_record_reads_back_equal_to_the_one_made_but_for_the_units_kept_apart(tmp_path: Path) -> None:
    made = _record()
    read = _read_back(stored_record(made), tmp_path)
    assert read == replace(made, missing=())
    assert read.lacking == 1, "how many units its memory lacks is in the record"
    assert [listing.digest for listing in read.listings] == [listing.digest for listing in made.listings]
    assert type(read.slugs[0]) is SlugClaim and type(read.slots["ar/homs-1.html"]) is Slot
    assert read.listings[0].date == date(2012, 2, 24) and read.listings[1].date is None


def _read_back_with(field: int, value: object, tmp_path: Path) -> FileOutcome:
    """The record stored with one of its stored values replaced, read back."""
    values = list(stored_record(_record()))
    values[field] = value
    return _read_back(tuple(values), tmp_path)


def test_an_amended_record_is_what_replace_makes_and_names_only_its_fields(tmp_path: Path) -> None:
    # FileOutcome.amended stands for dataclasses.replace where a full build amends every
    # file's record (three times a file): the same copy, the original untouched, a field that
    # does not exist refused rather than added.
    made = _record()
    before = vars(made).copy()
    for changes in ({"key": "new"}, {"search_entries": (), "problems": ()}, {}):
        amended = made.amended(**changes)
        assert amended == replace(made, **changes) and vars(amended) == vars(replace(made, **changes))
        assert amended is not made and type(amended) is FileOutcome
    assert vars(made) == before
    with pytest.raises(TypeError, match="no field"):
        made.amended(kee="typo")
    read = _read_back(stored_record(made), tmp_path)
    assert read.amended(key="other").key == "other" and read.amended(key="other").listings == read.listings


def test_every_field_of_a_record_is_read_back_or_kept_by_the_build_alone(tmp_path: Path) -> None:
    # A field added to FileOutcome but not to the stored layout would be missing from the
    # records read back (or, with a default, silently take it): this names it.
    read = _read_back(stored_record(_record()), tmp_path)
    assert set(vars(read)) == {f.name for f in fields(FileOutcome)} | {PAGES_KEYED}, "every field, and the pages' key as stored"
    assert all(not getattr(read, name) for name in BUILD_ONLY + COUNTED_ONLY)


def test_a_record_kept_leaves_out_what_lives_only_within_one_build(tmp_path: Path) -> None:
    made = replace(_record(), zip_members={"ar/homs-1.html": object()}, drafts={"ar/homs-2.html": object()}, search_entries=(object(),))
    read = _read_back(stored_record(made), tmp_path)  # objects the cache cannot hold: never stored
    assert read == replace(made, zip_members={}, drafts={}, search_entries=(), missing=())


def test_a_listing_read_back_decodes_its_texts_only_when_one_is_read(tmp_path: Path) -> None:
    made = _record().listings
    english, arabic_only = _read_back(stored_record(_record()), tmp_path).listings
    assert not set(TEXT_FIELDS) & set(vars(english))
    # What every list of the English edition asks of every listing: answered undecoded.
    assert english.in_english and not arabic_only.in_english
    assert not set(TEXT_FIELDS) & (set(vars(english)) | set(vars(arabic_only)))
    assert english.title == made[0].title
    assert set(TEXT_FIELDS) <= set(vars(english))
    assert [getattr(english, name) for name in TEXT_FIELDS] == [getattr(made[0], name) for name in TEXT_FIELDS]
    assert arabic_only.english_title is None and arabic_only.english_excerpt is None
    assert arabic_only == made[1] and hash(arabic_only) == hash(made[1])


def test_a_listing_read_back_makes_its_date_only_when_it_is_looked_at(tmp_path: Path) -> None:
    # A listing holds its date as a day number; one read back (or unpickled) makes the date at
    # the first look, and keeps it; ordering articles reads the day numbers, not the dates.
    made = _record().listings[0]
    read = _read_back(stored_record(_record()), tmp_path).listings[0]
    assert read[HELD_DAY] == date(2012, 2, 24).toordinal() == read.day
    assert read.held() == tuple(made) and "date" not in vars(read)
    assert order_files([("homs.txt", (read,))])[0].segments == (read,) and "date" not in vars(read)
    assert read.date == date(2012, 2, 24) == made.date and vars(read)["date"] is read.date
    undated = replace(made.as_fields(), date=None).listing()
    again = pickle.loads(pickle.dumps(undated))
    assert again == undated and again.day is None and again.date is None


def test_no_text_of_a_listing_has_a_class_attribute_that_would_answer_before_decoding() -> None:
    # A class attribute is found before __getattr__ is asked: a listing read back would then
    # answer it for a text it holds.
    assert not [name for name in TEXT_FIELDS if hasattr(Listing, name)]


def test_a_record_read_back_and_kept_again_unread_is_kept_as_it_was(tmp_path: Path) -> None:
    # A file whose pages are finished again (its related stories changed) is saved without
    # its listings ever being shown: their texts go back as they were read.
    first = stored_record(_record())
    read = _read_back(first, tmp_path)
    assert not set(TEXT_FIELDS) & set(vars(read.listings[0]))
    assert stored_record(read) == first


def test_a_listing_read_back_pickles_and_copies_as_itself(tmp_path: Path) -> None:
    # Listings reach workers and the related stories' ranking whole: undecoded, they stay so.
    read = _read_back(stored_record(_record()), tmp_path).listings[0]
    again = pickle.loads(pickle.dumps(read, protocol=5))
    assert again == _record().listings[0]
    assert read.replaced(number=7).title == _record().listings[0].title


def test_a_record_counting_units_it_does_not_hold_is_damage_when_a_build_would_translate() -> None:
    """A build that may translate makes every file whose memory lacks units (survey lists
    them), so a record read back that still counts some contradicts the cache's summary."""
    made = _record()
    read_back = replace(made, rel="other.txt", missing=())
    files = FileResults({made.rel: made}, {made.rel: made, "other.txt": read_back}, None)
    with pytest.raises(CacheDamaged, match="other.txt"):
        units_to_translate(files)
    fine = FileResults({made.rel: made}, {made.rel: made, "other.txt": replace(read_back, lacking=0)}, None)
    assert units_to_translate(fine) == {made.rel: made.missing}


def _damaged(kind: str) -> object:
    values = list(stored_record(_record()))
    listing = list(values[3][0])
    if kind == "another layout":
        values[0] = 999
    elif kind == "a field short":
        values = values[:-1]
    elif kind == "not a tuple":
        return "a text"
    elif kind == "pages not a text":
        values[5] = [("ar/x.html", "a")]
    elif kind == "a listing a field short":
        values[3] = (tuple(listing[:-1]),)
    elif kind == "a listing a field long":
        values[3] = (tuple(listing) + (b"texts",),)
    elif kind == "a day past any calendar":
        listing[HELD_DAY] = 10**12
        values[3] = (tuple(listing),)
    elif kind == "a day before any calendar":
        listing[HELD_DAY] = 0
        values[3] = (tuple(listing),)
    elif kind == "a day not a number":
        listing[HELD_DAY] = "2012-02-24"
        values[3] = (tuple(listing),)
    elif kind == "a slot of four numbers":
        values[6] = {"ar/homs-1.html": (1, 2, 3, 4)}
    elif kind == "a slug claim of one text":
        values[4] = (("homs-1",),)
    elif kind == "a count of units not a number":
        values[9] = (Unit("k" * 32, "فقرة", "1.1", "a.txt"),)
    elif kind == "a count of units below zero":
        values[9] = -1
    elif kind == "features of the previous layout":
        values[7] = (("wحمص", "s:أخبار"), ())
    elif kind == "features not a tuple":
        values[7] = "wحمص"
    elif kind == "a pages' key not a text":
        values[14] = ("a", "b")
    return tuple(values)


@pytest.mark.parametrize("kind", ["another layout", "a field short", "not a tuple", "pages not a text", "a listing a field short",
                                  "a listing a field long", "a day past any calendar", "a day before any calendar", "a day not a number", "a slot of four numbers", "a slug claim of one text",
                                  "a count of units not a number", "a count of units below zero", "features of the previous layout",
                                  "features not a tuple", "a pages' key not a text"])
def test_a_damaged_record_is_refused_as_damage_not_a_crash(kind: str, tmp_path: Path) -> None:
    with pytest.raises(CacheDamaged, match="file record"):
        _read_back(_damaged(kind), tmp_path)


def test_a_records_slots_are_made_only_when_a_build_looks_at_them(tmp_path: Path, monkeypatch) -> None:
    # Every build reads every record and looks at the slots of the few files whose related
    # stories changed: the others' slots stay one text, and are kept again as that text.
    unpacked: list[str] = []
    unpack = sitegen.pipeline.drafts.unpack_slots
    monkeypatch.setattr(sitegen.pipeline.drafts, "unpack_slots", lambda packed: unpacked.append(packed) or unpack(packed))
    first = stored_record(_record())
    read = _read_back(first, tmp_path)
    assert stored_record(read) == first and unpacked == []
    assert read.slots["ar/homs-1.html"] == Slot(120, 44, "e" * 32) and len(unpacked) == 1
    assert read.slots.get("en/homs-1.html") == Slot(99, 0, "f" * 32) and len(unpacked) == 1
    assert read.slots | {"ar/x.html": Slot(1, 2, "g")} == {**_record().slots, "ar/x.html": Slot(1, 2, "g")}
    assert stored_record(read) == first


@pytest.mark.parametrize("packed", ["ar/homs-1.html\x00120\x0044", "ar/homs-1.html\x00a lot\x0044\x00key", "ar/homs-1.html\x00-5\x0044\x00key", "\x00"])
def test_damaged_slots_are_damage_when_looked_at(packed: str, tmp_path: Path) -> None:
    read = _read_back_with(6, packed, tmp_path)  # read: the slots are one text until looked at
    with pytest.raises(CacheDamaged, match="slot"):
        read.slots.get("ar/homs-1.html")


def test_a_records_slug_claims_are_made_only_when_a_build_looks_at_them(tmp_path: Path) -> None:
    # Every build reads every record and looks at the claims of the files made again (and at
    # all only when a file claims a slug it did not before): the others stay one text, kept
    # again as that text, and equal to (and hash as) the claims made.
    made = _record()
    first = stored_record(made)
    read = _read_back(first, tmp_path)
    assert type(first[4]) is str and read.slugs.as_read() == first[4]
    assert stored_record(read) == first and read.slugs.as_read() is not None
    assert read.slugs == made.slugs and made.slugs == read.slugs and hash(read.slugs) == hash(made.slugs)
    assert read.slugs.as_read() is None, "looked at: made into claims"
    assert [type(claim) for claim in read.slugs] == [SlugClaim, SlugClaim] and read.slugs[1].line == 9
    assert stored_record(read) == first
    none = _read_back(stored_record(replace(made, slugs=())), tmp_path).slugs
    assert none == () and len(none) == 0 and list(none) == []


def test_slug_claims_that_would_not_read_back_as_one_text_are_kept_as_tuples(tmp_path: Path) -> None:
    # A slug holding NUL is refused before a record is kept; were one kept, the claims would
    # stay tuples of their values rather than one text read back as other claims.
    odd = SlugClaim("homs\x00-1", "content/a.txt:1 (segment 1)", "content/a.txt", 1)
    made = replace(_record(), slugs=(odd,))
    stored = stored_record(made)
    assert stored[4] == (tuple(odd),)
    assert _read_back(stored, tmp_path).slugs == (odd,)


@pytest.mark.parametrize("packed", ["homs-1\x00content/a.txt:1 (segment 1)\x00content/a.txt", "homs-1\x00w\x00p\x00one", "homs-1\x00w\x00p\x00-3", "\x00"])
def test_damaged_slug_claims_are_damage_when_looked_at(packed: str, tmp_path: Path) -> None:
    read = _read_back_with(4, packed, tmp_path)  # read: the claims are one text until looked at
    with pytest.raises(CacheDamaged, match="slug claims"):
        list(read.slugs)


def test_a_files_pages_key_is_hashed_once_for_the_pages_it_was_made_of(tmp_path: Path, monkeypatch) -> None:
    # The site's stock is keyed by each file's pages key: a record read back brings the key it
    # was stored with; a record amended keeps it only with the very same pages.
    import sitegen.pipeline.files as files_module

    hashed: list[dict] = []
    digest = files_module.hash_mapping
    monkeypatch.setattr(files_module, "hash_mapping", lambda pages: hashed.append(pages) or digest(pages))
    made = _record()
    assert made.pages_key() == pages_digest(made.pages) and len(hashed) == 1
    assert made.pages_key() == pages_digest(made.pages) and len(hashed) == 1, "kept"
    stored = stored_record(made)
    read = _read_back(stored, tmp_path)
    assert read.pages_key() == made.pages_key() and len(hashed) == 1, "read back, not hashed again"
    assert read.amended(key="other").pages_key() == made.pages_key() and len(hashed) == 1
    other = read.amended(pages={**read.pages, "ar/homs-1.html": "z" * 32})
    assert other.pages_key() == pages_digest(other.pages) != made.pages_key() and len(hashed) == 2
    assert replace(read, pages=dict(read.pages)).pages_key() == made.pages_key() and len(hashed) == 3
    assert pages_digest({"b": "1", "a": "2"}) == pages_digest({"a": "2", "b": "1"}) != pages_digest({"a": "1", "b": "2"})


def test_a_records_texts_are_read_apart_by_file_only_when_a_listing_shows_one(tmp_path: Path, monkeypatch) -> None:
    # Every build reads every record, and shows the listings of a few files: their texts (half
    # of a record's bytes) are kept in a column of their own, read once for a file, at the
    # first look at one of its listings' texts.
    reads: list[str] = []
    of = KeptApart.of
    monkeypatch.setattr(KeptApart, "of", lambda self, rel: reads.append(rel) or of(self, rel))
    made = _record()
    read = _read_back(stored_record(made), tmp_path)
    first, second = read.listings
    assert reads == [] and first.digest == made.listings[0].digest and first.in_english
    assert first.title == made.listings[0].title and reads == ["2012/حمص.txt"]
    assert second.excerpt == made.listings[1].excerpt and second.english_title is None and reads == ["2012/حمص.txt"]
    assert stored_texts(read) == stored_texts(made) and reads == ["2012/حمص.txt"]


@pytest.mark.parametrize("texts", [b"", b"one\xfftwo", stored_texts(_record()).rpartition(b"\xfd")[0], stored_texts(_record()) + b"\xfd" + stored_texts(_record()).rpartition(b"\xfd")[2], stored_texts(_record()).replace(b"\xff", b"\xfe", 1)])
def test_texts_kept_apart_that_are_not_the_listings_are_damage_when_looked_at(texts: bytes, tmp_path: Path) -> None:
    read = _read_back(stored_record(_record()), tmp_path, texts)  # read: the texts are not looked at yet
    assert [listing.number for listing in read.listings] == [1, 2]
    with pytest.raises(CacheDamaged, match="texts of the listings of 2012/حمص.txt"):
        read.listings[1].title


def test_a_record_whose_texts_are_gone_is_damage_when_looked_at(tmp_path: Path) -> None:
    read = _read_back(stored_record(_record()), tmp_path)
    cache = BuildCache.open(tmp_path / "build.sqlite", allow_list(RECORD_TYPES))
    cache.replace_files({}, ["2012/حمص.txt"])
    cache.close()
    with pytest.raises(CacheDamaged, match="no texts"):
        read.listings[0].excerpt


def test_texts_are_never_read_in_a_forked_worker_and_are_read_together_before_forking(tmp_path: Path, monkeypatch) -> None:
    # A worker forked from the build must not use the cache (an sqlite connection must not
    # cross a fork): one that would read a record's texts is stopped, and the build reads
    # them before forking, in one read of the column when they are many files'.
    cache = BuildCache.open(tmp_path / "build.sqlite", allow_list(RECORD_TYPES))
    rels = [f"{n:03}/حمص.txt" for n in range(70)]
    cache.replace_files({rel: ("key", stored_record(replace(_record(), rel=rel)), stored_texts(_record())) for rel in rels}, ())
    records = cache.records(record_from_stored)
    listings = [listing for rel in rels for listing in records[rel].listings]

    def in_a_child(look) -> int:
        pid = os.fork()
        if pid == 0:
            try:
                os._exit(0 if look() else 3)
            except RuntimeError:
                os._exit(2)
            except BaseException:
                os._exit(4)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    assert in_a_child(lambda: listings[0].title) == 2, "stopped, not read through the parent's connection"
    every, one = [], []
    monkeypatch.setattr(KeptApart, "of_every_file", lambda self, of=KeptApart.of_every_file: every.append(1) or of(self))
    monkeypatch.setattr(KeptApart, "of", lambda self, rel, of=KeptApart.of: one.append(rel) or of(self, rel))
    texts_at_hand(listings)
    assert every == [1] and one == []
    assert in_a_child(lambda: [listing.title for listing in listings] == [made.title for _ in rels for made in _record().listings]) == 0
    (tmp_path / "few").mkdir()
    few = _read_back(stored_record(_record()), tmp_path / "few")
    texts_at_hand(few.listings)
    assert every == [1] and one == ["2012/حمص.txt"], "a few files' texts read one by one"
    cache.close()


def test_every_page_of_records_read_back_or_made_is_their_pages_merged_in_order(tmp_path: Path) -> None:
    # The site's manifest is made of every record's pages at once (records.every_page): the
    # texts of the records read back, never made into dicts, and the pages of those made.
    made = [replace(_record(), rel=f"{n}.txt", pages={f"ar/{n}-{k}.html": f"{n}{k}" * 16 for k in range(n % 4)}) for n in range(12)]
    made.append(replace(_record(), rel="twice.txt", pages={"ar/0-0.html": "z" * 32}))  # a path again: the last wins, as dict.update does
    cache = BuildCache.open(tmp_path / "build.sqlite", allow_list(RECORD_TYPES))
    cache.replace_files({record.rel: ("key", stored_record(record), stored_texts(record)) for record in made[::2]}, ())
    read = cache.records(record_from_stored)
    mixed = [read[record.rel] if record.rel in read else record for record in made]
    merged: dict[str, str] = {}
    for record in made:
        merged.update(record.pages)
    every = every_page(mixed)
    assert every == merged and list(every) == list(merged)
    assert all(type(read[rel].pages) is StoredPairs and read[rel].pages.as_read() is not None for rel in read), "read whole, never made into dicts"
    assert every_page([]) == {} and every_page([replace(_record(), pages={})]) == {}
    cache.close()


@pytest.mark.parametrize("packed", ["ar/homs-1.html", "ar/homs-1.html\x00" + "a" * 32 + "\x00ar/homs-2.html"])
def test_pages_not_in_pairs_are_damage(packed: str, tmp_path: Path) -> None:
    read = _read_back_with(5, packed, tmp_path)
    with pytest.raises(CacheDamaged, match="pages"):
        every_page([read])
    with pytest.raises(CacheDamaged, match="pairs"):
        dict(read.pages)
