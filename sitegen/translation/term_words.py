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

from ..config import SiteConfig
from ..content.terms import most_used, named_term, term_slug
from ..core.diagnostics import Problem
from .companions import Unit
from .memory import entry_key
from .site_words import memory_words

# The source name of the tags' memory: never a content file's (those end in .txt or .md).
TAGS_SOURCE = "tags.yml"


def tag_spellings(tag_lists: Iterable[Iterable[str]]) -> dict[str, str]:
    """Each tag's slug -> the spelling the tag pages show it in (``most_used``, counted as
    ``pages.lists.collect_terms`` counts: once per segment)."""
    counts: dict[str, Counter] = {}
    for tags in tag_lists:
        seen = set()
        for tag in tags:
            slug = term_slug(tag)
            if slug and slug not in seen:
                seen.add(slug)
                counts.setdefault(slug, Counter())[tag] += 1
    return {slug: most_used(found) for slug, found in sorted(counts.items())}


def tag_units(config: SiteConfig, spellings: Mapping[str, str]) -> list[Unit]:
    """The tags the English edition has no name for, in the order of their slugs."""
    if not config.translation.enabled:
        return []
    named = dict(config.taxonomies).get("tags", ())
    language, target = config.language, config.translation.target
    return [Unit(entry_key(name, language, target), name, f"tag {slug}", TAGS_SOURCE) for slug, name in spellings.items() if named_term(named, name) is None]


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
