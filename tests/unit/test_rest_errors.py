"""RestSource against httpx.MockTransport: error mapping, retries, auth, secrets, parsing."""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable

import httpx
import pytest

from mlflow_tui.tracking.errors import (
    AuthError,
    BadRequest,
    ConnectionFailed,
    NotFound,
    ServerError,
    TrackingError,
)
from mlflow_tui.tracking.models import RunStatus
from mlflow_tui.tracking.rest import RestSource

URL = "http://tracking.example:5000"
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Wraps a handler and keeps every request it saw."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    @property
    def calls(self) -> int:
        return len(self.requests)


def make(handler: Handler, uri: str = URL, *, environ: dict[str, str] | None = None,
         retries: int = 2) -> tuple[RestSource, Recorder]:
    rec = Recorder(handler)
    source = RestSource(uri, environ=environ or {}, retries=retries,
                        transport=httpx.MockTransport(rec))
    return source, rec


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry back-off sleeps are recorded, not slept."""
    slept: list[float] = []

    async def fake_sleep(delay: float, *args: object, **kwargs: object) -> None:
        slept.append(delay)

    monkeypatch.setattr("mlflow_tui.tracking.rest.asyncio.sleep", fake_sleep)
    return slept


def json_response(status: int, payload: object) -> Handler:
    return lambda request: httpx.Response(status, json=payload)


def text_response(status: int, text: str, content_type: str = "text/plain") -> Handler:
    return lambda request: httpx.Response(status, text=text,
                                          headers={"content-type": content_type})


async def raises(source: RestSource, exc_type: type[TrackingError]) -> TrackingError:
    try:
        with pytest.raises(exc_type) as info:
            await source.search_experiments()
    finally:
        await source.aclose()
    return info.value


HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    "</body>\r\n</html>\r\n"
)


# ---------------------------------------------------------------------- status codes
async def test_401_is_auth_error_naming_the_variables_and_not_retried():
    source, rec = make(json_response(401, {"error_code": "UNAUTHENTICATED", "message": "no"}))
    err = await raises(source, AuthError)
    text = str(err)
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        assert var in text
    assert "401" in text
    assert rec.calls == 1
    assert err.retryable is False


@pytest.mark.parametrize("handler", [
    json_response(403, {"error_code": "PERMISSION_DENIED", "message": "Invalid Host header"}),
    text_response(403, "Invalid Host header"),
], ids=["json", "text"])
async def test_403_invalid_host_header_points_at_allowed_hosts(handler):
    source, rec = make(handler)
    err = await raises(source, AuthError)
    assert "--allowed-hosts" in str(err)
    assert rec.calls == 1


async def test_403_other_is_auth_error_with_server_message():
    source, rec = make(json_response(403, {"error_code": "PERMISSION_DENIED",
                                           "message": "user bob may not read experiment 3"}))
    err = await raises(source, AuthError)
    assert "user bob may not read experiment 3" in str(err)
    assert "--allowed-hosts" not in str(err)
    assert rec.calls == 1


@pytest.mark.parametrize("status", [502, 503, 504])
@pytest.mark.parametrize("retries", [0, 1, 2])
async def test_5xx_gateway_errors_are_retried_boundedly(status, retries, instant_retries):
    source, rec = make(json_response(status, {"error_code": "TEMPORARILY_UNAVAILABLE",
                                              "message": "try later"}), retries=retries)
    err = await raises(source, ServerError)
    assert rec.calls == retries + 1
    assert len(instant_retries) == retries
    assert str(status) in str(err)
    assert "try later" in str(err)


async def test_500_is_server_error_not_retried():
    source, rec = make(json_response(500, {"error_code": "INTERNAL_ERROR", "message": "boom"}))
    err = await raises(source, ServerError)
    assert rec.calls == 1
    assert "boom" in str(err) and "500" in str(err)


async def test_retry_then_success_returns_the_answer():
    answers = [httpx.Response(503, text="busy"), httpx.Response(502, text="busy"),
               httpx.Response(200, json={"experiments": [{"experiment_id": "7", "name": "x"}]})]
    source, rec = make(lambda request: answers.pop(0))
    try:
        got = await source.search_experiments()
    finally:
        await source.aclose()
    assert [e.experiment_id for e in got] == ["7"]
    assert rec.calls == 3


async def test_502_html_proxy_page_gives_a_short_tag_free_message():
    source, rec = make(text_response(502, HTML_502, "text/html"))
    err = await raises(source, ServerError)
    text = str(err)
    assert "502 Bad Gateway" in text
    assert not re.search(r"<[^>]+>", text), text
    assert "nginx" not in text
    assert len(text) < 200
    assert rec.calls == 3


async def test_200_with_html_is_not_mlflow_json():
    source, rec = make(text_response(200, "<html><body>Sign in to continue</body></html>",
                                     "text/html"))
    err = await raises(source, ServerError)
    assert "not MLflow JSON" in str(err)
    assert "<" not in str(err)
    assert rec.calls == 1


async def test_200_with_json_that_is_not_an_object_is_server_error():
    source, _ = make(json_response(200, ["not", "an", "object"]))
    err = await raises(source, ServerError)
    assert "not MLflow JSON" in str(err)


async def test_404_resource_does_not_exist_is_not_found():
    source, rec = make(json_response(404, {"error_code": "RESOURCE_DOES_NOT_EXIST",
                                           "message": "Run 'abc' not found"}))
    try:
        with pytest.raises(NotFound) as info:
            await source.get_run("abc")
    finally:
        await source.aclose()
    assert "Run 'abc' not found" in str(info.value)
    assert rec.calls == 1


async def test_404_without_json_hints_at_the_uri():
    source, rec = make(text_response(404, "<html><title>404 Not Found</title></html>",
                                     "text/html"))
    err = await raises(source, ServerError)
    assert not isinstance(err, NotFound)
    text = str(err)
    assert "404" in text
    assert "URI" in text
    assert rec.calls == 1


async def test_400_invalid_parameter_value_is_bad_request_with_the_message():
    msg = "Invalid clause(s) in filter string: 'metrics.loss >'"
    source, rec = make(json_response(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                           "message": msg}))
    try:
        with pytest.raises(BadRequest) as info:
            await source.search_runs(["1"], filter_string="metrics.loss >")
    finally:
        await source.aclose()
    assert msg in str(info.value)
    assert rec.calls == 1


# ---------------------------------------------------------------------- auth
def _basic(request: httpx.Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    assert header.startswith("Basic "), header
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


async def _one_request(source: RestSource, rec: Recorder) -> httpx.Request:
    try:
        await source.search_experiments()
    finally:
        await source.aclose()
    assert rec.calls == 1
    return rec.requests[0]


async def test_env_username_password_sends_basic_auth():
    source, rec = make(json_response(200, {}), environ={
        "MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "hunter2"})
    request = await _one_request(source, rec)
    assert _basic(request) == ("alice", "hunter2")


async def test_env_token_sends_bearer():
    source, rec = make(json_response(200, {}), environ={"MLFLOW_TRACKING_TOKEN": "tok-123"})
    request = await _one_request(source, rec)
    assert request.headers["authorization"] == "Bearer tok-123"


async def test_no_credentials_sends_no_authorization():
    source, rec = make(json_response(200, {}))
    request = await _one_request(source, rec)
    assert "authorization" not in request.headers


async def test_basic_wins_over_token():
    source, rec = make(json_response(200, {}), environ={
        "MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "hunter2",
        "MLFLOW_TRACKING_TOKEN": "tok-123"})
    request = await _one_request(source, rec)
    assert _basic(request) == ("alice", "hunter2")
    assert "tok-123" not in request.headers["authorization"]


async def test_credentials_in_uri_send_basic_and_are_not_displayed():
    source, rec = make(json_response(200, {}), "http://bob:s3cr3tpw@tracking.example:5000")
    assert "s3cr3tpw" not in source.display_uri
    assert "bob" not in source.display_uri
    assert "tracking.example:5000" in source.display_uri
    request = await _one_request(source, rec)
    assert _basic(request) == ("bob", "s3cr3tpw")
    # The credentials travel in the header, not in the request URL.
    assert "s3cr3tpw" not in str(request.url)
    assert request.url.host == "tracking.example"
    assert request.url.port == 5000


async def test_percent_encoded_password_in_uri_is_decoded():
    source, rec = make(json_response(200, {}), "http://bob:p%40ss%3Aw0rd@tracking.example:5000")
    request = await _one_request(source, rec)
    assert _basic(request) == ("bob", "p@ss:w0rd")


@pytest.mark.parametrize("status", [400, 403, 404, 500, 503])
async def test_secrets_echoed_by_the_server_are_scrubbed(status):
    def echo(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("authorization", "")
        return httpx.Response(status, json={
            "error_code": "RESOURCE_DOES_NOT_EXIST" if status == 404 else "BAD",
            "message": f"rejected credentials {header} token=tok-SECRET-1 "
                       f"password=pw-SECRET-2 uri=pw-SECRET-3",
        })

    environ = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "pw-SECRET-2",
               "MLFLOW_TRACKING_TOKEN": "tok-SECRET-1"}
    source, _ = make(echo, "http://carol:pw-SECRET-3@tracking.example:5000", environ=environ)
    err = await raises(source, TrackingError)
    text = f"{err} {err.message} {err.hint} {err!r}"
    for secret in ("tok-SECRET-1", "pw-SECRET-2", "pw-SECRET-3"):
        assert secret not in text, text


async def test_secrets_in_transport_errors_are_scrubbed():
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("proxy said no to tok-SECRET-1", request=request)

    source, _ = make(fail, environ={"MLFLOW_TRACKING_TOKEN": "tok-SECRET-1"}, retries=0)
    err = await raises(source, ConnectionFailed)
    assert "tok-SECRET-1" not in str(err)


# ---------------------------------------------------------------------- transport failures
@pytest.mark.parametrize("exc_type", [httpx.ConnectTimeout, httpx.ReadTimeout])
async def test_timeouts_are_connection_failed(exc_type):
    def timeout(request: httpx.Request) -> httpx.Response:
        raise exc_type("timed out", request=request)

    source, rec = make(timeout, retries=1)
    err = await raises(source, ConnectionFailed)
    assert "in time" in str(err)
    assert "tracking.example" in str(err)
    assert rec.calls == 2


@pytest.mark.parametrize("retries", [0, 1, 2])
async def test_connect_error_is_connection_failed_and_retried_at_most_retries_times(retries):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    source, rec = make(refuse, retries=retries)
    err = await raises(source, ConnectionFailed)
    assert "refused" in str(err)
    assert rec.calls == retries + 1


async def test_a_byte_range_read_is_retried_after_a_connect_timeout():
    """An artifact preview's read (get_range) retries a connection failure like every other
    call: a connect that timed out while the app was busy must not leave the preview an error
    (the artifacts screen's `t` once stayed on "did not connect in time" under a CPU hog)."""
    body = b"line 0\nline 1\n"
    failures = [httpx.ConnectTimeout("timed out")]

    def flaky(request: httpx.Request) -> httpx.Response:
        if failures:
            raise failures.pop()
        assert request.headers["range"] == "bytes=0-99"
        return httpx.Response(206, content=body,
                              headers={"content-range": f"bytes 0-{len(body) - 1}/500"})

    source, rec = make(flaky, retries=2)
    data, first, total = await source.get_range("/get-artifact", start=0, length=100)
    assert (data, first, total) == (body, 0, 500)
    assert rec.calls == 2


@pytest.mark.parametrize("retries", [0, 2])
async def test_a_byte_range_read_gives_up_after_its_retries(retries):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    source, rec = make(refuse, retries=retries)
    with pytest.raises(ConnectionFailed, match="refused"):
        await source.get_range("/get-artifact", start=None, length=100)
    assert rec.calls == retries + 1


# ---------------------------------------------------------------------- parsing
def _run(run_id: str, **info: object) -> dict[str, object]:
    data = info.pop("data", {})
    return {"info": {"run_id": run_id, "experiment_id": "1", **info}, "data": data}


async def test_search_runs_parses_mlflow_json_quirks():
    runs = [
        _run("a" * 32, run_name="first", status="RUNNING", start_time="1700000000000",
             data={"metrics": [
                 {"key": "loss", "value": "NaN", "timestamp": "1700000000500", "step": "12"},
                 {"key": "loss", "value": 0.5, "timestamp": "1700000000400", "step": "11"},
                 {"key": "up", "value": "Infinity", "timestamp": 1, "step": 3},
                 {"key": "down", "value": "-Infinity", "timestamp": 1, "step": "9007199254740993"},
             ], "params": [{"key": "lr", "value": "0.01"}]}),
        _run("b" * 32, status="FINISHED", start_time=1699999999000, end_time="1700000001000",
             data={"tags": [{"key": "mlflow.runName", "value": "from-tag"}]}),
    ]
    source, rec = make(json_response(200, {"runs": runs}))
    try:
        got = await source.search_runs(["1"])
    finally:
        await source.aclose()
    a, b = got
    assert a.name == "first"
    assert a.status is RunStatus.RUNNING
    assert a.start_time == 1_700_000_000_000
    assert a.end_time is None
    assert a.metrics["loss"].step == 12
    assert a.metrics["loss"].timestamp == 1_700_000_000_500
    assert math.isnan(a.metrics["loss"].value)
    assert a.metrics["up"].value == math.inf
    assert a.metrics["down"].value == -math.inf
    assert a.metrics["down"].step == 9007199254740993  # int64 beyond float precision
    assert a.params == {"lr": "0.01"}
    assert b.name == "from-tag"
    assert b.end_time == 1_700_000_001_000
    assert b.status is RunStatus.FINISHED
    assert rec.calls == 1


async def test_search_runs_pages_through_next_page_token():
    def pages(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("page_token") is None:
            return httpx.Response(200, json={"runs": [_run("r1")], "next_page_token": "PAGE2"})
        assert body["page_token"] == "PAGE2"
        return httpx.Response(200, json={"runs": [_run("r2")]})

    source, rec = make(pages)
    try:
        got = await source.search_runs(["1", "2"])
    finally:
        await source.aclose()
    assert [r.run_id for r in got] == ["r1", "r2"]
    assert rec.calls == 2
    first = json.loads(rec.requests[0].content)
    assert rec.requests[0].url.path == "/api/2.0/mlflow/runs/search"
    assert first["experiment_ids"] == ["1", "2"]
    assert "page_token" not in first


async def test_get_history_window_sends_repeated_params():
    payload = {"metrics": [
        {"run_id": "r2", "key": "loss", "step": "7", "value": "0.25", "timestamp": "20"},
        {"run_id": "r1", "key": "loss", "step": 6, "value": "NaN", "timestamp": 11},
        {"run_id": "r1", "key": "loss", "step": 5, "value": 1.0, "timestamp": 10},
    ]}
    source, rec = make(json_response(200, payload))
    try:
        got = await source.get_history_window(["r1", "r2"], "loss", start_step=5, end_step=9,
                                              max_results=100)
    finally:
        await source.aclose()
    request = rec.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/api/2.0/mlflow/metrics/get-history-bulk-interval"
    items = request.url.params.multi_items()
    assert [v for k, v in items if k == "run_ids"] == ["r1", "r2"]
    assert dict(items)["metric_key"] == "loss"
    assert dict(items)["max_results"] == "100"
    assert dict(items)["start_step"] == "5"
    assert dict(items)["end_step"] == "9"
    assert [(p.step, p.timestamp) for p in got["r1"]] == [(5, 10), (6, 11)]
    assert math.isnan(got["r1"][1].value)
    assert [(p.step, p.value) for p in got["r2"]] == [(7, 0.25)]


async def test_get_history_window_without_window_and_clamped_max_results():
    source, rec = make(json_response(200, {"metrics": []}))
    try:
        got = await source.get_history_window(["r1"], "loss", start_step=None, end_step=None,
                                              max_results=10_000)
    finally:
        await source.aclose()
    assert got == {}
    keys = [k for k, _ in rec.requests[0].url.params.multi_items()]
    assert "start_step" not in keys and "end_step" not in keys
    assert rec.requests[0].url.params["max_results"] == "2500"


async def test_get_history_window_batches_runs_by_100():
    source, rec = make(json_response(200, {"metrics": []}))
    ids = [f"r{i}" for i in range(250)]
    try:
        await source.get_history_window(ids, "loss", start_step=0, end_step=1, max_results=10)
    finally:
        await source.aclose()
    batches = [r.url.params.get_list("run_ids") for r in rec.requests]
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [rid for b in batches for rid in b] == ids


async def test_history_reads_may_outlast_the_ordinary_read_timeout():
    """MLflow reads every point of a history to sample it: a first load can take longer than
    the ordinary 15 s read timeout, and is waited for (test_faults.py's slow-history test runs
    the case against a real server with both times shortened)."""
    from mlflow_tui.tracking import classify, open_source

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"runs": [], "metrics": []})

    rec = Recorder(answer)
    source = open_source(classify(URL))  # as the app makes it
    assert isinstance(source, RestSource)
    source._client._transport = httpx.MockTransport(rec)  # type: ignore[attr-defined]
    try:
        await source.search_runs(["1"])
        await source.get_history_window(["r"], "loss", start_step=None, end_step=None,
                                        max_results=10)
        await source.get_full_history("r", "loss")
    finally:
        await source.aclose()
    read = {r.url.path.rsplit("/", 1)[-1]: r.extensions["timeout"]["read"]
            for r in rec.requests}
    assert read["search"] == 15.0
    assert read["get-history-bulk-interval"] > 60 and read["get-history"] > 60
