"""Terminal desktop notifications (tui/alerts/notify.py): the right sequence per terminal, tmux
pass-through, and server text that can never break out of the sequence."""

from __future__ import annotations

import re

import pytest

from mlflow_tui.alerts.notify import pick, sequence


@pytest.mark.parametrize("env,kind", [
    ({}, "osc777"),
    ({"TERM_PROGRAM": "iTerm.app"}, "osc9"),
    ({"WT_SESSION": "x"}, "osc9"),
    ({"KITTY_WINDOW_ID": "1"}, "osc99"),
    ({"TERM": "xterm-kitty"}, "osc99"),
    ({"VTE_VERSION": "7600"}, "osc777"),
    ({"TERM_PROGRAM": "ghostty"}, "osc777"),
])
def test_auto_picks_by_terminal(env, kind):
    assert pick("auto", env) == kind
    assert pick("osc9", env) == "osc9"  # an explicit choice wins


def test_sequences():
    assert sequence("mlflow-tui", "run a overfitting", environ={}) == (
        "\x1b]777;notify;mlflow-tui;run a overfitting\x1b\\")
    assert sequence("t", "b", kind="osc9", environ={}) == "\x1b]9;t: b\x07"
    assert sequence("t", "b", kind="osc99", environ={}) == "\x1b]99;;t: b\x1b\\"


def test_tmux_wraps_and_doubles_escapes():
    seq = sequence("t", "b", environ={"TMUX": "/tmp/tmux-0/default,1,0"})
    assert seq == "\x1bPtmux;\x1b\x1b]777;notify;t;b\x1b\x1b\\\x1b\\"


def test_hostile_names_cannot_escape_the_sequence():
    name = "evil\x1b]52;c;cHduZWQ=\x07\x1b\\;more\x9b31m\nline"
    seq = sequence(f"run {name}", f"{name}: overfitting", environ={})
    body = seq[len("\x1b]777;notify;"):-2]
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", body)  # no control character inside
    assert body.count(";") == 1  # only the title/body separator
    assert seq.endswith("\x1b\\") and seq.count("\x1b") == 2


def test_long_text_is_cut():
    seq = sequence("x" * 200, "y" * 1000, environ={})
    title, body = seq[len("\x1b]777;notify;"):-2].split(";")
    assert len(title) == 60 and title.endswith("…")
    assert len(body) == 240 and body.endswith("…")
