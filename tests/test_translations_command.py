"""``build.py translations status|export|import|review`` (issue #15): an editor's round trip
through XLIFF 1.2, PO and TMX, with every safety rule of the import, and the review report.

Each export is read back twice: with translate-toolkit (what wrote it) and with an
independent reader (polib for PO, lxml for XLIFF and TMX), so that a mistake shared by our
code and the toolkit's writer still shows. No test touches the network.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lxml import etree
from translate.storage import pypo, tmx, xliff

from sitegen.commands.cli import main as cli_main
from sitegen.translation.memory import Memory, MemoryEntry, entry_key, load_memory, save_memory

REPO = Path(__file__).resolve().parent.parent
XLIFF_NS = {"x": "urn:oasis:names:tc:xliff:document:1.2"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Five paragraphs of one segment: places 1.1 to 1.5.
P = [
    "ذهب الولد إلى المدرسة صباحا.",
    "قرأت البنت كتابا جديدا في المكتبة.",
    "أعلنت الحكومة خطة جديدة للنقل العام.",
    "هطلت أمطار غزيرة على المدينة أمس.",
    "افتتح المتحف معرضا للفن الحديث.",
]
OLD_P4 = "هطلت أمطار خفيفة على المدينة أمس."  # what place 1.4 said when it was reviewed


@pytest.fixture
def polib():
    """The independent PO reader (requirements-dev.txt): skipped with its reason if absent."""
    return pytest.importorskip("polib", reason="polib (requirements-dev.txt) reads PO files independently of translate-toolkit")


def key(text: str) -> str:
    return entry_key(text, "ar", "en")


def entry(text: str, translation: str, reviewed: bool, at: str, stale: bool = False) -> MemoryEntry:
    return MemoryEntry(key(text), text, translation, "editor" if reviewed else "google", "2026-11-20", reviewed, at, stale)


@pytest.fixture
def site(make_site) -> Path:
    """By hand: 1.1 and 1.3 machine, 1.2 reviewed, 1.4 and 1.5 missing, and the reviewed
    translation of 1.4's previous Arabic stale. Status must say 2 missing, 2 machine, 1
    reviewed, 1 stale."""
    folder = make_site({"content/a.txt": "\n".join(P) + "\n"})
    memory = Memory(
        folder / "translations" / "a.txt.en.yml", "a.txt", "ar", "en",
        (
            entry(P[0], "The boy went to school in the morning.", False, "1.1"),
            entry(P[1], "The girl read a new book in the library.", True, "1.2"),
            entry(P[2], "Government announces a new public transport plan.", False, "1.3"),
            entry(OLD_P4, "Light rain fell on the city yesterday.", True, "1.4", stale=True),
        ),
    )
    save_memory(memory)
    return folder


def run(site_dir: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(["translations", "--config", str(site_dir / "site.yml"), *args])
    return code, out.getvalue(), err.getvalue()


def memories(site_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((site_dir / "translations").iterdir())}


def read_entries(site_dir: Path) -> dict[str, MemoryEntry]:
    memory, problems = load_memory(site_dir / "translations" / "a.txt.en.yml", "a.txt", "ar", "en")
    assert memory is not None, problems
    return {e.key: e for e in memory.entries}


def export(site_dir: Path, fmt: str, only: str = "unreviewed") -> Path:
    out = site_dir / f"export.{ {'xliff': 'xlf'}.get(fmt, fmt)}"
    code, stdout, stderr = run(site_dir, "export", "--format", fmt, "--only", only, "-o", str(out))
    assert code == 0, stderr
    return out


def xliff_units(path: Path) -> dict[str, etree._Element]:
    root = etree.parse(str(path)).getroot()
    return {u.get("id"): u for u in root.iterfind(".//x:trans-unit", XLIFF_NS)}


def set_xliff_target(path: Path, unit_id: str, text: str, state: str = "translated", new_id: str | None = None) -> None:
    """What a CAT tool does when the editor corrects a unit."""
    tree = etree.parse(str(path))
    unit = next(u for u in tree.getroot().iterfind(".//x:trans-unit", XLIFF_NS) if u.get("id") == unit_id)
    target = unit.find("x:target", XLIFF_NS)
    if target is None:
        target = etree.SubElement(unit, "{%s}target" % XLIFF_NS["x"])
    target.text = text
    target.set("state", state)
    target.attrib.pop("state-qualifier", None)
    if new_id:
        unit.set("id", new_id)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")


# -- status ------------------------------------------------------------------------


def test_status_json_matches_the_hand_count(site):
    code, stdout, _ = run(site, "status", "--json")
    assert code == 0
    figures = json.loads(stdout)
    expected = {"missing": 2, "machine": 2, "reviewed": 1, "stale": 1}
    assert figures["files"] == [{"file": "a.txt", **expected}]
    assert figures["total"] == expected


def test_status_as_a_table(site):
    code, stdout, _ = run(site, "status")
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0].split() == ["file", "missing", "machine", "reviewed", "stale"]
    assert lines[1].split() == ["a.txt", "2", "2", "1", "1"]
    assert lines[2].split() == ["total", "2", "2", "1", "1"]


def test_status_of_the_sample_site():
    code, stdout, _ = run(REPO, "status", "--json")
    assert code == 0
    total = json.loads(stdout)["total"]
    assert total["missing"] + total["machine"] + total["reviewed"] > 0


# -- export: what each format says ---------------------------------------------------


def test_xliff_states_notes_and_previous_arabic(site):
    path = export(site, "xliff", "all")
    root = etree.parse(str(path)).getroot()
    assert root.get("version") == "1.2" and root.tag == "{%s}xliff" % XLIFF_NS["x"]
    file_node = root.find("x:file", XLIFF_NS)
    assert (file_node.get("original"), file_node.get("source-language"), file_node.get("target-language")) == ("a.txt", "ar", "en")
    units = xliff_units(path)
    assert set(units) == {key(p) for p in P}  # one unit per paragraph, id = the memory key
    machine = units[key(P[0])].find("x:target", XLIFF_NS)
    assert (machine.get("state"), machine.get("state-qualifier")) == ("needs-review-translation", "mt-suggestion")
    reviewed = units[key(P[1])].find("x:target", XLIFF_NS)
    assert reviewed.get("state") == "final" and units[key(P[1])].get("approved") == "yes"
    assert units[key(P[4])].find("x:target", XLIFF_NS) is None  # missing: nothing to offer
    notes = " ".join(n.text for n in units[key(P[0])].iterfind("x:note", XLIFF_NS))
    assert "provider: google" in notes and "2026-11-20" in notes and "a.txt unit 1.1" in notes
    # The place whose reviewed translation went stale: the old one offered, the old Arabic beside it.
    changed = units[key(P[3])]
    target = changed.find("x:target", XLIFF_NS)
    assert (target.text, target.get("state"), target.get("state-qualifier")) == ("Light rain fell on the city yesterday.", "needs-review-translation", "fuzzy-match")
    assert changed.find("x:alt-trans/x:source", XLIFF_NS).text == OLD_P4
    # translate-toolkit reads the same.
    store = xliff.xlifffile.parsestring(path.read_bytes())
    read = {u.getid().split("\x04")[1]: u for u in store.unit_iter()}
    assert read[key(P[0])].target == "The boy went to school in the morning."
    assert read[key(P[0])].isfuzzy() or read[key(P[0])].isreview() or not read[key(P[0])].isapproved()


def test_xliff_only_selects(site):
    assert set(xliff_units(export(site, "xliff", "unreviewed"))) == {key(P[0]), key(P[2]), key(P[3]), key(P[4])}
    assert set(xliff_units(export(site, "xliff", "stale"))) == {key(P[3])}


def test_po_context_fuzzy_and_previous_msgid(site, polib):
    path = export(site, "po", "all")
    catalogue = polib.pofile(str(path))
    by_context = {e.msgctxt: e for e in catalogue}
    assert set(by_context) == {key(p) for p in P}
    assert "fuzzy" in by_context[key(P[0])].flags and by_context[key(P[0])].msgstr == "The boy went to school in the morning."
    assert "fuzzy" not in by_context[key(P[1])].flags
    assert by_context[key(P[4])].msgstr == ""
    stale = by_context[key(P[3])]
    assert stale.previous_msgid == OLD_P4 and "fuzzy" in stale.flags and stale.msgid == P[3]
    # polib splits "file:line" only for a numeric line; the place "1.1" stays with the file.
    assert ("a.txt:1.1", "") in by_context[key(P[0])].occurrences
    assert catalogue.metadata["Language"] == "en"
    # translate-toolkit agrees.
    units = {u.getcontext(): u for u in pypo.pofile.parsestring(path.read_bytes()).unit_iter()}
    assert units[key(P[3])].prev_source == OLD_P4 and units[key(P[0])].isfuzzy()


def test_tmx_holds_only_reviewed_pairs(site):
    path = export(site, "tmx")
    root = etree.parse(str(path)).getroot()
    assert root.get("version") == "1.4"
    pairs = {}
    for tu in root.iter("tu"):
        segs = {tuv.get(XML_LANG): tuv.findtext("seg") for tu_child in [tu] for tuv in tu_child.iter("tuv")}
        pairs[tu.get("tuid")] = segs
    assert pairs == {
        key(P[1]): {"ar": P[1], "en": "The girl read a new book in the library."},
        key(OLD_P4): {"ar": OLD_P4, "en": "Light rain fell on the city yesterday."},
    }
    store = tmx.tmxfile.parsestring(path.read_bytes(), sourcelanguage="ar", targetlanguage="en")
    assert sorted(u.target for u in store.unit_iter()) == ["Light rain fell on the city yesterday.", "The girl read a new book in the library."]


# -- import: round trips and the rules -----------------------------------------------


@pytest.mark.parametrize("fmt", ["xliff", "po", "tmx"])
@pytest.mark.parametrize("only", ["unreviewed", "all"])
def test_unchanged_round_trip_leaves_every_memory_byte_identical(site, fmt, only):
    before = memories(site)
    path = export(site, fmt, only)
    code, stdout, stderr = run(site, "import", str(path))
    assert code == 0, stderr
    assert "imported 0" in stdout
    assert memories(site) == before


def test_edited_xliff_target_becomes_reviewed(site):
    path = export(site, "xliff")
    set_xliff_target(path, key(P[0]), "In the morning, the boy went to school.")
    set_xliff_target(path, key(P[4]), "The museum opened a modern art exhibition.")
    code, stdout, stderr = run(site, "import", str(path))
    assert code == 0, stderr
    entries = read_entries(site)
    assert entries[key(P[0])].translation == "In the morning, the boy went to school." and entries[key(P[0])].reviewed
    assert entries[key(P[4])].reviewed and entries[key(P[4])].at == "1.5" and entries[key(P[4])].provider == "editor"
    assert not entries[key(P[2])].reviewed  # untouched units stay as they were
    assert json.loads(run(site, "status", "--json")[1])["total"] == {"missing": 1, "machine": 1, "reviewed": 3, "stale": 1}


def test_edited_po_unit_and_approval_without_change(site, polib):
    path = export(site, "po")
    catalogue = polib.pofile(str(path))
    for unit in catalogue:
        if unit.msgctxt == key(P[2]):
            unit.flags.remove("fuzzy")  # approved as it is
        if unit.msgctxt == key(P[3]):
            unit.msgstr = "Heavy rain fell on the city yesterday."
    catalogue.save(str(path))
    code, _, stderr = run(site, "import", str(path))
    assert code == 0, stderr
    entries = read_entries(site)
    assert entries[key(P[2])].reviewed and entries[key(P[2])].provider == "google"
    assert entries[key(P[3])].translation == "Heavy rain fell on the city yesterday." and entries[key(P[3])].reviewed
    assert key(OLD_P4) not in entries  # the stale entry the editor settled is gone


def test_as_machine_keeps_imports_unreviewed(site):
    path = export(site, "xliff")
    set_xliff_target(path, key(P[4]), "The museum opened a modern art show.")
    code, stdout, stderr = run(site, "import", "--as-machine", str(path))
    assert code == 0, stderr
    new = read_entries(site)[key(P[4])]
    assert not new.reviewed and new.translation == "The museum opened a modern art show."


def test_reviewed_entry_is_never_replaced_by_machine_output(site):
    before = memories(site)
    path = export(site, "xliff", "all")
    set_xliff_target(path, key(P[1]), "A machine's idea of the sentence.")
    code, _, stderr = run(site, "import", "--as-machine", str(path))
    assert code == 1
    assert "never replaced" in stderr and "export.xlf" in stderr
    assert memories(site) == before


def test_unapproved_unit_never_replaces_reviewed_work(site, polib):
    """An older export sent back late: its fuzzy text must not undo a newer review."""
    before = memories(site)
    path = export(site, "po", "all")
    catalogue = polib.pofile(str(path))
    for unit in catalogue:
        if unit.msgctxt == key(P[1]):
            unit.msgstr = "Something older."
            unit.flags.append("fuzzy")
    catalogue.save(str(path))
    code, _, stderr = run(site, "import", str(path))
    assert code == 1 and "never replaced" in stderr
    assert memories(site) == before


def test_unit_whose_arabic_changed_since_export_is_refused_with_file_and_reason(site):
    path = export(site, "xliff")
    set_xliff_target(path, key(P[0]), "The boy walked to school.")
    (site / "content" / "a.txt").write_text("\n".join(["ذهبت البنت إلى المدرسة مساء.", *P[1:]]) + "\n", encoding="utf-8")
    before = memories(site)
    code, stdout, stderr = run(site, "import", str(path))
    assert code == 1
    assert f"unit {key(P[0])} of a.txt" in stderr and "Arabic changed since the export" in stderr
    assert "export.xlf:" in stderr  # the exchange file and the unit's line
    assert memories(site) == before
    assert "1 refused" in stdout


def test_unknown_unit_id_is_reported(site):
    path = export(site, "xliff")
    set_xliff_target(path, key(P[0]), "Changed.", new_id="ffffffffffffffff")
    before = memories(site)
    code, _, stderr = run(site, "import", str(path))
    assert code == 1 and "unknown unit id" in stderr and "ffffffffffffffff" in stderr
    assert memories(site) == before


def test_edited_arabic_in_the_exchange_file_is_refused(site):
    path = export(site, "xliff")
    tree = etree.parse(str(path))
    unit = next(u for u in tree.getroot().iterfind(".//x:trans-unit", XLIFF_NS) if u.get("id") == key(P[0]))
    unit.find("x:source", XLIFF_NS).text = "نص عربي آخر تماما."
    unit.find("x:target", XLIFF_NS).text = "Another text."
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    before = memories(site)
    code, _, stderr = run(site, "import", str(path))
    assert code == 1 and "Arabic was edited" in stderr
    assert memories(site) == before


def test_markup_in_a_target_is_refused(site):
    path = export(site, "xliff")
    set_xliff_target(path, key(P[0]), 'The boy <script>alert(1)</script> went <img src=x onerror="alert(2)">.')
    before = memories(site)
    code, _, stderr = run(site, "import", str(path))
    assert code == 1 and "markup" in stderr
    assert memories(site) == before


def test_truncated_xliff_is_an_error_with_its_line_and_changes_nothing(site):
    path = export(site, "xliff")
    set_xliff_target(path, key(P[0]), "Would be imported if the file were whole.")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = memories(site)
    code, stdout, stderr = run(site, "import", str(path))
    assert code == 1
    assert "export.xlf:" in stderr and "not well-formed XML" in stderr and "no memory was changed" in stderr
    line = int(stderr.split("export.xlf:")[1].split(":")[0])
    assert 1 <= line <= data[: len(data) // 2].count(b"\n") + 1
    assert memories(site) == before


def test_po_syntax_error_names_its_line_and_changes_nothing(site):
    path = export(site, "po")
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = next(i for i, text in enumerate(lines) if text.startswith("msgstr ") and i > 5)
    lines[broken] = 'msgstr "unterminated'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = memories(site)
    code, _, stderr = run(site, "import", str(path))
    assert code == 1 and f"export.po:{broken + 1}:" in stderr and "PO syntax error" in stderr
    assert memories(site) == before


def test_duplicated_ids_change_nothing(site):
    path = export(site, "xliff")
    tree = etree.parse(str(path))
    units = list(tree.getroot().iterfind(".//x:trans-unit", XLIFF_NS))
    copy = etree.fromstring(etree.tostring(units[0]))
    copy.find("x:target", XLIFF_NS).text = "A second opinion."
    units[0].addnext(copy)
    set_target = units[1].find("x:target", XLIFF_NS)
    if set_target is not None:
        set_target.text = "Would be imported without the duplicate."
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    before = memories(site)
    code, _, stderr = run(site, "import", str(path))
    assert code == 1 and "appears twice" in stderr and "no memory was changed" in stderr
    assert memories(site) == before


def test_wrong_language_pair_changes_nothing(site):
    path = export(site, "xliff")
    set_xliff_target(path, key(P[0]), "Le garçon est allé à l'école.")
    path.write_bytes(path.read_bytes().replace(b'target-language="en"', b'target-language="fr"'))
    before = memories(site)
    code, _, stderr = run(site, "import", str(path))
    assert code == 1 and "ar → fr" in stderr
    assert memories(site) == before


def test_entity_declarations_are_refused(site):
    path = site / "bomb.xlf"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE xliff [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2"><file original="a.txt" source-language="ar" target-language="en" datatype="plaintext">'
        f'<body><trans-unit id="{key(P[0])}"><source>{P[0]}</source><target state="final">&b;</target></trans-unit></body></file></xliff>',
        encoding="utf-8",
    )
    before = memories(site)
    code, _, stderr = run(site, "import", str(path))
    assert code == 1 and "ENTITY" in stderr
    assert memories(site) == before


def test_foreign_tmx_applies_by_its_arabic(site):
    """A reference memory made elsewhere: no file, no key, just the pair."""
    store = tmx.tmxfile(sourcelanguage="ar", targetlanguage="en")
    store.addtranslation(P[4], "ar", "The museum opened a modern art exhibition.", "en")
    path = site / "reference.tmx"
    path.write_bytes(bytes(store))
    code, _, stderr = run(site, "import", str(path))
    assert code == 0, stderr
    assert read_entries(site)[key(P[4])].reviewed


def test_usage_mistakes_exit_2(site):
    assert run(site, "export", "-o", str(site / "x.xlf"))[0] == 2  # no --format
    assert run(site, "export", "--format", "docx", "-o", str(site / "x"))[0] == 2
    assert run(site, "frobnicate")[0] == 2


def test_missing_file_is_a_problem_not_a_traceback(site):
    code, _, stderr = run(site, "import", str(site / "nowhere.xlf"))
    assert code == 1 and "no such file" in stderr and "Traceback" not in stderr


# -- the English page after an import --------------------------------------------------


def test_imported_translation_appears_on_the_rebuilt_english_page(tmp_path):
    site = tmp_path / "sample"
    site.mkdir()
    for name in ("content", "translations"):
        shutil.copytree(REPO / name, site / name)
    shutil.copy(REPO / "site.yml", site / "site.yml")
    path = export(site, "xliff")
    first = xliff_units(path)
    unit_id = next(iter(first))
    corrected = "An editor's corrected sentence, reviewed in a CAT tool."
    set_xliff_target(path, unit_id, corrected, state="final")
    code, _, stderr = run(site, "import", str(path))
    assert code == 0, stderr
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        assert cli_main(["--config", str(site / "site.yml"), "--offline", "--quiet"]) == 0, out.getvalue()
    page = (site / "_site" / "en" / "homs-baba-amr-1.html").read_text(encoding="utf-8")
    assert corrected.replace("'", "&#39;") in page or corrected.replace("'", "&#x27;") in page or corrected in page


# -- the review report -----------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_review_report_side_by_side_with_a_word_diff(site):
    out = site / "review.html"
    code, _, stderr = run(site, "review", "-o", str(out))
    assert code == 0, stderr
    page = out.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(page)
    tags = parser.tags
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe")]  # self-contained
    assert any(t == "meta" and "default-src 'none'" in (a.get("content") or "") for t, a in tags)
    assert any(a.get("dir") == "rtl" and a.get("lang") == "ar" for _, a in tags)
    assert any(a.get("dir") == "ltr" and a.get("lang") == "en" for _, a in tags)
    assert "<del>خفيفة</del>" in page and "<ins>غزيرة</ins>" in page  # OLD_P4 → P[3]
    assert P[4] in page and P[0] in page and P[1] not in page  # reviewed and current: nothing to do


def test_review_report_escapes_hostile_text(make_site):
    hostile = 'Boy </script><script>alert(1)</script><img src=x onerror="alert(2)"> \u202eevil\u202c'
    folder = make_site({"content/a.txt": P[0] + "\n"})
    save_memory(Memory(folder / "translations" / "a.txt.en.yml", "a.txt", "ar", "en", (entry(P[0], hostile, False, "1.1"),)))
    out = folder / "review.html"
    assert run(folder, "review", "-o", str(out))[0] == 0
    page = out.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(page)
    assert not [t for t, _ in parser.tags if t in ("script", "img")]
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page and "onerror=&quot;alert(2)&quot;" in page
    assert "\u202e" not in page and "\\u202e" in page  # shown, never obeyed
