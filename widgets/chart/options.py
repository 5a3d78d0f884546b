"""How the chart shows its series: `ChartOptions` and the x modes. No Textual, no plotext."""

from __future__ import annotations

from dataclasses import dataclass

from .series import MAX_SMOOTHING

X_MODES: tuple[str, ...] = ("step", "relative", "wall")
"""What the x values are: steps, seconds since the run started, or epoch seconds."""

X_MODE_LABELS = {"relative": "time since start", "wall": "wall clock (local)"}


@dataclass(frozen=True)
class ChartOptions:
    """How `MetricChart` shows its series. The caller supplies x values to match `x_mode`.

    - `x_mode`: "step" (x = step), "relative" (x = seconds since the run started; ticks
      read like "90s", "12m", "1.5h") or "wall" (x = epoch seconds; ticks are local
      "HH:MM"). The chart only formats ticks and the axis label, it converts nothing.
    - `log_y`: logarithmic y axis; points with y <= 0 can't be shown and become gaps.
    - `smoothing`: TensorBoard-style EMA weight in [0, 0.99] (clamped); 0 = off. The raw
      line is drawn faint behind the smoothed one.
    - `last_n`: zoom to the last N points (by x) of each series; None = all.
    """

    x_mode: str = "step"
    log_y: bool = False
    smoothing: float = 0.0
    last_n: int | None = None

    def __post_init__(self) -> None:
        if self.x_mode not in X_MODES:
            raise ValueError(f"x_mode must be one of {X_MODES}, not {self.x_mode!r}")
        w = float(self.smoothing)
        w = min(max(w, 0.0), MAX_SMOOTHING) if w == w else 0.0
        object.__setattr__(self, "smoothing", w)
        n = self.last_n
        if n is not None:
            object.__setattr__(self, "last_n", max(int(n), 1))
        object.__setattr__(self, "log_y", bool(self.log_y))

    def summary(self) -> str:
        """The non-default settings, e.g. "x: relative · log y · smooth 0.6 · last 200"."""
        parts = []
        if self.x_mode != "step":
            parts.append(f"x: {self.x_mode}")
        if self.log_y:
            parts.append("log y")
        if self.smoothing > 0:
            parts.append(f"smooth {self.smoothing:g}")
        if self.last_n is not None:
            parts.append(f"last {self.last_n}")
        return " · ".join(parts)

