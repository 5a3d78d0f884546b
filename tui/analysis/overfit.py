"""Online overfitting detection on a (train, validation) metric pair.

The rule (all quantities from the points seen so far; non-finite points are dropped):

1. Smooth validation with a centred running median of 3 (trailing at the last point) and take
   the lowest smoothed value as ``best``; at least ``MIN_AFTER`` points must follow it.
2. Estimate the curve's own per-point noise ``sigma`` robustly from second differences
   (1.4826 * median |x[i-1] - 2 x[i] + x[i+1]| / sqrt(6), which ignores a locally linear trend),
   inflated by ``1 + 1/sqrt(k)`` for the k differences it rests on (a MAD of few points is itself
   uncertain, and an underestimate early on is what makes short noisy curves alarm).
3. "Now" is the mean of the last ``WINDOW`` validation points, all of which must lie above
   ``best`` (sustained). The rise ``now - best`` must be at least ``MIN_RISE`` of ``|best|``
   (effect size, so tiny but significant drifts of ultra-smooth curves do not fire) and at least
   ``sigma * (1/sqrt(WINDOW) + 0.67) * sqrt(2 ln(m / ALPHA))``. Under pure noise both ends of the
   rise are extremes: ``best`` is the minimum of m smoothed values (a median of 3 has standard
   deviation ~0.67 sigma) and, because the detector is re-run after every point, "now" is in
   effect the maximum of m window means (standard deviation sigma/sqrt(WINDOW)). The maximum of m
   normal variables exceeds sqrt(2 ln(m/alpha)) standard deviations with probability <= alpha,
   so this bounds the chance that a flat noisy plateau of any length ever alarms (a plain
   z-test with a fixed Z does not: it fires on most long 2.5%-noise plateaus).
4. Train must still be improving: its mean since the ``WINDOW``-th last validation step is below
   its mean around the best step (the two neighbouring validation steps), and its least-squares
   slope over the latest span (train points after the ``WINDOW + 1``-th last validation step) is
   negative. Val rising while train turns up too is a blow-up (divergence), not overfitting, and
   is not reported.

``higher_is_better`` metrics (accuracy, F1, ...) are mirrored by negation; the reported rise and
change are then "val fell / train rose" in the metric's own direction.

Cost is linear in the number of train points (two passes) plus O(m log m) for the m validation
points (a median of second differences), with no dependencies beyond the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

__all__ = ["OverfitFinding", "best_point", "detect_overfitting"]

Point = tuple[float, float]

# Rule constants; generic statistical choices, not fitted to individual curves.
WINDOW = 3  # validation points making up "now" (mean) and the "sustained" test
MIN_AFTER = 3  # validation points that must follow the best one
MIN_VAL = 5  # fewer validation points than this: no verdict
MIN_RISE = 0.05  # relative rise of val above its best
ALPHA = 0.05  # chance that pure noise of any length ever passes the significance test
MEDIAN3_SD = 0.67  # standard deviation of a median of 3 normal values, in units of sigma
TRAIN_DROP = 0.0  # train must be at least this much (relative) lower than at the best step


@dataclass(frozen=True)
class OverfitFinding:
    """Evidence that validation got worse since ``best_step`` while train kept improving.

    ``val_rise`` > 0 is how much worse validation got (relative); ``train_change`` < 0 means
    train improved. For ``higher_is_better`` metrics both are in the mirrored (loss-like)
    direction: val_rise = relative fall of val, train_change = minus the relative rise of train.
    """

    best_step: int
    step: int
    val_rise: float
    train_change: float
    reason: str
    best_value: float | None = None


class _HasValue(Protocol):
    @property
    def value(self) -> float: ...


P = TypeVar("P", bound=_HasValue)


def best_point(points: Sequence[P], higher_is_better: bool) -> P | None:
    """The best finite point of a series: the lowest loss (highest accuracy), the first one on
    a tie. The one definition of "best" shown everywhere: the run table's Best val, the
    overfitting banner and chart marker, the compare table, the CSV export and status."""
    best: P | None = None
    for p in points:
        v = p.value
        if not math.isfinite(v):
            continue
        if best is None or (v > best.value if higher_is_better else v < best.value):
            best = p
    return best


def _finite(points: Sequence[Point], sign: float) -> tuple[list[float], list[float]]:
    steps: list[float] = []
    values: list[float] = []
    for p in points:
        try:
            s, v = float(p[0]), float(p[1])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isfinite(s) and math.isfinite(v):
            steps.append(s)
            values.append(sign * v)
    return steps, values


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else 0.5 * (s[mid - 1] + s[mid])


def _noise(values: Sequence[float]) -> float:
    """Robust per-point noise level from second differences.

    For x_i = trend_i + e_i with a locally linear trend, x_{i-1} - 2 x_i + x_{i+1} has standard
    deviation sqrt(6) * sd(e); the scaled median absolute value is robust to the few points
    where the trend bends sharply (the start of training) and to isolated spikes.
    """
    n = len(values)
    if n < 3:
        return 0.0
    d2 = [abs(values[i - 1] - 2.0 * values[i] + values[i + 1]) for i in range(1, n - 1)]
    return 1.4826 * _median(d2) / math.sqrt(6.0) * (1.0 + 1.0 / math.sqrt(len(d2)))


def _mean_between(steps: Sequence[float], values: Sequence[float], lo: float, hi: float,
                  start: int = 0) -> tuple[float | None, int]:
    """Mean of values with lo <= step <= hi, scanning from index ``start`` (steps sorted)."""
    i = start
    n = len(steps)
    while i < n and steps[i] < lo:
        i += 1
    first = i
    total = 0.0
    count = 0
    while i < n and steps[i] <= hi:
        total += values[i]
        count += 1
        i += 1
    return (total / count if count else None), first


def _slope_after(steps: Sequence[float], values: Sequence[float], lo: float,
                 start: int = 0) -> float:
    """Least-squares slope of the points with step > lo (scanning from ``start``); 0 if < 2."""
    i = start
    n = len(steps)
    while i < n and steps[i] <= lo:
        i += 1
    k = n - i
    if k < 2:
        return 0.0
    mx = sum(steps[i:]) / k
    my = sum(values[i:]) / k
    sxx = 0.0
    sxy = 0.0
    for j in range(i, n):
        dx = steps[j] - mx
        sxx += dx * dx
        sxy += dx * (values[j] - my)
    return sxy / sxx if sxx > 0 else 0.0


def _rel(delta: float, base: float) -> float:
    return delta / abs(base) if base != 0 else math.copysign(math.inf, delta) if delta else 0.0


def detect_overfitting(train: Sequence[Point], val: Sequence[Point], *,
                       higher_is_better: bool = False) -> OverfitFinding | None:
    """Return an :class:`OverfitFinding` if validation worsened while train improved, else None.

    ``train`` and ``val`` are ``(step, value)`` sequences sorted by step, possibly at different
    cadences. Only the given points are used (online); the result is deterministic.
    """
    sign = -1.0 if higher_is_better else 1.0
    vs, vv = _finite(val, sign)
    ts, tv = _finite(train, sign)
    m = len(vv)
    if m < MIN_VAL or len(tv) < 2:
        return None

    # 1. smoothed validation (centred median of 3; ends use what is available) and its best.
    sm = [0.0] * m
    for i in range(m):
        lo, hi = max(0, i - 1), min(m, i + 2)
        if i == m - 1:
            lo = max(0, m - 3)
        sm[i] = _median(vv[lo:hi])
    best = min(range(m), key=sm.__getitem__)
    best_val = sm[best]
    if m - 1 - best < MIN_AFTER:
        return None

    # 3. size and persistence of the rise.
    recent = vv[-WINDOW:]
    if min(recent) <= best_val:  # sustained: every recent point is worse than the best
        return None
    now = sum(recent) / len(recent)
    rise = now - best_val
    val_rise = _rel(rise, best_val)
    if val_rise < MIN_RISE:
        return None
    # 2. significance against the curve's own noise, allowing for both extremes (the best is a
    # minimum over m points, "now" the latest of m repeated looks): see the module docstring.
    sigma = _noise(vv)
    extreme = math.sqrt(2.0 * math.log(m / ALPHA))
    if rise < sigma * (1.0 / math.sqrt(WINDOW) + MEDIAN3_SD) * extreme:
        return None

    # 4. train over the same span: around the best step vs. the latest span.
    b_lo = vs[max(0, best - 1)]
    b_hi = vs[min(m - 1, best + 1)]
    t_best, first = _mean_between(ts, tv, b_lo, b_hi)
    if t_best is None:  # sparse train: nearest train point at or before the best step
        j = max(0, min(first, len(ts)) - 1)
        t_best = tv[j]
    t_now, _ = _mean_between(ts, tv, vs[-WINDOW], math.inf, first)
    if t_now is None:
        t_now = tv[-1]
    train_change = _rel(t_now - t_best, t_best)
    if train_change > -TRAIN_DROP or t_now >= t_best:
        return None
    if _slope_after(ts, tv, vs[-WINDOW - 1] if m > WINDOW else vs[0], first) >= 0.0:
        return None  # train has turned up: divergence, not overfitting

    best_step = int(vs[best])
    step = int(vs[-1])
    if higher_is_better:
        reason = (f"val down {val_rise:.0%} since step {best_step} "
                  f"while train rose {-train_change:.0%}")
    else:
        reason = (f"val up {val_rise:.0%} since step {best_step} "
                  f"while train fell {-train_change:.0%}")
    return OverfitFinding(best_step=best_step, step=step, val_rise=val_rise,
                          train_change=train_change, reason=reason)
