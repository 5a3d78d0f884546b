"""The Now feed on a server with many RUNNING runs that stopped logging days ago (crashed
trainings never end their runs): how long each refresh takes, and how many runs are judged
after it. The first refresh reads the most recently active runs first, at most
mlflow_tui.session.now.FIRST_READS of the runs not read yet; the rest follow, refresh by refresh.

    python bench/now_zombies.py [--runs 400] [--refreshes 8]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Seeder, create_experiment, mlflow_server  # noqa: E402

from mlflow_tui.session.now import FIRST_READS, NowFeed  # noqa: E402
from mlflow_tui.tracking.rest import RestSource  # noqa: E402

DAY_MS = 86_400_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--refreshes", type=int, default=8)
    args = parser.parse_args(argv)
    with mlflow_server() as server:
        seeder = Seeder(server)
        now = int(time.time() * 1000)
        exps = [create_experiment(server.url, f"zombies/{i}") for i in range(max(args.runs // 4,
                                                                                 1))]
        for i in range(args.runs):
            rid = seeder.runs(exps[i % len(exps)], [f"silent-{i}"], status="RUNNING",
                              start_ms=now - 3 * DAY_MS)[0]
            seeder.history(rid, ["train_loss", "val_loss"], 300, start_ms=now - 3 * DAY_MS)

        async def refreshes() -> None:
            source = RestSource(server.url)
            try:
                experiments = [e for e in await source.search_experiments()
                               if e.experiment_id in exps]
                feed = NowFeed(source)
                print(f"{args.runs} RUNNING runs silent for 3 days, 2 series of 300 points "
                      f"each; at most {FIRST_READS} new runs read a refresh")
                for i in range(args.refreshes):
                    started = time.monotonic()
                    update = await feed.tick(experiments)
                    read = len({k[0] for k in feed.poller.poller.series})
                    print(f"refresh {i + 1}: {time.monotonic() - started:6.2f} s, "
                          f"{update.requests:3d} requests, {read} runs judged on their series")
            finally:
                await source.aclose()

        asyncio.run(refreshes())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
