"""The build, top to bottom.

    config → find sources → which changed (cache) → each changed file becomes
    its pages (in parallel) → translate what is missing → lists of the whole
    site (indexes, search, feeds, sitemap) → zip → swap the new site in.

Only the edges read sources, call a translation service or write files. Every
problem of a run is collected and reported together; the new site replaces
the old one only when there is no error (and, with --strict, no warning).
Incremental builds must give the same bytes as a full build: anything whose
inputs are unchanged is reused, everything else is made again.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import stat
import subprocess
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ..config import SiteConfig, config_fingerprint
from ..content.metadata import slug_collision_key
from ..content.sources import discover_sources, git_commit_dates
from ..core import urls
from ..core.diagnostics import Problem, Severity, error, has_errors, warning
from ..core.languages import direction, language_folder
from ..outputs.archive import (
    ArchiveTooLarge,
    StoredMember,
    remove_packs,
    write_site_zip,
)
from ..outputs.feeds import atom_feed, feed_entries, robots_txt, sitemap, sitemap_urls
from ..outputs.search import (
    IndexedDocument,
    bucket_count,
    bucket_of,
    build_bucket,
    build_search_root,
)
from ..pages.planner import Article, Listing, Page, SitePlanner, order_articles
from ..pages.theme import Theme, load_theme
from ..translation.companions import (
    ProgressCallback,
    TranslationReport,
    Unit,
    translate_missing,
)
from ..translation.memory import memory_path, read_memory_bytes
from .cache import (
    BuildCache,
    CacheDamaged,
    allow_list,
    hash_bytes,
    load_value,
    stat_signature,
    tool_version,
)
from .files import (
    BuildContext,
    FileOutcome,
    FileTask,
    SlugClaim,
    finish_packs,
    flush_packs,
    init_worker,
    process_batch,
    process_file,
    replace_file,
)
from .staging import (
    MARKER,
    StagingCopy,
    check_output_dir,
    discard_staging,
    output_lock,
    publish_staging,
    read_build_id,
    remove_leftovers,
    remove_path,
)

# Everything the cache holds is made of these (and of dates, numbers, text and containers).
CACHE_TYPES = allow_list((FileOutcome, SlugClaim, Listing, Unit, Problem, Severity, StoredMember, IndexedDocument))

# Below this many changed files, worker processes cost more than they save.
PARALLEL_THRESHOLD = 48
BATCH = 24


@dataclass(frozen=True)
class BuildOptions:
    offline: bool = False
    strict: bool = False
    drafts: bool = False
    # Tests pass a fake; None means the real translator from site.yml and the environment.
    translator_factory: Callable[[], object] | None = None
    progress: ProgressCallback | None = None
    workers: int | None = None  # None: one per core


@dataclass
class BuildResult:
    problems: list[Problem] = field(default_factory=list)
    pages: int = 0
    segments: int = 0
    written: bool = False
    unchanged: bool = False  # nothing to do: the live site is already this build
    rebuilt_files: int = 0
    notes: list[str] = field(default_factory=list)
    report: TranslationReport | None = None

    @property
    def failed(self) -> bool:
        return has_errors(self.problems)


def build_site(config: SiteConfig, options: BuildOptions) -> BuildResult:
    check_output_dir(config.output_dir, config.root, config.content_dir, config.config_path)
    theme = load_theme(config.root, config.theme)
    fingerprint = hash_bytes(tool_version(), config_fingerprint(config), theme.fingerprint, str(options.drafts))
    with output_lock(config.output_dir):
        remove_leftovers(config.output_dir)
        # One cache per output folder: a preview (serve) and the real site must not invalidate each other.
        cache_path = config.cache_dir / f"build-{hash_bytes(str(config.output_dir))[:12]}.sqlite"
        cache = BuildCache.open(cache_path, CACHE_TYPES)
        try:
            try:
                return _build(config, options, theme, fingerprint, cache)
            except CacheDamaged:
                # Damaged, or planted: nothing of it is used. The build starts again without it.
                cache.close()
                BuildCache.delete(cache_path)
                cache = BuildCache.open(cache_path, CACHE_TYPES)
                return _build(config, options, theme, fingerprint, cache)
        finally:
            cache.close()


def _build(config: SiteConfig, options: BuildOptions, theme: Theme, fingerprint: str, cache: BuildCache) -> BuildResult:
    result = BuildResult()
    online = config.translation.enabled and not options.offline
    paths, problems = discover_sources(config.content_dir)
    result.problems += problems
    sources = {path.relative_to(config.content_dir).as_posix(): path for path in paths}

    trusted = cache.get("fingerprint") == fingerprint and cache.get("build_id") is not None and cache.get("build_id") == read_build_id(config.output_dir)
    git_head = _git_head(config.content_dir) if sources else None
    git_dates = cache.get("git_dates", {}) if trusted and cache.get("git_head") == git_head else (git_commit_dates(config.content_dir) if sources else {})

    # -- which files changed ----------------------------------------------
    cached = cache.signatures() if trusted else {}
    signatures = {rel: _signature(config, rel, path, git_dates.get(rel)) for rel, path in sources.items()}
    needs_work = cache.get("needs_translation", set()) if online and trusted else set()
    changed = [rel for rel in sources if rel not in cached or cached[rel][0] != signatures[rel] or rel in needs_work]
    removed = [rel for rel in cached if rel not in sources]
    if trusted and not changed and not removed and _folders_unchanged(config.output_dir, cache.get("folders", {})):
        # Nothing to do: the live site is this build. Its warnings still stand, so say them again.
        result.unchanged = True
        result.problems += cache.get("problems", ())
        result.segments, result.pages = cache.get("counts", (0, 0))
        if config.translation.enabled:
            result.report = TranslationReport(cached=cache.get("cached_units", 0), without_companion=list(cache.get("without_companion", ())))
        return result

    # Something will be built: link the live site into staging (cp -al) while the cache is read.
    staging_copy = StagingCopy(config.output_dir, link_previous=trusted)
    try:
        keys = {rel: _key(config, rel, sources[rel], git_dates.get(rel)) for rel in changed}
        if trusted:
            # Touched but identical (a checkout, an editor saving twice): same key, nothing to redo.
            changed = [rel for rel in changed if cached.get(rel, (None, None))[1] != keys[rel] or rel in needs_work]
        previous_records: dict[str, FileOutcome] = cache.records() if trusted else {}
        previous_manifest: dict[str, str] = cache.get("manifest", {}) if trusted else {}
        staging = staging_copy.ready()
        if staging_copy.planted:
            # Links or special files the build never makes: the copy of the live site cannot be
            # trusted to hold this build's unchanged pages. Build the whole site afresh.
            result.problems.append(warning(config.output_dir, None, f"{staging_copy.planted} symbolic link(s) or special file(s) that build.py never makes were found in the output folder: removed (never followed), and the whole site is built again"))
            staging_copy.abandon()
            staging_copy = StagingCopy(config.output_dir, link_previous=False)
            staging = staging_copy.ready()
            trusted, changed, removed, previous_records, previous_manifest = False, list(sources), [], {}, {}
            keys = {rel: _key(config, rel, sources[rel], git_dates.get(rel)) for rel in changed}
    except BaseException:
        staging_copy.abandon()
        raise
    discovery_problems = list(result.problems)
    try:
        with cache.transaction():
            build_id = _make_site(
                config, options, theme, cache, result, staging, sources, git_dates, trusted, online,
                changed, removed, keys, signatures, previous_records, previous_manifest, fingerprint, git_head, discovery_problems,
            )
    except BaseException:
        discard_staging(staging)
        raise
    if build_id is None:
        discard_staging(staging)
    return result


def _make_site(
    config, options, theme, cache, result, staging, sources, git_dates, trusted, online,
    changed, removed, keys, signatures, previous_records, previous_manifest, fingerprint, git_head, discovery_problems,
) -> str | None:
    """Make the new site in staging and swap it in; returns its build id, or None when it must not be published."""
    if not trusted:
        cache.clear()  # every file is processed again and recorded anew
    pack_dir = None
    if config.offline_archive:
        pack_dir = config.output_dir.parent / f".{config.output_dir.name}.packs-{os.getpid()}"
        remove_path(pack_dir)  # a leftover, or a planted link: never written through
        pack_dir.mkdir()
    try:
        return _make_site_with_packs(
            config, options, theme, cache, result, staging, sources, git_dates, trusted, online,
            changed, removed, keys, signatures, previous_records, previous_manifest, fingerprint, git_head, discovery_problems, pack_dir,
        )
    finally:
        finish_packs()
        if pack_dir is not None:
            remove_packs(pack_dir)


def _make_site_with_packs(
    config, options, theme, cache, result, staging, sources, git_dates, trusted, online,
    changed, removed, keys, signatures, previous_records, previous_manifest, fingerprint, git_head, discovery_problems, pack_dir,
) -> str | None:
    context = BuildContext(config, theme, staging, options.offline, options.drafts, pack_dir)
    tasks = [FileTask(rel, sources[rel], git_dates.get(rel), previous_records[rel].pages if rel in previous_records else {}) for rel in changed]
    outcomes = _process(tasks, context, options.workers)

    report = TranslationReport() if config.translation.enabled else None
    if online and options.translator_factory is not None:
        records_so_far = {**{r: o for r, o in previous_records.items() if r in sources}, **outcomes}
        missing = {rel: o.missing for rel, o in records_so_far.items() if o.missing}
        if missing:
            result.problems += translate_missing(missing, config, options.translator_factory, report, options.progress)
            # Their memories changed: make their pages again.
            again = [FileTask(rel, sources[rel], git_dates.get(rel), records_so_far[rel].pages) for rel in missing]
            for rel, outcome in _process(again, context, options.workers).items():
                # Keep what the first pass said (e.g. a reviewed translation going stale) besides the new findings.
                first = outcomes.get(rel)
                earlier = tuple(p for p in first.problems if p not in outcome.problems) if first else ()
                outcomes[rel] = replace(outcome, problems=earlier + outcome.problems)
            changed = sorted(set(changed) | set(missing))
            keys |= {rel: _key(config, rel, sources[rel], git_dates.get(rel)) for rel in missing}
            signatures |= {rel: _signature(config, rel, sources[rel], git_dates.get(rel)) for rel in missing}

    records = {rel: outcomes[rel] if rel in outcomes else previous_records[rel] for rel in sources if rel in outcomes or rel in previous_records}
    ordered = [records[rel] for rel in sorted(records)]
    for record in ordered:
        result.problems += record.problems
    result.problems += find_path_collisions(ordered)
    if report is not None:
        # Pages made after translating count this run's new translations as found in the memory.
        report.cached = max(0, sum(r.cached_units for r in ordered) - report.translated)
        report.without_companion = [w for r in ordered for w in r.without_companion]
    result.report = report
    listings = [listing for r in ordered for listing in r.listings]
    result.segments = len(listings)
    if has_errors(result.problems) or (options.strict and result.problems):
        return None

    # -- the lists of the whole site ---------------------------------------
    manifest: dict[str, str] = {path: digest for r in ordered for path, digest in r.pages.items()}
    articles = order_articles(listings)
    planner = SitePlanner(config)
    previous_keys: dict[str, str] = cache.get("page_keys", {}) if trusted else {}
    page_keys: dict[str, str] = {}
    # (path, key, how to make it): a page whose key is unchanged is neither planned nor rendered.
    site_pages: list[tuple[str, str, Callable[[], Page]]] = []
    index_paths: list[str] = []
    languages = [False, True] if config.translation.enabled else [False]
    for english in languages:
        folder = language_folder(config.translation.target) if english else ""
        for number, total, chunk in planner.index_chunks(articles, english):
            # The page's whole input: its entries and its place among the pages.
            key = hash_bytes(_value_bytes(chunk), f"{number}/{total}/{english}")
            path = urls.index_page(number, folder)
            index_paths.append(path)
            site_pages.append((path, key, lambda n=number, t=total, c=chunk, e=english: planner.index_page(n, t, c, e)))
    site_pages.append((urls.NOT_FOUND, hash_bytes("404"), planner.not_found_page))
    if config.search:
        site_pages.append((urls.SEARCH, hash_bytes("search"), planner.search_page))
    result.problems += find_site_page_collisions(ordered, {path: _site_page_name(path, config) for path, _, _ in site_pages})
    if has_errors(result.problems):
        return None
    to_render: list[tuple[str, Callable[[], Page]]] = []
    for path, key, make in site_pages:
        page_keys[path] = key
        if previous_keys.get(path) == key and path in previous_manifest:
            manifest[path] = previous_manifest[path]  # same inputs: the page in staging stands
        else:
            to_render.append((path, make))
    result.pages = sum(len(r.pages) for r in ordered) + len(site_pages)

    # Index pages and search buckets are the work left once every file is done: share the cores.
    with _tail_pool(theme, config, to_render, len(changed), options.workers) as pool:
        rendered = _render_site_pages(theme, config, to_render, pool)
        extra, result.notes = _site_files(config, theme, articles, listings, index_paths)
        for path, data in extra.items():
            manifest[path] = _write(staging, path, data, previous_manifest)
        if config.search:
            for path, digest in _search_files(cache, staging, records, changed + removed, previous_records, trusted, previous_manifest, pool, config.language).items():
                manifest[path] = digest
        for path, data in rendered():
            manifest[path] = _write(staging, path, data, previous_manifest)

    _remove_strays(staging, set(manifest) | {urls.ARCHIVE})
    zip_layout: dict[str, StoredMember] = {}
    zip_size: int | None = None
    if config.offline_archive:
        names = sorted(manifest)
        flush_packs()  # pages compressed in this process, for a small build without workers
        stored = _previous_zip_members(config, cache, previous_manifest, manifest) if trusted else {}
        for record in outcomes.values():
            stored |= record.zip_members
        target = staging / urls.ARCHIVE
        target.unlink(missing_ok=True)  # a hard link to the live zip: never write through it
        try:
            zip_layout = write_site_zip(target, staging, names, stored, threads=os.cpu_count() or 1, final_path=config.output_dir / urls.ARCHIVE)
            zip_size = target.stat().st_size
            manifest[urls.ARCHIVE] = hash_bytes(str(zip_size), *(f"{n}={manifest[n]}" for n in names))
        except ArchiveTooLarge as exc:
            target.unlink(missing_ok=True)
            result.problems.append(warning(config.config_path, None, str(exc)))
    else:
        _remove(staging / urls.ARCHIVE)

    build_id = hash_bytes(*(f"{p}={d}" for p, d in sorted(manifest.items())))
    publish_staging(staging, config.output_dir, build_id)
    result.written = True
    result.rebuilt_files = len(changed)
    # Search documents live in their own table and pack files die with the build: keep records small.
    slim = {rel: replace(outcomes[rel], search_documents=(), zip_members={}) for rel in changed if rel in outcomes}
    cache.replace_files({rel: (signatures[rel], keys[rel], slim[rel]) for rel in slim}, removed)
    cache.put_many(
        {
            "fingerprint": fingerprint,
            "build_id": build_id,
            "git_head": git_head,
            "git_dates": git_dates,
            "manifest": manifest,
            "page_keys": page_keys,
            "problems": tuple(p for p in result.problems if p not in discovery_problems),
            "counts": (result.segments, result.pages),
            "cached_units": report.cached + report.translated if report else 0,
            "without_companion": tuple(report.without_companion) if report else (),
            "needs_translation": {rel for rel, r in records.items() if r.missing},
            "folders": _folder_times(config.output_dir, manifest),
            "zip_layout": (zip_layout, manifest.get(urls.ARCHIVE), zip_size),
        }
    )
    return build_id


def _process(tasks: list[FileTask], context: BuildContext, workers: int | None) -> dict[str, FileOutcome]:
    """Each file on its own: in worker processes when there are many."""
    if not tasks:
        return {}
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(tasks) < PARALLEL_THRESHOLD:
        return {task.rel: process_file(task, context) for task in tasks}
    batches = [tasks[i : i + BATCH] for i in range(0, len(tasks), BATCH)]
    # fork: workers inherit the loaded modules and the context instead of re-importing them.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"), initializer=init_worker, initargs=(context,)) as pool:
        return {outcome.rel: outcome for batch in pool.map(process_batch, batches) for outcome in batch}


def find_path_collisions(records: list[FileOutcome]) -> list[Problem]:
    """Two segments claiming one output file (even differing only in case) is an error naming both."""
    seen: dict[str, Any] = {}
    problems = []
    for record in records:
        for claim in record.slugs:
            key = slug_collision_key(claim.slug)
            other = seen.setdefault(key, claim)
            if other is not claim:
                problems.append(
                    error(claim.path, claim.line, f"slug '{claim.slug}' is already used by {other.where}: give one of them another 'slug' in its front matter")
                )
    return problems


def find_site_page_collisions(records: list[FileOutcome], site_pages: dict[str, str]) -> list[Problem]:
    """A segment's page claiming the file of a page of the whole site (slug 'index' makes
    en/index.html, the English index) is an error naming both: one would overwrite the other."""
    taken = {slug_collision_key(path): name for path, name in site_pages.items()}
    problems = []
    for record in records:
        claims = {slug_collision_key(claim.slug): claim for claim in record.slugs}
        for path in record.pages:
            name = taken.get(slug_collision_key(path))
            if name is not None:
                claim = claims[slug_collision_key(path.rpartition("/")[2].removesuffix(".html"))]
                problems.append(error(claim.path, claim.line, f"output file {path} of slug '{claim.slug}' is also {name}: give this segment another 'slug' in its front matter"))
    return problems


def _site_page_name(path: str, config: SiteConfig) -> str:
    """How messages name a page of the whole site."""
    folder, _, name = path.rpartition("/")
    if name == urls.INDEX or name.startswith("page-"):
        number = 1 if name == urls.INDEX else int(name[5:-5])
        english = " English" if folder else ""
        return f"the{english} index page" + (f" {number}" if number > 1 else "")
    return {urls.NOT_FOUND: "the 404 page", urls.SEARCH: "the search page"}.get(path, path)


def _value_bytes(value: object) -> bytes:
    """Bytes that depend only on the value (not on which objects share it): pickle without
    its memo. A third of the cost of repr() for thousands of listings."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True  # no memo: equal values give equal bytes whatever their identity
    pickler.dump(value)
    return buffer.getvalue()


# What forked tail workers render: set before the pool starts, read by _render_batch.
_tail_work: tuple[Theme, SiteConfig, list[tuple[str, Callable[[], Page]]]] | None = None
TAIL_BATCH = 16


@contextmanager
def _tail_pool(theme: Theme, config: SiteConfig, to_render: list[tuple[str, Callable[[], Page]]], changed_files: int, workers: int | None):
    """A pool of forked workers when the end of the build is big (many index pages to
    render, or many files changed and so many search buckets); None when it is small."""
    global _tail_work
    workers = workers or os.cpu_count() or 1
    if workers < 2 or (len(to_render) < 2 * TAIL_BATCH and changed_files < PARALLEL_THRESHOLD):
        yield None
        return
    _tail_work = (theme, config, to_render)  # inherited by the workers through fork: lambdas need no pickling
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            yield pool
    finally:
        _tail_work = None


def _render_batch(indexes: list[int]) -> list[tuple[str, bytes]]:
    assert _tail_work is not None, "_tail_pool did not set the work"
    theme, config, to_render = _tail_work
    return [(to_render[i][0], _render(theme, config, to_render[i][1]())) for i in indexes]


def _render_site_pages(theme: Theme, config: SiteConfig, to_render: list[tuple[str, Callable[[], Page]]], pool: ProcessPoolExecutor | None):
    """Start rendering; returns a function that yields (path, bytes) once they are ready."""
    if pool is None:
        return lambda: ((path, _render(theme, config, make())) for path, make in to_render)
    batches = [list(range(i, min(i + TAIL_BATCH, len(to_render)))) for i in range(0, len(to_render), TAIL_BATCH)]
    futures = [pool.submit(_render_batch, batch) for batch in batches]
    return lambda: (item for future in futures for item in future.result())


def _render(theme: Theme, config: SiteConfig, page: Page) -> bytes:
    shared = {"css": theme.css, "search_js": theme.search_js, "service_worker": config.service_worker, "archive": None}
    return theme.render(page.template, shared | page.context).encode("utf-8")


def _write(staging: Path, path: str, data: bytes, previous_manifest: dict[str, str]) -> str:
    digest = hash_bytes(data)
    if previous_manifest.get(path) != digest or not (staging / path).exists():
        replace_file(staging / path, data)
    return digest


def _folder_times(output_dir: Path, manifest: dict[str, str]) -> dict[str, int]:
    """mtime of every folder of the live site: adding or removing a file changes its folder's."""
    names = {path.rpartition("/")[0] for path in manifest}
    folders = {str(output_dir / name) if name else str(output_dir) for name in names} | {str(output_dir)}
    return {folder: os.stat(folder).st_mtime_ns for folder in folders}


def _previous_zip_members(config: SiteConfig, cache: BuildCache, previous_manifest: dict[str, str], manifest: dict[str, str]) -> dict[str, StoredMember]:
    """Members of the live site.zip whose file is unchanged: copied, not compressed again."""
    layout, zip_hash, zip_size = cache.get("zip_layout", ({}, None, None))
    live = config.output_dir / urls.ARCHIVE
    if not layout or zip_hash is None or previous_manifest.get(urls.ARCHIVE) != zip_hash:
        return {}
    try:
        info = live.lstat()
    except OSError:
        return {}
    if not stat.S_ISREG(info.st_mode) or info.st_size != zip_size:
        return {}  # replaced or damaged since: compress again
    if next(iter(layout.values())).file != str(live):
        return {}  # recorded for another place (the output folder moved): compress again
    return {n: m for n, m in layout.items() if n in manifest and previous_manifest.get(n) == manifest[n]}


def _folders_unchanged(output_dir: Path, recorded: dict[str, int]) -> bool:
    if not recorded:
        return False
    try:
        return all(os.stat(folder).st_mtime_ns == mtime for folder, mtime in recorded.items())
    except OSError:
        return False


def _remove_strays(staging: Path, keep: set[str]) -> None:
    """Whatever the new site does not contain goes: pages of removed sources, and files
    someone dropped into the output folder. An incremental build equals a full one."""
    for folder, dirnames, filenames in os.walk(staging):
        relative = os.path.relpath(folder, staging)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in filenames:
            if prefix + name not in keep and prefix + name != MARKER:
                os.unlink(os.path.join(folder, name))
    for folder, dirnames, filenames in os.walk(staging, topdown=False):
        if folder != str(staging) and not os.listdir(folder):
            os.rmdir(folder)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _signature(config: SiteConfig, rel: str, path: Path, git_date) -> tuple:
    memory = stat_signature(memory_path(config.memory_dir, rel, config.translation.target)) if config.translation.enabled else None
    return (stat_signature(path), memory, git_date)


def _key(config: SiteConfig, rel: str, path: Path, git_date) -> str:
    """What the file's pages are made of: its bytes, its memory's bytes and its git date."""
    memory = None
    if config.translation.enabled:
        # Read with the memory's own guards: a named pipe or a link to /dev/zero must not hang here.
        data, problem = read_memory_bytes(memory_path(config.memory_dir, rel, config.translation.target), config.memory_dir)
        memory = data if problem is None else f"unreadable: {problem.message}"
    return hash_bytes(_read_or_none(path), memory, str(git_date))


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _git_head(content_dir: Path) -> str | None:
    try:
        return subprocess.run(["git", "-C", str(content_dir), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _site_files(config: SiteConfig, theme: Theme, articles: list[Article], listings: list[Listing], index_paths: list[str]) -> tuple[dict[str, bytes], list[str]]:
    """Files besides pages and search: feeds, sitemap, service worker. Cheap: remade every build."""
    files: dict[str, bytes] = {".nojekyll": b""}
    notes: list[str] = []
    target = config.translation.target
    if config.service_worker and theme.service_worker_js:
        files["sw.js"] = theme.service_worker_js.encode("utf-8")
        files["manifest.webmanifest"] = web_manifest(config)
        files["icon.svg"] = ICON_SVG
    if not config.base_url:
        notes.append("no base_url in site.yml: feeds, sitemap.xml, robots.txt and canonical links are skipped (set base_url to make them)")
        return files, notes
    files[urls.feed(config.language)] = atom_feed(config, config.language, urls.feed(config.language), config.title, feed_entries(articles, config, english=False))
    if config.translation.enabled:
        files[urls.feed(target)] = atom_feed(config, target, urls.feed(target), f"{config.title} (English)", feed_entries(articles, config, english=True))
    files["sitemap.xml"] = sitemap(config, sitemap_urls(config, listings, index_paths))
    files["robots.txt"] = robots_txt(config)
    return files, notes


def _search_files(
    cache: BuildCache,
    staging: Path,
    records: dict[str, FileOutcome],
    touched: list[str],
    previous_records: dict[str, FileOutcome],
    trusted: bool,
    previous_manifest: dict[str, str],
    pool: ProcessPoolExecutor | None,
    language: str,
) -> dict[str, str]:
    """Search buckets: only those holding a changed document are made again."""
    # One document per segment; cached records no longer carry theirs (they live in the cache's table).
    total = sum(len(r.listings) for r in records.values())
    buckets = bucket_count(total)
    new_docs = [(url, rel, bucket_of(url, buckets), doc) for rel in touched if rel in records for url, doc in records[rel].search_documents]
    cache.replace_search(touched, new_docs)  # read back below, committed with the rest of the cache
    same_layout = trusted and cache.get("search_buckets") == buckets
    if same_layout:
        # A document's bucket follows from its Arabic URL, known from the listings of old and new records.
        dirty = {
            bucket_of(urls.segment_page(listing.slug, language), buckets)
            for rel in touched
            for record in (records.get(rel), previous_records.get(rel))
            if record
            for listing in record.listings
        }
    else:
        cache.rebucket(buckets, bucket_of)
        dirty = set(range(buckets))
    cache.put_many({"search_buckets": buckets})
    digests: dict[str, str] = {}
    files: dict[str, bytes] = dict(build_search_root(buckets, total))
    jobs = [(bucket, buckets, cache.search_documents(bucket)) for bucket in sorted(dirty)]
    if pool is not None and len(jobs) > 2:
        for produced in pool.map(_bucket_job, jobs):
            files |= produced
    else:
        for job in jobs:
            files |= _bucket_job(job)
    for path, data in files.items():
        digests[path] = _write(staging, path, data, previous_manifest)
    for path, digest in previous_manifest.items():
        # Files of clean buckets stand as they were.
        if path.startswith("search/") and path not in digests and _bucket_of_path(path) not in dirty and _bucket_of_path(path) is not None and _bucket_of_path(path) < buckets:
            digests[path] = digest
    return digests


def _bucket_job(job: tuple[int, int, list[bytes]]) -> dict[str, bytes]:
    bucket, buckets, packed = job
    return build_bucket(bucket, buckets, [load_value(doc, CACHE_TYPES) for doc in packed])


def _bucket_of_path(path: str) -> int | None:
    """'search/b12/t003.js' -> 12."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[1].startswith("b") and parts[1][1:].isdigit():
        return int(parts[1][1:])
    return None


ICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" rx="96" fill="#0b5b8a"/>'
    b'<text x="256" y="340" font-size="280" text-anchor="middle" fill="#fdfcf8" font-family="serif">\xd8\xa3</text></svg>\n'
)


def web_manifest(config: SiteConfig) -> bytes:
    manifest = {
        "name": config.title,
        "short_name": config.title[:12],
        "lang": config.language,
        "dir": direction(config.language),
        "start_url": "index.html",
        "scope": "./",
        "display": "standalone",
        "background_color": "#fdfcf8",
        "theme_color": "#0b5b8a",
        "icons": [{"src": "icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
