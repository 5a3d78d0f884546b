"""Which graphics the terminal speaks (tui/ui/images.py): its answers read, the probe over a
real pseudo-terminal, and textual-image imported without a query of its own."""

from __future__ import annotations

import os
import select
import sys
import threading
from typing import Any

from mlflow_tui.ui.images import (
    CELL_QUERY,
    DA1,
    HALFBLOCKS,
    KITTY,
    KITTY_QUERY,
    SIXEL,
    VERSION_QUERY,
    placeholders,
    probe,
    read_answers,
)
from tests.fake_terminal import FakeTerminal

KITTY_OK = b"\x1b_Gi=7301;OK\x1b\\"
CELL = b"\x1b[6;20;10t"


def _named(name: str) -> bytes:
    return b"\x1bP>|" + name.encode() + b"\x1b\\"  # XTVERSION's answer


def test_a_kitty_answer_before_the_da1_fence_means_kitty():
    found = read_answers(KITTY_OK + CELL + _named("kitty(0.35.2)") + b"\x1b[?62;c",
                         asked_kitty=True)
    assert (found.kind, found.cell, found.terminal) == (KITTY, (10, 20), "kitty(0.35.2)")
    assert read_answers(KITTY_OK + _named("ghostty 1.1.3") + b"\x1b[?62;22c", True).kind == KITTY


def test_kitty_graphics_only_where_unicode_placeholders_are_drawn():
    """textual-image places Kitty images with Unicode placeholders (kitty 0.28+): kitty 0.26.5
    (Debian 12) answers the graphics query OK and then draws U+10EEEE as boxes. Seen in the
    real kitty 0.26.5 (docs/verify-terminals.md)."""
    old = read_answers(KITTY_OK + CELL + _named("kitty(0.26.5)") + b"\x1b[?62;c", True)
    assert old.kind == HALFBLOCKS and old.terminal == "kitty(0.26.5)"
    assert "kitty(0.26.5)" in old.note and "0.28" in old.note
    # No XTVERSION answer: not known to draw them either.
    assert read_answers(KITTY_OK + b"\x1b[?62;c", True).kind == HALFBLOCKS
    # WezTerm answers the query OK but draws no placeholders; its DA1 lists Sixel.
    wez = read_answers(KITTY_OK + _named("WezTerm 20240203-110809-5046fc22") +
                       b"\x1b[?65;4;6;18;22c", True)
    assert (wez.kind, wez.note) == (SIXEL, "")
    assert [placeholders(name) for name in (
        "kitty(0.28.0)", "kitty(0.29.0)", "kitty(0.29.1)", "kitty(0.21.2)", "ghostty 1.0.0",
        "XTerm(379)", "tmux 3.3a", "", "kitty")] == [
        True, False, True, False, True, False, False, False, False]


def test_what_is_not_kitty():
    # An error answer, an answer after the fence (not read in practice), not asked (tmux).
    assert read_answers(b"\x1b_Gi=7301;ENOTSUPPORTED:x\x1b\\\x1b[?62;c", True).kind == HALFBLOCKS
    assert read_answers(b"\x1b[?62;c" + KITTY_OK, True).kind == HALFBLOCKS
    assert read_answers(KITTY_OK + b"\x1b[?62;c", False).kind == HALFBLOCKS
    assert read_answers(KITTY_OK, True).why == "the terminal did not answer DA1"


def test_sixel_from_da1_and_the_window_size_wins_for_the_cell():
    found = read_answers(CELL + b"\x1b[?62;4;22c", True, cell=(8, 16))
    assert (found.kind, found.cell) == (SIXEL, (8, 16))
    assert read_answers(b"\x1b[?1;2c", True).kind == HALFBLOCKS  # tmux 3.3a
    assert read_answers(b"\x1b[?64;1;2;6;9;15;18;21;22c", True).cell is None


def _play_terminal(master: int, answers: bytes, seen: list[bytes]) -> threading.Thread:
    def run() -> None:
        got = b""
        while DA1.encode() not in got:
            got += os.read(master, 1024)
        seen.append(got)
        os.write(master, answers)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_probe_asks_once_fenced_by_da1_and_leaves_the_mode_as_it_was():
    import termios

    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        seen: list[bytes] = []
        thread = _play_terminal(master, KITTY_OK + CELL + _named("kitty(0.35.2)") +
                                b"\x1b[?62;c", seen)
        found = probe(slave, slave, {}, timeout=10)
        thread.join(5)
        assert found.kind == KITTY and found.cell == (10, 20)
        assert seen == [(KITTY_QUERY + "\x1b[16t" + VERSION_QUERY + DA1).encode()]
        assert termios.tcgetattr(slave) == before
        # In tmux (TMUX set): no Kitty query (tmux would take it as the pane's title).
        seen.clear()
        thread = _play_terminal(master, b"\x1b[?1;2c", seen)
        found = probe(slave, slave, {"TMUX": "/tmp/tmux-1/default,1,0"}, timeout=10)
        thread.join(5)
        assert found.kind == HALFBLOCKS and seen == [(CELL_QUERY + VERSION_QUERY + DA1).encode()]
        # No answer at all: half blocks once the wait is over.
        assert probe(slave, slave, {}, timeout=0.2).why == "the terminal did not answer DA1"
    finally:
        os.close(master)
        os.close(slave)


def test_textual_image_is_imported_without_asking_the_terminal(tmp_path):
    """textual-image asks the terminal when first imported on a tty (DA1, a Kitty query,
    CSI 16 t); through mlflow_tui.ui.images it asks nothing, whatever the terminal would answer."""
    from PIL import Image as PILImage

    png = tmp_path / "x.png"
    PILImage.new("RGB", (8, 8), (255, 0, 0)).save(png)
    code = ("import sys, mlflow_tui.ui.images as i; "
            "w = i.image_widget(open(sys.argv[1], 'rb').read()); print(type(w).__name__)")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": root, "TERM": "xterm-kitty"}
    with FakeTerminal([sys.executable, "-c", code, str(png)], env, kitty=True) as term:
        assert term.wait_exit(60) == 0
        term.expect(lambda out: b"HalfcellImage" in out, timeout=5)
    assert term.answered == [] and b"\x1b" not in term.output, term.output


def test_the_answers_arrive_while_the_app_is_imported_and_are_not_echoed(monkeypatch):
    """`Asked`: the queries go out at once, the terminal is quiet (no echo, no line
    buffering) until `finish`, whose wait counts from the queries: an answer that came
    meanwhile is read without waiting, and a terminal that never answers costs only what is
    left of the timeout."""
    import termios
    import time

    from mlflow_tui.ui.images import Asked

    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        seen: list[bytes] = []
        thread = _play_terminal(master, KITTY_OK + _named("kitty(0.35.2)") + b"\x1b[?62;c", seen)
        asked = Asked(slave, slave, {}, timeout=10)
        thread.join(5)  # answered while "the app is imported"
        lflag = termios.tcgetattr(slave)[3]
        assert not lflag & termios.ECHO and not lflag & termios.ICANON
        assert asked.finish().kind == KITTY and termios.tcgetattr(slave) == before
        # Answered in time, read late (the imports took longer than the wait, as on a busy
        # machine in the real kitty 0.41.1): the answers are read, not left to Textual.
        thread = _play_terminal(master, KITTY_OK + _named("kitty(0.35.2)") + b"\x1b[?62;c", seen)
        asked = Asked(slave, slave, {}, timeout=0.2)
        thread.join(5)
        time.sleep(0.3)
        assert asked.finish().kind == KITTY and termios.tcgetattr(slave) == before
        # Never answered: the wait ends `timeout` after the queries, not after finish: past
        # it, finish only looks (select with no timeout) and waits no more.
        asked = Asked(slave, slave, {}, timeout=0.2)
        time.sleep(0.3)
        real_select = select.select

        def no_wait(r: list[int], w: list[int], x: list[int], timeout: float) -> Any:
            assert timeout == 0, f"waited again: {timeout} s"
            return real_select(r, w, x, timeout)

        monkeypatch.setattr("mlflow_tui.ui.images.select.select", no_wait)
        assert asked.finish().why == "the terminal did not answer DA1"
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_the_cli_asks_before_building_the_app_and_reads_before_it_runs(monkeypatch):
    """The terminal answers while Textual and the app are imported (~0.4 s): the probe costs
    a terminal that answers nothing and one that never answers little. The answers are read
    before Textual reads keys, and also when the command line is refused (else the shell
    would get them)."""
    import mlflow_tui.app
    import mlflow_tui.cli as cli
    import mlflow_tui.ui.images as images

    calls: list[str] = []

    class Pending:
        def finish(self) -> None:
            calls.append("finish")

    class App:
        return_code = 0

        def run(self) -> None:
            calls.append("run")

    def make_app(settings: object) -> App:
        calls.append("make_app")
        return App()

    monkeypatch.setattr(images, "ask", lambda: calls.append("ask") or Pending())
    monkeypatch.setattr(mlflow_tui.app, "make_app", make_app)
    assert cli.main(["http://127.0.0.1:9"]) == 0
    assert calls == ["ask", "make_app", "finish", "run"]
    calls.clear()
    monkeypatch.setattr(cli, "needs_mlflow", lambda settings: "MLflow is not installed")
    try:
        cli.main(["http://127.0.0.1:9"])
    except SystemExit:
        pass
    assert calls == ["ask", "finish"]


def test_a_terminal_that_has_begun_to_answer_is_waited_for(monkeypatch):
    """Past the wait, a terminal that has sent part of its answers (a busy machine, a slow
    SSH link) gets LATE_GRACE more for the rest up to DA1's answer: read late, the rest would
    be typed into the app as keys (XTVERSION's `kitty(...)`, DA1's `?`)."""
    import termios
    import time

    import mlflow_tui.ui.images as images
    from mlflow_tui.ui.images import Asked

    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)

        def answer_in_two_parts() -> None:
            got = b""
            while DA1.encode() not in got:
                got += os.read(master, 1024)
            os.write(master, KITTY_OK)
            time.sleep(0.6)  # well past the 0.2 s wait
            os.write(master, _named("kitty(0.35.2)") + b"\x1b[?62;c")

        # A long grace, so that a busy machine cannot make the second part late: the wait
        # ends with DA1's answer.
        monkeypatch.setattr(images, "LATE_GRACE", 30.0)
        thread = threading.Thread(target=answer_in_two_parts, daemon=True)
        thread.start()
        found = Asked(slave, slave, {}, timeout=0.2).finish()
        thread.join(5)
        assert (found.kind, found.terminal) == (KITTY, "kitty(0.35.2)")
        assert not select.select([slave], [], [], 0)[0]  # nothing left for Textual
        # The grace is bounded: a terminal that stops half-way is given up on.
        monkeypatch.setattr(images, "LATE_GRACE", 0.3)
        thread = threading.Thread(target=lambda: (os.read(master, 1024),
                                                  os.write(master, KITTY_OK)), daemon=True)
        thread.start()
        started = time.monotonic()
        found = Asked(slave, slave, {}, timeout=0.2).finish()
        thread.join(5)
        assert found.why == "the terminal did not answer DA1"
        assert time.monotonic() - started < 5
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_a_key_typed_during_the_probe_is_no_answer(monkeypatch):
    """A key pressed while a terminal that never answers is probed: no ESC, so no extra wait
    for the rest of an answer."""
    import time

    import mlflow_tui.ui.images as images
    from mlflow_tui.ui.images import Asked

    monkeypatch.setattr(images, "LATE_GRACE", 30.0)
    master, slave = os.openpty()
    try:
        asked = Asked(slave, slave, {}, timeout=0.2)
        os.read(master, 1024)
        os.write(master, b"q")
        started = time.monotonic()
        assert asked.finish().why == "the terminal did not answer DA1"
        assert time.monotonic() - started < 10
    finally:
        os.close(master)
        os.close(slave)
