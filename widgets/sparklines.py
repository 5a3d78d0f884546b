"""Rows of small sparklines: a label, the recent values as unicode blocks, the latest value.

Lighter than one `textual.widgets.Sparkline` per row: the whole panel is one `Text`, drawn at
the widget's current width. Labels and values are shown literally (`safe_text`), never markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.widget import Widget

from .text import safe_text

__all__ = ["BLOCKS", "SparkRow", "Sparklines", "spark"]

BLOCKS = "▁▂▃▄▅▆▇█"
LABEL_MAX = 12
VALUE_MAX = 10


def spark(values: Sequence[float], width: int, low: float | None = None,
          high: float | None = None) -> str:
    """`values` (oldest first) as at most `width` blocks, newest on the right. More values than
    cells: each cell shows the mean of its share. Scale `low`..`high` (the values' own range
    when None); NaN and infinities leave a blank cell. Fewer values than cells: left-padded."""
    if width <= 0:
        return ""
    vals = [float(v) for v in values]
    if len(vals) > width:
        cells = []
        for i in range(width):
            part = vals[i * len(vals) // width:(i + 1) * len(vals) // width]
            finite = [v for v in part if math.isfinite(v)]
            cells.append(sum(finite) / len(finite) if finite else math.nan)
        vals = cells
    finite = [v for v in vals if math.isfinite(v)]
    if not finite:
        return " " * width
    lo = min(finite) if low is None else low
    hi = max(finite) if high is None else high
    if high is None and low is not None:
        hi = max(hi, lo)
    span = hi - lo
    out = []
    for v in vals:
        if not math.isfinite(v):
            out.append(" ")
        elif span <= 0:
            # Flat: at the floor when that is the given low, else a level line.
            out.append(BLOCKS[0] if low is not None and v <= low else BLOCKS[3])
        else:
            level = (min(max(v, lo), hi) - lo) / span
            out.append(BLOCKS[min(len(BLOCKS) - 1, int(level * len(BLOCKS)))])
    return " " * (width - len(out)) + "".join(out)


@dataclass(frozen=True)
class SparkRow:
    """One row. `low`/`high`: the sparkline's scale (None: the values' own range). `alert`
    draws the row in the warning style."""

    label: str
    values: Sequence[float] = field(default_factory=list)
    value: str = ""
    low: float | None = None
    high: float | None = None
    alert: bool = False


class Sparklines(Widget):
    """Rows of `label ▁▂▅▇█ value`, fed with `set_rows(rows)`. Height is the number of rows."""

    DEFAULT_CSS = """
    Sparklines {
        width: 1fr;
        height: auto;
    }
    Sparklines > .sparklines--label { color: $text-muted; }
    Sparklines > .sparklines--spark { color: $accent; }
    Sparklines > .sparklines--value { text-style: bold; }
    Sparklines > .sparklines--alert { color: $error; text-style: bold; }
    """

    COMPONENT_CLASSES = {
        "sparklines--label",
        "sparklines--spark",
        "sparklines--value",
        "sparklines--alert",
    }

    def __init__(self, *, name: str | None = None, id: str | None = None,  # noqa: A002 - Textual's API
                 classes: str | None = None, disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._rows: tuple[SparkRow, ...] = ()

    @property
    def rows(self) -> tuple[SparkRow, ...]:
        return self._rows

    def set_rows(self, rows: Sequence[SparkRow]) -> None:
        rows = tuple(rows)
        if rows == self._rows:
            return
        resize = len(rows) != len(self._rows)
        self._rows = rows
        self.refresh(layout=resize)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows)

    def render(self) -> RenderResult:
        return self.render_rows(self.size.width)

    def render_rows(self, width: int) -> Text:
        styles = {name: self._style(name) for name in
                  ("label", "spark", "value", "alert")}
        labels = [safe_text(r.label, LABEL_MAX) for r in self._rows]
        values = [safe_text(r.value, VALUE_MAX) for r in self._rows]
        label_w = max((cell_len(s) for s in labels), default=0)
        value_w = max((cell_len(s) for s in values), default=0)
        spark_w = max(0, width - label_w - value_w - 2)
        text = Text(no_wrap=True, overflow="crop", end="")
        for i, (row, label, value) in enumerate(zip(self._rows, labels, values, strict=True)):
            if i:
                text.append("\n")
            alert = styles["alert"] if row.alert else None
            text.append(label + " " * (label_w - cell_len(label)),
                        style=alert or styles["label"])
            text.append(" ")
            text.append(spark(row.values, spark_w, row.low, row.high),
                        style=alert or styles["spark"])
            text.append(" ")
            text.append(" " * (value_w - cell_len(value)) + value,
                        style=alert or styles["value"])
        return text

    def _style(self, part: str) -> Style:
        try:
            return self.get_component_rich_style(f"sparklines--{part}", partial=True)
        except Exception:  # noqa: BLE001 - not mounted yet (a test rendering rows directly)
            return Style()
