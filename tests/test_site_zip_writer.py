"""The site.zip writer: a zip written from the previous one's layout (unchanged members
copied in runs, directory entries moved) is byte-identical to one written afresh, and a
layout that cannot describe the live zip is never used."""

from __future__ import annotations

import io
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.outputs.archive import BackgroundCopies, PackWriter, PreviousZip, ZipContent, ZipLayout, member_crc, write_site_zip

NAMES = [f"ar/{n:03d}-مقال.html" for n in range(40)] + [f"en/{n:03d}.html" for n in range(20)] + ["index.html", "search/t0.js"]


def _write(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _live_site(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, Path, ZipLayout]:
    """The files written under ``root``, zipped into ``live.zip``: (root, live zip, its layout)."""
    root = tmp_path / "root"
    _write(root, files)
    live = tmp_path / "live.zip"
    return root, live, write_site_zip(live, root, sorted(files), {})


def _content(name: str, version: int) -> bytes:
    # Sizes differ between versions, so a changed member moves every member after it.
    return (f"<p>{name} نسخة {version}</p>" * (1 + version % 7)).encode("utf-8")


@st.composite
def histories(draw):
    """Three builds: each keeps, changes, removes or adds members (some through a pack)."""
    builds = []
    present = {name: 0 for name in draw(st.sets(st.sampled_from(NAMES), min_size=1))}
    builds.append((dict(present), set()))
    for _ in range(2):
        for name in draw(st.sets(st.sampled_from(NAMES), max_size=8)):
            if name in present and draw(st.booleans()):
                del present[name]
            else:
                present[name] = present.get(name, 0) + 1
        if not present:
            present[NAMES[0]] = 9
        packed = draw(st.sets(st.sampled_from(sorted(present)), max_size=4))
        builds.append((dict(present), packed))
    return builds


# Groups as the writer makes them, and small ones (a group start every third member, aligned
# to 64 bytes), so that members are padded, and padded anew where a change moves them, in
# every history drawn.
GROUPINGS = {"as written": None, "small": (64, 3)}


@contextmanager
def _grouping(kind: str):
    from sitegen.outputs import archive

    saved = archive._ALIGN, archive._GROUP
    if GROUPINGS[kind] is not None:
        archive._ALIGN, archive._GROUP = GROUPINGS[kind]
    try:
        yield
    finally:
        archive._ALIGN, archive._GROUP = saved


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories(), in_background=st.booleans(), grouping=st.sampled_from(sorted(GROUPINGS)), over_old=st.booleans())
def test_a_zip_written_from_the_previous_layout_equals_one_written_afresh(tmp_path_factory, history, in_background, grouping, over_old) -> None:
    # ``over_old``: as a build does, each zip is written over the one before the live one
    # (the spare site's), then takes the live one's place, the comment saying which contents
    # each holds: what the old file holds where it goes already is not copied again.
    base = tmp_path_factory.mktemp("zip")
    live, spare = base / "live.zip", base / "spare.zip"
    layout = None
    versions_before: dict[str, int] = {}
    with _grouping(grouping):
        for number, (versions, packed_names) in enumerate(history):
            root = base / f"root{number}"
            _write(root, {name: _content(name, version) for name, version in versions.items()})
            pack = PackWriter(base / f"{number}.pack")
            packed = {name: pack.add(_content(name, versions[name])) for name in sorted(packed_names)}
            pack.flush()
            changed = {name for name, version in versions.items() if versions_before.get(name) != version}
            new = spare if over_old else base / f"new{number}.zip"
            content = ZipContent(key=repr(sorted(versions.items()))) if over_old else ZipContent()
            copies = BackgroundCopies() if in_background else None
            layout = write_site_zip(new, root, sorted(versions), packed, layout and PreviousZip(layout, changed), live, content, copies)
            if copies is not None:
                copies.wait()  # the unchanged runs, copied by a thread of their own
            fresh = base / f"fresh{number}.zip"
            write_site_zip(fresh, root, sorted(versions), {}, content=content)
            assert new.read_bytes() == fresh.read_bytes()
            with zipfile.ZipFile(io.BytesIO(new.read_bytes())) as archive:
                assert archive.testzip() is None
                assert {name: archive.read(f"site/{name}") for name in versions} == {name: _content(name, v) for name, v in versions.items()}
            assert layout.size == new.stat().st_size and layout.fits()
            assert layout.names == tuple(sorted(versions))
            if over_old and live.exists():
                _published(live, spare)
            else:
                new.replace(live)
            versions_before = versions


def test_a_run_of_unchanged_members_is_copied_not_compressed_again(tmp_path, monkeypatch) -> None:
    from sitegen.outputs import archive

    files = {name: _content(name, 1) for name in NAMES}
    root, live, layout = _live_site(tmp_path, files)
    (root / "index.html").write_bytes(b"<p>changed</p>")
    compressed: list[bytes] = []
    monkeypatch.setattr(archive, "compress", lambda data: compressed.append(data) or archive.deflate.deflate_compress(data, archive.LEVEL))
    write_site_zip(tmp_path / "new.zip", root, sorted(files), {}, PreviousZip(layout, {"index.html"}), final_path=live)
    assert compressed == [b"<p>changed</p>"]


def _damaged(layout: ZipLayout) -> list[ZipLayout]:
    starts = bytearray(layout.starts)
    starts[8:16], starts[16:24] = starts[16:24], starts[8:16]  # two members out of order
    return [
        layout._replace(starts=layout.starts[:-8]),
        layout._replace(entries=layout.entries + b"\0" * 8),
        layout._replace(starts=bytes(starts)),
        layout._replace(size=layout.size - 1),
        layout._replace(names=layout.names[:-1]),
        layout._replace(starts=list(layout.starts)),
        layout._replace(form=""),  # an older writer's, which padded no group
        layout._replace(kept=b"\0" * 8),  # half a range
        layout._replace(kept=(2).to_bytes(8, "little") + (1).to_bytes(8, "little")),  # a range upside down
        layout._replace(kept=(0).to_bytes(8, "little") + (layout.size + 1).to_bytes(8, "little")),  # past the members
        layout._replace(stamp=None),
    ]


def test_a_damaged_layout_does_not_fit(tmp_path) -> None:
    root = tmp_path / "root"
    files = {name: _content(name, 2) for name in NAMES[:10]}
    _write(root, files)
    layout = write_site_zip(tmp_path / "site.zip", root, sorted(files), {})
    assert layout.fits()
    for damaged in _damaged(layout):
        assert not damaged.fits(), damaged


def test_a_layout_kept_in_the_cache_keeps_its_names_as_one_text_and_reads_back_whole(tmp_path) -> None:
    # 163,000 names at 50,000 segments: pickled one by one they were most of the outputs'
    # state a build reads and writes again.
    from sitegen.pipeline.cache import allow_list, dump_value, load_value
    from sitegen.pipeline.making import RECORD_TYPES

    root = tmp_path / "root"
    files = {name: _content(name, 1) for name in NAMES}
    _write(root, files)
    layout = write_site_zip(tmp_path / "site.zip", root, sorted(files), {})
    stored = dump_value(layout)
    assert "\0".join(NAMES[:3]).encode() in stored, "the names joined, not one pickled text a name"
    read = load_value(stored, allow_list(RECORD_TYPES))
    assert type(read) is ZipLayout and type(read.names) is str
    assert read.read_back() == layout and read.read_back().fits() and layout.read_back() is layout
    assert dump_value(read) == stored, "kept again as read"
    empty = load_value(dump_value(layout._replace(names=())), allow_list(RECORD_TYPES)).read_back()
    assert empty.names == ()


def _edited_site(tmp_path: Path) -> tuple[Path, Path, ZipLayout, dict[str, int], set[str]]:
    """700 members zipped, then four changed, two removed and two added: (root, live zip, its
    layout, the names now with their versions, the names changed, added or removed)."""
    names = [f"ar/{n:04d}.html" for n in range(700)]
    root = tmp_path / "root"
    versions = {name: 1 for name in names}
    _write(root, {name: _content(name, 1) for name in names})
    live = tmp_path / "live.zip"
    layout = write_site_zip(live, root, sorted(versions), {})
    changed = {names[5], names[300], names[301], names[699]}
    removed = {names[64], names[500]}
    added = {"ar/0150b.html", "en/new.html"}
    for name in removed:
        (root / name).unlink()
        del versions[name]
    for name in changed | added:
        versions[name] = 2
    _write(root, {name: _content(name, 2) for name in changed | added})
    return root, live, layout, versions, changed | added | removed


def _runs_copied(monkeypatch) -> list[tuple[int, int]]:
    from sitegen.outputs import archive

    runs: list[tuple[int, int]] = []
    copy_run = archive._ZipWriter.copy_run
    monkeypatch.setattr(archive._ZipWriter, "copy_run", lambda self, first, end: runs.append((first, end)) or copy_run(self, first, end))
    return runs


def test_the_runs_between_a_few_changed_members_are_copied_in_one_piece_each_and_give_the_zip_written_afresh(tmp_path, monkeypatch) -> None:
    # Most builds change a few members of tens of thousands: the runs between them are found
    # from the changed names alone, without a step a member, and the zip is still the one
    # written afresh.
    from sitegen.outputs import archive

    root, live, layout, versions, changes = _edited_site(tmp_path)
    monkeypatch.setattr(archive, "_write_batches", lambda *args: pytest.fail("members judged a batch at a time"))
    runs = _runs_copied(monkeypatch)
    new = tmp_path / "new.zip"
    write_site_zip(new, root, sorted(versions), {}, PreviousZip(layout, changes), final_path=live)
    fresh = tmp_path / "fresh.zip"
    monkeypatch.undo()
    write_site_zip(fresh, root, sorted(versions), {})
    assert new.read_bytes() == fresh.read_bytes()
    # Between and around the eight names: at most nine runs, 692 members in all.
    assert len(runs) <= len(changes) + 1
    assert sum(end - first for first, end in runs) == 700 - 4 - 2


def test_the_members_changed_are_read_and_compressed_a_batch_at_a_time(tmp_path, monkeypatch) -> None:
    # Up to one member in eight may be changed on the runs' way: thousands of files at 50,000
    # segments, never all read into memory at once.
    from sitegen.outputs import archive

    root, live, layout, versions, changes = _edited_site(tmp_path)
    more = {f"ar/{n:04d}.html" for n in range(400, 420)}
    _write(root, {name: _content(name, 3) for name in more})
    read: list[int] = []
    add_pieces = archive._add_pieces
    monkeypatch.setattr(archive, "_BATCH", 4)
    monkeypatch.setattr(archive, "_add_pieces", lambda writer, pool, root, pieces, *rest: read.append(sum(type(p) is str for p in pieces)) or add_pieces(writer, pool, root, pieces, *rest))
    new = tmp_path / "new.zip"
    write_site_zip(new, root, sorted(versions), {}, PreviousZip(layout, changes | more), final_path=live)
    monkeypatch.undo()
    fresh = tmp_path / "fresh.zip"
    write_site_zip(fresh, root, sorted(versions), {})
    assert new.read_bytes() == fresh.read_bytes()
    assert sum(read) == len(changes | more) - 2  # the removed ones are no members
    assert max(read) <= 4 and len(read) >= 6


def test_with_many_members_changed_batches_of_unchanged_neighbours_are_copied_in_one_piece(tmp_path, monkeypatch) -> None:
    from sitegen.outputs import archive

    root, live, layout, versions, changes = _edited_site(tmp_path)
    monkeypatch.setattr(archive, "_FEW", 1000)  # eight changes of 700 count as many
    runs = _runs_copied(monkeypatch)
    new = tmp_path / "new.zip"
    write_site_zip(new, root, sorted(versions), {}, PreviousZip(layout, changes), final_path=live)
    fresh = tmp_path / "fresh.zip"
    write_site_zip(fresh, root, sorted(versions), {})
    assert new.read_bytes() == fresh.read_bytes()
    # Only the members sharing a batch with a change are copied one by one.
    single = [run for run in runs if run[1] - run[0] == 1]
    assert 0 < len(single) <= 8 * archive._BATCH


def test_members_left_out_or_taken_in_without_a_change_are_judged_by_name(tmp_path, monkeypatch) -> None:
    # The runs are found by the changed names' places in both zips. A member the zip leaves
    # out since the previous build, or takes in, with no change to its file (photos the zip
    # stops or starts carrying) is no changed name: the runs then differ between the zips,
    # and the members are judged a batch at a time, by name. The zip is still the one written
    # afresh.
    from sitegen.outputs import archive

    root, live, layout, versions, changes = _edited_site(tmp_path)
    batches: list[int] = []
    write_batches = archive._write_batches
    # (A zip written afresh is written a batch at a time too: only those with a previous zip count.)
    monkeypatch.setattr(archive, "_write_batches", lambda *args: batches.append(args[5] is not None) or write_batches(*args))
    # (The third keeps the run as long as it was: its names differ, not its length.)
    for left_out, taken_in in (({"ar/0200.html"}, set()), (set(), {"media/photo.webp"}), ({"ar/0200.html"}, {"ar/0200b.html"})):
        _write(root, {name: b"RIFF photo" for name in taken_in})
        names = sorted(set(versions) - left_out | taken_in)
        new = tmp_path / "new.zip"
        write_site_zip(new, root, names, {}, PreviousZip(layout, changes), final_path=live)
        fresh = tmp_path / "fresh.zip"
        write_site_zip(fresh, root, names, {})
        assert new.read_bytes() == fresh.read_bytes()
    assert batches == [True, False] * 3


def test_a_pack_cut_short_or_a_previous_zip_shorter_than_its_layout_is_an_error_not_a_short_member(tmp_path) -> None:
    # Members are read from their packs and from the previous zip by position: a file that ends
    # before a member does is refused (the build then fails loudly), never zipped as a member
    # cut short.
    import pytest

    root = tmp_path / "root"
    files = {name: _content(name, 3) for name in NAMES[:12]}
    _write(root, files)
    pack = PackWriter(tmp_path / "cut.pack")
    packed = {name: pack.add(files[name]) for name in NAMES[:3]}
    pack.flush()
    with open(pack.path, "r+b") as handle:
        handle.truncate(packed[NAMES[2]].offset + 1)
    with pytest.raises(OSError, match="past the end"):
        write_site_zip(tmp_path / "a.zip", root, sorted(files), packed)

    live = tmp_path / "live.zip"
    layout = write_site_zip(live, root, sorted(files), {})
    with open(live, "r+b") as handle:
        handle.truncate(layout.size // 2)
    with pytest.raises(OSError):
        write_site_zip(tmp_path / "b.zip", root, sorted(files), {}, PreviousZip(layout, {NAMES[11]}))


def test_a_copy_that_fails_in_the_background_is_raised_by_wait_and_nothing_is_left_open(tmp_path, monkeypatch) -> None:
    import errno
    import os

    import pytest

    from sitegen.outputs import zip_io

    files = {name: _content(name, 3) for name in NAMES[:12]}
    root, live, layout = _live_site(tmp_path, files)

    def disk_full(*_work):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(zip_io, "copy_range", disk_full)
    before = set(os.listdir("/proc/self/fd"))
    copies = BackgroundCopies()
    write_site_zip(tmp_path / "b.zip", root, sorted(files), {}, PreviousZip(layout, {NAMES[11]}), final_path=live, copies=copies)
    with pytest.raises(OSError) as raised:
        copies.wait()
    assert raised.value.errno == errno.ENOSPC
    copies.wait()  # said once; a second wait has nothing left to say
    assert set(os.listdir("/proc/self/fd")) == before  # the duplicated descriptors are closed


def test_the_runs_are_copied_while_the_writer_returns_and_wait_finishes_them(tmp_path, monkeypatch) -> None:
    import threading

    from sitegen.outputs import zip_io

    files = {name: _content(name, 1) for name in NAMES}
    root, live, layout = _live_site(tmp_path, files)
    (root / "index.html").write_bytes(b"<p>changed</p>")
    started, release, copying = threading.Event(), threading.Event(), []
    real_copy = zip_io.copy_range

    def held_copy(*work):
        copying.append(threading.current_thread() is not threading.main_thread())
        started.set()
        release.wait(10)
        real_copy(*work)

    monkeypatch.setattr(zip_io, "copy_range", held_copy)
    copies = BackgroundCopies()
    new = tmp_path / "new.zip"
    write_site_zip(new, root, sorted(files), {}, PreviousZip(layout, {"index.html"}), final_path=live, copies=copies)
    # Returned with the runs still held: they are another thread's work,
    # which may not have begun yet when the writer returns (a loaded machine).
    assert started.wait(10)
    assert all(copying)
    release.set()
    copies.wait()
    fresh = tmp_path / "fresh.zip"
    write_site_zip(fresh, root, sorted(files), {})
    assert new.read_bytes() == fresh.read_bytes()


def _copies_counted(monkeypatch) -> list[int]:
    """The sizes of the runs the zip writer copies from now on, as they are copied."""
    from sitegen.outputs import zip_io

    copied: list[int] = []
    real_copy = zip_io.copy_range
    monkeypatch.setattr(zip_io, "copy_range", lambda source, start, end, *rest: copied.append(end - start) or real_copy(source, start, end, *rest))
    return copied


def _published(live: Path, spare: Path) -> None:
    """The zip just written over ``spare`` takes the live one's place, which becomes the spare."""
    live.replace(live.with_name("swap"))
    spare.replace(live)
    live.with_name("swap").replace(spare)


def test_an_old_zip_written_over_is_not_copied_into_where_it_holds_the_bytes_already(tmp_path, monkeypatch) -> None:
    # Builds one after another, as a site's: each zip written over the spare site's old one
    # (a copy of the live zip after a full build; then the zip of the build before the live
    # one), one member changed each time. Only what moved is copied, and every zip is the one
    # written afresh.
    from sitegen.outputs import archive

    monkeypatch.setattr(archive, "_ALIGN", 256)
    monkeypatch.setattr(archive, "_GROUP", 8)
    names = [f"ar/{n:04d}.html" for n in range(600)]
    versions = dict.fromkeys(names, 1)
    root, live, spare = tmp_path / "root", tmp_path / "live.zip", tmp_path / "spare.zip"
    _write(root, {name: _content(name, 1) * 3 for name in names})
    layout = write_site_zip(live, root, names, {}, content=ZipContent(key="0"))
    spare.write_bytes(live.read_bytes())  # the copy a full build leaves the spare site
    copied = _copies_counted(monkeypatch)
    for build, name in enumerate([names[300], names[100], names[450], names[451]], start=1):
        versions[name] += 1
        (root / name).write_bytes(_content(name, versions[name]) * 3)
        copied.clear()
        content = ZipContent(key=str(build))
        layout = write_site_zip(spare, root, names, {}, PreviousZip(layout, {name}), live, content)
        fresh = tmp_path / "fresh.zip"
        write_site_zip(fresh, root, names, {}, content=content)
        assert spare.read_bytes() == fresh.read_bytes()
        # What moved: the changed member's group after it, a few members, and at worst
        # every later member, where the change outgrew its group's padding.
        assert sum(copied) < layout.size // 10, (build, sum(copied), layout.size)
        _published(live, spare)


def test_an_old_zip_of_other_contents_is_written_over_whole(tmp_path, monkeypatch) -> None:
    # The spare's zip is not the one the live zip's record names (another build's, damaged,
    # or of no comment): every run is copied, and the zip is still the one written afresh.
    from sitegen.outputs import archive

    monkeypatch.setattr(archive, "_ALIGN", 256)
    monkeypatch.setattr(archive, "_GROUP", 8)
    names = [f"ar/{n:04d}.html" for n in range(300)]
    root, live, spare = tmp_path / "root", tmp_path / "live.zip", tmp_path / "spare.zip"
    _write(root, {name: _content(name, 1) for name in names})
    first = write_site_zip(live, root, names, {}, content=ZipContent(key="0"))
    spare.write_bytes(live.read_bytes())
    (root / names[10]).write_bytes(_content(names[10], 2))
    second = write_site_zip(spare, root, names, {}, PreviousZip(first, {names[10]}), live, ZipContent(key="1"))
    _published(live, spare)  # the spare now holds the first zip, which the second kept from
    (root / names[20]).write_bytes(_content(names[20], 2))
    old = spare.read_bytes()
    copied = _copies_counted(monkeypatch)
    # Its comment another stamp; no comment of ours; a file of nothing.
    for held in (old[:-32] + b"0" * 32, old[:-40] + b"\0" * 40, b""):
        target = tmp_path / "target.zip"
        target.write_bytes(held)
        copied.clear()
        write_site_zip(target, root, names, {}, PreviousZip(second, {names[20]}), live, ZipContent(key="2"))
        fresh = tmp_path / "fresh.zip"
        write_site_zip(fresh, root, names, {}, content=ZipContent(key="2"))
        assert target.read_bytes() == fresh.read_bytes()
        assert sum(copied) > second.size // 2


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.binary(min_size=1, max_size=64).map(lambda b: b * 1500)))
def test_a_members_crc_is_zips_own(data):
    # libdeflate's CRC-32 stands in for zlib's in every member's header: the same number
    # (the readers check it), for short data and for pages of tens of kilobytes.
    import zlib

    assert member_crc(data) == zlib.crc32(data)
