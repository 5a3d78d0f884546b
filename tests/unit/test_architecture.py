"""Issue 15's shape of the code, checked: the App only assembles (at most 300 lines), and each
screen owns its keys (no binding of a screen sends its own action to the App)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from textual.binding import Binding
from textual.screen import Screen

import mlflow_tui.app  # noqa: F401 - defines the screens it shows
import mlflow_tui.screens.artifacts  # noqa: F401 - imported when first opened
import mlflow_tui.screens.connection  # noqa: F401
import mlflow_tui.screens.details  # noqa: F401
from mlflow_tui.screens.base import ChartScreen

ROOT = Path(__file__).resolve().parents[2]
MAX_APP_LINES = 300
# What the App does for every screen: a screen may bind these to the App.
APP_WIDE = {"app.help", "app.quit", "app.focus_next", "app.focus_previous"}


def _screens() -> list[type[Screen]]:
    out, stack = [], list(Screen.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        if cls.__module__.startswith("mlflow_tui."):
            out.append(cls)
    return out


def test_the_app_class_only_assembles():
    tree = ast.parse((ROOT / "tui" / "app.py").read_text(encoding="utf-8"))
    app = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "MlflowTui")
    size = (app.end_lineno or app.lineno) - app.lineno + 1
    assert size <= MAX_APP_LINES, f"MlflowTui is {size} lines"


def test_every_screen_is_seen():
    names = {cls.__name__ for cls in _screens()}
    assert {"MonitorScreen", "CompareScreen", "NowScreen", "ArtifactsScreen", "StartScreen",
            "HelpScreen", "PickerScreen", "RunDetailsScreen", "ConnectionScreen"} <= names


def test_screens_handle_their_own_keys():
    sent_to_app = []
    for cls in _screens():
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.action.startswith("app."):
                if binding.action not in APP_WIDE:
                    sent_to_app.append(f"{cls.__name__}: {binding.key} -> {binding.action}")
    assert sent_to_app == []


def test_each_action_of_a_screen_is_defined_on_that_screen():
    missing = []
    for cls in _screens():
        for binding in cls.__dict__.get("BINDINGS", []):
            if not isinstance(binding, Binding) or "." in binding.action:
                continue
            name = "action_" + binding.action.split("(")[0]
            if not hasattr(cls, name):
                missing.append(f"{cls.__name__}.{name}")
    assert missing == []


def test_chart_keys_are_the_same_on_both_chart_screens():
    from mlflow_tui.screens.compare import CompareScreen
    from mlflow_tui.screens.monitor import MonitorScreen

    def chart_keys(cls: type) -> set[tuple[str, str]]:
        return {(b.key, b.action) for b in cls.BINDINGS
                if isinstance(b, Binding) and (b.id or "").startswith("chart.")}

    assert chart_keys(MonitorScreen) == chart_keys(CompareScreen) != set()
    assert issubclass(MonitorScreen, ChartScreen) and issubclass(CompareScreen, ChartScreen)
    for action in ("chart_x", "chart_log", "chart_smooth", "chart_zoom", "pick_metric"):
        assert inspect.isfunction(getattr(MonitorScreen, "action_" + action))
