"""TMX 1.4b through translate-toolkit: the reviewed pairs, as a reference memory for other tools.

Only work a person reviewed goes out (stale pairs too: their Arabic is gone from the site
but the pair is still a good reference). Each ``<tu tuid="KEY">`` carries its source file
and place as ``<prop>``s; read back, a TMX made elsewhere (no such prop) applies to every
file whose text holds that Arabic.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from translate.misc.xml_helpers import getXMLlang
from translate.storage import tmx

from ..config import SiteConfig
from ..core.diagnostics import Problem, error
from .exchange import KEY_PATTERN, ExchangeUnit, refuse_entities, same_language
from .memory import MemoryEntry, entry_key
from .worklist import FileWork

FILE_PROP, PLACE_PROP = "x-sitegen-file", "x-sitegen-place"


def write_tmx(works: list[FileWork], only: str, config: SiteConfig) -> bytes:
    """``only`` is ignored: a reference memory holds every reviewed pair."""
    store = tmx.tmxfile(sourcelanguage=config.language, targetlanguage=config.translation.target)
    store.addheader()
    for work in works:
        for unit in work.units:
            if unit.entry is not None and unit.entry.reviewed:
                _add_pair(store, work.source_file, unit.entry, config, stale=False)
        for entry in work.stale:
            _add_pair(store, work.source_file, entry, config, stale=True)
    return bytes(store)


def _add_pair(store: tmx.tmxfile, source_file: str, entry: MemoryEntry, config: SiteConfig, *, stale: bool) -> None:
    node = store.addsourceunit(entry.source, config.language)
    node.settarget(entry.translation, config.translation.target, append=True)
    node.xmlelement.set("tuid", entry.key)
    node.xmlelement.set("changedate", entry.date.replace("-", "") + "T000000Z")
    node.addnote(f"provider: {entry.provider}; reviewed{'; stale: the Arabic has since changed' if stale else ''}")
    for kind, value in ((FILE_PROP, source_file), (PLACE_PROP, entry.at)):
        prop = etree.Element(node.namespaced("prop"))
        prop.set("type", kind)
        prop.text = value
        node._insert_element_before(prop, node.namespaced(node.languageNode))


def read_tmx(data: bytes, path: Path, config: SiteConfig) -> tuple[list[ExchangeUnit], list[Problem]]:
    refused = refuse_entities(data)
    if refused:
        return [], [error(path, None, refused)]
    try:
        store = tmx.tmxfile.parsestring(data, sourcelanguage=config.language, targetlanguage=config.translation.target)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        return [], [error(path, line, f"not well-formed XML ({exc.msg}): the file is damaged or cut short; export again or save it whole from your tool")]
    except (ValueError, AssertionError, StopIteration) as exc:
        return [], [error(path, None, f"not a TMX file ({exc}): export TMX 1.4 from your tool")]
    units: list[ExchangeUnit] = []
    problems: list[Problem] = []
    for node in store.unit_iter():
        languages = [lang for lang in map(getXMLlang, node.getlanguageNodes()) if lang]
        if not any(same_language(lang, config.language) for lang in languages) or not any(same_language(lang, config.translation.target) for lang in languages):
            problems.append(error(path, node.xmlelement.sourceline, f"translation unit in {', '.join(languages) or 'no language'}, but the site translates {config.language} → {config.translation.target}: this file is for another language pair"))
            continue
        source, target = str(node.source or ""), str(node.target or "")
        tuid = node.xmlelement.get("tuid", "")
        key = tuid if KEY_PATTERN.fullmatch(tuid) else entry_key(source, config.language, config.translation.target)
        props = {p.get("type"): (p.text or "") for p in node.xmlelement.iterchildren(node.namespaced("prop"))}
        # Every pair in a TMX is a translation someone stands by: approved.
        units.append(ExchangeUnit(props.get(FILE_PROP) or None, key, source, target, True, node.xmlelement.sourceline))
    return units, problems
