"""One metric key logged for several datasets (MLflow 3's ``log_metric(key, v, step, dataset=)``).

MLflow keeps every value (the run's history holds two points per step for a key logged for a
train and an eval dataset), but no run endpoint says which value belongs to which dataset: the
run's metric history has no dataset field at all; only metrics of a *logged model* keep
``dataset_name`` (docs in bench/record/README.md, "MLflow 3 dataset-scoped metrics"). Drawn as
one series it is a zig-zag, and judged as one it means nothing.

So a series whose steps nearly all hold the same number k >= 2 of values is split into k
series by the order the values were logged within each step (timestamp, then the server's
order), which is how a training loop logs them. Parts are named after the run's k dataset inputs,
in the order MLflow lists them (the order they were first logged), else #1..#k. The part whose
dataset is the training one (context or name) is the train side of the pair; without one, the
lowest over the later half of the run (a model fits the data it trains on better). Both guesses
are stated wherever the pair shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlflow_tui.tracking.models import Point

__all__ = ["Split", "is_training", "split_series", "virtual_key"]

MAX_SETS = 4
MIN_SHARE = 0.8  # steps holding exactly k values, at least
MIN_STEPS = 3
_TRAIN_CONTEXT = re.compile(r"^(train|training|trn|fit)", re.I)


@dataclass(frozen=True)
class Split:
    key: str
    names: tuple[str, ...]  # one per part, in logging order
    parts: tuple[list[Point], ...]
    contexts: tuple[str, ...]  # the datasets' context tags, when named after the run's inputs

    @property
    def named_from_inputs(self) -> bool:
        return bool(self.contexts)

    def keys(self) -> list[str]:
        return [virtual_key(self.key, name) for name in self.names]

    def training_named(self) -> bool:
        """Exactly one part's dataset is the training one (by its context, else its name)."""
        return sum(1 for n, c in zip(self.names, self.contexts, strict=False)
                   if is_training(c or n)) == 1

    def train_index(self) -> int:
        """The part taken as train: the one whose dataset is the training one, else the lowest
        over the later half of the run (a model fits the data it trains on better)."""
        if self.training_named():
            return next(i for i, (n, c) in enumerate(zip(self.names, self.contexts, strict=True))
                        if is_training(c or n))
        def level(points: list[Point]) -> float:
            tail = [p.value for p in points[len(points) // 2:] if math.isfinite(p.value)]
            return sum(tail) / len(tail) if tail else math.inf
        return min(range(len(self.parts)), key=lambda i: level(self.parts[i]))


def is_training(context: str) -> bool:
    return bool(_TRAIN_CONTEXT.match(context))


def virtual_key(key: str, name: str) -> str:
    return f"{key} [{name}]"


def _per_step(points: Sequence[Point]) -> list[list[Point]]:
    groups: list[list[Point]] = []
    for p in points:
        if groups and groups[-1][0].step == p.step:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def split_series(key: str, points: Sequence[Point],
                 datasets: Sequence[tuple[str, str]] = ()) -> Split | None:
    """The parts of a series logged for several datasets, or None for an ordinary series (one
    value per step, or only a few steps re-logged)."""
    if len(points) < 2 * MIN_STEPS:
        return None
    groups = _per_step(points)
    counts: dict[int, int] = {}
    for g in groups:
        counts[len(g)] = counts.get(len(g), 0) + 1
    k = max(counts, key=lambda c: (counts[c], c))
    if not 2 <= k <= MAX_SETS or counts[k] < MIN_STEPS or counts[k] < MIN_SHARE * len(groups):
        return None
    parts: list[list[Point]] = [[] for _ in range(k)]
    for g in groups:
        ordered = sorted(enumerate(g), key=lambda ip: (ip[1].timestamp, ip[0]))
        if len(ordered) > k:
            ordered = ordered[-k:]  # re-logged at this step: the latest k
        for i, (_, p) in enumerate(ordered):
            parts[i].append(p)
    if len(datasets) == k:
        # MLflow lists a run's dataset inputs in the order they were first logged, which is
        # the order of the values within a step: part i is dataset i.
        names = tuple(name for name, _ in datasets)
        if len(set(names)) == k:
            return Split(key, names, tuple(parts), tuple(c for _, c in datasets))
    return Split(key, tuple(f"#{i + 1}" for i in range(k)), tuple(parts), ())
