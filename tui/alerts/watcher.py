"""The watch loop: every interval, the Now feed's pass over the chosen experiments (the same
polling, pairing and judge as the monitor; light ticks between listings), the tracker's events,
delivered; the tracker's state saved so that a restarted watcher neither repeats nor misses.

A connection failure is one stderr line when the state changes (down, then back), retried
with back-off; nothing is lost: the tracker compares against what it last saw.

The first pass looks back for ended runs over max(1 h, --since, the time since the state
file's last pass), so runs that ended while the watcher was away are reported. A run that
leaves the listings is kept in the state (a run last seen running or ended within the hour is
checked: dropped if deleted). Events a destination has not delivered are saved with the
state at each pass and at exit, and delivered first, in order, at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from mlflow_tui.alerts.delivery import Sink
from mlflow_tui.alerts.events import Event, EventTracker
from mlflow_tui.analysis.judge import Choices
from mlflow_tui.session.now import NowFeed
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.models import Experiment
from mlflow_tui.tracking.now import ID_CHUNK, RECENT_MS
from mlflow_tui.tracking.source import TrackingSource
from mlflow_tui.tracking.uri import redact

EXPERIMENTS_EVERY = 30.0  # s between experiment listings
CLOSE_WAIT = 10.0  # s to deliver what is queued at exit
LOOK_BACK_SLACK_MS = 60_000  # the first pass looks this much further back than the last one
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now_ms: int) -> int:
    """`2h`, `30m`, `1d`, `90s` ago, or an ISO date/time: ms since the epoch."""
    match = _DURATION.match(text)
    if match:
        return now_ms - int(float(match.group(1)) * _UNITS[match.group(2).lower()] * 1000)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: a duration (30m, 2h, 1d) or an ISO time "
                         "(2026-12-03T14:00)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)


def default_state_path(uri: str, experiments: Sequence[str],
                       environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    key = hashlib.sha256(("\n".join([redact(uri), *sorted(experiments)])).encode()).hexdigest()
    return root / "mlflow-tui" / "watch" / f"{key[:16]}.json"


def choose(experiments: list[Experiment], wanted: Sequence[str]) -> list[Experiment]:
    from mlflow_tui.cli.status import _choose

    return _choose(experiments, wanted)


class Watcher:
    def __init__(self, source: TrackingSource, settings: Settings, sinks: Sequence[Sink], *,
                 since_ms: int | None = None, state_path: Path | None = None,
                 report: Callable[[str], None] = print,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 clock: Callable[[], float] = time.monotonic,
                 close_wait: float = CLOSE_WAIT) -> None:
        self.source = source
        self.settings = settings
        self.sinks = list(sinks)
        self.report = report
        self.state_path = state_path
        self.close_wait = close_wait
        self._wall_ms = wall_ms
        self._clock = clock
        self._saved = ""
        self.feed = NowFeed(
            source, settings=settings.health,
            choices=lambda exps: Choices.build(settings.pair, settings.pairs, exps),
            wall_ms=wall_ms, clock=clock, ended_every=0.0)  # a run short enough to start
        # and end between two passes is reported at the next one
        now = wall_ms()
        state = self._read_state()
        self.tracker = self._load_state(state, now if since_ms is None else since_ms, since_ms)
        # Ended runs: the first pass looks back over max(1 h, --since, since the last pass).
        look_back = now - RECENT_MS
        if since_ms is not None:
            look_back = min(look_back, since_ms)
        if self.tracker.last_pass_ms is not None:
            look_back = min(look_back, self.tracker.last_pass_ms - LOOK_BACK_SLACK_MS)
        self.feed.look_back(look_back)
        self._restore_pending(state)
        for sink in self.sinks:
            sink.on_idle = self.save_state
        self.experiments: list[Experiment] = []
        self._next_experiments = 0.0
        self.passes = 0
        self.failing: str | None = None
        self._stop: asyncio.Event | None = None

    def stop(self) -> None:
        """End run() as SIGTERM does (after the pass under way)."""
        if self._stop is not None:
            self._stop.set()

    # ------------------------------------------------------------------ state file
    def _read_state(self) -> dict[str, Any] | None:
        path = self.state_path
        if path is None or not path.exists():
            return None
        try:
            state = json.loads(path.read_text())
            if not isinstance(state, dict):
                raise ValueError("not an object")
            return state
        except (OSError, ValueError) as exc:
            self.report(f"mlflow-tui watch: the state file {path} cannot be read ({exc}): "
                        "starting afresh")
            return None

    def _load_state(self, state: dict[str, Any] | None, default_since: int,
                    asked: int | None) -> EventTracker:
        if state is None:
            return EventTracker(default_since)
        try:
            tracker = EventTracker.from_state(state, default_since)
        except (ValueError, KeyError, TypeError) as exc:
            self.report(f"mlflow-tui watch: the state file {self.state_path} cannot be read "
                        f"({exc}): starting afresh")
            return EventTracker(default_since)
        if asked is not None:
            tracker.since_ms = asked
        return tracker

    def _restore_pending(self, state: dict[str, Any] | None) -> None:
        """Queue what each destination had not delivered when the watcher last stopped:
        first, in order."""
        pending = dict((state or {}).get("pending") or {})
        sinks = {sink.key: sink for sink in self.sinks}
        for key, events in pending.items():
            sink = sinks.get(key)
            try:
                restored = [Event(**e) for e in events]
            except TypeError:
                restored = []
            if sink is None:
                self.report(f"mlflow-tui watch: {len(restored)} undelivered events for a "
                            f"destination no longer given ({key}): dropped")
                continue
            for event in restored:
                sink.put(event)

    def save_state(self) -> None:
        path = self.state_path
        if path is None:
            return
        state = self.tracker.to_state()
        pending = {sink.key: [asdict(e) for e in sink.pending()]
                   for sink in self.sinks if sink.pending()}
        if pending:
            state["pending"] = pending
        text = json.dumps(state)
        if text == self._saved:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
            self._saved = text
        except OSError as exc:
            self.report(f"mlflow-tui watch: cannot save {path} ({exc.strerror or exc}); "
                        "a restart may repeat events")

    # ------------------------------------------------------------------ one pass
    async def pass_once(self) -> list[Event]:
        """List, judge, compare, deliver, save: the events of this pass."""
        if not self.experiments or self._clock() >= self._next_experiments:
            self.experiments = choose(await self.source.search_experiments(),
                                      self.settings.experiments)
            self._next_experiments = self._clock() + EXPERIMENTS_EVERY
        update = await self.feed.tick(self.experiments)
        now = self._wall_ms()
        events = self.tracker.update(update.rows, now)
        for event in events:
            for sink in self.sinks:
                sink.put(event)
        left = self.tracker.left({row.run.run_id for row in update.rows}, now)
        try:
            gone = await self._deleted(left, now)
        except TrackingError:
            gone = []  # kept: dropped after FORGET_MS in no listing
        for rid in gone:
            self.tracker.seen.pop(rid, None)
        self.tracker.forget(now)
        self.save_state()
        self.passes += 1
        return events

    async def _deleted(self, left: list[str], now_ms: int) -> list[str]:
        """Of the runs that just left the listings, those that should still be in them (last
        seen running, or ended within the Now feed's hour) and that a search by id no longer
        finds: deleted (or their experiment was)."""
        seen = self.tracker.seen
        check = [rid for rid in left if seen[rid].active
                 or (seen[rid].ended or 0) >= now_ms - self.feed.poller.recent_ms]
        if not check:
            return []
        ids = sorted({seen[rid].experiment_id for rid in check} - {""}) or [
            e.experiment_id for e in self.experiments]
        found: set[str] = set()
        quoted = ", ".join(f"'{rid}'" for rid in check)
        for i in range(0, len(ids), ID_CHUNK):
            found |= {r.run_id for r in await self.source.search_runs(
                ids[i:i + ID_CHUNK], filter_string=f"attributes.run_id IN ({quoted})",
                max_runs=len(check))}
        return [rid for rid in check if rid not in found]

    # ------------------------------------------------------------------ the loop
    async def run(self, *, interval: float, once: bool = False,
                  max_backoff: float = 30.0) -> int:
        for sink in self.sinks:
            sink.start()
        stop = self._stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        code = 0
        failures = 0
        try:
            while not stop.is_set():
                try:
                    await self.pass_once()
                except TrackingError as exc:
                    failures += 1
                    reason = str(exc)
                    if reason != self.failing:
                        self.report(f"mlflow-tui watch: {reason} (retrying)")
                        self.failing = reason
                    if once:
                        code = 1
                        break
                    wait = min(max_backoff, interval * 2 ** min(failures - 1, 6))
                else:
                    if self.failing is not None:
                        self.report("mlflow-tui watch: the server answers again")
                        self.failing = None
                    failures = 0
                    wait = interval
                    if once:
                        break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            for sink in self.sinks:
                await sink.close(self.close_wait)
            self.save_state()  # with what is still undelivered, for the next start
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            with contextlib.suppress(Exception):
                await self.source.aclose()
        return code


def run_watch(watcher: Watcher, *, interval: float, once: bool) -> int:
    return asyncio.run(watcher.run(interval=interval, once=once))


__all__ = ["Watcher", "default_state_path", "parse_since", "run_watch"]
