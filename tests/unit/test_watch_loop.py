"""The watcher's loop on an in-memory source (tests/fakes.py): the look-back for runs that
ended while it was away or before a long --since, runs that leave the listings, undelivered
events across a restart, a stalled stdout reader, and a diverged run."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from pathlib import Path

from mlflow_tui.alerts.delivery import StdoutSink, WebhookSink
from mlflow_tui.alerts.events import FORGET_MS
from mlflow_tui.alerts.watcher import Watcher
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking.models import Experiment, Run, RunStatus
from tests.conftest import wait_until
from tests.fakes import FakeSource
from tests.hooks import Receiver
from tests.sample_data import curves

NOW = 1_800_000_000_000
MIN = 60_000
HOUR = 3_600_000


class Clock:
    def __init__(self) -> None:
        self.ms = NOW

    def __call__(self) -> int:
        return self.ms


class Collect(StdoutSink):
    def __init__(self) -> None:
        self.out = io.StringIO()
        super().__init__(lambda line: None, stream=self.out)

    def events(self) -> list[tuple[str, str]]:
        return [(e["event"], e["run"]) for e in map(json.loads, self.out.getvalue().splitlines())]


def _source() -> FakeSource:
    src = FakeSource()
    src.experiments = [Experiment("1", "team/exp")]
    return src


def _run(src: FakeSource, rid: str, status: RunStatus, start: int, end: int | None = None,
         data: dict | None = None) -> None:
    src.add_run(Run(rid, "1", rid, status, start, end), data or curves(8, seed=len(rid)),
                t0=start)


def _end(src: FakeSource, rid: str, status: RunStatus, end: int) -> None:
    src.runs = [Run(r.run_id, r.experiment_id, r.name, status, r.start_time, end, r.metrics)
                if r.run_id == rid else r for r in src.runs]


def _watcher(src: FakeSource, sinks, clock: Clock, **kw) -> Watcher:
    return Watcher(src, Settings(uri="http://x", experiments=["team/exp"]), sinks,
                   report=lambda line: None, wall_ms=clock, clock=lambda: clock.ms / 1000, **kw)


async def _pass(watcher: Watcher) -> None:
    await watcher.pass_once()
    for sink in watcher.sinks:
        await asyncio.wait_for(sink.queue.join(), 10)


async def test_a_long_since_reaches_runs_that_ended_hours_ago():
    src = _source()
    _run(src, "two-hours-ago", RunStatus.FINISHED, NOW - 3 * HOUR, NOW - 2 * HOUR)
    _run(src, "before-since", RunStatus.FAILED, NOW - 9 * HOUR, NOW - 8 * HOUR)
    sink = Collect()
    sink.start()
    watcher = _watcher(src, [sink], Clock(), since_ms=NOW - 5 * HOUR)
    await _pass(watcher)
    assert sink.events() == [("run_started", "two-hours-ago"), ("run_finished", "two-hours-ago")]
    await _pass(watcher)  # the look-back was once: nothing again, nothing lost
    assert len(sink.events()) == 2 and "two-hours-ago" in watcher.tracker.seen
    await sink.close(1)


async def test_a_run_that_ended_while_the_watcher_was_down_for_hours_is_reported(tmp_path):
    src = _source()
    _run(src, "trainer", RunStatus.RUNNING, NOW - MIN)
    clock = Clock()
    state = tmp_path / "state.json"
    first = Collect()
    first.start()
    await _pass(_watcher(src, [first], clock, state_path=state, since_ms=NOW - HOUR))
    assert first.events() == [("run_started", "trainer")]
    await first.close(1)
    _end(src, "trainer", RunStatus.FAILED, NOW + 10 * MIN)  # while nobody watches
    clock.ms = NOW + 3 * HOUR
    again = Collect()
    again.start()
    await _pass(_watcher(src, [again], clock, state_path=state))
    assert again.events() == [("run_failed", "trainer")]
    await again.close(1)


async def test_runs_leaving_the_listings_are_kept_and_repeat_nothing_when_back(tmp_path):
    src = _source()
    overfit = curves(40, overfit_at=12, seed=3)
    _run(src, "ended", RunStatus.FINISHED, NOW - 50 * MIN, NOW - 10 * MIN, data=overfit)
    _run(src, "doomed", RunStatus.RUNNING, NOW - MIN)
    clock = Clock()
    state = tmp_path / "state.json"
    sink = Collect()
    sink.start()
    watcher = _watcher(src, [sink], clock, state_path=state, since_ms=NOW - HOUR)
    await _pass(watcher)
    told = sink.events()
    assert ("run_finished", "ended") in told and ("warning_raised", "ended") in told
    src.runs = [r for r in src.runs if r.run_id != "doomed"]  # deleted
    clock.ms = NOW + 2 * HOUR  # "ended" leaves the Now feed's hour
    await _pass(watcher)  # (the active runs' full listing is due)
    assert "doomed" not in watcher.tracker.seen, "a deleted run is dropped"
    assert watcher.tracker.seen["ended"].unlisted == clock.ms, "an old one is kept"
    await sink.close(1)
    # A restart reaching back to it: it shows again, and nothing is repeated.
    back = Collect()
    back.start()
    again = _watcher(src, [back], clock, state_path=state, since_ms=NOW - HOUR)
    await _pass(again)
    assert back.events() == [] and again.tracker.seen["ended"].unlisted is None
    # In no listing for FORGET_MS: forgotten, and never reported again.
    clock.ms += HOUR
    await _pass(again)
    clock.ms += FORGET_MS - MIN
    await _pass(again)
    assert "ended" in again.tracker.seen
    clock.ms += 2 * MIN
    await _pass(again)
    assert "ended" not in again.tracker.seen
    assert again.tracker.forgotten_ms == NOW - 10 * MIN
    await back.close(1)


async def test_undelivered_events_survive_a_restart_and_arrive_once_in_order(tmp_path):
    src = _source()
    for i in range(3):
        _run(src, f"r{i}", RunStatus.RUNNING, NOW - (5 - i) * MIN)
    receiver = Receiver(listening=False)  # connection refused
    state = tmp_path / "state.json"
    clock = Clock()
    hook = WebhookSink(lambda line: None, receiver.url, backoff_max=0.05)
    seen = Collect()
    first = _watcher(src, [hook, seen], clock, state_path=state, since_ms=NOW - HOUR,
                     close_wait=0.3)
    task = asyncio.create_task(first.run(interval=0.05))
    try:
        await wait_until(lambda: hook.retries >= 3 and len(seen.events()) == 3, timeout=10)
        expected = seen.events()
        first.stop()
        await asyncio.wait_for(task, 10)
        pending = json.loads(state.read_text())["pending"][hook.key]
        assert [(e["event"], e["run"]) for e in pending] == expected
        _run(src, "r3", RunStatus.RUNNING, NOW)  # something new meanwhile
        receiver.up()
        hook2 = WebhookSink(lambda line: None, receiver.url, backoff_max=0.05)
        second = _watcher(src, [hook2], clock, state_path=state, close_wait=5)
        task = asyncio.create_task(second.run(interval=0.05))
        await wait_until(lambda: len(receiver.got) >= 4, timeout=10)
        await wait_until(lambda: second.passes >= 3)
        second.stop()
        await asyncio.wait_for(task, 10)
        assert receiver.events() == [*expected, ("run_started", "r3")]
        assert "pending" not in json.loads(state.read_text()), "nothing left to deliver"
    finally:
        task.cancel()
        receiver.close()


class Stalled(io.StringIO):
    """A reader that stops reading: a write blocks until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.release.wait(15)
        return super().write(text)


async def test_a_stalled_stdout_reader_does_not_hold_up_polling():
    src = _source()
    _run(src, "a", RunStatus.RUNNING, NOW - MIN)
    stream = Stalled()
    sink = StdoutSink(lambda line: None, stream=stream)
    watcher = _watcher(src, [sink], Clock(), since_ms=NOW - HOUR, close_wait=5)
    passes: list[int] = []

    def watchdog() -> None:  # the polling loop cannot be watched from the loop it may block
        stream.entered.wait(15)
        passes.append(watcher.passes)
        deadline = time.monotonic() + 5
        while watcher.passes < passes[0] + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        passes.append(watcher.passes)
        stream.release.set()

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    task = asyncio.create_task(watcher.run(interval=0.05))
    await wait_until(lambda: stream.release.is_set(), timeout=20)
    thread.join(5)
    print(f"passes while stdout was stalled: {passes[1] - passes[0]}")
    assert passes[1] >= passes[0] + 5, passes
    await wait_until(lambda: stream.getvalue().count("\n") == 1)
    watcher.stop()
    await asyncio.wait_for(task, 10)
    assert json.loads(stream.getvalue())["event"] == "run_started"


async def test_a_diverging_run_gives_one_diverged_event_with_its_reason():
    src = _source()
    _run(src, "blows-up", RunStatus.RUNNING, NOW - MIN, data=curves(20, nan_at=15))
    sink = Collect()
    sink.start()
    watcher = _watcher(src, [sink], Clock(), since_ms=NOW - HOUR)
    await _pass(watcher)
    await _pass(watcher)
    lines = [json.loads(x) for x in sink.out.getvalue().splitlines()]
    raised = [e for e in lines if e["event"] == "warning_raised"]
    assert [e["warning"] for e in raised] == ["diverged"], lines
    assert "NaN since step 15" in raised[0]["reason"] and raised[0]["step"] == 15
    assert raised[0]["values"] == {"train_loss": None, "val_loss": None}  # NaN: null in JSON
    await sink.close(1)


def test_fakes_know_end_time(tmp_path: Path):
    src = _source()
    _run(src, "old", RunStatus.FINISHED, NOW - HOUR, NOW - 30 * MIN)
    _run(src, "live", RunStatus.RUNNING, NOW - HOUR)
    got = asyncio.run(src.search_runs(["1"], filter_string=f"attributes.end_time > {NOW - HOUR}"))
    assert [r.run_id for r in got] == ["old"]
