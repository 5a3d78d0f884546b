"""Typed messages that cross from workers to the app."""

from __future__ import annotations

from textual.message import Message

from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.poller import ExperimentSummary, TickResult


class TickDone(Message):
    def __init__(self, result: TickResult, summary: ExperimentSummary | None,
                 watched: tuple[str, ...] = (), *, partial: bool = False) -> None:
        super().__init__()
        self.result = result
        self.summary = summary
        self.watched = watched  # the experiments this tick was for
        self.partial = partial  # the runs only: their first series are still loading


class TickFailed(Message):
    def __init__(self, error: TrackingError) -> None:
        super().__init__()
        self.error = error


class DemoReady(Message):
    def __init__(self, uri: str) -> None:
        super().__init__()
        self.uri = uri


class CompareDone(Message):
    def __init__(self, result: TickResult) -> None:
        super().__init__()
        self.result = result


class FilterFailed(Message):
    """The server refused the run filter (a bad search expression)."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason
