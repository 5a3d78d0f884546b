"""The Now view's trouble counts (tui/analysis/now.py): a run the user KILLED is said in its
row, not counted as trouble, unless something else is wrong with it."""

from __future__ import annotations

from dataclasses import replace

from mlflow_tui.analysis.health import Kind
from mlflow_tui.analysis.judge import judge
from mlflow_tui.analysis.now import now_rows, trouble_counts
from mlflow_tui.screens.now import summary
from mlflow_tui.session.now import NowUpdate
from mlflow_tui.tracking.models import Point, Run, RunStatus
from tests.sample_data import T0, curves

NOW = T0 + 3_600_000


def _run(rid: str, status: RunStatus, data) -> tuple[Run, dict]:
    pts = {k: [Point(s, v, NOW - (len(data[k]) - s) * 1000) for s, v in data[k]]
           for k in ("train_loss", "val_loss")}
    end = None if status.is_active else NOW - 60_000
    return Run(rid, "1", rid, status, T0, end, metrics={k: p[-1] for k, p in pts.items()}), pts


def test_a_killed_run_is_not_trouble_unless_it_has_a_warning():
    made = [_run("killed-fine", RunStatus.KILLED, curves(40, seed=1)),
            _run("killed-overfit", RunStatus.KILLED, curves(40, overfit_at=12, seed=3)),
            _run("live", RunStatus.RUNNING, curves(40, seed=2))]
    series = {(run.run_id, k): p for run, pts in made for k, p in pts.items()}
    judgements = {run.run_id: judge(run, lambda key: series.get(key, []), NOW)
                  for run, _ in made}
    assert [w.kind for w in judgements["killed-fine"].warnings] == [Kind.KILLED]
    assert Kind.OVERFITTING in {w.kind for w in judgements["killed-overfit"].warnings}
    rows = now_rows([made[2][0]], [made[0][0], made[1][0]], {"1": "team/x"}, judgements,
                    lambda key: series.get(key, []))
    assert trouble_counts(rows) == {"1": (1, 0)}  # the overfitting one alone
    # Trouble first; a run merely killed after the running one, not above it.
    assert [r.run.run_id for r in rows] == ["killed-overfit", "live", "killed-fine"]
    line = summary(NowUpdate(rows, trouble_counts(rows), [], True, 0)).plain
    assert "⚠ 1 warned" in line


def test_a_stalled_run_has_no_eta():
    """A run with a pace and a total (params `epochs`) gets an ETA while it logs; silent for an
    hour, it is stalled and the ETA counted from its last point is gone."""
    run, pts = _run("live", RunStatus.RUNNING, curves(40, seed=2))
    run = replace(run, params={"epochs": "100"})
    series = {(run.run_id, k): p for k, p in pts.items()}

    def row_at(now: int):
        judgement = judge(run, lambda key: series.get(key, []), now)
        return now_rows([run], [], {"1": "team/x"}, {run.run_id: judgement},
                        lambda key: series.get(key, []))[0]

    fresh = row_at(NOW)
    assert fresh.eta_s is not None and fresh.eta_s == fresh.progress.eta_s
    stale = row_at(NOW + 3_600_000)
    assert Kind.STALLED in {w.kind for w in stale.warnings}
    assert stale.progress.eta_s is not None and stale.eta_s is None
