"""What the Now view's refresh costs the server: requests and bytes per refresh while 5 runs
train in 5 of 50 experiments (each experiment also holds 20 finished runs; two runs ended in
the last hour), counted by a proxy in front of a real `mlflow server`.

The refresh is tui/tracking/now.py's NowPoller.tick every 2 s over every experiment id, with
the judged series (train_loss, val_loss) of running runs kept fresh, as the Now view and the
tree's warning counts need them. Printed: per refresh (mean, and the steady light ticks
alone), MB a minute, and for scale the monitor's figure from bench/traffic.py.

    python bench/now_query.py [--seconds 60] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Report, Seeder, create_experiment, mlflow_server  # noqa: E402
from traffic import KEYS4, LIVE_KEYS, Logger  # noqa: E402

from mlflow_tui.analysis.judge import series_keys  # noqa: E402
from mlflow_tui.tracking.now import NowPoller  # noqa: E402
from mlflow_tui.tracking.rest import RestSource  # noqa: E402
from tests.proxy import FaultProxy  # noqa: E402

EXPERIMENTS = 50
RUNNING = 5
FINISHED_EACH = 20


def seed(server) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:6]
    seeder = Seeder(server)
    now = int(time.time() * 1000)
    exps = [create_experiment(server.url, f"bench/{tag}/now-{i:02d}") for i in range(EXPERIMENTS)]
    live: list[str] = []
    for i, exp in enumerate(exps):
        done = seeder.runs(exp, [f"done-{j:02d}" for j in range(FINISHED_EACH)],
                           start_ms=now - 3 * 86_400_000, spacing_ms=3_600_000,
                           params={"lr": "0.01"}, latest={"train_loss": 0.1, "val_loss": 0.2},
                           latest_step=499)
        for j, rid in enumerate(done[:2] if i < 2 else []):
            seeder.history(rid, KEYS4, 500, start_ms=now - 86_400_000 + j * 1000)
        if i < 2:  # ended within the hour
            seeder.runs(exp, ["ended-recently"], start_ms=now - 1_800_000,
                        duration_ms=600_000)
        if i % (EXPERIMENTS // RUNNING) == 0:
            start = now - 2000 * 1000 - 5000
            rid = seeder.runs(exp, [f"live-{i}"], status="RUNNING", start_ms=start,
                              params={"num_boost_round": "5000"})[0]
            seeder.history(rid, LIVE_KEYS, 2000, start_ms=start)
            live.append(rid)
    return exps, live


async def measure(url: str, exps: list[str], seconds: float) -> dict[str, object]:
    with FaultProxy(url) as proxy:
        source = RestSource(proxy.url)
        now = NowPoller(source)
        ticks = []
        kinds: Counter[str] = Counter()  # what the refreshes asked, by endpoint
        try:
            first = await now.tick(exps, lambda runs: [k for r in runs for k in series_keys(r)])
            assert len(first.active) == RUNNING, len(first.active)
            assert len(first.recent) == 2, [r.name for r in first.recent]
            before = proxy.snapshot()
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                t0 = time.monotonic()
                mark = len(proxy.snapshot())
                await now.tick(exps, lambda runs: [k for r in runs for k in series_keys(r)])
                records = proxy.snapshot()[mark:]
                kinds.update(r.path.split("?")[0].rsplit("/", 1)[-1] for r in records)
                ticks.append((len(records), sum(r.bytes_in + r.bytes_out for r in records)))
                await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - t0)))
            elapsed = time.monotonic() - start
            after = proxy.snapshot()[len(before):]
        finally:
            await source.aclose()
    total = sum(r.bytes_in + r.bytes_out for r in after)
    return {"ticks": len(ticks), "seconds": elapsed,
            "requests_per_refresh": statistics.mean(t[0] for t in ticks),
            "bytes_per_refresh": statistics.mean(t[1] for t in ticks),
            "bytes_per_refresh_median": statistics.median(t[1] for t in ticks),
            "max_requests": max(t[0] for t in ticks),
            "requests_by_endpoint": {k: round(v / len(ticks), 2) for k, v in kinds.items()},
            "mb_per_minute": total / elapsed * 60 / 1e6}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    report = Report("now_query")
    with mlflow_server() as server:
        exps, live = seed(server)
        logger = Logger(server.url, live)
        logger.start()
        try:
            got = asyncio.run(measure(server.url, exps, args.seconds))
        finally:
            logger.stop_event.set()
            logger.join(5)
    report.extra.update(got)
    report.add("Now view refresh, 50 experiments, 5 running runs: requests per refresh",
               f"{got['requests_per_refresh']:.1f} mean, {got['max_requests']} max "
               f"({got['ticks']} refreshes in {got['seconds']:.0f} s)", None)
    report.add("Now view refresh: requests per refresh, by endpoint",
               ", ".join(f"{k} {v}" for k, v in
                         sorted(got["requests_by_endpoint"].items())),  # type: ignore[attr-defined]
               None)
    report.add("Now view refresh: bytes per refresh",
               f"{got['bytes_per_refresh'] / 1000:.1f} KB mean, "
               f"{got['bytes_per_refresh_median'] / 1000:.1f} KB median", None)
    report.add("Now view: traffic <= the monitor charting 5 live runs (0.3 MB/min)",
               f"{got['mb_per_minute']:.3f} MB/min", got["mb_per_minute"] <= 0.3)  # type: ignore[operator]
    report.print("Now view query cost (bench/now_query.py)")
    report.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
