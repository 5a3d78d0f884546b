"""The Now view's rows and the tree's trouble counts, from the runs running anywhere and the
ones that ended in the last hour (tui/tracking/now.py). Pure: runs, series and judgements in,
rows out. Judged by the one judge (tui/analysis/judge.py), so a run warned here is warned the
same in the monitor and in ``mlflow-tui status``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from mlflow_tui.analysis.health import HealthWarning, Kind
from mlflow_tui.analysis.judge import Judgement
from mlflow_tui.analysis.progress import Progress, progress
from mlflow_tui.tracking.models import Point, Run, SeriesKey

ERROR_KINDS = frozenset({Kind.FAILED, Kind.DIVERGED})  # ✘ in the tree; the others ⚠
# Said in the row, not trouble: the user stopped the run. A killed run that also overfitted,
# stalled or diverged is counted for that.
NOT_TROUBLE = frozenset({Kind.KILLED})


@dataclass(frozen=True)
class NowRow:
    run: Run
    experiment: str  # the experiment's name
    judgement: Judgement
    progress: Progress
    train_key: str | None
    train: Point | None
    val_key: str | None
    val: Point | None

    @property
    def warnings(self) -> tuple[HealthWarning, ...]:
        return self.judgement.warnings

    @property
    def eta_s(self) -> float | None:
        """Seconds to the run's last step at its pace, from its latest point; None when it
        stalled (an ETA counted from a point a day old would already have passed)."""
        if any(w.kind is Kind.STALLED for w in self.judgement.warnings):
            return None
        return self.progress.eta_s

    @property
    def trouble(self) -> tuple[HealthWarning, ...]:
        """The warnings that count (⚠/✘ in the tree, the summary, the order): not KILLED."""
        return tuple(w for w in self.warnings if w.kind not in NOT_TROUBLE)

    @property
    def severity(self) -> int:
        return max((w.severity for w in self.trouble), default=0)


def now_rows(active: Sequence[Run], recent: Sequence[Run], names: Mapping[str, str],
             judgements: Mapping[str, Judgement],
             points: Callable[[SeriesKey], Sequence[Point]]) -> list[NowRow]:
    """One row a run: runs in trouble first (the worst first), then running before ended,
    then the newest first. `judgements`: run id -> its judgement (a run without one is shown
    unjudged); `points`: the cached series, for the rate."""
    rows: list[NowRow] = []
    for run in [*active, *recent]:
        judgement = judgements.get(run.run_id) or Judgement(pairs=(), warnings=(), best={})
        pair = judgement.primary
        train_key = pair.train if pair else None
        val_key = pair.val if pair else None
        train = judgement.latest(run, train_key) if train_key else None
        val = judgement.latest(run, val_key) if val_key else None
        series = points((run.run_id, train_key)) if train_key else ()
        if not series:  # no judged pair: the run's most recently advanced metric
            latest = max(run.metrics.items(), key=lambda kv: (kv[1].step, kv[1].timestamp),
                         default=None)
            series = points((run.run_id, latest[0])) if latest else ()
        epoch = run.metrics.get("epoch")
        step = run.latest_step
        rows.append(NowRow(run, names.get(run.experiment_id, run.experiment_id), judgement,
                           progress(series, run.params, latest_step=step,
                                    start_time=run.start_time, epoch=epoch),
                           train_key, train, val_key, val))
    order = {r.run_id: i for i, r in enumerate([*active, *recent])}
    rows.sort(key=lambda r: (-r.severity, not r.run.status.is_active, order[r.run.run_id]))
    return rows


def trouble_counts(rows: Iterable[NowRow]) -> dict[str, tuple[int, int]]:
    """Experiment id -> (runs with a warning, runs with an error: failed or diverged). A run
    KILLED and otherwise fine is neither."""
    counts: dict[str, list[int]] = {}
    for row in rows:
        kinds = {w.kind for w in row.trouble}
        if not kinds:
            continue
        slot = counts.setdefault(row.run.experiment_id, [0, 0])
        slot[1 if kinds & ERROR_KINDS else 0] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


__all__ = ["ERROR_KINDS", "NOT_TROUBLE", "NowRow", "now_rows", "trouble_counts"]
