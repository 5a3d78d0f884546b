"""Record real MLflow runs logged by XGBoost's, LightGBM's and scikit-learn's MLflow autologging.

Each case trains small models on data sets that ship with scikit-learn (``make_classification``
with label noise, ``make_friedman1``, breast cancer, digits; no downloads) with the library's own
MLflow integration exactly as a user would call it (``mlflow.xgboost.autolog()``,
``mlflow.lightgbm.autolog()``, ``mlflow.sklearn.autolog()``; the metrics are whatever autolog's
training callback logs, never renamed, never logged by us), logs to a local MLflow server, reads
each run back with ``MlflowClient`` (``get_run`` + ``get_metric_history`` of every key), labels the
train/val pair with the team's labeller rule (``label_curves`` below, the rule of
``shared/overfit-curves/README.md``) and writes the runs that got the label they were built for to
``tests/data/libraries/<library>-<variant>-<label>[-N].json``. Values are never edited.

Run it in a scratch venv outside the repo (never the project's .venv):

    python3 -m venv /work/venvs/gbdt
    /work/venvs/gbdt/bin/pip install mlflow xgboost lightgbm scikit-learn pandas
    mkdir -p /tmp/gbdt && MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false /work/venvs/gbdt/bin/mlflow \
        server --backend-store-uri sqlite:////tmp/gbdt/mlflow.db \
        --default-artifact-root /tmp/gbdt/artifacts --workers 1 --host 127.0.0.1 --port 5701 &
    cd /tmp/gbdt && /work/venvs/gbdt/bin/python /work/main/bench/record/gbdt.py --case xgb-native

One case per process (autolog patches are process-wide); ``--case all`` runs every case, each in
its own subprocess. Cases: xgb-native, xgb-native-multi, xgb-native-earlystop,
xgb-native-autorun, xgb-sklearn, xgb-sklearn-3evals, lgb-native, lgb-native-earlystop,
lgb-native-autorun, lgb-sklearn, lgb-sklearn-regression, sklearn-gbc, sklearn-mlp.
``--dry-run`` trains, logs and labels but writes no file; ``--only I ...`` runs some configs only
(tuning; writes nothing). Seeds are fixed per config, so the curves are reproducible (the
timestamps and run ids are not). A case's earlier fixtures are deleted before it is re-recorded.
Recorded with xgboost 3.2.0, lightgbm 4.7.0, scikit-learn 1.9.1, mlflow 3.17.2, on 2 CPU cores;
each run takes 5-30 s on a busy machine (most of it autolog saving the model).
"""

from __future__ import annotations

import argparse
import getpass
import glob
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

SCRIPT = "bench/record/gbdt.py"
# Overfitting runs are kept only when the smoothed val ends 30-200% above its minimum (a clear
# turn, not a blow-up); early-stopping runs stop 100 rounds after the best one, so only the
# labeller's own 10% applies to them.
OVERFIT_RISE = (0.30, 2.00)
DEFAULT_URI = "http://127.0.0.1:5701"
EXPERIMENT = "record-gbdt"


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
    """Label a (train, val) loss pair: overfit / healthy / diverge / ambiguous, with its numbers.

    Train values are aligned to the val steps: the latest train point at or before each val step
    (GBDT callbacks log both at every round, so this is the same-step value). A val curve with
    fewer than 2 points is ``single`` (nothing to judge).
    """
    train = sorted(train, key=lambda p: p[0])
    val = sorted(val, key=lambda p: p[0])
    if len(val) < 2 or not train:
        return {"label": "single", "onset_step": None, "n_train": len(train), "n_val": len(val)}
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
    max_rise = (max(sv[i_min:]) - sv[i_min]) / max(abs(sv[i_min]), 1e-12)
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
        "val_max_rise_after_min": max_rise,
        "train_drop_after_min": train_drop,
        "val_points_after_min": after,
        "n_train": len(train),
        "n_val": len(val),
    }


# --------------------------------------------------------------------------------------------
# Data (all generated or shipped with scikit-learn), split deterministically by seed.
# --------------------------------------------------------------------------------------------


@dataclass
class Config:
    target: str  # the label this run is built to get: "overfit", "healthy" or "single"
    seed: int
    data: str  # "clf" (make_classification), "cancer", "friedman", "digits"
    n_train: int
    noise: float  # flip_y for clf, label-flip rate on train for cancer, noise sd for friedman
    params: dict
    rounds: int = 0
    n_val: int = 400
    extra: dict = field(default_factory=dict)


def load_data(cfg: Config, with_test: bool = False):
    """Return (x_train, y_train, x_val, y_val[, x_test, y_test]) as float32/int numpy arrays."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    n_test = 300 if with_test else 0
    rng = np.random.default_rng(cfg.seed)
    strat = True
    if cfg.data == "clf":
        from sklearn.datasets import make_classification

        x, y = make_classification(
            n_samples=cfg.n_train + cfg.n_val + n_test, n_features=20, n_informative=8,
            n_redundant=4, flip_y=cfg.noise, class_sep=1.0, random_state=cfg.seed)
    elif cfg.data == "friedman":
        from sklearn.datasets import make_friedman1

        x, y = make_friedman1(n_samples=cfg.n_train + cfg.n_val + n_test, n_features=10,
                              noise=0.0, random_state=cfg.seed)  # noise: train rows only
        strat = False
    elif cfg.data == "diabetes":
        from sklearn.datasets import load_diabetes

        x, y = load_diabetes(return_X_y=True)
        strat = False
    elif cfg.data == "cancer":
        from sklearn.datasets import load_breast_cancer

        x, y = load_breast_cancer(return_X_y=True)
    elif cfg.data == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        x = x / 16.0
    else:
        raise ValueError(cfg.data)
    x = x.astype("float32")
    x_rest, x_val, y_rest, y_val = train_test_split(
        x, y, test_size=cfg.n_val, random_state=cfg.seed, stratify=y if strat else None)
    if with_test:
        x_rest, x_test, y_rest, y_test = train_test_split(
            x_rest, y_rest, test_size=n_test, random_state=cfg.seed,
            stratify=y_rest if strat else None)
    if cfg.n_train < len(y_rest):
        x_train, _, y_train, _ = train_test_split(
            x_rest, y_rest, train_size=cfg.n_train, random_state=cfg.seed,
            stratify=y_rest if strat else None)
    else:
        x_train, y_train = x_rest, y_rest
    if cfg.data == "cancer" and cfg.noise:  # label noise on the training rows only
        flip = rng.random(len(y_train)) < cfg.noise
        y_train = np.where(flip, 1 - y_train, y_train)
    if cfg.data == "friedman" and cfg.noise:  # Gaussian noise on the training targets only
        y_train = y_train + rng.normal(0.0, cfg.noise, len(y_train))
    out = (x_train, y_train, x_val, y_val)
    return out + (x_test, y_test) if with_test else out


DATA_DESC = {
    "clf": "make_classification(20 features, 8 informative, 4 redundant, flip_y=noise), "
           "stratified split, val 400 rows",
    "cancer": "load_breast_cancer, val 200 rows, labels flipped on train rows with prob. noise",
    "friedman": "make_friedman1(10 features, noise=0), val 400 clean rows, Gaussian noise "
                "(sd=noise) added to the training targets only",
    "diabetes": "load_diabetes, val 142 rows",
    "digits": "load_digits (x/16), val 500 rows",
}


# --------------------------------------------------------------------------------------------
# Configurations. Overfitting: few noisy rows, deep trees, high learning rate, no
# regularisation, many rounds. Healthy: more rows, shallow trees, low learning rate,
# subsampling, min_child_weight / min_data_in_leaf, L2. The order fixes the -N numbering.
# --------------------------------------------------------------------------------------------

XGB_OVER = [
    dict(seed=0, data="clf", n_train=300, noise=0.25, rounds=300,
         params=dict(eta=0.3, max_depth=6, min_child_weight=1, reg_lambda=0.0)),
    dict(seed=1, data="clf", n_train=300, noise=0.25, rounds=400,
         params=dict(eta=0.1, max_depth=8, min_child_weight=0, reg_lambda=0.3)),
    dict(seed=2, data="clf", n_train=400, noise=0.25, rounds=300,
         params=dict(eta=0.05, max_depth=8, min_child_weight=0, reg_lambda=0.3)),
    dict(seed=3, data="cancer", n_train=369, noise=0.25, n_val=200, rounds=250,
         params=dict(eta=0.2, max_depth=6, min_child_weight=0, reg_lambda=0.0)),
]
XGB_HEALTHY = [
    dict(seed=0, data="clf", n_train=2000, noise=0.05, rounds=200,
         params=dict(eta=0.05, max_depth=3, min_child_weight=5, reg_lambda=5.0, subsample=0.8,
                     colsample_bytree=0.8)),
    dict(seed=1, data="clf", n_train=2000, noise=0.05, rounds=300,
         params=dict(eta=0.03, max_depth=4, min_child_weight=5, reg_lambda=5.0, subsample=0.8,
                     colsample_bytree=0.8)),
    dict(seed=4, data="cancer", n_train=369, noise=0.0, n_val=200, rounds=150,
         params=dict(eta=0.05, max_depth=2, min_child_weight=3, reg_lambda=5.0, subsample=0.8)),
]
# LightGBM native parameter names; the scikit-learn API cases map them to the estimator's own
# names (SKLEARN_NAMES) as a user of LGBMClassifier would write them.
LGB_OVER = [
    dict(seed=0, data="clf", n_train=300, noise=0.2, rounds=300,
         params=dict(learning_rate=0.1, num_leaves=63, min_data_in_leaf=2, lambda_l2=0.0)),
    dict(seed=1, data="clf", n_train=400, noise=0.25, rounds=400,
         params=dict(learning_rate=0.05, num_leaves=31, min_data_in_leaf=3, lambda_l2=0.0)),
    dict(seed=2, data="clf", n_train=300, noise=0.2, rounds=250,
         params=dict(learning_rate=0.2, num_leaves=31, min_data_in_leaf=5, lambda_l2=0.0)),
    dict(seed=3, data="cancer", n_train=369, noise=0.2, n_val=200, rounds=300,
         params=dict(learning_rate=0.1, num_leaves=31, min_data_in_leaf=2, lambda_l2=0.0,
                     feature_fraction=0.5)),
]
LGB_HEALTHY = [
    dict(seed=0, data="clf", n_train=2000, noise=0.05, rounds=200,
         params=dict(learning_rate=0.05, num_leaves=7, min_data_in_leaf=30, lambda_l2=5.0,
                     bagging_fraction=0.8, bagging_freq=1, feature_fraction=0.8)),
    dict(seed=1, data="clf", n_train=2000, noise=0.05, rounds=300,
         params=dict(learning_rate=0.03, num_leaves=15, min_data_in_leaf=40, lambda_l2=5.0,
                     bagging_fraction=0.8, bagging_freq=1, feature_fraction=0.8)),
    dict(seed=4, data="cancer", n_train=369, noise=0.0, n_val=200, rounds=150,
         params=dict(learning_rate=0.05, num_leaves=4, min_data_in_leaf=20, lambda_l2=5.0,
                     bagging_fraction=0.8, bagging_freq=1)),
]
LGB_REG_OVER = [
    dict(seed=0, data="friedman", n_train=100, noise=5.0, rounds=400,
         params=dict(learning_rate=0.02, num_leaves=63, min_data_in_leaf=1, lambda_l2=0.0)),
    dict(seed=1, data="friedman", n_train=150, noise=6.0, rounds=400,
         params=dict(learning_rate=0.02, num_leaves=63, min_data_in_leaf=1, lambda_l2=0.0)),
]
LGB_REG_HEALTHY = [
    dict(seed=0, data="friedman", n_train=2000, noise=1.0, rounds=300,
         params=dict(learning_rate=0.05, num_leaves=15, min_data_in_leaf=20, lambda_l2=1.0)),
    dict(seed=1, data="friedman", n_train=2000, noise=1.0, rounds=400,
         params=dict(learning_rate=0.03, num_leaves=7, min_data_in_leaf=30, lambda_l2=5.0,
                     bagging_fraction=0.8, bagging_freq=1)),
]
SKLEARN_NAMES = {"min_data_in_leaf": "min_child_samples", "lambda_l2": "reg_lambda",
                 "bagging_fraction": "subsample", "bagging_freq": "subsample_freq",
                 "feature_fraction": "colsample_bytree"}


# Each case draws its own data (seed + offset), so no two cases record the same curves.
SEED_OFFSET = {"xgb-native-multi": 10, "xgb-native-earlystop": 20, "xgb-sklearn": 30,
               "xgb-sklearn-3evals": 40, "xgb-native-autorun": 50, "lgb-native-earlystop": 20,
               "lgb-sklearn": 30, "lgb-native-autorun": 50}
ES_ROUNDS = 100  # early_stopping_rounds / lgb.early_stopping(stopping_rounds)


def configs(case: str) -> list[Config]:
    if case.startswith("sklearn-"):
        if case == "sklearn-gbc":
            return [Config("single", 0, "cancer", 369, 0.0, dict(n_estimators=100), n_val=200)]
        return [Config("single", 0, "digits", 1000, 0.0,
                       dict(hidden_layer_sizes=(64,), max_iter=100), n_val=500)]
    if case.startswith("lgb-sklearn-regression"):
        over, healthy = LGB_REG_OVER, LGB_REG_HEALTHY
    elif case.startswith("lgb"):
        over, healthy = LGB_OVER, LGB_HEALTHY
    else:
        over, healthy = XGB_OVER, XGB_HEALTHY
    if case.endswith("earlystop"):  # early stopping only makes sense on the overfitting runs
        over, healthy = over[:3], []
    elif case.endswith("autorun"):
        over, healthy = over[:1], healthy[:1]
    elif case.endswith("3evals"):
        over, healthy = over[:2], healthy[:1]
    off = SEED_OFFSET.get(case, 0)
    return ([Config("overfit", **{**c, "seed": c["seed"] + off}) for c in over]
            + [Config("healthy", **{**c, "seed": c["seed"] + off}) for c in healthy])


# --------------------------------------------------------------------------------------------
# Cases: (library, integration, logging description, judged pair, other pairs)
# --------------------------------------------------------------------------------------------

CASES = {
    "xgb-native": (
        "xgboost", "mlflow.xgboost.autolog()",
        "xgb.train(params, dtrain, num_boost_round, evals=[(dtrain,'train'),(dvalid,'validation')]"
        ", verbose_eval=False), params['eval_metric']='logloss'",
        ("train-logloss", "validation-logloss"), []),
    "xgb-native-multi": (
        "xgboost", "mlflow.xgboost.autolog()",
        "xgb.train(params, dtrain, num_boost_round, evals=[(dtrain,'train'),(dvalid,'valid')], "
        "verbose_eval=False), params['eval_metric']=['error','logloss']",
        ("train-logloss", "valid-logloss"), [("train-error", "valid-error")]),
    "xgb-native-earlystop": (
        "xgboost", "mlflow.xgboost.autolog()",
        "xgb.train(params, dtrain, num_boost_round, evals=[(dtrain,'train'),(dvalid,'validation')]"
        ", early_stopping_rounds=100, verbose_eval=False), params['eval_metric']='logloss'",
        ("train-logloss", "validation-logloss"), []),
    "xgb-native-autorun": (
        "xgboost", "mlflow.xgboost.autolog()",
        "no mlflow.start_run(): autolog creates and ends the run itself; xgb.train(params, dtrain, "
        "num_boost_round, evals=[(dtrain,'train'),(dvalid,'validation')], verbose_eval=False), "
        "params['eval_metric']='logloss'",
        ("train-logloss", "validation-logloss"), []),
    "xgb-sklearn": (
        "xgboost", "mlflow.xgboost.autolog()",
        "XGBClassifier(n_estimators, learning_rate, max_depth, ..., eval_metric='logloss')"
        ".fit(x_train, y_train, eval_set=[(x_train,y_train),(x_val,y_val)], verbose=False)",
        ("validation_0-logloss", "validation_1-logloss"), []),
    "xgb-sklearn-3evals": (
        "xgboost", "mlflow.xgboost.autolog()",
        "XGBClassifier(..., eval_metric='logloss').fit(x_train, y_train, eval_set=[(x_train,"
        "y_train),(x_val,y_val),(x_test,y_test)], verbose=False); test = a second held-out split",
        ("validation_0-logloss", "validation_1-logloss"),
        [("validation_0-logloss", "validation_2-logloss")]),
    "lgb-native": (
        "lightgbm", "mlflow.lightgbm.autolog()",
        "lgb.train(params, dtrain, num_boost_round, valid_sets=[dtrain, dvalid], "
        "valid_names=['train','valid']), params objective='binary', metric='binary_logloss'",
        ("train-binary_logloss", "valid-binary_logloss"), []),
    "lgb-native-earlystop": (
        "lightgbm", "mlflow.lightgbm.autolog()",
        "lgb.train(params, dtrain, num_boost_round, valid_sets=[dtrain, dvalid], "
        "valid_names=['train','valid'], callbacks=[lgb.early_stopping(100, verbose=False)]), "
        "params objective='binary', metric='binary_logloss'",
        ("train-binary_logloss", "valid-binary_logloss"), []),
    "lgb-native-autorun": (
        "lightgbm", "mlflow.lightgbm.autolog()",
        "no mlflow.start_run(): autolog creates and ends the run itself; lgb.train(params, dtrain,"
        " num_boost_round, valid_sets=[dtrain, dvalid], valid_names=['train','valid']), params "
        "objective='binary', metric='binary_logloss'",
        ("train-binary_logloss", "valid-binary_logloss"), []),
    "lgb-sklearn": (
        "lightgbm", "mlflow.lightgbm.autolog()",
        "LGBMClassifier(n_estimators, learning_rate, num_leaves, ...).fit(x_train, y_train, "
        "eval_set=[(x_train,y_train),(x_val,y_val)]) (default eval_names, default metric)",
        ("training-binary_logloss", "valid_1-binary_logloss"), []),
    "lgb-sklearn-regression": (
        "lightgbm", "mlflow.lightgbm.autolog()",
        "LGBMRegressor(n_estimators, learning_rate, num_leaves, ...).fit(x_train, y_train, "
        "eval_set=[(x_train,y_train),(x_val,y_val)]) (default eval_names, default metric l2)",
        ("training-l2", "valid_1-l2"), []),
    "sklearn-gbc": (
        "scikit-learn", "mlflow.sklearn.autolog()",
        "GradientBoostingClassifier(n_estimators=100).fit(x_train, y_train); then "
        "clf.score(x_val, y_val) and sklearn.metrics.log_loss(y_val, clf.predict_proba(x_val))",
        ("training_log_loss", "log_loss_x_val"), []),
    "sklearn-mlp": (
        "scikit-learn", "mlflow.sklearn.autolog()",
        "MLPClassifier(hidden_layer_sizes=(64,), max_iter=100).fit(x_train, y_train); then "
        "clf.score(x_val, y_val) and sklearn.metrics.log_loss(y_val, clf.predict_proba(x_val))",
        ("training_log_loss", "log_loss_x_val"), []),
}


def _prepare(case: str, uri: str):
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(EXPERIMENT)
    lib = CASES[case][0]
    if lib == "xgboost":
        mlflow.xgboost.autolog()
    elif lib == "lightgbm":
        mlflow.lightgbm.autolog()
    else:
        mlflow.sklearn.autolog()


def train(case: str, cfg: Config, run_name: str) -> str:
    """Train one config under the case's autolog (already enabled); return the run id."""
    import mlflow

    with_test = case == "xgb-sklearn-3evals"
    data = load_data(cfg, with_test=with_test)
    x_train, y_train, x_val, y_val = data[:4]
    import contextlib

    autorun = case.endswith("autorun")  # let autolog create (and name) the run itself
    with (contextlib.nullcontext() if autorun else mlflow.start_run(run_name=run_name)):
        if case.startswith("xgb-native"):
            import xgboost as xgb

            params = dict(objective="binary:logistic", eval_metric="logloss", nthread=2,
                          seed=cfg.seed, **cfg.params)
            names = ("train", "validation")
            if case == "xgb-native-multi":
                params["eval_metric"] = ["error", "logloss"]
                names = ("train", "valid")
            dtrain = xgb.DMatrix(x_train, label=y_train)
            dvalid = xgb.DMatrix(x_val, label=y_val)
            kw = dict(early_stopping_rounds=ES_ROUNDS) if case.endswith("earlystop") else {}
            xgb.train(params, dtrain, num_boost_round=cfg.rounds,
                      evals=[(dtrain, names[0]), (dvalid, names[1])], verbose_eval=False, **kw)
        elif case.startswith("xgb-sklearn"):
            import xgboost as xgb

            p = dict(cfg.params)
            clf = xgb.XGBClassifier(
                n_estimators=cfg.rounds, learning_rate=p.pop("eta"), eval_metric="logloss",
                n_jobs=2, random_state=cfg.seed, **p)
            eval_set = [(x_train, y_train), (x_val, y_val)]
            if with_test:
                eval_set.append((data[4], data[5]))
            clf.fit(x_train, y_train, eval_set=eval_set, verbose=False)
        elif case.startswith("lgb-native"):
            import lightgbm as lgb

            params = dict(objective="binary", metric="binary_logloss", num_threads=2,
                          seed=cfg.seed, verbose=-1, **cfg.params)
            dtrain = lgb.Dataset(x_train, label=y_train)
            dvalid = lgb.Dataset(x_val, label=y_val, reference=dtrain)
            cbs = ([lgb.early_stopping(ES_ROUNDS, verbose=False)] if case.endswith("earlystop")
                   else None)
            lgb.train(params, dtrain, num_boost_round=cfg.rounds, valid_sets=[dtrain, dvalid],
                      valid_names=["train", "valid"], callbacks=cbs)
        elif case.startswith("lgb-sklearn"):
            import lightgbm as lgb

            p = {SKLEARN_NAMES.get(k, k): v for k, v in cfg.params.items()}
            cls = lgb.LGBMRegressor if case.endswith("regression") else lgb.LGBMClassifier
            est = cls(n_estimators=cfg.rounds, n_jobs=2, random_state=cfg.seed, verbose=-1, **p)
            est.fit(x_train, y_train, eval_set=[(x_train, y_train), (x_val, y_val)])
        elif case == "sklearn-gbc":
            from sklearn.ensemble import GradientBoostingClassifier
            from sklearn.metrics import log_loss

            clf = GradientBoostingClassifier(random_state=cfg.seed, **cfg.params)
            clf.fit(x_train, y_train)
            clf.score(x_val, y_val)
            log_loss(y_val, clf.predict_proba(x_val))
        elif case == "sklearn-mlp":
            import warnings

            from sklearn.metrics import log_loss
            from sklearn.neural_network import MLPClassifier

            clf = MLPClassifier(random_state=cfg.seed, **cfg.params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit(x_train, y_train)
            clf.score(x_val, y_val)
            log_loss(y_val, clf.predict_proba(x_val))
        else:
            raise ValueError(case)
        if not autorun:
            return mlflow.active_run().info.run_id
    return mlflow.last_active_run().info.run_id


# --------------------------------------------------------------------------------------------
# Read-back and fixture
# --------------------------------------------------------------------------------------------

_DROP_TAGS = ("mlflow.source.name", "mlflow.user")


def _clean_tags(tags: dict) -> dict:
    user, host = getpass.getuser(), socket.gethostname()
    out = {}
    for k, v in sorted(tags.items()):
        if k in _DROP_TAGS or k.startswith("mlflow.source.git"):
            continue
        s = str(v)
        if (s == user or "/" + user in s or (host and host in s)
                or any(p in s for p in ("/tmp/", "/work/", "/home/", "/root", "file:"))):
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
                       "source_type": ds.source_type, "profile": ds.profile})
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


def _round(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", required=True, choices=sorted(CASES) + ["all"])
    ap.add_argument("--tracking-uri", default=DEFAULT_URI)
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "libraries"))
    ap.add_argument("--dry-run", action="store_true", help="train, log and label; write nothing")
    ap.add_argument("--only", type=int, nargs="*", help="indices of configs to run (tuning)")
    a = ap.parse_args(argv)

    if a.case == "all":  # one process per case: autolog patches are process-wide
        rc = 0
        for case in CASES:
            cmd = [sys.executable, os.path.abspath(__file__), "--case", case,
                   "--tracking-uri", a.tracking_uri, "--out", a.out]
            rc |= subprocess.call(cmd + (["--dry-run"] if a.dry_run else []))
        return rc

    import mlflow

    library, integration, logging_desc, pair, others = CASES[a.case]
    if library == "xgboost":
        import xgboost as lib
    elif library == "lightgbm":
        import lightgbm as lib
    else:
        import sklearn as lib
    variant = a.case.split("-", 1)[1]
    out_dir = os.path.abspath(a.out)
    prefix = f"{library}-{variant}-"
    write = not a.dry_run and not a.only
    if write:
        os.makedirs(out_dir, exist_ok=True)
        for old in glob.glob(os.path.join(out_dir, prefix + "*.json")):
            rest = os.path.basename(old)[len(prefix):-5]
            if rest.split("-")[0] in ("overfit", "healthy", "single"):
                os.remove(old)
    _prepare(a.case, a.tracking_uri)
    counts: dict[str, int] = {}
    for i, cfg in enumerate(configs(a.case)):
        if a.only and i not in a.only:
            continue
        run_name = f"{a.case}-{cfg.target}-seed{cfg.seed}"
        t0 = time.time()
        run_id = train(a.case, cfg, run_name)
        rec = read_run(a.tracking_uri, run_id)
        m = rec["metrics"]
        lab = label_curves(_pairs(m, pair[0]), _pairs(m, pair[1]))
        other = {"/".join(p): _round(label_curves(_pairs(m, p[0]), _pairs(m, p[1])))
                 for p in others}
        print(f"[{a.case} #{i}] {run_name} {time.time() - t0:.0f}s keys="
              f"{ {k: len(v) for k, v in m.items()} } params={len(rec['run']['params'])} "
              f"{_round(lab)}", flush=True)
        for k, v in other.items():
            print(f"    other pair {k}: {v}", flush=True)
        if lab["label"] != cfg.target:
            print(f"    skipped: wanted {cfg.target}", flush=True)
            continue
        if (lab["label"] == "overfit" and not a.case.endswith("earlystop")
                and not OVERFIT_RISE[0] <= lab["val_rise_at_end"] <= OVERFIT_RISE[1]):
            print(f"    skipped: val rise at end outside {OVERFIT_RISE}", flush=True)
            continue
        n = counts[cfg.target] = counts.get(cfg.target, 0) + 1
        name = f"{prefix}{cfg.target}" + ("" if n == 1 else f"-{n}") + ".json"
        fixture = {
            "library": library, "library_version": lib.__version__,
            "mlflow_version": mlflow.__version__,
            "integration": integration, "logging": logging_desc,
            "recorded_by": f"{SCRIPT} --case {a.case}",
            "label": lab["label"], "label_pair": list(pair), "onset_step": lab["onset_step"],
            "labeller": {k: v for k, v in lab.items() if k not in ("label", "onset_step")},
            "other_pairs": other,
            "config": {"seed": cfg.seed, "data": DATA_DESC[cfg.data], "n_train": cfg.n_train,
                       "n_val": cfg.n_val, "noise": cfg.noise, "rounds": cfg.rounds,
                       "params": cfg.params},
            **rec,
        }
        if write:
            path = os.path.join(out_dir, name)
            text = json.dumps(fixture, indent=1)
            # one line per innermost list (metric points [step, timestamp, value])
            text = re.sub(r"\[\s+([^\[\]{}\"]*?)\s+\]",
                          lambda mo: "[" + re.sub(r"\s+", "", mo.group(1)) + "]", text)
            with open(path, "w") as f:
                f.write(text + "\n")
            print(f"    wrote {name} ({os.path.getsize(path) // 1024} KB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
