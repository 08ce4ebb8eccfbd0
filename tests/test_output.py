"""Writing the site: deterministic, atomic, and never destroying a folder that is not ours."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sitegen.pipeline.staging import (
    MARKER,
    OutputError,
    SpareCopy,
    check_output_dir,
    discard_staging,
    prepare_staging,
    publish_staging,
    read_build_id,
    remove_leftovers,
    replace_file,
    swap_into_place,
)

ARTICLE = "الجزء الأول من المقال.\nسطر ثان.\n===\nالجزء الثاني.\n"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- determinism --------------------------------------------------------------------------------


def test_two_builds_give_byte_identical_trees(make_site, run_build, tmp_path, sample_text):
    files = {
        "content/homs-baba-amr.txt": sample_text,
        "content/2012-02-25-other.md": "---\ntitle: مقال آخر\ntags: [حمص]\n---\nنص *مهم*.\n===\nتتمة.",
        "content/undated.txt": "بلا تاريخ.",
    }
    site = make_site(files, config={"per_page": 2})
    first, second = tmp_path / "one", tmp_path / "two"
    assert run_build(site, "--out", str(first)).returncode == 0
    assert run_build(site, "--out", str(second)).returncode == 0
    one, two = snapshot(first), snapshot(second)
    assert len(one) > 5
    assert one == two


# -- atomicity ------------------------------------------------------------------------------------


def test_failed_build_leaves_previous_site_byte_for_byte(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE, "content/b.txt": "مقال ثان."})
    assert run_build(site).returncode == 0
    before = snapshot(site / "_site")
    inode = (site / "_site" / "index.html").stat().st_ino
    (site / "content" / "b.txt").write_text("---\nslug: ../bad\n---\nتغير النص.", encoding="utf-8")
    (site / "content" / "a.txt").write_text("نص جديد كليا.", encoding="utf-8")
    run = run_build(site)
    assert run.returncode == 1
    assert "previous site is untouched" in run.stderr
    assert snapshot(site / "_site") == before
    assert (site / "_site" / "index.html").stat().st_ino == inode
    assert not list(site.glob("._site.staging-*"))


def test_page_of_a_removed_source_is_gone_after_the_next_build(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE, "content/b.txt": "مقال ثان."})
    assert run_build(site).returncode == 0
    assert (site / "_site" / "ar" / "b-1.html").is_file()
    (site / "content" / "b.txt").unlink()
    assert run_build(site).returncode == 0
    assert not (site / "_site" / "ar" / "b-1.html").exists()
    assert "b-1.html" not in (site / "_site" / "index.html").read_text(encoding="utf-8")
    assert (site / "_site" / "ar" / "a-2.html").is_file()


def test_stale_file_dropped_into_output_disappears(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE})
    assert run_build(site).returncode == 0
    (site / "_site" / "stray.html").write_text("قديم", encoding="utf-8")
    assert run_build(site).returncode == 0
    assert not (site / "_site" / "stray.html").exists()


def test_output_has_marker(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE})
    assert run_build(site).returncode == 0
    assert (site / "_site" / MARKER).is_file()


# -- refusals --------------------------------------------------------------------------------------


def test_refuses_the_project_root(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE}, config={"output_dir": "."})
    before = snapshot(site)
    run = run_build(site)
    assert run.returncode == 1
    assert "project folder" in run.stderr
    assert snapshot(site) == before


def test_refuses_a_folder_above_the_project(make_site, run_build, tmp_path):
    site = make_site({"content/a.txt": ARTICLE})
    run = run_build(site, "--out", str(tmp_path))
    assert run.returncode == 1
    assert (site / "site.yml").is_file() and (site / "content" / "a.txt").is_file()


def test_refuses_a_folder_containing_the_content(make_site, run_build):
    site = make_site({"src/texts/a.txt": ARTICLE, "src/keep.txt": "ملف لا يخص الموقع"}, config={"content_dir": "src/texts", "output_dir": "src"})
    run = run_build(site)
    assert run.returncode == 1
    assert "content" in run.stderr
    assert (site / "src" / "keep.txt").is_file() and (site / "src" / "texts" / "a.txt").is_file()


def test_refuses_the_content_folder_itself_and_inside_it(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE})
    assert run_build(site, "--out", str(site / "content")).returncode == 1
    assert run_build(site, "--out", str(site / "content" / "out")).returncode == 1
    assert sorted(p.name for p in (site / "content").iterdir()) == ["a.txt"]


def test_refuses_a_folder_containing_site_yml(make_site, run_build, tmp_path):
    # site.yml in conf/, content beside it: output_dir '.' is the folder of site.yml
    site = make_site({"content/a.txt": ARTICLE}, config={"content_dir": "../content", "output_dir": "."}, name="proj/conf")
    (tmp_path / "proj" / "content").mkdir()
    (tmp_path / "proj" / "content" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    run = run_build(site)
    assert run.returncode == 1
    assert (site / "site.yml").is_file()


def test_refuses_non_empty_folder_without_marker(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE, "public/notes.txt": "ملاحظاتي الخاصة"}, config={"output_dir": "public"})
    run = run_build(site)
    assert run.returncode == 1
    assert MARKER in run.stderr
    assert (site / "public" / "notes.txt").read_text(encoding="utf-8") == "ملاحظاتي الخاصة"
    assert sorted(p.name for p in (site / "public").iterdir()) == ["notes.txt"]


def test_accepts_an_empty_existing_folder(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE}, config={"output_dir": "public"})
    (site / "public").mkdir()
    assert run_build(site).returncode == 0
    assert (site / "public" / "index.html").is_file()


def test_refuses_a_file_as_output(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE, "public": "ملف"}, config={"output_dir": "public"})
    assert run_build(site).returncode == 1
    assert (site / "public").read_text(encoding="utf-8") == "ملف"


def test_check_output_dir_unit(tmp_path):
    root = tmp_path / "p"
    (root / "content").mkdir(parents=True)
    config = root / "site.yml"
    config.write_text("title: t\n")
    check_output_dir(root / "_site", root, root / "content", config)  # fine
    for bad in (root, tmp_path, root / "content", root / "content" / "x", Path("/")):
        with pytest.raises(OutputError):
            check_output_dir(bad, root, root / "content", config)


# -- leftovers of killed builds ---------------------------------------------------------------------


def test_stale_staging_folders_are_cleaned(make_site, run_build):
    site = make_site({"content/a.txt": ARTICLE})
    stale = site / "._site.staging-999999"
    (stale / "ar").mkdir(parents=True)
    (stale / "ar" / "half.html").write_text("نصف صفحة", encoding="utf-8")
    assert run_build(site).returncode == 0
    assert not stale.exists()
    assert not (site / "_site" / "ar" / "half.html").exists()


def test_every_build_of_a_process_stages_in_a_folder_of_its_own(tmp_path):
    # The previous build's staging folder holds the old site under a detached `rm`:
    # a second build of the same process (serve) staging there would lose pages to it.
    out = tmp_path / "_site"
    write_site(out, {"index.html": b"one"})
    first = prepare_staging(out, link_previous=True)
    discard_staging(first)
    second = prepare_staging(out, link_previous=True)
    assert first != second
    discard_staging(second)
    for _ in range(5):  # publish in quick succession: each site is whole
        write_site(out, {"index.html": b"two", "ar/a.html": b"a"}, link_previous=True)
        assert (out / "ar" / "a.html").read_bytes() == b"a" and (out / "index.html").read_bytes() == b"two"


def test_site_parked_by_a_build_killed_mid_swap_is_restored_then_replaced(tmp_path):
    out = tmp_path / "_site"
    parked = tmp_path / "._site.previous"
    parked.mkdir()
    (parked / MARKER).write_text("x")
    (parked / "index.html").write_text("القديم", encoding="utf-8")
    remove_leftovers(out)
    assert (out / "index.html").read_text(encoding="utf-8") == "القديم"
    assert not parked.exists()


def _publish_with_a_spare(staging, out, build_id):
    """Publish as a full build does: a hard-linked copy of the staging folder begun first."""
    spare = SpareCopy(staging, out)
    try:
        spare.zip_whole(staging / "site.zip")
        publish_staging(staging, out, build_id, spare)
    except BaseException:
        spare.abandon()  # as the build does when it gives up
        raise
    assert spare.finish()


def write_site(out, files, link_previous=False):
    """Stage ``files`` and publish them, as the pipeline does."""
    staging = prepare_staging(out, link_previous)
    try:
        for rel, data in files.items():
            replace_file(staging / rel, data)
        _publish_with_a_spare(staging, out, "test-build")
    except BaseException:
        discard_staging(staging)
        raise


def test_write_site_swaps_whole_tree(tmp_path):
    out = tmp_path / "_site"
    write_site(out, {"index.html": b"one", "ar/a.html": b"a"})
    assert snapshot(out) == {MARKER: snapshot(out)[MARKER], "ar/a.html": b"a", "index.html": b"one"}
    assert read_build_id(out) == "test-build"
    write_site(out, {"index.html": b"two"})
    assert set(snapshot(out)) == {MARKER, "index.html"}
    assert (out / "index.html").read_bytes() == b"two"
    # The previous site is deleted by a detached `rm`: give it a moment, it must not stay.
    # What stays beside the site is its spare: a hard-linked copy of the new site, for the next build.
    deadline = time.monotonic() + 20
    while len(list(tmp_path.iterdir())) > 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["._site.spare", "_site"]
    spare = tmp_path / "._site.spare"
    assert read_build_id(spare) == "test-build" and (spare / "index.html").stat().st_ino == (out / "index.html").stat().st_ino


def test_linked_staging_never_writes_through_to_the_live_site(tmp_path):
    out = tmp_path / "_site"
    write_site(out, {"index.html": b"old", "ar/a.html": b"a"})
    staging = prepare_staging(out, link_previous=True)
    assert (staging / "ar" / "a.html").stat().st_ino == (out / "ar" / "a.html").stat().st_ino, "hard-linked, not copied"
    replace_file(staging / "index.html", b"new")
    assert (out / "index.html").read_bytes() == b"old", "the live site is untouched until the swap"
    _publish_with_a_spare(staging, out, "b2")
    assert (out / "index.html").read_bytes() == b"new" and (out / "ar" / "a.html").read_bytes() == b"a"


def test_a_page_the_system_takes_in_short_writes_is_written_whole(tmp_path, monkeypatch):
    written = []
    real_write = os.write

    def short_write(fd, data):  # as a write to a full pipe or a signal can: part of it
        count = real_write(fd, bytes(data[:1000]))
        written.append(count)
        return count

    monkeypatch.setattr(os, "write", short_write)
    data = bytes(range(256)) * 40
    replace_file(tmp_path / "page.html", data)
    monkeypatch.undo()
    assert (tmp_path / "page.html").read_bytes() == data
    assert len(written) == 11


def test_write_site_failure_leaves_previous_tree(tmp_path, monkeypatch):
    out = tmp_path / "_site"
    write_site(out, {"index.html": b"old"})
    before = snapshot(out)

    def boom(staging, output_dir):
        raise OSError("disk full")

    monkeypatch.setattr("sitegen.pipeline.staging.swap_into_place", boom)
    with pytest.raises(OSError):
        write_site(out, {"index.html": b"new", "ar/x.html": b"x"}, link_previous=True)
    assert snapshot(out) == before
    # No staging folder is left behind, nor the copy begun for a spare (removed by a detached
    # `rm`: give it a moment); the spare of the site still live stays.
    deadline = time.monotonic() + 20
    while len(list(tmp_path.iterdir())) > 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["._site.spare", "_site"]


def test_swap_into_place_keeps_old_tree_in_staging(tmp_path):
    out, staging = tmp_path / "out", tmp_path / "staging"
    out.mkdir()
    (out / "old").write_text("o")
    staging.mkdir()
    (staging / "new").write_text("n")
    swap_into_place(staging, out)
    assert os.listdir(out) == ["new"] and os.listdir(staging) == ["old"]


def test_a_spare_copy_that_failed_is_removed_so_no_build_takes_it(tmp_path, monkeypatch):
    # A spare is trusted to hold every file of the site its marker names: a copy cut short
    # (cp failed, or was killed) must not be left where the next build would take it.
    import sitegen.pipeline.staging as staging_module

    out = tmp_path / "_site"
    write_site(out, {"index.html": b"one", "ar/a.html": b"a"})
    spare = staging_module.spare_dir_for(out)
    staging_module.remove_path(spare)

    partial = staging_module.trash_dir_for(out)

    class Failed:
        def wait(self):
            partial.mkdir(exist_ok=True)
            (partial / MARKER).write_bytes((out / MARKER).read_bytes())  # the marker, but not the pages
            return 1

        def poll(self):
            return self.wait()

    copy = staging_module.SpareCopy.__new__(staging_module.SpareCopy)
    copy.output_dir, copy.folder, copy.partial, copy.process, copy.own_zip, copy.build_id = out, spare, partial, Failed(), None, "test-build"
    copy.copying = copy.zip_copy = None
    assert copy.finish() is False
    assert not spare.exists()
    # Left only under a trash name, which the next build's remove_leftovers deletes (if the
    # background removal has not yet).
    staging_module.remove_leftovers(out)
    deadline = time.monotonic() + 20
    while partial.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not partial.exists()


def test_a_spare_being_linked_is_not_a_spare_until_it_is_whole(tmp_path):
    # The build commits its state while cp -al links the spare: a copy cut short there (the
    # build killed) must not lie where the next build takes a spare. It is linked under a
    # trash name and renamed into place by finish().
    import sitegen.pipeline.staging as staging_module

    out = tmp_path / "_site"
    write_site(out, {"index.html": b"one", "ar/a.html": b"a", "site.zip": b"PK zip"})
    spare = staging_module.spare_dir_for(out)
    staging_module.remove_path(spare)  # publish_staging clears the name before the copy is finished
    copy = staging_module.SpareCopy(out, out)
    assert copy.linked()
    copy.zip_whole(out / "site.zip")
    copy.ready()
    assert copy.zip_copy is not None and copy.zip_copy.name.startswith("._site.trash-")  # never a name a build keeps
    copy.published("test-build")  # its zip made a file of its own
    copy.own_zip.join()
    assert not spare.exists(), "linked straight into the spare's name"
    assert copy.finish() is True
    assert (spare / "ar" / "a.html").stat().st_ino == (out / "ar" / "a.html").stat().st_ino
    assert (spare / MARKER).read_bytes() == (out / MARKER).read_bytes()
    # Its zip is a file of its own, the same bytes.
    assert (spare / "site.zip").read_bytes() == b"PK zip" and (spare / "site.zip").stat().st_nlink == 1
    assert not list(tmp_path.glob("._site.trash-*"))


def _staged(out, files, marker=b"x"):
    """A staging folder holding ``files`` and an earlier build's marker (as cp -al finds it)."""
    staging = prepare_staging(out, False)
    for rel, data in files.items():
        replace_file(staging / rel, data)
    (staging / MARKER).write_bytes(marker)
    return staging


def test_a_spare_begun_before_the_zip_is_written_gets_the_published_zip_and_names_the_build(tmp_path):
    # A full build begins the spare's copy while it writes site.zip into the staging folder
    # (stages.build): cp may find no zip yet, or link the zip being written (the same file, so
    # it changes under the copy). Either way, once published, the spare holds the published
    # zip's bytes in a file of its own, and its marker names the build published.
    for linked_early in (False, True):
        out = tmp_path / f"_site{linked_early}"
        staging = _staged(out, {"index.html": b"one", "ar/a.html": b"a", **({"site.zip": b"PK half"} if linked_early else {})}, b"stale marker")
        spare = SpareCopy(staging, out)
        assert spare.linked()
        zipped = staging / "site.zip"
        if linked_early:
            with open(zipped, "r+b") as f:  # written over in place, as write_site_zip does
                f.write(b"PK whole zip")
            assert (spare.partial / "site.zip").stat().st_ino == zipped.stat().st_ino
        else:
            zipped.write_bytes(b"PK whole zip")
            assert not (spare.partial / "site.zip").exists()
        spare.zip_whole(zipped)
        publish_staging(staging, out, "build-2", spare)
        assert spare.finish()
        kept = tmp_path / f"._site{linked_early}.spare"
        assert snapshot(kept) == snapshot(out), linked_early
        assert read_build_id(kept) == read_build_id(out) == "build-2"
        assert (kept / "site.zip").stat().st_nlink == 1 and (out / "site.zip").stat().st_nlink == 1


def test_a_spare_linked_with_a_zip_that_was_not_published_does_not_keep_it(tmp_path):
    # The zip begun, then given up (too large: site_zip._make removes it): a spare holding the
    # half-written zip would hand the next build a file the live site does not have.
    out = tmp_path / "_site"
    staging = _staged(out, {"index.html": b"one", "site.zip": b"PK half"})
    spare = SpareCopy(staging, out)
    assert spare.linked() and (spare.partial / "site.zip").exists()
    (staging / "site.zip").unlink()
    spare.zip_whole(staging / "site.zip")
    publish_staging(staging, out, "build-3", spare)
    assert spare.finish()
    kept = tmp_path / "._site.spare"
    assert not (out / "site.zip").exists() and not (kept / "site.zip").exists()
    assert snapshot(kept) == snapshot(out)


def test_a_spare_given_up_leaves_no_copy_of_its_zip(tmp_path):
    # The zip's bytes are copied for the spare while the build saves its work; a build that
    # gives up after that (an error saving, a failed swap) removes the copy with the spare.
    out = tmp_path / "_site"
    staging = _staged(out, {"index.html": b"one", "site.zip": b"PK zip"})
    spare = SpareCopy(staging, out)
    spare.zip_whole(staging / "site.zip")
    spare.ready()
    copied = spare.zip_copy
    assert copied is not None and copied.read_bytes() == b"PK zip"
    spare.abandon()
    assert not copied.exists() and spare.zip_copy is None


def test_a_spare_whose_marker_could_not_be_written_is_never_a_spare(tmp_path, monkeypatch):
    import sitegen.pipeline.staging as staging_module

    out = tmp_path / "_site"
    staging = _staged(out, {"index.html": b"one"})
    spare = SpareCopy(staging, out)
    assert spare.linked()
    real = staging_module._mark_staging

    def failing(folder, build_id):
        if folder == spare.partial:
            raise OSError(28, "No space left on device")
        real(folder, build_id)

    monkeypatch.setattr(staging_module, "_mark_staging", failing)
    publish_staging(staging, out, "build-4", spare)
    assert spare.finish() is False
    assert not (tmp_path / "._site.spare").exists()
    assert read_build_id(out) == "build-4"


def test_a_file_copied_for_the_spare_is_a_new_file_never_written_through_a_link(tmp_path):
    # The full build's spare is a hard-linked copy of the site: its site.zip is given bytes of
    # its own (for the next zip to be written over), copied to a new name, never through a link.
    from sitegen.pipeline.staging import copy_file

    live = tmp_path / "live"
    live.mkdir()
    (live / "site.zip").write_bytes(b"PK" + bytes(range(256)) * 300)
    assert copy_file(live / "site.zip", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == (live / "site.zip").read_bytes()
    assert (tmp_path / "copy").stat().st_ino != (live / "site.zip").stat().st_ino
    # A name already taken (a planted link): refused, the link's target untouched.
    (tmp_path / "target").write_bytes(b"mine")
    os.symlink(tmp_path / "target", tmp_path / "planted")
    assert not copy_file(live / "site.zip", tmp_path / "planted")
    assert (tmp_path / "target").read_bytes() == b"mine" and (tmp_path / "planted").is_symlink()
    # A link at the source's name: not followed, what it points at never copied.
    os.symlink(tmp_path / "target", live / "linked.zip")
    assert not copy_file(live / "linked.zip", tmp_path / "other")
    # No such file, or not a regular one: False, nothing left behind.
    assert not copy_file(live / "missing.zip", tmp_path / "other")
    assert not copy_file(live, tmp_path / "other")
    assert not os.path.lexists(tmp_path / "other")


def test_a_jobs_files_are_written_and_only_the_changed_ones_compressed_for_the_zip(tmp_path):
    # engine._settled, where a worker runs an output's job: each file written into staging
    # unless its bytes are the previous build's (its hard link kept); those whose bytes
    # changed compressed into the process's pack, as the zip would hold them; an unchanged
    # one is left to be copied from the previous zip.
    import zlib
    from types import SimpleNamespace

    from sitegen.core.hashing import hash_bytes
    from sitegen.outputs.archive import PackWriter
    from sitegen.outputs.base import Made
    from sitegen.pipeline.engine import _JobContext, _settled

    staging = tmp_path / "staging"
    staging.mkdir()
    same, changed = b"<p>same</p>", b"<p>changed</p>"
    (staging / "same.html").write_bytes(same)
    linked = (staging / "same.html").stat().st_ino
    view = SimpleNamespace(config=SimpleNamespace(offline_archive=True, offline_archive_images="none"))
    context = _JobContext(view, str(staging), {"same.html": hash_bytes(same), "new.json": "old digest"}, tmp_path)
    pack = PackWriter(tmp_path / "test.pack")
    made, members = _settled(context, pack, Made(files={"same.html": same, "new.json": changed}, written={"own.bin": "d"}, memo="m"))
    pack.flush()
    assert made.files == {} and made.memo == "m"
    assert made.written == {"own.bin": "d", "same.html": hash_bytes(same), "new.json": hash_bytes(changed)}
    assert (staging / "same.html").stat().st_ino == linked, "unchanged: not written again"
    assert (staging / "new.json").read_bytes() == changed
    assert set(members) == {"new.json"}
    member = members["new.json"]
    body = (tmp_path / "test.pack").read_bytes()[member.offset : member.offset + member.compressed_size]
    assert zlib.decompress(body, -15) == changed and member.crc == zlib.crc32(changed) and member.size == len(changed)
