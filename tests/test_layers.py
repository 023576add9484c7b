"""The package's layers and the one direction its imports run in.

``LAYERS`` is the one statement of the layering: a module may import its own layer and the
layers below it, never one above, and never a sibling of the same rank (validation and the
engines know nothing of each other). The core (everything but ``web`` and ``cli``) never
imports Flask, click or waitress, and a function-level import needs a reason in ``LAZY``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "aigraph"

#: layer -> (rank, module prefixes), lowest first.
LAYERS: dict[str, tuple[int, tuple[str, ...]]] = {
    "foundation": (0, ("aigraph.errors", "aigraph.settings", "aigraph.content", "aigraph.logs",
                       "aigraph.model", "aigraph.formats", "aigraph.protocol", "aigraph.project")),
    "rdf": (1, ("aigraph.graph", "aigraph.canonical", "aigraph.export", "aigraph.results",
                "aigraph.synth", "aigraph.synth_words", "aigraph.diff")),
    "validation": (2, ("aigraph.validation",)),
    "engine": (2, ("aigraph.engine", "aigraph.queries")),
    "data": (3, ("aigraph.store", "aigraph.neighbourhood", "aigraph.source", "aigraph.statistics",
                 "aigraph.graphstore")),
    "publishing": (4, ("aigraph.describe", "aigraph.pages", "aigraph.site",
                       "aigraph.diff_report")),
    "facade": (5, ("aigraph.core",)),
    "web": (6, ("aigraph.web",)),
    "cli": (7, ("aigraph.cli", "aigraph.__main__")),
    "api": (8, ("aigraph",)),
}  # fmt: skip

#: Function-level imports that are allowed: (importing module, imported module) -> why.
_CLI_COMMANDS = "each CLI command imports what it needs when it runs: `aigraph --help` stays fast"
LAZY: dict[tuple[str, str], str] = {
    ("aigraph.cli", "aigraph.graph"): _CLI_COMMANDS,
    ("aigraph.cli", "aigraph.store"): _CLI_COMMANDS,
    ("aigraph.cli", "aigraph.graphstore"): _CLI_COMMANDS,
    ("aigraph.cli", "aigraph.validation.report"): _CLI_COMMANDS,
    ("aigraph.cli", "aigraph.validation.validate"): _CLI_COMMANDS,
    ("aigraph.cli", "aigraph.web.server"): _CLI_COMMANDS,
    ("aigraph.cli", "aigraph.web.static_export"): _CLI_COMMANDS,
    ("aigraph.cli", "aigraph.cli.query"): _CLI_COMMANDS,
    ("aigraph.cli.diff", "aigraph.diff"): _CLI_COMMANDS,
    ("aigraph.cli.diff", "aigraph.diff_report"): _CLI_COMMANDS,
    ("aigraph.cli", "aigraph.synth"): _CLI_COMMANDS,
    ("aigraph.cli", "aigraph.core"): _CLI_COMMANDS,
    ("aigraph.cli.project", "aigraph.graph"): _CLI_COMMANDS,
    ("aigraph.cli.project", "aigraph.export"): _CLI_COMMANDS,
    ("aigraph.cli.project", "aigraph.validation.report"): _CLI_COMMANDS,
    ("aigraph.core", "aigraph.validation.report"): "pySHACL is imported only when data is validated",
    ("aigraph.engine", "aigraph.engine.rdflib_engine"): "rdflib's SPARQL engine (0.2-0.5 s to import) only for data in memory: not for a store's first answer",
    ("aigraph.engine", "aigraph.engine.federation"): "rdflib's SPARQL engine (0.2-0.5 s to import) only for data in memory: not for a store's first answer",
    ("aigraph.core", "aigraph.validation.validate"): "pySHACL is imported only when data is validated",
}  # fmt: skip

FORBIDDEN_IN_CORE = ("flask", "click", "waitress")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def shown(module: str) -> str:
    path = MODULES[module]
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def layer_of(module: str) -> str:
    """Return the layer of ``module``: the one whose prefix matches it most closely."""
    best = max(
        ((len(prefix), layer) for layer, (_, prefixes) in LAYERS.items() for prefix in prefixes
         if module == prefix or module.startswith(prefix + ".")),
        default=None,
    )  # fmt: skip
    assert best is not None, f"{module} is in no layer of LAYERS"
    return best[1]


def imports_of(module: str) -> list[tuple[str, int, bool]]:
    """Return (imported aigraph module, line, inside a function) for each import of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in child.names:  # `from pkg import module` imports pkg.module
                    target = f"{base}.{alias.name}"
                    found.append((target if target in MODULES else base, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return [(name, line, lazy) for name, line, lazy in found if name.split(".")[0] == "aigraph"]


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_import_runs_up_the_layers():
    wrong = []
    for module in MODULES:
        layer = layer_of(module)
        for target, line, _ in imports_of(module):
            if target == "aigraph":  # the package itself: __version__ and lazy names only
                continue
            other = layer_of(target)
            if other != layer and LAYERS[other][0] >= LAYERS[layer][0]:
                wrong.append(f"{shown(module)}:{line} ({layer}) imports "
                             f"{target} ({other})")  # fmt: skip
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_function_level_imports_have_a_reason():
    unexplained = [
        f"{shown(module)}:{line} imports {target}"
        for module in MODULES
        for target, line, lazy in imports_of(module)
        if lazy and (module, target) not in LAZY
    ]
    assert not unexplained, "import at module level, or add the reason to LAZY:\n" + "\n".join(
        unexplained
    )


def test_the_allow_list_has_no_stale_entries():
    used = {(m, t) for m in MODULES for t, _, lazy in imports_of(m) if lazy}
    assert set(LAZY) <= used, set(LAZY) - used


def test_the_checker_sees_a_violation(tmp_path):
    """The checks above would fail on an upward or an unexplained function-level import."""
    MODULES["aigraph.errors"], saved = tmp_path / "errors.py", MODULES["aigraph.errors"]
    try:
        MODULES["aigraph.errors"].write_text("def f():\n    from aigraph.web import create_app\n")
        assert imports_of("aigraph.errors") == [("aigraph.web", 2, True)]
        with pytest.raises(AssertionError, match=r"errors.py:2 \(foundation\) imports aigraph.web"):
            test_no_import_runs_up_the_layers()
        with pytest.raises(AssertionError, match="errors.py:2 imports aigraph.web"):
            test_function_level_imports_have_a_reason()
    finally:
        MODULES["aigraph.errors"] = saved


_PROBE = """
import importlib, json, sys
forbidden, first = {forbidden!r}, {{}}
for name in {modules!r}:
    importlib.import_module(name)
    for loaded in forbidden:
        if loaded in sys.modules and loaded not in first:
            first[loaded] = name
print(json.dumps(first))
"""


def test_the_core_never_imports_flask_click_or_waitress():
    """Import every module but web and cli in a fresh interpreter: no web framework loads."""
    core = [m for m in MODULES if layer_of(m) not in ("web", "cli", "api")]
    assert "aigraph.core" in core and "aigraph.engine.isolated" in core
    probe = _PROBE.format(forbidden=FORBIDDEN_IN_CORE, modules=core)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    first = json.loads(out.stdout)
    assert not first, f"imported by the core (first after importing the module named): {first}"


def test_the_package_api_is_lazy_and_complete():
    """``import aigraph`` loads none of the engines or Flask; every name of ``__all__`` resolves."""
    probe = (
        "import sys, aigraph\n"
        "heavy = [m for m in ('aigraph.core', 'flask', 'pyshacl') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "missing = [n for n in aigraph.__all__ if getattr(aigraph, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert aigraph.validate.__module__ == 'aigraph.validation.validate'\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def readme_layout() -> dict[str, str]:
    """Return module path -> the layer it is listed under in the README's layout block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("Layout: `src/aigraph/`", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    listed: dict[str, str] = {}
    layer = ""
    for line in block.splitlines():
        if line.startswith("# "):
            layer = line[2:].split(":", 1)[0]
        elif line.strip():
            path, _, description = line.partition(" ")
            assert description.strip(), f"{path}: give it a one-line description"
            assert path not in listed, f"{path} is listed twice"
            listed[path] = layer
    return listed


def test_the_readme_layout_lists_every_module_in_its_layer():
    listed = readme_layout()
    modules = {str(p.relative_to(PACKAGE)): name for name, p in MODULES.items()}
    assert set(listed) - set(modules) == set(), "listed in README.md but not in src/aigraph"
    assert set(modules) - set(listed) == set(), "in src/aigraph but not listed in README.md"
    wrong = {path: (layer, layer_of(modules[path])) for path, layer in listed.items()
             if layer != layer_of(modules[path])}  # fmt: skip
    assert not wrong, f"listed under another layer than LAYERS says (listed, LAYERS): {wrong}"
    ranks = [LAYERS[layer][0] for layer in dict.fromkeys(listed.values())]
    assert ranks == sorted(ranks), "the README lists the layers lowest first"


#: Modules stay under about 400 lines; a test fails past ``MAX_LINES``. Allowed past it until
#: split, with why; a module is taken off the list once it is under ``TARGET_LINES``.
TARGET_LINES, MAX_LINES = 400, 450
LONG_MODULES: dict[str, str] = {}


def test_modules_stay_short():
    lines = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in MODULES.items()}
    long = {shown(m): n for m, n in lines.items() if n > MAX_LINES and m not in LONG_MODULES}
    assert not long, f"split these (over {MAX_LINES} lines), or say why in LONG_MODULES: {long}"
    done = [m for m in LONG_MODULES if lines.get(m, 0) <= TARGET_LINES]
    assert not done, f"under {TARGET_LINES} lines now: take them off LONG_MODULES: {done}"
