"""The code's shape: layers that import only downwards, no import cycle, rooms of a bounded size, and
the network and SQL each behind one stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parent.parent / "pipeline"

# bottom -> stages -> wiring -> top; a module imports only from its own layer or below
LAYERS = {
    "bottom": {
        "vocab",
        "errors",
        "records",
        "dates",
        "parties",
        "scoring",
        "logistic",
        "config",
        "gazetteer",
        "logs",
    },
    "stages": {
        "fetch",
        "feeds",
        "backfill",
        "opml",
        "extract",
        "nlp",
        "events",
        "stories",
        "dedup",
        "store",
        "alerts",
        "export",
    },
    "wiring": {
        "flow",
        "evaluation",
        "training",
        "serve",
        "demo",
        "health",
        "metrics",
        "webfeeds",
        "webtriage",
        "webcharts",
        "triage",
    },
    "top": {"scheduler", "cli"},
}
ORDER = ["bottom", "stages", "wiring", "top"]
MAX_MODULE_LINES, MAX_CLASS_LINES, MAX_FUNCTION_LINES = 500, 300, 80


def _modules() -> dict[str, Path]:
    out = {}
    for path in PIPELINE.rglob("*.py"):
        rel = path.relative_to(PIPELINE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Project modules that ``name`` imports (relative imports resolved, type-only imports included)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.startswith("pipeline"):
                target = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:  # "from . import dates" names a module
                found.add(".".join([*target, alias.name]) if not node.module else ".".join(target))
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".", 1)[1] for a in node.names if a.name.startswith("pipeline."))
    modules = _modules()
    return {m if m in modules else m.rsplit(".", 1)[0] for m in found if m} & set(modules)


def _layer(module: str) -> str:
    top = module.split(".")[0]
    for layer, names in LAYERS.items():
        if top in names:
            return layer
    raise AssertionError(f"pipeline/{module}: not placed in a layer (add it to LAYERS)")


def test_every_module_imports_only_its_own_layer_or_below():
    bad = []
    for name, path in _modules().items():
        if not name:
            continue
        mine = ORDER.index(_layer(name))
        for dep in _imports(name, path):
            if dep and ORDER.index(_layer(dep)) > mine:
                bad.append(f"{name} ({_layer(name)}) imports {dep} ({_layer(dep)})")
    assert not bad, "\n".join(bad)


def test_no_import_cycle():
    graph = {name: _imports(name, path) - {name} for name, path in _modules().items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            # a package importing its own submodules is how a package is assembled, not a cycle
            if n and d.startswith(n + "."):
                continue
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(d) :], d]))
            if not state.get(d):
                visit(d)
        stack.pop()
        state[n] = 2

    for n in graph:
        if not state.get(n):
            visit(n)


@pytest.mark.parametrize("name", sorted(_modules()), ids=lambda n: n or "pipeline")
def test_rooms_stay_small(name):
    path = _modules()[name]
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{path}: over {MAX_MODULE_LINES} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            size = node.end_lineno - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"{path}: class {node.name} is {size} lines"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            size = node.end_lineno - node.lineno + 1
            assert size <= MAX_FUNCTION_LINES, f"{path}: function {node.name} is {size} lines"


def _third_party_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_only_fetch_touches_the_network_and_only_store_speaks_sql():
    for name, path in _modules().items():
        libs = _third_party_imports(path)
        if name == "health":  # sd_notify: a datagram to systemd's local socket, never the network
            assert not libs & {"httpx", "urllib3", "requests"}, f"{name} touches the network"
            assert "AF_INET" not in path.read_text() and "AF_UNIX" in path.read_text()
        elif name != "fetch":
            assert not libs & {"httpx", "socket", "urllib3", "requests"}, f"{name} touches the network"
        if not name.startswith("store"):
            assert not libs & {"sqlite3", "sqlean", "sqlite_utils"}, f"{name} speaks SQL"
