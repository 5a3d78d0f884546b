"""The one judge of runs: which metric pairs a run is judged on, and its warnings.

The monitor (through :class:`mlflow_tui.analysis.healthbook.HealthBook`), ``mlflow-tui status`` and
every future consumer go through here, so that the same run gets the same pairs, the same best
points and the same verdict everywhere. Pure Python: no I/O, no UI toolkit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mlflow_tui.analysis.datasets import Split, split_series
from mlflow_tui.analysis.health import HealthSettings, HealthWarning, assess_pairs
from mlflow_tui.analysis.overfit import best_point, quiet_reason
from mlflow_tui.analysis.pairing import (
    MAX_JUDGED,
    MetricPair,
    find_pairs,
    higher_is_better,
    loss_like,
)
from mlflow_tui.tracking.models import Experiment, Point, Run, SeriesKey

__all__ = ["Choices", "Judgement", "judge", "pairs_for", "primary", "series_keys"]


@dataclass(frozen=True)
class Choices:
    """The user's say in pairing: ``default`` from ``--pair`` or the config's ``pair``, and
    per-experiment choices (experiment id -> (train, validation)) from the pair picker."""

    default: tuple[str, str] | None = None
    by_experiment: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, default: tuple[str, str] | None,
              by_name: Mapping[str, tuple[str, str]],
              experiments: Iterable[Experiment]) -> Choices:
        """Choices kept by experiment name (the config file's [pairs]) for these experiments."""
        return cls(default, {e.experiment_id: by_name[e.name] for e in experiments
                             if e.name in by_name})


NO_CHOICES = Choices()


@functools.lru_cache(maxsize=4096)
def _auto_pairs(keys: tuple[str, ...]) -> tuple[MetricPair, ...]:
    return tuple(find_pairs(keys)[:MAX_JUDGED])


def pairs_for(run: Run, choices: Choices = NO_CHOICES) -> tuple[MetricPair, ...]:
    """The pairs ``run`` is judged on, the primary one (table columns, first chart) first.

    A pair the user chose for the run's experiment (else ``--pair``/the config) replaces the
    automatic ones when the run logs both keys; otherwise every plausible pair found by name
    (:func:`mlflow_tui.analysis.pairing.find_pairs`), at most ``MAX_JUDGED``."""
    chosen = choices.by_experiment.get(run.experiment_id)
    why = "chosen for this experiment (P)"
    if chosen is None or not (chosen[0] in run.metrics and chosen[1] in run.metrics):
        chosen, why = choices.default, "chosen with --pair or the config file's pair"
    if chosen is not None and chosen[0] in run.metrics and chosen[1] in run.metrics:
        return (MetricPair(chosen[0], chosen[1], higher_is_better(chosen[1]), why=why),)
    return _auto_pairs(tuple(sorted(run.metrics)))


def primary(run: Run, choices: Choices = NO_CHOICES) -> MetricPair | None:
    pairs = pairs_for(run, choices)
    return pairs[0] if pairs else None


MAX_SPLIT = 2  # unpaired loss-like keys of a run looked at for several values per step


def _unpaired_losses(run: Run, pairs: Sequence[MetricPair]) -> list[str]:
    """Loss-like keys of a run with no pair at all: a key logged for several datasets (MLflow
    3's dataset=) looks like one bare loss until its history shows two values per step."""
    if pairs:
        return []
    return loss_like(sorted(run.metrics))[:MAX_SPLIT]


def series_keys(run: Run, choices: Choices = NO_CHOICES) -> list[SeriesKey]:
    """The series the judge reads for ``run``: both keys of every judged pair (and the bare
    losses of a run without a pair, which may be logged for several datasets)."""
    out: list[SeriesKey] = []
    pairs = pairs_for(run, choices)
    for pair in pairs:
        for key in (pair.train, pair.val):
            if (run.run_id, key) not in out:
                out.append((run.run_id, key))
    out += [(run.run_id, key) for key in _unpaired_losses(run, pairs)]
    return out


@dataclass(frozen=True)
class Judgement:
    pairs: tuple[MetricPair, ...]
    warnings: tuple[HealthWarning, ...]
    best: Mapping[str, Point]  # validation key -> its best point (best_point)
    # Keys logged for several datasets, split into one series per dataset ("loss [train]").
    splits: Mapping[str, Split] = field(default_factory=dict)
    # The series judged (key -> points, shared with the cache, not copied): what the details
    # screen explains a quiet pair with (:meth:`quiet`).
    series: Mapping[str, Sequence[Point]] = field(default_factory=dict, compare=False,
                                                  repr=False)

    def quiet(self, pair: MetricPair) -> str | None:
        """Why ``pair`` has no overfitting warning (:func:`quiet_reason`), or None when its
        series were not read or the detector does find overfitting."""
        train, val = self.series.get(pair.train), self.series.get(pair.val)
        if not train or not val:
            return None
        return quiet_reason(train, val, higher_is_better=pair.higher_is_better)

    @property
    def primary(self) -> MetricPair | None:
        return self.pairs[0] if self.pairs else None

    def latest(self, run: Run, key: str) -> Point | None:
        """The latest point of a key: from the run's listing, or of a dataset's series."""
        point = run.metrics.get(key)
        if point is not None:
            return point
        for split in self.splits.values():
            for vkey, part in zip(split.keys(), split.parts, strict=True):
                if vkey == key and part:
                    return part[-1]
        return None


def judge(run: Run, points: Callable[[SeriesKey], Sequence[Point]], now_ms: int, *,
          choices: Choices = NO_CHOICES,
          settings: HealthSettings | None = None) -> Judgement:
    """Judge ``run`` on the series ``points`` returns (the cached history; empty if not
    loaded). Deterministic: the same run and histories give the same judgement."""
    pairs = pairs_for(run, choices)
    series: dict[str, Sequence[Point]] = {}
    for pair in pairs:
        for key in (pair.train, pair.val):
            if key not in series:
                series[key] = points((run.run_id, key))
    splits: dict[str, Split] = {}
    for key in _unpaired_losses(run, pairs):
        split = split_series(key, points((run.run_id, key)), run.datasets)
        if split is None:
            continue
        splits[key] = split
        keys = split.keys()
        t = split.train_index()
        named = ("the run's dataset inputs, in the order they were first logged"
                 if split.named_from_inputs else "the order the values were logged in")
        side = ("its dataset is the training one" if split.training_named()
                else "it is the lowest")
        for j, vkey in enumerate(keys):
            series[vkey] = split.parts[j]
            if j != t:
                pairs += (MetricPair(keys[t], vkey, higher_is_better(key), why=(
                    f"{key} is logged for {len(keys)} datasets, several values per step "
                    f"(MLflow 3 dataset=); MLflow's history does not say which value is "
                    f"which: split by {named}; {keys[t]} is train as {side}")),)
    stamps: list[int] = []
    for values in series.values():
        stamps += [p.timestamp for p in values[-50:]]
    stamps += [p.timestamp for p in run.metrics.values()]
    warnings = assess_pairs(run, pairs, series, now_ms=now_ms, timestamps_ms=sorted(stamps),
                            settings=settings or HealthSettings())
    best: dict[str, Point] = {}
    for pair in pairs:
        point = best_point(series.get(pair.val, ()), pair.higher_is_better)
        if point is not None:
            best[pair.val] = point
    return Judgement(pairs=pairs, warnings=tuple(warnings), best=best, splits=splits,
                     series=series)

