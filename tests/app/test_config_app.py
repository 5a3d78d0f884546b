"""The config file's theme and keymap reach the running app."""

from __future__ import annotations

from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from mlflow_tui.settings.configfile import parse
from tests.conftest import wait_until
from tests.sample_data import NOW, sample_source


async def test_the_app_applies_theme_and_keymap():
    settings = parse("theme = 'nord'\n[keymap]\n'monitor.warnings_only' = 'W'\n").apply(
        Settings(uri="fake://", interval=0.2))
    app = make_app(settings, sample_source(), clock=lambda: NOW)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(lambda: app.ticks > 0)
        assert app.theme == "nord"
        await pilot.press("w")  # the old key does nothing now
        assert app.monitor.warnings_only is False
        await pilot.press("W")
        await wait_until(lambda: app.monitor.warnings_only)
