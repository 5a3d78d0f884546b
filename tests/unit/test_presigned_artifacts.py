"""Reading artifacts from a server that serves files only as presigned storage URLs (MLflow
3.18+, MLFLOW_ARTIFACTS_PRESIGNED_ONLY=true), against httpx.MockTransport: which route asks
for the URL, what is sent to the storage (no tracking credentials), what is said when the
storage refuses. The server's answers are MLflow 3.18.0's, recorded from a real server
(tests/integration/test_presigned_server.py drives one, with S3 from moto's server)."""

from __future__ import annotations

import asyncio
import json
import ssl
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mlflow_tui.tracking.artifacts import (
    ArtifactError,
    LoggedModel,
    RestArtifacts,
    proxied_path,
)
from mlflow_tui.tracking.errors import AuthError, NotFound, TrackingError
from mlflow_tui.tracking.models import Run, RunStatus
from mlflow_tui.tracking.rest import RestSource
from mlflow_tui.tracking.transfer import SignedUrl

URL = "http://tracking.example:5000"
RID = "f42606be206d4490aa4d316221f1a739"
SIGNATURE = "a96fc8613598f77ca9620af2e0e84a4f55da832a5c308ca752ec64b78be00838"
STORAGE = "https://arts.s3.example.com"
FILE = b"hello presigned\n" * 100
# MLflow 3.18.0's refusal of /get-artifact (and of a logged model's files route without
# presigned=true), word for word.
REFUSAL = {
    "error_code": "PERMISSION_DENIED",
    "message": "This server requires artifacts to be downloaded directly from storage. Upgrade "
    "your MLflow client to match this server (MLflow 3.18.0) or a newer version with "
    "presigned-only artifact support, then retry the download. If you are using the MLflow "
    "UI, reload the page to refresh the server settings.",
    "sqlstate": "KAM00", "error_class": "PERMISSION_DENIED", "artifacts_presigned_only": True}


def signed(key: str) -> str:
    return (f"{STORAGE}/root/{key}?response-content-encoding=identity"
            "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={SIGNATURE}")


class Server:
    """The tracking server's answers and the storage's, every request kept."""

    def __init__(self, storage_status: int = 206) -> None:
        self.requests: list[httpx.Request] = []
        self.storage_status = storage_status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = request.url
        if url.host == "arts.s3.example.com":
            return self.storage(request)
        if url.path in ("/get-artifact",
                        "/ajax-api/2.0/mlflow/logged-models/m-1/artifacts/files"):
            if url.params.get("presigned") == "true":
                return httpx.Response(200, json={"url": signed("models/m-1/MLmodel"),
                                                 "headers": {}, "file_size": len(FILE)})
            return httpx.Response(403, json=REFUSAL)
        prefix = "/api/2.0/mlflow-artifacts/presigned/"
        if url.path.startswith(prefix):
            return httpx.Response(200, json={
                "url": signed(url.path.removeprefix(prefix)),
                "headers": {"x-amz-server-side-encryption-customer-algorithm": "AES256"},
                "file_size": len(FILE)})
        if url.path == "/api/2.0/mlflow/artifacts/presigned-download-url":
            body = json.loads(request.content)
            return httpx.Response(200, json={"presigned_url": signed(f"direct/{body['path']}"),
                                             "file_size": len(FILE)})
        return httpx.Response(404, json={"error_code": "ENDPOINT_NOT_FOUND"})

    def storage(self, request: httpx.Request) -> httpx.Response:
        if self.storage_status == 403:
            return httpx.Response(403, content=(
                b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch"
                b"</Code><Message>The request signature we calculated does not match the "
                b"signature you provided.</Message></Error>"))
        if self.storage_status == 404:
            return httpx.Response(404, content=b"<Error><Code>NoSuchKey</Code>"
                                  b"<Message>The specified key does not exist.</Message></Error>")
        wanted = request.headers.get("range", "")
        if wanted.startswith("bytes=-"):
            n = int(wanted.removeprefix("bytes=-"))
            first, last = len(FILE) - n, len(FILE) - 1
        elif wanted:
            first, last = (int(x) for x in wanted.removeprefix("bytes=").split("-"))
            last = min(last, len(FILE) - 1)
        else:
            return httpx.Response(200, content=FILE)
        return httpx.Response(206, content=FILE[first:last + 1], headers={
            "content-range": f"bytes {first}-{last}/{len(FILE)}"})

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.host} {r.url.path}" for r in self.requests]


def make(server: Server, environ: dict[str, str] | None = None) -> RestSource:
    return RestSource(URL, environ=environ or {}, transport=httpx.MockTransport(server))


def run(root: str) -> Run:
    return Run(RID, "1", "r1", RunStatus.FINISHED, None, artifact_uri=root)


PROXIED = run(f"mlflow-artifacts:/1/{RID}/artifacts")


def test_a_proxied_root_is_read_from_the_url_the_server_signs_without_the_servers_token():
    server = Server()
    source = make(server, {"MLFLOW_TRACKING_TOKEN": "tracking-secret"})
    arts = RestArtifacts(source)
    assert "artifact files" not in dict(source.describe())
    chunk = asyncio.run(arts.read(PROXIED, "logs/notes.txt", start=0, length=40))
    assert (chunk.data, chunk.start, chunk.total) == (FILE[:40], 0, len(FILE))
    assert server.paths() == [
        "GET tracking.example /get-artifact",
        f"GET tracking.example /api/2.0/mlflow-artifacts/presigned/1/{RID}/artifacts/logs/"
        "notes.txt",
        f"GET arts.s3.example.com /root/1/{RID}/artifacts/logs/notes.txt"]
    asked, fetched = server.requests[1], server.requests[2]
    assert asked.headers["authorization"] == "Bearer tracking-secret"
    assert "authorization" not in fetched.headers, "the server's token went to the storage"
    assert fetched.headers["range"] == "bytes=0-39"
    assert fetched.headers["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
    assert source.artifacts_presigned_only
    assert dict(source.describe())["artifact files"].startswith("from presigned storage URLs")

    # Known now: the next read (the tail) asks for a new URL first (they expire).
    server.requests.clear()
    tail = asyncio.run(arts.read(PROXIED, "logs/notes.txt", start=None, length=16))
    assert (tail.data, tail.start) == (FILE[-16:], len(FILE) - 16)
    assert server.paths() == [
        f"GET tracking.example /api/2.0/mlflow-artifacts/presigned/1/{RID}/artifacts/logs/"
        "notes.txt",
        f"GET arts.s3.example.com /root/1/{RID}/artifacts/logs/notes.txt"]
    assert server.requests[1].headers["range"] == "bytes=-16"


def test_a_root_in_cloud_storage_asks_the_presigned_download_route(tmp_path):
    server = Server()
    arts = RestArtifacts(make(server))
    s3_run = run(f"s3://arts/direct/{RID}/artifacts")
    chunk = asyncio.run(arts.read(s3_run, "t.csv"))
    assert chunk.complete and chunk.data == FILE
    ask = server.requests[1]
    assert (ask.method, ask.url.path) == ("POST",
                                          "/api/2.0/mlflow/artifacts/presigned-download-url")
    assert json.loads(ask.content) == {"run_id": RID, "path": "t.csv"}

    # Saving streams the whole file from the storage, with no Range.
    dest = tmp_path / "t.csv"
    assert asyncio.run(arts.save_file(s3_run, "t.csv", dest)) == len(FILE)
    assert dest.read_bytes() == FILE
    assert "range" not in server.requests[-1].headers


def test_a_logged_models_files_are_asked_with_presigned_true():
    server = Server()
    arts = RestArtifacts(make(server))
    model = LoggedModel("m-1", "m", "READY", "mlflow-artifacts:/1/models/m-1/artifacts")
    chunk = asyncio.run(arts.model_files(model).read(PROXIED, "MLmodel", start=0, length=10))
    assert chunk.data == FILE[:10]
    asks = [r for r in server.requests if r.url.host == "tracking.example"]
    assert [dict(parse_qs(urlsplit(str(r.url)).query)) for r in asks] == [
        {"artifact_file_path": ["MLmodel"]},
        {"artifact_file_path": ["MLmodel"], "presigned": ["true"]}]


@pytest.mark.parametrize(("status", "says"), [
    (403, "the artifact storage arts.s3.example.com refused the tracking server's presigned "
     "URL (403 SignatureDoesNotMatch: The request signature we calculated does not match the "
     "signature you provided.)"),
    (404, "no artifact 'notes.txt': the artifact storage arts.s3.example.com has no such file "
     "(404 NoSuchKey: The specified key does not exist.)"),
])
def test_a_storages_refusal_is_one_line_that_names_its_host_never_the_signed_url(
        status, says):
    arts = RestArtifacts(make(Server(storage_status=status)))
    with pytest.raises(TrackingError) as caught:
        asyncio.run(arts.read(PROXIED, "notes.txt"))
    # 404: the storage's NotFound, turned into the preview's "no artifact" line.
    assert type(caught.value) is (ArtifactError if status == 404 else TrackingError)
    line = str(caught.value)
    assert line.startswith(says)
    assert SIGNATURE not in line and "X-Amz" not in line
    assert "\n" not in line
    assert not caught.value.retryable


def test_the_storages_404_is_not_found_and_its_5xx_is_retried():
    from mlflow_tui.tracking.transfer import storage_error

    url = SignedUrl(signed("k"))
    assert type(storage_error(url, 404, b"<Code>NoSuchKey</Code>")) is NotFound
    busy = storage_error(url, 503, b"<Error><Code>SlowDown</Code></Error>")
    assert str(busy) == "the artifact storage arts.s3.example.com answered 503 SlowDown"
    assert busy.retryable and SIGNATURE not in repr(url)


def test_a_refusal_to_sign_is_about_the_file_not_the_users_login():
    """The server accepted this client (its plain read was refused for a presigned URL), so a
    401/403 while signing is the storage's refusal (MLflow maps S3's AccessDenied to 403,
    a bad server key to 401) or the experiment's permission, never "set credentials"."""
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/get-artifact":
            return httpx.Response(403, json=REFUSAL)
        return httpx.Response(403, json={"error_code": "PERMISSION_DENIED",
                                         "message": "Forbidden"})

    arts = RestArtifacts(RestSource(URL, environ={}, transport=httpx.MockTransport(handler)))
    with pytest.raises(ArtifactError) as caught:
        asyncio.run(arts.read(PROXIED, "notes.txt"))
    line = str(caught.value)
    assert line.startswith("the server did not sign a URL to read 'notes.txt': "
                           f"{URL} refused access (403): Forbidden (")
    assert "MLFLOW_TRACKING_USERNAME" not in line
    assert "storage credentials" in line


def test_a_storage_out_of_reach_is_named_with_what_to_check():
    class Unreachable(Server):
        def storage(self, request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    source = RestSource(URL, environ={}, retries=0, transport=httpx.MockTransport(Unreachable()))
    arts = RestArtifacts(source)
    with pytest.raises(TrackingError) as caught:
        asyncio.run(arts.read(PROXIED, "notes.txt"))
    assert not source._lost, "the tracking server is fine: its capabilities stay as read"
    assert str(caught.value) == (
        "the artifact storage arts.s3.example.com could not be reached: ConnectError (the "
        "server hands out presigned URLs that point there, so this machine must reach it; "
        "HTTPS_PROXY and NO_PROXY apply)")


def test_a_403_without_the_servers_presigned_flag_is_still_an_auth_refusal():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error_code": "PERMISSION_DENIED",
                                         "message": "Permission denied"})

    arts = RestArtifacts(RestSource(URL, environ={}, transport=httpx.MockTransport(handler)))
    with pytest.raises(AuthError, match="refused access"):
        asyncio.run(arts.read(PROXIED, "notes.txt"))


def test_a_server_that_gives_no_url_says_so():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/get-artifact":
            return httpx.Response(403, json=REFUSAL)
        if request.url.path.startswith("/api/2.0/mlflow-artifacts/presigned/"):
            return httpx.Response(501, json={
                "error_code": "NOT_IMPLEMENTED",
                "message": "The artifact repository LocalArtifactRepository does not support "
                "presigned download URLs."})
        return httpx.Response(400, json={"error_code": "INVALID_PARAMETER_VALUE",
                                         "message": "Invalid path"})

    arts = RestArtifacts(RestSource(URL, environ={}, retries=0,
                                    transport=httpx.MockTransport(handler)))
    with pytest.raises(ArtifactError) as caught:
        asyncio.run(arts.read(PROXIED, "notes.txt"))
    assert str(caught.value) == (
        f"the server did not sign a URL to read 'notes.txt': {URL} answered 501: The artifact "
        "repository LocalArtifactRepository does not support presigned download URLs. (the "
        "server serves files only as presigned storage URLs, and its artifact storage must "
        "support them (S3, GCS, Azure))")
    # A refusal of the path itself carries no such hint.
    with pytest.raises(ArtifactError) as caught:
        asyncio.run(arts.read(run("s3://arts/direct/r/artifacts"), "a#b.txt"))
    assert str(caught.value) == ("the server did not sign a URL to read 'a#b.txt': "
                                 "Invalid path")


def test_a_storage_read_has_a_client_of_its_own_closed_after_it(monkeypatch):
    """Without a test transport (as the app runs): the storage's transport is made for its
    URL with the storage's network settings (not the tracking server's TLS), and closed."""
    from mlflow_tui.tracking import api as api_module

    server = Server()
    made: list[tuple[str, object]] = []
    closed: list[str] = []

    class Recorded(httpx.MockTransport):
        def __init__(self, url: str) -> None:
            super().__init__(server)
            self.url = url

        async def aclose(self) -> None:
            closed.append(self.url)

    def transport(url, settings, **kwargs):
        made.append((url, settings))
        return Recorded(url)

    monkeypatch.setattr(api_module, "http_transport", transport)
    source = RestSource(URL, environ={"MLFLOW_TRACKING_INSECURE_TLS": "true"})
    chunk = asyncio.run(RestArtifacts(source).read(PROXIED, "notes.txt", length=5))
    assert chunk.data == FILE[:5]
    (tracking_url, tracking), (storage_url, storage) = made
    assert tracking_url == URL and tracking.verify.verify_mode is ssl.CERT_NONE
    assert storage_url.startswith(f"{STORAGE}/root/1/{RID}/artifacts/notes.txt?")
    assert storage.verify.verify_mode is ssl.CERT_REQUIRED, "the tracking server's TLS"
    assert closed == [storage_url]


def test_the_servers_listed_headers_never_follow_a_redirect_to_another_host():
    class Redirecting(Server):
        def storage(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(307, headers={
                "location": "https://elsewhere.example/copy?sig=2"})

        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.url.host == "elsewhere.example":
                self.requests.append(request)
                return httpx.Response(206, content=FILE[:8], headers={
                    "content-range": f"bytes 0-7/{len(FILE)}"})
            return super().__call__(request)

    server = Redirecting()
    chunk = asyncio.run(RestArtifacts(make(server)).read(PROXIED, "n.txt", length=8))
    assert chunk.data == FILE[:8]
    first, moved = server.requests[-2], server.requests[-1]
    assert first.headers["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
    assert moved.url.host == "elsewhere.example"
    assert "x-amz-server-side-encryption-customer-algorithm" not in moved.headers
    assert moved.headers["range"] == "bytes=0-7"


def test_where_a_proxied_root_is_and_what_a_signed_answer_holds():
    assert proxied_path(f"mlflow-artifacts:/1/{RID}/artifacts") == f"1/{RID}/artifacts"
    assert proxied_path("mlflow-artifacts://host:5000/2/r/artifacts") == "2/r/artifacts"
    assert proxied_path("https://host/api/2.0/mlflow-artifacts/artifacts/3/r/artifacts") == (
        "3/r/artifacts")
    assert proxied_path("s3://bucket/1/r/artifacts") is None
    assert proxied_path("/tmp/mlruns/1/r/artifacts") is None
    assert SignedUrl.from_answer({"url": "ftp://x/y"}) is None
    got = SignedUrl.from_answer({"presigned_url": "https://user@b.example/k?sig=1",
                                 "headers": {"a": 1}, "file_size": "12"})
    assert got == SignedUrl("https://user@b.example/k?sig=1", {"a": "1"}, 12)
    assert got.host == "b.example"
