"""The built-in demo: a simulated training session written to a local store by MLflow's client."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlflow_tui.demo import BERT, EXPERIMENTS, FEATURED, VIT, DemoSession
from mlflow_tui.session.monitor import choose_watched
from mlflow_tui.tracking.local import LocalSource
from mlflow_tui.tracking.poller import ExperimentSummary
from tests.conftest import wait_until_sync

pytestmark = pytest.mark.timeout(120)


def _runs(client, ids: list[str]):
    return client.search_runs(ids, max_results=1000)


def _history(client, run_id: str, key: str) -> list[float]:
    points = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
    return [m.value for m in points]


def test_import_is_instant_and_does_not_import_mlflow() -> None:
    code = "import sys, mlflow_tui.demo; assert 'mlflow' not in sys.modules, 'mlflow imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


@pytest.mark.waits  # a live demo session
def test_demo_session_writes_a_live_store(tmp_path: Path, monkeypatch, capfd) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    root = tmp_path / "store"
    demo = DemoSession(root, speed=20.0)
    assert demo.tracking_uri == f"sqlite:///{root.resolve() / 'demo.db'}"
    assert demo.tracking_uri.startswith("sqlite:////")

    from mlflow import MlflowClient

    demo.start()
    try:
        client = MlflowClient(demo.tracking_uri)
        ids: dict[str, str] = {}

        # A reader must not open the store while the demo's migrations are still running.
        wait_until_sync(lambda: demo.ready, timeout=30, interval=0.1, message="store ready")
        found = {e.name: e.experiment_id for e in client.search_experiments()}
        assert set(EXPERIMENTS) <= set(found)
        assert "Default" not in found  # only the demo's experiments are active
        ids.update(found)
        exp_ids = [ids[name] for name in EXPERIMENTS]

        def statuses() -> set[str]:
            return {r.info.status for r in _runs(client, exp_ids)}

        wait_until_sync(lambda: "RUNNING" in statuses(), timeout=30, interval=0.1,
                        message="a RUNNING run")
        wait_until_sync(lambda: {"RUNNING", "FINISHED", "FAILED", "KILLED"} <= statuses(),
                        timeout=30, interval=0.1, message="all four statuses")

        def by_name(name: str):
            runs = [r for r in _runs(client, exp_ids) if r.info.run_name == name]
            return runs[0] if runs else None

        # The overfitting run: val bottoms out early and ends well above its minimum.
        wait_until_sync(lambda: (r := by_name("vit-s16-no-aug")) is not None
                        and r.info.status == "FINISHED", timeout=30, interval=0.1,
                        message="the overfitting run finished")
        overfit = by_name("vit-s16-no-aug")
        assert overfit.info.experiment_id == ids[VIT]
        assert {"lr", "batch_size", "optimizer", "epochs"} <= set(overfit.data.params)
        assert overfit.data.tags["mlflow.runName"] == "vit-s16-no-aug"
        assert overfit.data.tags["mlflow.source.name"]
        assert overfit.data.tags["mlflow.user"]
        val = _history(client, overfit.info.run_id, "val_loss")
        train = _history(client, overfit.info.run_id, "train_loss")
        assert len(val) == len(train) >= 35
        best = min(range(len(val)), key=val.__getitem__)
        assert 8 <= best <= len(val) - 15, best
        assert val[-1] >= 1.15 * val[best], (val[-1], val[best])
        assert train[-1] < train[best] < train[0]
        assert all(name in overfit.data.metrics for name in ("train_acc", "val_acc", "lr"))

        # The failing run logged a NaN before ending FAILED.
        wait_until_sync(lambda: (r := by_name("resnet18-lr0.8")) is not None
                        and r.info.status == "FAILED", timeout=30, interval=0.1,
                        message="the diverging run failed")
        failed = by_name("resnet18-lr0.8")
        assert math.isnan(_history(client, failed.info.run_id, "train_loss")[-1])

        # Artifacts, in each run's own artifact root under the store: what `a` shows.
        def files(run) -> dict[str, str]:
            listed = client.list_artifacts(run.info.run_id)
            folder = Path(run.info.artifact_uri.removeprefix("file://"))
            assert root.resolve() in folder.resolve().parents
            return {f.path: (folder / f.path).read_text(errors="replace") for f in listed}

        failed_files = files(failed)
        assert set(failed_files) == {"config.yaml", "train.log", "metrics.csv"}
        assert "lr: 0.8\n" in failed_files["config.yaml"]
        log = failed_files["train.log"].splitlines()
        assert len(log) == 11 and "step     9  train_loss nan  val_loss nan  lr 0.8" in log[-2]
        assert log[-1] == "RuntimeError: loss is NaN at epoch 9"
        csv = failed_files["metrics.csv"].splitlines()
        assert csv[0] == "step,train_loss,val_loss,train_acc,val_acc,lr"
        assert len(csv) == 11 and csv[-1].startswith("9,nan,nan,,,0.8")
        overfit_files = files(overfit)
        overfit_csv = overfit_files["metrics.csv"].splitlines()
        assert len(overfit_csv) == 41
        assert float(overfit_csv[-1].split(",")[2]) == pytest.approx(val[-1], rel=1e-5)
        # A finished classifier's confusion matrix: a real PNG, its diagonal the brightest.
        from PIL import Image

        png = Path(overfit.info.artifact_uri.removeprefix("file://")) / "confusion_matrix.png"
        with Image.open(png) as image:
            assert image.size == (240, 240) and image.mode == "RGB"
            diagonal = sum(image.getpixel((24 * i + 12, 24 * i + 12))[0] for i in range(10))
            off = sum(image.getpixel((24 * i + 12, 24 * ((i + 1) % 10) + 12))[0]
                      for i in range(10))
            assert diagonal > 2 * off

        # History: two finished runs with full curves and one killed run.
        history = {r.info.run_name: r for r in _runs(client, exp_ids)}
        assert history["resnet18-baseline"].info.status == "FINISHED"
        assert len(_history(client, history["resnet18-baseline"].info.run_id, "val_loss")) == 40
        assert history["resnet18-adam-lr3e-3"].info.status == "KILLED"
        baseline = files(history["resnet18-baseline"])
        assert len(baseline["train.log"].splitlines()) == 40
        assert len(baseline["metrics.csv"].splitlines()) == 41

        # Different cadences: batch-level train_loss every 10 steps, val_loss every 100.
        endless = by_name("bert-base-finetune")
        assert endless.info.experiment_id == ids[BERT]
        assert endless.info.status == "RUNNING"
        steps = [m.step for m in client.get_metric_history(endless.info.run_id, "train_loss")]
        val_steps = [m.step for m in client.get_metric_history(endless.info.run_id, "val_loss")]
        assert sorted(steps)[:3] == [10, 20, 30]
        assert sorted(val_steps)[:2] == [100, 200]
        # A running run's log grows as it logs (f follows it); its CSV comes at the end.
        running = files(endless)
        assert "metrics.csv" not in running
        grown = len(running["train.log"])
        wait_until_sync(lambda: len(files(endless)["train.log"]) > grown, timeout=30,
                        interval=0.1, message="the running run's log grew")
        assert demo.error is None
    finally:
        started = time.monotonic()
        demo.stop()
        elapsed = time.monotonic() - started
    assert elapsed < 5.0
    assert demo.error is None
    assert not demo.running
    assert "RUNNING" not in {r.info.status for r in _runs(client, exp_ids)}
    assert client.get_run(endless.info.run_id).info.status == "KILLED"
    assert root.is_dir()  # a root we were given is kept
    assert list(cwd.iterdir()) == []
    out, err = capfd.readouterr()
    assert "Creating initial MLflow database tables" not in out + err
    assert "Traceback" not in out + err


def test_temporary_root_is_removed_and_stop_is_prompt(tmp_path: Path, monkeypatch) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with DemoSession(speed=1.0) as demo:
        root = demo.root
        assert root.is_dir() and root.name.startswith("mlflow-tui-demo-")
        from mlflow import MlflowClient

        wait_until_sync(lambda: demo.ready, timeout=30, interval=0.1, message="store ready")
        client = MlflowClient(demo.tracking_uri)
        exp_ids = [e.experiment_id for e in client.search_experiments()]
        wait_until_sync(lambda: any(r.info.status == "RUNNING" and r.data.metrics
                                    for r in _runs(client, exp_ids)),
                        timeout=30, interval=0.1, message="a live run with a metric")
        started = time.monotonic()
    assert time.monotonic() - started < 5.0
    assert demo.error is None
    assert not root.exists()
    assert list(cwd.iterdir()) == []
    demo.stop()  # idempotent
    demo.start()  # no-op after stop
    assert not demo.running


def test_demo_leaves_the_home_folder_alone(tmp_path: Path) -> None:
    """MLflow 3's usage telemetry writes ~/.config/mlflow/telemetry.json (and sends events)
    once its client is used, unless disabled; mlflow-tui turns it off. Run outside pytest's
    environment (MLflow disables telemetry by itself under pytest and CI)."""
    import os

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST", "CI", "GITHUB", "MLFLOW", "DO_NOT_TRACK"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    code = (
        "import sys, time\n"
        "from mlflow_tui.cli import quiet_libraries\n"
        "quiet_libraries()\n"
        "from mlflow_tui.demo import DemoSession\n"
        f"demo = DemoSession({str(tmp_path / 'store')!r}, speed=50.0)\n"
        "demo.start()\n"
        "t = time.monotonic()\n"
        "while not demo.ready and time.monotonic() - t < 60: time.sleep(0.1)\n"
        "time.sleep(1.0)\n"  # a few simulated epochs logged through MLflow's client
        "demo.stop()\n"
        "sys.exit(0 if demo.ready else 3)\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=100,
                   cwd=Path(__file__).parents[2])
    assert list(home.rglob("*")) == [], "files written under HOME"


async def test_the_demo_opens_its_featured_experiment_however_late_the_first_listing(
        tmp_path: Path) -> None:
    """The app opens the experiment with running runs created last: with every demo experiment
    running (a first listing that came late, on a busy machine), that is still the featured
    one, whose runs show every status (it used to be the one whose run started last)."""
    demo = DemoSession(tmp_path / "store", speed=1.0)
    uri = demo.prepare()
    source = LocalSource(uri)
    try:
        experiments = await source.search_experiments()
    finally:
        await source.aclose()
    running = {e.experiment_id: 1 for e in experiments}
    chosen, _ = choose_watched(ExperimentSummary(experiments, running, time.time()), [], ())
    assert [e.name for e in experiments if e.experiment_id == chosen[0]] == [FEATURED]


def _signalled(argv: list[str], sig: int, tmp: Path, cwd: Path, shown: bytes) -> bytes:
    """Run argv in a pseudo-terminal until `shown` is on it, send `sig`; the output, once the
    program has ended with status 0."""
    import os

    from tests.fake_terminal import FakeTerminal

    env = dict(os.environ, TMPDIR=str(tmp), TERM="xterm-256color")
    with FakeTerminal(argv, env, cwd=str(cwd), kitty=False) as term:
        term.expect(lambda out: shown in out, timeout=60, what=shown.decode())
        assert term.proc is not None
        term.proc.send_signal(sig)
        assert term.wait_exit(timeout=30) == 0
    return term.output


def test_a_hung_up_terminal_ends_the_app(tmp_path: Path) -> None:
    """tmux kill-server or a dropped SSH connection: the terminal itself goes (the kernel sends
    SIGHUP and SIGCONT to its session leader; writes to it fail). The app ends the orderly way:
    status 0, not the last resort's 129. It used to stay alive for ever, now and then (the
    demo, 2 in 58 tries), blocked on the dead terminal: Textual's SIGCONT handler restarted
    application mode there, its new writer thread died on the first write, and the writes on
    the way out filled that thread's queue. (The demo's store goes with the orderly exit, a
    signal's as `q`'s: test_demo_app.py.)"""
    import os

    from tests.fake_terminal import FakeTerminal

    env = dict(os.environ, TERM="xterm-256color")
    with FakeTerminal([sys.executable, "-m", "mlflow_tui", "http://127.0.0.1:9"], env,
                      cwd=str(tmp_path), kitty=False, controlling=True) as term:
        term.expect(lambda out: b"127.0.0.1:9" in out, timeout=60, what="the app's header")
        term.hang_up()
        assert term.wait_exit(timeout=60) == 0


def test_after_a_hang_up_the_output_goes_nowhere_instead_of_failing(tmp_path: Path) -> None:
    """What the hang-up handling rests on, in a real terminal that hangs up: before, the
    terminal is there; after, it is gone and a write to it fails (EIO, what killed Textual's
    writer thread); once detached, writes succeed (to the null device)."""
    import os

    from tests.fake_terminal import FakeTerminal

    report = tmp_path / "report"
    code = (
        "import os, signal, time\n"
        "from mlflow_tui.app import detach_from_terminal, terminal_gone\n"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"  # the app has its handler
        "before = terminal_gone()\n"
        "os.write(1, b'ready\\n')\n"
        "end = time.monotonic() + 60\n"
        "while not terminal_gone() and time.monotonic() < end: time.sleep(0.05)\n"
        "gone = terminal_gone()\n"
        "try:\n"
        "    os.write(2, b'x'); failed = 'no'\n"
        "except OSError as e:\n"
        "    failed = str(e.errno)\n"
        "detach_from_terminal()\n"
        "written = os.write(2, b'x')\n"
        f"open({str(report)!r}, 'w').write(f'{{before}} {{gone}} {{failed}} {{written}}')\n")
    with FakeTerminal([sys.executable, "-c", code], dict(os.environ), kitty=False,
                      controlling=True) as term:
        term.expect(lambda out: b"ready" in out, timeout=30, what="ready")
        term.hang_up()
        assert term.wait_exit(timeout=60) == 0
    import errno

    assert report.read_text() == f"False True {errno.EIO} 1"


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_signal_ends_the_app_and_gives_the_terminal_back(tmp_path: Path, name: str) -> None:
    """`kill` (SIGTERM), or a SIGHUP while the terminal is still there (`kill -HUP`), end the
    app as `q` does: exit status 0, the alternate screen left. (A terminal that is gone:
    test_a_hung_up_terminal_ends_the_app.)"""
    import signal

    out = _signalled([sys.executable, "-m", "mlflow_tui", "http://127.0.0.1:9"],
                     getattr(signal, name), tmp_path, tmp_path, b"127.0.0.1:9")
    assert b"\x1b[?1049l" in out
