"""The reusable widgets, each hosted in a tiny App and driven with Pilot."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import DataTable

from mlflow_tui.widgets import ExperimentEntry, ExperimentTree, MetricChart, RunTable
from tests.conftest import screen_text, wait_until

MARKUP = "[bold]x[/bold]"
CLICK = "[@click=app.quit]quit[/]"


class Host(App[None]):
    """Hosts one widget and records the messages it posts."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield self.widget

    def on_mount(self) -> None:
        self.widget.focus()

    def on_experiment_tree_experiment_selected(self, event: ExperimentTree.ExperimentSelected):
        self.messages.append(event)

    def on_experiment_tree_experiment_highlighted(
        self, event: ExperimentTree.ExperimentHighlighted
    ):
        self.messages.append(event)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted):
        self.messages.append(event)


def _labels(tree: ExperimentTree) -> list[str]:
    """The visible lines of the tree, as plain label text, in order."""
    lines = []
    line = 0
    while (node := tree.get_node_at_line(line)) is not None:
        lines.append("  " * (len(node.data.path) - 1) + node.label.plain)
        line += 1
    return lines




ENTRIES = [
    ExperimentEntry("1", "HM_Dataset/binary_classification/Churn", 3, 1),
    ExperimentEntry("2", "HM_Dataset/binary_classification/Fraud", 2),
    ExperimentEntry("3", "iteration / plugin_name / batch_id", 5),
    ExperimentEntry("4", "a", 1),
    ExperimentEntry("5", "a/b", 2, 2),
    ExperimentEntry("6", "//lonely//", 0),
    ExperimentEntry("7", "///", None),
    ExperimentEntry("8", "Default", 4),
]


# ---------------------------------------------------------------------------- tree
async def test_tree_builds_folders_from_slash_names():
    tree = ExperimentTree()
    app = Host(tree)
    async with app.run_test(size=(80, 30)) as pilot:
        tree.set_experiments(ENTRIES)
        await pilot.pause()
        labels = _labels(tree)
        assert labels == [
            "a  (3)  ● 2",
            "  b  (2)  ● 2",
            "HM_Dataset  (5)  ● 1",
            "  binary_classification  (5)  ● 1",
            "    Churn  (3)  ● 1",
            "    Fraud  (2)",
            "iteration  (5)",
            "  plugin_name  (5)",
            "    batch_id  (5)",
            "///",
            "Default  (4)",
            "lonely  (0)",
        ]
        # "a" is both an experiment and a folder.
        a = tree.node_for_path(("a",))
        assert a is not None and a.data.experiment_id == "4" and a.allow_expand
        leaf = tree.node_for_path(("iteration", "plugin_name", "batch_id"))
        assert leaf.data.experiment_id == "3"
        folder = tree.node_for_path(("HM_Dataset",))
        assert folder.data.experiment_id is None
        # Labels are Text built literally; the running marker is styled, not markup.
        assert isinstance(folder.label, Text)
        assert any("green" in str(span.style) for span in folder.label.spans)


async def test_tree_labels_are_literal_and_click_markup_does_not_quit():
    tree = ExperimentTree()
    app = Host(tree)
    async with app.run_test(size=(80, 20)) as pilot:
        tree.set_experiments([ExperimentEntry("1", CLICK, 1), ExperimentEntry("2", "[b]bold", 1)])
        await pilot.pause()
        labels = _labels(tree)
        assert "[@click=app.quit]quit[  (1)" in labels[0]
        assert "[b]bold  (1)" in labels
        await pilot.click(ExperimentTree, offset=(4, 0))
        await pilot.click(ExperimentTree, offset=(6, 1))
        await pilot.pause()
        assert app.is_running
        assert "[@click=app.quit]" in screen_text(app)


async def test_tree_preserves_expansion_and_cursor_across_updates():
    tree = ExperimentTree()
    app = Host(tree)
    async with app.run_test(size=(80, 30)) as pilot:
        tree.set_experiments(ENTRIES)
        await pilot.pause()
        # Collapse "iteration", put the cursor on Fraud.
        tree.node_for_path(("iteration",)).collapse()
        assert tree.select_experiment("2")
        await pilot.pause()
        assert tree.current_experiment_id == "2"
        fraud_node = tree.cursor_node
        expanded = tree.expanded_paths()
        # Same data again: nothing changes at all.
        updates = tree._updates
        tree.set_experiments(list(ENTRIES))
        await pilot.pause()
        assert tree._updates == updates
        assert tree.cursor_node is fraud_node
        # New experiments sorted in above the cursor, counts changed.
        more = [*ENTRIES, ExperimentEntry("9", "AAA/first", 1), ExperimentEntry("10", "0-top", 1)]
        more[1] = ExperimentEntry("2", "HM_Dataset/binary_classification/Fraud", 7, 1)
        tree.set_experiments(more)
        await pilot.pause()
        assert tree.current_experiment_id == "2"
        assert tree.cursor_node is fraud_node  # same node object, label updated in place
        assert fraud_node.label.plain == "Fraud  (7)  ● 1"
        assert expanded <= tree.expanded_paths() | {("iteration",)}
        assert not tree.node_for_path(("iteration",)).is_expanded
        assert tree.node_for_path(("HM_Dataset", "binary_classification")).is_expanded
        # The cursor's experiment disappears: the cursor goes to its folder.
        tree.set_experiments([e for e in more if e.experiment_id != "2"])
        await pilot.pause()
        node = tree.cursor_node
        assert node is not None and node.data.path == ("HM_Dataset", "binary_classification")


async def test_tree_expands_only_top_level_for_many_experiments():
    tree = ExperimentTree()
    app = Host(tree)
    async with app.run_test(size=(80, 30)) as pilot:
        tree.set_experiments([ExperimentEntry(str(i), f"team{i % 3}/exp{i}", 1) for i in range(60)])
        await pilot.pause()
        assert _labels(tree) == ["team0  (20)", "team1  (20)", "team2  (20)"]


async def test_tree_enter_selects_experiment_and_vim_keys_move():
    tree = ExperimentTree()
    app = Host(tree)
    async with app.run_test(size=(80, 30)) as pilot:
        tree.set_experiments(ENTRIES)
        await pilot.pause()
        assert tree.cursor_line == -1  # no cursor until the user moves
        await pilot.press("j")
        assert tree.cursor_line == 0
        await pilot.press("j")
        assert tree.cursor_line == 1
        assert tree.current_experiment_id == "5"
        await wait_until(lambda: any(
            isinstance(m, ExperimentTree.ExperimentHighlighted) and m.experiment_id == "5"
            for m in app.messages))
        await pilot.press("enter")
        await wait_until(lambda: any(
            isinstance(m, ExperimentTree.ExperimentSelected) and m.experiment_id == "5"
            for m in app.messages))
        await pilot.press("k")
        assert tree.cursor_line == 0
        await pilot.press("G")
        assert tree.cursor_line == tree.last_line
        await pilot.press("g", "g")  # gg: the top (g + letters: go to by name)
        assert tree.cursor_line == 0
        # h collapses the folder under the cursor, l expands it again.
        await pilot.press("h")
        assert not tree.node_for_path(("a",)).is_expanded
        await pilot.press("l")
        assert tree.node_for_path(("a",)).is_expanded
        # h on a leaf goes to its folder.
        await pilot.press("down", "h")
        assert tree.cursor_node.data.path == ("a",)
        # Enter on a plain folder does not select anything.
        count = len([m for m in app.messages if isinstance(m, ExperimentTree.ExperimentSelected)])
        tree.move_cursor(tree.node_for_path(("HM_Dataset",)))
        await pilot.press("enter")
        await pilot.pause()
        assert count == len(
            [m for m in app.messages if isinstance(m, ExperimentTree.ExperimentSelected)])
        assert {b.id for b in ExperimentTree.BINDINGS} >= {"tree.down", "tree.up", "tree.top",
                                                           "tree.bottom", "tree.collapse",
                                                           "tree.expand"}


# ---------------------------------------------------------------------------- table
COLUMNS = [("status", "Status"), ("name", "Name"), ("loss", "Loss")]


def _rows(*keys: str, loss: float = 0.5) -> list[tuple[str, list[object]]]:
    return [(k, [Text("RUNNING", style="green"), f"run-{k}", loss]) for k in keys]


async def test_table_updates_cells_in_place_without_moving_the_cursor():
    table = RunTable()
    app = Host(table)
    async with app.run_test(size=(80, 20)) as pilot:
        table.set_rows(COLUMNS, _rows("a", "b", "c", "d"))
        await pilot.pause()
        await pilot.press("j", "j")
        assert table.current_row_key == "c"
        rebuilds = table.rebuild_count
        app.messages.clear()
        table.set_rows(COLUMNS, _rows("a", "b", "c", "d", loss=0.25))
        await pilot.pause()
        assert table.rebuild_count == rebuilds
        assert table.current_row_key == "c" and table.cursor_row == 2
        assert str(table.get_cell("c", "loss")) == "0.25"
        assert not app.messages  # no highlight event: nothing moved


async def test_table_keeps_cursor_on_same_row_key_when_reordered():
    table = RunTable()
    app = Host(table)
    async with app.run_test(size=(80, 20)) as pilot:
        table.set_rows(COLUMNS, _rows("a", "b", "c", "d"))
        await pilot.pause()
        await pilot.press("j")
        assert table.current_row_key == "b"
        await pilot.pause()
        app.messages.clear()
        # New run on top, order changed: the cursor follows "b".
        table.set_rows(COLUMNS, _rows("new", "d", "c", "b", "a"))
        await pilot.pause()
        assert table.current_row_key == "b" and table.cursor_row == 3
        assert not [m for m in app.messages if isinstance(m, DataTable.RowHighlighted)
                    and m.row_key.value != "b"], "the highlighted run must never jump"
        # The highlighted row disappears: same index, clamped.
        table.set_rows(COLUMNS, _rows("new", "d", "c"))
        await pilot.pause()
        assert table.current_row_key == "c"
        await wait_until(lambda: any(isinstance(m, DataTable.RowHighlighted)
                                     and m.row_key.value == "c" for m in app.messages))
        # Duplicate keys and short rows are tolerated.
        table.set_rows(COLUMNS, [("x", ["1"]), ("x", ["2"]), ("y", [])])
        await pilot.pause()
        assert table.row_count == 2 and table.get_cell("x", "status").plain == "1"
        # Empty.
        table.set_rows(COLUMNS, [])
        await pilot.pause()
        assert table.current_row_key is None and table.row_count == 0
        assert {b.id for b in RunTable.BINDINGS} == {"table.down", "table.up", "table.top",
                                                     "table.bottom"}


async def test_table_vim_keys():
    table = RunTable()
    app = Host(table)
    async with app.run_test(size=(80, 20)) as pilot:
        table.set_rows(COLUMNS, _rows(*"abcdef"))
        await pilot.pause()
        await pilot.press("G")
        assert table.current_row_key == "f"
        await pilot.press("k")
        assert table.current_row_key == "e"
        await pilot.press("g")
        assert table.current_row_key == "a"
        await pilot.press("down")
        assert table.current_row_key == "b"


async def test_table_markup_in_cells_is_literal_and_never_quits():
    table = RunTable()
    app = Host(table)
    async with app.run_test(size=(100, 20)) as pilot:
        table.set_rows(COLUMNS, [
            ("r1", [MARKUP, CLICK, Text("[i]kept[/i]")]),
            ("r2", ["ok\x1b[31m", None, 1.5]),
        ])
        await pilot.pause()
        cell = table.get_cell("r1", "status")
        assert isinstance(cell, Text) and cell.plain == MARKUP and not cell.spans
        assert table.get_cell("r1", "name").plain == CLICK
        assert table.get_cell("r2", "status").plain == "ok␛"
        assert table.get_cell("r2", "name").plain == ""
        screen = screen_text(app)
        assert "[bold]x[/bold]" in screen
        assert "[@click=app.quit]" in screen
        assert "[i]kept[/i]" in screen
        await pilot.click(RunTable, offset=(20, 1))
        await pilot.click(RunTable, offset=(20, 1))
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running


# ---------------------------------------------------------------------------- chart
async def test_chart_with_nan_and_large_series_renders():
    chart = MetricChart()
    app = Host(chart)
    async with app.run_test(size=(100, 30)) as pilot:
        loss = [(float(i), 1.0 / (i + 1)) for i in range(100_000)]
        loss[500] = (500.0, float("nan"))
        loss[700] = (700.0, float("inf"))
        val = [(float(i), math.nan if i % 7 == 0 else 0.5) for i in range(0, 1000, 10)]
        chart.set_data({"train_loss": loss, "val_loss": val}, title="loss vs val",
                       marker_x=300, marker_label="best val")
        await pilot.pause()
        await wait_until(lambda: chart.render_count > 0)
        screen = screen_text(app)
        assert "loss vs val" in screen
        assert "train_loss" in screen and "val_loss" in screen
        assert "best val" in screen
        assert chart.series_labels == ["train_loss", "val_loss"]
        text = str(chart.render())
        assert text.count("val_loss") == 1


async def test_chart_set_data_many_times_builds_once_per_refresh():
    chart = MetricChart()
    app = Host(chart)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        before = chart.render_count
        for i in range(200):
            chart.set_data({"m": [(float(s), float(s * i)) for s in range(50)]}, title=f"t{i}")
        await pilot.pause()
        await wait_until(lambda: "t199" in screen_text(app))
        assert chart.render_count - before < 10


async def test_chart_empty_and_hostile_text():
    chart = MetricChart()
    app = Host(chart)
    async with app.run_test(size=(80, 24)) as pilot:
        chart.set_data({}, title="no run selected")
        await pilot.pause()
        assert "no run selected" in screen_text(app)
        chart.set_data({"all_nan": [(0.0, math.nan), (1.0, math.inf)]}, title="nothing yet")
        await pilot.pause()
        assert "nothing yet" in screen_text(app)
        chart.set_data({CLICK + "\x1b[2J": [(0.0, 1.0), (1.0, 2.0)]}, title=MARKUP + "\nline2",
                       x_label="step\t", y_label=CLICK, colors={CLICK + "\x1b[2J": "red"})
        await pilot.pause()
        screen = screen_text(app)
        assert "[bold]x[/bold]⏎line2" in screen
        assert "[@click=app.quit]" in screen
        assert "\x1b[2J" not in chart.series_labels[0]
        await pilot.click(MetricChart, offset=(10, 0))
        await pilot.pause()
        assert app.is_running
        # Single-point series and a marker outside the data don't break it.
        chart.set_data({"one": [(3.0, 1.0)]}, marker_x=10.0, marker_label="best")
        await pilot.pause()
        assert "best" in screen_text(app)
