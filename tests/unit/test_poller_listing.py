"""Poller listings: max_runs truncation, deletions, scheduled and finished runs."""
from mlflow_tui.tracking.models import RunStatus
from mlflow_tui.tracking.poller import Poller
from tests.unit.test_poller_unit import FakeSource


class Clock:
    def __init__(self): self.t = 1000.0
    def __call__(self): return self.t


def _poller(src, **kw):
    clock = Clock()
    return Poller(src, clock=clock, **kw), clock


async def test_exactly_max_runs_is_not_truncated_and_deletion_is_reported():
    src = FakeSource()
    for rid in "abc":
        src.add_run(rid, status=RunStatus.FINISHED)
    p, clock = _poller(src, max_runs=3)
    await p.tick(["1"])
    assert not p.truncated, "3 runs with max_runs=3 is the whole experiment"


async def test_deleted_run_inside_the_page_of_a_truncated_listing_is_never_reported():
    src = FakeSource()
    for rid in "abcde":
        src.add_run(rid, status=RunStatus.FINISHED)  # e newest
    p, clock = _poller(src, max_runs=3)
    await p.tick(["1"])
    assert set(p.runs) == {"c", "d", "e"}
    src.delete_run("e")
    p.refresh()
    res = await p.tick(["1"])
    assert "e" not in p.runs
    assert res.removed_runs == ["e"], res.removed_runs  # newer than the page's oldest: deleted


async def test_new_scheduled_or_finished_run_waits_for_the_full_listing():
    src = FakeSource()
    src.add_run("a", status=RunStatus.RUNNING)
    p, clock = _poller(src)
    await p.tick(["1"])
    src.add_run("s", status=RunStatus.SCHEDULED)
    clock.t += 2
    await p.tick(["1"])
    assert "s" in p.runs, "a new SCHEDULED run is not listed until the next full listing (30 s)"


async def test_scheduled_run_failing_is_seen_late():
    src = FakeSource()
    src.add_run("s", status=RunStatus.SCHEDULED)
    p, clock = _poller(src)
    await p.tick(["1"])
    src.set_status("s", RunStatus.FAILED)
    clock.t += 2
    res = await p.tick(["1"])
    assert res.status_changes.get("s") == (RunStatus.SCHEDULED, RunStatus.FAILED), \
        "SCHEDULED -> FAILED is only seen by the next full listing"


async def test_more_running_runs_than_max_runs_lists_everything_every_tick():
    src = FakeSource()
    for i in range(5):
        src.add_run(f"r{i}", status=RunStatus.RUNNING)
    p, clock = _poller(src, max_runs=3)
    await p.tick(["1"])
    seen = set(p.runs)
    n = len(src.filters)
    clock.t += 2
    await p.tick(["1"])
    print("runs shown:", sorted(seen), "requests on a quiet tick:", src.filters[n:])
    # A quiet tick: probes only (no listing of the page, no listing of the active runs).
    assert src.filters[n:] and all(
        "start_time >" in f or "run_id IN" in f for f in src.filters[n:]), src.filters[n:]
    assert len(seen) == 5, "running runs beyond max_runs are not shown"
