"""tui/ui/terminal.py reaches into Textual's driver (no public API writes raw sequences): this
fails loudly when Textual changes what it relies on."""

from __future__ import annotations

import inspect

from textual.app import App
from textual.driver import Driver

from mlflow_tui.ui.terminal import write_raw


def test_textual_still_has_what_write_raw_uses():
    assert "_driver" in inspect.getsource(App.__init__), (
        "App._driver is gone: see tui/ui/terminal.py")
    assert callable(getattr(Driver, "write", None)), "Driver.write is gone: see tui/ui/terminal.py"
    assert 'self._driver.write("\\07")' in inspect.getsource(App.bell), (
        "App.bell no longer writes through the driver: check tui/ui/terminal.py still works")


class _Driver:
    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, text: str) -> None:
        self.written.append(text)


class _App:
    is_headless = False

    def __init__(self) -> None:
        self._driver = _Driver()


def test_write_raw_goes_through_the_driver_and_never_headless():
    app = _App()
    assert write_raw(app, "\x1b]9;hi\x07") and app._driver.written == ["\x1b]9;hi\x07"]
    app.is_headless = True
    assert not write_raw(app, "x") and app._driver.written == ["\x1b]9;hi\x07"]
    assert not write_raw(object(), "x")
