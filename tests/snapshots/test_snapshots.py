"""SVG snapshots of the main screens, on deterministic data with a frozen clock.
Update after an intended change: pytest tests/snapshots --snapshot-update, then look at the
SVGs in tests/snapshots/__snapshots__/."""

from __future__ import annotations

import pytest

from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import RunTable
from tests.conftest import wait_until
from tests.sample_data import NOW, fake_app


def _app(**kw):
    return fake_app(interval=3600, **kw)


async def _ready(pilot, run_id: str = "a1") -> None:
    app = pilot.app
    await wait_until(lambda: app.monitor is not None
                     and app.monitor.query_one(RunTable).row_count == 6, message="rows")
    table = app.monitor.query_one(RunTable)
    table.move_cursor(row=table.get_row_index(run_id))
    await wait_until(lambda: app.session.highlighted == run_id, message="highlight")
    await wait_until(
        lambda: bool(app.session.poller.points((run_id, "val_loss"))), message="series"
    )
    await wait_until(
        lambda: app.session.health.overfitting(run_id) is not None or run_id != "a1",
        message="finding",
    )
    # Every running run of every experiment judged once (the tree's ⚠/✘ counts).
    await wait_until(lambda: app.now is not None and app.now.applied >= 1, message="now feed")
    app.clear_notifications()
    await pilot.pause()
    await pilot.pause()


def test_main_screen_overfitting_run(snap_compare):
    assert snap_compare(_app(), terminal_size=(140, 40), run_before=_ready)


def test_main_screen_healthy_run_small_terminal(snap_compare):
    async def before(pilot):
        await _ready(pilot, "a2")

    assert snap_compare(_app(), terminal_size=(100, 30), run_before=before)


def test_help_screen(snap_compare):
    async def before(pilot):
        await _ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(120, 40), run_before=before)


def test_start_screen(snap_compare):
    app = make_app(Settings(uri=None), None, clock=lambda: NOW)
    assert snap_compare(app, terminal_size=(110, 30))


def test_chart_with_smoothing_and_log_scale(snap_compare):
    async def before(pilot):
        await _ready(pilot)
        await pilot.press("s", "s", "y")  # smoothing 0.8, log y
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(140, 40), run_before=before)


def test_compare_view(snap_compare):
    async def before(pilot):
        app = pilot.app
        await _ready(pilot, "a2")
        table = app.monitor.query_one(RunTable)
        for rid in ("a1", "a2", "a3"):
            table.move_cursor(row=table.get_row_index(rid))
            await wait_until(lambda rid=rid: app.session.highlighted == rid)
            await pilot.press("space")
        await pilot.press("c")
        await wait_until(
            lambda: (
                app.session.compare.frame is not None
                and len(app.session.compare.frame) == 3
                and app.session.compare.frame["val_loss.min"].notna().all()
            )
        )
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(150, 45), run_before=before)


# Small and large terminals, dark and light themes (issue 7): the tree folds below 100
# columns, the run table and the chart both keep rows at 24 lines, a light theme stays readable.
SIZES = {"80x24": (80, 24), "200x60": (200, 60)}
THEMES = ("textual-dark", "textual-light")


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", list(SIZES))
def test_monitor_sizes_and_themes(snap_compare, size, theme):
    assert snap_compare(_app(theme=theme), terminal_size=SIZES[size], run_before=_ready)


async def _compare_three(pilot) -> None:
    app = pilot.app
    await _ready(pilot, "a2")
    table = app.monitor.query_one(RunTable)
    for rid in ("a1", "a2", "a3"):
        table.move_cursor(row=table.get_row_index(rid))
        await wait_until(lambda rid=rid: app.session.highlighted == rid)
        await pilot.press("space")
    await pilot.press("c")
    await wait_until(
        lambda: (
            app.session.compare.frame is not None
            and len(app.session.compare.frame) == 3
            and app.session.compare.frame["val_loss.min"].notna().all()
        )
    )
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("theme", THEMES)
def test_compare_small_terminal(snap_compare, theme):
    assert snap_compare(_app(theme=theme), terminal_size=(80, 24), run_before=_compare_three)


def test_tree_widens_when_focused_on_a_narrow_terminal(snap_compare):
    async def before(pilot):
        await _ready(pilot)
        await pilot.press("shift+tab")  # from the run table to the experiment tree
        await pilot.pause()

    assert snap_compare(_app(theme="textual-light"), terminal_size=(80, 24), run_before=before)


def test_compare_view_runs_as_columns(snap_compare):
    """t: the runs as columns, each run's name in its colour (as its curves)."""
    async def before(pilot):
        await _compare_three(pilot)
        await pilot.press("t")
        await wait_until(lambda: pilot.app.session.compare.transposed)
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(150, 45), run_before=before)


async def _now_ready(pilot) -> None:
    """The app started with --now: every running run judged, the ended ones too."""
    from mlflow_tui.analysis.health import Kind
    from mlflow_tui.screens.now import NowScreen

    app = pilot.app
    await wait_until(lambda: isinstance(app.screen, NowScreen), message="Now view")

    def complete() -> bool:
        update = app.screen.update
        if update is None or len(update.rows) != 9:
            return False
        kinds = {w.kind for row in update.rows for w in row.warnings}
        return {Kind.OVERFITTING, Kind.DIVERGED} <= kinds

    await wait_until(complete, message="every run judged")
    app.clear_notifications()
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("size", ["160x48", "80x24"])
def test_now_view(snap_compare, size):
    """Running runs of three experiments and the runs ended in the last hour, trouble first."""
    from tests.sample_data import now_source

    app = _app(source=now_source(), now=True)
    width, height = (int(n) for n in size.split("x"))
    assert snap_compare(app, terminal_size=(width, height), run_before=_now_ready)
