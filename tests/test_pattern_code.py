"""The programs of regular expressions, compiled once and read back (sitegen/core/pattern_code.py)."""

from __future__ import annotations

import marshal
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sitegen.core import pattern_code
from sitegen.core.pattern_code import STAMP, PatternPrograms

# re's own compiler, behind the one the package installed.
RE_COMPILE = getattr(re._compiler.compile, "__self__", None)._compile_pattern if hasattr(re._compiler.compile, "__self__") else re._compiler.compile

# Patterns of every kind the engine knows, each with text to match it against.
PATTERNS = [
    (r"(?P<year>\d{4})-(?P<month>\d\d)", 0, "2012-02-24"),
    (r"^[ \t]*(?:[-*+][ \t]|\d+[.)][ \t]|#|\|)", re.MULTILINE, "x\n  - item\n# h"),
    (r"حمص|حماة", re.IGNORECASE, "في حماة اليوم"),
    (r"(?i)homs\b", 0, "HOMS, Syria"),
    (r"[^\W\d_]+", re.ASCII, "abc١٢٣def"),
    (r"  a  # comment\n  b+ ", re.VERBOSE, "abbb"),
    (r"(?<![.!?؟…])[.!?؟…]+(?=\s)", 0, "قال. ثم؟ x"),
    (r"(a)?(?(1)b|c)", 0, "ab c"),
    (r"(?s).+?\Z", 0, "two\nlines"),
    (rb"[\x00-\x7f]+", 0, b"abc\xff"),
    (rb"(?P<name>[A-Z]+)\s", re.IGNORECASE, b"Hello world "),
    ("[\u0600-\u06ff\u0750-\u077f]+", 0, "Homs حمص"),
    (r"(?:(?:>|[-*+][ \t]|\d+[.)][ \t])[ \t]*){5,}", re.MULTILINE, "> > > > > > x"),
    (r"x*+y", 0, "xxxy"),  # possessive (3.11)
]


@pytest.fixture(autouse=True)
def _bytecode_written(monkeypatch):
    """As in a build run without PYTHONDONTWRITEBYTECODE, whatever the test runner's setting."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def _compile_all(programs: PatternPrograms) -> list[re.Pattern]:
    return [programs.compile(pattern, flags) for pattern, flags, _ in PATTERNS]


def _behaviour(engine: re.Pattern, text):
    return [(m.span(), m.groups(), m.groupdict()) for m in engine.finditer(text)]


def test_a_pattern_read_back_is_the_engine_re_builds(tmp_path):
    path = tmp_path / "programs.marshal"
    first = PatternPrograms(path, RE_COMPILE)
    _compile_all(first)
    assert first.compiled == len(PATTERNS)
    first.save()
    second = PatternPrograms(path, RE_COMPILE)
    engines = _compile_all(second)
    assert second.compiled == 0 and len(second.used) == len(PATTERNS)
    for engine, (pattern, flags, text) in zip(engines, PATTERNS):
        built = RE_COMPILE(pattern, flags)
        # Patterns compare their text, flags and whole program; groups as well.
        assert engine == built, pattern
        assert (engine.flags, engine.groups, engine.groupindex, engine.pattern) == (built.flags, built.groups, built.groupindex, built.pattern)
        assert _behaviour(engine, text) == _behaviour(built, text), pattern


def test_flags_given_as_names_or_numbers_are_one_program(tmp_path):
    programs = PatternPrograms(tmp_path / "programs.marshal", RE_COMPILE)
    programs.compile("abc", re.IGNORECASE)
    programs.compile("abc", int(re.IGNORECASE))
    programs.compile("abc", 0)
    assert programs.compiled == 2 and set(programs.known) == {("abc", int(re.IGNORECASE)), ("abc", 0)}


def test_a_debug_listing_and_a_parsed_pattern_go_to_re_itself(tmp_path, capsys):
    programs = PatternPrograms(tmp_path / "programs.marshal", RE_COMPILE)
    assert programs.compile("ab+", re.DEBUG).match("abb")
    assert "LITERAL" in capsys.readouterr().out  # re's listing, printed as re prints it
    assert programs.compile(re._parser.parse("xy"), 0).match("xy")
    assert programs.compiled == 0 and not programs.known


@pytest.mark.parametrize("content", [b"", b"not marshal at all", STAMP + b"\x00garbage", b"\x00" * 4 + marshal.dumps({}),
                                     STAMP + marshal.dumps(["a list"]), STAMP + marshal.dumps({("a", 0): "not a program", "b": (0,)}),
                                     STAMP + marshal.dumps({("a", 0): (0, [1, 2], 0, {}, ("x",), "one too many")})])
def test_a_damaged_or_foreign_file_is_compiled_past_and_written_again(tmp_path, content):
    path = tmp_path / "programs.marshal"
    path.write_bytes(content)
    programs = PatternPrograms(path, RE_COMPILE)
    assert programs.known == {}
    engines = _compile_all(programs)
    assert all(engine == RE_COMPILE(p, f) for engine, (p, f, _) in zip(engines, PATTERNS))
    programs.save()
    assert PatternPrograms(path, RE_COMPILE).known.keys() == programs.used.keys()


def test_a_program_the_engine_refuses_is_compiled_again(tmp_path):
    path = tmp_path / "programs.marshal"
    good = PatternPrograms(path, RE_COMPILE)
    good.compile(r"(?P<a>x+)y", 0)
    flags, code, groups, names, by_number = good.known[(r"(?P<a>x+)y", 0)]
    damaged = {(r"(?P<a>x+)y", 0): (flags, code[: len(code) // 2] + [999999] * 3, groups, names, by_number)}
    path.write_bytes(STAMP + marshal.dumps(damaged))
    programs = PatternPrograms(path, RE_COMPILE)
    engine = programs.compile(r"(?P<a>x+)y", 0)
    assert engine == RE_COMPILE(r"(?P<a>x+)y", 0) and engine.match("xxy").group("a") == "xx"
    assert programs.compiled == 1


def test_a_program_of_another_python_is_not_read(tmp_path):
    path = tmp_path / "programs.marshal"
    first = PatternPrograms(path, RE_COMPILE)
    _compile_all(first)
    first.save()
    path.write_bytes(path.read_bytes().replace(sys.version.encode("utf-8"), b"3.0.0 (another build)", 1))
    assert PatternPrograms(path, RE_COMPILE).known == {}


def test_nothing_is_written_when_python_writes_no_bytecode_or_by_a_forked_worker(tmp_path, monkeypatch):
    path = tmp_path / "programs.marshal"
    programs = PatternPrograms(path, RE_COMPILE)
    _compile_all(programs)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    programs.save()
    assert not path.exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(programs, "_owner", -1)  # as in a worker forked from the process that made it
    programs.save()
    assert not path.exists()


def test_a_folder_that_cannot_be_written_leaves_the_build_as_it_was(tmp_path):
    path = tmp_path / "a file, not a folder" / "programs.marshal"
    path.parent.write_text("")
    programs = PatternPrograms(path, RE_COMPILE)
    _compile_all(programs)
    programs.save()  # no exception: every run compiles, as without the module
    assert path.parent.is_file() and not list(tmp_path.glob("*.tmp"))


def test_past_the_limit_only_the_programs_used_are_kept(tmp_path, monkeypatch):
    path = tmp_path / "programs.marshal"
    stale = PatternPrograms(path, RE_COMPILE)
    for n in range(30):
        stale.compile(f"stale{n}", 0)
    stale.save()
    monkeypatch.setattr(pattern_code, "MOST_KEPT", 10)
    programs = PatternPrograms(path, RE_COMPILE)
    _compile_all(programs)
    programs.save()
    kept = PatternPrograms(path, RE_COMPILE).known
    assert kept.keys() == programs.used.keys() and not any(p.startswith("stale") for p, _ in kept if type(p) is str)


def test_a_new_process_importing_the_build_compiles_no_pattern_of_its_own(tmp_path):
    """What the build gains: the second run of an interpreter importing the stages and the
    libraries they use compiles none of their patterns (the first does, and writes them)."""
    path = tmp_path / "programs.marshal"
    script = (
        "import pathlib\n"
        "from sitegen.core.pattern_code import remember_pattern_programs\n"
        f"programs = remember_pattern_programs(pathlib.Path({str(path)!r}))\n"
        "import sitegen.pipeline.stages, sitegen.pipeline.making, sitegen.pipeline.finishing\n"
        "import jinja2, markdown, yaml\n"
        "markdown.Markdown(extensions=['fenced_code', 'sane_lists']).convert('a **b** [c](d)')\n"
        "print(programs.compiled, len(programs.used))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout.split() for _ in range(2)]
    (first_compiled, first_used), (second_compiled, second_used) = [tuple(map(int, run)) for run in runs]
    assert first_compiled == first_used > 50
    assert second_compiled == 0 and second_used == first_used


def test_importing_the_package_installs_it():
    installed = getattr(re._compiler.compile, "__self__", None)
    assert isinstance(installed, PatternPrograms)
    assert installed.path.name.startswith("regex-programs.")


def test_a_build_ending_by_os_exit_still_saves_what_it_compiled(tmp_path):
    """build.py ends the process at once (commands/cli.leave), which runs no atexit function."""
    path = tmp_path / "programs.marshal"
    script = (
        "import pathlib, re\n"
        "from sitegen.core.pattern_code import remember_pattern_programs\n"
        "from sitegen.commands.cli import leave\n"
        f"remember_pattern_programs(pathlib.Path({str(path)!r}))\n"
        "re.compile(r'a pattern no module compiles (\\d+)')\n"
        "leave(0)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    assert ("a pattern no module compiles (\\d+)", 0) in PatternPrograms(path, RE_COMPILE).known
