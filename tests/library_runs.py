"""Runs recorded from real trainings with each library's own MLflow integration
(tests/data/libraries/*.json, recorded by bench/record/*.py), and replaying them onto a real
tracking server exactly as logged: the same keys, steps, timestamps and values."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_tui.tracking.models import Point

FOLDER = Path(__file__).parent / "data" / "libraries"


@dataclass(frozen=True)
class Fixture:
    name: str  # the file's stem
    data: dict[str, Any]

    @property
    def label(self) -> str:
        return str(self.data["label"])

    @property
    def label_pair(self) -> tuple[str, str] | None:
        """The (train, validation) keys the label is about; for a key logged for several
        datasets, as the judge names its parts: ("loss [train]", "loss [eval]")."""
        pair = self.data.get("label_pair")
        if not pair:
            return None
        sets = self.data.get("label_pair_datasets")
        if sets:
            return f"{pair[0]} [{sets[0]}]", f"{pair[1]} [{sets[1]}]"
        return pair[0], pair[1]

    @property
    def metrics(self) -> dict[str, list[list[Any]]]:
        return self.data["metrics"]

    def points(self, key: str) -> list[Point]:
        return [Point(int(s), math.nan if v is None else float(v), int(t))
                for s, t, v in self.metrics.get(key, [])]

    def latest(self) -> dict[str, Point]:
        """The latest point of every key, as runs/search reports it (the highest step, then
        the latest timestamp)."""
        out = {}
        for key in self.metrics:
            pts = self.points(key)
            if pts:
                out[key] = max(pts, key=lambda p: (p.step, p.timestamp))
        return out


def fixtures(pattern: str = "*.json") -> list[Fixture]:
    return [Fixture(p.stem, json.loads(p.read_text())) for p in sorted(FOLDER.glob(pattern))]


def ids(items: list[Fixture]) -> list[str]:
    return [f.name for f in items]


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def log_fixture(client: Any, experiment_id: str, fixture: Fixture, *,
                status: str | None = None, run_name: str | None = None) -> str:
    """Replay `fixture` onto a real server with MLflow's client; returns the run id. The run
    ends with the recorded status (or `status`); RUNNING leaves it running."""
    from mlflow.entities import Metric, Param

    run = fixture.data["run"]
    tags = {k: str(v) for k, v in (run.get("tags") or {}).items()
            if not k.startswith("mlflow.runName")}
    created = client.create_run(experiment_id, run_name=run_name or run.get("name") or
                                fixture.name, start_time=run.get("start_time"), tags=tags)
    rid = created.info.run_id
    params = [Param(k, str(v)[:6000]) for k, v in (run.get("params") or {}).items()]
    for chunk in _batches(params, 100):
        client.log_batch(rid, params=chunk)
    metrics = [Metric(key, math.nan if v is None else float(v), int(t), int(s))
               for key, points in fixture.metrics.items() for s, t, v in points]
    for chunk in _batches(metrics, 1000):
        client.log_batch(rid, metrics=chunk)
    inputs = fixture.data.get("inputs") or []
    if inputs:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        client.log_inputs(rid, datasets=[DatasetInput(
            Dataset(name=i["name"], digest=i.get("digest") or i["name"],
                    source_type=i.get("source_type") or "code", source="{}",
                    profile=i.get("profile")),
            tags=[InputTag("mlflow.data.context", i["context"])] if i.get("context") else [])
            for i in inputs])
    final = status or run.get("status") or "FINISHED"
    if final != "RUNNING":
        client.set_terminated(rid, final, end_time=run.get("end_time"))
    return rid
