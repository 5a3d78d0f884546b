"""A small modal list to pick one item (the chart's metric) by keys: j/k or arrows, enter."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mlflow_tui.screens.base import bindings
from mlflow_tui.widgets import plain


class PickerScreen(ModalScreen[int | None]):
    """Dismisses with the chosen index, or None on escape."""

    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical {
        width: 60; max-width: 90%; height: auto; max-height: 80%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    PickerScreen OptionList { height: auto; max-height: 30; border: none; }
    """
    BINDINGS = [
        Binding("escape,q", "cancel", "Close", id="picker.close"),
        # A modal screen stops the app's bindings: help is bound here too.
        Binding("question_mark,f1", "app.help", "Help", id="picker.help"),
        Binding("j", "cursor_down", "Down", show=False, id="picker.down"),
        Binding("k", "cursor_up", "Up", show=False, id="picker.up"),
    ]

    def help_sections(self) -> list[tuple[str, list[Binding]]]:
        return [("Pick", [Binding("enter", "", "Choose"), Binding("j,down", "", "Down"),
                          Binding("k,up", "", "Up"), *bindings(self.BINDINGS)])]

    def __init__(self, title: str, items: Sequence[str], current: int = 0) -> None:
        super().__init__()
        self.title_text = title
        self.items = list(items)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.title_text, 80, style="bold"))
            yield OptionList(*[Option(plain(item, 70)) for item in self.items])

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = min(max(self.current, 0), max(len(self.items) - 1, 0))
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()
