"""Which artifacts to make again, stated once for every output.

An artifact is made again when its key differs from the one recorded by the previous
build, or when any file it made is missing from the site being assembled; otherwise its
files stand as they are in staging (a hard-linked copy of the live site) and their
digests are carried over. A made file is written only when its bytes changed, so an
unchanged file keeps its hard link to the live site.

The files of work handed to workers (``Job``: the index pages, the lists) are written by
the worker that made them, and those that changed are compressed for site.zip there too,
into its pack (``Engine.packed``): the zip is written by one process, which otherwise
compressed them itself, one at a time, while both cores waited.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..core.diagnostics import Problem
from ..core.hashing import DIGEST_SIZE, hash_bytes
from ..outputs.archive import PackWriter, StoredMember
from ..outputs.base import Artifact, Job, Made, Output, SiteView, Split
from ..outputs.site_zip import SiteFiles
from ..pages.figures import archived_file
from ..pages.listing import Listing, changed_since, edition_change, texts_at_hand
from . import workers
from .packs import pack_writer
from .staging import replace_file
from .state import ArtifactRecord, OutputRecord, OutputState, artifact_files

# Below this many artifacts to make, forking workers costs more than it saves.
PARALLEL_THRESHOLD = 32
BATCH = 16


class Engine:
    """Makes artifacts into a staging folder, reusing what the previous build made."""

    def __init__(self, staging: Path, previous: OutputState, view: SiteView, work_dir: Path | None = None, holds: Callable[[str], bool] | None = None):
        self.staging = staging
        # Whether the staging folder holds a file of the live site's: as it held them when made
        # ready (StagingCopy.holds) until the first run writes, then as the file system says
        # (strays are removed after it: make_outputs).
        self.holds = holds if holds is not None else self._exists
        self.work_dir = work_dir  # where workers pack the files they make for site.zip (None: not packed)
        self.previous = previous.artifacts
        self.previous_manifest = previous.files()  # the artifacts' (segment pages are the file stage's)
        self.previous_outputs = previous.outputs
        self.view = view
        self.records: dict[str, ArtifactRecord] = {}
        self.outputs: dict[str, OutputRecord] = {}  # of the outputs that state what they are made of
        self.manifest: dict[str, str] = {}
        self.problems: list[Problem] = []
        self.packed: dict[str, StoredMember] = {}  # files made by jobs, compressed for site.zip
        self._changed: dict[bytes, list[Listing] | None] = {}  # the listings changed since each previous digests (Engine._touched)
        self._entered: dict[tuple[bytes, str], list[Listing] | None] = {}  # and those come into the English edition or gone since
        self._pending: list[Callable[[], None]] = []  # writing still going on (Made.pending)
        # The site's files once every output but site.zip is made (make_outputs takes stock):
        # the zip's key, the build id and the paths changed are all made of it.
        self.stock: SiteFiles | None = None

    def run(self, artifacts: Sequence[Artifact]) -> None:
        stale = []
        for artifact in artifacts:
            record = self.previous.get(artifact.id)
            if record is not None and record.key == artifact.key and self._still_there(record):
                self._keep(artifact.id, record)
            else:
                stale.append(artifact)
        made: dict[int, Made] = {}
        jobs: list[tuple[int, Job]] = []
        splits: dict[int, Split] = {}
        for number, artifact in enumerate(stale):
            record = self.previous.get(artifact.id)
            result = artifact.make(record.memo if record else None)
            if isinstance(result, Split):
                splits[number] = result
            elif isinstance(result, Job):
                jobs.append((number, result))
            else:
                made[number] = result
        # The parts of split work go first, one to a batch, so that they start at once on
        # every core and the small jobs fill in around them; long jobs likewise.
        parts = [part for split in splits.values() for part in split.parts]
        jobs.sort(key=lambda numbered: not numbered[1].long)  # stable: the others keep their order
        work = [(part, False) for part in parts] + [(job, True) for _, job in jobs]
        alone = len(parts)
        if workers.worth_workers(len(work), PARALLEL_THRESHOLD, alone):  # and not only for them
            alone += sum(1 for _, job in jobs if job.long)

        def combine(results: list) -> None:
            # Each split artifact made of its parts' results and its files written, here, as
            # soon as the parts are in: meanwhile the other cores make the rest (workers.Lead).
            start = 0
            for number, split in splits.items():
                made[number] = self._written(split.combine(results[start:start + len(split.parts)]))
                start += len(split.parts)

        context = _JobContext(self.view, str(self.staging), self.previous_manifest, self.work_dir)
        results = workers.run_batches(_run_jobs, work, context, workers=self.view.workers, batch=BATCH,
                                      threshold=PARALLEL_THRESHOLD, lead=workers.Lead(alone, len(parts), combine if splits else None))
        for (number, _), (result, members) in zip(jobs, results[len(parts):]):
            made[number] = result
            self.packed.update(members)
        self.holds = self._exists  # files are written now
        for number, artifact in enumerate(stale):
            self._record(artifact, made[number])

    def listed(self, outputs: Sequence[Output]) -> tuple[list[Artifact], int]:
        """The artifacts of ``outputs`` to judge by their keys (``run``), and how many pages of
        the whole site the others hold: an output made of what it was in the previous build
        (``Output.made_of``) is carried over as it stands, without listing its artifacts; one
        whose listings stand where they stood (``Output.shaped_by``), or moved only into the
        English edition or out of it, lists only those showing a changed listing and those
        the move touched (``Output.touched``), and the others are carried over."""
        artifacts, carried_pages = [], 0
        view = self.view
        for output in outputs:
            made_of = output.made_of(view)
            before = self.previous_outputs.get(output.name)
            if made_of is not None and isinstance(before, OutputRecord) and before.fits():
                if before.made_of == made_of and self.carry(before.artifacts):
                    self.outputs[output.name] = before
                    carried_pages += before.pages
                    continue
                touched = self._touched(output, before)
                if touched is not None:
                    found, record = touched
                    artifacts += found
                    carried_pages += record.pages - sum(1 for a in found if a.name)
                    self.outputs[output.name] = replace(record, made_of=made_of)
                    continue
            found = output.artifacts(view)
            artifacts += found
            if made_of is not None:
                shape = output.shaped_by(view)
                listed, placed = (view.listed, view.placed) if shape is not None else (b"", b"")
                self.outputs[output.name] = OutputRecord(made_of, tuple(a.id for a in found), sum(1 for a in found if a.name), shape or "", listed, placed)
        return artifacts, carried_pages

    def _touched(self, output: Output, before: OutputRecord) -> tuple[list[Artifact], OutputRecord] | None:
        """The artifacts of ``output`` showing a listing changed since the previous build, the
        others carried over, and the output's record but for what it is made of; None
        (nothing carried) when the listings do not stand where they stood (but for stories
        that came into the English edition or left it, where the output can say what that
        moved), or the previous build's artifacts are not all there."""
        view = self.view
        shape = output.shaped_by(view)
        if shape is None:
            return None
        if before.listed not in self._changed:
            self._changed[before.listed] = changed_since(view.listings, view.listed, before.listed)
        changed = self._changed[before.listed]
        if changed is None:
            return None
        if shape == before.shape:
            entered: list[Listing] | None = []
        else:
            moved_since = (before.placed, before.shape)
            if moved_since not in self._entered:
                self._entered[moved_since] = self._came_or_left(before)
            entered = self._entered[moved_since]
        found = output.touched(view, changed, entered) if entered is not None else None
        if found is None:
            return None
        ids, had = {artifact.id for artifact in found}, set(before.artifacts)
        rest = [i for i in before.artifacts if i not in ids]
        new = [artifact.id for artifact in found if artifact.id not in had]
        gone = []
        if entered:
            # Where a story came in or left, a list may have a page more or fewer: only there
            # (``Output.replaced``), which the output lists whole.
            replaced = output.replaced(view, entered)
            gone = [i for i in rest if i.startswith(replaced)]
            if not all(i.startswith(replaced) for i in new):
                return None
            rest = [i for i in rest if not i.startswith(replaced)]
        elif new:
            return None
        if not self.carry(tuple(rest)):
            return None
        pages = before.pages + output.pages_among(new) - output.pages_among(gone) if new or gone else before.pages
        return found, replace(before, artifacts=(*rest, *(artifact.id for artifact in found)), pages=pages, shape=shape, listed=view.listed, placed=view.placed)

    def _came_or_left(self, before: OutputRecord) -> list[Listing] | None:
        """The listings that came into the English edition or left it since ``before`` was
        recorded, when every other listing stands where it stood (the names the English lists
        show as well); None otherwise. Only a listing whose digest changed can have moved."""
        view, size = self.view, DIGEST_SIZE
        placed, placed_before = view.placed, before.placed
        if len(placed) != len(placed_before) or view.shape_of(placed_before) != before.shape:
            return None
        entered = []
        for listing, at in zip(view.listings, range(0, len(placed), size)):
            was = placed_before[at : at + size]
            if was != placed[at : at + size]:
                change = edition_change(listing, was)
                if change is None:
                    return None
                if change:
                    entered.append(listing)
        return entered

    def carry(self, ids: tuple[str, ...]) -> bool:
        """Keep the previous build's artifacts ``ids`` as they are, unlisted (their output is
        made of what it was); False, and nothing kept, when one of them is not in the site
        being assembled."""
        records = list(map(self.previous.get, ids))
        if not all(record is not None and self._still_there(record) for record in records):
            return False
        for artifact_id, record in zip(ids, records):
            self._keep(artifact_id, record)
        return True

    def _still_there(self, record: ArtifactRecord) -> bool:
        manifest, holds = self.previous_manifest, self.holds
        return all(manifest.get(path) == digest and holds(path) for path, digest in record.files)

    def artifact_files(self) -> dict[str, str]:
        """Path -> digest of the files of every artifact this build made or kept."""
        return artifact_files(self.records)

    def _exists(self, path: str) -> bool:
        # Joined as text: a Path per file cost a one-change build 20-40 ms at 10,000 segments.
        return os.path.lexists(f"{self.staging}/{path}")

    def _keep(self, artifact_id: str, record: ArtifactRecord) -> None:
        self.records[artifact_id] = record
        self.manifest.update(record.files)

    def _written(self, made: Made) -> Made:
        """``made`` with its files written into staging: their digests among those written."""
        return replace(made, files={}, written=self._write_all(made))

    def _write_all(self, made: Made) -> dict[str, str]:
        """Path -> digest of every file of ``made``, those it holds written into staging."""
        files = dict(made.written)
        for path, data in made.files.items():
            files[path] = self._write(path, data)
        return files

    def _record(self, artifact: Artifact, made: Made) -> None:
        files = self._write_all(made)
        self.manifest.update(files)
        self.problems += made.problems
        self.records[artifact.id] = ArtifactRecord(artifact.key, tuple(sorted(files.items())), made.memo)
        if made.pending is not None:
            self._pending.append(made.pending)

    def finish_writing(self, quietly: bool = False) -> None:
        """Wait for the writing still going on (site.zip's copied runs): the site is published
        only once it is done. Raises the first error met, unless ``quietly`` (the site is
        being given up, and the writing only must not outlive it)."""
        pending, self._pending = self._pending, []
        error = None
        for wait in pending:
            try:
                wait()
            except Exception as exc:  # every wait is made: no writing outlives the build
                error = error or exc
        if error is not None and not quietly:
            raise error

    def _write(self, path: str, data: bytes) -> str:
        return _write_file(str(self.staging), self.previous_manifest, path, data)


def _write_file(staging: str, previous_manifest: dict[str, str], path: str, data: bytes) -> str:
    """The file's digest, once it is in staging: written only when its bytes changed."""
    digest = hash_bytes(data)
    if previous_manifest.get(path) != digest or not os.path.exists(f"{staging}/{path}"):
        replace_file(f"{staging}/{path}", data)  # no Path a file
    return digest


@dataclass(frozen=True)
class _JobContext:
    """What the workers running jobs inherit (forked, never pickled)."""

    view: SiteView
    staging: str
    previous_manifest: dict[str, str]
    work_dir: Path | None

    def ready_for_workers(self) -> None:
        """Called before the workers are forked (workers.run_batches): the texts of every
        listing read back from the cache, read here, as a worker cannot read the cache."""
        texts_at_hand(self.view.listings)


def _run_jobs(context: _JobContext, work: list[tuple[Job, bool]]) -> list:
    """Each job's result; a whole artifact's (``True``: not a part of split work) as its Made,
    its files written, with those it changed compressed into this process's pack."""
    pack = pack_writer(context.work_dir, context.view.config.offline_archive)
    results = [_settled(context, pack, job.run(context.view, job.argument)) if whole else job.run(context.view, job.argument) for job, whole in work]
    if pack is not None:
        pack.flush()  # the main process reads the packs once this batch's results arrive
    return results


def _settled(context: _JobContext, pack: PackWriter | None, made: Made) -> tuple[Made, dict[str, StoredMember]]:
    """The job's files written (the Made names their digests), and those whose bytes changed
    compressed for site.zip: an unchanged one is copied from the previous zip (or, if that
    cannot be used, compressed by the zip itself)."""
    written, members = dict(made.written), {}
    images = context.view.config.offline_archive_images
    for path, data in made.files.items():
        written[path] = digest = _write_file(context.staging, context.previous_manifest, path, data)
        if pack is not None and context.previous_manifest.get(path) != digest:
            members[path] = pack.add(archived_file(path, data, images))
    return replace(made, files={}, written=written), members
