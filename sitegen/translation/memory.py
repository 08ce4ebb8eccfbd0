"""The translation memory: one YAML file per source file, committed beside the content.

Format (``translations/<source path>.<target>.yml``)::

    source_file: homs-baba-amr.txt
    source_language: ar
    target_language: en
    entries:
    - key: 3f2a9c0d1e7b4a56      # hash of the normalised Arabic text and the two languages
      at: '1.2'                  # segment 1, unit 2 (where the text stood when last seen)
      source: <Arabic paragraph>
      translation: <English text>  # edit this to correct the translation...
      provider: libre
      date: '2026-11-25'
      reviewed: false              # ...and set this to true: the build never overwrites it

A reviewed entry whose Arabic changed is kept with ``stale: true`` next to the
new machine translation, so an editor's work is never lost. Unreviewed entries
whose source is gone are pruned.

A memory is read like a source file: a regular file of at most ``MAX_MEMORY_BYTES``, never
through a symbolic link that leads outside the memory folder (git commits links, so a
checkout can hold one to ``/dev/zero``). Two entries for one text (a git merge makes them)
are settled by ``resolve_duplicates``: a reviewed translation always wins, and two reviewed
ones that differ stop the build for that file until an editor chooses.

This module reads and writes those files; deciding what to translate lives in
``translation.py``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import time
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..core.diagnostics import Problem, error, warning
from ..core.fsutil import read_at_most, write_atomic
from ..core.languages import base_language
from ..core.textrules import collapse_spaces
from ..core.yamlfile import (
    YamlError,
    node_line,
    parse_yaml,
    read_simple_block,
    write_simple_block,
)

# A memory holds a source file (at most 10 MB, see sources.py) about twice, with its fields:
# anything much larger is not one the build wrote.
MAX_MEMORY_BYTES = 64 * 1024 * 1024
REQUIRED_FIELDS = ("key", "source", "translation", "provider", "date", "reviewed")
OPTIONAL_FIELDS = ("at", "stale", "note")
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

HEADER = """\
# Translation memory for {source_file} ({source_language} → {target_language}).
# Written by build.py. To correct a translation, edit its 'translation' and set
# 'reviewed: true': the build never overwrites a reviewed entry. Keep 'source' and
# 'key' as they are. Entries marked 'stale: true' are reviewed translations whose
# Arabic has since changed; compare, then delete them.
"""


def normalise_source(text: str) -> str:
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return collapse_spaces(text)


# Remembered for a file's worth of paragraphs: a build keys each paragraph twice, once as its
# memory's entry is read (checked against the key written beside it) and once as the
# paragraph looks its translation up, 2 % of a cold build when each hashed its text anew.
@functools.lru_cache(maxsize=1024)
def entry_key(text: str, source_language: str, target_language: str) -> str:
    # Keyed by the base languages: a site that moves from ar to ar-SY (Levantine month names)
    # translates the same Arabic, and must keep every entry.
    languages = f"{base_language(source_language)}\n{base_language(target_language)}"
    digest = hashlib.sha256(f"{languages}\n{normalise_source(text)}".encode("utf-8"))
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class MemoryEntry:
    key: str
    source: str
    translation: str
    provider: str
    date: str
    reviewed: bool
    at: str = ""
    stale: bool = False
    note: str = ""


@dataclass(frozen=True)
class Memory:
    """The memory of one source file; immutable, replaced as translations arrive."""

    path: Path
    source_file: str
    source_language: str
    target_language: str
    entries: tuple[MemoryEntry, ...] = ()
    # Line of each entry in the file it was read from, for messages (empty when unknown).
    lines: tuple[int | None, ...] = field(default=(), compare=False, repr=False)

    def lookup(self) -> dict[str, MemoryEntry]:
        """The entry to use for each key: a reviewed one before a machine one, a current one
        before a stale one (``resolve_duplicates`` leaves one per key; this holds regardless).

        A stale entry's key is the hash of the Arabic it translates: when that very text is
        back in the file (an edit undone), the reviewed translation is right again. Ignoring
        it had the text translated anew and the reviewed entry pruned as a duplicate.
        """
        found: dict[str, MemoryEntry] = {}
        for entry in self.entries:
            held = found.get(entry.key)
            if held is None or (entry.reviewed, not entry.stale) > (held.reviewed, not held.stale):
                found[entry.key] = entry
        return found

    def with_entries(self, entries: Iterable[MemoryEntry]) -> "Memory":
        return replace(self, entries=tuple(entries), lines=())


def memory_path(memory_dir: Path, source_rel: str, target_language: str) -> Path:
    return memory_dir / memory_file_name(source_rel, target_language)


def memory_file_name(source_rel: str, target_language: str) -> str:
    """Where a source file's memory lies, relative to the memory folder."""
    return f"{source_rel}.{target_language}.yml"


def load_memory(
    path: Path, source_file: str, source_language: str, target_language: str, *, memory_dir: Path | None = None, read: MemoryRead | None = None
) -> tuple[Memory | None, list[Problem]]:
    """Read one memory file as it is (duplicates included: see ``resolve_duplicates``).

    ``None`` means unreadable: the caller must not overwrite it. With ``memory_dir``, a
    file that a symbolic link leads outside that folder is refused (and so never written).
    ``read``: the file as :func:`read_memory_bytes` just read it (so it is read once).
    """
    # A memory is of base languages (ar → en), whatever region the site names (ar-SY).
    source_language, target_language = base_language(source_language), base_language(target_language)
    empty = Memory(path, source_file, source_language, target_language)
    data, problem = read if read is not None else read_memory_bytes(path, memory_dir)
    if problem is not None:
        return None, [problem]
    if data is None:
        return empty, []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [error(path, None, "translation memory is not UTF-8: restore it from git (git checkout -- FILE)")]
    # A file as the build writes it is read line by line, at twice PyYAML's speed; anything
    # else is parsed once for both paths below, which refuses alias amplification before
    # building any value, and names the line of a value it cannot build ('date: 2026-02-30').
    simple = read_simple_block(text)
    fast = _read_fast(simple, path, source_file, source_language, target_language) if simple is not None else None
    if fast is not None:
        return fast, []
    try:
        doc = parse_yaml(text)
    except YamlError as exc:
        return None, [error(path, exc.line, f"translation memory: {exc.message}: fix the YAML or restore the file from git")]
    if doc.value is None:
        return empty, []
    if simple is None:  # (read line by line, the same value was just judged)
        fast = _read_fast(doc.value, path, source_file, source_language, target_language)
        if fast is not None:
            return fast, []
    # Something is off: go through the node tree, to say where.
    if not isinstance(doc.value, dict):
        return None, [error(path, node_line(doc.node, 1), "translation memory must be a mapping with 'entries': restore it from git")]
    problems: list[Problem] = []
    for field_name, expected in (("source_language", source_language), ("target_language", target_language)):
        found = doc.value.get(field_name, expected)
        if not isinstance(found, str) or base_language(found) != expected:
            line = doc.key_lines().get(field_name)
            problems.append(error(path, line, f"'{field_name}' is {found!r} but the site translates {source_language} → {target_language}: fix the file or site.yml"))
    raw_entries = doc.value.get("entries") or []
    entries_node = doc.child("entries")
    if not isinstance(raw_entries, list):
        problems.append(error(path, node_line(entries_node), "'entries' must be a list of entries (lines starting with '- key:')"))
        return None, problems
    item_nodes = entries_node.value if isinstance(entries_node, yaml.SequenceNode) else []
    entries: list[MemoryEntry] = []
    lines: list[int | None] = []
    for index, raw in enumerate(raw_entries):
        node = item_nodes[index] if index < len(item_nodes) else None
        entry, found = _read_entry(raw, node, path, source_language, target_language)
        problems += found
        if entry is not None:
            entries.append(entry)
            lines.append(node_line(node))
    if any(p.is_error for p in problems):
        return None, problems
    return replace(empty, entries=tuple(entries), lines=tuple(lines)), problems


# A memory file's bytes (None: no file), or why they must not be read.
MemoryRead = tuple["bytes | None", "Problem | None"]


def read_memory_bytes(path: Path, memory_dir: Path | None = None) -> tuple[bytes | None, Problem | None]:
    """The file's bytes; ``(None, None)`` when there is no file; ``(None, problem)`` when it must
    not be read (nor, since its memory is then unreadable, written).

    The same rules as for sources (sources.py): only a regular file, within the memory folder,
    of bounded size. A link to ``/dev/zero`` read until memory ran out; a named pipe hung the
    build. The file is opened without blocking and checked again once open, so a pipe swapped
    in after the check cannot hang it either.
    """
    if memory_dir is not None and not _plainly_within(path, memory_dir):
        target = path.resolve()
        if not target.is_relative_to(memory_dir.resolve()):
            return None, error(path, None, f"symbolic link leads outside the translation memory folder (to {target}): copy the file in instead")
    try:
        info = os.stat(path)  # follows links: what would be read
    except FileNotFoundError:
        if os.path.islink(path):
            return None, error(path, None, "broken symbolic link: remove it or restore the file it points to")
        return None, None
    except OSError as exc:
        return None, _unreadable(path, exc)
    problem = _refuse_kind_or_size(path, info)
    if problem is not None:
        return None, problem
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None, None  # removed since: no memory
    except OSError as exc:
        return None, _unreadable(path, exc)
    try:
        problem = _refuse_kind_or_size(path, os.fstat(fd))
        if problem is not None:
            return None, problem
        data = read_at_most(fd, MAX_MEMORY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_MEMORY_BYTES:  # grew since it was checked
        return None, _too_large(path, len(data))
    return data, None


def _plainly_within(path: Path, folder: Path) -> bool:
    """``path`` is written under ``folder`` and no part of it below ``folder`` is a link (nor
    ``..``): it is within the folder, whatever the folder itself resolves to. One ``lstat`` a
    level, where resolving the whole path cost one a component of it, for every memory."""
    top, text = os.path.join(os.fspath(folder), ""), os.fspath(path)
    if not text.startswith(top):
        return False
    below = top.rstrip(os.sep)
    for part in text[len(top):].split(os.sep):
        below = os.path.join(below, part)
        if part in ("", ".", "..") or os.path.islink(below):
            return False
    return True


def _refuse_kind_or_size(path: Path, info: os.stat_result) -> Problem | None:
    if stat.S_ISDIR(info.st_mode):
        return error(path, None, "translation memory is a folder, not a file: rename or remove the folder")
    if not stat.S_ISREG(info.st_mode):
        return error(path, None, "translation memory is not a regular file (a named pipe, socket or device): remove it or restore it from git")
    if info.st_size > MAX_MEMORY_BYTES:
        return _too_large(path, info.st_size)
    return None


def _too_large(path: Path, size: int) -> Problem:
    mb = 1024 * 1024
    return error(path, None, f"translation memory is too large ({size / mb:.1f} MB; the limit is {MAX_MEMORY_BYTES // mb} MB): restore it from git")


def _unreadable(path: Path, exc: OSError) -> Problem:
    return error(path, None, f"cannot read the translation memory ({exc.strerror}): check its permissions")


def _read_fast(value: Any, path: Path, source_file: str, source_language: str, target_language: str) -> Memory | None:
    """The common case, a file as the build wrote it: checked on the values alone, without the
    node tree. None if anything is off (the careful path then says where), including two
    entries for one text, which need their lines to be reported."""
    if not isinstance(value, dict) or set(value) - {"source_file", "source_language", "target_language", "entries"}:
        return None
    for field_name, expected in (("source_language", source_language), ("target_language", target_language)):
        found = value.get(field_name, expected)
        if not isinstance(found, str) or base_language(found) != expected:
            return None
    raw_entries = value.get("entries") or []
    if not isinstance(raw_entries, list):
        return None
    entries = []
    keys: set[str] = set()
    for raw in raw_entries:
        if not isinstance(raw, dict) or not _FAST_FIELDS.issuperset(raw) or not raw.keys() >= _REQUIRED:
            return None
        source, translation, provider, day, reviewed = raw["source"], raw["translation"], raw["provider"], raw["date"], raw["reviewed"]
        if not (isinstance(source, str) and source.strip() and isinstance(translation, str) and translation.strip()):
            return None
        if not (isinstance(provider, str) and provider.strip() and isinstance(reviewed, bool) and isinstance(raw.get("stale", False), bool)):
            return None
        if isinstance(day, date):
            day = day.isoformat()
        if not isinstance(day, str):
            return None
        key = entry_key(source, source_language, target_language)
        if key != raw["key"] or key in keys:
            return None  # reported, with its line, by the careful path
        keys.add(key)
        entries.append(MemoryEntry(key, source, translation, provider, day, reviewed, str(raw.get("at", "")), bool(raw.get("stale", False)), str(raw.get("note", "") or "")))
    return Memory(path, source_file, source_language, target_language, tuple(entries))


_FAST_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS)
_REQUIRED = frozenset(REQUIRED_FIELDS)


def resolve_duplicates(memory: Memory) -> tuple[Memory | None, list[Problem]]:
    """One entry per key, as the build needs, and a message for every other one.

    A git merge leaves two entries for one text; keeping the last of them silently replaced
    an editor's reviewed translation by the machine's, and the next save deleted it. Now the
    reviewed entry wins wherever it stands; of two unreviewed ones the first is kept. Two
    reviewed entries with different translations are an error, ``None``: the file is left as it
    is (never saved) until an editor keeps the right one.
    """
    groups: dict[str, list[int]] = {}
    for index, entry in enumerate(memory.entries):
        groups.setdefault(entry.key, []).append(index)
    if all(len(indexes) == 1 for indexes in groups.values()):
        return memory, []

    def line_of(index: int) -> int | None:
        return memory.lines[index] if index < len(memory.lines) else None

    problems: list[Problem] = []
    dropped: set[int] = set()
    for key, indexes in groups.items():
        if len(indexes) == 1:
            continue
        entries = memory.entries
        kept = next((i for i in indexes if entries[i].reviewed and not entries[i].stale), None)
        kept = next((i for i in indexes if entries[i].reviewed), indexes[0]) if kept is None else kept
        for other in indexes:
            if other == kept:
                continue
            dropped.add(other)
            first, later = sorted((kept, other))
            where = f"entry duplicates the one at line {line_of(first) or '?'} (same key {key})"
            if entries[other].reviewed and entries[other].translation != entries[kept].translation:
                problems.append(error(memory.path, line_of(later), f"{where} and both are reviewed, with different translations: keep the right one and delete the other"))
            elif entries[other].reviewed:
                which = "that one is kept; delete this one" if kept == first else "this one is kept; delete that one"
                problems.append(warning(memory.path, line_of(later), f"{where}, with the same reviewed translation: {which}"))
            elif entries[kept].reviewed:
                problems.append(warning(memory.path, line_of(later), f"{where}: the reviewed one is kept; delete the other"))
            else:
                problems.append(warning(memory.path, line_of(later), f"{where}: that one is kept; delete this one"))
    if any(p.is_error for p in problems):
        return None, problems
    kept_indexes = [i for i in range(len(memory.entries)) if i not in dropped]
    settled = replace(
        memory,
        entries=tuple(memory.entries[i] for i in kept_indexes),
        lines=tuple(line_of(i) for i in kept_indexes),
    )
    return settled, problems


def _read_entry(raw: Any, node: yaml.Node | None, path: Path, source_language: str, target_language: str) -> tuple[MemoryEntry | None, list[Problem]]:
    line = node_line(node)
    if not isinstance(raw, dict):
        return None, [error(path, line, "each entry must be a mapping with key, source, translation, provider, date, reviewed")]
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value} if isinstance(node, yaml.MappingNode) else {}
    missing = [f for f in REQUIRED_FIELDS if f not in raw]
    if missing:
        return None, [error(path, line, f"entry is missing {', '.join(missing)}: add {'it' if len(missing) == 1 else 'them'} or restore the file from git")]
    problems: list[Problem] = []
    for name in raw:
        if name not in REQUIRED_FIELDS + OPTIONAL_FIELDS:
            problems.append(warning(path, lines.get(str(name), line), f"unknown field '{name}' in entry is ignored"))
    text_fields = {}
    for name in ("key", "source", "translation", "provider"):
        value = raw[name]
        if not isinstance(value, str) or not value.strip():
            problems.append(error(path, lines.get(name, line), f"'{name}' must be non-empty text"))
        text_fields[name] = value
    day = raw["date"]
    if isinstance(day, date):
        day = day.isoformat()
    if not isinstance(day, str):
        problems.append(error(path, lines.get("date", line), "'date' must be a date such as '2026-11-25'"))
    for name in ("reviewed", "stale"):
        if name in raw and not isinstance(raw[name], bool):
            problems.append(error(path, lines.get(name, line), f"'{name}' must be true or false"))
    if any(p.is_error for p in problems):
        return None, problems
    key = entry_key(raw["source"], source_language, target_language)
    if key != raw["key"]:
        # The text is the truth; a key that no longer matches means 'source' was edited.
        problems.append(
            warning(path, lines.get("key", line), "key does not match the source text (was 'source' edited?): the entry is used for its source text as written")
        )
    return (
        MemoryEntry(
            key=key,
            source=raw["source"],
            translation=raw["translation"],
            provider=raw["provider"],
            date=day,
            reviewed=raw["reviewed"],
            at=str(raw.get("at", "")),
            stale=bool(raw.get("stale", False)),
            note=str(raw.get("note", "") or ""),
        ),
        problems,
    )


def dump_memory(memory: Memory) -> bytes:
    """The file's text: stable field order, one entry after another in document order."""
    body = {
        "source_file": memory.source_file,
        "source_language": memory.source_language,
        "target_language": memory.target_language,
        "entries": [_entry_dict(e) for e in memory.entries],
    }
    header = HEADER.format(source_file=_comment_text(memory.source_file), source_language=memory.source_language, target_language=memory.target_language)
    # Line by line where that gives PyYAML's very bytes (write_simple_block says when it cannot).
    text = write_simple_block(body)
    if text is None:
        text = yaml.dump(body, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False)
    return (header + text).encode("utf-8")


# What may stand in a YAML comment: printable characters, no line break (PyYAML's reader,
# less its line breaks \n \r \x85 \u2028 \u2029).
# Written as the complement's few ranges: the negated class of everything allowed took
# 10 ms to compile, at every start of the tool.
_NOT_IN_COMMENT = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _comment_text(text: str) -> str:
    """``text`` for the header comment. A source file named with a line break (or a control
    character) ended the comment early: the memory written was invalid YAML, so the next build
    could not read it and every translation saved in it was lost."""
    return _NOT_IN_COMMENT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _entry_dict(entry: MemoryEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"key": entry.key}
    if entry.at:
        out["at"] = entry.at
    out |= {
        "source": entry.source,
        "translation": entry.translation,
        "provider": entry.provider,
        "date": entry.date,
        "reviewed": entry.reviewed,
    }
    if entry.stale:
        out["stale"] = True
    if entry.note:
        out["note"] = entry.note
    return out


def save_memory(memory: Memory, *, many: bool = False) -> None:
    """Atomically replace the file; durable, because it holds paid-for and hand-made work.

    ``many``: one of many memories saved at once. The caller then makes them durable
    together (``core.fsutil.sync_filesystem``, where an fsync each cost 2 ms a file) and
    sweeps each folder once (a sweep per save read the whole folder for every file:
    quadratic in a flat archive)."""
    write_atomic(memory.path, dump_memory(memory), durable=not many)
    if not many:
        sweep_stale_temporaries(memory.path.parent)


STALE_TEMPORARY_SECONDS = 60
# write_atomic's temporary files: ".<name>.<random>.tmp".
_TEMPORARY = re.compile(r"\..+\.yml\.[^.]+\.tmp\Z", re.S)


def sweep_stale_temporaries(folder: Path) -> None:
    """A build killed in the middle of a save leaves its temporary file beside the memory.
    Nothing reads it; remove the ones old enough that no running save can still own them."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    try:
        listing = os.scandir(folder)
    except OSError:
        return
    with listing:
        for item in listing:
            if not _TEMPORARY.match(item.name):
                continue
            try:
                if item.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(item.path)
            except OSError:
                pass
