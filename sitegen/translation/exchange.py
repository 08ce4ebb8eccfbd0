"""What the exchange formats (XLIFF, PO, TMX) share: the unit read back, and what export offers.

An exported unit is identified by its memory key (the hash of its Arabic) and its source
file. Export and import both ask ``offered`` what the file said for a unit, so that import
can tell an editor's change from the text it was given: an exchange file sent back as it
came changes nothing, byte for byte.

Reading and writing the formats is left to translate-toolkit (exchange_xliff.py,
exchange_po.py, exchange_tmx.py): CAT tools are strict about details (namespaces, states,
escaping, PO quoting) that a hand-written writer gets wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.languages import language_folder
from .worklist import REVIEWED, WorkUnit

ONLY_CHOICES = ("unreviewed", "stale", "all")
# Larger than any export of a 10 MB source's memory; anything bigger is not one of ours.
MAX_EXCHANGE_BYTES = 128 * 1024 * 1024
KEY_PATTERN = re.compile(r"[0-9a-f]{16}")
# XLIFF 1.2 states: what the editor is asked to do, and (qualifier) where the text came from.
STATE_MACHINE, STATE_REVIEWED = "needs-review-translation", "final"
QUALIFIER_MACHINE, QUALIFIER_PREVIOUS = "mt-suggestion", "fuzzy-match"
# "translated": a person translated it (Weblate, OmegaT); "signed-off", "final": a person approved it.
APPROVED_STATES = frozenset({"translated", "signed-off", "final"})


@dataclass(frozen=True)
class ExchangeUnit:
    """One unit as read back from an exchange file."""

    source_file: str | None  # None: the file does not say (a TMX made elsewhere)
    key: str
    source: str
    target: str
    approved: bool  # marked final / not fuzzy by the editor
    line: int | None


@dataclass(frozen=True)
class Offer:
    """What an export writes as a unit's translation."""

    target: str  # '' when there is nothing to offer
    approved: bool
    qualifier: str  # '' (reviewed or empty), QUALIFIER_MACHINE or QUALIFIER_PREVIOUS


def offered(unit: WorkUnit) -> Offer:
    """The memory's translation; for a missing unit whose place had a reviewed translation of
    the previous Arabic, that one as a starting point (as msgmerge does): editing the old
    reviewed sentence is quicker than translating anew, and the tool shows what changed."""
    if unit.entry is not None:
        reviewed = unit.entry.reviewed
        return Offer(unit.entry.translation, reviewed, "" if reviewed else QUALIFIER_MACHINE)
    if unit.previous is not None:
        return Offer(unit.previous.translation, False, QUALIFIER_PREVIOUS)
    return Offer("", False, "")


def selected(unit: WorkUnit, only: str) -> bool:
    """Whether ``--only`` takes the unit: ``unreviewed`` is what still needs a person (missing,
    machine output, a place whose reviewed translation went stale); ``stale`` only the last."""
    if only == "all":
        return True
    if only == "stale":
        return unit.previous is not None
    return unit.state != REVIEWED or unit.previous is not None


def entry_notes(unit: WorkUnit) -> list[str]:
    """Provider, date and place, for the translator's eyes (notes are never read back)."""
    notes = [f"place: {unit.source_file} unit {unit.at}"]
    if unit.entry is not None:
        notes.append(f"provider: {unit.entry.provider}; date: {unit.entry.date}; {'reviewed' if unit.entry.reviewed else 'machine output, not reviewed'}")
        if unit.entry.note:
            notes.append(f"note: {unit.entry.note}")
    if unit.previous is not None:
        notes.append(f"the Arabic changed: the reviewed translation of the previous Arabic ({unit.previous.date}) is offered; correct it")
    return notes


def same_language(found: str | None, expected: str) -> bool:
    """``ar`` and ``ar-SY``, ``en`` and ``en_US``: tools write the tag their own way."""
    if not found:
        return True  # not said: nothing to contradict
    return language_folder(found.replace("_", "-")) == language_folder(expected)


def refuse_entities(data: bytes) -> str | None:
    """Entity declarations are how an XML file grows to gigabytes once parsed (a "billion
    laughs"): no CAT tool writes them into XLIFF or TMX, so a file holding one is refused."""
    if b"<!ENTITY" in data or "<!ENTITY".encode("utf-16-le") in data:
        return "the file declares XML entities (<!ENTITY): exchange files never need them; export again"
    return None
