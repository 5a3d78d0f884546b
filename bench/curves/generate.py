"""Generate real, labelled loss curves for developing the overfitting detector.

Every curve is a real training run (scikit-learn MLPs trained with partial_fit, small PyTorch
MLPs/CNNs) on data sets shipped with scikit-learn (digits, wine, breast cancer, diabetes, and
make_friedman1); nothing is drawn by hand, nothing is downloaded. Each run is labelled with
`label.py` (the rule of /work/shared/overfit-curves/README.md, 120/120 on its dev set) and written
as one JSON file, in the dev set's format:
    {"id", "label", "onset_step", "config",
     "train": [[step, value], ...], "val": [[step, value], ...]}
Values are rounded to 6 significant digits before labelling.

Run it in a scratch venv outside the repo (torch must be the CPU wheel):
    python3 -m venv /work/venvs/curves
    /work/venvs/curves/bin/pip install torch==2.13.0      # CPU wheel; unpinned pulls CUDA builds
    /work/venvs/curves/bin/pip install scikit-learn numpy
    cd /work/main/bench/curves
    /work/venvs/curves/bin/python generate.py --family devlike --set tune --seed-start 200000 \
        --count 150 --id-start 1
Options:
    --family   devlike | sgdr | step | cyclic | warmup | noisy | adamhigh | latewd | cnn | sksched
               | gbdt
    --set      tune | check | recover | large  (output folder bench/curves/<set>/, ids t0001... /
                                   k0001... / r0001... / f0001...)
    --pack large|gbdt              pack bench/curves/large/*.json into large-a.jsonl.gz
                                   (f0001-f0800) and large-b.jsonl.gz (f0801-f1600);
                                   bench/curves/gbdt/*.json into gbdt.jsonl.gz
    --seed-start, --count          seeds seed-start .. seed-start+count-1; the seed fixes the
                                   configuration (drawn from the family's grid) and the training
    --id-start                     number of the first id (ids are <t|k|r><4 digits>)
    --out                          output root (default: this file's folder)
    --list                         print the configurations only, train nothing
Deterministic: a seed always gives the same configuration and the same curve (one torch thread,
seeded numpy/torch/sklearn). The seed ranges and id ranges used for the stored curves are in
PLAN below (`python generate.py --plan` prints the commands); tune and check use disjoint seeds.

Families
- devlike: the dev set's generation process, same knob grid, new seeds and splits. Kinds cycle
  with the seed like the dev ids: seed % 6 = 0 digits, 1 wine, 2 cancer (sklearn MLPClassifier,
  cadence epoch or batch), 3 diabetes, 4 friedman (sklearn MLPRegressor, per epoch),
  5 torch MLP on digits (train per batch, val every 1 or 2 epochs).
- sgdr, step, cyclic, warmup, noisy, adamhigh, latewd: torch MLPs on digits whose validation
  loss may rise for a while and come back (SGDR restarts, step decay after a too-high lr,
  triangular cyclic lr, warm-up overshoot, tiny val sets / small batches / heavy dropout, Adam at
  a high lr with or without plateau decay, weight decay switched on late). The same grids hold
  small noisy training sets and wide nets without decay, so the families also overfit.
- cnn: a small CNN on the 8x8 digits with one of sgdr / step / cyclic / warmup.
- gbdt: XGBoost (`xgb.train` with `evals`) or LightGBM (`lgb.train` with `valid_sets`), train
  and validation loss per boosting round as their autologging logs them (log loss; the squared
  error for diabetes/Friedman), on the same data; depth, learning rate, rounds, L2, subsampling,
  min child weight and label/target noise drawn per seed.
- sksched: scikit-learn MLPClassifier/MLPRegressor with a schedule applied between partial_fit
  calls (step decay, triangular cyclic lr, or L2 alpha switched on late).

Preprocessing and logging (chosen to match the dev curves' levels; see README.md):
- Split: train_test_split(train_size=ntrain, random_state=seed); validation = all the rest
  (except the `noisy` family's tiny validation sets). Inputs standardised on the train split
  (the schedule families' torch runs use pixels/16 instead, `inputs` in their config: standardised
  digits have a few huge features and SGD with momentum at lr >= 0.1 blows up on them);
  regression targets standardised with train mean/std. Label noise flips a fraction of the
  train labels to another class (validation labels stay clean).
- sklearn classifier, cadence epoch: one partial_fit over the train split per epoch (internal
  minibatches of `batch`), train = log-loss on the train split after the epoch.
  cadence batch: our own shuffled minibatches of `batch`, one partial_fit per minibatch,
  train = that call's `loss_` (sklearn's minibatch loss incl. the L2 term), step = minibatch
  count; val logged at the end of each epoch.
- sklearn regressor: one partial_fit per epoch, train = `loss_` (sklearn's half squared error +
  L2), val = mean squared error on the validation split (standardised target).
- torch: batch 32 unless the family says otherwise, shuffled, last batch kept; train = the
  minibatch cross-entropy before the step (train mode, dropout on); val = cross-entropy on the
  validation split in eval mode, every `val_every_epochs` epochs, step = minibatch count. SGD has
  momentum 0.9; weight decay is the optimiser's (coupled for SGD/Adam, decoupled for AdamW).
"""

import argparse
import json
import math
import os
import random
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from label import label_curve  # noqa: E402

# ----------------------------------------------------------------------------------------------
# The plan used for the stored curves (tune: even hundreds of thousands, check: odd).
PLAN = [
    # family, set, seed_start, count, id_start
    ("devlike", "tune", 200000, 150, 1),
    ("devlike", "check", 300000, 150, 1),
    ("sgdr", "tune", 210000, 8, 151),
    ("sgdr", "check", 310000, 8, 151),
    ("step", "tune", 220000, 8, 159),
    ("step", "check", 320000, 8, 159),
    ("cyclic", "tune", 230000, 8, 167),
    ("cyclic", "check", 330000, 8, 167),
    ("warmup", "tune", 240000, 8, 175),
    ("warmup", "check", 340000, 8, 175),
    ("noisy", "tune", 250000, 8, 183),
    ("noisy", "check", 350000, 8, 183),
    ("adamhigh", "tune", 260000, 8, 191),
    ("adamhigh", "check", 360000, 8, 191),
    ("latewd", "tune", 270000, 8, 199),
    ("latewd", "check", 370000, 8, 199),
    ("cnn", "tune", 280000, 8, 207),
    ("cnn", "check", 380000, 8, 207),
    ("sksched", "tune", 290000, 8, 215),
    ("sksched", "check", 390000, 8, 215),
    # recover: a third development set of the schedule families only (ids r0001...), seeds
    # 400000-499999, made to count false alarms on healthy curves that rise and come back.
    ("sgdr", "recover", 410000, 16, 1),
    ("step", "recover", 420000, 16, 17),
    ("cyclic", "recover", 430000, 8, 33),
    ("warmup", "recover", 440000, 8, 41),
    ("noisy", "recover", 450000, 8, 49),
    ("adamhigh", "recover", 460000, 8, 57),
    ("latewd", "recover", 470000, 8, 65),
    ("sksched", "recover", 480000, 8, 73),
    # large: 1600 dev-like runs (ids f0001...), seeds 500000-501599, packed into
    # large-a.jsonl.gz (f0001-f0800, used while developing) and large-b.jsonl.gz (f0801-f1600,
    # held out) by `python generate.py --pack large`.
    ("devlike", "large", 500000, 1600, 1),
    # gbdt: 600 XGBoost / LightGBM runs (ids g0001...), seeds 600000-600599, packed into
    # gbdt.jsonl.gz by `python generate.py --pack gbdt`; needs xgboost and lightgbm too.
    ("gbdt", "gbdt", 600000, 600, 1),
]

# ----------------------------------------------------------------------------------------------
# Knob grids of the dev set (read off the `config` of its 120 curves).
CLF_FRAC = [0.08, 0.12, 0.2, 0.35, 0.6]
CLF_NOISE = [0.0, 0.1, 0.25]
CLF_HIDDEN = [8, 32, 128, 512]
CLF_ALPHA = [0.0, 0.0001, 0.01, 1.0]
CLF_LR = [0.0003, 0.001, 0.003, 0.01, 0.05]
CLF_EPOCHS = [40, 80, 150]
CLF_BATCH = [16, 64, 200]
REG_FRAC = {"diabetes": [0.1, 0.2, 0.5], "friedman": [0.1, 0.2, 0.5]}
REG_HIDDEN = [16, 128, 512]
REG_ALPHA = [0.0, 0.001, 0.1]
REG_LR = [0.001, 0.003, 0.01]
REG_EPOCHS = [60, 120, 200]
FRIEDMAN_N = 600
TORCH_FRAC = [0.1, 0.25, 0.6]
TORCH_NOISE = [0.0, 0.2, 0.4]
TORCH_HIDDEN = [64, 256, 1024]
TORCH_DROPOUT = [0.0, 0.3]
TORCH_WD = [0.0, 0.0001, 0.01]
TORCH_LR = [0.0001, 0.001, 0.01, 0.03]
TORCH_OPT = ["sgd", "adam"]
TORCH_EPOCHS = [50, 100]
TORCH_VAL_EVERY = [1, 2]
TORCH_BATCH = 32
N_CLASSES = {"digits": 10, "wine": 3, "cancer": 2}
DATA_N = {"digits": 1797, "wine": 178, "cancer": 569, "diabetes": 442, "friedman": FRIEDMAN_N}


def _ntrain(data, frac):
    return int(frac * DATA_N[data])


# ----------------------------------------------------------------------------------------------
# Configuration samplers: seed -> config (pure Python RNG, independent of numpy/torch versions).


def sample_devlike(seed):
    r = random.Random(f"devlike:{seed}")
    slot = seed % 6
    if slot <= 2:
        data = ["digits", "wine", "cancer"][slot]
        return dict(
            kind="sklearn-mlp-classifier",
            data=data,
            ntrain=_ntrain(data, r.choice(CLF_FRAC)),
            label_noise=r.choice(CLF_NOISE),
            hidden=r.choice(CLF_HIDDEN),
            alpha=r.choice(CLF_ALPHA),
            lr=r.choice(CLF_LR),
            epochs=r.choice(CLF_EPOCHS),
            batch=r.choice(CLF_BATCH),
            cadence=r.choice(["epoch", "batch"]),
            seed=seed,
            family="devlike",
        )
    if slot <= 4:
        data = ["diabetes", "friedman"][slot - 3]
        return dict(
            kind="sklearn-mlp-regressor",
            data=data,
            ntrain=_ntrain(data, r.choice(REG_FRAC[data])),
            hidden=r.choice(REG_HIDDEN),
            alpha=r.choice(REG_ALPHA),
            lr=r.choice(REG_LR),
            epochs=r.choice(REG_EPOCHS),
            seed=seed,
            family="devlike",
        )
    ve = r.choice(TORCH_VAL_EVERY)
    return dict(
        kind="torch-mlp",
        data="digits",
        ntrain=_ntrain("digits", r.choice(TORCH_FRAC)),
        label_noise=r.choice(TORCH_NOISE),
        hidden=r.choice(TORCH_HIDDEN),
        dropout=r.choice(TORCH_DROPOUT),
        wd=r.choice(TORCH_WD),
        lr=r.choice(TORCH_LR),
        opt=r.choice(TORCH_OPT),
        epochs=r.choice(TORCH_EPOCHS),
        val_every_epochs=ve,
        cadence="train per batch, val per epoch",
        seed=seed,
        family="devlike",
    )


def _torch_base(r, family, **over):
    """Common knobs of the schedule families (torch MLP on digits).

    A regime is drawn first: "regularised" runs (more data, dropout, weight decay) mostly settle,
    "prone" runs (little data, label noise, no dropout or decay) mostly overfit, so that every
    schedule family holds both."""
    regime = "regularised" if r.random() < 0.6 else "prone"
    if regime == "regularised":
        c = dict(
            ntrain=_ntrain("digits", r.choice([0.25, 0.6])),
            label_noise=r.choice([0.0, 0.0, 0.2]),
            hidden=r.choice([64, 256, 1024]),
            dropout=r.choice([0.3, 0.5]),
            wd=r.choice([0.0005, 0.001, 0.005]),
        )
    else:
        c = dict(
            ntrain=_ntrain("digits", r.choice([0.1, 0.25])),
            label_noise=r.choice([0.0, 0.2, 0.4]),
            hidden=r.choice([256, 1024]),
            dropout=0.0,
            wd=0.0,
        )
    c = dict(
        kind="torch-mlp",
        data="digits",
        inputs="pixels/16",
        **c,
        opt="sgd",
        batch=TORCH_BATCH,
        val_every_epochs=r.choice([1, 1, 2]),
        cadence="train per batch, val per epoch",
        family=family,
        regime=regime,
    )
    c.update(over)
    return c


def _sgdr_sched(r, lrs):
    t0 = r.choice([5, 10, 20])
    tmult = r.choice([1, 2])
    ncyc = (
        (r.choice([3, 4, 6]) if t0 <= 10 else r.choice([2, 3, 4]))
        if tmult == 1
        else r.choice([2, 3])
    )
    if tmult == 2 and t0 == 20:
        ncyc = 2
    lengths = [t0 * tmult**i for i in range(ncyc)]
    epochs = sum(lengths)
    if r.random() < 0.25:  # stop mid-cycle sometimes, as real runs do
        epochs += (t0 * tmult**ncyc) // 2
    return dict(
        type="sgdr", lr_max=r.choice(lrs), T_0=t0, T_mult=tmult, eta_min_frac=r.choice([0.0, 0.01])
    ), epochs


def _step_sched(r, lrs):
    epochs = r.choice([60, 90, 120])
    ms = [epochs // 3, 2 * epochs // 3] if r.random() < 0.7 else [epochs // 2]
    return dict(type="step", lr=r.choice(lrs), milestones=ms, gamma=r.choice([0.1, 0.2])), epochs


def _cyclic_sched(r, base, peaks):
    half = r.choice([3, 5, 10])
    ncyc = r.choice([3, 4, 5]) if half <= 5 else r.choice([2, 3])
    epochs = 2 * half * ncyc
    if r.random() < 0.25:
        epochs += half
    return dict(
        type="cyclic",
        mode=r.choice(["triangular", "triangular2"]),
        base_lr=base,
        max_lr=r.choice(peaks),
        half_cycle_epochs=half,
    ), epochs


def _warmup_sched(r, peaks):
    epochs = r.choice([60, 80, 100])
    return dict(
        type="warmup-cosine",
        peak_lr=r.choice(peaks),
        warmup_epochs=r.choice([5, 10, 20]),
        final_frac=r.choice([0.0, 0.01]),
    ), epochs


def sample_sgdr(seed):
    r = random.Random(f"sgdr:{seed}")
    sched, epochs = _sgdr_sched(r, [0.03, 0.1, 0.2])
    return _torch_base(r, "sgdr", schedule=sched, epochs=epochs, seed=seed)


def sample_step(seed):
    r = random.Random(f"step:{seed}")
    opt = r.choice(["sgd", "sgd", "adam"])
    sched, epochs = _step_sched(r, [0.1, 0.2, 0.3] if opt == "sgd" else [0.01, 0.03])
    return _torch_base(r, "step", opt=opt, schedule=sched, epochs=epochs, seed=seed)


def sample_cyclic(seed):
    r = random.Random(f"cyclic:{seed}")
    sched, epochs = _cyclic_sched(r, 0.001, [0.05, 0.1, 0.2])
    return _torch_base(r, "cyclic", schedule=sched, epochs=epochs, seed=seed)


def sample_warmup(seed):
    r = random.Random(f"warmup:{seed}")
    opt = r.choice(["sgd", "adam"])
    sched, epochs = _warmup_sched(r, [0.1, 0.2, 0.3] if opt == "sgd" else [0.01, 0.03, 0.05])
    return _torch_base(r, "warmup", opt=opt, schedule=sched, epochs=epochs, seed=seed)


def sample_noisy(seed):
    r = random.Random(f"noisy:{seed}")
    opt = r.choice(["sgd", "adam"])
    batch = r.choice([4, 8, 32])
    ntrain = _ntrain("digits", r.choice([0.1, 0.25] if batch < 32 else TORCH_FRAC))
    epochs = r.choice([40, 60]) if batch < 32 or ntrain > 500 else r.choice([60, 100])
    return _torch_base(
        r,
        "noisy",
        opt=opt,
        ntrain=ntrain,
        batch=batch,
        nval=r.choice([30, 60, 120]),
        dropout=r.choice([0.0, 0.3, 0.5]),
        val_every_epochs=1,
        lr=r.choice([0.01, 0.03]) if opt == "sgd" else r.choice([0.001, 0.003]),
        schedule=dict(type="constant"),
        epochs=epochs,
        seed=seed,
    )


def sample_adamhigh(seed):
    r = random.Random(f"adamhigh:{seed}")
    plateau = r.random() < 0.5
    sched = (
        dict(type="plateau", factor=r.choice([0.1, 0.3]), patience=r.choice([3, 5, 10]))
        if plateau
        else dict(type="constant")
    )
    return _torch_base(
        r,
        "adamhigh",
        opt="adam",
        lr=r.choice([0.01, 0.03, 0.05]),
        schedule=sched,
        epochs=r.choice([50, 80, 100]),
        seed=seed,
    )


def sample_latewd(seed):
    r = random.Random(f"latewd:{seed}")
    opt = r.choice(["adamw", "sgd"])
    epochs = r.choice([60, 90, 120])
    on = r.choice([epochs // 4, epochs // 3, epochs // 2])
    wd = r.choice([0.05, 0.2, 0.5]) if opt == "adamw" else r.choice([0.003, 0.01, 0.03])
    return _torch_base(
        r,
        "latewd",
        opt=opt,
        wd=0.0,
        lr=r.choice([0.001, 0.003]) if opt == "adamw" else r.choice([0.01, 0.05]),
        schedule=dict(type="constant", wd_on_epoch=on, wd_late=wd),
        epochs=epochs,
        seed=seed,
    )


def sample_cnn(seed):
    r = random.Random(f"cnn:{seed}")
    which = r.choice(["sgdr", "step", "cyclic", "warmup"])
    if which == "sgdr":
        sched, epochs = _sgdr_sched(r, [0.02, 0.05])
    elif which == "step":
        sched, epochs = _step_sched(r, [0.05, 0.1])
    elif which == "cyclic":
        sched, epochs = _cyclic_sched(r, 0.001, [0.02, 0.05, 0.1])
    else:
        sched, epochs = _warmup_sched(r, [0.05, 0.1])
    if epochs > 60:  # keep the CNN runs short (CPU budget)
        epochs = 60
        if which == "step":
            sched["milestones"] = [20, 40] if len(sched["milestones"]) == 2 else [30]
    c = _torch_base(
        r,
        "cnn",
        kind="torch-cnn",
        channels=r.choice([8, 16]),
        schedule=sched,
        epochs=epochs,
        seed=seed,
    )
    c["hidden"] = r.choice([32, 128])
    return c


def sample_sksched(seed):
    r = random.Random(f"sksched:{seed}")
    which = r.choice(["step", "cyclic", "late-alpha"])
    reg = r.random() < 0.3
    if reg:
        data = r.choice(["diabetes", "friedman"])
        c = dict(
            kind="sklearn-mlp-regressor",
            data=data,
            ntrain=_ntrain(data, r.choice(REG_FRAC[data])),
            hidden=r.choice(REG_HIDDEN),
            alpha=r.choice([0.0, 0.001]),
            epochs=r.choice([120, 200]),
        )
        lrs = [0.01, 0.03, 0.05]
    else:
        data = r.choice(["digits", "wine", "cancer"])
        late = which == "late-alpha"  # these must be free to overfit before alpha comes on
        c = dict(
            kind="sklearn-mlp-classifier",
            data=data,
            ntrain=_ntrain(data, r.choice([0.08, 0.12, 0.2] if late else CLF_FRAC)),
            label_noise=r.choice([0.1, 0.25] if late else CLF_NOISE),
            hidden=r.choice([128, 512] if late else CLF_HIDDEN),
            alpha=0.0 if late else r.choice(CLF_ALPHA),
            epochs=r.choice([80, 150]),
            batch=r.choice(CLF_BATCH),
            cadence=r.choice(["epoch", "batch"]),
        )
        lrs = [0.03, 0.05, 0.1]
    E = c["epochs"]
    if which == "step":
        c["schedule"] = dict(
            type="step", lr=r.choice(lrs), milestones=[E // 3, 2 * E // 3], gamma=0.1
        )
    elif which == "cyclic":
        half = r.choice([5, 10, 20])
        c["schedule"] = dict(
            type="cyclic",
            mode=r.choice(["triangular", "triangular2"]),
            base_lr=0.0003,
            max_lr=r.choice(lrs),
            half_cycle_epochs=half,
        )
    else:
        c["schedule"] = dict(
            type="constant",
            alpha_on_epoch=r.choice([E // 4, E // 3, E // 2]),
            alpha_late=r.choice([0.1, 1.0, 3.0]) if not reg else r.choice([0.1, 1.0]),
        )
        c["lr"] = r.choice([0.003, 0.01])
    c.update(seed=seed, family="sksched")
    return c


GBDT_DATA = ["cancer", "digits", "wine", "diabetes", "friedman"]


def sample_gbdt(seed):
    """XGBoost or LightGBM, trained the way their autologging sees it: one train and one
    validation evaluation per boosting round (`evals` / `valid_sets`), step = the round."""
    r = random.Random(seed)
    data = GBDT_DATA[seed % len(GBDT_DATA)]
    reg = data in ("diabetes", "friedman")
    c = dict(
        kind="xgboost" if (seed // len(GBDT_DATA)) % 2 == 0 else "lightgbm",
        data=data,
        ntrain=_ntrain(data, r.choice(REG_FRAC[data] if reg else CLF_FRAC)),
        label_noise=0.0 if reg else r.choice(CLF_NOISE),
        target_noise=r.choice([0.0, 0.5, 1.0]) if reg else 0.0,
        depth=r.choice([2, 4, 6, 10]),
        lr=r.choice([0.01, 0.03, 0.1, 0.3]),
        rounds=r.choice([100, 200, 400]),
        l2=r.choice([0.0, 1.0, 10.0]),
        subsample=r.choice([1.0, 0.7]),
        min_child=r.choice([1, 5, 20]),
    )
    c.update(seed=seed, family="gbdt")
    return c


SAMPLERS = dict(
    devlike=sample_devlike,
    gbdt=sample_gbdt,
    sgdr=sample_sgdr,
    step=sample_step,
    cyclic=sample_cyclic,
    warmup=sample_warmup,
    noisy=sample_noisy,
    adamhigh=sample_adamhigh,
    latewd=sample_latewd,
    cnn=sample_cnn,
    sksched=sample_sksched,
)


# ----------------------------------------------------------------------------------------------
# Learning-rate schedules as functions of the fractional epoch t (0 <= t <= epochs).


def lr_at(s, t, base_lr=None):
    typ = s["type"]
    if typ in ("constant", "plateau"):
        return base_lr
    if typ == "step":
        k = sum(1 for m in s["milestones"] if t >= m)
        return s["lr"] * s["gamma"] ** k
    if typ == "sgdr":
        T, start = s["T_0"], 0.0
        while t >= start + T:
            start += T
            T *= s["T_mult"]
        lo = s["lr_max"] * s["eta_min_frac"]
        return lo + 0.5 * (s["lr_max"] - lo) * (1 + math.cos(math.pi * (t - start) / T))
    if typ == "cyclic":
        h = s["half_cycle_epochs"]
        cyc = int(t // (2 * h))
        x = abs(t / h - 2 * cyc - 1)
        amp = (s["max_lr"] - s["base_lr"]) * (0.5**cyc if s["mode"] == "triangular2" else 1.0)
        return s["base_lr"] + amp * max(0.0, 1 - x)
    if typ == "warmup-cosine":
        w, E = s["warmup_epochs"], s["_epochs"]
        if t < w:
            return s["peak_lr"] * t / w
        lo = s["peak_lr"] * s["final_frac"]
        return lo + 0.5 * (s["peak_lr"] - lo) * (1 + math.cos(math.pi * (t - w) / max(E - w, 1e-9)))
    raise ValueError(typ)


def sig6(v):
    return float(f"{float(v):.6g}")


# ----------------------------------------------------------------------------------------------
# Data


def load(data, seed):
    from sklearn import datasets

    if data == "digits":
        return datasets.load_digits(return_X_y=True)
    if data == "wine":
        return datasets.load_wine(return_X_y=True)
    if data == "cancer":
        return datasets.load_breast_cancer(return_X_y=True)
    if data == "diabetes":
        return datasets.load_diabetes(return_X_y=True)
    if data == "friedman":
        X, y = datasets.make_friedman1(n_samples=FRIEDMAN_N, noise=1.0, random_state=seed)
        return X, y
    raise ValueError(data)


def split(cfg):
    import numpy as np
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    seed = cfg["seed"]
    X, y = load(cfg["data"], seed)
    Xtr, Xva, ytr, yva = train_test_split(
        X, y, train_size=cfg["ntrain"], random_state=seed % (2**31)
    )
    if cfg.get("nval"):
        Xva, yva = Xva[: cfg["nval"]], yva[: cfg["nval"]]
    if cfg.get("inputs") == "pixels/16":  # digits pixels are 0..16
        Xtr, Xva = Xtr / 16.0, Xva / 16.0
    else:
        sc = StandardScaler().fit(Xtr)
        Xtr, Xva = sc.transform(Xtr), sc.transform(Xva)
    if cfg["kind"] == "sklearn-mlp-regressor":
        mu, sd = ytr.mean(), ytr.std()
        ytr, yva = (ytr - mu) / sd, (yva - mu) / sd
    else:
        rng = np.random.RandomState(seed % (2**31) + 1)
        classes = np.unique(y)
        k = len(classes)
        ytr = ytr.copy()
        flip = rng.rand(len(ytr)) < cfg.get("label_noise", 0.0)
        ytr[flip] = (ytr[flip] + rng.randint(1, k, flip.sum())) % k
    return Xtr, ytr, Xva, yva


# ----------------------------------------------------------------------------------------------
# scikit-learn runs


def run_sklearn(cfg):
    import numpy as np
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    warnings.filterwarnings("ignore")
    Xtr, ytr, Xva, yva = split(cfg)
    seed = cfg["seed"] % (2**31)
    rng = np.random.RandomState(seed + 2)
    sched = cfg.get("schedule")
    lr0 = cfg.get("lr") if cfg.get("lr") is not None else lr_at(sched, 0.0)
    reg = cfg["kind"] == "sklearn-mlp-regressor"
    E, n = cfg["epochs"], len(Xtr)
    train, val = [], []

    def set_lr(model, t):
        if sched is None or not hasattr(model, "_optimizer"):
            return
        lr = lr_at(sched, t, lr0)
        model._optimizer.learning_rate_init = lr  # Adam reads this at every update

    def set_alpha(model, epoch):
        if sched and "alpha_on_epoch" in sched:
            model.alpha = sched["alpha_late"] if epoch >= sched["alpha_on_epoch"] else cfg["alpha"]

    if reg:
        m = MLPRegressor(
            hidden_layer_sizes=(cfg["hidden"],),
            alpha=cfg["alpha"],
            learning_rate_init=lr0,
            random_state=seed,
        )
        for e in range(E):
            set_lr(m, e)
            set_alpha(m, e)
            m.partial_fit(Xtr, ytr)
            train.append((e + 1, float(m.loss_)))
            val.append((e + 1, float(np.mean((m.predict(Xva) - yva) ** 2))))
        return train, val

    classes = np.arange(N_CLASSES[cfg["data"]])
    m = MLPClassifier(
        hidden_layer_sizes=(cfg["hidden"],),
        alpha=cfg["alpha"],
        learning_rate_init=lr0,
        batch_size=cfg["batch"],
        random_state=seed,
    )
    B = -(-n // cfg["batch"])
    step = 0
    for e in range(E):
        set_alpha(m, e)
        if cfg["cadence"] == "epoch":
            set_lr(m, e)
            m.partial_fit(Xtr, ytr, classes=classes)
            step += 1
            train.append((step, float(log_loss(ytr, m.predict_proba(Xtr), labels=classes))))
        else:
            perm = rng.permutation(n)
            for b in range(B):
                set_lr(m, e + b / B)
                idx = perm[b * cfg["batch"] : (b + 1) * cfg["batch"]]
                m.partial_fit(Xtr[idx], ytr[idx], classes=classes)
                step += 1
                train.append((step, float(m.loss_)))
        val.append((step, float(log_loss(yva, m.predict_proba(Xva), labels=classes))))
    return train, val


# ----------------------------------------------------------------------------------------------
# torch runs


def run_torch(cfg):
    import torch

    torch.set_num_threads(1)
    Xtr, ytr, Xva, yva = split(cfg)
    seed = cfg["seed"] % (2**31)
    torch.manual_seed(seed)
    H, p = cfg["hidden"], cfg["dropout"]
    nn = torch.nn
    if cfg["kind"] == "torch-cnn":
        C = cfg["channels"]
        net = nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, C, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(C, 2 * C, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(p),
            nn.Linear(2 * C * 16, H),
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(H, 10),
        )
    else:
        net = nn.Sequential(nn.Linear(Xtr.shape[1], H), nn.ReLU(), nn.Dropout(p), nn.Linear(H, 10))
    sched = cfg.get("schedule") or dict(type="constant")
    if sched["type"] == "warmup-cosine":
        sched = dict(sched, _epochs=cfg["epochs"])
    base = cfg.get("lr")
    lr0 = lr_at(sched, 0.0, base)
    opt_name = cfg["opt"]
    if opt_name == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=lr0, momentum=0.9, weight_decay=cfg["wd"])
    elif opt_name == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=lr0, weight_decay=cfg["wd"])
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=lr0, weight_decay=cfg["wd"])
    Xt = torch.tensor(Xtr, dtype=torch.float32)
    yt = torch.tensor(ytr, dtype=torch.long)
    Xv = torch.tensor(Xva, dtype=torch.float32)
    yv = torch.tensor(yva, dtype=torch.long)
    g = torch.Generator().manual_seed(seed)
    n, bs = len(Xt), cfg.get("batch", TORCH_BATCH)
    B = -(-n // bs)
    lossf = nn.functional.cross_entropy
    train, val = [], []
    step = 0
    plateau_lr, best, bad = base, float("inf"), 0
    for e in range(cfg["epochs"]):
        if "wd_on_epoch" in sched:
            for grp in opt.param_groups:
                grp["weight_decay"] = sched["wd_late"] if e >= sched["wd_on_epoch"] else cfg["wd"]
        net.train()
        perm = torch.randperm(n, generator=g)
        for b in range(B):
            lr = plateau_lr if sched["type"] == "plateau" else lr_at(sched, e + b / B, base)
            for grp in opt.param_groups:
                grp["lr"] = lr
            idx = perm[b * bs : (b + 1) * bs]
            opt.zero_grad()
            loss = lossf(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            step += 1
            train.append((step, loss.item()))
        if (e + 1) % cfg["val_every_epochs"] == 0:
            net.eval()
            with torch.no_grad():
                v = lossf(net(Xv), yv).item()
            val.append((step, v))
            if sched["type"] == "plateau":  # ReduceLROnPlateau on the validation loss
                if v < best * (1 - 1e-4):
                    best, bad = v, 0
                else:
                    bad += 1
                    if bad > sched["patience"]:
                        plateau_lr, bad = plateau_lr * sched["factor"], 0
    return train, val


# ----------------------------------------------------------------------------------------------


# (objective, eval metric) of each library for regression, binary and multi-class data.
GBDT_OBJECTIVES = {
    "xgboost": {"reg": ("reg:squarederror", "rmse"), "binary": ("binary:logistic", "logloss"),
                "multi": ("multi:softprob", "mlogloss")},
    "lightgbm": {"reg": ("regression", "l2"), "binary": ("binary", "binary_logloss"),
                 "multi": ("multiclass", "multi_logloss")},
}


def run_gbdt(cfg):
    """Per-round train and validation loss of XGBoost / LightGBM (log loss, or the squared
    error for regression), as their MLflow autologging logs them (0-based round as step)."""
    import numpy as np

    warnings.filterwarnings("ignore")
    reg = cfg["data"] in ("diabetes", "friedman")
    Xtr, ytr, Xva, yva = split(dict(cfg, kind="sklearn-mlp-regressor" if reg
                                    else "sklearn-mlp-classifier"))
    seed = cfg["seed"] % (2**31)
    if reg and cfg["target_noise"]:
        ytr = ytr + np.random.RandomState(seed + 3).normal(0.0, cfg["target_noise"], len(ytr))
    k = N_CLASSES.get(cfg["data"], 0)
    task = "reg" if reg else "binary" if k == 2 else "multi"
    objective, metric = GBDT_OBJECTIVES[cfg["kind"]][task]
    res = {}
    if cfg["kind"] == "xgboost":
        import xgboost as xgb

        params = dict(max_depth=cfg["depth"], eta=cfg["lr"], reg_lambda=cfg["l2"],
                      subsample=cfg["subsample"], min_child_weight=cfg["min_child"],
                      nthread=1, seed=seed, objective=objective, eval_metric=metric)
        if task == "multi":
            params["num_class"] = k
        xgb.train(params, xgb.DMatrix(Xtr, label=ytr), cfg["rounds"],
                  evals=[(xgb.DMatrix(Xtr, label=ytr), "train"),
                         (xgb.DMatrix(Xva, label=yva), "valid")],
                  evals_result=res, verbose_eval=False)
    else:
        import lightgbm as lgb

        params = dict(max_depth=cfg["depth"], num_leaves=min(2 ** cfg["depth"], 255),
                      learning_rate=cfg["lr"], lambda_l2=cfg["l2"],
                      bagging_fraction=cfg["subsample"], bagging_freq=1 if cfg["subsample"] < 1
                      else 0, min_data_in_leaf=cfg["min_child"], num_threads=1, seed=seed,
                      deterministic=True, verbose=-1, objective=objective, metric=metric)
        if task == "multi":
            params["num_class"] = k
        dtr = lgb.Dataset(Xtr, label=ytr)
        lgb.train(params, dtr, cfg["rounds"], valid_sets=[dtr, lgb.Dataset(Xva, label=yva,
                                                                           reference=dtr)],
                  valid_names=["train", "valid"], callbacks=[lgb.record_evaluation(res)])
    return list(enumerate(res["train"][metric])), list(enumerate(res["valid"][metric]))


def make_curve(cfg, cid):
    run = (run_torch if cfg["kind"].startswith("torch") else run_gbdt
           if cfg["kind"] in ("xgboost", "lightgbm") else run_sklearn)
    train, val = run(cfg)
    train = [[int(s), sig6(v)] for s, v in train]
    val = [[int(s), sig6(v)] for s, v in val]
    if not all(math.isfinite(v) for _, v in train + val):
        return None
    lab, onset = label_curve(train, val)
    return {"id": cid, "label": lab, "onset_step": onset, "config": cfg, "train": train, "val": val}


def pack(folder):
    """A set as gzipped JSON lines beside its folder: large in two halves (13 MB of JSON in
    4.8), gbdt in one file."""
    import glob
    import gzip

    files = sorted(glob.glob(os.path.join(folder, "*.json")))
    name = os.path.basename(folder)
    halves = ((f"{name}-a", lambda n: n <= 800), (f"{name}-b", lambda n: n > 800)) if (
        name == "large") else ((name, lambda n: True),)
    for stem, keep in halves:
        out = os.path.join(os.path.dirname(folder), f"{stem}.jsonl.gz")
        with gzip.open(out, "wt", compresslevel=9) as fh:
            for f in files:
                if keep(int(os.path.basename(f)[1:5])):
                    with open(f) as src:
                        fh.write(json.dumps(json.load(src), separators=(",", ":")) + "\n")
        print(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", choices=sorted(SAMPLERS))
    ap.add_argument("--set", choices=["tune", "check", "recover", "large", "gbdt"])
    ap.add_argument("--seed-start", type=int)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--id-start", type=int, default=1)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--list", action="store_true")
    ap.add_argument(
        "--plan", action="store_true", help="print the commands that made the stored curves"
    )
    ap.add_argument("--pack", choices=["large", "gbdt"], help="pack a set's files (.jsonl.gz)")
    a = ap.parse_args()
    if a.pack:
        pack(os.path.join(a.out, a.pack))
        return
    if a.plan:
        for fam, st, s0, cnt, i0 in PLAN:
            print(
                f"python generate.py --family {fam} --set {st} --seed-start {s0}"
                f" --count {cnt} --id-start {i0}"
            )
        return
    if not (a.family and a.set and a.seed_start is not None):
        ap.error("--family, --set and --seed-start are required")
    outdir = os.path.join(a.out, a.set)
    os.makedirs(outdir, exist_ok=True)
    prefix = {"tune": "t", "check": "k", "recover": "r", "large": "f", "gbdt": "g"}[a.set]
    for i in range(a.count):
        seed = a.seed_start + i
        cfg = SAMPLERS[a.family](seed)
        cid = f"{prefix}{a.id_start + i:04d}"
        if a.list:
            print(cid, json.dumps(cfg))
            continue
        t = time.time()
        c = make_curve(cfg, cid)
        if c is None:
            print(cid, "seed", seed, "non-finite loss: skipped", flush=True)
            continue
        with open(os.path.join(outdir, cid + ".json"), "w") as f:
            json.dump(c, f, separators=(",", ":"))
        print(
            cid,
            a.family,
            seed,
            c["label"],
            c["onset_step"],
            len(c["train"]),
            len(c["val"]),
            f"{time.time() - t:.1f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
