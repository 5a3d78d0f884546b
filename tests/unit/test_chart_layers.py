"""The chart package is cut by layer: the series code, ticks and options import no UI toolkit
and no plotext, and only `plotext_bridge` reaches into plotext's (or Textual's) internals.
Read from the source: importing a submodule runs `widgets/__init__.py`, which loads Textual."""

from __future__ import annotations

import ast
from pathlib import Path

CHART = Path(__file__).resolve().parents[2] / "widgets" / "chart"
PURE = ("series", "tracks", "ticks", "options")
TOOLKITS = ("textual", "textual_plotext", "plotext", "rich")


def _imports(module: str) -> set[str]:
    """Every module `module` imports, relative ones as written ('.series', '..text')."""
    tree = ast.parse((CHART / f"{module}.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_every_chart_module_is_checked():
    assert {p.stem for p in CHART.glob("*.py")} == {
        "__init__", *PURE, "plotext_bridge", "widget"}


def test_series_ticks_and_options_import_no_toolkit_and_no_plotext():
    for module in PURE:
        imported = _imports(module)
        assert not [n for n in imported if n.split(".")[0] in TOOLKITS], module
        # Only their pure siblings among our own modules (`..text` loads Textual).
        assert {n for n in imported if n.startswith(".")} <= {f".{m}" for m in PURE}, module


def test_only_the_bridge_reaches_into_internals():
    for path in CHART.glob("*.py"):
        private = {n for n in _imports(path.stem)
                   if n.split(".")[0] in TOOLKITS and any(p.startswith("_") for p in n.split("."))}
        assert private == set() or path.stem == "plotext_bridge", (path.stem, private)
    assert {"plotext._utility", "textual._context"} <= _imports("plotext_bridge")
