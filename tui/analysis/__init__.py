"""Pure-Python analysis of metric curves (no Textual, no heavy dependencies)."""

from tui.analysis.overfit import OverfitFinding, detect_overfitting
from tui.analysis.pairing import MetricPair, find_pairs, loss_like, primary_pair

__all__ = [
    "MetricPair",
    "OverfitFinding",
    "detect_overfitting",
    "find_pairs",
    "loss_like",
    "primary_pair",
]
