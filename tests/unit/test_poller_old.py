"""The poller on a server without windows (MLflow before 2.11) and without run_id IN (2.0 -
2.3.0): every tick lists the active runs, advanced series get runs/search's latest point
between reads of the whole series, reads are paced by size, and the cache equals the server's
history after every read."""

from __future__ import annotations

import random
from collections.abc import Sequence

from mlflow_tui.tracking.capabilities import Capabilities, sample_window
from mlflow_tui.tracking.errors import BadRequest
from mlflow_tui.tracking.models import Point, RunStatus
from mlflow_tui.tracking.poller import ACTIVE, OLD_REFRESH_POINTS, Poller
from tests.unit.test_poller_unit import FakeSource, assert_exact


class OldSource(FakeSource):
    """FakeSource as RestSource behaves on an old server: capabilities() says no windows,
    a window costs one whole-series read per run (`reads`: (run, key) per read; `sent`:
    points sent), IN filters are refused (as the server would, if the poller sent one)."""

    def __init__(self, *, run_id_in: bool = False) -> None:
        super().__init__()
        self.caps = Capabilities("2.0.1" if not run_id_in else "2.9.2", False, run_id_in)
        self.reads: list[tuple[str, str]] = []
        self.sent = 0

    async def capabilities(self) -> Capabilities:
        return self.caps

    def history_size(self, run_id: str, key: str) -> int | None:
        rows = self.history.get((run_id, key))
        return None if rows is None else len(rows)

    async def search_runs(self, experiment_ids: Sequence[str], *, filter_string: str = "",
                          max_runs: int = 5000):
        if "run_id IN" in filter_string and not self.caps.run_id_in:
            raise BadRequest("Invalid clause(s) in filter string: 'attributes.run_id', 'IN'")
        return await super().search_runs(experiment_ids, filter_string=filter_string,
                                          max_runs=max_runs)

    async def get_history_window(self, run_ids, key, *, start_step, end_step, max_results):
        self._count("get_history_window")
        out: dict[str, list[Point]] = {}
        for rid in dict.fromkeys(run_ids):
            whole = self.history.get((rid, key), [])
            self.reads.append((rid, key))
            self.sent += len(whole)
            rows = sample_window(whole, start_step, end_step, max_results)
            if rows:
                out[rid] = rows
        return out


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def assert_exact_part(poller: Poller, source: FakeSource, rid: str, key: str) -> None:
    """The invariant as it stands between reads: below the step of the last exact point, the
    cache holds exactly the server's points; from that step on, only points of the server,
    in order (the provisional ones, and perhaps not every one logged since the read)."""
    cache = poller.series[(rid, key)]
    n = len(cache.points) if cache.exact_len is None else cache.exact_len
    last = cache.points[n - 1].step if n else -1
    full = source.history.get((rid, key), [])
    want = [(p.step, p.timestamp, p.value) for p in full if cache.exact_from <= p.step < last]
    got = [(p.step, p.timestamp, p.value) for p in cache.points[:n]
           if cache.exact_from <= p.step < last]
    assert got == want, (rid, key, len(got), len(want))
    rest = [p for p in cache.points if p.step >= max(last, cache.exact_from)]
    assert all(p in full for p in rest)
    assert rest == sorted(rest, key=lambda p: (p.step, p.timestamp))


def setup(runs: int = 2, steps: int = 2000, **kw) -> tuple[OldSource, Poller, Clock, list]:
    source = OldSource(**kw)
    clock = Clock()
    keys = []
    for i in range(runs):
        rid = f"r{i}"
        source.add_run(rid)
        for key in ("train_loss", "val_loss"):
            source.log_steps(rid, key, range(steps))
            keys.append((rid, key))
    poller = Poller(source, clock=clock, active_every=10.0)
    return source, poller, clock, keys


async def test_no_light_ticks_and_no_in_filters_on_2_0():
    source, poller, clock, keys = setup()
    for _ in range(12):
        await poller.tick(["1"], keys)
        clock.now += 2.0
    assert poller.capabilities.run_id_in is False
    assert not any("run_id IN" in f for f in source.filters), source.filters
    listings = [f for f in source.filters if f]
    assert listings and all(f == ACTIVE for f in listings)  # every tick between full ones
    assert poller.capabilities.note.startswith("MLflow 2.0.1: no windowed history")


async def test_provisional_points_then_an_exact_read():
    source, poller, clock, keys = setup(runs=1, steps=2000)
    await poller.tick(["1"], keys)
    assert len(source.reads) == 2  # the first loads
    for tick in range(5):
        clock.now += 2.0
        for key in ("train_loss", "val_loss"):  # two points a tick, the tick sees the last
            source.log_steps("r0", key, [2000 + 2 * tick, 2001 + 2 * tick])
        result = await poller.tick(["1"], keys)
        assert result.updated_series == set(keys)
        for rid, key in keys:
            cache = poller.series[(rid, key)]
            assert cache.points[-1] == source.history[(rid, key)][-1]  # latest, at once
            assert cache.exact_len is not None
            assert_exact_part(poller, source, rid, key)
    assert len(source.reads) == 2  # no whole read for 10 s of a 2,000-point series
    # 2,000 points: read again 100 s after the last read at the latest.
    clock.now = 101.0  # 2,010 points: due 100.5 s after the first load
    source.log_steps("r0", "train_loss", [2010])
    await poller.tick(["1"], keys)
    assert len(source.reads) == 4  # both: val_loss holds provisional points too
    for rid, key in keys:
        assert poller.series[(rid, key)].exact_len is None
        assert_exact(poller, source, rid, key)


async def test_series_that_did_not_advance_cost_nothing():
    source, poller, clock, keys = setup(runs=3, steps=500)
    await poller.tick(["1"], keys)
    reads = len(source.reads)
    for _ in range(100):
        clock.now += 2.0
        await poller.tick(["1"], keys)
    assert len(source.reads) == reads
    # One listing a tick (of the active runs; all of them every 30 s), nothing else.
    assert source.calls["search_runs"] == 101


async def test_short_series_are_read_whenever_they_advance():
    source, poller, clock, keys = setup(runs=1, steps=20)  # <= 40 points: due after 2 s
    await poller.tick(["1"], keys)
    for tick in range(5):
        clock.now += 2.0
        for key in ("train_loss", "val_loss"):
            source.log_steps("r0", key, [20 + 3 * tick, 21 + 3 * tick, 22 + 3 * tick])
        await poller.tick(["1"], keys)
        for rid, key in keys:
            assert poller.series[(rid, key)].exact_len is None
            assert_exact(poller, source, rid, key)


async def test_a_finished_run_is_made_exact_at_once():
    source, poller, clock, keys = setup(runs=1, steps=3000)
    await poller.tick(["1"], keys)
    clock.now += 2.0
    source.log_steps("r0", "val_loss", [3000, 3001, 3002])
    await poller.tick(["1"], keys)
    assert poller.series[("r0", "val_loss")].exact_len is not None
    source.log_steps("r0", "val_loss", [3003, 3004])
    source.set_status("r0", RunStatus.FINISHED)
    clock.now += 2.0
    await poller.tick(["1"], keys)
    assert poller.runs["r0"].status is RunStatus.FINISHED
    cache = poller.series[("r0", "val_loss")]
    assert cache.exact_len is None
    assert_exact(poller, source, "r0", "val_loss")


async def test_refresh_reads_every_provisional_series():
    source, poller, clock, keys = setup(runs=2, steps=2000)
    await poller.tick(["1"], keys)
    clock.now += 2.0
    for rid, key in keys:
        source.log_steps(rid, key, [2000, 2001])
    await poller.tick(["1"], keys)
    assert all(poller.series[k].exact_len is not None for k in keys)
    poller.refresh()
    clock.now += 2.0
    await poller.tick(["1"], keys)
    for rid, key in keys:
        assert poller.series[(rid, key)].exact_len is None
        assert_exact(poller, source, rid, key)


async def test_reads_per_tick_are_bounded_and_spread():
    """Ten series of 2,000 points due at the same tick: at most OLD_REFRESH_POINTS points are
    read per tick (two series), the others at the next ticks; none waits much longer than its
    limit, and the cache is exact after each read."""
    source, poller, clock, keys = setup(runs=5, steps=2000)
    await poller.tick(["1"], keys)
    first = len(source.reads)
    step = 2000
    per_tick = []
    for _ in range(80):
        clock.now += 2.0
        for rid, key in keys:
            source.log_steps(rid, key, [step, step + 1])
        step += 2
        before = len(source.reads)
        await poller.tick(["1"], keys)
        per_tick.append(len(source.reads) - before)
        if len(per_tick) % 8 == 0:
            for rid, key in keys:
                assert_exact_part(poller, source, rid, key)
    assert first == 10
    assert max(per_tick) * 2000 <= OLD_REFRESH_POINTS + 2 * 200
    assert sum(per_tick) >= 10  # every series was read again within 160 s
    last = {k: poller.series[k].verified_at for k in keys}
    assert all(clock.now - at <= 100.0 + 2.0 * 5 + 2.0 for at in last.values()), last


async def test_traffic_of_five_live_runs_stays_bounded():
    """5 live runs x 2 metrics of 2,000 points, two points a tick: over 5 minutes of 2 s ticks
    the whole-series reads send at most ~1/15 of what reading every series every tick would."""
    source, poller, clock, keys = setup(runs=5, steps=2000)
    await poller.tick(["1"], keys)
    sent0 = source.sent
    step = 2000
    ticks = 150
    naive = 0
    for _ in range(ticks):
        clock.now += 2.0
        for rid, key in keys:
            source.log_steps(rid, key, [step, step + 1])
        step += 2
        naive += sum(len(source.history[k]) for k in keys)
        await poller.tick(["1"], keys)
    sent = source.sent - sent0
    print(f"points sent: {sent} ({sent / naive:.1%} of reading every series every tick)")
    assert sent * 15 <= naive, (sent, naive)
    # And at most one read per series per OLD_SECONDS_PER_POINT * size, roughly.
    assert len(source.reads) - 10 <= 10 * (ticks * 2.0 / 100.0 + 1)


async def test_random_logging_stays_exact_at_every_read():
    """Random logging between ticks (gaps, NaN, re-logs at the last step, jumps of thousands
    of steps, finished runs): the exact part always matches; after refresh() all of it."""
    rng = random.Random(5)
    source = OldSource(run_id_in=True)
    clock = Clock()
    keys = []
    for i in range(4):
        source.add_run(f"r{i}")
        for key in ("loss", "acc"):
            keys.append((f"r{i}", key))
            source.log_steps(f"r{i}", key, range(rng.randint(1, 3000)))
    poller = Poller(source, clock=clock, first_load_points=500)
    nxt = {k: source.history[k][-1].step + 1 for k in keys}
    for tick in range(60):
        for k in keys:
            if poller.runs.get(k[0]) and not poller.runs[k[0]].status.is_active:
                continue
            r = rng.random()
            if r < 0.3:
                continue
            if r < 0.4:  # a value re-logged at the last step, newer timestamp
                source.log(k[0], k[1], nxt[k] - 1, value=float("nan"))
                continue
            jump = rng.choice([1, 1, 2, 5, 50, 3000])
            steps = list(range(nxt[k], nxt[k] + jump * rng.randint(1, 4), jump))
            source.log_steps(k[0], k[1], steps)
            nxt[k] = steps[-1] + 1
        if tick == 30:
            source.set_status("r1", RunStatus.FAILED)
        clock.now += rng.choice([0.5, 2.0, 2.0, 7.0, 40.0])
        await poller.tick(["1"], keys)
        for rid, key in keys:
            if (rid, key) in poller.series:
                assert_exact_part(poller, source, rid, key)
        for key in ("loss", "acc"):
            if tick > 30:
                assert poller.series[("r1", key)].exact_len is None
    poller.refresh()
    clock.now += 2.0
    await poller.tick(["1"], keys)
    for rid, key in keys:
        assert poller.series[(rid, key)].exact_len is None
        assert_exact(poller, source, rid, key)
