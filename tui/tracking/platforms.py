"""Managed MLflow platforms, reached over their public REST API like any tracking server.

- **Databricks**: ``databricks`` or ``databricks://PROFILE`` (as MLflow reads
  MLFLOW_TRACKING_URI): the workspace host and a personal access token from DATABRICKS_HOST /
  DATABRICKS_TOKEN, else from the profile in ``~/.databrickscfg`` (DATABRICKS_CONFIG_FILE
  names another file; the profile defaults to DEFAULT). Requests go to the workspace's public
  ``/api/2.0/mlflow/`` endpoints with ``Authorization: Bearer``, and only to those: no
  ``GET /version``, no ``/ajax-api`` route, no get-history-bulk-interval (histories are read
  with ``metrics/get-history``; ``public_api_only``).
- **SageMaker managed MLflow**: ``arn:aws:sagemaker:REGION:ACCOUNT:mlflow-tracking-server/NAME``
  (the URI the official ``sagemaker-mlflow`` plugin takes): the regional endpoint
  ``https://REGION.experiments.sagemaker.aws`` with the ARN in ``x-mlflow-sm-tracking-server-arn``
  and SigV4-signed requests (``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT`` overrides the endpoint).
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Platform", "databricks", "is_platform_uri", "sagemaker"]

_ARN = re.compile(r"^arn:(?P<partition>aws(?:-us-gov)?):sagemaker:(?P<region>[a-z0-9-]+):"
                  r"(?P<account>\d+):mlflow-tracking-server/(?P<name>[A-Za-z0-9-]+)$")


class PlatformError(ValueError):
    """The platform URI cannot be resolved; one line with the fix."""


@dataclass(frozen=True)
class Platform:
    name: str  # "databricks", "sagemaker"
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None  # Bearer
    region: str | None = None  # SigV4
    # Only the platform's public REST API (/api/2.0/mlflow/...): no GET /version, no
    # /ajax-api routes, no get-history-bulk-interval (Databricks documents none of them).
    public_api_only: bool = False


def is_platform_uri(uri: str) -> bool:
    low = uri.strip().lower()
    return low == "databricks" or low.startswith("databricks://") or low.startswith(
        "arn:aws:sagemaker:") or low.startswith("arn:aws-us-gov:sagemaker:")


def databricks(uri: str, environ: Mapping[str, str] | None = None,
               home: Path | None = None) -> Platform:
    env = os.environ if environ is None else environ
    profile = uri.split("://", 1)[1].strip("/") if "://" in uri else ""
    host = env.get("DATABRICKS_HOST", "").strip() if not profile else ""
    token = env.get("DATABRICKS_TOKEN", "").strip() if not profile else ""
    if not (host and token):
        path = Path(env.get("DATABRICKS_CONFIG_FILE") or
                    (home or Path.home()) / ".databrickscfg").expanduser()
        section = profile or env.get("DATABRICKS_CONFIG_PROFILE", "") or "DEFAULT"
        parser = configparser.ConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (OSError, configparser.Error) as exc:
            raise PlatformError(f"cannot read {path}: {exc}") from None
        if section != "DEFAULT" and not parser.has_section(section):
            raise PlatformError(f"no profile [{section}] in {path} (databricks auth login "
                                f"--profile {section}, or set DATABRICKS_HOST and "
                                "DATABRICKS_TOKEN)")
        values = parser[section] if section in parser else {}
        host = host or values.get("host", "").strip()
        token = token or values.get("token", "").strip()
    if not host:
        raise PlatformError("no Databricks workspace: set DATABRICKS_HOST and DATABRICKS_TOKEN, "
                            "or a host in ~/.databrickscfg")
    if not token:
        raise PlatformError("no Databricks token: set DATABRICKS_TOKEN, or token in "
                            "~/.databrickscfg (personal access token)")
    if "://" not in host:
        host = "https://" + host
    return Platform("databricks", host.rstrip("/"), token=token, public_api_only=True)


def sagemaker(arn: str, environ: Mapping[str, str] | None = None) -> Platform:
    env = os.environ if environ is None else environ
    m = _ARN.match(arn.strip().split("#", 1)[0])
    if not m:
        raise PlatformError(f"{arn!r} is not a SageMaker MLflow tracking server ARN "
                            "(arn:aws:sagemaker:REGION:ACCOUNT:mlflow-tracking-server/NAME)")
    base = env.get("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", "").strip() or (
        f"https://{m.group('region')}.experiments.sagemaker.aws")
    return Platform("sagemaker", base.rstrip("/"),
                    headers={"x-mlflow-sm-tracking-server-arn": m.group(0)},
                    region=m.group("region"))
