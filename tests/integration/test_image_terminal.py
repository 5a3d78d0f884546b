"""An image artifact of a run on a real `mlflow server --serve-artifacts`, previewed by the
real app (`python -m mlflow_tui`) in real terminals (issue 18's acceptance):

- in tmux (tmux_keys.Tmux: send-keys, capture-pane), which speaks neither Kitty graphics nor
  Sixel (3.3a): the image is drawn in half blocks with its own colours, no answer to a
  terminal query is left on screen or typed into the app, the pane's title is untouched,
  and the app still answers keys;
- in a pseudo-terminal whose other side answers like Kitty (tests/fake_terminal.py): the app
  sends the image as Kitty graphics (APC `ESC_G` with the PNG, a virtual placement, the
  Unicode placeholders in the cells); the same terminal answering Sixel in DA1 gets a Sixel
  image (DCS `ESC P ... q`).

Why the app asks the terminal itself, before Textual starts: tui/ui/images.py.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import uuid

import pytest

from tests.conftest import running
from tests.fake_terminal import FakeTerminal
from tests.server import MlflowServer, wait_until_sync
from tests.tmux_keys import Tmux, has, wait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPERIMENT = f"images/terminal-{uuid.uuid4().hex[:6]}"  # unique on the session server
GREEN, RED = (20, 200, 40), (200, 30, 30)


@pytest.fixture(scope="module")
def server(mlflow_server, tmp_path_factory):
    """The session server (it serves artifacts) with a run whose one artifact is sample.png:
    64x32 pixels, its left half green, its right half red."""
    from PIL import Image as PILImage

    srv = running(mlflow_server)
    root = tmp_path_factory.mktemp("image-terminal")
    client = srv.client()
    exp = client.create_experiment(EXPERIMENT)
    rid = client.create_run(exp, run_name="with-image").info.run_id
    image = PILImage.new("RGB", (64, 32), RED)
    image.paste(PILImage.new("RGB", (32, 32), GREEN), (0, 0))
    image.save(root / "sample.png")
    client.log_artifact(rid, str(root / "sample.png"))
    client.set_terminated(rid)
    return srv


def _env(home: str, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
           "XDG_CONFIG_HOME": home, "PYTHONPATH": ROOT, "TEXTUAL_ANIMATIONS": "none",
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.update(extra)
    return env


def _app(server: MlflowServer) -> list[str]:
    return [sys.executable, "-m", "mlflow_tui", server.url, "-e", EXPERIMENT, "-i", "1"]


# ---------------------------------------------------------------------- tmux: half blocks
GARBAGE = ("_G", "\x1b", "Pq", "Gi=", "AAAA", "1;2c", "62;", "Everywhere")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_tmux_the_image_is_half_blocks_and_nothing_leaks(server, tmp_path):
    tmux = Tmux(socket=f"mlflow-tui-image-{os.getpid()}", session="image")
    # As a user's shell starts it: TMUX set by tmux itself (the app reads it), truecolor.
    inner = " ".join(f"{k}='{v}'" for k, v in _env(str(tmp_path), TERM="xterm-256color",
                                                    COLORTERM="truecolor").items())
    command = f'exec env -i TMUX="$TMUX" {inner} ' + " ".join(_app(server))
    try:
        tmux.run("-f", "/dev/null", "new-session", "-d", "-s", tmux.session, "-x", "120",
                 "-y", "40", "-c", str(tmp_path), "sh", "-c", command)
        tmux.run("set-option", "-g", "escape-time", "0")
        tmux.run("set-option", "-t", tmux.session, "remain-on-exit", "on")
        wait(tmux, has("● live", "with-image"), timeout=60)
        tmux.keys("a")
        wait(tmux, has("Artifacts of with-image", "sample.png"), timeout=20)
        tmux.keys("Enter")  # the cursor starts on the first (here the only) entry
        # The header names the graphics before the image is drawn: wait for the image too,
        # the preview pane filled (not a few cells).
        screen = wait(tmux, lambda s: has("sample.png · 133 B", "half blocks")(s)
                      and s.count("▀") >= 200, timeout=20)
        for text in GARBAGE:  # no query, answer or image data shown as text (nor the help
            assert text not in screen, (text, screen)  # a stray '?' would open)
        # The image's own colours, left green and right red, on the rows it fills.
        coloured = tmux.run("capture-pane", "-p", "-e", "-t", tmux.session)
        rows = [line for line in coloured.splitlines() if line.count("▀") > 20]
        assert rows, coloured
        row = rows[len(rows) // 2]
        green, red = (f"38;2;{r};{g};{b}" for r, g, b in (GREEN, RED))
        assert green in row and red in row, row
        assert row.index(green) < row.index(red)
        title = tmux.run("display-message", "-p", "-t", tmux.session, "#{pane_title}")
        assert "Gi=" not in title and "AAAA" not in title, title  # tmux takes APC as a title
        # Still answering keys: back to the monitor, the artifacts again, then quit.
        tmux.keys("Escape")
        wait(tmux, lambda text: "Artifacts of" not in text and "● live" in text, timeout=10)
        tmux.keys("a")
        wait(tmux, has("Artifacts of with-image"), timeout=10)
        tmux.keys("Escape")
        wait(tmux, has("● live"), timeout=10)
        tmux.keys("q")
        wait_until_sync(tmux.dead, timeout=15, message="q quits")
    finally:
        tmux.kill()


# ---------------------------------------------------------------------- a Kitty-like terminal
PLACEHOLDER = chr(0x10EEEE).encode()  # Kitty's Unicode placeholder for image cells


def _open_the_image(term: FakeTerminal) -> int:
    """Press a, then enter on sample.png; the offset of the output where it starts."""
    term.expect(lambda out: b"with-image" in out and "● live".encode() in out, timeout=60,
                what="the run listed")
    mark = len(term.output)
    term.send(b"a")
    term.expect(lambda out: b"sample.png" in out[mark:], timeout=20, what="the artifacts")
    mark = len(term.output)
    term.send(b"\r")
    return mark


def test_a_kitty_terminal_gets_kitty_graphics(server, tmp_path):
    env = _env(str(tmp_path), TERM="xterm-kitty", KITTY_WINDOW_ID="1", COLORTERM="truecolor")
    with FakeTerminal(_app(server), env, cwd=str(tmp_path), kitty=True) as term:
        term.expect(lambda out: b"\x1b[c" in out, timeout=30, what="the DA1 fence")
        # Asked once, before Textual started: the Kitty query, the cell size and the
        # terminal's name (XTVERSION), then DA1 (every terminal answers it, in order: the
        # fence).
        assert [a[:4] for a in term.answered[:4]] == [b"\x1b_Gi", b"\x1b[16", b"\x1b[>0",
                                                      b"\x1b[c"]
        assert b"a=q" in term.answered[0]
        mark = _open_the_image(term)
        out = term.expect(lambda o: re.search(rb"\x1b_G[^;\x1b]*a=p[^\x1b]*U=1", o[mark:])
                          is not None and PLACEHOLDER in o[mark:], timeout=20,
                          what="a Kitty image, placed, its cells drawn")
        shown = out[mark:]
        sends = re.findall(rb"\x1b_G([^;\x1b]*);([A-Za-z0-9+/=]+)\x1b\\", shown)
        image = [(keys, data) for keys, data in sends if b"f=100" in keys]
        assert image, shown[-2000:]  # a PNG (f=100) sent to the terminal
        import base64

        assert base64.b64decode(b"".join(d for _, d in image))[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"\x1bPq" not in shown and b"\x1bP0;1;0q" not in shown  # no Sixel
        assert term.output.count(b"a=q") == 1  # no query while Textual runs
        # Still answering keys: back, and q quits cleanly.
        mark = len(term.output)
        term.send(b"\x1b")
        term.expect(lambda o: "● live".encode() in o[mark:], timeout=15, what="the monitor")
        term.send(b"q")
        assert term.wait_exit() == 0


def test_an_older_kitty_gets_half_blocks_not_placeholders_it_cannot_draw(server, tmp_path):
    """kitty 0.26.5 (Debian 12) answers the graphics query OK but draws Kitty images only
    where placed at the cursor: textual-image's Unicode placeholders (kitty 0.28+) showed as
    a pane of boxes in the real kitty 0.26.5 (docs/verify-terminals.md)."""
    env = _env(str(tmp_path), TERM="xterm-kitty", KITTY_WINDOW_ID="1", COLORTERM="truecolor")
    with FakeTerminal(_app(server), env, cwd=str(tmp_path), kitty=True,
                      name="kitty(0.26.5)") as term:
        mark = _open_the_image(term)
        out = term.expect(lambda o: o[mark:].count("▀".encode()) >= 200, timeout=20,
                          what="half blocks")
        shown = out[mark:]
        assert PLACEHOLDER not in shown and b"\x1b_G" not in shown
        term.expect(lambda o: b"Kitty images need kitty 0.28+" in o[mark:], timeout=10,
                    what="why half blocks, under the image")
        term.send(b"q")
        assert term.wait_exit() == 0


def test_a_sixel_terminal_gets_sixel_and_a_plain_one_half_blocks(server, tmp_path):
    env = _env(str(tmp_path), TERM="xterm-256color", COLORTERM="truecolor")
    with FakeTerminal(_app(server), env, cwd=str(tmp_path), kitty=False, sixel=True,
                      name="XTerm(379)") as term:
        mark = _open_the_image(term)
        out = term.expect(lambda o: re.search(rb"\x1bP[0-9;]*q", o[mark:]) is not None,
                          timeout=20, what="a Sixel image")
        assert b"\x1b_G" not in out[mark:]
        term.send(b"q")
        assert term.wait_exit() == 0
    with FakeTerminal(_app(server), env, cwd=str(tmp_path), kitty=False, sixel=False,
                      name=None) as term:
        mark = _open_the_image(term)
        out = term.expect(lambda o: o[mark:].count("▀".encode()) >= 200, timeout=20,
                          what="half blocks")
        assert b"\x1b_G" not in out[mark:] and re.search(rb"\x1bP[0-9;]*q", out) is None
        term.send(b"q")
        assert term.wait_exit() == 0
