"""Tracking URIs: resolving the one to use, classifying it, and removing credentials."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

HTTP_SCHEMES = ("http", "https")
LOCAL_SCHEMES = ("sqlite", "file")
# Database schemes MlflowClient can read (SQLAlchemy store); passed through to it.
DB_SCHEMES = ("postgresql", "mysql", "mssql")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_SECRET_QUERY = re.compile(r"(?i)((?:password|passwd|pwd|token|secret|key|sig|signature)=)[^&]*")


class InvalidURI(ValueError):
    """The URI cannot name a tracking store. The message is one line for the user."""


@dataclass(frozen=True)
class Target:
    """Where to read from: `kind` is "http", "local", "databricks" or "sagemaker"."""

    uri: str
    kind: str

    @property
    def display(self) -> str:
        return redact(self.uri)


def redact(uri: str) -> str:
    """`uri` without user:password@ and without secret-looking query values."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable URI>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = _SECRET_QUERY.sub(r"\1***", parts.query)
    if netloc == parts.netloc and query == parts.query:
        return uri  # nothing to hide; urlunsplit would also drop the // of sqlite:///
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def classify(uri: str) -> Target:
    """Check `uri` and say how to read it. Raises InvalidURI with a one-line reason."""
    uri = uri.strip()
    if not uri:
        raise InvalidURI("the tracking URI is empty")
    low = uri.lower()
    if low == "databricks" or low.startswith("databricks://"):
        return Target(uri, "databricks")
    if low.startswith(("arn:aws:sagemaker:", "arn:aws-us-gov:sagemaker:")):
        return Target(uri, "sagemaker")
    match = _SCHEME_RE.match(uri)
    if not match or (len(match.group(1)) == 1 and os.name == "nt"):
        # A bare path, like MLflow accepts: ./mlruns or /data/mlflow.db
        path = Path(uri).expanduser()
        if path.suffix == ".db":
            return Target(f"sqlite:///{path.resolve()}", "local")
        return Target(path.resolve().as_uri(), "local")
    scheme = match.group(1).lower()
    if scheme in HTTP_SCHEMES:
        try:
            parts = urlsplit(uri)
            port = parts.port  # raises on a malformed port
        except ValueError as exc:
            raise InvalidURI(f"malformed URI {redact(uri)!r}: {exc}") from None
        if not parts.hostname:
            raise InvalidURI(f"malformed URI {redact(uri)!r}: no host name")
        del port
        return Target(uri.rstrip("/"), "http")
    if scheme == "sqlite":
        return Target(_absolute_sqlite(uri), "local")
    if scheme == "file":
        return Target(_absolute_file(uri), "local")
    if scheme.split("+")[0] in DB_SCHEMES:
        return Target(uri, "local")
    raise InvalidURI(
        f"unknown URI scheme {scheme!r} in {redact(uri)!r}: use http(s)://host:port, "
        "sqlite:///path/to/mlflow.db or a path to an mlruns folder"
    )


def _absolute_sqlite(uri: str) -> str:
    """sqlite:///PATH with PATH made absolute (MLflow's docs write sqlite:///mlflow.db, relative
    to the current folder, as SQLAlchemy reads it); sqlite:////abs/path is kept."""
    rest = uri.split(":", 1)[1]
    if not rest.startswith("///"):
        raise InvalidURI(f"{redact(uri)!r} names no database file: use "
                         "sqlite:///mlflow.db (relative) or sqlite:////abs/path/mlflow.db")
    path, sep, query = rest[3:].partition("?")
    if not path:
        raise InvalidURI(f"{redact(uri)!r} names no database file (an in-memory database "
                         "has no runs to watch)")
    if path.startswith("file:"):  # sqlite:///file:path?mode=ro&uri=true
        return uri
    absolute = Path(unquote(path)).expanduser().resolve()
    return f"sqlite:///{absolute}{sep}{query}"


def _absolute_file(uri: str) -> str:
    """file: URIs as MLflow accepts them (file:./mlruns, file:mlruns, file:///abs/mlruns,
    file://localhost/abs) as an absolute file:/// URI."""
    parts = urlsplit(uri)
    path = unquote(parts.path)
    if parts.netloc and parts.netloc != "localhost":
        path = parts.netloc + path  # file://mlruns: a relative folder, as MLflow reads it
    if not path:
        raise InvalidURI(f"{redact(uri)!r} names no folder: use file:./mlruns or "
                         "file:///abs/path/mlruns")
    return Path(path).expanduser().resolve().as_uri()


def discover_local(cwd: Path) -> str | None:
    """An existing store in `cwd`, the way MLflow's own default would find it. Never creates one."""
    db = cwd / "mlflow.db"
    if db.is_file() and db.stat().st_size > 0:
        return f"sqlite:///{db.resolve()}"
    mlruns = cwd / "mlruns"
    if mlruns.is_dir() and any(p.name.isdigit() for p in mlruns.iterdir() if p.is_dir()):
        return mlruns.resolve().as_uri()
    return None


def resolve(cli_uri: str | None, environ: Mapping[str, str], cwd: Path) -> str | None:
    """The URI to use: the argument, else MLFLOW_TRACKING_URI, else a store in `cwd`, else None."""
    if cli_uri:
        return cli_uri
    env_uri = environ.get("MLFLOW_TRACKING_URI", "").strip()
    if env_uri:
        return env_uri
    return discover_local(cwd)
