"""RestSource against httpx.MockTransport servers that answer like each MLflow version of
docs/old-servers.md: capability detection (/version, Werkzeug's HTML 404, the 400 for
`run_id IN`), the window emulation from get-history (windows, sampling, pagination, the
3.1.1-3.13 empty answer without max_results) and the run_id IN fallback."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re

import httpx
import pytest

from mlflow_tui.tracking import rest, wholeseries
from mlflow_tui.tracking.capabilities import Capabilities, parse_version, sample_window
from mlflow_tui.tracking.errors import BadRequest, ConnectionFailed, ServerError
from mlflow_tui.tracking.models import Point
from mlflow_tui.tracking.rest import RestSource

URL = "http://old.example:5000"
API = "/api/2.0/mlflow"
# Werkzeug's page for a missing route, as every MLflow 2.x and 3.x sends it.
WERKZEUG_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.</p>\n")
IN_400 = {"error_code": "INVALID_PARAMETER_VALUE",
          "message": "Invalid clause(s) in filter string: 'attributes.run_id', 'IN', "
                     "'('a', 'b')'"}


def html(status: int, text: str) -> httpx.Response:
    return httpx.Response(status, text=text,
                          headers={"content-type": "text/html; charset=utf-8"})


class MockMlflow:
    """A tracking server of one MLflow version, as far as the monitor reads it.

    `history` {(run, key): points}; `runs` run records for runs/search (filtered by the
    clauses `attributes.run_id = '...'` / `IN (...)` only). get-history follows `paging`:
    "none" (2.x - 3.1.0: max_results ignored, everything at once), "3.1.4" (pages with
    max_results; without it an empty page and a token, and a 400 when that token is followed
    without max_results), "3.14" (pages with max_results, everything without). `page` caps
    a page below max_results, to make paging visible in a test."""

    def __init__(self, version: str | None, *, windows: bool, run_id_in: bool = True,
                 paging: str = "none", page: int = 10**9) -> None:
        self.version, self.windows, self.run_id_in = version, windows, run_id_in
        self.paging, self.page = paging, page
        self.history: dict[tuple[str, str], list[Point]] = {}
        self.runs: list[dict] = []
        self.requests: list[httpx.Request] = []
        self.down = False

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def add(self, run_id: str, key: str, points: list[Point]) -> None:
        self.history[(run_id, key)] = points
        last = points[-1]
        run = next((r for r in self.runs if r["info"]["run_id"] == run_id), None)
        if run is None:
            run = {"info": {"run_id": run_id, "run_uuid": run_id, "experiment_id": "1",
                            "run_name": run_id, "status": "RUNNING", "start_time": 1},
                   "data": {"metrics": []}}
            self.runs.append(run)
        metrics = [m for m in run["data"]["metrics"] if m["key"] != key]
        metrics.append({"key": key, "value": last.value, "timestamp": last.timestamp,
                        "step": last.step})
        run["data"]["metrics"] = metrics

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused")
        path = request.url.path
        if path == "/version":
            return html(200, self.version) if self.version else html(404, WERKZEUG_404)
        if path == "/health":
            return html(200, "OK")
        if path == f"{API}/experiments/search":
            return httpx.Response(200, json={"experiments": [
                {"experiment_id": "1", "name": "exp", "lifecycle_stage": "active"}]})
        if path == f"{API}/runs/search" and request.method == "POST":
            return self._search(json.loads(request.content or b"{}"))
        if path == f"{API}/metrics/get-history" and request.method == "GET":
            return self._history(request.url.params)
        if path == f"{API}/metrics/get-history-bulk-interval" and self.windows:
            return self._bulk(request.url.params)
        return html(404, WERKZEUG_404)

    def _search(self, body: dict) -> httpx.Response:
        flt = body.get("filter", "")
        if "run_id IN" in flt and not self.run_id_in:
            return httpx.Response(400, json=IN_400)
        runs = self.runs
        m = re.search(r"run_id IN \(([^)]*)\)", flt)
        if m:
            wanted = re.findall(r"'([^']*)'", m[1])
            runs = [r for r in runs if r["info"]["run_id"] in wanted]
        m = re.search(r"run_id = '([^']*)'", flt)
        if m:
            runs = [r for r in runs if r["info"]["run_id"] == m[1]]
        return httpx.Response(200, json={"runs": runs} if runs else {})

    def _history(self, params: httpx.QueryParams) -> httpx.Response:
        rows = self.history.get((params["run_id"], params["metric_key"]), [])
        answer: dict = {}
        if self.paging == "none":
            chunk, token = rows, None
        else:
            size = int(params.get("max_results", 0) or 0)
            offset = 0
            if "page_token" in params:
                offset = json.loads(base64.b64decode(params["page_token"]))["offset"]
                if not size:
                    return httpx.Response(400, json={
                        "error_code": "INVALID_PARAMETER_VALUE",
                        "message": "Invalid page token, parsed value={'offset': 0}"})
            if not size and self.paging == "3.1.4":
                chunk, token = [], 0  # the quirk: nothing, and a token for offset 0
            elif not size:
                chunk, token = rows, None
            else:
                size = min(size, self.page)
                chunk = rows[offset:offset + size]
                token = offset + size if offset + size < len(rows) else None
            if token is not None:
                answer["next_page_token"] = base64.b64encode(
                    json.dumps({"offset": token}).encode()).decode()
        if chunk:
            answer["metrics"] = [{"key": params["metric_key"], "value": p.value,
                                  "timestamp": p.timestamp, "step": p.step} for p in chunk]
        return httpx.Response(200, text=json.dumps(answer, indent=2),
                              headers={"content-type": "application/json"})

    def _bulk(self, params: httpx.QueryParams) -> httpx.Response:
        key = params["metric_key"]
        start, end = params.get("start_step"), params.get("end_step")
        out = []
        for rid in params.get_list("run_ids"):
            if not any(r["info"]["run_id"] == rid for r in self.runs):
                return httpx.Response(404, json={"error_code": "RESOURCE_DOES_NOT_EXIST",
                                                 "message": f"Run '{rid}' not found"})
            rows = self.history.get((rid, key), [])
            if start is not None and end is not None:
                rows = [p for p in rows if int(start) <= p.step <= int(end)]
            rows = ntile_sample(rows, int(params.get("max_results", 2500)))
            out += [{"key": key, "value": p.value, "timestamp": p.timestamp, "step": p.step,
                     "run_id": rid} for p in rows]
        return httpx.Response(200, json={"metrics": out})


def ntile_sample(rows: list[Point], m: int) -> list[Point]:
    """MLflow 3's SQL sampling: the first row of each of NTILE(m) buckets, and the last row
    (replacing the last sampled one when there are already m)."""
    n = len(rows)
    if n == 0:
        return []
    big, extra = divmod(n, m)
    out, i = [], 0
    for b in range(min(m, n)):
        out.append(rows[i])
        i += big + (1 if b < extra else 0)
    if out[-1] != rows[-1]:
        if len(out) >= m:
            out[-1] = rows[-1]
        else:
            out.append(rows[-1])
    return out


# The versions of docs/old-servers.md: (version, /version body, windows, run_id IN).
VERSIONS = {
    "2.0.1": MockMlflow(None, windows=False, run_id_in=False),
    "2.5.0": MockMlflow("2.5.0", windows=False),
    "2.9.2": MockMlflow("2.9.2", windows=False),
    "2.10.2": MockMlflow("2.10.2", windows=False),
    "2.11.3": MockMlflow("2.11.3", windows=True),
    "3.1.4": MockMlflow("3.1.4", windows=True, paging="3.1.4"),
    "3.17.2": MockMlflow("3.17.2", windows=True, paging="3.14"),
}


def server(name: str, **kw: object) -> MockMlflow:
    base = VERSIONS[name]
    args = dict(windows=base.windows, run_id_in=base.run_id_in, paging=base.paging)
    args.update(kw)
    return MockMlflow(base.version, **args)  # type: ignore[arg-type]


def make(mock: MockMlflow) -> RestSource:
    return RestSource(URL, environ={}, retries=0, transport=httpx.MockTransport(mock))


def series(n: int, *, every: int = 1, t0: int = 1000) -> list[Point]:
    return [Point(i * every, 1.0 / (i + 1), t0 + i) for i in range(n)]


# ---------------------------------------------------------------------- capabilities
@pytest.mark.parametrize("name, version, windows, run_id_in, probes", [
    ("2.0.1", None, False, False,
     ["/version", f"{API}/metrics/get-history-bulk-interval", f"{API}/experiments/search",
      f"{API}/runs/search"]),
    ("2.5.0", "2.5.0", False, True, ["/version"]),
    ("2.9.2", "2.9.2", False, True, ["/version"]),
    ("2.10.2", "2.10.2", False, True, ["/version"]),
    ("2.11.3", "2.11.3", True, True, ["/version"]),
    ("3.1.4", "3.1.4", True, True, ["/version"]),
    ("3.17.2", "3.17.2", True, True, ["/version"]),
])
async def test_capabilities_of_each_version(name, version, windows, run_id_in, probes):
    mock = server(name)
    source = make(mock)
    try:
        caps = await source.capabilities()
        assert (caps.version, caps.windows, caps.run_id_in) == (version, windows, run_id_in)
        assert mock.paths() == probes
        assert await source.capabilities() is caps  # cached: no more requests
        assert len(mock.requests) == len(probes)
        assert source.known_capabilities is caps
        assert source.windows_are_cheap is windows
    finally:
        await source.aclose()
    if windows:
        assert caps.note == ""
    elif version:
        assert caps.note == (f"MLflow {version}: no windowed history (before 2.11): charts "
                             "refresh from full histories")
    else:
        assert caps.note == ("MLflow 2.0.x: no windowed history (before 2.11): charts refresh "
                             "from full histories; no run_id IN filters (before 2.3.1)")


@pytest.mark.parametrize("accepts", [False, True])
async def test_versions_2_0_to_2_3_0_are_probed_for_in(accepts):
    """2.1-2.3.0 report a version, but their IN support depends on the sqlparse installed
    with them: one probe says."""
    mock = MockMlflow("2.2.0", windows=False, run_id_in=accepts)
    source = make(mock)
    try:
        caps = await source.capabilities()
    finally:
        await source.aclose()
    assert mock.paths() == ["/version", f"{API}/runs/search"]
    probe = json.loads(mock.requests[1].content)
    assert "attributes.run_id IN (" in probe["filter"]
    assert caps.run_id_in is accepts and caps.windows is False
    assert ("run_id IN" in caps.note) is not accepts


async def test_a_url_that_is_not_mlflow_keeps_its_error():
    def nothing(request: httpx.Request) -> httpx.Response:
        return html(404, WERKZEUG_404)

    for call in ("capabilities", "window"):
        source = RestSource(URL, environ={}, retries=0, transport=httpx.MockTransport(nothing))
        try:
            with pytest.raises(ServerError) as info:
                if call == "capabilities":
                    await source.capabilities()
                else:
                    await source.get_history_window(["r"], "loss", start_step=None,
                                                    end_step=None, max_results=10)
        finally:
            await source.aclose()
        assert "has no MLflow API at /api/2.0/mlflow/experiments/search (404)" in str(
            info.value)


async def test_old_server_has_an_api_after_all():
    """The error users saw on 2.0-2.10 ("has no MLflow API at …bulk-interval") is gone: the
    first window learns that the server is old and answers from get-history."""
    mock = server("2.9.2")
    mock.add("r1", "loss", series(30))
    source = make(mock)
    try:
        got = await source.get_history_window(["r1"], "loss", start_step=10, end_step=19,
                                              max_results=100)
        assert [p.step for p in got["r1"]] == list(range(10, 20))
        assert mock.paths() == [f"{API}/metrics/get-history-bulk-interval",
                                f"{API}/experiments/search", f"{API}/metrics/get-history"]
        assert source.windows_are_cheap is False
        mock.requests.clear()
        await source.get_history_window(["r1"], "loss", start_step=None, end_step=None,
                                        max_results=5)
        assert f"{API}/metrics/get-history-bulk-interval" not in mock.paths()
        caps = await source.capabilities()  # now only /version: windows already known
        assert caps.windows is False and caps.version == "2.9.2"
    finally:
        await source.aclose()


async def test_capabilities_after_a_reconnect_reread_only_the_version():
    mock = server("2.0.1")
    source = make(mock)
    try:
        first = await source.capabilities()
        n = len(mock.requests)
        mock.down = True
        with pytest.raises(ConnectionFailed):
            await source.search_experiments()
        mock.down = False
        again = await source.capabilities()
        assert again == first
        assert mock.paths()[n + 1:] == ["/version"]  # same (no) version: no probe again
        # The server behind the URL was upgraded meanwhile: everything is found again.
        mock.down = True
        with pytest.raises(ConnectionFailed):
            await source.search_experiments()
        mock.down = False
        mock.version, mock.windows, mock.run_id_in = "3.17.2", True, True
        upgraded = await source.capabilities()
        assert (upgraded.version, upgraded.windows, upgraded.run_id_in) == ("3.17.2", True,
                                                                            True)
        assert upgraded.note == ""
    finally:
        await source.aclose()


def test_parse_version():
    assert parse_version("2.9.2") == (2, 9, 2)
    assert parse_version(" 3.0.0rc1\n") == (3, 0, 0)
    assert parse_version("2.11") == (2, 11, 0)
    assert parse_version("<!doctype html><title>x</title>") is None
    assert parse_version("") is None and parse_version(None) is None
    assert Capabilities("2.9.2", False).old and not Capabilities().old


# ---------------------------------------------------------------------- window emulation
async def test_windows_from_whole_series_match_bulk_interval():
    """The same questions to a 2.9.2 server (emulated) and to a 3.17.2 one (bulk-interval,
    sampled the way its SQL store does): the same windows when they are small; sampled ones
    of the same size with the same first and last points."""
    old, new = server("2.9.2"), server("3.17.2")
    for mock in (old, new):
        mock.add("r1", "loss", series(1000))
        mock.add("r2", "loss", series(40, every=25))
        mock.add("r3", "acc", series(5))
    a, b = make(old), make(new)
    asks = [(None, None, 2500), (None, None, 50), (100, 899, 50), (100, 899, 1),
            (990, 2000, 2500), (5000, 6000, 10), (0, 0, 3), (300, 310, 11), (300, 310, 5)]
    try:
        await a.capabilities()
        for start, end, limit in asks:
            got = await a.get_history_window(["r1", "r2", "r3"], "loss", start_step=start,
                                             end_step=end, max_results=limit)
            want = await b.get_history_window(["r1", "r2", "r3"], "loss", start_step=start,
                                              end_step=end, max_results=limit)
            assert got.keys() == want.keys(), (start, end, limit)
            for rid, pts in want.items():
                if len(pts) < limit:  # not sampled: exactly the window
                    assert got[rid] == pts, (rid, start, end, limit)
                else:  # sampled: as many rows, the same first and last, all from the window
                    whole = old.history[(rid, "loss")]
                    assert len(got[rid]) == len(pts)
                    assert got[rid][-1] == pts[-1]
                    assert limit == 1 or got[rid][0] == pts[0]
                    assert set(got[rid]) <= set(whole)
                    assert got[rid] == sorted(got[rid], key=lambda p: (p.step, p.timestamp))
    finally:
        await a.aclose()
        await b.aclose()
    got100 = sample_window(series(1000), 100, 899, 50)
    assert len(got100) == 50 and got100[0].step == 100 and got100[-1].step == 899
    assert sample_window(series(1000), 100, 899, 1) == [Point(899, 1 / 900, 1899)]
    assert sample_window(series(10), 3, 5, 10) == series(10)[3:6]
    # Every get-history carried max_results; runs without points are absent.
    assert all(r.url.params.get("max_results") == str(rest.FULL_PAGE)
               for r in old.requests if r.url.path.endswith("/get-history"))


async def test_several_windows_of_a_series_cost_one_request():
    mock = server("2.9.2")
    mock.add("r1", "loss", series(3000))
    source = make(mock)
    try:
        await source.capabilities()
        runs = await source.search_runs(["1"])
        assert runs[0].metrics["loss"].step == 2999
        for start, end in ((0, 2999), (0, 1499), (1500, 2999), (2000, 2100)):
            got = await source.get_history_window(["r1"], "loss", start_step=start,
                                                  end_step=end, max_results=2500)
            assert got["r1"][0].step == start and got["r1"][-1].step == end
        # Concurrent askers share the request too.
        await asyncio.gather(*[source.get_history_window(
            ["r1"], "loss", start_step=None, end_step=None, max_results=10)
            for _ in range(3)])
        assert mock.paths().count(f"{API}/metrics/get-history") == 1
        assert source.history_size("r1", "loss") == 3000
        # runs/search reports a newer point: the copy is no longer current.
        mock.add("r1", "loss", [*series(3000), Point(3000, 0.1, 99_999)])
        await source.search_runs(["1"])
        got = await source.get_history_window(["r1"], "loss", start_step=2999, end_step=3000,
                                              max_results=2500)
        assert [p.step for p in got["r1"]] == [2999, 3000]
        assert mock.paths().count(f"{API}/metrics/get-history") == 2
    finally:
        await source.aclose()


async def test_the_copy_expires(monkeypatch):
    monkeypatch.setattr(wholeseries, "FULL_TTL", -1.0)
    mock = server("2.9.2")
    mock.add("r1", "loss", series(10))
    source = make(mock)
    try:
        await source.capabilities()
        for _ in range(3):
            await source.get_history_window(["r1"], "loss", start_step=None, end_step=None,
                                            max_results=10)
    finally:
        await source.aclose()
    assert mock.paths().count(f"{API}/metrics/get-history") == 3


async def test_pagination_on_a_paging_server():
    """A server that pages get-history (3.14+, here with pages of 7): the whole series comes
    in pages, max_results on every one."""
    mock = MockMlflow(None, windows=False, paging="3.14", page=7)
    mock.add("r1", "loss", series(20))
    source = make(mock)
    try:
        got = await source.get_history_window(["r1"], "loss", start_step=None, end_step=None,
                                              max_results=2500)
    finally:
        await source.aclose()
    assert got["r1"] == series(20)
    pages = [r for r in mock.requests if r.url.path.endswith("/get-history")]
    assert len(pages) == 3
    assert all(r.url.params["max_results"] == str(rest.FULL_PAGE) for r in pages)
    assert [("page_token" in r.url.params) for r in pages] == [False, True, True]


async def test_get_history_quirk_of_3_1_1_to_3_13():
    """Without max_results 3.1.1-3.13 answer an empty page and a token (and a 400 when the
    token is followed without it): max_results always goes, so the history is whole."""
    mock = server("3.1.4", page=6)
    mock.add("r1", "loss", series(15))
    quirk = httpx.Client(transport=httpx.MockTransport(mock), base_url=URL)
    empty = quirk.get(f"{API}/metrics/get-history",
                      params={"run_id": "r1", "metric_key": "loss"}).json()
    assert "metrics" not in empty and empty["next_page_token"]
    source = make(mock)
    try:
        assert await source.get_full_history("r1", "loss") == series(15)
        source._windows = False  # as if bulk-interval were missing: emulated from pages
        got = await source.get_history_window(["r1"], "loss", start_step=3, end_step=8,
                                              max_results=100)
    finally:
        await source.aclose()
    assert got["r1"] == series(15)[3:9]


async def test_nan_and_huge_values_survive_emulation():
    mock = server("2.9.2")

    def weird(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/get-history"):
            return httpx.Response(200, json={"metrics": [
                {"key": "loss", "value": "NaN", "timestamp": 2, "step": 1},
                {"key": "loss", "value": 1.7976931348623157e308, "timestamp": 1, "step": 0}]})
        return mock(request)

    source = RestSource(URL, environ={}, retries=0, transport=httpx.MockTransport(weird))
    try:
        await source.capabilities()
        got = await source.get_history_window(["r1"], "loss", start_step=None, end_step=None,
                                              max_results=10)
    finally:
        await source.aclose()
    assert [p.step for p in got["r1"]] == [0, 1]
    assert got["r1"][0].value == math.inf and math.isnan(got["r1"][1].value)


# ---------------------------------------------------------------------- run_id IN
async def test_run_id_in_asked_one_id_at_a_time_on_2_0():
    mock = server("2.0.1")
    for rid in ("a", "b", "c"):
        mock.add(rid, "loss", series(3))
    source = make(mock)
    try:
        flt = "attributes.status != 'FINISHED' and attributes.run_id IN ('a', 'b')"
        got = await source.search_runs(["1"], filter_string=flt)  # learnt from the 400
        assert sorted(r.run_id for r in got) == ["a", "b"]
        sent = [json.loads(r.content)["filter"] for r in mock.requests
                if r.url.path.endswith("/runs/search")]
        assert sent[0] == flt  # refused once
        assert sorted(sent[1:]) == [
            "attributes.status != 'FINISHED' and attributes.run_id = 'a'",
            "attributes.status != 'FINISHED' and attributes.run_id = 'b'"]
        caps = await source.capabilities()
        assert caps.run_id_in is False
        mock.requests.clear()
        got = await source.search_runs(["1"], filter_string="attributes.run_id IN ('c')")
        assert [r.run_id for r in got] == ["c"]
        assert len(mock.requests) == 1  # known now: not refused again
    finally:
        await source.aclose()


async def test_other_bad_requests_stay_errors():
    def bad(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error_code": "INVALID_PARAMETER_VALUE",
                                         "message": "bad filter: params.x ==="})

    source = RestSource(URL, environ={}, retries=0, transport=httpx.MockTransport(bad))
    try:
        with pytest.raises(BadRequest):
            await source.search_runs(["1"], filter_string="attributes.run_id IN ('a')")
        assert source._run_id_in is None
    finally:
        await source.aclose()


@pytest.mark.parametrize(("caps", "label"), [
    (Capabilities("2.9.2", windows=False), "old server (MLflow 2.9.2): slower charts"),
    (Capabilities(None, windows=False, run_id_in=False),
     "history read whole: this server has no bulk-interval route"),
    (Capabilities(None, windows=False), "history read whole: this server has no bulk-interval "
     "route"),
    (Capabilities(None, windows=False, public_only=True),
     "history read whole: public REST API only"),
    (Capabilities(None, attribute_filters=False),
     "server refuses some filters: runs filtered here"),
    (Capabilities(None), None),
])
def test_the_header_says_what_was_found_never_a_version_not_reported(caps, label):
    """The state line over the monitor: a server that reported no version is not called
    "MLflow 2.0" (it may be a proxy hiding /version, or a platform); the words say what was
    found."""
    from types import SimpleNamespace

    from mlflow_tui.screens.base import state_line

    source = SimpleNamespace(display_uri=URL, known_capabilities=caps)
    session = SimpleNamespace(source=source, retry_at=0.0, paused=False, state="live",
                              waiting_for_server=lambda: 0, last_ok=None, state_detail="")
    text = state_line(session).plain  # type: ignore[arg-type]
    if label is None:
        assert "slower" not in text and "whole" not in text and "filters" not in text
    else:
        assert f" {label} · e " in text, text
    assert "MLflow 2.0" not in text


async def test_a_public_api_only_platform_is_asked_nothing_outside_it():
    """Databricks' profile: capabilities are known without a request (no /version, no
    bulk-interval probe), and a window is cut from get-history, the public route."""
    mock = MockMlflow("3.0.0", windows=True)
    source = RestSource(URL, transport=httpx.MockTransport(mock), public_api_only=True)
    try:
        caps = await source.capabilities()
        assert (caps.version, caps.windows, caps.public_only) == (None, False, True)
        assert mock.paths() == []
        mock.add("r1", "loss", [Point(i, 1.0 / (i + 1), 1000 + i) for i in range(30)])
        got = await source.get_history_window(["r1"], "loss", start_step=None, end_step=None,
                                              max_results=10)
        assert len(got["r1"]) == 10
        assert mock.paths() and all(p == f"{API}/metrics/get-history" for p in mock.paths())
        assert dict(source.describe())["server version"] == "not asked (public REST API only)"
    finally:
        await source.aclose()
