"""Events from successive Now-feed updates (tui/session/now.py): what changed since the last
pass, once per run and condition. Pure; the tracker's state round-trips through JSON so that a
restarted watcher neither repeats nor misses an event.

Kinds: run_started, run_finished, run_failed, run_killed, warning_raised, warning_cleared.
Warnings are overfitting, diverged and stalled (a failed or killed run is its own event). A
warning that clears and comes back is a new event.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from mlflow_tui.analysis.health import Kind
from mlflow_tui.analysis.now import NowRow
from mlflow_tui.tracking.models import RunStatus

WARNING_KINDS = (Kind.OVERFITTING, Kind.DIVERGED, Kind.STALLED)
END_EVENTS = {RunStatus.FINISHED: "run_finished", RunStatus.FAILED: "run_failed",
              RunStatus.KILLED: "run_killed"}
STATE_VERSION = 1


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

    @classmethod
    def of(cls, row: NowRow) -> _Seen:
        return cls(row.run.status.value, sorted(_warning_keys(row)))


def _warning_keys(row: NowRow) -> list[list[Any]]:
    return [[w.kind.value, *(w.pair or ("", ""))] for w in row.warnings
            if w.kind in WARNING_KINDS]


class EventTracker:
    """Turns each update's rows into the events since the previous update."""

    def __init__(self, since_ms: int) -> None:
        self.since_ms = since_ms  # events about runs older than this are not replayed
        self.seen: dict[str, _Seen] = {}

    # ------------------------------------------------------------------ state
    def to_state(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "since_ms": self.since_ms,
                "runs": {rid: asdict(s) for rid, s in self.seen.items()}}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], since_ms: int) -> EventTracker:
        if state.get("version") != STATE_VERSION:
            raise ValueError("unknown state version")
        tracker = cls(min(since_ms, int(state.get("since_ms", since_ms))))
        for rid, seen in dict(state.get("runs", {})).items():
            tracker.seen[str(rid)] = _Seen(str(seen["status"]),
                                           [list(w) for w in seen["warnings"]])
        return tracker

    # ------------------------------------------------------------------ events
    def update(self, rows: Iterable[NowRow], now_ms: int, *,
               gone: Iterable[str] = ()) -> list[Event]:
        """The events of this pass, oldest condition first. `gone`: runs no longer listed
        that were deleted (dropped silently)."""
        events: list[Event] = []
        for row in rows:
            run = row.run
            before = self.seen.get(run.run_id)
            now = _Seen.of(row)
            if before is None:
                events += self._first_sight(row, now, now_ms)
            else:
                events += self._changes(row, before, now, now_ms)
            self.seen[run.run_id] = now
        for rid in gone:
            self.seen.pop(rid, None)
        return events

    def _first_sight(self, row: NowRow, now: _Seen, now_ms: int) -> list[Event]:
        run = row.run
        out: list[Event] = []
        started = run.start_time or 0
        ended = run.end_time or 0
        if run.status.is_active and started >= self.since_ms:
            out.append(self._event("run_started", row, now_ms))
        if not run.status.is_active and ended >= self.since_ms:
            # Seen only after it ended (a short run between passes): both ends of it.
            if started >= self.since_ms:
                out.append(self._event("run_started", row, now_ms))
        if run.status.is_active or ended >= self.since_ms:
            out += [self._warning("warning_raised", row, key, now_ms) for key in now.warnings]
        if not run.status.is_active and ended >= self.since_ms and run.status in END_EVENTS:
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
        if train and val:
            values = {k: v for k, v in event.values.items()}
            return Event(**{**asdict(event), "pair": [train, val], "values": values,
                            "step": warning.step if warning is not None and warning.step
                            is not None else event.step})
        return event


__all__ = ["END_EVENTS", "Event", "EventTracker", "WARNING_KINDS", "iso"]
