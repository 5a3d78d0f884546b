"""Talks to MLflow. Nothing in this package imports textual or rich (tests enforce it)."""

from __future__ import annotations

from tui.tracking.errors import TrackingError
from tui.tracking.models import Experiment, Point, Run, RunStatus
from tui.tracking.source import TrackingSource
from tui.tracking.uri import InvalidURI, Target, classify


def open_source(target: Target, *, read_timeout: float = 15.0) -> TrackingSource:
    """A source for a classified URI. The http path never imports mlflow."""
    if target.kind == "http":
        from tui.tracking.rest import RestSource

        return RestSource(target.uri, read_timeout=read_timeout)
    from tui.tracking.local import LocalSource

    return LocalSource(target.uri)


__all__ = ["Experiment", "InvalidURI", "Point", "Run", "RunStatus", "Target", "TrackingError",
           "TrackingSource", "classify", "open_source"]
