"""Shared test helpers: waiting on predicates, and a real `mlflow server` for the session."""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable

import pytest

from tests.server import MlflowServer, wait_until_sync  # noqa: F401 (re-exported)

# Tests must never pick up the developer's own server or credentials.
for _var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
             "MLFLOW_TRACKING_TOKEN"):
    os.environ.pop(_var, None)
# Nor the developer's own config file (~/.config/mlflow-tui/config.toml).
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="mlflow-tui-test-config-")
atexit.register(shutil.rmtree, os.environ["XDG_CONFIG_HOME"], True)
# Nor the developer's ~/.netrc (mlflow-tui, like requests under MLflow's client, reads the
# tracking host's login there when no credentials are given): a file that does not exist.
os.environ["NETRC"] = os.path.join(os.environ["XDG_CONFIG_HOME"], "no-netrc")
# Nor MLflow's telemetry from the test processes (the servers they start see PYTEST_CURRENT_TEST
# and keep it off; MLflow reads that once, at import, which in a worker is before any test).
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
# MLflow's client in tests: fail fast instead of retrying for minutes.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0,
                     interval: float = 0.05, message: str = "") -> float:
    """Await `predicate()` becoming true; return the seconds it took. Fails after `timeout`."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {message or predicate}")
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    """One per worker. It serves artifacts (`--serve-artifacts`: runs get proxied
    `mlflow-artifacts:` roots, as most shared servers are set up), so the artifact tests
    (test_artifacts_server.py, test_image_terminal.py) use it too instead of a server each:
    a server start costs ~7 CPU-seconds."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"), serve_artifacts=True)
    server.start()
    yield server
    server.stop(graceful=False)  # the session is over: nothing reads its data again


def running(server: MlflowServer) -> MlflowServer:
    """`server`, restarted if an earlier test stopped it."""
    if server.proc is None or server.proc.poll() is not None:
        server.proc = None
        server.start()
    return server


@pytest.fixture
def live_server(mlflow_server: MlflowServer) -> MlflowServer:
    """The session server, restarted if an earlier test stopped it."""
    return running(mlflow_server)


def screen_text(app) -> str:
    """The current screen as plain text, the way a user reads it."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, record=True, file=io.StringIO(),
                      color_system=None, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


async def wait_rows(app, rows: int, timeout: float = 10.0) -> None:
    """Until the monitor's run table shows `rows` rows."""
    from mlflow_tui.widgets import RunTable

    await wait_until(lambda: app.monitor is not None
                     and app.monitor.query_one(RunTable).row_count == rows,
                     timeout=timeout, message=f"{rows} rows in the run table")


# pytest-xdist (pyproject's addopts: -n 4 --dist loadgroup --no-loadscope-reorder). Each worker
# is a process of its own with its own session server. Work is handed out in the order below, a
# unit at a time as workers free up; a unit is one test, or a group run by one worker:
# - a module whose tests share a module-scoped fixture (its server or data made once);
# - a lane of tests marked `waits` (most of their time waiting on a slow proxy, a back-off, a
#   real terminal). The suite is CPU-bound on 2 cores except where tests wait: in WAIT_LANES
#   lanes, at most that many workers wait at once while the others keep the cores busy. Left
#   to the scheduler, the waiting tests bunched up and left the cores idle for stretches.
# Groups go first, the largest first, then the single tests by folder, slow folders first, so
# that the quick unit tests fill the end.
FOLDER_ORDER = ("integration", "app", "snapshots", "unit")
WAIT_LANES = 2


def _folder_rank(item: pytest.Item) -> int:
    parts = item.nodeid.split("/")
    folder = parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
    return FOLDER_ORDER.index(folder) if folder in FOLDER_ORDER else len(FOLDER_ORDER)


def _module_scoped(item: pytest.Item) -> bool:
    """Whether the test uses a module-scoped fixture (a server or data made once per module)."""
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", {}) or {}
    return any(chain and chain[-1].scope == "module" for chain in defs.values())


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(session, config, items) -> None:
    units: dict[str, list[pytest.Item]] = {}
    waiting = 0
    for item in items:
        if _module_scoped(item):
            group = item.nodeid.split("::")[0]
        elif item.get_closest_marker("waits") is not None:
            group = f"waits-{waiting % WAIT_LANES + 1}"
            waiting += 1
        else:
            units[item.nodeid] = [item]
            continue
        item.add_marker(pytest.mark.xdist_group(group))
        units.setdefault(group, []).append(item)

    def rank(unit: list[pytest.Item]) -> tuple[int, int]:
        return (0, -len(unit)) if len(unit) > 1 else (1, _folder_rank(unit[0]))

    items[:] = [item for unit in sorted(units.values(), key=rank) for item in unit]
    _build_old_server_venvs(config, items)


# The old MLflow venvs (tests/old_server.py) cost pip downloads on a clean machine: when the
# selected tests include the old-server ones, build them in the background from the start, so
# the build overlaps the rest of the suite. The tests' own skip_reason() call then finds the
# venv built, or waits on the same lock (ensure_venv's flock) and gets the same skip reason.
OLD_SERVER_VERSIONS = ("2.9.2", "2.0.1")


def _build_old_server_venvs(config, items) -> None:
    if config.option.collectonly or not any(
            item.nodeid.startswith("tests/integration/test_old_server.py") for item in items):
        return
    import threading

    from tests.old_server import skip_reason

    def build() -> None:
        for version in OLD_SERVER_VERSIONS:
            skip_reason(version)  # a failure is remembered in-process, with its reason

    threading.Thread(target=build, name="old-mlflow-venvs", daemon=True).start()


def pytest_unconfigure(config) -> None:
    """The session is over. pytest then runs five full garbage collections (to report exceptions
    raised in finalizers), each walking the worker's whole heap: ~4 s at the end of every run,
    with four workers on two cores. Collections during the run still report them; the objects
    alive now belong to the finished session, so they are frozen out of those last ones."""
    gc.freeze()


# Garbage collection, in the test processes only (the app keeps Python's defaults):
# - A worker's heap holds ~800,000 objects (MLflow, pandas, Textual, the data of module-scoped
#   fixtures), and each full collection walks all of them: ~0.4 s, 30-40 times per worker,
#   12-15 s of a worker's CPU. After each test (its fixtures torn down), one collection frees
#   what the test left, and freeze() sets the survivors aside, so later collections walk only
#   what later tests create. Objects still referenced die by their reference counts, frozen or
#   not. trylast: after the fixtures' teardown, before pytest's own trylast hook reports
#   unraisable exceptions (a failing __del__ is reported on the test that left it).
# - A Pilot test allocates hundreds of thousands of objects; at Python's default threshold
#   (a young collection every 700 allocations) those collections cost a worker 2-3 s more.
# Measured (CHANGELOG, issue 15): each worker's time in the collector fell from 14-18 s to about
# 3 s, the suite's CPU from ~294 to ~248 core-seconds; the workers' peak memory did not grow
# (354-535 MB, was 370-558).
gc.set_threshold(10_000, 10, 10)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    gc.collect()
    gc.freeze()
