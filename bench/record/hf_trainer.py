"""Record real MLflow runs logged by Hugging Face Trainer's own MLflow integration.

(``TrainingArguments(report_to="mlflow")``.)

Each case trains a small custom ``PreTrainedModel`` (an MLP classifier with its own
``PretrainedConfig``, random init, nothing downloaded) on scikit-learn's digits data set with
``Trainer`` and ``TrainingArguments(report_to="mlflow", ...)`` exactly as a user would: the script
logs nothing itself. ``transformers.integrations.MLflowCallback`` starts the run
(``run_name`` from ``TrainingArguments``, experiment from ``MLFLOW_EXPERIMENT_NAME``), logs the
params and every ``Trainer.log`` dict, and ends the run. Each run is read back with
``MlflowClient`` (``get_run`` + ``get_metric_history`` of every key), the (``loss``, ``eval_loss``)
pair is labelled with the team's labeller rule (``label_curves`` below, the rule of
``shared/overfit-curves/README.md``) and the runs that got the label they were built for are
written to ``tests/data/libraries/hf-trainer-<variant>-<label>[-N].json``. Values are never edited.

Run it in a scratch venv outside the repo (never the project's .venv); torch first, pinned, so
pip takes the CPU wheel instead of a CUDA build:

    python3 -m venv /work/venvs/hf
    /work/venvs/hf/bin/pip install torch==2.13.0
    /work/venvs/hf/bin/pip install transformers accelerate mlflow scikit-learn  # torch stays 2.13.0
    mkdir -p /tmp/hf && MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false /work/venvs/hf/bin/mlflow server \
        --backend-store-uri sqlite:////tmp/hf/mlflow.db --default-artifact-root /tmp/hf/artifacts \
        --workers 1 --host 127.0.0.1 --port 5702 &
    cd /tmp/hf && /work/venvs/hf/bin/python /work/main/bench/record/hf_trainer.py --case steps

Cases:
  steps    eval_strategy="steps", eval_steps=25, logging_steps=5 (24 evals, 120 loss points)
  epoch    eval_strategy="epoch", logging_strategy="epoch" (12 evals, 12 loss points)
  running  the steps set-up; while it trains, another thread reads the run back from the server
           (get_run + get_metric_history, as a live viewer would) once the server holds at least
           SNAPSHOT_EVALS eval_loss points; that snapshot (status RUNNING, no end-of-training
           points) is the fixture. The finished run is not written for this case.
``--dry-run`` trains, logs and labels but writes no file; ``--only 0 2`` runs some configs.
Recorded with transformers 5.24.0, accelerate 1.16.0, torch 2.13.0+cpu, mlflow 3.17.2,
scikit-learn 1.9.1, on 2 CPU cores; each run takes 20-90 s.
"""

from __future__ import annotations

import argparse
import getpass
import glob
import json
import math
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass

SCRIPT = "bench/record/hf_trainer.py"
DEFAULT_URI = "http://127.0.0.1:5702"
SNAPSHOT_EVALS = 16  # the running case: snapshot once the server holds this many eval_loss points


# --------------------------------------------------------------------------------------------
# The labeller (shared/overfit-curves/README.md), on (step, value) pairs as the server returns.
# --------------------------------------------------------------------------------------------


def smoothed(values: list[float]) -> list[float]:
    """Centred moving average of 5 points (3 for curves shorter than 20), edges padded."""
    k = 5 if len(values) >= 20 else 3
    h = k // 2
    pad = [values[0]] * h + list(values) + [values[-1]] * h
    return [sum(pad[i : i + k]) / k for i in range(len(values))]


def label_curves(train: list[tuple[int, float]], val: list[tuple[int, float]]) -> dict:
    """Label a (train, val) pair: overfit / healthy / diverge / ambiguous, with its numbers.

    Train values are aligned to the val steps: the latest train point at or before each val step.
    Val steps before the first train point take the first train point (so the series can be
    smoothed), but `overfit` also needs a train point at or before the onset.
    """
    train = sorted(train, key=lambda p: p[0])
    val = sorted(val, key=lambda p: p[0])
    v = [x for _, x in val]
    aligned: list[float | None] = []
    ti = -1
    for step, _ in val:
        while ti + 1 < len(train) and train[ti + 1][0] <= step:
            ti += 1
        aligned.append(train[ti][1] if ti >= 0 else None)
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


def raw_rise_last(val: list[tuple[int, float]], n: int = 5) -> float:
    """Raw (unsmoothed) rise of val over its last n points: (last - min of those) / min."""
    tail = [x for _, x in sorted(val)[-n:]]
    return (tail[-1] - min(tail)) / max(abs(min(tail)), 1e-12)


# --------------------------------------------------------------------------------------------
# Data: scikit-learn's digits; a fixed clean eval split, label noise on train. Model: a small
# custom PreTrainedModel (an MLP classifier with its own PretrainedConfig), as users write for
# tabular data. (A tiny random-init BertForSequenceClassification on the digits as 65 pixel tokens
# was tried first: it barely learned in 600 steps and took ~5 min a run on the shared cores.)
# --------------------------------------------------------------------------------------------


def digits(n_train: int, noise: float, seed: int, n_eval: int = 400):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = y.astype("int64")
    x_rest, x_ev, y_rest, y_ev = train_test_split(
        x, y, test_size=n_eval, random_state=seed, stratify=y)
    x_tr, _, y_tr, _ = train_test_split(
        x_rest, y_rest, train_size=n_train, random_state=seed, stratify=y_rest)
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y_tr)) < noise
    y_tr = y_tr.copy()
    y_tr[flip] = (y_tr[flip] + rng.integers(1, 10, flip.sum())) % 10  # a wrong class
    return x_tr, y_tr, x_ev, y_ev


class DigitsDataset:
    """A map-style dataset of dicts, the shape Trainer's default collator expects."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict:
        import torch

        return {"pixel_values": torch.as_tensor(self.x[i]), "labels": torch.as_tensor(self.y[i])}


def tiny_model(hidden: int, depth: int, dropout: float, seed: int):
    """A random-init custom PreTrainedModel: config -> MLP -> SequenceClassifierOutput."""
    import torch
    from torch import nn
    from transformers import PretrainedConfig, PreTrainedModel
    from transformers.modeling_outputs import SequenceClassifierOutput

    class TinyMLPConfig(PretrainedConfig):
        model_type = "tiny-mlp"

        def __init__(self, input_size=64, hidden_size=128, num_hidden_layers=2,
                     hidden_dropout_prob=0.0, num_labels=10, **kw):
            super().__init__(num_labels=num_labels, **kw)
            self.input_size, self.hidden_size = input_size, hidden_size
            self.num_hidden_layers = num_hidden_layers
            self.hidden_dropout_prob = hidden_dropout_prob

    class TinyMLPForClassification(PreTrainedModel):
        config_class = TinyMLPConfig
        main_input_name = "pixel_values"

        def __init__(self, config):
            super().__init__(config)
            layers: list[nn.Module] = []
            width = config.input_size
            for _ in range(config.num_hidden_layers):
                layers += [nn.Linear(width, config.hidden_size), nn.ReLU()]
                if config.hidden_dropout_prob:
                    layers.append(nn.Dropout(config.hidden_dropout_prob))
                width = config.hidden_size
            layers.append(nn.Linear(width, config.num_labels))
            self.net = nn.Sequential(*layers)
            self.post_init()

        def _init_weights(self, module):  # keep torch's default Linear init
            pass

        def forward(self, pixel_values, labels=None, **kw):
            logits = self.net(pixel_values)
            loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
            return SequenceClassifierOutput(loss=loss, logits=logits)

    torch.manual_seed(seed)
    return TinyMLPForClassification(TinyMLPConfig(hidden_size=hidden, num_hidden_layers=depth,
                                                  hidden_dropout_prob=dropout))


@dataclass
class Config:
    target: str  # the label this run is built to get: "overfit" or "healthy"
    seed: int
    n_train: int
    noise: float
    hidden: int
    depth: int
    dropout: float
    weight_decay: float
    lr: float
    batch_size: int
    epochs: int  # num_train_epochs for the epoch case; the steps cases use max_steps=600
    scheduler: str = "linear"


def configs(case: str) -> list[Config]:
    """Fixed configurations (and seeds) per case; the order fixes the -N numbering."""
    if case in ("steps", "running"):
        # 24 evals at eval_steps=25 -> 600 optimiser steps
        over = dict(n_train=200, noise=0.3, hidden=512, depth=2, dropout=0.0, weight_decay=0.0,
                    lr=1e-3, batch_size=10, epochs=30, scheduler="constant")
        healthy = dict(n_train=1200, noise=0.0, hidden=128, depth=2, dropout=0.3,
                       weight_decay=0.01, lr=1e-3, batch_size=32, epochs=16)
    else:  # epoch: 12 evals, one per epoch
        over = dict(n_train=200, noise=0.3, hidden=512, depth=2, dropout=0.0, weight_decay=0.0,
                    lr=3e-3, batch_size=4, epochs=12, scheduler="constant")
        healthy = dict(n_train=1200, noise=0.0, hidden=128, depth=2, dropout=0.3,
                       weight_decay=0.01, lr=1e-3, batch_size=32, epochs=12)
    # epoch case: seeds 1 and 2 also overfit but rise only 14% over the last evals (seed 1) or
    # jump at the very last one (seed 2); 0 and 3 rise steadily 24-37% over their last 4-5 evals
    over_seeds = (0, 1) if case in ("steps", "running") else (0, 3)
    return ([Config("overfit", s, **over) for s in over_seeds]
            + [Config("healthy", s, **healthy) for s in (0, 1)])


LOGGING = {
    "steps": "Trainer(TrainingArguments(report_to='mlflow', eval_strategy='steps', eval_steps=25, "
             "logging_steps=5, max_steps=600, save_strategy='no'))",
    "epoch": "Trainer(TrainingArguments(report_to='mlflow', eval_strategy='epoch', "
             "logging_strategy='epoch', num_train_epochs=12, save_strategy='no'))",
}
LOGGING["running"] = LOGGING["steps"] + (
    f"; snapshot read by another thread while training (first poll with >= {SNAPSHOT_EVALS} "
    "eval_loss points on the server)")


def train_hf(case: str, cfg: Config, uri: str, run_name: str, on_start=None) -> str:
    """Train with Trainer(report_to='mlflow'); returns the MLflow run id the callback started."""
    import mlflow
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

    torch.set_num_threads(2)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ["MLFLOW_EXPERIMENT_NAME"] = f"hf-trainer-{case}"
    set_seed(cfg.seed)
    x_tr, y_tr, x_ev, y_ev = digits(cfg.n_train, cfg.noise, cfg.seed)
    model = tiny_model(cfg.hidden, cfg.depth, cfg.dropout, cfg.seed)
    if case == "epoch":
        sched = dict(eval_strategy="epoch", logging_strategy="epoch", num_train_epochs=cfg.epochs)
    else:
        sched = dict(eval_strategy="steps", eval_steps=25, logging_steps=5, max_steps=600)
    args = TrainingArguments(
        # relative output_dir: no absolute path among the logged params
        output_dir=os.path.join("hf_out", run_name), run_name=run_name,
        report_to="mlflow", save_strategy="no", seed=cfg.seed, data_seed=cfg.seed,
        learning_rate=cfg.lr, weight_decay=cfg.weight_decay, lr_scheduler_type=cfg.scheduler,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=200, use_cpu=True, disable_tqdm=True,
        dataloader_num_workers=0, **sched)

    class RunId(TrainerCallback):  # only reads the run id the MLflowCallback started
        run_id: str | None = None

        def on_train_begin(self, args, state, control, **kw):
            RunId.run_id = mlflow.active_run().info.run_id
            if on_start:
                on_start(RunId.run_id)

    trainer = Trainer(model=model, args=args, train_dataset=DigitsDataset(x_tr, y_tr),
                      eval_dataset=DigitsDataset(x_ev, y_ev), callbacks=[RunId()])
    # MLflowCallback must come first so the run exists when RunId.on_train_begin asks for it
    names = [type(c).__name__ for c in trainer.callback_handler.callbacks]
    assert names.index("MLflowCallback") < names.index("RunId"), names
    trainer.train()
    mlflow.flush_async_logging()
    return RunId.run_id


# --------------------------------------------------------------------------------------------
# Read-back, fixture
# --------------------------------------------------------------------------------------------

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
        tags = {t.key: t.value for t in di.tags}
        inputs.append({"name": ds.name, "digest": ds.digest,
                       "context": tags.get("mlflow.data.context"),
                       "source_type": ds.source_type, "tags": tags})
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


class Snapshotter:
    """Polls the server from another thread while training runs; keeps the first read-back
    whose eval_loss history holds at least `min_evals` points."""

    def __init__(self, uri: str, min_evals: int, every: float = 1.0):
        self.uri, self.min_evals, self.every = uri, min_evals, every
        self.run_id: str | None = None
        self.snapshot: dict | None = None
        self.read_at_ms: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self, run_id: str) -> None:
        self.run_id = run_id
        self._thread.start()

    def _loop(self) -> None:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.uri)
        while not self._stop.is_set() and self.snapshot is None:
            n = len(client.get_metric_history(self.run_id, "eval_loss"))
            if n >= self.min_evals:
                self.read_at_ms = int(time.time() * 1000)
                self.snapshot = read_run(self.uri, self.run_id)
                return
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", required=True, choices=("steps", "epoch", "running"))
    ap.add_argument("--tracking-uri", default=DEFAULT_URI)
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "libraries"))
    ap.add_argument("--dry-run", action="store_true", help="train, log and label; write nothing")
    ap.add_argument("--only", type=int, nargs="*", help="indices of configs to run (tuning)")
    ap.add_argument("--override", default="", help="JSON merged into each config (tuning; "
                    "implies --dry-run)")
    a = ap.parse_args(argv)

    import mlflow
    import transformers

    pair = ("loss", "eval_loss")
    out_dir = os.path.abspath(a.out)
    cfgs = configs(a.case)
    if a.override:
        a.dry_run = True
        cfgs = [Config(**(asdict(c) | json.loads(a.override))) for c in cfgs]
    if not a.dry_run and not a.only:
        os.makedirs(out_dir, exist_ok=True)
        for old in glob.glob(os.path.join(out_dir, f"hf-trainer-{a.case}-*.json")):
            rest = os.path.basename(old)[len(f"hf-trainer-{a.case}-"):-5]
            if rest.split("-")[0] in ("overfit", "healthy"):
                os.remove(old)
    counts: dict[str, int] = {}
    for i, cfg in enumerate(cfgs):
        if a.only and i not in a.only:
            continue
        run_name = f"hf-{a.case}-{cfg.target}-seed{cfg.seed}"
        t0 = time.time()
        snap = Snapshotter(a.tracking_uri, SNAPSHOT_EVALS) if a.case == "running" else None
        run_id = train_hf(a.case, cfg, a.tracking_uri, run_name,
                          on_start=snap.start if snap else None)
        final = read_run(a.tracking_uri, run_id)
        rec = final
        if snap:
            snap.stop()
            if snap.snapshot is None:
                print(f"[{a.case} #{i}] no snapshot taken", flush=True)
                continue
            rec = snap.snapshot
        m = rec["metrics"]
        lab = label_curves(_pairs(m, pair[0]), _pairs(m, pair[1]))
        rise5 = raw_rise_last(_pairs(m, pair[1]))
        summary = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in lab.items()}
        print(f"[{a.case} #{i}] {run_name} {time.time() - t0:.0f}s status={rec['run']['status']} "
              f"keys={ {k: len(v) for k, v in m.items()} } {summary} raw_rise_last5={rise5:.3f}",
              flush=True)
        if snap:
            fl = final["metrics"]
            flab = label_curves(_pairs(fl, pair[0]), _pairs(fl, pair[1]))
            print(f"    finished run: {final['run']['status']} label={flab['label']} "
                  f"n_val={flab['n_val']} keys={sorted(fl)}", flush=True)
        if lab["label"] != cfg.target:
            print(f"    skipped: wanted {cfg.target}", flush=True)
            continue
        n = counts[cfg.target] = counts.get(cfg.target, 0) + 1
        name = f"hf-trainer-{a.case}-{cfg.target}" + ("" if n == 1 else f"-{n}") + ".json"
        fixture = {
            "library": "transformers", "library_version": transformers.__version__,
            "mlflow_version": mlflow.__version__,
            "integration": "transformers.integrations.MLflowCallback (report_to='mlflow')",
            "logging": LOGGING[a.case],
            "recorded_by": f"{SCRIPT} --case {a.case}",
            "label": lab["label"], "label_pair": list(pair), "onset_step": lab["onset_step"],
            "labeller": {k: v for k, v in lab.items() if k not in ("label", "onset_step")}
            | {"raw_val_rise_last5": rise5},
            "config": asdict(cfg) | {
                "model": "custom PreTrainedModel: TinyMLPForClassification(TinyMLPConfig), "
                         "random init",
                "data": "sklearn digits (64 pixels / 16), clean 400-row eval split, label noise "
                        "on train only"},
            **rec,
        }
        if snap:
            fixture["snapshot"] = {
                "how": "read from another thread (MlflowClient over HTTP) while Trainer.train() "
                       f"was running: first poll (1 s apart) whose eval_loss history held >= "
                       f"{SNAPSHOT_EVALS} points",
                "read_at_ms": snap.read_at_ms,
                "finished_run": {"status": final["run"]["status"],
                                 "end_time": final["run"]["end_time"],
                                 "points": {k: len(v) for k, v in final["metrics"].items()}},
            }
        if not a.dry_run:
            with open(os.path.join(out_dir, name), "w") as f:
                json.dump(fixture, f, indent=1)
                f.write("\n")
            print(f"    wrote {name} ({os.path.getsize(os.path.join(out_dir, name))} bytes)",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
