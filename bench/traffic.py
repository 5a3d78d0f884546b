"""Target 2: server traffic of the app charting 5 live runs, against a naive poller.

    python bench/traffic.py [--seconds 60] [--naive-seconds 60] [--json PATH]

Workload, on a real `mlflow server` (sqlite, --workers 1, loopback): one experiment with 25
runs, 20 FINISHED with 4 metrics x 500 steps and 5 RUNNING, each 2,000 steps in; during the
measurement a background thread logs train_loss and val_loss of each running run once per
second (log-batch, straight to the server). The app (headless, 160x45, interval 2 s) talks to the
server through tests/proxy.py FaultProxy, which counts every request and its bytes. The app
charts several runs in its compare view: the 5 running runs are marked and `c` opens it; it then
keeps train_loss and val_loss of all 5 fresh: most ticks are light (a status probe that answers
nothing, then one open-ended bulk-interval window per metric from the last cached step), every
5th tick lists the 5 runs whole and every 30 s a full listing (see tui/tracking/poller.py).
Traffic is counted for SECONDS once the view is open. Target: <= 0.3 MB per minute.

The naive poller, through its own FaultProxy: every 2 s one runs/search for the same 5 runs and
a full get-history of each of the 10 charted series (what a poller that re-fetches the whole
history every tick costs; httpx directly). The ratio naive / app is printed.

    python bench/traffic.py --old [VERSION] [--old-seconds 240] [--old-only]

also measures the same app and naive poller against an OLD server (default 2.9.2: no
get-history-bulk-interval; a lean venv built once by tests/old_server.py, gunicorn, one worker),
seeded the same way, and prints its bytes/min and requests/min next to the modern path's. There
every history read is a whole series, so the app lists the active runs every tick, appends their
latest points and reads a series again only when its refresh is due (~100 s for 2,000 points:
tui/tracking/poller.py): OLD_SECONDS (default 240 s) covers a couple of those cycles, a 60 s
window would miss them.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from common import API, Report, Seeder, create_experiment, mlflow_server, until  # noqa: E402

from mlflow_tui.app import make_app  # noqa: E402
from mlflow_tui.screens.compare import CompareScreen  # noqa: E402
from mlflow_tui.settings.config import Settings  # noqa: E402
from mlflow_tui.widgets import MetricChart, RunTable  # noqa: E402
from tests.proxy import FaultProxy  # noqa: E402

TARGET_MB = 0.3
KEYS4 = ("train_loss", "val_loss", "train_acc", "val_acc")
LIVE_KEYS = ("train_loss", "val_loss")


def seed(server) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    name = f"bench/{uuid.uuid4().hex[:6]}/traffic"
    exp = create_experiment(server.url, name)
    seeder = Seeder(server)
    now = int(time.time() * 1000)
    done = seeder.runs(exp, [f"done-{i:02d}" for i in range(20)], status="FINISHED",
                       start_ms=now - 3 * 86_400_000, spacing_ms=3_600_000,
                       params={"lr": "0.01", "batch": "64"})
    for i, rid in enumerate(done):
        seeder.history(rid, KEYS4, 500, start_ms=now - 3 * 86_400_000 + i * 3_600_000,
                       offset=0.01 * i)
    live_start = now - 2000 * 1000 - 5000
    live = seeder.runs(exp, [f"live-{i}" for i in range(5)], status="RUNNING",
                       start_ms=live_start, spacing_ms=1000, params={"lr": "0.001"})
    for i, rid in enumerate(live):
        seeder.history(rid, LIVE_KEYS, 2000, start_ms=live_start + i * 1000, offset=0.01 * i)
    return name, live


class Logger(threading.Thread):
    """Logs train_loss and val_loss of each running run once per second, from step 2000 on."""

    def __init__(self, url: str, run_ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.run_ids = url, run_ids
        self.stop_event = threading.Event()
        self.step = 2000
        self.errors = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop_event.is_set():
                t0 = time.monotonic()
                ts = int(time.time() * 1000)
                for rid in self.run_ids:
                    metrics = [{"key": k, "value": 0.05 + 0.0001 * (self.step % 50), "step":
                                self.step, "timestamp": ts} for k in LIVE_KEYS]
                    try:
                        client.post(API + "/runs/log-batch",
                                    json={"run_id": rid, "metrics": metrics}).raise_for_status()
                    except httpx.HTTPError:
                        self.errors += 1
                self.step += 1
                self.stop_event.wait(max(0.0, 1.0 - (time.monotonic() - t0)))


@contextlib.contextmanager
def live_workload(server):  # type: ignore[no-untyped-def]
    """`seed` the server, then log the 5 live runs once a second (Logger) for the block:
    yields (experiment name, live run ids, the logger)."""
    t0 = time.monotonic()
    name, live = seed(server)
    print(f"  seeded 25 runs (60,000 points) in {time.monotonic() - t0:.1f} s", flush=True)
    logger = Logger(server.url, live)
    logger.start()
    try:
        yield name, live, logger
    finally:
        logger.stop_event.set()
        logger.join(5)


def summarise(proxy: FaultProxy, seconds: float) -> dict[str, object]:
    records = proxy.snapshot()
    out_bytes = sum(r.bytes_out for r in records)
    in_bytes = sum(r.bytes_in for r in records)
    by_path: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for r in records:
        path = r.path.split("?")[0].replace(API, "")
        by_path[path][0] += 1
        by_path[path][1] += r.bytes_out + r.bytes_in
    per_minute = (out_bytes + in_bytes) / seconds * 60 / 1e6
    return {"requests": len(records), "bytes_out": out_bytes, "bytes_in": in_bytes,
            "mb_per_minute": per_minute, "seconds": seconds,
            "by_path": {k: {"requests": v[0], "bytes": v[1]} for k, v in by_path.items()}}


async def measure_app(url: str, name: str, live: list[str], seconds: float) -> dict[str, object]:
    with FaultProxy(url) as proxy:
        app = make_app(Settings(uri=proxy.url, experiments=[name], interval=2.0))
        async with app.run_test(size=(160, 45)) as pilot:
            table = app.monitor.query_one(RunTable)
            await until(lambda: table.row_count == 25, timeout=60)
            # = space on each row
            app.session.marked = {rid: app.session.poller.runs[rid] for rid in live}
            await pilot.press("c")

            def open_() -> bool:
                screen = app.screen
                if not isinstance(screen, CompareScreen) or app.session.compare.poller is None:
                    return False
                chart = screen.query_one(MetricChart)
                return len(chart.series_labels) == 10 and all(
                    (r, k) in app.session.compare.poller.series for r in live for k in LIVE_KEYS
                )

            await until(open_, timeout=60)
            await asyncio.sleep(4.0)  # the view's one-off loads settle
            proxy.clear()
            ticks0 = app.ticks
            t0 = time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - t0
            result = summarise(proxy, elapsed)
            result["ticks"] = app.ticks - ticks0
            # The cache follows the server: compare with the latest step the server has.
            lag = []
            for rid in live:
                cached = app.session.compare.poller.points((rid, "val_loss"))
                run = app.session.compare.poller.runs.get(rid)
                latest = run.metrics["val_loss"].step if run else -1
                lag.append(latest - (cached[-1].step if cached else -1))
            result["cache_lag_steps"] = max(lag)
            result["cached_points"] = sum(
                len(app.session.compare.poller.points((r, k))) for r in live for k in LIVE_KEYS
            )
            caps = getattr(app.source, "known_capabilities", None)
            result["note"] = caps.note if caps is not None else ""
    return result


async def measure_naive(
    url: str, live: list[str], seconds: float, interval: float = 2.0
) -> dict[str, object]:
    in_list = ", ".join(f"'{rid}'" for rid in live)
    with FaultProxy(url) as proxy:
        async with httpx.AsyncClient(base_url=proxy.url, timeout=60) as client:
            exp_ids = None
            t0 = time.monotonic()
            ticks = 0
            points = 0
            while time.monotonic() - t0 < seconds:
                tick = time.monotonic()
                body = {
                    "experiment_ids": exp_ids or [],
                    "filter": f"attributes.run_id IN ({in_list})",
                    "max_results": 1000,
                }
                if exp_ids is None:
                    got = await client.get(API + "/runs/get", params={"run_id": live[0]})
                    exp_ids = [got.json()["run"]["info"]["experiment_id"]]
                    body["experiment_ids"] = exp_ids
                (await client.post(API + "/runs/search", json=body)).raise_for_status()
                points = 0
                for rid in live:
                    for key in LIVE_KEYS:
                        got = await client.get(
                            API + "/metrics/get-history", params={"run_id": rid, "metric_key": key}
                        )
                        got.raise_for_status()
                        points += len(got.json().get("metrics", []))
                ticks += 1
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - tick)))
            elapsed = time.monotonic() - t0
            result = summarise(proxy, elapsed)
            result["ticks"] = ticks
            result["points_last_tick"] = points
    return result


async def measure_monitor(
    url: str, name: str, live: list[str], seconds: float
) -> dict[str, object]:
    """The monitor on the same workload: 25 rows; the warning pair of the 5 running runs and
    the highlighted run's chart kept fresh."""
    with FaultProxy(url) as proxy:
        app = make_app(Settings(uri=proxy.url, experiments=[name], interval=2.0))
        async with app.run_test(size=(160, 45)):
            table = app.monitor.query_one(RunTable)
            await until(lambda: table.row_count == 25, timeout=60)
            await until(
                lambda: all((r, k) in app.session.poller.series for r in live for k in LIVE_KEYS),
                timeout=60,
            )
            await asyncio.sleep(4.0)
            proxy.clear()
            t0 = time.monotonic()
            await asyncio.sleep(seconds)
            result = summarise(proxy, time.monotonic() - t0)
    return result


@contextlib.contextmanager
def old_mlflow_server(version: str):  # type: ignore[no-untyped-def]
    """An old `mlflow server` (tests/old_server.py: lean venv built once, gunicorn, one
    worker), or None with the reason printed when it cannot be built here."""
    from tests.old_server import OldMlflowServer, skip_reason

    why = skip_reason(version)
    if why:
        print(f"  no old server: {why}", flush=True)
        yield None
        return
    server = OldMlflowServer(Path(tempfile.mkdtemp(prefix=f"mlflow-tui-bench-{version}-")), version)
    started = time.monotonic()
    try:
        server.start()
        print(
            f"  (mlflow {version} server ready in {time.monotonic() - started:.1f} s at "
            f"{server.url})",
            flush=True,
        )
        yield server
    finally:
        server.stop()


def measure_old(
    version: str, seconds: float, naive_seconds: float
) -> tuple[dict[str, object], dict[str, object]] | None:
    """The app and the naive poller on the same workload, against MLflow `version`."""
    with old_mlflow_server(version) as server:
        if server is None:
            return None
        t0 = time.monotonic()
        name, live = seed(server)  # the schema of these tables is the same in 2.x
        print(f"  seeded the {version} server in {time.monotonic() - t0:.1f} s", flush=True)
        logger = Logger(server.url, live)
        logger.start()
        try:
            app = asyncio.run(measure_app(server.url, name, live, seconds))
            naive = asyncio.run(measure_naive(server.url, live, naive_seconds))
        finally:
            logger.stop_event.set()
            logger.join(5)
        app["logger_errors"] = logger.errors
    return app, naive


def _per_min(result: dict[str, object], what: str) -> float:
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    if what == "requests":
        return int(result["requests"]) / seconds * 60  # type: ignore[call-overload]
    return float(result["mb_per_minute"])  # type: ignore[arg-type]


def compare_old(
    report: Report,
    version: str,
    old: tuple[dict[str, object], dict[str, object]],
    modern: tuple[dict[str, object], dict[str, object]] | None,
) -> None:
    app, naive = old
    print(
        f"\napp on MLflow {version}, {app['seconds']:.0f} s: {app['requests']} requests, "
        f"{app['ticks']} ticks; header note: {app.get('note')!r}; cache lag at the end: "
        f"{app['cache_lag_steps']} steps"
    )
    for path, v in sorted(app["by_path"].items()):  # type: ignore[union-attr]
        print(f"  {path}: {v['requests']} requests, {v['bytes'] / 1e3:.0f} KB")
    print(
        "\n| app charting 5 live runs x 2 metrics, 2 s | modern (this venv's MLflow) | "
        f"MLflow {version} |"
    )
    print("|---|---|---|")
    rows = [
        ("app MB/min", "app", "mb"),
        ("app requests/min", "app", "requests"),
        ("naive poller MB/min", "naive", "mb"),
        ("naive poller requests/min", "naive", "requests"),
    ]
    for label, which, what in rows:
        new = (
            "—"
            if modern is None
            else (
                f"{_per_min(modern[0 if which == 'app' else 1], what):.3f}"
                if what == "mb"
                else f"{_per_min(modern[0 if which == 'app' else 1], what):.0f}"
            )
        )
        got = _per_min(app if which == "app" else naive, what)
        print(
            f"| {label} | {new} | {got:.3f} |"
            if what == "mb"
            else f"| {label} | {new} | {got:.0f} |"
        )
    old_mb, naive_mb = _per_min(app, "mb"), _per_min(naive, "mb")
    report.add(f"naive full-history poller on MLflow {version}", f"{naive_mb:.1f} MB/min", None)
    report.add(
        f"naive / app traffic on MLflow {version}",
        f"{naive_mb / old_mb:.0f}x" if old_mb else "—",
        None,
    )


def add_old_app_row(report: Report, version: str, app: dict[str, object],
                    modern: dict[str, object] | None) -> None:
    """The old-server path's row, to sit next to the modern one."""
    same_run = "" if modern is None else (
        f"; the modern path {_per_min(modern, 'mb'):.3f} MB/min in the same run")
    report.add(
        f"traffic on the old-server path (MLflow {version}: no bulk-interval, whole-series "
        "reads paced by size), the same app and workload",
        f"{_per_min(app, 'mb'):.3f} MB/min ({_per_min(app, 'requests'):.0f} requests/min over "
        f"{float(app['seconds']):.0f} s{same_run})",  # type: ignore[arg-type]
        None,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--naive-seconds", type=float, default=60.0)
    parser.add_argument(
        "--old",
        nargs="?",
        const="2.9.2",
        metavar="VERSION",
        help="also measure against this old MLflow server (default 2.9.2)",
    )
    parser.add_argument("--old-seconds", type=float, default=240.0)
    parser.add_argument(
        "--old-only", action="store_true", help="with --old: skip the modern server"
    )
    parser.add_argument("--json")
    args = parser.parse_args()
    report = Report("traffic")
    if args.old_only:
        old = measure_old(args.old or "2.9.2", args.old_seconds, args.naive_seconds)
        if old is not None:
            add_old_app_row(report, args.old or "2.9.2", old[0], None)
            compare_old(report, args.old or "2.9.2", old, None)
            report.extra.update(old_app=old[0], old_naive=old[1])
        report.print("server traffic, old mlflow server --workers 1 on loopback")
        report.write(args.json)
        return
    with mlflow_server() as server, live_workload(server) as (name, live, logger):
        app = asyncio.run(measure_app(server.url, name, live, args.seconds))
        monitor = asyncio.run(measure_monitor(server.url, name, live, args.seconds))
        naive = asyncio.run(measure_naive(server.url, live, args.naive_seconds))
    report.extra.update(app=app, monitor=monitor, naive=naive, logger_errors=logger.errors)
    # The old-server path (--old), measured now so that its row sits next to the modern one.
    old = measure_old(args.old, args.old_seconds, args.naive_seconds) if args.old else None
    mb = float(app["mb_per_minute"])  # type: ignore[arg-type]
    naive_mb = float(naive["mb_per_minute"])  # type: ignore[arg-type]
    ratio = naive_mb / mb if mb else float("inf")
    print(
        f"\napp, {app['seconds']:.0f} s: {app['requests']} requests, {app['ticks']} ticks, "
        f"{int(app['bytes_out']) / 1e3:.0f} KB answers + {int(app['bytes_in']) / 1e3:.0f} KB "
        f"requests; cache lag at the end: {app['cache_lag_steps']} steps"
    )
    for path, v in sorted(app["by_path"].items()):  # type: ignore[union-attr]
        print(f"  {path}: {v['requests']} requests, {v['bytes'] / 1e3:.0f} KB")
    print(
        f"naive, {naive['seconds']:.0f} s: {naive['requests']} requests, {naive['ticks']} "
        f"ticks, {(int(naive['bytes_out']) + int(naive['bytes_in'])) / 1e6:.1f} MB "
        f"({naive['points_last_tick']} points in its last tick)"
    )
    ok = mb <= TARGET_MB
    per_tick = (int(app["bytes_out"]) + int(app["bytes_in"])) / max(1, int(app["ticks"]))
    search = app["by_path"].get("/runs/search", {"bytes": 0, "requests": 0})  # type: ignore[union-attr]
    history = app["by_path"].get(  # type: ignore[union-attr]
        "/metrics/get-history-bulk-interval", {"bytes": 0, "requests": 0}
    )
    total = max(1, int(app["bytes_out"]) + int(app["bytes_in"]))
    note = (
        f"about {per_tick / 1e3:.1f} KB per tick: runs/search {search['bytes'] / total:.0%} "
        f"({search['requests']} requests: status probes, and every 5th tick the 5 runs whole: "
        "MLflow answers pretty-printed JSON with every tag, param and latest metric, no "
        f"gzip), bulk-interval {history['bytes'] / total:.0%} ({history['requests']} "
        "requests; each window starts AT the last cached step, so one point per series "
        "comes again: the price of never missing a value re-logged at that step). What "
        "would lower it: listing running runs less often (new metric keys would show later), "
        "or windows starting after the last step (a re-logged step could be missed)."
    )
    print("  " + note)
    report.add(
        f"traffic, app charting 5 live runs x 2 metrics, 2 s interval: <= {TARGET_MB:g} MB/min",
        f"{mb:.3f} MB/min ({app['requests']} requests in {app['seconds']:.0f} s)",
        ok,
        "" if ok else note,
    )
    if old is not None:
        add_old_app_row(report, args.old, old[0], app)
    report.add(
        "for scale: the monitor on the same workload (25 rows, the 5 running runs' "
        "train/val kept fresh for their warnings)",
        f"{float(monitor['mb_per_minute']):.3f} MB/min ({monitor['requests']} requests)",
        None,
    )  # type: ignore[arg-type]
    report.add("naive full-history poller, same charts", f"{naive_mb:.1f} MB/min", None)
    report.add("naive / app traffic", f"{ratio:.0f}x", None)
    if old is not None:
        compare_old(report, args.old, old, (app, naive))
        report.extra.update(old_app=old[0], old_naive=old[1])
    report.print("server traffic, mlflow server --workers 1 on loopback")
    report.write(args.json)


if __name__ == "__main__":
    main()
