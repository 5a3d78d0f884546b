"""The experiment tree: ⚠/✘ counts of runs in trouble on experiments and their folders, and
g + a few letters to go to an experiment by name (issue 16)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from mlflow_tui.widgets import ExperimentTree
from mlflow_tui.widgets.experiment_tree import ExperimentEntry, best_match
from tests.conftest import wait_until

ENTRIES = [
    ExperimentEntry("1", "team/vision/resnet", 10, running=2, warned=1),
    ExperimentEntry("2", "team/vision/vit", 4, running=1, errors=1),
    ExperimentEntry("3", "team/other", 3),
    ExperimentEntry("4", "[bold red]churn", 7, warned=2),
    ExperimentEntry("5", "Default", 1),
]


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        tree = ExperimentTree(id="experiments")
        tree.border_title = "Experiments"
        yield tree

    def on_mount(self) -> None:
        tree = self.query_one(ExperimentTree)
        tree.set_experiments(ENTRIES)
        tree.focus()

    def on_experiment_tree_experiment_selected(self, event) -> None:
        self.selected.append(event.experiment_id)


def _label(tree: ExperimentTree, path: tuple[str, ...]) -> str:
    node = tree.node_for_path(path)
    assert node is not None
    return str(node.label)


async def test_trouble_counts_on_experiments_and_folders():
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        tree = app.query_one(ExperimentTree)
        assert _label(tree, ("team", "vision", "resnet")).endswith("● 2  ⚠ 1")
        assert _label(tree, ("team", "vision", "vit")).endswith("● 1  ✘ 1")
        assert _label(tree, ("team", "vision")).endswith("● 3  ✘ 1  ⚠ 1")  # folder: summed
        assert _label(tree, ("team",)).endswith("● 3  ✘ 1  ⚠ 1")
        assert "⚠" not in _label(tree, ("team", "other"))
        # Names stay plain text.
        assert _label(tree, ("[bold red]churn",)) == "[bold red]churn  (7)  ⚠ 2"
        # A later update clears a warning: the marker goes, on the folder too.
        tree.set_experiments([ENTRIES[0], ExperimentEntry("2", "team/vision/vit", 4),
                              *ENTRIES[2:]])
        assert "✘" not in _label(tree, ("team", "vision"))


async def test_g_and_letters_go_to_an_experiment_in_few_keys():
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        tree = app.query_one(ExperimentTree)
        await pilot.press("g", "o", "t")  # "team/other": 4 keys with enter
        await wait_until(lambda: tree.current_experiment_id == "3")
        assert "go to: ot" in str(tree.border_subtitle)
        await pilot.press("enter")
        await wait_until(lambda: app.selected == ["3"])
        assert tree.jump_query is None and "go to" not in str(tree.border_subtitle or "")
        # Letters in order (fuzzy), backspace, and escape keeps the cursor where it went.
        await pilot.press("g", "v", "i", "t")
        await wait_until(lambda: tree.current_experiment_id == "2")
        await pilot.press("escape")
        assert tree.jump_query is None and app.selected == ["3"]
        # j/k are letters while typing, keys again afterwards.
        await pilot.press("g", "c", "h", "u", "escape")
        assert tree.current_experiment_id == "4"
        # gg: the top, as in vim.
        await pilot.press("g", "g")
        await wait_until(lambda: tree.cursor_line == 0)
        assert tree.jump_query is None


def test_best_match_order():
    names = {e.experiment_id: e.name for e in ENTRIES}
    assert best_match("team/other", names) == "3"  # the whole name
    assert best_match("vit", names) == "2"  # a last part that starts so
    assert best_match("vision", names) == "2" or best_match("vision", names) == "1"
    assert best_match("resn", names) == "1"
    assert best_match("chu", names) == "4"
    assert best_match("tmvit", names) == "2"  # letters in order
    assert best_match("zzz", names) is None
    assert best_match("", names) is None


async def test_a_folder_counts_its_runs_only_when_every_count_below_is_known():
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        tree = app.query_one(ExperimentTree)
        assert _label(tree, ("team", "vision")).startswith("vision  (14)")  # 10 + 4
        assert _label(tree, ("team",)).startswith("team  (17)")  # 10 + 4 + 3
        # The app knows the count of the experiments it lists: the others' are unknown.
        tree.set_experiments([ENTRIES[0], ExperimentEntry("2", "team/vision/vit", None),
                              *ENTRIES[2:]])
        await pilot.pause()
        assert _label(tree, ("team", "vision", "resnet")).startswith("resnet  (10)")
        assert "(" not in _label(tree, ("team", "vision")), "not a partial sum"
        assert "(" not in _label(tree, ("team",))
        assert _label(tree, ("team", "other")).startswith("other  (3)")


async def test_long_names_are_cut_so_the_counts_stay_in_view():
    """A tree narrower than its labels: names end in …, the counts and markers stay whole, and
    no horizontal scrollbar takes a line."""
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        tree = app.query_one(ExperimentTree)
        tree.styles.width = 34
        tree.set_experiments([*ENTRIES, ExperimentEntry(
            "9", "team/vision/a-very-long-experiment-name-for-a-sweep", 12, running=3, warned=2)])
        await pilot.pause()
        lines = [strip.text for strip in tree.render_lines(tree.region.reset_offset)]
        cut = next(line for line in lines if "a-very" in line)
        assert "a-very-long" in cut and cut.rstrip().endswith("… (12) ●3 ⚠2"), cut
        whole = next(line for line in lines if "resnet" in line)
        assert whole.rstrip().endswith("resnet  (10)  ● 2  ⚠ 1"), "fits: as it is"
        assert all(len(line.rstrip()) <= tree.scrollable_content_region.width for line in lines)
        assert not tree.show_horizontal_scrollbar
        # The node's label itself is whole (the palette, tests and help read it).
        assert str(tree.node_for_path(("team", "vision", "a-very-long-experiment-name-for-a-"
                                       "sweep")).label).startswith("a-very-long-experiment")


async def test_a_very_narrow_tree_never_scrolls_sideways():
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        tree = app.query_one(ExperimentTree)
        for width in (12, 14, 20):
            tree.styles.width = width
            await pilot.pause()
            lines = [strip.text for strip in tree.render_lines(tree.region.reset_offset)]
            room = tree.scrollable_content_region.width
            assert all(len(line.rstrip()) <= room for line in lines), (width, lines)
            assert tree.virtual_size.width <= room


@pytest.mark.waits  # waits on ticks
async def test_folder_counts_stay_the_experiments_runs_while_a_filter_narrows_the_table():
    """The real app: a filter (/) narrows the run table, not the tree's counts; the folders
    above the experiment keep summing its runs, by name filter and by server search."""
    from mlflow_tui.widgets import RunTable
    from tests.conftest import wait_rows
    from tests.sample_data import fake_app

    app = fake_app(interval=0.3)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_rows(app, 6)
        tree = app.monitor.query_one(ExperimentTree)
        path = ("vision", "resnet", "cifar10")
        await wait_until(lambda: _label(tree, path[:1]).startswith("vision  (6)"))
        table = app.monitor.query_one(RunTable)
        for text, shown in (("lr0", 2), ("attributes.status = 'RUNNING'", 2)):
            await pilot.press("slash")
            await pilot.press("ctrl+u", *text, "enter")  # ctrl+u: the earlier filter cleared
            await wait_until(lambda shown=shown: table.row_count == shown, message=text)
            ticks = app.ticks
            await wait_until(lambda ticks=ticks: app.ticks > ticks + 1, message="ticks")
            for depth in (1, 2, 3):
                label = _label(tree, path[:depth])
                assert f"{path[depth - 1]}  (6)" in label or f"{path[depth - 1]} (6)" in label, (
                    text, label)
