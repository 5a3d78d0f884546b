"""The data layer on local stores: sqlite and file, read-only, never created."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric

from mlflow_tui.tracking.errors import StoreError
from mlflow_tui.tracking.local import LocalSource
from mlflow_tui.tracking.models import RunStatus
from mlflow_tui.tracking.poller import Poller


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _seed(uri: str, root):
    client = MlflowClient(uri)
    exp = client.create_experiment("local/team/exp", artifact_location=str(root / "art"))
    run = client.create_run(exp, run_name="local-run")
    now = int(time.time() * 1000)
    client.log_batch(run.info.run_id, metrics=[
        Metric("train_loss", 1 / (s + 1), now + s, s) for s in range(50)])
    return client, exp, run.info.run_id


@pytest.fixture
def sqlite_store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, exp, rid = _seed(uri, tmp_path)
    return uri, tmp_path / "mlflow.db", client, exp, rid


async def test_sqlite_store_read_only_and_incremental(sqlite_store, tmp_path, monkeypatch):
    uri, db, client, exp, rid = sqlite_store
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = _digest(db)
    source = LocalSource(uri)
    poller = Poller(source)
    try:
        experiments = await source.search_experiments()
        assert "local/team/exp" in {e.name for e in experiments}
        first = await poller.tick([exp], [(rid, "train_loss")])
        assert first.runs[0].status is RunStatus.RUNNING
        assert first.runs[0].metrics["train_loss"].step == 49
        assert [p.step for p in poller.points((rid, "train_loss"))] == list(range(50))
        assert _digest(db) == before, "reading must not write to the database"
        # A writer keeps logging; the reader follows incrementally.
        now = int(time.time() * 1000)
        client.log_batch(rid, metrics=[Metric("train_loss", 0.01, now + s, s)
                                       for s in range(50, 80)])
        client.set_terminated(rid, "FAILED")
        second = await poller.tick([exp], [(rid, "train_loss")])
        assert second.status_changes[rid][1] is RunStatus.FAILED
        full = await source.get_full_history(rid, "train_loss")
        assert poller.points((rid, "train_loss")) == full
    finally:
        await source.aclose()
    assert os.listdir(cwd) == [], "nothing may be created in the working folder"


async def test_missing_stores_are_errors_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for uri in (f"sqlite:///{tmp_path / 'nope.db'}", (tmp_path / "mlruns").as_uri()):
        source = LocalSource(uri)
        with pytest.raises(StoreError):
            await source.search_experiments()
        await source.aclose()
    assert os.listdir(tmp_path) == []


async def test_not_an_mlflow_database(tmp_path):
    import sqlite3

    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("create table t (x int)").connection.commit()
    source = LocalSource(f"sqlite:///{db}")
    with pytest.raises(StoreError, match="not an MLflow"):
        await source.search_experiments()


async def test_file_store_read(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    root = tmp_path / "mlruns"
    uri = root.as_uri()
    client = MlflowClient(uri)
    exp = client.create_experiment("files/exp")
    rid = client.create_run(exp).info.run_id
    client.log_metric(rid, "val_loss", 0.5, step=3)
    trash = root / ".trash"
    if trash.exists():
        trash.rmdir()
    source = LocalSource(uri)
    try:
        runs = await source.search_runs([exp])
        assert runs[0].metrics["val_loss"].step == 3
        assert not trash.exists(), "the reader must not add folders to the store"
    finally:
        await source.aclose()
