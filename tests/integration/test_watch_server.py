"""`mlflow-tui watch` (tui/alerts) against a real `mlflow server`: a training that starts to
overfit gives exactly one warning_raised, at the first pass after the point that makes the
judge raise it; failed, killed, finished and stalled runs give their events; a restarted
watcher repeats nothing; --exec and webhooks get every event, in order, also after the
receiver was down."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mlflow.entities import Metric

from mlflow_tui.alerts.delivery import ExecSink, StdoutSink, WebhookSink
from mlflow_tui.alerts.watcher import Watcher
from mlflow_tui.analysis.judge import judge
from mlflow_tui.config import Settings
from mlflow_tui.tracking.models import Point, Run, RunStatus
from mlflow_tui.tracking.rest import RestSource
from tests.conftest import wait_until
from tests.sample_data import curves


def _experiment(client, tag: str) -> tuple[str, str]:
    name = f"watch/{uuid.uuid4().hex[:6]}/{tag}"
    return name, client.create_experiment(name)


def _log(client, run_id: str, data, start: int, end: int, t0: int) -> None:
    client.log_batch(run_id, metrics=[
        Metric(key, value, t0 + step * 1000, step) for key in ("train_loss", "val_loss")
        for step, value in data[key][start:end]])


class Collect(StdoutSink):
    def __init__(self) -> None:
        self.out = io.StringIO()
        super().__init__(lambda line: None, stream=self.out)

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


def _watcher(url, name, sinks, **kw):
    settings = Settings(uri=url, experiments=[name])
    return Watcher(RestSource(url), settings, sinks, report=lambda line: None, **kw)


async def _pass(watcher, sinks):
    events = await watcher.pass_once()
    for sink in sinks:
        await asyncio.wait_for(sink.queue.join(), 30)
    return events


def _raises_at(data, t0: int, run_id: str, exp: str, upto: int) -> bool:
    """What the judge says with the first `upto` points: overfitting?"""
    pts = {k: [Point(s, v, t0 + s * 1000) for s, v in data[k][:upto]]
           for k in ("train_loss", "val_loss")}
    run = Run(run_id, exp, "r", RunStatus.RUNNING, t0,
              metrics={k: p[-1] for k, p in pts.items()})
    verdict = judge(run, lambda key: pts.get(key[1], []), t0 + upto * 1000)
    return any(w.kind.value == "overfitting" for w in verdict.warnings)


async def test_overfitting_is_one_event_at_the_pass_after_the_trigger(live_server):
    client = live_server.client()
    name, exp = _experiment(client, "overfit")
    data = curves(40, overfit_at=12, seed=3)
    t0 = int(time.time() * 1000) - 60_000
    run = client.create_run(exp, run_name="trainer", start_time=t0)
    rid = run.info.run_id
    _log(client, rid, data, 0, 10, t0)
    sink = Collect()
    sink.start()
    watcher = _watcher(live_server.url, name, [sink], since_ms=t0 - 1)
    try:
        await _pass(watcher, [sink])
        assert [(e["event"], e["run_id"]) for e in sink.events()] == [("run_started", rid)]
        trigger = next(n for n in range(11, 41) if _raises_at(data, t0, rid, exp, n))
        raised_at = None
        for n in range(11, 41):
            _log(client, rid, data, n - 1, n, t0)
            await _pass(watcher, [sink])
            raised = [e for e in sink.events() if e["event"] == "warning_raised"]
            if raised and raised_at is None:
                raised_at = n
        raised = [e for e in sink.events() if e["event"] == "warning_raised"]
        assert len(raised) == 1, raised
        assert raised_at == trigger, (raised_at, trigger)
        event = raised[0]
        assert event["warning"] == "overfitting" and event["pair"] == ["train_loss", "val_loss"]
        assert "val_loss up" in event["reason"] and event["run"] == "trainer"
        assert set(event["values"]) == {"train_loss", "val_loss"}
        client.set_terminated(rid, "FINISHED")
        await _pass(watcher, [sink])
        assert sink.events()[-1]["event"] == "run_finished"
        assert [e["event"] for e in sink.events()].count("warning_raised") == 1
    finally:
        await sink.close(5)
        await watcher.source.aclose()


async def test_failed_killed_stalled_and_a_restart_without_duplicates(live_server, tmp_path):
    client = live_server.client()
    name, exp = _experiment(client, "ends")
    now = int(time.time() * 1000)
    a = client.create_run(exp, run_name="will-fail").info.run_id
    b = client.create_run(exp, run_name="will-be-killed").info.run_id
    quiet = client.create_run(exp, run_name="went-quiet", start_time=now - 900_000).info.run_id
    client.log_batch(quiet, metrics=[Metric("train_loss", 1.0, now - 900_000 + s * 1000, s)
                                     for s in range(20)])
    state = tmp_path / "state.json"
    sink = Collect()
    sink.start()
    first = _watcher(live_server.url, name, [sink], since_ms=now - 1_000_000, state_path=state)
    try:
        await _pass(first, [sink])
        seen = {(e["event"], e["run"], e.get("warning")) for e in sink.events()}
        assert ("warning_raised", "went-quiet", "stalled") in seen
        client.set_terminated(a, "FAILED")
        client.set_terminated(b, "KILLED")
        await _pass(first, [sink])
        events = [(e["event"], e["run"]) for e in sink.events()]
        assert ("run_failed", "will-fail") in events and ("run_killed", "will-be-killed") in events
        count = len(events)
    finally:
        await sink.close(5)
        await first.source.aclose()
    assert json.loads(state.read_text())["runs"]

    # The watcher restarts: nothing already reported comes again; what is new does.
    again = Collect()
    again.start()
    second = _watcher(live_server.url, name, [again], since_ms=now - 1_000_000, state_path=state)
    try:
        await _pass(second, [again])
        assert again.events() == [], again.events()
        c = client.create_run(exp, run_name="new-after-restart").info.run_id
        client.set_terminated(c, "FAILED")
        await _pass(second, [again])
        got = [(e["event"], e["run"]) for e in again.events()]
        assert got == [("run_started", "new-after-restart"), ("run_failed", "new-after-restart")]
        assert count >= 4
    finally:
        await again.close(5)
        await second.source.aclose()


class Receiver:
    """A webhook receiver on loopback that can be down (503) and comes back."""

    def __init__(self) -> None:
        self.down = True
        self.got: list[dict] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.down:
                    receiver.refused += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.got.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


async def test_webhook_down_then_back_gets_every_event_in_order_and_exec_gets_json(
        live_server, tmp_path):
    client = live_server.client()
    name, exp = _experiment(client, "deliver")
    receiver = Receiver()
    lines = tmp_path / "exec.jsonl"
    command = (f"{shlex.quote(sys.executable)} -c "
               + shlex.quote(f"import sys, os; open({str(lines)!r}, 'a').write("
                             "sys.stdin.read().strip() + ' ' + os.environ['MLFLOW_TUI_EVENT']"
                             " + chr(10))"))
    reports: list[str] = []
    hook = WebhookSink(reports.append, receiver.url, backoff_max=0.05)
    run_exec = ExecSink(reports.append, command)
    sinks = [hook, run_exec]
    for sink in sinks:
        sink.start()
    watcher = _watcher(live_server.url, name, sinks, since_ms=0)
    try:
        ids = []
        for i in range(3):
            rid = client.create_run(exp, run_name=f"r{i}").info.run_id
            ids.append(rid)
            await watcher.pass_once()
        client.set_terminated(ids[0], "FINISHED")
        await watcher.pass_once()
        await wait_until(lambda: receiver.refused >= 3, timeout=20)
        assert receiver.got == []
        assert any("retrying, events wait in order" in r for r in reports)
        assert not any("secret-token" in r for r in reports), "the hook's secret stays out"
        receiver.down = False  # back
        await wait_until(lambda: len(receiver.got) == 4, timeout=30)
        assert [(e["event"], e["run"]) for e in receiver.got] == [
            ("run_started", "r0"), ("run_started", "r1"), ("run_started", "r2"),
            ("run_finished", "r0")]
        await wait_until(lambda: lines.exists() and len(lines.read_text().splitlines()) == 4,
                         timeout=30)
        first = lines.read_text().splitlines()[0]
        body, kind = first.rsplit(" ", 1)
        assert kind == "run_started" and json.loads(body)["run"] == "r0"
    finally:
        for sink in sinks:
            await sink.close(5)
        await watcher.source.aclose()
        receiver.close()


def test_the_console_command_once(live_server, tmp_path):
    client = live_server.client()
    name, exp = _experiment(client, "cli")
    rid = client.create_run(exp, run_name="cli-run").info.run_id
    client.set_terminated(rid, "FAILED")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([sys.executable, "-m", "mlflow_tui", "watch", live_server.url,
                           "-e", name, "--once", "--since", "1h"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(e["event"], e["run"]) for e in events] == [("run_started", "cli-run"),
                                                        ("run_failed", "cli-run")]
    # The state file: the same command again reports nothing new.
    again = subprocess.run([sys.executable, "-m", "mlflow_tui", "watch", live_server.url,
                            "-e", name, "--once", "--since", "1h", "--text"], capture_output=True,
                           text=True, env=env, timeout=120)
    assert again.returncode == 0 and again.stdout == "", again.stdout
    # An unreachable server: exit 1 and one line.
    down = subprocess.run([sys.executable, "-m", "mlflow_tui", "watch", "http://127.0.0.1:9",
                           "--once", "--no-state"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert down.returncode == 1 and len(down.stderr.strip().splitlines()) == 1, down.stderr
