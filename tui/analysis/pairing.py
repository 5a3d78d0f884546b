"""Find train/validation metric pairs by name, with no configuration.

Handles the common logging conventions:

- prefixes: ``train_loss``/``val_loss``, ``train/loss``/``val/loss``, ``training_loss``/
  ``validation_loss``, ``train-acc``/``valid-acc``, ``train.f1``/``eval.f1``, and ``test_*``;
- suffixes: ``loss_train``/``loss_val``, ``acc/train``/``acc/valid``;
- bare train metric with a prefixed validation one: ``loss``/``val_loss`` (Keras),
  ``loss``/``eval_loss`` (Hugging Face), ``train_loss``/``eval_loss``.

Separators ``_``, ``/``, ``.`` and ``-`` are all accepted. When a metric has both a validation
and a test counterpart, validation wins (val > valid > validation > eval > dev > test).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MetricPair", "find_pairs", "loss_like", "primary_pair"]


@dataclass(frozen=True)
class MetricPair:
    train: str
    val: str
    higher_is_better: bool


_SEP = r"[_/.\-]"
_TRAIN_WORDS = ("train", "training", "trn")
# Validation-like words, most preferred first.
_VAL_WORDS = ("val", "valid", "validation", "eval", "evaluation", "dev", "test")
_VAL_RANK = {w: i for i, w in enumerate(_VAL_WORDS)}

_PREFIX = re.compile(rf"^(?P<role>[A-Za-z]+){_SEP}(?P<base>.+)$")
_SUFFIX = re.compile(rf"^(?P<base>.+){_SEP}(?P<role>[A-Za-z]+)$")

_LOSS_TOKENS = ("loss", "error", "err", "mse", "mae", "rmse", "msle", "mape", "nll",
                "perplexity", "ppl", "cross_entropy", "crossentropy", "xent", "ce",
                "bce", "huber", "hinge", "kl", "wer", "cer")
_HIGHER_TOKENS = ("acc", "accuracy", "f1", "fscore", "auc", "roc_auc", "auroc", "auprc",
                  "precision", "prec", "recall", "r2", "iou", "miou", "dice", "map", "ap",
                  "bleu", "rouge", "rouge1", "rouge2", "rougel", "meteor", "top1", "top5",
                  "top_1", "top_5", "mcc", "kappa", "jaccard", "ndcg", "mrr", "sensitivity",
                  "specificity", "score")
_TOKEN_SPLIT = re.compile(r"[_/.\-\s@]+")


def _tokens(name: str) -> list[str]:
    return [t for t in _TOKEN_SPLIT.split(name.lower()) if t]


def _is_loss_name(base: str) -> bool:
    low = base.lower()
    if any(word in low for word in ("loss", "error", "perplexity", "cross_entropy",
                                    "crossentropy")):
        return True
    toks = _tokens(low)
    return any(t in _LOSS_TOKENS or re.fullmatch(r"(r?mse|mae|nll|ppl)\d*", t) for t in toks)


def _higher_is_better(base: str) -> bool:
    if _is_loss_name(base):
        return False
    toks = _tokens(base)
    for t in toks:
        if t in _HIGHER_TOKENS or re.fullmatch(r"(acc|f1|auc|bleu|rouge|map|top)\w*", t):
            return True
    return False


def higher_is_better(name: str) -> bool:
    """Whether a metric is better high (accuracy, F1, AUC, ...) rather than low (losses)."""
    return _higher_is_better(name)


def _is_system(key: str) -> bool:
    return key.lower().startswith(("system/", "system.", "sys/"))


def _split(key: str) -> tuple[str, str, str] | None:
    """(kind, role word, base) with kind 'train' or 'val', or None for no role."""
    for pattern in (_PREFIX, _SUFFIX):
        m = pattern.match(key)
        if not m:
            continue
        role = m.group("role").lower()
        if role in _TRAIN_WORDS:
            return "train", role, m.group("base")
        if role in _VAL_RANK:
            return "val", role, m.group("base")
    return None


def _norm(base: str) -> str:
    return re.sub(_SEP, "_", base.lower())


def find_pairs(keys: Iterable[str]) -> list[MetricPair]:
    """All train/validation pairs among ``keys``: loss pairs first, then by train name."""
    names = [k for k in dict.fromkeys(keys) if isinstance(k, str) and not _is_system(k)]
    name_set = set(names)
    train_by_base: dict[str, str] = {}
    val_by_base: dict[str, tuple[int, str]] = {}
    for key in names:
        parts = _split(key)
        if parts is None:
            continue
        kind, role, base = parts
        nb = _norm(base)
        if kind == "train":
            train_by_base.setdefault(nb, key)
        else:
            rank = _VAL_RANK[role]
            if nb not in val_by_base or rank < val_by_base[nb][0]:
                val_by_base[nb] = (rank, key)
    pairs: list[MetricPair] = []
    for nb, (_, val_key) in val_by_base.items():
        train_key = train_by_base.get(nb)
        if train_key is None:
            # Keras / Hugging Face: the train metric is logged bare ("loss" with "val_loss").
            bare = [k for k in name_set if _norm(k) == nb]
            if not bare:
                continue
            train_key = sorted(bare)[0]
        pairs.append(MetricPair(train=train_key, val=val_key,
                                higher_is_better=_higher_is_better(nb)))
    pairs.sort(key=lambda p: (not _is_loss_name(_norm(p.val)), p.train.lower(), p.val.lower()))
    return pairs


def loss_like(keys: Iterable[str]) -> list[str]:
    """Keys that look like losses (loss, error, mse, nll, perplexity...), minus system metrics."""
    return [k for k in dict.fromkeys(keys) if isinstance(k, str) and not _is_system(k)
            and _is_loss_name(k)]


def primary_pair(keys: Iterable[str]) -> MetricPair | None:
    """The first loss pair, else the first pair, else None."""
    pairs = find_pairs(keys)
    return pairs[0] if pairs else None
