"""`mlflow-tui status`: one look at the runs, no UI. A plain table (or JSON, or CSV) of the
newest runs with their status, duration, latest step, latest train/validation values and
warnings, judged by the same analysis as the live monitor.

No Textual and no rich import here (a test checks it): this runs in cron jobs, CI and over
slow SSH links, and must start fast and print nothing but text.

Data path, as in the app: `search_experiments`, one `runs/search` per 100 experiments (it
carries every run's latest metric values), then one history load of the warning pair of the
listed runs through the app's own `Poller` (sampled the way the app's first load is), and
`HealthBook` for the warnings.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

from mlflow_tui.analysis.health import HealthWarning, format_duration
from mlflow_tui.analysis.healthbook import HealthBook
from mlflow_tui.analysis.judge import Choices, primary, series_keys
from mlflow_tui.analysis.pairing import MetricPair
from mlflow_tui.settings.config import Settings
from mlflow_tui.text.numbers import number
from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.models import (
    Experiment,
    Point,
    Run,
    RunStatus,
    find_experiment,
    several_named,
)
from mlflow_tui.tracking.poller import Poller
from mlflow_tui.tracking.source import TrackingSource, sort_newest_first

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_WARNINGS", "RunRow", "StatusError", "clean",
           "collect", "render_csv", "render_json", "render_table", "run_status", "use_colour"]

EXIT_OK = 0
EXIT_ERROR = 1  # unreachable server, refused credentials, unknown experiment
EXIT_WARNINGS = 3  # --fail-on-warning and at least one listed run has a warning
NAME_CELLS = 40  # experiment and run names are cut to this many cells in the table
HISTORY_POINTS = 500  # points per series for the warnings, like the app's first load


class StatusError(Exception):
    """A problem to report in one line with exit status 1 (not a TrackingError)."""


# ---------------------------------------------------------------------- safe text
# The plain (no rich, no Textual) counterpart of widgets/text.py: escape sequences collapse to
# one visible ␛, other control characters become their Control Pictures, bidi controls go.
_ANSI_RE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)
    | \x1b[ -/]*[0-~]
    """,
    re.VERBOSE,
)
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_NEEDS_WORK = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + _BIDI + "]")
_TABLE: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}
_TABLE.update({0x0A: "⏎", 0x7F: "␡", 0x2028: "⏎", 0x2029: "⏎"})
_TABLE.update({code: f"\\x{code:02x}" for code in range(0x80, 0xA0)})
_TABLE.update({ord(c): "" for c in _BIDI})
ELLIPSIS = "…"


def clean(value: object, max_cells: int | None = None) -> str:
    """`value` as text that cannot drive a terminal: no escape sequence, no control
    character, no bidi override. Cut to `max_cells` terminal cells (ending in …) if given."""
    text = value if isinstance(value, str) else str(value)
    if _NEEDS_WORK.search(text) is not None:
        text = _ANSI_RE.sub("\x1b", text).replace("\r\n", "\n").translate(_TABLE)
    if max_cells is not None and cells(text) > max_cells:
        out, width = [], 0
        for char in text:
            size = _char_cells(char)
            if width + size > max_cells - 1:
                break
            out.append(char)
            width += size
        text = "".join(out) + ELLIPSIS
    return text


def _char_cells(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Cf", "Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def cells(text: str) -> int:
    """Terminal cells `text` takes (wide East Asian characters 2, combining marks 0)."""
    if text.isascii():
        return len(text)
    return sum(_char_cells(c) for c in text)


# ---------------------------------------------------------------------- data
@dataclass(frozen=True)
class RunRow:
    experiment: str
    experiment_id: str
    run_id: str
    name: str
    status: RunStatus
    start_time: int | None  # ms since the epoch
    end_time: int | None
    duration_s: float | None
    step: int | None
    train_key: str | None
    train: float | None
    val_key: str | None
    val: float | None
    metrics: Mapping[str, float] = field(default_factory=dict)
    warnings: Sequence[HealthWarning] = ()
    pairs: Sequence[MetricPair] = ()  # every judged pair, the primary (train_key/val_key) first
    best: Mapping[str, Point] = field(default_factory=dict)  # validation key -> its best point


def _choose(experiments: list[Experiment], wanted: Sequence[str]) -> list[Experiment]:
    """The experiments named in `wanted` (:func:`find_experiment`: a whole name, an id, or the
    end of one path), in that order; all when empty."""
    if not wanted:
        return experiments
    chosen: dict[str, Experiment] = {}
    missing: list[str] = []
    for name in wanted:
        exp, several = find_experiment(experiments, name)
        if several:
            raise StatusError(several_named(name, several,
                                            lambda text: repr(clean(text, NAME_CELLS))))
        if exp is None:
            missing.append(name)
        else:
            chosen.setdefault(exp.experiment_id, exp)
    if missing:
        names = ", ".join(repr(clean(m, NAME_CELLS)) for m in missing)
        word = "experiment" if len(missing) == 1 else "experiments"
        raise StatusError(f"no active {word} named {names}")
    return list(chosen.values())


async def collect(source: TrackingSource, settings: Settings, now_ms: int
                  ) -> tuple[list[RunRow], bool]:
    """The newest `settings.max_runs` runs of the chosen experiments (all when none is
    chosen), with their warnings; and whether more runs were left out."""
    experiments = _choose(await source.search_experiments(), settings.experiments)
    names = {e.experiment_id: e.name for e in experiments}
    ids = list(names)
    runs: list[Run] = []
    for i in range(0, len(ids), 100):
        runs += await source.search_runs(ids[i:i + 100], max_runs=settings.max_runs + 1)
    runs = sort_newest_first(runs)
    truncated = len(runs) > settings.max_runs
    runs = runs[:settings.max_runs]

    choices = Choices.build(settings.pair, settings.pairs, experiments)
    poller = Poller(source, first_load_points=HISTORY_POINTS)
    poller.runs = {r.run_id: r for r in runs}
    await poller.fetch([key for r in runs for key in series_keys(r, choices)])
    book = HealthBook(settings.health(), choices)
    book.update(runs, poller.points, now_ms)

    rows: list[RunRow] = []
    for run in runs:
        judgement = book.judgement(run.run_id)
        pair = judgement.primary or primary(run, choices)
        train = judgement.latest(run, pair.train) if pair else None
        val = judgement.latest(run, pair.val) if pair else None
        metrics = {k: p.value for k, p in run.metrics.items()}
        for split in judgement.splits.values():  # one value per dataset, not the last logged
            metrics.pop(split.key, None)
            metrics.update((k, part[-1].value) for k, part in
                           zip(split.keys(), split.parts, strict=True) if part)
        duration = run.duration_ms(now_ms)
        rows.append(RunRow(
            experiment=names.get(run.experiment_id, run.experiment_id),
            experiment_id=run.experiment_id, run_id=run.run_id, name=run.name,
            status=run.status, start_time=run.start_time, end_time=run.end_time,
            duration_s=None if duration is None else duration / 1000.0,
            step=run.latest_step,
            train_key=pair.train if pair else None, train=train.value if train else None,
            val_key=pair.val if pair else None, val=val.value if val else None,
            metrics=dict(sorted(metrics.items())),
            warnings=tuple(book.of(run.run_id)),
            pairs=book.pairs(run.run_id),
            best=dict(book.judgement(run.run_id).best),
        ))
    return rows, truncated


# ---------------------------------------------------------------------- output
def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


def _kinds(row: RunRow) -> str:
    return ", ".join(w.kind.value for w in row.warnings)


def render_json(rows: Sequence[RunRow]) -> str:
    """A JSON list of objects, one per run. NaN and infinities become null; names are exact
    (JSON escapes every control character)."""
    out = []
    for row in rows:
        best = row.best.get(row.val_key) if row.val_key else None
        out.append({
            "experiment": row.experiment,
            "experiment_id": row.experiment_id,
            "run_id": row.run_id,
            "run": row.name,
            "status": row.status.value,
            "start_time": _iso(row.start_time),
            "end_time": _iso(row.end_time),
            "duration_s": row.duration_s,
            "step": row.step,
            "train_metric": row.train_key,
            "train": _finite(row.train),
            "val_metric": row.val_key,
            "val": _finite(row.val),
            "best_step": best.step if best else None,
            "best_value": _finite(best.value) if best else None,
            "pairs": [{"train": p.train, "val": p.val, "higher_is_better": p.higher_is_better,
                       "why": p.why,
                       "best_step": row.best[p.val].step if p.val in row.best else None,
                       "best_value": _finite(row.best[p.val].value) if p.val in row.best
                       else None} for p in row.pairs],
            "warnings": [{"kind": w.kind.value, "reason": w.reason, "step": w.step,
                          **({"train_metric": w.pair[0], "val_metric": w.pair[1],
                              "best_step": w.best_step, "best_value": _finite(w.best_value)}
                             if w.pair else {})}
                         for w in row.warnings],
            "metrics": {k: _finite(v) for k, v in row.metrics.items()},
        })
    return json.dumps(out, indent=2, allow_nan=False) + "\n"


CSV_COLUMNS = ["experiment", "experiment_id", "run_id", "run", "status", "start_time",
               "end_time", "duration_s", "step", "train_metric", "train", "val_metric", "val",
               "best_step", "best_value", "warnings", "warning_reasons"]


def render_csv(rows: Sequence[RunRow], stream: TextIO) -> None:
    """CSV with pandas: the columns above, then `metrics.<key>` for every metric of the listed
    runs. Text is cleaned of control characters; NaN values are empty cells."""
    import pandas as pd

    records: list[dict[str, Any]] = []
    keys = sorted({k for row in rows for k in row.metrics})
    for row in rows:
        best = row.best.get(row.val_key) if row.val_key else None
        record: dict[str, Any] = {
            "experiment": clean(row.experiment), "experiment_id": clean(row.experiment_id),
            "run_id": clean(row.run_id), "run": clean(row.name), "status": row.status.value,
            "start_time": _iso(row.start_time), "end_time": _iso(row.end_time),
            "duration_s": row.duration_s, "step": row.step,
            "train_metric": clean(row.train_key) if row.train_key else None,
            "train": row.train,
            "val_metric": clean(row.val_key) if row.val_key else None, "val": row.val,
            "best_step": best.step if best else None,
            "best_value": best.value if best else None,
            "warnings": ";".join(w.kind.value for w in row.warnings),
            "warning_reasons": " | ".join(clean(w.reason) for w in row.warnings),
        }
        for key in keys:
            record[f"metrics.{clean(key)}"] = row.metrics.get(key)
        records.append(record)
    columns = CSV_COLUMNS + [f"metrics.{clean(k)}" for k in keys]
    frame = pd.DataFrame.from_records(records, columns=columns)
    if not frame.empty:
        frame["step"] = frame["step"].astype("Int64")
        frame["best_step"] = frame["best_step"].astype("Int64")
    frame.to_csv(stream, index=False, lineterminator="\n")


_SGR = {
    RunStatus.RUNNING: "1;36", RunStatus.SCHEDULED: "2", RunStatus.FINISHED: "32",
    RunStatus.FAILED: "1;31", RunStatus.KILLED: "33",
}


def use_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (https://no-color.org) or
    TERM=dumb."""
    if environ.get("NO_COLOR", "") != "" or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def render_table(rows: Sequence[RunRow], *, colour: bool = False, truncated: bool = False,
                 max_runs: int = 0) -> str:
    """A plain text table, two spaces between columns, then each warning's reason."""
    if not rows:
        return "no runs\n"
    with_pair = [r for r in rows if r.train_key]
    same = {(r.train_key, r.val_key) for r in with_pair}
    uniform = len(same) == 1
    train_head, val_head = next(iter(same)) if uniform else ("TRAIN", "VAL")

    def metric_cell(value: float | None, key: str | None, head: str | None) -> str:
        if key is None:
            return "—"
        text = number(value)
        return text if key == head else f"{text} ({clean(key, 24)})"

    header = ["EXPERIMENT", "RUN", "STATUS", "DURATION", "STEP", clean(train_head or "TRAIN", 24),
              clean(val_head or "VAL", 24), "WARNINGS"]
    body: list[list[str]] = []
    for r in rows:
        body.append([
            clean(r.experiment, NAME_CELLS), clean(r.name, NAME_CELLS), r.status.value,
            format_duration(r.duration_s) if r.duration_s is not None else "—",
            "—" if r.step is None else str(r.step),
            metric_cell(r.train, r.train_key, train_head),
            metric_cell(r.val, r.val_key, val_head), _kinds(r) or "—",
        ])
    right = {3, 4, 5, 6}
    widths = [max(cells(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(line: list[str], styles: list[str | None]) -> str:
        parts = []
        for i, (text, width) in enumerate(zip(line, widths, strict=True)):
            pad = " " * (width - cells(text))
            if i == len(line) - 1 and i not in right:
                pad = ""  # no trailing blanks (inside colour codes rstrip misses them)
            cell = pad + text if i in right else text + pad
            style = styles[i]
            if colour and style:
                cell = f"\x1b[{style}m{cell}\x1b[0m"
            parts.append(cell)
        return "  ".join(parts).rstrip()

    out = [fmt(header, ["1"] * len(header))]
    for r, line in zip(rows, body, strict=True):
        severity = max((w.severity for w in r.warnings), default=0)
        warn_style = "1;31" if severity >= 3 else ("33" if severity else None)
        out.append(fmt(line, [None, None, _SGR[r.status], None, None, None, None, warn_style]))
    warned = [r for r in rows if r.warnings]
    out.append("")
    summary = f"{len(rows)} run{'s' if len(rows) != 1 else ''}, {len(warned)} with warnings"
    if truncated:
        summary += f" (the newest {max_runs}; --max-runs N to see more)"
    out.append(summary)
    for r in warned:
        for w in r.warnings:
            out.append(f"  {clean(r.experiment, NAME_CELLS)} / {clean(r.name, NAME_CELLS)}: "
                       f"{w.kind.value}: {clean(w.reason, 200)}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- command
async def _collect_and_close(source: TrackingSource, settings: Settings, now_ms: int
                             ) -> tuple[list[RunRow], bool]:
    try:
        return await collect(source, settings, now_ms)
    finally:
        try:
            await source.aclose()
        except Exception:  # noqa: BLE001 - closing must not hide the result or the error
            pass


def run_status(settings: Settings, source: TrackingSource, *, output: str = "table",
               fail_on_warning: bool = False, stdout: TextIO, stderr: TextIO,
               environ: Mapping[str, str] | None = None, now_ms: int | None = None,
               prog: str = "mlflow-tui status") -> int:
    """Print the status of the runs to `stdout` in `output` ("table", "json" or "csv").
    Returns the exit status: 0, 1 (with a one-line reason on `stderr`) or 3."""
    env = os.environ if environ is None else environ
    now = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        rows, truncated = asyncio.run(_collect_and_close(source, settings, now))
    except (TrackingError, StatusError) as exc:
        stderr.write(f"{prog}: error: {clean(str(exc), 400)}\n")
        return EXIT_ERROR
    if output == "json":
        stdout.write(render_json(rows))
    elif output == "csv":
        render_csv(rows, stdout)
    else:
        stdout.write(render_table(rows, colour=use_colour(stdout, env), truncated=truncated,
                                  max_runs=settings.max_runs))
    stdout.flush()
    if fail_on_warning and any(r.warnings for r in rows):
        return EXIT_WARNINGS
    return EXIT_OK
