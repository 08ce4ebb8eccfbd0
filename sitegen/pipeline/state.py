"""What one build leaves for the next, as typed values in the build cache.

Two values besides the per-file records: a small :class:`Summary`, read on every run
(a build that finds nothing to do reads nothing else), and :class:`OutputState`, every
artifact's record, read only when something is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import chain
from typing import TYPE_CHECKING, Any

from ..core.diagnostics import Problem
from .cache import BuildCache, CacheDamaged

if TYPE_CHECKING:
    from .planted import FolderMark


@dataclass(frozen=True)
class ArtifactRecord:
    """What the previous build recorded of one artifact."""

    key: str
    files: tuple[tuple[str, str], ...]  # (path, digest)
    memo: Any = None


@dataclass(frozen=True)
class SpareTree:
    """The site before the live one, kept aside as the next build's staging folder: it differs
    from the live site only at ``behind``, so bringing it up to date costs what the last build
    changed, not a hard-linked copy of every file of the site (``staging.StagingCopy``)."""

    build_id: str  # the build it holds (its marker says so)
    behind: tuple[str, ...]  # paths where the live site differs from it
    # Its folders as the build that made it left them (Summary.folder_marks): a folder found
    # as marked holds what that build put there, and is not walked again (staging.py).
    folders: tuple[FolderMark, ...] = ()
    seal: str = ""  # of the folders and the build (planted.marks_hold)


@dataclass(frozen=True)
class Summary:
    fingerprint: str  # tool version, configuration, theme, options
    build_id: str  # the live site's marker holds it when the site is this build's
    git_head: str | None
    git_dates: dict[str, date]
    folders: dict[str, int]  # mtime of every folder of the live site
    problems: tuple[Problem, ...]  # warnings of this build, said again by a build with nothing to do
    segments: int
    pages: int
    cached_units: int
    without_companion: tuple[str, ...]
    needs_translation: frozenset[str]  # files with units the memory lacks
    spare: SpareTree | None = None  # the previous site, kept aside for the next build
    tags_memory: tuple | None = None  # stat signature of the tags' memory the English lists were named from
    # (folder below the site, inode, ctime, link count) of the live site's folders, as this
    # build left them: see planted.folder_marks.
    folder_marks: tuple[FolderMark, ...] = ()
    marks_seal: str = ""


@dataclass(frozen=True)
class OutputRecord:
    """What the previous build recorded of an output that states what it is made of
    (``Output.made_of``): its artifacts are carried over unlisted while that stands."""

    made_of: str
    artifacts: tuple[str, ...]  # their ids
    pages: int  # how many of them are pages of the whole site (named)
    # Of an output that says where each listing stands in it (``Output.shaped_by``): that, and
    # every listing's digest then (``SiteView.listed``), to tell which listings changed since.
    shape: str = ""
    listed: bytes = b""
    placed: bytes = b""  # every listing's place then (``SiteView.placed``): which moved since

    def fits(self) -> bool:
        """Whether the values are of the kinds a build records (a damaged one is not used)."""
        return (
            type(self.made_of) is str and type(self.pages) is int and type(self.shape) is str and type(self.listed) is bytes and type(self.placed) is bytes
            and type(self.artifacts) is tuple and all(type(artifact_id) is str for artifact_id in self.artifacts)
        )


@dataclass(frozen=True)
class OutputState:
    """Every artifact's record, and the outputs' (the previous build's). The site's manifest is
    not kept beside them: its segment pages are the files' records' (``FileOutcome.pages``)
    and the rest are the artifacts' files (:meth:`files`). Kept whole, it was read and written
    again by every build: 163,000 paths at 50,000 segments, 0.1 s of a one-change build to
    read back."""

    artifacts: dict[str, ArtifactRecord] = field(default_factory=dict)
    outputs: dict[str, OutputRecord] = field(default_factory=dict)  # by output name

    def __post_init__(self) -> None:
        # Read back, a planted value could hold anything the allow-list lets through.
        if type(self.artifacts) is not dict or type(self.outputs) is not dict:
            raise TypeError("an output state holds the artifacts and the outputs")

    def __setstate__(self, state: dict[str, Any]) -> None:
        if type(state) is not dict or state.keys() != {"artifacts", "outputs"}:
            raise TypeError("an output state holds the artifacts and the outputs")
        object.__setattr__(self, "__dict__", state)
        self.__post_init__()

    def files(self) -> dict[str, str]:
        """Path -> digest of every artifact's files; :class:`CacheDamaged` where a record's files
        are not pairs of texts."""
        try:
            found = artifact_files(self.artifacts)
            "".join(found), "".join(found.values())  # TypeError unless every path and digest is a text
        except (TypeError, ValueError, AttributeError) as exc:
            raise CacheDamaged(f"the build cache holds an artifact whose files are not paths and digests ({exc})") from None
        return found


def artifact_files(artifacts: Mapping[str, ArtifactRecord]) -> dict[str, str]:
    """Path -> digest of the files of ``artifacts`` (made in C: 13,000 files at 50,000 segments)."""
    return dict(chain.from_iterable(record.files for record in artifacts.values()))


STATE_TYPES = (Summary, OutputState, ArtifactRecord, OutputRecord, SpareTree)


def read_summary(cache: BuildCache) -> Summary | None:
    summary = cache.get("summary")
    return summary if isinstance(summary, Summary) else None


def read_outputs(cache: BuildCache) -> OutputState:
    """The live site's artifacts and outputs; none (every artifact made again) when the
    value is not what the build writes: the cache may be damaged or planted."""
    outputs = cache.get("outputs")
    return outputs if isinstance(outputs, OutputState) else OutputState()


def read_ranking(cache: BuildCache) -> Any:
    """The related stories' ranking of the live site (pages/related.Ranking), or None. Checked
    where it is used (``Ranking.fits``): this module is read by builds with nothing to do,
    which never import the pages."""
    return cache.get("related")


SIGNATURES = "signatures"  # the meta value of every file's recorded stat signature


def read_signatures(cache: BuildCache, data: bytes | None) -> dict[str, tuple]:
    """The stat signature of every file with a record, as the build that made it recorded it
    (plan.recorded_signature), from the bytes ``cache.get_bytes(SIGNATURES)`` gave; none when
    the value is not what the build writes. One value, not a column of the files' rows: a
    build compares them all with the fresh ones at once (at 10,000 files, reading the rows
    and comparing each cost 30-45 ms)."""
    signatures = cache.load(data) if data is not None else None
    return signatures if type(signatures) is dict else {}



SPARE_MARKS = "spare marks"  # the meta value holding the marks of a linked copy's folders


def with_copy_marks(cache: BuildCache, spare: SpareTree | None) -> SpareTree | None:
    """``spare`` with the marks of its folders when it is the linked copy of the site a full
    build published: the copy is marked once whole (staging.SpareCopy), after the build's
    state was committed, so the marks are kept beside it, naming the build whose site they
    describe. (Their seal is judged where they are used: planted.marks_hold.)"""
    if spare is None or spare.folders:
        return spare
    value = cache.get(SPARE_MARKS)
    if type(value) is tuple and len(value) == 3 and value[0] == spare.build_id:
        return replace(spare, folders=value[1], seal=value[2])
    return spare


def write_copy_marks(cache: BuildCache, build_id: str, marks: tuple, seal: str) -> None:
    cache.put_many({SPARE_MARKS: (build_id, marks, seal)})


def write_work(cache: BuildCache, outputs: OutputState, ranking: Any, signatures: dict[str, tuple]) -> None:
    """``ranking``: None where the one the cache holds (read_ranking) stands, not written again."""
    values = {"outputs": outputs, SIGNATURES: signatures}
    if ranking is not None:
        values["related"] = ranking
    cache.put_many(values)


def write_summary(cache: BuildCache, summary: Summary) -> None:
    """Written last, in the same transaction as :func:`write_work`: the summary names the
    published site the rest describes."""
    cache.put_many({"summary": summary})


def write_signatures(cache: BuildCache, signatures: dict[str, tuple]) -> None:
    """The signatures alone (a build that made nothing: its files were touched, not changed)."""
    cache.put_many({SIGNATURES: signatures})
