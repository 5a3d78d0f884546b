"""Installed under one name (issue 15): the repository's folders tui/ and widgets/ are the
package `mlflow_tui` and its subpackage `mlflow_tui.widgets` (pyproject.toml's package-dir), so
nothing named `tui` or `widgets` lands in site-packages. Checked here from the sources, quickly;
tests/integration/test_wheel.py builds the wheel and looks inside."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"mlflow_tui": "tui", "mlflow_tui.widgets": "widgets"}
OLD = ("tui", "widgets")
# Where Python lives in the repository (every folder but the tooling's own).
SKIP = {".git", ".venv", "venv", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _package_of(folder: Path) -> str:
    """The installed name of a source folder: tui/analysis -> mlflow_tui.analysis."""
    rel = folder.relative_to(ROOT).parts
    if rel[0] == "widgets":
        return ".".join(("mlflow_tui", *rel))
    return ".".join(("mlflow_tui", *rel[1:]))


# They name the old packages on purpose: the `python -m tui` pointer, and this test.
ON_PURPOSE = {"tui/__main__.py", "tests/unit/test_packaging.py"}


def _python_files() -> list[Path]:
    out = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP]  # not into .venv: quick
        for name in files:
            path = Path(folder, name)
            if name.endswith(".py") and path.relative_to(ROOT).as_posix() not in ON_PURPOSE:
                out.append(path)
    return sorted(out)


def test_every_source_folder_is_an_installed_package_and_nothing_else():
    setuptools = _pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"] == FOLDERS
    folders = {_package_of(init.parent) for name in OLD for init in (ROOT / name).rglob(
        "__init__.py") if "__pycache__" not in init.parts}
    assert sorted(setuptools["packages"]) == sorted(folders), (
        "pyproject.toml [tool.setuptools] packages must list every package folder of tui/ and "
        "widgets/ by its installed name")


def test_console_script_and_data_files():
    project = _pyproject()["project"]
    assert project["scripts"] == {"mlflow-tui": "mlflow_tui.cli:main"}
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]
    data = [p for name in OLD for p in (ROOT / name).rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert data, "tui/app.tcss at least"
    for path in data:
        package = _package_of(path.parent)
        globs = patterns.get("*", []) + patterns.get(package, [])
        assert any(fnmatch(path.name, g) for g in globs), f"{path} is not package data"


def _old_module(name: str | None) -> bool:
    return bool(name) and name.split(".")[0] in OLD  # type: ignore[union-attr]


def test_no_python_file_names_the_old_packages():
    """Every import, `-m`, monkeypatch target and module string says mlflow_tui. (After a merge
    that brings back `tui.x`, rerun the rename script; see the CHANGELOG, issue 15.)"""
    left = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import):
                left += [f"{where}: import {a.name}" for a in node.names if _old_module(a.name)]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and _old_module(node.module):
                left.append(f"{where}: from {node.module} import")
            elif isinstance(node, (ast.List, ast.Tuple)):
                values = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
                if any(a == "-m" and b in OLD for a, b in zip(values, values[1:], strict=False)):
                    left.append(f"{where}: -m tui (or widgets) in a command")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.match(r"(tui|widgets)\.(\w|$)", node.value):
                    left.append(f"{where}: {node.value!r}")
                if re.search(r"(^|[\s;,(])(import|from) (tui|widgets)\b|-m tui\b", node.value):
                    left.append(f"{where}: code in a string naming tui/widgets")
    assert left == []


def test_python_m_mlflow_tui_and_not_tui():
    ok = subprocess.run([sys.executable, "-m", "mlflow_tui", "--version"], capture_output=True,
                        text=True, timeout=60, cwd=ROOT)
    assert ok.returncode == 0 and ok.stdout.strip() == "mlflow-tui 0.1.0", ok.stderr
    # From a checkout, tui/ is importable as `tui` by accident (the current folder is on
    # sys.path): it points to the real command instead of running the installed copy.
    old = subprocess.run([sys.executable, "-m", "tui", "--version"], capture_output=True,
                         text=True, timeout=60, cwd=ROOT)
    assert old.returncode == 2 and old.stdout == ""
    assert "python -m mlflow_tui" in old.stderr
