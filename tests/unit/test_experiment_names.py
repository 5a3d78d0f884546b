"""Which experiment a name given by the user (-e NAME, the config file's list, status -e)
means: its whole name, its id, or the end of its path when only one name ends so (Databricks
names experiments by workspace path: /Users/me@example.com/my-exp)."""

from __future__ import annotations

from mlflow_tui.session.monitor import choose_watched
from mlflow_tui.tracking.models import Experiment, find_experiment
from mlflow_tui.tracking.poller import ExperimentSummary

EXPS = [
    Experiment("1", "/Users/me@example.com/my-exp"),
    Experiment("2", "team/a/sweep"),
    Experiment("3", "team/b/sweep"),
    Experiment("4", "sweep-2"),
    Experiment("5", "7"),  # a name that is another experiment's id
    Experiment("7", "seven"),
]


def names(found: tuple[Experiment | None, list[Experiment]]) -> tuple[str | None, list[str]]:
    exp, several = found
    return (exp.name if exp else None), [e.name for e in several]


def test_a_whole_name_or_an_id():
    assert names(find_experiment(EXPS, "sweep-2")) == ("sweep-2", [])
    assert names(find_experiment(EXPS, "4")) == ("sweep-2", [])
    assert names(find_experiment(EXPS, "7")) == ("7", []), "a whole name wins over an id"


def test_the_end_of_one_path():
    assert names(find_experiment(EXPS, "my-exp")) == ("/Users/me@example.com/my-exp", [])
    assert names(find_experiment(EXPS, "me@example.com/my-exp"))[0] == (
        "/Users/me@example.com/my-exp")
    assert names(find_experiment(EXPS, "Users/me@example.com/my-exp"))[0] == (
        "/Users/me@example.com/my-exp"), "the leading / of a workspace path left out"
    assert names(find_experiment(EXPS, "a/sweep")) == ("team/a/sweep", [])


def test_spaces_around_a_slash_as_the_tree_shows_the_path():
    spaced = [*EXPS, Experiment("8", "vision / resnet-sweep ")]
    assert names(find_experiment(spaced, "resnet-sweep")) == ("vision / resnet-sweep ", [])
    assert names(find_experiment(spaced, "vision/resnet-sweep"))[0] == "vision / resnet-sweep "
    assert names(find_experiment(EXPS, "team / a / sweep"))[0] == "team/a/sweep"
    assert names(find_experiment(EXPS, " / sweep-2")) == ("sweep-2", [])


def test_whole_parts_only_and_never_a_guess_between_several():
    assert names(find_experiment(EXPS, "exp")) == (None, []), "a part of a part is no match"
    assert names(find_experiment(EXPS, "team")) == (None, []), "a path's start is no match"
    assert names(find_experiment(EXPS, "sweep")) == (None, ["team/a/sweep", "team/b/sweep"])
    assert names(find_experiment(EXPS, "/")) == (None, [])
    assert names(find_experiment(EXPS, "")) == (None, [])


def test_the_monitor_watches_what_the_name_finds():
    summary = ExperimentSummary(EXPS, {}, 0.0)
    assert choose_watched(summary, ["my-exp", "a/sweep", "4", "my-exp"], ()) == (
        ("1", "2", "4"), set())
    assert choose_watched(summary, ["sweep", "nope"], ("4",)) == (("4",), {"sweep", "nope"})


def test_the_monitor_says_once_which_names_are_missing_or_name_several():
    from mlflow_tui.session.monitor import MonitorSession
    from mlflow_tui.settings.config import Settings

    warned: list[str] = []

    class Listener:
        def warn(self, text: str) -> None:
            warned.append(text)

    session = MonitorSession(Settings(experiments=["sweep", "nope", "my-exp"]), None)
    session.listener = Listener()  # type: ignore[assignment]
    summary = ExperimentSummary(EXPS, {}, 0.0)
    assert session._choose_watched(summary) == ("1",)
    assert session._choose_watched(summary) == ("1",)  # said once, not at every listing
    assert warned == [
        "'sweep' ends the names of several experiments ('team/a/sweep', 'team/b/sweep'): "
        "give the whole name",
        "No experiment named 'nope' yet: watching for it"]
