"""Issue 13's acceptance on a real `mlflow server`: runs recorded from real trainings with each
library's own MLflow integration (tests/data/libraries), replayed exactly as logged, are paired
by the library's convention and warned when they overfit, not when they are healthy, in
`mlflow-tui status --json` and in the monitor."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import defaultdict

import pytest

from mlflow_tui.analysis.datasets import split_series
from mlflow_tui.cli import main
from tests.conftest import running, wait_until
from tests.library_runs import Fixture, fixtures, log_fixture

pytestmark = pytest.mark.server

# One overfitting and one healthy run of every library and way of logging (the unnumbered
# recording of each, as in tests/unit/test_overfit_properties.py).
_VARIANT = re.compile(r"^(?P<variant>.+)-(?P<label>overfit|healthy)(?:-\d+)?$")


def _pick() -> list[Fixture]:
    chosen: dict[tuple[str, str], Fixture] = {}
    for fx in fixtures():
        m = _VARIANT.match(fx.name)
        # Live snapshots are judged in tests/unit/test_overfit_properties.py (overall).
        if (m and fx.label == m.group("label") and "-running-" not in fx.name
                and fx.name == f"{m.group('variant')}-{m.group('label')}"):
            chosen[(m.group("variant"), m.group("label"))] = fx
    return [chosen[k] for k in sorted(chosen)]


CASES = _pick()
# What each library's runs must be paired on: (train, validation), by the library's convention.
EXPECTED_PAIR = {fx.name: fx.label_pair for fx in CASES}


@pytest.fixture(scope="module")
def logged(mlflow_server):
    """Every case in one experiment of its own per variant, on the session's server."""
    running(mlflow_server)  # restarted if an earlier module stopped it
    client = mlflow_server.client()
    tag = uuid.uuid4().hex[:6]
    experiments: dict[str, str] = {}
    runs: dict[str, str] = {}
    by_variant: dict[str, list[Fixture]] = defaultdict(list)
    for fx in CASES:
        m = _VARIANT.match(fx.name)
        assert m is not None
        by_variant[m.group("variant")].append(fx)
    for variant, items in by_variant.items():
        name = f"libraries/{tag}/{variant}"
        eid = client.create_experiment(name)
        for fx in items:
            runs[fx.name] = log_fixture(client, eid, fx, status="FINISHED", run_name=fx.name)
            experiments[fx.name] = name
    return {"url": mlflow_server.url, "experiments": experiments, "runs": runs, "tag": tag}


def _points(fx: Fixture, key: str):
    """A key's points, or those of one dataset's part of a key split by dataset."""
    if key in fx.metrics:
        return fx.points(key)
    base, name = key[:-1].split(" [", 1)
    datasets = tuple((i["name"], i.get("context", "")) for i in fx.data.get("inputs", []))
    split = split_series(base, fx.points(base), datasets)
    assert split is not None, key
    return dict(zip(split.keys(), split.parts, strict=True))[key]


def _status_json(capsys, url: str, *names: str) -> dict[str, dict]:
    args = ["status", url, "--json", "-n", "500"]
    for name in names:
        args += ["-e", name]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    return {row["run"]: row for row in json.loads(out)}


def test_status_pairs_and_warns_every_library_run(logged, capsys):
    rows = _status_json(capsys, logged["url"], *sorted(set(logged["experiments"].values())))
    assert set(rows) == {fx.name for fx in CASES}
    wrong = []
    for fx in CASES:
        row = rows[fx.name]
        pair = (row["train_metric"], row["val_metric"])
        overfit = [w for w in row["warnings"] if w["kind"] == "overfitting"]
        if pair != EXPECTED_PAIR[fx.name]:
            wrong.append(f"{fx.name}: paired {pair}, expected {EXPECTED_PAIR[fx.name]}")
        if (fx.label == "overfit") != bool(overfit):
            wrong.append(f"{fx.name} ({fx.label}): warnings {row['warnings']}")
        if overfit:
            assert (overfit[0]["train_metric"], overfit[0]["val_metric"]) in [
                (p["train"], p["val"]) for p in row["pairs"]]
        # one best point, the same in the row, its pair and its warning
        val_points = _points(fx, row["val_metric"])
        finite = [p for p in val_points if p.value == p.value]
        better_high = row["pairs"][0]["higher_is_better"]
        best = (max if better_high else min)(finite, key=lambda p: p.value)
        assert (row["best_step"], row["best_value"]) == (best.step, best.value)
        assert (row["pairs"][0]["best_step"], row["pairs"][0]["best_value"]) == (
            best.step, best.value)
        for w in overfit:
            if w["val_metric"] == row["val_metric"]:
                assert (w["best_step"], w["best_value"]) == (best.step, best.value)
    assert not wrong, "\n".join(wrong)


async def test_monitor_shows_the_same_verdicts(logged):
    """The monitor, opened fresh on each experiment, badges exactly the overfitting runs."""
    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings
    from mlflow_tui.widgets import RunTable

    names = sorted(set(logged["experiments"].values()))
    app = make_app(Settings(uri=logged["url"], experiments=names, interval=0.5,
                            warn_rows=50))
    async with app.run_test(size=(200, 50)) as pilot:
        expected = {logged["runs"][fx.name]: fx.label == "overfit" for fx in CASES}

        def judged() -> bool:
            book = app.session.health
            return all(rid in book.judgements for rid in expected) and all(
                bool(book.overfitting(rid)) == want for rid, want in expected.items())

        await wait_until(judged, timeout=60, message="every library run judged as labelled")
        table = app.monitor.query_one(RunTable)
        for rid, want in expected.items():
            row = table.get_row(rid)
            badge = str(row[7])
            assert ("overfit" in badge) == want, (rid, badge)
        await pilot.pause()


async def test_a_finished_hugging_face_run_has_one_verdict_everywhere(mlflow_server, capsys):
    """A Hugging Face Trainer run watched while it trains, then finished (with its one-point
    train_loss summary): the monitor that watched it, a fresh monitor and `status` give the
    same pair, the same verdict and the same best point."""
    from mlflow.entities import Metric

    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings

    fx = next(f for f in fixtures("hf-trainer-steps-overfit.json"))
    client = mlflow_server.client()
    name = f"hf-stability/{uuid.uuid4().hex[:6]}"
    eid = client.create_experiment(name)
    rid = client.create_run(eid, run_name="hf").info.run_id
    summary = {"train_loss", "train_runtime", "train_samples_per_second",
               "train_steps_per_second", "total_flos"}
    points = [(k, s, t, v) for k, pts in fx.metrics.items() if k not in summary
              for s, t, v in pts]
    points.sort(key=lambda p: (p[1], p[2]))
    cut = len(points) * 2 // 3

    def log(items):
        for i in range(0, len(items), 1000):
            client.log_batch(rid, metrics=[Metric(k, v, t, s) for k, s, t, v in
                                           items[i:i + 1000]])

    log(points[:cut])

    def verdict(book, run_id):
        j = book.judgement(run_id)
        w = next((w for w in j.warnings if w.kind.value == "overfitting"), None)
        return ((j.primary.train, j.primary.val) if j.primary else None,
                None if w is None else (w.pair, w.best_step, w.best_value))

    app = make_app(Settings(uri=mlflow_server.url, experiments=[name], interval=0.3))
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(lambda: rid in app.session.health.judgements, timeout=30,
                         message="the running run judged")
        log(points[cut:])
        log([(k, s, t, v) for k, pts in fx.metrics.items() if k in summary for s, t, v in pts])
        client.set_terminated(rid, "FINISHED")
        await wait_until(lambda: app.session.poller.runs.get(rid) is not None
                         and app.session.poller.runs[rid].status.value == "FINISHED"
                         and "train_loss" in app.session.poller.runs[rid].metrics
                         and verdict(app.session.health, rid)[1] is not None,
                         timeout=60, message="the finished run judged overfitting")
        watched = verdict(app.session.health, rid)
        await pilot.pause()
    fresh_app = make_app(Settings(uri=mlflow_server.url, experiments=[name], interval=0.3))
    async with fresh_app.run_test(size=(160, 45)):
        await wait_until(lambda: verdict(fresh_app.session.health, rid)[0] is not None
                         and rid in fresh_app.session.health.judgements
                         and fresh_app.session.poller.points((rid, "eval_loss")), timeout=30,
                         message="the fresh monitor judged the run")
        await wait_until(lambda: verdict(fresh_app.session.health, rid) == watched, timeout=10,
                         message=f"the fresh monitor's verdict {watched}")
    rows = await asyncio.to_thread(_status_json, capsys, mlflow_server.url, name)
    row = rows["hf"]
    warning = next(w for w in row["warnings"] if w["kind"] == "overfitting")
    assert watched == (("loss", "eval_loss"),
                       (("loss", "eval_loss"), row["best_step"], row["best_value"]))
    assert (row["train_metric"], row["val_metric"]) == ("loss", "eval_loss")
    assert (warning["best_step"], warning["best_value"]) == (row["best_step"],
                                                             row["best_value"])
