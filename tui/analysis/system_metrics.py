"""MLflow's system metrics (``system/...``): which keys they are, how they read on screen, and
the short recent window the monitor keeps of them. Pure: no I/O, no UI.

MLflow's monitor (mlflow/system_metrics/metrics/*.py) logs every key of one sample at the same
step, counting 0, 1, 2, ... (every 10 s by default), under ``system/`` or, with a node id,
``system/<node>/``. The keys, for each GPU ``i``:

    gpu_{i}_utilization_percentage      gpu_{i}_memory_usage_percentage
    gpu_{i}_memory_usage_megabytes      gpu_{i}_memory_usage_gigabytes (ROCm)
    gpu_{i}_power_usage_watts           gpu_{i}_power_usage_percentage
    gpu_{i}_memory_busy_time_percent (ROCm)

and once per machine: cpu_utilization_percentage, system_memory_usage_megabytes,
system_memory_usage_percentage, disk_usage_percentage, disk_usage_megabytes,
disk_available_megabytes, network_receive_megabytes, network_transmit_megabytes (the last two
count from the start of monitoring).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mlflow_tui.tracking.models import Point

PREFIX = "system/"
WINDOW_STEPS = 60  # samples kept per series: 10 minutes at MLflow's default 10 s
IDLE_PERCENT = 10.0  # a GPU busy less than this ...
IDLE_SECONDS = 60  # ... for this long, in a running run, is flagged

# Kinds, in the order a group's keys are preferred for its row: a percentage first (a fixed
# 0-100 scale reads at a glance), then the absolute value.
_UNITS = (("_percentage", "%"), ("_percent", "%"), ("_megabytes", "MB"), ("_gigabytes", "GB"),
          ("_watts", "W"))
_GPU_RE = re.compile(r"^gpu_(\d+)_(.+)$")
# name (without unit suffix) -> (label, order)
_MACHINE = {
    "cpu_utilization": ("CPU", 10),
    "system_memory_usage": ("RAM", 11),
    "disk_usage": ("Disk", 12),
    "disk_available": ("Disk free", 13),
    "network_receive": ("Net rx", 14),
    "network_transmit": ("Net tx", 15),
}
_GPU = {"utilization": ("util", 0), "memory_usage": ("mem", 1), "power_usage": ("power", 2),
        "memory_busy_time": ("mem busy", 3)}  # ROCm
_CUMULATIVE = {"network_receive", "network_transmit"}  # counters: shown as a rate
_HIDDEN = {"disk_available"}  # the same as disk usage, the other way round
_UNKNOWN_ORDER = 50


def is_system(key: str) -> bool:
    return key.startswith(PREFIX)


@dataclass(frozen=True)
class SystemMetric:
    """One system metric key, parsed."""

    key: str  # the full MLflow key, e.g. system/gpu_0_utilization_percentage
    label: str  # e.g. "GPU0 util", "node_1 CPU"
    unit: str  # "%", "MB", "GB", "W" or ""
    order: tuple[str, int, int, int]  # node, device (-1 for the machine), kind, unit rank
    cumulative: bool = False  # a counter (network bytes): its rate is what matters
    gpu_util: bool = False

    @property
    def group(self) -> tuple[str, int, int, str]:
        """Keys of one group share a row (GPU0 mem in % and in MB)."""
        return self.order[0], self.order[1], self.order[2], self.label


def parse(key: str) -> SystemMetric | None:
    """The system metric behind `key`, or None for a key that is not one."""
    if not is_system(key):
        return None
    rest = key[len(PREFIX):]
    node = ""
    if "/" in rest:
        node, _, rest = rest.rpartition("/")
    name, unit, rank = rest, "", len(_UNITS)
    for i, (suffix, symbol) in enumerate(_UNITS):
        if rest.endswith(suffix):
            name, unit, rank = rest[: -len(suffix)], symbol, i
            break
    prefix = f"{node} " if node else ""
    gpu = _GPU_RE.match(name)
    if gpu:
        index, part = int(gpu.group(1)), gpu.group(2)
        label, kind = _GPU.get(part, (part.replace("_", " "), 9))
        return SystemMetric(key, f"{prefix}GPU{index} {label}", unit, (node, index, kind, rank),
                            gpu_util=part == "utilization" and unit == "%")
    if name in _MACHINE:
        label, kind = _MACHINE[name]
        return SystemMetric(key, prefix + label, unit, (node, 1_000_000, kind, rank),
                            cumulative=name in _CUMULATIVE)
    return SystemMetric(key, prefix + name.replace("_", " "), unit,
                        (node, 1_000_000, _UNKNOWN_ORDER, rank))


def panel_metrics(keys: Iterable[str]) -> list[SystemMetric]:
    """The rows of the panel: one metric per group (its percentage when it has one), GPUs
    first, then CPU, RAM, disk, network, then anything else MLflow may add."""
    best: dict[tuple[str, int, int, str], SystemMetric] = {}
    for key in keys:
        metric = parse(key)
        if metric is None or _base(metric.key) in _HIDDEN:
            continue
        kept = best.get(metric.group)
        if kept is None or metric.order < kept.order:
            best[metric.group] = metric
    return sorted(best.values(), key=lambda m: (m.order, m.label))


def _base(key: str) -> str:
    name = key.rpartition("/")[2]
    for suffix, _ in _UNITS:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# ---------------------------------------------------------------------- the recent window
def fetch_window(cached: Sequence[Point], latest: Point,
                 window: int = WINDOW_STEPS) -> tuple[int, int] | None:
    """The steps to fetch so that the window ending at `latest` (the run's latest point, from
    runs/search) is complete, or None when `latest` alone brings it up to date. Steady state
    costs nothing: each new sample arrives with runs/search; history is read only for the
    first look and for a gap (a paused view, or samples faster than the refresh)."""
    first = max(0, latest.step - window + 1)
    if not cached or latest.step < cached[-1].step:  # new, or logging restarted at 0
        return (first, latest.step) if latest.step > first else None
    if latest.step <= cached[-1].step + 1:
        return None
    return max(first, cached[-1].step), latest.step


def advance(cached: Sequence[Point], latest: Point, fetched: Iterable[Point] = (),
            window: int = WINDOW_STEPS) -> list[Point]:
    """The window after `fetched` points and the latest one: by step, the newest point of a
    step winning, only the last `window` steps kept."""
    restarted = bool(cached) and latest.step < cached[-1].step
    by_step = {} if restarted else {p.step: p for p in cached}
    for p in fetched:
        by_step[p.step] = p
    by_step[latest.step] = latest
    first = latest.step - window + 1
    return [by_step[s] for s in sorted(by_step) if first <= s <= latest.step]


# ---------------------------------------------------------------------- what a row shows
@dataclass(frozen=True)
class PanelRow:
    label: str
    values: list[float]  # oldest first, what the sparkline draws
    value_text: str  # the latest value with its unit
    low: float | None  # the sparkline's scale (None: the values' own range)
    high: float | None
    alert: bool = False  # e.g. an idle GPU in a running run


def rates(points: Sequence[Point]) -> list[float]:
    """Per-second increase of a counter between consecutive points (MB/s)."""
    out = []
    for a, b in zip(points, points[1:], strict=False):
        seconds = (b.timestamp - a.timestamp) / 1000
        out.append(max(0.0, (b.value - a.value) / seconds) if seconds > 0 else math.nan)
    return out


def format_value(value: float, unit: str) -> str:
    """Short: 87%, 12.3 GB, 215 W, 3.4 MB/s."""
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if unit == "MB" and abs(value) >= 1000:
        value, unit = value / 1000, "GB"
    if unit == "MB/s" and abs(value) >= 1000:
        value, unit = value / 1000, "GB/s"
    if unit == "GB" and abs(value) >= 1000:
        value, unit = value / 1000, "TB"
    magnitude = abs(value)
    text = (f"{value:.0f}" if magnitude >= 100 or unit == "%" else
            f"{value:.1f}" if magnitude >= 10 else f"{value:.2f}")
    return text + unit if unit == "%" else f"{text} {unit}".rstrip()


def idle(points: Sequence[Point], seconds: int = IDLE_SECONDS,
         threshold: float = IDLE_PERCENT) -> bool:
    """Every sample of the last `seconds` (up to the newest) below `threshold`, and the
    series at least that long: one low reading while a job starts is not flagged."""
    if not points:
        return False
    since = points[-1].timestamp - seconds * 1000
    if points[0].timestamp > since:
        return False
    recent = [p for p in points if p.timestamp >= since]
    return all(math.isfinite(p.value) and p.value < threshold for p in recent)


def panel_rows(keys: Iterable[str], points: Callable[[str], Sequence[Point]], running: bool
               ) -> list[PanelRow]:
    """The panel for one run: `keys` its metric keys, `points(key)` the recent window of a
    key (possibly empty: the row then waits), `running` whether an idle GPU is news."""
    rows = []
    for metric in panel_metrics(keys):
        pts = points(metric.key)
        if not pts:
            continue
        if metric.cumulative:
            values = rates(pts)
            text = (format_value(values[-1], "MB/s") if values and math.isfinite(values[-1])
                    else format_value(pts[-1].value, metric.unit))
            low, high = 0.0, None
        else:
            values = [p.value for p in pts]
            text = format_value(pts[-1].value, metric.unit)
            low, high = (0.0, 100.0) if metric.unit == "%" else (0.0, None)
        alert = running and metric.gpu_util and idle(pts)
        rows.append(PanelRow(metric.label, values, text, low, high, alert))
    return rows
