"""Command line: flags -> Settings, and one-line errors with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlflow_tui.cli import main, parse_settings
from mlflow_tui.cli.status import RunRow, cells, clean, render_table, use_colour
from mlflow_tui.tracking.models import RunStatus


@pytest.fixture(autouse=True)
def clean_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # never the user's config
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


def test_workspace_layers_config_then_environment_then_flag(clean_cwd: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    """As --help and the README say: defaults < config file < environment < flags."""
    monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)
    config = clean_cwd / "config.toml"
    config.write_text('workspace = "from-config"\n')
    assert parse_settings(["--config", str(config)]).workspace == "from-config"
    monkeypatch.setenv("MLFLOW_WORKSPACE", "from-env")
    assert parse_settings(["--config", str(config)]).workspace == "from-env"
    assert parse_settings(["--config", str(config), "--workspace", "flag"]).workspace == "flag"
    assert parse_settings([]).workspace == "from-env"


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


def test_help_names_the_subcommands(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        parse_settings(["--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "mlflow-tui status" in text and "mlflow-tui watch" in text
    for sub in ("status", "watch"):
        with pytest.raises(SystemExit) as info:
            main([sub, "--help"])
        assert info.value.code == 0
        assert f"mlflow-tui {sub}" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "-1", "0.1", "nan", "abc", "3601"])
def test_bad_interval_rejected(value, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        parse_settings(["-i", value])
    assert info.value.code == 2
    assert "interval" in capsys.readouterr().err


def test_module_entry_point_bad_uri(clean_cwd: Path):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["XDG_CONFIG_HOME"] = str(clean_cwd)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "mlflow_tui", "ftp://x"], capture_output=True,
                          text=True, timeout=60, cwd=clean_cwd, env=env)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mlflow-tui: error:")
    assert proc.stdout == ""
    assert elapsed < 20


# ---------------------------------------------------------------------- status: arguments
def test_status_is_a_subcommand_and_a_uri_still_works_without_it(
        capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        main(["status", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mlflow-tui status")
    for word in ("--json", "--csv", "--fail-on-warning", "--max-runs", "Exit status"):
        assert word in out
    assert parse_settings(["http://status:5000"]).uri == "http://status:5000"


@pytest.mark.parametrize("argv", [["status", "--json", "--csv"], ["status", "-n", "0"],
                                  ["status", "ftp://x"]])
def test_status_usage_errors_exit_2_with_one_line(argv, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("mlflow-tui status: error:")


def test_status_without_any_uri_exits_2(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        main(["status"])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("mlflow-tui status: error: no tracking URI")


def test_status_and_cli_never_import_textual_or_rich():
    code = ("import sys\n"
            "import mlflow_tui.cli, mlflow_tui.cli.status, mlflow_tui.settings.configfile\n"
            "from mlflow_tui.cli import build_status_parser, layer\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'"
            " or m.split('.')[:2] == ['mlflow_tui', 'widgets']"
            " or m in ('rich.text', 'rich.markup', 'mlflow_tui.app', 'mlflow_tui.text.format')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ---------------------------------------------------------------------- status: output
class FakeTty:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_colour_only_on_a_terminal_without_no_color():
    assert use_colour(FakeTty(True), {}) is True
    assert use_colour(FakeTty(False), {}) is False
    assert use_colour(FakeTty(True), {"NO_COLOR": "1"}) is False
    assert use_colour(FakeTty(True), {"TERM": "dumb"}) is False


def _row(name: str, status: RunStatus = RunStatus.FINISHED, **kw) -> RunRow:
    base = dict(experiment="exp", experiment_id="1", run_id="r" + name, name=name,
                status=status, start_time=1, end_time=2, duration_s=90.0, step=7,
                train_key="train_loss", train=0.5, val_key="val_loss", val=float("nan"))
    base.update(kw)
    return RunRow(**base)


def test_table_columns_align_and_colour_is_optional():
    rows = [_row("a" * 3), _row("漢字", RunStatus.RUNNING, step=None)]
    plain = render_table(rows)
    assert "\x1b" not in plain
    lines = plain.splitlines()
    assert lines[0].split() == ["EXPERIMENT", "RUN", "STATUS", "DURATION", "STEP",
                                "train_loss", "val_loss", "WARNINGS"]
    # "漢字" is 2 characters but 4 cells wide: the STATUS column still starts at one cell.
    assert cells(lines[1][:lines[1].index("FINISHED")]) == 18
    assert cells(lines[2][:lines[2].index("RUNNING")]) == 18
    assert "0.5000" in lines[1] and "NaN" in lines[1] and "1m30s" in lines[1]
    coloured = render_table(rows, colour=True)
    assert "\x1b[32m" in coloured and "\x1b[1;36m" in coloured


def test_mixed_pairs_name_the_metric_in_the_cell():
    rows = [_row("a"), _row("b", train_key="loss", val_key="eval_loss")]
    text = render_table(rows)
    assert text.splitlines()[0].split()[5:7] == ["TRAIN", "VAL"]
    assert "0.5000 (loss)" in text and "0.5000 (train_loss)" in text


@pytest.mark.parametrize(("raw", "shown"), [
    ("run\x1b[31mred\x1b[0m", "run␛red␛"),
    ("a\x1b]8;;http://x\x07link\x1b]8;;\x07", "a␛link␛"),
    ("bell\x07\r\nline", "bell␇⏎line"),
    ("c1\x9b31m", "c1␛"),
    ("rtl\u202eevil", "rtlevil"),
])
def test_clean_neutralises_terminal_control(raw: str, shown: str):
    assert clean(raw) == shown


def test_clean_cuts_by_terminal_cells():
    assert clean("abcdefgh", 5) == "abcd…"
    assert clean("漢字漢字", 5) == "漢字…"


def test_local_stores_and_demo_need_the_local_extra(monkeypatch, tmp_path, capsys):
    """The light install (no MLflow) reads remote servers; a local store or the demo says
    which extra to install, in one line, exit 2."""
    import importlib.util

    from mlflow_tui import cli
    from mlflow_tui.settings.config import Settings

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    assert cli.needs_mlflow(Settings(uri="http://127.0.0.1:5000")) is None
    message = cli.needs_mlflow(Settings(uri=f"sqlite:///{tmp_path / 'm.db'}"))
    assert message == ("a local store needs MLflow's client, which is not installed: "
                       "pip install 'mlflow-tui[local]'")
    assert "the built-in demo needs" in cli.needs_mlflow(Settings(demo=True))
    with pytest.raises(SystemExit) as info:
        cli.main(["--demo"])
    assert info.value.code == 2
    assert "pip install 'mlflow-tui[local]'" in capsys.readouterr().err
