"""Offline labeller for loss curves, implementing the rule of /work/shared/overfit-curves/README.md.

Pure Python (no numpy), importable:

    from label import label_curve
    label, onset_step = label_curve(train, val)   # train, val: [(step, value), ...] sorted by step

Rule (with hindsight over the whole curve):
- Smooth val with score.py's `smoothed()` (centred moving average of 5 points, 3 below 20 points,
  edges padded with the end values).
- "Train loss (averaged)": for each validation point, the mean of the train points logged since the
  previous validation point (step in (previous val step, this val step]; the first window starts
  at the beginning), then smoothed with the same `smoothed()`. For curves whose train loss is logged
  once per validation point this is just the smoothed train loss.
- Let m be the index of the smoothed-val minimum (first one on ties), e its last index.
  val_up = sv[e] >= 1.10 * sv[m] and e - m >= 5 (at least 5 validation points after the minimum).
  - overfit:  val_up and T[e] <= 0.90 * T[m]; onset_step = val step at m.
  - diverge:  val_up and T[e] >= 1.05 * T[m] (train rose too: a blow-up).
  - healthy:  sv[e] <= 1.02 * sv[m].
  - ambiguous: anything else.

The 5% train-rise threshold for `diverge` and the "5 points after" requirement for diverge are not
spelled out in the README; they are what reproduces the dev labels (120/120, see README.md here):
c10011 (train +5.9%) is diverge while c10095 (train +4.2%) is ambiguous, and c10018 (val up 3
points after its minimum, train tripled) is ambiguous, not diverge.
"""

OVER_VAL = 1.10  # smoothed val ends >= 10% above its minimum
MIN_AFTER = 5  # ... at least this many validation points after the minimum
OVER_TRAIN = 0.90  # averaged train ended >= 10% below its value at the minimum
DIVERGE_TRAIN = 1.05  # averaged train rose >= 5%: a blow-up, not overfitting
HEALTHY_VAL = 1.02  # smoothed val ends within 2% of its minimum


def smoothed(values):
    """Identical to score.py's smoothed(): centred MA of 5 points (3 below 20), edges padded."""
    k = 5 if len(values) >= 20 else 3
    h = k // 2
    pad = [values[0]] * h + list(values) + [values[-1]] * h
    return [sum(pad[i : i + k]) / k for i in range(len(values))]


def train_at_val(train, val):
    """Mean of the train values logged in (previous val step, this val step] for each val point.

    If no train point falls in a window, the last train value logged so far is used (or the first
    train value if none yet)."""
    out, ti, prev_last = [], 0, None
    for step, _ in val:
        acc, n = 0.0, 0
        while ti < len(train) and train[ti][0] <= step:
            acc += train[ti][1]
            n += 1
            prev_last = train[ti][1]
            ti += 1
        if n:
            out.append(acc / n)
        else:
            out.append(prev_last if prev_last is not None else train[0][1])
    return out


def label_curve(train, val):
    """Return (label, onset_step) with label in overfit/healthy/diverge/ambiguous.

    onset_step is the step of the smoothed-val minimum for overfit curves, else None."""
    train = [(s, float(v)) for s, v in train]
    val = [(s, float(v)) for s, v in val]
    if not val or not train:
        return "ambiguous", None
    sv = smoothed([v for _, v in val])
    n = len(sv)
    m = min(range(n), key=sv.__getitem__)
    tr = smoothed(train_at_val(train, val))
    vmin, vend = sv[m], sv[-1]
    if vend >= OVER_VAL * vmin and n - 1 - m >= MIN_AFTER:
        if tr[-1] <= OVER_TRAIN * tr[m]:
            return "overfit", val[m][0]
        if tr[-1] >= DIVERGE_TRAIN * tr[m]:
            return "diverge", None
        return "ambiguous", None
    if vend <= HEALTHY_VAL * vmin:
        return "healthy", None
    return "ambiguous", None


def check_dir(path):
    """Compare label_curve with the stored labels of every curve in a directory."""
    import glob
    import json
    import os

    ok, bad = 0, []
    files = sorted(glob.glob(os.path.join(path, "*.json")))
    for f in files:
        c = json.load(open(f))
        lab, onset = label_curve(c["train"], c["val"])
        if (lab, onset) == (c["label"], c["onset_step"]):
            ok += 1
        else:
            bad.append((c["id"], c["label"], c["onset_step"], lab, onset))
    return ok, len(files), bad


if __name__ == "__main__":
    import sys

    ok, n, bad = check_dir(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/overfit-curves/dev")
    print(f"{ok}/{n} agree (label and onset_step)")
    for b in bad:
        print("  mismatch", b)
