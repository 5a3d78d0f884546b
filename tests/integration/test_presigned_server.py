"""Artifacts on a real `mlflow server` that serves files only as presigned storage URLs (MLflow
3.18+, MLFLOW_ARTIFACTS_PRESIGNED_ONLY=true), its storage S3 from moto's server: the run's
files (a proxied ``mlflow-artifacts:`` root and an ``s3://`` root), a logged model's files,
saving, and the preview in the app.

Needs MLflow >= 3.18 and moto (``pip install "moto[server]"``) in the test environment. Neither
is a test dependency: MLflow 3.18.0 cannot be installed from this machine's package mirror
(it lacks mlflow-tracing 3.18.0), so the suite runs MLflow 3.17, which has no presigned-only
mode, and these tests are skipped there. They were run with MLflow 3.18.0 (mlflow and
mlflow-skinny 3.18.0 over mlflow-tracing 3.17.2) and moto 5.2.6:

    pip install -e ".[test]" "moto[server]" && pip install --no-deps mlflow==3.18.0 \\
        mlflow-skinny==3.18.0 && pytest tests/integration/test_presigned_server.py

tests/unit/test_presigned_artifacts.py checks the same paths on the answers recorded from it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time

import pytest

from tests.conftest import wait_until
from tests.server import MlflowServer, _port_open, free_port, stop_process_group


def _skip_reason() -> str:
    from mlflow.version import VERSION

    major, minor = (int(x) for x in VERSION.split(".")[:2])
    if (major, minor) < (3, 18):
        return f"MLflow {VERSION} has no presigned-only artifact mode (3.18+)"
    if importlib.util.find_spec("moto") is None:
        return "moto is not installed (pip install 'moto[server]')"
    return ""


pytestmark = [pytest.mark.skipif(bool(_skip_reason()), reason=_skip_reason() or "-"),
              pytest.mark.xdist_group("presigned-server")]

AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
       "AWS_DEFAULT_REGION": "us-east-1"}
NOTES = "".join(f"line {i}\n" for i in range(2000))


@pytest.fixture(scope="module")
def presigned(tmp_path_factory):
    root = tmp_path_factory.mktemp("presigned")
    port = free_port()
    storage = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    env = {**AWS, "MLFLOW_S3_ENDPOINT_URL": storage, "MLFLOW_ARTIFACTS_PRESIGNED_ONLY": "true"}
    server = MlflowServer(root, serve_artifacts=True, uvicorn=True, env=env,
                          artifacts_destination="s3://arts/root")
    try:
        deadline = time.monotonic() + 60
        while not _port_open(port):
            assert moto.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
        import boto3

        boto3.client("s3", endpoint_url=storage, **{k.lower(): v for k, v in AWS.items()
                                                   if k != "AWS_DEFAULT_REGION"},
                     region_name="us-east-1").create_bucket(Bucket="arts")
        server.start()
        client = server.client()
        files = root / "files"
        (files / "tables").mkdir(parents=True)
        (files / "notes.txt").write_text(NOTES)
        (files / "tables" / "t.csv").write_text("a,b\n1,2\n")
        exp = client.create_experiment("presigned")
        rid = client.create_run(exp, run_name="proxied").info.run_id
        client.log_artifact(rid, str(files / "notes.txt"))
        client.log_artifacts(rid, str(files / "tables"), "tables")
        shown = client.create_experiment("presigned-app")
        client.log_artifact(client.create_run(shown, run_name="app").info.run_id,
                            str(files / "notes.txt"))
        yield {"server": server, "client": client, "experiment": exp, "run_id": rid,
               "files": files, "storage": storage}
    finally:
        server.stop(graceful=False)
        stop_process_group(moto, port, graceful=False)


async def _run(source, exp: str, name: str):
    runs = await source.search_runs([exp])
    return next(r for r in runs if r.name == name)


async def test_a_proxied_roots_files_are_read_from_presigned_urls(presigned, tmp_path):
    from mlflow_tui.tracking.artifacts import RestArtifacts
    from mlflow_tui.tracking.errors import AuthError
    from mlflow_tui.tracking.rest import RestSource

    source = RestSource(presigned["server"].url)
    try:
        # The server refuses the plain read, as any MLflow client before 3.18 sees it.
        with pytest.raises(Exception) as refused:
            await source.get_range("/get-artifact", params={
                "run_id": presigned["run_id"], "path": "notes.txt"}, length=10)
        assert "presigned storage URLs" in str(refused.value)
        assert not isinstance(refused.value, AuthError)

        run = await _run(source, presigned["experiment"], "proxied")
        arts = RestArtifacts(source)
        assert [a.path for a in await arts.list(run)] == ["tables", "notes.txt"]
        head = await arts.read(run, "notes.txt", start=0, length=100)
        assert (head.data, head.total) == (NOTES[:100].encode(), len(NOTES))
        tail = await arts.read(run, "notes.txt", start=None, length=50)
        assert tail.data == NOTES[-50:].encode() and tail.start == len(NOTES) - 50
        csv = await arts.read(run, "tables/t.csv")
        assert csv.complete and csv.data == b"a,b\n1,2\n"
        dest = tmp_path / "notes.txt"
        assert await arts.save_file(run, "notes.txt", dest) == len(NOTES)
        assert dest.read_text() == NOTES
    finally:
        await source.aclose()


async def test_an_s3_root_and_a_logged_model_are_read_from_presigned_urls(
        presigned, monkeypatch):
    import mlflow

    from mlflow_tui.tracking.artifacts import RestArtifacts
    from mlflow_tui.tracking.rest import RestSource

    # The logging client writes an s3:// root itself: it needs the storage too.
    for key, value in {**AWS, "MLFLOW_S3_ENDPOINT_URL": presigned["storage"]}.items():
        monkeypatch.setenv(key, value)
    client = presigned["client"]
    exp = client.create_experiment("presigned-s3", artifact_location="s3://arts/direct")
    rid = client.create_run(exp, run_name="direct").info.run_id
    client.log_artifact(rid, str(presigned["files"] / "notes.txt"))

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input):
            return model_input

    monkeypatch.setenv("MLFLOW_TRACKING_URI", presigned["server"].url)
    with mlflow.start_run(experiment_id=presigned["experiment"], run_name="with-model"):
        mlflow.pyfunc.log_model(name="echo", python_model=Echo())

    source = RestSource(presigned["server"].url)
    try:
        arts = RestArtifacts(source)
        direct = await _run(source, exp, "direct")
        assert direct.artifact_uri.startswith("s3://arts/direct/")
        chunk = await arts.read(direct, "notes.txt", start=0, length=30)
        assert chunk.data == NOTES[:30].encode()

        with_model = await _run(source, presigned["experiment"], "with-model")
        (model,) = await arts.logged_models(with_model)
        files = arts.model_files(model)
        assert "MLmodel" in [a.path for a in await files.list(with_model)]
        mlmodel = await files.read(with_model, "MLmodel")
        assert b"python_function" in mlmodel.data
    finally:
        await source.aclose()


async def test_the_app_previews_a_file_of_a_presigned_only_server(presigned, tmp_path):
    from textual.widgets import Tree

    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings
    from tests.integration.test_artifacts_server import _open_artifacts

    app = make_app(Settings(uri=presigned["server"].url, experiments=["presigned-app"],
                            interval=0.5, export_dir=str(tmp_path)))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        node = next(n for n in tree.root.children
                    if n.data is not None and n.data.name == "notes.txt")
        tree.select_node(node)
        await wait_until(lambda: "line 0" in screen.shown, timeout=30)
        assert "presigned" not in screen.shown
