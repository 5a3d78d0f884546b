"""How fast what happens on the server reaches the screen, measured end to end.

    python bench/live_latency.py [--interval 2] [--epochs 30] [--points-only] [--json PATH]

Starts a real `mlflow server` (sqlite, --workers 1) on 127.0.0.1, runs the app headless at the
given interval watching an experiment, runs a real training script (bench/train_digits.py,
train_loss and val_loss each epoch) against it, and prints:
- new run: server start_time of the run -> its row in the table;
- new point: the point's own timestamp -> the point in the charted series (p50 / p95 / max);
- status change: set_terminated() returned -> the status cell shows it;
- dead port: start -> the state line says it cannot connect (http://127.0.0.1:1);
- demo: start -> first RUNNING row of `mlflow-tui --demo`.
Targets from issue 2: each within interval + 1 s; dead port within 5 s; demo within 10 s.
Target 3 of issue 6 (freshness): new point p95 within interval + 0.5 s. `--points-only` skips
the dead-port and demo measures (bench/run_all.py uses it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from common import Report  # noqa: E402

from mlflow_tui.app import make_app  # noqa: E402
from mlflow_tui.settings.config import Settings  # noqa: E402
from mlflow_tui.widgets import RunTable  # noqa: E402
from tests.server import MlflowServer  # noqa: E402


async def until(predicate, timeout: float = 60.0, step: float = 0.02) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError
        await asyncio.sleep(step)
    return time.monotonic() - start


async def measure_server(interval: float, epochs: int) -> dict[str, object]:
    server = MlflowServer(Path(tempfile.mkdtemp(prefix="mlflow-tui-bench-")), uvicorn=True)
    server.start()
    try:
        client = server.client()
        name = f"bench/{uuid.uuid4().hex[:6]}/digits"
        client.create_experiment(name)
        app = make_app(Settings(uri=server.url, experiments=[name], interval=interval))
        async with app.run_test(size=(140, 40)):
            await until(lambda: app.session.state == "live")
            table = app.monitor.query_one(RunTable)
            env = dict(os.environ, MLFLOW_TRACKING_URI=server.url)
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "train_digits.py"), "-e", name,
                 "--epochs", str(epochs), "--sleep", "0.7"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            run_id = proc.stdout.readline().strip()
            await until(lambda: table.row_count == 1)
            run = client.get_run(run_id)
            appear = time.time() - run.info.start_time / 1000
            # Point latencies: watch the cached series and note when each step arrives.
            seen_at: dict[int, float] = {}

            def record() -> bool:
                for p in app.session.poller.points((run_id, "val_loss")):
                    seen_at.setdefault(p.step, time.time())
                return proc.poll() is not None

            await until(record, timeout=epochs * 3 + 60, step=0.01)
            await until(lambda: len(app.session.poller.points((run_id, "val_loss"))) >= epochs)
            record()
            history = {m.step: m.timestamp / 1000
                       for m in client.get_metric_history(run_id, "val_loss")}
            # the first points may predate the first chart load: skip the first two
            delays = sorted(seen_at[s] - history[s] for s in sorted(history)[2:] if s in seen_at)
            await until(lambda: "FINISHED" in str(table.get_cell(run_id, "status")))
            # Status change, measured from the moment the server has it.
            rid2 = client.create_run(client.get_experiment_by_name(name).experiment_id).info.run_id
            await until(lambda: rid2 in app.session.poller.runs)
            client.set_terminated(rid2, "KILLED")
            status = await until(lambda: "KILLED" in str(table.get_cell(rid2, "status")))
            requests = app.source.requests
    finally:
        server.stop()
    return {
        "new run": appear,
        "new point p50": statistics.median(delays),
        "new point p95": delays[int(0.95 * (len(delays) - 1))],
        "new point max": delays[-1],
        "points measured": len(delays),
        "status change": status,
        "requests": requests,
    }


async def measure_dead_port() -> float:
    app = make_app(Settings(uri="http://127.0.0.1:1", interval=2.0))
    async with app.run_test(size=(120, 30)):
        return await until(lambda: app.session.state in ("reconnecting", "error"), timeout=30)


async def measure_demo() -> float:
    app = make_app(Settings(demo=True, interval=2.0))
    async with app.run_test(size=(140, 40)):
        return await until(lambda: app.session.poller is not None and any(
            r.status.value == "RUNNING" and r.metrics for r in app.session.poller.runs.values())
            and app.monitor.query_one(RunTable).row_count > 0, timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--points-only", action="store_true",
                        help="only the live measures (skip the dead port and the demo)")
    parser.add_argument("--json")
    args = parser.parse_args()
    dead = demo = None
    if not args.points_only:
        dead = asyncio.run(measure_dead_port())
        demo = asyncio.run(measure_demo())
    live = asyncio.run(measure_server(args.interval, args.epochs))
    limit = args.interval + 1
    print(f"\nlive latency, interval {args.interval:g} s, mlflow server --workers 1 on loopback")
    print("| measure | seconds | target | holds |")
    print("|---|---|---|---|")
    for key in ("new run", "new point p50", "new point p95", "new point max", "status change"):
        value = float(live[key])  # type: ignore[arg-type]
        print(f"| {key} | {value:.2f} | <= {limit:g} | {'yes' if value <= limit else 'NO'} |")
    if dead is not None and demo is not None:
        print(f"| dead port -> error shown | {dead:.2f} | <= 5 | "
              f"{'yes' if dead <= 5 else 'NO'} |")
        print(f"| demo -> first live run on screen | {demo:.2f} | <= 10 | "
              f"{'yes' if demo <= 10 else 'NO'} |")
    print(f"({live['points measured']} points measured; {live['requests']} requests in all)")

    report = Report("live_latency")
    report.extra.update(live)
    fresh = args.interval + 0.5
    p95 = float(live["new point p95"])  # type: ignore[arg-type]
    ok = p95 <= fresh
    report.add(f"freshness: logged point -> app's charted series, p95 <= interval + 0.5 s "
               f"({fresh:g} s)", f"{p95:.2f} s (p50 {float(live['new point p50']):.2f}, max "
               f"{float(live['new point max']):.2f}; {live['points measured']} points)", ok,
               "" if ok else FRESH_NOTE)
    report.add(f"new run -> its row, <= interval + 1 s ({limit:g} s)",
               f"{float(live['new run']):.2f} s", float(live["new run"]) <= limit)
    report.add(f"status change -> status cell, <= interval + 1 s ({limit:g} s)",
               f"{float(live['status change']):.2f} s", float(live["status change"]) <= limit)
    report.write(args.json)


FRESH_NOTE = (
    "a point waits on average interval/2 for the next tick, then the tick's runs/search and "
    "bulk-interval round trips (two sequential requests to a one-worker server that the "
    "training script also writes to); on this shared 2-core machine those round trips take "
    "longer than on a quiet one. Closing it without more traffic: start the history request "
    "for running runs' charted series in the same round as runs/search (speculatively, "
    "from the last cached step) instead of after it.")


if __name__ == "__main__":
    main()
