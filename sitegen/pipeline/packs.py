"""Each process's pack and spool files for one build, in the build's work folder.

A pack holds pages compressed for site.zip by the process that made them (the zip copies
their bytes: outputs/archive.py); a spool holds segment pages waiting for their related
stories (drafts.py). Every process that makes pages (the file stage's workers, the
finishing stage's, the workers of the outputs' jobs, or the main process when it makes them
itself) keeps one of each under its own pid, for all its batches.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..outputs.archive import PackWriter
from . import workers
from .drafts import DraftSpool


def pack_writer(work_dir: Path | None, offline_archive: bool) -> PackWriter | None:
    """This process's pack file for this build (None: no site.zip, or no work folder)."""
    if work_dir is None or not offline_archive:
        return None
    return workers.process_local(("pack", str(work_dir)), lambda: PackWriter(work_dir / f"{os.getpid()}.pack"))


def spool_for(work_dir: Path) -> DraftSpool:
    """This process's spool for this build."""
    return workers.process_local(("spool", str(work_dir)), lambda: DraftSpool(work_dir / f"{os.getpid()}.spool"))


def flush_packs() -> None:
    """What this process packed and spooled, handed to the kernel: the main process reads
    the files once a batch's results arrive."""
    for kind in (PackWriter, DraftSpool):
        for writer in workers.process_locals(kind):
            writer.flush()


def finish_packs() -> None:
    """Close and forget this process's pack and spool files (their data must be on disk before they are read)."""
    for kind in (PackWriter, DraftSpool):
        for writer in workers.process_locals(kind):
            writer.handle.close()
        workers.forget_process_locals(kind)


def remove_packs(folder: Path) -> None:
    """The work folder, with the packs and spools left in it, removed."""
    if folder.is_dir():
        for pack in folder.iterdir():
            pack.unlink(missing_ok=True)
        os.rmdir(folder)
