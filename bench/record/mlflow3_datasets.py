"""Record real MLflow 3 runs whose `loss` is logged per data set (log_metric(..., dataset=)).

MLflow 3 added ``mlflow.log_metric(key, value, step=..., dataset=..., model_id=...)``. Each case
trains a small PyTorch MLP for real on scikit-learn's digits data set (no downloads) and logs its
own train and eval loss under the SAME key, ``loss``, once with ``dataset=train_ds`` and once with
``dataset=eval_ds`` per epoch (``train_ds``/``eval_ds`` from ``mlflow.data.from_pandas(...,
name="train"/"eval")``, also logged up front with ``mlflow.log_input(..., context=...)``). Then it
reads the run back with ``MlflowClient`` (``get_run`` + ``get_metric_history`` of every key) and,
for the model case, the logged model over raw HTTP (``GET /api/2.0/mlflow/logged-models/{id}``).

What a client sees (see bench/record/README.md, "MLflow 3 dataset-scoped metrics"): the run's
metric history has no dataset field, so ``metrics["loss"]`` interleaves train and eval points, two
per step. Only logged-model metrics keep ``dataset_name``/``dataset_digest``. The fixture's
``point_datasets`` gives, for each point of ``metrics["loss"]`` in order, the data set the script
logged it with: ground truth known to the logging process only (matched by step and value), no
endpoint returns it for a run. The labeller runs on that split (train=`loss`@train,
val=`loss`@eval).

Cases:
  nomodel  no model: log_metric("loss", v, step=epoch, dataset=ds)
  model    a LoggedModel from mlflow.initialize_logged_model(name=...) inside the run, and
           log_metric("loss", v, step=epoch, dataset=ds, model_id=model.model_id); the fixture
           also stores what the logged-models endpoint returned, under "logged_models"
  probe    small hand-made runs against the server that show what each endpoint returns (raw
           HTTP): no model, with a model, set_active_model, two points in the same millisecond,
           async logging. Prints JSON (and writes it to --probe-out); writes no fixture.

Run it in the scratch venv of bench/record/hf_trainer.py (torch 2.13.0 CPU, mlflow 3.17.2,
scikit-learn), against a local server:

    mkdir -p /tmp/hf && MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false /work/venvs/hf/bin/mlflow server \
        --backend-store-uri sqlite:////tmp/hf/mlflow.db --default-artifact-root /tmp/hf/artifacts \
        --workers 1 --host 127.0.0.1 --port 5702 &
    cd /tmp/hf && /work/venvs/hf/bin/python /work/main/bench/record/mlflow3_datasets.py \
        --case nomodel

``--dry-run`` trains, logs and labels but writes no file. Fixed seeds. Recorded with mlflow 3.17.2,
torch 2.13.0+cpu, scikit-learn 1.9.1, on 2 shared CPU cores; each run takes 10-40 s.
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
import warnings
from dataclasses import asdict, dataclass

SCRIPT = "bench/record/mlflow3_datasets.py"
DEFAULT_URI = "http://127.0.0.1:5702"


# --------------------------------------------------------------------------------------------
# The labeller (shared/overfit-curves/README.md), on (step, value) pairs.
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


# --------------------------------------------------------------------------------------------
# Data and training: digits, a fixed clean eval split, label noise on train; a torch MLP.
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


@dataclass
class Config:
    target: str  # the label this run is built to get: "overfit" or "healthy"
    seed: int
    n_train: int
    noise: float
    hidden: int
    dropout: float
    weight_decay: float
    lr: float
    batch_size: int
    epochs: int


OVERFIT = dict(n_train=300, noise=0.3, hidden=512, dropout=0.0, weight_decay=0.0, lr=1e-3,
               batch_size=32, epochs=60)
HEALTHY = dict(n_train=1200, noise=0.0, hidden=128, dropout=0.3, weight_decay=1e-2, lr=1e-3,
               batch_size=128, epochs=40)


def configs() -> list[Config]:
    """Fixed configurations (and seeds); the order fixes the -N numbering."""
    return ([Config("overfit", s, **OVERFIT) for s in (0, 1)]
            + [Config("healthy", s, **HEALTHY) for s in (0, 1)])


def _frame(x, y):
    import pandas as pd

    df = pd.DataFrame(x, columns=[f"px{i}" for i in range(x.shape[1])])
    df["label"] = y
    return df


def train_and_log(case: str, cfg: Config, run_name: str) -> tuple[str, str | None, list]:
    """Train for real; log train/eval loss under `loss` with dataset= (and model_id=).

    Returns (run_id, model_id, truth) where truth lists (step, value, dataset name) as logged.
    """
    import mlflow
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    x_tr, y_tr, x_ev, y_ev = digits(cfg.n_train, cfg.noise, cfg.seed)
    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
    train_ds = mlflow.data.from_pandas(_frame(x_tr, y_tr), name="train", targets="label")
    eval_ds = mlflow.data.from_pandas(_frame(x_ev, y_ev), name="eval", targets="label")
    net = nn.Sequential(nn.Linear(64, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout),
                        nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout),
                        nn.Linear(cfg.hidden, 10))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    xe, ye = torch.from_numpy(x_ev), torch.from_numpy(y_ev)
    gen = torch.Generator().manual_seed(cfg.seed)
    truth: list[tuple[int, float, str]] = []
    mlflow.set_experiment(f"mlflow3-dataset-{case}")
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({k: v for k, v in asdict(cfg).items() if k != "target"})
        mlflow.log_input(train_ds, context="training")
        mlflow.log_input(eval_ds, context="eval")
        model_id = None
        if case == "model":
            model_id = mlflow.initialize_logged_model(name="digits-mlp").model_id
        for epoch in range(1, cfg.epochs + 1):
            net.train()
            perm = torch.randperm(len(yt), generator=gen)
            total, n = 0.0, 0
            for i in range(0, len(perm), cfg.batch_size):
                idx = perm[i : i + cfg.batch_size]
                loss = F.cross_entropy(net(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                n += len(idx)
            train_loss = total / n  # mean training loss over the epoch, as most loops log it
            net.eval()
            with torch.no_grad():
                eval_loss = F.cross_entropy(net(xe), ye).item()
            extra = {"model_id": model_id} if model_id else {}
            mlflow.log_metric("loss", train_loss, step=epoch, dataset=train_ds, **extra)
            truth.append((epoch, train_loss, "train"))
            mlflow.log_metric("loss", eval_loss, step=epoch, dataset=eval_ds, **extra)
            truth.append((epoch, eval_loss, "eval"))
        if model_id:
            from mlflow.entities import LoggedModelStatus

            mlflow.finalize_logged_model(model_id, LoggedModelStatus.READY)
    return run.info.run_id, model_id, truth


# --------------------------------------------------------------------------------------------
# Read-back, fixture
# --------------------------------------------------------------------------------------------

_DROP_TAGS = ("mlflow.source.name", "mlflow.user")


def _has_path_or_user(s: str) -> bool:
    user = getpass.getuser()
    return ("/" + user in s or s == user or f'"{user}"' in s
            or any(p in s for p in ("/tmp/", "/work/", "/home/", "/root", "file:")))


def _clean_tags(tags: dict) -> dict:
    return {k: v for k, v in sorted(tags.items())
            if k not in _DROP_TAGS and not k.startswith("mlflow.source.git")
            and not _has_path_or_user(str(v))}


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
                       "source_type": ds.source_type, "profile": ds.profile, "tags": tags})
    info = run.info
    return {
        "run": {
            "name": info.run_name, "status": info.status,
            "start_time": info.start_time, "end_time": info.end_time,
            "params": dict(sorted(run.data.params.items())),
            "tags": _clean_tags(run.data.tags),
            "latest_metrics": {k: v for k, v in sorted(run.data.metrics.items())},
            "model_inputs": [m.model_id for m in (run.inputs.model_inputs or [])]
            if run.inputs else [],
            "model_outputs": [{"model_id": m.model_id, "step": m.step}
                              for m in (run.outputs.model_outputs or [])] if run.outputs else [],
        },
        "inputs": inputs,
        "metrics": metrics,
    }


def read_logged_model(uri: str, model_id: str) -> dict:
    """GET /api/2.0/mlflow/logged-models/{model_id}, raw JSON, minus paths and user names."""
    import requests

    model = requests.get(f"{uri}/api/2.0/mlflow/logged-models/{model_id}", timeout=30).json()
    model = model["model"]
    info = model["info"]
    info.pop("artifact_uri", None)
    info["tags"] = [t for t in info.get("tags", [])
                    if t["key"] not in _DROP_TAGS and not t["key"].startswith("mlflow.source.git")
                    and not _has_path_or_user(t["value"])]
    return model


def point_datasets(loss: list, truth: list) -> list[str]:
    """Dataset of each server point of `loss` (in fixture order), matched on (step, value)."""
    by = {(s, v): d for s, v, d in truth}
    out = []
    for s, _, v in loss:
        d = by.get((s, v))
        if d is None:
            raise RuntimeError(f"server point {(s, v)} not among the logged ones")
        out.append(d)
    return out


def main_record(a) -> int:
    import mlflow

    mlflow.set_tracking_uri(a.tracking_uri)
    out_dir = os.path.abspath(a.out)
    if not a.dry_run and not a.only:
        os.makedirs(out_dir, exist_ok=True)
        for old in glob.glob(os.path.join(out_dir, f"mlflow3-dataset-{a.case}-*.json")):
            rest = os.path.basename(old)[len(f"mlflow3-dataset-{a.case}-"):-5]
            if rest.split("-")[0] in ("overfit", "healthy"):
                os.remove(old)
    counts: dict[str, int] = {}
    for i, cfg in enumerate(configs()):
        if a.only and i not in a.only:
            continue
        run_name = f"mlflow3-{a.case}-{cfg.target}-seed{cfg.seed}"
        t0 = time.time()
        run_id, model_id, truth = train_and_log(a.case, cfg, run_name)
        rec = read_run(a.tracking_uri, run_id)
        loss = rec["metrics"]["loss"]
        dsets = point_datasets(loss, truth)
        train = [(s, v) for (s, _, v), d in zip(loss, dsets, strict=True) if d == "train"]
        val = [(s, v) for (s, _, v), d in zip(loss, dsets, strict=True) if d == "eval"]
        lab = label_curves(train, val)
        # Does "within a step, the earlier timestamp is train" hold for this run?
        order_ok = all(loss[j][0] == loss[j + 1][0] and dsets[j] == "train"
                       and dsets[j + 1] == "eval" and loss[j][1] < loss[j + 1][1]
                       for j in range(0, len(loss), 2))
        summary = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in lab.items()}
        print(f"[{a.case} #{i}] {run_name} {time.time() - t0:.0f}s points={len(loss)} "
              f"train_first_by_timestamp={order_ok} {summary}", flush=True)
        logged_models = []
        if model_id:
            model = read_logged_model(a.tracking_uri, model_id)
            mm = model.get("data", {}).get("metrics", [])
            print(f"    logged model {model_id}: {len(mm)} metric points, datasets "
                  f"{sorted({m.get('dataset_name') for m in mm})}", flush=True)
            # the model's per-point dataset agrees with what the script logged
            by = {(s, v): d for s, v, d in truth}
            assert all(by[(m["step"], m["value"])] == m["dataset_name"] for m in mm)
            logged_models.append(model)
        if lab["label"] != cfg.target:
            print(f"    skipped: wanted {cfg.target}", flush=True)
            continue
        n = counts[cfg.target] = counts.get(cfg.target, 0) + 1
        name = f"mlflow3-dataset-{a.case}-{cfg.target}" + ("" if n == 1 else f"-{n}") + ".json"
        call = ("mlflow.log_metric('loss', v, step=epoch, dataset=train_ds|eval_ds"
                + (", model_id=model.model_id)" if model_id else ")"))
        fixture = {
            "library": "mlflow", "library_version": mlflow.__version__,
            "mlflow_version": mlflow.__version__,
            "integration": "mlflow.log_metric(..., dataset=)" + (" with model_id=" if model_id
                                                                 else " (no model)"),
            "logging": call + " once per epoch each, train then eval, synchronous; "
                       "train_ds/eval_ds = mlflow.data.from_pandas(..., name='train'/'eval'), "
                       "also mlflow.log_input(ds, context='training'/'eval') up front"
                       + ("; model = mlflow.initialize_logged_model(name='digits-mlp') in the "
                          "run, finalize_logged_model(READY) at the end" if model_id else ""),
            "recorded_by": f"{SCRIPT} --case {a.case}",
            "label": lab["label"], "label_pair": ["loss", "loss"],
            "label_pair_datasets": ["train", "eval"],
            "onset_step": lab["onset_step"],
            "labeller": {k: v for k, v in lab.items() if k not in ("label", "onset_step")},
            "config": asdict(cfg) | {
                "model": "torch MLP 64-h-h-10 (ReLU, dropout), AdamW",
                "data": "sklearn digits (64 pixels / 16), clean 400-row eval split, label noise "
                        "on train only; train loss = mean minibatch loss over the epoch"},
            **rec,
            "point_datasets": {
                "loss": dsets,
                "note": "ground truth from the logging process (matched on step and value), "
                        "aligned with metrics['loss']; no run endpoint returns it"
                        + ("; the logged model's metrics (logged_models[0].data.metrics) do"
                           if model_id else ""),
                "train_first_by_timestamp_within_each_step": order_ok,
            },
        }
        if model_id:
            fixture["logged_models"] = logged_models
        if not a.dry_run:
            path = os.path.join(out_dir, name)
            with open(path, "w") as f:
                json.dump(fixture, f, indent=1)
                f.write("\n")
            print(f"    wrote {name} ({os.path.getsize(path)} bytes)", flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# Probe: what each endpoint returns, raw.
# --------------------------------------------------------------------------------------------


def _scrub(obj):
    """Drop paths and user names from a raw response (recursively)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("artifact_uri", "source") or (isinstance(v, str) and _has_path_or_user(v)):
                out[k] = "<scrubbed>"
            else:
                out[k] = _scrub(v)
        return out
    if isinstance(obj, list):
        return [_scrub(x) for x in obj
                if not (isinstance(x, dict) and (x.get("key") in _DROP_TAGS or str(
                    x.get("key", "")).startswith("mlflow.source.git")))]
    return obj


def main_probe(a) -> int:
    import mlflow
    import pandas as pd
    import requests

    u = a.tracking_uri
    mlflow.set_tracking_uri(u)
    mlflow.set_experiment("mlflow3-dataset-probe")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2, 3], "y": [0.0, 1, 0]}),
                                     name="train")
        ev = mlflow.data.from_pandas(pd.DataFrame({"x": [4.0, 5], "y": [1.0, 0]}), name="eval")
    out: dict = {"mlflow_version": mlflow.__version__}

    def get(path, **params):
        r = requests.get(u + path, params=params, timeout=30)
        return {"status": r.status_code, "body": _scrub(r.json())}

    def post(path, body):
        r = requests.post(u + path, json=body, timeout=30)
        return {"status": r.status_code, "body": _scrub(r.json())}

    # 1. no model: train/eval `loss` at steps 0-2, then two equal values, same step and ms
    with mlflow.start_run(run_name="probe-nomodel") as r:
        for s in range(3):
            mlflow.log_metric("loss", 1.0 - 0.1 * s, step=s, dataset=tr)
            mlflow.log_metric("loss", 1.2 - 0.05 * s, step=s, dataset=ev)
        mlflow.log_metric("loss", 0.5, step=10, dataset=tr, timestamp=1700000000000)
        mlflow.log_metric("loss", 0.5, step=10, dataset=ev, timestamp=1700000000000)
        mlflow.log_metric("loss", 0.4, step=11, dataset=tr, timestamp=1700000001000)
        mlflow.log_metric("loss", 0.7, step=11, dataset=ev, timestamp=1700000001000)
    rid, eid = r.info.run_id, r.info.experiment_id
    out["nomodel"] = {
        "logged": "loss@train 1.0/0.9/0.8 and loss@eval 1.2/1.15/1.1 at steps 0-2; step 10: 0.5 "
                  "twice (train, eval) with the same timestamp; step 11: 0.4 (train), 0.7 (eval) "
                  "with the same timestamp",
        "get-history": get("/api/2.0/mlflow/metrics/get-history", run_id=rid, metric_key="loss"),
        "get-history-bulk-interval": get("/api/2.0/mlflow/metrics/get-history-bulk-interval",
                                         run_ids=rid, metric_key="loss", max_results=100),
        "runs/get": get("/api/2.0/mlflow/runs/get", run_id=rid),
        "runs/search": post("/api/2.0/mlflow/runs/search",
                            {"experiment_ids": [eid], "filter": f"attributes.run_id = '{rid}'"}),
    }

    # 2. with a model (initialize_logged_model + model_id=), then a same-millisecond pair
    with mlflow.start_run(run_name="probe-model") as r:
        lm = mlflow.initialize_logged_model(name="probe-model")
        for s in range(3):
            mlflow.log_metric("loss", 1.0 - 0.1 * s, step=s, dataset=tr, model_id=lm.model_id)
            mlflow.log_metric("loss", 1.2 - 0.05 * s, step=s, dataset=ev, model_id=lm.model_id)
        errors = []
        for v, ds in ((0.5, tr), (0.6, ev)):
            try:
                mlflow.log_metric("loss", v, step=10, dataset=ds, timestamp=1700000000000,
                                  model_id=lm.model_id)
            except Exception as e:  # noqa: BLE001 - recorded
                errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
    rid = r.info.run_id
    out["model"] = {
        "logged": "as no-model steps 0-2 with model_id=; then step 10: 0.5 (train) and 0.6 "
                  "(eval) with the same timestamp",
        "errors": errors,
        "get-history": get("/api/2.0/mlflow/metrics/get-history", run_id=rid, metric_key="loss"),
        "runs/get": get("/api/2.0/mlflow/runs/get", run_id=rid),
        "logged-models/get": get(f"/api/2.0/mlflow/logged-models/{lm.model_id}"),
        "logged-models/search": post("/api/2.0/mlflow/logged-models/search",
                                     {"experiment_ids": [r.info.experiment_id],
                                      "filter": "name = 'probe-model'", "max_results": 5}),
    }

    # 3. set_active_model: metrics go to the active model without model_id=
    with mlflow.start_run(run_name="probe-active-model") as r:
        am = mlflow.set_active_model(name="probe-active-model")
        for s in range(2):
            mlflow.log_metric("loss", 1.0 - 0.1 * s, step=s, dataset=tr)
            mlflow.log_metric("loss", 1.2 - 0.05 * s, step=s, dataset=ev)
    mlflow.clear_active_model()
    out["active_model"] = {
        "runs/get": get("/api/2.0/mlflow/runs/get", run_id=r.info.run_id),
        "logged-models/get": get(f"/api/2.0/mlflow/logged-models/{am.model_id}"),
    }

    # 4. async logging of train/eval pairs (timestamps often equal within a step)
    with mlflow.start_run(run_name="probe-async") as r:
        lm = mlflow.initialize_logged_model(name="probe-async")
        for s in range(20):
            mlflow.log_metric("loss", 1.0 - 0.01 * s, step=s, dataset=tr, model_id=lm.model_id,
                              synchronous=False)
            mlflow.log_metric("loss", 2.0 - 0.01 * s, step=s, dataset=ev, model_id=lm.model_id,
                              synchronous=False)
        mlflow.flush_async_logging()
    hist = requests.get(u + "/api/2.0/mlflow/metrics/get-history",
                        params={"run_id": r.info.run_id, "metric_key": "loss"},
                        timeout=30).json()["metrics"]
    mm = requests.get(u + f"/api/2.0/mlflow/logged-models/{lm.model_id}",
                      timeout=30).json()["model"].get("data", {}).get("metrics", [])
    same_ms = sum(len({h["timestamp"] for h in hist if h["step"] == s}) == 1 for s in range(20))
    out["async"] = {"logged": "20 steps x (train, eval), synchronous=False, model_id=",
                    "run_history_points": len(hist), "logged_model_points": len(mm),
                    "steps_with_train_and_eval_in_same_ms": same_ms}
    text = json.dumps(out, indent=1)
    print(text)
    if a.probe_out:
        with open(a.probe_out, "w") as f:
            f.write(text + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", required=True, choices=("nomodel", "model", "probe"))
    ap.add_argument("--tracking-uri", default=DEFAULT_URI)
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "libraries"))
    ap.add_argument("--probe-out", default="", help="probe: also write its JSON here")
    ap.add_argument("--dry-run", action="store_true", help="train, log and label; write nothing")
    ap.add_argument("--only", type=int, nargs="*", help="indices of configs to run (tuning)")
    a = ap.parse_args(argv)
    return main_probe(a) if a.case == "probe" else main_record(a)


if __name__ == "__main__":
    sys.exit(main())
