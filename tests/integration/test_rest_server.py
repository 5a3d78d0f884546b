"""The data layer against a real `mlflow server` on loopback."""

from __future__ import annotations

import math
import random
import time
import uuid

import pytest
from mlflow.entities import Metric

from mlflow_tui.tracking.errors import ConnectionFailed, NotFound
from mlflow_tui.tracking.models import RunStatus
from mlflow_tui.tracking.poller import Poller
from mlflow_tui.tracking.rest import RestSource


def _log(client, run_id: str, key: str, steps, value=lambda s: 1.0 / (s + 1)) -> None:
    now = int(time.time() * 1000)
    metrics = [Metric(key, value(s), now + i, s) for i, s in enumerate(steps)]
    for i in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[i:i + 1000])


def _experiment(client, prefix: str = "it") -> str:
    return client.create_experiment(f"{prefix}/{uuid.uuid4().hex[:8]}/exp")


async def _assert_cache_matches(source: RestSource, poller: Poller, keys) -> int:
    """Cached points == server history at steps >= exact_from, up to the last cached step."""
    total = 0
    for key in keys:
        cache = poller.series.get(key)
        full = await source.get_full_history(*key)
        if cache is None:  # never logged: nothing to cache
            assert full == [], key
            continue
        want = [p for p in full if cache.exact_from <= p.step <= cache.last_step]
        got = [p for p in cache.points if p.step >= cache.exact_from]
        assert [(p.step, p.timestamp) for p in got] == [(p.step, p.timestamp) for p in want], key
        for a, b in zip(got, want, strict=True):
            assert a.value == b.value or (math.isnan(a.value) and math.isnan(b.value))
        total += len(got)
    return total


async def test_experiments_and_runs_with_latest_points(live_server):
    client = live_server.client()
    exp = _experiment(client, "team/project")
    run = client.create_run(exp, run_name="[bold]weird[/bold] name")
    _log(client, run.info.run_id, "train_loss", range(0, 30))
    _log(client, run.info.run_id, "val_loss", range(0, 30, 10), lambda s: float("nan"))
    client.log_param(run.info.run_id, "lr", "0.01")
    source = RestSource(live_server.url)
    try:
        experiments = await source.search_experiments()
        assert exp in {e.experiment_id for e in experiments}
        runs = await source.search_runs([exp])
        assert [r.run_id for r in runs] == [run.info.run_id]
        got = runs[0]
        assert got.name == "[bold]weird[/bold] name"
        assert got.status is RunStatus.RUNNING
        assert got.metrics["train_loss"].step == 29
        assert got.metrics["train_loss"].value == pytest.approx(1 / 30)
        assert math.isnan(got.metrics["val_loss"].value)
        assert got.params == {"lr": "0.01"}
        with pytest.raises(NotFound):
            await source.get_run("0" * 32)
    finally:
        await source.aclose()


async def test_poller_sees_new_runs_and_status_transitions(live_server):
    client = live_server.client()
    exp = _experiment(client)
    source = RestSource(live_server.url)
    now = [0.0]
    poller = Poller(source, clock=lambda: now[0])
    try:
        first = await poller.tick([exp])
        assert first.runs == []
        runs = [client.create_run(exp, run_name=f"r{i}") for i in range(4)]
        ids = [r.info.run_id for r in runs]
        second = await poller.tick([exp])
        assert sorted(second.new_runs) == sorted(ids)
        assert all(r.status is RunStatus.RUNNING for r in second.runs)
        ends = ["FINISHED", "FAILED", "KILLED"]
        for rid, status in zip(ids, ends, strict=False):
            client.set_terminated(rid, status)
        third = await poller.tick([exp])
        assert {rid: new.value for rid, (_, new) in third.status_changes.items()} == dict(
            zip(ids, ends, strict=False))
        assert third.new_runs == []
        client.delete_run(ids[3])  # still running: seen by the next active listing
        now[0] += poller.active_every
        fourth = await poller.tick([exp])
        assert fourth.removed_runs == [ids[3]]
        # Nothing changed and nothing runs: a tick is one probe for new runs, answered empty.
        before = source.requests
        now[0] += 2
        quiet = await poller.tick([exp], [(rid, "train_loss") for rid in ids[:3]])
        assert source.requests - before == 1 and quiet.updated_series == set()
        assert quiet.runs == fourth.runs
    finally:
        await source.aclose()


async def test_incremental_cache_equals_server_history(live_server):
    """Random logging between ticks, incl. gaps, NaN, same-step re-logs and a jump of more than
    2,500 steps (a window the server would sample): the cache stays exact."""
    client = live_server.client()
    exp = _experiment(client)
    rng = random.Random(11)
    runs = [client.create_run(exp).info.run_id for _ in range(3)]
    keys = [(rid, k) for rid in runs for k in ("train_loss", "val_loss")]
    source = RestSource(live_server.url)
    poller = Poller(source, first_load_points=5000)
    next_step = {k: 0 for k in keys}
    try:
        for tick in range(12):
            for key in keys:
                jump = tick == 6 and key == keys[0]
                if rng.random() < 0.3 and not jump:
                    continue
                n = 3000 if jump else rng.randint(1, 40)
                gap = rng.choice([1, 1, 1, 2, 5])
                steps = range(next_step[key], next_step[key] + n * gap, gap)
                _log(client, key[0], key[1], steps,
                     lambda s: float("nan") if s % 97 == 0 else rng.random())
                next_step[key] = steps[-1] + 1
            if tick in (8, 10):  # another point at the last step (same step, newer time)
                last = max(0, next_step[keys[1]] - 1)
                client.log_batch(keys[1][0], metrics=[Metric(keys[1][1], 0.5,
                                                             int(time.time() * 1000) + 10_000,
                                                             last)])
            await poller.tick([exp], keys)
            await _assert_cache_matches(source, poller, keys)
        total = await _assert_cache_matches(source, poller, keys)
        everything = [len(await source.get_full_history(*k)) for k in keys]
        assert total == sum(everything) > 3000
    finally:
        await source.aclose()


async def test_first_load_is_downsampled_then_exact(live_server):
    client = live_server.client()
    exp = _experiment(client)
    rid = client.create_run(exp).info.run_id
    _log(client, rid, "train_loss", range(3000))
    source = RestSource(live_server.url)
    poller = Poller(source, first_load_points=400)
    try:
        await poller.tick([exp], [(rid, "train_loss")])
        cache = poller.series[(rid, "train_loss")]
        assert cache.sampled and 400 <= len(cache.points) <= 410
        assert cache.points[0].step == 0 and cache.points[-1].step == 2999
        _log(client, rid, "train_loss", range(3000, 3050))
        result = await poller.tick([exp], [(rid, "train_loss")])
        assert (rid, "train_loss") in result.updated_series
        assert [p.step for p in cache.points if p.step >= 3000] == list(range(3000, 3050))
        await _assert_cache_matches(source, poller, [(rid, "train_loss")])
    finally:
        await source.aclose()


async def test_nothing_listening_fails_after_bounded_retries():
    source = RestSource("http://127.0.0.1:1", retries=2)
    attempts = 0
    original = source._call_once

    async def counting(*args, **kwargs):
        nonlocal attempts
        attempts += 1
        return await original(*args, **kwargs)

    source._call_once = counting  # type: ignore[method-assign]
    try:
        with pytest.raises(ConnectionFailed) as info:
            await source.search_experiments()
    finally:
        await source.aclose()
    assert attempts == 3, "one call and two quick retries, never MLflow's seven"
    assert "refused" in str(info.value)
