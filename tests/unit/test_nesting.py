"""Nested runs (tui/analysis/nesting.py): children under their parent, folded or not, the best
child."""

from __future__ import annotations

import math

from mlflow_tui.analysis.nesting import PARENT_TAG, nest
from mlflow_tui.tracking.models import Run, RunStatus

SCORES = {"c1": 0.5, "c2": 0.2, "c3": None, "d1": math.nan}


def _run(rid: str, parent: str | None = None) -> Run:
    return Run(rid, "1", rid, RunStatus.FINISHED, 0, tags={PARENT_TAG: parent} if parent else {})


def _score(run: Run) -> float | None:
    return SCORES.get(run.run_id)


RUNS = [_run("c1", "p"), _run("p"), _run("c2", "p"), _run("solo"), _run("c3", "p"),
        _run("orphan", "gone"), _run("self", "self")]


def test_folded_parent_counts_and_judges_its_children_but_hides_them():
    rows = nest(RUNS, expanded=set(), score=_score)
    assert [r.run.run_id for r in rows] == ["p", "solo", "orphan", "self"]
    parent = rows[0]
    assert (parent.depth, parent.children, parent.expanded) == (0, 3, False)
    assert parent.best_child is not None and parent.best_child.run_id == "c2"  # lowest score
    assert rows[1].children == 0 and rows[1].best_child is None


def test_expanded_parent_lists_its_children_in_order_under_it_and_marks_the_best():
    rows = nest(RUNS, expanded={"p"}, score=_score)
    assert [(r.run.run_id, r.depth) for r in rows] == [
        ("p", 0), ("c1", 1), ("c2", 1), ("c3", 1), ("solo", 0), ("orphan", 0), ("self", 0)]
    assert [r.run.run_id for r in rows if r.is_best] == ["c2"]


def test_no_best_child_when_no_child_has_a_finite_score():
    runs = [_run("q"), _run("d1", "q"), _run("c3", "q")]
    (row,) = nest(runs, expanded=set(), score=_score)
    assert row.children == 2 and row.best_child is None


def test_grandchildren_nest_when_every_level_is_expanded():
    runs = [_run("g", "c"), _run("c", "p"), _run("p")]
    assert [(r.run.run_id, r.depth) for r in nest(runs, {"p", "c"}, _score)] == [
        ("p", 0), ("c", 1), ("g", 2)]
    assert [r.run.run_id for r in nest(runs, {"p"}, _score)] == ["p", "c"]
