"""The feed behind the Now view and the tree's trouble markers: every running run of every
experiment and the runs ended in the last hour (tui/tracking/now.py), judged by the one judge,
as rows (tui/analysis/now.py), counts per experiment and the warnings that are new.

No UI toolkit: the app calls `tick` on its refresh and hands the update to whoever shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from mlflow_tui.analysis.health import HealthSettings, HealthWarning, Kind
from mlflow_tui.analysis.judge import Choices, Judgement, judge, series_keys
from mlflow_tui.analysis.now import NowRow, now_rows, trouble_counts
from mlflow_tui.tracking.history import SeriesReader
from mlflow_tui.tracking.models import Experiment, Run, SeriesKey
from mlflow_tui.tracking.now import ENDED_EVERY, RECENT_MS, NowPoller
from mlflow_tui.tracking.source import TrackingSource

HISTORY_POINTS = 500  # points per series of an ended run, as `status` and the monitor load
ENDED_JUDGED = 50  # ended runs whose series are read to judge them (the newest)
FIRST_READS = 60  # running runs whose series are read for the first time, a refresh
_KEPT = frozenset({Kind.OVERFITTING, Kind.DIVERGED})  # an ended run keeps what it showed


@dataclass(frozen=True)
class NowUpdate:
    rows: list[NowRow]
    counts: dict[str, tuple[int, int]]  # experiment id -> (runs warned, runs in error)
    fresh: list[tuple[NowRow, HealthWarning]]  # warnings not announced before (not at start)
    first: bool  # the first update: `fresh` is empty, the existing warnings are in `rows`
    requests: int
    ended: list[str] = field(default_factory=list)  # runs seen ending at this tick


class NowFeed:
    def __init__(self, source: TrackingSource, *,
                 settings: Callable[[], HealthSettings] = HealthSettings,
                 choices: Callable[[Sequence[Experiment]], Choices] = lambda exps: Choices(),
                 recent_ms: int = RECENT_MS, clock: Callable[[], float] = time.monotonic,
                 read_ended: Callable[[], bool] = lambda: True, ended_every: float = ENDED_EVERY,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        # ended_every: s between searches for runs that ended without being seen running (the
        # watcher: 0, every pass, as it must miss no run; the app's feed: every 10 s).
        self.poller = NowPoller(source, recent_ms=recent_ms, clock=clock, wall_ms=wall_ms,
                                ended_every=ended_every)
        # The judged series of ended runs, read once (their histories are final), so that
        # an ended run gets the verdict `status` and the monitor give it.
        self.ended = SeriesReader(source, first_load_points=HISTORY_POINTS, clock=clock)
        self._settings = settings
        self._choices = choices
        self._wall_ms = wall_ms
        # Whether the series of ended runs are read to judge them (the watcher, the Now view)
        # or not (the tree's counts alone: an ended run keeps what it showed while running).
        self._read_ended = read_ended
        self.judgements: dict[str, Judgement] = {}
        self.last: NowUpdate | None = None
        self._announced: set[tuple[str, Kind, tuple[str, str] | None]] = set()

    def refresh(self) -> None:
        self.poller.refresh()

    def look_back(self, since_ms: int) -> None:
        """The next tick also lists the runs ended since `since_ms` (tracking/now.py)."""
        self.poller.look_back(since_ms)

    def _tracked(self, runs: Sequence[Run], choices: Choices) -> list[SeriesKey]:
        """The judged series of the running runs. Those already read advance cheaply; of the
        runs not read yet, at most FIRST_READS a refresh, the most recently active first: on
        a server with hundreds of RUNNING runs (crashed trainings never end theirs) the first
        refresh comes in seconds with the live ones judged, the silent ones follow."""
        cached = self.poller.poller.series
        out: list[SeriesKey] = []
        new = 0
        for run in sorted(runs, key=_last_activity, reverse=True):
            keys = series_keys(run, choices)
            if any(k not in cached for k in keys):
                if new >= FIRST_READS:
                    continue
                new += 1
            out += keys
        return out

    async def tick(self, experiments: Sequence[Experiment]) -> NowUpdate:
        choices = self._choices(experiments)
        settings = self._settings()
        result = await self.poller.tick([e.experiment_id for e in experiments],
                                        lambda runs: self._tracked(runs, choices))
        now_ms = self._wall_ms()
        judgements: dict[str, Judgement] = {}
        for run in result.active:
            judgements[run.run_id] = judge(run, self.poller.points, now_ms, choices=choices,
                                           settings=settings)
        recent = {r.run_id: r for r in result.recent}
        for key in [k for k in self.ended.series if k[0] not in recent]:
            del self.ended.series[key]
        # Ended runs are read once, the newest first and a few at a time: a busy server can
        # end hundreds an hour, and a run judged without its series still shows its status.
        judged = result.recent[:ENDED_JUDGED] if self._read_ended() else []
        await self.ended.fetch({r.run_id: r for r in judged},
                               [k for r in judged for k in series_keys(r, choices)])
        for run in result.recent:
            verdict = judge(run, self.ended.points, now_ms, choices=choices, settings=settings)
            before = self.judgements.get(run.run_id)
            if before is not None and not any(k[0] == run.run_id for k in self.ended.series):
                # Not read: what the judge saw while it ran, and its status now.
                kept = tuple(w for w in before.warnings if w.kind in _KEPT
                             and all(w.kind is not v.kind for v in verdict.warnings))
                verdict = replace(verdict, warnings=tuple(sorted(
                    (*verdict.warnings, *kept), key=lambda w: -w.severity)),
                    best={**before.best, **verdict.best})
            judgements[run.run_id] = verdict
        self.judgements = judgements
        names = {e.experiment_id: e.name for e in experiments}
        rows = now_rows(result.active, result.recent, names, judgements,
                        lambda k: self.poller.points(k) or self.ended.points(k))
        first = self.last is None
        fresh: list[tuple[NowRow, HealthWarning]] = []
        for row in rows:
            for w in row.warnings:
                seen = (row.run.run_id, w.kind, w.pair)
                if seen in self._announced:
                    continue
                self._announced.add(seen)
                if not first and w.kind is not Kind.KILLED:
                    fresh.append((row, w))
        self.last = NowUpdate(rows, trouble_counts(rows), fresh, first, result.requests,
                              list(result.ended))
        return self.last


def _last_activity(run: Run) -> int:
    """When the run last logged a metric (else started)."""
    return max((p.timestamp for p in run.metrics.values()), default=run.start_time or 0)


__all__ = ["NowFeed", "NowUpdate"]
