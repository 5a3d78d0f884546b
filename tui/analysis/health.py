"""Run health: diverged, stalled, overfitting, failed and killed runs, as short warnings.

Everything here is pure (no I/O, no UI toolkit, standard library only), deterministic and
linear in the number of points given (overfitting adds the O(m log m) of
:func:`mlflow_tui.analysis.overfit.detect_overfitting` on the m validation points).

- :func:`diverged`: the latest value(s) of a series are NaN/inf, or a loss exploded (its last
  few finite values all far above its best after it had improved -- sustained, not one spike).
- :func:`stalled`: a RUNNING run has been silent for much longer than its own usual logging
  interval (and at least a minimum time).
- :func:`assess`: all of the above plus the run's status and overfitting, most severe first.
- :func:`badge`: short text for a table column.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from mlflow_tui.analysis.overfit import OverfitFinding, columns, detect_overfitting
from mlflow_tui.analysis.pairing import MetricPair
from mlflow_tui.tracking.models import Point, Run, RunStatus

__all__ = [
    "DEFAULT_SETTINGS",
    "HealthSettings",
    "HealthWarning",
    "Kind",
    "SEVERITY",
    "assess",
    "assess_pairs",
    "badge",
    "diverged",
    "format_duration",
    "stalled",
]

EXPLODE_POINTS = 3  # the last K finite values must all have exploded (sustained, not a spike)
RECENT_TIMESTAMPS = 64  # distinct recent timestamps used to estimate the logging interval
BURST_MS = 1000  # timestamps this close to the start of a logging event belong to it
MIN_EVENTS = 3  # fewer logging events than this: the usual interval is unknown
ALSO_NAMES = 3  # at most this many other diverged metric names in a reason


class Kind(str, Enum):
    OVERFITTING = "overfitting"
    DIVERGED = "diverged"
    STALLED = "stalled"
    FAILED = "failed"
    KILLED = "killed"


SEVERITY: dict[Kind, int] = {
    Kind.FAILED: 4,
    Kind.DIVERGED: 3,
    Kind.OVERFITTING: 2,
    Kind.STALLED: 2,
    Kind.KILLED: 1,
}

_BADGE: dict[Kind, str] = {
    Kind.OVERFITTING: "⚠ overfit",
    Kind.DIVERGED: "✘ diverged",
    Kind.STALLED: "⏸ stalled",
    Kind.FAILED: "✘ failed",
    Kind.KILLED: "■ killed",
}


@dataclass(frozen=True)
class HealthWarning:
    kind: Kind
    reason: str  # one human line, e.g. "train_loss is NaN since step 812"
    step: int | None = None  # where it became true, if known
    best_step: int | None = None  # overfitting: step of the best validation value
    severity: int = 1  # for sorting: failed 4, diverged 3, overfitting 2, stalled 2, killed 1
    # Overfitting: the (train, validation) keys judged, and the best validation value (the
    # same point as the table's "Best val": see best_point).
    pair: tuple[str, str] | None = None
    best_value: float | None = None


@dataclass(frozen=True)
class HealthSettings:
    # Stalled when silent for more than stall_factor x the run's own typical logging
    # interval, and for at least stall_min_seconds.
    stall_factor: float = 10.0
    stall_min_seconds: float = 300.0
    # Diverged when a loss's last few finite values all exceed explode_factor x its best
    # (minimum) value, after it had improved (best below the first value).
    explode_factor: float = 10.0


DEFAULT_SETTINGS = HealthSettings()


def _warning(kind: Kind, reason: str, step: int | None = None,
             best_step: int | None = None, pair: tuple[str, str] | None = None,
             best_value: float | None = None) -> HealthWarning:
    return HealthWarning(kind=kind, reason=reason, step=step, best_step=best_step,
                         severity=SEVERITY[kind], pair=pair, best_value=best_value)


def _nonfinite_name(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "inf" if value > 0 else "-inf"


def format_duration(seconds: float) -> str:
    """Human duration: "0.5s", "45s", "14m", "2m30s", "3h", "3h20m", "2d4h"."""
    seconds = max(0.0, float(seconds))
    if seconds < 1:
        return f"{seconds:.1f}s"
    total = int(round(seconds))
    if total < 60:
        return f"{total}s"
    if total < 3600:
        m, s = divmod(total, 60)
        return f"{m}m" if s == 0 or m >= 10 else f"{m}m{s:02d}s"
    if total < 86400:
        h, m = divmod(total // 60, 60)
        return f"{h}h" if m == 0 else f"{h}h{m:02d}m"
    d, h = divmod(total // 3600, 24)
    return f"{d}d" if h == 0 else f"{d}d{h}h"


def diverged(points: Sequence[tuple[int, float]] | Sequence[Point], *, name: str = "loss",
             exploding: bool = True,
             settings: HealthSettings = DEFAULT_SETTINGS) -> HealthWarning | None:
    """A DIVERGED warning if the series is broken *now*, else None.

    ``points`` are ``(step, value)`` sorted by step. Broken means either

    - its latest value is NaN or +/-inf (``step`` is where the trailing run of non-finite values
      began); a non-finite value in the middle that was followed by finite ones is not reported;
    - or, when ``exploding`` (loss-like series), its last ``EXPLODE_POINTS`` finite values all
      exceed ``explode_factor`` x its best (minimum) value and its first value, after having
      improved (best below first). For a best value <= 0 the ratio is meaningless, so the test
      becomes "rose above the best by more than explode_factor x the total improvement".
    """
    steps, values = columns(points, finite=False)
    if not values:
        return None
    last_value = values[-1]
    if not math.isfinite(last_value):
        start = len(values) - 1
        while start > 0 and not math.isfinite(values[start - 1]):
            start -= 1
        step = int(steps[start])
        return _warning(Kind.DIVERGED, f"{name} is {_nonfinite_name(last_value)} since step {step}",
                        step=step)
    if not exploding:
        return None
    if not math.isfinite(sum(values)):
        keep = [i for i, v in enumerate(values) if math.isfinite(v)]
        steps, values = [steps[i] for i in keep], [values[i] for i in keep]
    n = len(values)
    if n < EXPLODE_POINTS + 1:
        return None
    first = values[0]
    best = min(values)
    best_step = int(steps[values.index(best)])
    if not best < first:  # never improved: nothing to blow up from
        return None
    factor = settings.explode_factor

    def exploded(v: float) -> bool:
        if v <= first:
            return False
        if best > 0:
            return v > factor * best
        return v - best > factor * (first - best)

    if not all(exploded(v) for v in values[n - EXPLODE_POINTS:]):
        return None
    start = n - EXPLODE_POINTS
    while start > 0 and exploded(values[start - 1]):
        start -= 1
    step = int(steps[start])
    return _warning(Kind.DIVERGED,
                    f"{name} exploded to {values[-1]:.3g} since step {step} "
                    f"(best {best:.3g} at step {best_step})", step=step)


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])


def _typical_interval_ms(timestamps: Sequence[int]) -> float | None:
    """Median gap between recent logging events, or None with fewer than MIN_EVENTS events.

    Timestamps within BURST_MS of an event's first timestamp belong to that event (several
    metrics logged one after another at the same step), so they do not shrink the median.
    """
    recent = sorted(heapq.nlargest(RECENT_TIMESTAMPS, set(timestamps)))
    events: list[int] = []
    for t in recent:
        if not events or t - events[-1] >= BURST_MS:
            events.append(t)
    if len(events) < MIN_EVENTS:
        return None
    return _median([events[i] - events[i - 1] for i in range(1, len(events))])


def stalled(run_status: RunStatus | str, latest_timestamps_ms: Sequence[int], now_ms: int,
            settings: HealthSettings = DEFAULT_SETTINGS, *, start_ms: int | None = None,
            last_ms: int | None = None) -> HealthWarning | None:
    """A STALLED warning if a RUNNING run has been silent for too long, else None.

    ``latest_timestamps_ms`` are the (ms) timestamps of the run's points at hand, e.g. of its
    charted series; their recent gaps give the run's usual logging interval. ``last_ms`` is
    any other known time of activity (e.g. the newest timestamp among the run's latest
    metrics) and counts only towards "last heard from". With no timestamp at all the silence
    is measured from ``start_ms`` (the run start); with neither, nothing is reported.

    Silent for more than ``max(stall_factor * interval, stall_min_seconds)`` (just
    ``stall_min_seconds`` when the interval is unknown) -> warning.
    """
    status = run_status if isinstance(run_status, RunStatus) else RunStatus.parse(run_status)
    if status is not RunStatus.RUNNING:
        return None
    stamps = [int(t) for t in latest_timestamps_ms if t and t > 0]
    latest_candidates = list(stamps)
    if last_ms is not None and last_ms > 0:
        latest_candidates.append(int(last_ms))
    interval = _typical_interval_ms(stamps)
    min_ms = settings.stall_min_seconds * 1000.0
    threshold = max(settings.stall_factor * interval, min_ms) if interval else min_ms

    if latest_candidates:
        # A run is not silent for longer than it has existed: points logged with older
        # timestamps (replayed, resumed, another clock) do not make a new run stalled.
        heard = max([*latest_candidates, start_ms or 0])
        silence = now_ms - heard
        if silence <= threshold:
            return None
        if start_ms and heard == start_ms > max(latest_candidates):
            return _warning(Kind.STALLED, "no new metric since it started "
                            f"{format_duration(silence / 1000.0)} ago")
        reason = f"no new metric for {format_duration(silence / 1000.0)}"
        if interval:
            reason += f" (logs every ~{format_duration(interval / 1000.0)})"
        return _warning(Kind.STALLED, reason)
    if start_ms is None or start_ms <= 0:
        return None
    silence = now_ms - start_ms
    if silence <= threshold:
        return None
    return _warning(Kind.STALLED,
                    f"no metric logged in {format_duration(silence / 1000.0)} since start")


def _is_system(key: str) -> bool:
    return key.lower().startswith(("system/", "system.", "sys/"))


def _named_overfit_reason(reason: str, train_key: str, val_key: str) -> str:
    """Put the real metric names into detect_overfitting's "val ... while train ..." reason."""
    if reason.startswith("val ") and " while train " in reason:
        head, tail = reason.split(" while train ", 1)
        return f"{val_key} {head[4:]} while {train_key} {tail}"
    return f"{val_key} vs {train_key}: {reason}"


def _merge_diverged(found: list[tuple[str, HealthWarning]]) -> HealthWarning | None:
    """One DIVERGED warning: the earliest (then first found), naming the others."""
    if not found:
        return None
    order = sorted(range(len(found)),
                   key=lambda i: (found[i][1].step is None, found[i][1].step or 0, i))
    key, main = found[order[0]]
    others = [found[i][0] for i in order[1:]]
    if not others:
        return main
    also = ", ".join(others[:ALSO_NAMES]) + (", ..." if len(others) > ALSO_NAMES else "")
    return _warning(Kind.DIVERGED, f"{main.reason} (also {also})", step=main.step)


def assess(run: Run, train: Sequence[tuple[int, float]], val: Sequence[tuple[int, float]], *,
           now_ms: int, timestamps_ms: Sequence[int] = (), higher_is_better: bool = False,
           train_key: str = "train_loss", val_key: str = "val_loss",
           settings: HealthSettings = DEFAULT_SETTINGS) -> list[HealthWarning]:
    """:func:`assess_pairs` for one pair given as two ``(step, value)`` series."""
    pair = MetricPair(train_key, val_key, higher_is_better)
    series = {train_key: train, val_key: val}
    return assess_pairs(run, [pair], series, now_ms=now_ms, timestamps_ms=timestamps_ms,
                        settings=settings)


def assess_pairs(run: Run, pairs: Sequence[MetricPair],
                 series: Mapping[str, Sequence[tuple[int, float]] | Sequence[Point]], *,
                 now_ms: int, timestamps_ms: Sequence[int] = (),
                 settings: HealthSettings = DEFAULT_SETTINGS) -> list[HealthWarning]:
    """All health warnings for ``run``, most severe first (stable among equals).

    ``pairs`` are the (train, validation) pairs the run is judged on, the primary one first;
    ``series`` maps their keys to ``(step, value)`` points (or Points; missing or empty when
    not loaded). Divergence by explosion is only checked for loss-like series (not
    ``higher_is_better``); NaN/inf counts for any metric, including the latest value of every
    (non-system) metric in ``run.metrics``. Each pair is judged for overfitting (one warning
    per overfitting pair, naming it), unless the run diverged: a blow-up is not overfitting.
    """
    warnings: list[HealthWarning] = []
    if run.status is RunStatus.FAILED:
        warnings.append(_warning(Kind.FAILED, "run FAILED"))
    elif run.status is RunStatus.KILLED:
        warnings.append(_warning(Kind.KILLED, "run KILLED"))

    latest = run.metrics or {}
    parsed = series
    found: list[tuple[str, HealthWarning]] = []
    reported: set[str] = set()
    for pair in pairs:
        for key in (pair.train, pair.val):
            if key in reported:
                continue
            points = parsed.get(key, [])
            w = diverged(points, name=key, exploding=not pair.higher_is_better,
                         settings=settings)
            if w is None:
                continue
            newer = latest.get(key)
            tail_steps, tail = columns(points[-1:], finite=False)
            if (newer is not None and math.isfinite(newer.value) and tail
                    and not math.isfinite(tail[0]) and newer.step > tail_steps[0]):
                continue  # the charted series lags: the metric has recovered since
            found.append((key, w))
            reported.add(key)
    for key in sorted(latest):
        point = latest[key]
        if key in reported or _is_system(key) or math.isfinite(point.value):
            continue
        found.append((key, _warning(
            Kind.DIVERGED, f"{key} is {_nonfinite_name(point.value)} at step {point.step}",
            step=point.step)))
        reported.add(key)
    div = _merge_diverged(found)
    if div is not None:
        warnings.append(div)
    else:
        for pair in pairs:
            val = parsed.get(pair.val, [])
            finding = _detect(parsed.get(pair.train, []), val, pair.higher_is_better)
            if finding is None:
                continue
            warnings.append(_warning(
                Kind.OVERFITTING, _named_overfit_reason(finding.reason, pair.train, pair.val),
                step=finding.step, best_step=finding.best_step, pair=(pair.train, pair.val),
                best_value=finding.best_value))

    last_ms = max((p.timestamp for p in latest.values() if p.timestamp > 0), default=None)
    stall = stalled(run.status, timestamps_ms, now_ms, settings, start_ms=run.start_time,
                    last_ms=last_ms)
    if stall is not None:
        warnings.append(stall)
    warnings.sort(key=lambda w: -w.severity)
    return warnings


_MEMO: dict[tuple[object, ...], OverfitFinding | None] = {}
MEMO_SIZE = 4096


def _detect(train: Sequence[Any], val: Sequence[Any], higher_is_better: bool
            ) -> OverfitFinding | None:
    """detect_overfitting, remembered for series that have not changed since the last look:
    a monitor re-judges every watched run at every tick, and a run's cached history only grows
    at its end (the poller appends or replaces the last points), so its identity, length and
    ends stand for its content."""
    if not train or not val:
        return detect_overfitting(train, val, higher_is_better=higher_is_better)
    key = (id(train), len(train), train[0], train[-1], id(val), len(val), val[0], val[-1],
           higher_is_better)
    try:
        return _MEMO[key]
    except KeyError:
        pass
    except TypeError:  # unhashable points (lists): no memo
        return detect_overfitting(train, val, higher_is_better=higher_is_better)
    finding = detect_overfitting(train, val, higher_is_better=higher_is_better)
    if len(_MEMO) >= MEMO_SIZE:
        del _MEMO[next(iter(_MEMO))]
    _MEMO[key] = finding
    return finding


def badge(warnings: Sequence[HealthWarning], *, name_pairs: bool = False) -> str:
    """Short table text: the most severe warning's badge, plus "+N" for the others.
    ``name_pairs``: an overfitting badge names its validation metric (for runs judged on
    several pairs, e.g. XGBoost's logloss and error)."""
    if not warnings:
        return ""
    top = warnings[0]
    for w in warnings[1:]:
        if w.severity > top.severity:
            top = w
    text = _BADGE.get(top.kind, f"⚠ {top.kind.value}")
    if name_pairs and top.kind is Kind.OVERFITTING and top.pair is not None:
        text += f" {top.pair[1]}"
    return text if len(warnings) == 1 else f"{text} +{len(warnings) - 1}"
