"""Regenerate the README images: drives the app on the built-in demo, headless.

    python screenshots/make_screenshots.py

Writes monitor.svg (the overfitting run highlighted), help.svg, artifacts.svg (its files,
metrics.csv as a table), now.svg, compare.svg and start.svg next to itself, and the same
monitor view on a small terminal (monitor-80x24.svg) and in a light theme
(monitor-light.svg).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import RunTable

HERE = Path(__file__).resolve().parent
SIZE = (150, 44)


async def _until(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the demo did not reach the expected state")
        await asyncio.sleep(0.1)


async def demo_shots() -> None:
    app = make_app(Settings(demo=True, demo_speed=3.0, interval=1.0))
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: app.session.poller is not None and bool(app.session.experiments))
        vit = next(e for e in app.session.experiments if e.name.endswith("vit-small-sweep"))
        app.open_experiment(vit.experiment_id)  # as if chosen in the tree
        await _until(lambda: any(r.name == "vit-s16-no-aug"
                                 and app.session.health.overfitting(r.run_id) is not None
                                 for r in app.session.poller.runs.values()))
        table = app.monitor.query_one(RunTable)
        target = next(
            r.run_id for r in app.session.poller.runs.values() if r.name == "vit-s16-no-aug"
        )
        table.move_cursor(row=table.get_row_index(target))
        await _until(lambda: app.session.highlighted == target)
        await asyncio.sleep(1.5)
        app.clear_notifications()
        await pilot.pause()
        app.save_screenshot("monitor.svg", str(HERE))
        app.theme = "textual-light"
        await pilot.pause()
        app.save_screenshot("monitor-light.svg", str(HERE))
        app.theme = "textual-dark"
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await asyncio.sleep(0.5)
        app.clear_notifications()
        await pilot.pause()
        app.save_screenshot("monitor-80x24.svg", str(HERE))
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        app.save_screenshot("help.svg", str(HERE))
        await pilot.press("escape")
        # Artifacts of the overfitting run (finished: its metrics.csv is there), as a table.
        from textual.widgets import Tree

        from mlflow_tui.screens.artifacts import ArtifactsScreen

        table.focus()
        await pilot.press("a")
        await _until(lambda: isinstance(app.screen, ArtifactsScreen)
                     and app.screen.loaded_folders >= 1)
        shown = app.screen
        tree = shown.query_one("#art-tree", Tree)
        tree.select_node(next(n for n in tree.root.children if n.data.name == "metrics.csv"))
        await _until(lambda: shown.shown.startswith("step,"))
        await asyncio.sleep(0.5)
        app.clear_notifications()
        await pilot.pause()
        app.save_screenshot("artifacts.svg", str(HERE))
        await pilot.press("escape")
        # Now: every running run of every experiment, the ones in trouble first.
        from mlflow_tui.screens.now import NowScreen

        await pilot.press("n")
        await _until(lambda: isinstance(app.screen, NowScreen) and app.screen.update is not None
                     and bool(app.screen.update.rows))
        await asyncio.sleep(0.5)
        app.clear_notifications()
        await pilot.pause()
        app.save_screenshot("now.svg", str(HERE))
        await pilot.press("escape")
        # Compare: every run of the vision sweep and of the resnet experiment.
        app.session.marked = {r.run_id: r for r in app.session.poller.ordered_runs()}
        resnet = next(e for e in app.session.experiments if e.name.endswith("resnet18-cifar10"))
        app.open_experiment(resnet.experiment_id)
        await _until(
            lambda: any(
                r.experiment_id == resnet.experiment_id for r in app.session.poller.runs.values()
            )
        )
        healthy = [r for r in app.session.poller.ordered_runs() if r.status.value != "FAILED"]
        for run in healthy[:2]:
            app.session.marked[run.run_id] = run
        await pilot.press("c")
        await _until(
            lambda: (
                app.session.compare.frame is not None
                and len(app.session.compare.frame) == len(app.session.marked)
                and not app.session.compare.preview
                and bool(app.session.compare.poller.series)
            )
        )
        await asyncio.sleep(1.0)
        await pilot.pause()
        app.save_screenshot("compare.svg", str(HERE))


async def start_shot() -> None:
    app = make_app(Settings(uri=None))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        app.save_screenshot("start.svg", str(HERE))


if __name__ == "__main__":
    asyncio.run(demo_shots())
    asyncio.run(start_shot())
    print("wrote", ", ".join(sorted(p.name for p in HERE.glob("*.svg"))))
