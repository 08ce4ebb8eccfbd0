"""``build.py serve``: preview under a sub-path, reload script, rebuild on change, last good site kept.

The server runs in-process on 127.0.0.1, port 0, over a copy of the sample
project in tmp_path; every wait is a poll with a deadline.
"""

from __future__ import annotations

import http.client
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sitegen.commands.serve.handler import inject_reload
from sitegen.commands.serve.server import PreviewServer, ServeSettings
from tests.sitekit import preview
from tests.sitekit import wait_until as wait_for

REPO = Path(__file__).resolve().parent.parent
PAGE = "ar/homs-baba-amr-1.html"
MARKER = "data-sitegen-reload"
DEADLINE = 8.0


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO / "content", root / "content")
    if (REPO / "translations").is_dir():
        shutil.copytree(REPO / "translations", root / "translations")
    shutil.copy(REPO / "site.yml", root / "site.yml")
    return root


@pytest.fixture
def server(project: Path):
    with preview(project) as running:
        yield running


def get(server: PreviewServer, path: str, timeout: float = 5.0) -> tuple[int, str, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace"), dict(response.getheaders())
    finally:
        connection.close()


def wait_until(predicate, what: str, deadline: float = DEADLINE):
    return wait_for(predicate, what, deadline)


def edit_content(project: Path, old: str, new: str) -> None:
    path = project / "content" / "homs-baba-amr.txt"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the sample no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- serving -----------------------------------------------------------------------


def test_serves_the_base_and_a_segment_page_with_the_reload_script(server: PreviewServer):
    assert server.url == f"http://127.0.0.1:{server.port}/repo/"
    for path in ("/repo/", "/repo/index.html", f"/repo/{PAGE}"):
        status, body, headers = get(server, path)
        assert status == 200, path
        assert headers["Content-Type"].startswith("text/html")
        assert MARKER in body, path
        assert body.index(MARKER) < body.rindex("</body>"), "the script goes before </body>"
    # ...in the response only, never in the built files.
    assert MARKER not in (server.site_dir / PAGE).read_text(encoding="utf-8")
    # Other files are served as they are.
    status, body, headers = get(server, "/repo/search-index.js")
    assert status == 200 and MARKER not in body


def test_the_preview_is_built_outside_the_real_output_folder(server: PreviewServer, project: Path):
    assert (server.site_dir / "index.html").is_file()
    assert project / ".cache" / "serve" in server.site_dir.parents
    assert not (project / "_site").exists()


def test_root_redirects_to_the_base_and_requests_outside_it_are_404(server: PreviewServer):
    status, _, headers = get(server, "/")
    assert status == 302 and headers["Location"] == "/repo/"
    for path in ("/index.html", f"/{PAGE}", "/other/index.html", "/repository/index.html"):
        status, _, _ = get(server, path)
        assert status == 404, path
    status, body, _ = get(server, "/repo/no-such-page.html")
    assert status == 404
    status, _, _ = get(server, "/repo/../index.html")
    assert status == 404


def test_inject_reload_without_body_appends():
    assert inject_reload(b"<p>x</p>", 3).endswith(b"</script>")
    assert inject_reload(b"<body>x</BODY></html>", 3).endswith(b"</BODY></html>")


# -- rebuilding ----------------------------------------------------------------------


def test_a_content_change_rebuilds_and_the_page_shows_it(server: PreviewServer, project: Path):
    before = server.counter
    status, body, _ = get(server, f"/repo/{PAGE}")
    assert status == 200 and "NEW-TEXT-FROM-TEST" not in body
    edit_content(project, "بابا عمرو", "NEW-TEXT-FROM-TEST")
    # The browser's long poll answers as soon as the counter moves.
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/__reload?since={before}", timeout=DEADLINE) as response:
        assert int(response.read()) > before
    assert server.counter > before
    status, body, _ = get(server, f"/repo/{PAGE}")
    assert status == 200 and "NEW-TEXT-FROM-TEST" in body
    assert f"var n={server.counter};" in body, "the page carries the new build counter"


def test_a_content_error_keeps_serving_the_previous_site(server: PreviewServer, project: Path):
    good = server.counter
    failures = server.failures
    (project / "content" / "broken.txt").write_text("---\ntitle: never closed\nنص المقال\n", encoding="utf-8")
    wait_until(lambda: server.failures > failures, "the failed rebuild")
    assert server.counter == good
    assert "broken.txt" in server.log.getvalue()  # type: ignore[attr-defined]
    assert "still serving the previous site" in server.log.getvalue()  # type: ignore[attr-defined]
    status, body, _ = get(server, f"/repo/{PAGE}")
    assert status == 200 and MARKER in body
    # Fixing the file brings the next build, which succeeds (the site may need no change at all).
    builds = server.builds
    (project / "content" / "broken.txt").unlink()
    wait_until(lambda: server.builds > builds, "the rebuild after the fix")
    assert server.last_outcome is not None and server.last_outcome.ok, server.log.getvalue()  # type: ignore[attr-defined]
    status, body, _ = get(server, f"/repo/{PAGE}")
    assert status == 200 and MARKER in body


def test_a_site_that_does_not_build_at_start_answers_503_until_fixed(project: Path):
    config = project / "site.yml"
    good = config.read_text(encoding="utf-8")
    config.write_text(good + "\nno_such_key: 1\n", encoding="utf-8")
    log = io.StringIO()
    with PreviewServer(ServeSettings(config, port=0, base="/repo/", offline=True, debounce_ms=50), out=log) as preview:
        assert "no_such_key" in log.getvalue()
        status, body, _ = get(preview, "/repo/")
        assert status == 503 and MARKER in body
        config.write_text(good, encoding="utf-8")
        wait_until(lambda: preview.counter >= 1, "the first good build")
        assert get(preview, "/repo/")[0] == 200


def test_an_edit_of_site_yml_rebuilds(server: PreviewServer, project: Path):
    before = server.counter
    config = project / "site.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("title: أرشيف الأخبار", "title: عنوان جديد"), encoding="utf-8")
    wait_until(lambda: server.counter > before, "the rebuild after site.yml changed")
    status, body, _ = get(server, "/repo/index.html")
    assert "عنوان جديد" in body


def test_base_defaults_to_the_root_and_the_preview_folder_is_kept_for_the_next_start(project: Path):
    preview = PreviewServer(ServeSettings(project / "site.yml", port=0, offline=True), out=io.StringIO()).start()
    try:
        status, body, _ = get(preview, "/index.html")  # base "/" by default
        assert status == 200 and MARKER in body
        folder = preview.site_dir
    finally:
        preview.stop()
    assert (folder / "index.html").is_file()
    again = PreviewServer(ServeSettings(project / "site.yml", port=0, offline=True), out=io.StringIO()).start()
    try:
        assert again.site_dir == folder
        assert get(again, "/")[0] == 200
    finally:
        again.stop()


# -- the command ---------------------------------------------------------------------


# Ctrl-C reaches a terminal's foreground process, whose SIGINT is at its default. A shell
# starts its background jobs with SIGINT ignored, and a test run from one (CI under `&`)
# would hand that on, so that Python never turns the signal into KeyboardInterrupt: the
# command is started with SIGINT at its default, as from a terminal.
AS_IN_A_TERMINAL = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"]


def test_serve_command_prints_the_url_and_stops_cleanly_on_ctrl_c(project: Path):
    process = subprocess.Popen(
        [*AS_IN_A_TERMINAL, str(REPO / "build.py"), "serve", "--config", str(project / "site.yml"), "--port", "0", "--base", "/repo/", "--offline"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        url = None
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and url is None:
            line = process.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            if line.startswith("serving the preview at http://127.0.0.1:"):
                url = line[line.index("http://") :].split()[0]
        assert url and url.endswith("/repo/"), "the URL to open is printed"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
