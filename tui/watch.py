"""Run health over time: the warnings of every watched run, and which are new (to notify once).

Pure Python, no UI: the app feeds it runs and cached series after each tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tui.analysis.health import HealthSettings, HealthWarning, Kind, assess
from tui.tracking.models import Point, Run, SeriesKey


class HealthBook:
    def __init__(self, settings: HealthSettings | None = None) -> None:
        self.settings = settings or HealthSettings()
        self.warnings: dict[str, list[HealthWarning]] = {}
        self._notified: set[tuple[str, Kind]] = set()
        self._seen: set[str] = set()

    def update(
        self,
        runs: Iterable[Run],
        pair_of: Callable[[Run], tuple[str, str, bool] | None],
        points: Callable[[SeriesKey], list[Point]],
        now_ms: int,
    ) -> list[tuple[Run, HealthWarning]]:
        """Re-assess `runs`; return the warnings to announce (each (run, kind) once).
        Runs seen for the first time announce only while they are still active: a monitor
        opened on an old failure should not ring."""
        fresh: list[tuple[Run, HealthWarning]] = []
        current: dict[str, list[HealthWarning]] = {}
        for run in runs:
            pair = pair_of(run)
            train: list[Point] = points((run.run_id, pair[0])) if pair else []
            val: list[Point] = points((run.run_id, pair[1])) if pair else []
            stamps = [p.timestamp for p in val[-50:]] + [p.timestamp for p in train[-50:]]
            stamps += [p.timestamp for p in run.metrics.values()]
            warnings = assess(
                run,
                [(p.step, p.value) for p in train],
                [(p.step, p.value) for p in val],
                now_ms=now_ms,
                timestamps_ms=sorted(stamps),
                higher_is_better=pair[2] if pair else False,
                train_key=pair[0] if pair else "train_loss",
                val_key=pair[1] if pair else "val_loss",
                settings=self.settings,
            )
            current[run.run_id] = warnings
            first_sight = run.run_id not in self._seen
            self._seen.add(run.run_id)
            for w in warnings:
                key = (run.run_id, w.kind)
                if key in self._notified:
                    continue
                self._notified.add(key)
                if first_sight and not run.status.is_active:
                    continue
                if w.kind is Kind.KILLED:
                    continue  # a user's own decision, usually: shown, not announced
                fresh.append((run, w))
        self.warnings = current
        return fresh

    def of(self, run_id: str) -> list[HealthWarning]:
        return self.warnings.get(run_id, [])

    def severity(self, run_id: str) -> int:
        return max((w.severity for w in self.of(run_id)), default=0)

    def overfitting(self, run_id: str) -> HealthWarning | None:
        return next((w for w in self.of(run_id) if w.kind is Kind.OVERFITTING), None)
