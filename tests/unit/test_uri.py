"""Tracking URIs: classify, redact, resolve, discover_local."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_tui.tracking.uri import InvalidURI, classify, discover_local, redact, resolve


# ---------------------------------------------------------------------- classify
@pytest.mark.parametrize("uri, want", [
    ("http://localhost:5000", "http://localhost:5000"),
    ("https://mlflow.example.com", "https://mlflow.example.com"),
    ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
    ("https://host/prefix/mlflow//", "https://host/prefix/mlflow"),
    ("  http://host:5000  ", "http://host:5000"),
    ("HTTP://Host:5000", "HTTP://Host:5000"),
    ("http://[::1]:5000", "http://[::1]:5000"),
])
def test_classify_http(uri, want):
    target = classify(uri)
    assert target.kind == "http"
    assert target.uri == want


def test_classify_unknown_scheme_names_it():
    with pytest.raises(InvalidURI) as info:
        classify("ftp://x")
    assert "'ftp'" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("uri", ["http://", "https://:5000", "http://host:notaport",
                                 "http://host:99999", "", "   "])
def test_classify_malformed(uri):
    with pytest.raises(InvalidURI) as info:
        classify(uri)
    assert "\n" not in str(info.value)


def test_classify_malformed_message_hides_credentials():
    with pytest.raises(InvalidURI) as info:
        classify("http://bob:s3cr3tpw@host:notaport")
    assert "s3cr3tpw" not in str(info.value)


@pytest.mark.parametrize(("uri", "kind"), [
    ("databricks", "databricks"),  # MLflow reads it as the workspace, not ./databricks
    ("databricks://my-profile", "databricks"),
    ("arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team", "sagemaker"),
])
def test_classify_managed_platforms(uri, kind):
    target = classify(uri)
    assert (target.kind, target.uri) == (kind, uri)


def test_classify_bare_folder_is_a_file_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    target = classify("./mlruns")
    assert target.kind == "local"
    assert target.uri == (tmp_path / "mlruns").resolve().as_uri()
    assert target.uri.startswith("file:///")
    assert list(tmp_path.iterdir()) == []  # classifying creates nothing


def test_classify_bare_db_file_is_absolute_sqlite(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    target = classify("x.db")
    assert target.kind == "local"
    assert target.uri == f"sqlite:///{(tmp_path / 'x.db').resolve()}"
    assert Path(target.uri.removeprefix("sqlite:///")).is_absolute()


def test_classify_home_path_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert classify("~/store.db").uri == f"sqlite:///{(tmp_path / 'store.db').resolve()}"


@pytest.mark.parametrize("uri", [
    "sqlite:////abs/mlflow.db",
    "sqlite:////abs/mlflow.db?timeout=20",
    "file:///data/mlruns",
    "postgresql://user:pw@db:5432/mlflow",
    "postgresql+psycopg2://db/mlflow",
    "mysql+pymysql://db/mlflow",
    "mssql://db/mlflow",
])
def test_classify_local_kinds_pass_through(uri):
    target = classify(uri)
    assert target.kind == "local"
    assert target.uri == uri


def test_target_display_is_redacted():
    target = classify("http://bob:s3cr3tpw@host:5000")
    assert target.kind == "http"
    assert "s3cr3tpw" not in target.display
    assert "host:5000" in target.display


# ---------------------------------------------------------------------- redact
def test_redact_removes_userinfo():
    out = redact("https://alice:hunter2@mlflow.example.com:8443/root")
    assert "alice" not in out
    assert "hunter2" not in out
    assert out.startswith("https://")
    assert "mlflow.example.com:8443/root" in out


def test_redact_hides_secret_query_values_and_keeps_others():
    out = redact("http://host:5000/?token=abc123&experiment=7&Password=pw9&sig=zz")
    assert "abc123" not in out
    assert "pw9" not in out
    assert "zz" not in out
    assert "experiment=7" in out
    assert "token=" in out


def test_redact_leaves_plain_uris_alone():
    assert redact("http://host:5000/path") == "http://host:5000/path"
    assert redact("sqlite:///tmp/mlflow.db") == "sqlite:///tmp/mlflow.db"


def test_redact_password_in_database_uri():
    out = redact("postgresql://mlflow:dbpass@db:5432/mlflow")
    assert "dbpass" not in out
    assert "db:5432/mlflow" in out


# ---------------------------------------------------------------------- resolve / discover
def _make_db(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)


def test_resolve_argument_wins(tmp_path: Path):
    _make_db(tmp_path / "mlflow.db")
    env = {"MLFLOW_TRACKING_URI": "http://env:5000"}
    assert resolve("http://arg:5000", env, tmp_path) == "http://arg:5000"


def test_resolve_env_beats_local_store(tmp_path: Path):
    _make_db(tmp_path / "mlflow.db")
    env = {"MLFLOW_TRACKING_URI": " http://env:5000 "}
    assert resolve(None, env, tmp_path) == "http://env:5000"
    assert resolve("", env, tmp_path) == "http://env:5000"


def test_resolve_blank_env_is_ignored(tmp_path: Path):
    assert resolve(None, {"MLFLOW_TRACKING_URI": "   "}, tmp_path) is None


def test_resolve_db_beats_mlruns(tmp_path: Path):
    _make_db(tmp_path / "mlflow.db")
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    assert resolve(None, {}, tmp_path) == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"


def test_resolve_mlruns_with_numbered_experiment(tmp_path: Path):
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    assert resolve(None, {}, tmp_path) == (tmp_path / "mlruns").resolve().as_uri()


def test_resolve_empty_db_and_unnumbered_mlruns_are_not_stores(tmp_path: Path):
    (tmp_path / "mlflow.db").touch()
    (tmp_path / "mlruns" / ".trash").mkdir(parents=True)
    (tmp_path / "mlruns" / "models").mkdir()
    (tmp_path / "mlruns" / "123").touch()  # a file, not an experiment folder
    assert resolve(None, {}, tmp_path) is None
    assert discover_local(tmp_path) is None


def test_resolve_nothing(tmp_path: Path):
    assert resolve(None, {}, tmp_path) is None


def test_discover_local_creates_nothing(tmp_path: Path):
    assert discover_local(tmp_path) is None
    assert resolve(None, {}, tmp_path) is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("uri", "kind", "name"), [
    ("sqlite:///mlflow.db", "sqlite", "mlflow.db"),  # MLflow's docs: relative to the folder
    ("sqlite:///sub/x.db", "sqlite", "sub/x.db"),
    ("file:./mlruns", "file", "mlruns"),
    ("file:mlruns", "file", "mlruns"),
    ("file://mlruns", "file", "mlruns"),
    ("mlflow.db", "sqlite", "mlflow.db"),
    ("./mlruns", "file", "mlruns"),
])
def test_relative_local_uris_become_absolute(uri, kind, name, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    target = classify(uri)
    expected = (tmp_path / name).resolve()
    if kind == "sqlite":
        assert target.uri == f"sqlite:///{expected}"
    else:
        assert target.uri == expected.as_uri()
    assert list(tmp_path.iterdir()) == []  # classifying creates nothing


def test_sqlite_uri_query_is_kept_and_memory_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert classify("sqlite:///m.db?timeout=5").uri == f"sqlite:///{tmp_path / 'm.db'}?timeout=5"
    for bad in ("sqlite://", "sqlite:///"):
        with pytest.raises(InvalidURI) as info:
            classify(bad)
        assert "names no database file" in str(info.value)
