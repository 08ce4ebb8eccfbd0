"""The sources and their memories, listed and stat'ed: the first thing every build needs,
and the part of a build with nothing to do that grows with the site (a ``stat`` a file).

Started as soon as the configuration is read (commands/cli.py), in a forked child
(core/forked.py), while this process imports and opens everything else: so this module
imports only what the listing needs.

The scans of the content's folders are kept in the cache folder for the next listing
(``folders-*.marshal``): a folder whose mtime, ctime and inode are unchanged is not listed again,
only its sources stat'ed (content/sources.find_sources_knowing). That file is a hint, never
trusted for more: one that cannot be read is ignored, and so is a scan that names anything
but plain names.
"""

from __future__ import annotations

import marshal
import os
from functools import partial
from pathlib import Path

from ..config import SiteConfig
from ..content.sources import FolderScan, find_sources_knowing
from ..core.diagnostics import Problem
from ..core.forked import ForkedWork
from ..core.fsutil import write_atomic
from ..core.hashing import hash_bytes, stat_signatures
from ..translation.memory import memory_file_name

# What list_sources gives: the sources' paths under content/, their paths, their stat
# signatures, their memories' (None: not taken), the problems met, and the folders' scans
# to keep (None: those kept already). Lists of plain values: a child process lists them
# and sends them back marshalled.
Listed = tuple[list[str], list[str], list[tuple], list[tuple | None] | None, list[Problem], dict[str, FolderScan] | None]

# Past this size the file of scans is no scan of ours (10,000 folders take some 700 KB).
_MAX_SCANS_BYTES = 256 * 1024 * 1024


def start_listing(config: SiteConfig) -> ForkedWork[Listed]:
    """:func:`list_sources`, run by a child from now on (a loop of system calls that would
    hold this process's GIL). Use it as a context manager (left unasked, the child is stopped)."""
    return ForkedWork(partial(list_sources, config))


def list_sources(config: SiteConfig) -> Listed:
    """Every source with its stat signature and its memory's: one stat a file, the part of a
    build with nothing to do that grows with the site. Reads and changes nothing else."""
    known = read_scans(scans_path(config))
    found, problems, scans = find_sources_knowing(config.content_dir, known)
    folder, target = memory_folder(config), config.translation.target
    memories = stat_signatures(folder, [memory_file_name(source.rel, target) for source in found]) if folder is not None else None
    return [s.rel for s in found], [s.path for s in found], [s.signature for s in found], memories, problems, scans if scans != known else None


def keep_scans(config: SiteConfig, listed: Listed) -> None:
    """The folders' scans a listing made, kept for the next one (when they changed). A file
    that cannot be written is no failure: the next listing lists every folder."""
    scans = listed[5]
    if scans is None:
        return
    try:
        write_atomic(scans_path(config), marshal.dumps(scans), durable=False)
    except OSError:
        pass


def scans_path(config: SiteConfig) -> Path:
    """One file of scans a content folder, in the cache folder (whatever the output folder)."""
    return config.cache_dir / f"folders-{hash_bytes(os.fspath(config.content_dir))[:12]}.marshal"


def read_scans(path: Path) -> dict[str, FolderScan]:
    """The scans kept by the last listing; {} when there are none, or they are not ours."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_SCANS_BYTES + 1)
        scans = marshal.loads(data) if len(data) <= _MAX_SCANS_BYTES else None
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return scans if type(scans) is dict else {}  # each scan is checked where it is used (sources._usable)


def memory_folder(config: SiteConfig) -> str | None:
    """The memory folder as text ending in a separator (None: the site has no English edition)."""
    return os.path.join(os.fspath(config.memory_dir), "") if config.translation.enabled else None
