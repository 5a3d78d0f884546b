"""Safe display of untrusted text (run names, metric keys, tags, error messages...).

Everything that comes from users' data goes through `safe_text` / `plain` before it reaches
the screen:

* It is never parsed as Rich/Textual markup: `plain()` builds a `rich.text.Text` directly,
  so `[bold]x[/bold]` or `[@click=app.quit]` stay literal.
* Terminal control is neutralised, replaced by a visible form:

  ===========================================  =====================================
  input                                        shown as
  ===========================================  =====================================
  ANSI/VT escape sequence (CSI, OSC, DCS, ...) one `␛` (the whole sequence collapses)
  lone ESC (``\\x1b``)                          `␛`
  ``\\r\\n``, ``\\n``, U+2028, U+2029            `⏎`
  ``\\r``                                       `␍`
  ``\\t``                                       `␉`
  other C0 (``\\x00``-``\\x1f``)                  its Control Picture (U+2400 + code), e.g. `␇`
  DEL (``\\x7f``)                               `␡`
  C1 (``\\x80``-``\\x9f``)                        `\\x9b` style escape (4 visible chars)
  bidi embedding/override/isolate controls     removed (U+202A-U+202E, U+2066-U+2069)
  ===========================================  =====================================

  Emoji, combining marks, ZWJ sequences and ordinary right-to-left letters are kept.
* Long values are truncated to `max_len` terminal cells, ending in `…`.
"""

from __future__ import annotations

import re

from rich.cells import get_character_cell_size
from rich.text import Text
from textual.content import Content

__all__ = ["ELLIPSIS", "plain", "safe_block", "safe_text", "title"]

ELLIPSIS = "…"

# ESC-introduced sequences (7-bit) and their 8-bit C1 equivalents.
_ANSI_RE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                        # CSI ... final byte
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])               # OSC / DCS / SOS / PM / APC
      [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)                  #   ... up to BEL or ST
    | \x1b[ -/]*[0-~]                                       # other ESC sequences (2-3 bytes)
    """,
    re.VERBOSE,
)

_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):
        table[code] = chr(0x2400 + code)
    table[0x0A] = "⏎"
    table[0x7F] = "␡"
    for code in range(0x80, 0xA0):
        table[code] = f"\\x{code:02x}"
    table[0x2028] = "⏎"
    table[0x2029] = "⏎"
    for char in _BIDI_CONTROLS:
        table[ord(char)] = ""
    return table


_TABLE = _build_table()
# Fast check: does the string need any replacement at all?
_NEEDS_WORK_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + _BIDI_CONTROLS + "]")


def _sanitise(text: str) -> str:
    if _NEEDS_WORK_RE.search(text) is None:
        return text
    text = _ANSI_RE.sub("\x1b", text)
    text = text.replace("\r\n", "\n")
    return text.translate(_TABLE)


# The same, for a block of text (a previewed file): its line breaks and tabs are kept.
_BLOCK_TABLE = {code: shown for code, shown in _TABLE.items() if code not in (0x09, 0x0A)}
_BLOCK_NEEDS_WORK_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029" + _BIDI_CONTROLS +
                                  "]")


def safe_block(text: str) -> str:
    """A file's contents (many lines) made safe to draw: every escape sequence and control
    character replaced as `safe_text` replaces them (one table: the module docstring), but
    line breaks (``\\n``, ``\\r\\n``) and tabs kept; no truncation. Whatever draws it
    afterwards (rich.Syntax, a Text) then holds no byte a terminal would act on."""
    if _BLOCK_NEEDS_WORK_RE.search(text) is None:
        return text
    text = _ANSI_RE.sub("\x1b", text)
    text = text.replace("\r\n", "\n")
    return text.translate(_BLOCK_TABLE)


def _truncate(text: str, max_len: int, force_ellipsis: bool) -> str:
    """Cut `text` to at most `max_len` cells; add `…` when something was cut."""
    if max_len <= 0:
        return ""
    if not force_ellipsis and len(text) <= max_len and text.isascii():
        return text  # fast path: ASCII printable is one cell per char
    width = 0
    cut = None
    budget = max_len - 1  # room left for the ellipsis
    for index, char in enumerate(text):
        size = get_character_cell_size(char)
        if cut is None and width + size > budget:
            cut = index
        width += size
        if width > max_len:
            break
    else:
        if not force_ellipsis:
            return text
    if cut is None:
        cut = len(text)
    return text[:cut] + ELLIPSIS


def safe_text(value: object, max_len: int = 200) -> str:
    """Return `str(value)` made safe to show in a terminal, at most `max_len` cells wide.

    See the module docstring for the replacements. Never raises (a failing `__str__`
    gives `<unprintable>`).
    """
    if isinstance(value, str):
        text = value
    else:
        try:
            text = str(value)
        except Exception:  # noqa: BLE001 - display code must not crash on odd objects
            text = "<unprintable>"
    # Bound the work on huge strings: replacements expand a char to at most 4 cells,
    # and a kept char is at least 0 cells, so keep a generous raw prefix.
    limit = max(max_len, 0) * 4 + 64
    cut_raw = len(text) > limit
    if cut_raw:
        text = text[:limit]
    return _truncate(_sanitise(text), max_len, cut_raw)


def plain(value: object, max_len: int = 200, style: str = "") -> Text:
    """A `Text` showing `value` literally (never markup), sanitised by `safe_text`."""
    return Text(safe_text(value, max_len), style=style)


def title(value: object, max_len: int = 200) -> Content:
    """A border title showing `value` literally (Content is never parsed as markup), safely."""
    return Content(safe_text(value, max_len))
