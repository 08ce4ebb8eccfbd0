"""Hostile input and faults, through the command line: one clear message per problem, and
nothing executes, nothing leaks, nothing is lost.

``tests/hostile/content/`` and ``tests/hostile/memory/`` hold nasty input files, each beside
the exact messages it must give (``<case>.expected``, described in tests/hostile/README.md).
Inputs too big or too odd to commit (50 MB, a named pipe, symbolic links, names that are not
UTF-8) are generated here. Kills and concurrent builds are in test_crash.py; property tests
in test_properties.py; the page checks shared with them in safety.py.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.etree import ElementTree

import pytest
import yaml

import sitegen.pipeline.drafts
import sitegen.pipeline.engine
import sitegen.pipeline.files
import sitegen.pipeline.finishing
import sitegen.pipeline.stages
import sitegen.pipeline.staging
from sitegen.pipeline.staging import MARKER
from sitegen.translation.memory import load_memory
from sitegen.translation.translator import FakeTranslator
from tests.libre_stub import LibreStub, default_translate
from tests.safety import Baseline, site_problems
from tests.sitekit import build, run_cli, tree_bytes, write_site

CORPUS = Path(__file__).resolve().parent / "hostile"
CONTENT_CASES = sorted(p for p in (CORPUS / "content").iterdir() if not p.name.endswith(".expected"))
MEMORY_CASES = sorted((CORPUS / "memory").glob("*.en.yml"))
NEWS = "الفقرة الأولى عن حمص.\nالفقرة الثانية عن السوق.\n"  # the source file of every memory case


@dataclass(frozen=True)
class Expected:
    exit_code: int
    lines: tuple[str, ...]
    segments: int | None = None  # how many segment pages the build publishes


def read_expected(path: Path, **placeholders: str) -> Expected:
    exit_code, segments, lines = None, None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# exit "):
            exit_code = int(line.split()[2])
            continue
        if line.startswith("# segments "):
            segments = int(line.split()[2])
            continue
        for name, value in placeholders.items():
            line = line.replace("{" + name + "}", value)
        lines.append(line)
    assert exit_code is not None, f"{path} has no '# exit N' line"
    return Expected(exit_code, tuple(lines), segments)


def problem_lines(stderr: str) -> list[str]:
    """What a build reported, one line per problem (the closing 'build failed' line aside)."""
    return [line for line in stderr.splitlines() if not line.startswith("build failed:")]


def install(case: Path, content: Path) -> None:
    if case.is_dir():
        shutil.copytree(case, content / case.name)
    else:
        shutil.copyfile(case, content / case.name)



# -- the content corpus -------------------------------------------------------------------------


@pytest.mark.parametrize("case", CONTENT_CASES, ids=lambda p: p.name)
def test_content_corpus_case_gives_exactly_its_messages(case, make_site, run_build, monkeypatch, tmp_path):
    site = make_site()
    install(case, site / "content")
    monkeypatch.chdir(site)  # messages name files as the user typed them: content/...
    expected = read_expected(case.with_name(case.name + ".expected"), case=f"content/{case.name}")
    for args in ((), ("--debug",)):  # --debug changes nothing for a user's mistake: still no traceback
        run = run_build(site, "--quiet", *args)
        assert "Traceback" not in run.output
        assert problem_lines(run.stderr) == list(expected.lines), args
        assert run.returncode == expected.exit_code, run.output
        if expected.exit_code:
            assert not (site / "_site").exists(), "an error publishes nothing"
        else:
            assert len(list((site / "_site" / "ar").glob("*.html"))) == expected.segments
    assert not list(tmp_path.rglob("hostile-ran")), "a YAML tag ran a command"


# -- inputs generated in tmp --------------------------------------------------------------------


def _huge(content: Path, tmp: Path) -> Expected:
    size = 50 * 1024 * 1024
    line = ("نص مقال طويل جدا لا ينتهي " * 20 + "\n").encode()
    with open(content / "huge.txt", "wb") as handle:
        handle.write(line * (size // len(line)) + b"x" * (size % len(line)))
    return Expected(1, ("content/huge.txt: file is too large (52.4 MB; the limit is 10 MB): split it into several files",))


def _nul_after_8k(content: Path, tmp: Path) -> Expected:
    (content / "nul.txt").write_bytes(("سطر سليم\n" * 1000).encode() + b"a\x00b\n")  # past the 8 KB sniffed for binaries
    return Expected(1, ("content/nul.txt:1001: NUL character in text: remove it (the file may be damaged)",))


def _link_outside(content: Path, tmp: Path) -> Expected:
    secret = tmp / "outside" / "secret.txt"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text("كلمة السر\n", encoding="utf-8")
    (content / "leak.txt").symlink_to(secret)
    return Expected(1, (f"content/leak.txt: symbolic link leads outside the content folder (to {secret.resolve()}): copy the file in instead",))


def _dangling_link(content: Path, tmp: Path) -> Expected:
    (content / "dangling.txt").symlink_to(content / "nowhere.txt")
    return Expected(1, ("content/dangling.txt: broken symbolic link: remove it or restore the file it points to",))


def _named_pipe(content: Path, tmp: Path) -> Expected:
    os.mkfifo(content / "pipe.txt")
    return Expected(1, ("content/pipe.txt: not a regular file (a named pipe, socket or device): remove it from the content folder",))


def _name_not_utf8(content: Path, tmp: Path) -> Expected:
    name = os.fsdecode(b"caf\xe9.txt")  # Latin-1 bytes: os.walk gives them back surrogate-escaped
    (content / name).write_text("نص\n", encoding="utf-8")
    folder = os.fsdecode(b"\xe9t\xe9")
    (content / folder).mkdir()
    (content / folder / "inside.txt").write_text("نص\n", encoding="utf-8")
    # Printed escaped, as a terminal showed them before (backslashreplace): \udce9 for the byte 0xe9.
    shown = lambda text: text.encode("ascii", "backslashreplace").decode("ascii")  # noqa: E731
    return Expected(1, (f"content/{shown(folder)}: folder name is not valid UTF-8: rename it (its files are skipped)", f"content/{shown(name)}: file name is not valid UTF-8: rename it"))


GENERATED: dict[str, Callable[[Path, Path], Expected]] = {
    "50 MB file": _huge,
    "NUL after the first 8 KB": _nul_after_8k,
    "symlink outside content_dir": _link_outside,
    "dangling symlink": _dangling_link,
    "named pipe": _named_pipe,
    "name not UTF-8": _name_not_utf8,
}


@contextmanager
def pipes_never_block(content: Path):
    """A build that opens a named pipe for reading waits for a writer for ever: be that writer
    (open, close), so that such a build fails on the test's assertions instead of hanging."""
    stop = threading.Event()

    def unblock() -> None:
        while not stop.wait(0.2):
            for pipe in [p for p in content.rglob("*") if p.is_fifo()]:
                try:
                    fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO unless someone reads
                except OSError:
                    continue
                os.close(fd)

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("name", GENERATED)
def test_generated_hostile_input_gives_exactly_its_message(name, make_site, run_build, monkeypatch, tmp_path):
    site = make_site({"content/good.txt": "نص سليم.\n"})
    expected = GENERATED[name](site / "content", tmp_path)
    monkeypatch.chdir(site)
    with pipes_never_block(site / "content"):
        run = run_build(site, "--quiet")
    assert "Traceback" not in run.output
    assert problem_lines(run.stderr) == list(expected.lines)
    assert run.returncode == expected.exit_code
    assert not (site / "_site").exists()


def test_every_problem_of_every_case_in_one_run_once_each(make_site, run_build, monkeypatch, tmp_path):
    site = make_site()
    content = site / "content"
    wanted: list[str] = []
    for case in CONTENT_CASES:
        install(case, content)
        wanted += read_expected(case.with_name(case.name + ".expected"), case=f"content/{case.name}").lines
    for make in GENERATED.values():
        wanted += make(content, tmp_path).lines
    monkeypatch.chdir(site)
    with pipes_never_block(content):
        run = run_build(site, "--quiet")
    assert run.returncode == 1
    assert "Traceback" not in run.output
    assert sorted(problem_lines(run.stderr)) == sorted(wanted), "each problem exactly once, all of them in one run"
    assert run.stderr.rstrip().endswith("build failed: the previous site is untouched")
    assert not (site / "_site").exists()


@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_a_100000_character_paragraph_is_published_whole(suffix, make_site, run_build, parse_html):
    words = ["حمص", "المدينة", "القصف", "الأهالي", "السوق", "اليوم"]
    paragraph = " ".join(words[i % len(words)] for i in range(30_000))[:100_000].rstrip()
    assert len(paragraph) >= 99_990
    site = make_site({f"content/long{suffix}": paragraph + "\n"})
    started = time.monotonic()
    run = run_build(site, "--quiet")
    assert run.returncode == 0, run.output
    assert time.monotonic() - started < 30
    page = parse_html(site / "_site" / "ar" / "long-1.html")
    assert page.body_paragraphs == [paragraph]
    assert 0 < len(page.h1[0]) <= 90, "the derived title is cut"


# -- the translation memory corpus -----------------------------------------------------------------


@pytest.mark.parametrize("case", MEMORY_CASES, ids=lambda p: p.name[: -len(".en.yml")])
def test_unreadable_memory_is_reported_with_file_and_line_and_never_overwritten(case, stub, monkeypatch, tmp_path):
    settings = {"enabled": True, "provider": "libre", "url": stub.url, "timeout": 2, "retries": 0}
    site = write_site(tmp_path / "site", {"content/news.txt": NEWS}, {"translation": settings})
    memory = site / "translations" / "news.txt.en.yml"
    memory.parent.mkdir()
    shutil.copyfile(case, memory)
    expected = read_expected(case.with_name(case.name[: -len(".en.yml")] + ".expected"), memory="translations/news.txt.en.yml")
    monkeypatch.chdir(site)
    asked = len(stub.requests)
    run = run_cli("--config", "site.yml", "--quiet")  # online: the build would translate and save if it could read the memory
    assert "Traceback" not in run.out + run.err
    assert problem_lines(run.err) == list(expected.lines)
    assert run.code == expected.exit_code == 1
    assert memory.read_bytes() == case.read_bytes(), "a memory the build could not read is never rewritten"
    assert [p.name for p in memory.parent.iterdir()] == ["news.txt.en.yml"], "no temporary file left beside it"
    assert len(stub.requests) == asked, "nothing is translated into a memory that cannot be saved"
    assert not (site / "_site").exists()
    assert not list(tmp_path.rglob("hostile-ran"))


def test_source_file_named_with_a_line_break_keeps_a_readable_memory(tmp_path):
    # The memory's header comment names the source file: a line break in the name ended the
    # comment, the memory written was not YAML, and the next build lost every translation in it.
    name = "تقرير\nثان.txt"
    site = write_site(tmp_path / "site", {f"content/{name}": "---\nslug: report\n---\nنص التقرير.\n"}, {"translation": {"enabled": True}})
    assert build(site, translator_factory=FakeTranslator).written
    memory, problems = load_memory(site / "translations" / f"{name}.en.yml", name, "ar", "en")
    assert memory is not None and len(memory.entries) == 1, problems
    again = FakeTranslator()
    result = build(site, translator_factory=lambda: again)
    assert not result.failed and again.calls == [], "the next build finds the translation"


# -- configuration that would let a build destroy what is not its own --------------------------------


def line_of(path: Path, key: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if line.strip().startswith(f"{key}:"))


@pytest.mark.parametrize(
    "settings, out, key, memory, setting",
    [
        ({"output_dir": "translations"}, None, "output_dir", "translations", "'output_dir'"),
        ({"translation": {"memory_dir": "_site/memory"}}, None, "memory_dir", "_site/memory", "'output_dir'"),
        ({}, "translations", None, "translations", "--out"),
    ],
    ids=["output_dir is the memory folder", "memory folder inside output_dir", "--out is the memory folder"],
)
def test_output_folder_holding_the_translation_memory_is_refused(settings, out, key, memory, setting, make_site, run_build, monkeypatch):
    # Every build replaces the output folder whole: translations saved in it went with the old site.
    translation = {"enabled": True, **settings.get("translation", {})}
    site = make_site({"content/a.txt": "نص.\n"}, config={**settings, "translation": translation})
    (site / "translations").mkdir()  # empty, as in a new project: the output folder checks let it through
    monkeypatch.chdir(site)
    run = run_build(site, *(("--out", str(site / out)) if out else ()))
    assert run.returncode == 1 and "Traceback" not in run.output
    where = f"site.yml:{line_of(site / 'site.yml', key)}" if key else "site.yml"
    [message] = problem_lines(run.stderr)
    assert message.startswith(f"{where}: translation memory folder {site / memory} is "), message
    assert "which every build replaces: the translations would be deleted" in message and setting in message
    assert list((site / "translations").iterdir()) == [] and not (site / "_site").exists()


def test_output_folder_that_is_the_build_cache_is_refused(make_site, run_build, monkeypatch):
    site = make_site({"content/a.txt": "نص.\n"}, config={"output_dir": ".cache"})
    monkeypatch.chdir(site)
    run = run_build(site)
    assert run.returncode == 1
    line = line_of(site / "site.yml", "output_dir")
    assert problem_lines(run.stderr) == [f"site.yml:{line}: output folder {site / '.cache'} is the build cache's folder: set 'output_dir' to a folder of its own, e.g. _site"]
    assert not (site / ".cache").exists()


# -- --debug ------------------------------------------------------------------------------------------


def test_only_debug_shows_a_traceback_for_an_unexpected_failure(make_site, run_build, monkeypatch):
    site = make_site({"content/a.txt": "نص.\n"})

    def broken(config, options, listing=None):
        raise RuntimeError("boom inside the build")

    monkeypatch.setattr(sitegen.pipeline.stages, "build_site", broken)
    plain = run_build(site)
    assert plain.returncode == 1
    assert plain.stderr.splitlines() == ["error: unexpected failure (RuntimeError: boom inside the build); run again with --debug and report it"]
    debug = run_build(site, "--debug")
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "RuntimeError: boom inside the build" in debug.stderr


# -- the output cannot be written -----------------------------------------------------------------------


def _fail_on_call(real: Callable, number: int, code: int):
    """``real``, except that call ``number`` raises OSError(code) naming its path, as the kernel would."""
    calls = {"n": 0}

    def wrapper(path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == number:
            raise OSError(code, os.strerror(code), str(path))
        return real(path, *args, **kwargs)

    return wrapper


FAULT_POINTS = {
    "first page": lambda mp, code: mp.setattr(sitegen.pipeline.finishing, "replace_file", _fail_on_call(sitegen.pipeline.finishing.replace_file, 1, code)),
    "seventh page": lambda mp, code: mp.setattr(sitegen.pipeline.finishing, "replace_file", _fail_on_call(sitegen.pipeline.finishing.replace_file, 7, code)),
    "spool": lambda mp, code: mp.setattr(sitegen.pipeline.drafts.DraftSpool, "add", _fail_on_call(sitegen.pipeline.drafts.DraftSpool.add, 3, code)),
    "index or search file": lambda mp, code: mp.setattr(sitegen.pipeline.engine, "replace_file", _fail_on_call(sitegen.pipeline.engine.replace_file, 1, code)),
    "output marker": lambda mp, code: mp.setattr(Path, "write_bytes", _fail_marker(Path.write_bytes, code)),
    "swap into place": lambda mp, code: mp.setattr(sitegen.pipeline.staging, "swap_into_place", _failing_swap(code)),
}


def _failing_swap(code: int):
    def swap_into_place(staging: Path, output_dir: Path) -> None:
        raise OSError(code, os.strerror(code), str(output_dir))

    return swap_into_place


def _fail_marker(real: Callable, code: int):
    def write_bytes(self, data):
        if self.name == MARKER:
            raise OSError(code, os.strerror(code), str(self))
        return real(self, data)

    return write_bytes


def wait_for_leftovers_to_go(site: Path, timeout: float = 20.0) -> list[str]:
    """Names beside the output folder other than it, its lock and its spare (the next build's
    starting point, a hard-linked copy), once background removals are done."""
    deadline = time.monotonic() + timeout
    while True:
        left = sorted(p.name for p in site.glob("._site.*") if p.name not in ("._site.lock", "._site.spare"))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@pytest.mark.parametrize("code", [errno.EACCES, errno.ENOSPC], ids=["permission denied", "disk full"])
@pytest.mark.parametrize("point", FAULT_POINTS)
def test_unwritable_output_is_a_clear_error_and_the_previous_site_stands(point, code, make_site, run_build, monkeypatch):
    article = "\n===\n".join(f"الجزء رقم {n} من المقال." for n in range(1, 13))
    site = make_site({"content/a.txt": article, "content/b.md": "مقال ثان."})
    assert run_build(site).returncode == 0
    before = tree_bytes(site / "_site")
    (site / "content" / "a.txt").write_text(article.replace("من المقال", "من المقال المعدل"), encoding="utf-8")
    with monkeypatch.context() as patch:
        FAULT_POINTS[point](patch, code)
        run = run_build(site)
    assert run.returncode == 1
    assert "Traceback" not in run.output
    [message] = problem_lines(run.stderr)
    assert message.startswith(f"error: cannot write the site ({os.strerror(code)}: ")
    assert message.endswith("); the previous site is untouched")
    assert tree_bytes(site / "_site") == before
    assert wait_for_leftovers_to_go(site) == [], "the half-made site is removed"
    again = run_build(site)  # the disk has room again
    assert again.returncode == 0, again.output
    assert "المعدل" in (site / "_site" / "ar" / "a-1.html").read_text(encoding="utf-8")


# -- sources that vanish or change while the site is built -----------------------------------------


def test_file_vanishing_during_the_build_is_an_error_naming_it(make_site, run_build, monkeypatch):
    site = make_site({"content/a.txt": "أ.\n", "content/b.txt": "ب.\n"})
    assert run_build(site).returncode == 0
    before = tree_bytes(site / "_site")
    (site / "content" / "b.txt").write_text("ب معدل.\n", encoding="utf-8")
    real = sitegen.pipeline.files.read_source_bytes

    def vanishing(path):
        if path.name == "b.txt":
            path.unlink()  # deleted between the listing of content/ and its reading
        return real(path)

    monkeypatch.setattr(sitegen.pipeline.files, "read_source_bytes", vanishing)
    monkeypatch.chdir(site)
    run = run_build(site)
    assert run.returncode == 1 and "Traceback" not in run.output
    assert problem_lines(run.stderr) == ["content/b.txt: file vanished while the site was being built: build again once it is back or gone"]
    assert tree_bytes(site / "_site") == before
    monkeypatch.undo()
    assert run_build(site).returncode == 0
    assert not (site / "_site" / "ar" / "b-1.html").exists()


@pytest.mark.parametrize("moment", ["before it is read", "after its pages are made"])
def test_file_changing_during_the_build_is_caught_up_by_the_next_one(moment, make_site, run_build, monkeypatch, tmp_path):
    site = make_site({"content/a.txt": "النص الأول.\n", "content/b.txt": "مقال آخر.\n"})
    assert run_build(site).returncode == 0
    (site / "content" / "a.txt").write_text("النص الثاني.\n", encoding="utf-8")
    real = sitegen.pipeline.files.process_file
    final = "النص الثالث، وهو أطول من سابقه.\n"  # another size: the change shows even within one clock tick

    def editing(task, context):
        if task.rel == "a.txt" and moment == "before it is read":
            task.path.write_text(final, encoding="utf-8")
        outcome = real(task, context)
        if task.rel == "a.txt" and moment != "before it is read":
            task.path.write_text(final, encoding="utf-8")
        return outcome

    with monkeypatch.context() as patch:
        patch.setattr(sitegen.pipeline.files, "process_file", editing)
        assert run_build(site).returncode == 0
    assert run_build(site).returncode == 0
    twin = tmp_path / "twin"
    shutil.copytree(site, twin, ignore=shutil.ignore_patterns("_site", ".cache", "._site*"))
    assert run_build(twin).returncode == 0
    assert tree_bytes(site / "_site") == tree_bytes(twin / "_site"), "the next build equals a full build of the final text"
    assert "النص الثالث" in (site / "_site" / "ar" / "a-1.html").read_text(encoding="utf-8")


# -- nothing executes: a hostile sample site ---------------------------------------------------------


HOSTILE_MD = """\
---
title: "</title><script>alert('title')</script>"
author: "\\"><img src=x onerror=alert('author')>"
tags: ["<svg onload=alert('tag')>", "حمص"]
summary: "</script><script>alert('summary')</script> ملخص"
---
نص عادي قبل الهجوم.

<script>alert('raw')</script>
<style>body{display:none}</style>
<iframe src="javascript:alert('iframe')"></iframe>
<object data="data:text/html,<script>alert(1)</script>"></object><embed src="javascript:alert(1)">
<form action="javascript:alert(1)"><input type=submit formaction="javascript:alert(2)"></form>
<img src=x onerror="alert('img')"> <svg><script>alert('svg')</script></svg>
<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')>

<a href="javascript:alert('a')">رابط</a> <a href="JaVaScRiPt:alert(1)">رابط</a> <a href="java&#x09;script:alert(1)">رابط</a>
<a href=" &#14; javascript:alert(1)">رابط</a> <a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">بيانات</a>
<a href="vbscript:msgbox(1)">vb</a> <p onclick="alert('p')" onmouseover=alert(1) style="background:url(javascript:alert(1))">فقرة</p>
<meta http-equiv="refresh" content="0;url=javascript:alert(1)"><base href="javascript:alert(1)//">
<noscript><p title="</noscript><img src=x onerror=alert('noscript')>"></noscript>
<!-- <script>alert('comment')</script> -->

[رابط ماركداون](javascript:alert('md')) و[آخر](data:text/html,hi) و<javascript:alert('auto')>

![صورة](javascript:alert('image'))

[مرجع][1]

[1]: javascript:alert('ref')

```html
<script>alert('in code')</script>
```

نص عادي بعد الهجوم: &lt;script&gt; حرفيا.
===
---
title: العنوان الثاني
---
الجزء الثاني مع <b onmouseover=alert(1)>عريض</b> و`</script>` في الشيفرة.
"""
HOSTILE_TXT = "<script>alert('txt')</script>\n<img src=x onerror=alert('txt')>\njavascript:alert(1)\n</p></div></main><script>alert(1)</script>\n"
TRAVERSAL = {
    "content/traversal.txt": ("---\nslug: ../../../escaped\n---\nنص.\n", "content/traversal.txt:2: slug '../../../escaped' contains a path separator"),
    "content/traversal2.md": ('---\nslug: "..\\\\..\\\\evil"\n---\nنص.\n', "content/traversal2.md:2: slug '..\\\\..\\\\evil' contains a path separator"),
    "content/sub/a..b.txt": ("نص.\n", "content/sub/a..b.txt:1: slug 'sub-a..b-1' contains '..'"),
}
BENIGN = {
    "content/2012-02-20-benign.md": "---\ntitle: عنوان\ntags: [حمص]\n---\nنص *مهم* و[رابط](other.html).\n\n- أ\n- ب\n===\nالجزء الثاني.",
    "content/2012-02-21-plain.txt": "سطر أول.\nسطر ثان.\n===\nالجزء الثاني.",
}


def hostile_reply(text: str) -> str:
    return f"<script>alert('tr')</script> {default_translate(text)} <img src=x onerror=alert('tr')> <a href=\"javascript:alert(1)\">x</a> </p></div><iframe src=javascript:alert(1)>"


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


def test_hostile_site_builds_into_pages_that_run_nothing_and_writes_only_its_own_files(tmp_path, parse_html, monkeypatch):
    config = {"base_url": "https://example.org/news/"}
    with LibreStub() as good:
        benign = write_site(tmp_path / "benign", BENIGN, {**config, "translation": {"enabled": True, "provider": "libre", "url": good.url, "retries": 0}})
        assert run_cli("--config", str(benign / "site.yml"), "--quiet").code == 0
    baseline = Baseline.of_site(benign / "_site")

    with LibreStub(translate=hostile_reply) as evil:
        translation = {"enabled": True, "provider": "libre", "url": evil.url, "retries": 0}
        files = {"content/2012-02-24-xss.md": HOSTILE_MD, "content/2012-02-25-xss.txt": HOSTILE_TXT} | {k: v for k, (v, _) in TRAVERSAL.items()}
        site = write_site(tmp_path / "site", files, {**config, "translation": translation})
        before = files_under(tmp_path)
        monkeypatch.chdir(site)
        refused = run_cli("--config", "site.yml", "--quiet")
        assert refused.code == 1 and "Traceback" not in refused.err
        for _, message in TRAVERSAL.values():
            assert sum(line.startswith(message) for line in problem_lines(refused.err)) == 1, message
        assert len(problem_lines(refused.err)) == len(TRAVERSAL)
        assert not (site / "_site").exists()
        new = files_under(tmp_path) - before
        assert all(n.startswith(("site/.cache/", "site/translations/")) or n == "site/._site.lock" for n in new), sorted(new)

        for rel in TRAVERSAL:
            (site / rel).unlink()
        built = run_cli("--config", "site.yml", "--quiet")
        assert built.code == 0, built.err
        assert evil.requests, "the hostile replies were really fetched"
    assert wait_for_leftovers_to_go(site) == []
    new = files_under(tmp_path) - before
    assert all(n.startswith(("site/_site/", "site/._site.spare/", "site/.cache/", "site/translations/")) or n == "site/._site.lock" for n in new), sorted(new)
    assert not list(tmp_path.rglob("escaped*")) and not list(tmp_path.rglob("evil*"))

    out = site / "_site"
    assert site_problems(out, baseline) == []
    # The hostile text is there, shown as text: the checks above did not pass on empty pages.
    md_page, txt_page = parse_html(out / "ar" / "2012-02-24-xss-1.html"), parse_html(out / "ar" / "2012-02-25-xss-1.html")
    assert md_page.h1 == ["</title><script>alert('title')</script>"]
    assert txt_page.body_paragraphs == HOSTILE_TXT.splitlines()
    english = parse_html(out / "en" / "2012-02-25-xss-1.html")
    assert english.body_paragraphs and all(p.startswith("<script>alert('tr')</script> Translated") for p in english.body_paragraphs)
    feed = (out / "ar" / "feed.xml").read_text(encoding="utf-8")
    assert "<title>&lt;/title&gt;&lt;script&gt;alert('title')&lt;/script&gt;</title>" in feed
    shards = "".join(p.read_text(encoding="utf-8") for p in (out / "search").rglob("d*.js"))
    assert "\\u003c/title\\u003e\\u003cscript\\u003ealert('title')" in shards


# -- nothing leaks: the API key --------------------------------------------------------------------


def test_api_key_never_reaches_a_file_a_message_or_a_log(tmp_path, monkeypatch, caplog):
    secret = "sk-Leak/Key+9z=Q7"  # '/', '+' and '=' make its URL-encoded forms differ from it
    variants = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    monkeypatch.setenv("TRANSLATOR_API_KEY", secret)
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    word = "المكتب"  # only in the second paragraph
    with LibreStub() as stub:
        translation = {"enabled": True, "provider": "libre", "url": stub.url, "timeout": 2, "retries": 1}
        site = write_site(tmp_path / "site", {"content/a.txt": f"الفقرة الأولى.\nفقرة {word} الثانية.\n"}, {"translation": translation})
        outputs = []
        stub.set_fault("key_in_error")  # every request refused, the key echoed in the error body
        outputs.append(run_cli("--config", str(site / "site.yml"), "--debug"))
        stub.set_fault("key_in_error", when=lambda text: word in text)  # some refused, others translated
        outputs.append(run_cli("--config", str(site / "site.yml"), "--debug"))
        stub.set_fault("429", when=lambda text: word in text)  # retried, logged, given up
        outputs.append(run_cli("--config", str(site / "site.yml"), "--debug"))
        assert stub.requests and all(r["api_key"] == secret for r in stub.requests), "the key was really sent"
    assert all(run.code == 0 for run in outputs), [run.err for run in outputs]
    assert any("HTTP 403" in run.out + run.err for run in outputs), "the refusal was reported"
    said = "".join(run.out + run.err for run in outputs) + caplog.text + "".join(str(r.args) for r in caplog.records)
    assert not [v for v in variants if v in said]
    for path in tmp_path.rglob("*"):  # site, memory, cache, lock, anything
        if path.is_file():
            data = path.read_bytes()
            assert not [v for v in variants if v.encode() in data], path


# -- nothing lost: the service fails -----------------------------------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens there now: connection refused


@pytest.mark.parametrize("fault", ["down", "sleep", "429", "500", "not_json", "empty_json", "mymemory_warning"])
def test_failing_service_completes_the_build_and_keeps_every_good_translation(fault, tmp_path):
    text = "الفقرة الأولى.\nالفقرة الثانية.\n===\nالفقرة الثالثة.\nالفقرة الرابعة.\n"
    with LibreStub(sleep_seconds=2) as stub:
        translation = {"enabled": True, "provider": "libre", "url": stub.url, "timeout": 0.3, "retries": 1 if fault == "429" else 0}
        site = write_site(tmp_path / "site", {"content/news.txt": text}, {"translation": translation})
        assert run_cli("--config", str(site / "site.yml"), "--quiet").code == 0
        memory_file = site / "translations" / "news.txt.en.yml"
        first = {e["key"]: e for e in yaml.safe_load(memory_file.read_text(encoding="utf-8"))["entries"]}
        assert len(first) == 4
        # New paragraphs in both segments; the service fails on the one marked (or on all when down).
        (site / "content" / "news.txt").write_text(text.replace("الثانية.", "الثانية.\nفقرة جديدة معطلة.").replace("الرابعة.", "الرابعة.\nفقرة جديدة سليمة."), encoding="utf-8")
        if fault == "down":
            write_site(site, {}, {"translation": {**translation, "url": _closed_port_url()}})
        else:
            stub.set_fault(fault, when=lambda t: "معطلة" in t)
        run = run_cli("--config", str(site / "site.yml"))
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    raw = yaml.safe_load(memory_file.read_text(encoding="utf-8"))  # still plain, valid YAML
    loaded, problems = load_memory(memory_file, "news.txt", "ar", "en")
    assert loaded is not None and not problems
    now = {e.key: e for e in loaded.entries}
    assert len(raw["entries"]) == len(now)
    for key, entry in first.items():
        assert now[key].translation == entry["translation"], "a translation made before is never lost"
    sources = {e.source for e in loaded.entries}
    assert "فقرة جديدة معطلة." not in sources
    assert ("فقرة جديدة سليمة." in sources) == (fault != "down"), "a good translation of this build is kept"
    out = site / "_site"
    assert not (out / "en" / "news-1.html").exists(), "never half-translated"
    assert (out / "en" / "news-2.html").exists() == (fault != "down")


def test_control_characters_of_the_text_never_break_the_feed(make_site, run_build):
    site = make_site({"content/2012-02-24-a.txt": "عنوان فيه\x01محرف تحكم.\nنص.\n"}, config={"base_url": "https://example.org/"})
    assert run_build(site).returncode == 0
    for name in ("ar/feed.xml", "sitemap.xml"):
        ElementTree.parse(site / "_site" / name)  # XML 1.0 cannot hold U+0001, even escaped
    assert "محرف تحكم" in (site / "_site" / "ar" / "feed.xml").read_text(encoding="utf-8")


def test_a_killed_saves_temporary_file_is_removed_by_a_later_save(tmp_path):
    # kill -9 between writing the temporary file and renaming it leaves it behind: nothing
    # reads it, and the next save of that memory removes it once it is clearly abandoned.
    import os
    import time

    from sitegen.translation.memory import Memory, MemoryEntry, entry_key, save_memory

    path = tmp_path / "translations" / "a.txt.en.yml"
    path.parent.mkdir()
    abandoned = path.parent / ".a.txt.en.yml.k1ll3d.tmp"
    abandoned.write_text("- half", encoding="utf-8")
    old = time.time() - 3600
    os.utime(abandoned, (old, old))
    recent = path.parent / ".a.txt.en.yml.s4v1ng.tmp"  # another save may be writing it right now
    recent.write_text("- half", encoding="utf-8")
    entry = MemoryEntry(entry_key("نص", "ar", "en"), "نص", "Text", "test", "2026-12-01", False, "1.1")
    save_memory(Memory(path, "a.txt", "ar", "en", (entry,)))
    assert path.is_file() and not abandoned.exists() and recent.exists()


def test_an_unusable_build_cache_is_a_clear_error_and_the_previous_site_stands(make_site, run_build, monkeypatch):
    import sqlite3

    site = make_site({"content/a.txt": "نص أول.\n"})
    assert run_build(site).returncode == 0
    before = tree_bytes(site / "_site")
    (site / "content" / "a.txt").write_text("نص معدل.\n", encoding="utf-8")

    def full_disk(path, allowed=None):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sitegen.pipeline.stages.BuildCache, "open", staticmethod(full_disk))
    run = run_build(site)
    assert run.returncode == 1 and "Traceback" not in run.output
    [message] = problem_lines(run.stderr)
    assert message.startswith("error: the build cache in ") and "database or disk is full" in message
    assert "delete that folder (always safe)" in message and tree_bytes(site / "_site") == before


@pytest.mark.parametrize("full", ["memory", "journal"])
def test_a_memory_that_cannot_be_saved_is_named_as_such(tmp_path, monkeypatch, full):
    import sitegen.translation.journal

    with LibreStub() as stub:
        site = write_site(tmp_path / "site", {"content/a.txt": "نص يترجم.\n"},
                          {"translation": {"enabled": True, "provider": "libre", "url": stub.url, "retries": 0}})

        def no_room(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        if full == "memory":  # the memory files, written when the requests are over
            monkeypatch.setattr(sitegen.translation.journal, "save_memory", no_room)
        else:  # the journal, written as each result arrives
            monkeypatch.setattr(sitegen.translation.journal.os, "write", no_room)
        run = run_cli("--config", str(site / "site.yml"), "--quiet")
    assert run.code == 1 and "Traceback" not in run.err
    assert f"error: cannot save the translation memory ({os.strerror(errno.ENOSPC)}: " in run.err
    assert not (site / "_site").exists(), "nothing half-made is published"
