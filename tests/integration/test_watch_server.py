"""`mlflow-tui watch` (tui/alerts) against a real `mlflow server`: a training that starts to
overfit gives exactly one warning_raised, at the first pass after the point that makes the
judge raise it; failed, killed, finished and stalled runs give their events; a restarted
watcher repeats nothing; --exec and webhooks get every event, in order, also after the
receiver was down (503, or refusing connections for a while); the real polling loop raises
the warning of a live training at the first pass after its trigger; the watcher survives a
server restart; a --since over an hour and a watcher away for hours still report what
ended."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
from mlflow.entities import Metric

from mlflow_tui.alerts.delivery import ExecSink, StdoutSink, WebhookSink
from mlflow_tui.alerts.watcher import Watcher
from mlflow_tui.analysis.judge import judge
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking.models import Point, Run, RunStatus
from mlflow_tui.tracking.rest import RestSource
from tests.conftest import wait_until
from tests.hooks import Receiver
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


async def test_webhook_down_then_back_gets_every_event_in_order_and_exec_gets_json(
        live_server, tmp_path):
    client = live_server.client()
    name, exp = _experiment(client, "deliver")
    receiver = Receiver()
    receiver.answer_503 = True
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
        await wait_until(lambda: receiver.refused_503 >= 3, timeout=20)
        assert receiver.got == []
        assert any("retrying, events wait in order" in r for r in reports)
        assert not any("secret-token" in r for r in reports), "the hook's secret stays out"
        receiver.answer_503 = False  # back
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


def _told(sink: Collect, prefix: str = "") -> list[tuple[str, str]]:
    return [(e["event"], e["run"]) for e in sink.events() if e["event"].startswith(prefix)]


def _overfit_now(pts: dict[str, list[Point]], run_id: str, exp: str, now_ms: int) -> bool:
    run = Run(run_id, exp, "r", RunStatus.RUNNING, pts["train_loss"][0].timestamp,
              metrics={k: p[-1] for k, p in pts.items()})
    verdict = judge(run, lambda key: pts.get(key[1], []), now_ms)
    return any(w.kind.value == "overfitting" for w in verdict.warnings)


@pytest.mark.waits  # a live training
async def test_live_training_overfits_one_event_at_the_first_loop_pass_after_the_trigger(
        live_server):
    """The real loop (Watcher.run) polls while a training logs one epoch at a time; the
    warning comes once, from the first pass that started after the epoch that makes the
    judge (the monitor's) warn was logged."""
    client = live_server.client()
    name, exp = _experiment(client, "live-overfit")
    data = curves(40, overfit_at=12, seed=3)
    rid = client.create_run(exp, run_name="live-trainer").info.run_id
    sink = Collect()
    watcher = _watcher(live_server.url, name, [sink], since_ms=int(time.time() * 1000) - 60_000)
    passes: list[tuple[float, float, list]] = []  # (started, ended, events) per pass
    one_pass = watcher.pass_once

    async def timed():
        started = time.monotonic()
        events = await one_pass()
        passes.append((started, time.monotonic(), events))
        return events

    watcher.pass_once = timed  # type: ignore[method-assign]
    task = asyncio.create_task(watcher.run(interval=0.25))
    logged: dict[str, list[Point]] = {"train_loss": [], "val_loss": []}
    trigger: tuple[float, float] | None = None  # (log sent, log answered)
    last = 40
    try:
        for step in range(40):
            done = watcher.passes  # log between passes, as a training does, any time
            await wait_until(lambda d=done: watcher.passes > d, timeout=30)
            ts = int(time.time() * 1000)
            metrics = [Metric(k, data[k][step][1], ts, step) for k in logged]
            sent = time.monotonic()
            await asyncio.to_thread(client.log_batch, rid, metrics=metrics)
            answered = time.monotonic()
            for m in metrics:
                logged[m.key].append(Point(step, m.value, ts))
            if trigger is None and _overfit_now(logged, rid, exp, int(time.time() * 1000)):
                trigger = (sent, answered)
                last = step + 3  # a few epochs more: still one event
            if trigger is not None and step >= last:
                break
        assert trigger is not None, "the judge never warned on these curves"
        done = watcher.passes
        await wait_until(lambda: watcher.passes > done, timeout=30)
        raised_in = [i for i, (_, _, events) in enumerate(passes)
                     if any(e.event == "warning_raised" for e in events)]
        assert len(raised_in) == 1, raised_in
        [i] = raised_in
        # The first pass that could have seen the point (started once it was sent) and at
        # the latest the first pass started after the server acknowledged it.
        earliest = next(j for j, p in enumerate(passes) if p[0] >= trigger[0])
        latest = next(j for j, p in enumerate(passes) if p[0] >= trigger[1])
        print(f"warning_raised {passes[i][1] - trigger[1]:.2f} s after the trigger was logged "
              f"(pass {i}; passes {earliest}..{latest} could)")
        assert earliest <= i <= latest, (i, earliest, latest)
        await wait_until(lambda: any(e["event"] == "warning_raised" for e in sink.events()))
        [event] = [e for e in sink.events() if e["event"] == "warning_raised"]
        assert event["warning"] == "overfitting" and event["run"] == "live-trainer"
    finally:
        watcher.stop()
        await asyncio.wait_for(task, 30)


@pytest.mark.waits  # retries
async def test_webhook_refusing_connections_for_a_while_gets_every_event_once_in_order(
        live_server):
    client = live_server.client()
    name, exp = _experiment(client, "refused")
    receiver = Receiver()
    reports: list[str] = []
    hook = WebhookSink(reports.append, receiver.url, backoff_max=0.2)
    seen = Collect()
    watcher = _watcher(live_server.url, name, [hook, seen], since_ms=0)
    watcher.report = reports.append
    task = asyncio.create_task(watcher.run(interval=0.3))
    try:
        first = client.create_run(exp, run_name="r0").info.run_id
        await wait_until(lambda: receiver.events() == [("run_started", "r0")], timeout=30)
        receiver.down()  # connection refused from now on
        down_at = time.monotonic()
        second = client.create_run(exp, run_name="r1").info.run_id
        client.create_run(exp, run_name="r2")
        client.set_terminated(first, "FINISHED")
        client.set_terminated(second, "FAILED")
        want = [("run_started", "r0"), ("run_started", "r1"), ("run_started", "r2"),
                ("run_finished", "r0"), ("run_failed", "r1")]
        await wait_until(lambda: sorted(_told(seen)) == sorted(want), timeout=30)
        await wait_until(lambda: hook.retries >= 15, timeout=30)  # a few seconds of outage
        assert receiver.events() == [("run_started", "r0")]
        assert any("unreachable (ConnectError)" in r for r in reports), reports
        receiver.up()
        print(f"receiver refused connections for {time.monotonic() - down_at:.1f} s, "
              f"{hook.retries} retries")
        await wait_until(lambda: len(receiver.got) >= len(want), timeout=30)
        assert receiver.events() == _told(seen), "every event once, in the watcher's order"
        assert any("delivering again" in r for r in reports)
    finally:
        watcher.stop()
        await asyncio.wait_for(task, 30)
        receiver.close()


async def test_the_watcher_survives_a_server_restart(live_server):
    """The session server stops mid-watch (conftest's running() restarts it for the next
    test if this one fails); while it is down the run ends (written into its database);
    after it is back: that end once, nothing repeated, and what is new."""
    client = live_server.client()
    name, exp = _experiment(client, "restart")
    rid = client.create_run(exp, run_name="before").info.run_id
    reports: list[str] = []
    sink = Collect()
    watcher = _watcher(live_server.url, name, [sink], since_ms=int(time.time() * 1000) - 60_000)
    watcher.report = reports.append
    task = asyncio.create_task(watcher.run(interval=0.3, max_backoff=1.0))
    try:
        await wait_until(lambda: [(e["event"], e["run"]) for e in sink.events()] == [
            ("run_started", "before")], timeout=30)
        await asyncio.to_thread(live_server.stop)
        await wait_until(lambda: watcher.failing is not None, timeout=30)
        with sqlite3.connect(live_server.root / "mlflow.db") as db:
            db.execute("UPDATE runs SET status = 'FINISHED', end_time = ? WHERE run_uuid = ?",
                       (int(time.time() * 1000), rid))
        await asyncio.to_thread(live_server.start)
        await wait_until(lambda: watcher.failing is None, timeout=60)
        await asyncio.to_thread(client.create_run, exp, run_name="after")
        want = [("run_started", "before"), ("run_finished", "before"), ("run_started", "after")]
        await wait_until(lambda: len(sink.events()) >= 3, timeout=30)
        passes = watcher.passes
        await wait_until(lambda: watcher.passes >= passes + 3, timeout=30)  # nothing more
        assert [(e["event"], e["run"]) for e in sink.events()] == want
        assert any("retrying" in r for r in reports) and any("answers again" in r
                                                            for r in reports), reports
    finally:
        watcher.stop()
        await asyncio.wait_for(task, 30)


async def test_since_beyond_an_hour_and_a_watcher_away_for_hours(live_server, tmp_path):
    client = live_server.client()
    name, exp = _experiment(client, "look-back")
    now = int(time.time() * 1000)
    hour = 3_600_000
    old = client.create_run(exp, run_name="ended-2h-ago", start_time=now - 3 * hour).info.run_id
    client.set_terminated(old, "FINISHED", end_time=now - 2 * hour)
    sink = Collect()
    sink.start()
    watcher = _watcher(live_server.url, name, [sink], since_ms=now - 4 * hour)
    try:
        await _pass(watcher, [sink])
        assert [(e["event"], e["run"]) for e in sink.events()] == [
            ("run_started", "ended-2h-ago"), ("run_finished", "ended-2h-ago")]
    finally:
        await sink.close(5)
        await watcher.source.aclose()
    # A watcher sees a run running, stops; the run ends; the watcher is back 3 h later.
    name, exp = _experiment(client, "away")
    rid = client.create_run(exp, run_name="trainer", start_time=now - 4 * hour).info.run_id
    state = tmp_path / "state.json"
    first = Collect()
    first.start()
    watcher = _watcher(live_server.url, name, [first], since_ms=now - 5 * hour,
                       state_path=state)
    try:
        await _pass(watcher, [first])
        assert _told(first, "run_") == [("run_started", "trainer")]
    finally:
        await first.close(5)
        await watcher.source.aclose()
    saved = json.loads(state.read_text())
    saved["last_pass_ms"] = now - 3 * hour  # its last pass, as if it stopped 3 h ago
    state.write_text(json.dumps(saved))
    client.set_terminated(rid, "FAILED", end_time=now - 2 * hour)
    back = Collect()
    back.start()
    watcher = _watcher(live_server.url, name, [back], state_path=state)
    try:
        await _pass(watcher, [back])
        assert _told(back, "run_") == [("run_failed", "trainer")]
    finally:
        await back.close(5)
        await watcher.source.aclose()
