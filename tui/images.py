"""Inline images in the artifacts preview: which graphics the terminal speaks, asked once
before Textual starts, and textual-image's widget for it.

textual-image (0.12, read here) picks its renderer the first time `textual_image.renderable` is
imported: when stdout is a terminal it writes DA1 (`ESC[c`; a `4` in the answer means Sixel),
then a Kitty graphics query (`ESC_Gi=..,s=1,v=1,a=q,t=d,f=24;AAAA ESC\\`, answered
`ESC_Gi=..;OK ESC\\` by Kitty), and `textual_image.widget` asks the cell size (TIOCGWINSZ,
else `ESC[16t`), each answer read from stdin within 0.1 s. It reads no environment variable
for this. Imported while Textual runs, Textual's input thread gets the answers as keys (in
tmux the `?` of `ESC[?1;2c` opened the help screen) and every query times out. Over SSH a
0.1 s wait is too short anyway: a late answer is typed into the app.

So the app asks itself, once, before Textual starts (`prepare`, called by the CLI): the Kitty
query and `ESC[16t`, then DA1 as a fence (every terminal answers DA1, in order: what arrives
before its answer is all there is; Kitty's documentation recommends this). Inside tmux or
screen the Kitty query is left out: tmux takes an APC string as the pane's title and passes no
Kitty graphics through. textual-image is then imported with stdout looking like no terminal,
so it asks nothing, and the widget for what was found is used: Kitty (TGP), Sixel, else half
blocks (two pixels a cell, any colour terminal).
"""

from __future__ import annotations

import io
import os
import re
import select
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KITTY, SIXEL, HALFBLOCKS = "kitty", "sixel", "halfblocks"
QUERY_ID = 7301  # the id of the Kitty query image (never displayed: a=q)
KITTY_QUERY = f"\x1b_Gi={QUERY_ID},s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
CELL_QUERY = "\x1b[16t"
DA1 = "\x1b[c"
PROBE_TIMEOUT = 1.0  # s to wait for the DA1 answer (an SSH round trip or several)

_DA1_ANSWER = re.compile(rb"\x1b\[\?([0-9;]*)c")
_KITTY_ANSWER = re.compile(rb"\x1b_Gi=" + str(QUERY_ID).encode() + rb"[^;\x1b]*;([^\x1b]*)\x1b\\")
_CELL_ANSWER = re.compile(rb"\x1b\[6;(\d+);(\d+)t")


@dataclass(frozen=True)
class Graphics:
    kind: str  # KITTY, SIXEL or HALFBLOCKS
    cell: tuple[int, int] | None = None  # a cell's size in pixels (width, height), if known
    why: str = ""  # how it was found, one line


def read_answers(answers: bytes, asked_kitty: bool,
                 cell: tuple[int, int] | None = None) -> Graphics:
    """What the terminal's answers to KITTY_QUERY, CELL_QUERY and DA1 say (`cell`: the cell
    size already known from the window size, which wins)."""
    if cell is None and (size := _CELL_ANSWER.search(answers)) and int(size[1]) and int(size[2]):
        cell = (int(size[2]), int(size[1]))
    da1 = _DA1_ANSWER.search(answers)
    if da1 is None:
        return Graphics(HALFBLOCKS, cell, "the terminal did not answer DA1")
    kitty = _KITTY_ANSWER.search(answers[: da1.start()])
    if asked_kitty and kitty is not None and kitty[1] == b"OK":
        return Graphics(KITTY, cell, "the terminal answered the Kitty graphics query OK")
    if "4" in da1[1].decode().split(";"):
        return Graphics(SIXEL, cell, "the terminal's DA1 answer lists Sixel (4)")
    return Graphics(HALFBLOCKS, cell, "no Kitty graphics or Sixel answer")


def probe(fd_in: int, fd_out: int, env: Mapping[str, str],
          timeout: float = PROBE_TIMEOUT) -> Graphics:
    """Ask the terminal on fd_in/fd_out which graphics it speaks (see the module's doc);
    the terminal is left in the mode it was in."""
    import termios
    import tty

    asked_kitty = not (env.get("TMUX") or env.get("STY"))
    queries = (KITTY_QUERY if asked_kitty else "") + CELL_QUERY + DA1
    saved = termios.tcgetattr(fd_in)
    answers = b""
    try:
        tty.setcbreak(fd_in, termios.TCSANOW)  # no echo of the answers, no line buffering
        os.write(fd_out, queries.encode())
        deadline = time.monotonic() + timeout
        while _DA1_ANSWER.search(answers) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd_in], [], [], left)[0]:
                break
            chunk = os.read(fd_in, 4096)
            if not chunk:
                break
            answers += chunk
    finally:
        termios.tcsetattr(fd_in, termios.TCSANOW, saved)
    return read_answers(answers, asked_kitty, _cell_from_window(fd_out))


def _cell_from_window(fd: int) -> tuple[int, int] | None:
    """A cell's size in pixels from the window size (TIOCGWINSZ), when the terminal sets it."""
    import fcntl
    import struct
    import termios

    try:
        rows, cols, width, height = struct.unpack(
            "HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    if rows and cols and width >= cols and height >= rows:
        return width // cols, height // rows
    return None


_found: Graphics | None = None


def prepare(env: Mapping[str, str] | None = None) -> Graphics | None:
    """Before Textual starts: find the terminal's graphics, when images can be shown at all
    (textual-image installed, stdin and stdout a terminal). None otherwise."""
    global _found
    import importlib.util

    env = os.environ if env is None else env
    if env.get("TERM", "") in ("", "dumb") or importlib.util.find_spec("textual_image") is None:
        return None
    try:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return None
        _found = probe(sys.stdin.fileno(), sys.stdout.fileno(), env)
    except (ImportError, OSError, ValueError):  # no termios (Windows), a closed stream
        return None
    return _found


def found() -> Graphics:
    """What prepare found; half blocks when it did not run (tests, no terminal)."""
    return _found or Graphics(HALFBLOCKS, why="not asked (no terminal)")


class _NoTerminal:
    """sys.__stdout__ while textual-image is imported: not a terminal, so it asks nothing."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _widgets() -> Any:
    """textual_image.widget, imported without a query to the terminal (ImportError without
    the [images] extra)."""
    if "textual_image.widget" in sys.modules:
        return sys.modules["textual_image.widget"]
    import textual_image._terminal as terminal

    cell = found().cell
    if cell is not None:  # its cache of the cell size: no TIOCGWINSZ or CSI 16 t of its own
        terminal.get_cell_size._result = terminal.CellSize(*cell)  # type: ignore[attr-defined]
    real = sys.__stdout__
    setattr(sys, "__stdout__", _NoTerminal(real))  # noqa: B010 - a final name for mypy
    try:
        import textual_image.widget as widgets
    finally:
        setattr(sys, "__stdout__", real)  # noqa: B010
    return widgets


def image_widget(data: bytes) -> Any:
    """textual-image's widget for the graphics found, showing `data` (PNG, JPEG, ...)."""
    kinds = _widgets()
    kind = found().kind
    cls = {KITTY: kinds.TGPImage, SIXEL: kinds.SixelImage}.get(kind, kinds.HalfcellImage)
    return cls(io.BytesIO(data))


__all__ = ["Graphics", "HALFBLOCKS", "KITTY", "SIXEL", "found", "image_widget", "prepare",
           "probe", "read_answers"]
