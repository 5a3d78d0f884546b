"""Artifacts (tui/tracking/artifacts.py) on a real `mlflow server --serve-artifacts` (proxied
`mlflow-artifacts:` roots, as shared servers run) and on a local sqlite store with a local
artifact root: list, preview head and tail by byte range, follow a growing log, save."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from mlflow_tui.tracking.artifacts import (
    ArtifactError,
    LocalArtifacts,
    RestArtifacts,
    save_tree,
)
from mlflow_tui.tracking.rest import RestSource
from tests.conftest import running

LOG_LINES = 50_000
EVIL = "evil\x1b[31m[bold]name.txt"


# Experiment names of this module: unique on the session server (one per worker).
PREFIX = f"artifacts-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def proxied(mlflow_server, tmp_path_factory):
    """A run with files on the session server, which serves artifacts (--serve-artifacts)."""
    server = running(mlflow_server)
    root = tmp_path_factory.mktemp("proxied-artifacts")
    client = server.client()
    exp = client.create_experiment(f"{PREFIX}/proxied")
    run = client.create_run(exp, run_name="with-artifacts")
    rid = run.info.run_id
    files = root / "to-log"
    (files / "conf" / "deep").mkdir(parents=True)
    (files / "conf" / "params.json").write_text(json.dumps({"lr": 0.1, "layers": [64, 64]}))
    (files / "conf" / "deep" / "notes.yaml").write_text("a: 1\nb: [x, y]\n")
    (files / "metrics.csv").write_text("step,loss\n" + "".join(
        f"{i},{1 / (i + 1):.4f}\n" for i in range(100)))
    (files / "stdout.txt").write_text("".join(f"line {i}\n" for i in range(LOG_LINES)))
    (files / EVIL).write_text("x")
    for item in ("conf", ):
        client.log_artifacts(rid, str(files / item), item)
    for item in ("metrics.csv", "stdout.txt", EVIL):
        client.log_artifact(rid, str(files / item))
    return {"server": server, "client": client, "run_id": rid, "files": files,
            "experiment": exp}


async def _run(source: RestSource, exp: str, rid: str):
    runs = await source.search_runs([exp])
    return next(r for r in runs if r.run_id == rid)


async def test_list_folders_first_with_sizes(proxied):
    source = RestSource(proxied["server"].url)
    try:
        run = await _run(source, proxied["experiment"], proxied["run_id"])
        assert run.artifact_uri.startswith("mlflow-artifacts:")
        store = RestArtifacts(source)
        root = await store.list(run)
        # MLflow's client uploads the escape character percent-encoded, and the server keeps
        # the name as it arrived: listed as the server has it.
        evil = next(a.name for a in root if a.name.startswith("evil"))
        assert evil in (EVIL, EVIL.replace("\x1b", "%1b"))
        assert [(a.name, a.is_dir) for a in root] == [
            ("conf", True), (evil, False), ("metrics.csv", False), ("stdout.txt", False)]
        assert (await store.read(run, evil)).data == b"x"
        sizes = {a.name: a.size for a in root}
        assert sizes["stdout.txt"] == (proxied["files"] / "stdout.txt").stat().st_size
        conf = await store.list(run, "conf")
        assert [(a.path, a.is_dir) for a in conf] == [("conf/deep", True),
                                                      ("conf/params.json", False)]
        with pytest.raises(ArtifactError):
            await store.list(run, "../../etc")
    finally:
        await source.aclose()


async def test_head_and_tail_move_only_what_is_shown(proxied):
    source = RestSource(proxied["server"].url)
    try:
        run = await _run(source, proxied["experiment"], proxied["run_id"])
        store = RestArtifacts(source)
        head = await store.read(run, "conf/params.json")
        assert head.complete and json.loads(head.data) == {"lr": 0.1, "layers": [64, 64]}
        size = (proxied["files"] / "stdout.txt").stat().st_size
        before = source.bytes_in
        tail = await store.read(run, "stdout.txt", start=None, length=4096)
        moved = source.bytes_in - before
        assert tail.total == size and tail.start == size - 4096
        assert tail.data.endswith(f"line {LOG_LINES - 1}\n".encode())
        assert moved <= 4096 + 1024, f"{moved} bytes moved for a 4 KB tail of {size}"
        middle = await store.read(run, "stdout.txt", start=1000, length=100)
        full = (proxied["files"] / "stdout.txt").read_bytes()
        assert middle.data == full[1000:1100] and middle.start == 1000
        with pytest.raises(ArtifactError):
            await store.read(run, "no/such/file.txt")
    finally:
        await source.aclose()


async def test_follow_a_growing_log(proxied):
    source = RestSource(proxied["server"].url)
    try:
        run = await _run(source, proxied["experiment"], proxied["run_id"])
        store = RestArtifacts(source)
        log = proxied["files"] / "growing.log"
        log.write_text("epoch 1\n")
        proxied["client"].log_artifact(run.run_id, str(log))
        first = await store.read(run, "growing.log", start=None, length=1024)
        assert first.data == b"epoch 1\n"
        log.write_text("epoch 1\nepoch 2\nepoch 3\n")  # the training logs it again, longer
        proxied["client"].log_artifact(run.run_id, str(log))
        grown = await store.read(run, "growing.log", start=first.total, length=1024)
        assert grown.data == b"epoch 2\nepoch 3\n" and grown.start == first.total
        nothing_new = await store.read(run, "growing.log", start=grown.total, length=1024)
        assert nothing_new.data == b""
    finally:
        await source.aclose()


async def test_save_a_folder_and_a_file(proxied, tmp_path):
    source = RestSource(proxied["server"].url)
    try:
        run = await _run(source, proxied["experiment"], proxied["run_id"])
        store = RestArtifacts(source)
        seen: list[tuple[int, int | None]] = []
        files, size = await save_tree(store, run, "conf", tmp_path / "conf-copy",
                                      lambda done, total: seen.append((done, total)))
        assert files == 2 and seen
        assert json.loads((tmp_path / "conf-copy" / "params.json").read_text())["lr"] == 0.1
        assert (tmp_path / "conf-copy" / "deep" / "notes.yaml").read_text() == "a: 1\nb: [x, y]\n"
        one, _ = await save_tree(store, run, "metrics.csv", tmp_path / "m.csv")
        assert one == 1 and (tmp_path / "m.csv").read_text().startswith("step,loss\n0,1.0000")
        with pytest.raises(ArtifactError, match="exists already"):
            await save_tree(store, run, "metrics.csv", tmp_path / "m.csv")
        assert not list(tmp_path.glob("*.part"))
    finally:
        await source.aclose()


SEED_LOCAL = textwrap.dedent("""\
    import sys
    from mlflow import MlflowClient
    client = MlflowClient("sqlite:///mlflow.db")
    exp = client.create_experiment("local/artifacts", artifact_location="./artifacts")
    run = client.create_run(exp, run_name="local-run")
    open("out.txt", "w").write("hello\\n" * 1000)
    client.log_artifact(run.info.run_id, "out.txt", "logs")
    print(run.info.run_id)
""")


async def test_local_store_with_a_local_artifact_root(tmp_path):
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", HOME=str(tmp_path))
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([sys.executable, "-c", SEED_LOCAL], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    rid = done.stdout.split()[-1]
    from mlflow_tui.tracking.local import LocalSource

    source = LocalSource(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        experiments = await source.search_experiments()
        exp = next(e for e in experiments if e.name == "local/artifacts")
        run = next(r for r in await source.search_runs([exp.experiment_id]) if r.run_id == rid)
        store = LocalArtifacts()
        assert [(a.path, a.is_dir) for a in await store.list(run)] == [("logs", True)]
        [log] = await store.list(run, "logs")
        assert log.size == 6000
        tail = await store.read(run, "logs/out.txt", start=None, length=12)
        assert tail.data == b"hello\nhello\n" and tail.total == 6000
        files, size = await save_tree(store, run, "", tmp_path / "saved")
        assert (files, size) == (1, 6000)
        assert (tmp_path / "saved" / "logs" / "out.txt").read_text() == "hello\n" * 1000
    finally:
        await source.aclose()


# ---------------------------------------------------------------------- the screen (a)
async def test_the_artifacts_screen_lists_previews_follows_and_saves(proxied, tmp_path):
    from textual.widgets import Input, Tree

    from mlflow_tui.app import make_app
    from mlflow_tui.screens.artifacts import ArtifactsScreen
    from mlflow_tui.settings.config import Settings
    from tests.conftest import wait_until

    app = make_app(Settings(uri=proxied["server"].url, experiments=[f"{PREFIX}/proxied"],
                            interval=0.5, export_dir=str(tmp_path)))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        names = [node.data.name for node in tree.root.children]
        assert names[0] == "conf" and "stdout.txt" in names

        def select(path_names):  # expand folders, then select the file
            node = tree.root
            for name in path_names:
                node = next(n for n in node.children if n.data.name == name)
                if node.data.is_dir:
                    node.expand()
            return node

        # A log: its tail, only a byte range moved.
        before = app.source.bytes_in
        node = select(["stdout.txt"])
        tree.select_node(node)
        await wait_until(lambda: screen.shown.endswith(f"line {LOG_LINES - 1}\n"), timeout=20)
        assert app.source.bytes_in - before < 300 * 1024  # of a ~600 KB log
        # 256 KB of short lines is ~24,000: only the last PREVIEW_LINES are drawn (drawing
        # them all froze the app for seconds).
        from mlflow_tui.screens.artifacts_view import PREVIEW_LINES
        assert len(screen.shown.splitlines()) == PREVIEW_LINES
        await pilot.press("t")  # its head instead
        await wait_until(lambda: screen.shown.startswith("line 0\n"), timeout=20)
        assert screen.shown.endswith(f"line {PREVIEW_LINES - 1}\n")

        # JSON, pretty, in a folder listed on demand.
        node = select(["conf"])
        await wait_until(lambda: len(node.children) == 2, timeout=20)
        tree.select_node(select(["conf", "params.json"]))
        await wait_until(lambda: '"layers": [' in screen.shown, timeout=20)

        # A growing log, followed.
        log = proxied["files"] / "live.log"
        log.write_text("step 1\n")
        proxied["client"].log_artifact(proxied["run_id"], str(log))
        tree.root.remove_children()
        screen._load(tree.root, "")
        await wait_until(lambda: any(n.data.name == "live.log" for n in tree.root.children),
                         timeout=20)
        tree.select_node(select(["live.log"]))
        await wait_until(lambda: screen.shown == "step 1\n", timeout=20)
        await pilot.press("f")
        log.write_text("step 1\nstep 2\n")
        proxied["client"].log_artifact(proxied["run_id"], str(log))
        await wait_until(lambda: screen.shown == "step 1\nstep 2\n", timeout=20)

        # Save a folder; copy the run id.
        tree.move_cursor(select(["conf"]))
        await pilot.press("s")
        box = screen.query_one("#art-save", Input)
        await wait_until(lambda: box.display)
        box.value = str(tmp_path / "saved-conf")
        await pilot.press("enter")
        await wait_until(lambda: (tmp_path / "saved-conf" / "deep" / "notes.yaml").exists(),
                         timeout=20)
        await pilot.press("y")
        assert screen.copied == proxied["run_id"]
        await pilot.press("escape")
        await wait_until(lambda: not isinstance(app.screen, ArtifactsScreen))
        # From the run's details (i), a opens the same run's artifacts.
        from mlflow_tui.screens.details import RunDetailsScreen

        await pilot.press("i")
        await wait_until(lambda: isinstance(app.screen, RunDetailsScreen))
        await pilot.press("a")
        await wait_until(lambda: isinstance(app.screen, ArtifactsScreen)
                         and app.screen.run.run_id == proxied["run_id"])


# ---------------------------------------------------------------------- logged images by step
async def test_logged_images_are_one_entry_per_key_with_their_steps(proxied, tmp_path):
    """MLflow 3's log_image(key=, step=), logged by MLflow's own client: one tree entry per
    key, the latest step shown first, [ and ] move through the steps."""
    from PIL import Image as PILImage
    from textual.widgets import Tree

    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings
    from tests.conftest import wait_until

    client = proxied["client"]
    exp = client.create_experiment(f"{PREFIX}/images")
    rid = client.create_run(exp, run_name="with-images").info.run_id
    for step, shade in ((0, 40), (10, 120), (20, 220)):
        client.log_image(rid, PILImage.new("RGB", (16, 16), (shade, 0, 0)),
                         key="samples/pred", step=step)
    app = make_app(Settings(uri=proxied["server"].url, experiments=[f"{PREFIX}/images"],
                            interval=0.5, export_dir=str(tmp_path)))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        tree = screen.query_one("#art-tree", Tree)
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
        images = next(n for n in tree.root.children if n.data.name == "images")
        images.expand()
        await wait_until(lambda: len(images.children) == 1, timeout=20)
        [entry] = images.children
        assert str(entry.label).startswith("samples/pred  3 steps, last 20")
        assert "+step+20+" in entry.data.path and entry.data.path.endswith(".png")
        tree.select_node(entry)
        await wait_until(lambda: screen.shown == "image samples/pred step 20", timeout=20)
        await pilot.press("left_square_bracket")
        await wait_until(lambda: screen.shown == "image samples/pred step 10", timeout=20)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_until(lambda: screen.shown == "image samples/pred step 0", timeout=20)
        await pilot.press("right_square_bracket")
        await wait_until(lambda: screen.shown == "image samples/pred step 10", timeout=20)


# ---------------------------------------------------------------------- MLflow 3 logged models
async def test_logged_models_are_listed_with_their_metrics(proxied, tmp_path):
    """A run's MLflow 3 logged models (their files are the model's, not the run's): a folder
    at the top of the artifacts tree, each model's name, status, metrics and step."""
    from mlflow.entities import Metric
    from textual.widgets import Tree

    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings
    from tests.conftest import wait_until

    client = proxied["client"]
    exp = client.create_experiment(f"{PREFIX}/models")
    rid = client.create_run(exp, run_name="with-a-model").info.run_id
    model = client.create_logged_model(exp, name="classifier", source_run_id=rid)
    client.log_batch(rid, metrics=[Metric("accuracy", 0.875, 1_700_000_000_000, 12,
                                          model_id=model.model_id)])
    client.finalize_logged_model(model.model_id, "READY")
    source = RestSource(proxied["server"].url)
    try:
        run = await _run(source, exp, rid)
        [found] = await RestArtifacts(source).logged_models(run)
        assert (found.model_id, found.name, found.status) == (model.model_id, "classifier",
                                                              "READY")
        assert found.metrics == (("accuracy", 0.875, 12),)
        other = await _run(source, proxied["experiment"], proxied["run_id"])
        assert await RestArtifacts(source).logged_models(other) == []
    finally:
        await source.aclose()

    app = make_app(Settings(uri=proxied["server"].url, experiments=[f"{PREFIX}/models"],
                            interval=0.5, export_dir=str(tmp_path)))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.models_shown == 1, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        folder = tree.root.children[0]
        assert str(folder.label) == "logged models (1)"
        [leaf] = folder.children
        assert str(leaf.label) == "classifier  ready · accuracy 0.8750 @12"
        tree.select_node(leaf)
        await wait_until(lambda: model.model_id in screen.shown, timeout=10)
        assert "metric        accuracy = 0.8750 @12" in screen.shown
        # Enter also opens it: a model created without files says so, its facts stay.
        await wait_until(lambda: [str(n.label) for n in leaf.children] == ["no files"],
                         timeout=10)
        assert model.model_id in screen.shown


# ---------------------------------------------------------------------- a logged model's files
SEED_MODELS = textwrap.dedent("""\
    import json, os, sys, tempfile
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    exp = client.create_experiment(sys.argv[1])
    mlflow.set_experiment(experiment_id=exp)
    with mlflow.start_run(run_name="trained") as run:
        try:  # MLflow 3's log_model: the files go to the model, not to the run
            import numpy as np
            from sklearn.linear_model import LogisticRegression

            fitted = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]),
                                              [0, 0, 1, 1])
            info = mlflow.sklearn.log_model(fitted, name="clf",
                                            pip_requirements=["scikit-learn"])
        except ImportError:
            class Echo(mlflow.pyfunc.PythonModel):
                def predict(self, context, model_input):
                    return model_input

            info = mlflow.pyfunc.log_model(name="clf", python_model=Echo(),
                                           pip_requirements=["mlflow"])
    # A model with folders, its files logged by hand (initialize + log_model_artifacts).
    raw = client.create_logged_model(exp, name="raw", source_run_id=run.info.run_id)
    where = tempfile.mkdtemp()
    os.makedirs(os.path.join(where, "sub", "deeper"))
    open(os.path.join(where, "sub", "a.txt"), "w").write("A")
    open(os.path.join(where, "sub", "deeper", "b.txt"), "w").write("B" * 10)
    open(os.path.join(where, "top.json"), "w").write('{"x": 1}')
    client.log_model_artifacts(raw.model_id, where)
    client.finalize_logged_model(raw.model_id, "READY")
    print(json.dumps({"experiment": exp, "run": run.info.run_id, "clf": info.model_id,
                      "raw": raw.model_id}))
""")


@pytest.fixture(scope="module")
def model_files(proxied, tmp_path_factory):
    """An MLflow 3 run with two logged models, logged by MLflow's own client (a process of
    its own: the fluent API's tracking URI stays out of this one)."""
    where = tmp_path_factory.mktemp("seed-models")
    env = dict(os.environ, MLFLOW_TRACKING_URI=proxied["server"].url,
               MLFLOW_DISABLE_TELEMETRY="true", HOME=str(where))
    done = subprocess.run([sys.executable, "-c", SEED_MODELS, f"{PREFIX}/model-files"],
                          cwd=where, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


async def test_a_logged_models_files_are_listed_read_and_saved(proxied, model_files, tmp_path):
    source = RestSource(proxied["server"].url)
    try:
        run = await _run(source, model_files["experiment"], model_files["run"])
        store = RestArtifacts(source)
        models = {m.name: m for m in await store.logged_models(run)}
        assert {m.model_id for m in models.values()} == {model_files["clf"], model_files["raw"]}
        clf = store.model_files(models["clf"])
        files = await clf.list(run)
        names = {a.name for a in files}
        assert {"MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml"} <= names, names
        assert all(a.model_id == model_files["clf"] and not a.is_dir for a in files)
        assert await store.list(run) == []  # none of them is the run's own
        mlmodel = await clf.read(run, "MLmodel")
        text = mlmodel.data.decode()
        assert mlmodel.complete and "flavors:" in text and model_files["clf"] in text
        before = source.bytes_in
        middle = await clf.read(run, "MLmodel", start=10, length=20)
        assert middle.data == mlmodel.data[10:30] and middle.total == len(mlmodel.data)
        assert source.bytes_in - before <= 20 + 1024  # a byte range, not the file
        requirements = await clf.read(run, "requirements.txt", start=None, length=64)
        assert requirements.total == next(a.size for a in files if a.name ==
                                          "requirements.txt")

        raw = store.model_files(models["raw"])
        assert [(a.path, a.is_dir) for a in await raw.list(run)] == [("sub", True),
                                                                     ("top.json", False)]
        assert [(a.path, a.is_dir, a.size) for a in await raw.list(run, "sub")] == [
            ("sub/deeper", True, None), ("sub/a.txt", False, 1)]
        assert (await raw.read(run, "sub/deeper/b.txt")).data == b"B" * 10
        count, size = await save_tree(raw, run, "", tmp_path / "raw")
        assert (count, size) == (3, 19)
        assert (tmp_path / "raw" / "sub" / "deeper" / "b.txt").read_text() == "B" * 10
        with pytest.raises(ArtifactError, match="no file"):
            await raw.read(run, "sub/none.txt")
        with pytest.raises(ArtifactError):
            await raw.list(run, "../../etc")
    finally:
        await source.aclose()


async def test_enter_on_a_logged_model_lists_its_files(proxied, model_files, tmp_path):
    """The artifacts screen: enter on a logged model shows it and lists its files (a folder
    at a time); MLmodel previews as YAML; s on the model saves all its files."""
    from textual.widgets import Input, Tree

    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings
    from tests.conftest import wait_until

    app = make_app(Settings(uri=proxied["server"].url, experiments=[f"{PREFIX}/model-files"],
                            interval=0.5, export_dir=str(tmp_path)))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.models_shown == 2, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        folder = tree.root.children[0]
        clf = next(n for n in folder.children if str(n.label).startswith("clf"))
        assert not clf.children  # listed only when opened
        tree.select_node(clf)  # enter: the model's facts, and its files below it
        await wait_until(lambda: len(clf.children) >= 4, timeout=20)
        assert model_files["clf"] in screen.shown
        names = [n.data.name for n in clf.children]
        assert "MLmodel" in names and "requirements.txt" in names
        tree.select_node(next(n for n in clf.children if n.data.name == "MLmodel"))
        await wait_until(lambda: "flavors:" in screen.shown, timeout=20)
        head = str(screen.query_one("#art-head").render())
        assert "clf (logged model)/MLmodel" in head

        raw = next(n for n in folder.children if str(n.label).startswith("raw"))
        tree.select_node(raw)
        await wait_until(lambda: [n.data.name for n in raw.children] == ["sub", "top.json"],
                         timeout=20)
        sub = raw.children[0]
        sub.expand()  # a folder of the model, listed on demand
        await wait_until(lambda: [n.data.name for n in sub.children] == ["deeper", "a.txt"],
                         timeout=20)
        tree.select_node(raw.children[1])
        await wait_until(lambda: '"x": 1' in screen.shown, timeout=20)

        tree.move_cursor(raw)
        await pilot.press("s")
        box = screen.query_one("#art-save", Input)
        await wait_until(lambda: box.display)
        assert box.value.endswith("/raw")
        box.value = str(tmp_path / "raw-model")
        await pilot.press("enter")
        await wait_until(lambda: (tmp_path / "raw-model" / "sub" / "deeper" / "b.txt").exists(),
                         timeout=20)
        assert (tmp_path / "raw-model" / "top.json").read_text() == '{"x": 1}'


async def _open_artifacts(app, pilot):
    """The run listed, `a` pressed: its artifacts screen, once it is up."""
    from mlflow_tui.screens.artifacts import ArtifactsScreen
    from tests.conftest import wait_rows, wait_until

    await wait_rows(app, 1, timeout=30)
    await pilot.press("a")
    await wait_until(lambda: isinstance(app.screen, ArtifactsScreen))
    return app.screen
