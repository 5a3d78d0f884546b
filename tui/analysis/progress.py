"""How fast a run advances and when it should end: steps a minute from its logged points, and
an ETA where the run's params say how far it goes.

Pure functions. The total comes from the params the training libraries log through their
MLflow integrations, in their own step unit:

- ``total_steps`` / ``max_steps`` (Hugging Face Trainer logs ``max_steps``, -1 when unset;
  Lightning ``max_steps``, -1 when unset): optimizer steps, the step the metrics carry;
- ``num_boost_round`` / ``num_iterations`` / ``n_estimators`` (XGBoost, LightGBM, scikit-learn
  API): boosting rounds, the step XGBoost's and LightGBM's autolog metrics carry;
- ``epochs`` / ``num_train_epochs`` / ``max_epochs`` (Keras, Hugging Face, Lightning): epochs,
  used as they are when the run's steps count epochs (the latest step is not past the total);
  when the steps count optimizer steps, through the run's ``epoch`` metric (Hugging Face logs
  the fractional epoch at each step: total = step * epochs / epoch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlflow_tui.tracking.models import Point

STEP_PARAMS = ("total_steps", "max_steps", "num_boost_round", "num_iterations",
               "n_estimators", "num_rounds")
EPOCH_PARAMS = ("epochs", "num_train_epochs", "max_epochs", "n_epochs", "num_epochs")
RATE_MIN_SPAN_MS = 60_000  # the rate is measured over at least the last minute ...
RATE_MAX_SPAN_MS = 30 * 60_000  # ... and at most the last half hour
# Below this, the time measured is how fast a batch of points reached the server (a script
# that logs what it already had right after creating its run: a backfill, a resumed run),
# not the pace of training: 59 steps stamped 30 ms after the run's start are not 100,000 a
# minute.
RATE_MIN_ELAPSED_MS = 1_000


@dataclass(frozen=True)
class Progress:
    step: int | None  # the latest step logged
    rate: float | None  # steps a minute, over the latest points
    total: int | None  # the step the run should end at, from its params
    eta_s: float | None  # seconds until `total` at `rate`

    @property
    def fraction(self) -> float | None:
        if self.total is None or self.step is None or self.total <= 0:
            return None
        return min(1.0, max(0.0, self.step / self.total))


def _as_float(text: str | None) -> float | None:
    """A positive finite number, else None (MLflow params are text; -1 means unset)."""
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _as_int(text: str | None) -> int | None:
    value = _as_float(text)
    return int(value) if value is not None and value == int(value) else None


def total_of(params: Mapping[str, str], latest_step: int | None,
             epoch: Point | None = None) -> int | None:
    """The last step of the run according to its params, or None when they do not say.
    `epoch`: the latest point of the run's ``epoch`` metric, if it logs one."""
    for name in STEP_PARAMS:
        total = _as_int(params.get(name))
        if total is not None:
            return total
    for name in EPOCH_PARAMS:
        epochs = _as_float(params.get(name))
        if epochs is None:
            continue
        if latest_step is None or latest_step <= epochs:
            return math.ceil(epochs)  # the steps count epochs
        if epoch is not None and math.isfinite(epoch.value) and 0 < epoch.value <= epochs \
                and epoch.step > epochs:
            return round(epoch.step * epochs / epoch.value)
        return None
    return None


def rate_of(points: Sequence[Point], *, start_time: int | None = None) -> float | None:
    """Steps a minute over the recent part of the run: the last quarter of its time so far,
    at least RATE_MIN_SPAN_MS (libraries that log in batches, such as MLflow's autologging
    for LightGBM, stamp points in bursts) and at most RATE_MAX_SPAN_MS. With one point, from
    the run's start time. None when time did not advance or steps went back, or when all
    there is to time is less than RATE_MIN_ELAPSED_MS."""
    if not points:
        return None
    last = points[-1]
    origin = start_time if start_time is not None else points[0].timestamp
    span = min(RATE_MAX_SPAN_MS, max(RATE_MIN_SPAN_MS, (last.timestamp - origin) // 4))
    cut = last.timestamp - span
    lo, hi = 0, len(points) - 1  # the latest point at or before `cut` (timestamps ascend)
    first: Point | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        if points[mid].timestamp <= cut:
            first, lo = points[mid], mid + 1
        else:
            hi = mid - 1
    if first is None:
        if points[0].timestamp < last.timestamp:
            first = points[0]
        elif start_time is not None:
            first = Point(0, math.nan, start_time)
        else:
            return None
    elapsed_ms = last.timestamp - first.timestamp
    steps = last.step - first.step
    if elapsed_ms < RATE_MIN_ELAPSED_MS or steps <= 0:
        return None
    return steps * 60_000.0 / elapsed_ms


def progress(points: Sequence[Point], params: Mapping[str, str], *,
             latest_step: int | None = None, start_time: int | None = None,
             epoch: Point | None = None) -> Progress:
    """The run's progress from one of its series (the most often logged one is best)."""
    step = latest_step if latest_step is not None else (points[-1].step if points else None)
    rate = rate_of(points, start_time=start_time)
    total = total_of(params, step, epoch)
    eta = None
    if total is not None and step is not None and rate and step < total:
        eta = (total - step) / rate * 60.0
    return Progress(step, rate, total, eta)


__all__ = ["EPOCH_PARAMS", "Progress", "STEP_PARAMS", "progress", "rate_of", "total_of"]
