"""``build.py check``: the sample site passes; each planted fault fails, naming the page and the fault.

The sample is built once (as a user would: ``python build.py --offline --out DIR``);
every test checks its own copy with one fault planted. Each fault test first
asserts that the text it replaces is there, so a change of the templates cannot
turn it into a test of nothing.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sitegen.commands.check import check_main

REPO = Path(__file__).resolve().parent.parent
AR_PAGE = "ar/homs-baba-amr-1.html"
EN_PAGE = "en/homs-baba-amr-1.html"


def build(out: Path, *extra: str) -> None:
    done = subprocess.run(
        [sys.executable, "build.py", "--offline", "--out", str(out), *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built") / "site"
    build(out)
    return out


@pytest.fixture
def site(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(built, copy)
    return copy


def run_check(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = check_main(list(argv))
    return code, out.getvalue() + err.getvalue()


def plant(site: Path, page: str, old: str, new: str, count: int = 1) -> None:
    path = site / page
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the sample's {page} no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def problem_lines(output: str, page: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{page}: ")]


def assert_fails(site: Path, page: str, *needles: str) -> str:
    code, output = run_check(str(site))
    assert code == 1, output
    lines = problem_lines(output, page)
    assert any(all(n in line for n in needles) for line in lines), f"no line on {page} with {needles}:\n{output}"
    return output


# -- the clean site --------------------------------------------------------------


def test_sample_site_passes(built: Path):
    code, output = run_check(str(built))
    assert code == 0, output
    assert "no problems" in output


def test_sample_site_passes_from_the_command_line(built: Path):
    done = subprocess.run([sys.executable, "build.py", "check", str(built), "--base", "/repo/"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_site_with_base_url_passes(tmp_path: Path):
    """With base_url the hreflang alternates are absolute URLs: pairs are still recognised."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(REPO / "content", project / "content")
    if (REPO / "translations").is_dir():
        shutil.copytree(REPO / "translations", project / "translations")
    config = re.sub(r"(?m)^base_url:.*$", "", (REPO / "site.yml").read_text(encoding="utf-8"))
    (project / "site.yml").write_text(config + "\nbase_url: https://user.github.io/repo/\n", encoding="utf-8")
    out = tmp_path / "site"
    build(out, "--config", str(project / "site.yml"))
    assert (out / "sitemap.xml").is_file()
    code, output = run_check(str(out))
    assert code == 0, output
    # ...and a one-way pair is still caught when the alternates are absolute.
    page = out / EN_PAGE
    text = page.read_text(encoding="utf-8")
    text = text.replace('href="https://user.github.io/repo/ar/homs-baba-amr-1.html"', 'href="https://user.github.io/repo/en/homs-baba-amr-1.html"')
    text = text.replace('href="../ar/homs-baba-amr-1.html"', 'href="homs-baba-amr-1.html"')
    page.write_text(text, encoding="utf-8")
    code, output = run_check(str(out))
    assert code == 1 and problem_lines(output, EN_PAGE), output


def test_missing_folder_is_a_usage_error(tmp_path: Path):
    code, output = run_check(str(tmp_path / "nowhere"))
    assert code == 2
    assert "no such folder" in output


def test_external_link_to_another_site_is_fine(site: Path):
    plant(site, AR_PAGE, "</main>", '<p><a href="https://example.org/report.html">source</a></p></main>')
    code, output = run_check(str(site))
    assert code == 0, output


def test_percent_encoded_arabic_file_name_resolves(site: Path):
    (site / "ar" / "مقال.html").write_text('<!DOCTYPE html><html lang="ar" dir="rtl"><title>م</title><p id="x">م</p></html>', encoding="utf-8")
    plant(site, AR_PAGE, "</main>", '<p><a href="%D9%85%D9%82%D8%A7%D9%84.html#x">مقال</a></p></main>')
    code, output = run_check(str(site))
    assert code == 0, output
    # The same name with a wrong letter is broken: the check really looked.
    plant(site, AR_PAGE, "%D9%85%D9%82%D8%A7%D9%84.html#x", "%D9%85%D9%82%D8%A7%D9%85.html#x")
    assert_fails(site, AR_PAGE, "%D9%85%D9%82%D8%A7%D9%85.html", "no file ar/مقام.html")


# -- one fault each --------------------------------------------------------------


def test_broken_link_fails(site: Path):
    plant(site, AR_PAGE, 'href="homs-baba-amr-2.html"', 'href="homs-baba-amr-99.html"')
    assert_fails(site, AR_PAGE, "'homs-baba-amr-99.html'", "no file ar/homs-baba-amr-99.html")


def test_missing_anchor_fails(site: Path):
    plant(site, AR_PAGE, 'href="../en/homs-baba-amr-1.html"', 'href="../en/homs-baba-amr-1.html#p999"')
    assert_fails(site, AR_PAGE, "#p999", "no element with id 'p999' in en/homs-baba-amr-1.html")


def test_missing_anchor_on_the_same_page_fails(site: Path):
    plant(site, AR_PAGE, 'href="#main"', 'href="#nowhere"')
    assert_fails(site, AR_PAGE, "no element with id 'nowhere'")


def test_external_stylesheet_fails(site: Path):
    plant(site, AR_PAGE, "</head>", '<link rel="stylesheet" href="https://cdn.example.com/fonts.css"></head>')
    assert_fails(site, AR_PAGE, "stylesheet", "https://cdn.example.com/fonts.css", "network")


def test_protocol_relative_stylesheet_fails(site: Path):
    plant(site, AR_PAGE, "</head>", '<link rel="stylesheet" href="//cdn.example.com/fonts.css"></head>')
    assert_fails(site, AR_PAGE, "stylesheet", "//cdn.example.com/fonts.css", "network")


def test_external_script_fails(site: Path):
    plant(site, AR_PAGE, "</body>", '<script src="https://cdn.example.com/analytics.js"></script></body>')
    assert_fails(site, AR_PAGE, "<script src>", "https://cdn.example.com/analytics.js", "network")


def test_css_url_to_the_network_in_a_style_block_fails(site: Path):
    plant(site, AR_PAGE, "</style>", "body{background:url(https://example.com/bg.png)}</style>")
    assert_fails(site, AR_PAGE, "CSS", "https://example.com/bg.png", "network")


def test_css_import_from_the_network_fails(site: Path):
    plant(site, AR_PAGE, "<style>", '<style>@import "https://fonts.example.com/css2";')
    assert_fails(site, AR_PAGE, "CSS", "https://fonts.example.com/css2", "network")


def test_link_ending_in_a_folder_fails(site: Path):
    plant(site, AR_PAGE, 'href="../en/index.html"', 'href="../en/"')
    assert_fails(site, AR_PAGE, "'../en/'", "folder")


def test_link_to_a_bare_folder_fails(site: Path):
    plant(site, AR_PAGE, 'href="../en/index.html"', 'href="../en"')
    assert_fails(site, AR_PAGE, "'../en'", "folder")


def test_root_absolute_link_fails(site: Path):
    plant(site, AR_PAGE, 'href="../index.html"', 'href="/index.html"')
    output = assert_fails(site, AR_PAGE, "'/index.html'", "root-absolute", "file://", "/repo/")
    assert "/repo/" in output


def test_root_absolute_link_under_the_sub_path_still_fails_on_file(site: Path):
    plant(site, AR_PAGE, 'href="../index.html"', 'href="/repo/index.html"')
    assert_fails(site, AR_PAGE, "'/repo/index.html'", "root-absolute", "file://")


def test_link_above_the_site_fails(site: Path):
    plant(site, AR_PAGE, 'href="../index.html"', 'href="../../index.html"')
    assert_fails(site, AR_PAGE, "'../../index.html'", "above the site")


def test_missing_dir_attribute_fails(site: Path):
    plant(site, AR_PAGE, '<html lang="ar" dir="rtl">', '<html lang="ar">')
    assert_fails(site, AR_PAGE, "no dir attribute")


def test_missing_lang_attribute_fails(site: Path):
    plant(site, EN_PAGE, '<html lang="en" dir="ltr">', '<html dir="ltr">')
    assert_fails(site, EN_PAGE, "no lang attribute")


def test_one_way_pair_fails(site: Path):
    # Remove every link from the English page back to its Arabic original (head alternate and body links).
    path = site / EN_PAGE
    text = path.read_text(encoding="utf-8")
    assert text.count('href="../ar/homs-baba-amr-1.html"') >= 2, "update this test: the English page's back links changed"
    path.write_text(text.replace('href="../ar/homs-baba-amr-1.html"', 'href="../index.html"'), encoding="utf-8")
    assert_fails(site, EN_PAGE, "ar/homs-baba-amr-1.html links here", "no link back to ar/homs-baba-amr-1.html")


def test_one_way_pair_is_caught_from_the_english_side_too(site: Path):
    path = site / AR_PAGE
    text = path.read_text(encoding="utf-8")
    assert text.count('href="../en/homs-baba-amr-1.html"') >= 2, "update this test: the Arabic page's links changed"
    path.write_text(text.replace('href="../en/homs-baba-amr-1.html"', 'href="../en/index.html"'), encoding="utf-8")
    assert_fails(site, AR_PAGE, "en/homs-baba-amr-1.html links here", "no link back to en/homs-baba-amr-1.html")
