"""The Now screen on its own: rows in trouble first, the columns that matter visible at 80
columns, Enter asks to open the run, names shown as plain text."""

from __future__ import annotations

import time

from textual.app import App

from mlflow_tui.analysis.judge import judge
from mlflow_tui.analysis.now import now_rows, trouble_counts
from mlflow_tui.screens.now import NowScreen, rate_text
from mlflow_tui.session.now import NowUpdate
from mlflow_tui.tracking.models import Point, Run, RunStatus
from tests.conftest import screen_text, wait_until
from tests.sample_data import curves

NOW = int(time.time() * 1000)


def _run(rid: str, exp: str, name: str, status: RunStatus, data, *, ended: bool = False):
    pts = {k: [Point(s, v, NOW - (len(data[k]) - s) * 1000) for s, v in data[k]]
           for k in ("train_loss", "val_loss")}
    run = Run(rid, exp, name, status, NOW - 60_000, NOW - 1000 if ended else None,
              metrics={k: p[-1] for k, p in pts.items()}, params={"epochs": "100"})
    return run, pts


def _update():
    made = [
        _run("a" * 32, "1", "healthy-run", RunStatus.RUNNING, curves(40, seed=1)),
        _run("b" * 32, "2", "[bold]overfit[/bold]\x1b[31m", RunStatus.RUNNING,
             curves(40, overfit_at=12, seed=3)),
        _run("c" * 32, "3", "crashed", RunStatus.FAILED, curves(10, seed=2), ended=True),
    ]
    series = {(run.run_id, k): p for run, pts in made for k, p in pts.items()}
    points = lambda key: series.get(key, [])  # noqa: E731
    judgements = {run.run_id: judge(run, points, NOW) for run, _ in made}
    names = {"1": "team/vision", "2": "team/nlp-with-a-rather-long-experiment-name", "3": "x"}
    rows = now_rows([m[0] for m in made[:2]], [made[2][0]], names, judgements, points)
    return NowUpdate(rows, trouble_counts(rows), [], True, 1)


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.jumps: list[tuple[str, str]] = []

    def on_mount(self) -> None:
        self.push_screen(NowScreen(_update()))

    def on_now_screen_jump(self, message: NowScreen.Jump) -> None:
        self.jumps.append((message.experiment_id, message.run_id))


async def test_trouble_first_and_enter_opens_the_run():
    app = Host()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(lambda: isinstance(app.screen, NowScreen))
        screen = app.screen
        assert isinstance(screen, NowScreen)
        order = [r.run.name for r in screen.update.rows]
        assert order[0] == "crashed" and order[1].startswith("[bold]overfit")
        text = screen_text(app)
        assert "2 running · 1 ended in the last hour" in text
        assert "[bold]overfit[/bold]" in text and "␛" in text  # plain text, escapes visible
        assert "⚠ overfit" in text and "✘ failed" in text
        # The highlighted run in full below the table: every warning's reason.
        assert "crashed" in text and "✘ failed: " in text
        await pilot.press("j")
        await wait_until(lambda: "⚠ overfit: val_loss up" in screen_text(app))
        await pilot.press("enter")
        await wait_until(lambda: app.jumps == [("2", "b" * 32)])


async def test_eighty_columns_keep_name_status_step_val_and_warning():
    app = Host()
    async with app.run_test(size=(80, 24)):
        await wait_until(lambda: isinstance(app.screen, NowScreen))
        lines = screen_text(app).splitlines()
        header = next(line for line in lines if "Run" in line and "Status" in line)
        for column in ("Warning", "Run", "Status", "Step", "Val"):
            assert column in header, header
        row = next(line for line in lines if "healthy-run" in line)
        assert "RUNNING" in row and "39" in row


def test_rate_text():
    assert rate_text(None) == "—"
    assert rate_text(1234.0) == "1,234/m"
    assert rate_text(12.34) == "12.3/m"
    assert rate_text(0.5) == "30.0/h"


async def test_footer_says_what_enter_does():
    """The table's own enter (hidden) used to hide the view's: the footer did not say it."""
    app = Host()
    async with app.run_test(size=(80, 24)):
        await wait_until(lambda: isinstance(app.screen, NowScreen))
        await wait_until(lambda: "Open run" in screen_text(app).splitlines()[-1])


async def test_rate_eta_and_train_cells():
    """60 steps a minute (a point a second), 'epochs' 100 at step 39: 61 steps left, 1m01s."""
    app = Host()
    async with app.run_test(size=(160, 40)):
        await wait_until(lambda: isinstance(app.screen, NowScreen))
        from mlflow_tui.widgets import RunTable

        table = app.screen.query_one(RunTable)
        rid = "a" * 32
        await wait_until(lambda: table.row_count == 3)
        assert str(table.get_cell(rid, "rate")) == "60.0/m"
        assert str(table.get_cell(rid, "eta")) == "1m01s"
        row = app.screen.update.rows[[r.run.run_id for r in app.screen.update.rows].index(rid)]
        assert str(table.get_cell(rid, "train")) == f"{row.train.value:.4f}"
        assert str(table.get_cell("c" * 32, "eta")) == ""  # ended: no ETA


async def test_eighty_columns_leave_the_experiment_name_readable():
    app = Host()
    async with app.run_test(size=(80, 24)):
        await wait_until(lambda: isinstance(app.screen, NowScreen))
        row = next(line for line in screen_text(app).splitlines() if "RUNNING" in line
                   and "overf" in line)
        assert "team/nlp-with" in row, row  # 13+ cells of the name, not "team/nlp…"


async def test_the_now_start_option_opens_the_now_view():
    """`mlflow-tui URL --now`: the Now view first; without it, the monitor."""
    from mlflow_tui.app import make_app
    from mlflow_tui.cli import parse_settings
    from mlflow_tui.screens.monitor import MonitorScreen
    from tests.sample_data import NOW as FROZEN
    from tests.sample_data import sample_source

    for argv, screen in ((["--now"], NowScreen), ([], MonitorScreen)):
        settings = parse_settings(["http://tracking.example:5000", *argv])
        assert settings.now is (screen is NowScreen)
        app = make_app(settings, sample_source(), clock=lambda: FROZEN)
        async with app.run_test(size=(120, 30)):
            await wait_until(lambda app=app: app.now is not None and app.now.applied >= 1)
            assert isinstance(app.screen, screen), (argv, app.screen)
            if screen is NowScreen:
                await wait_until(lambda app=app: "resnet18-lr0.1" in screen_text(app))
