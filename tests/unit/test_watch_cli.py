"""`mlflow-tui watch`'s command line and config file (tui/cli/__init__.py watch_main): the config
keys `webhook`, `exec` and `notify` through the loader, --interval, --webhook over the file, and
the --text line as printed (server text made safe)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

import mlflow_tui.alerts.watcher as watcher_module
from mlflow_tui.alerts.delivery import ExecSink, StdoutSink, WebhookSink
from mlflow_tui.alerts.events import Event
from mlflow_tui.cli import parse_settings, watch_main

CONFIG = """\
webhook = ["https://hooks.slack.com/services/T/B/secret", "https://example.com/hook"]
exec = "logger -t mlflow"
notify = "osc9"
interval = 7
"""


@pytest.fixture
def captured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """watch_main's watcher and loop arguments, instead of running it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    got: dict = {}

    def run_watch(watcher, *, interval: float, once: bool) -> int:
        got.update(watcher=watcher, interval=interval, once=once)
        asyncio.run(watcher.source.aclose())
        return 0

    monkeypatch.setattr(watcher_module, "run_watch", run_watch)
    return got


def _config(tmp_path: Path, text: str) -> None:
    path = tmp_path / "xdg" / "mlflow-tui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_config_keys_webhook_exec_and_interval_reach_the_watcher(tmp_path, captured):
    _config(tmp_path, CONFIG)
    assert watch_main(["http://127.0.0.1:9", "--no-state"]) == 0
    sinks = captured["watcher"].sinks
    assert [type(s) for s in sinks] == [StdoutSink, ExecSink, WebhookSink, WebhookSink]
    assert sinks[1].command == "logger -t mlflow"
    assert [s.url for s in sinks[2:]] == ["https://hooks.slack.com/services/T/B/secret",
                                          "https://example.com/hook"]
    assert captured["interval"] == 7.0 and captured["once"] is False
    # The monitor reads `notify` from the same file.
    assert parse_settings([]).notify == "osc9"


def test_flags_beat_the_config_file(tmp_path, captured):
    _config(tmp_path, CONFIG)
    assert watch_main(["http://127.0.0.1:9", "--no-state", "--interval", "0.5", "--once",
                       "--webhook", "https://other.example/h", "--exec", "true"]) == 0
    sinks = captured["watcher"].sinks
    assert [getattr(s, "url", None) for s in sinks if isinstance(s, WebhookSink)] == [
        "https://other.example/h"]
    assert [s.command for s in sinks if isinstance(s, ExecSink)] == ["true"]
    assert captured["interval"] == 0.5 and captured["once"] is True


@pytest.mark.parametrize("text,needle", [
    ('webhook = "ftp://x"', "webhook"),
    ("exec = 3", "exec"),
    ('notify = "loud"', "notify"),
])
def test_bad_config_values_exit_2_naming_the_key(tmp_path, captured, capsys, text, needle):
    _config(tmp_path, text + "\n")
    with pytest.raises(SystemExit) as info:
        watch_main(["http://127.0.0.1:9", "--no-state"])
    assert info.value.code == 2
    assert needle in capsys.readouterr().err and "watcher" not in captured


def test_the_text_line_as_printed(tmp_path, captured):
    assert watch_main(["http://127.0.0.1:9", "--no-state", "--text"]) == 0
    stdout = captured["watcher"].sinks[0]
    assert isinstance(stdout, StdoutSink) and stdout.text
    stdout.stream = io.StringIO()
    event = Event("warning_raised", "2027-01-15T08:00:00+00:00", "3", "team/exp",
                  "abc", "evil\x1b]52;c;x\x07run", "RUNNING", 12, warning="overfitting",
                  reason="val_loss up 9% since step 8")

    async def send() -> None:
        await stdout.send(event)
        await stdout.close(1)

    asyncio.run(send())
    line = stdout.stream.getvalue()
    assert "\x1b" not in line and "\x07" not in line
    assert line.startswith("2027-01-15T08:00:00+00:00  warning_raised  team/exp / evil")
    assert line.endswith("run  overfitting: val_loss up 9% since step 8\n")
