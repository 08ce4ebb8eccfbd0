"""Helpers for tests that build a whole site in a temporary folder."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from sitegen.commands.cli import main
from sitegen.commands.serve.server import PreviewServer, ServeSettings
from sitegen.config import load_config
from sitegen.pipeline.stages import BuildOptions, BuildResult, build_site
from sitegen.translation.providers import TranslatorSettings
from sitegen.translation.translator import ParagraphTranslator, make_translator

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "content" / "homs-baba-amr.txt"


def write_site(folder: Path, files: dict[str, str | bytes], config: dict | None = None) -> Path:
    """Write site.yml and content files; returns the site folder."""
    # An English name of its own: the Arabic one would otherwise be one more unit to translate
    # (site_words.py), which tests counting a translator's calls do not expect.
    settings = {"title": "اختبار", "translation": {"enabled": False, "title": "Test"}}
    for key, value in (config or {}).items():
        if key == "translation" and isinstance(value, dict):
            settings["translation"] = {**settings["translation"], **value}
        else:
            settings[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.yml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def build(site: Path, **options) -> BuildResult:
    """Build in-process with BuildOptions (a translator_factory may be passed)."""
    config = load_config(site / "site.yml")
    return build_site(config, BuildOptions(**options))


@dataclass
class CliRun:
    code: int
    out: str
    err: str


def run_cli(*args: str) -> CliRun:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return CliRun(code, out.getvalue(), err.getvalue())


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def wait_until(predicate, what: str, deadline: float = 10.0):
    """The predicate's first true value, polled every 50 ms; fails after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {deadline} s: {what}")


def libre_translator(stub, **settings) -> ParagraphTranslator:
    """A real libre translator (deep-translator) aimed at a LibreStub, with quick backoff."""
    values = dict(provider="libre", source="ar", target="en", url=stub.url, backoff_base=0.01, backoff_cap=0.05)
    values.update(settings)
    return make_translator(TranslatorSettings(**values))


@contextlib.contextmanager
def preview(site: Path, **options) -> Iterator[PreviewServer]:
    """A started PreviewServer of ``site`` under /repo/, offline; its messages in ``server.log``."""
    log = io.StringIO()
    server = PreviewServer(ServeSettings(site / "site.yml", port=0, base="/repo/", offline=True, debounce_ms=50, **options), out=log)
    server.log = log  # type: ignore[attr-defined]
    server.start()
    try:
        yield server
    finally:
        server.stop()
