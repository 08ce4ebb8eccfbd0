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

This module reads and writes those files; deciding what to translate lives in
``translation.py``.
"""

from __future__ import annotations

import glob
import hashlib
import re
import time
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Iterable

import yaml

from .diagnostics import Problem, error, warning
from .fsutil import write_atomic
from .yamlfile import YamlError, node_line, parse_yaml

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
    return " ".join(text.split())


def entry_key(text: str, source_language: str, target_language: str) -> str:
    digest = hashlib.sha256(f"{source_language}\n{target_language}\n{normalise_source(text)}".encode("utf-8"))
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

    def lookup(self) -> dict[str, MemoryEntry]:
        """Current (non-stale) entries by key."""
        return {e.key: e for e in self.entries if not e.stale}

    def with_entries(self, entries: Iterable[MemoryEntry]) -> "Memory":
        return replace(self, entries=tuple(entries))


def memory_path(memory_dir: Path, source_rel: str, target_language: str) -> Path:
    return memory_dir / f"{source_rel}.{target_language}.yml"


def load_memory(path: Path, source_file: str, source_language: str, target_language: str) -> tuple[Memory | None, list[Problem]]:
    """Read one memory file. ``None`` means unreadable: the caller must not overwrite it."""
    empty = Memory(path, source_file, source_language, target_language)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return empty, []
    except OSError as exc:
        return None, [error(path, None, f"cannot read the translation memory ({exc.strerror}): check its permissions")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [error(path, None, "translation memory is not UTF-8: restore it from git (git checkout -- FILE)")]
    fast = _load_fast(text, path, source_file, source_language, target_language)
    if fast is not None:
        return fast, []
    # Something is off: parse again keeping line numbers, to say where.
    try:
        doc = parse_yaml(text)
    except UnicodeDecodeError:
        return None, [error(path, None, "translation memory is not UTF-8: restore it from git (git checkout -- FILE)")]
    except YamlError as exc:
        return None, [error(path, exc.line, f"translation memory: {exc.message}: fix the YAML or restore the file from git")]
    if doc.value is None:
        return empty, []
    if not isinstance(doc.value, dict):
        return None, [error(path, node_line(doc.node, 1), "translation memory must be a mapping with 'entries': restore it from git")]
    problems: list[Problem] = []
    for field_name, expected in (("source_language", source_language), ("target_language", target_language)):
        found = doc.value.get(field_name, expected)
        if found != expected:
            line = doc.key_lines().get(field_name)
            problems.append(error(path, line, f"'{field_name}' is {found!r} but the site translates {source_language} → {target_language}: fix the file or site.yml"))
    raw_entries = doc.value.get("entries") or []
    entries_node = doc.child("entries")
    if not isinstance(raw_entries, list):
        problems.append(error(path, node_line(entries_node), "'entries' must be a list of entries (lines starting with '- key:')"))
        return None, problems
    item_nodes = entries_node.value if isinstance(entries_node, yaml.SequenceNode) else []
    entries: list[MemoryEntry] = []
    for index, raw in enumerate(raw_entries):
        node = item_nodes[index] if index < len(item_nodes) else None
        entry, found = _read_entry(raw, node, path, source_language, target_language)
        problems += found
        if entry is not None:
            entries.append(entry)
    if any(p.is_error for p in problems):
        return None, problems
    return replace(empty, entries=tuple(entries)), problems


def _load_fast(text: str, path: Path, source_file: str, source_language: str, target_language: str) -> Memory | None:
    """The common case, a file as the build wrote it: plain load, no node tree. None if anything is off."""
    try:
        value = yaml.load(text, Loader=_FastLoader)
    except (yaml.YAMLError, ValueError, TypeError, KeyError, OverflowError):
        # PyYAML raises plain ValueError for a scalar it cannot build (a hand-typed
        # 'date: 2026-02-30'): it escaped as "unexpected failure" instead of file:line.
        # The careful path below reports it with its line.
        return None
    if not isinstance(value, dict) or set(value) - {"source_file", "source_language", "target_language", "entries"}:
        return None
    if value.get("source_language", source_language) != source_language or value.get("target_language", target_language) != target_language:
        return None
    raw_entries = value.get("entries") or []
    if not isinstance(raw_entries, list):
        return None
    entries = []
    for raw in raw_entries:
        if not isinstance(raw, dict) or not _FAST_FIELDS.issuperset(raw) or not all(f in raw for f in REQUIRED_FIELDS):
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
        if key != raw["key"]:
            return None  # reported, with its line, by the careful path
        entries.append(MemoryEntry(key, source, translation, provider, day, reviewed, str(raw.get("at", "")), bool(raw.get("stale", False)), str(raw.get("note", "") or "")))
    return Memory(path, source_file, source_language, target_language, tuple(entries))


_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FAST_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS)


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
    text = yaml.dump(body, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False)
    return (header + text).encode("utf-8")


# What may stand in a YAML comment: printable characters, no line break (PyYAML's reader,
# less its line breaks \n \r \x85 \u2028 \u2029).
_NOT_IN_COMMENT = re.compile("[^\x09\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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


def save_memory(memory: Memory) -> None:
    """Atomically replace the file; durable, because it holds paid-for and hand-made work."""
    write_atomic(memory.path, dump_memory(memory), durable=True)
    _remove_stale_temporaries(memory.path)


STALE_TEMPORARY_SECONDS = 60


def _remove_stale_temporaries(path: Path) -> None:
    """A build killed in the middle of a save leaves its temporary file beside the memory.
    Nothing reads it; remove the ones old enough that no running save can still own them."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for temporary in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if temporary.stat().st_mtime < cutoff:
                temporary.unlink()
        except OSError:
            pass
