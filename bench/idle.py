"""Target 5: what the app costs while nothing changes.

    python bench/idle.py [--seconds 60] [--settle 10] [--json PATH]

A real `mlflow server` (sqlite, --workers 1, loopback) holds one experiment of 50 FINISHED runs
(train_loss/val_loss, 200 steps each); nothing changes during the measurement. The real command
`mlflow-tui URL -i 2` runs in a pseudo-terminal (160x45). Once the table is filled and SETTLE
seconds have passed (the start-up work, e.g. warming the pandas import, is over), for SECONDS:
- CPU: utime + stime of the app process (/proc/PID/stat), as % of one core;
- RSS: VmRSS of the app process (/proc/PID/status), sampled every second, the largest;
- terminal output: bytes read from the pty's master side, as KB per minute.
Targets: <= 3 % CPU, <= 100 MB RSS, <= 20 KB/min.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PtyApp, Report, Seeder, create_experiment, mlflow_server  # noqa: E402

CPU, RSS, OUTPUT = 3.0, 100.0, 20.0

PATCH = "the fix in commit 304506e"
NOTES = {
    "cpu": ("nothing changes, yet every 2 s tick repaints the whole screen: setting a border "
            "title (run table, chart) always refreshes the widget, MetricChart.set_data always "
            "rebuilds the plot (plotext + ANSI parse, ~50-100 ms here) even for the same "
            "points, and Static.update() of the state line re-lays the screen out (which "
            f"repaints the scrollbars). {PATCH} skips each of these when nothing changed; "
            "measured with it: ~1 % CPU, ~10 KB/min."),
    "rss": ("pandas + numpy, imported ahead of time after the first tick for the compare view, "
            "are ~80 MB of it (`import mlflow_tui.app` alone: ~36 MB). Closing it: warm that "
            f"import when the first run is marked instead ({PATCH}); measured with it: ~56 MB."),
    "out": ("~25 KB per tick: the whole run table and chart are rewritten to the terminal "
            "every tick (the repaints above), plus the state line and the run table's "
            f"scrollbar every second. {PATCH} brings it to ~10 KB/min (the state line's "
            "'refreshed HH:MM:SS' once per tick)."),
}


def seed(server) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    name = f"bench/{uuid.uuid4().hex[:6]}/idle"
    exp = create_experiment(server.url, name)
    seeder = Seeder(server)
    now = int(time.time() * 1000)
    ids = seeder.runs(exp, [f"idle-run-{i:02d}" for i in range(50)], status="FINISHED",
                      start_ms=now - 50 * 600_000, spacing_ms=600_000,
                      params={"lr": "0.01"})
    for i, rid in enumerate(ids):
        seeder.history(rid, ("train_loss", "val_loss"), 200,
                       start_ms=now - 50 * 600_000 + i * 600_000, offset=0.01 * i)
    return name, "idle-run-49"


def measure(seconds: float, settle: float, env: dict[str, str] | None = None
            ) -> tuple[float, float, float, float, float]:
    """(cpu %, max RSS MB, first RSS MB, terminal KB/min, seconds) of one idle session."""
    with mlflow_server() as server:
        name, newest = seed(server)
        with PtyApp([server.url, "-e", name, "-i", "2"], env=env) as app:
            app.wait_for(newest, timeout=60)
            time.sleep(settle)
            cpu0, t0 = app.cpu_seconds(), time.perf_counter()
            rss = []
            while time.perf_counter() - t0 < seconds:
                rss.append(app.rss_mb())
                time.sleep(1.0)
            cpu1, t1 = app.cpu_seconds(), time.perf_counter()
            out = app.bytes_between(t0, t1)
            rss.append(app.rss_mb())
    elapsed = t1 - t0
    return (cpu1 - cpu0) / elapsed * 100, max(rss), rss[0], out / 1024 / elapsed * 60, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--also", metavar="DIR", help="measure again with DIR first on "
                        "PYTHONPATH (holding a patched copy of the package as mlflow_tui/, "
                        "with widgets/ as mlflow_tui/widgets/), as a second row")
    parser.add_argument("--json")
    args = parser.parse_args()
    report = Report("idle")
    cpu, peak, first, kb, elapsed = measure(args.seconds, args.settle)
    report.extra.update(cpu_percent=cpu, rss_mb_max=peak, rss_mb_first=first,
                        kb_per_minute=kb, seconds=elapsed)
    report.add(f"idle, 50 runs, 2 s interval: CPU <= {CPU:g} % of a core", f"{cpu:.1f} %",
               cpu <= CPU, NOTES["cpu"])
    report.add(f"idle: RSS of the app <= {RSS:g} MB", f"{peak:.0f} MB (max; {first:.0f} MB at "
               "the start)", peak <= RSS, NOTES["rss"])
    report.add(f"idle: terminal output <= {OUTPUT:g} KB/min", f"{kb:.1f} KB/min", kb <= OUTPUT,
               NOTES["out"])
    if args.also:
        cpu, peak, first, kb, elapsed = measure(args.seconds, args.settle,
                                                {"PYTHONPATH": args.also})
        report.extra["also"] = {"dir": args.also, "cpu_percent": cpu, "rss_mb_max": peak,
                                "kb_per_minute": kb}
        report.add(f"idle, with {args.also} first on PYTHONPATH (for information)",
                   f"CPU {cpu:.1f} %, RSS {peak:.0f} MB, {kb:.1f} KB/min", None)
    report.print(f"idle cost over {elapsed:.0f} s, `mlflow-tui URL` in a pseudo-terminal 160x45")
    report.write(args.json)


if __name__ == "__main__":
    main()
