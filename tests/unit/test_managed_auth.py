"""Managed and corporate servers: Databricks and SageMaker URIs, token commands, extra headers
and workspaces (tui/tracking/platforms.py, auth.py, open_source)."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import httpx
import pytest

from mlflow_tui.tracking import classify, open_source
from mlflow_tui.tracking.auth import TokenCommand, parse_token
from mlflow_tui.tracking.errors import AuthError
from mlflow_tui.tracking.platforms import PlatformError, databricks, sagemaker

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team"


def jwt(exp: float) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part({'exp': exp, 'sub': 'me'})}.sig"


def test_databricks_from_environment_and_profiles(tmp_path: Path):
    p = databricks("databricks", {"DATABRICKS_HOST": "adb-1.azuredatabricks.net",
                                  "DATABRICKS_TOKEN": "dapi123"}, home=tmp_path)
    assert (p.base_url, p.token) == ("https://adb-1.azuredatabricks.net", "dapi123")
    (tmp_path / ".databrickscfg").write_text(
        "[DEFAULT]\nhost = https://default.cloud.databricks.com\ntoken = dapiDEF\n\n"
        "[team]\nhost = https://team.cloud.databricks.com/\ntoken = dapiTEAM\n")
    assert databricks("databricks", {}, home=tmp_path).token == "dapiDEF"
    p = databricks("databricks://team", {"DATABRICKS_TOKEN": "ignored"}, home=tmp_path)
    assert (p.base_url, p.token) == ("https://team.cloud.databricks.com", "dapiTEAM")
    with pytest.raises(PlatformError) as info:
        databricks("databricks://nope", {}, home=tmp_path)
    assert "no profile [nope]" in str(info.value)
    with pytest.raises(PlatformError) as info:
        databricks("databricks", {}, home=tmp_path / "empty")
    assert "DATABRICKS_HOST" in str(info.value)


def test_sagemaker_arn():
    p = sagemaker(ARN, {})
    assert p.base_url == "https://eu-west-1.experiments.sagemaker.aws"
    assert p.headers == {"x-mlflow-sm-tracking-server-arn": ARN}
    assert p.region == "eu-west-1"
    assert sagemaker(ARN, {"SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT": "http://127.0.0.1:9"}).base_url \
        == "http://127.0.0.1:9"
    with pytest.raises(PlatformError):
        sagemaker("arn:aws:sagemaker:eu-west-1:1:endpoint/x", {})


@pytest.mark.parametrize(("output", "token", "expiry"), [
    ("abc123\n", "abc123", None),
    ('{"accessToken": "t1", "expiresOn": "2030-01-01 00:00:00.000000", "expires_on": 1893456000}',
     "t1", 1893456000.0),
    ('{"access_token": "t2", "expires_in": 3600}', "t2", 1000.0 + 3600),
    ('{"token": "t3", "expiry": "2030-01-01T00:00:00Z"}', "t3", 1893456000.0),
])
def test_parse_token(output, token, expiry):
    assert parse_token(output, now=1000.0) == (token, expiry)


def test_parse_token_reads_a_jwt_expiry_and_refuses_junk():
    assert parse_token(jwt(2_000_000_000), 0)[1] == 2_000_000_000
    for junk in ("", "{not json", '{"nothing": 1}'):
        with pytest.raises(AuthError):
            parse_token(junk, 0)


async def test_token_command_renews_before_expiry_and_after_a_401():
    """A server that accepts only the newest token: the command runs at the first request,
    again when the token nears its expiry, and again (once) when the server refuses one."""
    now = [1000.0]
    issued: list[str] = []

    def runner(command: str, timeout: float) -> str:
        token = f"tok{len(issued)}"
        issued.append(token)
        return json.dumps({"access_token": token, "expires_in": 600})

    accepted = {"current": "tok0"}

    def server(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {accepted['current']}":
            return httpx.Response(401, json={"error_code": "UNAUTHENTICATED"})
        return httpx.Response(200, json={"experiments": []})

    auth = TokenCommand("print-token", clock=lambda: now[0], runner=runner)
    async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(server),
                                 base_url="http://s") as client:
        assert (await client.get("/x")).status_code == 200
        assert (await client.get("/x")).status_code == 200
        assert auth.runs == 1  # cached
        now[0] += 560  # within a minute of expiry: renewed before sending
        accepted["current"] = "tok1"
        assert (await client.get("/x")).status_code == 200
        assert auth.runs == 2
        accepted["current"] = "tok2"  # rotated on the server: the old one is refused
        assert (await client.get("/x")).status_code == 200
        assert auth.runs == 3
        accepted["current"] = "never"  # refused even when fresh: one retry, then the 401
        assert (await client.get("/x")).status_code == 401
        assert auth.runs == 4


async def test_token_command_failure_is_one_line():
    auth = TokenCommand(f"{sys.executable} -c \"import sys; sys.stderr.write('expired "
                        f"login'); sys.exit(3)\"")
    async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json={}))) as client:
        with pytest.raises(AuthError) as info:
            await client.get("http://s/x")
    assert str(info.value).startswith("token_command failed (exit 3): expired login")


async def test_headers_and_workspace_reach_the_server(monkeypatch):
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"experiments": []})

    source = open_source(classify("http://mlflow.example:5000"),
                         headers={"Authorization": "Snowflake Token=\"abc\"", "X-Team": "ml"},
                         workspace="research")
    source._client._transport = httpx.MockTransport(server)  # type: ignore[attr-defined]
    await source.search_experiments()
    await source.aclose()
    headers = seen[0].headers
    assert headers["authorization"] == 'Snowflake Token="abc"'
    assert headers["x-team"] == "ml" and headers["x-mlflow-workspace"] == "research"
    assert source.sends_credentials  # a 401 would say "refused", not "needs credentials"


async def test_databricks_source_sends_the_token(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("DATABRICKS_HOST", "https://adb-7.azuredatabricks.net")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapiSECRET")
    source = open_source(classify("databricks"))
    seen: list[httpx.Request] = []
    source._client._transport = httpx.MockTransport(  # type: ignore[attr-defined]
        lambda r: (seen.append(r), httpx.Response(200, json={"experiments": []}))[1])
    await source.search_experiments()
    await source.aclose()
    assert str(seen[0].url) == "https://adb-7.azuredatabricks.net/api/2.0/mlflow/experiments/search"
    assert seen[0].headers["authorization"] == "Bearer dapiSECRET"
    assert "dapiSECRET" not in source.display_uri


async def test_unresolvable_platform_says_why_on_every_call(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    monkeypatch.delenv("DATABRICKS_TOKEN", raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none"))
    source = open_source(classify("databricks"))
    with pytest.raises(Exception) as info:
        await source.search_experiments()
    assert "DATABRICKS_HOST" in str(info.value)
    await source.aclose()


async def test_sagemaker_requests_are_signed(monkeypatch):
    """SigV4 for the sagemaker-mlflow service, as the official plugin signs, with the ARN
    header that routes the request (botocore's own signer; fake credentials)."""
    pytest.importorskip("botocore")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    seen: list[httpx.Request] = []
    source = open_source(classify(ARN))
    source._client._transport = httpx.MockTransport(  # type: ignore[attr-defined]
        lambda r: (seen.append(r), httpx.Response(200, json={"experiments": []}))[1])
    await source.search_experiments()
    await source.aclose()
    request = seen[0]
    assert str(request.url).startswith("https://eu-west-1.experiments.sagemaker.aws/api/2.0/")
    assert request.headers["x-mlflow-sm-tracking-server-arn"] == ARN
    auth = request.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/sagemaker-mlflow/aws4_request" in auth
    assert "x-mlflow-sm-tracking-server-arn" in auth  # the routing header is signed
    import hashlib
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(request.content).hexdigest()


def test_the_test_sigv4_verifier_matches_aws_published_example():
    """tests/sigv4.py (the verifying front of tests/integration/test_deployments.py) against
    the worked example of AWS's SigV4 documentation (IAM ListUsers, 2015-08-30): the hash of
    the canonical request, the signing key and the signature it publishes."""
    import hashlib

    from tests.sigv4 import canonical_request, signature, signing_key, string_to_sign

    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
               ("Host", "iam.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
    request = canonical_request("GET", "/", "Version=2010-05-08&Action=ListUsers", headers,
                                ["host", "content-type", "x-amz-date"], b"")
    assert hashlib.sha256(request.encode()).hexdigest() == (
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59")
    assert signing_key(secret, "20150830", "us-east-1", "iam").hex() == (
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
    to_sign = string_to_sign("20150830T123600Z", "20150830/us-east-1/iam/aws4_request", request)
    assert signature(secret, "20150830", "us-east-1", "iam", to_sign) == (
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
