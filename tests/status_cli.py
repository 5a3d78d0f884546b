"""`mlflow-tui status` run in-process, for the deployment and network tests."""

from __future__ import annotations

import json

import pytest

from mlflow_tui.cli import main

PREFIX = "mlflow-tui status: error: "


def status(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `mlflow-tui status ARGV`."""
    code = main(["status", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_ids(out: str) -> set[str]:
    """The run ids of a `status --json` answer."""
    return {row["run_id"] for row in json.loads(out)}


def one_error_line(err: str) -> str:
    """The message of a one-line `status` error."""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(PREFIX), err
    return err[len(PREFIX):-1]
