"""`mlflow-tui [URI] [options]` watches runs live; `mlflow-tui status [URI] [options]` prints
their state once and exits.

Settings are layered: defaults < config file < environment (MLFLOW_TRACKING_URI) < flags.
The console script is `mlflow-tui`; `python -m mlflow_tui` is the same. Neither path imports Textual
before it knows it will start the app (`status` never does).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from mlflow_tui import __version__
from mlflow_tui.settings.config import Settings
from mlflow_tui.settings.configfile import ConfigError, ConfigFile, check_names, default_path, load
from mlflow_tui.tracking.uri import InvalidURI, classify, resolve

EXIT_USAGE = 2
PROG = "mlflow-tui"
STATUS_PROG = "mlflow-tui status"
CONFIG_HELP = ("config file (default: $XDG_CONFIG_HOME/mlflow-tui/config.toml, else "
               "~/.config/mlflow-tui/config.toml)")


def _common_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("uri", nargs="?", help="tracking URI: http(s)://host:port, "
                        "sqlite:///path/mlflow.db, or a path to an mlruns folder")
    parser.add_argument("-e", "--experiment", action="append", default=None, metavar="NAME",
                        help=f"experiment to {what}, by name or id (repeat for several; "
                        "replaces the config file's list)")
    parser.add_argument("--pair", type=_pair, metavar="TRAIN,VAL",
                        help="metric keys to judge overfitting on (default: found by name, "
                        "e.g. train_loss,val_loss)")
    parser.add_argument("--stall-after", type=_positive_seconds, default=None,
                        metavar="SECONDS", help="a RUNNING run silent this long (and ten times "
                        "its usual logging gap) is marked stalled (default: 300)")
    parser.add_argument("--config", type=Path, metavar="PATH", help=CONFIG_HELP)
    parser.add_argument("--workspace", metavar="NAME",
                        help="MLflow 3 workspace (else MLFLOW_WORKSPACE, else the config's)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Watch MLflow training runs live: experiments, runs, status, loss curves "
        "and overfitting warnings. Also: `mlflow-tui status` (the same, printed once; for "
        "scripts and cron) and `mlflow-tui watch` (no UI: one line per event, to a command "
        "or a webhook); each has its own --help.",
        epilog="The URI comes from the argument, else MLFLOW_TRACKING_URI, else the config "
        "file's uri, else ./mlflow.db or ./mlruns in the current folder (opened read-only). "
        "Settings: defaults < config file < environment < flags. Keys: ? in the app.",
    )
    _common_arguments(parser, "watch")
    parser.add_argument("-i", "--interval", type=_positive, default=None, metavar="SECONDS",
                        help="seconds between refreshes (default: 2)")
    parser.add_argument("--bell", action=argparse.BooleanOptionalAction, default=None,
                        help="ring the terminal bell with new warnings (default: on)")
    parser.add_argument("--theme", metavar="NAME", help="a Textual theme, e.g. nord, "
                        "gruvbox, textual-light (default: textual-dark)")
    parser.add_argument("--demo", action="store_true",
                        help="watch a built-in simulated training session (no server needed)")
    parser.add_argument("--now", action="store_true",
                        help="open on the Now view: every running run of every experiment")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def build_status_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=STATUS_PROG,
        description="Print the newest runs once, with status, duration, latest step, latest "
        "train/validation values and warnings (overfitting, diverged, stalled, failed, "
        "killed), then exit. No UI; no colour unless stdout is a terminal (and NO_COLOR is "
        "unset).",
        epilog="Runs: those of the experiments named with -e (else the config file's "
        "`experiments`), else of every active experiment; the newest --max-runs of them, "
        "newest first. Exit status: 0 done; 1 server unreachable, credentials refused or "
        "unknown experiment; 2 bad usage, bad URI or bad config file; 3 with "
        "--fail-on-warning when a listed run has a warning.",
    )
    _common_arguments(parser, "list")
    parser.add_argument("-n", "--max-runs", type=_count, default=None, metavar="N",
                        help="list at most the N newest runs (default: 50)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", dest="output", action="store_const", const="json",
                     help="a JSON list of objects (NaN as null)")
    out.add_argument("--csv", dest="output", action="store_const", const="csv",
                     help="CSV, with a metrics.<key> column for every metric")
    parser.add_argument("--fail-on-warning", action="store_true",
                        help="exit with status 3 when any listed run has a warning")
    parser.set_defaults(output="table")
    return parser


def build_watch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlflow-tui watch",
        description="Watch runs without a UI and report what happens, one event a line: run "
        "started, finished, failed, killed, warning raised (overfitting, diverged, stalled), "
        "warning cleared. JSON Lines on stdout (--text: readable lines); --exec runs a command "
        "per event, --webhook posts it (Slack and Discord URLs get their own shape).",
        epilog="Runs: those of the experiments named with -e (else the config file's), else "
        "of every active experiment. Events are remembered in a state file in the user's "
        "cache folder: a restarted watcher repeats none and misses none (--no-state: start "
        "afresh each time). Exit status: 0; 1 (--once) server unreachable or refused; 2 bad "
        "usage.",
    )
    _common_arguments(parser, "watch")
    parser.add_argument("-i", "--interval", type=_positive, default=None, metavar="SECONDS",
                        help="seconds between passes (default: the config's interval, else 2)")
    parser.add_argument("--since", metavar="WHEN",
                        help="also report runs and warnings from this far back: 30m, 2h, 1d or "
                        "an ISO time (default: from the start, or the last run of the watcher)")
    parser.add_argument("--once", action="store_true", help="one pass, then exit (cron)")
    parser.add_argument("--text", action="store_true", help="readable lines, not JSON")
    parser.add_argument("--exec", dest="exec_command", metavar="CMD",
                        help="run CMD (a shell command) per event: the event as JSON on stdin "
                        "and in MLFLOW_TUI_JSON, fields in MLFLOW_TUI_EVENT, ..._RUN_NAME, ...")
    parser.add_argument("--webhook", action="append", default=None, metavar="URL",
                        help="post each event to URL (repeat for several)")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--state", type=Path, metavar="PATH", help="the state file to use")
    state.add_argument("--no-state", action="store_true", help="keep no state file")
    return parser


def _headless(parser: argparse.ArgumentParser, argv: Sequence[str]
              ) -> tuple[argparse.Namespace, Settings]:
    """Arguments and settings of a headless command (status, watch): a URI is required, and
    MLflow's client when it is a local store."""
    args = parser.parse_args(argv)
    config = load_config(parser, args.config, os.environ)
    settings = layer(args, config, os.environ, Path.cwd(), parser)
    if settings.uri is None:
        _fail(parser, "no tracking URI: pass one, set MLFLOW_TRACKING_URI, set uri in the "
              "config file, or run it in a folder with mlflow.db or mlruns")
    missing = needs_mlflow(settings)
    if missing:
        _fail(parser, missing)
    return args, settings


def watch_main(argv: Sequence[str]) -> int:
    """`mlflow-tui watch ...`: headless, never imports Textual."""
    parser = build_watch_parser()
    args, settings = _headless(parser, argv)
    import time as _time

    from mlflow_tui.alerts.delivery import ExecSink, Sink, StdoutSink, WebhookSink
    from mlflow_tui.alerts.watcher import Watcher, default_state_path, parse_since, run_watch
    from mlflow_tui.cli.status import clean
    from mlflow_tui.tracking import open_source

    since = None
    if args.since:
        try:
            since = parse_since(args.since, int(_time.time() * 1000))
        except ValueError as exc:
            _fail(parser, str(exc))

    def report(line: str) -> None:
        sys.stderr.write(clean(line, 400) + "\n")
        sys.stderr.flush()

    webhooks = list(args.webhook or settings.webhooks)
    command = args.exec_command or settings.exec_command
    sinks: list[Sink] = [StdoutSink(report, text=args.text, clean=lambda s: clean(s, 2000))]
    if command:
        sinks.append(ExecSink(report, command))
    sinks += [WebhookSink(report, url, line=lambda e: clean(e.text(), 2000)) for url in webhooks]
    assert settings.uri is not None  # _headless made sure
    state = None if args.no_state else (args.state or default_state_path(
        settings.uri, settings.experiments))
    source = open_source(classify(settings.uri), token_command=settings.token_command,
                         headers=settings.headers, workspace=settings.workspace)
    watcher = Watcher(source, settings, sinks, since_ms=since, state_path=state, report=report)
    return run_watch(watcher, interval=settings.interval, once=args.once)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.2 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0.2 and 3600 seconds")
    return value


def _pair(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError("expected TRAIN,VAL, e.g. train_loss,val_loss")
    return parts[0], parts[1]


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _fail(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.exit(EXIT_USAGE, f"{parser.prog}: error: {message}\n")


def load_config(parser: argparse.ArgumentParser, path: Path | None,
                environ: Mapping[str, str]) -> ConfigFile:
    """The config file `--config` names (it must exist), else the default one (if any).
    Exits with status 2 and a one-line reason when it is invalid."""
    try:
        if path is not None:
            return load(path.expanduser(), required=True)
        return load(default_path(environ))
    except ConfigError as exc:
        _fail(parser, str(exc))


def layer(args: argparse.Namespace, config: ConfigFile, environ: Mapping[str, str],
          cwd: Path, parser: argparse.ArgumentParser) -> Settings:
    """Defaults < config file < environment < flags. The URI: the argument, else
    MLFLOW_TRACKING_URI, else the config file's `uri`, else a store in `cwd`."""
    settings = config.apply(Settings())
    settings.config_path = (args.config.expanduser() if args.config is not None
                            else default_path(environ))
    if args.experiment is not None:
        settings.experiments = list(args.experiment)
    if args.pair is not None:
        settings.pair = args.pair
    if args.stall_after is not None:
        settings.stall_after = args.stall_after
    env_space = environ.get("MLFLOW_WORKSPACE", "").strip()
    if env_space:  # the environment layer: over the config file's, under --workspace
        settings.workspace = env_space
    for name in ("interval", "bell", "theme", "max_runs", "workspace"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(settings, name, value)
    if getattr(args, "now", False):
        settings.now = True
    if getattr(args, "demo", False):
        settings.demo = True
        return settings
    env_uri = environ.get("MLFLOW_TRACKING_URI", "").strip()
    file_uri = settings.uri
    settings.uri = None
    if args.uri or env_uri or not file_uri:
        uri = resolve(args.uri, environ, cwd)
    else:
        uri = file_uri
    if uri is not None:
        try:
            settings.uri = classify(uri).uri
        except InvalidURI as exc:
            _fail(parser, str(exc))
    return settings


def _parse(argv: Sequence[str] | None) -> tuple[Settings, ConfigFile, argparse.ArgumentParser]:
    parser = build_parser()
    args = parser.parse_args(argv)
    config = load_config(parser, args.config, os.environ)
    return layer(args, config, os.environ, Path.cwd(), parser), config, parser


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Arguments -> Settings. Exits with status 2 and a one-line reason on bad input."""
    return _parse(argv)[0]


def binding_ids() -> set[str]:
    """Every binding id a keymap can name: those of the app, its screens and widgets (and of
    Textual's own widgets that have ids). Imports the app."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    import mlflow_tui.app  # noqa: F401 - defines every screen and widget class

    ids: set[str] = set()
    stack: list[type] = [DOMNode]
    seen: set[type] = set()
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        stack += cls.__subclasses__()
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def check_ui_settings(settings: Settings, config: ConfigFile, parser: argparse.ArgumentParser,
                      themes: Iterable[str], ids: Iterable[str]) -> None:
    """Theme and keymap names against what Textual and the app know; exit 2 if unknown."""
    names = sorted(themes)
    try:
        check_names(config, names, ids)
    except ConfigError as exc:
        _fail(parser, str(exc))
    if settings.theme is not None and settings.theme not in names:
        _fail(parser, f"unknown theme {settings.theme!r} (choose one of: {', '.join(names)})")


def status_main(argv: Sequence[str]) -> int:
    """`mlflow-tui status ...`: never imports Textual."""
    parser = build_status_parser()
    args, settings = _headless(parser, argv)
    from mlflow_tui.cli.status import run_status
    from mlflow_tui.tracking import open_source

    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:  # a non-UTF-8 terminal gets \u escapes, not a crash
            reconfigure(errors="backslashreplace")
    # A one-shot command can wait for a busy server longer than the live view does.
    assert settings.uri is not None  # _headless made sure
    source = open_source(classify(settings.uri), read_timeout=60.0,
                         token_command=settings.token_command, headers=settings.headers,
                         workspace=settings.workspace)
    return run_status(settings, source, output=args.output,
                      fail_on_warning=args.fail_on_warning, stdout=sys.stdout,
                      stderr=sys.stderr)


LOCAL_EXTRA = "pip install 'mlflow-tui[local]'"


def needs_mlflow(settings: Settings) -> str | None:
    """Why MLflow's client must be installed for these settings and is not, or None. Local
    stores and the demo read through it; remote servers never do (the light install)."""
    import importlib.util

    local = settings.demo or (settings.uri is not None and classify(settings.uri).kind == "local")
    if not local or importlib.util.find_spec("mlflow") is not None:
        return None
    what = "the built-in demo" if settings.demo else "a local store"
    return f"{what} needs MLflow's client, which is not installed: {LOCAL_EXTRA}"


def quiet_libraries() -> None:
    """A monitor that only reads: MLflow's usage telemetry (on by default in MLflow 3 when
    the demo or a local store imports it) would write ~/.config/mlflow and send events over
    the network. Off unless the user asked for it (MLFLOW_DISABLE_TELEMETRY=false)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    quiet_libraries()
    # A subcommand dispatched by hand: argparse subparsers would fight the optional URI.
    if argv and argv[0] == "status":
        return status_main(argv[1:])
    if argv and argv[0] == "watch":
        return watch_main(argv[1:])
    settings, config, parser = _parse(argv)
    from mlflow_tui.ui.images import ask

    # The terminal's graphics: asked now, answered while Textual is imported, the answers
    # read before Textual starts (where they would be keys), also on a usage error.
    graphics = ask()
    try:
        from textual.theme import BUILTIN_THEMES

        from mlflow_tui.app import make_app

        check_ui_settings(settings, config, parser, BUILTIN_THEMES, binding_ids())
        missing = needs_mlflow(settings)
        if missing:
            _fail(parser, missing)
        app = make_app(settings)
    finally:
        graphics.finish()
    app.run()
    return int(app.return_code or 0)


if __name__ == "__main__":
    sys.exit(main())
