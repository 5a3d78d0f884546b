"""Table of runs (or anything keyed) with live, in-place updates that never move the cursor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from .text import plain

__all__ = ["RunTable"]


_AWAY = Coordinate(-2, -2)  # on no row, not even the header's (-1)
_LINE = "run-table line"  # marks RunTable's keys in DataTable's line cache


def _cell(value: object) -> Text:
    if isinstance(value, Text):
        return value
    return Text("") if value is None else plain(value)


def _same(a: object, b: Text) -> bool:
    if not isinstance(a, Text):
        return False
    return (a.plain == b.plain and a.spans == b.spans and a.style == b.style
            and a.justify == b.justify)


class RunTable(DataTable[Text]):
    """A row-cursor `DataTable` fed with `set_rows(columns, rows)`.

    Cells are `rich.text.Text`; anything else is shown literally via `plain()` (never markup);
    `None` shows as an empty cell.
    Messages are DataTable's own: `DataTable.RowHighlighted` / `DataTable.RowSelected`, where
    `event.row_key.value` is the row key given to `set_rows`.
    """

    DEFAULT_CSS = """
    RunTable {
        width: 1fr;
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
    ]

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's API
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(
            cursor_type="row", zebra_stripes=False,
            name=name, id=id, classes=classes, disabled=disabled,
        )
        self._column_spec: tuple[tuple[str, str, str], ...] | None = None
        self._row_keys: list[str] = []
        # row key -> (the cells object given to set_rows, its cells as shown): a row given
        # again as the very same object is known unchanged without comparing its cells.
        self._given: dict[str, tuple[object, list[Text]]] = {}
        self.rebuild_count = 0
        """How many times `set_rows` had to rebuild the table (for tests)."""

    @property
    def current_row_key(self) -> str | None:
        """The key (as given to `set_rows`) of the row under the cursor, if any."""
        if not self._row_keys or self.row_count == 0:
            return None
        row = self.cursor_row
        if 0 <= row < len(self._row_keys):
            return self._row_keys[row]
        return None

    def set_rows(
        self,
        columns: Sequence[tuple[str, str | Text]],
        rows: Sequence[tuple[str, Sequence[object]]],
    ) -> None:
        """Show `rows` ((row_key, cells)) under `columns` ((column_key, label)). A label given
        as a `Text` keeps its style (e.g. a run's colour); its text is shown literally.

        Same columns and same row keys in the same order: only changed cells are updated,
        in place. Otherwise the table is rebuilt and the cursor goes back to the same row key
        (or the same index, clamped, if that row is gone).

        A row whose cells are the very same object as in the previous call (a caller that
        caches the cells of unchanged rows, as tuples) is taken as unchanged and costs
        nothing: a table of many rows where few change is cheap to refresh. To change a row,
        give a new sequence, never the old one mutated.
        """
        column_spec = tuple(
            (str(key), str(label), str(label.style) if isinstance(label, Text) else "")
            for key, label in columns)
        n_columns = len(column_spec)
        same_columns = column_spec == self._column_spec
        previous = self._given if same_columns else {}
        given: dict[str, tuple[object, list[Text]]] = {}
        keys: list[str] = []
        cells: list[list[Text]] = []
        changed: list[int] = []  # indexes of the rows given anew
        for key, values in rows:
            key = str(key)
            if key in given:  # a duplicate key would make DataTable raise; keep the first
                continue
            old = previous.get(key)
            if old is not None and old[0] is values:
                row = old[1]
            else:
                row = [_cell(c) for c in list(values)[:n_columns]]
                row += [Text("") for _ in range(n_columns - len(row))]
                changed.append(len(keys))
            given[key] = (values, row)
            keys.append(key)
            cells.append(row)
        self._given = given
        if same_columns and keys == self._row_keys:
            self._update_in_place([keys[i] for i in changed], [cells[i] for i in changed])
        else:
            self._rebuild(column_spec, keys, cells)

    def set_cells(self, column_key: str, values: Mapping[str, object]) -> None:
        """Update one column of some rows ({row_key: value}) in place; unknown rows are
        skipped. Cheap: a clock column ticking every second need not rebuild the rows."""
        for row_key, raw in values.items():
            current = self._data.get(RowKey(row_key))
            if current is None:
                continue
            # The row no longer shows what set_rows was given: compare it in full next time.
            self._given.pop(row_key, None)
            value = _cell(raw)
            old = current.get(column_key)  # type: ignore[call-overload]
            if not _same(old, value):
                width_before = old.cell_len if isinstance(old, Text) else 0
                self.update_cell(row_key, column_key, value,
                                 update_width=value.cell_len != width_before)

    # ------------------------------------------------------------------ rendering
    # DataTable caches rendered lines and row lines under keys that hold the cursor's and the
    # hover's coordinates, so a key press that scrolls the table renders every visible row
    # again (~10-30 ms a press at 160 columns). With a row cursor, a row the cursor (or the
    # hover) is not on looks the same wherever that is: such rows are cached as with both
    # away, and a scrolling press renders the two rows it changes and the one it reveals.
    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        if self.cursor_type != "row":
            return super()._render_line(y, x1, x2, base_style)
        try:
            row_key, _ = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        row_index = self._row_index(row_key)
        cursor, hover = self.cursor_coordinate, self.hover_coordinate
        # In DataTable's own line cache (cleared whenever it clears it), under a key of
        # another shape than its own.
        key = (_LINE, y, x1, x2, self.size.width,
               cursor if cursor.row == row_index else None,
               hover if hover.row == row_index else None, base_style, self.show_cursor,
               self._show_hover_cursor, self._update_count, self._pseudo_class_state)
        strip = self._line_cache.get(key)  # type: ignore[arg-type]
        if strip is None:
            strip = super()._render_line(y, x1, x2, base_style)
            self._line_cache[key] = strip  # type: ignore[index,arg-type]
        return strip

    def _row_index(self, row_key: RowKey) -> int:
        row = self._row_locations.get(row_key)
        return -1 if row is None else row  # -1: the header

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        # See _render_line: a row the cursor and the hover are not on, rendered as with both
        # away, so that its cached lines serve wherever they are.
        if self.cursor_type == "row":
            row_index = self._row_index(row_key)
            if cursor_location.row != row_index:
                cursor_location = _AWAY
            if hover_location.row != row_index:
                hover_location = _AWAY
        return super()._render_line_in_row(row_key, line_no, base_style, cursor_location,
                                           hover_location)

    # ------------------------------------------------------------------ internals
    def _update_in_place(self, keys: list[str], cells: list[list[Text]]) -> None:
        """Update the changed cells of the rows `keys` (a subset of the table's rows)."""
        assert self._column_spec is not None
        column_keys = [key for key, _, _ in self._column_spec]
        for row_key, row_cells in zip(keys, cells, strict=True):
            current = self._data.get(RowKey(row_key), {})
            for column_key, value in zip(column_keys, row_cells, strict=True):
                old = current.get(column_key)  # type: ignore[call-overload]
                if not _same(old, value):
                    width_before = old.cell_len if isinstance(old, Text) else 0
                    self.update_cell(row_key, column_key, value,
                                     update_width=value.cell_len != width_before)

    def _rebuild(self, column_spec: tuple[tuple[str, str, str], ...], keys: list[str],
                 cells: list[list[Text]]) -> None:
        self.rebuild_count += 1
        previous_key = self.current_row_key
        previous_row = self.cursor_row
        scroll_y = self.scroll_y
        with self.prevent(DataTable.RowHighlighted, DataTable.CellHighlighted):
            self.clear(columns=column_spec != self._column_spec)
            if column_spec != self._column_spec:
                for key, label, style in column_spec:
                    self.add_column(plain(label, 60, style=style), key=key)
            else:
                # Other rows (another experiment, a filter): each column as wide as its new
                # cells need, not as the widest cell it ever held.
                for column in self.columns.values():
                    column.content_width = column.label.cell_len
            self._column_spec = column_spec
            self._row_keys = keys
            for key, row_cells in zip(keys, cells, strict=True):
                self.add_row(*row_cells, key=key)
            if keys:
                if previous_key in keys:
                    target = keys.index(previous_key)
                else:
                    target = min(max(previous_row, 0), len(keys) - 1)
                self.move_cursor(row=target, animate=False, scroll=False)
        if keys:
            target = self.cursor_row
            if self.current_row_key != previous_key:
                self.post_message(DataTable.RowHighlighted(self, target, RowKey(keys[target])))
            self.call_after_refresh(self._restore_scroll, scroll_y)

    def _restore_scroll(self, scroll_y: float) -> None:
        self.scroll_to(y=scroll_y, animate=False, immediate=True)
        self._scroll_cursor_into_view(animate=False)
