"""Desktop notifications through the terminal: escape sequences that the terminal on the user's
laptop turns into a system notification, which travel over SSH like any output.

- OSC 777 (``ESC ] 777 ; notify ; TITLE ; BODY ST``): VTE terminals (GNOME Terminal, Tilix),
  foot, urxvt, Ghostty, WezTerm, Contour;
- OSC 9 (``ESC ] 9 ; BODY BEL``): iTerm2, Windows Terminal, Ghostty, WezTerm, ConEmu;
- OSC 99 (``ESC ] 99 ; ; BODY ST``): kitty.

``auto`` picks by what the environment tells (TERM_PROGRAM, KITTY_WINDOW_ID, WT_SESSION,
VTE_VERSION), OSC 777 when it tells nothing. Inside tmux the sequence is wrapped for tmux to
pass through (it needs ``set -g allow-passthrough on``). Server text (run and experiment
names, reasons) is stripped of control characters and separators first: a run name can never
end the sequence early or inject another. Pure: the app writes the string.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

KINDS = ("auto", "osc777", "osc9", "osc99")
MAX_TITLE = 60
MAX_BODY = 240
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f;]")  # C0, DEL, C1 controls, and OSC 777's ';'


def clean(text: str, limit: int) -> str:
    text = " ".join(_UNSAFE.sub(" ", str(text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pick(kind: str, environ: Mapping[str, str] | None = None) -> str:
    """The protocol for `kind` ("auto" or one of osc777 / osc9 / osc99) in this terminal."""
    if kind != "auto":
        return kind
    env = os.environ if environ is None else environ
    program = env.get("TERM_PROGRAM", "").lower()
    if env.get("KITTY_WINDOW_ID") or env.get("TERM", "") == "xterm-kitty":
        return "osc99"
    if program in ("iterm.app", "apple_terminal") or env.get("WT_SESSION") or env.get(
            "ConEmuPID"):
        return "osc9"
    return "osc777"


def sequence(title: str, body: str, *, kind: str = "auto",
             environ: Mapping[str, str] | None = None) -> str:
    """The escape sequence that shows (title, body) as a desktop notification."""
    env = os.environ if environ is None else environ
    title, body = clean(title, MAX_TITLE), clean(body, MAX_BODY)
    chosen = pick(kind, env)
    if chosen == "osc9":
        seq = f"\x1b]9;{title}: {body}\x07"
    elif chosen == "osc99":
        seq = f"\x1b]99;;{title}: {body}\x1b\\"
    else:
        seq = f"\x1b]777;notify;{title};{body}\x1b\\"
    if env.get("TMUX"):
        # tmux passes a DCS "tmux;" sequence through, every ESC inside doubled.
        seq = "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return seq


__all__ = ["KINDS", "clean", "pick", "sequence"]
