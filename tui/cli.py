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


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Arguments -> Settings. Exits with status 2 and a one-line reason on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings(experiments=list(args.experiment), interval=args.interval,
                        demo=args.demo)
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
