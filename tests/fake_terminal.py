"""A program in a pseudo-terminal whose terminal side the test plays: it answers the queries
an emulator answers (DA1, the cell size, the Kitty graphics query when it plays a Kitty-like
terminal), keeps every byte the program wrote and types keys into it.

    with FakeTerminal([sys.executable, "-m", "mlflow_tui", url], env, kitty=True) as term:
        term.expect(lambda out: b"RUNNING" in out, timeout=60)
        term.send(b"a")

What Kitty answers (https://sw.kovidgoyal.net/kitty/graphics-protocol/#querying-support-and-
available-transmission-mediums): a graphics query (`ESC_G...a=q...;payload ESC\\`) gets
`ESC_Gi=<id>;OK ESC\\`; DA1 (`ESC[c`) gets `ESC[?62;c` (no 4: no Sixel); `ESC[16t` gets
`ESC[6;<cell height>;<cell width>t`; XTVERSION (`ESC[>0q`) gets `ESC P>|kitty(0.35.2) ESC\\`
(`name=`: what the terminal names itself there, `kitty(0.26.5)`, `XTerm(379)`; None: no answer,
as mlterm 3.9); the window size carries the pixel size too (TIOCGWINSZ). `answer_da1=False`
plays a terminal that never answers DA1.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping, Sequence

_GRAPHICS_QUERY = re.compile(rb"\x1b_G([^;\x1b]*)(?:;[^\x1b]*)?\x1b\\")
_DA1 = re.compile(rb"\x1b\[0?c")
_CELL_SIZE = re.compile(rb"\x1b\[16t")
_VERSION = re.compile(rb"\x1b\[>0?q")


class FakeTerminal:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], *, cwd: str | None = None,
                 size: tuple[int, int] = (120, 40), cell: tuple[int, int] = (10, 20),
                 kitty: bool = True, sixel: bool = False, name: str | None = "kitty(0.35.2)",
                 answer_da1: bool = True, controlling: bool = False) -> None:
        self.argv, self.env, self.cwd = list(argv), dict(env), cwd
        # controlling: the terminal is the program's controlling terminal (as in tmux or an
        # SSH session), so closing it (hang_up) sends the kernel's SIGHUP and SIGCONT.
        self.controlling = controlling
        self.size, self.cell = size, cell
        self.kitty, self.sixel, self.name, self.answer_da1 = kitty, sixel, name, answer_da1
        self.output = b""
        self.answered: list[bytes] = []  # the queries answered, in order
        self._scan_from = 0
        self._master = -1
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FakeTerminal:
        master, slave = os.openpty()
        cols, rows = self.size
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, cols * self.cell[0], rows * self.cell[1]))
        try:
            self.proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave,
                                         env=self.env, cwd=self.cwd, start_new_session=True,
                                         preexec_fn=_take_terminal if self.controlling else None)
        finally:
            os.close(slave)
        self._master = master
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self._master >= 0:
            os.close(self._master)
            self._master = -1

    # ------------------------------------------------------------------ the terminal's side
    def _answer(self) -> None:
        """Answer every complete query written since the last look, in the order written."""
        found = []
        for pattern in (_GRAPHICS_QUERY, _DA1, _CELL_SIZE, _VERSION):
            found += [(m.start(), m.end(), pattern, m)
                      for m in pattern.finditer(self.output, self._scan_from)]
        end = self._scan_from
        for _, stop, pattern, match in sorted(found, key=lambda f: f[0]):
            reply = b""
            if pattern is _GRAPHICS_QUERY:
                keys = dict(kv.split(b"=", 1) for kv in match[1].split(b",") if b"=" in kv)
                if self.kitty and keys.get(b"a") == b"q":
                    reply = b"\x1b_Gi=" + keys.get(b"i", b"0") + b";OK\x1b\\"
            elif pattern is _DA1:
                if self.answer_da1:
                    reply = b"\x1b[?62;4;22c" if self.sixel else b"\x1b[?62;c"
            elif pattern is _VERSION:
                if self.name is not None:
                    reply = b"\x1bP>|" + self.name.encode() + b"\x1b\\"
            else:
                reply = b"\x1b[6;%d;%dt" % (self.cell[1], self.cell[0])
            if reply:
                os.write(self._master, reply)
                self.answered.append(match[0])
            end = max(end, stop)
        # Keep a tail unscanned: a query may be cut in two by a read.
        self._scan_from = max(end, len(self.output) - 64)

    def pump(self, timeout: float) -> bool:
        """Read what the program wrote within `timeout` s, answering queries; False once the
        program has closed the terminal."""
        ready = select.select([self._master], [], [], max(timeout, 0))[0]
        if not ready:
            return True
        try:
            data = os.read(self._master, 1 << 16)
        except OSError:  # EIO: every copy of the other side closed (the program ended)
            return False
        if not data:
            return False
        self.output += data
        self._answer()
        return True

    def expect(self, predicate: Callable[[bytes], bool], timeout: float = 20.0,
               what: str = "") -> bytes:
        """Read until predicate(everything written so far) holds; AssertionError after
        `timeout` s, with the end of the output."""
        deadline = time.monotonic() + timeout
        while not predicate(self.output):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for "
                                     f"{what or predicate}; the last output:\n"
                                     f"{self.output[-3000:]!r}")
            if not self.pump(min(left, 0.2)) and not predicate(self.output):
                raise AssertionError(f"the program ended before {what or predicate}; the "
                                     f"last output:\n{self.output[-3000:]!r}")
        return self.output

    def send(self, keys: bytes) -> None:
        os.write(self._master, keys)

    def hang_up(self) -> None:
        """Close the terminal, as tmux kill-server or a dropped SSH connection does: the
        program's writes to it fail from now on (EIO)."""
        if self._master >= 0:
            os.close(self._master)
            self._master = -1

    def wait_exit(self, timeout: float = 15.0) -> int:
        """Read until the program ends (answering as it goes); its exit status."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout} s")
            if self._master < 0:  # hung up: nothing to read
                time.sleep(0.1)
            elif not self.pump(0.1):
                break
        return self.proc.wait(max(deadline - time.monotonic(), 1))


def _take_terminal() -> None:
    """In the child, after setsid(): make its stdin (the pseudo-terminal) its controlling
    terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


__all__ = ["FakeTerminal"]
