"""End to end through deep-translator's real LibreTranslator against a stub server on 127.0.0.1."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sitegen.config import load_config
from sitegen.translation.companions import recover_translations
from sitegen.translation.memory import load_memory
from tests.libre_stub import LibreStub
from tests.sitekit import REPO, SAMPLE, run_cli, tree_bytes, wait_until, write_site

pytestmark = pytest.mark.network_stub
SLUGS = ("homs-baba-amr-1", "homs-baba-amr-2", "homs-baba-amr-3")
SECOND_SEGMENT_WORD = "المكتب العسكري"  # occurs only in segment 2


def libre_site(folder: Path, url: str, **translation) -> Path:
    settings = {"enabled": True, "provider": "libre", "url": url, "timeout": 2, "retries": 1} | translation
    return write_site(folder, {"content/homs-baba-amr.txt": SAMPLE.read_bytes()}, {"translation": settings})


def memory(site: Path) -> list[dict]:
    return yaml.safe_load((site / "translations" / "homs-baba-amr.txt.en.yml").read_text(encoding="utf-8"))["entries"]


def test_libre_build_makes_every_companion_then_offline_rebuild_is_byte_identical(tmp_path: Path) -> None:
    with LibreStub() as stub:
        site = libre_site(tmp_path / "site", stub.url)
        run = run_cli("--config", str(site / "site.yml"))
        assert run.code == 0, run.err
        assert len(stub.requests) == 21
        assert {r["source"] for r in stub.requests} == {"ar"} and {r["target"] for r in stub.requests} == {"en"}
    for slug in SLUGS:
        assert (site / "_site" / "en" / f"{slug}.html").is_file()
        assert (site / "_site" / "parallel" / f"{slug}.html").is_file()
    entries = memory(site)
    assert len(entries) == 21 and {e["provider"] for e in entries} == {"libre"}
    # The summary counts what came from where: an empty memory gave nothing.
    assert "translations: 0 from memory, 21 new, 0 failed" in run.out + run.err
    before = tree_bytes(site / "_site")
    # The server is stopped now: the offline build must not need it.
    again = run_cli("--config", str(site / "site.yml"), "--offline")
    assert again.code == 0, again.err
    assert tree_bytes(site / "_site") == before


def test_server_failing_some_requests_leaves_those_segments_without_companion(tmp_path: Path) -> None:
    with LibreStub() as stub:
        stub.set_fault("500", when=lambda text: SECOND_SEGMENT_WORD in text)
        site = libre_site(tmp_path / "site", stub.url)
        run = run_cli("--config", str(site / "site.yml"))
        strict = run_cli("--config", str(site / "site.yml"), "--strict", "--out", str(tmp_path / "strict"))
    assert run.code == 0, "a failing service never fails the build"
    assert strict.code == 1 and not (tmp_path / "strict").exists(), "--strict turns the failure into an error"
    assert (site / "_site" / "en" / "homs-baba-amr-1.html").exists()
    assert not (site / "_site" / "en" / "homs-baba-amr-2.html").exists()
    assert (site / "_site" / "en" / "homs-baba-amr-3.html").exists()
    assert "failed" in run.out and "homs-baba-amr.txt (segment 2)" in run.out
    assert not any(SECOND_SEGMENT_WORD in e["source"] for e in memory(site))


@pytest.mark.parametrize("fault", ["500", "sleep", "empty_json", "not_json", "echo", "mymemory_warning", "arabic"])
def test_each_bad_reply_costs_only_its_segment(tmp_path: Path, fault: str) -> None:
    with LibreStub(sleep_seconds=3) as stub:
        stub.set_fault(fault, when=lambda text: SECOND_SEGMENT_WORD in text)
        site = libre_site(tmp_path / "site", stub.url, timeout=0.5, retries=0)
        run = run_cli("--config", str(site / "site.yml"))
    assert run.code == 0, run.err
    assert not (site / "_site" / "en" / "homs-baba-amr-2.html").exists()
    assert (site / "_site" / "en" / "homs-baba-amr-1.html").exists()
    loaded, problems = load_memory(site / "translations" / "homs-baba-amr.txt.en.yml", "homs-baba-amr.txt", "ar", "en")
    assert loaded is not None and not [p for p in problems if p.is_error]
    assert all(not any("\u0600" <= c <= "\u06ff" for c in e.translation) for e in loaded.entries)


def test_rate_limit_is_retried_and_succeeds(tmp_path: Path) -> None:
    with LibreStub() as stub:
        stub.set_fault("429", times=2)
        site = libre_site(tmp_path / "site", stub.url, retries=3)
        run = run_cli("--config", str(site / "site.yml"))
    assert run.code == 0
    assert all((site / "_site" / "en" / f"{slug}.html").exists() for slug in SLUGS)
    assert len(stub.requests) == 23


def test_script_in_reply_is_text_never_markup(tmp_path: Path) -> None:
    with LibreStub() as stub:
        stub.set_fault("script")
        site = libre_site(tmp_path / "site", stub.url)
        assert run_cli("--config", str(site / "site.yml")).code == 0
    for page in (site / "_site").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>alert(1)</script>" not in text, page


def test_api_key_never_appears_in_output_memory_or_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "SECRET-KEY-5c1e9"
    monkeypatch.setenv("TRANSLATOR_API_KEY", secret)
    with LibreStub() as stub:
        stub.set_fault("key_in_error", when=lambda text: SECOND_SEGMENT_WORD in text)
        site = libre_site(tmp_path / "site", stub.url)
        run = run_cli("--config", str(site / "site.yml"))
        assert any(r["api_key"] == secret for r in stub.requests), "the key was really sent to the service"
    assert run.code == 0
    assert secret not in run.out and secret not in run.err
    for path in list((site / "_site").rglob("*")) + list((site / "translations").rglob("*")):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def _slow(text: str) -> str:
    time.sleep(0.05)
    return "Slow English text number " + str(len(text))


def test_kill_9_during_translation_keeps_previous_site_and_a_loadable_memory(tmp_path: Path) -> None:
    """Kill the build at random moments; the old site and every saved translation must survive."""
    with LibreStub(translate=_slow) as stub:
        site = libre_site(tmp_path / "site", stub.url, concurrency=2)
        # A previous site, built with translation off.
        offline = run_cli("--config", str(site / "site.yml"), "--offline")
        assert offline.code == 0
        previous = tree_bytes(site / "_site")
        rng = random.Random(7)
        saved_counts, journalled = [], []
        for attempt in range(4):
            process = subprocess.Popen(
                [sys.executable, str(REPO / "build.py"), "--config", str(site / "site.yml"), "--quiet"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
            )
            # Kill at a random moment once translation is under way (not on a timer
            # from start-up, which a loaded machine stretches past the whole window).
            asked = len(stub.requests)
            wanted = asked + rng.randint(2, 8)
            wait_until(lambda: len(stub.requests) >= wanted or process.poll() is not None, "translation under way", 60)
            time.sleep(rng.uniform(0.0, 0.2))
            process.send_signal(signal.SIGKILL)
            process.wait()
            current = tree_bytes(site / "_site")
            if current != previous:  # the build had swapped its site in before the kill: a whole one
                assert all(f"ar/{slug}.html" in current for slug in SLUGS), "the new site is whole"
            assert ".sitegen-output" in current and "index.html" in current
            journal = site / "translations" / ".journal.en.jsonl"
            journalled.append(journal.read_bytes().count(b"\n") if journal.exists() else 0)
            # What the next build reads first: the memory with the killed build's journal folded in.
            problems = recover_translations(load_config(site / "site.yml"), ["homs-baba-amr.txt"])
            assert not problems, problems
            assert not list((site / "translations").glob(".journal*")), "the journal was folded and removed"
            path = site / "translations" / "homs-baba-amr.txt.en.yml"
            if path.exists():
                loaded, problems = load_memory(path, "homs-baba-amr.txt", "ar", "en")
                assert loaded is not None, problems
                saved_counts.append(len(loaded.entries))
            leftovers = [p for p in (site / "translations").rglob("*.tmp")] if (site / "translations").exists() else []
            for leftover in leftovers:  # a temp file of an interrupted write is never read as memory
                assert not leftover.name.endswith(".yml")
        assert any(journalled), "some kill came mid-translation, with finished translations only in the journal"
        assert saved_counts and saved_counts == sorted(saved_counts), "translations accumulate across killed runs"
        served_before = len(stub.requests)
        final = run_cli("--config", str(site / "site.yml"))
        assert final.code == 0
        assert len(stub.requests) - served_before == 21 - saved_counts[-1], "only what was missing is asked again"
    shutil.rmtree(site / "_site")
