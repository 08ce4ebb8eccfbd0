"""The site's own name and description, translated for the English edition like any paragraph.

Without ``translation.title`` (or ``translation.description``) in site.yml, the Arabic ones are
units of one more memory file, ``<memory_dir>/site.yml.<target>.yml``: asked of the service
once, kept, shown to editors by ``build.py translations`` (status, export, import, review), and
read by every build. The English words then stand in the configuration as if site.yml gave
them, so every page, feed and search page of the English edition uses them, and the build's
fingerprint (which includes the configuration) remakes the site when an editor corrects them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..config import SiteConfig
from ..core.diagnostics import Problem
from .companions import TranslationReport, Unit, read_memory, translate_missing
from .memory import entry_key

# The source name of the site's memory: never a content file's (those end in .txt or .md).
SITE_SOURCE = "site.yml"
TITLE, DESCRIPTION = "title", "description"


def site_units(config: SiteConfig) -> list[Unit]:
    """The site's words the English edition lacks: its name, and its description if it has one."""
    translation = config.translation
    if not translation.enabled:
        return []
    wanted = [] if translation.title else [(TITLE, config.title)]
    if config.description and not translation.description:
        wanted.append((DESCRIPTION, config.description))
    return [Unit(entry_key(text, config.language, translation.target), text, at, SITE_SOURCE) for at, text in wanted]


def with_site_words(config: SiteConfig, translator_factory: Callable[[], object] | None, online: bool) -> tuple[SiteConfig, list[Problem]]:
    """The configuration with the English name and description the memory holds (asking the
    service for them first when this run may); unchanged when it holds none."""
    units = site_units(config)
    if not units:
        return config, []
    known, problems = memory_words(config, SITE_SOURCE, units, translator_factory, online)
    words = {u.at: known[u.key] for u in units if u.key in known}
    if not words:
        return config, problems
    translation = replace(config.translation, title=words.get(TITLE, config.translation.title), description=words.get(DESCRIPTION, config.translation.description))
    return replace(config, translation=translation), problems


def memory_words(config: SiteConfig, source: str, units: list[Unit], translator_factory: Callable[[], object] | None, online: bool) -> tuple[dict[str, str], list[Problem]]:
    """Key -> translation of the units ``source``'s memory holds, after asking the service for
    the missing ones when this run may. An unreadable memory is reported and never written:
    then nothing is known, and the Arabic words stand."""
    memory, problems = read_memory(config, source)
    if memory is None:
        return {}, problems
    known = memory.lookup()
    if online and translator_factory is not None and any(u.key not in known for u in units):
        problems += translate_missing({source: [u for u in units if u.key not in known]}, config, translator_factory, TranslationReport())
        memory, _ = read_memory(config, source)
        known = memory.lookup() if memory is not None else {}
    return {u.key: known[u.key].translation for u in units if u.key in known}, problems
