"""Read a local store (sqlite:, file:, or a database URI) through MLflow's own store classes.

mlflow is imported lazily, on the first call, in a worker thread: the http path never pays for
it. Stores are opened read-only and never created: a missing sqlite file or mlruns folder is an
error, not a new empty store.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from mlflow_tui.tracking.errors import BadRequest, NotFound, StoreError, TrackingError
from mlflow_tui.tracking.models import Experiment, Point, Run
from mlflow_tui.tracking.source import MAX_RESULTS_PER_RUN, make_run, to_float
from mlflow_tui.tracking.uri import redact

T = TypeVar("T")


def sqlite_path(uri: str) -> Path | None:
    """The file a sqlite:/// URI names, or None for other URIs."""
    if not uri.startswith("sqlite:"):
        return None
    path = uri.split(":", 1)[1]
    path = path[3:] if path.startswith("///") else path.lstrip("/")
    path = path.split("?", 1)[0]
    if path.startswith("file:"):
        path = path[5:]
    return Path(unquote(path))


def file_store_path(uri: str) -> Path | None:
    if not uri.startswith("file:"):
        return None
    parts = urlsplit(uri)
    return Path(unquote(parts.path))


class LocalSource:
    """TrackingSource for local stores. Every MLflow call runs in a thread."""

    def __init__(self, uri: str, *, writable: bool = False) -> None:
        self.uri = uri
        self.display_uri = redact(uri)
        self._writable = writable
        self._store: Any = None
        self._lock = threading.Lock()
        self.requests = 0

    def describe(self) -> list[tuple[str, str]]:
        """How this source reads, for the connection details."""
        return [("store", self.display_uri),
                ("access", "read-only" if not self._writable else "read and write (demo)"),
                ("requests", str(self.requests))]

    # ------------------------------------------------------------------ opening
    def _open(self) -> Any:
        with self._lock:
            if self._store is None:
                try:
                    self._store = self._make_store()
                except ModuleNotFoundError as exc:
                    if (exc.name or "").split(".")[0] != "mlflow":
                        raise
                    raise StoreError("reading a local store needs MLflow's client, which is "
                                     "not installed", hint="pip install 'mlflow-tui[local]'"
                                     ) from None
            return self._store

    def _make_store(self) -> Any:
        db = sqlite_path(self.uri)
        if db is not None:
            if not db.is_file():
                raise StoreError(f"no MLflow database at {db}", hint="check the path")
            _check_sqlite(db)
            from mlflow.store.db import utils as db_utils
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            ro_uri = f"sqlite:///file:{db.resolve()}?mode=ro&uri=true"
            artifacts = (db.parent / "mlartifacts").as_uri()
            original = getattr(db_utils, "_make_parent_dirs_if_sqlite", None)
            try:
                if original is not None:  # it would mkdir "file:/..." relative to the cwd
                    db_utils._make_parent_dirs_if_sqlite = _no_mkdir  # type: ignore[assignment]
                return SqlAlchemyStore(self.uri if self._writable else ro_uri, artifacts)
            finally:
                if original is not None:
                    db_utils._make_parent_dirs_if_sqlite = original
        root = file_store_path(self.uri)
        if root is not None:
            if not root.is_dir():
                raise StoreError(f"no mlruns folder at {root}", hint="check the path")
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            from mlflow.store.tracking import file_store

            original_mkdir = file_store.mkdir
            try:
                file_store.mkdir = lambda *a, **k: None  # do not add .trash to the user's store
                return file_store.FileStore(str(root), root.as_uri())
            finally:
                file_store.mkdir = original_mkdir
        # Other database URIs: MLflow's own store factory (connects, never creates tables
        # unless the database is empty, which is the user's choice of URI).
        from mlflow.tracking._tracking_service.utils import _get_store

        return _get_store(self.uri)

    async def _run(self, fn: Callable[[Any], T]) -> T:
        def call() -> T:
            store = self._open()
            try:
                return fn(store)
            except TrackingError:
                raise
            except Exception as exc:  # noqa: BLE001 - everything becomes a TrackingError
                raise _translate(exc) from None

        try:
            result = await asyncio.to_thread(call)
        except TrackingError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc) from None
        self.requests += 1
        return result

    # ------------------------------------------------------------------ API
    async def search_experiments(self) -> list[Experiment]:
        def call(store: Any) -> list[Experiment]:
            from mlflow.entities import ViewType

            out: list[Experiment] = []
            token = None
            for _ in range(100):
                page = store.search_experiments(
                    view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token
                )
                out += [Experiment(e.experiment_id, e.name, e.lifecycle_stage,
                                   e.last_update_time) for e in page]
                token = page.token
                if not token:
                    break
            return out

        return await self._run(call)

    async def search_runs(self, experiment_ids: Sequence[str], *, filter_string: str = "",
                          max_runs: int = 5000) -> list[Run]:
        ids = list(experiment_ids)

        def call(store: Any) -> list[Run]:
            from mlflow.entities import ViewType

            out: list[Run] = []
            token = None
            while len(out) < max_runs:
                page = store.search_runs(
                    experiment_ids=ids, filter_string=filter_string,
                    run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=min(1000, max_runs - len(out)),
                    order_by=["attributes.start_time DESC"], page_token=token,
                )
                out += [_convert_run(r) for r in page]
                token = page.token
                if not token:
                    break
            return out

        return await self._run(call)

    async def get_history_window(self, run_ids: Sequence[str], key: str, *,
                                 start_step: int | None, end_step: int | None,
                                 max_results: int) -> dict[str, list[Point]]:
        ids = list(dict.fromkeys(run_ids))
        limit = max(1, min(MAX_RESULTS_PER_RUN, max_results))

        def call(store: Any) -> dict[str, list[Point]]:
            rows = store.get_metric_history_bulk_interval(
                run_ids=ids, metric_key=key, max_results=limit,
                start_step=start_step, end_step=end_step,
            )
            out: dict[str, list[Point]] = {}
            for m in rows:
                out.setdefault(m.run_id, []).append(Point(int(m.step), to_float(m.value),
                                                          int(m.timestamp or 0)))
            for points in out.values():
                points.sort(key=lambda p: (p.step, p.timestamp))
            return out

        return await self._run(call)

    async def get_full_history(self, run_id: str, key: str) -> list[Point]:
        def call(store: Any) -> list[Point]:
            hist = store.get_metric_history(run_id, key)
            pts = [Point(int(m.step), to_float(m.value), int(m.timestamp or 0)) for m in hist]
            return sorted(pts, key=lambda p: (p.step, p.timestamp))

        return await self._run(call)

    async def aclose(self) -> None:
        store, self._store = self._store, None
        engine = getattr(store, "engine", None)
        if engine is not None:
            await asyncio.to_thread(engine.dispose)


def _no_mkdir(db_uri: str) -> None:
    """Stands in for MLflow's parent-folder creation while a store is opened."""


def _convert_run(r: Any) -> Run:
    info = r.info
    metrics: dict[str, Point] = {}
    for m in getattr(r.data, "_metric_objs", None) or []:
        point = Point(int(m.step or 0), to_float(m.value), int(m.timestamp or 0))
        old = metrics.get(m.key)
        if old is None or (point.step, point.timestamp) >= (old.step, old.timestamp):
            metrics[m.key] = point
    if not metrics:
        metrics = {k: Point(0, to_float(v), 0) for k, v in r.data.metrics.items()}
    return make_run(
        {"run_id": info.run_id, "experiment_id": info.experiment_id,
         "run_name": getattr(info, "run_name", None), "status": info.status,
         "start_time": info.start_time, "end_time": info.end_time,
         "artifact_uri": info.artifact_uri},
        metrics, r.data.params, r.data.tags, _datasets(r),
    )


def _datasets(r: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for item in getattr(getattr(r, "inputs", None), "dataset_inputs", None) or []:
        name = getattr(getattr(item, "dataset", None), "name", None)
        context = next((t.value for t in getattr(item, "tags", None) or []
                        if t.key == "mlflow.data.context"), "")
        if name:
            out.append((str(name), str(context)))
    return tuple(out)


def _check_sqlite(db: Path) -> None:
    """Refuse files that are not MLflow databases, reading them read-only."""
    try:
        con = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)
        try:
            names = {row[0] for row in con.execute("select name from sqlite_master")}
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {db}: {exc}") from None
    if "runs" not in names or "experiments" not in names:
        raise StoreError(f"{db} is not an MLflow tracking database")


def _translate(exc: Exception) -> TrackingError:
    code = str(getattr(exc, "error_code", "") or "")
    message = str(getattr(exc, "message", None) or exc).splitlines()[0][:300]
    if code == "RESOURCE_DOES_NOT_EXIST":
        return NotFound(message)
    if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
        return BadRequest(message)
    if "database is locked" in message:
        return StoreError("the database is busy (locked by a writer); will retry")
    return StoreError(f"store error: {message}")
