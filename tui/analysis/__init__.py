"""Pure-Python analysis of metric curves (no Textual, no heavy dependencies)."""

from tui.analysis.health import (
    HealthSettings,
    HealthWarning,
    Kind,
    assess,
    badge,
    diverged,
    stalled,
)
from tui.analysis.overfit import OverfitFinding, detect_overfitting
from tui.analysis.pairing import (
    MetricPair,
    find_pairs,
    higher_is_better,
    loss_like,
    primary_pair,
)

__all__ = [
    "HealthSettings",
    "HealthWarning",
    "Kind",
    "MetricPair",
    "OverfitFinding",
    "assess",
    "badge",
    "detect_overfitting",
    "diverged",
    "find_pairs",
    "higher_is_better",
    "loss_like",
    "primary_pair",
    "stalled",
]
