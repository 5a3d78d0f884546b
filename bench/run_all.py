"""Run every issue-6 benchmark and write bench/RESULTS.md.

    python bench/run_all.py            # the full set, about 20 minutes
    python bench/run_all.py --quick    # shorter windows and fewer repeats
    python bench/run_all.py --only traffic,idle --output /tmp/RESULTS.md

Each benchmark runs in its own process (one after the other, so they do not compete for the
two cores), starts its own `mlflow server` (sqlite, --workers 1, loopback), prints its figures
and writes them as JSON; this script collects them into one table (target, measured figure,
holds) with notes for the misses, and records the machine's load, since timings on a shared
machine are noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import load_average, yes_no  # noqa: E402

# name, script, arguments (full), arguments (--quick), what it measures
BENCHES: list[tuple[str, str, list[str], list[str], str]] = [
    ("chart", "chart_render.py", [], ["--updates", "3"], "1. chart rendering"),
    # --old: the same workload on the old-server path too (MLflow 2.9.2, no bulk-interval;
    # its venv is built once by tests/old_server.py), its row next to the modern one.
    ("traffic", "traffic.py", ["--old"],
     ["--seconds", "30", "--naive-seconds", "20", "--old", "--old-seconds", "120"],
     "2. server traffic"),
    ("freshness", "live_latency.py", ["--points-only", "--epochs", "30"],
     ["--points-only", "--epochs", "15"], "3. freshness"),
    ("startup", "startup.py", [], ["--repeat", "2"], "4. start-up"),
    ("idle", "idle.py", [], ["--seconds", "30", "--settle", "5"], "5. idle cost"),
    # (`idle.py --also DIR` measures a patched copy as well, for information)
    ("scale", "scale.py", [], ["--presses", "10", "--watch", "15"], "6. scale, 10k runs"),
    ("compare", "compare_open.py",
     ["--runs", "20", "--keys", "2", "--steps", "100000", "--sqlite", "--repeat", "3",
      "--when", "both", "--timeout", "120"],
     ["--runs", "20", "--keys", "2", "--steps", "100000", "--sqlite", "--repeat", "1",
      "--when", "settled", "--timeout", "90"],
     "7. compare 20 runs x 2 x 100k"),
    ("watch", "watch_traffic.py", [], ["--seconds", "30"], "8. watch traffic"),
    ("now", "now_query.py", [], ["--seconds", "30"], "9. Now view refresh"),
    ("artifacts", "artifacts.py", [], ["--files", "2000", "--log-mb", "256", "--repeats", "2"],
     "10. artifacts (issue 18)"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated: " +
                        ",".join(b[0] for b in BENCHES))
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--keep", metavar="DIR", help="write each benchmark's JSON here")
    parser.add_argument("--render-only", metavar="DIR",
                        help="run nothing: rewrite the results file from the JSON in DIR")
    args = parser.parse_args()
    if args.render_only:
        meta_path = Path(args.render_only) / "_meta.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        found = []
        for name, _, _, _, title in BENCHES:
            path = Path(args.render_only) / f"{name}.json"
            data = json.loads(path.read_text()) if path.exists() else None
            if data is not None:
                found.append((title, data, float(meta.get("took", {}).get(title, 0.0)), ""))
        Path(args.output).write_text(render(
            found, bool(meta.get("quick", args.quick)), meta.get("load_before", "?"),
            meta.get("load_after", load_average()), float(meta.get("total", 0.0)),
            meta.get("reruns", [])))
        print(f"wrote {args.output}")
        return
    only = {s for s in args.only.split(",") if s}
    out_dir = Path(args.keep or tempfile.mkdtemp(prefix="mlflow-tui-results-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"results (JSON) in {out_dir}", flush=True)
    started = time.monotonic()
    load_before = load_average()
    sections: list[tuple[str, dict | None, float, str]] = []
    for name, script, full, quick, title in BENCHES:
        if only and name not in only:
            continue
        path = out_dir / f"{name}.json"
        command = [sys.executable, str(HERE / script), *(quick if args.quick else full),
                   "--json", str(path)]
        print(f"\n=== {title}: {' '.join(command[1:])}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.run(command, cwd=HERE.parent)
        took = time.monotonic() - t0
        data = json.loads(path.read_text()) if path.exists() else None
        error = "" if proc.returncode == 0 and data else f"exit status {proc.returncode}"
        sections.append((title, data, took, error))
    total = time.monotonic() - started
    load_after = load_average()
    meta = out_dir / "_meta.json"
    old = json.loads(meta.read_text()) if meta.exists() else {}
    old.setdefault("took", {}).update({title: took for title, _, took, _ in sections})
    old.update(load_before=old.get("load_before", load_before) if only else load_before,
               load_after=load_after, total=total if not only else old.get("total", total),
               quick=args.quick)
    if only:  # a partial run into kept results: say so in the file
        stamp = f"{dt.datetime.now().astimezone():%H:%M}"
        old.setdefault("reruns", []).extend(f"{t} (at {stamp}, load {load_after})"
                                            for t, _, _, _ in sections)
    meta.write_text(json.dumps(old))
    text = render(sections, args.quick, load_before, load_after, total)
    Path(args.output).write_text(text)
    print(f"\nwrote {args.output} ({total / 60:.1f} min)")


def _load_note(load_before: str) -> str:
    """Whether the machine was busy when the run started (the benchmarks' own servers raise
    the load during the run, and so the load after it)."""
    try:
        busy = float(load_before.split("/")[0]) > 1.0
    except ValueError:
        busy = True
    if busy:
        return ("**Noisy:** the machine was busy when the run started, so times (not byte "
                "counts) are pessimistic; re-run on a quiet machine.")
    return ("The machine was otherwise idle when the run started; the load after is the "
            "benchmarks' own servers (the last one samples 4M rows).")


def render(sections: list[tuple[str, dict | None, float, str]], quick: bool, load_before: str,
           load_after: str, total: float, reruns: list[str] | None = None) -> str:
    import mlflow  # only for its version string
    import textual

    lines = [
        "# Benchmark results (issue 6)",
        "",
        "Written by `python bench/run_all.py" + (" --quick" if quick else "") + "`; re-run it "
        "to regenerate this file. Each row's script prints more detail.",
        "",
        f"- when: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; took {total / 60:.1f} min",
        f"- machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}, textual {textual.__version__}, mlflow "
        f"{mlflow.__version__}",
        "- server: `mlflow server` with a sqlite store, `--workers 1`, on 127.0.0.1 (one per "
        "benchmark)",
        f"- load average (1 / 5 / 15 min) before: {load_before}; after: {load_after}. "
        + _load_note(load_before),
        *(["- re-run alone afterwards (`--only ... --keep DIR`, then `--render-only DIR`): "
           + "; ".join(reruns)] if reruns else []),
        "",
        "| # | target | measured | holds |",
        "|---|---|---|---|",
    ]
    misses: list[tuple[str, str, str]] = []
    infos: list[str] = []
    for title, data, took, error in sections:
        number = title.split(".")[0]
        if data is None:
            lines.append(f"| {number} | {title} | did not finish ({error}) | **NO** |")
            continue
        for r in data["results"]:
            lines.append(f"| {number} | {r['target']} | {r['figure']} | {yes_no(r['holds'])} |")
            if r["holds"] is False:
                misses.append((number, r["target"], r["notes"]))
        infos.append(f"- {title}: `bench/{data['bench']}.py`, {took:.0f} s")
    lines += ["", "## Misses: why, and what would close them", ""]
    if not misses:
        lines.append("None.")
    shown: list[str] = []
    for number, target, notes in misses:
        # Rows of one benchmark often share their explanation: say it once.
        same = next((i for i, n in enumerate(shown) if n and n == notes), None)
        if same is not None:
            notes = f"as for the miss above ({misses[same][0]}. {misses[same][1]})."
        else:
            prefix = next((n for n in shown if n and notes.startswith(n)), None)
            if prefix:
                notes = "as above, and:" + notes[len(prefix):]
        shown.append(misses[len(shown)][2])
        lines.append(f"- **{number}. {target}**: {notes or 'see the script output.'}")
    lines += ["", "## How each figure is measured", "",
              "Every script's docstring says exactly what it measures; in short:", "",
              "1. `chart_render.py`: a headless app holding the app's `MetricChart` at 160x45; "
              "per update (one point appended to each of 2 series) the time of the monitor's "
              "conversion of cached Points (`XYCache`), `set_data`, and the widget's `render()` "
              "and `render_lines()` when Textual repaints; median of the updates after the "
              "first. plotext alone (no downsampling) for scale.",
              "2. `traffic.py`: 25 runs (20 finished, 4 x 500; 5 running, 2,000 steps in, "
              "logging train_loss and val_loss every second from a background thread); the app "
              "(headless, interval 2 s) marks the 5 running runs and opens the compare view; "
              "bytes both ways counted by `tests/proxy.py` FaultProxy over the window; a naive "
              "httpx poller (runs/search + full get-history of the 10 series every 2 s) through "
              "its own FaultProxy. `--old`: the same app, workload and poller against an MLflow "
              "2.9.2 server (tests/old_server.py's venv, one gunicorn worker), counted over "
              "240 s (its whole-series refreshes come every ~100 s).",
              "3. `live_latency.py --points-only`: a real training script logs val_loss each "
              "0.7 s; each point's own timestamp -> the point in the app's cached (charted) "
              "series.",
              "4. `startup.py`: the console script `mlflow-tui URL` in a pty (160x45); process "
              "spawn -> first output holding the frame ('Experiments' border title) and -> "
              "the newest run's name; median of the repeats; "
              "`python -X importtime -m mlflow_tui URL` for the import check.",
              "5. `idle.py`: `mlflow-tui URL` in a pty, 50 finished runs, nothing changing; "
              "/proc utime+stime and VmRSS of the app, bytes read from the pty master.",
              "6. `scale.py`: 10,000 runs written into the server's sqlite; `mlflow-tui URL` in "
              "a pty; first page = the newest run's name on the terminal; keypress = `j` "
              "written -> the next run's name written (its row repainted highlighted); some "
              "presses are sent on purpose just as a full listing (500 runs) is answered.",
              "7. `compare_open.py --runs 20 --keys 2 --steps 100000 --sqlite --when both`: 4M "
              "metric rows in sqlite; headless app, every run marked, `c` -> the table, every "
              "one of the 40 curves as a labelled sketch, then the full curves and statistics; "
              "pressed once the monitor settled, and 1 s after the table filled (busy).",
              "8. `watch_traffic.py`: traffic.py's workload (25 runs, 5 logging every second); "
              "the monitor (traffic.py's measure_monitor) and then the console command "
              "`mlflow-tui watch PROXY -e EXP --interval 2 --since 1h --no-state`, each through "
              "its own FaultProxy, 60 s of steady state each.",
              "9. `now_query.py`: 50 experiments of 20 finished runs each, 5 of them with a "
              "running run logging train_loss and val_loss every second, 2 runs ended in the "
              "last hour; the Now feed's NowPoller.tick every 2 s over every experiment id "
              "for 60 s; requests (by endpoint) and bytes per refresh counted by "
              "`tests/proxy.py` FaultProxy.",
              "10. `artifacts.py`: a server with --serve-artifacts; a folder of 10,000 small files "
              "and a 1 GB log written into its artifact store; `RestArtifacts.list` of the "
              "folder and `read` of the log's tail (what the artifacts pane asks), median of 5, "
              "bytes counted by the client; then the same folder and log as a local store's "
              "artifact root (`LocalArtifacts`): list and save, with the longest stall of the "
              "event loop meanwhile (a 5 ms ticker).",
              "", "Run times:", "", *infos, ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
