"""The floor of the excess at the alarm: an oracle that knows each overfitting run's labelled
onset and warns exactly k validation points after it (never before its `first`th point),
scored like ../shared/overfit-curves/score.py (the labeller's centred smoothing). No detector
that waits for evidence after the onset can do better at the same k.

Usage: python bench/overfit_oracle.py [--sets dev,check,large-a,large-b] [--k 1,2,3,4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fastscore  # noqa: E402  (the loaders and the labeller's smoothing)


def excess_at(curve: dict, k: int, first: int) -> float:
    val = curve["val"]
    onset = next(i for i, (s, _) in enumerate(val) if s >= curve["onset_step"])
    sm = fastscore.smoothed([v for _, v in val])
    j = min(max(onset + k, first - 1), len(val) - 1)
    return (sm[j] - sm[onset]) / max(abs(sm[onset]), 1e-12)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="dev,check,large-a,large-b")
    parser.add_argument("--k", default="1,2,3,4")
    parser.add_argument("--first", type=int, default=4,
                        help="the earliest point a verdict can come at (the detector's MIN_VAL)")
    args = parser.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    print("set       n    " + "  ".join(f"k={k}: median / p90" for k in ks))
    for name in args.sets.split(","):
        curves = [c for c in fastscore.load(name) if c["label"] == "overfit"]
        if not curves:
            print(f"{name:9} (absent)")
            continue
        cells = []
        for k in ks:
            ex = sorted(excess_at(c, k, args.first) for c in curves)
            cells.append(f"{statistics.median(ex):.3f} / {ex[int(0.9 * (len(ex) - 1))]:.3f}")
        print(f"{name:9} {len(curves):<4} " + "    ".join(cells))


if __name__ == "__main__":
    main()
