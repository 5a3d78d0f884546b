"""The watch command's pure parts (tui/alerts): events from successive updates, the state's
round trip, webhook shapes, a full queue, a refused event, and --since."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from mlflow_tui.alerts.delivery import Sink, WebhookSink, payload, redact_url
from mlflow_tui.alerts.events import Event, EventTracker
from mlflow_tui.alerts.watcher import parse_since
from mlflow_tui.analysis.health import HealthWarning, Kind
from mlflow_tui.analysis.judge import Judgement
from mlflow_tui.analysis.now import NowRow
from mlflow_tui.analysis.progress import Progress
from mlflow_tui.tracking.models import Point, Run, RunStatus

T0 = 1_800_000_000_000


def _row(rid: str, status: RunStatus, *warnings: Kind, start: int = T0,
         end: int | None = None) -> NowRow:
    ws = tuple(HealthWarning(k, f"{k.value} because", pair=("train_loss", "val_loss"))
               for k in warnings)
    run = Run(rid, "7", f"run-{rid}", status, start, end,
              metrics={"train_loss": Point(3, 0.1, T0), "val_loss": Point(3, 0.5, T0)})
    return NowRow(run, "team/exp", Judgement(pairs=(), warnings=ws, best={}),
                  Progress(3, None, None, None), "train_loss", run.metrics["train_loss"],
                  "val_loss", run.metrics["val_loss"])


def kinds(events: list[Event]) -> list[tuple[str, str, str | None]]:
    return [(e.event, e.run_id, e.warning) for e in events]


def test_transitions_once_each_and_a_returning_warning_is_new():
    tracker = EventTracker(since_ms=T0 - 1)
    assert kinds(tracker.update([_row("a", RunStatus.RUNNING)], T0)) == [
        ("run_started", "a", None)]
    assert tracker.update([_row("a", RunStatus.RUNNING)], T0) == []
    got = tracker.update([_row("a", RunStatus.RUNNING, Kind.OVERFITTING)], T0)
    assert kinds(got) == [("warning_raised", "a", "overfitting")]
    assert got[0].reason == "overfitting because" and got[0].pair == ["train_loss", "val_loss"]
    assert tracker.update([_row("a", RunStatus.RUNNING, Kind.OVERFITTING)], T0) == []
    assert kinds(tracker.update([_row("a", RunStatus.RUNNING)], T0)) == [
        ("warning_cleared", "a", "overfitting")]
    assert kinds(tracker.update([_row("a", RunStatus.RUNNING, Kind.OVERFITTING)], T0)) == [
        ("warning_raised", "a", "overfitting")]
    assert kinds(tracker.update([_row("a", RunStatus.FAILED, Kind.OVERFITTING,
                                      end=T0 + 5)], T0)) == [("run_failed", "a", None)]


def test_since_keeps_old_runs_quiet_but_reports_their_live_warnings():
    tracker = EventTracker(since_ms=T0)
    old_running = _row("o", RunStatus.RUNNING, Kind.STALLED, start=T0 - 10_000)
    old_ended = _row("e", RunStatus.FINISHED, Kind.OVERFITTING, start=T0 - 9_000,
                     end=T0 - 5_000)
    short = _row("s", RunStatus.FAILED, start=T0 + 1, end=T0 + 2)
    got = kinds(tracker.update([old_running, old_ended, short], T0 + 10))
    assert got == [("warning_raised", "o", "stalled"), ("run_started", "s", None),
                   ("run_failed", "s", None)]


def test_failed_and_killed_are_run_events_not_warnings():
    tracker = EventTracker(since_ms=0)
    tracker.update([_row("k", RunStatus.RUNNING)], T0)
    got = tracker.update([_row("k", RunStatus.KILLED, Kind.KILLED, end=T0)], T0)
    assert kinds(got) == [("run_killed", "k", None)]


def test_state_round_trip_means_no_repeats_and_deleted_runs_go():
    first = EventTracker(since_ms=0)
    first.update([_row("a", RunStatus.RUNNING, Kind.OVERFITTING), _row("b", RunStatus.RUNNING)],
                 T0)
    state = json.loads(json.dumps(first.to_state()))
    again = EventTracker.from_state(state, since_ms=T0)
    assert again.update([_row("a", RunStatus.RUNNING, Kind.OVERFITTING)], T0, gone=["b"]) == []
    assert "b" not in again.seen
    with pytest.raises(ValueError):
        EventTracker.from_state({"version": 99}, since_ms=0)


def test_event_json_has_no_nan():
    row = _row("n", RunStatus.RUNNING)
    nan_row = NowRow(row.run, row.experiment, row.judgement, row.progress, "train_loss",
                     Point(1, float("nan"), 0), "val_loss", Point(1, float("inf"), 0))
    [event] = EventTracker(since_ms=0).update([nan_row], T0)
    assert json.loads(event.to_json())["values"] == {"train_loss": None, "val_loss": None}


def test_webhook_shapes_and_redaction():
    [event] = EventTracker(since_ms=0).update([_row("w", RunStatus.RUNNING)], T0)
    assert payload("https://hooks.slack.com/services/T/B/x", event, "line") == {"text": "line"}
    assert payload("https://discord.com/api/webhooks/1/abc", event, "line") == {
        "content": "line"}
    assert payload("https://example.com/hook", event, "line")["run_id"] == "w"
    assert redact_url("https://hooks.slack.com/services/T/B/secret") == "https://hooks.slack.com/…"


async def test_a_refused_event_is_dropped_and_reported_the_rest_go_on():
    seen: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body["run_id"])
        return httpx.Response(400 if body["run_id"] == "bad" else 200)

    reports: list[str] = []
    sink = WebhookSink(reports.append, "https://example.com/hook",
                       client=httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    sink.start()
    tracker = EventTracker(since_ms=0)
    for rid in ("ok1", "bad", "ok2"):
        for event in tracker.update([_row(rid, RunStatus.RUNNING)], T0):
            sink.put(event)
    await asyncio.wait_for(sink.queue.join(), 5)
    assert seen == ["ok1", "bad", "ok2"] and sink.delivered == 2
    assert any("refused run_started with 400" in r for r in reports)
    await sink.close(1)


async def test_a_full_queue_drops_the_oldest_and_says_so(monkeypatch):
    import mlflow_tui.alerts.delivery as delivery

    monkeypatch.setattr(delivery, "QUEUE_SIZE", 2)
    reports: list[str] = []
    sink = Sink(reports.append)  # not started: nothing is consumed
    events = EventTracker(since_ms=0).update([_row(r, RunStatus.RUNNING) for r in "abc"], T0)
    for event in events:
        sink.put(event)
    assert sink.dropped == 1 and [sink.queue.get_nowait().run_id for _ in range(2)] == ["b", "c"]
    assert "dropped the oldest event" in reports[0]


@pytest.mark.parametrize("text,ago", [("30m", 1800), ("2h", 7200), ("1d", 86400),
                                      ("90s", 90), ("1.5h", 5400)])
def test_since_durations(text, ago):
    assert parse_since(text, T0) == T0 - ago * 1000


def test_since_iso_and_junk():
    from datetime import datetime, timezone

    noon = int(datetime(2027, 1, 15, 12, tzinfo=timezone.utc).timestamp() * 1000)
    assert parse_since("2027-01-15T12:00:00Z", T0) == noon
    assert parse_since("2027-01-15T13:00:00+01:00", T0) == noon
    with pytest.raises(ValueError, match="duration"):
        parse_since("yesterday", T0)


def test_a_warning_on_a_second_pair_carries_that_pairs_values():
    row = _row("p", RunStatus.RUNNING)
    run = Run("p", "7", "run-p", RunStatus.RUNNING, T0, metrics={
        **row.run.metrics, "train_acc": Point(3, 0.9, T0), "val_acc": Point(3, 0.6, T0)})
    acc = HealthWarning(Kind.OVERFITTING, "val_acc down", pair=("train_acc", "val_acc"), step=2)
    warned = NowRow(run, row.experiment, Judgement(pairs=(), warnings=(acc,), best={}),
                    row.progress, "train_loss", run.metrics["train_loss"], "val_loss",
                    run.metrics["val_loss"])
    tracker = EventTracker(since_ms=T0 - 1)
    tracker.update([row], T0)
    [event] = tracker.update([warned], T0)
    assert event.pair == ["train_acc", "val_acc"] and event.step == 2
    assert event.values == {"train_acc": 0.9, "val_acc": 0.6}
    [started] = EventTracker(since_ms=T0 - 1).update([row], T0)  # the row's own pair
    assert started.values == {"train_loss": 0.1, "val_loss": 0.5}


def test_text_lines():
    tracker = EventTracker(since_ms=T0 - 1)
    [started] = tracker.update([_row("t", RunStatus.RUNNING)], T0)
    assert started.text() == "2027-01-15T08:00:00+00:00  run_started     team/exp / run-t  (step 3)"
    [raised] = tracker.update([_row("t", RunStatus.RUNNING, Kind.OVERFITTING)], T0)
    assert raised.text() == ("2027-01-15T08:00:00+00:00  warning_raised  team/exp / run-t  "
                             "overfitting: overfitting because")
