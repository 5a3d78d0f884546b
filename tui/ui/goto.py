"""Command palette (ctrl+p): "Go to experiment" and "Go to run" by name.

Typing an experiment's name (or part of it) and enter opens it: the experiment whose name is
the query comes first, then names with a part starting so, then a substring, then names
holding the query's letters in order (Textual's own fuzzy match, as its palette commands:
"tvv" finds team/vision/vit). Runs come from what the screen has loaded, and from a search on
the server (run name LIKE) for the others.

The providers ask the screen the palette was opened from: a screen that can jump implements
`GoToTarget`; any other screen gets no such commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from mlflow_tui.widgets.experiment_tree import split_name

MAX_HITS = 20
SERVER_AFTER = 3  # letters typed before the server is asked for runs by name
# Whole names, a part's start and substrings score above any command (hundreds); letters
# scattered in order score as Textual scores its own commands (the same matcher), so that a
# command named by the query ("pause" + enter: Pause) stays above a name that merely spells it.


@dataclass(frozen=True)
class RunRef:
    experiment_id: str
    run_id: str
    name: str
    experiment: str  # the experiment's name


@runtime_checkable
class GoToTarget(Protocol):
    def goto_experiments(self) -> Sequence[tuple[str, str]]:
        """(experiment id, name) of every experiment the user can open."""

    def goto_runs(self) -> Sequence[RunRef]:
        """The runs loaded now."""

    async def find_runs(self, text: str) -> Sequence[RunRef]:
        """Runs whose name contains `text`, asked of the server (may be empty)."""

    def open_experiment(self, experiment_id: str) -> None: ...

    def open_run(self, experiment_id: str, run_id: str) -> None: ...


def name_score(query: str, name: str) -> float:
    """How well `query` names `name`: 0 for no match; the whole name scores highest, then a
    part that starts with it, a substring, letters in order (Textual's fuzzy score, below)."""
    q = query.strip().casefold()
    low = name.casefold()
    if not q:
        return 0.0
    if low == q:
        return 1000.0
    parts = [p.casefold() for p in split_name(name)]
    if parts and parts[-1].startswith(q):
        return 800.0 - len(name) / 1000
    if low.startswith(q) or any(p.startswith(q) for p in parts):
        return 600.0 - len(name) / 1000
    if q in low:
        return 400.0 - len(name) / 1000
    return 0.0


def score(matcher: Matcher, query: str, name: str) -> float:
    """`name_score`, else the fuzzy score of `matcher` (letters in order; 0: no match)."""
    return name_score(query, name) or matcher.match(name)


def _prompt(matcher: Matcher, prefix: str, name: str, suffix: str = "") -> Content:
    """`prefix + name + suffix` as plain text (names come from the server: never markup),
    the letters of the name the query matched highlighted. (Matcher.highlight would read the
    text as markup.)"""
    content = Content(prefix + name + suffix)
    _, offsets = matcher.fuzzy_search.match(matcher.query, name)
    for offset in offsets:
        if not name[offset].isspace():
            at = len(prefix) + offset
            content = content.stylize(matcher.match_style, at, at + 1)
    return content


def _target(provider: Provider) -> GoToTarget | None:
    screen = provider.screen
    return screen if isinstance(screen, GoToTarget) else None


class GoToExperiment(Provider):
    """Go to experiment: NAME."""

    async def discover(self) -> Hits:
        target = _target(self)
        if target is None:
            return
        for experiment_id, name in list(target.goto_experiments())[:MAX_HITS]:
            yield DiscoveryHit(Content(f"Go to experiment: {name}"),
                               partial(target.open_experiment, experiment_id),
                               help="open it in the monitor")

    async def search(self, query: str) -> Hits:
        target = _target(self)
        if target is None:
            return
        matcher = self.matcher(query)
        scored = []
        for experiment_id, name in target.goto_experiments():
            value = score(matcher, query, name)
            if value > 0:
                scored.append((value, experiment_id, name))
        scored.sort(key=lambda item: -item[0])
        for value, experiment_id, name in scored[:MAX_HITS]:
            yield Hit(value, _prompt(matcher, "Go to experiment: ", name),
                      partial(target.open_experiment, experiment_id),
                      text=f"Go to experiment: {name}", help="open it in the monitor")


class GoToRun(Provider):
    """Go to run: NAME (in EXPERIMENT)."""

    async def search(self, query: str) -> Hits:
        target = _target(self)
        if target is None:
            return
        matcher = self.matcher(query)
        seen: set[str] = set()
        found: list[tuple[float, RunRef]] = []
        runs = list(target.goto_runs())
        if len(query.strip()) >= SERVER_AFTER:
            runs += list(await target.find_runs(query.strip()))
        for ref in runs:
            if ref.run_id in seen:
                continue
            seen.add(ref.run_id)
            # Below experiments of the same quality: "team/other" opens the experiment.
            value = score(matcher, query, ref.name) * 0.9
            if value > 0:
                found.append((value, ref))
        found.sort(key=lambda item: -item[0])
        for value, ref in found[:MAX_HITS]:
            text = f"Go to run: {ref.name} (in {ref.experiment})"
            yield Hit(value, _prompt(matcher, "Go to run: ", ref.name, f" (in {ref.experiment})"),
                      partial(target.open_run, ref.experiment_id, ref.run_id),
                      text=text, help="open its experiment and chart the run")


__all__ = ["GoToExperiment", "GoToRun", "GoToTarget", "RunRef", "name_score", "score"]
