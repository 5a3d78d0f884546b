"""KeyFooter: rebuilt when the keys it shows change, left alone when a change shows nothing new."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from mlflow_tui.widgets import KeyFooter
from tests.conftest import wait_until


class Chart(Button):
    BINDINGS = [Binding("l", "log", "Log y")]


class Demo(App[None]):
    BINDINGS = [Binding("x", "toggle", "Toggle"), Binding("e", "export", "Export")]
    exporting = True

    def compose(self) -> ComposeResult:
        yield Button("one", id="one")
        yield Button("two", id="two")
        yield Chart("chart", id="chart")
        yield KeyFooter()

    def action_toggle(self) -> None:
        self.exporting = not self.exporting
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # None: shown dimmed (False would hide it).
        return None if action == "export" and not self.exporting else True


def _keys(app: App[None]) -> list[FooterKey]:
    return list(app.screen.query(FooterKey).results(FooterKey))


def _shown(app: App[None]) -> list[tuple[str, bool]]:
    return [(key.description, key.has_class("-disabled")) for key in _keys(app)]


async def test_the_footer_changes_with_the_keys_and_only_then():
    app = Demo()
    async with app.run_test(size=(100, 10)) as pilot:
        await wait_until(lambda: ("Toggle", False) in _shown(app))
        app.set_focus(app.query_one("#one"))
        await pilot.pause()
        before = _keys(app)
        assert before, "the footer shows keys"
        # Focus moves between widgets without keys of their own: the same footer widgets stay.
        app.set_focus(app.query_one("#two"))
        await pilot.pause()
        app.set_focus(app.query_one("#one"))
        await pilot.pause()
        assert _keys(app) == before
        # The chart brings its own key: shown.
        app.set_focus(app.query_one("#chart"))
        await wait_until(lambda: ("Log y", False) in _shown(app), message="the chart's key")
        # A key disabled by check_action: shown dimmed; enabled again: shown plain.
        await pilot.press("x")
        await wait_until(lambda: ("Export", True) in _shown(app), message="export disabled")
        await pilot.press("x")
        await wait_until(lambda: ("Export", False) in _shown(app), message="export enabled")
        # Focus back where the chart's key does not apply: gone.
        app.set_focus(app.query_one("#one"))
        await wait_until(lambda: ("Log y", False) not in _shown(app), message="chart key gone")
