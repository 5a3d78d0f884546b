"""The monitor's desktop notifications (tui/ui/now_controller.py): one per new warning and one per
run that ended, in the experiments named with -e only; a failed run (a FAILED warning and a
run in `ended`) is one notification, not two."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import mlflow_tui.ui.terminal
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking.models import Experiment, Run, RunStatus
from mlflow_tui.ui.now_controller import NowController
from tests.fakes import FakeSource
from tests.sample_data import curves

NOW = 1_800_000_000_000


class Session:
    def __init__(self, watched: tuple[str, ...]) -> None:
        self.trouble: dict = {}
        self.watched = watched
        self.told: set = set()

    def tell(self, run_id, kind, pair) -> bool:
        key = (run_id, kind, pair)
        fresh = key not in self.told
        self.told.add(key)
        return fresh


def _app(experiments: list[str], watched: tuple[str, ...]) -> SimpleNamespace:
    return SimpleNamespace(
        settings=Settings(uri="http://x", experiments=experiments, notify="osc777"),
        clock=lambda: NOW / 1000, screen_stack=[], session=Session(watched), monitor=None,
        notify=lambda *a, **k: None, bell=lambda: None)


def _fail(src: FakeSource, rid: str) -> None:
    src.runs = [Run(r.run_id, r.experiment_id, r.name, RunStatus.FAILED, r.start_time,
                    NOW - 1000, r.metrics) if r.run_id == rid else r for r in src.runs]


@pytest.mark.parametrize("named,expected", [
    ([], ["failed: run-a", "failed: run-b"]),
    (["team/a"], ["failed: run-a"]),  # -e team/a: the other experiment is quiet
])
async def test_a_failed_run_is_one_desktop_notification(monkeypatch, named, expected):
    written: list[str] = []
    monkeypatch.setattr(mlflow_tui.ui.terminal, "write_raw",
                        lambda app, text: written.append(text) or True)
    src = FakeSource()
    src.experiments = [Experiment("1", "team/a"), Experiment("2", "team/b")]
    for rid, exp in (("a", "1"), ("b", "2")):
        src.add_run(Run(rid, exp, f"run-{rid}", RunStatus.RUNNING, NOW - 60_000),
                    curves(10, seed=1), t0=NOW - 50_000)
    app = _app(named, ("1",) if named else ("1", "2"))
    controller = NowController(app, src)  # type: ignore[arg-type]
    controller.apply(await controller.feed.tick(src.experiments))
    assert written == []
    _fail(src, "a")
    _fail(src, "b")
    update = await controller.feed.tick(src.experiments)
    # Both paths hold each failed run: a FAILED warning and the run in `ended`.
    assert {(row.run.run_id, w.kind.value) for row, w in update.fresh} == {
        ("a", "failed"), ("b", "failed")}
    assert set(update.ended) == {"a", "b"}
    controller.apply(update)
    titles = sorted(t.split(";")[2].removeprefix("mlflow-tui: ") for t in written)
    assert titles == expected, written
    controller.apply(await controller.feed.tick(src.experiments))  # nothing new
    assert len(written) == len(expected)
