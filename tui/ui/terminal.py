"""Raw output to the terminal, for escape sequences Textual has no public API for (desktop
notifications, clipboard through OSC 52). Textual's own bell goes the same way
(`App.bell` writes BEL through the driver); this is the one module that reaches into
`App._driver`, and tests/unit/test_terminal.py fails loudly if Textual renames it."""

from __future__ import annotations

from typing import Any


def write_raw(app: Any, text: str) -> bool:
    """Write `text` to the app's terminal between frames; False when there is none (headless
    runs, tests) or the driver cannot write."""
    if getattr(app, "is_headless", True):
        return False
    driver = getattr(app, "_driver", None)
    write = getattr(driver, "write", None)
    if write is None:
        return False
    write(text)
    return True


__all__ = ["write_raw"]
