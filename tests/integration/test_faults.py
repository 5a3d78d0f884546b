"""Network and server faults, produced by a fault-injecting proxy in front of a real server.

For each fault: the UI keeps handling keys, the state line says what is wrong and when the next
try is, retries back off (capped), and after recovery the cached series equal the server's
history, with the points logged during the fault and none twice."""

from __future__ import annotations

import time
import uuid

import pytest
from mlflow.entities import Metric

from mlflow_tui.app import make_app
from mlflow_tui.screens.help import HelpScreen
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking.rest import RestSource
from tests.conftest import screen_text, wait_rows, wait_until
from tests.proxy import Fault, FaultProxy

# Slow proxies, back-offs and retries: these tests mostly wait, so they run in the `waits`
# lanes, beside the CPU-bound ones (tests/conftest.py).
pytestmark = pytest.mark.waits

FAST = {"interval": 0.5, "max_backoff": 3.0}
KEYS = ("train_loss", "val_loss")


@pytest.fixture
def proxy(live_server):
    with FaultProxy(live_server.url) as p:
        yield p


def _seed(client, steps: int = 10) -> tuple[str, str, str]:
    name = f"faults/{uuid.uuid4().hex[:8]}"
    exp = client.create_experiment(name)
    rid = client.create_run(exp, run_name="victim").info.run_id
    _log(client, rid, range(steps))
    return name, exp, rid


def _log(client, rid: str, steps) -> None:
    now = int(time.time() * 1000)
    client.log_batch(rid, metrics=[Metric(k, scale / (s + 1), now + s, s)
                                   for s in steps for k, scale in (("train_loss", 1.0),
                                                                   ("val_loss", 1.3))])


def _state(app) -> str:
    return str(app.monitor.query_one("#state").render())


async def _cache_equals_server(app, client, rid: str, steps: int) -> None:
    for key in KEYS:
        await wait_until(lambda key=key: len(app.session.poller.points((rid, key))) == steps,
                         timeout=30, message=f"{steps} points of {key}")
        history = sorted(client.get_metric_history(rid, key), key=lambda m: m.step)
        cached = app.session.poller.points((rid, key))
        assert [(p.step, p.value) for p in cached] == [(m.step, m.value) for m in history]


async def _keys_still_work(app, pilot) -> None:
    await pilot.press("question_mark")
    await wait_until(lambda: isinstance(app.screen, HelpScreen), timeout=5,
                     message="help opens while the server is failing")
    await pilot.press("escape")
    await wait_until(lambda: not isinstance(app.screen, HelpScreen), timeout=5)


async def test_server_down_at_launch_then_up(live_server, proxy):
    client = live_server.client()
    name, _, rid = _seed(client)
    proxy.down()
    app = make_app(Settings(uri=proxy.url, experiments=[name], **FAST))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(lambda: app.session.state == "reconnecting", timeout=15)
        state = _state(app)
        assert "refused" in state and "reconnecting in" in state
        await _keys_still_work(app, pilot)
        proxy.up()
        await wait_rows(app, 1, timeout=20)
        assert app.session.state == "live"
        await _cache_equals_server(app, client, rid, 10)


async def test_killed_mid_session_backs_off_capped_and_loses_nothing(live_server, proxy):
    client = live_server.client()
    name, _, rid = _seed(client)
    attempts: list[float] = []
    app = make_app(Settings(uri=proxy.url, experiments=[name], interval=0.5, max_backoff=2.0))
    async with app.run_test(size=(140, 40)) as pilot:
        await _cache_equals_server(app, client, rid, 10)
        # Each failure schedules the next try: record the delay it chose (retry_at, set just
        # before the listener hears of the failure). The delays, not the gaps between requests
        # measured by the clock, which a busy machine stretches (this test once failed so).
        delays: list[float] = []
        heard = app.relay.failed

        def failed(exc):  # type: ignore[no-untyped-def]
            delays.append(app.session.retry_at - time.time())
            heard(exc)

        app.relay.failed = failed  # type: ignore[method-assign]
        proxy.on_request = lambda method, path: attempts.append(time.monotonic())
        proxy.fault = Fault(status=503)  # a server that is up but failing
        # Back-off: 1 s, then 2 s, then no more than max_backoff (2 s).
        await wait_until(lambda: len(delays) >= 3, timeout=40, message="three failed tries")
        proxy.down()  # ... then gone: the port refuses
        _log(client, rid, range(10, 25))  # logged while the app cannot reach the server
        await wait_until(lambda: "refused" in app.session.state_detail, timeout=15)
        assert app.monitor.query_one("#state") is not None
        assert len(app.session.poller.points((rid, "val_loss"))) == 10, "the cache is kept"
        await _keys_still_work(app, pilot)
        first, second = delays[:2]
        assert abs(first - 1.0) < 0.2 and abs(second - 2.0) < 0.2, f"no back-off: {delays}"
        assert all(abs(d - 2.0) < 0.2 for d in delays[2:]), f"back-off not capped: {delays}"
        assert attempts, "the failing server was asked again"
        proxy.fault = None
        proxy.up()
        await wait_until(lambda: app.session.state == "live", timeout=20)
        await _cache_equals_server(app, client, rid, 25)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_named_and_recovered(live_server, proxy, status):
    client = live_server.client()
    name, _, rid = _seed(client)
    app = make_app(Settings(uri=proxy.url, experiments=[name], **FAST))
    async with app.run_test(size=(140, 40)) as pilot:
        await _cache_equals_server(app, client, rid, 10)
        proxy.fault = Fault(status=status)
        _log(client, rid, range(10, 14))
        await wait_until(lambda: app.session.state == "reconnecting", timeout=20)
        state = _state(app)
        assert f"answered {status}" in state and "reconnecting in" in state
        await _keys_still_work(app, pilot)
        await wait_rows(app, 1)  # the table is kept
        proxy.fault = None
        await wait_until(lambda: app.session.state == "live", timeout=20)
        await _cache_equals_server(app, client, rid, 14)


async def test_html_error_page_from_a_reverse_proxy(live_server, proxy):
    client = live_server.client()
    name, _, rid = _seed(client)
    app = make_app(Settings(uri=proxy.url, experiments=[name], **FAST))
    async with app.run_test(size=(200, 40)):
        await _cache_equals_server(app, client, rid, 10)
        proxy.fault = Fault(status=502, html=True)
        await wait_until(lambda: app.session.state == "reconnecting", timeout=20)
        text = screen_text(app)
        assert "502 Bad Gateway" in text and "proxy in front" in text
        assert "<html" not in text and "<center>" not in text
        # A login page answered with 200 (single sign-on in front of the server).
        proxy.fault = Fault(status=200, html=True, body=b"<html><title>Sign in</title></html>")
        await wait_until(lambda: "not MLflow JSON" in app.session.state_detail, timeout=20)
        proxy.fault = None
        _log(client, rid, range(10, 12))
        await wait_until(lambda: app.session.state == "live", timeout=20)
        await _cache_equals_server(app, client, rid, 12)


async def test_connection_reset_mid_response(live_server, proxy):
    client = live_server.client()
    name, _, rid = _seed(client)
    app = make_app(Settings(uri=proxy.url, experiments=[name], **FAST))
    async with app.run_test(size=(140, 40)) as pilot:
        await _cache_equals_server(app, client, rid, 10)
        proxy.fault = Fault(reset=True)
        _log(client, rid, range(10, 20))
        await wait_until(lambda: "broke" in app.session.state_detail, timeout=20)
        assert "reconnecting in" in _state(app)
        await _keys_still_work(app, pilot)
        proxy.fault = None
        await wait_until(lambda: app.session.state == "live", timeout=20)
        await _cache_equals_server(app, client, rid, 20)


async def test_slow_server_keys_work_while_requests_hang(live_server, proxy):
    client = live_server.client()
    name, _, rid = _seed(client)
    app = make_app(Settings(uri=proxy.url, experiments=[name], **FAST))
    async with app.run_test(size=(140, 40)) as pilot:
        await _cache_equals_server(app, client, rid, 10)
        # 4.5 s a request: a round of one request (a light tick) is overdue for 1.5 s.
        proxy.fault = Fault(delay=4.5)
        _log(client, rid, range(10, 13))
        await wait_until(lambda: app.session.waiting_for_server() > 0, timeout=15)
        assert app.session.busy_since is not None, "a request round is hanging"
        await _keys_still_work(app, pilot)
        assert app.session.busy_since is not None, "keys were handled while it still hung"
        await wait_until(lambda: "server slow" in _state(app), timeout=5)
        # Slow is not broken: the new points still arrive, 4.5 s per request.
        await _cache_equals_server(app, client, rid, 13)
        proxy.fault = None
        await wait_until(
            lambda: app.session.waiting_for_server() == 0 and "server slow" not in _state(app),
            timeout=15,
        )


async def test_host_name_that_does_not_resolve():
    app = make_app(Settings(uri="http://no-such-host.invalid:5000", **FAST))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(lambda: app.session.state == "reconnecting", timeout=20)
        assert "cannot resolve host name 'no-such-host.invalid'" in _state(app)
        await _keys_still_work(app, pilot)
        assert app.is_running


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            Fault(status=401, body=b'{"error_code": "UNAUTHENTICATED", "message": "nope"}'),
            "MLFLOW_TRACKING_USERNAME",
        ),
        (
            Fault(status=403, body=b'{"error_code": "PERMISSION_DENIED", "message": "no access"}'),
            "MLFLOW_TRACKING_TOKEN",
        ),
        (
            Fault(status=403, body=b"Invalid Host header - possible DNS rebinding attack detected"),
            "--allowed-hosts",
        ),
    ],
)
async def test_refusals_name_what_to_set_and_the_app_stays_up(live_server, proxy, fault, expected):
    client = live_server.client()
    name, _, rid = _seed(client)
    proxy.fault = fault
    app = make_app(Settings(uri=proxy.url, experiments=[name], **FAST))
    async with app.run_test(size=(220, 40)) as pilot:
        await wait_until(lambda: app.session.state == "error", timeout=20)
        assert expected in screen_text(app)
        assert "retry in" in _state(app)
        await _keys_still_work(app, pilot)
        proxy.fault = None  # credentials fixed on the server side: the next try succeeds
        await wait_until(lambda: app.session.state == "live", timeout=40)
        await _cache_equals_server(app, client, rid, 10)


async def test_slow_history_does_not_hold_back_the_run_table(live_server, proxy):
    # MLflow reads every point of long histories to sample them: a first load can take longer
    # than the ordinary 15 s read timeout. The runs show at once; the curves when they come.
    # The same case with an ordinary read timeout of 3 s and histories taking 4.5 s.
    client = live_server.client()
    name, _, rid = _seed(client)
    proxy.fault = Fault(delay=4.5, match="get-history")
    source = RestSource(proxy.url, read_timeout=3.0)
    app = make_app(Settings(uri=proxy.url, experiments=[name], **FAST), source)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_rows(app, 1, timeout=10)
        assert app.session.poller.points((rid, "val_loss")) == []  # still loading
        await _keys_still_work(app, pilot)
        await wait_until(
            lambda: len(app.session.poller.points((rid, "val_loss"))) == 10, timeout=40
        )
        proxy.fault = None
        assert app.session.state == "live"
        await _cache_equals_server(app, client, rid, 10)
