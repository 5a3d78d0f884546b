"""Plain, frozen data the rest of the app works with. No I/O, no UI."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

EMPTY: Mapping[str, str] = MappingProxyType({})


class RunStatus(str, Enum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @classmethod
    def parse(cls, value: object) -> RunStatus:
        try:
            return cls(str(value).upper())
        except ValueError:
            return cls.FINISHED

    @property
    def is_active(self) -> bool:
        return self in (RunStatus.RUNNING, RunStatus.SCHEDULED)


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    lifecycle_stage: str = "active"
    last_update_time: int | None = None


def find_experiment(experiments: Sequence[Experiment], wanted: str
                    ) -> tuple[Experiment | None, list[Experiment]]:
    """The experiment ``wanted`` names (-e NAME, the config file's list, ``status -e``), and
    the candidates when it names several. By its whole name or its id; else by the end of its
    path, when only one name ends with it: ``my-exp`` finds Databricks'
    ``/Users/me@example.com/my-exp`` and ``vision/resnet-sweep`` finds itself under a
    ``team/`` prefix. A whole name or id always wins over a path's end. Path parts compare
    without the spaces around them, as the experiment tree shows them: ``a/b`` finds
    ``a / b``."""
    for e in experiments:
        if e.name == wanted:
            return e, []
    for e in experiments:
        if e.experiment_id == wanted:
            return e, []
    parts = _path_parts(wanted)
    if not parts:
        return None, []
    ends = [e for e in experiments if _path_parts(e.name)[-len(parts):] == parts]
    return (ends[0], []) if len(ends) == 1 else (None, ends)


def _path_parts(name: str) -> list[str]:
    # The experiment tree's rule (widgets.experiment_tree.split_name), kept here because the
    # data layer (status, watch) must not import the widgets and Textual with them.
    return [p.strip() for p in name.split("/") if p.strip()]


def several_named(name: str, several: Sequence[Experiment],
                  show: Callable[[str], str] = repr) -> str:
    """What to say of a name that ends the names of several experiments (three shown)."""
    listed = ", ".join(show(e.name) for e in several[:3]) + (", ..." if len(several) > 3 else "")
    return f"{show(name)} ends the names of several experiments ({listed}): give the whole name"


@dataclass(frozen=True, slots=True)
class Point:
    """One logged metric value. `timestamp` is in milliseconds since the epoch."""

    step: int
    value: float
    timestamp: int = 0

    @property
    def finite(self) -> bool:
        return math.isfinite(self.value)


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: int | None  # ms since epoch
    end_time: int | None = None  # ms since epoch
    # Latest point of every metric key, as runs/search reports it.
    metrics: Mapping[str, Point] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    # The run's dataset inputs (MLflow 2.4+): (name, context tag: "training", "eval", ...).
    datasets: tuple[tuple[str, str], ...] = ()
    # Where its artifacts are (mlflow-artifacts:/..., a local path, s3://...); "" if unknown.
    artifact_uri: str = ""

    @property
    def latest_step(self) -> int | None:
        steps = [p.step for p in self.metrics.values()]
        return max(steps) if steps else None

    def duration_ms(self, now_ms: int) -> int | None:
        if self.start_time is None:
            return None
        # An active run runs until now, even with an end time: a run resumed after it ended
        # (mlflow.start_run(run_id=...)) keeps the end time of its first life.
        end = now_ms if self.status.is_active else self.end_time
        if end is None:
            return None
        return max(0, end - self.start_time)


SeriesKey = tuple[str, str]  # (run_id, metric key)
