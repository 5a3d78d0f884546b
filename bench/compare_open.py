"""Time to open the compare view with N marked runs, on a local `mlflow server`.

    python bench/compare_open.py [--runs 20] [--steps 500] [--keys 4]

Seeds one experiment with N finished runs (KEYS metrics x STEPS points each, logged with
log_batch), opens the app headless on it, marks every run, presses c, and measures until the
compare table holds every run with its statistics and the chart has drawn every series.
Target (issue 4): under 1 s for 20 runs. Server: sqlite, --workers 1, loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlflow.entities import Metric  # noqa: E402

from tests.server import MlflowServer  # noqa: E402
from tui.app import make_app  # noqa: E402
from tui.config import Settings  # noqa: E402
from tui.screens.compare import CompareScreen  # noqa: E402
from widgets import MetricChart, RunTable  # noqa: E402

KEYS = ("train_loss", "val_loss", "train_acc", "val_acc", "lr", "grad_norm")


def seed(client, runs: int, steps: int, keys: int) -> str:
    name = f"bench/{uuid.uuid4().hex[:6]}/compare"
    exp = client.create_experiment(name)
    now = int(time.time() * 1000)
    for r in range(runs):
        rid = client.create_run(exp, run_name=f"run-{r:02d}").info.run_id
        client.log_param(rid, "lr", str(10 ** -(1 + r % 4)))
        metrics = [Metric(k, math.exp(-s / 200) + 0.01 * r, now + s, s)
                   for k in KEYS[:keys] for s in range(steps)]
        for i in range(0, len(metrics), 1000):
            client.log_batch(rid, metrics=metrics[i:i + 1000])
        client.set_terminated(rid, "FINISHED")
    return name


async def measure(url: str, name: str, runs: int, keys: int) -> float:
    app = make_app(Settings(uri=url, experiments=[name], interval=2.0))
    async with app.run_test(size=(160, 45)) as pilot:
        table = app.monitor.query_one(RunTable)
        while table.row_count < runs:
            await asyncio.sleep(0.02)
        app.marked = dict(app.poller.runs)  # the same as space on every row
        await asyncio.sleep(1.0)  # let start-up work (warming imports) finish
        start = time.perf_counter()
        await pilot.press("c")
        while True:
            screen = app.screen
            frame = app.compare_frame
            if (isinstance(screen, CompareScreen) and frame is not None and len(frame) == runs
                    and frame["val_loss.min"].notna().all()):
                chart = screen.query_one(MetricChart)
                if len(chart.series_labels) == 2 * runs and chart.render_count > 0:
                    break
            await asyncio.sleep(0.005)
        took = time.perf_counter() - start
        last = f"{KEYS[keys - 1]}.min"
        while not (last in app.compare_frame and app.compare_frame[last].notna().all()):
            await asyncio.sleep(0.005)
        complete = time.perf_counter() - start
        requests = app.source.requests
        await pilot.press("escape")
    print(f"  open: {took:.3f} s, every metric's statistics: {complete:.3f} s "
          f"({requests} requests in the session)")
    return took, complete


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--keys", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = MlflowServer(Path(tempfile.mkdtemp(prefix="mlflow-tui-bench-")))
    server.start()
    try:
        name = seed(server.client(), args.runs, args.steps, args.keys)
        both = [asyncio.run(measure(server.url, name, args.runs, args.keys))
                for _ in range(args.repeat)]
    finally:
        server.stop()
    times = [t for t, _ in both]
    best, median = min(times), statistics.median(times)
    complete = statistics.median([c for _, c in both])
    print(f"\ncompare view, {args.runs} marked runs x {args.keys} metrics x {args.steps} steps, "
          "mlflow server --workers 1 on loopback")
    print("| measure | seconds | target | holds |")
    print("|---|---|---|---|")
    print(f"| open, median of {args.repeat} | {median:.3f} | < 1 | "
          f"{'yes' if median < 1 else 'NO'} |")
    print(f"| open, best | {best:.3f} | < 1 | {'yes' if best < 1 else 'NO'} |")
    print(f"| every metric's min/max/best in the table, median | {complete:.3f} | — | — |")
    print("(open = the chart shows every run's train and validation curves and the table every "
          "run with the charted metric's statistics)")


if __name__ == "__main__":
    main()
