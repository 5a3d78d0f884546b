"""A fast stand-in for ../shared/overfit-curves/score.py while developing the detector.

It scores the same way (the first validation point with a finding is the alarm; recall, early,
false alarms, delay, excess at alarm with the labeller's smoothing), but replays each curve in
one pass with ``replay_overfitting`` (tests hold it equal to the prefix-by-prefix replay), so
all sets score in seconds. Report numbers from ``bench/overfit.py``, not from this.

Usage: python bench/fastscore.py [--sets dev,tune,check,libraries,recover,large-a,large-b,gbdt]
       [--list] [--module PATH (a copy of the detector module to score instead)]
       [--set NAME=VALUE ...]   (override a module constant of the detector, e.g. ALPHA=0.05)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import overfit as bench  # noqa: E402  (bench/overfit.py: the loaders)

from mlflow_tui.analysis import overfit as detector  # noqa: E402


def smoothed(values):
    k = 5 if len(values) >= 20 else 3
    h = k // 2
    pad = [values[0]] * h + list(values) + [values[-1]] * h
    return [sum(pad[i:i + k]) / k for i in range(len(values))]


def first_alarm(c):
    train = [tuple(p) for p in c["train"]]
    val = [tuple(p) for p in c["val"]]
    out = detector.replay_overfitting(train, val)
    # replay_overfitting drops non-finite values; the curves have none
    for j, f in enumerate(out):
        if f is not None:
            return j, f
    return None, None


def score(curves, rows=None):
    hits, early, missed, fa, clean, excess = [], 0, 0, 0, 0, []
    for c in curves:
        if c["label"] == "ambiguous":
            continue
        j, f = first_alarm(c)
        val = c["val"]
        if c["label"] == "overfit":
            onset = next(i for i, (s, _) in enumerate(val) if s >= c["onset_step"])
            if j is None:
                missed += 1
                kind, ex = "MISS", None
            elif j < onset:
                early += 1
                kind, ex = "EARLY", None
            else:
                hits.append(j - onset)
                sm = smoothed([v for _, v in val])
                ex = (sm[j] - sm[onset]) / max(abs(sm[onset]), 1e-12)
                excess.append(ex)
                kind = "hit"
            if rows is not None:
                rows.append((c["id"], c["label"], kind, j, onset, len(val), ex))
        else:
            if j is None:
                clean += 1
            else:
                fa += 1
            if rows is not None:
                rows.append((c["id"], c["label"], "FA" if j is not None else "ok", j, None,
                             len(val), None))
    n_over = len(hits) + early + missed
    n_other = clean + fa
    ex = sorted(excess)
    return dict(
        n=(n_over, n_other),
        recall=round(len(hits) / n_over, 3) if n_over else None,
        early=round(early / n_over, 3) if n_over else None,
        fa=round(fa / n_other, 3) if n_other else None,
        delay=statistics.median(hits) if hits else None,
        ex_med=round(statistics.median(ex), 3) if ex else None,
        ex_p90=round(ex[int(0.9 * (len(ex) - 1))], 3) if ex else None,
    )


def load(name):
    if name == "dev":
        return bench.load_curves(os.path.join(bench.SHARED, "dev"))
    if name == "libraries":
        return bench.library_curves(os.path.join(ROOT, "tests", "data", "libraries"))
    if os.path.isdir(name) or name.endswith(".jsonl.gz"):  # any curves in the dev set's format
        return bench.load_curves(name)
    packed = os.path.join(HERE, "curves", name + ".jsonl.gz")
    if os.path.exists(packed):  # large-a, large-b, gbdt
        return bench.load_curves(packed)
    return bench.load_curves(os.path.join(HERE, "curves", name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="dev,tune,libraries,recover")  # check: held out
    ap.add_argument("--list", action="store_true", help="print the curves missed/alarmed")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--module", help="score a copy of the detector module at this path instead")
    a = ap.parse_args()
    if a.module:
        import importlib.util

        global detector
        spec = importlib.util.spec_from_file_location("candidate", a.module)
        assert spec and spec.loader
        detector = importlib.util.module_from_spec(spec)
        sys.modules["candidate"] = detector
        spec.loader.exec_module(detector)
    for kv in a.set:
        k, v = kv.split("=")
        setattr(detector, k, type(getattr(detector, k))(v))
    for name in a.sets.split(","):
        curves = load(name)
        rows = [] if a.list else None
        r = score(curves, rows)
        print(f"{name:10s} n={r['n']} recall={r['recall']} early={r['early']} fa={r['fa']} "
              f"delay={r['delay']} ex_med={r['ex_med']} ex_p90={r['ex_p90']}")
        if rows:
            bad = [x for x in rows if x[2] in ("MISS", "EARLY", "FA")]
            for x in bad:
                print("   ", x)
            hi = sorted((x for x in rows if x[2] == "hit"), key=lambda x: -x[6])[:12]
            for x in hi:
                print("    hi-excess", x[0], f"alarm={x[3]} onset={x[4]} n={x[5]} ex={x[6]:.3f}")


if __name__ == "__main__":
    main()
