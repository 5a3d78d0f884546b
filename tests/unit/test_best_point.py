"""best_point (tui/analysis/overfit.py): the one definition of a series' best point."""

from __future__ import annotations

import math

from mlflow_tui.analysis.overfit import best_point
from mlflow_tui.tracking.models import Point


def test_lowest_loss_or_highest_accuracy_first_on_a_tie():
    points = [Point(0, 0.9), Point(1, 0.3), Point(2, 0.3), Point(3, 0.7)]
    assert best_point(points, higher_is_better=False) is points[1]
    assert best_point(points, higher_is_better=True) is points[0]
    tie = [Point(0, 1.0), Point(1, 1.0)]
    assert best_point(tie, higher_is_better=True) is tie[0]


def test_nan_and_infinities_are_never_best():
    points = [Point(0, math.nan), Point(1, -math.inf), Point(2, 2.0), Point(3, math.inf)]
    assert best_point(points, higher_is_better=False) is points[2]
    assert best_point(points, higher_is_better=True) is points[2]
    assert best_point([Point(0, math.nan)], higher_is_better=False) is None
    assert best_point([], higher_is_better=True) is None
