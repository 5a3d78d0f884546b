"""The data layer, `mlflow-tui status` and the app against REAL old MLflow servers: 2.9.2 (no
get-history-bulk-interval) and, for the run_id IN fallback, 2.0.1 (no /version either).

Each server runs from a lean venv that tests/old_server.py builds once (cached outside the
repo); the tests skip with that helper's reason only when it cannot be built or started here.
Seeding and logging go through the old version's own client (a subprocess)."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from pathlib import Path

import pytest

from mlflow_tui.cli import main
from mlflow_tui.tracking.models import RunStatus
from mlflow_tui.tracking.poller import Poller
from mlflow_tui.tracking.rest import RestSource
from tests.conftest import screen_text, wait_until
from tests.old_server import OLD_VERSION, OldMlflowServer, OldServerUnavailable, skip_reason
from tests.sample_data import curves

pytestmark = pytest.mark.server


def _server(tmp_path_factory: pytest.TempPathFactory, version: str):
    reason = skip_reason(version)
    if reason:
        pytest.skip(reason)
    server = OldMlflowServer(tmp_path_factory.mktemp(f"old-mlflow-{version}"), version)
    try:
        server.start()
    except OldServerUnavailable as exc:
        pytest.skip(exc.reason)
    return server


@pytest.fixture(scope="module")
def old(tmp_path_factory):
    server = _server(tmp_path_factory, OLD_VERSION)
    yield server
    server.stop(graceful=False)


@pytest.fixture(scope="module")
def oldest(tmp_path_factory):
    server = _server(tmp_path_factory, "2.0.1")
    yield server
    server.stop(graceful=False)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


_LOG_MANY = r"""
import json, sys
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

client = MlflowClient()
for run_id, key, points in json.load(sys.stdin):
    client.log_batch(run_id, metrics=[Metric(key, float(v), int(t), int(s))
                                      for s, v, t in points])
print("null")
"""


def _log_many(server: OldMlflowServer, batches: list) -> None:
    """[(run_id, key, [(step, value, timestamp_ms)])] in one old-client process."""
    server.run_client(_LOG_MANY, [[rid, key, [list(p) for p in pts]]
                                  for rid, key, pts in batches])


def _name(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex[:8]}"


def _points(start: int, stop: int, every: int = 1, scale: float = 1.0) -> list:
    now = int(time.time() * 1000)
    return [(s, scale / (s + 1), now + s) for s in range(start, stop, every)]


async def _assert_exact(source: RestSource, poller: Poller, keys) -> int:
    """After a read: cached points == the server's whole history at steps >= exact_from."""
    total = 0
    for key in keys:
        cache = poller.series[key]
        assert cache.exact_len is None, key
        full = await source.get_full_history(*key)
        want = [p for p in full if p.step >= cache.exact_from]
        got = [p for p in cache.points if p.step >= cache.exact_from]
        assert [(p.step, p.timestamp) for p in got] == [(p.step, p.timestamp) for p in want], key
        for a, b in zip(got, want, strict=True):
            assert a.value == b.value or (math.isnan(a.value) and math.isnan(b.value))
        total += len(got)
    return total


# ---------------------------------------------------------------------- 2.9.2
async def test_capabilities_of_2_9_2(old):
    source = RestSource(old.url)
    try:
        caps = await source.capabilities()
        assert (caps.version, caps.windows, caps.run_id_in) == ("2.9.2", False, True)
        assert caps.note == ("MLflow 2.9.2: no windowed history (before 2.11): charts refresh "
                             "from full histories")
        assert source.requests == 1  # GET /version told everything
        assert await source.server_version() == "2.9.2"
        assert source.windows_are_cheap is False
    finally:
        await source.aclose()


async def test_poller_on_2_9_2_stays_exact(old):
    """Statuses of a seeded experiment; histories of the tracked series (one of 3,000 points,
    sampled at its first load) follow points logged between ticks — the latest at once,
    the whole at each read — and equal the server's history after every read."""
    seeded = old.seed(experiment=_name("old/poller"), runs=[
        {"name": "running", "status": "RUNNING", "steps": 50},
        {"name": "finished", "status": "FINISHED", "steps": 50},
        {"name": "failed", "status": "FAILED", "steps": 50},
        {"name": "long", "status": "RUNNING", "steps": 3000},
    ])
    exp = seeded["experiment_id"]
    ids = {r["name"]: r["run_id"] for r in seeded["runs"]}
    keys = [(rid, k) for rid in ids.values() for k in ("train_loss", "val_loss")]
    source = RestSource(old.url)
    reads: list[str] = []  # run id of every get-history

    async def record(request) -> None:
        if request.url.path.endswith("/metrics/get-history"):
            reads.append(request.url.params["run_id"])

    source._client.event_hooks["request"].append(record)
    clock = Clock()
    poller = Poller(source, clock=clock, first_load_points=500)
    try:
        first = await poller.tick([exp], keys)
        assert {r.name: r.status for r in first.runs} == {
            "running": RunStatus.RUNNING, "finished": RunStatus.FINISHED,
            "failed": RunStatus.FAILED, "long": RunStatus.RUNNING}
        assert first.updated_series == set(keys)
        assert poller.capabilities.windows is False
        assert poller.series[(ids["long"], "val_loss")].sampled
        assert sorted(reads) == sorted(rid for rid, _ in keys)  # one read per series
        await _assert_exact(source, poller, keys)
        reads.clear()
        live = [ids["running"], ids["long"]]
        nxt = {rid: 50 if rid == ids["running"] else 3000 for rid in live}
        for _ in range(3):
            batches = []
            for rid in live:  # gaps, and a value re-logged at the last step
                pts = _points(nxt[rid], nxt[rid] + 6, every=2)
                pts.append((pts[-1][0], 0.5, pts[-1][2] + 5))
                batches += [(rid, key, pts) for key in ("train_loss", "val_loss")]
                nxt[rid] = pts[-1][0] + 1
            await asyncio.to_thread(_log_many, old, batches)
            clock.now += 2.0
            result = await poller.tick([exp], keys)
            for rid in live:
                for key in ("train_loss", "val_loss"):
                    assert (rid, key) in result.updated_series
                    latest = poller.runs[rid].metrics[key]
                    assert poller.points((rid, key))[-1] == latest  # the latest, at once
        # 6 s of logging: the 3,000-point series were not read again (provisional points);
        # the 50-point ones were (due after 2.5 s).
        assert ids["long"] not in reads and ids["running"] in reads
        assert poller.series[(ids["long"], "val_loss")].exact_len is not None
        # Past the staleness limit every series is read again, whole, and exact: about
        # OLD_REFRESH_POINTS points a tick (here one long series a tick).
        clock.now += 400.0
        for _ in range(3):
            await poller.tick([exp], keys)
            clock.now += 2.0
        await _assert_exact(source, poller, keys)
        tail = [p for p in poller.points((ids["long"], "val_loss")) if p.step >= 3000]
        assert len(tail) == 3 * 4  # 3 bursts of 3 steps and a re-log: none missing now
        # The run finishes with a last burst: exact at the next tick.
        await asyncio.to_thread(old.log_points, ids["long"], "val_loss",
                                _points(nxt[ids["long"]], nxt[ids["long"]] + 3))
        await asyncio.to_thread(old.set_status, ids["long"], "FINISHED")
        clock.now += 2.0
        await poller.tick([exp], keys)
        assert poller.runs[ids["long"]].status is RunStatus.FINISHED
        await _assert_exact(source, poller, keys)
    finally:
        await source.aclose()


def test_status_json_on_2_9_2(old, isolated, capsys):
    name = _name("old/status")
    seeded = old.seed(experiment=name, runs=[
        {"name": "overfits", "status": "RUNNING", "steps": 0},
        {"name": "healthy", "status": "RUNNING", "steps": 0}])
    ids = {r["name"]: r["run_id"] for r in seeded["runs"]}
    logged = {"overfits": curves(40, overfit_at=12, seed=3), "healthy": curves(40, seed=4)}
    now = int(time.time() * 1000)
    _log_many(old, [(ids[run], key, [(s, v, now + s) for s, v in data[key]])
                    for run, data in logged.items() for key in ("train_loss", "val_loss")])
    for run in logged:
        old.set_status(ids[run], "FINISHED")
    code = main(["status", old.url, "-e", name, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "no MLflow API" not in err
    rows = {r["run"]: r for r in json.loads(out)}
    assert set(rows) == {"overfits", "healthy"}
    for run, data in logged.items():
        row = rows[run]
        assert row["status"] == "FINISHED" and row["step"] == 39
        assert (row["train_metric"], row["val_metric"]) == ("train_loss", "val_loss")
        assert row["train"] == pytest.approx(data["train_loss"][-1][1])
        assert row["val"] == pytest.approx(data["val_loss"][-1][1])
    assert [w["kind"] for w in rows["overfits"]["warnings"]] == ["overfitting"]
    assert "val_loss" in rows["overfits"]["warnings"][0]["reason"]
    assert rows["healthy"]["warnings"] == []


async def test_app_on_2_9_2_shows_live_points(old):
    """The monitor on a 2.9.2 server: live, no "has no MLflow API" error, and a running run's
    new points reach its series after the next ticks."""
    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings
    from mlflow_tui.widgets import MetricChart, RunTable

    name = _name("old/app")
    seeded = old.seed(experiment=name, runs=[
        {"name": "done", "status": "FINISHED", "steps": 0},
        {"name": "live", "status": "RUNNING", "steps": 30}])
    rid = next(r["run_id"] for r in seeded["runs"] if r["name"] == "live")
    done = next(r["run_id"] for r in seeded["runs"] if r["name"] == "done")
    # The finished run's curves: val_loss turns up clearly at step 12 while train falls.
    logged = curves(40, overfit_at=12, seed=3)
    now = int(time.time() * 1000)
    _log_many(old, [(done, key, [(s, v, now + s) for s, v in logged[key]])
                    for key in ("train_loss", "val_loss")])
    app = make_app(Settings(uri=old.url, experiments=[name], interval=1.0))
    async with app.run_test(size=(140, 40)):
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: table.row_count == 2, timeout=30, message="2 rows")
        await wait_until(
            lambda: len(app.session.poller.points((rid, "val_loss"))) == 30,
            timeout=30,
            message="the live run's val_loss loaded",
        )
        assert app.session.state == "live", app.session.state_detail
        assert app.session.poller.capabilities.windows is False
        assert "2.9.2" in app.source.known_capabilities.note
        await wait_until(
            lambda: "old server (MLflow 2.9.2)" in screen_text(app),
            message="the header says the server is old",
        )
        # The chart is filled (not "no data points yet"), and the run whose val_loss turned
        # up is warned.
        chart = app.monitor.query_one(MetricChart)
        await wait_until(
            lambda: "val_loss" in chart.series_labels and "no data points" not in screen_text(
                app), timeout=30, message="val_loss charted, on screen")
        await wait_until(
            lambda: bool(app.session.health.overfitting(done)),
            timeout=30,
            message="the finished overfitting run warned",
        )
        await asyncio.to_thread(old.log_points, rid, "val_loss", _points(30, 36, scale=1.5))
        await wait_until(
            lambda: app.session.poller.points((rid, "val_loss"))[-1].step == 35,
            timeout=30,
            message="the new points",
        )
        assert app.session.state == "live", app.session.state_detail
        assert "no MLflow API" not in (app.session.state_detail or "")


# ---------------------------------------------------------------------- 2.0.1
@pytest.fixture(scope="module")
def seeded_2_0_1(oldest):
    name = _name("old/2.0.1")
    seeded = oldest.seed(
        experiment=name,
        runs=[
            {"name": "running", "status": "RUNNING", "steps": 40},
            {"name": "finished", "status": "FINISHED", "steps": 40},
            {"name": "killed", "status": "KILLED", "steps": 10},
        ],
    )
    return name, seeded


async def test_2_0_1_without_version_nor_run_id_in(oldest, seeded_2_0_1):
    """2.0.1: no /version, no windows, `run_id IN` refused. Capabilities say so; ticks never
    send IN (every tick lists the active runs); a filter with IN still answers (one id at a
    time); histories equal the server's after a read."""
    name, seeded = seeded_2_0_1
    exp = seeded["experiment_id"]
    ids = {r["name"]: r["run_id"] for r in seeded["runs"]}
    keys = [(rid, k) for rid in ids.values() for k in ("train_loss", "val_loss")]
    source = RestSource(oldest.url)
    clock = Clock()
    poller = Poller(source, clock=clock)
    try:
        caps = await source.capabilities()
        assert (caps.version, caps.windows, caps.run_id_in) == (None, False, False)
        assert caps.note.startswith("MLflow 2.0.x: no windowed history")
        # The header says what was found, not a version the server did not report.
        assert caps.label == "history read whole: this server has no bulk-interval route"
        first = await poller.tick([exp], keys)
        assert {r.name: r.status.value for r in first.runs} == {
            "running": "RUNNING",
            "finished": "FINISHED",
            "killed": "KILLED",
        }
        for step in range(40, 46, 2):
            await asyncio.to_thread(
                oldest.log_points, ids["running"], "val_loss", _points(step, step + 2)
            )
            clock.now += 2.0
            await poller.tick([exp], keys)  # a 400 here would fail the tick
            assert poller.points((ids["running"], "val_loss"))[-1].step == step + 1
        poller.refresh()
        clock.now += 2.0
        await poller.tick([exp], keys)
        await _assert_exact(source, poller, keys)
        # The app's compare view lists runs by id: asked one id at a time here.
        both = f"attributes.run_id IN ('{ids['running']}', '{ids['killed']}')"
        got = await source.search_runs([exp], filter_string=both)
        assert sorted(r.run_id for r in got) == sorted([ids["running"], ids["killed"]])
    finally:
        await source.aclose()


def test_status_on_2_0_1(oldest, seeded_2_0_1, isolated, capsys):
    name, _ = seeded_2_0_1
    code = main(["status", oldest.url, "-e", name, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = {r["run"]: r for r in json.loads(out)}
    assert rows["running"]["step"] == 45 and rows["finished"]["step"] == 39
    assert rows["running"]["val"] == pytest.approx(1.0 / 46)


async def test_no_logged_models_on_2_9_2_and_no_error(old):
    """MLflow 2.x has no logged-models endpoint: the artifacts screen lists none, quietly."""
    from mlflow_tui.tracking.artifacts import RestArtifacts

    seeded = old.seed(experiment=_name("old/models"), runs=[
        {"name": "done", "status": "FINISHED", "steps": 0}])
    source = RestSource(old.url)
    try:
        [run] = await source.search_runs([seeded["experiment_id"]])
        assert await RestArtifacts(source).logged_models(run) == []
    finally:
        await source.aclose()
