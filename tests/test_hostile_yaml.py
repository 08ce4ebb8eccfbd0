"""Hostile YAML, round two: alias bombs, alias amplification, duplicated memory entries, odd
memory files and the mode of a rewritten memory.

YAML is read in three places (front matter, site.yml, the translation memory); each hole is
tested through the command line in all three where it applies, and parse_yaml on its own.
Every test has a time limit: the holes were hangs, and a regression must fail, not hang.
"""

from __future__ import annotations

import os
import stat
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from sitegen.core.yamlfile import YamlError, parse_yaml
from sitegen.translation.memory import (
    Memory,
    MemoryEntry,
    entry_key,
    load_memory,
    save_memory,
)
from sitegen.translation.translator import FakeTranslator, fake_english
from tests.libre_stub import LibreStub
from tests.sitekit import build, run_cli, write_site

NEWS = "الفقرة الأولى عن حمص.\nالفقرة الثانية عن السوق.\n"
FIRST, SECOND = NEWS.splitlines()
FIRST_KEY, SECOND_KEY = entry_key(FIRST, "ar", "en"), entry_key(SECOND, "ar", "en")
MEMORY = "translations/news.txt.en.yml"
HEADER = "source_file: news.txt\nsource_language: ar\ntarget_language: en\n"


def expansion_limit(text: str) -> int:
    """The most a document may expand to (README: ten times its length, plus 64 KB)."""
    return 10 * len(text) + 64 * 1024


def aliases_message(text: str, name: str) -> str:
    return f"YAML aliases (*{name}) expand this document to more than {expansion_limit(text):,} characters: write the values out instead"


def billion_laughs(levels: int = 9, bad_date: bool = True) -> str:
    """The 9×9 "billion laughs", and one value that cannot be built: 376 bytes with 9 levels."""
    names = "abcdefghi"[:levels]
    lines = ["a: &a [" + ",".join(['"lol"'] * 9) + "]"]
    for previous, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    if bad_date:
        lines.append("z: [[[[[[[[[[2012-02-30]]]]]]]]]]")
    return "\n".join(lines) + "\n"


def entry_yaml(source: str, translation: str, *, reviewed: bool, key: str | None = None, day: str = "'2026-01-01'", at: str = "1.1", stale: bool = False) -> str:
    text = (
        f"- key: {key or entry_key(source, 'ar', 'en')}\n  at: '{at}'\n  source: {source}\n  translation: {translation}\n"
        f"  provider: libre\n  date: {day}\n  reviewed: {'true' if reviewed else 'false'}\n"
    )
    return text + ("  stale: true\n" if stale else "")


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("build failed:")]


def online(stub: LibreStub) -> dict:
    return {"translation": {"enabled": True, "provider": "libre", "url": stub.url, "timeout": 2, "retries": 0}}


def site_with_memory(folder: Path, memory_text: str | bytes, config: dict) -> Path:
    data = memory_text.encode("utf-8") if isinstance(memory_text, str) else memory_text
    return write_site(folder, {"content/news.txt": NEWS, MEMORY: data}, config)



def english_paragraphs(site: Path, parse_html) -> list[str]:
    return parse_html(site / "_site" / "en" / "news-1.html").body_paragraphs


# -- parse_yaml on its own ---------------------------------------------------------------------------


@pytest.mark.timeout(5)
def test_alias_bomb_with_a_bad_value_is_refused_at_once_naming_the_first_alias():
    text = billion_laughs()
    assert len(text.encode()) == 376
    with pytest.raises(YamlError) as caught:
        parse_yaml(text)
    assert (caught.value.line, caught.value.message) == (2, aliases_message(text, "a"))


@pytest.mark.timeout(5)
def test_alias_bomb_without_a_bad_value_is_refused_too():
    text = billion_laughs(bad_date=False)
    with pytest.raises(YamlError) as caught:
        parse_yaml(text)
    assert caught.value.line == 2 and "write the values out instead" in caught.value.message


@pytest.mark.timeout(5)
def test_alias_amplification_of_one_big_string_is_refused():
    text = "summary: &big " + "ب" * 100_000 + "\ntags: [" + ", ".join(["*big"] * 5000) + "]\n"
    with pytest.raises(YamlError) as caught:
        parse_yaml(text)
    assert (caught.value.line, caught.value.message) == (2, aliases_message(text, "big"))


@pytest.mark.timeout(5)
def test_a_value_that_contains_itself_is_refused():
    with pytest.raises(YamlError) as caught:
        parse_yaml("title: x\ntags: &t [a, *t]\n")
    assert caught.value.line == 2 and "(*t)" in caught.value.message


ALIAS_SPELLINGS = {
    "block sequence": "- *s\n",
    "flow sequence": "- [*s,*s, *s , *s]\n",
    "flow sequence over lines": "- [\n  *s,\n  *s\n  ]\n",
    "flow mapping": "- {a: *s, b: *s}\n",
    "block mapping": "- a: *s\n  b:\n    *s\n",
    "explicit key": "- ? x\n  : *s\n",
    "after a comment": "- # a comment\n  *s\n",
    "carriage returns": "- *s\r- *s\r",
    "merge key": "- <<: {a: *s}\n  b: 1\n",
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("spelling", ALIAS_SPELLINGS, ids=str)
def test_amplification_is_refused_however_the_aliases_are_written(spelling):
    text = "- &s " + "x" * 20_000 + "\n" + ALIAS_SPELLINGS[spelling] * 400
    assert sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)) >= 400, "valid YAML, full of aliases"
    with pytest.raises(YamlError) as caught:
        parse_yaml(text)
    assert caught.value.message == aliases_message(text, "s")


@pytest.mark.timeout(5)
def test_aliases_within_the_limit_and_merge_keys_still_work():
    doc = parse_yaml("base: &base {lang: ar, tags: [حمص]}\nfirst:\n  <<: *base\n  title: أ\nsecond: [*base, *base]\n")
    assert doc.value["first"] == {"lang": "ar", "tags": ["حمص"], "title": "أ"}
    assert doc.value["second"] == [{"lang": "ar", "tags": ["حمص"]}] * 2


@pytest.mark.timeout(5)
def test_text_that_only_looks_like_aliases_is_plain_text():
    doc = parse_yaml("title: نص *مهم* و &هذا\nsummary: '*a'\ntags: [\"*b\", c*d]\n")
    assert doc.value == {"title": "نص *مهم* و &هذا", "summary": "*a", "tags": ["*b", "c*d"]}


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    "text, line, message",
    [
        ("a: &a [1, 2012-02-30]\nb: [*a, *a, *a]\n", 1, "invalid value '2012-02-30': it is not a valid date (YYYY-MM-DD)"),
        ("base: &b {x: 1}\nc:\n  <<: *b\n  d: 2012-02-30\n", 4, "invalid value '2012-02-30': it is not a valid date (YYYY-MM-DD)"),
        ("a: [x, y, {z: [!!bool maybe]}]\n", 1, "invalid value 'maybe': it is not a valid bool"),
        ("a: 1\nb:\n  - c: !!int x\n", 3, "invalid value 'x': it is not a valid int"),
    ],
)
def test_a_value_that_cannot_be_built_is_reported_on_its_line(text, line, message):
    with pytest.raises(YamlError) as caught:
        parse_yaml(text)
    assert (caught.value.line, caught.value.message) == (line, message)


def big_memory_text(count: int, bad_at: int | None = None) -> tuple[str, int | None]:
    """A memory of ``count`` entries, the ``bad_at``-th with an impossible date; and that date's line."""
    lines = HEADER.splitlines() + ["entries:"]
    bad_line = None
    for index in range(count):
        source = f"فقرة رقم {index} عن حمص."
        day = "2026-02-30" if index == bad_at else "'2026-01-01'"
        block = entry_yaml(source, f"Paragraph {index} about Homs.", reviewed=index % 2 == 0, day=day, at=f"1.{index + 1}").splitlines()
        if index == bad_at:
            bad_line = len(lines) + 6
        lines += block
    return "\n".join(lines) + "\n", bad_line


@pytest.mark.timeout(20)
def test_one_bad_date_in_a_20000_entry_document_is_reported_as_fast_as_a_clean_parse():
    text, bad_line = big_memory_text(20_000, bad_at=19_990)
    clean = text.replace("date: 2026-02-30", "date: '2026-01-01'")
    started = time.monotonic()
    parse_yaml(clean)
    clean_seconds = time.monotonic() - started
    started = time.monotonic()
    with pytest.raises(YamlError) as caught:
        parse_yaml(text)
    seconds = time.monotonic() - started
    assert (caught.value.line, caught.value.message) == (bad_line, "invalid value '2026-02-30': it is not a valid date (YYYY-MM-DD)")
    assert seconds < 2 * clean_seconds + 0.5, (seconds, clean_seconds)


# -- the three places, through the command line --------------------------------------------------------


@pytest.mark.timeout(10)
def test_alias_bomb_in_front_matter_is_reported_at_once(make_site, run_build, monkeypatch):
    bomb = billion_laughs()
    site = make_site({"content/bomb.txt": "---\n" + bomb + "---\nنص.\n", "content/good.txt": "نص سليم.\n"})
    monkeypatch.chdir(site)
    run = run_build(site, "--quiet")
    assert run.returncode == 1 and "Traceback" not in run.output
    front_matter = bomb.rstrip("\n")  # as segments.py hands it to parse_yaml
    assert problem_lines(run.stderr) == [f"content/bomb.txt:3: front matter: {aliases_message(front_matter, 'a')}: fix the YAML between the '---' lines"]
    assert not (site / "_site").exists()


@pytest.mark.timeout(10)
def test_alias_amplification_in_front_matter_makes_no_500_mb_page(make_site, run_build, monkeypatch):
    front_matter = "summary: &big " + "ب" * 100_000 + "\ntags: [" + ", ".join(["*big"] * 5000) + "]"
    site = make_site({"content/tags.txt": "---\n" + front_matter + "\n---\nنص.\n"})
    monkeypatch.chdir(site)
    run = run_build(site, "--quiet")
    assert run.returncode == 1 and "Traceback" not in run.output
    assert problem_lines(run.stderr) == [f"content/tags.txt:3: front matter: {aliases_message(front_matter, 'big')}: fix the YAML between the '---' lines"]
    assert not (site / "_site").exists()


@pytest.mark.timeout(10)
def test_alias_bomb_in_site_yml_is_reported_at_once(make_site, run_build, monkeypatch):
    text = "title: موقع\n" + billion_laughs()
    site = make_site({"content/a.txt": "نص.\n"}, config=text)
    monkeypatch.chdir(site)
    run = run_build(site, "--quiet")
    assert run.returncode == 1 and "Traceback" not in run.output
    assert problem_lines(run.stderr) == [f"site.yml:3: {aliases_message(text, 'a')}: fix the YAML syntax"]


@pytest.mark.timeout(10)
def test_alias_bomb_in_a_memory_is_reported_at_once_and_the_file_kept(stub, tmp_path, monkeypatch):
    text = HEADER + "entries: []\n" + billion_laughs()
    site = site_with_memory(tmp_path / "site", text, online(stub))
    monkeypatch.chdir(site)
    asked = len(stub.requests)
    run = run_cli("--config", "site.yml", "--quiet")
    assert run.code == 1 and "Traceback" not in run.out + run.err
    assert problem_lines(run.err) == [f"{MEMORY}:6: translation memory: {aliases_message(text, 'a')}: fix the YAML or restore the file from git"]
    assert (site / MEMORY).read_text(encoding="utf-8") == text
    assert len(stub.requests) == asked


@pytest.mark.timeout(15)
def test_memory_of_3000_aliases_of_one_1_mb_source_is_refused_quickly(stub, tmp_path, monkeypatch):
    source = "فقرة طويلة جدا " * 70_000  # about 1 MB
    key = entry_key(source, "ar", "en")  # right, as a build writes it: each entry costs a hash of 1 MB
    entries = [f"- key: {key}\n  source: &s {source}\n  translation: t\n  provider: libre\n  date: '2026-01-01'\n  reviewed: false\n"]
    entries += [f"- key: {key}\n  source: *s\n  translation: t\n  provider: libre\n  date: '2026-01-01'\n  reviewed: false\n"] * 3000
    text = HEADER + "entries:\n" + "".join(entries)
    site = site_with_memory(tmp_path / "site", text, online(stub))
    monkeypatch.chdir(site)
    run = run_cli("--config", "site.yml", "--quiet")
    assert run.code == 1 and "Traceback" not in run.out + run.err
    assert problem_lines(run.err) == [f"{MEMORY}:12: translation memory: {aliases_message(text, 's')}: fix the YAML or restore the file from git"]
    assert (site / MEMORY).read_text(encoding="utf-8") == text


@pytest.mark.timeout(30)
def test_one_bad_date_in_a_20000_entry_memory_is_reported_with_its_line_quickly(stub, tmp_path, monkeypatch):
    text, bad_line = big_memory_text(20_000, bad_at=19_990)
    site = site_with_memory(tmp_path / "site", text, online(stub))
    monkeypatch.chdir(site)
    started = time.monotonic()
    run = run_cli("--config", "site.yml", "--quiet")
    seconds = time.monotonic() - started
    assert run.code == 1 and "Traceback" not in run.out + run.err
    assert problem_lines(run.err) == [
        f"{MEMORY}:{bad_line}: translation memory: invalid value '2026-02-30': it is not a valid date (YYYY-MM-DD): fix the YAML or restore the file from git"
    ]
    assert (site / MEMORY).read_text(encoding="utf-8") == text
    # Reading the memory once costs what it costs; reporting the date must not cost more.
    started = time.monotonic()
    parse_yaml(text.replace("date: 2026-02-30", "date: '2026-01-01'"))
    assert seconds < 2 * (time.monotonic() - started) + 1, seconds


# -- duplicated memory entries ---------------------------------------------------------------------------


@pytest.mark.timeout(15)
@pytest.mark.parametrize("reviewed_first", [True, False], ids=["reviewed first", "reviewed second"])
def test_a_duplicated_entry_never_hides_or_deletes_the_reviewed_translation(reviewed_first, stub, tmp_path, monkeypatch, parse_html):
    reviewed = entry_yaml(FIRST, "Reviewed by an editor.", reviewed=True)
    machine = entry_yaml(FIRST, "Machine text.", reviewed=False)
    text = HEADER + "entries:\n" + (reviewed + machine if reviewed_first else machine + reviewed)
    site = site_with_memory(tmp_path / "site", text, online(stub))
    monkeypatch.chdir(site)
    asked = len(stub.requests)
    run = run_cli("--config", "site.yml", "--quiet")
    assert run.code == 0 and "Traceback" not in run.out + run.err, run.err
    assert problem_lines(run.err) == [
        f"{MEMORY}:12: warning: entry duplicates the one at line 5 (same key {FIRST_KEY}): the reviewed one is kept; delete the other"
    ]
    assert [r["q"] for r in stub.requests[asked:]] == [SECOND], "only the missing paragraph is sent"
    assert english_paragraphs(site, parse_html)[0] == "Reviewed by an editor."
    entries = yaml.safe_load((site / MEMORY).read_text(encoding="utf-8"))["entries"]
    assert [(e["source"], e["translation"], e["reviewed"]) for e in entries if e["source"] == FIRST] == [(FIRST, "Reviewed by an editor.", True)]


@pytest.mark.timeout(10)
def test_two_unreviewed_duplicates_keep_one_with_a_warning(tmp_path, monkeypatch, parse_html):
    text = HEADER + "entries:\n" + entry_yaml(FIRST, "First machine text.", reviewed=False) + entry_yaml(FIRST, "Second machine text.", reviewed=False)
    site = site_with_memory(tmp_path / "site", text, {"translation": {"enabled": True}})
    monkeypatch.chdir(site)
    fake = FakeTranslator()
    result = build(site, translator_factory=lambda: fake)
    assert result.written
    assert [str(p) for p in result.problems] == [
        f"{MEMORY}:12: warning: entry duplicates the one at line 5 (same key {FIRST_KEY}): that one is kept; delete this one"
    ]
    assert fake.calls == [SECOND]
    assert english_paragraphs(site, parse_html) == ["First machine text.", fake_english(SECOND)]


@pytest.mark.timeout(10)
def test_two_reviewed_duplicates_saying_the_same_keep_one_with_a_warning(tmp_path, monkeypatch):
    text = HEADER + "entries:\n" + entry_yaml(FIRST, "Reviewed.", reviewed=True) + entry_yaml(FIRST, "Reviewed.", reviewed=True, at="1.7")
    site = site_with_memory(tmp_path / "site", text, {"translation": {"enabled": True}})
    monkeypatch.chdir(site)
    result = build(site, translator_factory=FakeTranslator)
    assert result.written
    assert [str(p) for p in result.problems] == [
        f"{MEMORY}:12: warning: entry duplicates the one at line 5 (same key {FIRST_KEY}), with the same reviewed translation: that one is kept; delete this one"
    ]


@pytest.mark.timeout(10)
def test_two_reviewed_duplicates_that_differ_are_an_error_and_the_file_is_left_for_an_editor(stub, tmp_path, monkeypatch):
    text = (
        HEADER + "entries:\n" + entry_yaml(FIRST, "One editor's words.", reviewed=True) + entry_yaml(SECOND, "Second.", reviewed=False, at="1.2")
        + entry_yaml(FIRST, "Another editor's words.", reviewed=True)
    )
    site = site_with_memory(tmp_path / "site", text, online(stub))
    monkeypatch.chdir(site)
    asked = len(stub.requests)
    run = run_cli("--config", "site.yml", "--quiet")
    assert run.code == 1 and "Traceback" not in run.out + run.err
    assert problem_lines(run.err) == [
        f"{MEMORY}:19: entry duplicates the one at line 5 (same key {FIRST_KEY}) and both are reviewed, with different translations: "
        "keep the right one and delete the other"
    ]
    assert (site / MEMORY).read_text(encoding="utf-8") == text, "neither is dropped"
    assert [p.name for p in (site / "translations").iterdir()] == ["news.txt.en.yml"]
    assert len(stub.requests) == asked and not (site / "_site").exists()


@pytest.mark.timeout(10)
def test_a_stale_reviewed_translation_whose_arabic_came_back_is_used_again_not_deleted(tmp_path, monkeypatch, parse_html):
    # The Arabic was edited (the reviewed entry went stale), then the edit was undone: the
    # reviewed translation is again the translation of that exact text.
    text = HEADER + "entries:\n" + entry_yaml(FIRST, "Reviewed by an editor.", reviewed=True, stale=True) + entry_yaml(SECOND, "Second.", reviewed=False, at="1.2")
    site = site_with_memory(tmp_path / "site", text, {"translation": {"enabled": True}})
    monkeypatch.chdir(site)
    fake = FakeTranslator()
    result = build(site, translator_factory=lambda: fake)
    assert result.written and fake.calls == []
    assert english_paragraphs(site, parse_html) == ["Reviewed by an editor.", "Second."]
    entries = yaml.safe_load((site / MEMORY).read_text(encoding="utf-8"))["entries"]
    assert [(e["translation"], e["reviewed"], e.get("stale", False)) for e in entries] == [("Reviewed by an editor.", True, False), ("Second.", False, False)]


# -- the memory file itself: what it is, where it leads, how big ----------------------------------------


@pytest.mark.timeout(10)
def test_memory_linked_to_dev_zero_is_refused_at_once(tmp_path):
    folder = tmp_path / "translations"
    folder.mkdir()
    path = folder / "news.txt.en.yml"
    path.symlink_to("/dev/zero")
    memory, problems = load_memory(path, "news.txt", "ar", "en", memory_dir=folder)
    assert memory is None
    assert [p.message for p in problems] == ["symbolic link leads outside the translation memory folder (to /dev/zero): copy the file in instead"]
    memory, problems = load_memory(path, "news.txt", "ar", "en")  # no folder to compare with: still no device
    assert memory is None
    assert [p.message for p in problems] == ["translation memory is not a regular file (a named pipe, socket or device): remove it or restore it from git"]


@pytest.mark.timeout(10)
def test_memory_that_is_a_named_pipe_is_refused_without_waiting(tmp_path):
    folder = tmp_path / "translations"
    folder.mkdir()
    os.mkfifo(folder / "news.txt.en.yml")
    memory, problems = load_memory(folder / "news.txt.en.yml", "news.txt", "ar", "en", memory_dir=folder)
    assert memory is None
    assert [p.message for p in problems] == ["translation memory is not a regular file (a named pipe, socket or device): remove it or restore it from git"]


@pytest.mark.timeout(10)
def test_memory_that_is_a_named_pipe_fails_the_build_and_stays_a_pipe(stub, tmp_path, monkeypatch):
    site = write_site(tmp_path / "site", {"content/news.txt": NEWS}, online(stub))
    (site / "translations").mkdir()
    os.mkfifo(site / MEMORY)
    monkeypatch.chdir(site)
    run = run_cli("--config", "site.yml", "--quiet")  # nothing writes to the pipe: any read of it would hang
    assert run.code == 1 and "Traceback" not in run.out + run.err
    assert problem_lines(run.err) == [f"{MEMORY}: translation memory is not a regular file (a named pipe, socket or device): remove it or restore it from git"]
    assert (site / MEMORY).is_fifo()


@pytest.mark.timeout(20)
def test_memory_linked_to_dev_zero_fails_the_build_at_once(stub, tmp_path, monkeypatch):
    site = write_site(tmp_path / "site", {"content/news.txt": NEWS}, online(stub))
    (site / "translations").mkdir()
    (site / MEMORY).symlink_to("/dev/zero")
    monkeypatch.chdir(site)
    run = run_cli("--config", "site.yml", "--quiet")  # the cache key read it whole before: memory ran out
    assert run.code == 1 and "Traceback" not in run.out + run.err
    assert problem_lines(run.err) == [f"{MEMORY}: symbolic link leads outside the translation memory folder (to /dev/zero): copy the file in instead"]
    assert (site / MEMORY).is_symlink()


@pytest.mark.timeout(10)
@pytest.mark.parametrize("link", ["file", "folder"])
def test_memory_linked_outside_its_folder_is_refused_and_nothing_is_written_there(link, stub, tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "news.txt.en.yml"
    secret.write_text("# someone else's file\n", encoding="utf-8")
    site = write_site(tmp_path / "site", {"content/news.txt": NEWS, "content/sub/more.txt": "نص آخر.\n"}, online(stub))
    (site / "translations").mkdir()
    if link == "file":
        (site / MEMORY).symlink_to(secret)
        refused, target = MEMORY, secret.resolve()
    else:
        (site / "translations" / "sub").symlink_to(outside, target_is_directory=True)
        refused, target = "translations/sub/more.txt.en.yml", outside.resolve() / "more.txt.en.yml"
    monkeypatch.chdir(site)
    run = run_cli("--config", "site.yml", "--quiet")
    assert run.code == 1 and "Traceback" not in run.out + run.err
    assert f"{refused}: symbolic link leads outside the translation memory folder (to {target}): copy the file in instead" in problem_lines(run.err)
    assert sorted(p.name for p in outside.iterdir()) == ["news.txt.en.yml"]
    assert secret.read_text(encoding="utf-8") == "# someone else's file\n"
    if link == "file":
        assert (site / MEMORY).is_symlink()


@pytest.mark.timeout(10)
def test_memory_linked_inside_its_folder_is_read(tmp_path):
    folder = tmp_path / "translations"
    (folder / "shared").mkdir(parents=True)
    entry = MemoryEntry(FIRST_KEY, FIRST, "First.", "libre", "2026-01-01", True, "1.1")
    save_memory(Memory(folder / "shared" / "news.txt.en.yml", "news.txt", "ar", "en", (entry,)))
    (folder / "news.txt.en.yml").symlink_to(Path("shared") / "news.txt.en.yml")
    memory, problems = load_memory(folder / "news.txt.en.yml", "news.txt", "ar", "en", memory_dir=folder)
    assert problems == [] and memory is not None and memory.entries == (entry,)


@pytest.mark.timeout(10)
def test_memory_that_is_a_folder_is_named_as_such(tmp_path):
    folder = tmp_path / "translations"
    (folder / "news.txt.en.yml").mkdir(parents=True)
    memory, problems = load_memory(folder / "news.txt.en.yml", "news.txt", "ar", "en", memory_dir=folder)
    assert memory is None
    assert [p.message for p in problems] == ["translation memory is a folder, not a file: rename or remove the folder"]


@pytest.mark.timeout(10)
def test_dangling_memory_link_is_refused(tmp_path):
    folder = tmp_path / "translations"
    folder.mkdir()
    (folder / "news.txt.en.yml").symlink_to(folder / "gone.yml")
    memory, problems = load_memory(folder / "news.txt.en.yml", "news.txt", "ar", "en", memory_dir=folder)
    assert memory is None
    assert [p.message for p in problems] == ["broken symbolic link: remove it or restore the file it points to"]


@pytest.mark.timeout(10)
def test_memory_over_the_size_limit_is_refused_unread(stub, tmp_path, monkeypatch):
    from sitegen.translation.memory import MAX_MEMORY_BYTES

    assert MAX_MEMORY_BYTES == 64 * 1024 * 1024
    site = write_site(tmp_path / "site", {"content/news.txt": NEWS}, online(stub))
    (site / "translations").mkdir()
    with open(site / MEMORY, "wb") as handle:
        handle.truncate(MAX_MEMORY_BYTES + 1)  # sparse: no disk used
    monkeypatch.chdir(site)
    run = run_cli("--config", "site.yml", "--quiet")
    assert run.code == 1 and "Traceback" not in run.out + run.err
    assert problem_lines(run.err) == [f"{MEMORY}: translation memory is too large (64.0 MB; the limit is 64 MB): restore it from git"]
    assert (site / MEMORY).stat().st_size == MAX_MEMORY_BYTES + 1


# -- the mode of a rewritten memory ------------------------------------------------------------------------


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_a_new_memory_gets_the_mode_the_umask_gives(mask, mode, tmp_path):
    site = write_site(tmp_path / "site", {"content/news.txt": NEWS}, {"translation": {"enabled": True}})
    with umask(mask):
        assert build(site, translator_factory=FakeTranslator).written
    assert mode_of(site / MEMORY) == mode


@pytest.mark.timeout(10)
def test_a_rewritten_memory_keeps_its_mode(tmp_path):
    path = tmp_path / "translations" / "a.txt.en.yml"
    entry = MemoryEntry(FIRST_KEY, FIRST, "First.", "libre", "2026-01-01", False, "1.1")
    with umask(0o077):
        save_memory(Memory(path, "a.txt", "ar", "en", (entry,)))
        assert mode_of(path) == 0o600
        path.chmod(0o664)
        save_memory(Memory(path, "a.txt", "ar", "en", (entry, entry)))
    assert mode_of(path) == 0o664
