"""`e` shows the connection in full: the whole reason of the last error, which the state line
cuts to the terminal's width."""

from __future__ import annotations

from mlflow_tui.tracking.errors import AuthError
from tests.conftest import screen_text, wait_until
from tests.sample_data import fake_app, sample_source


async def test_the_whole_reason_is_readable():
    source = sample_source()
    reason = ("https://mlflow.corp.example refused access (403): " + "policy " * 40
              + "END-OF-REASON")
    source.fail = AuthError(reason, hint="these credentials lack the permission")
    app = fake_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(
            lambda: app.session.state == "error", timeout=10, message="the error state"
        )
        assert "END-OF-REASON" not in screen_text(app)  # cut on the state line
        await pilot.press("e")
        await wait_until(lambda: type(app.screen).__name__ == "ConnectionScreen", timeout=5)
        await pilot.pause()
        flat = "".join(screen_text(app).split()).replace("│", "")  # wrapped over lines
        assert "END-OF-REASON" in flat and "lackthepermission" in flat
        await pilot.press("escape")
        await wait_until(lambda: type(app.screen).__name__ == "MonitorScreen", timeout=5)
