"""An OLD `mlflow server` (2.x, before get-history-bulk-interval) on 127.0.0.1 for tests.

The project's own venv has MLflow 3.x; an old server needs its own venv. `ensure_venv(version)`
builds one once (pip: mlflow without its data-science dependencies, plus the pins that version
needs on this Python; ~35 s and ~150 MB here) in a cache directory outside the repo, and reuses
it afterwards:

    $MLFLOW_TUI_OLD_VENVS/mlflow-<version>                  when that variable is set, else
    ${XDG_CACHE_HOME:-~/.cache}/mlflow-tui-test/venvs/mlflow-<version>

A venv that cannot be built (no network, a build failure) raises `OldServerUnavailable` whose
`reason` is a one-line skip reason; `skip_reason(version)` returns it instead of raising. A
failed build is remembered for the rest of the process (one pip attempt per test session).
MLFLOW_TUI_OLD_PYTHON picks the interpreter for the venv (default: the one running the tests).

Wiring, for conftest.py (not done here):

    @pytest.fixture(scope="session")
    def old_server(tmp_path_factory):
        reason = skip_reason(OLD_VERSION)
        if reason:
            pytest.skip(reason)
        server = OldMlflowServer(tmp_path_factory.mktemp("old-mlflow"), OLD_VERSION)
        server.start()
        yield server
        server.stop(graceful=False)

Seeding goes through the OLD client of that venv (a subprocess), never through the MLflow 3
client of the test process: `server.seed(...)`, `server.log_points(...)`, `server.set_status(...)`.
See docs/old-servers.md for what these servers do and do not answer.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tests.server import _healthy, free_port, stop_process_group

OLD_VERSION = "2.9.2"  # the acceptance target: newest release line without bulk-interval is 2.10

# Extra requirements per MLflow version, measured on CPython 3.11 (docs/old-servers.md).
# MLflow 2.x caps most of its direct dependencies, but not SQLAlchemy tightly enough: 2.5.0,
# 2.9.2, 2.10.2 and 2.11.3 allow SQLAlchemy 2.1, whose removal of
# sqlalchemy.pool.FallbackAsyncAdaptedQueuePool kills `mlflow server` at start (import of the
# SQL store). 2.0.1 caps it below 2 itself; the pin is harmless there. Nothing else was needed.
_PINS: list[tuple[tuple[int, int], tuple[int, int], list[str]]] = [
    # (first version, last version inclusive) -> pins
    ((2, 0), (2, 99), ["sqlalchemy<2.1"]),
]
# The tracking server never imports MLflow's data-science dependencies: leaving them out makes
# a venv of ~150 MB built in ~35 s instead of ~800 MB in ~2-3 min, with byte-identical REST
# answers (docs/old-servers.md). mlflow itself goes in with --no-deps, then every requirement
# of its own metadata except these, with the version ranges that release declared.
HEAVY = ("numpy", "scipy", "pandas", "scikit-learn", "pyarrow", "matplotlib", "shap", "waitress")
PIP_TIMEOUT = 20  # seconds per network read; pip's own default here is 180 s with 5 retries
BUILD_TIMEOUT = 900.0

_failed: dict[str, str] = {}  # version -> skip reason, for this process


class OldServerUnavailable(RuntimeError):
    """The old MLflow cannot be installed or started here; `reason` is a skip message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _vtuple(version: str) -> tuple[int, int]:
    parts = version.split(".")
    return int(parts[0]), int(parts[1])


def pins_for(version: str) -> list[str]:
    """The requirements pip gets besides `mlflow==version`."""
    v = _vtuple(version)
    out: list[str] = []
    for first, last, pins in _PINS:
        if first <= v <= last:
            out += pins
    return out


def cache_root() -> Path:
    explicit = os.environ.get("MLFLOW_TUI_OLD_VENVS")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlflow-tui-test" / "venvs"


def venv_dir(version: str) -> Path:
    return cache_root() / f"mlflow-{version}"


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _base_python() -> str:
    explicit = os.environ.get("MLFLOW_TUI_OLD_PYTHON")
    if explicit:
        return explicit
    # venv's own choice when run from inside a venv: the interpreter the venv was made from.
    return getattr(sys, "_base_executable", None) or sys.executable


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "PYTHON", "PIP_REQUIRE", "VIRTUAL_ENV", "CONDA"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        # mlflow 2.0-2.x's `mlflow server` execs `gunicorn` by name, found through PATH.
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _check(venv: Path, version: str) -> str | None:
    """None when the venv's mlflow is `version` and its server and SQL store import."""
    code = ("import mlflow, mlflow.server, mlflow.store.tracking.sqlalchemy_store, gunicorn;"
            "print(mlflow.__version__)")
    try:
        proc = subprocess.run([str(_venv_python(venv)), "-c", code], capture_output=True,
                              text=True, timeout=120, env=_clean_env(venv))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["import failed"])[-1]
    if proc.stdout.strip() != version:
        return f"venv has mlflow {proc.stdout.strip()!r}, not {version}"
    return None


def _last_lines(text: str, n: int = 2) -> str:
    """pip's ERROR lines (else its last lines), short enough for a skip message."""
    lines = [ln.strip() for ln in text.strip().splitlines()
             if ln.strip() and "is ignored: it is neither a file nor a directory" not in ln]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return " | ".join((errors or lines)[-n:])[-400:]


def ensure_venv(version: str = OLD_VERSION) -> Path:
    """The venv of mlflow==version, built once with its pins. Raises OldServerUnavailable."""
    if version in _failed:
        raise OldServerUnavailable(_failed[version])
    venv = venv_dir(version)
    marker = venv / ".mlflow-tui-complete"
    want = json.dumps({"mlflow": version, "pins": pins_for(version), "without": list(HEAVY)})
    if marker.exists() and marker.read_text() == want:
        return venv
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(version, f"cannot create {root}: {exc}") from None
    # One builder at a time (parallel test sessions, xdist workers): the others wait here.
    with open(root / f".mlflow-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if marker.exists() and marker.read_text() == want:
                return venv
            _build(version, venv, marker, want)
            return venv
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fail(version: str, reason: str) -> OldServerUnavailable:
    reason = f"old MLflow {version} unavailable: {reason}"
    _failed[version] = reason
    return OldServerUnavailable(reason)


def _build(version: str, venv: Path, marker: Path, want: str) -> None:
    shutil.rmtree(venv, ignore_errors=True)  # a half-built one from an interrupted run
    deadline = time.monotonic() + BUILD_TIMEOUT
    try:
        proc = subprocess.run([_base_python(), "-m", "venv", str(venv)], capture_output=True,
                              text=True, timeout=120)
        if proc.returncode != 0:
            raise _fail(version, "python -m venv failed: " + _last_lines(proc.stderr))
        pip = [str(_venv_python(venv)), "-m", "pip", "install", "--quiet",
               "--timeout", str(PIP_TIMEOUT), "--retries", "1"]
        _pip(version, venv, [*pip, "--no-deps", f"mlflow=={version}"], deadline)
        proc = subprocess.run([str(_venv_python(venv)), "-c", _REQS_SCRIPT, json.dumps(HEAVY)],
                              capture_output=True, text=True, env=_clean_env(venv), timeout=60)
        if proc.returncode != 0:
            raise _fail(version, "cannot read mlflow's requirements: "
                        + _last_lines(proc.stderr))
        _pip(version, venv, [*pip, *json.loads(proc.stdout), *pins_for(version)], deadline)
        broken = _check(venv, version)
        if broken:
            raise _fail(version, f"installed but does not import: {broken}")
        marker.write_text(want)  # only a complete, importable venv is ever reused
    except subprocess.TimeoutExpired:
        shutil.rmtree(venv, ignore_errors=True)
        raise _fail(version, f"venv build took more than {BUILD_TIMEOUT:.0f} s") from None
    except OldServerUnavailable:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(venv, ignore_errors=True)
        raise _fail(version, f"{type(exc).__name__}: {exc}") from None


def _pip(version: str, venv: Path, cmd: list[str], deadline: float) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_clean_env(venv),
                          timeout=max(60.0, deadline - time.monotonic()))
    if proc.returncode == 0:
        return
    text = proc.stderr + proc.stdout
    low = text.lower()
    if any(s in low for s in ("connection", "name resolution", "temporary failure",
                              "network is unreachable", "timed out", "max retries")):
        why = "pip could not reach the package index (offline?)"
    else:
        why = "pip install failed"
    raise _fail(version, f"{why}: {_last_lines(text)}")


# mlflow's own requirements (its metadata, markers evaluated here), less the HEAVY ones.
_REQS_SCRIPT = r"""
import importlib.metadata as md, json, sys
from pip._vendor.packaging.requirements import Requirement
skip = {n.lower() for n in json.loads(sys.argv[1])}
out = []
for text in md.requires("mlflow") or []:
    req = Requirement(text)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    if req.name.lower() in skip:
        continue
    req.marker = None
    out.append(str(req))
print(json.dumps(out))
"""


def skip_reason(version: str = OLD_VERSION) -> str | None:
    """None when the venv exists or was just built; else why the old-server tests must skip."""
    try:
        ensure_venv(version)
    except OldServerUnavailable as exc:
        return exc.reason
    return None


# --------------------------------------------------------------------------- the server
class OldMlflowServer:
    """`mlflow server` of an old MLflow on 127.0.0.1, sqlite store, one gunicorn worker, in
    its own process group. stop()/start() keep the port and the database.

    `gunicorn_opts` goes to --gunicorn-opts (e.g. "--timeout 120": gunicorn's default 30 s
    kills a worker in the middle of a very long get-history)."""

    def __init__(self, root: Path, version: str = OLD_VERSION, *,
                 gunicorn_opts: str | None = None) -> None:
        self.root = Path(root)
        self.version = version
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_uri = f"sqlite:///{self.root / 'mlflow.db'}"
        self.gunicorn_opts = gunicorn_opts
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.root / "server.log"
        self.venv: Path | None = None

    @property
    def python(self) -> Path:
        if self.venv is None:
            self.venv = ensure_venv(self.version)
        return _venv_python(self.venv)

    def start(self, timeout: float = 120.0) -> None:
        """Build the venv if needed (OldServerUnavailable when it cannot), start, wait for
        /health. A server that exits or never gets healthy raises RuntimeError with its log."""
        python = self.python
        assert self.venv is not None
        self.root.mkdir(parents=True, exist_ok=True)
        cmd = [str(python), "-m", "mlflow", "server", "--backend-store-uri", self.db_uri,
               "--default-artifact-root", str(self.root / "artifacts"), "--workers", "1",
               "--host", "127.0.0.1", "--port", str(self.port)]
        if self.gunicorn_opts:
            cmd += ["--gunicorn-opts", self.gunicorn_opts]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         env=_clean_env(self.venv), start_new_session=True,
                                         cwd=self.root)
        deadline = time.monotonic() + timeout
        while not _healthy(self.url):
            if self.proc.poll() is not None:
                self.proc = None
                raise RuntimeError(f"old mlflow {self.version} server exited:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"old mlflow {self.version} server not healthy in "
                                   f"{timeout:.0f} s:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.2)

    def stop(self, *, graceful: bool = True) -> None:
        """SIGTERM and its graceful timeout, as an operator stops it; not graceful: SIGKILL at
        once (a fixture's end: nothing reads the server's data again)."""
        if self.proc is not None:
            stop_process_group(self.proc, self.port, graceful=graceful)
            self.proc = None

    # ----------------------------------------------------------------- old-client calls
    def run_client(self, script: str, payload: Any, timeout: float = 300.0) -> Any:
        """Run `script` with the old venv's python, MLFLOW_TRACKING_URI set to this server;
        the script reads `payload` (JSON) from stdin and prints one JSON value last."""
        env = _clean_env(self.venv)
        env.update(MLFLOW_TRACKING_URI=self.url, MLFLOW_HTTP_REQUEST_MAX_RETRIES="2",
                   MLFLOW_HTTP_REQUEST_TIMEOUT="60")
        proc = subprocess.run([str(self.python), "-c", script], input=json.dumps(payload),
                              capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=self.root)
        if proc.returncode != 0:
            raise RuntimeError(f"old client script failed ({proc.returncode}):\n"
                               + proc.stderr[-3000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def seed(self, experiment: str = "old-server", runs: Sequence[dict[str, Any]] | None = None,
             keys: Iterable[str] = ("train_loss", "val_loss"),
             start_ms: int | None = None) -> dict[str, Any]:
        """Create `experiment` (or reuse it) and its runs through the old client.

        Each run spec: {"name": str, "status": "RUNNING"|"FINISHED"|"FAILED"|"KILLED",
        "steps": int (points per key, steps 0..steps-1), "params": {...}, "tags": {...}}.
        Default: three runs of 50 steps, RUNNING / FINISHED / FAILED.
        Values: train_loss falls, val_loss falls then rises (overfits) after 60% of the steps.
        Timestamps: start_ms + 1000 * step (start_ms defaults to now - 1 h).
        Returns {"experiment_id": str, "runs": [{"run_id", "name", "status", "steps"}]}."""
        if runs is None:
            runs = [{"name": "running", "status": "RUNNING", "steps": 50},
                    {"name": "finished", "status": "FINISHED", "steps": 50},
                    {"name": "failed", "status": "FAILED", "steps": 50}]
        payload = {"experiment": experiment, "runs": list(runs), "keys": list(keys),
                   "start_ms": start_ms if start_ms is not None
                   else int(time.time() * 1000) - 3_600_000}
        return self.run_client(_SEED_SCRIPT, payload)

    def log_points(self, run_id: str, key: str, points: Sequence[tuple[int, float, int]]) -> int:
        """Append (step, value, timestamp_ms) points to a run through the old client."""
        return self.run_client(_LOG_SCRIPT, {"run_id": run_id, "key": key,
                                             "points": [list(p) for p in points]})

    def set_status(self, run_id: str, status: str) -> None:
        """FINISHED / FAILED / KILLED (set_terminated) through the old client."""
        self.run_client(_STATUS_SCRIPT, {"run_id": run_id, "status": status})


# Scripts run by the OLD MLflow's python: only APIs present since MLflow 2.0
# (MlflowClient.create_run(run_name=), log_batch, set_terminated, search_experiments).
_SEED_SCRIPT = r"""
import json, math, sys
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

spec = json.load(sys.stdin)
client = MlflowClient()
exp = client.get_experiment_by_name(spec["experiment"])
exp_id = exp.experiment_id if exp else client.create_experiment(spec["experiment"])
out = []
for i, r in enumerate(spec["runs"]):
    run = client.create_run(exp_id, run_name=r.get("name"), start_time=spec["start_ms"] + i,
                            tags=r.get("tags") or {})
    rid = run.info.run_id
    steps = int(r.get("steps", 50))
    params = [Param(k, str(v)) for k, v in (r.get("params") or {}).items()]
    if params:
        client.log_batch(rid, params=params)
    metrics = []
    turn = max(1, int(steps * 0.6))
    for step in range(steps):
        ts = spec["start_ms"] + 1000 * step
        for key in spec["keys"]:
            if key.startswith("val"):
                v = 1.0 / (1 + 0.05 * min(step, turn)) + 0.002 * max(0, step - turn) + 0.05
            else:
                v = 1.0 / (1 + 0.05 * step) + 0.01 * math.sin(step + i)
            metrics.append(Metric(key, v, ts, step))
            if len(metrics) == 1000:
                client.log_batch(rid, metrics=metrics)
                metrics = []
    if metrics:
        client.log_batch(rid, metrics=metrics)
    status = r.get("status", "FINISHED")
    if status != "RUNNING":
        client.set_terminated(rid, status=status,
                              end_time=spec["start_ms"] + 1000 * max(steps, 1))
    out.append({"run_id": rid, "name": r.get("name"), "status": status, "steps": steps})
print(json.dumps({"experiment_id": str(exp_id), "runs": out}))
"""

_LOG_SCRIPT = r"""
import json, sys
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

spec = json.load(sys.stdin)
client = MlflowClient()
pts = [Metric(spec["key"], float(v), int(ts), int(step)) for step, v, ts in spec["points"]]
for i in range(0, len(pts), 1000):
    client.log_batch(spec["run_id"], metrics=pts[i:i + 1000])
print(json.dumps(len(pts)))
"""

_STATUS_SCRIPT = r"""
import json, sys
from mlflow.tracking import MlflowClient

spec = json.load(sys.stdin)
MlflowClient().set_terminated(spec["run_id"], status=spec["status"])
print("null")
"""


if __name__ == "__main__":  # python -m tests.old_server [VERSION]: build, start, seed, stop
    import tempfile

    v = sys.argv[1] if len(sys.argv) > 1 else OLD_VERSION
    t0 = time.monotonic()
    why = skip_reason(v)
    if why:
        print("SKIP:", why)
        raise SystemExit(1)
    t1 = time.monotonic()
    srv = OldMlflowServer(Path(tempfile.mkdtemp(prefix=f"old-mlflow-{v}-")), v)
    srv.start()
    t2 = time.monotonic()
    try:
        seeded = srv.seed()
        t3 = time.monotonic()
        print(json.dumps(seeded, indent=1))
        print(f"venv {t1 - t0:.1f} s, start {t2 - t1:.1f} s, seed {t3 - t2:.1f} s, {srv.url}")
    finally:
        srv.stop()
