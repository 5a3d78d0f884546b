"""An in-memory TrackingSource with MLflow's read semantics, for widget, snapshot and
error-path tests. The data path itself is tested against a real server and real stores."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mlflow_tui.tracking.capabilities import Capabilities, sample_window
from mlflow_tui.tracking.errors import BadRequest, TrackingError
from mlflow_tui.tracking.models import Experiment, Point, Run, RunStatus

_CLAUSE = re.compile(
    r"attributes\.(?P<attr>status|run_id|start_time|end_time)\s*(?P<op>=|!=|>|IN)\s*"
    r"(?P<value>.+)")


def matches(run: Run, filter_string: str, *, strict: bool = False) -> bool:
    """The filters the pollers write (clauses joined by "and"): status = / != 'X',
    run_id IN ('a', 'b'), start_time > N, end_time > N. Any other clause fails the test when
    `strict`, else it is ignored (a user's search the fake cannot evaluate)."""
    for clause in filter(None, (c.strip() for c in filter_string.split(" and "))):
        m = _CLAUSE.fullmatch(clause)
        assert m or not strict, f"the fake does not know this filter clause: {clause!r}"
        if not m:
            continue
        attr, op, value = m["attr"], m["op"], m["value"]
        if attr == "status":
            hit = run.status.value == value.strip("'")
            if (op == "=") != hit:
                return False
        elif attr == "run_id":
            if run.run_id not in re.findall(r"'([^']*)'", value):
                return False
        elif attr == "end_time":
            if run.end_time is None or run.end_time <= int(value):
                return False
        elif (run.start_time or 0) <= int(value):
            return False
    return True

class FakeSource:
    """In-memory source. By default a modern server (2.11+: windows, run_id IN). An old one
    (`old_server()`, or `windows=False`): capabilities() says so, as RestSource would, and
    every window costs one whole-series read per run (counted in `whole_reads` and
    `points_sent`), with the same answer RestSource computes from it. `refuse_in`: a search
    with `run_id IN` raises the 400 of MLflow 2.0-2.3.0 (RestSource itself would rewrite it;
    set this to check that a caller does not send it)."""

    display_uri = "http://tracking.example:5000"

    def __init__(self, *, windows: bool = True, run_id_in: bool = True,
                 version: str | None = "3.17.2", refuse_in: bool = False) -> None:
        self.experiments: list[Experiment] = []
        self.runs: list[Run] = []
        self.history: dict[tuple[str, str], list[Point]] = {}
        self.requests = 0
        self.fail: TrackingError | None = None
        self.version = version
        self.windows = windows
        self.run_id_in = run_id_in
        self.refuse_in = refuse_in
        self.whole_reads = 0
        self.points_sent = 0
        self._sizes: dict[tuple[str, str], int] = {}

    @classmethod
    def old_server(cls, version: str | None = "2.9.2", **kw: bool) -> FakeSource:
        """A source like RestSource on MLflow `version` (2.0.x: version None, no run_id IN)."""
        kw.setdefault("run_id_in", version is not None)
        return cls(windows=False, version=version, **kw)

    async def capabilities(self) -> Capabilities:
        return self.known_capabilities  # found at connection time: no request, no failure

    @property
    def known_capabilities(self) -> Capabilities:
        return Capabilities(self.version, self.windows, self.run_id_in)

    @property
    def windows_are_cheap(self) -> bool:
        return self.windows

    def history_size(self, run_id: str, key: str) -> int | None:
        return self._sizes.get((run_id, key))

    def add_run(self, run: Run, series: dict[str, list[tuple[int, float]]],
                t0: int = 1_700_000_000_000) -> None:
        latest = {}
        for key, pts in series.items():
            points = [Point(s, v, t0 + i * 1000) for i, (s, v) in enumerate(pts)]
            self.history[(run.run_id, key)] = points
            if points:
                latest[key] = points[-1]
        self.runs.append(Run(run.run_id, run.experiment_id, run.name, run.status,
                             run.start_time, run.end_time, latest, run.params, run.tags))

    def set_status(self, run_id: str, status: RunStatus) -> None:
        self.runs = [Run(r.run_id, r.experiment_id, r.name, status, r.start_time, r.end_time,
                         r.metrics, r.params, r.tags) if r.run_id == run_id else r
                     for r in self.runs]

    def _check(self) -> None:
        self.requests += 1
        if self.fail is not None:
            raise self.fail

    async def search_experiments(self) -> list[Experiment]:
        self._check()
        return list(self.experiments)

    async def search_runs(self, experiment_ids: Sequence[str], *, filter_string: str = "",
                          max_runs: int = 5000) -> list[Run]:
        self._check()
        if self.refuse_in and "run_id IN" in filter_string:
            raise BadRequest("Invalid clause(s) in filter string: 'attributes.run_id', 'IN'")
        runs = [r for r in self.runs
                if r.experiment_id in experiment_ids and matches(r, filter_string)]
        return sorted(runs, key=lambda r: (r.start_time or 0, r.run_id), reverse=True)[:max_runs]

    async def get_history_window(self, run_ids: Sequence[str], key: str, *,
                                 start_step: int | None, end_step: int | None,
                                 max_results: int) -> dict[str, list[Point]]:
        self._check()
        out: dict[str, list[Point]] = {}
        if not self.windows:
            for rid in dict.fromkeys(run_ids):
                whole = self.history.get((rid, key), [])
                self.whole_reads += 1
                self.points_sent += len(whole)
                self._sizes[(rid, key)] = len(whole)
                rows = sample_window(whole, start_step, end_step, min(max_results, 2500))
                if rows:
                    out[rid] = rows
            return out
        for rid in run_ids:
            rows = self.history.get((rid, key), [])
            if start_step is not None and end_step is not None:
                rows = [p for p in rows if start_step <= p.step <= end_step]
            if len(rows) > max_results:
                n = len(rows)
                idx = sorted({round(i * (n - 1) / (max_results - 1)) for i in range(max_results)})
                rows = [rows[i] for i in idx]
            if rows:
                out[rid] = list(rows)
        return out

    async def get_full_history(self, run_id: str, key: str) -> list[Point]:
        return list(self.history.get((run_id, key), []))

    async def aclose(self) -> None:
        pass
