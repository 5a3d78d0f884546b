"""Warnings everywhere and the Now view, between the session's Now feed and the screens.

The app's polling loop calls `tick` (every tick while the Now view is open, every other tick
otherwise: a warning in an experiment that is not open reaches the tree within two
refreshes); the update comes back as a `NowDone` message that `apply` turns into the tree's
⚠/✘ counts, the Now view's rows, one summary line at start-up and one toast per new warning
elsewhere (the open experiment's own warnings are announced by the monitor).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.message import Message

from mlflow_tui.alerts.notify import sequence as notification
from mlflow_tui.analysis.health import Kind
from mlflow_tui.analysis.judge import Choices
from mlflow_tui.analysis.now import NowRow
from mlflow_tui.screens.now import NowScreen
from mlflow_tui.session.now import NowFeed, NowUpdate
from mlflow_tui.text.format import one_toast_per_run, toast_title
from mlflow_tui.tracking.models import Experiment
from mlflow_tui.tracking.source import TrackingSource

if TYPE_CHECKING:
    from mlflow_tui.app import MlflowTui


class NowDone(Message):
    def __init__(self, update: NowUpdate) -> None:
        super().__init__()
        self.update = update


class NowController:
    def __init__(self, app: MlflowTui, source: TrackingSource) -> None:
        self.app = app
        settings = app.settings
        self.feed = NowFeed(
            source, settings=settings.health,
            choices=lambda exps: Choices.build(settings.pair, settings.pairs, exps),
            wall_ms=lambda: int(app.clock() * 1000),  # the app's clock: one "now" everywhere
            read_ended=lambda: self.screen is not None)  # ended runs' series: for the view
        self._ticks = 0
        self._ends_told: set[str] = set()  # runs whose end was notified on the desktop
        self.counts: dict[str, tuple[int, int]] = {}
        self.applied = 0  # updates shown (tests wait on it)

    @property
    def screen(self) -> NowScreen | None:
        for screen in self.app.screen_stack:
            if isinstance(screen, NowScreen):
                return screen
        return None

    def due(self) -> bool:
        """Whether this tick refreshes the feed."""
        self._ticks += 1
        return self.screen is not None or self._ticks % 2 == 1

    async def tick(self, experiments: Sequence[Experiment]) -> None:
        update = await self.feed.tick(experiments)
        self.app.post_message(NowDone(update))

    def apply(self, update: NowUpdate) -> None:
        app = self.app
        self.applied += 1
        self.counts = update.counts
        screen = self.screen
        if screen is not None:
            screen.show(update)
        if update.counts != app.session.trouble:  # runs in trouble per experiment, on the tree
            app.session.trouble = update.counts
            if app.monitor is not None:
                app.monitor.redraw_tree()
        if update.first:
            for row in update.rows:
                for w in row.warnings:
                    app.session.tell(row.run.run_id, w.kind, w.pair)
            trouble = [r for r in update.rows if r.trouble]  # not a run merely KILLED
            if trouble:
                places = {r.run.experiment_id for r in trouble}
                app.notify(f"{len(trouble)} run{'s' if len(trouble) > 1 else ''} with warnings "
                           f"in {len(places)} experiment{'s' if len(places) > 1 else ''}: "
                           "n shows them all", title="Now", severity="warning", markup=False)
            return
        tell = app.session.tell
        fresh = [(row, w) for row, w in update.fresh if tell(row.run.run_id, w.kind, w.pair)]
        for row, warnings in one_toast_per_run(fresh, lambda r: r.run.run_id):
            app.notify(f"{row.experiment} / {row.run.name}: "
                       + "; ".join(w.reason for w in warnings),
                       title=toast_title(warnings), markup=False,
                       severity="error" if max(w.severity for w in warnings) >= 3
                       else "warning")
        # The bell too, as the monitor's own toasts ring it: a warning the feed sees first
        # (its tick landed before the monitor's) is the monitor's no more (tell).
        if fresh and app.settings.bell:
            app.bell()
        self.notify_desktop(update)

    def notify_desktop(self, update: NowUpdate) -> None:
        """Desktop notifications (opt-in): every new warning, and runs that ended, in the
        experiments named with -e (all of them when none is named). A run's end is one
        notification: a failed run is both a FAILED warning and a run in `ended`, maybe at
        different ticks."""
        app = self.app
        named = set(app.session.watched) if app.settings.experiments else None
        rows = [row for row in update.rows
                if named is None or row.run.experiment_id in named]
        self._ends_told &= {row.run.run_id for row in update.rows}  # (an hour of runs)

        def end(row: NowRow) -> None:
            if row.run.run_id not in self._ends_told:
                self._ends_told.add(row.run.run_id)
                self.desktop(f"{row.run.status.value.lower()}: {row.run.name}",
                             row.experiment)

        for row, warning in update.fresh:
            if named is not None and row.run.experiment_id not in named:
                continue
            if warning.kind in (Kind.FAILED, Kind.KILLED):
                end(row)
            else:
                self.desktop(f"{warning.kind.value}: {row.run.name}",
                             f"{row.experiment}: {warning.reason}")
        ended = set(update.ended)
        for row in rows:
            if row.run.run_id in ended:
                end(row)

    def desktop(self, title: str, body: str) -> None:
        """A desktop notification through the terminal, when the config asks for them."""
        kind = self.app.settings.notify
        if kind:
            from mlflow_tui.ui.terminal import write_raw

            write_raw(self.app, notification(f"mlflow-tui: {title}", body, kind=kind))

    def open(self) -> None:
        if self.screen is None:
            self.app.push_screen(NowScreen(self.feed.last))
            self.app.session.wake(tick=True)

    def jump(self, message: NowScreen.Jump) -> None:
        screen = self.screen
        if screen is not None and self.app.screen is screen:
            self.app.pop_screen()
        self.app.open_run(message.experiment_id, message.run_id)

    def refresh(self) -> None:
        self.feed.refresh()
        self.app.session.wake(tick=True)


__all__ = ["NowController", "NowDone"]
