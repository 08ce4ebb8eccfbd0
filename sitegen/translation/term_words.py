"""Tag names, translated for the English edition like any paragraph.

A tag without an English name in site.yml (``taxonomies: {tags: {حمص: Homs}}``) is a unit of one
more memory file, ``<memory_dir>/tags.yml.<target>.yml``: asked of the service once, kept, shown
to editors by ``build.py translations`` (status, export, import, review), and read by every
build. The English names then stand in the configuration the outputs see, as if site.yml gave
them. Only the English edition's lists show them (its index, term and archive pages and term
feeds), so they join those pages' keys rather than the build's fingerprint: a new tag's name
remakes those lists, never the segment pages.

Authors are left out on purpose: a person's name is transliterated, not translated, and
machine translation mangles names; site.yml's ``taxonomies: {authors: …}`` names them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from itertools import chain

from ..config import SiteConfig
from ..content.terms import most_used, names_by_slug, term_slug
from ..core.diagnostics import Problem
from .companions import Unit
from .memory import entry_key
from .site_words import memory_words

# The source name of the tags' memory: never a content file's (those end in .txt or .md).
TAGS_SOURCE = "tags.yml"


def tag_spellings(tag_lists: Iterable[Iterable[str]]) -> dict[str, str]:
    """Each tag's slug -> the spelling the tag pages show it in (``most_used``, counted as
    ``pages.lists.collect_terms`` counts: once per segment).

    A segment's tags name each term once (content/segment.py keeps the first spelling of a
    slug), so counting every spelling of every segment counts each term once per segment:
    counted in C, then each spelling's slug worked out once. Every build asks it of every
    segment's tags; a tag at a time it cost a one-change build 21-25 ms at 10,000 segments
    of two tags, 47-51 ms of five."""
    by_slug: dict[str, dict[str, int]] = {}
    for tag, segments in Counter(chain.from_iterable(tag_lists)).items():
        slug = term_slug(tag)
        if slug:
            by_slug.setdefault(slug, {})[tag] = segments
    return {slug: most_used(found) for slug, found in sorted(by_slug.items())}


def tag_units(config: SiteConfig, spellings: Mapping[str, str]) -> list[Unit]:
    """The tags the English edition has no name for, in the order of their slugs."""
    if not config.translation.enabled:
        return []
    named = names_by_slug(dict(config.taxonomies).get("tags", ()))
    language, target = config.language, config.translation.target
    return [Unit(entry_key(name, language, target), name, f"tag {slug}", TAGS_SOURCE) for slug, name in spellings.items() if term_slug(name) not in named]


def with_tag_names(config: SiteConfig, spellings: Mapping[str, str], translator_factory: Callable[[], object] | None, online: bool) -> tuple[SiteConfig, list[Problem]]:
    """The configuration with the English tag names the memory holds (asking the service for
    the missing ones first when this run may); unchanged when it holds none."""
    units = tag_units(config, spellings)
    if not units:
        return config, []
    known, problems = memory_words(config, TAGS_SOURCE, units, translator_factory, online)
    found = tuple((u.text, known[u.key].strip()) for u in units if known.get(u.key, "").strip())
    if not found:
        return config, problems
    tables = dict(config.taxonomies)
    tables["tags"] = tuple(sorted((*tables.get("tags", ()), *found)))
    return replace(config, taxonomies=tuple(sorted(tables.items()))), problems
