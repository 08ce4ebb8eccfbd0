"""site.yml: every mistake is an error naming the file and line; paths resolve against its folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sitegen.config import ConfigError, load_config

TEXT = "سطر أول من المقال."


def write_config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "site.yml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


# -- through the command line ---------------------------------------------------


def test_missing_config_file_exits_1_with_message(tmp_path, run_build):
    run = run_build(None, "--config", str(tmp_path / "nowhere" / "site.yml"))
    assert run.returncode == 1
    assert "no such configuration file" in run.stderr
    assert "Traceback" not in run.output


def test_invalid_yaml_names_file_and_line(make_site, run_build):
    site = make_site({"content/a.txt": TEXT}, config="title: موقع\nper_page: 5\n  bad: indent\n")
    run = run_build(site)
    assert run.returncode == 1
    assert "site.yml:3: invalid YAML" in run.stderr
    assert not (site / "_site").exists()


def test_unknown_key_is_an_error_naming_line_and_key(make_site, run_build):
    site = make_site({"content/a.txt": TEXT}, config="title: موقع\n\ncolour: red\n")
    run = run_build(site)
    assert run.returncode == 1
    assert "site.yml:3:" in run.stderr
    assert "'colour'" in run.stderr


def test_unknown_key_inside_translation_names_its_line(tmp_path):
    path = write_config(tmp_path, "title: t\ntranslation:\n  enabled: false\n  provder: google\n")
    problems = problems_of(path)
    assert len(problems) == 1
    assert "site.yml:4:" in problems[0] and "translation.provder" in problems[0]


@pytest.mark.parametrize(
    "line, key",
    [
        ('per_page: "x"', "per_page"),
        ("per_page: true", "per_page"),  # bool is an int in Python; still a mistake
        ("per_page: 2.5", "per_page"),
        ("title: [a, b]", "title"),
        ("translation: yes", "translation"),
    ],
)
def test_wrong_type_is_an_error_naming_line_and_key(tmp_path, line, key):
    body = "title: موقع\n" + line + "\n" if not line.startswith("title") else line + "\n"
    path = write_config(tmp_path, body)
    problems = problems_of(path)
    wanted_line = 2 if not line.startswith("title") else 1
    assert any(f"site.yml:{wanted_line}:" in p and f"'{key}'" in p for p in problems), problems


def test_wrong_type_via_cli_exits_1(make_site, run_build):
    site = make_site({"content/a.txt": TEXT}, config={"per_page": "x"})
    run = run_build(site)
    assert run.returncode == 1
    assert "'per_page' must be a whole number" in run.stderr


def test_translation_disabled_builds(make_site, run_build):
    site = make_site({"content/a.txt": TEXT}, config="title: موقع\ntranslation: {enabled: false}\n")
    run = run_build(site)
    assert run.returncode == 0, run.output
    assert (site / "_site" / "ar" / "a-1.html").is_file()
    assert not (site / "_site" / "en").exists()


@pytest.mark.parametrize("key", ["api_key", "key", "token"])
def test_api_key_in_site_yml_is_refused_without_echoing_it(make_site, run_build, key):
    secret = "sk-live-0123456789abcdef"
    site = make_site({"content/a.txt": TEXT}, config={"translation": {"enabled": False, key: secret}})
    run = run_build(site)
    assert run.returncode == 1
    assert "TRANSLATOR_API_KEY" in run.stderr
    assert secret not in run.output
    assert not (site / "_site").exists()


def test_api_key_at_top_level_is_refused(tmp_path):
    path = write_config(tmp_path, "title: t\napi_key: sk-secret-value\n")
    problems = problems_of(path)
    assert any("site.yml:2:" in p and "api_key" in p for p in problems)
    assert not any("sk-secret-value" in p for p in problems)


def test_missing_title_is_an_error(tmp_path):
    path = write_config(tmp_path, "per_page: 5\n")
    assert any("title" in p for p in problems_of(path))


def test_config_that_is_not_a_mapping_is_an_error(tmp_path):
    path = write_config(tmp_path, "- title\n- per_page\n")
    assert any("mapping" in p for p in problems_of(path))


def test_impossible_date_value_is_an_error_with_line_not_a_crash(tmp_path):
    # PyYAML raises a bare ValueError for 2012-02-30; it must become file:line.
    path = write_config(tmp_path, "title: t\ndescription: 2012-02-30\n")
    problems = problems_of(path)
    assert any("site.yml:2:" in p for p in problems), problems


def test_python_tag_in_site_yml_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "ran"
    path = write_config(tmp_path, f'title: !!python/object/apply:os.system ["touch {marker}"]\n')
    problems = problems_of(path)
    assert any("site.yml:1:" in p and "not allowed" in p for p in problems), problems
    assert not marker.exists()


@pytest.mark.parametrize("value", [0, 1001, -3])
def test_per_page_out_of_range(tmp_path, value):
    path = write_config(tmp_path, f"title: t\nper_page: {value}\n")
    assert any("site.yml:2:" in p and "per_page" in p for p in problems_of(path))


def test_all_problems_are_reported_together(tmp_path):
    path = write_config(tmp_path, "title: t\ncolour: red\nper_page: x\nshape: round\n")
    problems = problems_of(path)
    lines = sorted(p.split(":")[1] for p in problems)
    assert lines == ["2", "3", "4"]


# -- paths -------------------------------------------------------------------------


def test_paths_resolve_against_the_config_folder_not_the_working_directory(tmp_path, monkeypatch):
    site = tmp_path / "site"
    path = write_config(site, "title: t\ncontent_dir: texts\noutput_dir: public\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path(os.path.relpath(path, elsewhere)))
    assert config.content_dir == (site / "texts").resolve()
    assert config.output_dir == (site / "public").resolve()
    assert config.root == site.resolve()


def test_config_option_builds_a_site_elsewhere_from_another_working_directory(make_site, run_build, tmp_path, monkeypatch):
    site = make_site({"texts/a.txt": TEXT}, config={"content_dir": "texts", "output_dir": "public"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = run_build(None, "--config", os.path.relpath(site / "site.yml", elsewhere))
    assert run.returncode == 0, run.output
    assert (site / "public" / "ar" / "a-1.html").is_file()
    assert list(elsewhere.iterdir()) == []


def test_out_overrides_output_dir(make_site, run_build, tmp_path):
    site = make_site({"content/a.txt": TEXT}, config={"output_dir": "public"})
    target = tmp_path / "chosen"
    run = run_build(site, "--out", str(target))
    assert run.returncode == 0, run.output
    assert (target / "ar" / "a-1.html").is_file()
    assert not (site / "public").exists()


def test_defaults(tmp_path):
    config = load_config(write_config(tmp_path, "title: t\n"))
    assert config.language == "ar"
    assert config.translation.enabled is False
    assert config.content_dir == (tmp_path / "content").resolve()
    assert config.output_dir == (tmp_path / "_site").resolve()
