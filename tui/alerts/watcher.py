"""The watch loop: every interval, the Now feed's pass over the chosen experiments (the same
polling, pairing and judge as the monitor; light ticks between listings), the tracker's events,
delivered; the tracker's state saved so that a restarted watcher neither repeats nor misses.

A connection failure is one stderr line when the state changes (down, then back), retried
with back-off; nothing is lost: the tracker compares against what it last saw.
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
from datetime import datetime
from pathlib import Path

from mlflow_tui.alerts.delivery import Sink
from mlflow_tui.alerts.events import Event, EventTracker
from mlflow_tui.analysis.judge import Choices
from mlflow_tui.config import Settings
from mlflow_tui.session.now import NowFeed
from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.models import Experiment
from mlflow_tui.tracking.source import TrackingSource
from mlflow_tui.tracking.uri import redact

EXPERIMENTS_EVERY = 30.0  # s between experiment listings
CLOSE_WAIT = 10.0  # s to deliver what is queued at exit
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
    from mlflow_tui.status import _choose

    return _choose(experiments, wanted)


class Watcher:
    def __init__(self, source: TrackingSource, settings: Settings, sinks: Sequence[Sink], *,
                 since_ms: int | None = None, state_path: Path | None = None,
                 report: Callable[[str], None] = print,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.settings = settings
        self.sinks = list(sinks)
        self.report = report
        self.state_path = state_path
        self._wall_ms = wall_ms
        self._clock = clock
        self.feed = NowFeed(
            source, settings=settings.health,
            choices=lambda exps: Choices.build(settings.pair, settings.pairs, exps),
            wall_ms=wall_ms, clock=clock)
        now = wall_ms()
        self.tracker = self._load_state(now if since_ms is None else since_ms, since_ms)
        self.experiments: list[Experiment] = []
        self._next_experiments = 0.0
        self.passes = 0
        self.failing: str | None = None

    # ------------------------------------------------------------------ state file
    def _load_state(self, default_since: int, asked: int | None) -> EventTracker:
        path = self.state_path
        if path is None or not path.exists():
            return EventTracker(default_since)
        try:
            state = json.loads(path.read_text())
            tracker = EventTracker.from_state(state, default_since)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.report(f"mlflow-tui watch: the state file {path} cannot be read ({exc}): "
                        "starting afresh")
            return EventTracker(default_since)
        if asked is not None:
            tracker.since_ms = asked
        return tracker

    def save_state(self) -> None:
        path = self.state_path
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(self.tracker.to_state()))
            os.replace(tmp, path)
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
        listed = {row.run.run_id for row in update.rows}
        gone = [rid for rid in self.tracker.seen if rid not in listed]
        events = self.tracker.update(update.rows, self._wall_ms(), gone=gone)
        for event in events:
            for sink in self.sinks:
                sink.put(event)
        self.save_state()
        self.passes += 1
        return events

    # ------------------------------------------------------------------ the loop
    async def run(self, *, interval: float, once: bool = False,
                  max_backoff: float = 30.0) -> int:
        for sink in self.sinks:
            sink.start()
        stop = asyncio.Event()
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
                await sink.close(CLOSE_WAIT)
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            with contextlib.suppress(Exception):
                await self.source.aclose()
        return code


def run_watch(watcher: Watcher, *, interval: float, once: bool) -> int:
    return asyncio.run(watcher.run(interval=interval, once=once))


__all__ = ["Watcher", "default_state_path", "parse_since", "run_watch"]
