"""The built wheel (issue 15): everything is under `mlflow_tui/` (tui/ as mlflow_tui, widgets/
as mlflow_tui/widgets), with its stylesheet; nothing named `tui` or `widgets` at the top, and
the unpacked wheel runs on its own. The build (`pip wheel`, in an isolated environment with
pyproject's build requirements) works on a copy of the sources in a temporary folder, so the
checkout gets no build/ or egg-info from a test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "tui", "widgets")


def _installed_name(rel: Path) -> str:
    """tui/analysis/judge.py -> mlflow_tui/analysis/judge.py; widgets/x.py ->
    mlflow_tui/widgets/x.py."""
    parts = rel.parts
    if parts[0] == "widgets":
        return "/".join(("mlflow_tui", *parts))
    return "/".join(("mlflow_tui", *parts[1:]))


def _build(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                           "--disable-pip-version-check", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = list(out.glob("mlflow_tui-*.whl"))
    assert len(wheels) == 1, list(out.iterdir())
    return wheels[0]


def test_wheel_holds_mlflow_tui_only_and_runs_unpacked(tmp_path: Path):
    wheel = _build(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"mlflow_tui", "mlflow_tui-0.1.0.dist-info"}, tops

    # Every module and data file of tui/ and widgets/, under its installed name.
    expected = {_installed_name(p.relative_to(ROOT)) for folder in ("tui", "widgets")
                for p in (ROOT / folder).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert "mlflow_tui/app.tcss" in expected and "mlflow_tui/widgets/chart/widget.py" in expected
    assert expected <= set(names), sorted(expected - set(names))

    entry_points = zipfile.ZipFile(wheel).read("mlflow_tui-0.1.0.dist-info/entry_points.txt")
    assert "mlflow-tui = mlflow_tui.cli:main" in entry_points.decode()

    # Unpacked on its own (a wheel is the site-packages layout), ahead of the editable install:
    # the app module finds its stylesheet there, and `python -m mlflow_tui` runs.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import mlflow_tui, mlflow_tui.widgets, mlflow_tui.app\n"
            "from pathlib import Path\n"
            "app = Path(mlflow_tui.app.__file__)\n"
            "print(app.parent, Path(mlflow_tui.widgets.__file__).parent.parent,\n"
            "      (app.parent / mlflow_tui.app.MlflowTui.CSS_PATH).is_file())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(site / "mlflow_tui"), str(site / "mlflow_tui"), "True"]
    proc = subprocess.run([sys.executable, "-m", "mlflow_tui", "--help"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: mlflow-tui"), proc.stderr
