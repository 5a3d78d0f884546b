"""Issue 7: small and large terminals, themes, help and command palette for every view, and
the mouse (clicks on the tree, a run row, a column header and a footer key)."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from mlflow_tui.screens.compare import CompareScreen
from mlflow_tui.screens.details import RunDetailsScreen
from mlflow_tui.screens.help import HelpScreen
from mlflow_tui.screens.monitor import MonitorScreen
from mlflow_tui.screens.picker import PickerScreen
from mlflow_tui.screens.start import StartScreen
from mlflow_tui.text import format as fmt
from mlflow_tui.ui.commands import binding_commands
from mlflow_tui.widgets import ExperimentTree, MetricChart, RunTable
from tests.conftest import screen_text, wait_rows, wait_until
from tests.sample_data import fake_app


def _app(**kw):
    return fake_app(interval=3600, **kw)


async def _monitor(pilot, run_id: str = "a1") -> MonitorScreen:
    app = pilot.app
    await wait_rows(app, 6)
    table = app.monitor.query_one(RunTable)
    table.move_cursor(row=table.get_row_index(run_id))
    await wait_until(lambda: app.session.highlighted == run_id, message="highlight")
    await pilot.pause()
    return app.monitor


# ------------------------------------------------------------------ sizes
async def test_small_terminal_keeps_table_and_chart_and_folds_the_tree():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        monitor = await _monitor(pilot)
        assert monitor.has_class("-narrow") and monitor.has_class("-short")
        tree, table = monitor.query_one(ExperimentTree), monitor.query_one(RunTable)
        chart = monitor.query_one(MetricChart)
        assert tree.outer_size.width <= 14
        assert table.outer_size.width >= 60
        # Both visible, with rows: the run table shows at least five runs, the chart a plot.
        assert table.scrollable_content_region.height >= 5
        assert chart.content_region.height >= 10  # a readable plot, not a strip
        # The tree widens while it has the focus, and folds again when the table has it.
        await pilot.press("shift+tab")
        assert app.focused is tree
        await pilot.pause()
        assert tree.outer_size.width >= 40
        await pilot.press("tab")
        await pilot.pause()
        assert tree.outer_size.width <= 14
        # With runs marked the footer still ends with `? Help`; the note is the count only,
        # and the whole note comes back on a wide terminal.
        await pilot.press("space", "j", "space")
        await wait_until(lambda: len(app.session.marked) == 2, message="two marks")
        await pilot.pause()
        bottom = screen_text(app).splitlines()[-1]
        assert "●2 marked " in bottom and bottom.rstrip().endswith("? Help"), bottom
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        await pilot.pause()
        assert "● 2 marked · c compare · u clear" in screen_text(app).splitlines()[-1]


async def test_large_terminal_uses_the_space():
    app = _app()
    async with app.run_test(size=(200, 60)) as pilot:
        monitor = await _monitor(pilot)
        assert monitor.has_class("-wide") and monitor.has_class("-tall")
        table = monitor.query_one(RunTable)
        chart = monitor.query_one(MetricChart)
        # The table is as tall as its six runs (a header, the rows, its border; no empty
        # rows) and the chart takes the rest.
        assert table.row_count == 6
        assert table.outer_size.height <= 6 + 1 + 2 + 1
        assert chart.outer_size.height >= 40 and chart.outer_size.width >= 100
        # A resize re-applies the classes.
        await pilot.resize_terminal(90, 26)
        await pilot.pause()
        assert monitor.has_class("-narrow") and not monitor.has_class("-wide")



async def test_run_table_grows_with_its_runs_up_to_its_share():
    from mlflow_tui.tracking.models import Run, RunStatus
    from tests.sample_data import T0, curves, sample_source

    source = sample_source()
    for i in range(60):
        source.add_run(Run(f"m{i}", "2", f"sweep-{i:02d}", RunStatus.FINISHED, T0, T0 + 60_000,
                           params={"lr": "0.01"}, tags={}), curves(10, seed=i))
    app = fake_app(source, interval=3600)
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_rows(app, 66)
        await pilot.pause()
        table = app.monitor.query_one(RunTable)
        chart = app.monitor.query_one(MetricChart)
        body = app.monitor.query_one("#main").outer_size.height
        # 66 runs do not fit: the table stops at its share of the screen and scrolls.
        assert 0.40 * body <= table.outer_size.height <= 0.46 * body
        assert table.max_scroll_y > 0
        assert chart.outer_size.height >= 25

# ------------------------------------------------------------------ themes
async def test_theme_from_settings_and_run_colours_per_theme():
    app = _app(theme="textual-light")
    async with app.run_test(size=(120, 36)) as pilot:
        monitor = await _monitor(pilot)
        assert app.theme == "textual-light" and not app.current_theme.dark
        await pilot.press("space")
        table = monitor.query_one(RunTable)

        def mark_style() -> str:
            return str(table.get_cell("a1", "mark").style)

        await wait_until(lambda: mark_style() == fmt.RUN_COLOURS_LIGHT[0][1])
        app.theme = "textual-dark"
        await wait_until(lambda: mark_style() == fmt.RUN_COLOURS_DARK[0][1])
        assert fmt.RUN_COLOURS_DARK[0][1] != fmt.RUN_COLOURS_LIGHT[0][1]
        assert monitor.is_attached


def test_run_colours_avoid_what_vanishes_on_the_background():
    light_styles = {style for _, style in fmt.RUN_COLOURS_LIGHT}
    assert not light_styles & {"white", "bright_white", "bright_yellow", "yellow1"}
    for palette in (fmt.RUN_COLOURS_DARK, fmt.RUN_COLOURS_LIGHT):
        assert len(set(palette)) == len(palette) == 8
    assert fmt.run_colour(8, dark=False) == fmt.RUN_COLOURS_LIGHT[0]


# ------------------------------------------------------------------ help on every view
def _help_text(app) -> str:
    assert isinstance(app.screen, HelpScreen)
    return screen_text(app)


def _described(bindings) -> set[str]:
    return {b.description for b in bindings if b.description}


async def _open_help(pilot) -> str:
    await pilot.press("question_mark")
    await wait_until(lambda: isinstance(pilot.app.screen, HelpScreen), message="help")
    await pilot.pause()
    text = _help_text(pilot.app)
    await pilot.press("escape")
    await wait_until(lambda: not isinstance(pilot.app.screen, HelpScreen))
    return text


async def test_help_lists_every_key_of_every_view():
    app = _app()
    async with app.run_test(size=(120, 70)) as pilot:
        await _monitor(pilot)
        text = await _open_help(pilot)
        for description in _described(MonitorScreen.BINDINGS) | _described(RunTable.BINDINGS):
            assert description in text, description
        # Details (i)
        await pilot.press("i")
        await wait_until(lambda: isinstance(app.screen, RunDetailsScreen))
        text = await _open_help(pilot)
        assert "Run details" in text and "Close" in text and "Scroll down" in text
        await pilot.press("escape")
        # Picker (M)
        await wait_until(lambda: isinstance(app.screen, MonitorScreen))
        await pilot.press("M")
        await wait_until(lambda: isinstance(app.screen, PickerScreen))
        text = await _open_help(pilot)
        assert "Pick" in text and "Choose" in text and "Down" in text
        await pilot.press("escape")
        # Compare (c with two marked runs)
        await wait_until(lambda: isinstance(app.screen, MonitorScreen))
        table = app.monitor.query_one(RunTable)
        for rid in ("a1", "a2"):
            table.move_cursor(row=table.get_row_index(rid))
            await wait_until(lambda rid=rid: app.session.highlighted == rid)
            await pilot.press("space")
        await pilot.press("c")
        await wait_until(lambda: isinstance(app.screen, CompareScreen))
        text = await _open_help(pilot)
        for description in _described(CompareScreen.BINDINGS):
            assert description in text, description


async def test_help_on_the_start_screen_and_with_a_keymap():
    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings

    app = make_app(Settings(uri=None, keymap={"start.demo": "D"}))
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, StartScreen))
        text = await _open_help(pilot)
        assert "Start demo" in text and "Quit" in text
        assert "D  " in text or "D " in text  # the remapped key, not d


# ------------------------------------------------------------------ command palette
async def test_palette_offers_every_action_of_the_view():
    app = _app()
    async with app.run_test(size=(120, 36)) as pilot:
        monitor = await _monitor(pilot)
        commands = {c.description: c for c in binding_commands(monitor)}
        for description in _described(MonitorScreen.BINDINGS):
            assert description in commands, description
        assert {"Help", "Quit"} <= set(commands)
        assert commands["Pause"].keys == "p"
        assert "Close help" not in commands


@pytest.mark.waits  # waits on the palette
async def test_palette_command_runs_the_action():
    app = _app()
    async with app.run_test(size=(120, 36)) as pilot:
        await _monitor(pilot)
        await pilot.press("ctrl+p")
        await wait_until(lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"pause")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(lambda: app.session.paused, message="paused from the palette")
        # And the theme picker Textual provides.
        await pilot.press("ctrl+p")
        await wait_until(lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"theme")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await pilot.press(*"textual-light")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(lambda: app.theme == "textual-light", message="theme picked")


# ------------------------------------------------------------------ mouse
async def test_clicks_on_tree_row_header_and_footer():
    app = _app()
    async with app.run_test(size=(140, 40)) as pilot:
        monitor = await _monitor(pilot)
        table = monitor.query_one(RunTable)
        # A run row: row 3 (a3), below the header line and the border.
        target = table.get_row_index("a3")
        await pilot.click(RunTable, offset=(10, 1 + 1 + target))
        await wait_until(lambda: app.session.highlighted == "a3", message="row click highlights")
        # A column header sorts by it.
        x = sum(col.get_render_width(table) for col in list(table.columns.values())[:2]) + 2
        await pilot.click(RunTable, offset=(x, 1))
        await wait_until(lambda: app.monitor.sort_column == "name", message="header click sorts")
        # A footer key runs its action.
        footer = monitor.query_one(Footer)
        warnings = next(k for k in footer.query(FooterKey) if k.description == "Warnings")
        await pilot.click(warnings)
        await wait_until(lambda: app.monitor.warnings_only,
                         message="footer click shows warnings only")
        # An experiment in the tree: watched.
        tree = monitor.query_one(ExperimentTree)
        node = tree._path_nodes[("HM_Dataset", "binary_classification", "Churn")]
        await pilot.click(ExperimentTree, offset=(8, 1 + node.line - int(tree.scroll_y)))
        await wait_until(lambda: app.session.watched == ("1",), message="tree click watches")


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_every_monitor_key_still_works_at_size(size):
    """The keys do not depend on what is on screen: at both sizes the main ones act."""
    app = _app()
    async with app.run_test(size=size) as pilot:
        await _monitor(pilot)
        await pilot.press("p")
        assert app.session.paused
        await pilot.press("slash")
        await wait_until(lambda: app.focused is not None and app.focused.id == "filter")
        await pilot.press("escape")
        await pilot.press("w")
        assert app.monitor.warnings_only
        await pilot.press("i")
        await wait_until(lambda: isinstance(app.screen, RunDetailsScreen))
        await pilot.press("escape")


async def test_details_scroll_by_every_key_of_a_burst():
    # Keys that arrive together (a held j, a burst over SSH) each scroll one line: a deferred
    # scroll counted from the position before the previous one was applied moved one in all.
    from textual import events
    from textual.containers import VerticalScroll

    app = _app()
    async with app.run_test(size=(80, 16)) as pilot:
        await _monitor(pilot)
        await pilot.press("i")
        await wait_until(lambda: isinstance(app.screen, RunDetailsScreen))
        scroll = app.screen.query_one(VerticalScroll)
        await wait_until(lambda: scroll.max_scroll_y >= 6, message="details taller than the dialog")
        for _ in range(5):
            app.post_message(events.Key("j", "j"))
        await wait_until(lambda: scroll.scroll_y == 5, message="one line per key")
        for _ in range(3):
            app.post_message(events.Key("k", "k"))
        await wait_until(lambda: scroll.scroll_y == 2, message="one line per key")
