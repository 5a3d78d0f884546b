"""Which metrics a run's chart shows, and in which order the metric key cycles them."""

from __future__ import annotations

from collections.abc import Iterable

from tui.analysis import MetricPair, find_pairs, loss_like, primary_pair

MAX_KEYS_PER_VIEW = 4


def chart_views(keys: Iterable[str]) -> list[tuple[str, ...]]:
    """Views in cycling order: the loss pair first (train_* with val_*), other pairs, then the
    run's loss-like metrics together when it has no pair, then every other metric alone.
    System metrics (system/...) are left to their own panel."""
    names = sorted({k for k in keys if not k.startswith("system/")})
    views: list[tuple[str, ...]] = []
    used: set[str] = set()
    for pair in find_pairs(names):
        if pair.train in used or pair.val in used:
            continue
        views.append((pair.train, pair.val))
        used |= {pair.train, pair.val}
    losses = [k for k in loss_like(names) if k not in used]
    if losses:
        group = tuple(losses[:MAX_KEYS_PER_VIEW])
        if views and find_pairs(views[0]) and find_pairs(views[0])[0].higher_is_better:
            views.insert(0, group)
        elif views:
            views.append(group)
        else:
            views.insert(0, group)
        used |= set(group)
    views += [(k,) for k in names if k not in used]
    return views


def warning_pair(keys: Iterable[str]) -> MetricPair | None:
    """The pair the overfitting detector watches for a run."""
    names = [k for k in keys if not k.startswith("system/")]
    return primary_pair(names)
