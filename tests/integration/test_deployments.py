"""Issue 14, the deployments users run, against real servers on 127.0.0.1 (fakes only for the
platform's front door, which cannot run here):

1. SageMaker managed MLflow: an `arn:aws:sagemaker:...` URI mapped
   (SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT, the official plugin's override) to tests/sigv4.py's
   SigV4Front, which recomputes every request's AWS Signature Version 4 from AWS's published
   specification and lets only good ones through to the session's real `mlflow server`.
2. MLflow 3 workspaces: a real server started with `--enable-workspaces`, the same experiment
   name in three workspaces; the workspace from the config file, MLFLOW_WORKSPACE and
   --workspace (config < environment < flags), and the config's [headers], as they arrive
   through a recording proxy.

`status` runs in-process through `mlflow_tui.cli.main`, as in test_network_env.py.
"""

from __future__ import annotations

import secrets
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import running
from tests.netservers import ReverseProxy
from tests.server import MlflowServer
from tests.sigv4 import ARN_HEADER, SigV4Front
from tests.status_cli import one_error_line, run_ids, status

pytestmark = pytest.mark.server

API = "/api/2.0/mlflow"
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team"
KEY_ID = "AKIDMLFLOWTUITEST0001"
SECRET = "test/" + secrets.token_hex(16)
CLEARED = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
           "MLFLOW_TRACKING_TOKEN", "MLFLOW_WORKSPACE", "HTTP_PROXY", "HTTPS_PROXY",
           "ALL_PROXY", "NO_PROXY", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
           "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT")


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # not the developer's ~/.netrc
    # botocore: nothing from the developer's ~/.aws, no instance-metadata lookups.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    return tmp_path




# ---------------------------------------------------------------------- 1. SageMaker SigV4
@pytest.fixture(scope="module")
def upstream(mlflow_server):
    running(mlflow_server)  # restarted if an earlier module stopped it
    client = mlflow_server.client()
    name = f"sm/{uuid.uuid4().hex[:6]}"
    exp = client.create_experiment(name)
    rid = client.create_run(exp, run_name="signed").info.run_id
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    client.log_batch(rid, metrics=[Metric(k, 1.0 / (s + 1), now + s, s) for s in range(5)
                                   for k in ("train_loss", "val_loss")])
    client.set_terminated(rid, "FINISHED")
    return {"url": mlflow_server.url, "experiment": name, "run_id": rid}


@pytest.fixture(scope="module")
def front(upstream):
    with SigV4Front(upstream["url"], keys={KEY_ID: SECRET}, region="eu-west-1", arn=ARN) as f:
        yield f


@pytest.fixture
def aws(front, monkeypatch):
    """The ARN mapped to the verifying front, the right credentials in the environment."""
    pytest.importorskip("botocore", reason="the [aws] extra (botocore) signs the requests")
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", front.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    front.clear()
    front.refusals.clear()
    return front


def test_sagemaker_arn_reads_runs_through_a_verifying_front(aws, upstream, capsys):
    """Every request (GETs with query strings, POSTs with JSON bodies) carries a signature the
    verifier recomputes and accepts, with the ARN header signed; the runs come back."""
    code, out, err = status(capsys, ARN, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}
    seen = aws.seen()
    assert aws.refusals == []
    assert {s.method for s in seen} == {"GET", "POST"}
    assert all(s.status == 200 for s in seen), [(s.target, s.status) for s in seen]
    assert all(s.authorization and s.authorization.startswith(
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/") for s in seen)
    assert SECRET not in out + err


def test_sagemaker_wrong_secret_is_refused_in_one_clear_line(aws, upstream, monkeypatch,
                                                              capsys):
    wrong = "wrong/" + secrets.token_hex(16)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    code, out, err = status(capsys, ARN, "-e", upstream["experiment"], "--json")
    assert code == 1 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"{ARN} ({aws.url}) refused the AWS-signed request (403 "
                           "InvalidSignatureException): The request signature we calculated "
                           "does not match the signature you provided"), line
    assert "AWS_SECRET_ACCESS_KEY" in line  # the hint: what to check
    assert wrong not in err and SECRET not in err
    assert aws.refusals and all(r.startswith("InvalidSignatureException") for r in aws.refusals)
    assert {s.status for s in aws.seen()} == {403}  # nothing reached MLflow


def test_the_front_refuses_unsigned_and_tampered_requests(aws):
    """The verifier verifies: no signature, or a body changed after signing, is a 403; the
    same request as signed passes."""
    from botocore.credentials import Credentials

    from mlflow_tui.tracking.auth import SigV4

    url = aws.url + API + "/experiments/search"
    with httpx.Client(trust_env=False, timeout=30) as client:
        unsigned = client.post(url, json={"max_results": 1}, headers={ARN_HEADER: ARN})
        assert unsigned.status_code == 403
        assert unsigned.json() == {"message": "Missing Authentication Token"}
        head = {ARN_HEADER: ARN, "Content-Type": "application/json"}
        request = client.build_request("POST", url, content=b'{"max_results": 1}', headers=head)
        signed = next(SigV4("eu-west-1", Credentials(KEY_ID, SECRET)).auth_flow(request))
        assert client.send(signed).status_code == 200
        tampered = client.build_request("POST", url, content=b'{"max_results": 9}',
                                        headers=signed.headers)
        refused = client.send(tampered)
        assert refused.status_code == 403
        assert refused.headers["x-amzn-errortype"] == "InvalidSignatureException"
        other_region = next(SigV4("us-east-1", Credentials(KEY_ID, SECRET)).auth_flow(
            client.build_request("POST", url, content=b'{"max_results": 1}', headers=head)))
        assert client.send(other_region).status_code == 403


# ---------------------------------------------------------------------- 2. workspaces
@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    """A real MLflow 3 server with workspaces on: an experiment `train` with one run in each of
    the workspaces research, vision and default."""
    server = MlflowServer(tmp_path_factory.mktemp("workspaces"),
                          extra_args=("--enable-workspaces",), uvicorn=True)
    server.start()
    try:
        runs = {}
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as c:
            for space in ("research", "vision"):
                c.post("/api/3.0/mlflow/workspaces", json={"name": space}).raise_for_status()
            for space in ("research", "vision", "default"):
                head = {"X-MLFLOW-WORKSPACE": space}
                exp = c.post(f"{API}/experiments/create", json={"name": "train"},
                             headers=head).json()["experiment_id"]
                run = c.post(f"{API}/runs/create", headers=head, json={
                    "experiment_id": exp, "run_name": f"{space}-run",
                    "start_time": int(time.time() * 1000)}).json()
                runs[space] = run["run"]["info"]["run_id"]
        with ReverseProxy(server.url) as recorder:
            yield {"url": recorder.url, "runs": runs, "recorder": recorder}
    finally:
        server.stop(graceful=False)


@pytest.mark.parametrize(("config", "env", "flag", "expected"), [
    (None, None, None, None),  # no workspace: the server's default
    ("research", None, None, "research"),  # the config file
    ("research", "vision", None, "vision"),  # MLFLOW_WORKSPACE over the config file
    ("research", "vision", "default", "default"),  # --workspace over both
    (None, None, "vision", "vision"),
], ids=["none", "config", "env-over-config", "flag-over-env", "flag"])
def test_workspace_and_headers_from_config_to_the_request(config, env, flag, expected,
                                                          workspaces, clean_env, monkeypatch,
                                                          capsys):
    """Config parsing to the wire: the layered workspace arrives as X-MLFLOW-WORKSPACE (and
    picks that workspace's `train`), the config's [headers] with every request."""
    path = clean_env / "config.toml"
    path.write_text((f'workspace = "{config}"\n' if config else "")
                    + '[headers]\nX-Team = "ml"\n')
    if env:
        monkeypatch.setenv("MLFLOW_WORKSPACE", env)
    recorder = workspaces["recorder"]
    recorder.clear()
    code, out, err = status(capsys, workspaces["url"], "--config", str(path), "-e", "train",
                            "--json", *(["--workspace", flag] if flag else []))
    assert code == 0, err
    assert run_ids(out) == {workspaces["runs"][expected or "default"]}
    seen = recorder.seen()
    assert seen and {s.header("X-MLFLOW-WORKSPACE") for s in seen} == {expected}
    assert {s.header("X-Team") for s in seen} == {"ml"}


def test_an_unknown_workspace_is_one_line_naming_it(workspaces, capsys):
    code, out, err = status(capsys, workspaces["url"], "--workspace", "nosuch", "-e", "train",
                            "--json")
    assert code == 1 and out == ""
    assert "Workspace 'nosuch' not found" in one_error_line(err)
