"""Between the session's polling loop and the screens: the loop's results become messages for
the app (tui/ui/messages.py), and after each tick of the open experiment the everywhere-feed
(the Now view, the tree's ⚠/✘ counts) gets its turn, beside the loop and never in its way."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from textual.worker import Worker

from mlflow_tui.tracking import TrackingError
from mlflow_tui.tracking.models import Experiment
from mlflow_tui.tracking.poller import ExperimentSummary, TickResult
from mlflow_tui.ui.messages import CompareDone, FilterFailed, TickDone, TickFailed

if TYPE_CHECKING:
    from textual.app import App

    from mlflow_tui.ui.now_controller import NowController


NOW_GROUP = "now"  # the worker group of the everywhere feed's refreshes


class Relay:
    """The session's Listener (tui/session/monitor.py), for a Textual app."""

    def __init__(self, app: App[int], now: NowController | None) -> None:
        self.app = app
        self.now = now
        self._now_worker: Worker[None] | None = None

    def ticked(self, result: TickResult, summary: ExperimentSummary | None,
               watched: tuple[str, ...], partial: bool = False) -> None:
        self.app.post_message(TickDone(result, summary, watched, partial=partial))

    def compared(self, result: TickResult) -> None:
        self.app.post_message(CompareDone(result))

    def failed(self, error: TrackingError) -> None:
        self.app.workers.cancel_group(self.app, NOW_GROUP)  # the server is failing: no feed now
        self.app.post_message(TickFailed(error))

    def filter_failed(self, reason: str) -> None:
        self.app.post_message(FilterFailed(reason))

    def warn(self, text: str) -> None:
        self.app.call_later(self.app.notify, text, severity="warning", markup=False)

    def feed(self, experiments: list[Experiment]) -> None:
        idle = self._now_worker is None or self._now_worker.is_finished
        # Not once the app is shutting down: its workers are cancelled and its source closes,
        # and a refresh started now would send its requests on the closed client.
        if self.now is not None and idle and self.app.is_running and self.now.due():
            # Beside the loop, not in it: a slow or failing feed never delays the open
            # experiment's ticks. One at a time, never cancelled: on a big server one refresh
            # can outlast several ticks.
            # The function, not a coroutine: a worker the app never starts (it is closing)
            # leaves no coroutine behind unawaited.
            self._now_worker = self.app.run_worker(
                functools.partial(self._now_tick, self.now, experiments), group=NOW_GROUP)

    @staticmethod
    async def _now_tick(now: NowController, experiments: list[Experiment]) -> None:
        try:
            await now.tick(experiments)
        except TrackingError:
            pass  # the next tick tries again


__all__ = ["Relay"]
