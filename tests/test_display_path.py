"""A problem names its file as the user typed it: relative to the working directory when the
file lies below it. display_path takes a short way for a normal path below that folder; it
must give exactly what os.path.relpath gives, for any path and any working directory."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.core.diagnostics import display_path

_PARTS = st.sampled_from(["a", "b", "ب", "..", ".", "", "a b", "x.txt", "main", "mainx"])


@settings(max_examples=400, deadline=None)
@given(below=st.lists(_PARTS, max_size=5), cwd_depth=st.integers(0, 3), relative=st.booleans(), as_path=st.booleans())
def test_a_path_is_shown_as_relpath_shows_it(tmp_path_factory, below, cwd_depth, relative, as_path):
    root = tmp_path_factory.getbasetemp() / "cwd"
    cwd = root.joinpath(*["main"] * cwd_depth)
    cwd.mkdir(parents=True, exist_ok=True)
    text = "/".join(below) if relative else os.path.join(str(root), *below)
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        expected = os.path.relpath(text) if os.path.isabs(text) else text  # as typed when relative
        assert display_path(Path(text) if as_path and os.path.isabs(text) else text) == expected
    finally:
        os.chdir(previous)


def test_the_working_directory_itself_and_the_root(tmp_path):
    previous = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert display_path(str(tmp_path)) == "."
        assert display_path(str(tmp_path) + "/") == "."
        assert display_path(str(tmp_path) + "//a/./b") == "a/b"
        os.chdir("/")
        assert display_path("/etc/hosts") == "etc/hosts"
        assert display_path("/") == "."
    finally:
        os.chdir(previous)
