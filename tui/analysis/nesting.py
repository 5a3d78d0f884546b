"""Nested runs (MLflow's `mlflow.parentRunId` tag, e.g. hyperparameter sweeps): children listed
under their parent, folded or not, and the parent's best child."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from mlflow_tui.tracking.models import Run

PARENT_TAG = "mlflow.parentRunId"


@dataclass(frozen=True)
class Row:
    run: Run
    depth: int = 0  # 0: top level, 1: a child shown under its parent
    children: int = 0  # for a parent: how many children it has in the view
    expanded: bool = False
    best_child: Run | None = None
    is_best: bool = False  # this child is its parent's best


def nest(
    runs: Sequence[Run],
    expanded: Collection[str],
    score: Callable[[Run], float | None],
) -> list[Row]:
    """`runs` in their order, each child moved under its parent (when the parent is in the
    view). `score`: lower is better; None when unknown. Children of folded parents are left
    out, but counted and judged for the parent's best child."""
    ids = {r.run_id for r in runs}
    children: dict[str, list[Run]] = {}
    for run in runs:
        parent = run.tags.get(PARENT_TAG)
        if parent and parent in ids and parent != run.run_id:
            children.setdefault(parent, []).append(run)
    nested = {c.run_id for kids in children.values() for c in kids}
    rows: list[Row] = []

    def add(run: Run, depth: int, is_best: bool) -> None:
        kids = children.get(run.run_id, [])
        best = _best(kids, score)
        open_ = run.run_id in expanded
        rows.append(Row(run, depth, len(kids), open_, best, is_best))
        if open_ and depth < 8:
            for kid in kids:
                add(kid, depth + 1, best is not None and kid.run_id == best.run_id)

    for run in runs:
        if run.run_id not in nested:
            add(run, 0, False)
    return rows


def _best(kids: Sequence[Run], score: Callable[[Run], float | None]) -> Run | None:
    scored = [(s, k) for k in kids if (s := score(k)) is not None and math.isfinite(s)]
    return min(scored, key=lambda t: t[0])[1] if scored else None
