"""The shape of the package: the limits issue #10 set, measured on the code itself.

They are symptoms, not goals (docs/architecture.md says what the layers are for), but a
function with a long tail of parameters, a module that does everything, a global or an
import circle is how a hub grows back; these tests say so the day one appears.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sitegen"
MAX_PARAMETERS, MAX_FUNCTION_LINES, MAX_MODULE_LINES = 8, 80, 600

# The layers, lowest first: a module may import from its own layer and the ones below.
LAYERS = ["core", "config", "content", "media", "translation", "pages", "outputs", "pipeline", "commands"]


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


MODULES = _modules()


def _functions():
    for name, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield name, node


def _parameters(node: ast.FunctionDef) -> int:
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return len([n for n in names if n not in ("self", "cls")])


def _imports(module: str, tree: ast.Module) -> set[str]:
    """Every sitegen module ``module`` imports, at the top or inside a function."""
    package = module.split(".") if module in _packages() else module.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                for candidate in (f"{target}.{alias.name}", target):
                    if candidate in MODULES:
                        found.add(candidate)
                        break
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in MODULES}
    found.discard(module)
    return found


def _packages() -> set[str]:
    return {".".join(p.relative_to(PACKAGE.parent).parts[:-1]) for p in PACKAGE.rglob("__init__.py")}


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else -1


def test_no_function_takes_more_than_eight_parameters():
    wide = [f"{m}.{f.name} ({_parameters(f)})" for m, f in _functions() if _parameters(f) > MAX_PARAMETERS]
    assert not wide, f"functions with more than {MAX_PARAMETERS} parameters: pass a frozen value instead: {wide}"


def test_no_function_is_longer_than_eighty_lines():
    long = [f"{m}.{f.name} ({f.end_lineno - f.lineno + 1} lines)" for m, f in _functions() if f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"functions longer than {MAX_FUNCTION_LINES} lines: {long}"


def test_no_module_is_longer_than_six_hundred_lines():
    big = {p.relative_to(PACKAGE).as_posix(): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not big, f"modules longer than {MAX_MODULE_LINES} lines: split them by job: {big}"


def test_no_global_statement():
    found = [f"{m}:{n.lineno}" for m, tree in MODULES.items() for n in ast.walk(tree) if isinstance(n, ast.Global)]
    assert not found, f"'global' statements (state belongs in a value passed along, or in pipeline/workers.py): {found}"


def test_no_import_circle():
    graph = {m: _imports(m, tree) for m, tree in MODULES.items()}
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, f"import circles: {circles}"


def test_layers_import_only_downwards():
    upward = []
    for module, tree in MODULES.items():
        for target in _imports(module, tree):
            if _layer(target) > _layer(module) >= 0:
                upward.append(f"{module} -> {target}")
    assert not upward, f"a lower layer imports a higher one ({' < '.join(LAYERS)}): {upward}"


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_exists(layer):
    assert (PACKAGE / layer).is_dir() or (PACKAGE / f"{layer}.py").is_file()
