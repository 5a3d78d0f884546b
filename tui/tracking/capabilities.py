"""What a tracking server can answer, found once per connection, and the window emulation for
servers that cannot answer windows. No I/O here (tui/tracking/rest.py probes), no UI.

MLflow servers before 2.11 have no get-history-bulk-interval (an HTML 404, like any missing
route): their only history read is metrics/get-history, which always sends the WHOLE series
(2.x ignores max_results). Servers 2.0.0 - 2.3.0 installed after April 2023 (sqlparse >= 0.4.4)
also refuse `attributes.run_id IN (...)` filters with a 400. Facts and sources:
docs/old-servers.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mlflow_tui.tracking.models import Point

WINDOWS_SINCE = (2, 11, 0)  # get-history-bulk-interval (PR #11182)
RUN_ID_IN_SINCE = (2, 3, 1)  # run_id IN parsed again with sqlparse >= 0.4.4 (PR #8258)
VERSION_SINCE = (2, 1, 0)  # GET /version (PR #7273)

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?[0-9A-Za-z.+-]*")


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a /version body such as "2.9.2" or "3.0.0rc1"; None for
    anything else (an HTML page, a proxy's answer)."""
    if not text:
        return None
    m = _VERSION.fullmatch(text.strip())
    if m is None or len(text.strip()) > 40:
        return None
    return int(m[1]), int(m[2]), int(m[3] or 0)


@dataclass(frozen=True)
class Capabilities:
    """What one server answers.

    `version`: the server's own version text (GET /version), None when it has none (MLflow
    2.0.x, or a platform that does not serve it). `windows`: get-history-bulk-interval exists
    (2.11+), so a step window or a sample of a series costs only itself; without it every
    history read is the whole series. `run_id_in`: `attributes.run_id IN (...)` filters work.
    `note`: one line for the connection details when the server is old; "" when nothing is
    missing; `label`: a few words of it for the header. `public_only`: a platform whose
    profile promises only its public REST API (Databricks): no /version, no ajax-api, no
    bulk-interval; histories are read with get-history."""

    version: str | None = None
    windows: bool = True
    run_id_in: bool = True
    attribute_filters: bool = True  # False: status/start_time/LIKE refused (Azure ML)
    public_only: bool = False

    @property
    def version_tuple(self) -> tuple[int, int, int] | None:
        return parse_version(self.version)

    @property
    def old(self) -> bool:
        return not self.windows

    @property
    def note(self) -> str:
        if self.windows and self.run_id_in and self.attribute_filters:
            return ""
        if self.windows and self.run_id_in:
            return ("the server refuses run-attribute filters (status, start time, name "
                    "LIKE): mlflow-tui filters those runs itself")
        if self.version:
            who = f"MLflow {self.version}"
        elif self.public_only:
            who = "public REST API only"
        elif not self.run_id_in:
            who = "MLflow 2.0.x"  # no /version (2.1+) and no run_id IN (2.3.1+)
        else:
            who = "MLflow (version not reported)"
        parts = []
        if not self.windows and self.public_only:
            parts.append("no windowed history in it (get-history only): charts refresh from "
                         "full histories")
        elif not self.windows:
            parts.append("no windowed history (before 2.11): charts refresh from full histories")
        if not self.run_id_in:
            parts.append("no run_id IN filters (before 2.3.1)")
        if not self.attribute_filters:
            parts.append("run-attribute filters refused: filtered here")
        return f"{who}: " + "; ".join(parts)

    @property
    def label(self) -> str:
        """The header's few words: what was found, never a version the server did not
        report; "" when nothing is missing."""
        if not self.note:
            return ""
        if not self.old:
            return "server refuses some filters: runs filtered here"
        if self.version:
            return f"old server (MLflow {self.version}): slower charts"
        if self.public_only:
            return "history read whole: public REST API only"
        return "history read whole: this server has no bulk-interval route"

    def with_windows(self, windows: bool) -> Capabilities:
        return replace(self, windows=windows)

    def with_run_id_in(self, run_id_in: bool) -> Capabilities:
        return replace(self, run_id_in=run_id_in)

    def with_attribute_filters(self, attribute_filters: bool) -> Capabilities:
        return replace(self, attribute_filters=attribute_filters)


MODERN = Capabilities()


def from_version(version: str | None) -> tuple[bool | None, bool | None]:
    """(windows, run_id_in) as far as the version tells: None where it cannot (no version;
    2.0.0 - 2.3.0, whose IN support depends on the sqlparse installed with it)."""
    v = parse_version(version)
    if v is None:
        return None, None
    windows = v >= WINDOWS_SINCE
    run_id_in = True if v >= RUN_ID_IN_SINCE else None
    return windows, run_id_in


async def capabilities_of(source: object) -> Capabilities:
    """The source's capabilities; MODERN for a source that does not tell (local stores and
    test fakes have windows and IN)."""
    probe = getattr(source, "capabilities", None)
    if probe is None:
        return MODERN
    return await probe()


def rejects_run_id_in(message: str) -> bool:
    """Whether a 400's message is MLflow 2.0-2.3.0 refusing `attributes.run_id IN (...)`:
    "Invalid clause(s) in filter string: 'attributes.run_id', 'IN', '(...)'"."""
    low = message.lower()
    return "run_id" in low and "'in'" in low and ("clause" in low or "filter" in low)


def sample_window(points: Sequence[Point], start_step: int | None, end_step: int | None,
                  max_results: int) -> list[Point]:
    """What MLflow 3's get-history-bulk-interval answers for one run, from the run's whole
    series (`points` sorted by step, then timestamp): the points with start <= step <= end
    (all of them without bounds); when there are more than `max_results`, an evenly spaced
    sample of rows that keeps the first and the last (only the last when max_results is 1)."""
    rows: Sequence[Point] = points
    if start_step is not None and end_step is not None:
        lo = _first_at_or_after(points, start_step)
        hi = _first_at_or_after(points, end_step + 1)
        rows = points[lo:hi]
    n = len(rows)
    limit = max(1, max_results)
    if n <= limit:
        return list(rows)
    if limit == 1:
        return [rows[-1]]
    idx = sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
    return [rows[i] for i in idx]


def _first_at_or_after(points: Sequence[Point], step: int) -> int:
    lo, hi = 0, len(points)
    while lo < hi:
        mid = (lo + hi) // 2
        if points[mid].step < step:
            lo = mid + 1
        else:
            hi = mid
    return lo


__all__ = ["MODERN", "Capabilities", "capabilities_of", "from_version", "parse_version",
           "rejects_run_id_in", "sample_window"]
