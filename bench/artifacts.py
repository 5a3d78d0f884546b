"""Artifacts on a real `mlflow server --serve-artifacts`: the time to list a folder of 10,000
files, and what previewing the end of a 1 GB log costs (bytes moved, time), through the same
calls the artifacts pane (a) makes.

    python bench/artifacts.py [--files 10000] [--log-mb 1024] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Report, mlflow_server  # noqa: E402

from mlflow_tui.tracking.artifacts import RestArtifacts  # noqa: E402
from mlflow_tui.tracking.rest import RestSource  # noqa: E402
from tests.server import MlflowServer  # noqa: E402


def seed(server: MlflowServer, files: int, log_mb: int) -> tuple[str, str]:
    client = server.client()
    exp = client.create_experiment("bench/artifacts")
    run = client.create_run(exp, run_name="many-artifacts")
    rid = run.info.run_id
    # The server keeps proxied artifacts under --artifacts-destination/<exp>/<run>/artifacts:
    # written there directly (uploading 10,000 files one by one takes minutes).
    root = server.root / "artifacts" / str(exp) / rid / "artifacts"
    many = root / "many"
    many.mkdir(parents=True)
    for i in range(files):
        (many / f"sample-{i:05d}.json").write_text(f'{{"i": {i}}}')
    line = b"step 000000000 loss 0.123456 lr 0.001 throughput 1234.5 samples/s\n"
    with open(root / "stdout.txt", "wb") as f:
        block = line * (1 << 14)
        for _ in range(max(1, log_mb * (1 << 20) // len(block))):
            f.write(block)
    return exp, rid


async def measure(url: str, exp: str, rid: str, repeats: int) -> dict[str, float]:
    source = RestSource(url)
    store = RestArtifacts(source)
    try:
        run = next(r for r in await source.search_runs([exp]) if r.run_id == rid)
        listing, count = [], 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            entries = await store.list(run, "many")
            listing.append(time.perf_counter() - t0)
            count = len(entries)
        root = {e.name: e for e in await store.list(run)}
        size = root["stdout.txt"].size or 0
        tails, moved = [], []
        for _ in range(repeats):
            before = source.bytes_in
            t0 = time.perf_counter()
            chunk = await store.read(run, "stdout.txt", start=None)
            tails.append(time.perf_counter() - t0)
            moved.append(source.bytes_in - before)
        assert chunk.total == size and len(chunk.data) > 0
        return {"files": count, "list_s": statistics.median(listing),
                "log_bytes": size, "tail_s": statistics.median(tails),
                "tail_moved": statistics.median(moved)}
    finally:
        await source.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--log-mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    report = Report("artifacts")
    with mlflow_server(serve_artifacts=True) as server:
        try:
            exp, rid = seed(server, args.files, args.log_mb)
            got = asyncio.run(measure(server.url, exp, rid, args.repeats))
        finally:  # the 1 GB log and the 10,000 files are not left in the temporary folder
            shutil.rmtree(server.root / "artifacts", ignore_errors=True)
    report.extra.update(got)
    report.add(f"list a folder of {got['files']:,} artifacts (median of {args.repeats})",
               f"{got['list_s']:.2f} s", None)
    report.add(f"preview the tail of a {got['log_bytes'] / 2**30:.2f} GB log",
               f"{got['tail_s'] * 1000:.0f} ms, {got['tail_moved'] / 1024:.0f} KB moved",
               got["tail_moved"] < 1 << 20)
    report.print("Artifacts (bench/artifacts.py)")
    report.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
