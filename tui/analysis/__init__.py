"""Pure-Python analysis of metric curves (no Textual, no heavy dependencies)."""

from mlflow_tui.analysis.health import (
    HealthSettings,
    HealthWarning,
    Kind,
    assess,
    badge,
    diverged,
    stalled,
)
from mlflow_tui.analysis.overfit import OverfitFinding, detect_overfitting
from mlflow_tui.analysis.pairing import (
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
