"""HTTP plumbing for MLflow's REST API with httpx: the URL, credentials, the network
environment, retries, and every failure turned into one TrackingError line with its fix.
Never imports mlflow.

Honours MLflow's client variables: MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (Basic,
wins when both kinds are set), MLFLOW_TRACKING_TOKEN (Bearer), MLFLOW_TRACKING_INSECURE_TLS,
MLFLOW_TRACKING_SERVER_CERT_PATH, MLFLOW_TRACKING_CLIENT_CERT_PATH. Each call has explicit
timeouts and at most two quick retries: a dead server is reported in seconds, not minutes (the
poller owns the longer back-off). What the calls mean is RestSource's (tui/tracking/rest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

import httpx

from mlflow_tui.tracking.errors import (
    AuthError,
    BadRequest,
    ConnectionFailed,
    MissingRoute,
    NotFound,
    PresignedOnly,
    ServerError,
    TrackingError,
)
from mlflow_tui.tracking.httpenv import (
    TLS_HINT,
    NetworkSettings,
    netrc_login,
    network_settings,
    proxy_for,
)
from mlflow_tui.tracking.httpenv import transport as http_transport
from mlflow_tui.tracking.jsonstream import loads_yielding
from mlflow_tui.tracking.transfer import (
    SignedUrl,
    StorageUnreachable,
    from_whole_file,
    range_start,
    range_total,
    storage_error,
    storage_transport_error,
)
from mlflow_tui.tracking.uri import redact

API = "/api/2.0/mlflow"
CREDENTIALS_HINT = (
    "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN"
)
AWS_HINT = ("check the AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), the clock, and the IAM policy (sagemaker-mlflow:*)")
RETRY_STATUS = {502, 503, 504}
PUBLIC_HEADERS = {"x-mlflow-workspace", "x-mlflow-sm-tracking-server-arn"}  # no secret in them
T = TypeVar("T")


class ApiClient:
    """One tracking server's REST API: `_call` sends a request and answers MLflow's JSON or
    raises the TrackingError that says what went wrong."""

    def __init__(
        self,
        uri: str,
        *,
        environ: Mapping[str, str] | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 15.0,
        retries: int = 2,
        retry_budget: float = 4.0,
        history_timeout: float = 90.0,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        display: str | None = None,
        setup_error: TrackingError | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._environ = env
        self._storage_net: NetworkSettings | None = None
        self.base_url, parts = _base_url(uri)
        self.display_uri = display or redact(uri)
        self.retries = retries
        self.retry_budget = retry_budget
        # MLflow reads every point of a history to sample it: over many long runs one
        # get-history-bulk-interval can take tens of seconds on a busy server.
        self._history_timeout = httpx.Timeout(max(read_timeout, history_timeout),
                                              connect=connect_timeout, pool=history_timeout)
        self.requests = 0  # counters, for benchmarks and the status line
        self.bytes_in = 0
        self._lost = False  # a connection failed since the last look (RestSource.capabilities)
        self.artifacts_presigned_only = False  # a file read was refused for a presigned URL
        auth, headers, self._secrets, self.netrc_file = _credentials(parts, env, auth,
                                                                      headers or {})
        self._auth = auth
        self.sends_credentials = auth is not None or "Authorization" in headers
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        self.network: NetworkSettings | None = None
        if transport is None:
            try:
                self.network = network_settings(env)
            except ValueError as exc:
                # A CA or certificate file that cannot be used: every call says so.
                self._setup_error: TrackingError | None = ConnectionFailed(str(exc))
                self.network = network_settings({})
            else:
                self._setup_error = setup_error
            transport = http_transport(self.base_url, self.network, limits=limits)
        else:
            self._setup_error = setup_error
        self._given_transport = None if self.network is not None else transport
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            follow_redirects=True,
            limits=limits,
            trust_env=False,  # the environment is read by mlflow_tui.tracking.httpenv instead
            transport=transport,
        )

    # ------------------------------------------------------------------ plumbing
    def _scrub(self, text: str) -> str:
        proxies = self.network.proxies.values() if self.network is not None else ()
        for secret in [*self._secrets, *getattr(self._auth, "secrets", []),
                       *(unquote(urlsplit(p).password or "") for p in proxies)]:
            if secret:
                text = text.replace(secret, "***")
        return text

    async def _call(self, method: str, path: str, *, params: Any = None,
                    body: Mapping[str, Any] | None = None,
                    timeout: httpx.Timeout | None = None,
                    array: str | None = None, with_text: bool = True) -> dict[str, Any]:
        """One API call, retried on connection failures and 502/503/504. `array`: the key of
        the answer's (possibly long) main array, decoded in pieces (see YIELD_CHARS), each
        element as (its JSON text, its value) (`with_text`), else as its value."""
        return await _retrying(
            self, lambda: self._call_once(method, path, params=params, body=body,
                                          timeout=timeout, array=array, with_text=with_text),
            deadline=time.monotonic() + self.retry_budget)

    async def _send(self, method: str, path: str, *, params: Any = None,
                    body: Mapping[str, Any] | None = None,
                    timeout: httpx.Timeout | None = None) -> httpx.Response:
        """One request, counted; transport failures as ConnectionFailed."""
        if self._setup_error is not None:
            raise self._setup_error
        try:
            extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
            response = await self._client.request(method, path, params=params, json=body,
                                                  **extra)
            content = response.content
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        self.requests += 1
        self.bytes_in += len(content)
        return response

    def _transport_error(self, exc: httpx.HTTPError) -> TrackingError:
        """A request that got no answer: the line that says why."""
        where = self.display_uri
        if isinstance(exc, httpx.TimeoutException):
            kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "answer"
            return ConnectionFailed(f"{where} did not {kind} in time")
        if isinstance(exc, httpx.ConnectError):
            return ConnectionFailed(self._connect_reason(exc))
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            return ConnectionFailed(
                f"connection to {where} broke: {self._scrub(str(exc)) or type(exc).__name__}",
                hint=self._client_cert_hint())
        if isinstance(exc, httpx.ProxyError):
            # The proxy answered CONNECT (https:// through HTTPS_PROXY) with an error.
            detail = self._scrub(str(exc))
            code = detail.split(" ", 1)[0]
            return self._proxy_error(int(code) if code.isdigit() else None, detail)
        return ConnectionFailed(f"cannot talk to {where}: {self._scrub(str(exc))}")

    async def _call_once(self, method: str, path: str, *, params: Any = None,
                         body: Mapping[str, Any] | None = None,
                         timeout: httpx.Timeout | None = None,
                         array: str | None = None, with_text: bool = True) -> dict[str, Any]:
        where = self.display_uri
        response = await self._send(method, path, params=params, body=body, timeout=timeout)
        content = response.content
        status = response.status_code
        payload: Any = None
        try:
            if status == 200 and array is not None and content:
                payload = await loads_yielding(content, array, with_text=with_text)
            else:
                payload = json.loads(content) if content else {}
        except ValueError:
            payload = None
        if status == 200:
            if not isinstance(payload, dict):
                err = ServerError(
                    f"{where} answered with something that is not MLflow JSON "
                    f"({response.headers.get('content-type', 'no content type')})",
                    hint="is a proxy in the way, or is this not an MLflow server?",
                )
                raise err
            return payload
        raise self._error(response, content, payload, path)

    async def get_range(self, path: str | SignedUrl, *, params: Any = None,
                        start: int | None = None,
                        length: int) -> tuple[bytes, int, int | None]:
        """Up to `length` bytes of a file the server sends (artifacts), or of a presigned
        storage URL, from byte `start`, or the last `length` bytes when `start` is None: (the
        bytes, their offset in the file, the file's size when known). Asks for a byte range;
        an answer with the whole file instead is read only as far as needed (the head), or to
        the end (the tail: the caller should know the size first). Nothing else is downloaded.

        Retried like `_call` (a GET of a range repeats safely), the budget counted from the
        first failure: a connect that timed out while this process was busy (a big preview
        drawn, a loaded machine) must not leave the preview an error."""
        if self._setup_error is not None:
            raise self._setup_error
        return await _retrying(self, lambda: self._get_range_once(path, params=params,
                                                                  start=start, length=length))

    async def _get_range_once(self, target: str | SignedUrl, *, params: Any = None,
                              start: int | None = None,
                              length: int) -> tuple[bytes, int, int | None]:
        wanted = f"bytes=-{length}" if start is None else f"bytes={start}-{start + length - 1}"
        async with self._opened(target, params, {"Range": wanted}) as response:
            status = response.status_code
            if status == 416:  # past the end, an empty file, or a tail longer than it
                await response.aread()
                size = range_total(response.headers.get("content-range"))
                if start is None and size != 0:
                    return await self._get_range_once(target, params=params, start=0,
                                                      length=length)
                return b"", start or 0, size
            if status not in (200, 206):
                raise await _answer_error(self, target, response)
            if status == 206:
                data = await response.aread()
                self.bytes_in += len(data)
                span = response.headers.get("content-range")
                first = range_start(span)
                return data[:length], (start or 0) if first is None else first, \
                    range_total(span)
            # 200: the whole file (a server, proxy or storage ignoring Range).
            return await from_whole_file(
                response, start, length, self._count,
                "the server" if isinstance(target, str) else f"the storage {target.host}")

    def _count(self, n: int) -> None:
        self.bytes_in += n

    async def stream_to(self, path: str | SignedUrl, sink: Any, *, params: Any = None,
                        progress: Any = None) -> int:
        """Write the whole file the server (or a presigned storage URL) sends to `sink` (a
        binary file), calling `progress(done, total)` as it goes; the bytes written."""
        if self._setup_error is not None:
            raise self._setup_error
        async with self._opened(path, params, {}) as response:
            if response.status_code != 200:
                raise await _answer_error(self, path, response)
            declared = response.headers.get("content-length")
            total = int(declared) if declared and declared.isdigit() else None
            done = 0
            async for chunk in response.aiter_bytes():
                sink.write(chunk)
                done += len(chunk)
                self.bytes_in += len(chunk)
                if progress is not None:
                    progress(done, total)
            return done

    @contextlib.asynccontextmanager
    async def _opened(self, target: str | SignedUrl, params: Any,
                      headers: dict[str, str]) -> AsyncIterator[httpx.Response]:
        """A streamed GET of a server path, or of a presigned storage URL with a client of its
        own (see tui/tracking/transfer.py); transport failures as ConnectionFailed."""
        try:
            if isinstance(target, str):
                async with self._client.stream("GET", target, params=params, headers=headers,
                                               timeout=self._history_timeout) as response:
                    self.requests += 1
                    yield response
                return
            # A transport given to this client (tests) is shared, so it is not closed here.
            own = self._given_transport is None
            transport = self._given_transport or http_transport(
                target.url, _storage_network(self))
            storage = httpx.AsyncClient(transport=transport, trust_env=False,
                                        follow_redirects=True, timeout=self._history_timeout,
                                        event_hooks={"request": [target.only_to_its_host]})
            try:
                async with storage.stream("GET", target.url,
                                          headers={**target.headers, **headers}) as response:
                    self.requests += 1
                    yield response
            finally:
                if own:
                    await storage.aclose()
        except httpx.HTTPError as exc:
            raise (self._transport_error(exc) if isinstance(target, str)
                   else storage_transport_error(target, exc)) from None

    def _error(self, response: httpx.Response, content: bytes, payload: Any,
                path: str) -> TrackingError:
        """The TrackingError an answer other than 200 means (MLflow's JSON error, a proxy's
        page, an auth refusal), with the fix."""
        where = self.display_uri
        status = response.status_code
        message = ""
        code = ""
        if isinstance(payload, dict):
            message = str(payload.get("message") or "")
            code = str(payload.get("error_code") or "")
        text = message or _first_line(content)
        text = self._scrub(text)[:300]
        if status == 407:  # an http:// URL through HTTP_PROXY: the proxy's own answer
            return self._proxy_error(407, text)
        if status == 403 and isinstance(payload, dict) and payload.get("artifacts_presigned_only"):
            return PresignedOnly(f"{where} serves artifact files only as presigned storage "
                                 "URLs (403)")
        if status in (401, 403):
            return _refused(self, response, text)
        if status == 404 and code == "RESOURCE_DOES_NOT_EXIST":
            return NotFound(text or "not found")
        if status == 404:
            # Werkzeug's HTML page (every MLflow version), or a JSON ENDPOINT_NOT_FOUND.
            return MissingRoute(
                f"{where} has no MLflow API at {path} (404)",
                hint="check the URI: it should be the tracking server's root URL",
            )
        if status == 400 or code == "INVALID_PARAMETER_VALUE":
            return BadRequest(text or f"bad request ({status})")
        html = "html" in response.headers.get("content-type", "").lower()
        err = ServerError(f"{where} answered {status}: {text or response.reason_phrase}",
                          hint="an HTML page, not MLflow's answer: from a proxy in front of "
                          "the server?" if html else "")
        err.status = status  # type: ignore[attr-defined]
        return err

    def _proxy(self) -> tuple[str, str] | None:
        """(the proxy's URL without credentials, the variable it came from) when requests to
        this server go through a proxy, else None."""
        net = self.network
        proxy = proxy_for(self.base_url, net) if net is not None else None
        if net is None or proxy is None:
            return None
        scheme = urlsplit(self.base_url).scheme
        return redact(proxy), net.proxy_sources.get(scheme) or f"{scheme.upper()}_PROXY"

    def _proxy_error(self, status: int | None, detail: str) -> TrackingError:
        """The proxy itself refused: its credentials (407), or the way to the server."""
        proxy, var = self._proxy() or ("in the way", "HTTP(S)_PROXY")
        if status == 407:
            if "***@" in proxy:
                return AuthError(f"the proxy {proxy} refused its credentials (407)",
                                 hint=f"check the user name and password in {var}")
            return AuthError(f"the proxy {proxy} needs credentials (407)",
                             hint=f"put them in {var}: http://user:password@host:port")
        return ConnectionFailed(f"the proxy {proxy} ({var}) did not connect to "
                                f"{self.display_uri}: {detail}")

    def _client_cert_hint(self) -> str:
        """A TLS server that hangs up before its first answer, while no client certificate
        is sent, most often wants one."""
        if (not self.base_url.startswith("https:") or self.requests
                or (self.network is not None and self.network.client_cert)):
            return ""
        return ("if the server wants a client certificate, set "
                "MLFLOW_TRACKING_CLIENT_CERT_PATH to a PEM file with it and its key")

    def _connect_reason(self, exc: Exception) -> str:
        causes: list[BaseException] = []
        cur: BaseException | None = exc
        while cur is not None and len(causes) < 8:
            causes.append(cur)
            cur = cur.__cause__ or cur.__context__
        via = self._proxy()
        if via is not None:
            # The client only ever connects to the proxy: a name that does not resolve or a
            # refused connection is the proxy's, not the server's.
            proxy, var = via
            low = " / ".join(str(c) for c in causes).lower()
            what = why = ""
            if any(isinstance(c, socket.gaierror) for c in causes) or (
                    "name or service not known" in low or "name resolution" in low):
                what = f"cannot resolve the host name of the proxy {proxy}"
            elif any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in low:
                what, why = f"connection refused by the proxy {proxy}", "is it running? "
            if what:
                host = urlsplit(self.base_url).hostname or "?"
                return f"{what} (from {var}; {why}NO_PROXY={host} goes around it)"
        if any(isinstance(c, socket.gaierror) for c in causes):
            host = urlsplit(self.base_url).hostname or "?"
            return f"cannot resolve host name {host!r}"
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return f"connection refused by {self.display_uri} (is the server running?)"
        for c in causes:
            if isinstance(c, ssl.SSLCertVerificationError):
                detail = c.verify_message or "certificate verify failed"
                if "mismatch" in detail.lower():  # trusted, but issued for another name
                    return (f"{self.display_uri}'s certificate is for another host name "
                            f"({detail}): use a name it was issued for, or "
                            "MLFLOW_TRACKING_INSECURE_TLS=true to skip the check")
                return (f"{self.display_uri}'s certificate is not trusted ({detail}): "
                        f"{TLS_HINT}")
            if isinstance(c, ssl.SSLError):
                reason = c.reason or str(c)
                hint = self._client_cert_hint() if any(
                    word in reason.upper() for word in ("CERTIFICATE_REQUIRED", "BAD_CERTIFICATE",
                                                        "HANDSHAKE_FAILURE")) else ""
                return f"TLS with {self.display_uri} failed ({reason})" + (
                    f": {hint}" if hint else "")
        text = self._scrub(" / ".join(dict.fromkeys(str(c) for c in causes if str(c))))
        host = urlsplit(self.base_url).hostname or "?"
        low = text.lower()
        if "name or service not known" in low or "nodename nor servname" in low or (
            "name resolution" in low) or "getaddrinfo" in low or "no address" in low:
            return f"cannot resolve host name {host!r}"
        if "refused" in low:
            return f"connection refused by {self.display_uri} (is the server running?)"
        return f"cannot connect to {self.display_uri}: {text or type(exc).__name__}"

    def describe_connection(self) -> list[tuple[str, str]]:
        """How this client connects, for the connection details (no secret in it)."""
        auth = self._auth
        kind = ("a token command" if type(auth).__name__ == "TokenCommand" else
                "AWS SigV4" if type(auth).__name__ == "SigV4" else
                f"Basic (from {self.netrc_file})" if self.netrc_file else
                "Basic (user and password)" if isinstance(auth, httpx.BasicAuth) else
                "a bearer token / header" if "Authorization" in self._client.headers else
                "none")
        facts = [("server", self.display_uri), ("base URL", self.base_url),
                 ("credentials", kind)]
        net = self.network
        if net is not None:
            facts.append(("TLS trust", {"": "the system store and certifi's bundle",
                                        "MLFLOW_TRACKING_INSECURE_TLS": "not verified "
                                        "(MLFLOW_TRACKING_INSECURE_TLS)"}.get(
                                            net.ca_source, f"from {net.ca_source}")))
            proxy = proxy_for(self.base_url, net)
            facts.append(("proxy", redact(proxy) if proxy else "none (direct)"))
            if net.client_cert:
                facts.append(("client certificate", net.client_cert))
        space = self._client.headers.get("X-MLFLOW-WORKSPACE")
        if space:
            facts.append(("workspace", space))
        if self.artifacts_presigned_only:
            facts.append(("artifact files", "from presigned storage URLs (the server sends "
                          "none itself)"))
        return facts


def _storage_network(api: ApiClient) -> NetworkSettings:
    """The network settings for presigned storage URLs (none of the tracking server's TLS
    settings: httpenv.network_settings), read once per client."""
    if api._storage_net is None:
        try:
            api._storage_net = network_settings(api._environ, storage=True)
        except ValueError as exc:
            raise ConnectionFailed(str(exc)) from None
    return api._storage_net


async def _answer_error(api: ApiClient, target: str | SignedUrl,
                        response: httpx.Response) -> TrackingError:
    """The TrackingError of a file's answer other than 200/206: the server's, or the
    storage's for a presigned URL."""
    content = await response.aread()
    api.bytes_in += len(content)
    if isinstance(target, SignedUrl):
        return storage_error(target, response.status_code, content)
    try:
        payload = json.loads(content) if content else None
    except ValueError:
        payload = None
    return api._error(response, content, payload, target)


def _refused(api: ApiClient, response: httpx.Response, text: str) -> AuthError:
    """The line for a 401 or 403 from the server: credentials missing or refused (and where
    they came from), a Host header refused, an AWS signature refused, or no permission."""
    where, status = api.display_uri, response.status_code
    if status == 401:
        if api.sends_credentials:
            return AuthError(f"{where} refused the credentials (401)",
                             hint=f"check the login and password in {api.netrc_file}"
                             if api.netrc_file else
                             "check the user name and password, or the token")
        return AuthError(f"{where} needs credentials (401)", hint=CREDENTIALS_HINT)
    if "host header" in text.lower():
        return AuthError(f"{where} refused the Host header (403 Invalid Host header)",
                         hint="start the server with --allowed-hosts including this host name")
    if type(api._auth).__name__ == "SigV4":
        # AWS's answer: a signature made with a wrong secret, an unknown key, a clock far
        # off, or an IAM policy without sagemaker-mlflow:* actions.
        kind = response.headers.get("x-amzn-errortype", "").split(":")[0]
        return AuthError(f"{where} refused the AWS-signed request (403"
                         + (f" {kind}" if kind else "") + f"): {text.split('. ')[0]}",
                         hint=AWS_HINT)
    return AuthError(f"{where} refused access (403): {text}",
                     hint="these credentials lack the permission" if api.sends_credentials
                     else CREDENTIALS_HINT)


async def _retrying(api: ApiClient, once: Callable[[], Awaitable[T]], *,
                    deadline: float | None = None) -> T:
    """`once()`, again after a connection failure or a 502/503/504, at most `api.retries` more
    times within its retry budget (by `deadline`, else counted from the first failure)."""
    attempt = 0
    while True:
        try:
            return await once()
        except (ConnectionFailed, ServerError) as exc:
            if isinstance(exc, ConnectionFailed) and not isinstance(exc, StorageUnreachable):
                api._lost = True  # capabilities() re-reads /version once back
            status = getattr(exc, "status", None)
            retry = isinstance(exc, ConnectionFailed) or status in RETRY_STATUS
            delay = 0.25 * (2**attempt)
            now = time.monotonic()
            deadline = now + api.retry_budget if deadline is None else deadline
            if not retry or attempt >= api.retries or now + delay > deadline:
                raise
            attempt += 1
            await asyncio.sleep(delay)


def _base_url(uri: str) -> tuple[str, SplitResult]:
    """The URI without credentials, query or fragment (an IPv6 host in brackets), and its
    parts."""
    parts = urlsplit(uri.rstrip("/"))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if ":" in (parts.hostname or "") and not host.startswith("["):
        host = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", "")), parts


def _credentials(parts: SplitResult, env: Mapping[str, str], auth: httpx.Auth | None,
                 given: Mapping[str, str]
                 ) -> tuple[httpx.Auth | None, dict[str, str], list[str], str]:
    """(the auth, the headers, the secrets to keep out of messages, the netrc file the
    credentials came from or ""), as MLflow's client chooses: a token command or SigV4 given,
    else an Authorization header given (a platform's token, the config file's headers), else
    MLFLOW_TRACKING_USERNAME/_PASSWORD, else credentials in the URI, else
    MLFLOW_TRACKING_TOKEN, else the host's entry in $NETRC or ~/.netrc (requests, under
    MLflow's client, reads it when nothing else is given)."""
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    headers = {"User-Agent": "mlflow-tui", "Accept": "application/json"}
    env_user = env.get("MLFLOW_TRACKING_USERNAME")
    env_pass = env.get("MLFLOW_TRACKING_PASSWORD")
    token = env.get("MLFLOW_TRACKING_TOKEN")
    netrc_file = ""
    netrc_pass = None
    if auth is not None or "Authorization" in given:
        pass
    elif env_user and env_pass:
        auth = httpx.BasicAuth(env_user, env_pass)
    elif user:
        auth = httpx.BasicAuth(user, password or "")
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    else:
        found = netrc_login(parts.hostname, env)
        if found is not None:
            login, netrc_pass, netrc_file = found
            auth = httpx.BasicAuth(login, netrc_pass)
    headers.update(given)
    # Extra headers may carry secrets (Snowflake's token...): their values are kept out of
    # messages, but for the headers that only name where to go (a workspace, an ARN).
    secrets = [s for s in (env_pass, token, password, parts.password, netrc_pass,
                           *(v for k, v in given.items() if k.lower() not in PUBLIC_HEADERS))
               if s and len(s) >= 6]
    return auth, headers, secrets, netrc_file


def _first_line(content: bytes) -> str:
    text = content.decode("utf-8", "replace")
    if "<" in text[:200]:  # an HTML error page from a proxy: keep its title, if any
        match = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        text = match.group(1) if match else "an HTML page"
    return " ".join(text.split())[:200]


__all__ = ["API", "ApiClient", "CREDENTIALS_HINT"]
