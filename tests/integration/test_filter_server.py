"""The run filter against a real server: MLflow syntax filtered by the server, plain text by
name here, and a bad expression reported once, inline, without losing the view."""

from __future__ import annotations

import uuid

from textual.widgets import Input

from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import RunTable
from tests.conftest import screen_text, wait_until


async def test_filter_by_search_syntax_plain_text_and_bad_expression(live_server):
    client = live_server.client()
    name = f"filter/{uuid.uuid4().hex[:6]}/exp"
    exp = client.create_experiment(name)
    for i, (lr, loss) in enumerate([("0.01", 0.3), ("0.1", 0.7), ("0.01", 0.9)]):
        rid = client.create_run(exp, run_name=f"run-{i}-lr{lr}").info.run_id
        client.log_param(rid, "lr", lr)
        client.log_metric(rid, "val_loss", loss, step=1)
    app = make_app(Settings(uri=live_server.url, experiments=[name], interval=0.5))
    async with app.run_test(size=(160, 40)) as pilot:
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: table.row_count == 3, timeout=15)
        await pilot.press("slash")
        box = app.monitor.query_one("#filter", Input)
        assert app.focused is box
        box.value = "metrics.val_loss < 0.5 and params.lr = '0.01'"
        await pilot.press("enter")
        await wait_until(lambda: table.row_count == 1, timeout=10)
        assert "run-0-lr0.01" in str(table.get_row_at(0))
        assert app.session.server_filter.startswith("metrics.val_loss")
        # A bad expression: one inline message, the last good view stays.
        calls = []
        notify = app.notify
        app.notify = lambda *a, **k: (calls.append(a), notify(*a, **k))  # type: ignore
        await pilot.press("slash")
        box.value = "metrics.val_loss <<< 'x'"
        await pilot.press("enter")
        error = app.monitor.query_one("#filter-error")
        # Shown, then painted: read the screen once it says so (under load the read came
        # between the two).
        await wait_until(lambda: error.display and "filter refused" in screen_text(app),
                         timeout=10, message="the refusal on screen")
        # (The Now feed's summary of other tests' runs may arrive meanwhile: not about this.)
        about = [c for c in calls if "filter" in str(c).lower() or "<<<" in str(c)]
        assert table.row_count == 1 and about == []
        assert app.session.state == "live"
        # Plain text: a name match done here; the server filter is dropped.
        await pilot.press("slash")
        box.value = "lr0.1"
        await pilot.press("enter")
        await wait_until(lambda: table.row_count == 1 and "run-1" in str(table.get_row_at(0)),
                         timeout=10)
        assert not error.display
        await pilot.press("slash")
        box.value = ""
        await pilot.press("enter")
        await wait_until(lambda: table.row_count == 3, timeout=10)


async def test_plain_text_reaches_runs_beyond_the_loaded_page(live_server):
    """An experiment larger than what is loaded: a plain-text filter is also asked of the
    server (run_name ILIKE), so it finds an old run that is not in the loaded page."""
    client = live_server.client()
    name = f"filter/{uuid.uuid4().hex[:6]}/large"
    exp = client.create_experiment(name)
    old = client.create_run(exp, run_name="needle-old", start_time=1_000).info.run_id
    client.set_terminated(old, "FINISHED", end_time=1_500)
    for i in range(12):  # finished runs (every running run is always listed)
        rid = client.create_run(exp, run_name=f"hay-{i}", start_time=2_000 + i).info.run_id
        client.set_terminated(rid, "FINISHED", end_time=3_000 + i)
    app = make_app(Settings(uri=live_server.url, experiments=[name], interval=0.5))
    async with app.run_test(size=(160, 40)) as pilot:
        app.session.poller.max_runs = 5  # a "large" experiment: the newest 5 are loaded
        table = app.monitor.query_one(RunTable)
        await pilot.press("r")
        await wait_until(lambda: app.session.poller.truncated and table.row_count == 5, timeout=15)
        assert old not in app.session.poller.runs
        assert "searches them all" in str(table.border_title)
        await pilot.press("slash")
        app.monitor.query_one("#filter", Input).value = "needle"
        await pilot.press("enter")
        await wait_until(
            lambda: table.row_count == 1 and old in app.session.poller.runs, timeout=15
        )
        assert app.session.server_filter == "attributes.run_name ILIKE '%needle%'"
        assert "filter: needle" in str(table.border_title)
