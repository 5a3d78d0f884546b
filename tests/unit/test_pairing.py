"""Unit tests of train/validation metric pairing by name."""

from __future__ import annotations

import pytest

from mlflow_tui.analysis import MetricPair, find_pairs, loss_like, primary_pair


@pytest.mark.parametrize(
    ("keys", "train", "val"),
    [
        (["train_loss", "val_loss"], "train_loss", "val_loss"),
        (["train/loss", "val/loss"], "train/loss", "val/loss"),
        (["loss", "val_loss"], "loss", "val_loss"),  # Keras
        (["training_loss", "validation_loss"], "training_loss", "validation_loss"),
        (["train_loss", "eval_loss"], "train_loss", "eval_loss"),  # Hugging Face
        (["loss", "eval_loss"], "loss", "eval_loss"),  # Hugging Face
        (["train_loss", "valid_loss"], "train_loss", "valid_loss"),
        (["train_loss", "test_loss"], "train_loss", "test_loss"),
        (["loss_train", "loss_val"], "loss_train", "loss_val"),
        (["loss/train", "loss/valid"], "loss/train", "loss/valid"),
        (["train.loss", "val.loss"], "train.loss", "val.loss"),
        (["train-loss", "val-loss"], "train-loss", "val-loss"),
        (["train/loss", "eval/loss"], "train/loss", "eval/loss"),
    ],
)
def test_loss_conventions(keys, train, val):
    assert find_pairs(keys) == [MetricPair(train=train, val=val, higher_is_better=False)]
    assert primary_pair(keys) == MetricPair(train=train, val=val, higher_is_better=False)


@pytest.mark.parametrize("metric", ["acc", "accuracy", "f1", "auc", "precision", "recall", "r2",
                                    "iou", "dice", "map", "bleu", "rouge"])
def test_accuracy_like_is_higher_is_better(metric):
    pairs = find_pairs([f"train_{metric}", f"val_{metric}"])
    assert pairs == [MetricPair(f"train_{metric}", f"val_{metric}", True)]


def test_keras_accuracy_bare():
    assert find_pairs(["accuracy", "val_accuracy"]) == [
        MetricPair("accuracy", "val_accuracy", True)]


def test_prefers_val_over_test():
    pairs = find_pairs(["train_loss", "test_loss", "val_loss"])
    assert pairs == [MetricPair("train_loss", "val_loss", False)]


def test_loss_pairs_first_then_by_name():
    keys = ["val_acc", "train_acc", "train_loss", "val_loss", "train_f1", "val_f1",
            "train_mse", "val_mse"]
    pairs = find_pairs(keys)
    assert [p.train for p in pairs] == ["train_loss", "train_mse", "train_acc", "train_f1"]
    assert primary_pair(keys) == MetricPair("train_loss", "val_loss", False)


def test_primary_pair_without_loss():
    assert primary_pair(["train_acc", "val_acc"]) == MetricPair("train_acc", "val_acc", True)


def test_no_pairs():
    assert find_pairs(["lr", "epoch", "system/cpu_utilization_percentage"]) == []
    assert find_pairs([]) == []
    assert primary_pair(["val_loss"]) is None
    assert primary_pair(["train_loss"]) is None


def test_system_metrics_ignored():
    keys = ["system/train_loss", "system/val_loss", "system/gpu_0_memory_usage_megabytes"]
    assert find_pairs(keys) == []
    assert loss_like(keys) == []


def test_loss_like():
    keys = ["train_loss", "val_loss", "lr", "val_acc", "mse", "val_rmse", "nll", "perplexity",
            "eval_ppl", "cross_entropy", "error_rate", "system/loss", "epoch"]
    assert loss_like(keys) == ["train_loss", "val_loss", "mse", "val_rmse", "nll", "perplexity",
                               "eval_ppl", "cross_entropy", "error_rate"]


def test_metric_pair_frozen():
    p = MetricPair("train_loss", "val_loss", False)
    with pytest.raises(AttributeError):
        p.train = "x"  # type: ignore[misc]


def test_accepts_iterables_and_duplicates():
    keys = iter(["train_loss", "val_loss", "val_loss"])
    assert find_pairs(keys) == [MetricPair("train_loss", "val_loss", False)]


def test_ultralytics_yolo_callback_keys():
    # Written key for key from ultralytics/utils/callbacks/mlflow.py (on_train_epoch_end logs
    # sanitize_dict(trainer.lr) and trainer.label_loss_items(tloss, prefix="train");
    # on_fit_epoch_end logs trainer.metrics: the validator's metrics with "(" and ")" removed and
    # label_loss_items(..., prefix="val")), all at step=epoch, for a detection model.
    keys = ["lr/pg0", "lr/pg1", "lr/pg2", "train/box_loss", "train/cls_loss", "train/dfl_loss",
            "metrics/precisionB", "metrics/recallB", "metrics/mAP50B", "metrics/mAP50-95B",
            "val/box_loss", "val/cls_loss", "val/dfl_loss"]
    pairs = find_pairs(keys)
    assert [(p.train, p.val) for p in pairs] == [
        ("train/box_loss", "val/box_loss"), ("train/cls_loss", "val/cls_loss"),
        ("train/dfl_loss", "val/dfl_loss")]
    assert not any(p.higher_is_better for p in pairs)


def test_hugging_face_trainer_with_several_evaluation_sets():
    # transformers' Trainer.evaluate, given a dict of evaluation sets, evaluates each with
    # metric_key_prefix=f"{metric_key_prefix}_{eval_dataset_name}": eval_<set>_loss,
    # eval_<set>_runtime, eval_<set>_<compute_metrics key>; training logs the bare "loss" per
    # logging step and one train_loss/train_runtime summary at the end.
    keys = ["loss", "grad_norm", "learning_rate", "epoch",
            "eval_squad_loss", "eval_squad_runtime", "eval_squad_samples_per_second",
            "eval_squad_f1", "eval_news-en_loss", "eval_news-en_runtime",
            "train_loss", "train_runtime", "total_flos"]
    pairs = find_pairs(keys)
    assert {(p.train, p.val) for p in pairs} == {("loss", "eval_squad_loss"),
                                                 ("loss", "eval_news-en_loss")}
    assert all("several evaluation sets" in p.why for p in pairs)
    # Only a loss is paired that way, and only with an eval_ prefix.
    assert find_pairs(["accuracy", "eval_squad_accuracy"]) == []
    assert find_pairs(["loss", "val_squad_loss"]) == []
