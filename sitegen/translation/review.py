"""``translations review``: one self-contained HTML file listing what an editor has to look at.

Not part of the site: a local report, opened from disk (no server, no network, no script).
Each unit to review shows its Arabic right-to-left beside its English left-to-right; for a
place whose reviewed translation went stale, the old and the new Arabic are compared word by
word, with the reviewed English of the old text beside the new machine output.

Every text is escaped, and invisible or bidi control characters are shown as ``\\uXXXX``
(a U+202E in a translation would otherwise reverse the line the editor reads); a
Content-Security-Policy forbids scripts and loads, in case anything slipped through.
"""

from __future__ import annotations

import difflib
import html
from datetime import date

from ..core.textrules import visible
from .worklist import MACHINE, MISSING, REVIEWED, FileWork, WorkUnit, totals

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; margin: 1.5rem; color: #111; background: #fff; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
table.summary td, table.summary th { padding: .2rem .8rem; text-align: end; }
.unit { border: 1px solid #ddd; border-radius: 6px; margin: 1rem 0; padding: .6rem .8rem; }
.meta { font-size: .85rem; color: #555; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.pair > div { unicode-bidi: isolate; }
[dir=rtl] { font-size: 1.1rem; text-align: right; }
del { background: #fdd; text-decoration: line-through; } ins { background: #dfd; text-decoration: none; }
.state-missing { color: #a00; } .state-machine { color: #a60; } .state-stale { color: #06a; }
.empty { color: #888; font-style: italic; }
"""
# No script, no loads: the report is read, not run.
POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def review_html(works: list[FileWork], site_title: str, source_language: str, target_language: str) -> str:
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_text(target_language)}" dir="ltr"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Translations to review: {_text(site_title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Translations to review: <bdi>{_text(site_title)}</bdi></h1>",
        f'<p class="meta">Made {date.today().isoformat()} by <code>python build.py translations review</code>. '
        "Correct translations in your CAT tool (<code>translations export</code> / <code>import</code>) or in the memory files.</p>",
        _summary(works),
    ]
    languages = (source_language, target_language)
    for work in works:
        units = [u for u in work.units if u.state != REVIEWED or u.previous is not None]
        if not units and not work.stale:
            continue
        parts.append(f"<h2><bdi>{_text(work.source_file)}</bdi></h2>")
        parts += [_unit(u, languages) for u in units]
        placed = {u.previous.key for u in work.units if u.previous is not None}
        for entry in work.stale:
            if entry.key not in placed:
                parts.append(
                    f'<div class="unit"><p class="meta state-stale">stale, place {_text(entry.at or "?")}: this Arabic is no longer in the file; '
                    "delete the entry from the memory once it is no longer needed</p>"
                    f"{_pair(entry.source, entry.translation, languages)}</div>"
                )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _summary(works: list[FileWork]) -> str:
    rows = ["<table class=summary><tr><th>file</th><th>missing</th><th>machine</th><th>reviewed</th><th>stale</th></tr>"]
    for work in works:
        counts = work.counts()
        rows.append(f"<tr><td><bdi>{_text(work.source_file)}</bdi></td>" + "".join(f"<td>{counts[k]}</td>" for k in (MISSING, MACHINE, REVIEWED, "stale")) + "</tr>")
    total = totals(works)
    rows.append("<tr><th>total</th>" + "".join(f"<th>{total[k]}</th>" for k in (MISSING, MACHINE, REVIEWED, "stale")) + "</tr></table>")
    return "\n".join(rows)


def _unit(unit: WorkUnit, languages: tuple[str, str]) -> str:
    entry = unit.entry
    if unit.previous is not None:
        label, css = "stale: the Arabic changed", "state-stale"
    else:
        label, css = {MISSING: ("missing: not translated yet", "state-missing"), MACHINE: ("machine output, not reviewed", "state-machine")}[unit.state]
    about = f"place {unit.at} · key {unit.key}"
    if entry is not None:
        about += f" · {entry.provider}, {entry.date}"
    parts = [f'<div class="unit" id="u-{_text(unit.source_file)}-{unit.key}"><p class="meta"><span class="{css}">{_text(label)}</span> · {_text(about)}</p>']
    if unit.previous is not None:
        parts.append(f'<p class="meta">What changed in the Arabic (old → new):</p><div dir="rtl" lang="{_text(languages[0])}">{word_diff(unit.previous.source, unit.source)}</div>')
        parts.append(f'<p class="meta">Reviewed English of the old Arabic ({_text(unit.previous.date)}):</p><div dir="ltr" lang="{_text(languages[1])}">{_text(unit.previous.translation)}</div>')
        parts.append('<p class="meta">New Arabic and its translation now:</p>')
    parts.append(_pair(unit.source, entry.translation if entry else "", languages))
    parts.append("</div>")
    return "".join(parts)


def _pair(source: str, translation: str, languages: tuple[str, str]) -> str:
    english = _text(translation) if translation else '<span class="empty">(no translation yet)</span>'
    return f'<div class="pair"><div dir="ltr" lang="{_text(languages[1])}">{english}</div><div dir="rtl" lang="{_text(languages[0])}">{_text(source)}</div></div>'


def word_diff(old: str, new: str) -> str:
    """``old`` → ``new`` word by word: removed words in ``<del>``, added ones in ``<ins>``."""
    old_words, new_words = old.split(), new.split()
    out = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old_words, new_words, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(_text(" ".join(old_words[a1:a2])))
            continue
        if a2 > a1:
            out.append(f"<del>{_text(' '.join(old_words[a1:a2]))}</del>")
        if b2 > b1:
            out.append(f"<ins>{_text(' '.join(new_words[b1:b2]))}</ins>")
    return " ".join(out)


def _text(value: str) -> str:
    """Escaped for HTML text and attributes, with invisible and bidi controls made visible."""
    return html.escape(visible(value), quote=True)
