"""The code stays clean: ruff on everything, mypy on the data layer and the analysis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_ruff():
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_on_data_layer_and_analysis():
    result = _run("mypy", "tui/tracking", "tui/analysis")
    assert result.returncode == 0, result.stdout + result.stderr
