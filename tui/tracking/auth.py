"""Credentials that change while the app runs, for httpx: short-lived tokens from a command
(Azure ML's Entra ID, OIDC, IAP...) and AWS SigV4 signing (SageMaker managed MLflow).

- ``token_command`` (config file): a shell command printing a bearer token, either bare (a JWT's
  own ``exp`` claim tells when it expires) or as JSON (``access_token``/``accessToken``/
  ``token`` with ``expires_in`` seconds, or ``expires_on``/``expiresOn``/``expiry`` as epoch
  seconds or an ISO time: the shapes ``az account get-access-token`` and OAuth token endpoints
  print). It is run at the first request, again a minute before the token expires, and again
  (once) when the server answers 401.
- SigV4: requests signed for the ``sagemaker-mlflow`` service with the AWS credentials botocore
  finds (environment, profile, instance role), as the official ``sagemaker-mlflow`` plugin
  does. botocore is the optional ``[aws]`` extra.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from collections.abc import AsyncGenerator, Callable, Generator
from datetime import datetime, timezone
from typing import Any

import httpx

from mlflow_tui.tracking.errors import AuthError

__all__ = ["SigV4", "TokenCommand", "parse_token"]

REFRESH_BEFORE = 60.0  # seconds before expiry a token is renewed


def _jwt_expiry(token: str) -> float | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        exp = payload.get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None
    except (ValueError, TypeError, AttributeError):
        return None


def _when(value: Any) -> float | None:
    """Epoch seconds (or milliseconds) or an ISO time, as epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value) / (1000.0 if value > 1e11 else 1.0)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.replace(".", "", 1).isdigit():
            return _when(float(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:  # az prints local time without a zone
            moment = moment.astimezone()
        return moment.astimezone(timezone.utc).timestamp()
    return None


def parse_token(output: str, now: float) -> tuple[str, float | None]:
    """(token, expiry in epoch seconds or None) from a token command's output."""
    text = output.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise AuthError("token_command printed something that is not a token or JSON",
                            hint="print the bare token, or JSON with access_token") from None
        token = next((data[k] for k in ("access_token", "accessToken", "token", "id_token")
                      if isinstance(data.get(k), str) and data[k]), None)
        if token is None:
            raise AuthError("token_command's JSON has no access_token, accessToken or token")
        expiry = None
        if isinstance(data.get("expires_in"), (int, float, str)):
            try:
                expiry = now + float(data["expires_in"])
            except ValueError:
                expiry = None
        for key in ("expires_on", "expiresOn", "expiry", "expires_at"):
            if expiry is None and key in data:
                expiry = _when(data[key])
        return token, expiry if expiry is not None else _jwt_expiry(token)
    token = text.splitlines()[0].strip() if text else ""
    if not token:
        raise AuthError("token_command printed nothing", hint="it must print a bearer token")
    return token, _jwt_expiry(token)


def _run(command: str, timeout: float) -> str:
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise AuthError(f"token_command did not finish in {timeout:g} s") from None
    except OSError as exc:
        raise AuthError(f"token_command could not run: {exc}") from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout or "").strip().splitlines()
        raise AuthError(f"token_command failed (exit {done.returncode})"
                        + (f": {why[0][:200]}" if why else ""),
                        hint="run it in a shell to see why; token_command in the config file")
    return done.stdout


class TokenCommand(httpx.Auth):
    """Bearer tokens from a command, renewed before they expire and after a 401."""

    def __init__(self, command: str, *, timeout: float = 30.0,
                 clock: Callable[[], float] = time.time,
                 runner: Callable[[str, float], str] = _run) -> None:
        self.command = command
        self.timeout = timeout
        self.clock = clock
        self.runner = runner
        self.runs = 0  # how many times the command ran (tests, the state line)
        self._token: str | None = None
        self._expiry: float | None = None
        self._lock = asyncio.Lock()

    @property
    def secrets(self) -> list[str]:
        return [self._token] if self._token else []

    async def _get(self, stale: str | None = None) -> str:
        async with self._lock:
            fresh = self._token is not None and self._token != stale and (
                self._expiry is None or self._expiry - REFRESH_BEFORE > self.clock())
            if not fresh:
                output = await asyncio.to_thread(self.runner, self.command, self.timeout)
                self.runs += 1
                self._token, self._expiry = parse_token(output, self.clock())
            assert self._token is not None
            return self._token

    async def async_auth_flow(self, request: httpx.Request
                              ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._get()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await self._get(stale=token)  # the server refused it: a new one, once
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response,
                                                                   None]:
        raise RuntimeError("TokenCommand works with httpx.AsyncClient only")


class SigV4(httpx.Auth):
    """AWS SigV4 for SageMaker managed MLflow (service ``sagemaker-mlflow``)."""

    requires_request_body = True
    SERVICE = "sagemaker-mlflow"

    def __init__(self, region: str, credentials: Any = None) -> None:
        try:
            import botocore.session
            from botocore.auth import SigV4Auth
        except ImportError:
            raise AuthError("SageMaker tracking servers need botocore to sign requests",
                            hint="pip install 'mlflow-tui[aws]'") from None
        creds = credentials or botocore.session.get_session().get_credentials()
        if creds is None:
            raise AuthError("no AWS credentials found to sign requests",
                            hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
        self._signer = SigV4Auth(creds, self.SERVICE, region)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        import hashlib

        from botocore.awsrequest import AWSRequest

        body = request.content or b""
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("connection", "user-agent", "accept-encoding")}
        headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        aws = AWSRequest(method=request.method, url=str(request.url),
                         data=body, headers=headers)
        self._signer.add_auth(aws)
        for key, value in aws.headers.items():
            request.headers[key] = value
        yield request
