"""The sources and their memories, listed and stat'ed: the first thing every build needs,
and the part of a build with nothing to do that grows with the site (a ``stat`` a file).

Started as soon as the configuration is read (commands/cli.py), in a forked child
(core/forked.py), while this process imports and opens everything else: so this module
imports only what the listing needs.
"""

from __future__ import annotations

import os
from functools import partial

from ..config import SiteConfig
from ..content.sources import find_sources
from ..core.diagnostics import Problem
from ..core.forked import ForkedWork
from ..core.hashing import stat_signatures
from ..translation.memory import memory_file_name

# What list_sources gives: the sources' paths under content/, their paths, their stat
# signatures, their memories' (None: not taken), and the problems met. Lists of plain
# values: a child process lists them and sends them back marshalled.
Listed = tuple[list[str], list[str], list[tuple], list[tuple | None] | None, list[Problem]]


def start_listing(config: SiteConfig) -> ForkedWork[Listed]:
    """:func:`list_sources`, run by a child from now on (a loop of system calls that would
    hold this process's GIL). Use it as a context manager (left unasked, the child is stopped)."""
    return ForkedWork(partial(list_sources, config))


def list_sources(config: SiteConfig) -> Listed:
    """Every source with its stat signature and its memory's: one stat a file, the part of a
    build with nothing to do that grows with the site. Reads and changes nothing else."""
    found, problems = find_sources(config.content_dir)
    folder, target = memory_folder(config), config.translation.target
    memories = stat_signatures(folder, [memory_file_name(source.rel, target) for source in found]) if folder is not None else None
    return [s.rel for s in found], [s.path for s in found], [s.signature for s in found], memories, problems


def memory_folder(config: SiteConfig) -> str | None:
    """The memory folder as text ending in a separator (None: the site has no English edition)."""
    return os.path.join(os.fspath(config.memory_dir), "") if config.translation.enabled else None
