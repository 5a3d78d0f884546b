"""What `mlflow-tui watch` costs the server, next to the monitor, on the same live workload.

    python bench/watch_traffic.py [--seconds 60] [--interval 2] [--json PATH]

Workload: bench/traffic.py's (one experiment with 25 runs, 20 FINISHED with 4 metrics x 500
steps and 5 RUNNING, each 2,000 steps in; a background thread logs train_loss and val_loss of
each running run once per second), on a real `mlflow server` (sqlite, --workers 1, loopback).

Measured, each through its own tests/proxy.py FaultProxy (every request and its bytes, both
ways), for SECONDS of steady state, one after the other while the logger runs:

- the monitor (bench/traffic.py's measure_monitor: headless app, -e the experiment, 2 s);
- the real console command `mlflow-tui watch PROXY -e EXPERIMENT --interval 2 --since 1h
  --no-state` in a subprocess; steady state starts 4 s after its first pass printed the 5
  run_started events (its one-off history reads are over).

Target: the watcher sends no more than the monitor (requests/min and MB/min).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Report, mlflow_server  # noqa: E402
from traffic import live_workload, measure_monitor, summarise  # noqa: E402

from tests.proxy import FaultProxy  # noqa: E402
from tests.server import wait_until_sync  # noqa: E402


def measure_watch(url: str, name: str, seconds: float, interval: float) -> dict[str, object]:
    """The console command `mlflow-tui watch` through a proxy, `seconds` of steady state."""
    with FaultProxy(url) as proxy, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "events.jsonl"
        err = Path(tmp) / "stderr.txt"
        env = dict(os.environ, XDG_CACHE_HOME=tmp, XDG_CONFIG_HOME=tmp)
        env.pop("MLFLOW_TRACKING_URI", None)
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mlflow_tui", "watch", proxy.url, "-e", name,
                 "--interval", str(interval), "--since", "1h", "--no-state"],
                stdout=stdout, stderr=stderr, env=env, start_new_session=True, cwd=tmp)
            try:
                def started() -> bool:
                    if proc.poll() is not None:
                        raise RuntimeError(f"watch exited {proc.returncode}: "
                                           + err.read_text()[-500:])
                    lines = out.read_text().splitlines()
                    return sum(json.loads(x)["event"] == "run_started" for x in lines) >= 5

                wait_until_sync(started, timeout=120, message="the watcher's first pass")
                time.sleep(4.0)  # its one-off loads settle (as the monitor's measurement)
                proxy.clear()
                t0 = time.monotonic()
                time.sleep(seconds)
                result = summarise(proxy, time.monotonic() - t0)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
        result["events"] = [json.loads(x)["event"] for x in out.read_text().splitlines()]
        result["stderr"] = err.read_text()[-2000:]
        result["exit"] = proc.returncode
    return result


def _rates(result: dict[str, object]) -> tuple[float, float]:
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    return (int(result["requests"]) / seconds * 60,  # type: ignore[call-overload]
            float(result["mb_per_minute"]))  # type: ignore[arg-type]


def _show(label: str, result: dict[str, object]) -> None:
    requests, mb = _rates(result)
    print(f"\n{label}, {float(result['seconds']):.0f} s: {requests:.0f} requests/min, "
          f"{mb:.3f} MB/min")
    for path, v in sorted(result["by_path"].items()):  # type: ignore[union-attr]
        print(f"  {path}: {v['requests']} requests, {v['bytes'] / 1e3:.0f} KB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    report = Report("watch_traffic")
    with mlflow_server() as server, live_workload(server) as (name, live, logger):
        monitor = asyncio.run(measure_monitor(server.url, name, live, args.seconds))
        watch = measure_watch(server.url, name, args.seconds, args.interval)
    report.extra.update(monitor=monitor, watch=watch, logger_errors=logger.errors)
    _show("monitor", monitor)
    _show("mlflow-tui watch", watch)
    print(f"  watch events: {watch['events']}; stderr: {watch['stderr']!r}")
    m_req, m_mb = _rates(monitor)
    w_req, w_mb = _rates(watch)
    report.add("traffic, `mlflow-tui watch -e EXP` on the traffic workload (25 runs, 5 "
               f"logging every second), {args.interval:g} s interval: <= the monitor's",
               f"{w_mb:.3f} MB/min, {w_req:.0f} requests/min (monitor: {m_mb:.3f} MB/min, "
               f"{m_req:.0f} requests/min; {float(watch['seconds']):.0f} s each)",
               w_mb <= m_mb and w_req <= m_req)
    report.print("watch traffic, mlflow server --workers 1 on loopback")
    report.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
