"""Splitting a source into segments and reading front matter (file level and segment level)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.content.segment import build_segments
from sitegen.content.sources import SourceFile, decode_source
from sitegen.content.fences import fenced_lines
from sitegen.content.splitting import SEPARATOR, split_lines_into_chunks, split_source
from sitegen.core.diagnostics import Severity


def source(text: str, name: str = "a.txt") -> SourceFile:
    src, problems = decode_source(text.encode("utf-8"), Path("/content") / name, name)
    assert problems == []
    return src


def bodies(text: str, name: str = "a.txt") -> list[str]:
    _, segments, _ = split_source(source(text, name))
    return [s.body for s in segments]


def problems_of(text: str, name: str = "a.txt"):
    _, _, problems = split_source(source(text, name))
    return problems


def segments_of(text: str, name: str = "a.txt", git_date: date | None = None):
    return build_segments(source(text, name), git_date)


# -- separators ------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["===", "====", "=" * 40, "  ===", "=== ", "\t===\t", " ===== "])
def test_separator_lines(line):
    assert SEPARATOR.match(line)
    assert bodies(f"أول\n{line}\nثان") == ["أول", "ثان"]


@pytest.mark.parametrize("line", ["==", "=", "=== x", "x ===", "= = =", "==-==", "---", "***"])
def test_not_separators(line):
    assert not SEPARATOR.match(line)
    assert len(bodies(f"أول\n{line}\nثان")) == 1


def test_real_sample_has_three_segments(sample_text):
    _, segments, problems = split_source(source(sample_text, "homs-baba-amr.txt"))
    assert problems == []
    assert len(segments) == 3
    assert [s.number for s in segments] == [1, 2, 3]
    lines = sample_text.split("\n")
    for segment in segments:
        assert lines[segment.line - 1] == segment.body.split("\n")[0]


def test_body_line_numbers_are_absolute():
    text = "أ\nب\n===\n\nج\n===\nد"
    _, segments, _ = split_source(source(text))
    assert [s.line for s in segments] == [1, 5, 7]


def test_separator_inside_a_fenced_code_block_is_text_in_md():
    text = "قبل\n\n```\nx = 1\n===\ny = 2\n```\n\nبعد\n===\nالثاني"
    segments, problems = segments_of(text, "a.md")
    assert problems == []
    assert len(segments) == 2
    html = "".join(b.html for b in segments[0].blocks)
    pre = html[html.index("<pre>") : html.index("</pre>")]
    assert "===" in pre
    assert "y = 2" in pre


def test_tilde_fence_also_protects_separator_in_md():
    segments, _ = segments_of("~~~\n===\n~~~\nنص", "a.md")
    assert len(segments) == 1


def test_fences_do_not_matter_in_txt():
    assert bodies("```\n===\n```") == ["```", "```"]


@pytest.mark.parametrize(
    "text",
    [
        "```\ncode\n===\nمزيد",  # fence never closed: Python-Markdown shows it as text
        "  ```\ncode\n===\n  ```",  # indented fence: not a fence for Python-Markdown
        "```\ncode\n===\n`````",  # closing fence of another length: not closed for Python-Markdown
    ],
)
def test_separator_after_a_fence_the_renderer_does_not_see_never_leaks(text):
    segments, _ = segments_of(text, "a.md")
    for segment in segments:
        for block in segment.blocks:
            assert "===" not in block.html
            assert not block.html.startswith("<h1")


def test_setext_trap_in_md_no_heading_and_no_equals_signs():
    text = "نص الجزء الأول\n===\nنص الجزء الثاني\n\n===\n\nالثالث"
    segments, problems = segments_of(text, "a.md")
    assert problems == []
    assert len(segments) == 3
    for segment in segments:
        for block in segment.blocks:
            assert block.tag == "p"
            assert "=" not in block.html
    assert segments[0].blocks[0].html == "<p>نص الجزء الأول</p>"


# -- empty segments ------------------------------------------------------------------------


def warnings(problems):
    return [p for p in problems if p.severity is Severity.WARNING]


@pytest.mark.parametrize(
    "text, line",
    [
        ("أ\n===\n===\nب", 2),  # two separators in a row: the one that opens the empty segment
        ("===\nأ", 1),  # separator at the start
        ("أ\n===", 2),  # separator at the end
        ("أ\n===\n\n   \n===\nب", 2),  # only blank lines between
    ],
)
def test_empty_segments_are_skipped_with_a_warning_naming_file_and_line(text, line):
    _, segments, problems = split_source(source(text, "2012/x.txt"))
    assert [s.body for s in segments] == ["أ", "ب"] if text.endswith("ب") else [s.body for s in segments] == ["أ"]
    found = warnings(problems)
    assert len(found) == 1, problems
    assert found[0].path.endswith("2012/x.txt")
    assert found[0].line == line
    assert all(s.body.strip() for s in segments)


def test_segment_numbers_count_only_non_empty_segments():
    _, segments, _ = split_source(source("===\nأ\n===\n===\nب"))
    assert [s.number for s in segments] == [1, 2]


@pytest.mark.parametrize("text", ["", "\n\n", "   \n\t\n"])
def test_empty_file_is_a_warning(text):
    _, segments, problems = split_source(source(text))
    assert segments == []
    assert len(problems) == 1 and problems[0].severity is Severity.WARNING and "empty file" in problems[0].message


def test_file_with_only_front_matter_is_a_warning():
    _, segments, problems = split_source(source("---\ntitle: عنوان\n---\n"))
    assert segments == []
    assert [p.severity for p in problems] == [Severity.WARNING]


# -- front matter --------------------------------------------------------------------------


def test_file_front_matter_applies_to_every_segment_and_segment_front_matter_overrides():
    text = (
        "---\nauthor: مراسل\ndate: 2012-02-24\ntags: [حمص, سوريا]\n---\n"
        "الأول.\n===\n"
        "---\ntitle: عنوان خاص\ndate: 2012-02-25\nslug: special\n---\n"
        "الثاني.\n===\nالثالث."
    )
    segments, problems = segments_of(text)
    assert problems == []
    assert [s.author for s in segments] == ["مراسل"] * 3
    assert [s.tags for s in segments] == [("حمص", "سوريا")] * 3
    assert [s.date for s in segments] == [date(2012, 2, 24), date(2012, 2, 25), date(2012, 2, 24)]
    assert [s.title for s in segments] == ["الأول.", "عنوان خاص", "الثالث."]
    assert [s.slug for s in segments] == ["a-1", "special", "a-3"]
    assert segments[1].title_given and not segments[0].title_given


def test_every_known_front_matter_key():
    text = (
        "---\ntitle: العنوان\ndate: 2012-02-24\nslug: homs\nauthor: كاتب\ntags: حمص, سوريا\n"
        "summary: ملخص قصير\ntranslate: false\ndraft: true\n---\nالنص."
    )
    (segment,), problems = segments_of(text)
    assert problems == []
    assert (segment.title, segment.date, segment.slug, segment.author) == ("العنوان", date(2012, 2, 24), "homs", "كاتب")
    assert segment.tags == ("حمص", "سوريا")
    assert segment.summary == "ملخص قصير" and segment.excerpt == "ملخص قصير"
    assert segment.translate is False and segment.draft is True


def test_front_matter_lines_are_not_page_text():
    (segment,), _ = segments_of("---\ntitle: ع\n---\nالنص.")
    assert [b.html for b in segment.blocks] == ["<p>النص.</p>"]


def test_separator_inside_file_front_matter_does_not_split():
    segments, problems = segments_of("---\nsummary: |\n  سطر\n  ===\n---\nالنص.")
    assert len(segments) == 1


@pytest.mark.parametrize(
    "text, line",
    [
        ("---\ntitle: ع\ndate: [2012\n---\nنص", 4),  # broken flow sequence, detected at the closing line
        ("---\ntitle: ع\n  bad: indent\n---\nنص", 3),
        ("أول\n===\n\n---\ntitle: ع\nauthor: a: b\n---\nثان", 6),  # segment front matter: absolute line
        ("---\ndate: 2012-02-30\n---\nنص", 2),  # a date that does not exist
    ],
)
def test_invalid_front_matter_yaml_is_an_error_with_absolute_line(text, line):
    _, problems = segments_of(text)
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1, problems
    assert errors[0].line == line
    assert errors[0].path.endswith("a.txt")


def test_front_matter_that_is_not_a_mapping_is_an_error():
    _, problems = segments_of("---\n- title\n- date\n---\nنص")
    assert [p.line for p in problems if p.is_error] == [2]
    assert "mapping" in problems[0].message


@pytest.mark.parametrize(
    "key_line",
    ["title: [1, 2]", "title: ''", "date: yesterday", "date: 24/02/2012", "slug: [a]", "tags: {a: b}", "translate: maybe", "draft: 1", "author: true"],
)
def test_wrong_front_matter_types_are_errors_on_their_line(key_line):
    _, problems = segments_of(f"---\nsummary: ملخص\n{key_line}\n---\nنص")
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1, problems
    assert errors[0].line == 3


def test_unknown_front_matter_key_is_a_warning_on_its_line():
    segments, problems = segments_of("---\ntitle: ع\ncategory: أخبار\n---\nنص")
    assert len(segments) == 1
    assert [(p.severity, p.line) for p in problems] == [(Severity.WARNING, 3)]
    assert "category" in problems[0].message


def test_unclosed_front_matter_is_an_error():
    _, problems = segments_of("---\ntitle: ع\nنص بلا نهاية")
    assert [p.line for p in problems if p.is_error] == [1]


def test_python_tag_in_front_matter_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "executed"
    text = f'---\ntitle: !!python/object/apply:os.system ["touch {marker}"]\n---\nنص'
    _, problems = segments_of(text)
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1 and errors[0].line == 2
    assert "not allowed" in errors[0].message
    assert not marker.exists()


def test_python_tag_via_build_exits_1_and_runs_nothing(make_site, run_build, tmp_path):
    marker = tmp_path / "executed"
    site = make_site({"content/a.txt": f'---\ntitle: !!python/object/apply:os.system ["echo hi > {marker}"]\n---\nنص'})
    run = run_build(site)
    assert run.returncode == 1
    assert "a.txt:2:" in run.stderr
    assert "hi" not in run.stdout
    assert not marker.exists()


# -- property: splitting loses nothing but separator lines -----------------------------------

_line = st.one_of(
    st.text(alphabet=st.sampled_from("اب ت=\t-`~#*x«»\u200f"), max_size=12),
    st.sampled_from(["===", " ==== ", "==", "", "```", "~~~", "---"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, max_size=25), st.booleans())
def test_splitting_loses_no_character_outside_separator_lines(lines, markdown):
    chunks = split_lines_into_chunks(lines, fenced_code_aware=markdown)
    # Re-joining the chunks with one separator line between each pair gives the input back exactly.
    position = 0
    for index, (start, chunk) in enumerate(chunks):
        assert start - 1 == position
        assert lines[position : position + len(chunk)] == chunk
        position += len(chunk)
        if index < len(chunks) - 1:
            assert SEPARATOR.match(lines[position]), "only a separator line may be dropped"
            position += 1
    assert position == len(lines)
    if not markdown:
        assert [line for _, chunk in chunks for line in chunk] == [line for line in lines if not SEPARATOR.match(line)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ابت =\u00a0"), min_size=1, max_size=10), min_size=1, max_size=15))
def test_split_source_bodies_keep_every_non_separator_line(lines):
    text = "\n".join(lines)
    if text.lstrip().startswith("---"):
        return
    _, segments, _ = split_source(source(text))
    body_lines = [line for s in segments for line in s.body.split("\n")]
    meaningful = [line for line in lines if not SEPARATOR.match(line) and line.strip()]
    assert [line for line in body_lines if line.strip()] == meaningful


# ------------------------------------------------------------------ invisible marks around lines


@pytest.mark.parametrize("mark", ["\u200f", "\u200e", "\u061c", "\u200b", "\ufeff", "\u202b", "\u2067", "\u00a0"])
def test_a_separator_with_invisible_marks_around_it_still_separates(mark):
    """An RTL editor leaves bidi marks at the ends of lines: '\u200f===' was published as text."""
    _, segments, problems = split_source(source(f"الأول.\n{mark}===\nالثاني.\n==={mark}\nالثالث.\n"))
    assert [s.body for s in segments] == ["الأول.", "الثاني.", "الثالث."] and problems == []


@pytest.mark.parametrize("name", ["a.txt", "a.md"])
def test_a_line_of_invisible_marks_alone_is_a_blank_line(name):
    segments, problems = build_segments(source("فقرة.\n\u200f\n\u200e\u200b \nفقرة أخرى.\n", name), None)
    assert problems == [] and [b.units for b in segments[0].blocks] == [("فقرة.",), ("فقرة أخرى.",)]
    _, _, empty = split_source(source("\u200f\n\u200e\n", name))
    assert [p.message for p in empty] == ["empty file: nothing to publish; add text or remove the file"]


# ------------------------------------------------------------------ fences counted in one pass


def _fenced_lines_counted_from_the_start(lines: list[str]) -> set[int]:
    """The fenced lines as first written: every fence's lines counted from the top of the text."""
    from markdown.extensions.attr_list import get_attrs_and_remainder
    from markdown.extensions.fenced_code import FencedBlockPreprocessor

    text = "\n".join("" if not line.expandtabs(4).strip(" ") else line.expandtabs(4) for line in lines) + "\n\n"
    inside: set[int] = set()
    index = 0
    while (match := FencedBlockPreprocessor.FENCED_BLOCK_RE.search(text, index)) is not None:
        if match.group("attrs") and get_attrs_and_remainder(match.group("attrs"))[1]:
            index = match.end("attrs")
            continue
        inside.update(range(text.count("\n", 0, match.start()), text.count("\n", 0, match.end()) + 1))
        index = match.end()
    return inside


_FENCE_LINES = ["```", "~~~", "````", "``` {.x}", "``` {bad", "``` { .a #b }", "a", "", "===", "\t", "  ```", "    ```", "```python", "b c",
                "~~~~", "```  ", "~~~\t", "``` {.a {b}}", "``` {a} }", "```{.x} ", "```.py", "```py hl_lines=\"1 2\"",
                "```hl_lines='1", "2'", "x\"", "```pythonhl_lines=\"1\"", "~~~ hl_lines=\"1\" x", "\"  ", "```` ``"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FENCE_LINES), max_size=40))
def test_fenced_lines_are_those_counted_from_the_start(lines):
    assert fenced_lines(lines) == _fenced_lines_counted_from_the_start(lines)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FENCE_LINES), max_size=12))
def test_fenced_lines_are_those_counted_from_the_start_in_short_texts(lines):
    assert fenced_lines(lines) == _fenced_lines_counted_from_the_start(lines)


def test_a_thousand_fences_never_closed_are_read_in_linear_time():
    """The extension's search from each unclosed fence to the end: 1,000 of them in 500 KB took
    14 s in the splitter, before the Markdown guard or any time budget."""
    import time

    lines = "".join("~" * (3 + i) + "\nسطر\n" for i in range(1000)).split("\n")  # 507 KB
    started = time.monotonic()
    assert fenced_lines(lines) == set()
    assert time.monotonic() - started < 2.0


def test_forty_thousand_fences_are_found_in_bounded_time():
    """Every fence's lines were counted from the top of the file: 40,000 fences took 10 s."""
    import time

    lines = ("```\na\n```\n" * 40_000).split("\n")
    started = time.monotonic()
    found = fenced_lines(lines)
    assert time.monotonic() - started < 2.0
    assert len(found) == 120_000


def test_a_markdown_file_without_a_fence_is_split_without_loading_python_markdown():
    """Python-Markdown's fence pattern is what decides where a fence is; a file holding no
    ``` or ~~~ has none, and loading the parser for it cost each process of a build 40-50 ms
    (a Markdown archive whose stories need no parser never loaded it otherwise)."""
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys; from sitegen.content.fences import fenced_lines; "
        "print(sorted(fenced_lines(sys.argv[1].split('|'))), any(m.startswith('markdown') for m in sys.modules))"
    )
    root = Path(__file__).resolve().parent.parent

    def run(lines: str) -> str:
        return subprocess.run([sys.executable, "-c", script, lines], cwd=root, capture_output=True, text=True, check=True).stdout.strip()

    assert run("**حمص** - نص.||===|نص ثان ~~ و `رمز`.") == "[] False"
    # Fences are found by the extension's rules without its parser, which only reads attributes.
    assert run("نص.|```|===|```|بعد") == "[1, 2, 3] False"
    assert run("نص.|~~~|===|~~~") == "[1, 2, 3] False"
    assert run("نص.|``` {.x}|===|```") == "[1, 2, 3] True"
