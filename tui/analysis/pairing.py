"""Find the train/validation metric pairs of a run from its metric keys, with no configuration.

The conventions of the training libraries' own MLflow integrations (sources cited in the
README's pairing table), plus the common hand-written ones:

- a role word before or after the metric: ``train_loss``/``val_loss``, ``train/loss``/
  ``val/loss``, ``training_loss``/``validation_loss``, ``loss_train``/``loss_val``,
  ``acc/train``/``acc/valid``, with ``_``, ``/``, ``.``, ``-`` or a space between;
- a bare train metric with a prefixed validation one: ``loss``/``val_loss`` and
  ``accuracy``/``val_accuracy`` (Keras), ``loss``/``eval_loss`` (Hugging Face Trainer);
- evaluation sets named by the library: XGBoost ``train-logloss``/``validation-logloss``,
  LightGBM ``training-binary_logloss``/``valid_1-binary_logloss``; numbered sets without a
  train name (XGBoost's scikit-learn API: ``validation_0-logloss``, ``validation_1-logloss``)
  judge every later set against the first one, which the libraries' documentation passes the
  training data as;
- Lightning's ``on_step``/``on_epoch`` logging (``train_loss_step``, ``train_loss_epoch``): the
  epoch series, which is logged at the steps validation is, is judged; the step series is not;
- Hugging Face Trainer with several evaluation sets logs ``eval_<set>_loss`` for each: each
  is judged against the bare ``loss``;
- Hugging Face Trainer's one-point ``train_loss`` summary at the end of training is not a
  series: ``loss`` stays the train side of ``eval_loss``, before and after the run ends;
- dataset-scoped series shown as ``loss [train]``/``loss [eval]`` (see tui/tracking) pair by
  the dataset's role.

When a metric has both a validation and a test counterpart, validation wins (val > valid >
validation > eval > dev > holdout > test). Pairs are ordered: losses first (``loss``, then
other proper losses such as ``logloss``, ``mse``, ``rmse``, then error rates), then other
lower-is-better metrics, then higher-is-better ones (accuracy, AUC...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["MAX_JUDGED", "MetricPair", "find_pairs", "higher_is_better", "loss_like",
           "primary_pair", "unpaired_hint"]

MAX_JUDGED = 4  # pairs judged per run (each costs two history loads)


@dataclass(frozen=True)
class MetricPair:
    train: str
    val: str
    higher_is_better: bool
    # Why this pair: the convention that matched, in words (shown in the run details).
    why: str = field(default="", compare=False)


_SEP = r"[_/.\- ]"
_TRAIN_WORDS = ("train", "training", "trn")
# Validation-like words, most preferred first.
_VAL_WORDS = ("val", "valid", "validation", "eval", "evaluation", "dev", "holdout", "test")
_VAL_RANK = {w: i for i, w in enumerate(_VAL_WORDS)}
_ROLE = r"(?P<role>[A-Za-z]+)(?:_(?P<index>\d+))?"
_PREFIX = re.compile(rf"^{_ROLE}{_SEP}(?P<base>.+)$")
_SUFFIX = re.compile(rf"^(?P<base>.+?){_SEP}{_ROLE}$")
_BRACKET = re.compile(r"^(?P<base>.+?) \[(?P<role>[^\]]+)\]$")  # dataset-scoped: "loss [eval]"
# Lightning's on_step / on_epoch suffixes.
_AGGREGATE = re.compile(rf"^(?P<base>.+){_SEP}(?P<agg>epoch|step)$")

# Proper losses rank before error rates: XGBoost's eval_metric=["error", "logloss"] logs both,
# and a classifier's error is often flat at 0 on train, which says little.
_LOSS_WORDS = ("loss", "cross_entropy", "crossentropy", "perplexity", "deviance", "nloglik")
_LOSS_TOKENS = ("logloss", "mlogloss", "nll", "mse", "rmse", "msle", "rmsle", "mae", "mape",
                "mphe", "huber", "hinge", "kl", "xent", "xentropy", "ce", "bce", "ppl",
                "l1", "l2", "quantile", "poisson", "gamma", "tweedie", "fair",
                "kullback_leibler", "cross_entropy_lambda")
_ERROR_TOKENS = ("error", "err", "merror", "wer", "cer", "ter", "mae_error")
_HIGHER_TOKENS = ("acc", "accuracy", "f1", "fscore", "auc", "aucpr", "roc_auc", "auroc",
                  "auprc", "precision", "prec", "pre", "recall", "r2", "iou", "miou", "dice",
                  "map", "ap", "ndcg", "bleu", "rouge", "rouge1", "rouge2", "rougel", "meteor",
                  "top1", "top5", "top_1", "top_5", "mcc", "kappa", "jaccard", "mrr",
                  "sensitivity", "specificity", "score", "average_precision",
                  "balanced_accuracy")
_TOKEN_SPLIT = re.compile(r"[_/.\-\s@:\[\]]+")
# Bookkeeping, not a measure of fit: never one side of a pair (HF logs train_runtime and
# eval_runtime, train_samples_per_second and eval_samples_per_second...).
_NOT_QUALITY = re.compile(
    r"(^|_)(runtime|run_time|time|duration|seconds?|samples_per_second|steps_per_second|"
    r"it_per_sec|throughput|flos|total_flos|epoch|epochs|step|steps|global_step|lr|"
    r"learning_rate|grad_norm|gradient_norm|memory|mem|gpu|batch_size|num_samples|"
    r"n_samples|count|tokens|num_tokens|best_iteration|stopped_iteration)$")
_HF_SUMMARY = ("train_runtime", "total_flos", "train_samples_per_second",
               "train_steps_per_second")


def _tokens(name: str) -> list[str]:
    return [t for t in _TOKEN_SPLIT.split(name.lower()) if t]


def _family(base: str) -> int:
    """0 loss, 1 other proper loss, 2 error rate, 3 other lower-is-better, 4 higher-is-better."""
    low = base.lower()
    toks = _tokens(low)
    if "loss" in toks or low == "loss":
        return 0
    if any(w in low for w in _LOSS_WORDS):
        return 0 if "loss" in low else 1
    if any(t in _LOSS_TOKENS or re.fullmatch(r"(r?mse|mae|nll|ppl|l[12])\d*", t) for t in toks):
        return 1
    if any(t in _ERROR_TOKENS or t.endswith("error") for t in toks):
        return 2
    if _better_high(toks):
        return 4
    return 3


def _better_high(toks: list[str]) -> bool:
    return any(t in _HIGHER_TOKENS or re.fullmatch(r"(acc|f1|auc|bleu|rouge|map|top|ndcg)\w*", t)
               for t in toks)


def _is_loss_name(base: str) -> bool:
    return _family(base) <= 2


def higher_is_better(name: str) -> bool:
    """Whether a metric is better high (accuracy, F1, AUC, ...) rather than low (losses)."""
    return _family(_strip_roles(name)) == 4


def _strip_roles(name: str) -> str:
    parsed = _split(name)
    return parsed.base if parsed is not None else name


def _is_system(key: str) -> bool:
    return key.lower().startswith(("system/", "system.", "sys/"))


@dataclass(frozen=True)
class _Key:
    key: str
    kind: str  # "train", "val" or "set" (a numbered evaluation set with no train/val word)
    role: str  # the role word as written, lower case
    index: int | None  # the number of a numbered set (validation_1 -> 1)
    base: str  # normalised metric name (separators -> "_", lower case, no _epoch/_step)
    agg: str  # "epoch", "step" or ""


def _norm(base: str) -> str:
    return re.sub(_SEP, "_", base.lower())


def _split(key: str) -> _Key | None:
    m = _BRACKET.match(key)
    candidates: list[tuple[str, int | None, str]] = []
    if m:
        candidates.append((m.group("role").strip().lower(), None, m.group("base")))
    for pattern in (_PREFIX, _SUFFIX):
        m = pattern.match(key)
        if m:
            index = m.group("index")
            candidates.append((m.group("role").lower(), int(index) if index else None,
                               m.group("base")))
    for role, index, base in candidates:
        agg = ""
        a = _AGGREGATE.match(base)
        if a and a.group("base"):
            base, agg = a.group("base"), a.group("agg")
        if role in _TRAIN_WORDS and index is None:
            return _Key(key, "train", role, None, _norm(base), agg)
        if role in _VAL_RANK:
            kind = "val" if index is None or role not in ("validation", "valid", "val", "eval",
                                                          "test") else "set"
            return _Key(key, kind, role, index, _norm(base), agg)
    return None


def _agg_rank(k: _Key) -> int:
    """Lightning: the epoch series (logged at validation's steps) before a plain one, and the
    per-step series last."""
    return {"epoch": 0, "": 1, "step": 2}[k.agg]


def find_pairs(keys: Iterable[str]) -> list[MetricPair]:
    """Every plausible train/validation pair among ``keys``, the most telling first.

    One validation key per train key and validation role family (the most preferred role:
    val before test); several numbered evaluation sets give one pair per later set."""
    names = [k for k in dict.fromkeys(keys) if isinstance(k, str) and not _is_system(k)]
    name_set = set(names)
    parsed = [p for p in (_split(k) for k in names) if p is not None]
    hf = "eval_loss" in name_set and any(k in name_set for k in _HF_SUMMARY)

    trains: dict[str, list[_Key]] = {}
    vals: dict[str, list[_Key]] = {}
    sets: dict[tuple[str, str], list[_Key]] = {}
    for p in parsed:
        if _NOT_QUALITY.search(p.base):
            continue
        if p.kind == "train":
            trains.setdefault(p.base, []).append(p)
        elif p.kind == "val":
            vals.setdefault(p.base, []).append(p)
        else:
            sets.setdefault((p.role, p.base), []).append(p)

    found: list[tuple[tuple[object, ...], MetricPair]] = []

    def add(train: str, val: str, base: str, val_rank: int, why: str) -> None:
        family = _family(base)
        found.append(((family, val_rank, base, train.lower(), val.lower()),
                      MetricPair(train=train, val=val, higher_is_better=family == 4, why=why)))

    # Numbered evaluation sets (validation_0, validation_1, ...).
    for (role, base), members in sets.items():
        members.sort(key=lambda p: p.index or 0)
        named_train = trains.get(base)
        if named_train:
            # LightGBM: "training" is the train set; valid_1, valid_2 the validation sets.
            train = min(named_train, key=_agg_rank)
            for m in members:
                add(train.key, m.key, base, _VAL_RANK[role],
                    f"LightGBM convention: {train.key} is the training data, {m.key} an "
                    "evaluation set")
            continue
        if len(members) < 2:
            continue
        first = members[0]
        for m in members[1:]:
            add(first.key, m.key, base, _VAL_RANK[role],
                f"numbered evaluation sets (XGBoost/LightGBM scikit-learn API): {first.key} "
                f"is the first set passed, by convention the training data; {m.key} is "
                "judged against it")

    for base, candidates in vals.items():
        best_rank = min(_VAL_RANK[c.role] for c in candidates)
        val = min((c for c in candidates if _VAL_RANK[c.role] == best_rank), key=_agg_rank)
        train_keys = trains.get(base)
        if train_keys:
            train = min(train_keys, key=_agg_rank)
            if hf and base == "loss" and train.key == "train_loss" and "loss" in name_set:
                add("loss", val.key, base, best_rank,
                    "Hugging Face Trainer: loss is logged at every logging step; train_loss "
                    "is one summary point at the end of training")
                continue
            why = "names: " + ("the epoch means of a metric logged on_step and on_epoch "
                               "(Lightning)" if train.agg == "epoch" and len(train_keys) > 1
                               else f"{train.role} / {val.role}")
            add(train.key, val.key, base, best_rank, why)
            continue
        # Keras / Hugging Face: the train metric is logged bare ("loss" with "val_loss").
        bare = sorted(k for k in name_set if _norm(k) == base and _split(k) is None)
        if bare:
            library = ("Hugging Face Trainer" if val.role == "eval" else
                       "Keras" if val.role == "val" else "bare train metric")
            add(bare[0], val.key, base, best_rank,
                f"{library}: the train metric is logged bare ({bare[0]}), the validation one "
                f"as {val.key}")
            continue
        # Hugging Face Trainer with several evaluation sets (eval_dataset a dict): each is
        # logged as eval_<set name>_<metric> (Trainer.evaluate's metric_key_prefix), beside
        # the bare train "loss".
        if val.role == "eval" and val.key.lower().startswith("eval"):
            metric = next((b for b in sorted(name_set)
                           if _split(b) is None and base.endswith("_" + _norm(b))), None)
            if metric is not None and _is_loss_name(metric):
                add(metric, val.key, base, best_rank,
                    f"Hugging Face Trainer, several evaluation sets: {val.key} is one of "
                    f"them (eval_<set>_{metric}), {metric} the train metric")
    found.sort(key=lambda item: item[0])
    out: list[MetricPair] = []
    used: set[tuple[str, str]] = set()
    for _, pair in found:
        if (pair.train, pair.val) not in used:
            used.add((pair.train, pair.val))
            out.append(pair)
    return out


def loss_like(keys: Iterable[str]) -> list[str]:
    """Keys that look like losses (loss, error, mse, nll, perplexity...), minus system metrics."""
    return [k for k in dict.fromkeys(keys) if isinstance(k, str) and not _is_system(k)
            and _is_loss_name(k)]


def primary_pair(keys: Iterable[str]) -> MetricPair | None:
    """The first pair (a loss pair when there is one), else None."""
    pairs = find_pairs(keys)
    return pairs[0] if pairs else None


def unpaired_hint(keys: Iterable[str]) -> str | None:
    """Why a run that logs evaluation metrics has no pair, in one line, or None."""
    names = [k for k in dict.fromkeys(keys) if isinstance(k, str) and not _is_system(k)]
    if find_pairs(names):
        return None
    roles = [p for p in (_split(k) for k in names) if p is not None]
    if not roles:
        return None
    shown = ", ".join(sorted(p.key for p in roles)[:4])
    return (f"no train/validation pair among {shown}: choose one with P (pair) or --pair "
            "TRAIN,VAL")
