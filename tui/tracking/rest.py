"""Read an MLflow tracking server over its REST API with httpx. Never imports mlflow.

RestSource is the TrackingSource of http(s) URIs: what the server can answer (found once per
connection, tui/tracking/capabilities.py), experiments, runs, histories. The HTTP plumbing
(credentials, network environment, retries, error lines) is ApiClient's
(tui/tracking/api.py); long answers are decoded piecewise (tui/tracking/jsonstream.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mlflow_tui.tracking.api import API, CREDENTIALS_HINT, ApiClient
from mlflow_tui.tracking.capabilities import (
    Capabilities,
    from_version,
    parse_version,
    rejects_run_id_in,
)
from mlflow_tui.tracking.clientfilter import apply as apply_clauses
from mlflow_tui.tracking.clientfilter import take_attribute_clauses
from mlflow_tui.tracking.errors import (
    AuthError,
    BadRequest,
    MissingRoute,
    NotFound,
    ServerError,
    TrackingError,
)
from mlflow_tui.tracking.jsonstream import loads_yielding
from mlflow_tui.tracking.models import Experiment, Point, Run
from mlflow_tui.tracking.source import (
    MAX_RESULTS_PER_RUN,
    MAX_RUNS_PER_BULK,
    gather_all,
    latest_points,
    make_run,
    parse_datasets,
    sort_newest_first,
    to_float,
    to_int,
)
from mlflow_tui.tracking.wholeseries import FULL_PARALLEL, WholeSeries

EXPERIMENTS_PER_SEARCH = 100  # experiment ids sent in one runs/search
PARSE_BATCH = 200  # runs parsed between two pauses for the event loop
RUN_MEMO = 5000  # run records remembered (their JSON text), to reuse the Run of an unchanged one
# Old servers (no get-history-bulk-interval, before 2.11), see get_history_window:
FULL_PAGE = 25_000  # max_results sent with every get-history (MLflow's own client sends it too)
# run_id IN refused (2.0-2.3.0): the ids are asked one `attributes.run_id = '...'` at a time.
_RUN_ID_IN = re.compile(r"(?<![\w.`])(?:attributes\.)?run_id\s+IN\s*\(([^()]*)\)", re.I)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


class RestSource(ApiClient):
    """TrackingSource for http(s) servers: what the server can answer, runs, histories."""

    def __init__(self, uri: str, *, public_api_only: bool = False, **options: Any) -> None:
        """`options`: ApiClient's (environ, timeouts, retries, transport, auth, headers,
        display, setup_error). `public_api_only`: send nothing but the public
        `/api/2.0/mlflow/` routes (Databricks): no GET /version, no probes of routes outside
        it; histories with get-history (tui/tracking/platforms.py)."""
        super().__init__(uri, **options)
        self.public_api_only = public_api_only
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
        # A public-API-only platform has no bulk-interval route to use: whole series.
        self._windows: bool | None = False if public_api_only else None
        self._run_id_in: bool | None = None
        # False once the server refused status / start_time / LIKE clauses (Azure ML):
        # they are applied here from then on (tui/tracking/clientfilter.py).
        self._attribute_filters: bool | None = None
        self._mlflow_seen = False  # experiments/search answered MLflow's JSON here
        # Old servers: windows cut from whole series (tui/tracking/wholeseries.py).
        self._whole = WholeSeries(self.get_full_history)


    def describe(self) -> list[tuple[str, str]]:
        """How this source connects, for the connection details (no secret in it)."""
        facts = self.describe_connection()
        caps = self._caps
        if caps is not None:
            facts.append(("server version", caps.version or (
                "not asked (public REST API only)" if caps.public_only else "not reported")))
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
            if self.public_api_only:
                # Known without asking: /version and bulk-interval are not public routes.
                # `run_id IN` is assumed and learnt from a 400 if refused (search_runs).
                self._lost = False
                self._caps = Capabilities(None, False, self._run_id_in is not False,
                                          self._attribute_filters is not False,
                                          public_only=True)
                return self._caps
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
        return self._whole.size(run_id, key)

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
        if len(experiment_ids) > EXPERIMENTS_PER_SEARCH:
            # Long id lists make large requests and long SQL IN lists: a search per slice,
            # merged newest first.
            ids = list(experiment_ids)
            found: list[Run] = []
            for i in range(0, len(ids), EXPERIMENTS_PER_SEARCH):
                found += await self.search_runs(ids[i:i + EXPERIMENTS_PER_SEARCH],
                                                filter_string=filter_string, max_runs=max_runs)
            return sort_newest_first(found)[:max_runs]
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
        self._whole.forget_older_than(runs)
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
        for runs in await gather_all([one(rid) for rid in ids]):
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
        get the same answer cut from whole series (tui/tracking/wholeseries.py)."""
        if self._windows is False:
            return await self._whole.window(run_ids, key, start_step, end_step,
                                                 max_results)
        try:
            return await self._bulk_interval(run_ids, key, start_step, end_step, max_results)
        except MissingRoute:
            await self._confirm_mlflow()  # not MLflow at all: its own "no MLflow API" error
            self._learn(windows=False)
            return await self._whole.window(run_ids, key, start_step, end_step,
                                                 max_results)

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


__all__ = ["CREDENTIALS_HINT", "RestSource", "loads_yielding", "parse_run", "TrackingError"]
