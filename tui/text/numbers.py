"""How a metric value is written, the same in the run table and in `mlflow-tui status`.
Free of Rich and Textual, so that the headless command stays light."""

from __future__ import annotations

import math


def number(value: float | None) -> str:
    """4 decimals; scientific for very large or very small values; NaN and inf by name."""
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e5 or magnitude < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4f}"
