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

So the app asks itself, once, before Textual starts: the Kitty query, `ESC[16t` and
XTVERSION (`ESC[>0q`, the terminal's name and version), then DA1 as a fence (every terminal
answers DA1, in order: what arrives before its answer is all there is; Kitty's documentation
recommends this). Inside tmux or screen the Kitty query is left out: tmux takes an APC string
as the pane's title and passes no Kitty graphics through. textual-image is then imported with
stdout looking like no terminal, so it asks nothing, and the widget for what was found is
used: Kitty (TGP), Sixel, else half blocks (two pixels a cell, any colour terminal).

textual-image draws Kitty images with Unicode placeholders (a virtual placement, `U=1`, and
U+10EEEE in the cells), which Kitty has only since 0.28 (Ghostty since 1.0). Older Kitty
(Debian 12 has 0.26.5, Ubuntu 22.04 0.21.2) answers the graphics query OK and then shows the
placeholders as boxes, and so do WezTerm and Konsole (textual-image's notes): Kitty graphics
are used only where XTVERSION names a terminal known to draw placeholders; elsewhere Sixel
when DA1 lists it, else half blocks.

The queries go out as soon as the command line is read (`ask`, from the CLI) and the answers
are read just before Textual starts (`Asked.finish`), so the terminal answers while Textual
is imported (~0.4 s): a terminal that answers costs nothing. One that never answers (a bare
pseudo-terminal: scripts, test harnesses) costs what is left of the wait after the imports,
PROBE_TIMEOUT from the queries (0.5 s; 2 s over SSH, where the answer makes a round trip on
links that can be slow). A terminal that has begun to answer by then gets LATE_GRACE (2 s)
more for the rest: its answers come in order, DA1's last, and any read after Textual starts
would reach the app as keys. Only a terminal that answers nothing at all within the wait
can still have its answers typed into the app; well-kept tools wait less (timg 0.25 s a
query, textual-image 0.1 s).
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
VERSION_QUERY = "\x1b[>0q"  # XTVERSION: DCS > | name and version ST
DA1 = "\x1b[c"
PROBE_TIMEOUT = 0.5  # s from the queries to wait for the DA1 answer, on this machine
SSH_TIMEOUT = 2.0  # the same over SSH (a round trip or several, on a slow link)
LATE_GRACE = 2.0  # s more for the DA1 answer once the terminal has begun to answer
# Terminals whose Kitty graphics draw Unicode placeholders, from which version (XTVERSION's
# name, lower case); kitty 0.29.0 broke them (fixed in 0.29.1).
PLACEHOLDERS = {"kitty": (0, 28), "ghostty": (1, 0)}
BROKEN_PLACEHOLDERS = {("kitty", (0, 29, 0))}

_DA1_ANSWER = re.compile(rb"\x1b\[\?([0-9;]*)c")
_KITTY_ANSWER = re.compile(rb"\x1b_Gi=" + str(QUERY_ID).encode() + rb"[^;\x1b]*;([^\x1b]*)\x1b\\")
_CELL_ANSWER = re.compile(rb"\x1b\[6;(\d+);(\d+)t")
_VERSION_ANSWER = re.compile(rb"\x1bP>\|([^\x1b]*)\x1b\\")
_NAME_VERSION = re.compile(r"([A-Za-z][\w-]*)[ (]v?(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class Graphics:
    kind: str  # KITTY, SIXEL or HALFBLOCKS
    cell: tuple[int, int] | None = None  # a cell's size in pixels (width, height), if known
    why: str = ""  # how it was found, one line
    terminal: str = ""  # the terminal's name and version (XTVERSION), when it said
    note: str = ""  # why better graphics are not used, for the preview's header


def placeholders(terminal: str) -> bool:
    """Whether the terminal XTVERSION names (`kitty(0.26.5)`, `ghostty 1.1.3`) draws Kitty
    images given as Unicode placeholders (textual-image's only way)."""
    match = _NAME_VERSION.match(terminal.strip())
    if match is None:
        return False
    name, version = match[1].lower(), tuple(int(n) for n in match[2].split("."))
    since = PLACEHOLDERS.get(name)
    return since is not None and version >= since and (name, version) not in \
        BROKEN_PLACEHOLDERS


def read_answers(answers: bytes, asked_kitty: bool,
                 cell: tuple[int, int] | None = None) -> Graphics:
    """What the terminal's answers to KITTY_QUERY, CELL_QUERY, VERSION_QUERY and DA1 say
    (`cell`: the cell size already known from the window size, which wins)."""
    if cell is None and (size := _CELL_ANSWER.search(answers)) and int(size[1]) and int(size[2]):
        cell = (int(size[2]), int(size[1]))
    da1 = _DA1_ANSWER.search(answers)
    if da1 is None:
        return Graphics(HALFBLOCKS, cell, "the terminal did not answer DA1")
    before = answers[: da1.start()]
    named = _VERSION_ANSWER.search(before)
    terminal = named[1].decode("utf-8", "replace").strip() if named else ""
    kitty = _KITTY_ANSWER.search(before)
    note = ""
    if asked_kitty and kitty is not None and kitty[1] == b"OK":
        if placeholders(terminal):
            return Graphics(KITTY, cell, "the terminal answered the Kitty graphics query OK "
                            f"and is {terminal}", terminal)
        note = f"{terminal or 'this terminal'}: Kitty images need kitty 0.28+"
    if "4" in da1[1].decode().split(";"):
        return Graphics(SIXEL, cell, "the terminal's DA1 answer lists Sixel (4)", terminal)
    return Graphics(HALFBLOCKS, cell, note or "no Kitty graphics or Sixel answer", terminal,
                    note)


class Asked:
    """The queries written to the terminal on fd_in/fd_out (see the module's doc), its
    answers not read yet: the terminal is in cbreak mode without echo until `finish`, so
    that answers arriving meanwhile are neither shown nor held back by line buffering."""

    def __init__(self, fd_in: int, fd_out: int, env: Mapping[str, str],
                 timeout: float | None = None) -> None:
        import termios
        import tty

        self.fd_in, self.fd_out = fd_in, fd_out
        self.asked_kitty = not (env.get("TMUX") or env.get("STY"))
        if timeout is None:
            timeout = SSH_TIMEOUT if env.get("SSH_TTY") or env.get("SSH_CONNECTION") else \
                PROBE_TIMEOUT
        queries = (KITTY_QUERY if self.asked_kitty else "") + CELL_QUERY + VERSION_QUERY + DA1
        self._saved: list[Any] | None = termios.tcgetattr(fd_in)
        try:
            tty.setcbreak(fd_in, termios.TCSANOW)  # no echo of the answers, no line buffering
            os.write(fd_out, queries.encode())
        except BaseException:
            self._restore()
            raise
        self.deadline = time.monotonic() + timeout

    def _restore(self) -> None:
        import termios

        if self._saved is not None:
            termios.tcsetattr(self.fd_in, termios.TCSANOW, self._saved)
            self._saved = None

    def finish(self) -> Graphics:
        """Read the answers until DA1's (or the deadline), leave the terminal in the mode it
        was in, and say what they mean."""
        answers = b""
        extended = False
        try:
            while _DA1_ANSWER.search(answers) is None:
                # Past the deadline, what has arrived is still read (the imports may take
                # longer than the wait): only no more is waited for.
                left = max(self.deadline - time.monotonic(), 0.0)
                if not select.select([self.fd_in], [], [], left)[0]:
                    if b"\x1b" in answers and not extended:
                        # The terminal is answering (in order: DA1's answer comes last),
                        # only late: what it still sends would reach Textual as keys.
                        # (A key typed meanwhile is no answer: no ESC in it, no extra wait.)
                        extended = True
                        self.deadline = time.monotonic() + LATE_GRACE
                        continue
                    break
                chunk = os.read(self.fd_in, 4096)
                if not chunk:
                    break
                answers += chunk
        finally:
            self._restore()
        return read_answers(answers, self.asked_kitty, _cell_from_window(self.fd_out))


def probe(fd_in: int, fd_out: int, env: Mapping[str, str],
          timeout: float | None = None) -> Graphics:
    """Ask the terminal on fd_in/fd_out which graphics it speaks and wait for the answer;
    the terminal is left in the mode it was in."""
    return Asked(fd_in, fd_out, env, timeout).finish()


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


class Prepared:
    """What `ask` hands the CLI: `finish()` reads the answers (just before Textual starts)
    and keeps what they say for `found`."""

    def __init__(self, asked: Asked | None) -> None:
        self._asked = asked

    def finish(self) -> Graphics | None:
        global _found
        asked, self._asked = self._asked, None
        if asked is None:
            return None
        try:
            _found = asked.finish()
        except (OSError, ValueError):  # the terminal went away
            return None
        return _found


def ask(env: Mapping[str, str] | None = None) -> Prepared:
    """As soon as the command line is read: ask the terminal which graphics it speaks, when
    images can be shown at all (textual-image installed, stdin and stdout a terminal). The
    answers are read by the result's `finish()`, which must run before Textual starts,
    whatever happens between (else they would be typed into the shell or the app)."""
    import importlib.util

    env = os.environ if env is None else env
    if env.get("TERM", "") in ("", "dumb") or importlib.util.find_spec("textual_image") is None:
        return Prepared(None)
    try:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return Prepared(None)
        return Prepared(Asked(sys.stdin.fileno(), sys.stdout.fileno(), env))
    except (ImportError, OSError, ValueError):  # no termios (Windows), a closed stream
        return Prepared(None)


def prepare(env: Mapping[str, str] | None = None) -> Graphics | None:
    """Find the terminal's graphics now (ask and wait); None when images cannot be shown."""
    return ask(env).finish()


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


MAX_PIXELS = 2048  # a decoded image is shrunk to at most this many pixels a side


def decode_image(data: bytes) -> Any:
    """`data` (PNG, JPEG, ...) decoded, shrunk to at most MAX_PIXELS a side (no terminal
    shows more): slow work for a big picture, meant for a thread, not the UI's loop.
    ImportError without Pillow (the [images] extra)."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    if max(image.size) > MAX_PIXELS:
        image.thumbnail((MAX_PIXELS, MAX_PIXELS))
    return image


def image_widget(image: Any) -> Any:
    """textual-image's widget for the graphics found, showing `image` (decode_image's, or
    the bytes of a PNG, JPEG, ...)."""
    kinds = _widgets()
    kind = found().kind
    cls = {KITTY: kinds.TGPImage, SIXEL: kinds.SixelImage}.get(kind, kinds.HalfcellImage)
    return cls(io.BytesIO(image) if isinstance(image, bytes) else image)


__all__ = ["Asked", "Graphics", "HALFBLOCKS", "KITTY", "SIXEL", "Prepared", "ask", "decode_image",
           "found", "image_widget", "placeholders", "prepare", "probe", "read_answers"]
