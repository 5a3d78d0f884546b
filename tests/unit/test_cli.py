"""Command line: flags -> Settings, and one-line errors with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.cli import parse_settings


@pytest.fixture(autouse=True)
def clean_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def test_defaults():
    settings = parse_settings([])
    assert settings.interval == 2.0
    assert settings.experiments == []
    assert settings.demo is False
    assert settings.uri is None  # nothing in an empty folder: start screen


def test_interval():
    assert parse_settings(["-i", "0.5"]).interval == 0.5
    assert parse_settings(["--interval", "10"]).interval == 10.0


def test_repeated_experiments():
    assert parse_settings(["-e", "a", "-e", "b"]).experiments == ["a", "b"]


def test_demo():
    settings = parse_settings(["--demo"])
    assert settings.demo is True


def test_uri_argument_is_classified():
    assert parse_settings(["http://localhost:5000/"]).uri == "http://localhost:5000"


def test_env_uri_is_used(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://from-env:5000")
    assert parse_settings([]).uri == "http://from-env:5000"


def test_bare_path_becomes_absolute(clean_cwd: Path):
    assert parse_settings(["x.db"]).uri == f"sqlite:///{(clean_cwd / 'x.db').resolve()}"


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    assert err.startswith("mlflow-tui: error:"), err
    return err


def test_bad_scheme_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        parse_settings(["ftp://x"])
    assert info.value.code == 2
    assert "ftp" in _one_line_error(capsys)


def test_bad_env_uri_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "gopher://x")
    with pytest.raises(SystemExit) as info:
        parse_settings([])
    assert info.value.code == 2
    assert "gopher" in _one_line_error(capsys)


def test_error_message_hides_credentials(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        parse_settings(["ftp://bob:s3cr3tpw@x"])
    assert info.value.code == 2
    assert "s3cr3tpw" not in _one_line_error(capsys)


def test_version(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        parse_settings(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == "mlflow-tui 0.1.0"


@pytest.mark.parametrize("value", ["0", "-1", "0.1", "nan", "abc", "3601"])
def test_bad_interval_rejected(value, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        parse_settings(["-i", value])
    assert info.value.code == 2
    assert "interval" in capsys.readouterr().err


def test_module_entry_point_bad_uri(clean_cwd: Path):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tui", "ftp://x"], capture_output=True,
                          text=True, timeout=60, cwd=clean_cwd, env=env)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mlflow-tui: error:")
    assert proc.stdout == ""
    assert elapsed < 20
