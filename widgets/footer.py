"""Textual's Footer, rebuilt only when the keys it shows change.

Textual's Footer builds all its keys again (a widget each, with their styles) whenever the
screen's bindings may have changed: on every focus change, every `refresh_bindings()`. Most of
those change nothing it shows; moving between the tree, the table and the chart cost ~2 ms of
CPU a press for an identical footer. This one compares what it would show with what it shows.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A Footer that skips rebuilding when its keys, their labels and states are unchanged."""

    _shown: tuple[Any, ...] | None = None

    def _keys(self, screen: Screen[Any]) -> tuple[Any, ...]:
        """Everything of the screen's bindings that compose() draws."""
        app = self.app
        return (
            self.compact, self.show_command_palette,
            tuple(
                (binding.key, app.get_key_display(binding), binding.description, binding.action,
                 binding.show, binding.group, binding.tooltip, enabled, tooltip)
                for _node, binding, enabled, tooltip in screen.active_bindings.values()
                if binding.show or binding.key == app.COMMAND_PALETTE_BINDING
            ),
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            keys = self._keys(screen)
            if self._bindings_ready and keys == self._shown:
                return
            self._shown = keys
        super().bindings_changed(screen)
