"""Artifacts on a real `mlflow server --serve-artifacts`: the time to list a folder of 10,000
files, and what previewing the end of a 1 GB log costs (bytes moved, time), through the same
calls the artifacts pane (a) makes. Then the same folder and log read as a local store's
artifact root (LocalArtifacts): the time to list the folder and to save the log, and the
longest the event loop (the UI) went without running meanwhile (a 5 ms ticker's worst
lateness; the file system is read in threads, so it stays small).

    python bench/artifacts.py [--files 10000] [--log-mb 1024] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Report, mlflow_server  # noqa: E402

from mlflow_tui.tracking.artifacts import LocalArtifacts, RestArtifacts  # noqa: E402
from mlflow_tui.tracking.models import Run, RunStatus  # noqa: E402
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


async def _stall(work: Awaitable[Any]) -> tuple[float, float, Any]:
    """(seconds `work` took, the event loop's longest stall meanwhile in seconds, its result)."""
    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        while running:
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - t0 - 0.005)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    t0 = time.perf_counter()
    result = await work
    took = time.perf_counter() - t0
    running = False
    await tick
    return took, worst, result


async def measure_local(root: Path, save_to: Path) -> dict[str, float]:
    """The seeded folder and log read as a local store's artifact root."""
    store = LocalArtifacts()
    run = Run("b" * 32, "1", "local", RunStatus.FINISHED, 0, artifact_uri=str(root))
    list_s, list_stall, entries = await _stall(store.list(run, "many"))
    try:
        save_s, save_stall, saved = await _stall(store.save_file(run, "stdout.txt", save_to))
    finally:
        save_to.unlink(missing_ok=True)
    return {"local_files": float(len(entries)), "local_list_s": list_s,
            "local_list_stall_s": list_stall, "local_save_bytes": float(saved),
            "local_save_s": save_s, "local_save_stall_s": save_stall}


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
            got: dict[str, float] = asyncio.run(measure(server.url, exp, rid, args.repeats))
            root = server.root / "artifacts" / str(exp) / rid / "artifacts"
            got.update(asyncio.run(measure_local(root, server.root / "saved-stdout.txt")))
        finally:  # the 1 GB log and the 10,000 files are not left in the temporary folder
            shutil.rmtree(server.root / "artifacts", ignore_errors=True)
    report.extra.update(got)
    report.add(f"list a folder of {got['files']:,} artifacts (median of {args.repeats})",
               f"{got['list_s']:.2f} s", None)
    report.add(f"preview the tail of a {got['log_bytes'] / 2**30:.2f} GB log",
               f"{got['tail_s'] * 1000:.0f} ms, {got['tail_moved'] / 1024:.0f} KB moved",
               got["tail_moved"] < 1 << 20)
    report.add(f"for scale: local store, list a folder of {got['local_files']:,.0f} files",
               f"{got['local_list_s']:.2f} s; the UI's event loop stalled "
               f"{got['local_list_stall_s'] * 1000:.0f} ms at most", None)
    report.add(f"for scale: local store, save a {got['local_save_bytes'] / 2**30:.2f} GB file",
               f"{got['local_save_s']:.1f} s; the UI's event loop stalled "
               f"{got['local_save_stall_s'] * 1000:.0f} ms at most", None)
    report.print("Artifacts (bench/artifacts.py)")
    report.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
