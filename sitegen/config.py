"""The site's configuration: every key, its type and its default, in one place.

``site.yml`` is read once, checked against this schema (unknown keys and wrong
types are errors naming the line), and turned into frozen dataclasses that the
rest of the pipeline receives as arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from .core.diagnostics import Problem, error
from .core.languages import LANGUAGE_CODE, base_language, language_folder, locale_identifier
from .core.yamlfile import YamlDocument, YamlError, key_lines, node_line, parse_yaml

# The translation services deep-translator reaches for us, stated once for site.yml and the translator.
PROVIDERS = ("google", "libre", "mymemory", "deepl", "microsoft", "qcri")
KEYED_PROVIDERS = frozenset({"deepl", "microsoft", "qcri"})
# How dates and numbers are written: the locale's own digits, or these ones whatever the locale.
NUMERALS = ("auto", "arab", "latn")
# The calendars dates are shown in; <time datetime> is always the ISO Gregorian date.
CALENDARS = ("gregorian", "gregorian+hijri")
# What site.zip carries of each photo: its smallest width (pages in the zip show that one),
# every width, or none (pages in the zip show the alt text in its place).
ARCHIVE_IMAGES = ("small", "all", "none")
# An API key lives only in the environment: never in site.yml, never in the memory or the site.
API_KEY_VARIABLE = "TRANSLATOR_API_KEY"


@dataclass(frozen=True)
class TranslationConfig:
    enabled: bool = False
    target: str = "en"
    provider: str = "google"
    url: str | None = None
    timeout: float = 30.0
    # A few requests at once keeps a build quick without tripping rate limits.
    concurrency: int = 4
    retries: int = 4
    # Unreviewed machine output is kept out of search engines unless the publisher opts in.
    noindex_unreviewed: bool = True
    memory_dir: str = "translations"
    # The English edition's own name and description; without them the Arabic ones stand, marked as Arabic.
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class PhotosConfig:
    # The widths each photo is published in (never wider than the original), as WebP and JPEG.
    widths: tuple[int, ...] = (480, 960, 1600)
    # A decompression bomb is a small file that decodes to gigabytes: refused above this size.
    max_megapixels: float = 50.0


@dataclass(frozen=True)
class SiteConfig:
    title: str
    root: Path  # the folder of site.yml; relative paths resolve against it
    config_path: Path
    content_dir: Path
    output_dir: Path
    base_url: str | None = None
    language: str = "ar"  # a BCP 47 tag: ar, ar-SY, ar-MA... (dates follow its region)
    # Digits of dates and numbers: "auto" (the locale's, as CLDR says), "arab" (٠١٢) or "latn" (012).
    numerals: str = "auto"
    # "gregorian+hijri": pages also show the Umm al-Qura Hijri date beside the Gregorian one.
    calendar: str = "gregorian"
    theme: str = "default"
    per_page: int = 50
    author: str | None = None
    description: str | None = None
    search: bool = True
    # The whole site as site.zip, linked from the index: one download for a phone or USB stick.
    offline_archive: bool = True
    # Over https only: pages read once open again without network.
    service_worker: bool = True
    offline_archive_images: str = "small"
    # A section is the first folder under content/; its shown names, by folder: {"ar": ..., "en": ...}.
    # A folder not named here is shown as it is.
    sections: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    # The English edition's names of tags and authors: {"tags": {"حمص": "Homs"}}; others stay as written.
    taxonomies: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    photos: PhotosConfig = field(default_factory=PhotosConfig)
    translation: TranslationConfig = field(default_factory=TranslationConfig)

    @cached_property  # asked once per source file by a build's survey
    def memory_dir(self) -> Path:
        return self.root / self.translation.memory_dir

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache"

    @cached_property  # asked for every page and list entry showing a section (section_name)
    def section_names(self) -> dict[str, dict[str, str]]:
        """``sections`` by folder: each folder's names by language ('*': any)."""
        return {folder: dict(names) for folder, names in self.sections}


# key -> (accepted Python types, human name of the type)
_SITE_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "title": ((str,), "text"),
    "content_dir": ((str,), "a folder path"),
    "output_dir": ((str,), "a folder path"),
    "base_url": ((str, type(None)), "an absolute URL such as https://user.github.io/repo/"),
    "language": ((str,), "a language tag such as ar or ar-SY"),
    "numerals": ((str,), "one of " + ", ".join(NUMERALS)),
    "calendar": ((str,), "one of " + ", ".join(CALENDARS)),
    "theme": ((str,), "a theme name"),
    "per_page": ((int,), "a whole number"),
    "author": ((str, type(None)), "text"),
    "description": ((str, type(None)), "text"),
    "search": ((bool,), "true or false"),
    "offline_archive": ((bool,), "true or false"),
    "service_worker": ((bool,), "true or false"),
    "offline_archive_images": ((str,), "one of " + ", ".join(ARCHIVE_IMAGES)),
    "photos": ((dict,), "a mapping"),
    "sections": ((dict,), "a mapping of section folders to names, such as {homs: {ar: حمص, en: Homs}}"),
    "taxonomies": ((dict,), "English names of tags and authors, such as {tags: {حمص: Homs}, authors: {سلمى: Salma}}"),
    "translation": ((dict,), "a mapping"),
}
_PHOTOS_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "widths": ((list,), "a list of widths in pixels, such as [480, 960, 1600]"),
    "max_megapixels": ((int, float), "a number of megapixels"),
}
_TRANSLATION_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "enabled": ((bool,), "true or false"),
    "target": ((str,), "a language code such as en"),
    "provider": ((str,), "one of " + ", ".join(PROVIDERS)),
    "url": ((str, type(None)), "a URL"),
    "timeout": ((int, float), "a number of seconds"),
    "concurrency": ((int,), "a whole number"),
    "retries": ((int,), "a whole number"),
    "noindex_unreviewed": ((bool,), "true or false"),
    "memory_dir": ((str,), "a folder path"),
    "title": ((str, type(None)), "text (the English name of the site)"),
    "description": ((str, type(None)), "text (the English description of the site)"),
}


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def load_config(config_path: Path, output_override: Path | None = None) -> SiteConfig:
    """Read and check ``site.yml``; raise ConfigError with every problem found."""
    config_path = Path(config_path)
    doc, raw = _read_document(config_path)
    problems: list[Problem] = []
    values = _check_keys(raw, _SITE_KEYS, key_lines(doc.node), config_path, "", problems)
    translation_node = doc.child("translation")
    # A 'translation' that is not a mapping is already reported by the check above;
    # reading it as one crashed (``translation: yes``) or misread text as keys.
    translation_raw = raw.get("translation") if isinstance(raw.get("translation"), dict) else {}
    translation_values = _check_keys(
        translation_raw, _TRANSLATION_KEYS, key_lines(translation_node), config_path, "translation.", problems
    )
    lines = key_lines(doc.node)
    translation_lines = key_lines(translation_node)
    photos_node = doc.child("photos")
    photos_raw = raw.get("photos") if isinstance(raw.get("photos"), dict) else {}
    photos_values = _check_keys(photos_raw, _PHOTOS_KEYS, key_lines(photos_node), config_path, "photos.", problems)
    _check_photos_values(photos_values, key_lines(photos_node), config_path, problems)

    def fail(key: str, message: str, in_translation: bool = False) -> None:
        line = (translation_lines if in_translation else lines).get(key, None)
        problems.append(error(config_path, line, message))

    if "title" not in values:
        problems.append(error(config_path, 1, "missing key 'title': add e.g. 'title: أرشيف الأخبار'"))
    _check_site_values(values, fail)
    _check_translation_values(translation_values, translation_raw, values.get("language", "ar"), fail)

    if problems:
        raise ConfigError(problems)

    root = config_path.resolve().parent
    translation = TranslationConfig(**{k: v for k, v in translation_values.items()})
    if isinstance(translation.timeout, int):
        translation = replace(translation, timeout=float(translation.timeout))
    content_dir = (root / values.pop("content_dir", "content")).resolve()
    output_dir = Path(output_override).resolve() if output_override else (root / values.pop("output_dir", "_site")).resolve()
    values.pop("output_dir", None)
    values.pop("translation", None)
    values.pop("photos", None)
    if "sections" in values:
        values["sections"] = _sections(values["sections"])
    if "taxonomies" in values:
        values["taxonomies"] = tuple(sorted((kind, tuple(sorted((str(k), v.strip()) for k, v in names.items()))) for kind, names in values["taxonomies"].items()))
    photos = PhotosConfig(**({"widths": tuple(photos_values.pop("widths"))} if "widths" in photos_values else {}), **{k: float(v) for k, v in photos_values.items()})
    _check_output_dir(config_path, root, output_dir, output_override, translation, lines, translation_lines)
    return SiteConfig(
        root=root,
        config_path=config_path.resolve(),
        content_dir=content_dir,
        output_dir=output_dir,
        translation=translation,
        photos=photos,
        **values,
    )


def _read_document(config_path: Path) -> tuple[YamlDocument, dict[str, Any]]:
    """The parsed ``site.yml`` and its top-level mapping; ConfigError if it cannot be read as one."""
    if not config_path.is_file():
        raise ConfigError([error(config_path, None, "no such configuration file: create site.yml or pass --config PATH")])
    try:
        text = config_path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError([error(config_path, None, "not UTF-8 text: save the file as UTF-8")]) from None
    try:
        doc = parse_yaml(text)
    except YamlError as exc:
        raise ConfigError([error(config_path, exc.line, exc.message + ": fix the YAML syntax")]) from None
    raw = doc.value if doc.value is not None else {}
    if not isinstance(raw, dict):
        raise ConfigError([error(config_path, node_line(doc.node, 1), "the configuration must be a mapping of keys to values")])
    return doc, raw


def _check_site_values(values: dict[str, Any], fail: Callable[..., None]) -> None:
    """Check the ranges and forms of the top-level values (their types are already right)."""
    if "language" in values:
        problem = _language_problem(values["language"])
        if problem:
            fail("language", problem)
    if "calendar" in values and values["calendar"] not in CALENDARS:
        fail("calendar", f"'calendar' must be gregorian or gregorian+hijri (the Umm al-Qura date beside the Gregorian one), not {values['calendar']!r}")
    if "numerals" in values and values["numerals"] not in NUMERALS:
        fail("numerals", f"'numerals' must be one of {', '.join(NUMERALS)}, not {values['numerals']!r}: auto writes the locale's digits, arab ٠١٢٣, latn 0123")
    if "taxonomies" in values and _taxonomies_problem(values["taxonomies"]):
        fail("taxonomies", _taxonomies_problem(values["taxonomies"]))
        values.pop("taxonomies")
    if "sections" in values and _sections_problem(values["sections"]):
        fail("sections", _sections_problem(values["sections"]))
        values.pop("sections")
    if "offline_archive_images" in values and values["offline_archive_images"] not in ARCHIVE_IMAGES:
        fail("offline_archive_images", f"'offline_archive_images' must be small (each photo's smallest width in site.zip), all or none, not {values['offline_archive_images']!r}")
    if "per_page" in values and not 1 <= values["per_page"] <= 1000:
        fail("per_page", "'per_page' must be between 1 and 1000")
    if values.get("base_url"):
        parts = urlsplit(values["base_url"])
        if parts.scheme not in ("http", "https") or not parts.netloc:
            fail("base_url", "'base_url' must be an absolute http(s) URL such as https://user.github.io/repo/")
        elif not values["base_url"].endswith("/"):
            values["base_url"] += "/"
    if "theme" in values and not re.fullmatch(r"[A-Za-z0-9_-]+", values["theme"]):
        fail("theme", "'theme' must be a plain folder name under themes/ (letters, digits, - and _)")


def _taxonomies_problem(taxonomies: dict[Any, Any]) -> str | None:
    example = "such as 'taxonomies: {tags: {حمص: Homs}, authors: {سلمى: Salma}}'"
    for kind, names in taxonomies.items():
        if kind not in ("tags", "authors"):
            return f"'taxonomies' names tags and authors (sections are named in 'sections'), not {kind!r}: {example}"
        if not isinstance(names, dict) or not all(isinstance(k, (str, int)) and not isinstance(k, bool) and isinstance(v, str) and v.strip() for k, v in names.items()):
            return f"'taxonomies.{kind}' must map each {kind[:-1]} to its English name, {example}"
    return None


def _sections_problem(sections: dict[Any, Any]) -> str | None:
    example = "such as 'sections: {homs: {ar: حمص, en: Homs}}' (or 'homs: حمص' for one name in every language)"
    for folder, names in sections.items():
        if not isinstance(folder, str) or not folder or "/" in folder:
            return f"'sections' keys are folder names under content/ {example}, not {folder!r}"
        if isinstance(names, str) and names.strip():
            continue
        if not isinstance(names, dict) or not names or not all(isinstance(k, str) and LANGUAGE_CODE.fullmatch(k) and isinstance(v, str) and v.strip() for k, v in names.items()):
            return f"section '{folder}' must have a name, or names by language code, {example}"
    return None


def _sections(sections: dict[str, Any]) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Frozen and sorted: {folder: {language: name}}; one name alone is '*', any language."""
    return tuple(sorted((folder, tuple(sorted({"*": names.strip()}.items() if isinstance(names, str) else ((k, v.strip()) for k, v in names.items())))) for folder, names in sections.items()))


_NO_NAMES: dict[str, str] = {}


def section_name(config: SiteConfig, folder: str, language: str) -> str:
    """A section's shown name in ``language`` (a tag: ar-SY reads the ar name), or the folder's own name."""
    # Looked up, not made: the table made into a dict at each call cost every page a pass over
    # every named section (8,000 folders, each named: 21.5 s against 2.7 for 2,000).
    names = config.section_names.get(folder, _NO_NAMES)
    return names.get(language) or names.get(base_language(language)) or names.get("*") or folder


def _check_photos_values(values: dict[str, Any], lines: dict[str, int], path: Path, problems: list[Problem]) -> None:
    widths = values.get("widths")
    if widths is not None:
        if not widths or len(widths) > 8 or any(isinstance(w, bool) or not isinstance(w, int) or not 16 <= w <= 8000 for w in widths):
            problems.append(error(path, lines.get("widths"), "'photos.widths' must list 1 to 8 widths in pixels between 16 and 8000, such as [480, 960, 1600]"))
            values.pop("widths")
        elif list(widths) != sorted(set(widths)):
            problems.append(error(path, lines.get("widths"), f"'photos.widths' must go from the smallest to the largest, each once: write {sorted(set(widths))}"))
            values.pop("widths")
    limit = values.get("max_megapixels")
    if limit is not None and not 0.1 <= limit <= 1000:
        problems.append(error(path, lines.get("max_megapixels"), "'photos.max_megapixels' must be between 0.1 and 1000"))
        values.pop("max_megapixels")


def _language_problem(tag: str) -> str | None:
    """Why ``language`` cannot be used, or None. Dates are written from CLDR's data for the tag:
    a region CLDR does not know for a language it knows (ar-XX) is a mistake; a language CLDR
    has no data for at all (arc, sam) is still a language, and its dates read as in English."""
    if not LANGUAGE_CODE.fullmatch(tag):
        return f"'language' must be a language code (a BCP 47 tag) such as ar or ar-SY, not {tag!r}"
    if "-" not in tag:
        return None  # a bare language: known to CLDR or not, it is accepted (and no-op builds skip Babel's 10 ms)
    from babel import Locale, UnknownLocaleError, localedata

    try:
        Locale.parse(locale_identifier(tag))
    except (UnknownLocaleError, ValueError):
        base = base_language(tag)
        if localedata.exists(base) or localedata.exists(locale_identifier(base)):
            return f"'language' {tag!r} is not a locale CLDR knows: use {base}, or {base} with a region CLDR has, such as {base}-SY, {base}-EG, {base}-MA" if base == "ar" else f"'language' {tag!r} is not a locale CLDR knows: use {base}, or {base} with a region CLDR has"
    return None


def _check_translation_values(
    translation_values: dict[str, Any], translation_raw: dict[str, Any], language: str, fail: Callable[..., None]
) -> None:
    """Check the 'translation' section: ranges, the provider's needs, its target against the site's
    ``language``, and API keys that must not be there."""
    if "provider" in translation_values and translation_values["provider"] not in PROVIDERS:
        fail("provider", f"unknown translation provider {translation_values['provider']!r}: use one of {', '.join(PROVIDERS)}", True)
    if "target" in translation_values and not LANGUAGE_CODE.fullmatch(translation_values["target"]):
        fail("target", "'translation.target' must be a language code such as en", True)
    if "timeout" in translation_values and not 0 < translation_values["timeout"] <= 600:
        fail("timeout", "'translation.timeout' must be a number of seconds between 0 and 600", True)
    if "concurrency" in translation_values and not 1 <= translation_values["concurrency"] <= 32:
        fail("concurrency", "'translation.concurrency' must be between 1 and 32", True)
    if "retries" in translation_values and not 0 <= translation_values["retries"] <= 10:
        fail("retries", "'translation.retries' must be between 0 and 10", True)
    if translation_values.get("provider") == "libre" and translation_values.get("enabled") and not translation_values.get("url"):
        fail("provider", "provider 'libre' needs 'url' (your LibreTranslate server, e.g. http://127.0.0.1:5000/)", True)
    target = translation_values.get("target", TranslationConfig.target)
    if LANGUAGE_CODE.fullmatch(target) and LANGUAGE_CODE.fullmatch(language) and language_folder(target) == language_folder(language):
        # Both languages' pages would share one folder (ar/ for ar and ar-SY): one would overwrite the other.
        fail("target" if "target" in translation_values else "language", "'translation.target' is the site's own language: choose another target", "target" in translation_values)
    for key in ("api_key", "key", "token"):
        if key in translation_raw:
            # Keys in a committed file leak; say where they belong instead.
            fail(key, "API keys never go in site.yml: set the environment variable " + API_KEY_VARIABLE, True)


def _check_output_dir(
    config_path: Path,
    root: Path,
    output_dir: Path,
    output_override: Path | None,
    translation: TranslationConfig,
    lines: dict[str, int],
    translation_lines: dict[str, int],
) -> None:
    """Refuse an output folder that holds the translation memory or is the build cache."""
    # The output folder is replaced whole on every build: a translation memory or the cache
    # inside it was deleted with the previous site (hand-reviewed translations lost for good).
    # (The project folder and above are refused with their own message when the build starts.)
    if output_dir != root and output_dir not in root.parents:
        output_line = None if output_override else lines.get("output_dir")
        output_setting = "--out" if output_override else "'output_dir'"
        memory_dir = (root / translation.memory_dir).resolve()
        if translation.enabled and (memory_dir == output_dir or output_dir in memory_dir.parents):
            line = translation_lines.get("memory_dir", output_line)
            raise ConfigError([error(config_path, line, f"translation memory folder {memory_dir} is {'' if memory_dir == output_dir else 'inside '}the output folder {output_dir}, which every build replaces: "
                                     f"the translations would be deleted; set {output_setting} or 'translation.memory_dir' so that they are apart")])
        if output_dir == (root / ".cache").resolve():
            raise ConfigError([error(config_path, output_line, f"output folder {output_dir} is the build cache's folder: set {output_setting} to a folder of its own, e.g. _site")])


def _check_keys(
    raw: dict[str, Any],
    schema: dict[str, tuple[tuple[type, ...], str]],
    lines: dict[str, int],
    path: Path,
    prefix: str,
    problems: list[Problem],
) -> dict[str, Any]:
    """Keep the keys of ``raw`` that the schema knows and whose type is right; report the others."""
    accepted: dict[str, Any] = {}
    for key, value in raw.items():
        line = lines.get(str(key))
        if key not in schema:
            if prefix and key in ("api_key", "key", "token"):
                continue  # reported with its own, more useful message
            known = ", ".join(sorted(schema))
            problems.append(error(path, line, f"unknown key '{prefix}{key}': remove it or use one of {known}"))
            continue
        types, name = schema[key]
        # bool is an int in Python; a 'per_page: true' is still a mistake.
        if isinstance(value, bool) and bool not in types:
            ok = False
        else:
            ok = isinstance(value, types)
        if not ok:
            problems.append(error(path, line, f"'{prefix}{key}' must be {name}, not {_kind(value)}"))
            continue
        accepted[key] = value
    return accepted


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping"}.get(
        type(value), type(value).__name__
    )


def config_fingerprint(config: SiteConfig) -> str:
    """A stable text of every setting that can change the output, for the incremental cache."""
    # (photos is a frozen dataclass of plain values: its repr is stable.)
    parts = [f"{f.name}={getattr(config, f.name)!r}" for f in fields(config) if f.name not in ("translation",)]
    parts += [f"translation.{f.name}={getattr(config.translation, f.name)!r}" for f in fields(config.translation)]
    return "\n".join(parts)

