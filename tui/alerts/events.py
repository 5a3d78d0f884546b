"""Events from successive Now-feed updates (tui/session/now.py): what changed since the last
pass, once per run and condition. Pure; the tracker's state round-trips through JSON so that a
restarted watcher neither repeats nor misses an event.

Kinds: run_started, run_finished, run_failed, run_killed, warning_raised, warning_cleared.
Warnings are overfitting, diverged and stalled (a failed or killed run is its own event). A
warning that clears and comes back is a new event.

A run that leaves the listings (an ended run older than the Now feed's hour) is remembered, not
forgotten: if it shows again (a longer look-back after a restart) it repeats nothing. It is
dropped when it is deleted (the watcher checks) or after FORGET_MS in no listing; ended runs
that old are then never reported again (`forgotten_ms`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from mlflow_tui.analysis.health import Kind
from mlflow_tui.analysis.now import NowRow
from mlflow_tui.tracking.models import RunStatus

WARNING_KINDS = (Kind.OVERFITTING, Kind.DIVERGED, Kind.STALLED)
END_EVENTS = {RunStatus.FINISHED: "run_finished", RunStatus.FAILED: "run_failed",
              RunStatus.KILLED: "run_killed"}
STATE_VERSION = 1
FORGET_MS = 86_400_000  # a run in no listing for this long is dropped from the state


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class Event:
    event: str  # run_started, run_finished, ..., warning_raised, warning_cleared
    time: str  # ISO 8601, UTC: when the watcher saw it
    experiment_id: str
    experiment: str
    run_id: str
    run: str
    status: str
    step: int | None = None
    warning: str | None = None  # overfitting, diverged, stalled
    reason: str | None = None
    pair: list[str] | None = None  # [train, validation]
    values: dict[str, float | None] = field(default_factory=dict)  # latest of the pair

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, allow_nan=False)

    def text(self) -> str:
        """One readable line (names as given: the printer makes them safe)."""
        head = f"{self.time}  {self.event:<15} {self.experiment} / {self.run}"
        if self.warning:
            head += f"  {self.warning}"
        if self.reason:
            head += f": {self.reason}"
        elif self.step is not None:
            head += f"  (step {self.step})"
        return head


@dataclass
class _Seen:
    status: str
    warnings: list[list[Any]]  # [kind, train, val]
    experiment_id: str = ""
    ended: int | None = None  # the run's end time
    unlisted: int | None = None  # when it left the listings (None: listed at the last pass)

    @classmethod
    def of(cls, row: NowRow) -> _Seen:
        run = row.run
        return cls(run.status.value, sorted(_warning_keys(row)), run.experiment_id,
                   run.end_time)

    @property
    def active(self) -> bool:
        return RunStatus.parse(self.status).is_active


def _warning_keys(row: NowRow) -> list[list[Any]]:
    return [[w.kind.value, *(w.pair or ("", ""))] for w in row.warnings
            if w.kind in WARNING_KINDS]


class EventTracker:
    """Turns each update's rows into the events since the previous update."""

    def __init__(self, since_ms: int) -> None:
        self.since_ms = since_ms  # events about runs older than this are not replayed
        self.seen: dict[str, _Seen] = {}
        self.forgotten_ms = 0  # ended runs ending at or before this were dropped: stay quiet
        self.last_pass_ms: int | None = None  # wall time of the last update

    # ------------------------------------------------------------------ state
    def to_state(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "since_ms": self.since_ms,
                "forgotten_ms": self.forgotten_ms, "last_pass_ms": self.last_pass_ms,
                "runs": {rid: asdict(s) for rid, s in self.seen.items()}}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], since_ms: int) -> EventTracker:
        if state.get("version") != STATE_VERSION:
            raise ValueError("unknown state version")
        tracker = cls(min(since_ms, int(state.get("since_ms", since_ms))))
        tracker.forgotten_ms = int(state.get("forgotten_ms") or 0)
        last = state.get("last_pass_ms")
        tracker.last_pass_ms = None if last is None else int(last)
        for rid, seen in dict(state.get("runs", {})).items():
            ended, unlisted = seen.get("ended"), seen.get("unlisted")
            tracker.seen[str(rid)] = _Seen(
                str(seen["status"]), [list(w) for w in seen["warnings"]],
                str(seen.get("experiment_id", "")), None if ended is None else int(ended),
                None if unlisted is None else int(unlisted))
        return tracker

    # ------------------------------------------------------------------ events
    def update(self, rows: Iterable[NowRow], now_ms: int, *,
               gone: Iterable[str] = ()) -> list[Event]:
        """The events of this pass, oldest condition first. `gone`: runs no longer listed
        that were deleted (dropped silently). Runs not in `rows` are kept as they were."""
        events: list[Event] = []
        for row in rows:
            run = row.run
            before = self.seen.get(run.run_id)
            now = _Seen.of(row)
            if before is None:
                events += self._first_sight(row, now, now_ms)
            elif before.unlisted is not None and not before.active and not now.active:
                # Back in a listing after it left them (a longer look-back): what it
                # showed then stands (the feed may not have read its series this time).
                old = {tuple(k) for k in before.warnings}
                fresh = [k for k in now.warnings if tuple(k) not in old]
                events += [self._warning("warning_raised", row, k, now_ms) for k in fresh]
                now.warnings = sorted([*before.warnings, *fresh])
            else:
                events += self._changes(row, before, now, now_ms)
            self.seen[run.run_id] = now
        for rid in gone:
            self.seen.pop(rid, None)
        self.last_pass_ms = now_ms
        return events

    def left(self, listed: set[str], now_ms: int) -> list[str]:
        """Mark the runs not in `listed`; return those that left the listings just now."""
        out = []
        for rid, seen in self.seen.items():
            if rid not in listed and seen.unlisted is None:
                seen.unlisted = now_ms
                out.append(rid)
        return out

    def forget(self, now_ms: int) -> None:
        """Drop the runs in no listing for FORGET_MS."""
        for rid, seen in list(self.seen.items()):
            if seen.unlisted is not None and now_ms - seen.unlisted > FORGET_MS:
                self.forgotten_ms = max(self.forgotten_ms, seen.ended or 0)
                del self.seen[rid]

    def _first_sight(self, row: NowRow, now: _Seen, now_ms: int) -> list[Event]:
        run = row.run
        out: list[Event] = []
        started = run.start_time or 0
        ended = run.end_time or 0
        news = ended >= self.since_ms and ended > self.forgotten_ms
        if run.status.is_active and started >= self.since_ms:
            out.append(self._event("run_started", row, now_ms))
        if not run.status.is_active and news:
            # Seen only after it ended (a short run between passes): both ends of it.
            if started >= self.since_ms:
                out.append(self._event("run_started", row, now_ms))
        if run.status.is_active or news:
            out += [self._warning("warning_raised", row, key, now_ms) for key in now.warnings]
        if not run.status.is_active and news and run.status in END_EVENTS:
            out.append(self._event(END_EVENTS[run.status], row, now_ms))
        return out

    def _changes(self, row: NowRow, before: _Seen, now: _Seen, now_ms: int) -> list[Event]:
        run = row.run
        out: list[Event] = []
        was_active = RunStatus.parse(before.status).is_active
        if not was_active and run.status.is_active:
            out.append(self._event("run_started", row, now_ms))  # resumed
        old = {tuple(k) for k in before.warnings}
        new = {tuple(k) for k in now.warnings}
        out += [self._warning("warning_raised", row, list(k), now_ms)
                for k in now.warnings if tuple(k) not in old]
        out += [self._warning("warning_cleared", row, list(k), now_ms, cleared=True)
                for k in before.warnings if tuple(k) not in new]
        if was_active and not run.status.is_active and run.status in END_EVENTS:
            out.append(self._event(END_EVENTS[run.status], row, now_ms))
        return out

    def _event(self, kind: str, row: NowRow, now_ms: int, **extra: Any) -> Event:
        run = row.run
        values: dict[str, float | None] = {}
        pair = None
        if row.train_key and row.val_key:
            pair = [row.train_key, row.val_key]
            values = {row.train_key: _finite(row.train.value if row.train else None),
                      row.val_key: _finite(row.val.value if row.val else None)}
        return Event(kind, iso(now_ms) or "", run.experiment_id, row.experiment, run.run_id,
                     run.name, run.status.value, run.latest_step, pair=pair, values=values,
                     **extra)

    def _warning(self, kind: str, row: NowRow, key: list[Any], now_ms: int, *,
                 cleared: bool = False) -> Event:
        name, train, val = key
        warning = next((w for w in row.warnings if w.kind.value == name
                        and (w.pair or ("", "")) == (train, val)), None)
        event = self._event(kind, row, now_ms, warning=name,
                            reason=None if cleared or warning is None else warning.reason)
        # The step where the judge found it (NaN since, the best point), else the latest.
        step = warning.step if warning is not None and warning.step is not None else event.step
        if train and val:
            # That pair's latest values (the row's own pair may be another one).
            values = {k: _finite(p.value if p is not None else None)
                      for k, p in ((train, row.run.metrics.get(train)),
                                   (val, row.run.metrics.get(val)))}
            if row.train_key == train and row.val_key == val:
                values = dict(event.values)  # the row's values (a split series' own)
            return replace(event, pair=[train, val], values=values, step=step)
        return replace(event, step=step)


__all__ = ["END_EVENTS", "FORGET_MS", "Event", "EventTracker", "WARNING_KINDS", "iso"]
