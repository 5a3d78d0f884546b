"""Long session with faults: memory growth and lost or duplicated points.

    python bench/soak.py [--minutes 10] [--interval 2] [--json PATH]

A real `mlflow server` (sqlite, --workers 1) behind the fault-injecting proxy of the test suite;
three training runs log train_loss and val_loss twice a second, and a new run starts every two
minutes. The app runs headless at the given interval, watching the experiment. Every minute one
fault is injected for 15-25 s, in turn: the port refuses (server gone), 503 answers, 3 s added
to each answer, connections reset mid-response, a reverse proxy's HTML 502 page, and a real
restart of the server process on the same database.

At the end the faults stop, the app catches up, and every series the app holds is compared,
point by point, with the server's full history: points missing from the cache and steps held
twice are counted (both targets: none). The process's RSS is sampled every 10 s after a one
minute warm-up; growth is reported from the first sample to the median of the last three.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import Report, mlflow_server  # noqa: E402
from mlflow_tui.app import make_app  # noqa: E402
from mlflow_tui.settings.config import Settings  # noqa: E402
from tests.proxy import Fault, FaultProxy  # noqa: E402

FAULTS = ["down", "503", "slow", "reset", "html", "restart"]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() / 2**20


class Workload(threading.Thread):
    """Runs logging train_loss and val_loss twice a second; retries through server outages."""

    def __init__(self, url: str, experiment_id: str, new_run_every: float) -> None:
        super().__init__(daemon=True, name="workload")
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(url)
        self.exp = experiment_id
        self.new_run_every = new_run_every
        self.stop = threading.Event()
        self.runs: dict[str, int] = {}  # run id -> next step
        self.failures = 0

    def _new_run(self) -> None:
        rid = self.client.create_run(self.exp, run_name=f"soak-{len(self.runs)}").info.run_id
        self.runs[rid] = 0

    def run(self) -> None:
        from mlflow.entities import Metric

        for _ in range(3):
            self._new_run()
        last_new = time.monotonic()
        while not self.stop.wait(0.5):
            try:
                if time.monotonic() - last_new > self.new_run_every:
                    self._new_run()
                    last_new = time.monotonic()
                now = int(time.time() * 1000)
                for rid, step in list(self.runs.items()):
                    train = 1.0 / (1 + step / 50)
                    val = train + 0.1 + (0.002 * max(0, step - 300))
                    self.client.log_batch(rid, metrics=[Metric("train_loss", train, now, step),
                                                        Metric("val_loss", val, now, step)])
                    self.runs[rid] = step + 1
            except Exception:  # noqa: BLE001 - the server is being restarted: log again later
                self.failures += 1


async def soak(minutes: float, interval: float, report: Report, trace: bool = False) -> None:
    with mlflow_server() as server:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(server.url)
        name = f"soak/{uuid.uuid4().hex[:6]}"
        exp = client.create_experiment(name)
        workload = Workload(server.url, exp, new_run_every=120)
        workload.start()
        with FaultProxy(server.url) as proxy:
            app = make_app(Settings(uri=proxy.url, experiments=[name], interval=interval,
                                    max_backoff=10.0, bell=False))
            async with app.run_test(size=(160, 45)):
                start = time.monotonic()
                end = start + minutes * 60
                samples: list[tuple[float, float]] = []
                next_sample = start + 60
                fault_log: list[str] = []
                minute = 0
                while time.monotonic() < end:
                    now = time.monotonic()
                    if now >= next_sample:
                        samples.append((now - start, rss_mb()))
                        if len(samples) == 1:
                            tracemalloc.start(1)
                            first_snapshot = tracemalloc.take_snapshot()
                        next_sample += 10
                    if now - start >= 60 * (minute + 1) and now + 30 < end:
                        kind = FAULTS[minute % len(FAULTS)]
                        minute += 1
                        fault_log.append(kind)
                        await inject(kind, proxy, server)
                        continue
                    await asyncio.sleep(1)
                proxy.fault = None
                proxy.up()
                workload.stop.set()
                workload.join(30)
                # Catch up: wait until the app is live and holds every point the server has.
                deadline = time.monotonic() + 90
                lost = dup = total = 0
                while True:
                    lost, dup, total = compare(app, client)
                    if (lost == 0 and app.session.state == "live") or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(1)
                state = app.session.state
                heap: dict[str, float] = {}
                if samples:
                    heap = print_growth(first_snapshot, tracemalloc.take_snapshot(),
                                        12 if trace else 0)
                    tracemalloc.stop()
        rss = [mb for _, mb in samples]
        first = rss[0] if rss else float("nan")
        last = statistics.median(rss[-3:]) if rss else float("nan")
        growth = last - first
        print(f"faults injected: {', '.join(fault_log)}")
        print(f"workload: {len(workload.runs)} runs, "
              f"{sum(workload.runs.values())} steps x 2 metrics logged "
              f"({workload.failures} logging rounds failed during outages)")
        print(f"RSS (MB) every 10 s after warm-up: {[round(m, 1) for m in rss]}")
        print(f"RSS first {first:.1f} MB, last {last:.1f} MB, growth {growth:+.1f} MB")
        print(f"series compared: {total} points on the server; missing in the app {lost}, "
              f"duplicated {dup}; final state {state}")
        print("Python heap growth after warm-up, by part: " + ", ".join(
            f"{kind} {mb:+.1f} MB" for kind, mb in sorted(heap.items())))
        report.add(f"soak {minutes:g} min, {len(fault_log)} faults: RSS growth after warm-up",
                   f"{growth:+.1f} MB ({first:.0f} -> {last:.0f} MB; with tracemalloc on)", None)
        report.add("soak: heap growth of the cached points, runs and render caches",
                   f"data {heap.get('data', 0.0):+.1f} MB, Textual/Rich caches "
                   f"{heap.get('render caches', 0.0):+.1f} MB (bounded LRU caches)", None)
        own = heap.get("app state", 0.0)
        report.add("soak: heap growth of the app's own state <= 0.5 MB", f"{own:+.2f} MB",
                   own <= 0.5, "the app keeps per-run or per-tick state it never prunes")
        report.add("soak: points lost / duplicated after recovery",
                   f"{lost} lost, {dup} duplicated of {total}", lost == 0 and dup == 0,
                   "the cache and the server disagree after the faults")


async def inject(kind: str, proxy: FaultProxy, server) -> None:
    print(f"  {time.strftime('%H:%M:%S')} fault: {kind}", flush=True)
    if kind == "down":
        proxy.down()
        await asyncio.sleep(20)
        proxy.up()
    elif kind == "restart":
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(5)
        await asyncio.to_thread(server.start)
    else:
        proxy.fault = {"503": Fault(status=503), "slow": Fault(delay=3.0),
                       "reset": Fault(reset=True), "html": Fault(status=502, html=True)}[kind]
        await asyncio.sleep(20)
        proxy.fault = None


def category(filename: str) -> str:
    """Which part of the process a heap block belongs to, by the file that allocated it."""
    if filename == "<string>" or filename.endswith(("/json/decoder.py", "tui/tracking/rest.py",
                                                    "tui/tracking/poller.py")):
        return "data"  # cached points (dataclass code compiled from a string), runs, JSON
    if "/textual/" in filename or "/rich/" in filename:
        return "render caches"  # Textual's LRU caches (DataTable: 10,000 cells) fill up
    if any(f"/{d}/" in filename for d in ("tui", "widgets", "mlflow_tui")):
        return "app state"
    return "bench and libraries"  # the proxy's records, the workload's MLflow client, ...


def print_growth(before, after, top: int) -> dict[str, float]:
    """Python heap growth between the snapshots, in MB, by category."""
    stats = after.compare_to(before, "filename")
    if top:
        print("heap growth by file (tracemalloc):")
        for stat in stats[:top]:
            print(f"  {stat.size_diff / 2**20:+7.2f} MB  {stat.count_diff:+8d} blocks  "
                  f"{stat.traceback[0].filename}")
    out: dict[str, float] = {}
    for stat in stats:
        kind = category(stat.traceback[0].filename)
        out[kind] = out.get(kind, 0.0) + stat.size_diff / 2**20
    return out


def compare(app, client) -> tuple[int, int, int]:
    """(server points missing from the app's series, steps the app holds twice, server points)"""
    lost = dup = total = 0
    poller = app.session.poller
    for rid in list(poller.runs):
        for key in ("train_loss", "val_loss"):
            cached = poller.points((rid, key))
            if not cached:
                continue
            steps = [p.step for p in cached]
            dup += len(steps) - len(set(steps))
            history = {m.step for m in client.get_metric_history(rid, key)}
            total += len(history)
            lost += len(history - set(steps))
    return lost, dup, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--json")
    parser.add_argument("--trace", action="store_true",
                        help="also show where the Python heap grew (tracemalloc; slower)")
    args = parser.parse_args()
    report = Report("soak")
    asyncio.run(soak(args.minutes, args.interval, report, args.trace))
    report.print("Soak with faults")
    report.write(args.json)


if __name__ == "__main__":
    main()
