"""Online overfitting detection on a (train, validation) metric pair.

The detector replays the validation points in the order they were logged and keeps one state,
"overfitting" or not, the way a watcher would have seen it; its verdict on a history is that
state after the last point. So the verdict is a function of the history alone (the monitor that
watched the run, a fresh monitor and ``status`` agree) and it does not flicker: once raised, a
warning stays until validation makes a new best, falls back near it, or train gets worse.

Only the order of steps is used (never their spacing) and only relative sizes (never the scale),
so the same values logged at other steps, or multiplied by a positive constant, get the same
verdict at the same point. Non-finite values are dropped.

At each validation point, with ``b`` the best (lowest) value of the validation curve smoothed by
a running median of 3 and ``now`` the mean of the last ``W`` points (up to ``W_MAX``, half the
points since the best, for a long rise: a longer window is a quieter one):

1. **Enough evidence**: at least ``MIN_VAL`` points (the noise estimate below needs two second
   differences), and ``MIN_AFTER`` after the best.
2. **Sustained**: every one of the last ``W`` points is above ``b``.
3. **Large enough**: ``level - b >= MIN_RISE * |b|``, 10%: the rise the overfitting labels
   of the curve sets call overfitting (``../shared/overfit-curves/README.md``). Smaller rises
   are common in healthy runs and come back (the bump of epoch-wise double descent in
   regressors, a few percent of wandering on a plateau). ``level`` is the value at the end
   of the least-squares line through the window of "now": where validation is, not where it
   was on average (the mean of w points lags a rise by (w - 1)/2 and overstates a passed
   spike). **Not coming back**: a new warning is not raised while that line falls by more
   than ``FALLING_Z`` standard errors of its slope (for per-point noise ``sigma``, below):
   validation that is on its way back down is not rising, however far above its best it
   still is.
4. **Beyond the noise**, judged on the mean (the quieter):
   ``now - b >= sigma * (1/sqrt(W) + 0.67) * sqrt(2 ln(k / ALPHA))`` with ``sigma`` the
   curve's own per-point noise (a robust MAD of its second differences, which a straight or
   slowly bending trend does not inflate) and ``k`` the points seen. Under pure
   noise both ends of the rise are extremes of k looks (``b`` a minimum of k medians of 3, whose
   spread is ~0.67 sigma; "now" the highest of k window means), and the maximum of k normal
   variables exceeds sqrt(2 ln(k/alpha)) deviations with probability <= alpha: a flat noisy
   plateau of any length rarely alarms. A steep rise is believed sooner: ``FAST_AFTER`` points
   after the best suffice when the rise is at least ``FAST_RISE`` of ``|b|`` and beyond the
   noise counted over the looks since the best only (sqrt(2 ln((after + 1) / ALPHA)), at least
   ``FAST_Z``). A long, slow rise may show in its slope instead: from ``SLOPE_AFTER`` points
   after the best, the least-squares slope through all the points since the best, in units of
   its standard error for per-point noise ``sigma``, at least sqrt(2 ln(k / ALPHA)), with and
   without the last point (one spike at the end of a line tilts it most). The mean of "now"
   compares a few points with ``b``; the slope uses every point of the rise.
5. **Train has not got worse**: the train level now (the median of the mean train value in each
   of the last ``W`` validation intervals) is at most its level around the best step plus
   ``TRAIN_Z`` times the noise of those interval levels. Flat, converged training counts;
   training that turned up with validation is a blow-up (divergence), not overfitting.

While the window of "now" still holds the bottom of the V (one of its last ``W`` points is not
above ``b``), 2-4 cannot judge yet, and a steep rise out of a V would alarm a few points late:
its own curvature, and the V's, inflate sigma. Such a **steep run** is judged on its own points:
every point since the bottom (the best or the point after it) higher than the one before and
above ``b``, at least ``FAST_AFTER`` of them and ``FAST_RISE`` in size; their mean (the last
``W`` at most) above ``b`` by the fast bound of 4 with the curve's noise from its third
differences (1.4826 MAD / sqrt(20)), which cancel a quadratic trend, so the curvature of the
descent and of the V hardly inflates it; train's latest interval not above its level at the
best, nor above the interval before it: a learning-rate bump, a bad batch or the bump of
double descent moves train with validation.

Once raised, the state holds while the rise stays above ``HOLD`` of both thresholds (or the
slope above ``HOLD`` of its bound) and train has not got worse; a new best clears it.

``higher_is_better`` metrics are judged as their error: ``1 - v`` for values within [0, 1]
(accuracy), ``100 - v`` within [0, 100] (percentages), else ``-v``; the reported rise and
change are then those of the error.

Cost: linear in the train points (two list passes, prefix sums, a binary search per validation
point) plus O(m log m) for the m validation points; standard library only.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import attrgetter, itemgetter, mul
from typing import Any, Protocol, TypeVar

__all__ = ["OverfitFinding", "best_point", "columns", "detect_overfitting", "quiet_reason",
           "replay_overfitting"]

# Rule constants: generic statistical choices, not fitted to individual curves.
MIN_VAL = 4  # fewer validation points than this: no verdict (a noise estimate needs two
#              second differences; one is no estimate of a spread)
MIN_AFTER = 3  # validation points that must follow the best one (FAST_AFTER for steep rises)
W = 3  # validation points making up "now" (at least) and the "sustained" test
MIN_RISE = 0.10  # relative rise of validation above its best (the labels' overfitting)
ALPHA = 0.1  # chance that pure noise of any length ever passes the significance test
MEDIAN3_SD = 0.67  # standard deviation of a median of 3 normal values, in units of sigma
FAST_AFTER = 2  # a steep rise may be believed this many points after the best...
FAST_RISE = 0.15  # ... when it is at least this large (relative) ...
FAST_Z = 2.0  # ... and this many noise deviations
TRAIN_Z = 0.5  # train "got worse": above its level at the best by half its noise
TRAIN_NOISE_SPAN = 20  # validation intervals the train noise is estimated over
TREND_SPAN = 10  # train interval levels tested for an upturn (at most)
TREND_Z = 2.0  # Mann-Kendall z above which train is turning up
W_MAX = 6  # ... and at most this many for a long rise (half the points since the best)
FALLING_Z = 1.0  # no new warning while the window's line falls by this many standard errors
HOLD = 0.5  # a raised warning holds while the rise stays above this share of the thresholds
SLOPE_AFTER = 10  # points since the best from which the slope of the rise is tested too

# The value at the end of the least-squares line through w equally spaced points, as weights
# on the points: 1/w + 12 (k - h) h / (w (w^2 - 1)) for point k of 0..w-1, h = (w - 1) / 2.
_END_WEIGHTS = {w: tuple(1.0 / w + 12.0 * (k - 0.5 * (w - 1)) * 0.5 * (w - 1) / (w * (w * w - 1))
                         for k in range(w))
                for w in range(2, max(W, W_MAX) + 1)}


@dataclass(frozen=True)
class OverfitFinding:
    """Evidence that validation got worse since ``best_step`` while train did not.

    ``best_step``/``best_value`` are the series' best point (:func:`best_point`, the one shown
    everywhere); ``val_rise`` > 0 is how much worse validation is now than its best (relative);
    ``train_change`` <= 0 means train improved or held since then. For ``higher_is_better``
    metrics both are those of the error (see the module docstring).
    """

    best_step: int
    step: int
    val_rise: float
    train_change: float
    reason: str
    best_value: float | None = None
    since_step: int | None = None  # the step at which the warning was raised


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


def columns(points: Sequence[Any], *, finite: bool = True
            ) -> tuple[Sequence[float], Sequence[float]]:
    """(steps, values) of a series given as (step, value) tuples or Points, in C-speed list
    passes (100,000 points in a few ms). ``finite``: NaN and infinite values dropped. Points
    that are not numbers are dropped too (the slow path)."""
    if not points:
        return [], []
    try:
        if hasattr(points[0], "step"):
            steps = list(map(attrgetter("step"), points))
            values = list(map(attrgetter("value"), points))
        else:
            steps = list(map(itemgetter(0), points))
            values = list(map(itemgetter(1), points))
        check = sum(values) + sum(steps)  # TypeError on anything that is not a number
    except (TypeError, IndexError, AttributeError):
        return _columns_slowly(points, finite)
    if not math.isfinite(check):  # rare: NaN or infinities somewhere
        if not all(math.isfinite(x) for x in steps):
            return _columns_slowly(points, finite)
        if finite:
            keep = [i for i, v in enumerate(values) if math.isfinite(v)]
            steps = [steps[i] for i in keep]
            values = [values[i] for i in keep]
    return steps, values


def _columns_slowly(points: Sequence[Any], finite: bool) -> tuple[list[float], list[float]]:
    steps: list[float] = []
    values: list[float] = []
    for p in points:
        try:
            s, v = (p.step, p.value) if hasattr(p, "step") else (p[0], p[1])
            s, v = int(s), float(v)
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        if finite and not math.isfinite(v):
            continue
        steps.append(s)
        values.append(v)
    return steps, values


def _as_error(values: Sequence[float]) -> list[float]:
    """A higher-is-better metric as a lower-is-better one (see the module docstring)."""
    if values and min(values) >= 0.0:
        top = max(values)
        if top <= 1.0:
            return [1.0 - v for v in values]
        if top <= 100.0:
            return [100.0 - v for v in values]
    return [-v for v in values]


def _median(sorted_values: Sequence[float]) -> float:
    n = len(sorted_values)
    h = n // 2
    return sorted_values[h] if n % 2 else 0.5 * (sorted_values[h - 1] + sorted_values[h])


def _med3(a: float, b: float, c: float) -> float:
    if a > b:
        a, b = b, a
    if b > c:
        b = c
    return a if a > b else b


def _train_levels(val_steps: Sequence[float], train_steps: Sequence[float],
                  train_values: Sequence[float]) -> list[float | None]:
    """The mean train value in each validation interval (previous validation step, this one],
    carried forward over intervals with no train point (sparse train logging); None before the
    first train point."""
    levels: list[float | None] = []
    lo = 0
    last: float | None = None
    for s in val_steps:
        hi = bisect.bisect_right(train_steps, s, lo)
        if hi > lo:
            last = sum(train_values[lo:hi]) / (hi - lo)
            lo = hi
        levels.append(last)
    return levels


def detect_overfitting(train: Sequence[Any], val: Sequence[Any], *,
                       higher_is_better: bool = False) -> OverfitFinding | None:
    """An :class:`OverfitFinding` if validation has worsened while train has not, else None.

    ``train`` and ``val`` are ``(step, value)`` tuples or Points sorted by step, possibly at
    different cadences. Only the given points are used (online); the result is deterministic.
    """
    vs, raw = columns(val)
    ts, tv = columns(train)
    if len(raw) < MIN_VAL or not tv:
        return None
    vv, levels = _as_judged(vs, raw, ts, tv, higher_is_better)
    found = next(_states(vv, levels))
    if found is None:
        return None
    raised_at, state = found
    return _finding(vs, raw, vv, higher_is_better, raised_at, state)


def _as_judged(vs: Sequence[float], raw: Sequence[float], ts: Sequence[float],
               tv: Sequence[float], higher_is_better: bool
               ) -> tuple[list[float], list[float | None]]:
    """Validation as an error (lower is better) and the train level of each of its intervals."""
    vv = _as_error(raw) if higher_is_better else list(raw)
    return vv, _train_levels(vs, ts, _as_error(tv) if higher_is_better else tv)


def replay_overfitting(train: Sequence[Any], val: Sequence[Any], *,
                       higher_is_better: bool = False) -> list[OverfitFinding | None]:
    """The verdict after each (finite) validation point, as a watcher logging along would have
    seen it, in one pass: entry i is what :func:`detect_overfitting` gives on the validation
    points up to i and the train points up to that step. (For ``higher_is_better`` the error
    transform is chosen on the whole series; it is the same on every prefix for accuracies in
    [0, 1] and percentages.) For scoring and tests: the monitor asks only for the last one."""
    vs, raw = columns(val)
    ts, tv = columns(train)
    if not raw or not tv:
        return [None] * len(raw)
    vv, levels = _as_judged(vs, raw, ts, tv, higher_is_better)
    pick = max if higher_is_better else min
    out: list[OverfitFinding | None] = []
    best_i = 0
    for t, found in enumerate(_states(vv, levels, every=True)):
        if pick(raw[t], raw[best_i]) != raw[best_i]:
            best_i = t
        if found is None:
            out.append(None)
            continue
        raised_at, state = found
        out.append(_finding(vs, raw, vv, higher_is_better, raised_at, state, best_i=best_i,
                            last=t))
    return out


def _states(vv: list[float], levels: list[float | None], every: bool = False,
            why: list[tuple[str, float]] | None = None
            ) -> Iterator[tuple[int, tuple[float, float]] | None]:
    """The detector's state after each validation point (every=True) or after the last only:
    (the index where the current warning was raised, (the "now" level, train change)) or None.
    ``vv`` are validation values as errors (lower is better), ``levels`` the train levels.
    ``why``: gets (the test that kept the last point quiet, the relative rise then); see
    :data:`QUIET`."""
    m = len(vv)
    if m < MIN_VAL and not every:
        yield None
        return
    sums = [0.0, *accumulate(vv)]
    isums = [0.0, *accumulate(map(mul, range(m), vv))]  # prefix sums of i * vv[i]

    d2: list[float] = []  # sorted |second differences| of validation
    d3: list[float] = []  # |third differences| of validation (the steep run's noise), unsorted:
    #                       read only at the rare points where a steep run is possible
    run_start = 0  # where the strictly increasing run of validation ending at t starts
    t_diffs: list[float] = []  # |second differences| of the train levels
    best_final, best_final_i = math.inf, -1  # lowest smoothed value whose window is complete
    raised_at: int | None = None  # index where the current warning was raised
    raised_best = -1
    state: tuple[float, float] | None = None  # (the "now" level, train change) while raised
    gate, rel = "few", 0.0  # the test the latest point failed (QUIET), and its rise
    for t in range(m):
        x = vv[t]
        if t >= 1:  # the smoothed value at t - 1 is final now
            j = t - 1
            z = 0.5 * (vv[0] + x) if j == 0 else _med3(vv[j - 1], vv[j], x)
            if z < best_final:
                best_final, best_final_i = z, j
        if t >= 2:
            bisect.insort(d2, abs(vv[t - 2] - 2.0 * vv[t - 1] + x))
        if t >= 3:
            d3.append(abs(vv[t - 3] - 3.0 * vv[t - 2] + 3.0 * vv[t - 1] - x))
        if t >= 1 and not x > vv[t - 1]:
            run_start = t
        if t >= 2:
            a, c, e = levels[t - 2], levels[t - 1], levels[t]
            if a is not None and c is not None and e is not None:
                t_diffs.append(abs(a - 2.0 * c + e))
        # the trailing smoothed value at t
        zt = _med3(vv[t - 2], vv[t - 1], x) if t >= 2 else 0.5 * (vv[0] + x)
        b, bi = (zt, t) if zt < best_final else (best_final, best_final_i)
        if raised_at is not None and bi != raised_best:
            raised_at = None  # validation made a new best
        if t + 1 < MIN_VAL:
            if every:
                yield None
            continue
        after = t - bi
        w = min(max(W, after // 2), W_MAX, after)  # longer rises: a longer, quieter "now"
        if w < 1:
            raised_at, state = None, None
            gate = "best"
            if every:
                yield None
            continue
        now = (sums[t + 1] - sums[t + 1 - w]) / w
        rise = now - b
        # The size of the rise is read where the window ends, on the least-squares line
        # through it: the mean lags a rise by (w - 1) / 2 points and overstates a spike
        # that has passed. Its significance (below) is judged on the mean, the quieter.
        level = sum(map(mul, _END_WEIGHTS[w], vv[t + 1 - w:t + 1])) if w >= 2 else now
        size = level - b
        rel = size / abs(b) if b else (math.inf if size > 0 else 0.0)
        hold = HOLD if raised_at is not None else 1.0
        ok = rel >= MIN_RISE * hold
        gate = "small"
        sigma = 1.4826 * _median(d2) / math.sqrt(6.0) if d2 else 0.0
        in_v = False  # the window of "now" still holds the bottom of the V (a point <= b)
        if ok and raised_at is None:
            ok, gate = after >= FAST_AFTER, "soon"
            if ok:
                in_v = min(vv[t + 1 - min(w, W):t + 1]) <= b
                ok, gate = not in_v, "touch"
            if ok and w >= 2:
                # Not while validation is on its way back down: the slope of the window's
                # line, (level - now) / ((w - 1) / 2), against its standard error.
                se = sigma / math.sqrt(w * (w * w - 1) / 12.0)
                ok = (level - now) / (0.5 * (w - 1)) >= -FALLING_Z * se
                gate = "falling"
        if ok:
            gate = "noise"
            spread = sigma * (1.0 / math.sqrt(w) + MEDIAN3_SD)
            z_full = math.sqrt(2.0 * math.log((t + 1) / ALPHA))
            full = spread * z_full
            if raised_at is not None:
                ok = rise >= full * hold or (after >= SLOPE_AFTER and _slope_z(
                    sums, isums, bi + 1, t, sigma) >= z_full * hold)
            else:
                # A steep rise is believed sooner, against the looks taken since the best.
                fast = spread * max(FAST_Z, math.sqrt(2.0 * math.log((after + 1) / ALPHA)))
                ok = (after >= MIN_AFTER and rise >= full) or (rel >= FAST_RISE and rise >= fast)
                if not ok and after >= SLOPE_AFTER:
                    # A long, slow rise: the slope of the line through the points since the
                    # best, at the same significance; it must hold without the last point too
                    # (one spike at the end of a line tilts it most).
                    ok = min(_slope_z(sums, isums, bi + 1, t, sigma),
                             _slope_z(sums, isums, bi + 1, t - 1, sigma)) >= z_full
        elif in_v and rel >= FAST_RISE:
            ok = _steep_run(vv, sums, levels, t_diffs, d3, b, bi, t, run_start)
        change = 0.0
        if ok:
            ok, change = _train_held(levels, t_diffs, bi, t, after, raised_at is None)
            gate = "no train" if math.isnan(change) else "train"
        if ok:
            if raised_at is None:
                raised_at, raised_best = t, bi
            state = (now, change)
        else:
            raised_at, state = None, None
        if every:
            yield None if state is None or raised_at is None else (raised_at, state)
    if why is not None and m >= MIN_VAL and (state is None or raised_at is None):
        why.append((gate, rel if gate not in ("best", "no train") else 0.0))
    if not every:
        yield None if state is None or raised_at is None else (raised_at, state)


# Why a pair has no warning, for the details screen: the test the last point failed.
QUIET = {
    "few": "too few validation points to judge yet ({n}; a verdict needs {need})",
    "best": "validation is at or near its best",
    "small": "validation is {worse}; a warning needs {min_rise}",
    "soon": "validation rose just after its best: too soon to tell",
    "touch": "validation was back near its best within its last {w} points",
    "falling": "validation is {worse}, but coming back down",
    "noise": "validation is {worse}, within its own noise so far",
    "train": "validation is {worse}, but train got worse too "
             "(a blow-up, not overfitting)",
    "no train": "no train values logged near the best validation point and now",
}


def quiet_reason(train: Sequence[Any], val: Sequence[Any], *,
                 higher_is_better: bool = False) -> str | None:
    """Why :func:`detect_overfitting` finds nothing on these series (one plain sentence), or
    None when it finds overfitting. The rise is the detector's own: the end of the line through
    the latest points against the best of the curve smoothed by a median of 3."""
    vs, raw = columns(val)
    ts, tv = columns(train)
    if len(raw) < MIN_VAL:
        return QUIET["few"].format(n=len(raw), need=MIN_VAL)
    if not tv:
        return QUIET["no train"]
    why: list[tuple[str, float]] = []
    found = next(_states(*_as_judged(vs, raw, ts, tv, higher_is_better), why=why))
    if found is not None or not why:
        return None
    gate, rise = why[0]
    if rise < 0.005 and gate in ("small", "touch", "soon"):
        gate = "best"
    worse = (f"{rise:.0%} worse than its best" if math.isfinite(rise)
             else "worse than its best of 0")
    return QUIET[gate].format(worse=worse, min_rise=f"{MIN_RISE:.0%}", w=W)


def _percent(rise: float, best: float) -> str:
    """A relative change as a percentage; a change from a best of exactly 0 (a zero loss, a
    perfect validation accuracy) has none: "from <best>" instead."""
    return f"{rise:.0%}" if math.isfinite(rise) else f"from {best:g}"


def _steep_run(vv: list[float], sums: list[float], levels: list[float | None],
               t_diffs: list[float], d3: list[float], b: float, bi: int, t: int,
               run_start: int) -> bool:
    """A steep, steady rise out of the V, judged on its own points while the window of "now"
    still holds the V's bottom (see the module docstring)."""
    r = max(run_start, bi)
    if len(d3) < 2 or r > bi + 1 or t - r < FAST_AFTER or vv[r] > b or min(vv[r + 1:t + 1]) <= b:
        return False
    a, c = levels[t - 1], levels[t]
    if a is not None and c is not None and c > a:
        return False  # train rose in the latest interval too: an optimisation bump
    wf = min(t - r, W)
    s3 = 1.4826 * _median(sorted(d3)) / math.sqrt(20.0)
    steep = s3 * (1.0 / math.sqrt(wf) + MEDIAN3_SD) * max(
        FAST_Z, math.sqrt(2.0 * math.log((t - bi + 1) / ALPHA)))
    return ((sums[t + 1] - sums[t + 1 - wf]) / wf - b >= steep
            and _train_held(levels, t_diffs, bi, t, 1, True)[0])


def _slope_z(sums: list[float], isums: list[float], i0: int, i1: int, sigma: float) -> float:
    """The least-squares slope of vv[i0..i1] in units of its standard error for per-point noise
    ``sigma`` (from the prefix sums of vv and of i * vv: constant time)."""
    n = i1 - i0 + 1
    if n < 3:
        return 0.0
    sy = sums[i1 + 1] - sums[i0]
    sxy = isums[i1 + 1] - isums[i0] - 0.5 * (i0 + i1) * sy
    if sigma <= 0.0:
        return math.inf if sxy > 0 else 0.0
    return sxy / (sigma * math.sqrt(n * (n * n - 1) / 12.0))


def _train_held(levels: list[float | None], t_diffs: list[float], bi: int, t: int,
                after: int, raising: bool) -> tuple[bool, float]:
    """(train has not got worse since the best index bi, its relative change since then; NaN
    when there are no train values now or around the best).

    Worse: its level now (the median of the last W interval levels) is above its level around
    the best by more than its noise allows; or, to raise a warning, it is turning up (a
    significant upward trend over the intervals since the best, by Mann-Kendall's test): val and
    train rising together is a blow-up in the making, not overfitting."""
    now = sorted(x for x in levels[t + 1 - min(W, after):t + 1] if x is not None)
    around = sorted(x for x in levels[max(0, bi - 1):bi + 2] if x is not None)
    if not now or not around:
        return False, math.nan  # no train values to compare: nothing to judge
    level_now, level_best = _median(now), _median(around)
    recent = sorted(t_diffs[-TRAIN_NOISE_SPAN:])
    noise = 1.4826 * _median(recent) / math.sqrt(6.0) if len(recent) >= 3 else 0.0
    change = (level_now - level_best) / abs(level_best) if level_best else 0.0
    if level_now > level_best + TRAIN_Z * noise:
        return False, change
    if raising:
        since = [x for x in levels[max(0, bi - 1, t + 1 - TREND_SPAN):t + 1] if x is not None]
        if _rising(since):
            return False, change
    return True, change


def _rising(xs: Sequence[float]) -> bool:
    """Mann-Kendall: a significant (one-sided 2.3%) upward trend in xs, with distinct values."""
    k = len(xs)
    if k < 4:
        return False
    score = 0
    for i in range(k - 1):
        a = xs[i]
        for j in range(i + 1, k):
            b = xs[j]
            score += (b > a) - (b < a)
    var = k * (k - 1) * (2 * k + 5) / 18.0
    return (score - 1) / math.sqrt(var) >= TREND_Z


def _finding(vs: Sequence[float], raw: Sequence[float], vv: list[float], higher_is_better: bool,
             raised_at: int, state: tuple[float, float], best_i: int | None = None,
             last: int = -1) -> OverfitFinding:
    """The finding, told against the series' best point (the one shown everywhere), as of
    the validation point at index ``last`` (best_i: the best index up to there)."""
    now, change = state
    if best_i is None:
        pick = max if higher_is_better else min
        best_i = pick(range(len(raw)), key=raw.__getitem__)  # the first best on a tie
    best = vv[best_i]
    rise = (now - best) / abs(best) if best else math.inf
    best_step = int(vs[best_i])
    trend = "held" if change > -0.005 else (f"rose {-change:.0%}" if higher_is_better
                                            else f"fell {-change:.0%}")
    word = "down" if higher_is_better else "up"
    return OverfitFinding(best_step=best_step, step=int(vs[last]), val_rise=rise,
                          train_change=change,
                          reason=f"val {word} {_percent(rise, raw[best_i])} since step "
                                 f"{best_step} while train {trend}",
                          best_value=raw[best_i], since_step=int(vs[raised_at]))
