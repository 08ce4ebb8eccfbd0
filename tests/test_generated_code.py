"""The dataclasses' generated methods, compiled once and read back (sitegen/core/generated_code.py)."""

from __future__ import annotations

import dataclasses
import marshal
import subprocess
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path

import pytest

from sitegen.core.generated_code import GeneratedCode


@pytest.fixture(autouse=True)
def _bytecode_written(monkeypatch):
    """As in a build run without PYTHONDONTWRITEBYTECODE, whatever the test runner's setting."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def _point_class():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: tuple[str, ...] = ()

    return Point


def _use(generated: GeneratedCode, monkeypatch):
    monkeypatch.setattr(dataclasses, "exec", generated.exec, raising=False)
    return _point_class()


def test_a_class_made_again_reads_its_methods_compiled(tmp_path, monkeypatch):
    path = tmp_path / "methods.marshal"
    first = GeneratedCode(path)
    _use(first, monkeypatch)
    assert first.compiled >= 5  # __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
    first.save()
    second = GeneratedCode(path)
    Point = _use(second, monkeypatch)
    assert second.compiled == 0 and len(second.used) == first.compiled
    # The class behaves as one whose methods were just compiled.
    point = Point(1, ("a",))
    assert point == Point(1, ("a",)) and point != Point(2)
    assert hash(point) == hash(Point(1, ("a",)))
    assert repr(point).endswith("Point(x=1, y=('a',))")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


@pytest.mark.parametrize("content", [b"", b"not marshal at all", MAGIC_NUMBER + b"\x00garbage", b"\x00\x00\x00\x00" + marshal.dumps({}),
                                     MAGIC_NUMBER + marshal.dumps(["a list"]), MAGIC_NUMBER + marshal.dumps({"text": "not code", 3: None})])
def test_a_damaged_or_foreign_file_is_compiled_past_and_written_again(tmp_path, monkeypatch, content):
    path = tmp_path / "methods.marshal"
    path.write_bytes(content)
    generated = GeneratedCode(path)
    assert generated.known == {}
    Point = _use(generated, monkeypatch)
    assert Point(1) == Point(1) and generated.compiled >= 5
    generated.save()
    assert GeneratedCode(path).known.keys() == generated.used.keys()


def test_nothing_is_written_when_python_writes_no_bytecode(tmp_path, monkeypatch):
    path = tmp_path / "methods.marshal"
    generated = GeneratedCode(path)
    _use(generated, monkeypatch)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    generated.save()
    assert not path.exists()


def test_a_folder_that_cannot_be_written_leaves_the_build_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "a file, not a folder" / "methods.marshal"
    path.parent.write_text("")
    generated = GeneratedCode(path)
    _use(generated, monkeypatch)
    generated.save()  # no exception: every run compiles, as without the module
    assert path.parent.is_file() and not list(tmp_path.glob("*.tmp"))


def test_past_the_limit_only_the_texts_used_are_kept(tmp_path, monkeypatch):
    path = tmp_path / "methods.marshal"
    stale = {f"x = {n}": compile(f"x = {n}", "<string>", "exec") for n in range(30)}
    path.write_bytes(MAGIC_NUMBER + marshal.dumps(stale))
    monkeypatch.setattr("sitegen.core.generated_code.MOST_KEPT", 10)
    generated = GeneratedCode(path)
    _use(generated, monkeypatch)
    generated.save()
    kept = GeneratedCode(path).known
    assert kept.keys() == generated.used.keys() and not kept.keys() & stale.keys()


def test_a_new_process_importing_the_package_compiles_no_method_of_its_own(tmp_path):
    """What the build gains: the second run of an interpreter importing the stages compiles
    none of their classes' methods (the first may, and writes them)."""
    path = tmp_path / "methods.marshal"
    script = (
        "import dataclasses, sys, pathlib\n"
        "from sitegen.core.generated_code import remember_generated_code\n"
        f"generated = remember_generated_code(pathlib.Path({str(path)!r}))\n"
        "import sitegen.pipeline.stages, sitegen.pipeline.making, sitegen.pipeline.finishing\n"
        "print(generated.compiled, len(generated.used))\n"
    )
    # The package's own cache is replaced before the stages are imported, so every class
    # they define goes through the file under test (sitegen/__init__ defines none).
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout.split() for _ in range(2)]
    (first_compiled, first_used), (second_compiled, second_used) = [tuple(map(int, run)) for run in runs]
    assert first_compiled == first_used > 100
    assert second_compiled == 0 and second_used == first_used


def test_importing_the_package_installs_it():
    installed = getattr(dataclasses, "exec", None)
    assert isinstance(getattr(installed, "__self__", None), GeneratedCode)
    assert installed.__self__.path.name.startswith("dataclass-methods.")


def test_a_build_ending_by_os_exit_still_saves_what_it_compiled(tmp_path):
    """build.py ends the process at once (commands/cli.leave), which runs no atexit function."""
    path = tmp_path / "methods.marshal"
    script = (
        "import dataclasses, pathlib\n"
        "from sitegen.core.generated_code import remember_generated_code\n"
        "from sitegen.commands.cli import leave\n"
        f"remember_generated_code(pathlib.Path({str(path)!r}))\n"
        "@dataclasses.dataclass(frozen=True)\n"
        "class Point:\n"
        "    x: int\n"
        "leave(0)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    assert len(GeneratedCode(path).known) >= 5
