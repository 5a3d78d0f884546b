"""`?`: every key of the current view, read from the bindings themselves."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def _key_label(app, binding: Binding) -> str:
    """The binding's keys as the footer shows them; a key remapped by the user's `[keymap]`
    shows its new keys."""
    keymap = getattr(app, "_keymap", None) or {}
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return ", ".join(app.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close help", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for title, bindings in self.sections:
            table.add_row(Text(title, style="underline"), "")
            seen: set[str] = set()
            for binding in bindings:
                if not binding.description or binding.description in seen:
                    continue
                seen.add(binding.description)
                table.add_row(_key_label(self.app, binding), binding.description)
            table.add_row("", "")
        table.add_row("", Text("Press escape or ? to close; ctrl+p searches every action "
                               "(and the themes).", style="dim"))
        with VerticalScroll():
            yield Static(table, id="help-keys")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
