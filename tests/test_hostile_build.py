"""Hostile input, round two: what the build writes and where.

Nothing is ever written outside the output folder, whatever was planted in it; every
output path is claimed by one thing only; names and titles cannot smuggle invisible or
bidi characters into pages and messages; the build cache cannot run code. Each case has a
time limit: none of them may hang the build.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import time
from pathlib import Path

import pytest

from tests.sitekit import tree_bytes

TWO = "الفقرة الأولى عن حمص.\nالفقرة الثانية عن السوق.\n"


def outside_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def edit(site: Path, rel: str = "content/news.txt", extra: str = "فقرة جديدة.\n") -> None:
    path = site / rel
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    # A new mtime and size: the build sees a change even within the file system's clock tick.
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10_000_000))


# -- symbolic links planted in the output folder --------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("planted", ["folder", "file", "search-folder", "search-file", "zip"])
def test_a_symlink_planted_in_the_output_folder_is_never_followed(planted, make_site, run_build, tmp_path):
    site = make_site({"content/news.txt": TWO, "content/other.txt": "نص آخر.\n"})
    assert run_build(site).returncode == 0
    out = site / "_site"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("private key material", encoding="utf-8")
    if planted == "folder":
        # The case: _site/ar replaced by a link to another folder, then an incremental build.
        os.rename(out / "ar", tmp_path / "old-ar")
        os.symlink(elsewhere, out / "ar")
    elif planted == "search-folder":
        os.rename(out / "search", tmp_path / "old-search")
        os.symlink(elsewhere, out / "search")
    elif planted == "search-file":
        # A term shard the next build would read back to patch the index.
        shard = sorted((out / "search").glob("t*.js"))[0]
        shard.unlink()
        os.symlink(secret, shard)
    elif planted == "file":
        # A page replaced by a link to a private file: it must not be published, nor zipped.
        page = out / "ar" / "other-1.html"
        page.unlink()
        os.symlink(secret, page)
    else:
        (out / "site.zip").unlink()
        os.symlink(elsewhere / "precious.txt", out / "site.zip")
    edit(site)
    run = run_build(site)
    assert run.returncode == 0, run.output
    assert outside_files(elsewhere) == ["precious.txt"], "the build wrote through a planted link"
    assert (elsewhere / "precious.txt").read_text(encoding="utf-8") == "keep me"
    assert secret.read_text(encoding="utf-8") == "private key material"
    links = [p for p in out.rglob("*") if p.is_symlink()]
    assert links == [], f"the published site holds links: {links}"
    published = tree_bytes(out)
    assert not any(b"private key material" in data for data in published.values())
    import zipfile

    with zipfile.ZipFile(out / "site.zip") as archive:
        assert not any(b"private key material" in archive.read(name) for name in archive.namelist())
    assert "ar/news-1.html" in published and "ar/other-1.html" in published


@pytest.mark.timeout(60)
def test_a_symlink_in_place_of_the_staging_or_pack_folder_is_never_followed(make_site, run_build, tmp_path):
    site = make_site({"content/news.txt": TWO})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The names the next builds of this process will use: a planted link must be removed, not written into.
    import sitegen.pipeline.staging

    upcoming = next(sitegen.pipeline.staging._builds_in_process) + 1
    for n in range(upcoming, upcoming + 5):
        os.symlink(elsewhere, site / f"._site.staging-{os.getpid()}-{n}")
    os.symlink(elsewhere, site / f"._site.packs-{os.getpid()}")
    os.symlink(elsewhere / "lock-target", site / "._site.lock")
    assert run_build(site).returncode == 0
    edit(site)
    assert run_build(site).returncode == 0
    assert outside_files(elsewhere) == []


# -- every output path is claimed once ------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("slug", ["index", "page-2"])
def test_a_slug_that_names_an_index_page_is_an_error_naming_both(slug, make_site, run_build, monkeypatch):
    per_page = {"per_page": 1}
    files = {"content/a.txt": f"---\nslug: {slug}\n---\nنص أول.\n", "content/b.txt": "نص ثان.\n", "content/c.txt": "نص ثالث.\n"}
    site = make_site(files, config=per_page | {"translation": {"enabled": True, "memory_dir": "translations"}})
    memory = site / "translations"
    from sitegen.translation.memory import (
        Memory,
        MemoryEntry,
        entry_key,
        memory_path,
        save_memory,
    )

    for rel, text in (("a.txt", "نص أول."), ("b.txt", "نص ثان."), ("c.txt", "نص ثالث.")):
        key = entry_key(text, "ar", "en")
        save_memory(Memory(memory_path(memory, rel, "en"), rel, "ar", "en", (MemoryEntry(key, text, f"Text {rel}", "google", "2026-01-01", False, "1.1"),)))
    monkeypatch.chdir(site)
    run = run_build(site)
    assert run.returncode == 1, run.output
    assert f"content/a.txt:2: output file en/{slug}.html" in run.stderr
    assert "English index" in run.stderr
    assert not (site / "_site").exists()


def write_memory(site: Path, rel: str, pairs: dict[str, str], source: str = "ar", target: str = "en") -> None:
    from sitegen.translation.memory import (
        Memory,
        MemoryEntry,
        entry_key,
        memory_path,
        save_memory,
    )

    entries = tuple(MemoryEntry(entry_key(text, source, target), text, english, "google", "2026-01-01", False, f"1.{n}") for n, (text, english) in enumerate(pairs.items(), start=1))
    save_memory(Memory(memory_path(site / "translations", rel, target), rel, source, target, entries))


@pytest.mark.timeout(60)
def test_language_folders_come_from_the_configured_languages(make_site, run_build):
    # language: fa with target ar: the Arabic companions were written over the Persian pages (ar/ was hard-coded).
    site = make_site({"content/a.txt": "متن فارسی.\n"}, config={"language": "fa", "translation": {"enabled": True, "target": "ar"}})
    write_memory(site, "a.txt", {"متن فارسی.": "نص فارسي مترجم."}, source="fa", target="ar")
    run = run_build(site)
    assert run.returncode == 0, run.output
    persian = (site / "_site" / "fa" / "a-1.html").read_text(encoding="utf-8")
    arabic = (site / "_site" / "ar" / "a-1.html").read_text(encoding="utf-8")
    assert 'lang="fa"' in persian and "متن فارسی." in persian
    assert 'lang="ar"' in arabic and "نص فارسي مترجم." in arabic
    assert (site / "_site" / "ar" / "index.html").is_file()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("setting", [{"language": "ar\n"}, {"translation": {"target": "en\n"}}, {"language": "ar-SY", "translation": {"target": "ar"}}])
def test_a_language_tag_with_a_trailing_line_break_or_sharing_a_folder_is_refused(setting, make_site, run_build):
    site = make_site({"content/a.txt": "نص.\n"}, config=setting)
    run = run_build(site)
    assert run.returncode == 1
    assert "site.yml:" in run.stderr and ("language code" in run.stderr or "own language" in run.stderr), run.stderr
    assert not (site / "_site").exists()


# -- titles: linear in the length of the first line -----------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_a_2_mb_first_line_of_short_sentences_builds_in_seconds(suffix, make_site, run_build, parse_html):
    # "ab. " repeated: every full stop follows a two-letter word, so none ends the first sentence.
    # Deriving the title sliced the text before each of them: 2 MB took 155 s.
    site = make_site({f"content/long{suffix}": "ab. " * 500_000 + "\n"})
    started = time.monotonic()
    run = run_build(site, "--quiet")
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.output
    assert elapsed < 30, f"{elapsed:.1f} s"
    page = parse_html(site / "_site" / "ar" / "long-1.html")
    assert page.h1[0].startswith("ab. ab.") and page.h1[0].endswith("…") and len(page.h1[0]) <= 90


# -- invisible and bidi characters ------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "slug, escaped",
    [
        ("homs\u034f2012", "\\u034f"),  # combining grapheme joiner
        ("homs\u31642012", "\\u3164"),  # Hangul filler
        ("homs\u28002012", "\\u2800"),  # braille blank
        ("homs\ufe0f2012", "\\ufe0f"),  # variation selector
        ("homs\u00a02012", "\\xa0"),  # an inner no-break space
        ("homs\ue0002012", "\\ue000"),  # private use
        ("h\u043ems-2012", "Cyrillic"),  # a Cyrillic о in a Latin slug
    ],
)
def test_a_slug_with_invisible_or_confusable_characters_is_refused_and_named_visibly(slug, escaped, make_site, run_build, monkeypatch):
    site = make_site({"content/a.txt": f'---\nslug: "{slug}"\n---\nنص.\n'})
    monkeypatch.chdir(site)
    run = run_build(site)
    assert run.returncode == 1, run.output
    assert run.stderr.startswith("content/a.txt:2: slug "), run.stderr
    assert escaped in run.stderr
    assert not any(c in run.stderr for c in "\u034f\u3164\u2800\ufe0f\u00a0\ue000")
    assert not (site / "_site").exists()


@pytest.mark.timeout(30)
def test_a_file_name_holding_a_bidi_override_is_printed_escaped(make_site, run_build, monkeypatch):
    site = make_site({"content/a\u202etxt.txt": "---\nunknown: 1\n---\nنص.\n"})
    monkeypatch.chdir(site)
    run = run_build(site)
    assert "\u202e" not in run.output
    assert "content/a\\u202etxt.txt:2: warning: unknown front matter key" in run.stderr or "content/a\\u202etxt.txt" in run.stderr, run.stderr


@pytest.mark.timeout(60)
def test_an_unterminated_override_in_a_title_reaches_no_page_feed_or_index(make_site, run_build, read_tree):
    site = make_site(
        {
            "content/a.txt": "---\ntitle: \"عنوان \u202eمقلوب\"\nauthor: \"كاتب \u2067معزول\"\ntags: [\"وسم \u202b\"]\n---\nنص أول.\n",
            "content/b.txt": "نص \u202eالفقرة الأولى بلا نهاية.\n",
            "content/c.txt": "---\ntitle: \"مقبول \u202eمقلوب\u202c تماما\"\n---\nنص.\n",
        },
        config={"base_url": "https://example.org/news/"},
    )
    run = run_build(site)
    assert run.returncode == 0, run.output
    tree = read_tree(site / "_site")
    for name, data in tree.items():
        if name.endswith((".html", ".xml", ".js")):
            text = data.decode("utf-8")
            for opener, closer in (("\u202e", "\u202c"), ("\u202b", "\u202c"), ("\u2067", "\u2069")):
                if name.startswith("ar/b-1") and opener == "\u202e":
                    continue  # inside its own <p>, the paragraph ends the override: text is kept verbatim
                assert text.count(opener) <= text.count(closer), (name, opener)
    index = tree["index.html"].decode("utf-8")
    assert "مقبول \u202eمقلوب\u202c تماما" in index, "a paired override is the author's and stays"


# -- the build cache --------------------------------------------------------------------------------


class _Planted:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["meta", "record", "search", "signatures", "signatures cut short", "two values in one", "a signature holding a list", "photos that are no pairs"])
def test_a_planted_build_cache_runs_nothing_and_the_build_starts_afresh(where, make_site, run_build, tmp_path):
    site = make_site({"content/a.txt": TWO, "content/b.txt": "نص آخر.\n"})
    assert run_build(site).returncode == 0
    marker = tmp_path / "planted-ran"
    payload = pickle.dumps(_Planted(marker), protocol=5)
    (database,) = (site / ".cache").glob("build-*.sqlite")
    db = sqlite3.connect(database)
    if where == "meta":
        # Every value: the summary (read by every build) and the site's outputs and ranking.
        db.execute("UPDATE meta SET value=?", (payload,))
    elif where == "record":
        db.execute("UPDATE files SET record=?", (payload,))
    elif where == "search":
        db.execute("UPDATE search SET doc=?", (payload,))
    elif where == "signatures":
        db.execute("UPDATE meta SET value=? WHERE name='signatures'", (payload,))
    else:
        # The recorded signatures cut short, followed by bytes of another value (refused, or
        # read as written), or holding what no build records (compared, then refused).
        (value,) = db.execute("SELECT value FROM meta WHERE name='signatures'").fetchone()
        signatures = pickle.loads(value)
        source, memory = signatures["a.txt"][:2]
        planted = {
            "signatures cut short": value[:-1],
            "two values in one": value + pickle.dumps((1, 2, 3), protocol=5),
            "a signature holding a list": pickle.dumps(signatures | {"a.txt": (source, memory, None, [["p.jpg", None]])}, protocol=5),
            "photos that are no pairs": pickle.dumps(signatures | {"a.txt": (source, memory, None, 5)}, protocol=5),
        }[where]
        db.execute("UPDATE meta SET value=? WHERE name='signatures'", (planted,))
    db.commit()
    db.close()
    edit(site, "content/b.txt")
    run = run_build(site)
    assert run.returncode == 0, run.output
    assert not marker.exists(), "unpickling the cache ran a command"
    assert "نص آخر." in (site / "_site" / "ar" / "b-1.html").read_text(encoding="utf-8")
    assert (site / "_site" / "ar" / "a-1.html").is_file()


def test_every_signature_is_read_as_it_was_written(tmp_path):
    # A value that names one object twice (a photo's path) is pickled with a reference to it:
    # read back, every signature is the one written, photos and git dates included.
    from datetime import date

    from sitegen.pipeline.cache import BuildCache
    from sitegen.pipeline.stages import CACHE_TYPES
    from sitegen.pipeline.state import SIGNATURES, read_signatures, write_signatures

    cache = BuildCache.open(tmp_path / "build.sqlite", CACHE_TYPES)
    signatures = {}
    for n in range(6):
        path = f"photos/{n}/حمص.jpg"  # one object named twice: pickled as a reference
        photos = ((f"photos/{n}/other.jpg", (n, 0, 0)),) * (n % 3) + ((path, (n, 1, 2)), (path, (n, 3, 4)))
        signatures[f"{n}.txt"] = ((100 + n, 1_700_000_000_000_000_000 + n, 5000 + n), None, date(2012, 2, n + 1), photos)
    write_signatures(cache, signatures)
    assert read_signatures(cache, cache.get_bytes(SIGNATURES)) == signatures
    cache.close()


@pytest.mark.parametrize("damage", ["cut short", "a class the build never stores"])
def test_damaged_or_planted_signatures_are_refused(damage, tmp_path):
    from sitegen.pipeline.cache import BuildCache, CacheDamaged
    from sitegen.pipeline.stages import CACHE_TYPES
    from sitegen.pipeline.state import SIGNATURES, read_signatures, write_signatures

    cache = BuildCache.open(tmp_path / "build.sqlite", CACHE_TYPES)
    signatures = {f"{n}.txt": ((100 + n, 1_700_000_000_000_000_000 + n, 5000 + n), None, None) for n in range(5)}
    write_signatures(cache, signatures)
    good = pickle.dumps(signatures, protocol=5)
    planted = {"cut short": good[:-1], "a class the build never stores": pickle.dumps(_Planted(tmp_path / "ran"), protocol=5)}[damage]
    cache.db.execute("UPDATE meta SET value=? WHERE name='signatures'", (planted,))
    with pytest.raises(CacheDamaged):
        read_signatures(cache, cache.get_bytes(SIGNATURES))
    assert not (tmp_path / "ran").exists()
    cache.close()
