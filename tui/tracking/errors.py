"""Errors the data layer raises. Every message is fit to show to a user as is:
it names the problem in plain words and never contains credentials."""

from __future__ import annotations


class TrackingError(Exception):
    """Base class. `retryable` tells the poller whether trying again later can help."""

    retryable = True

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConnectionFailed(TrackingError):
    """The server could not be reached: refused, timed out, DNS, reset."""


class ServerError(TrackingError):
    """The server answered, but with a 5xx or with something that is not MLflow JSON."""


class MissingRoute(ServerError):
    """A 404 that is not MLflow's JSON answer (Werkzeug's HTML page, or a JSON
    ENDPOINT_NOT_FOUND): the server has no such route. On a real MLflow server that means an
    older version (tui/tracking/capabilities.py); on anything else, not MLflow's API at all."""


class AuthError(TrackingError):
    """401/403: credentials are missing or wrong. Retrying the same request will not help."""

    retryable = False


class PresignedOnly(TrackingError):
    """A 403 from a server that hands out artifact files only as presigned storage URLs
    (MLflow 3.18+, ``MLFLOW_ARTIFACTS_PRESIGNED_ONLY=true``): no credential problem; the file
    is read from the storage URL the server signs instead (tui/tracking/artifacts.py)."""

    retryable = False


class NotFound(TrackingError):
    """The run, experiment or metric does not exist (any more)."""

    retryable = False


class BadRequest(TrackingError):
    """The server refused the request as invalid (400), e.g. a bad search filter."""

    retryable = False


class RangeIgnored(TrackingError):
    """The server sends whole files, not the byte range asked: the end of a large file would
    mean downloading all of it, which is refused."""

    retryable = False


class StoreError(TrackingError):
    """A local store could not be opened or read."""

    retryable = True
