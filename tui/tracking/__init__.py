"""Talks to MLflow. Nothing in this package imports textual or rich (tests enforce it)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.models import Experiment, Point, Run, RunStatus
from mlflow_tui.tracking.source import TrackingSource
from mlflow_tui.tracking.uri import InvalidURI, Target, classify


def open_source(target: Target, *, read_timeout: float = 15.0,
                token_command: str | None = None, headers: Mapping[str, str] | None = None,
                workspace: str | None = None) -> TrackingSource:
    """A source for a classified URI. The http path never imports mlflow.

    `token_command`, `headers` and `workspace` (the layered settings': the CLI puts
    MLFLOW_WORKSPACE over the config file's workspace and --workspace over both; MLFLOW_WORKSPACE
    also when no workspace is given) apply to http(s) servers; Databricks and SageMaker bring
    their own auth."""
    if target.kind == "local":
        from mlflow_tui.tracking.local import LocalSource

        return LocalSource(target.uri)
    import httpx

    from mlflow_tui.tracking.auth import SigV4, TokenCommand
    from mlflow_tui.tracking.errors import AuthError, ConnectionFailed
    from mlflow_tui.tracking.platforms import PlatformError, databricks, sagemaker
    from mlflow_tui.tracking.rest import RestSource

    extra = dict(headers or {})
    space = workspace or os.environ.get("MLFLOW_WORKSPACE", "").strip()
    if space:
        extra["X-MLFLOW-WORKSPACE"] = space
    auth: httpx.Auth | None = TokenCommand(token_command) if token_command else None
    url, display = target.uri, None
    public_only = False
    if target.kind in ("databricks", "sagemaker"):
        try:
            platform = databricks(target.uri) if target.kind == "databricks" else \
                sagemaker(target.uri)
        except PlatformError as exc:
            return RestSource("https://unresolved.invalid", setup_error=ConnectionFailed(
                str(exc)), display=target.uri)
        url, display = platform.base_url, f"{target.uri} ({platform.base_url})"
        public_only = platform.public_api_only
        extra.update(platform.headers)
        if platform.token:
            extra["Authorization"] = f"Bearer {platform.token}"
        if platform.region:
            try:
                auth = SigV4(platform.region)
            except AuthError as exc:
                return RestSource(url, setup_error=exc, display=display)
    return RestSource(url, read_timeout=read_timeout, auth=auth, headers=extra,
                      display=display, public_api_only=public_only)


__all__ = ["Experiment", "InvalidURI", "Point", "Run", "RunStatus", "Target", "TrackingError",
           "TrackingSource", "classify", "open_source"]
