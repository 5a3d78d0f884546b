"""Rooms of a readable size (issue 15): no module in tui/ or widgets/ over 600 lines, no class
over 400. Ruff and mypy run in .ci/run beside pytest, not here."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for folder in ("tui", "widgets") for p in (ROOT / folder).rglob("*.py"))


def oversized(paths: list[Path]) -> list[str]:
    """'path: N lines' for each module over the limit, 'path: Class N lines' for each class."""
    out = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if lines > MAX_MODULE_LINES:
            out.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    out.append(f"{name}: class {node.name} {size} lines")
    return out


def test_the_check_sees_a_long_module_and_a_long_class(tmp_path):
    long_module = tmp_path / "long.py"
    long_module.write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    long_class = tmp_path / "cls.py"
    long_class.write_text("class Big:\n" + "    x = 1\n" * MAX_CLASS_LINES)
    short = tmp_path / "short.py"
    short.write_text("class Small:\n    x = 1\n")
    assert oversized([long_module, long_class, short]) == [
        f"{long_module}: {MAX_MODULE_LINES + 1} lines",
        f"{long_class}: class Big {MAX_CLASS_LINES + 1} lines"]


def test_the_check_reads_the_whole_code():
    names = {p.relative_to(ROOT).as_posix() for p in _modules()}
    assert {"tui/app.py", "tui/tracking/poller.py"} <= names
    assert any(n.startswith("widgets/") for n in names)


def test_no_module_over_600_lines_and_no_class_over_400():
    assert oversized(_modules()) == []
