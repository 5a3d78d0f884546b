"""Which graphics the terminal speaks (tui/images.py): its answers read, the probe over a
real pseudo-terminal, and textual-image imported without a query of its own."""

from __future__ import annotations

import os
import sys
import threading

from mlflow_tui.images import DA1, HALFBLOCKS, KITTY, KITTY_QUERY, SIXEL, probe, read_answers
from tests.fake_terminal import FakeTerminal

KITTY_OK = b"\x1b_Gi=7301;OK\x1b\\"
CELL = b"\x1b[6;20;10t"


def test_a_kitty_answer_before_the_da1_fence_means_kitty():
    found = read_answers(KITTY_OK + CELL + b"\x1b[?62;c", asked_kitty=True)
    assert (found.kind, found.cell) == (KITTY, (10, 20))


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
        thread = _play_terminal(master, KITTY_OK + CELL + b"\x1b[?62;c", seen)
        found = probe(slave, slave, {}, timeout=10)
        thread.join(5)
        assert found.kind == KITTY and found.cell == (10, 20)
        assert seen == [(KITTY_QUERY + "\x1b[16t" + DA1).encode()]
        assert termios.tcgetattr(slave) == before
        # In tmux (TMUX set): no Kitty query (tmux would take it as the pane's title).
        seen.clear()
        thread = _play_terminal(master, b"\x1b[?1;2c", seen)
        found = probe(slave, slave, {"TMUX": "/tmp/tmux-1/default,1,0"}, timeout=10)
        thread.join(5)
        assert found.kind == HALFBLOCKS and seen == [b"\x1b[16t" + DA1.encode()]
        # No answer at all: half blocks once the wait is over.
        assert probe(slave, slave, {}, timeout=0.2).why == "the terminal did not answer DA1"
    finally:
        os.close(master)
        os.close(slave)


def test_textual_image_is_imported_without_asking_the_terminal(tmp_path):
    """textual-image asks the terminal when first imported on a tty (DA1, a Kitty query,
    CSI 16 t); through mlflow_tui.images it asks nothing, whatever the terminal would answer."""
    from PIL import Image as PILImage

    png = tmp_path / "x.png"
    PILImage.new("RGB", (8, 8), (255, 0, 0)).save(png)
    code = ("import sys, mlflow_tui.images as i; "
            "w = i.image_widget(open(sys.argv[1], 'rb').read()); print(type(w).__name__)")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": root, "TERM": "xterm-kitty"}
    with FakeTerminal([sys.executable, "-c", code, str(png)], env, kitty=True) as term:
        assert term.wait_exit(60) == 0
        term.expect(lambda out: b"HalfcellImage" in out, timeout=5)
    assert term.answered == [] and b"\x1b" not in term.output, term.output
