"""The config file: parsing, one-line errors naming the key and the line, and precedence
(defaults < file < environment < flags)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_tui.cli import parse_settings
from mlflow_tui.settings.config import Settings
from mlflow_tui.settings.configfile import (
    ConfigError,
    check_names,
    default_path,
    key_lines,
    load,
    parse,
)

EXAMPLE = """\
# mlflow-tui settings
uri = "http://127.0.0.1:5000"
experiments = ["team/churn", "team/fraud"]
interval = 5
pair = ["train_loss", "val_loss"]
stall_after = 600
stall_factor = 8
explode_factor = 20.5
bell = false
theme = "nord"
max_runs = 100

[keymap]
"monitor.refresh" = "R, f5"
app.quit = "ctrl+q"
"""


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as cwd and as XDG_CONFIG_HOME, no MLFLOW_TRACKING_URI."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "xdg" / "mlflow-tui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, Path("c.toml"))
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------- paths
def test_default_path_honours_xdg_config_home(tmp_path: Path):
    assert default_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "mlflow-tui" / "config.toml")


def test_default_path_falls_back_to_dot_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".config" / "mlflow-tui" / "config.toml"
    assert default_path({}) == expected
    assert default_path({"XDG_CONFIG_HOME": "relative/dir"}) == expected  # ignored, per spec


def test_missing_default_file_is_empty_but_a_named_one_is_an_error(tmp_path: Path):
    assert load(tmp_path / "nope.toml").values == {}
    with pytest.raises(ConfigError, match="no such config file"):
        load(tmp_path / "nope.toml", required=True)


# ---------------------------------------------------------------------- parsing
def test_every_key_parses():
    config = parse(EXAMPLE)
    assert config.values == {
        "uri": "http://127.0.0.1:5000",
        "experiments": ["team/churn", "team/fraud"],
        "interval": 5.0,
        "pair": ("train_loss", "val_loss"),
        "stall_after": 600.0,
        "stall_factor": 8.0,
        "explode_factor": 20.5,
        "bell": False,
        "theme": "nord",
        "max_runs": 100,
        "keymap": {"monitor.refresh": "R,f5", "app.quit": "ctrl+q"},
    }
    settings = config.apply(Settings())
    assert settings.pair == ("train_loss", "val_loss")
    assert settings.keymap == {"monitor.refresh": "R,f5", "app.quit": "ctrl+q"}
    assert settings.interval == 5.0 and settings.bell is False and settings.max_runs == 100


def test_pair_may_be_one_string():
    assert parse('pair = "loss, eval_loss"').values["pair"] == ("loss", "eval_loss")


def test_key_lines_follow_tables_and_quoted_keys():
    lines = key_lines(EXAMPLE)
    assert lines[("interval",)] == 4
    assert lines[("keymap",)] == 13
    assert lines[("keymap", "monitor.refresh")] == 14
    assert lines[("keymap", "app", "quit")] == 15


def test_unknown_key_names_the_key_and_its_line():
    message = error_of('interval = 3\n\nintervall = 4\n')
    assert message.startswith("c.toml, line 3: unknown key 'intervall'")
    assert "known keys:" in message and "interval" in message


def test_unknown_key_in_a_table_is_reported_at_the_table():
    message = error_of('bell = true\n[colours]\nrun = "red"\n')
    assert message.startswith("c.toml, line 2: unknown key 'colours'")


@pytest.mark.parametrize(("text", "line", "expected"), [
    ('bell = true\ninterval = "fast"\n', 2, "interval must be a number, not a string"),
    ("interval = 0.01\n", 1, "interval must be between 0.2 and 3600"),
    ("interval = true\n", 1, "interval must be a number, not a boolean"),
    ('\n\nexperiments = "team/churn"\n', 3, "experiments must be a list of strings"),
    ("experiments = [1, 2]\n", 1, "experiments must be a list of strings"),
    ('pair = ["a"]\n', 1, "pair must be two metric keys"),
    ('bell = "no"\n', 1, "bell must be true or false, not a string"),
    ("stall_after = 0\n", 1, "stall_after must be more than 0"),
    ("max_runs = 2.5\n", 1, "max_runs must be a whole number, not a number"),
    ("theme = 3\n", 1, "theme must be a string, not a whole number"),
    ('keymap = "x"\n', 1, "keymap must be a table"),
    ('[keymap]\n"app.quit" = 1\n', 2, "keymap 'app.quit' must be a string of keys"),
    ('[keymap]\nbell = true\napp.help = "a b"\n', 2, "keymap 'bell' must be a string"),
    ('[keymap]\napp.help = "a b"\n', 2, "keymap 'app.help': 'a b' is not a list of key names"),
])
def test_wrong_types_name_the_key_and_its_line(text: str, line: int, expected: str):
    message = error_of(text)
    assert message.startswith(f"c.toml, line {line}: {expected}"), message


def test_toml_syntax_error_names_the_line():
    message = error_of('interval = 3\nbell = \n')
    assert message.startswith("c.toml, line 2: TOML syntax error: "), message


def test_non_utf8_file(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_bytes(b'interval = 3\ntheme = "\xff"\n')
    with pytest.raises(ConfigError, match=r"line 2: the file is not UTF-8"):
        load(path)


def test_theme_and_keymap_names_are_checked_with_their_line():
    config = parse(EXAMPLE, Path("c.toml"))
    check_names(config, ["nord", "textual-dark"], ["monitor.refresh", "app.quit"])
    with pytest.raises(ConfigError) as info:
        check_names(config, ["textual-dark", "gruvbox"], ["monitor.refresh", "app.quit"])
    assert str(info.value).startswith("c.toml, line 10: theme 'nord' is not a theme")
    assert "gruvbox" in str(info.value)
    with pytest.raises(ConfigError) as info:
        check_names(config, ["nord"], ["monitor.refresh", "start.quit", "app.quit_now"])
    assert str(info.value).startswith("c.toml, line 15: keymap: unknown binding id 'app.quit'")


# ---------------------------------------------------------------------- precedence
def test_without_a_file_the_defaults_hold():
    settings = parse_settings([])
    assert (settings.interval, settings.bell, settings.stall_after) == (2.0, True, 300.0)
    assert settings.theme is None and settings.keymap == {} and settings.uri is None


def test_file_overrides_defaults(isolated: Path):
    write_config(isolated, EXAMPLE)
    settings = parse_settings([])
    assert settings.interval == 5.0
    assert settings.experiments == ["team/churn", "team/fraud"]
    assert settings.pair == ("train_loss", "val_loss")
    assert settings.stall_after == 600.0 and settings.stall_factor == 8.0
    assert settings.bell is False and settings.theme == "nord"
    assert settings.uri == "http://127.0.0.1:5000"


def test_environment_overrides_the_file(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    write_config(isolated, EXAMPLE)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://from-env:5000")
    assert parse_settings([]).uri == "http://from-env:5000"


def test_flags_override_file_and_environment(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    write_config(isolated, EXAMPLE)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://from-env:5000")
    settings = parse_settings(["http://from-flag:1", "-i", "1", "--bell", "-e", "only",
                               "--pair", "loss,eval_loss", "--stall-after", "30",
                               "--theme", "gruvbox"])
    assert settings.uri == "http://from-flag:1"
    assert settings.interval == 1.0
    assert settings.bell is True
    assert settings.experiments == ["only"]  # replaces the file's list
    assert settings.pair == ("loss", "eval_loss")
    assert settings.stall_after == 30.0
    assert settings.theme == "gruvbox"
    assert parse_settings(["--no-bell"]).bell is False


def test_file_uri_beats_local_discovery_but_not_the_environment(isolated: Path):
    (isolated / "mlflow.db").write_bytes(b"x" * 10)  # a local store that discovery would find
    assert parse_settings([]).uri == f"sqlite:///{(isolated / 'mlflow.db').resolve()}"
    write_config(isolated, 'uri = "http://from-file:5000/"\n')
    assert parse_settings([]).uri == "http://from-file:5000"


def test_config_flag_overrides_the_default_file(isolated: Path):
    write_config(isolated, "interval = 5\n")
    other = isolated / "other.toml"
    other.write_text("interval = 7\n")
    assert parse_settings(["--config", str(other)]).interval == 7.0


def test_invalid_file_exits_2_with_one_line(isolated: Path, capsys: pytest.CaptureFixture[str]):
    path = write_config(isolated, "interval = 3\nstall_after = 'soon'\n")
    with pytest.raises(SystemExit) as info:
        parse_settings([])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == (f"mlflow-tui: error: {path}, line 2: stall_after must be a number, "
                   "not a string\n")


def test_missing_config_flag_file_exits_2(isolated: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        parse_settings(["--config", str(isolated / "missing.toml")])
    assert info.value.code == 2
    assert "missing.toml: no such config file" in capsys.readouterr().err


def test_bad_file_uri_exits_2(isolated: Path, capsys: pytest.CaptureFixture[str]):
    write_config(isolated, 'uri = "ftp://x"\n')
    with pytest.raises(SystemExit) as info:
        parse_settings([])
    assert info.value.code == 2
    assert "ftp" in capsys.readouterr().err


# ---------------------------------------------------------------------- names, against the app
def test_unknown_theme_or_binding_exits_2_naming_the_line(isolated: Path,
                                                          capsys: pytest.CaptureFixture[str]):
    from mlflow_tui.cli import main

    write_config(isolated, 'theme = "nord"\n[keymap]\n"monitor.refrsh" = "R"\n')
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "line 3: keymap: unknown binding id 'monitor.refrsh'" in err
    write_config(isolated, 'theme = "no-such-theme"\n')
    with pytest.raises(SystemExit):
        main([])
    assert "line 1: theme 'no-such-theme' is not a theme" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--config", str(isolated / "xdg" / "x.toml"), "--theme", "nope"])
    assert "no such config file" in capsys.readouterr().err


def test_binding_ids_cover_the_app_screens_and_widgets():
    from mlflow_tui.cli import binding_ids

    ids = binding_ids()
    assert {"app.quit", "monitor.refresh", "compare.export", "chart.log_y",
            "table.down", "tree.collapse"} <= ids


def test_the_readme_example_is_valid():
    from textual.theme import BUILTIN_THEMES

    from mlflow_tui.cli import binding_ids

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = parse(example, Path("README.md"))
    check_names(config, BUILTIN_THEMES, binding_ids())
    assert config.values["keymap"]["monitor.refresh"] == "R,f5"
