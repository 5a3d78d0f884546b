"""`mlflow-tui [URI] [-e NAME ...] [-i SECONDS] [--demo] [--version]`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tui import __version__
from tui.config import Settings
from tui.tracking.uri import InvalidURI, classify, resolve

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlflow-tui",
        description="Watch MLflow training runs live: experiments, runs, status, loss curves "
        "and overfitting warnings.",
        epilog="The URI comes from the argument, else MLFLOW_TRACKING_URI, else ./mlflow.db or "
        "./mlruns in the current folder (opened read-only). Keys: ? in the app.",
    )
    parser.add_argument("uri", nargs="?", help="tracking URI: http(s)://host:port, "
                        "sqlite:///path/mlflow.db, or a path to an mlruns folder")
    parser.add_argument("-e", "--experiment", action="append", default=[], metavar="NAME",
                        help="experiment to watch (repeat to watch several)")
    parser.add_argument("-i", "--interval", type=_positive, default=2.0, metavar="SECONDS",
                        help="seconds between refreshes (default: 2)")
    parser.add_argument("--pair", type=_pair, metavar="TRAIN,VAL",
                        help="metric keys to judge overfitting on (default: found by name, "
                        "e.g. train_loss,val_loss)")
    parser.add_argument("--stall-after", type=_positive_seconds, default=300.0,
                        metavar="SECONDS", help="a RUNNING run silent this long (and ten times "
                        "its usual logging gap) is marked stalled (default: 300)")
    parser.add_argument("--no-bell", action="store_true",
                        help="do not ring the terminal bell with new warnings")
    parser.add_argument("--demo", action="store_true",
                        help="watch a built-in simulated training session (no server needed)")
    parser.add_argument("--version", action="version", version=f"mlflow-tui {__version__}")
    return parser


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


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Arguments -> Settings. Exits with status 2 and a one-line reason on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings(experiments=list(args.experiment), interval=args.interval,
                        demo=args.demo, pair=args.pair, bell=not args.no_bell,
                        stall_after=args.stall_after)
    if args.demo:
        return settings
    uri = resolve(args.uri, os.environ, Path.cwd())
    if uri is not None:
        try:
            settings.uri = classify(uri).uri
        except InvalidURI as exc:
            parser.exit(EXIT_USAGE, f"mlflow-tui: error: {exc}\n")
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_settings(argv)
    from tui.app import make_app

    app = make_app(settings)
    app.run()
    return int(app.return_code or 0)


if __name__ == "__main__":
    sys.exit(main())
