"""ctrl+p "Go to run" on a real `mlflow server`: runs not loaded (older than the page the
monitor lists, or in an experiment that is not open) are found by the server-side name search
(MonitorSession.find_runs: run name ILIKE) and opened."""

from __future__ import annotations

import functools
import uuid

from mlflow_tui.app import make_app
from mlflow_tui.session import monitor as session_module
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking.poller import Poller
from mlflow_tui.widgets import RunTable
from tests.conftest import screen_text, wait_until


async def test_go_to_run_finds_runs_beyond_those_loaded(live_server, monkeypatch):
    # A page of 10 runs instead of 500: 12 newer runs push the needle past it.
    monkeypatch.setattr(session_module, "Poller", functools.partial(Poller, max_runs=10))
    client = live_server.client()
    tag = uuid.uuid4().hex[:6]
    shown, other = (client.create_experiment(f"goto/{tag}/{x}") for x in ("shown", "elsewhere"))

    def finished(experiment_id: str, name: str) -> str:  # running runs are always listed
        run_id = client.create_run(experiment_id, run_name=name).info.run_id
        client.set_terminated(run_id, "FINISHED")
        return run_id

    old = finished(shown, f"needle-{tag}-oldest")
    for i in range(12):  # newer runs push the needle past the page the monitor lists
        finished(shown, f"hay-{i:02d}")
    elsewhere = finished(other, f"needle-{tag}-elsewhere")
    app = make_app(Settings(uri=live_server.url, experiments=[f"goto/{tag}/shown"],
                            interval=0.5))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(lambda: app.monitor is not None
                         and app.monitor.query_one(RunTable).row_count == 10, timeout=30)
        loaded = {ref.run_id for ref in app.loaded_runs()}
        assert old not in loaded and elsewhere not in loaded
        found = await app.session.find_runs(f"needle-{tag}")
        assert {r.run_id for r in found} == {old, elsewhere}
        assert await app.session.find_runs("no-such-run-name-" + tag) == []
        # Through the palette: the name, enter, and the run is open in its experiment.
        await pilot.press("ctrl+p")
        await wait_until(lambda: "CommandPalette" in type(app.screen).__name__)
        await pilot.press(*f"{tag}-else")
        await wait_until(lambda: f"Go to run: needle-{tag}-elsewhere" in screen_text(app),
                         timeout=30)
        await pilot.press("enter")
        await wait_until(lambda: app.session.watched == (other,)
                         and app.session.highlighted == elsewhere, timeout=30)
