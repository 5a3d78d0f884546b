"""Score the overfitting detector against the reference rules on labelled curves.

Usage: python bench/overfit.py [CURVES_DIR]

CURVES_DIR defaults to ../shared/overfit-curves/dev relative to the repository root. Loads the
shared scorer (score.py, not a package) with importlib and prints a markdown table.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "overfit-curves"))


def _load_scorer(path: str):
    spec = importlib.util.spec_from_file_location("overfit_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load scorer from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("curves", nargs="?", default=os.path.join(SHARED, "dev"))
    ap.add_argument("--scorer", default=os.path.join(SHARED, "score.py"))
    args = ap.parse_args(argv)

    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from tui.analysis import detect_overfitting

    scorer = _load_scorer(args.scorer)
    files = sorted(glob.glob(os.path.join(args.curves, "*.json")))
    if not files:
        raise SystemExit(f"no curves in {args.curves}")
    curves = []
    for f in files:
        with open(f) as fh:
            curves.append(json.load(fh))

    rows = {name: scorer.score(fn, curves) for name, fn in scorer.ANCHORS.items()}
    rows["mlflow-tui detect_overfitting"] = scorer.score(detect_overfitting, curves)

    first = next(iter(rows.values()))
    print(f"{len(curves)} curves in {args.curves}: {first['overfit_curves']} overfit, "
          f"{first['other_curves']} healthy/diverge\n")
    cols = [("recall", "recall"), ("early_alarm_rate", "early"),
            ("false_alarm_rate", "false alarms"), ("median_delay_val_points", "median delay"),
            ("p90_delay_val_points", "p90 delay"),
            ("median_best_step_error_val_points", "best-step error")]
    print("| rule | " + " | ".join(label for _, label in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(_fmt(r.get(key)) for key, _ in cols) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
