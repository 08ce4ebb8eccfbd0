"""Finding and decoding source files: what counts as a source, and what is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from sitegen.content.sources import (
    decode_source,
    discover_sources,
    git_commit_dates,
    read_source,
)
from sitegen.core.diagnostics import Severity

TEXT = "نص المقال.\n"


def write(root: Path, rel: str, data: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def rels(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root.resolve()).as_posix() for p in paths]


# -- discovery -----------------------------------------------------------------------


def test_txt_and_md_found_recursively_and_sorted(tmp_path):
    for rel in ["b.txt", "a.md", "2012/02/homs.txt", "2012/notes.md", "deep/er/still.txt"]:
        write(tmp_path, rel, TEXT)
    found, problems = discover_sources(tmp_path)
    assert problems == []
    assert rels(found, tmp_path) == ["2012/02/homs.txt", "2012/notes.md", "a.md", "b.txt", "deep/er/still.txt"]


def test_other_file_types_are_not_sources(tmp_path):
    for rel in ["photo.png", "page.html", "data.json", "notes.rst", "a.txt"]:
        write(tmp_path, rel, TEXT)
    found, _ = discover_sources(tmp_path)
    assert rels(found, tmp_path) == ["a.txt"]


@pytest.mark.parametrize(
    "rel",
    ["x.txt~", ".#x.txt", "#x.txt#", "x.txt.bak", "x.md.bak", "x.txt.swp", ".hidden.txt", ".hidden/inside.txt", ".git/x.md", "~$x.txt"],
)
def test_hidden_files_and_editor_backups_are_ignored(tmp_path, rel):
    write(tmp_path, "real.txt", TEXT)
    write(tmp_path, rel, TEXT)
    found, problems = discover_sources(tmp_path)
    assert rels(found, tmp_path) == ["real.txt"]
    assert problems == []


def test_missing_content_folder_is_an_error(tmp_path):
    found, problems = discover_sources(tmp_path / "absent")
    assert found == []
    assert len(problems) == 1 and problems[0].is_error and "content folder not found" in problems[0].message


def test_symlink_to_a_file_outside_content_is_refused(tmp_path):
    content = tmp_path / "content"
    secret = write(tmp_path, "outside/secret.txt", "سر\n")
    write(content, "a.txt", TEXT)
    (content / "leak.txt").symlink_to(secret)
    found, problems = discover_sources(content)
    assert rels(found, content) == ["a.txt"]
    assert len(problems) == 1
    assert problems[0].is_error
    assert problems[0].path.endswith("leak.txt")
    assert "outside the content folder" in problems[0].message


def test_symlink_to_a_file_inside_content_is_accepted(tmp_path):
    content = tmp_path / "content"
    target = write(content, "a.txt", TEXT)
    (content / "b.txt").symlink_to(target)
    found, problems = discover_sources(content)
    assert rels(found, content) == ["a.txt", "b.txt"]
    assert problems == []


def test_symlinked_folder_is_not_followed(tmp_path):
    content = tmp_path / "content"
    write(content, "a.txt", TEXT)
    write(tmp_path, "elsewhere/x.txt", TEXT)
    (content / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    found, problems = discover_sources(content)
    assert rels(found, content) == ["a.txt"]
    assert [p.severity for p in problems] == [Severity.WARNING]


# -- decoding ------------------------------------------------------------------------


def test_bom_is_dropped():
    source, problems = decode_source("\ufeffسطر\n".encode("utf-8"), Path("/c/a.txt"), "a.txt")
    assert problems == []
    assert source.text == "سطر\n"


def test_crlf_and_lone_cr_become_lf():
    source, problems = decode_source("أ\r\nب\r\nج\rد".encode(), Path("/c/a.txt"), "a.txt")
    assert problems == []
    assert source.text == "أ\nب\nج\nد"
    assert "\r" not in source.text


def test_invalid_utf8_names_file_and_line():
    data = "سطر أول\nسطر ثان\n".encode() + b"bad \xff byte\n"
    source, problems = decode_source(data, Path("/c/broken.txt"), "broken.txt")
    assert source is None
    assert len(problems) == 1
    assert problems[0].path.endswith("broken.txt")
    assert problems[0].line == 3
    assert "UTF-8" in problems[0].message


def test_windows_1256_file_is_refused_not_garbled():
    data = "مرحبا\n".encode("cp1256")
    source, problems = decode_source(data, Path("/c/old.txt"), "old.txt")
    assert source is None and problems[0].line == 1


def test_a_windows_1256_file_is_named_as_such_with_the_command_that_converts_it():
    """Older Arabic archives are in Windows-1256; Latin-1 text (which reads as Arabic too, in
    part) gets no such hint."""
    arabic = "---\ntitle: خبر\n---\nقصف حي بابا عمرو في حمص، والأهالي في الأقبية.\n".encode("cp1256")
    french = "Un texte en français, écrit à côté du café.\n".encode("cp1252")
    (old,), (latin,) = decode_source(arabic, Path("/c/old.txt"), "old.txt")[1], decode_source(french, Path("/c/fr.txt"), "fr.txt")[1]
    assert "Windows-1256" in old.message and "iconv -f WINDOWS-1256 -t UTF-8" in old.message
    assert "UTF-8" in latin.message and "1256" not in latin.message


def test_binary_file_is_refused():
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    source, problems = decode_source(data, Path("/c/image.txt"), "image.txt")
    assert source is None
    assert problems[0].is_error and "binary" in problems[0].message


def test_kind_follows_suffix():
    assert decode_source(b"x", Path("/c/a.md"), "a.md")[0].kind == "md"
    assert decode_source(b"x", Path("/c/a.txt"), "a.txt")[0].kind == "txt"


def test_read_source_reports_relative_identity(tmp_path):
    path = write(tmp_path, "2012/a.txt", TEXT)
    source, problems = read_source(path.resolve(), tmp_path)
    assert problems == []
    assert source.rel == "2012/a.txt"


# -- through the build ----------------------------------------------------------------


def test_crlf_and_bom_never_reach_a_page(make_site, run_build):
    site = make_site({"content/a.txt": "\ufeffالسطر الأول.\r\nالسطر الثاني.\r\n===\r\nالجزء الثاني.\r\n"})
    run = run_build(site)
    assert run.returncode == 0, run.output
    pages = list((site / "_site").rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        data = page.read_bytes()
        assert b"\r" not in data, page
        assert "\ufeff".encode() not in data, page
    assert (site / "_site" / "ar" / "a-2.html").is_file()


def test_invalid_utf8_fails_the_build_naming_file_and_line(make_site, run_build):
    site = make_site({"content/good.txt": TEXT, "content/bad.txt": "أ\nب\n".encode() + b"\xc3\x28\n"})
    run = run_build(site)
    assert run.returncode == 1
    assert "bad.txt:3:" in run.stderr
    assert not (site / "_site").exists()


def test_binary_file_fails_the_build(make_site, run_build):
    site = make_site({"content/a.txt": TEXT, "content/blob.txt": b"\x00\x01\x02binary"})
    run = run_build(site)
    assert run.returncode == 1
    assert "blob.txt" in run.stderr and "binary" in run.stderr


def test_symlink_outside_fails_the_build(make_site, run_build, tmp_path):
    site = make_site({"content/a.txt": TEXT})
    secret = write(tmp_path, "private/passwords.txt", "كلمة السر\n")
    (site / "content" / "b.txt").symlink_to(secret)
    run = run_build(site)
    assert run.returncode == 1
    assert "b.txt" in run.stderr and "outside" in run.stderr
    assert not (site / "_site").exists()


def test_backups_are_not_published(make_site, run_build):
    site = make_site({"content/a.txt": TEXT, "content/a.txt~": "مسودة\n", "content/.#a.txt": "قفل\n", "content/.hidden/b.txt": "مخفي\n"})
    run = run_build(site)
    assert run.returncode == 0, run.output
    assert sorted(p.name for p in (site / "_site" / "ar").iterdir()) == ["a-1.html"]


# -- git dates ----------------------------------------------------------------------------


def git(repo: Path, *args: str, when: str | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull, "HOME": str(repo)}
    if when:
        env |= {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false", *args],
        cwd=repo, env=env, check=True, capture_output=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_dates_are_the_last_commit_of_each_file(tmp_path):
    repo = tmp_path / "repo"
    content = repo / "content"
    write(content, "a.txt", TEXT)
    write(content, "sub/b.txt", TEXT)
    write(content, "حمص بابا عمرو.txt", TEXT)  # non-ASCII and spaces: git must not quote the name
    write(repo, "outside.txt", TEXT)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first", when="2011-03-15T12:00:00+00:00")
    write(content, "sub/b.txt", TEXT + "إضافة\n")
    git(repo, "commit", "-q", "-am", "second", when="2012-02-24T12:00:00+00:00")
    assert git_commit_dates(content) == {
        "a.txt": date(2011, 3, 15),
        "sub/b.txt": date(2012, 2, 24),
        "حمص بابا عمرو.txt": date(2011, 3, 15),
    }


def test_no_git_dates_outside_a_repository(tmp_path):
    write(tmp_path / "content", "a.txt", TEXT)
    assert git_commit_dates(tmp_path / "content") == {}


def test_no_git_is_started_where_no_repository_can_be_found(tmp_path, monkeypatch):
    # No .git in the folder or above it, and no GIT_DIR: git could find no repository, so it
    # is not asked (every build, one with nothing to do included, paid 5-7 ms a question).
    from sitegen.content import sources

    if any(os.path.lexists(place / ".git") for place in tmp_path.parents):
        pytest.skip("the temporary folder lies in a git work tree")
    write(tmp_path / "content", "a.txt", TEXT)
    monkeypatch.delenv("GIT_DIR", raising=False)
    started = []
    monkeypatch.setattr(sources.subprocess, "run", lambda *a, **k: started.append(a) or pytest.fail("git started"))
    assert not sources.may_be_in_git(tmp_path / "content")
    assert sources.git_head(tmp_path / "content") is None and git_commit_dates(tmp_path / "content") == {}
    assert started == []


@pytest.mark.parametrize("marker", ["folder", "file"])
def test_a_git_folder_or_file_above_the_content_means_git_is_asked(tmp_path, monkeypatch, marker):
    from sitegen.content import sources

    monkeypatch.delenv("GIT_DIR", raising=False)
    content = tmp_path / "repo" / "site" / "content"
    write(content, "a.txt", TEXT)
    if marker == "folder":
        (tmp_path / "repo" / ".git").mkdir()
    else:  # a worktree's or a submodule's .git is a file naming the real one
        (tmp_path / "repo" / ".git").write_text("gitdir: /elsewhere\n", encoding="utf-8")
    assert sources.may_be_in_git(content)


def test_git_dir_in_the_environment_means_git_is_asked(tmp_path, monkeypatch):
    from sitegen.content import sources

    write(tmp_path / "content", "a.txt", TEXT)
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere.git"))
    assert sources.may_be_in_git(tmp_path / "content")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_head_of_a_repository_is_found(tmp_path):
    from sitegen.content.sources import git_head

    repo = tmp_path / "repo"
    write(repo / "content", "a.txt", TEXT)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first", when="2011-03-15T12:00:00+00:00")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert git_head(repo / "content") == head


# -- stat signatures, folder by folder -------------------------------------------------


def test_signatures_taken_from_each_folder_are_those_taken_by_path(tmp_path):
    # Each rel's folder opened once and its files stat'ed by name: the same signatures as a
    # stat of the whole path, missing files (None) and missing folders included, in order.
    from sitegen.core.hashing import stat_signature, stat_signatures

    folder = tmp_path / "translations"
    for rel in ("a.txt.en.yml", "2011/03/b.txt.en.yml", "2011/03/c.txt.en.yml", "2012/حمص.txt.en.yml", "2011/d.txt.en.yml"):
        write(folder, rel, "entries: []\n")
    (tmp_path / "real").mkdir()
    write(tmp_path / "real", "e.txt.en.yml", "x")
    os.symlink(tmp_path / "real", folder / "linked")
    rels = ["a.txt.en.yml", "2011/03/b.txt.en.yml", "2011/03/gone.txt.en.yml", "2011/03/c.txt.en.yml",
            "2012/حمص.txt.en.yml", "2013/none.txt.en.yml", "2011/d.txt.en.yml", "linked/e.txt.en.yml", "2011/03/b.txt.en.yml"]
    base = os.path.join(str(folder), "")
    taken = stat_signatures(base, rels)
    assert taken == [stat_signature(base + rel) for rel in rels]
    assert [s is None for s in taken] == [False, False, True, False, False, True, False, False, False]
    assert stat_signatures(base, []) == []


def test_signatures_of_a_folder_an_article_are_those_taken_by_path(tmp_path):
    # Memories each alone in its folder (an archive of a folder an article): stat'ed from a
    # descriptor of the year folder, by the rest of their path, with the same signatures as a
    # stat of the whole path (a missing one, a missing folder, a linked folder followed).
    from sitegen.core.hashing import stat_signature, stat_signatures

    folder = tmp_path / "translations"
    for name in ("a", "b", "c", "d", "e"):
        write(folder, f"2011/{name}/{name}.txt.en.yml", "entries: []\n")
    write(tmp_path / "real", "f.txt.en.yml", "x")
    os.symlink(tmp_path / "real", folder / "2011" / "f")
    rels = ["2011/a/a.txt.en.yml", "2011/b/b.txt.en.yml", "2011/b/gone.txt.en.yml", "2011/c/c.txt.en.yml", "2011/d/d.txt.en.yml",
            "2011/e/e.txt.en.yml", "2011/f/f.txt.en.yml", "2011/none/none.txt.en.yml", "z.txt.en.yml"]
    base = os.path.join(str(folder), "")
    taken = stat_signatures(base, rels)
    assert taken == [stat_signature(base + rel) for rel in rels]
    assert [s is None for s in taken] == [False, False, True, False, False, False, False, True, True]


def test_a_folders_folders_and_their_few_files_are_looked_at_from_its_descriptor(tmp_path, monkeypatch, settled):
    # Not by their whole path (the kernel would walk it all again for each): a folder an
    # article, stat'ed with its source by name from its year folder's descriptor.
    from sitegen.content import sources

    content = _bundles(tmp_path)
    known = _listing(content)[2]
    by_path = []
    real = os.lstat
    monkeypatch.setattr(sources.os, "lstat", lambda path, *args, **kwargs: by_path.append(path) or real(path, *args, **kwargs))
    assert _listing(content, known)[:2] == _listing(content)[:2]
    root = str(content.resolve()) + "/"
    below = [path for path in map(str, by_path) if path.startswith(root) and "/" in path[len(root):]]
    assert below == [], "a subfolder's folders and files looked at by their whole path"
    assert by_path, "the content folder itself is (it has no folder above it in the listing)"


def test_a_file_where_a_folder_should_be_fails_as_a_stat_by_path_does(tmp_path):
    from sitegen.core.hashing import stat_signature, stat_signatures

    write(tmp_path, "2011", "a file, not a folder")
    base = os.path.join(str(tmp_path), "")
    with pytest.raises(NotADirectoryError):
        stat_signature(base + "2011/a.txt.en.yml")
    with pytest.raises(NotADirectoryError):
        stat_signatures(base, ["2011/a.txt.en.yml"])


def test_sources_are_found_with_the_paths_a_walk_gives(tmp_path):
    # Listed through a descriptor a folder, each source still carries its whole path, as
    # os.walk joins it, and the stat signature of that path.
    from sitegen.content.sources import find_sources
    from sitegen.core.hashing import stat_signature

    content = tmp_path / "content"
    for rel in ("z.txt", "2011/03/a.md", "2011/b.txt", "حمص/ج.txt", "2011/03/.hidden.txt", "2011/notes.pdf"):
        write(content, rel, TEXT)
    found, problems = find_sources(content)
    walked = sorted(
        (os.path.relpath(os.path.join(top, name), content.resolve()).replace(os.sep, "/"), os.path.join(top, name))
        for top, _, names in os.walk(content.resolve()) for name in names
        if name.endswith((".txt", ".md")) and not name.startswith(".")
    )
    assert problems == []
    assert [(s.rel, s.path) for s in found] == walked
    assert [s.signature for s in found] == [stat_signature(path) for _, path in walked]


# -- folders' scans kept for the next listing ------------------------------------------


@pytest.fixture
def machine_clock(monkeypatch):
    """The file system's own clock unread, as on FAT or NFS: this machine's clock and the minute."""
    from sitegen.content import sources

    monkeypatch.setattr(sources, "file_system_clock", lambda folder: None)


@pytest.fixture
def settled(monkeypatch, machine_clock):
    """Every folder's scan kept, however lately it changed (a folder's ctime cannot be set
    back, and a test cannot wait the minute a real listing waits): the file system's own clock
    unread, and this machine's needing no time at all."""
    from sitegen.content import sources

    monkeypatch.setattr(sources, "SETTLED_NS", -1)


def _listing(content: Path, known=None):
    from sitegen.content.sources import find_sources_knowing

    found, problems, scans = find_sources_knowing(content, {} if known is None else known)
    return [(s.rel, s.path, s.signature) for s in found], [(p.path, p.message) for p in problems], scans


def _bundles(root: Path) -> Path:
    content = root / "content"
    for rel in ("2011/homs/homs.txt", "2011/hama/hama.md", "2012/idlib/a.txt", "2012/idlib/b.txt", "2012/idlib/c.txt",
                "2012/idlib/d.txt", "2012/idlib/photo.jpg", "z.txt"):
        write(content, rel, TEXT)
    return content


def _unmoved(known: dict, content: Path, folder: str) -> dict:
    """``known`` with the scan of ``folder`` as if its times had not moved since: what a file
    system that moves no times (or a clock set back) would give."""
    info = os.stat(content / folder)
    scan = known[folder + "/"]
    return {**known, folder + "/": (info.st_mtime_ns, info.st_ctime_ns, info.st_ino, *scan[3:])}


def test_a_kept_scan_spares_listing_its_folder_and_finds_the_same(tmp_path, monkeypatch, settled):
    from sitegen.content import sources

    content = _bundles(tmp_path)
    first = _listing(content)
    assert set(first[2]) == {"", "2011/", "2011/homs/", "2011/hama/", "2012/", "2012/idlib/"}
    listed = []
    real = os.scandir
    monkeypatch.setattr(sources.os, "scandir", lambda path: listed.append(path) or real(path))
    again = _listing(content, first[2])
    assert again == first and listed == []


@pytest.mark.parametrize("change", ["added", "removed", "mtime set back"])
def test_a_kept_folder_whose_entries_changed_is_listed_again(tmp_path, settled, change):
    content = _bundles(tmp_path)
    known = _listing(content)[2]
    folder = content / "2011" / "homs"
    before = os.stat(folder)
    if change == "removed":
        (folder / "homs.txt").unlink()
    else:
        write(folder, "second.txt", TEXT)
    if change == "mtime set back":  # as tar or rsync restore a folder's mtime: its ctime moves all the same
        os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert os.stat(folder).st_mtime_ns == known["2011/homs/"][0]
    found, problems, scans = _listing(content, known)
    assert (found, problems) == _listing(content)[:2]
    rels = [rel for rel, _, _ in found]
    assert ("2011/homs/homs.txt" in rels) is (change != "removed") and ("2011/homs/second.txt" in rels) is (change != "removed")
    assert scans["2011/homs/"][3] == sorted(name for name in os.listdir(folder))


def test_a_folder_changed_within_the_minute_is_not_kept_but_listed_every_time(tmp_path, monkeypatch, machine_clock):
    from sitegen.content import sources

    content = _bundles(tmp_path)
    time.sleep(0.1)
    write(content / "2012" / "idlib", "e.txt", TEXT)  # its folder changed 0.1 s after the others
    newest = os.stat(content / "2012" / "idlib")
    monkeypatch.setattr(sources, "SETTLED_NS", 80_000_000)  # 0.08 s here, for the minute
    monkeypatch.setattr(sources.time, "time_ns", lambda: max(newest.st_mtime_ns, newest.st_ctime_ns) + 50_000_000)
    scans = _listing(content)[2]
    assert "2012/idlib/" not in scans and {"", "2011/homs/", "2012/"} <= set(scans)
    listed = []
    real = os.scandir
    monkeypatch.setattr(sources.os, "scandir", lambda path: listed.append(path) or real(path))
    _listing(content, scans)
    assert listed == [str((content / "2012" / "idlib").resolve())]


def test_nothing_is_kept_of_a_folder_changed_in_the_last_minute_by_this_machines_clock(tmp_path, machine_clock):
    content = _bundles(tmp_path)
    assert _listing(content)[2] == {}


def _file_system_clock(folder: Path):
    from sitegen.content.sources import file_system_clock

    clock = file_system_clock(str(folder))
    if clock is None:
        pytest.skip("this file system makes no unnamed files (O_TMPFILE): its clock is not read")
    return clock


def test_the_file_system_clock_is_read_leaving_nothing_and_moving_no_folder(tmp_path):
    content = _bundles(tmp_path)
    before = os.stat(content)
    device, stamp = _file_system_clock(content)
    after = os.stat(content)
    assert device == before.st_dev
    assert abs(stamp - time.time_ns()) < 5_000_000_000  # the file system's clock is this machine's here
    assert sorted(os.listdir(content)) == ["2011", "2012", "z.txt"]
    assert (after.st_mtime_ns, after.st_ctime_ns, after.st_nlink) == (before.st_mtime_ns, before.st_ctime_ns, before.st_nlink)


def test_where_no_unnamed_file_can_be_made_the_file_systems_clock_is_not_read(tmp_path):
    from sitegen.content.sources import file_system_clock

    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    assert file_system_clock(str(tmp_path / "a.txt")) is None  # not a folder
    assert file_system_clock(str(tmp_path / "missing")) is None
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]


def test_folders_settled_by_the_file_systems_clock_are_kept_within_the_minute(tmp_path):
    # An archive copied, built and built again at once: by the file system's own clock its
    # folders changed long enough ago (SETTLED_MIN_NS), though not a minute ago.
    from sitegen.content import sources

    content = _bundles(tmp_path)
    _file_system_clock(content)
    time.sleep(sources.SETTLED_MIN_NS / 1e9 + 0.05)
    write(content / "2012" / "idlib", "e.txt", TEXT)  # its folder changed just now
    scans = _listing(content)[2]
    assert set(scans) == {"", "2011/", "2011/homs/", "2011/hama/", "2012/"}  # not 2012/idlib/


def test_a_folder_changed_within_the_file_systems_tick_margin_is_listed_again_when_it_changes(tmp_path, monkeypatch):
    # The race the margin guards against: a folder changed in the tick it is scanned in, then
    # again without its times moving (a clock that stamps both changes alike). Its scan is not
    # kept, so the second change is found.
    from sitegen.content import sources

    content = _bundles(tmp_path)
    folder = content / "2012" / "idlib"
    info = os.stat(folder)
    last = max(info.st_mtime_ns, info.st_ctime_ns)
    # The file system's clock in the same tick as the folder's last change, then well past it.
    monkeypatch.setattr(sources, "file_system_clock", lambda path: (info.st_dev, last + sources.SETTLED_MIN_NS - 1))
    assert "2012/idlib/" not in _listing(content)[2]
    monkeypatch.setattr(sources, "file_system_clock", lambda path: (info.st_dev, last + sources.SETTLED_MIN_NS))
    assert "2012/idlib/" in _listing(content)[2]


def test_a_clock_that_stamps_whole_seconds_waits_ten_of_them(tmp_path, monkeypatch):
    from sitegen.content import sources

    assert sources.clock_tick(1_765_000_000_123_456_789) == 1
    assert sources.clock_tick(1_765_000_000_120_000_000) == 10_000_000  # exFAT's hundredths
    assert sources.clock_tick(1_765_000_002_000_000_000) == 1_000_000_000  # FAT's two seconds, HFS+'s one
    assert sources.clock_tick(1_000_000_000_000_000_000) == 1_000_000_000  # no coarser than a second
    content = _bundles(tmp_path)
    info = os.stat(content / "2011" / "homs")
    last = max(info.st_mtime_ns, info.st_ctime_ns)
    whole = (last // 1_000_000_000 + 9) * 1_000_000_000  # a whole second, eight to nine after the change
    monkeypatch.setattr(sources, "file_system_clock", lambda path: (info.st_dev, whole))
    assert "2011/homs/" not in _listing(content)[2]
    monkeypatch.setattr(sources, "file_system_clock", lambda path: (info.st_dev, whole + 2_000_000_000))
    assert "2011/homs/" in _listing(content)[2]


def test_a_folder_on_another_device_than_the_clock_waits_the_minute(tmp_path, monkeypatch):
    # A file system mounted inside the content folder: its clock may be another's.
    from sitegen.content import sources

    content = _bundles(tmp_path)
    device = os.stat(content).st_dev
    monkeypatch.setattr(sources, "file_system_clock", lambda path: (device + 1, time.time_ns() + 3_600_000_000_000))
    assert _listing(content)[2] == {}


@pytest.mark.parametrize("rel", ["2012/idlib/b.txt", "2011/homs/homs.txt"], ids=["by-descriptor", "by-path"])
@pytest.mark.parametrize("change", ["removed", "pipe", "folder"])
def test_a_kept_scan_naming_a_file_gone_or_irregular_is_not_trusted(tmp_path, settled, change, rel):
    # A file system that moves no times (or a clock set back): a kept scan naming a file that
    # is gone, or no regular file any more, is not trusted; the folder is listed again. (A
    # folder of four sources or more has them stat'ed from its descriptor, one of fewer by path.)
    content = _bundles(tmp_path)
    known = _listing(content)[2]
    file = content / rel
    file.unlink()
    if change == "pipe":
        os.mkfifo(file)
    elif change == "folder":
        file.mkdir()
    known = _unmoved(known, content, rel.rpartition("/")[0])
    assert _listing(content, known)[:2] == _listing(content)[:2]
    assert rel not in [found for found, _, _ in _listing(content, known)[0]]


@pytest.mark.parametrize("rel", ["2012/idlib/b.txt", "2011/homs/homs.txt"], ids=["by-descriptor", "by-path"])
def test_a_kept_scan_naming_a_file_become_a_link_out_is_not_trusted(tmp_path, settled, rel):
    # A kept scan names no link (a folder holding one is never kept): a file replaced by a
    # link since, its folder's times unmoved, has its folder listed again, and the link out of
    # the content folder is refused as in any listing.
    content = _bundles(tmp_path)
    known = _listing(content)[2]
    write(tmp_path, "outside.txt", TEXT)
    file = content / rel
    file.unlink()
    os.symlink(tmp_path / "outside.txt", file)
    known = _unmoved(known, content, rel.rpartition("/")[0])
    found, problems, _ = _listing(content, known)
    assert (found, problems) == _listing(content)[:2]
    assert rel not in [r for r, _, _ in found] and any("leads outside the content folder" in message for _, message in problems)


def test_a_kept_subfolder_become_a_link_out_is_not_followed(tmp_path, settled):
    content = _bundles(tmp_path)
    known = _listing(content)[2]
    write(tmp_path / "elsewhere", "secret.txt", TEXT)
    shutil.rmtree(content / "2011" / "homs")
    os.symlink(tmp_path / "elsewhere", content / "2011" / "homs")
    known = _unmoved(known, content, "2011")
    rels = [r for r, _, _ in _listing(content, known)[0]]
    assert not any(r.startswith("2011/homs/") for r in rels) and "2011/hama/hama.md" in rels


def test_scans_naming_paths_are_never_followed(tmp_path, settled):
    # The scans come from a file in the cache folder: one naming a path (planted, or damaged)
    # is ignored, and the folder listed as it is.
    content = _bundles(tmp_path)
    write(tmp_path, "outside.txt", TEXT)
    fresh = _listing(content)
    info = os.stat(content)
    times = (info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
    for names in (["../outside.txt"], ["..", "x.txt"], ["a/../../outside.txt"], [b"z.txt"], [None], ["z.txt\0"]):
        planted = dict(fresh[2])
        planted[""] = (*times, names, ["2011", "2012"])
        assert _listing(content, planted)[:2] == fresh[:2], names
        planted[""] = (*times, ["z.txt"], names)
        assert _listing(content, planted)[:2] == fresh[:2], names
    for damaged in (times[:1], [*times, ["z.txt"], []], "x", (*times, "z.txt", []), (*times, ["z.txt"])):
        assert _listing(content, {**fresh[2], "": damaged})[:2] == fresh[:2]


def test_folders_with_links_or_problems_are_never_kept(tmp_path, settled):
    content = _bundles(tmp_path)
    os.symlink(content / "z.txt", content / "2011" / "homs" / "link.txt")
    os.mkfifo(content / "2011" / "hama" / "pipe.txt")
    os.symlink(content / "2011", content / "2012" / "folder-link")
    found, problems, scans = _listing(content)
    assert "2011/homs/link.txt" in [rel for rel, _, _ in found]
    assert len(problems) == 2  # the pipe, the linked folder
    assert {"2011/homs/", "2011/hama/", "2012/"}.isdisjoint(scans) and "2012/idlib/" in scans
    assert _listing(content, scans)[:2] == (found, problems)


def test_the_file_of_scans_is_a_hint_and_a_damaged_one_is_ignored(tmp_path, settled):
    import marshal

    from sitegen.config import load_config
    from sitegen.pipeline.listing import keep_scans, list_sources, read_scans, scans_path

    (tmp_path / "site.yml").write_text("title: t\n", encoding="utf-8")
    content = _bundles(tmp_path)
    config = load_config(tmp_path / "site.yml")
    first = list_sources(config)
    assert first[5] is not None and set(first[5]) >= {"", "2012/idlib/"}
    keep_scans(config, first)
    assert read_scans(scans_path(config)) == first[5]
    again = list_sources(config)
    assert again[:5] == first[:5] and again[5] is None, "nothing to keep again"
    for damage in (b"", b"\x00garbage", marshal.dumps([1, 2]), marshal.dumps("x")):
        scans_path(config).write_bytes(damage)
        assert read_scans(scans_path(config)) == {}
        assert list_sources(config)[:5] == first[:5]
    assert (content / "z.txt").is_file()
