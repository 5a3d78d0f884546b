"""Line chart of metric series (plotext inside Textual) and the downsampling behind it.

One module per layer: `series` (the pure series code: downsample, gaps, EMA, zoom,
log-safe points), `tracks` (the same kept per series and extended as it grows), `ticks`
(axis ticks, number and time labels), `options` (`ChartOptions`), `plotext_bridge`
(everything that reads plotext's internals: the figure built from its matrix of cells,
`_Canvas`, the braille grouping) and `widget` (`MetricChart`). Below: the names imported
from `mlflow_tui.widgets.chart`; patch a name in the module that reads it, not here.
"""

from __future__ import annotations

from .options import X_MODES, ChartOptions
from .plotext_bridge import _PLOTEXT_HD_GROUP as _PLOTEXT_HD_GROUP
from .plotext_bridge import _Canvas as _Canvas
from .plotext_bridge import _faster_plotext as _faster_plotext
from .plotext_bridge import _hd_group as _hd_group
from .series import _sorted_finite_x as _sorted_finite_x
from .series import downsample, ema, finite_segments, last_n, log_safe, y_range
from .ticks import _log_ticks as _log_ticks
from .ticks import _time_ticks as _time_ticks
from .ticks import format_relative, format_wall
from .tracks import SMALL_SERIES as SMALL_SERIES
from .tracks import _Extremes as _Extremes
from .tracks import _Track as _Track
from .widget import PALETTE, MetricChart

__all__ = [
    "PALETTE",
    "X_MODES",
    "ChartOptions",
    "MetricChart",
    "downsample",
    "ema",
    "finite_segments",
    "format_relative",
    "format_wall",
    "last_n",
    "log_safe",
    "y_range",
]
