"""bench/: what run_all.py runs and what bench/RESULTS.md claims (issue 14: the old-server
path's traffic is measured next to the modern one). Reads the files; runs no benchmark."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def benches() -> dict[str, tuple[str, list[str], list[str], str]]:
    tree = ast.parse((ROOT / "bench" / "run_all.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "BENCHES":
            assert node.value is not None
            return {name: (script, full, quick, title)
                    for name, script, full, quick, title in ast.literal_eval(node.value)}
    raise AssertionError("no BENCHES in bench/run_all.py")


def test_run_all_measures_the_old_server_path_with_the_traffic_benchmark():
    script, full, quick, _ = benches()["traffic"]
    assert script == "traffic.py"
    assert "--old" in full and "--old" in quick


def test_results_have_the_old_server_row_next_to_the_modern_one():
    rows = [line for line in (ROOT / "bench" / "RESULTS.md").read_text().splitlines()
            if line.startswith("| 2 |")]
    assert rows[0].startswith("| 2 | traffic, app charting 5 live runs")
    old = rows[1]
    assert "old-server path (MLflow 2.9.2" in old
    assert re.search(r"\| \d+\.\d{3} MB/min \(\d+ requests/min over \d+ s", old), old


def test_readme_claims_match_the_code_and_the_measurements():
    """Issue 14's audit: the README said "one runs/get per run" for 2.0 - 2.3.0 (the code
    sends one runs/search with attributes.run_id = '...' per id), 0.27 MB/min on 2.9.2 (the
    measured figure is in RESULTS.md), and the workspace layering must read as the code does."""
    readme = (ROOT / "README.md").read_text()
    rest = (ROOT / "tui" / "tracking" / "rest.py").read_text()
    assert "attributes.run_id = " in rest and "/runs/get" not in rest.split(
        "async def _search_each_id", 1)[1].split("\n    async def ", 1)[0]
    row = next(line for line in readme.splitlines() if line.startswith("| 2.0 – 2.3.0 |"))
    assert "`runs/search` with `attributes.run_id = '…'` per run" in row and "runs/get" not in row
    results = (ROOT / "bench" / "RESULTS.md").read_text()
    old = re.search(r"old-server path \(MLflow 2\.9\.2.*?\| (\d+\.\d)\d* MB/min", results)
    assert old and f"{old[1]} MB on an\n  MLflow 2.9.2 server" in readme
    space = next(line for line in readme.splitlines() if line.startswith("| MLflow 3 workspaces"))
    assert "(config < environment < flags)" in space
    assert space.index("in the config") < space.index("MLFLOW_WORKSPACE") < space.index(
        "--workspace")
