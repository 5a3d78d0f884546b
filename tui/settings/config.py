"""Settings: defaults < config file < environment < command-line flags.

The config file (`mlflow_tui.settings.configfile`) and the flags (`mlflow_tui.cli`) fill these in;
the app and the headless `status` command only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlflow_tui.analysis.health import HealthSettings


@dataclass
class Settings:
    uri: str | None = None  # None: show the start screen (or run the demo)
    experiments: list[str] = field(default_factory=list)
    interval: float = 2.0  # seconds between ticks
    experiments_interval: float = 30.0  # seconds between experiment-list refreshes
    demo: bool = False
    demo_speed: float = 1.0
    max_backoff: float = 30.0
    # Series of the top rows loaded for the warnings column, besides every running run's.
    warn_rows: int = 20
    pair: tuple[str, str] | None = None  # (train, validation) metric keys, else by name
    # Experiment name -> (train, validation), chosen in the app (P) and kept in the config file.
    pairs: dict[str, tuple[str, str]] = field(default_factory=dict)
    config_path: Path | None = None  # the config file the app saves such choices to
    # Managed and corporate servers: a command printing a bearer token (renewed before it
    # expires and on 401), extra request headers, and an MLflow 3 workspace.
    token_command: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    workspace: str | None = None
    bell: bool = True  # ring the terminal bell with a new warning
    # Desktop notifications through the terminal (tui/alerts/notify.py): None (off), "auto", or a
    # protocol: "osc777", "osc9", "osc99".
    notify: str | None = None
    now: bool = False  # open on the Now view (--now)
    # mlflow-tui watch: webhooks to post each event to, a shell command to run per event.
    webhooks: list[str] = field(default_factory=list)
    exec_command: str | None = None
    export_dir: str = "."  # where compare exports (e) write their CSV
    stall_after: float = 300.0  # a RUNNING run silent this long (and 10x its usual gap) stalls
    stall_factor: float = 10.0  # ... and silent for this many times its usual logging gap
    explode_factor: float = 10.0  # a loss this many times its best (sustained) has diverged
    theme: str | None = None  # a Textual theme name; None: Textual's default
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys, e.g. "R,f5"
    max_runs: int = 50  # `status`: the newest runs listed

    def health(self) -> HealthSettings:
        """The run-health settings these settings give (the monitor's and status's judge)."""
        return HealthSettings(stall_min_seconds=self.stall_after, stall_factor=self.stall_factor,
                              explode_factor=self.explode_factor)
