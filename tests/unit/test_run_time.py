"""How long a run has run and how long it has been silent, for runs whose timestamps do not
follow the simple story: resumed runs, points logged with older timestamps."""

from __future__ import annotations

from mlflow_tui.analysis.health import HealthSettings, Kind, stalled
from mlflow_tui.tracking.models import Run, RunStatus

NOW = 1_800_000_000_000
S = 1000
SETTINGS = HealthSettings(stall_factor=10, stall_min_seconds=300)


def _run(status: RunStatus, start: int, end: int | None = None) -> Run:
    return Run("r" * 32, "1", "run", status, start, end)


def test_a_resumed_run_keeps_counting():
    """mlflow.start_run(run_id=...) on an ended run sets it RUNNING again; its end time of the
    first life stays on the record. The duration runs on to now."""
    resumed = _run(RunStatus.RUNNING, NOW - 3600 * S, end=NOW - 1800 * S)
    assert resumed.duration_ms(NOW) == 3600 * S
    assert resumed.duration_ms(NOW + 60 * S) == 3660 * S
    finished = _run(RunStatus.FINISHED, NOW - 3600 * S, end=NOW - 1800 * S)
    assert finished.duration_ms(NOW) == finished.duration_ms(NOW + 60 * S) == 1800 * S
    assert _run(RunStatus.FAILED, NOW - 10 * S).duration_ms(NOW) is None  # no end known
    assert _run(RunStatus.RUNNING, NOW - 10 * S).duration_ms(NOW) == 10 * S


def test_a_new_run_with_old_timestamps_is_not_stalled():
    """A run started 8 s ago whose points carry timestamps from 16 minutes ago (replayed
    from a log, logged from a machine whose points were stamped earlier) is not stalled."""
    stamps = [NOW - 16 * 60 * S + i * S for i in range(30)]
    assert stalled(RunStatus.RUNNING, stamps, NOW, SETTINGS, start_ms=NOW - 8 * S) is None
    # ... until it stays silent long enough after its start.
    later = NOW + 20 * 60 * S
    w = stalled(RunStatus.RUNNING, stamps, later, SETTINGS, start_ms=NOW - 8 * S)
    assert w is not None and w.kind is Kind.STALLED
    assert w.reason == "no new metric since it started 20m ago"


def test_an_ordinary_silence_still_reads_as_before():
    stamps = [NOW - 3600 * S + i * 10 * S for i in range(30)]
    w = stalled(RunStatus.RUNNING, stamps, NOW, SETTINGS, start_ms=NOW - 3600 * S)
    assert w is not None and w.reason.startswith("no new metric for 55m")
