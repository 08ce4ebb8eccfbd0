"""Loading a theme: Jinja2 templates (overridable by name) and the stylesheet.

Lookup order for a template: ``templates/`` beside site.yml, then the theme in
``themes/<name>/`` beside site.yml, then the theme shipped with this tool.
Autoescape is on and undefined variables are errors, so a typo in a template
fails the build instead of silently printing nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:
    import jinja2

TOOL_ROOT = Path(__file__).resolve().parents[2]  # the folder holding sitegen/ and themes/
BUNDLED_THEMES = TOOL_ROOT / "themes"


class ThemeError(Exception):
    pass


@dataclass(frozen=True)
class Theme:
    template_dirs: tuple[Path, ...]
    css: Markup
    search_js: Markup
    service_worker_js: str
    fingerprint: str  # hash of every file that can change a page: part of the incremental cache key
    def render(self, template: str, context: dict) -> str:
        found = self._templates.get(template)
        if found is None:
            found = self._templates[template] = self.environment.get_template(template)
        return found.render(context)

    def load_templates(self) -> None:
        """Every template of the theme loaded (compiled, or read from the bytecode cache): before
        a build forks its workers, which then inherit them, rather than each making Jinja's
        environment and loading its templates for itself (45-50 ms a process)."""
        import jinja2

        environment = self.environment
        for name in environment.list_templates(filter_func=lambda name: name.endswith(".html")):
            if name not in self._templates:
                try:
                    self._templates[name] = environment.get_template(name)
                except jinja2.TemplateError:
                    pass  # said when a page renders it, as before

    @cached_property
    def _templates(self) -> dict:
        """Templates by name, as loaded: Jinja's own cache takes a lock and reorders an LRU
        list at every lookup, five times a segment."""
        return {}

    @cached_property
    def environment(self) -> jinja2.Environment:
        """Made at the first page rendered: a build with nothing to do, which only needs the
        fingerprint, never imports Jinja."""
        import jinja2

        from .template_code import FasterEnvironment

        return FasterEnvironment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.template_dirs]),
            undefined=jinja2.StrictUndefined,
            # A theme is loaded anew for every build: no need to stat each template at every render.
            auto_reload=False,
            bytecode_cache=_bytecode_cache(),
            **_COMPILE_OPTIONS,
        )


# The options the compiled code of a template depends on: they name its bytecode cache.
_COMPILE_OPTIONS = {"autoescape": True, "keep_trailing_newline": True, "trim_blocks": False}


def _bytecode_cache():
    """Templates compiled by an earlier build, kept by Jinja by template path and source
    checksum in a folder only this user can write (a cache planted beside the content is
    never read); compiling them anew cost every build and every worker about 30 ms."""
    import jinja2

    from .template_code import generator_version

    # The code generator's own ways are part of the compiled code too.
    options = hashlib.sha256(repr((sorted(_COMPILE_OPTIONS.items()), generator_version())).encode()).hexdigest()[:12]
    try:
        return jinja2.FileSystemBytecodeCache(pattern=f"sitegen-{options}-%s.cache")
    except (OSError, RuntimeError):  # no safe folder: compile every time
        return None


def theme_folders(site_root: Path, theme_name: str) -> list[Path]:
    folders = [site_root / "themes" / theme_name, BUNDLED_THEMES / theme_name]
    unique: list[Path] = []
    for folder in folders:
        if folder.is_dir() and folder.resolve() not in [u.resolve() for u in unique]:
            unique.append(folder)
    return unique


def load_theme(site_root: Path, theme_name: str) -> Theme:
    folders = theme_folders(site_root, theme_name)
    if not folders:
        raise ThemeError(f"theme '{theme_name}' not found in {site_root / 'themes'} or {BUNDLED_THEMES}: check 'theme' in site.yml")
    template_dirs = [site_root / "templates"] + [f / "templates" for f in folders]
    template_dirs = [d for d in template_dirs if d.is_dir()]
    css = _first_file(folders, "style.css", site_root)
    search_js = _first_file(folders, "search.js", site_root, required=False)
    service_worker_js = _first_file(folders, "sw.js", site_root, required=False)
    digest = hashlib.sha256()
    for folder in template_dirs + folders:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(file.as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return Theme(template_dirs=tuple(template_dirs), css=Markup(minify_css(css)), search_js=Markup(_safe_inline_script(search_js)), service_worker_js=service_worker_js, fingerprint=digest.hexdigest())


def _first_file(folders: list[Path], name: str, site_root: Path, required: bool = True) -> str:
    for folder in [site_root / "templates"] + folders:
        path = folder / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    if required:
        raise ThemeError(f"theme file {name} not found in {', '.join(map(str, folders))}")
    return ""


def minify_css(css: str) -> str:
    """Comments and extra white space cost bytes on every page of a phone's download."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"\s+", " ", css)
    css = re.sub(r"\s*([{};,>])\s*", r"\1", css)
    css = css.replace(";}", "}")
    # The stylesheet is inlined in <style>: it must not be able to close the element.
    return css.replace("</", "<\\/").strip()


def _safe_inline_script(js: str) -> str:
    return minify_js(js).replace("</script", "<\\/script")


def minify_js(js: str) -> str:
    """Inlined into the search page, whose weight a phone pays: drop indentation, blank
    lines, whole-line ``//`` comments and a leading block comment. Nothing inside a line
    is touched, so no string or regular expression can be damaged (the theme's scripts
    are ES5: no template literal spans lines)."""
    js = re.sub(r"\A\s*/\*.*?\*/", "", js, count=1, flags=re.S)
    kept = []
    for line in js.splitlines():
        line = line.strip()
        if line and not line.startswith("//"):
            kept.append(line)
    return "\n".join(kept) + "\n" if kept else ""
