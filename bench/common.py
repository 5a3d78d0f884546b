"""Shared pieces of the benchmarks: a real server, fast seeding, a pseudo-terminal, results.

Every benchmark prints its own figures and, with `--json PATH`, also writes them as a list of
results (target, measured figure, holds, notes) that `bench/run_all.py` turns into
bench/RESULTS.md.

Seeding: creating thousands of runs or millions of points through the REST API takes minutes,
so `Seeder` writes rows straight into the server's sqlite database (tables `runs`, `tags`,
`params`, `metrics`, `latest_metrics`, as mlflow 3.x creates them) while the server runs; the
server reads them like any others (the SQL store caches nothing). The experiment itself is
created through the REST API.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import fcntl
import json
import math
import os
import pty
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.server import MlflowServer  # noqa: E402

API = "/api/2.0/mlflow"


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so that `finally` blocks stop the servers we started


signal.signal(signal.SIGTERM, _terminate)


# ---------------------------------------------------------------------- results
@dataclass
class Result:
    target: str  # what is promised, e.g. "chart update, 1M points <= 30 ms"
    figure: str  # what was measured, formatted
    holds: bool | None  # None: informational, no target
    notes: str = ""  # for a miss: why, and what would close it
    bench: str = ""


@dataclass
class Report:
    bench: str
    results: list[Result] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def add(self, target: str, figure: str, holds: bool | None, notes: str = "") -> None:
        self.results.append(Result(target, figure, holds, notes,
                                   self.bench))

    def print(self, title: str) -> None:
        print(f"\n{title}")
        print("| target | measured | holds |")
        print("|---|---|---|")
        for r in self.results:
            print(f"| {r.target} | {r.figure} | {yes_no(r.holds)} |")
        for r in self.results:
            if r.holds is False and r.notes:
                print(f"- miss: {r.target}: {r.notes}")

    def write(self, path: str | None) -> None:
        if not path:
            return
        data = {"bench": self.bench, "results": [asdict(r) for r in self.results],
                "extra": self.extra}
        Path(path).write_text(json.dumps(data, indent=1, default=str))


def yes_no(holds: bool | None) -> str:
    return "—" if holds is None else ("yes" if holds else "**NO**")


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    xs = sorted(values)
    if not xs:
        return math.nan
    return xs[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))]


async def until(predicate, timeout: float = 60.0, step: float = 0.02) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"waited {timeout} s")
        await asyncio.sleep(step)
    return time.monotonic() - start


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


# ---------------------------------------------------------------------- server
@contextlib.contextmanager
def mlflow_server(*, serve_artifacts: bool = False) -> Iterator[MlflowServer]:
    """A real `mlflow server` (sqlite, --workers 1, loopback) for the duration of the block,
    served by uvicorn as MLflow 3 does by default (the tests' servers use gunicorn)."""
    server = MlflowServer(Path(tempfile.mkdtemp(prefix="mlflow-tui-bench-")),
                          serve_artifacts=serve_artifacts, uvicorn=True)
    started = time.monotonic()
    try:
        server.start()
        print(f"  (mlflow server ready in {time.monotonic() - started:.1f} s at {server.url})",
              flush=True)
        yield server
    finally:
        server.stop()


def create_experiment(url: str, name: str) -> str:
    import httpx

    response = httpx.post(url + API + "/experiments/create", json={"name": name}, timeout=60)
    response.raise_for_status()
    return str(response.json()["experiment_id"])


class Seeder:
    """Writes runs and metric rows straight into the server's sqlite database."""

    def __init__(self, server: MlflowServer) -> None:
        self.db_path = server.root / "mlflow.db"
        self.artifacts = server.root / "artifacts"
        self.url = server.url

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.db_path), timeout=60)
        db.execute("PRAGMA busy_timeout = 60000")
        return db

    def runs(self, experiment_id: str, names: list[str], *, status: str = "FINISHED",
             start_ms: int | None = None, spacing_ms: int = 1000, duration_ms: int = 600_000,
             params: dict[str, str] | None = None, latest: dict[str, float] | None = None,
             latest_step: int = 0) -> list[str]:
        """Insert runs named `names`, started `spacing_ms` apart (the last one newest), with
        the usual tags, `params` and `latest` metric values (latest_metrics rows only)."""
        now = int(time.time() * 1000)
        first = start_ms if start_ms is not None else now - spacing_ms * len(names) - duration_ms
        ids: list[str] = []
        runs, tags, prms, lms = [], [], [], []
        for i, name in enumerate(names):
            rid = uuid.uuid4().hex
            ids.append(rid)
            start = first + i * spacing_ms
            end = None if status in ("RUNNING", "SCHEDULED") else start + duration_ms
            runs.append((rid, name, "UNKNOWN", "bench.py", "", "bench", status, start, end, "",
                         "active", f"{self.artifacts}/{experiment_id}/{rid}/artifacts",
                         int(experiment_id), None))
            tags += [("mlflow.runName", name, rid), ("mlflow.user", "bench", rid),
                     ("mlflow.source.name", "bench.py", rid),
                     ("mlflow.source.type", "LOCAL", rid)]
            for key, value in (params or {}).items():
                prms.append((key, value, rid))
            for key, value in (latest or {}).items():
                lms.append((key, value + 0.001 * (i % 97), start + duration_ms // 2,
                            latest_step, 0, rid))
        with contextlib.closing(self._connect()) as db, db:
            db.executemany("INSERT INTO runs (run_uuid, name, source_type, source_name, "
                           "entry_point_name, user_id, status, start_time, end_time, "
                           "source_version, lifecycle_stage, artifact_uri, experiment_id, "
                           "deleted_time) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
            db.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
            db.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", prms)
            db.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, "
                           "run_uuid) VALUES (?,?,?,?,?,?)", lms)
        return ids

    def history(self, run_id: str, keys: Iterable[str], steps: int, *, start_ms: int,
                every_ms: int = 1000, offset: float = 0.0) -> int:
        """Insert `steps` points (steps 0..steps-1, one every `every_ms`) of each key and the
        matching latest_metrics row. Loss-like curves: decaying, val rising late."""
        keys = list(keys)
        rows: list[tuple[str, float, int, str, int, int]] = []
        latest = []
        for k, key in enumerate(keys):
            val = "val" in key
            for s in range(steps):
                t = s / max(steps, 1)
                y = math.exp(-3 * t) + 0.05 * math.sin(s * 0.37 + k) * (1 - t) + offset
                if val:
                    y += 0.1 + 0.3 * max(0.0, t - 0.6) ** 2
                rows.append((key, y, start_ms + s * every_ms, run_id, s, 0))
            latest.append((key, rows[-1][1], rows[-1][2], steps - 1, 0, run_id))
        with contextlib.closing(self._connect()) as db, db:
            for i in range(0, len(rows), 200_000):
                db.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, "
                               "is_nan) VALUES (?,?,?,?,?,?)", rows[i:i + 200_000])
            db.executemany("INSERT OR REPLACE INTO latest_metrics (key, value, timestamp, step, "
                           "is_nan, run_uuid) VALUES (?,?,?,?,?,?)", latest)
        return len(rows)


# ---------------------------------------------------------------------- pseudo-terminal
class PtyApp:
    """The real `mlflow-tui` command in a pseudo-terminal of a given size. A reader thread
    keeps every chunk written to the terminal with the time it arrived."""

    def __init__(self, args: list[str], *, cols: int = 160, rows: int = 45,
                 env: dict[str, str] | None = None, stderr: Path | None = None,
                 python_flags: list[str] | None = None) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        environment = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor",
                           COLUMNS=str(cols), LINES=str(rows))
        for name in ("TEXTUAL", "TEXTUAL_DRIVER", "TEXTUAL_DEBUG", "MLFLOW_TRACKING_URI"):
            environment.pop(name, None)
        environment.update(env or {})
        script = Path(sys.executable).parent / "mlflow-tui"
        if python_flags:
            command = [sys.executable, *python_flags, "-m", "mlflow_tui", *args]
        else:
            command = [str(script), *args]
        self._err = open(stderr, "wb") if stderr else None  # noqa: SIM115
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(command, stdin=slave, stdout=slave,
                                     stderr=self._err or slave, start_new_session=True,
                                     env=environment, close_fds=True, cwd=tempfile.gettempdir())
        os.close(slave)
        # (time, bytes) of each read, and the times alone (sorted: a search starts at its
        # `since` by bisection). Nothing grows per chunk beyond the chunk itself: a reader
        # that re-joined the whole output would slow down over a long session and be
        # counted as the app's latency.
        self.chunks: list[tuple[float, bytes]] = []
        self._times: list[float] = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        while not self._stop:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            with self._lock:
                self.chunks.append((now, data))
                self._times.append(now)

    def text_since(self, t0: float) -> str:
        with self._lock:
            return b"".join(d for t, d in self.chunks if t >= t0).decode("utf-8", "replace")

    def bytes_between(self, t0: float, t1: float) -> int:
        with self._lock:
            return sum(len(d) for t, d in self.chunks if t0 <= t < t1)

    def first_time(self, needle: str, since: float | None = None) -> float | None:
        """perf_counter time of the chunk that completed the first `needle` after `since`."""
        since = self.started if since is None else since
        with self._lock:
            chunks = self.chunks[bisect.bisect_left(self._times, since):]
        buf = b""
        for t, d in chunks:
            buf += d
            if needle in buf.decode("utf-8", "replace"):
                return t
        return None

    def wait_for(self, needle: str, timeout: float = 30.0, since: float | None = None) -> float:
        """Seconds from `since` (default: process start) until `needle` was written."""
        since = self.started if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            t = self.first_time(needle, since)
            if t is not None:
                return t - since
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow-tui exited ({self.proc.returncode}): "
                                   + self.text_since(self.started)[-500:])
            if time.monotonic() > deadline:
                raise TimeoutError(f"{needle!r} not on screen after {timeout} s")
            time.sleep(0.005)

    def write(self, data: str) -> float:
        t = time.perf_counter()
        os.write(self.master, data.encode())
        return t

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return math.nan

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, b"q")
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self._stop = True
        self._thread.join(2)
        with contextlib.suppress(OSError):
            os.close(self.master)
        if self._err is not None:
            self._err.close()

    def __enter__(self) -> PtyApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
