"""ctrl+p "Go to experiment" / "Go to run" (tui/ui/goto.py) on a screen that can jump."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from mlflow_tui.ui.goto import GoToExperiment, GoToRun, RunRef, name_score
from tests.conftest import screen_text, wait_until

EXPERIMENTS = [("1", "team/vision/resnet"), ("2", "team/vision/vit"), ("3", "team/other"),
               ("4", "team/other-archive"), ("5", "[bold]markup[/bold] exp")]
RUNS = [RunRef("1", "r1", "lr-0.1", "team/vision/resnet"),
        RunRef("3", "r2", "other-sweep", "team/other")]
SERVER = [RunRef("2", "r9", "deep-search-hit", "team/vision/vit")]


class Target(Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[tuple[str, ...]] = []
        self.asked: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("monitor")

    def goto_experiments(self):
        return EXPERIMENTS

    def goto_runs(self):
        return RUNS

    async def find_runs(self, text):
        self.asked.append(text)
        return [r for r in SERVER if text.casefold() in r.name.casefold()]

    def open_experiment(self, experiment_id):
        self.opened.append(("experiment", experiment_id))

    def open_run(self, experiment_id, run_id):
        self.opened.append(("run", experiment_id, run_id))


class Host(App[None]):
    COMMANDS = App.COMMANDS | {GoToExperiment, GoToRun}

    def on_mount(self) -> None:
        self.target = Target()
        self.push_screen(self.target)


async def _palette(app, pilot, text: str) -> None:
    await pilot.press("ctrl+p")
    await wait_until(lambda: "CommandPalette" in type(app.screen).__name__)
    await pilot.press(*text)


async def test_the_whole_name_and_enter_opens_the_experiment():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await _palette(app, pilot, "team/other")
        await wait_until(lambda: "Go to experiment: team/other" in screen_text(app))
        await pilot.press("enter")
        await wait_until(lambda: app.target.opened == [("experiment", "3")])


async def test_runs_loaded_and_found_on_the_server():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await _palette(app, pilot, "deep-sea")
        await wait_until(lambda: "Go to run: deep-search-hit (in team/vision/vit)"
                         in screen_text(app))
        assert app.target.asked and app.target.asked[-1] == "deep-sea"
        await pilot.press("enter")
        await wait_until(lambda: app.target.opened == [("run", "2", "r9")])


async def test_names_are_plain_text():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await _palette(app, pilot, "markup")
        await wait_until(lambda: "[bold]markup[/bold] exp" in screen_text(app))


def test_name_score_order():
    q = "other"
    assert name_score(q, "team/other") > name_score(q, "team/other-archive") > 0
    assert name_score("team/other", "team/other") > name_score("team/other", "team/other-a")
    assert name_score("vit", "team/vision/vit") > name_score("vit", "team/vision/resnet-vit")
    assert name_score("zzz", "team/other") == 0 and name_score("", "x") == 0


async def test_letters_in_order_find_an_experiment_as_textual_commands_do():
    """'tvv': team/vision/vit, whose name holds those letters in order (no part starts with
    the query, no substring): the palette's own fuzzy match, its letters highlighted."""
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await _palette(app, pilot, "tvv")
        await wait_until(lambda: "Go to experiment: team/vision/vit" in screen_text(app))
        assert "team/vision/resnet" not in screen_text(app)
        await pilot.press("enter")
        await wait_until(lambda: app.target.opened == [("experiment", "2")])


async def test_a_command_named_by_the_query_stays_above_a_name_spelling_it():
    """'pause' + enter runs Pause; an experiment 'pa-use' (the letters in order) comes after."""
    from textual.binding import Binding

    from mlflow_tui.ui.commands import BindingCommands

    class Pausing(Target):
        BINDINGS = [Binding("p", "pause", "Pause")]
        paused = False

        def goto_experiments(self):
            return [*EXPERIMENTS, ("6", "pa-use")]

        def action_pause(self) -> None:
            self.paused = True

    class PausingHost(App[None]):
        COMMANDS = App.COMMANDS | {BindingCommands, GoToExperiment, GoToRun}

        def on_mount(self) -> None:
            self.target = Pausing()
            self.push_screen(self.target)

    app = PausingHost()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await _palette(app, pilot, "pause")
        await wait_until(lambda: "Go to experiment: pa-use" in screen_text(app))
        await pilot.press("enter")
        await wait_until(lambda: app.target.paused)
        assert app.target.opened == []


async def test_the_real_app_goes_to_an_experiment_in_four_keys():
    """The monitor as users get it, focus as at start: ctrl+p, two letters, enter."""
    from tests.sample_data import fake_app

    app = fake_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(lambda: app.monitor is not None and app.session.watched == ("2",)
                         and app.session.experiments, message="the monitor on vision")
        await _palette(app, pilot, "ch")  # ctrl+p, c, h
        # Enter once the hit is shown (as a user would see it): HM_Dataset/.../Churn.
        await wait_until(lambda: "Go to experiment: HM_Dataset/binary_classification/Churn"
                         in screen_text(app))
        await pilot.press("enter")
        await wait_until(lambda: app.session.watched == ("1",), message="Churn opened")
        assert app.screen is app.monitor
