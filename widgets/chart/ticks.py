"""Axis ticks and their labels: round ticks for a log axis and for time axes, numbers,
durations ("90s", "1.5h") and local wall-clock times ("HH:MM")."""

from __future__ import annotations

import math
from datetime import datetime

from .series import _is_finite


def _log_ticks(lo: float, hi: float, count: int) -> list[float]:
    """Round ticks for a log axis over [lo, hi] (lo > 0): decades, else 1-2-5, else spread."""
    if not (lo > 0 and hi >= lo):
        return []
    k0 = math.floor(math.log10(lo))
    k1 = math.ceil(math.log10(hi))
    count = max(count, 2)
    for mantissas in ((1.0,), (1.0, 2.0, 5.0)):
        ticks = [m * 10.0**k for k in range(k0, k1 + 1) for m in mantissas]
        ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(ticks) >= 3 or (len(ticks) >= 2 and mantissas != (1.0,)):
            stride = math.ceil(len(ticks) / count)
            return ticks[::stride]
    if hi == lo:
        return [lo]
    ratio = (hi / lo) ** (1 / (count - 1))
    return [float(f"{lo * ratio**i:.3g}") for i in range(count)]


def _tick_label(value: float) -> str:
    return f"{value:.3g}"


def _trim(value: float) -> str:
    """Up to two decimals, without trailing zeros: 1.5, 26.75, 12."""
    text = f"{value:.2f}".rstrip("0")
    return text.rstrip(".")


def format_relative(seconds: float) -> str:
    """Seconds as a short duration: "45s", "90s", "12m", "1.5h", "3d"."""
    if not _is_finite(seconds):
        return "?"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 120:
        text = f"{_trim(s)}s" if s >= 10 or s == int(s) else f"{s:.2g}s"
    elif s < 3600:
        text = f"{_trim(s / 60)}m"
    elif s < 48 * 3600:
        text = f"{_trim(s / 3600)}h"
    else:
        text = f"{_trim(s / 86400)}d"
    return sign + text


def format_wall(epoch_seconds: float, step: float = 60.0, span: float = 0.0) -> str:
    """Epoch seconds as local time: "HH:MM" ("HH:MM:SS" for sub-minute `step`,
    "MM-DD HH:MM" when `span` covers a day or more)."""
    if not _is_finite(epoch_seconds):
        return "?"
    try:
        moment = datetime.fromtimestamp(epoch_seconds)
    except (OverflowError, OSError, ValueError):
        return "?"
    if span >= 86400:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M:%S" if step < 60 else "%H:%M")


_TIME_STEPS = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400,
)


def _time_ticks(lo: float, hi: float, count: int, offset: float = 0.0) -> tuple[list[float], float]:
    """About `count` round time ticks over [lo, hi] (aligned after adding `offset`)."""
    span = hi - lo
    if not span > 0:
        return [lo], 1.0
    want = span / max(count, 1)
    step: float = next((t for t in _TIME_STEPS if t >= want), 0)
    if not step:
        step = 10 ** math.ceil(math.log10(want))
    first = math.ceil((lo + offset) / step) * step - offset
    ticks: list[float] = []
    tick = first
    while tick <= hi + 1e-9 * span and len(ticks) < 50:
        ticks.append(tick)
        tick += step
    return ticks or [lo], step
