"""Record real MLflow runs logged by PyTorch Lightning's and Keras 3's own MLflow integrations.

Each case trains small MLPs on scikit-learn's digits data set (no downloads) with one of the
libraries' integrations exactly as a user would call it, logs to a local MLflow server, reads each
run back with ``MlflowClient`` (``get_run`` + ``get_metric_history`` of every key), labels the
train/val pair with the team's labeller rule (``label_curves`` below, the rule of
``shared/overfit-curves/README.md``) and writes the runs that got the label they were built for to
``tests/data/libraries/<library>-<variant>-<label>[-N].json``. Values are never edited.

Run it in a scratch venv outside the repo (never the project's .venv); torch first, pinned, so
pip takes the CPU wheel instead of a CUDA build:

    python3 -m venv /work/venvs/dl
    /work/venvs/dl/bin/pip install torch==2.13.0
    /work/venvs/dl/bin/pip install lightning keras mlflow scikit-learn   # torch stays 2.13.0
    mkdir -p /tmp/dl && MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false /work/venvs/dl/bin/mlflow server \
        --backend-store-uri sqlite:////tmp/dl/mlflow.db --default-artifact-root /tmp/dl/artifacts \
        --workers 1 --host 127.0.0.1 --port 5703 &
    cd /tmp/dl && /work/venvs/dl/bin/python /work/main/bench/record/lightning_keras.py \
        --case lightning-defaults --out /work/main/tests/data/libraries

One case per process (autolog patches are process-wide). Cases: lightning-defaults,
lightning-stepepoch, lightning-autolog, lightning-autolog-stepepoch, lightning-autolog-logger,
lightning-acc, keras-autolog, keras-callback. ``--dry-run`` trains, logs and labels but writes
no file.
Recorded with lightning 2.6.6, keras 3.15.1 (KERAS_BACKEND=torch), torch 2.13.0+cpu,
mlflow 3.17.2, scikit-learn 1.9.1, on 2 shared CPU cores, one torch thread; each run takes 10-90 s.
"""

from __future__ import annotations

import argparse
import getpass
import glob
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field

os.environ.setdefault("KERAS_BACKEND", "torch")

SCRIPT = "bench/record/lightning_keras.py"
DEFAULT_URI = "http://127.0.0.1:5703"


# --------------------------------------------------------------------------------------------
# The labeller (shared/overfit-curves/README.md), on (step, value) pairs as the server returns.
# --------------------------------------------------------------------------------------------


def smoothed(values: list[float]) -> list[float]:
    """Centred moving average of 5 points (3 for curves shorter than 20), edges padded."""
    k = 5 if len(values) >= 20 else 3
    h = k // 2
    pad = [values[0]] * h + list(values) + [values[-1]] * h
    return [sum(pad[i : i + k]) / k for i in range(len(values))]


def label_curves(
    train: list[tuple[int, float]], val: list[tuple[int, float]], higher_is_better: bool = False
) -> dict:
    """Label a (train, val) pair: overfit / healthy / diverge / ambiguous, with its numbers.

    Train values are aligned to the val steps: the latest train point at or before each val step.
    Val steps before the first train point take the first train point (so the series can be
    smoothed), but `overfit` also needs a train point at or before the onset. For accuracy
    (higher is better) both curves are mirrored (negated) first.
    """
    sign = -1.0 if higher_is_better else 1.0
    train = sorted(train, key=lambda p: p[0])
    val = sorted(val, key=lambda p: p[0])
    v = [sign * x for _, x in val]
    aligned: list[float | None] = []
    ti = -1
    for step, _ in val:
        while ti + 1 < len(train) and train[ti + 1][0] <= step:
            ti += 1
        aligned.append(sign * train[ti][1] if ti >= 0 else None)
    first = next(x for x in aligned if x is not None)
    t = [first if x is None else x for x in aligned]
    sv, st = smoothed(v), smoothed(t)
    i_min = min(range(len(sv)), key=sv.__getitem__)
    rise = (sv[-1] - sv[i_min]) / max(abs(sv[i_min]), 1e-12)
    train_drop = (st[i_min] - st[-1]) / max(abs(st[i_min]), 1e-12)
    after = len(sv) - 1 - i_min
    if rise >= 0.10 and after >= 5 and train_drop >= 0.10 and aligned[i_min] is not None:
        label = "overfit"
    elif rise <= 0.02:
        label = "healthy"
    elif rise >= 0.10 and st[-1] > st[i_min]:
        label = "diverge"
    else:
        label = "ambiguous"
    return {
        "label": label,
        "onset_step": val[i_min][0] if label == "overfit" else None,
        "val_min_step": val[i_min][0],
        "val_rise_at_end": rise,
        "train_drop_after_min": train_drop,
        "val_points_after_min": after,
        "n_train": len(train),
        "n_val": len(val),
    }


# --------------------------------------------------------------------------------------------
# Data: scikit-learn's digits, a fixed clean validation split, optional label noise on train.
# --------------------------------------------------------------------------------------------


def digits(n_train: int, noise: float, seed: int, n_val: int = 500):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = y.astype("int64")
    x_rest, x_val, y_rest, y_val = train_test_split(
        x, y, test_size=n_val, random_state=seed, stratify=y)
    x_train, _, y_train, _ = train_test_split(
        x_rest, y_rest, train_size=n_train, random_state=seed, stratify=y_rest)
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y_train)) < noise
    y_train = y_train.copy()
    y_train[flip] = (y_train[flip] + rng.integers(1, 10, flip.sum())) % 10  # a wrong class
    return x_train, y_train, x_val, y_val


@dataclass
class Config:
    target: str  # the label this run is built to get: "overfit" or "healthy"
    seed: int
    n_train: int
    noise: float
    hidden: int
    depth: int = 2
    dropout: float = 0.0
    weight_decay: float = 0.0
    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 60
    extra: dict = field(default_factory=dict)


OVERFIT = dict(n_train=300, noise=0.3, hidden=512, depth=2, lr=1e-3, batch_size=64)
HEALTHY = dict(n_train=1200, noise=0.0, hidden=128, depth=2, dropout=0.3, weight_decay=1e-2,
               lr=1e-3, batch_size=256)


OVERFIT_B = dict(n_train=200, noise=0.2, hidden=1024, depth=2, lr=1e-3, batch_size=32)
HEALTHY_B = dict(n_train=1000, noise=0.0, hidden=256, depth=2, dropout=0.2, weight_decay=5e-3,
                 lr=1e-3, batch_size=128)


def configs(case: str) -> list[Config]:
    """Fixed configurations (and seeds) per case; the order fixes the -N numbering.

    Seeds 0-2 are the same trainings in every case of a library (the same curves seen through
    different integrations); the B configurations use seeds of their own per case, so those
    curves are independent.
    """
    over = [Config("overfit", s, **OVERFIT, epochs=100) for s in (0, 1, 2)]
    healthy = [Config("healthy", s, **HEALTHY, epochs=40) for s in (0, 1, 2)]
    k = 10 * (1 + sorted(CASES).index(case))
    over_b = [Config("overfit", k + s, **OVERFIT_B, epochs=80) for s in (0, 1)]
    healthy_b = [Config("healthy", k + 2, **HEALTHY_B, epochs=30)]
    return over + healthy + over_b + healthy_b


# --------------------------------------------------------------------------------------------
# Lightning
# --------------------------------------------------------------------------------------------

LIGHTNING_LOGGING = {
    "lightning-defaults": (
        "self.log('train_loss', loss) in training_step; self.log('val_loss', loss) in "
        "validation_step; Trainer defaults (log_every_n_steps=50)"),
    "lightning-stepepoch": (
        "self.log('train_loss', loss, on_step=True, on_epoch=True) in training_step; "
        "self.log('val_loss', loss) in validation_step; log_every_n_steps=50"),
    "lightning-autolog": (
        "mlflow.pytorch.autolog() (defaults); Trainer with its default logger; "
        "self.log('train_loss', loss) in training_step; self.log('val_loss', loss) in "
        "validation_step"),
    "lightning-autolog-stepepoch": (
        "mlflow.pytorch.autolog() (defaults); Trainer with its default logger; "
        "self.log('train_loss', loss, on_step=True, on_epoch=True) in training_step; "
        "self.log('val_loss', loss) in validation_step"),
    "lightning-autolog-logger": (
        "mlflow.pytorch.autolog() (defaults) and MLFlowLogger(run_id=<the active run>) on the "
        "same run; self.log('train_loss', loss) in training_step; self.log('val_loss', loss) "
        "in validation_step; log_every_n_steps=50"),
    "lightning-acc": (
        "self.log('train_loss', loss, on_step=False, on_epoch=True); "
        "self.log('train_acc', acc, on_step=False, on_epoch=True) in training_step; "
        "self.log('val_loss', loss); self.log('val_acc', acc) in validation_step; "
        "log_every_n_steps=50"),
}


def train_lightning(case: str, cfg: Config, uri: str, run_name: str) -> str:
    import lightning.pytorch as pl
    import mlflow
    import torch
    from lightning.pytorch.loggers import MLFlowLogger
    from torch import nn
    from torch.nn import functional as F
    from torch.utils.data import DataLoader, TensorDataset

    torch.set_num_threads(1)  # 2 shared cores: one thread is 4x faster here
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    x_tr, y_tr, x_va, y_va = digits(cfg.n_train, cfg.noise, cfg.seed)
    stepepoch = case.endswith("stepepoch")
    with_acc = case == "lightning-acc"

    class MLP(pl.LightningModule):
        def __init__(self, hidden: int, depth: int, dropout: float, lr: float,
                     weight_decay: float, n_train: int, noise: float, batch_size: int):
            super().__init__()
            self.save_hyperparameters()
            layers: list[nn.Module] = []
            width = 64
            for _ in range(depth):
                layers += [nn.Linear(width, hidden), nn.ReLU()]
                if dropout:
                    layers.append(nn.Dropout(dropout))
                width = hidden
            layers.append(nn.Linear(width, 10))
            self.net = nn.Sequential(*layers)

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            loss = F.cross_entropy(logits, y)
            if with_acc:
                acc = (logits.argmax(dim=1) == y).float().mean()
                self.log("train_loss", loss, on_step=False, on_epoch=True)
                self.log("train_acc", acc, on_step=False, on_epoch=True)
            elif stepepoch:
                self.log("train_loss", loss, on_step=True, on_epoch=True)
            else:
                self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            self.log("val_loss", F.cross_entropy(logits, y))
            if with_acc:
                self.log("val_acc", (logits.argmax(dim=1) == y).float().mean())

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr,
                                     weight_decay=self.hparams.weight_decay)

    model = MLP(cfg.hidden, cfg.depth, cfg.dropout, cfg.lr, cfg.weight_decay, cfg.n_train,
                cfg.noise, cfg.batch_size)
    gen = torch.Generator().manual_seed(cfg.seed)
    train_dl = DataLoader(TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr)),
                          batch_size=cfg.batch_size, shuffle=True, generator=gen)
    val_dl = DataLoader(TensorDataset(torch.from_numpy(x_va), torch.from_numpy(y_va)),
                        batch_size=256)
    common = dict(max_epochs=cfg.epochs, accelerator="cpu", devices=1,
                  enable_progress_bar=False, enable_model_summary=False,
                  default_root_dir=os.path.join(os.getcwd(), "lightning_root"))

    if case == "lightning-autolog-logger":
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(case)
        mlflow.pytorch.autolog()
        with mlflow.start_run(run_name=run_name) as run:
            logger = MLFlowLogger(experiment_name=case, run_id=run.info.run_id, tracking_uri=uri)
            trainer = pl.Trainer(logger=logger, **common)
            trainer.fit(model, train_dl, val_dl)
        return run.info.run_id

    if case.startswith("lightning-autolog"):
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(case)
        mlflow.pytorch.autolog()
        trainer = pl.Trainer(**common)  # the default logger; autolog adds its callback
        with mlflow.start_run(run_name=run_name) as run:
            trainer.fit(model, train_dl, val_dl)
        return run.info.run_id

    logger = MLFlowLogger(experiment_name=case, run_name=run_name, tracking_uri=uri)
    trainer = pl.Trainer(logger=logger, **common)
    trainer.fit(model, train_dl, val_dl)
    return logger.run_id


# --------------------------------------------------------------------------------------------
# Keras 3
# --------------------------------------------------------------------------------------------

KERAS_LOGGING = {
    "keras-autolog": (
        "mlflow.keras.autolog() (defaults: log_every_epoch=True); model.compile(..., "
        "metrics=['accuracy']); model.fit(x, y, validation_data=(x_val, y_val), epochs=N)"),
    "keras-callback": (
        "model.fit(..., validation_data=(x_val, y_val), callbacks=[mlflow.keras.MlflowCallback()])"
        " inside mlflow.start_run(); metrics=['accuracy']"),
}


def train_keras(case: str, cfg: Config, uri: str, run_name: str) -> str:
    import keras
    import mlflow
    import torch

    torch.set_num_threads(1)  # 2 shared cores: one thread is 4x faster here
    keras.utils.set_random_seed(cfg.seed)
    x_tr, y_tr, x_va, y_va = digits(cfg.n_train, cfg.noise, cfg.seed)
    reg = keras.regularizers.L2(cfg.weight_decay) if cfg.weight_decay else None
    layers: list = [keras.Input((64,))]
    for _ in range(cfg.depth):
        layers.append(keras.layers.Dense(cfg.hidden, activation="relu", kernel_regularizer=reg))
        if cfg.dropout:
            layers.append(keras.layers.Dropout(cfg.dropout))
    layers.append(keras.layers.Dense(10))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(case)
    if case == "keras-autolog":
        mlflow.keras.autolog()
        with mlflow.start_run(run_name=run_name) as run:
            model.fit(x_tr, y_tr, validation_data=(x_va, y_va), epochs=cfg.epochs,
                      batch_size=cfg.batch_size, verbose=0)
    else:
        with mlflow.start_run(run_name=run_name) as run:
            model.fit(x_tr, y_tr, validation_data=(x_va, y_va), epochs=cfg.epochs,
                      batch_size=cfg.batch_size, verbose=0,
                      callbacks=[mlflow.keras.MlflowCallback()])
    mlflow.flush_async_logging()
    return run.info.run_id


# --------------------------------------------------------------------------------------------
# Cases, read-back, fixture
# --------------------------------------------------------------------------------------------

CASES = {
    "lightning-defaults": ("lightning", "lightning.pytorch.loggers.MLFlowLogger",
                           ("train_loss", "val_loss")),
    "lightning-stepepoch": ("lightning", "lightning.pytorch.loggers.MLFlowLogger",
                            ("train_loss_epoch", "val_loss")),
    "lightning-autolog": ("lightning", "mlflow.pytorch.autolog", ("train_loss", "val_loss")),
    "lightning-autolog-stepepoch": ("lightning", "mlflow.pytorch.autolog",
                                    ("train_loss_epoch", "val_loss")),
    "lightning-autolog-logger": ("lightning",
                                 "mlflow.pytorch.autolog + lightning.pytorch.loggers.MLFlowLogger",
                                 ("train_loss", "val_loss")),
    "lightning-acc": ("lightning", "lightning.pytorch.loggers.MLFlowLogger",
                      ("train_loss", "val_loss")),
    "keras-autolog": ("keras", "mlflow.keras.autolog", ("loss", "val_loss")),
    "keras-callback": ("keras", "mlflow.keras.MlflowCallback", ("loss", "val_loss")),
}
SECONDARY_PAIRS = {
    "lightning-acc": ("train_acc", "val_acc"),
    "keras-autolog": ("accuracy", "val_accuracy"),
    "keras-callback": ("accuracy", "val_accuracy"),
}

_DROP_TAGS = ("mlflow.source.name", "mlflow.user")


def _clean_tags(tags: dict) -> dict:
    user = getpass.getuser()
    out = {}
    for k, v in sorted(tags.items()):
        if k in _DROP_TAGS or k.startswith("mlflow.source.git"):
            continue
        s = str(v)
        if "/" + user in s or s == user or any(p in s for p in ("/tmp/", "/work/", "/home/",
                                                                "/root", "file:")):
            continue
        out[k] = v
    return out


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def read_run(uri: str, run_id: str) -> dict:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    metrics = {}
    for key in sorted(run.data.metrics):
        hist = client.get_metric_history(run_id, key)
        hist = sorted(hist, key=lambda m: (m.step, m.timestamp))
        metrics[key] = [[m.step, m.timestamp, _num(m.value)] for m in hist]
    inputs = []
    for di in (run.inputs.dataset_inputs if run.inputs else []) or []:
        ds = di.dataset
        inputs.append({
            "name": ds.name, "digest": ds.digest, "source_type": ds.source_type,
            "schema": ds.schema, "profile": ds.profile,
            "tags": {t.key: t.value for t in di.tags},
        })
    info = run.info
    return {
        "run": {
            "name": info.run_name, "status": info.status,
            "start_time": info.start_time, "end_time": info.end_time,
            "params": dict(sorted(run.data.params.items())),
            "tags": _clean_tags(run.data.tags),
        },
        "inputs": inputs,
        "metrics": metrics,
    }


def _pairs(metrics: dict, key: str) -> list[tuple[int, float]]:
    return [(s, v) for s, _, v in metrics.get(key, []) if v is not None]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    ap.add_argument("--tracking-uri", default=DEFAULT_URI)
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "libraries"))
    ap.add_argument("--dry-run", action="store_true", help="train, log and label; write nothing")
    ap.add_argument("--only", type=int, nargs="*", help="indices of configs to run (tuning)")
    a = ap.parse_args(argv)

    import mlflow

    library, integration, pair = CASES[a.case]
    if library == "lightning":
        import lightning

        lib_version, train_fn = lightning.__version__, train_lightning
        logging_desc = LIGHTNING_LOGGING[a.case]
    else:
        import keras

        lib_version, train_fn = keras.__version__, train_keras
        logging_desc = KERAS_LOGGING[a.case] + f"; KERAS_BACKEND={os.environ['KERAS_BACKEND']}"
    variant = a.case.split("-", 1)[1]
    out_dir = os.path.abspath(a.out)
    cfgs = configs(a.case)
    if not a.dry_run and not a.only:
        os.makedirs(out_dir, exist_ok=True)
        for old in glob.glob(os.path.join(out_dir, f"{library}-{variant}-*.json")):
            rest = os.path.basename(old)[len(f"{library}-{variant}-"):-5]
            if rest.split("-")[0] in ("overfit", "healthy"):
                os.remove(old)
    counts: dict[str, int] = {}
    for i, cfg in enumerate(cfgs):
        if a.only and i not in a.only:
            continue
        run_name = f"{a.case}-{cfg.target}-seed{cfg.seed}"
        t0 = time.time()
        run_id = train_fn(a.case, cfg, a.tracking_uri, run_name)
        rec = read_run(a.tracking_uri, run_id)
        m = rec["metrics"]
        lab = label_curves(_pairs(m, pair[0]), _pairs(m, pair[1]))
        other = {}
        if a.case in SECONDARY_PAIRS:
            p2 = SECONDARY_PAIRS[a.case]
            other = {"/".join(p2): label_curves(_pairs(m, p2[0]), _pairs(m, p2[1]),
                                                higher_is_better=True)}
        summary = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in lab.items()}
        print(f"[{a.case} #{i}] {run_name} {time.time() - t0:.0f}s keys="
              f"{ {k: len(v) for k, v in m.items()} } {summary}", flush=True)
        for k, v in other.items():
            rounded = {x: (round(y, 3) if isinstance(y, float) else y) for x, y in v.items()}
            print(f"    secondary {k}: {rounded}")
        if lab["label"] != cfg.target:
            print(f"    skipped: wanted {cfg.target}", flush=True)
            continue
        n = counts[cfg.target] = counts.get(cfg.target, 0) + 1
        name = f"{library}-{variant}-{cfg.target}" + ("" if n == 1 else f"-{n}") + ".json"
        fixture = {
            "library": library, "library_version": lib_version,
            "mlflow_version": mlflow.__version__,
            "integration": integration, "logging": logging_desc,
            "recorded_by": f"{SCRIPT} --case {a.case}",
            "label": lab["label"], "label_pair": list(pair), "onset_step": lab["onset_step"],
            "labeller": {k: v for k, v in lab.items() if k not in ("label", "onset_step")},
            "secondary_labels": other,
            "config": {k: v for k, v in asdict(cfg).items() if k != "extra"} | {
                "data": "sklearn digits, clean 500-row val split, label noise on train only"},
            **rec,
        }
        if not a.dry_run:
            with open(os.path.join(out_dir, name), "w") as f:
                json.dump(fixture, f, indent=1)
                f.write("\n")
            print(f"    wrote {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
