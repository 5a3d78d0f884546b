"""Command palette (ctrl+p): every action of the current view, read from its key bindings.

Each command only runs the binding's action, exactly as its key would (posting's
`commands.py` does the same with its app actions), so the palette and the keys can never
disagree, a remapped key (`[keymap]`) shows its new name, and Textual's own commands (the
theme picker, quit, screenshot, ...) are kept beside these.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

# The palette itself is not a command of the palette.
SKIPPED_ACTIONS = {"command_palette", "app.command_palette"}


@dataclass(frozen=True)
class BindingCommand:
    """One action of the current view: what it does, its keys, and where it is bound."""

    description: str
    keys: str
    action: str
    node: DOMNode

    @property
    def help(self) -> str:
        return f"key {self.keys}"


def binding_commands(screen) -> list[BindingCommand]:
    """The bindings active on `screen` (focused widget, its parents, the screen, the app),
    one command per action, with every key bound to it, in binding order."""
    app = screen.app
    by_action: dict[tuple[int, str], BindingCommand] = {}
    keys: dict[tuple[int, str], list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding: Binding = active.binding
        if not binding.description or binding.action in SKIPPED_ACTIONS:
            continue
        ident = (id(active.node), binding.action)
        keys.setdefault(ident, []).append(app.get_key_display(Binding(key, "")))
        if ident not in by_action:
            by_action[ident] = BindingCommand(binding.description, "", binding.action,
                                              active.node)
    return [BindingCommand(cmd.description, ", ".join(keys[ident]), cmd.action, cmd.node)
            for ident, cmd in by_action.items()]


class BindingCommands(Provider):
    """The current view's key bindings as palette commands."""

    def _commands(self) -> Iterator[BindingCommand]:
        yield from binding_commands(self.screen)

    def _run(self, command: BindingCommand) -> None:
        self.app.call_later(self.app.run_action, command.action, command.node)

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.description, partial(self._run, command),
                               help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            for text in (command.description, f"{command.description} {command.keys}"):
                score = matcher.match(text)
                if score > 0:
                    yield Hit(score, matcher.highlight(command.description),
                              partial(self._run, command), text=command.description,
                              help=command.help)
                    break
