"""A real `mlflow server` on 127.0.0.1 for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def wait_until_sync(predicate, timeout: float = 10.0, interval: float = 0.05,
                    message: str = "") -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {message or predicate}")
        time.sleep(interval)
    return time.monotonic() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


class MlflowServer:
    """A real `mlflow server` on 127.0.0.1 with a sqlite store, one worker, in its own process
    group. stop()/start() keep the port and the database (a restart, as users see it)."""

    def __init__(self, root: Path, *, serve_artifacts: bool = False,
                 extra_args: tuple[str, ...] = (), uvicorn: bool = False,
                 artifacts_destination: str = "", env: dict[str, str] | None = None) -> None:
        self.root = root
        # With serve_artifacts: where the server keeps the files (s3://... with env for it);
        # a folder under root by default.
        self.artifacts_destination = artifacts_destination or str(root / "artifacts")
        self.env = env or {}
        self.extra_args = extra_args  # more `mlflow server` flags, e.g. --enable-workspaces
        # The web server in front of MLflow's Flask app: MLflow 3's default is uvicorn (the
        # Flask app under FastAPI); `--gunicorn-opts` serves the same Flask app with gunicorn,
        # MLflow 2's default and still a common deployment. The REST API is the same code
        # either way; gunicorn (4 threads) costs ~40% less CPU per request (5-7 ms against
        # 9-10 ms on search and get-history), and serving is most of the servers' CPU in the
        # suite. Its graceful timeout is 1 s: a stop otherwise waits 15 s for any client that
        # keeps a connection open. `uvicorn=True` for the servers that test MLflow 3's stack:
        # the workspaces server (test_deployments.py), the "every experiment" status server
        # (test_status.py) and the benchmarks' (bench/common.py).
        self.uvicorn = uvicorn
        # serve_artifacts: runs get proxied `mlflow-artifacts:` roots (--serve-artifacts with
        # --artifacts-destination), as most shared servers are set up; else a local root.
        self.serve_artifacts = serve_artifacts
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_uri = f"sqlite:///{root / 'mlflow.db'}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "server.log"

    def start(self, timeout: float = 120.0) -> None:
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", **self.env)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", self.db_uri,
                 *(["--artifacts-destination", self.artifacts_destination, "--serve-artifacts"]
                   if self.serve_artifacts else
                   ["--default-artifact-root", str(self.root / "artifacts")]),
                 "--workers", "1", *self.extra_args,
                 *(() if self.uvicorn else
                   ("--gunicorn-opts", "--log-level=warning --threads=4 --graceful-timeout=1")),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                cwd=self.root,
            )
        deadline = time.monotonic() + timeout
        while not _healthy(self.url):
            if self.proc.poll() is not None:
                raise RuntimeError("mlflow server exited:\n" + self.log.read_text()[-3000:])
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("mlflow server did not become healthy:\n"
                                   + self.log.read_text()[-3000:])
            time.sleep(0.2)

    def stop(self, *, graceful: bool = True) -> None:
        """Stop the server as an operator would (SIGTERM, then its graceful timeout); not
        graceful: SIGKILL at once, for the end of a session, when nothing is read again."""
        if self.proc is not None:
            stop_process_group(self.proc, self.port, graceful=graceful)
            self.proc = None

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(self.url)


def stop_process_group(proc: subprocess.Popen[bytes], port: int, *, graceful: bool) -> None:
    """End a server started in its own process group (start_new_session): SIGTERM and its
    graceful timeout (SIGKILL after 15 s), or SIGKILL at once; then SIGKILL whatever is left in
    the group (gunicorn's workers must not outlive their master) and wait until `port` is free
    (a restart binds it again)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    wait_until_sync(lambda: not _port_open(port), timeout=15, message="port closed")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


