"""Read an MLflow tracking server over its REST API with httpx. Never imports mlflow.

Honours MLflow's client variables: MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (Basic,
wins when both kinds are set), MLFLOW_TRACKING_TOKEN (Bearer), MLFLOW_TRACKING_INSECURE_TLS,
MLFLOW_TRACKING_SERVER_CERT_PATH, MLFLOW_TRACKING_CLIENT_CERT_PATH. Each call has explicit
timeouts and at most two quick retries: a dead server is reported in seconds, not minutes (the
poller owns the longer back-off).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from tui.tracking.capabilities import (
    Capabilities,
    from_version,
    parse_version,
    rejects_run_id_in,
    sample_window,
)
from tui.tracking.clientfilter import apply as apply_clauses
from tui.tracking.clientfilter import take_attribute_clauses
from tui.tracking.errors import (
    AuthError,
    BadRequest,
    ConnectionFailed,
    MissingRoute,
    NotFound,
    ServerError,
    TrackingError,
)
from tui.tracking.httpenv import TLS_HINT, NetworkSettings, network_settings, proxy_for
from tui.tracking.httpenv import transport as http_transport
from tui.tracking.models import Experiment, Point, Run
from tui.tracking.source import (
    MAX_RESULTS_PER_RUN,
    MAX_RUNS_PER_BULK,
    latest_points,
    make_run,
    parse_datasets,
    sort_newest_first,
    to_float,
    to_int,
)
from tui.tracking.uri import redact

API = "/api/2.0/mlflow"
CREDENTIALS_HINT = (
    "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN"
)
RETRY_STATUS = {502, 503, 504}
# runs/search answers are decoded one run at a time, letting the event loop run (keys,
# repaints) every YIELD_CHARS characters: one json.loads of a 500-run page (~750 KB,
# pretty-printed) holds the loop for several milliseconds, more on a busy machine.
YIELD_CHARS = 100_000
PARSE_BATCH = 200  # runs parsed between two pauses for the event loop
RUN_MEMO = 5000  # run records remembered (their JSON text), to reuse the Run of an unchanged one
# Old servers (no get-history-bulk-interval, before 2.11), see get_history_window:
FULL_PAGE = 25_000  # max_results sent with every get-history (MLflow's own client sends it too)
FULL_TTL = 2.0  # s: a whole series fetched serves every window of it asked this long after
FULL_PARALLEL = 4  # whole-series requests in flight (the http client's pool)
# run_id IN refused (2.0-2.3.0): the ids are asked one `attributes.run_id = '...'` at a time.
_RUN_ID_IN = re.compile(r"(?<![\w.`])(?:attributes\.)?run_id\s+IN\s*\(([^()]*)\)", re.I)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


class RestSource:
    """TrackingSource for http(s) servers."""

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
        parts = urlsplit(uri.rstrip("/"))
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        if ":" in (parts.hostname or "") and not host.startswith("["):
            host = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
        self.base_url = urlunsplit((parts.scheme, host, parts.path, "", ""))
        self.display_uri = display or redact(uri)
        self.retries = retries
        self.retry_budget = retry_budget
        # MLflow reads every point of a history to sample it: over many long runs one
        # get-history-bulk-interval can take tens of seconds on a busy server.
        self._history_timeout = httpx.Timeout(max(read_timeout, history_timeout),
                                              connect=connect_timeout, pool=history_timeout)
        self.requests = 0  # counters, for benchmarks and the status line
        self.bytes_in = 0
        # run id -> (the JSON text of its record, its Run), least recently seen first: a run
        # listed again with the same text keeps its Run object (no parsing; cheap to compare
        # for whoever shows it). Most runs of a listing are unchanged from one to the next.
        # Text, not the decoded record: one string per run for the garbage collector to skip.
        self._memo: dict[str, tuple[str, Run]] = {}
        self._no_newest = False  # the server refused to sort experiments by creation time
        # What the server can answer (capabilities()): None until known. `_windows` and
        # `_run_id_in` are also learnt on the way (an HTML 404 on bulk-interval, a 400 on IN).
        self._caps: Capabilities | None = None
        self._caps_lock = asyncio.Lock()
        self._windows: bool | None = None
        self._run_id_in: bool | None = None
        # False once the server refused status / start_time / LIKE clauses (Azure ML):
        # they are applied here from then on (tui/tracking/clientfilter.py).
        self._attribute_filters: bool | None = None
        self._mlflow_seen = False  # experiments/search answered MLflow's JSON here
        self._lost = False  # a connection failed since the capabilities were found
        # Old servers: whole series read in the last FULL_TTL s {(run, key): (when, points)},
        # and each series' size on the server at its last read.
        self._full: dict[tuple[str, str], tuple[float, list[Point]]] = {}
        self._full_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._full_slots = asyncio.Semaphore(FULL_PARALLEL)
        self._sizes: dict[tuple[str, str], int] = {}

        given = dict(headers or {})
        headers = {"User-Agent": "mlflow-tui", "Accept": "application/json"}
        env_user = env.get("MLFLOW_TRACKING_USERNAME")
        env_pass = env.get("MLFLOW_TRACKING_PASSWORD")
        token = env.get("MLFLOW_TRACKING_TOKEN")
        if auth is not None:
            pass  # a token command or SigV4: it sets the credentials
        elif "Authorization" in given:
            pass  # a platform's token, or the config file's headers
        elif env_user and env_pass:
            auth = httpx.BasicAuth(env_user, env_pass)
        elif user:
            auth = httpx.BasicAuth(user, password or "")
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        headers.update(given)
        self._auth = auth
        self._secrets = [s for s in (env_pass, token, password, parts.password, *given.values())
                         if s and len(s) >= 6]

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
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            follow_redirects=True,
            limits=limits,
            trust_env=False,  # the environment is read by tui.tracking.httpenv instead
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
        deadline = time.monotonic() + self.retry_budget
        attempt = 0
        while True:
            try:
                return await self._call_once(method, path, params=params, body=body,
                                             timeout=timeout, array=array,
                                             with_text=with_text)
            except (ConnectionFailed, ServerError) as exc:
                if isinstance(exc, ConnectionFailed):
                    self._lost = True  # capabilities() re-reads /version once back
                status = getattr(exc, "status", None)
                retry = isinstance(exc, ConnectionFailed) or status in RETRY_STATUS
                delay = 0.25 * (2**attempt)
                if not retry or attempt >= self.retries or time.monotonic() + delay > deadline:
                    raise
                attempt += 1
                await asyncio.sleep(delay)

    async def _send(self, method: str, path: str, *, params: Any = None,
                    body: Mapping[str, Any] | None = None,
                    timeout: httpx.Timeout | None = None) -> httpx.Response:
        """One request, counted; transport failures as ConnectionFailed."""
        where = self.display_uri
        if self._setup_error is not None:
            raise self._setup_error
        try:
            extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
            response = await self._client.request(method, path, params=params, json=body,
                                                  **extra)
            content = response.content
        except httpx.TimeoutException as exc:
            kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "answer"
            raise ConnectionFailed(f"{where} did not {kind} in time") from None
        except httpx.ConnectError as exc:
            raise ConnectionFailed(self._connect_reason(exc)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise ConnectionFailed(
                f"connection to {where} broke: {self._scrub(str(exc)) or type(exc).__name__}",
                hint=self._client_cert_hint()) from None
        except httpx.ProxyError as exc:
            # The proxy answered CONNECT (https:// through HTTPS_PROXY) with an error.
            detail = self._scrub(str(exc))
            code = detail.split(" ", 1)[0]
            raise self._proxy_error(int(code) if code.isdigit() else None, detail) from None
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"cannot talk to {where}: {self._scrub(str(exc))}") from None
        self.requests += 1
        self.bytes_in += len(content)
        return response

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
        message = ""
        code = ""
        if isinstance(payload, dict):
            message = str(payload.get("message") or "")
            code = str(payload.get("error_code") or "")
        text = message or _first_line(content)
        text = self._scrub(text)[:300]
        if status == 407:  # an http:// URL through HTTP_PROXY: the proxy's own answer
            raise self._proxy_error(407, text)
        if status == 401:
            if self.sends_credentials:
                raise AuthError(f"{where} refused the credentials (401)",
                                hint="check the user name and password, or the token")
            raise AuthError(f"{where} needs credentials (401)", hint=CREDENTIALS_HINT)
        if status == 403:
            if "host header" in text.lower():
                raise AuthError(
                    f"{where} refused the Host header (403 Invalid Host header)",
                    hint="start the server with --allowed-hosts including this host name",
                )
            raise AuthError(f"{where} refused access (403): {text}",
                            hint="these credentials lack the permission" if
                            self.sends_credentials else CREDENTIALS_HINT)
        if status == 404 and code == "RESOURCE_DOES_NOT_EXIST":
            raise NotFound(text or "not found")
        if status == 404:
            # Werkzeug's HTML page (every MLflow version), or a JSON ENDPOINT_NOT_FOUND.
            raise MissingRoute(
                f"{where} has no MLflow API at {path} (404)",
                hint="check the URI: it should be the tracking server's root URL",
            )
        if status == 400 or code == "INVALID_PARAMETER_VALUE":
            raise BadRequest(text or f"bad request ({status})")
        html = "html" in response.headers.get("content-type", "").lower()
        err = ServerError(f"{where} answered {status}: {text or response.reason_phrase}",
                          hint="an HTML page, not MLflow's answer: from a proxy in front of "
                          "the server?" if html else "")
        err.status = status  # type: ignore[attr-defined]
        raise err

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

    def describe(self) -> list[tuple[str, str]]:
        """How this source connects, for the connection details (no secret in it)."""
        auth = self._auth
        kind = ("a token command" if type(auth).__name__ == "TokenCommand" else
                "AWS SigV4" if type(auth).__name__ == "SigV4" else
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
        caps = self._caps
        if caps is not None:
            facts.append(("server version", caps.version or "not reported (MLflow 2.0.x?)"))
            facts.append(("history", "windows (get-history-bulk-interval)" if caps.windows else
                          "whole series only (metrics/get-history): charts refresh from full "
                          "histories, paced by their size"))
            if not caps.run_id_in:
                facts.append(("run filters", "no run_id IN (before 2.3.1): one search per run"))
            if not caps.attribute_filters:
                facts.append(("attribute filters", "refused by the server (status, start "
                              "time, name LIKE): applied by mlflow-tui to the newest runs"))
        facts.append(("requests", f"{self.requests} ({self.bytes_in / 1e6:.1f} MB received)"))
        return facts

    # ------------------------------------------------------------------ capabilities
    async def server_version(self) -> str | None:
        try:
            return await self._version()
        except TrackingError:
            return None

    async def _version(self) -> str | None:
        """GET /version: the bare version text (2.1+), else None (2.0.x answers an HTML 404;
        a body that is not a version, e.g. a proxy's page, is None too)."""
        response = await self._send("GET", "/version")
        if response.status_code != 200:
            return None
        text = response.text.strip()
        return text if parse_version(text) is not None else None

    @property
    def known_capabilities(self) -> Capabilities | None:
        """The capabilities found so far (None before the first capabilities() call), for
        whoever cannot await: the header's note is `known_capabilities.note`."""
        return self._caps

    @property
    def windows_are_cheap(self) -> bool:
        """False on a server without windows: every window of a series costs the whole series
        there (tui/tracking/sketch.py asks this before sketching)."""
        return self._windows is not False

    async def capabilities(self) -> Capabilities:
        """What this server answers, found once per connection and cached: GET /version
        (one small request), and only where the version cannot tell, one probe each: a
        get-history-bulk-interval for a run that does not exist (an HTML 404 while
        experiments/search answers MLflow's JSON = older than 2.11; JSON of any kind = it
        exists), and a runs/search with `attributes.run_id IN (...)` (a 400 = refused).
        After a lost connection the next call re-reads /version alone, and probes again only
        if the version changed (an upgraded server). Raises TrackingError like any call, and
        ServerError ("has no MLflow API") when the URL is not an MLflow server at all."""
        async with self._caps_lock:
            if self._caps is not None and not self._lost:
                return self._caps
            version = await self._version()
            if self._caps is not None:
                self._lost = False
                if version == self._caps.version:
                    return self._caps
                self._windows = self._run_id_in = None  # another server behind the URL now
            self._lost = False
            windows, run_id_in = from_version(version)
            if windows is None:
                windows = self._windows
            if windows is None:
                windows = await self._probe_windows()
            if run_id_in is None:
                run_id_in = self._run_id_in
            if run_id_in is None:
                # Only 2.0.0-2.3.0 refuse it; unversioned servers with windows are not those.
                run_id_in = True if windows and version is None else await self._probe_in()
            self._windows, self._run_id_in = windows, run_id_in
            self._caps = Capabilities(version, windows, run_id_in,
                                      self._attribute_filters is not False)
            return self._caps

    async def _probe_windows(self) -> bool:
        params = [("run_ids", "0" * 32), ("metric_key", "mlflow-tui-probe"),
                  ("max_results", 1)]
        try:
            await self._call("GET", f"{API}/metrics/get-history-bulk-interval", params=params)
        except MissingRoute:
            await self._confirm_mlflow()  # else "has no MLflow API at …experiments/search"
            return False
        except (NotFound, BadRequest):
            return True  # MLflow's JSON error: the route exists
        except ServerError as exc:
            if getattr(exc, "status", None) is None:
                raise  # not MLflow's JSON: a proxy's page
            return True  # a 5xx from MLflow's handler: the route exists
        return True

    async def _probe_in(self) -> bool:
        body = {"experiment_ids": ["0"], "max_results": 1, "run_view_type": "ACTIVE_ONLY",
                "filter": "attributes.run_id IN ('00000000000000000000000000000000')"}
        try:
            await self._call("POST", f"{API}/runs/search", body=body)
        except BadRequest as exc:
            return not rejects_run_id_in(exc.message)
        except (NotFound, AuthError):
            return True  # the probe's experiment, not the filter: IN is tried when needed
        return True

    async def _confirm_mlflow(self) -> None:
        """One experiments/search that must answer MLflow's JSON: raises the usual error
        ("has no MLflow API at …", "not MLflow JSON") when this URL is not MLflow."""
        if self._mlflow_seen:
            return
        await self._call("POST", f"{API}/experiments/search", body={"max_results": 1})
        self._mlflow_seen = True

    def _learn(self, *, windows: bool | None = None, run_id_in: bool | None = None,
               attribute_filters: bool | None = None) -> None:
        if attribute_filters is not None:
            self._attribute_filters = attribute_filters
            if self._caps is not None:
                self._caps = self._caps.with_attribute_filters(attribute_filters)
        if windows is not None:
            self._windows = windows
            if self._caps is not None:
                self._caps = self._caps.with_windows(windows)
        if run_id_in is not None:
            self._run_id_in = run_id_in
            if self._caps is not None:
                self._caps = self._caps.with_run_id_in(run_id_in)

    def history_size(self, run_id: str, key: str) -> int | None:
        """Points in the series at its last whole read (servers without windows), else None:
        what one more read of it costs, for the poller's refresh pacing."""
        return self._sizes.get((run_id, key))

    # ------------------------------------------------------------------ API

    async def search_experiments(self) -> list[Experiment]:
        out: list[Experiment] = []
        token: str | None = None
        for _ in range(100):
            body: dict[str, Any] = {"max_results": 1000, "view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            data = await self._call("POST", f"{API}/experiments/search", body=body)
            self._mlflow_seen = True
            for e in data.get("experiments", []) or []:
                out.append(Experiment(
                    experiment_id=str(e.get("experiment_id", "")),
                    name=str(e.get("name", "")),
                    lifecycle_stage=str(e.get("lifecycle_stage", "active")),
                    last_update_time=to_int(e.get("last_update_time")),
                ))
            token = data.get("next_page_token")
            if not token:
                break
        return out

    async def newest_experiment_id(self) -> str | None:
        """The id of the most recently created active experiment: one small request, so that
        the app can notice a new experiment at every tick without listing them all. None
        when the server cannot sort by creation time (then the periodic listing does)."""
        if self._no_newest:
            return None
        body = {"max_results": 1, "view_type": "ACTIVE_ONLY", "order_by": ["creation_time DESC"]}
        try:
            data = await self._call("POST", f"{API}/experiments/search", body=body)
        except BadRequest:
            self._no_newest = True
            return None
        found = data.get("experiments") or []
        return str(found[0].get("experiment_id", "")) if found else None

    async def search_runs(self, experiment_ids: Sequence[str], *, filter_string: str = "",
                          max_runs: int = 5000) -> list[Run]:
        has_in = _RUN_ID_IN.search(filter_string) is not None if filter_string else False
        if has_in and self._run_id_in is False:
            return await self._search_each_id(experiment_ids, filter_string, max_runs)
        try:
            runs = await self._search_filtered(experiment_ids, filter_string, max_runs)
        except BadRequest as exc:
            if has_in and rejects_run_id_in(exc.message):
                self._learn(run_id_in=False)
                return await self._search_each_id(experiment_ids, filter_string, max_runs)
            rest, clauses = take_attribute_clauses(filter_string)
            if not clauses or self._attribute_filters is False:
                raise
            # Azure ML refuses status / start_time / LIKE clauses: send the rest, apply
            # those here (tui/tracking/clientfilter.py). If the rest is refused too, the
            # server's first answer is the one to show.
            try:
                runs = apply_clauses(await self._search_runs(experiment_ids, rest, max_runs),
                                     clauses)
            except BadRequest:
                raise exc from None
            self._learn(attribute_filters=False)
        if self._full:
            # Old server: a series read in the last seconds is not current any more when
            # runs/search reports a newer latest point (see _whole_series).
            by_id = {r.run_id: r for r in runs}
            for k, (_, points) in list(self._full.items()):
                run = by_id.get(k[0])
                latest = run.metrics.get(k[1]) if run is not None else None
                if latest is not None and (not points or (latest.step, latest.timestamp) > (
                        points[-1].step, points[-1].timestamp)):
                    del self._full[k]
        return runs

    async def _search_filtered(self, experiment_ids: Sequence[str], filter_string: str,
                               max_runs: int) -> list[Run]:
        """_search_runs, with the attribute clauses the server refuses (once learnt) applied
        here instead. Those clauses filter the `max_runs` newest runs the rest selects."""
        if self._attribute_filters is False and filter_string:
            rest, clauses = take_attribute_clauses(filter_string)
            if clauses:
                return apply_clauses(
                    await self._search_runs(experiment_ids, rest, max_runs), clauses)
        return await self._search_runs(experiment_ids, filter_string, max_runs)

    async def _search_each_id(self, experiment_ids: Sequence[str], filter_string: str,
                              max_runs: int) -> list[Run]:
        """search_runs for a server that refuses `attributes.run_id IN (...)` (2.0-2.3.0): the
        same filter once per id with `attributes.run_id = '<id>'` in place of the list (every
        version accepts that), merged newest first. A few small requests for the short lists
        the app writes (marked runs); the poller itself does not send IN to such a server."""
        match = _RUN_ID_IN.search(filter_string)
        assert match is not None
        ids = list(dict.fromkeys(a if a else b for a, b in _QUOTED.findall(match[1])))
        slots = asyncio.Semaphore(FULL_PARALLEL)

        async def one(rid: str) -> list[Run]:
            quoted = "'" + rid.replace("\\", "\\\\").replace("'", "\\'") + "'"
            text = (filter_string[:match.start()] + f"attributes.run_id = {quoted}"
                    + filter_string[match.end():])
            async with slots:
                return await self.search_runs(experiment_ids, filter_string=text,
                                              max_runs=max_runs)

        found: dict[str, Run] = {}
        for runs in await _gather_all([one(rid) for rid in ids]):
            found.update((r.run_id, r) for r in runs)
        return sort_newest_first(list(found.values()))[:max_runs]

    async def _search_runs(self, experiment_ids: Sequence[str], filter_string: str,
                           max_runs: int) -> list[Run]:
        out: list[Run] = []
        token: str | None = None
        while len(out) < max_runs:
            body: dict[str, Any] = {
                "experiment_ids": list(experiment_ids),
                "max_results": min(1000, max_runs - len(out)),
                "run_view_type": "ACTIVE_ONLY",
                "order_by": ["attributes.start_time DESC"],
            }
            if filter_string:
                body["filter"] = filter_string
            if token:
                body["page_token"] = token
            data = await self._call("POST", f"{API}/runs/search", body=body, array="runs")
            for i, (text, r) in enumerate(data.get("runs", []) or []):
                if i and i % PARSE_BATCH == 0:
                    await asyncio.sleep(0)  # let keys and repaints through
                out.append(self._parse_run(r, text))
            token = data.get("next_page_token")
            if not token:
                break
        return out

    async def get_run(self, run_id: str) -> Run:
        data = await self._call("GET", f"{API}/runs/get", params={"run_id": run_id})
        return parse_run(data.get("run", {}))

    def _parse_run(self, raw: Any, text: str | None) -> Run:
        """parse_run(raw), or the Run parsed last time when the record's JSON `text` is the
        same (MLflow writes the same record the same way)."""
        info = raw.get("info") if isinstance(raw, dict) else None
        run_id = (info.get("run_id") or info.get("run_uuid")) if isinstance(info, dict) else None
        if text is None or not isinstance(run_id, str) or not run_id:
            return parse_run(raw)
        memo = self._memo
        seen = memo.pop(run_id, None)
        run = seen[1] if seen is not None and seen[0] == text else parse_run(raw)
        memo[run_id] = (text, run)  # now the most recently seen
        if len(memo) > RUN_MEMO:
            del memo[next(iter(memo))]
        return run

    async def get_history_window(self, run_ids: Sequence[str], key: str, *,
                                 start_step: int | None, end_step: int | None,
                                 max_results: int) -> dict[str, list[Point]]:
        """get-history-bulk-interval where the server has it (2.11+). Older servers (an HTML
        404 there, while experiments/search answers JSON; or known from capabilities())
        get the same answer computed here from each run's whole series: see _whole_series."""
        if self._windows is False:
            return await self._window_from_whole(run_ids, key, start_step, end_step,
                                                 max_results)
        try:
            return await self._bulk_interval(run_ids, key, start_step, end_step, max_results)
        except MissingRoute:
            await self._confirm_mlflow()  # not MLflow at all: its own "no MLflow API" error
            self._learn(windows=False)
            return await self._window_from_whole(run_ids, key, start_step, end_step,
                                                 max_results)

    async def _window_from_whole(self, run_ids: Sequence[str], key: str,
                                 start_step: int | None, end_step: int | None,
                                 max_results: int) -> dict[str, list[Point]]:
        limit = max(1, min(MAX_RESULTS_PER_RUN, max_results))
        ids = list(dict.fromkeys(run_ids))
        wholes = await _gather_all([self._whole_series(rid, key) for rid in ids])
        out: dict[str, list[Point]] = {}
        for rid, points in zip(ids, wholes, strict=True):
            rows = sample_window(points, start_step, end_step, limit)
            if rows:
                out[rid] = rows
        return out

    async def _whole_series(self, run_id: str, key: str) -> list[Point]:
        """Every point of one series, for a server that cannot send part of one: a read
        serves every window of that series asked within FULL_TTL s after it (the poller's
        exact windows split a wide one in halves; two views may chart the same series),
        unless runs/search reported a newer latest point since (search_runs drops it).
        Concurrent askers of the same series share one request."""
        k = (run_id, key)
        lock = self._full_locks.get(k)
        if lock is None:
            if len(self._full_locks) > 256:  # forget idle ones (a new one may be made)
                for idle in [o for o, lo in self._full_locks.items() if not lo.locked()]:
                    del self._full_locks[idle]
            lock = self._full_locks[k] = asyncio.Lock()
        async with lock:
            seen = self._full.get(k)
            if seen is not None and time.monotonic() - seen[0] <= FULL_TTL:
                return seen[1]
            async with self._full_slots:
                points = await self.get_full_history(run_id, key)
            done = time.monotonic()
            for old in [o for o, (at, _) in self._full.items() if done - at > FULL_TTL]:
                del self._full[old]
            self._full[k] = (done, points)
            self._sizes[k] = len(points)
            if len(self._sizes) > 4 * RUN_MEMO:
                del self._sizes[next(iter(self._sizes))]
            return points

    async def _bulk_interval(self, run_ids: Sequence[str], key: str, start_step: int | None,
                             end_step: int | None, max_results: int) -> dict[str, list[Point]]:
        out: dict[str, list[Point]] = {}
        ids = list(dict.fromkeys(run_ids))
        for i in range(0, len(ids), MAX_RUNS_PER_BULK):
            params: list[tuple[str, str | int]] = [("run_ids", rid) for rid in ids[i:i + 100]]
            params.append(("metric_key", key))
            params.append(("max_results", max(1, min(MAX_RESULTS_PER_RUN, max_results))))
            if start_step is not None and end_step is not None:
                params += [("start_step", start_step), ("end_step", end_step)]
            data = await self._call(
                "GET", f"{API}/metrics/get-history-bulk-interval", params=params,
                timeout=self._history_timeout,
            )
            for m in data.get("metrics", []) or []:
                rid = str(m.get("run_id", ""))
                out.setdefault(rid, []).append(Point(
                    to_int(m.get("step"), 0) or 0, to_float(m.get("value")),
                    to_int(m.get("timestamp"), 0) or 0,
                ))
        for points in out.values():
            points.sort(key=lambda p: (p.step, p.timestamp))
        return out

    async def get_full_history(self, run_id: str, key: str) -> list[Point]:
        """Every point of one series (get-history, paged), sorted by (step, timestamp).
        `max_results` goes with every page: servers before 3.1.1 ignore it and send the whole
        series at once; 3.1.1 - 3.13 send NOTHING without it (an empty page and a token);
        newer ones page with it."""
        out: list[Point] = []
        token: str | None = None
        for _ in range(10_000):
            params: dict[str, Any] = {"run_id": run_id, "metric_key": key,
                                      "max_results": FULL_PAGE}
            if token:
                params["page_token"] = token
            data = await self._call("GET", f"{API}/metrics/get-history", params=params,
                                    timeout=self._history_timeout, array="metrics",
                                    with_text=False)
            for m in data.get("metrics", []) or []:
                out.append(Point(to_int(m.get("step"), 0) or 0, to_float(m.get("value")),
                                 to_int(m.get("timestamp"), 0) or 0))
            token = data.get("next_page_token")
            if not token:
                break
        out.sort(key=lambda p: (p.step, p.timestamp))
        return out

    async def aclose(self) -> None:
        await self._client.aclose()


def parse_run(r: Mapping[str, Any]) -> Run:
    info = r.get("info", {}) or {}
    data = r.get("data", {}) or {}
    params = {str(p.get("key")): str(p.get("value", "")) for p in data.get("params", []) or []}
    tags = {str(t.get("key")): str(t.get("value", "")) for t in data.get("tags", []) or []}
    return make_run(info, latest_points(data.get("metrics", []) or []), params, tags,
                    parse_datasets(r.get("inputs")))


_DECODE = json.JSONDecoder().raw_decode
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, i: int) -> int:
    """The index of the first character at or after `i` that is not JSON whitespace."""
    match = _SPACE.match(text, i)
    return match.end() if match else i


async def loads_yielding(content: bytes, array: str, *, with_text: bool = False) -> Any:
    """json.loads(content), for a JSON object whose `array` member is a long array: its
    elements are decoded one at a time, with a pause for the event loop every YIELD_CHARS
    characters. Anything else than an object of that shape is one json.loads.
    `with_text`: each element of `array` comes as (its JSON text, its value) instead, the
    text None when the answer was not decoded piece by piece."""
    try:
        text = content.decode("utf-8")
        return await _decode_object(text, array, with_text)
    except ValueError:
        payload = json.loads(content)  # the same answer, or the same error, as ever
        if with_text and isinstance(payload, dict) and isinstance(payload.get(array), list):
            payload[array] = [(None, item) for item in payload[array]]
        return payload


async def _decode_object(text: str, array: str, with_text: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    i = _skip(text, 0)
    if text[i:i + 1] != "{":
        raise ValueError("not an object")
    i = _skip(text, i + 1)
    if text[i:i + 1] == "}":
        i += 1
    else:
        while True:
            key, i = _DECODE(text, i)
            if not isinstance(key, str):
                raise ValueError("object key is not a string")
            i = _skip(text, i)
            if text[i:i + 1] != ":":
                raise ValueError("expected ':'")
            i = _skip(text, i + 1)
            value: Any
            if key == array and text[i:i + 1] == "[":
                value, i = await _decode_array(text, i, with_text)
            else:
                value, i = _DECODE(text, i)
            out[key] = value
            i = _skip(text, i)
            if text[i:i + 1] == "}":
                i += 1
                break
            if text[i:i + 1] != ",":
                raise ValueError("expected ',' or '}'")
            i = _skip(text, i + 1)
    if _skip(text, i) != len(text):
        raise ValueError("extra data")
    return out


async def _decode_array(text: str, i: int, with_text: bool) -> tuple[list[Any], int]:
    """The array starting at text[i] ('['): (its elements, the index after its ']')."""
    items: list[Any] = []
    mark = i
    i = _skip(text, i + 1)
    if text[i:i + 1] == "]":
        return items, i + 1
    while True:
        start = i
        item, i = _DECODE(text, i)
        items.append((text[start:i], item) if with_text else item)
        if i - mark >= YIELD_CHARS:
            await asyncio.sleep(0)
            mark = i
        i = _skip(text, i)
        if text[i:i + 1] == "]":
            return items, i + 1
        if text[i:i + 1] != ",":
            raise ValueError("expected ',' or ']'")
        i = _skip(text, i + 1)


async def _gather_all(aws: list[Any]) -> list[Any]:
    """asyncio.gather that waits for every request before raising the first failure: none is
    left running behind a failed call."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _first_line(content: bytes) -> str:
    text = content.decode("utf-8", "replace")
    if "<" in text[:200]:  # an HTML error page from a proxy: keep its title, if any
        match = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        text = match.group(1) if match else "an HTML page"
    return " ".join(text.split())[:200]


__all__ = ["RestSource", "loads_yielding", "parse_run", "TrackingError"]
