"""A whole session through a recording proxy: only read endpoints are called; and credentials
(in the URI, or tokens from the environment) never reach the screen, the exported CSV, the
state line's error text or the log, while they do reach the server."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from mlflow.entities import Metric, Param

from mlflow_tui.app import make_app
from mlflow_tui.screens.compare import CompareScreen
from mlflow_tui.screens.details import RunDetailsScreen
from mlflow_tui.screens.help import HelpScreen
from mlflow_tui.screens.picker import PickerScreen
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import ExperimentTree, RunTable
from tests.conftest import screen_text, wait_rows, wait_until
from tests.proxy import Fault, FaultProxy
from tests.sample_data import curves

# Whole sessions against a server, waiting on its ticks: they run in the `waits` lanes, beside
# the CPU-bound tests (tests/conftest.py).
pytestmark = pytest.mark.waits

API = "/api/2.0/mlflow"
READ_ONLY = {
    f"POST {API}/experiments/search", f"POST {API}/runs/search", f"GET {API}/runs/get",
    f"GET {API}/metrics/get-history", f"GET {API}/metrics/get-history-bulk-interval",
    "GET /version", "GET /health",
}
PASSWORD = "pa55-w0rd-XYZZY"
TOKEN = "tok-SECRET-0xDEADBEEF"


def _seed(client, tag: str) -> list[str]:
    names = []
    for part in ("a", "b"):
        name = f"session/{tag}/{part}"
        exp = client.create_experiment(name)
        names.append(name)
        for i in range(2):
            rid = client.create_run(exp, run_name=f"{part}-run{i}").info.run_id
            now = int(time.time() * 1000)
            client.log_batch(rid, metrics=[Metric(k, v, now + s, s)
                                           for k, pts in curves(40, seed=i + 1).items()
                                           for s, v in pts],
                             params=[Param("lr", str(0.1 / (i + 1)))])
            client.set_terminated(rid, "FINISHED")
    return names


async def test_a_whole_session_only_reads(live_server, tmp_path):
    client = live_server.client()
    names = _seed(client, uuid.uuid4().hex[:6])
    with FaultProxy(live_server.url) as proxy:
        app = make_app(Settings(uri=proxy.url, experiments=[names[0]], interval=0.5,
                                export_dir=str(tmp_path)))
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_rows(app, 2, timeout=20)
            # Browse runs and chart controls.
            await pilot.press("j", "k", "m", "m", "x", "y", "s", "L", "r", "o", "O", "w", "w")
            await pilot.press("M")
            await wait_until(lambda: isinstance(app.screen, PickerScreen))
            await pilot.press("j", "enter")
            await wait_until(lambda: not isinstance(app.screen, PickerScreen))
            await pilot.press("i")
            await wait_until(lambda: isinstance(app.screen, RunDetailsScreen))
            await pilot.press("escape", "question_mark")
            await wait_until(lambda: isinstance(app.screen, HelpScreen))
            await pilot.press("escape")
            # A server-side filter.
            await pilot.press("slash", *"metrics.val_loss < 100", "enter")
            await wait_until(lambda: app.session.server_filter == "metrics.val_loss < 100")
            await wait_rows(app, 2, timeout=15)
            await pilot.press("space", "j", "space")
            # Another experiment from the tree.
            await pilot.press("shift+tab")
            tree = app.monitor.query_one(ExperimentTree)
            exp_b = client.get_experiment_by_name(names[1]).experiment_id
            for _ in range(200):
                if tree.current_experiment_id == exp_b:
                    break
                await pilot.press("j")
            await pilot.press("enter")
            await wait_until(lambda: app.session.watched == (exp_b,), timeout=15)
            app.monitor.query_one(RunTable).focus()
            await wait_rows(app, 2, timeout=15)
            await pilot.press("space")
            # Compare and export.
            await pilot.press("c")
            await wait_until(lambda: isinstance(app.screen, CompareScreen))
            await wait_until(lambda: app.session.compare.frame is not None
                             and len(app.session.compare.frame) == 3, timeout=20)
            await pilot.press("m", "d", "o")  # o: pick the sort column from a list
            await wait_until(lambda: isinstance(app.screen, PickerScreen))
            await pilot.press("j", "enter")
            await wait_until(lambda: isinstance(app.screen, CompareScreen))
            await pilot.press("O", "e")
            await wait_until(lambda: list(tmp_path.glob("*.csv")), message="the export")
            await pilot.press("escape", "q")
            await wait_until(lambda: not app.is_running)
        calls = set(proxy.paths())
    assert {f"POST {API}/runs/search", f"POST {API}/experiments/search"} <= calls
    assert any("get-history" in c for c in calls)
    assert calls <= READ_ONLY, f"write or unknown endpoints: {sorted(calls - READ_ONLY)}"


def _no_secret(where: str, text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked into {where}"


@pytest.mark.parametrize("how", ["uri", "env-password", "env-token"])
async def test_credentials_reach_the_server_and_nowhere_else(live_server, tmp_path, how,
                                                             monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at DEBUG/INFO
    client = live_server.client()
    names = _seed(client, uuid.uuid4().hex[:6])
    seen_auth: list[str] = []
    with FaultProxy(live_server.url) as proxy:
        proxy.on_header = seen_auth.append
        uri = proxy.url
        if how == "uri":
            uri = proxy.url.replace("http://", f"http://alice:{PASSWORD}@")
        elif how == "env-password":
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
        else:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
        secret = TOKEN if how == "env-token" else PASSWORD
        # Retries every 0.5 s (the back-off capped there): five faults come and go, each
        # waited out; their timing is test_faults.py's subject, not this test's.
        app = make_app(Settings(uri=uri, experiments=[names[0]], interval=0.3, max_backoff=0.5,
                                export_dir=str(tmp_path)))
        async with app.run_test(size=(200, 45)) as pilot:
            await wait_rows(app, 2, timeout=20)
            _no_secret("the screen", screen_text(app), secret)
            _no_secret("the shown URI", app.source.display_uri, secret)
            # Errors of every kind: their text is built from URLs and server answers.
            for fault in (Fault(status=401), Fault(status=403, body=b'{"message": "' +
                          PASSWORD.encode() + b' ' + TOKEN.encode() + b'"}'),
                          Fault(status=502, html=True), Fault(reset=True)):
                proxy.fault = fault
                await wait_until(lambda: app.session.state != "live", timeout=20)
                _no_secret("the state line", screen_text(app) + app.session.state_detail, secret)
                proxy.fault = None
                await wait_until(lambda: app.session.state == "live", timeout=30)
            proxy.down()
            await wait_until(lambda: "refused" in app.session.state_detail, timeout=20)
            _no_secret("the state line", screen_text(app), secret)
            proxy.up()
            await wait_until(lambda: app.session.state == "live", timeout=30)
            await pilot.press("space", "j", "space", "c")
            await wait_until(lambda: isinstance(app.screen, CompareScreen))
            await wait_until(lambda: app.session.compare.frame is not None
                             and len(app.session.compare.frame) == 2, timeout=20)
            await pilot.press("e")
            await wait_until(lambda: list(tmp_path.glob("*.csv")), message="the export")
            _no_secret("the compare screen", screen_text(app), secret)
            await pilot.press("escape", "q")
    for path in tmp_path.glob("*.csv"):
        _no_secret(str(path), path.read_text(), secret)
    assert "HTTP Request" in caplog.text  # the log was recorded...
    _no_secret("the log", caplog.text, secret)  # ... without the secret
    # ... and the credentials did reach the server.
    assert seen_auth, "no Authorization header was sent"
    if how == "env-token":
        assert f"Bearer {TOKEN}" in seen_auth
    else:
        assert all(h.startswith("Basic ") for h in seen_auth)
