"""`mlflow-tui status` against a real server: table, JSON and CSV carry what was logged; the
exit status follows the warnings; bad URIs, dead servers and unknown experiments are one line."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
from mlflow.entities import Metric

from mlflow_tui.cli import main
from tests.conftest import running
from tests.sample_data import curves
from tests.server import free_port

pytestmark = pytest.mark.server
ANSI_NAME = "ansi\x1b[31mred\x1b[0m"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def seeded(mlflow_server):
    """Two experiments: `bad` (an overfitting run, a failed run whose loss went NaN, a run
    with an escape sequence in its name), `ok` (one healthy finished run)."""
    running(mlflow_server)  # restarted if an earlier module stopped it
    client = mlflow_server.client()
    tag = uuid.uuid4().hex[:6]
    bad_name, ok_name = f"status/{tag}/bad", f"status/{tag}/ok"
    bad, ok = client.create_experiment(bad_name), client.create_experiment(ok_name)
    logged: dict[str, dict[str, list[tuple[int, float]]]] = {}
    runs: dict[str, str] = {}
    for exp, name, data, status in (
        (bad, "overfits", curves(40, overfit_at=12, seed=3), "FINISHED"),
        (bad, "crashed", curves(12, nan_at=9, seed=6), "FAILED"),
        (bad, ANSI_NAME, curves(5, seed=9), "FINISHED"),
        (ok, "healthy", curves(40, seed=4), "FINISHED"),
    ):
        rid = client.create_run(exp, run_name=name).info.run_id
        now = int(time.time() * 1000)
        client.log_batch(rid, metrics=[Metric(k, v, now + s, s) for k, pts in data.items()
                                       for s, v in pts])
        client.set_terminated(rid, status)
        runs[name], logged[rid] = rid, data
    return {"bad": bad_name, "ok": ok_name, "runs": runs, "logged": logged,
            "client": client, "url": mlflow_server.url}


def status(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["status", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_carries_what_was_logged(seeded, capsys):
    code, out, err = status(capsys, seeded["url"], "-e", seeded["bad"], "--json")
    assert code == 0 and err == ""
    rows = {r["run_id"]: r for r in json.loads(out)}
    assert set(rows) == {seeded["runs"][n] for n in ("overfits", "crashed", ANSI_NAME)}
    client = seeded["client"]
    for rid, row in rows.items():
        data = seeded["logged"][rid]
        info = client.get_run(rid).info
        assert row["run"] == info.run_name  # exact in JSON, escapes and all
        assert row["experiment"] == seeded["bad"]
        assert row["status"] == info.status
        assert row["duration_s"] == pytest.approx((info.end_time - info.start_time) / 1000)
        assert row["step"] == len(data["train_loss"]) - 1
        assert (row["train_metric"], row["val_metric"]) == ("train_loss", "val_loss")
        for key, points in data.items():
            last = points[-1][1]
            assert row["metrics"][key] == (last if math.isfinite(last) else None)
        assert row["train"] == row["metrics"]["train_loss"]
        assert row["val"] == row["metrics"]["val_loss"]
    kinds = {rid: [w["kind"] for w in row["warnings"]] for rid, row in rows.items()}
    assert kinds[seeded["runs"]["overfits"]] == ["overfitting"]
    assert kinds[seeded["runs"]["crashed"]] == ["failed", "diverged"]
    assert kinds[seeded["runs"][ANSI_NAME]] == []
    assert rows[seeded["runs"]["crashed"]]["val"] is None  # NaN -> null
    assert "val_loss" in rows[seeded["runs"]["overfits"]]["warnings"][0]["reason"]


def test_csv_parses_back_to_the_logged_values(seeded, capsys):
    code, out, _ = status(capsys, seeded["url"], "-e", seeded["bad"], "-e", seeded["ok"],
                          "--csv")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out)).set_index("run_id")
    assert len(frame) == 4
    for rid, data in seeded["logged"].items():
        row = frame.loc[rid]
        assert row["step"] == len(data["train_loss"]) - 1
        for key, points in data.items():
            last = points[-1][1]
            if math.isfinite(last):
                assert row[f"metrics.{key}"] == pytest.approx(last, rel=1e-15)
            else:
                assert math.isnan(row[f"metrics.{key}"])
    assert frame.loc[seeded["runs"]["healthy"], "experiment"] == seeded["ok"]
    assert frame.loc[seeded["runs"]["overfits"], "warnings"] == "overfitting"
    assert frame.loc[seeded["runs"]["crashed"], "warnings"] == "failed;diverged"
    assert frame.loc[seeded["runs"][ANSI_NAME], "run"] == "ansi␛red␛"  # no escape in CSV
    assert "\x1b" not in out


def test_table_lists_runs_newest_first_with_warnings(seeded, capsys):
    code, out, _ = status(capsys, seeded["url"], "-e", seeded["bad"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["EXPERIMENT", "RUN", "STATUS", "DURATION", "STEP",
                                "train_loss", "val_loss", "WARNINGS"]
    body = lines[1:4]
    assert [line.split()[1] for line in body] == ["ansi␛red␛", "crashed", "overfits"]
    overfits = body[2].split()
    assert overfits[2] == "FINISHED" and overfits[4] == "39" and overfits[-1] == "overfitting"
    data = seeded["logged"][seeded["runs"]["overfits"]]
    assert overfits[5] == f"{data['train_loss'][-1][1]:.4f}"
    assert overfits[6] == f"{data['val_loss'][-1][1]:.4f}"
    assert "3 runs, 2 with warnings" in out
    assert "\x1b" not in out  # not a terminal: no colour


def test_max_runs_keeps_the_newest(seeded, capsys):
    code, out, _ = status(capsys, seeded["url"], "-e", seeded["bad"], "-n", "1")
    assert code == 0
    assert out.splitlines()[1].split()[1] == "ansi␛red␛"
    assert "1 run, 0 with warnings (the newest 1; --max-runs N to see more)" in out


def test_fail_on_warning_exit_status(seeded, capsys):
    assert status(capsys, seeded["url"], "-e", seeded["bad"], "--fail-on-warning")[0] == 3
    assert status(capsys, seeded["url"], "-e", seeded["bad"])[0] == 0
    assert status(capsys, seeded["url"], "-e", seeded["ok"], "--fail-on-warning",
                  "--json")[0] == 0


def test_experiments_from_the_config_file(seeded, capsys, isolated: Path):
    config = isolated / "c.toml"
    config.write_text(f'uri = "{seeded["url"]}"\nexperiments = ["{seeded["ok"]}"]\n')
    code, out, _ = status(capsys, "--config", str(config), "--json")
    assert code == 0
    assert [r["run"] for r in json.loads(out)] == ["healthy"]


def test_every_experiment_by_default(tmp_path_factory, capsys):
    """Without -e, every experiment's runs; -e by the end of a path. On a server of its own:
    the shared one holds the runs of every other test (listing and judging them all took
    50-130 s). Served by uvicorn, MLflow 3's default stack (the session servers use gunicorn:
    tests/server.py)."""
    from tests.server import MlflowServer

    server = MlflowServer(tmp_path_factory.mktemp("status-all"), uvicorn=True)
    server.start()
    try:
        client = server.client()
        runs = {}
        for name in ("team/a", "team/b", "other"):
            exp = client.create_experiment(name)
            for i, data in enumerate((curves(40, seed=4), curves(40, overfit_at=12, seed=3))):
                rid = client.create_run(exp, run_name=f"{name}-{i}").info.run_id
                now = int(time.time() * 1000)
                client.log_batch(rid, metrics=[Metric(k, v, now + s, s)
                                               for k, pts in data.items() for s, v in pts])
                client.set_terminated(rid, "FINISHED")
                runs[rid] = name
        capsys.readouterr()  # MLflow's client prints a line per run it ends
        code, out, err = status(capsys, server.url, "--json")
        assert code == 0, err
        rows = json.loads(out)
        assert {r["run_id"]: r["experiment"] for r in rows} == runs
        warned = {r["run"] for r in rows if r["warnings"]}
        assert warned == {f"{name}-1" for name in ("team/a", "team/b", "other")}
        # -e by the end of a path (as Databricks' /Users/<me>/<name>): one match, or a
        # one-line error that lists the candidates, never a guess.
        client.create_experiment("lab/b")
        code, out, err = status(capsys, server.url, "-e", "a", "--json")
        assert code == 0, err
        assert {r["experiment"] for r in json.loads(out)} == {"team/a"}
        code, out, err = status(capsys, server.url, "-e", "b")
        assert code == 1 and out == ""
        assert err.startswith("mlflow-tui status: error: 'b' ends the names of several "
                              "experiments (") and err.count("\n") == 1
        assert "'team/b'" in err and "'lab/b'" in err and err.endswith(": give the whole name\n")
    finally:
        server.stop(graceful=False)


def test_unknown_experiment_is_one_line_exit_1(seeded, capsys):
    code, out, err = status(capsys, seeded["url"], "-e", seeded["ok"], "-e", "no/such\x1b[2J")
    assert code == 1 and out == ""
    assert err == "mlflow-tui status: error: no active experiment named 'no/such␛'\n"


def test_bad_uri_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["status", "gopher://x"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown URI scheme 'gopher'" in err


def test_unreachable_server_is_one_line_exit_1(capsys):
    started = time.monotonic()
    code, out, err = status(capsys, f"http://127.0.0.1:{free_port()}")
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("mlflow-tui status: error: connection refused by http://127.0.0.1:")
    assert time.monotonic() - started < 30


def test_refused_credentials_are_one_line_exit_1():
    # A 401 from a server that wants credentials (a transport stands in for the proxy).
    import httpx

    from mlflow_tui.cli.status import run_status
    from mlflow_tui.settings.config import Settings
    from mlflow_tui.tracking.rest import RestSource

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error_code": "UNAUTHENTICATED", "message": "no"})

    source = RestSource("http://user:hunter2@mlflow.example:5000", environ={},
                        transport=httpx.MockTransport(refuse))
    out, err = io.StringIO(), io.StringIO()
    code = run_status(Settings(uri="http://mlflow.example:5000"), source, stdout=out, stderr=err)
    assert code == 1 and out.getvalue() == ""
    assert err.getvalue() == (
        "mlflow-tui status: error: http://***@mlflow.example:5000 refused the credentials "
        "(401) (check the user name and password, or the token)\n")
    # No credentials sent: the fix is to send some.
    source = RestSource("http://mlflow.example:5000", environ={},
                        transport=httpx.MockTransport(refuse))
    out, err = io.StringIO(), io.StringIO()
    code = run_status(Settings(uri="http://mlflow.example:5000"), source, stdout=out, stderr=err)
    assert code == 1 and err.getvalue() == (
        "mlflow-tui status: error: http://mlflow.example:5000 needs credentials (401) "
        "(set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN)\n")


def test_console_entry_piped_prints_no_escape_codes(seeded, isolated: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "NO_COLOR")}
    env.update(XDG_CONFIG_HOME=str(isolated), MLFLOW_TRACKING_URI=seeded["url"], TERM="xterm")
    script = Path(sys.executable).with_name("mlflow-tui")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "mlflow_tui"]
    proc = subprocess.run([*command, "status", "-e", seeded["bad"], "--fail-on-warning"],
                          capture_output=True, text=True, timeout=120, cwd=isolated, env=env)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr == ""
    assert "\x1b" not in proc.stdout
    assert "ansi␛red␛" in proc.stdout and "overfitting" in proc.stdout
    # The same through `python -m mlflow_tui`, and the status path never loads Textual.
    probe = ("import sys, runpy\n"
             f"sys.argv = ['mlflow_tui', 'status', '-e', {seeded['ok']!r}, '--json']\n"
             "try:\n    runpy.run_module('mlflow_tui', run_name='__main__')\n"
             "except SystemExit as exc:\n    code = exc.code\n"
             "print('textual' in sys.modules, code, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, cwd=isolated, env=env)
    assert proc.stderr.strip() == "False 0", proc.stderr
    assert [r["run"] for r in json.loads(proc.stdout)] == ["healthy"]
