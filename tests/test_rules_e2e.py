"""The rules of the built site, end to end: exit codes, pages, links, theme, dates and slugs."""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent

ARTICLE = "الجزء الأول من المقال.\nسطر ثان.\n===\nالجزء الثاني.\n===\nالجزء الثالث والأخير."


def html_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def anchor_links(page, rel: str) -> list[str]:
    return [a.get("href") or "" for tag, a in page.tags if tag == "a" and rel in (a.get("rel") or "").split()]


def entry_links(page) -> list[str]:
    """The article links of a parsed index page, in order (the Arabic pages it lists)."""
    return [a["href"] for tag, a in page.tags if tag == "a" and a.get("href", "").startswith("ar/") and "hreflang" not in a]


# -- exit codes ---------------------------------------------------------------------------------------


def test_success_exits_0(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE})
    run = run_build(site)
    assert run.returncode == 0, run.output
    assert "built 3 segments" in run.stdout


def test_content_error_exits_1_and_writes_nothing(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE, "content/b.txt": "---\ndate: not-a-date\n---\nنص"})
    run = run_build(site)
    assert run.returncode == 1
    assert "b.txt:2:" in run.stderr
    assert not (site / "_site").exists()


def test_all_errors_of_a_build_are_reported_together(make_site, run_build):
    site = make_site({"content/a.txt": "---\nslug: a/b\n---\nنص", "content/b.txt": b"\xff\xfe bad", "content/c.txt": "---\ndraft: yes please\n---\nنص"})
    run = run_build(site)
    assert run.returncode == 1
    assert "a.txt:2:" in run.stderr and "b.txt:1:" in run.stderr and "c.txt:2:" in run.stderr


@pytest.mark.parametrize("args", [("--no-such-option",), ("--out",), ("--per-page", "3")])
def test_usage_error_exits_2(make_site, run_build, args):
    site = make_site({"content/a.txt": ARTICLE})
    run = run_build(site, *args)
    assert run.returncode == 2
    assert "usage" in run.stderr.lower()
    assert not (site / "_site").exists()


def test_help_exits_0(run_build):
    assert run_build(None, "--help").returncode == 0


def test_warnings_alone_still_build(make_site, run_build):
    site = make_site({"content/a.txt": "أ\n===\n===\nب"})
    run = run_build(site)
    assert run.returncode == 0
    assert "a.txt:2: warning:" in run.stderr
    assert (site / "_site" / "ar" / "a-2.html").is_file()


def test_strict_makes_warnings_errors_and_writes_nothing(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE})
    assert run_build(site).returncode == 0
    before = {p: p.read_bytes() for p in (site / "_site").rglob("*") if p.is_file()}
    (site / "content" / "a.txt").write_text("أ\n===\n===\nب", encoding="utf-8")
    run = run_build(site, "--strict")
    assert run.returncode == 1
    assert "a.txt:2:" in run.stderr and "warning:" not in run.stderr  # shown as an error
    after = {p: p.read_bytes() for p in (site / "_site").rglob("*") if p.is_file()}
    assert after == before


def test_strict_with_unknown_front_matter_key(make_site, run_build):
    site = make_site({"content/a.txt": "---\ncategory: أخبار\n---\nنص"})
    assert run_build(site).returncode == 0
    assert run_build(site, "--strict", "--out", str(site / "strict_out")).returncode == 1
    assert not (site / "strict_out").exists()


def test_real_entry_point_exit_codes(make_site):
    site = make_site({"content/a.txt": ARTICLE})
    env = {k: v for k, v in os.environ.items() if k != "TRANSLATOR_API_KEY"}
    ok = subprocess.run([sys.executable, str(REPO / "build.py"), "--config", str(site / "site.yml"), "--offline", "--quiet"], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert (site / "_site" / "ar" / "a-3.html").is_file()
    bad = subprocess.run([sys.executable, str(REPO / "build.py"), "--bogus"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2
    (site / "content" / "a.txt").write_bytes(b"\xff")
    broken = subprocess.run([sys.executable, str(REPO / "build.py"), "--config", str(site / "site.yml"), "--offline"], capture_output=True, text=True, env=env, timeout=120)
    assert broken.returncode == 1
    assert "Traceback" not in broken.stderr and "a.txt:1:" in broken.stderr


def test_the_entry_point_leaves_without_the_interpreter_teardown_and_keeps_its_code_and_words(make_site):
    """build.py ends with os._exit once its output is flushed: an exit handler (the teardown)
    never runs, yet every line printed arrives and the exit code is the build's."""
    site = make_site({"content/a.txt": ARTICLE})
    (site / "content" / "b.txt").write_bytes(b"\xff")
    script = ("import atexit, runpy, sys; atexit.register(lambda: print('TEARDOWN', file=sys.stderr)); "
              f"sys.argv = ['build.py', '--config', {str(site / 'site.yml')!r}, '--offline']; "
              f"runpy.run_path({str(REPO / 'build.py')!r}, run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 1
    assert "b.txt:1:" in run.stderr and run.stderr.endswith("\n")
    assert "TEARDOWN" not in run.stderr


# -- pages ----------------------------------------------------------------------------------------------


@pytest.fixture
def sample_site(make_site, run_build, sample_text):
    site = make_site({"content/homs-baba-amr.txt": sample_text})
    run = run_build(site)
    assert run.returncode == 0, run.output
    return site / "_site"


def test_segment_page_basics(sample_site, parse_html):
    pages = [sample_site / "ar" / f"homs-baba-amr-{n}.html" for n in (1, 2, 3)]
    for path in pages:
        page = parse_html(path)
        assert page.html_attrs.get("lang") == "ar" and page.html_attrs.get("dir") == "rtl"
        assert any(t == "meta" and a.get("name") == "viewport" and "width=device-width" in (a.get("content") or "") for t, a in page.tags)
        assert page.h1 and page.title.startswith(page.h1[0])
        assert "موقع الاختبار" in page.title


def test_sample_pages_are_verbatim(sample_site, sample_text, parse_html):
    segments = [[line for line in chunk.split("\n") if line.strip()] for chunk in _split_sample(sample_text)]
    assert len(segments) == 3
    every_paragraph = []
    for number, lines in enumerate(segments, start=1):
        page = parse_html(sample_site / "ar" / f"homs-baba-amr-{number}.html")
        assert page.body_paragraphs == lines, f"segment {number} differs from its source lines"
        every_paragraph += page.body_paragraphs
    expected = "".join(line for line in sample_text.split("\n") if line.strip() and set(line.strip()) != {"="})
    assert "".join(every_paragraph) == expected


def _split_sample(text: str) -> list[str]:
    chunks, current = [], []
    for line in text.split("\n"):
        if line.strip() and set(line.strip()) == {"="} and len(line.strip()) >= 3:
            chunks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    chunks.append("\n".join(current))
    return chunks


def test_verbatim_with_awkward_characters(make_site, run_build, parse_html):
    lines = ["  مسافة في البداية", "a < b & c > d", "<script>alert(1)</script>", "\"مقتبس\" و 'مفرد'", "علامة\u200fاتجاه", "&amp; حرفيا", "**ليست** _ماركداون_"]
    site = make_site({"content/a.txt": "\n".join(lines)})
    assert run_build(site).returncode == 0
    page = parse_html(site / "_site" / "ar" / "a-1.html")
    assert page.body_paragraphs == lines
    assert "<script>alert(1)" not in (site / "_site" / "ar" / "a-1.html").read_text(encoding="utf-8")


def test_date_shown_in_time_element(make_site, run_build, parse_html):
    site = make_site({"content/2012-02-24-homs.txt": "نص."})
    assert run_build(site).returncode == 0
    page = parse_html(site / "_site" / "ar" / "2012-02-24-homs-1.html")
    assert ("2012-02-24", "24 فبراير 2012") in page.times  # plain ar: CLDR writes Latin digits (numerals: auto)


def test_neighbour_links_stay_within_the_article(make_site, run_build, parse_html):
    site = make_site({"content/2012-01-01-a.txt": ARTICLE, "content/2012-01-02-b.txt": "مقال آخر.\n===\nتتمته."})
    assert run_build(site).returncode == 0
    ar = site / "_site" / "ar"
    first, middle, last = (parse_html(ar / f"2012-01-01-a-{n}.html") for n in (1, 2, 3))
    assert anchor_links(first, "prev") == [] and anchor_links(first, "next") == ["2012-01-01-a-2.html"]
    assert anchor_links(middle, "prev") == ["2012-01-01-a-1.html"] and anchor_links(middle, "next") == ["2012-01-01-a-3.html"]
    assert anchor_links(last, "prev") == ["2012-01-01-a-2.html"] and anchor_links(last, "next") == []
    other = parse_html(ar / "2012-01-02-b-1.html")
    assert anchor_links(other, "prev") == []
    for page in (first, middle, last, other):
        assert "../index.html" in page.hrefs


def test_every_link_is_relative_ends_in_a_file_and_resolves(make_site, run_build, sample_text, parse_html):
    files = {
        "content/homs-baba-amr.txt": sample_text,
        "content/2012/02/تقرير.md": "---\nslug: تقرير-حمص\ntitle: تقرير\n---\nنص *التقرير*.",
        "content/2012/02/ملف.md": "نص [رابط داخلي](#p1).\n===\nالجزء الثاني.",
        "content/2012-03-01-x.txt": "أ\n===\nب\n===\nج",
        "content/undated.txt": "بلا تاريخ.",
    }
    site = make_site(files, config={"per_page": 2})
    assert run_build(site).returncode == 0
    out = site / "_site"
    pages = html_files(out)
    assert len(pages) >= 10
    checked = 0
    for path in pages:
        rel_page = path.relative_to(out).as_posix()
        page = parse_html(path)
        for url in page.hrefs + page.srcs:
            checked += 1
            where = f"{rel_page}: {url!r}"
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, f"absolute link in {where}"
            assert not url.startswith("/"), f"root-relative link in {where}"
            if not parts.path:
                assert parts.fragment in page.ids, f"anchor to a missing id in {where}"
                continue
            name = parts.path.rsplit("/", 1)[-1]
            assert name and "." in name, f"link does not end in a file name in {where}"
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel_page), unquote(parts.path)))
            assert not target.startswith(".."), f"link leaves the site in {where}"
            assert (out / target).is_file(), f"broken link in {where}"
            if parts.fragment and target.endswith(".html"):
                assert parts.fragment in parse_html(out / target).ids, f"anchor missing in {where}"
    assert checked > 50
    assert (out / "ar" / "تقرير-حمص.html").is_file()


def test_no_external_resources_and_css_inlined(sample_site, parse_html):
    for path in html_files(sample_site):
        page = parse_html(path)
        text = path.read_text(encoding="utf-8")
        assert not any(t == "link" and "stylesheet" in (a.get("rel") or "") for t, a in page.tags), path
        assert not any(t == "img" for t, _ in page.tags), path
        for tag, attrs in page.tags:
            src = attrs.get("src")
            if src is not None:
                assert not urlsplit(src).scheme and not src.startswith("//"), f"{path}: {tag} src={src}"
        assert page.styles and page.styles[0].strip(), f"{path}: no inline CSS"
        for css in page.styles:
            assert "url(" not in css and "@import" not in css, path
        assert "style=" not in text or "url(" not in text, path


def test_sample_pages_are_small(sample_site):
    for path in html_files(sample_site):
        assert path.stat().st_size < 30 * 1024, f"{path.name} is {path.stat().st_size} bytes"


def test_404_and_nojekyll_exist(sample_site, parse_html):
    assert (sample_site / "404.html").is_file()
    assert (sample_site / ".nojekyll").is_file()
    page = parse_html(sample_site / "404.html")
    assert page.html_attrs.get("lang") == "ar"
    assert "index.html" in page.hrefs


def test_index_order_newest_first_undated_last_articles_together(make_site, run_build, parse_html):
    files = {
        "content/2012-02-20-old.txt": "قديم ١\n===\nقديم ٢",
        "content/2012-03-01-new.txt": "جديد",
        "content/undated.txt": "بلا تاريخ ١\n===\nبلا تاريخ ٢",
        "content/mid.md": "---\ndate: 2012-02-25\n---\nوسط ١\n===\nوسط ٢",
    }
    site = make_site(files)
    assert run_build(site).returncode == 0
    links = entry_links(parse_html(site / "_site" / "index.html"))
    assert links == [
        "ar/2012-03-01-new-1.html",
        "ar/mid-1.html",
        "ar/mid-2.html",
        "ar/2012-02-20-old-1.html",
        "ar/2012-02-20-old-2.html",
        "ar/undated-1.html",
        "ar/undated-2.html",
    ]


def test_pagination(make_site, run_build, parse_html):
    # Five stories at per_page 2: the front page holds the newest three (a front page holds
    # per_page to twice as many less one), page 1 the oldest two (pages are numbered from the
    # oldest, so that a page keeps its stories when new ones come: pages/paging.py).
    files = {f"content/2012-01-0{n}-x.txt": f"مقال رقم {n}." for n in range(1, 6)}
    site = make_site(files, config={"per_page": 2})
    assert run_build(site).returncode == 0
    out = site / "_site"
    assert (out / "index.html").is_file() and (out / "page-1.html").is_file()
    assert not (out / "page-2.html").exists() and not (out / "page-0.html").exists()
    first, oldest = (parse_html(out / n) for n in ("index.html", "page-1.html"))
    assert entry_links(first) + entry_links(oldest) == [f"ar/2012-01-0{n}-x-1.html" for n in (5, 4, 3, 2, 1)]
    assert len(entry_links(first)) == 3
    assert anchor_links(first, "next") == ["page-1.html"] and anchor_links(first, "prev") == []
    assert anchor_links(oldest, "prev") == ["index.html"] and anchor_links(oldest, "next") == []


def test_a_new_story_leaves_the_pages_more_than_a_few_below_the_top_as_they_were(make_site, run_build, parse_html):
    # The newsroom's day: a story newer than all. Counted from the newest, every page of the
    # index would hold other stories; counted from the oldest, only the front page does, and
    # the few pages whose navigation reaches the top (a new page, once in per_page stories).
    files = {f"content/2012-01-{n:02d}-x.txt": f"مقال رقم {n}." for n in range(1, 13)}
    site = make_site(files, config={"per_page": 1})
    assert run_build(site).returncode == 0
    out = site / "_site"
    before = {path.name: path.read_bytes() for path in out.glob("page-*.html")}
    assert sorted(before, key=lambda name: int(name[5:-5])) == [f"page-{n}.html" for n in range(1, 12)]  # the front page holds the newest
    (site / "content" / "2012-01-13-x.txt").write_text("مقال رقم 13.", encoding="utf-8")
    assert run_build(site).returncode == 0
    after = {path.name: path.read_bytes() for path in out.glob("page-*.html")}
    assert set(after) == set(before) | {"page-12.html"}
    assert entry_links(parse_html(out / "page-12.html")) == ["ar/2012-01-12-x-1.html"]
    assert entry_links(parse_html(out / "index.html")) == ["ar/2012-01-13-x-1.html"]
    kept = [name for name in before if after[name] == before[name]]
    assert sorted(kept, key=lambda name: int(name[5:-5])) == [f"page-{n}.html" for n in range(1, 10)]  # all but the two nearest the top
    for n in range(1, 12):
        assert entry_links(parse_html(out / f"page-{n}.html")) == [f"ar/2012-01-{n:02d}-x-1.html"]  # page n: the n-th story, for good


def test_empty_segments_never_make_a_blank_page(make_site, run_build, parse_html):
    site = make_site({"content/a.txt": "===\nأ\n===\n\n===\nب\n===\n"})
    run = run_build(site)
    assert run.returncode == 0
    pages = sorted(p.name for p in (site / "_site" / "ar").iterdir())
    assert pages == ["a-1.html", "a-2.html"]
    for name in pages:
        assert any(p.strip() for p in parse_html(site / "_site" / "ar" / name).body_paragraphs)


def test_setext_trap_end_to_end(make_site, run_build, parse_html):
    site = make_site({"content/a.md": "الجزء الأول\n===\nالجزء الثاني\n\n```\ncode\n===\n```\n==="})
    assert run_build(site).returncode == 0
    out = site / "_site"
    assert sorted(p.name for p in (out / "ar").iterdir()) == ["a-1.html", "a-2.html"]
    for path in html_files(out):
        page = parse_html(path)
        assert "h1" not in page.body_tags, path
        text = path.read_text(encoding="utf-8")
        main = text[text.index("<main") : text.index("</main>")]  # the page's own text, not inline scripts
        if path.name == "a-2.html":
            assert "<code>code\n===\n</code></pre>" in main
            assert main.count("===") == 1
        else:
            assert "===" not in main, path
        assert "===" not in page.title


def test_drafts_are_left_out_unless_asked(make_site, run_build):
    site = make_site({"content/a.txt": "منشور\n===\n---\ndraft: true\n---\nمسودة"})
    assert run_build(site).returncode == 0
    assert sorted(p.name for p in (site / "_site" / "ar").iterdir()) == ["a-1.html"]
    assert run_build(site, "--drafts").returncode == 0
    assert sorted(p.name for p in (site / "_site" / "ar").iterdir()) == ["a-1.html", "a-2.html"]


# -- theme ----------------------------------------------------------------------------------------------


def test_site_templates_folder_overrides_a_template_by_name(make_site, run_build):
    custom = '{% extends "base.html" %}{% block content %}<p class="custom-404">صفحة مفقودة خاصة</p>{% endblock %}'
    site = make_site({"content/a.txt": ARTICLE, "templates/404.html": custom})
    assert run_build(site).returncode == 0
    text = (site / "_site" / "404.html").read_text(encoding="utf-8")
    assert 'class="custom-404"' in text and "صفحة مفقودة خاصة" in text
    assert 'class="custom-404"' not in (site / "_site" / "index.html").read_text(encoding="utf-8")


def test_undefined_template_variable_fails_the_build_without_traceback(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE, "templates/404.html": "<p>{{ no_such_variable }}</p>"})
    run = run_build(site)
    assert run.returncode == 1
    assert "no_such_variable" in run.stderr
    assert "Traceback" not in run.output
    assert not (site / "_site").exists()


def test_autoescape_of_a_front_matter_title(make_site, run_build):
    site = make_site({"content/a.txt": "---\ntitle: <script>alert(1)</script>\nauthor: <b>كاتب</b>\n---\nنص."})
    assert run_build(site).returncode == 0
    out = site / "_site"
    page = (out / "ar" / "a-1.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;كاتب&lt;/b&gt;" in page
    for path in html_files(out):
        text = path.read_text(encoding="utf-8")
        assert "<script>alert(1)" not in text, path
        assert "<b>كاتب" not in text, path


# -- dates end to end --------------------------------------------------------------------------------------


def _git(repo: Path, *args: str, when: str | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    if when:
        env |= {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_date_is_used_and_mtime_never(make_site, run_build, parse_html):
    site = make_site({"content/committed.txt": "نص محفوظ.", "content/loose.txt": "نص غير محفوظ."})
    _git(site, "init", "-q")
    _git(site, "add", "content/committed.txt")
    _git(site, "commit", "-q", "-m", "add", when="2011-05-06T10:00:00+00:00")
    old = 978_307_200  # 2001-01-01
    for name in ("committed.txt", "loose.txt"):
        os.utime(site / "content" / name, (old, old))
    assert run_build(site).returncode == 0
    committed = parse_html(site / "_site" / "ar" / "committed-1.html")
    loose = parse_html(site / "_site" / "ar" / "loose-1.html")
    assert committed.times == [("2011-05-06", "6 مايو 2011")]
    # Undated: not the file's mtime, not today (the date shown below it is its related story's).
    assert loose.times == [("2011-05-06", "6 مايو 2011")]
    header = (site / "_site" / "ar" / "loose-1.html").read_text(encoding="utf-8").split('<header class="segment-header">')[1].split("</header>")[0]
    assert "<time" not in header and "بلا تاريخ" in header
    for path in html_files(site / "_site"):
        assert "2001-01-01" not in path.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_front_matter_date_beats_file_name_and_git(make_site, run_build, parse_html):
    site = make_site({"content/2012-02-24-a.txt": "---\ndate: 2013-01-02\n---\nنص."})
    _git(site, "init", "-q")
    _git(site, "add", ".")
    _git(site, "commit", "-q", "-m", "add", when="2011-05-06T10:00:00+00:00")
    assert run_build(site).returncode == 0
    assert parse_html(site / "_site" / "ar" / "2012-02-24-a-1.html").times == [("2013-01-02", "2 يناير 2013")]


# -- slugs end to end ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("other_slug", ["same-place", "Same-Place", "SAME-PLACE"])
def test_two_segments_claiming_one_output_path_is_one_error_naming_both(make_site, run_build, other_slug):
    site = make_site({"content/a.txt": "---\nslug: same-place\n---\nأ", "content/sub/b.md": f"---\ntitle: ب\nslug: {other_slug}\n---\nب"})
    run = run_build(site)
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if "already used" in line]
    assert len(lines) == 1, run.stderr
    assert "a.txt" in lines[0] and "b.md" in lines[0]
    assert not (site / "_site").exists()


def test_default_slugs_colliding_across_folders_is_an_error(make_site, run_build):
    site = make_site({"content/x/y.txt": "أ", "content/x-y.txt": "ب"})
    run = run_build(site)
    assert run.returncode == 1
    assert "x-y.txt" in run.stderr and "y.txt" in run.stderr and "already used" in run.stderr


def test_arabic_slug_over_255_bytes_is_an_error_with_file_and_line(make_site, run_build):
    site = make_site({"content/a.txt": "أ\n===\n---\ntitle: ب\nslug: " + "ب" * 130 + "\n---\nب"})
    run = run_build(site)
    assert run.returncode == 1
    assert "a.txt:5:" in run.stderr and "bytes" in run.stderr
