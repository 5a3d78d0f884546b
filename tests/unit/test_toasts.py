"""One toast a run: new warnings of one refresh grouped by run (tui/text/format.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from mlflow_tui.text.format import one_toast_per_run, toast_title


class Kind(Enum):
    OVERFITTING = "overfitting"
    DIVERGED = "diverged"


@dataclass
class W:
    kind: Kind
    reason: str


def test_warnings_of_one_run_share_a_toast_in_order():
    a, b = "run-a", "run-b"
    fresh = [(a, W(Kind.OVERFITTING, "val_loss up")), (b, W(Kind.DIVERGED, "NaN")),
             (a, W(Kind.OVERFITTING, "val_acc down"))]
    grouped = one_toast_per_run(fresh, lambda run: run)
    assert [(run, [w.reason for w in ws]) for run, ws in grouped] == [
        (a, ["val_loss up", "val_acc down"]), (b, ["NaN"])]
    assert toast_title(grouped[0][1]) == "Overfitting"
    assert toast_title([W(Kind.OVERFITTING, ""), W(Kind.DIVERGED, "")]) == \
        "Overfitting, diverged"
    assert one_toast_per_run([], str) == []
