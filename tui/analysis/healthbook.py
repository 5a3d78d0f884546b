"""Run health over time: the judgement of every watched run, and which warnings are new (to
notify once).

Pure Python, no UI: the app (and `status`) feed it runs and cached series after each tick; the
judging itself is :func:`mlflow_tui.analysis.judge.judge`, shared by every consumer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from mlflow_tui.analysis.health import HealthSettings, HealthWarning, Kind
from mlflow_tui.analysis.judge import NO_CHOICES, Choices, Judgement, judge
from mlflow_tui.analysis.pairing import MetricPair
from mlflow_tui.tracking.models import Point, Run, SeriesKey

_EMPTY = Judgement(pairs=(), warnings=(), best={})


class HealthBook:
    def __init__(self, settings: HealthSettings | None = None,
                 choices: Choices = NO_CHOICES) -> None:
        self.settings = settings or HealthSettings()
        self.choices = choices
        self.judgements: dict[str, Judgement] = {}
        self._notified: set[tuple[str, Kind, tuple[str, str] | None]] = set()
        self._seen: set[str] = set()

    def update(
        self,
        runs: Iterable[Run],
        points: Callable[[SeriesKey], Sequence[Point]],
        now_ms: int,
    ) -> list[tuple[Run, HealthWarning]]:
        """Re-judge `runs`; return the warnings to announce (each (run, kind, pair) once).
        Runs seen for the first time announce only while they are still active: a monitor
        opened on an old failure should not ring."""
        fresh: list[tuple[Run, HealthWarning]] = []
        current: dict[str, Judgement] = {}
        for run in runs:
            judgement = judge(run, points, now_ms, choices=self.choices, settings=self.settings)
            current[run.run_id] = judgement
            first_sight = run.run_id not in self._seen
            self._seen.add(run.run_id)
            for w in judgement.warnings:
                key = (run.run_id, w.kind, w.pair)
                if key in self._notified:
                    continue
                self._notified.add(key)
                if first_sight and not run.status.is_active:
                    continue
                if w.kind is Kind.KILLED:
                    continue  # a user's own decision, usually: shown, not announced
                fresh.append((run, w))
        self.judgements = current
        return fresh

    def judgement(self, run_id: str) -> Judgement:
        return self.judgements.get(run_id, _EMPTY)

    def of(self, run_id: str) -> list[HealthWarning]:
        return list(self.judgement(run_id).warnings)

    def pairs(self, run_id: str) -> tuple[MetricPair, ...]:
        return self.judgement(run_id).pairs

    def best(self, run_id: str, val_key: str) -> Point | None:
        return self.judgement(run_id).best.get(val_key)

    def severity(self, run_id: str) -> int:
        return max((w.severity for w in self.of(run_id)), default=0)

    def overfitting(self, run_id: str) -> HealthWarning | None:
        return next((w for w in self.of(run_id) if w.kind is Kind.OVERFITTING), None)
