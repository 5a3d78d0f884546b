"""The poller against an in-memory source with MLflow's get-history-bulk-interval semantics."""

from __future__ import annotations

import bisect
import dataclasses
import random
from collections import Counter
from collections.abc import Sequence

import pytest

from mlflow_tui.tracking.errors import NotFound
from mlflow_tui.tracking.models import Experiment, Point, Run, RunStatus
from mlflow_tui.tracking.poller import ACTIVE, OPEN_END, Poller
from mlflow_tui.tracking.source import MAX_RESULTS_PER_RUN
from tests.fakes import matches

T0 = 1_700_000_000_000


class FakeSource:
    """TrackingSource with MLflow's server semantics, per run:

    get_history_window returns the rows with start <= step <= end (or all rows without a
    window) sorted by (step, timestamp); when there are more than max_results of them, an
    evenly spaced sample of max_results rows that keeps the first and the last. Runs without
    rows are absent. `requests` counts every call; `calls` counts them per method."""

    display_uri = "fake://"

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.history: dict[tuple[str, str], list[Point]] = {}
        self.requests = 0
        self.calls: Counter[str] = Counter()
        self.windows: list[tuple[tuple[str, ...], str, int | None, int | None, int]] = []
        self.missing: set[str] = set()  # get_history_window raises NotFound for these
        self.filters: list[str] = []  # the filter of each runs/search
        self.clock = T0

    # ------------------------------------------------------------ writing
    def add_run(self, run_id: str, experiment_id: str = "1", *,
                status: RunStatus = RunStatus.RUNNING, start_time: int | None = None) -> None:
        start = T0 + len(self.runs) if start_time is None else start_time
        self.runs[run_id] = Run(run_id, experiment_id, run_id, status, start, None, {}, {}, {})

    def log(self, run_id: str, key: str, step: int, value: float | None = None,
            timestamp: int | None = None) -> Point:
        self.clock += 1
        ts = self.clock if timestamp is None else timestamp
        point = Point(step, float(step) if value is None else value, ts)
        rows = self.history.setdefault((run_id, key), [])
        bisect.insort(rows, point, key=lambda p: (p.step, p.timestamp))
        run = self.runs[run_id]
        latest = rows[-1]
        self.runs[run_id] = dataclasses.replace(run, metrics={**run.metrics, key: latest})
        return point

    def log_steps(self, run_id: str, key: str, steps: Sequence[int]) -> None:
        for step in steps:
            self.log(run_id, key, step)

    def set_status(self, run_id: str, status: RunStatus) -> None:
        self.runs[run_id] = dataclasses.replace(self.runs[run_id], status=status)

    def delete_run(self, run_id: str) -> None:
        del self.runs[run_id]
        for k in [k for k in self.history if k[0] == run_id]:
            del self.history[k]

    # ------------------------------------------------------------ TrackingSource
    def _count(self, method: str) -> None:
        self.requests += 1
        self.calls[method] += 1

    async def search_experiments(self) -> list[Experiment]:
        self._count("search_experiments")
        ids = sorted({r.experiment_id for r in self.runs.values()})
        return [Experiment(i, f"exp-{i}") for i in ids]

    async def search_runs(self, experiment_ids: Sequence[str], *, filter_string: str = "",
                          max_runs: int = 5000) -> list[Run]:
        self._count("search_runs")
        self.filters.append(filter_string)
        runs = [r for r in self.runs.values()
                if r.experiment_id in experiment_ids and matches(r, filter_string, strict=True)]
        runs.sort(key=lambda r: (r.start_time or 0, r.run_id), reverse=True)
        return runs[:max_runs]

    async def get_history_window(self, run_ids: Sequence[str], key: str, *,
                                 start_step: int | None, end_step: int | None,
                                 max_results: int) -> dict[str, list[Point]]:
        self._count("get_history_window")
        assert (start_step is None) == (end_step is None), "both bounds or neither"
        assert 1 <= max_results <= MAX_RESULTS_PER_RUN
        assert len(run_ids) <= 100
        self.windows.append((tuple(run_ids), key, start_step, end_step, max_results))
        if self.missing.intersection(run_ids):
            raise NotFound("Run not found")
        out: dict[str, list[Point]] = {}
        for rid in run_ids:
            rows = self.history.get((rid, key), [])
            if start_step is not None and end_step is not None:
                rows = [p for p in rows if start_step <= p.step <= end_step]
            n = len(rows)
            if n > max_results:
                if max_results == 1:
                    rows = [rows[-1]]
                else:
                    idx = sorted({round(i * (n - 1) / (max_results - 1))
                                  for i in range(max_results)})
                    rows = [rows[i] for i in idx]
            if rows:
                out[rid] = list(rows)
        return out

    async def aclose(self) -> None:
        pass


def assert_exact(poller: Poller, source: FakeSource, run_id: str, key: str) -> None:
    """Cached points at steps >= exact_from == the source's full history at those steps."""
    cache = poller.series[(run_id, key)]
    full = source.history.get((run_id, key), [])
    want = [(p.step, p.timestamp, p.value) for p in full if p.step >= cache.exact_from]
    got = [(p.step, p.timestamp, p.value) for p in cache.points if p.step >= cache.exact_from]
    assert got == want, (run_id, key, cache.exact_from, len(got), len(want))


# ---------------------------------------------------------------------- the window logic
async def test_fake_samples_like_mlflow():
    """Sanity check of the fake itself: the sample is exact-size and keeps both ends."""
    source = FakeSource()
    source.add_run("r")
    source.log_steps("r", "loss", range(1000))
    got = (await source.get_history_window(["r"], "loss", start_step=100, end_step=899,
                                           max_results=50))["r"]
    assert len(got) == 50
    assert got[0].step == 100 and got[-1].step == 899
    assert [p.step for p in got] == sorted({p.step for p in got})


async def test_jump_of_10000_steps_is_recovered_exactly():
    source = FakeSource()
    source.add_run("r")
    source.log_steps("r", "loss", range(100))
    poller = Poller(source, first_load_points=500)
    await poller.tick(["1"], [("r", "loss")])
    cache = poller.series[("r", "loss")]
    assert cache.sampled is False and cache.exact_from == 0
    assert_exact(poller, source, "r", "loss")

    source.log_steps("r", "loss", range(100, 10_100))
    before = source.calls["get_history_window"]
    result = await poller.tick(["1"], [("r", "loss")])
    assert ("r", "loss") in result.updated_series
    cache = poller.series[("r", "loss")]
    assert len(cache.points) == 10_100
    assert cache.last_step == 10_099
    assert_exact(poller, source, "r", "loss")
    windows = source.calls["get_history_window"] - before
    assert 4 <= windows <= 32  # split, but not one call per point
    # The advance never re-reads the cached part before its last step.
    assert all(w[2] is not None and w[2] >= 99 for w in source.windows[-windows:])


async def test_jump_for_several_runs_in_one_batch():
    source = FakeSource()
    for rid in ("a", "b", "c"):
        source.add_run(rid)
        source.log_steps(rid, "loss", range(10))
    poller = Poller(source)
    keys = [(rid, "loss") for rid in ("a", "b", "c")]
    await poller.tick(["1"], keys)
    source.log_steps("a", "loss", range(10, 6000))
    source.log_steps("b", "loss", range(10, 20))
    source.log_steps("c", "loss", range(10, 9000, 3))
    await poller.tick(["1"], keys)
    for rid, key in keys:
        assert_exact(poller, source, rid, key)


async def test_first_load_of_3000_points_is_sampled_and_keeps_ends():
    source = FakeSource()
    source.add_run("r")
    source.log_steps("r", "loss", range(3000))
    poller = Poller(source, first_load_points=300)
    await poller.tick(["1"], [("r", "loss")])
    cache = poller.series[("r", "loss")]
    assert cache.sampled is True
    assert len(cache.points) == 300
    assert cache.points[0] == source.history[("r", "loss")][0]
    assert cache.points[-1] == source.history[("r", "loss")][-1]
    assert cache.exact_from == 3000
    assert source.windows[-1][2:] == (None, None, 300)

    source.log_steps("r", "loss", range(3000, 3050))
    await poller.tick(["1"], [("r", "loss")])
    cache = poller.series[("r", "loss")]
    assert cache.last_step == 3049
    assert_exact(poller, source, "r", "loss")
    assert len(cache.points) == 350


async def test_small_first_load_is_exact():
    source = FakeSource()
    source.add_run("r")
    source.log_steps("r", "loss", range(0, 200, 2))
    poller = Poller(source, first_load_points=300)
    await poller.tick(["1"], [("r", "loss")])
    cache = poller.series[("r", "loss")]
    assert cache.sampled is False
    assert cache.exact_from == 0
    assert_exact(poller, source, "r", "loss")


async def test_a_quiet_tick_costs_two_empty_probes_and_one_window_per_key():
    source = FakeSource()
    source.add_run("r")
    source.log_steps("r", "loss", range(50))
    source.log_steps("r", "acc", range(50))
    poller = Poller(source)
    first = await poller.tick(["1"], [("r", "loss"), ("r", "acc")])
    assert first.requests == 3  # runs/search + one load per key
    n = len(source.filters)
    second = await poller.tick(["1"], [("r", "loss"), ("r", "acc")])
    # No runs/search that returns runs: a probe for new runs and one for status changes,
    # then each tracked series of the running run asked open-ended from its last step.
    assert source.filters[n:] == [
        "attributes.start_time > 1700000000000",
        "attributes.run_id IN ('r') and attributes.status != 'RUNNING'"]
    assert second.requests == 4
    assert sorted((w[1], w[2], w[3]) for w in source.windows[-2:]) == [
        ("acc", 49, OPEN_END), ("loss", 49, OPEN_END)]
    assert second.updated_series == set()
    assert second.new_runs == [] and second.status_changes == {} and second.removed_runs == []
    # New points arrive through those windows, and become the run's latest values.
    source.log_steps("r", "loss", range(50, 53))
    third = await poller.tick(["1"], [("r", "loss"), ("r", "acc")])
    assert third.updated_series == {("r", "loss")}
    assert third.runs[0].metrics["loss"] == source.history[("r", "loss")][-1]
    assert poller.runs["r"].metrics["loss"].step == 52
    assert_exact(poller, source, "r", "loss")


async def test_same_step_relog_with_newer_timestamp_replaces_the_step():
    source = FakeSource()
    source.add_run("r")
    source.log_steps("r", "loss", range(10))
    poller = Poller(source)
    await poller.tick(["1"], [("r", "loss")])
    source.log("r", "loss", 9, value=-1.0)
    result = await poller.tick(["1"], [("r", "loss")])
    assert ("r", "loss") in result.updated_series
    assert [p.value for p in poller.points(("r", "loss")) if p.step == 9] == [9.0, -1.0]
    assert_exact(poller, source, "r", "loss")


async def test_relog_of_last_step_followed_by_new_steps_is_not_lost():
    """Step 9 is logged again, then steps 10..12, all between two ticks: the server's history
    has two rows at step 9 and the cache must too."""
    source = FakeSource()
    source.add_run("r")
    source.log_steps("r", "loss", range(10))
    poller = Poller(source)
    await poller.tick(["1"], [("r", "loss")])
    source.log("r", "loss", 9, value=-1.0)
    source.log_steps("r", "loss", range(10, 13))
    await poller.tick(["1"], [("r", "loss")])
    assert_exact(poller, source, "r", "loss")


async def test_untracked_and_unlogged_series_cost_nothing():
    source = FakeSource()
    source.add_run("r")
    source.log_steps("r", "loss", range(5))
    poller = Poller(source)
    result = await poller.tick(["1"], [("r", "never_logged"), ("ghost", "loss")])
    assert result.requests == 1
    assert poller.series == {}


# ---------------------------------------------------------------------- runs and views
async def test_new_runs_and_status_changes_in_the_same_view():
    source = FakeSource()
    source.add_run("a")
    poller = Poller(source)
    first = await poller.tick(["1"])
    assert first.new_runs == []  # the first view is not news
    source.add_run("b")
    source.set_status("a", RunStatus.FINISHED)
    second = await poller.tick(["1"])
    assert second.new_runs == ["b"]
    assert second.status_changes == {"a": (RunStatus.RUNNING, RunStatus.FINISHED)}
    assert [r.run_id for r in second.runs] == ["b", "a"]


async def test_removed_run_is_reported_and_its_caches_dropped():
    now = [0.0]
    source = FakeSource()
    for rid in ("a", "b"):
        source.add_run(rid)
        source.log_steps(rid, "loss", range(20))
        source.log_steps(rid, "acc", range(20))
    keys = [(rid, k) for rid in ("a", "b") for k in ("loss", "acc")]
    poller = Poller(source, clock=lambda: now[0])  # type: ignore[arg-type]
    await poller.tick(["1"], keys)
    assert set(poller.series) == set(keys)
    source.delete_run("b")
    now[0] = 2  # a light tick does not list runs: nothing seen yet
    assert (await poller.tick(["1"], keys)).removed_runs == []
    now[0] = 10  # the active listing misses a running run: the full listing, same tick
    result = await poller.tick(["1"], keys)
    assert source.filters[-2:] == [ACTIVE, ""]
    assert result.removed_runs == ["b"]
    assert "b" not in poller.runs
    assert set(poller.series) == {("a", "loss"), ("a", "acc")}
    assert poller.points(("b", "loss")) == []


async def test_a_history_request_that_finds_no_run_brings_the_full_listing_forward():
    now = [0.0]
    source = FakeSource()
    source.add_run("a")
    source.log_steps("a", "loss", range(5))
    poller = Poller(source, clock=lambda: now[0])  # type: ignore[arg-type]
    await poller.tick(["1"], [("a", "loss")])
    source.missing.add("a")
    source.delete_run("a")
    now[0] = 2
    await poller.tick(["1"], [("a", "loss")])  # light: the window answers "not found"
    now[0] = 4
    result = await poller.tick(["1"], [("a", "loss")])
    assert source.filters[-1] == "" and result.removed_runs == ["a"]


async def test_changing_the_watched_experiments_is_a_new_view_not_news():
    source = FakeSource()
    source.add_run("a", "1")
    source.add_run("b", "2")
    poller = Poller(source)
    await poller.tick(["1"])
    source.set_status("a", RunStatus.FAILED)
    result = await poller.tick(["1", "2"])
    assert {r.run_id for r in result.runs} == {"a", "b"}
    assert result.new_runs == []
    assert result.status_changes == {}
    assert result.removed_runs == []
    # Narrowing the view again is not news either: "b" was not removed.
    narrowed = await poller.tick(["2"])
    assert narrowed.removed_runs == []
    assert narrowed.new_runs == []
    # A different filter is a different view too.
    source.add_run("c", "2")
    filtered = await poller.tick(["2"], filter_string="attributes.status = 'RUNNING'")
    assert filtered.new_runs == []


async def test_switching_experiments_drops_caches_of_runs_out_of_view():
    source = FakeSource()
    source.add_run("a", "1")
    source.add_run("b", "2")
    source.log_steps("a", "loss", range(5))
    source.log_steps("b", "loss", range(5))
    poller = Poller(source)
    await poller.tick(["1"], [("a", "loss")])
    assert ("a", "loss") in poller.series
    await poller.tick(["2"], [("b", "loss")])
    assert set(poller.series) == {("b", "loss")}


async def test_not_found_for_one_run_keeps_the_others():
    source = FakeSource()
    for rid in ("a", "b", "c"):
        source.add_run(rid)
        source.log_steps(rid, "loss", range(30))
    keys = [(rid, "loss") for rid in ("a", "b", "c")]
    poller = Poller(source)
    source.missing = {"b"}
    result = await poller.tick(["1"], keys)
    assert {("a", "loss"), ("c", "loss")} <= result.updated_series
    assert_exact(poller, source, "a", "loss")
    assert_exact(poller, source, "c", "loss")
    assert poller.points(("b", "loss")) == []

    # The same on an incremental advance.
    for rid in ("a", "b", "c"):
        source.log_steps(rid, "loss", range(30, 40))
    result = await poller.tick(["1"], keys)
    assert {("a", "loss"), ("c", "loss")} <= result.updated_series
    assert_exact(poller, source, "a", "loss")
    assert_exact(poller, source, "c", "loss")

    # Once the run is readable again its series catches up exactly.
    source.missing = set()
    source.log_steps("b", "loss", [40])
    await poller.tick(["1"], keys)
    assert_exact(poller, source, "b", "loss")


async def test_tracked_callable_receives_the_fresh_runs():
    source = FakeSource()
    source.add_run("a")
    source.log_steps("a", "loss", range(3))
    poller = Poller(source)
    seen: list[list[Run]] = []

    def tracked(runs: list[Run]) -> list[tuple[str, str]]:
        seen.append(runs)
        return [(r.run_id, "loss") for r in runs if r.status is RunStatus.RUNNING]

    await poller.tick(["1"], tracked)
    source.add_run("b")
    source.log_steps("b", "loss", range(7))
    source.set_status("a", RunStatus.FINISHED)
    result = await poller.tick(["1"], tracked)
    assert len(seen) == 2
    fresh = seen[-1]
    assert [r.run_id for r in fresh] == ["b", "a"]
    assert {r.run_id: r.status for r in fresh} == {"b": RunStatus.RUNNING,
                                                   "a": RunStatus.FINISHED}
    assert fresh[0].metrics["loss"].step == 6
    assert result.updated_series == {("b", "loss")}
    assert_exact(poller, source, "b", "loss")


# ---------------------------------------------------------------------- property
@pytest.mark.parametrize("seed", range(30))
async def test_cache_matches_history_for_random_logging(seed: int):
    rng = random.Random(seed)
    source = FakeSource()
    run_ids = ["a", "b"]
    keys = [(rid, "loss") for rid in run_ids]
    next_step = {rid: 0 for rid in run_ids}
    last_step: dict[str, int | None] = {rid: None for rid in run_ids}
    for rid in run_ids:
        source.add_run(rid)
    # Ticks 0-16 s apart: light ticks, active listings and full listings all occur.
    now = [0.0]
    poller = Poller(source, first_load_points=rng.choice([20, 300, 500]),
                    clock=lambda: now[0])  # type: ignore[arg-type]

    def append(rid: str) -> None:
        for _ in range(rng.choice([0, 0, 1, 2, 5, 30, 400, 2600])):
            if last_step[rid] is not None and rng.random() < 0.05:
                # Re-log the latest step with a newer timestamp.
                source.log(rid, "loss", last_step[rid], value=rng.random())
                continue
            step = next_step[rid]
            source.log(rid, "loss", step, value=rng.random())
            last_step[rid] = step
            next_step[rid] = step + rng.choice([1, 1, 1, 2, 3, 10, 250, 5000])

    for _ in range(12):
        for _ in range(rng.choice([0, 1, 1, 2])):
            append(rng.choice(run_ids))
        now[0] += rng.choice([0, 2, 2, 2, 5, 9, 16])
        await poller.tick(["1"], keys)
        for rid, key in keys:
            if (rid, key) in source.history:
                assert_exact(poller, source, rid, key)
                assert poller.series[(rid, key)].last_step == last_step[rid]
            else:
                assert (rid, key) not in poller.series


async def test_a_big_experiment_costs_one_page_and_keeps_old_running_runs():
    src = FakeSource()
    src.add_run("old-but-running", start_time=T0 - 10**6)
    for i in range(30):
        src.add_run(f"r{i:02d}", status=RunStatus.FINISHED)
    poller = Poller(src, max_runs=10, full_every=0)  # type: ignore[arg-type]
    first = await poller.tick(["1"])
    ids = [r.run_id for r in first.runs]
    assert ids[:10] == [f"r{i:02d}" for i in range(29, 19, -1)]  # the newest page
    assert "old-but-running" in ids and len(ids) == 11
    assert poller.truncated and "1" not in poller.run_counts  # the total is not known
    assert src.calls["search_runs"] == 2
    # Newer runs push older ones past the page: that is not a deletion.
    for i in range(30, 35):
        src.add_run(f"r{i:02d}", status=RunStatus.FINISHED)
    second = await poller.tick(["1"])
    assert second.removed_runs == []
    assert set(second.new_runs) == {f"r{i:02d}" for i in range(30, 35)}
    assert "r20" not in poller.runs and "old-but-running" in poller.runs


async def test_a_small_experiment_is_listed_whole_in_one_request():
    src = FakeSource()
    for i in range(5):
        src.add_run(f"r{i}")
    poller = Poller(src, max_runs=10, full_every=0)  # type: ignore[arg-type]
    await poller.tick(["1"])
    assert not poller.truncated and poller.run_counts["1"] == 5
    assert src.calls["search_runs"] == 1
    src.delete_run("r1")
    result = await poller.tick(["1"])
    assert result.removed_runs == ["r1"]


async def test_between_full_listings_ticks_ask_only_about_active_runs():
    now = [0.0]
    src = FakeSource()
    for i in range(10):
        src.add_run(f"done{i}", status=RunStatus.FINISHED)
    src.add_run("live-a")
    src.add_run("live-b")
    src.log("live-a", "loss", 0)
    src.log("live-b", "loss", 0)
    poller = Poller(src, full_every=30, active_every=10,  # type: ignore[arg-type]
                    clock=lambda: now[0])
    first = await poller.tick(["1"])
    assert len(first.runs) == 12 and src.filters == [""]
    # A light tick: two probes; nothing returned, the finished runs are kept.
    src.log("live-a", "loss", 1)
    now[0] = 2
    quiet = await poller.tick(["1"])
    assert len(src.filters) == 3 and "start_time >" in src.filters[1]
    assert "status != 'RUNNING'" in src.filters[2]
    assert len(quiet.runs) == 12 and quiet.runs[0].run_id == "live-b"
    # Not tracked, so not fetched: its latest value waits for the active listing.
    assert poller.runs["live-a"].metrics["loss"].step == 0
    # A new run shows up at once, whole.
    src.add_run("live-c")
    now[0] = 4
    assert (await poller.tick(["1"])).new_runs == ["live-c"]
    # The active listing, every 10 s: the latest values of every active run.
    now[0] = 10
    await poller.tick(["1"])
    assert src.filters[-1] == ACTIVE
    assert poller.runs["live-a"].metrics["loss"].step == 1
    # A run that stops running is seen by the status probe, with its final record.
    src.log("live-a", "loss", 2)
    src.set_status("live-a", RunStatus.FAILED)
    now[0] = 12
    changed = await poller.tick(["1"])
    assert changed.status_changes == {"live-a": (RunStatus.RUNNING, RunStatus.FAILED)}
    assert poller.runs["live-a"].metrics["loss"].step == 2
    assert "" not in src.filters[1:]
    # A finished run deleted is seen at the next full listing (30 s), or on refresh().
    src.delete_run("done3")
    now[0] = 14
    assert (await poller.tick(["1"])).removed_runs == []
    poller.refresh()
    assert (await poller.tick(["1"])).removed_runs == ["done3"]
    now[0] = 20
    await poller.tick(["1"])
    assert src.filters[-1] != ""  # still a quiet tick
    now[0] = 46
    await poller.tick(["1"])
    assert src.filters[-1] == ""  # the periodic full listing


async def test_a_run_without_metrics_is_asked_whole_until_it_logs():
    now = [0.0]
    src = FakeSource()
    src.add_run("new")
    poller = Poller(src, clock=lambda: now[0])  # type: ignore[arg-type]
    await poller.tick(["1"], lambda runs: [(r.run_id, "loss") for r in runs])
    src.log_steps("new", "loss", range(3))
    now[0] = 2
    result = await poller.tick(["1"], lambda runs: [(r.run_id, "loss") for r in runs])
    assert "attributes.run_id IN ('new')" in src.filters
    assert result.runs[0].metrics["loss"].step == 2
    assert [p.step for p in poller.points(("new", "loss"))] == [0, 1, 2]


async def test_a_light_tick_catches_up_a_burst_larger_than_one_answer_exactly():
    now = [0.0]
    src = FakeSource()
    src.add_run("r")
    src.log_steps("r", "loss", range(10))
    poller = Poller(src, clock=lambda: now[0])  # type: ignore[arg-type]
    await poller.tick(["1"], [("r", "loss")])
    src.log_steps("r", "loss", range(10, 10 + 3 * MAX_RESULTS_PER_RUN))
    now[0] = 2
    result = await poller.tick(["1"], [("r", "loss")])
    assert result.updated_series == {("r", "loss")}
    assert_exact(poller, src, "r", "loss")
    assert poller.series[("r", "loss")].exact_from == 0
    assert poller.runs["r"].metrics["loss"].step == 9 + 3 * MAX_RESULTS_PER_RUN


async def test_a_failed_tick_is_followed_by_a_full_listing():
    from mlflow_tui.tracking.errors import ConnectionFailed

    now = [0.0]
    src = FakeSource()
    src.add_run("done", status=RunStatus.FINISHED)
    src.add_run("live")
    poller = Poller(src, full_every=30, clock=lambda: now[0])  # type: ignore[arg-type]
    await poller.tick(["1"])
    search = src.search_runs

    async def down(*args, **kwargs):
        raise ConnectionFailed("connection refused")

    src.search_runs = down  # type: ignore[method-assign]
    now[0] = 2
    with pytest.raises(ConnectionFailed):
        await poller.tick(["1"])
    src.search_runs = search  # type: ignore[method-assign]
    src.delete_run("done")  # while the server was away
    now[0] = 4
    result = await poller.tick(["1"])
    assert src.filters[-1] == "" and result.removed_runs == ["done"]


async def test_a_view_that_names_its_runs_does_not_probe_for_new_ones():
    now = [0.0]
    src = FakeSource()
    src.add_run("a")
    src.add_run("b")
    src.log("a", "loss", 0)
    poller = Poller(src, clock=lambda: now[0])  # type: ignore[arg-type]
    only_a = "attributes.run_id IN ('a')"
    await poller.tick(["1"], [("a", "loss")], filter_string=only_a, watch_new=False)
    n = len(src.filters)
    now[0] = 2
    await poller.tick(["1"], [("a", "loss")], filter_string=only_a, watch_new=False)
    assert src.filters[n:] == ["attributes.run_id IN ('a') and attributes.status != 'RUNNING'"]
    assert list(poller.runs) == ["a"]


async def test_a_run_count_is_forgotten_when_its_experiment_is_no_longer_watched():
    src = FakeSource()
    src.add_run("b1", "2")
    poller = Poller(src)  # type: ignore[arg-type]
    await poller.tick(["1"])
    assert poller.run_counts == {"1": 0}
    src.add_run("a1", "1")  # created while another experiment is watched
    await poller.tick(["2"])
    assert poller.run_counts == {"2": 1}, "a count that can go stale is not kept"
