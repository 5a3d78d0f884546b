"""A quick sketch of long metric histories, from a few cheap windowed requests.

MLflow samples a history (get-history-bulk-interval with max_results) with window functions
over every row of the run and key: for 20 runs x 100,000 points that is ~12 s of server time,
whatever the sample size. A narrow step window is an index range scan on (run_uuid, key, step)
instead, and costs about 1.4 ms per run on the server (sqlite, measured: 20 runs, one step,
~32 ms a request). So a sketch asks, for each metric, a few probe steps spread evenly over each
run's own length (runs/search gives every run's latest step), all runs of a similar length in
one request, and adds the latest point runs/search already gave.

The probes come in waves, coarse to fine (steps 0 and L/2 of a run of L steps, then L/4 and
3L/4, then the 4 eighths between, then 8 more): the first wave is what the compare view opens
with (4 points a curve: the probe at step 0 keeps two, plus the latest; 4 requests for 2
metrics), each later one refines it (6, 10, 18 points) while the sketch has taken less than
REFINE_WITHIN: the real sample waits for the sketch (one server), so refining stays short.
Short histories (up to FULL_SCAN_STEPS steps) are cheap to sample whole, so they get one
ordinary sampled request instead.

A probe at step s reads the window [s - NARROW, s] and keeps its last point (the one at step 0
reads [0, NARROW] and keeps its first and last), so a run that logs every k <= NARROW + 1 steps
is always hit; a run the window missed is asked again, in the same wave, with the window widened
back to the previous probe step (a run logging every 100 or 1000 steps). A run shorter than the
others of its request simply has no point past its end. Points are only ever real logged points;
the sketch is just sparse, and statistics from it are not the history's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.models import Point, SeriesKey
from mlflow_tui.tracking.source import MAX_RUNS_PER_BULK, TrackingSource

FIRST_WAVE = 2  # probe steps per series in the first wave
WAVES = 4  # each later wave doubles the probe steps: 2, 4, 8, 16 per series
WAVE_BUDGET = 80  # run-probes in the first wave (20 runs x 2 metrics x 2)
NARROW = 16  # steps read back from each probe step
FULL_SCAN_STEPS = 4096  # histories this short are sampled whole, in one request
SIMILAR = 1.25  # runs whose lengths differ by at most this factor share probe steps
REFINE_WITHIN = 1.0  # s: a later wave starts only while the sketch has taken less than this
PARALLEL = 4  # requests in flight (the http client's pool)


@dataclass(frozen=True)
class Probe:
    """One request: `key` of `run_ids` in [start, end] (no window: the whole history),
    sampled to `max_results` points a run. Runs it finds nothing for are asked again in the
    wider window `wide`, if any."""

    key: str
    run_ids: tuple[str, ...]
    start: int | None
    end: int | None
    max_results: int
    wide: tuple[int, int] | None = None


@dataclass(frozen=True)
class Wave:
    """The sketch so far: points per series (sorted by step, latest point included), how many
    waves are done, and how many requests failed."""

    points: dict[SeriesKey, list[Point]]
    wave: int
    failed: int


def windows_are_cheap(source: object) -> bool:
    """Whether a narrow step window costs less than the whole history. SQL stores, and servers
    on them, read it through the (run_uuid, key, step) index; MLflow's file store reads the
    whole history for any window, so a sketch there would cost many times the real load.
    A source may say so itself with a `windows_are_cheap` attribute."""
    flag = getattr(source, "windows_are_cheap", None)
    if isinstance(flag, bool):
        return flag
    return not str(getattr(source, "uri", "")).startswith("file:")


def probe_order(n: int) -> list[int]:
    """0..n-1 coarse to fine (bit-reversed): every prefix of a power-of-two length is an even
    grid. n must be a power of two."""
    bits = max(0, n.bit_length() - 1)
    return [int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(n)]


def first_wave_size(series: int, budget: int = WAVE_BUDGET, most: int = FIRST_WAVE) -> int:
    """Probe steps per series in the first wave: a power of two, 2..most, within budget."""
    size = 2
    while size * 2 <= most and size * 2 * max(1, series) <= budget:
        size *= 2
    return size


def groups(lengths: Mapping[str, int]) -> list[tuple[int, list[str]]]:
    """Runs of similar length (latest step), longest first: [(longest, run_ids)]."""
    out: list[tuple[int, list[str]]] = []
    for rid, length in sorted(lengths.items(), key=lambda item: (-item[1], item[0])):
        if out and length * SIMILAR >= out[-1][0] and len(out[-1][1]) < MAX_RUNS_PER_BULK:
            out[-1][1].append(rid)
        else:
            out.append((length, [rid]))
    return out


def plan(latest: Mapping[SeriesKey, Point], *, first: int | None = None, waves: int = WAVES,
         full_scan_steps: int | None = None) -> list[list[Probe]]:
    """The requests of each wave."""
    full_scan = FULL_SCAN_STEPS if full_scan_steps is None else full_scan_steps
    k1 = first or first_wave_size(len(latest))
    n = k1 * 2 ** max(0, waves - 1)  # probe steps per series after the last wave
    order = probe_order(n)
    cuts = [0, k1] + [k1 * 2 ** w for w in range(1, waves)]
    by_key: dict[str, dict[str, int]] = {}
    for (rid, key), point in latest.items():
        by_key.setdefault(key, {})[rid] = max(0, point.step)
    out: list[list[Probe]] = [[] for _ in range(waves)]
    for key, lengths in sorted(by_key.items()):
        for length, rids in groups(lengths):
            ids = tuple(rids)
            if length <= full_scan:
                out[0].append(Probe(key, ids, None, None, n + 1))
                continue
            spacing = max(1, length // n)
            narrow = min(NARROW, spacing - 1)
            for w in range(waves):
                for i in order[cuts[w]:cuts[w + 1]]:
                    step = i * length // n
                    if step >= length:
                        continue
                    if step == 0:  # the first point (a loss starts high), from step 0 on
                        out[w].append(Probe(key, ids, 0, narrow, 2, (0, spacing - 1)))
                    else:
                        out[w].append(Probe(key, ids, step - narrow, step, 1,
                                            (max(0, step - spacing + 1), step)))
    return [wave for wave in out if wave]


async def sketch(
    source: TrackingSource,
    latest: Mapping[SeriesKey, Point],
    *,
    first: int | None = None,
    waves: int = WAVES,
    full_scan_steps: int | None = None,
    refine_within: float = REFINE_WITHIN,
    parallel: int = PARALLEL,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Wave]:
    """Yield the sketch of every series of `latest` ({(run, key): its latest point}) after each
    wave. A failed request leaves its probe out (counted in `failed`); a wave in which every
    request failed ends the sketch. Requests go straight to `source`; nothing is cached."""
    found: dict[SeriesKey, dict[int, Point]] = {k: {p.step: p} for k, p in latest.items()}
    slots = asyncio.Semaphore(parallel)
    started = clock()
    failed = 0

    async def ask(probe: Probe, run_ids: list[str], start: int | None, end: int | None
                  ) -> dict[str, list[Point]]:
        out: dict[str, list[Point]] = {}
        for i in range(0, len(run_ids), MAX_RUNS_PER_BULK):
            async with slots:
                out.update(await source.get_history_window(
                    run_ids[i:i + MAX_RUNS_PER_BULK], probe.key, start_step=start,
                    end_step=end, max_results=probe.max_results))
        return out

    async def one(probe: Probe) -> bool:
        try:
            got = await ask(probe, list(probe.run_ids), probe.start, probe.end)
            if probe.wide is not None:
                missed = [rid for rid in probe.run_ids if not got.get(rid)
                          and latest[(rid, probe.key)].step >= probe.wide[0]]
                if missed:
                    got.update(await ask(probe, missed, *probe.wide))
        except TrackingError:
            return False
        for rid, points in got.items():
            series = found.get((rid, probe.key))
            if series is not None:
                for p in points:
                    series.setdefault(p.step, p)
        return True

    for number, wave in enumerate(plan(latest, first=first, waves=waves,
                                       full_scan_steps=full_scan_steps), start=1):
        if number > 1 and clock() - started > refine_within:
            break
        ok = await asyncio.gather(*[one(p) for p in wave])
        failed += ok.count(False)
        if not any(ok):
            break
        yield Wave({k: sorted(v.values(), key=lambda p: p.step) for k, v in found.items()},
                   number, failed)
