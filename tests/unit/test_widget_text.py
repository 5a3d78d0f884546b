"""safe_text / plain: untrusted text is shown literally and can't control the terminal."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from mlflow_tui.widgets import plain, safe_text


def test_ansi_sequences_are_neutralised():
    out = safe_text("\x1b[31mred\x1b[0m and \x1b]8;;http://evil\x07link\x1b]8;;\x07")
    assert "\x1b" not in out and "\x07" not in out
    assert "red" in out and "link" in out
    assert "␛" in out
    assert "http://evil" not in out  # the OSC payload is part of the neutralised sequence


def test_lone_escape_and_c1_controls_are_visible():
    assert safe_text("x\x1b") == "x␛"
    assert safe_text("x\x85y\x9f") == "x\\x85y\\x9f"
    assert safe_text("\x9b31mz") == "␛z"  # 8-bit CSI sequence
    assert safe_text("\x1bcz") == "␛z"  # ESC c (terminal reset)


def test_control_chars_become_visible():
    out = safe_text("a\nb\r\nc\rd\te\x00f\x07g\x7fh")
    assert out == "a⏎b⏎c␍d␉e␀f␇g␡h"
    assert all(ch.isprintable() for ch in out)


def test_unicode_line_separators():
    assert safe_text("a\u2028b\u2029c") == "a⏎b⏎c"


def test_bidi_override_and_isolate_controls_are_removed():
    raw = "admin\u202e\u2066txt.exe\u2069\u202c" + "".join(chr(c) for c in range(0x202A, 0x202F))
    out = safe_text(raw)
    assert out == "admintxt.exe"
    for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]:
        assert chr(code) not in out


def test_emoji_and_rtl_letters_are_kept():
    raw = "run 🚀 👨‍👩‍👧 مرحبا שלום"
    assert safe_text(raw) == raw


def test_long_string_is_truncated_to_max_cells():
    out = safe_text("x" * 10_000)
    assert len(out) == 200 and out.endswith("…")
    out = safe_text("x" * 10_000, max_len=10)
    assert out == "x" * 9 + "…"


def test_truncation_counts_wide_characters_as_two_cells():
    out = safe_text("🚀" * 50, max_len=11)
    assert cell_len(out) <= 11 and out.endswith("…")
    assert out == "🚀" * 5 + "…"


def test_short_strings_untouched_and_exact_fit_not_truncated():
    assert safe_text("abc", 3) == "abc"
    assert safe_text("abcd", 3) == "ab…"
    assert safe_text("abc", 0) == ""


def test_non_string_values():
    assert safe_text(1.5) == "1.5"
    assert safe_text(None) == "None"

    class Bad:
        def __str__(self) -> str:
            raise RuntimeError("boom")

    assert safe_text(Bad()) == "<unprintable>"


def test_markup_looking_strings_stay_literal():
    for raw in ("[bold]x[/bold]", "[@click=app.quit]quit[/]", "[red", "[/]"):
        assert safe_text(raw) == raw
        text = plain(raw)
        assert isinstance(text, Text)
        assert text.plain == raw
        assert text.spans == []


def test_plain_applies_style_and_sanitises():
    text = plain("a\x1b[1mb", style="bold")
    assert text.plain == "a␛b"
    assert str(text.style) == "bold"


def test_titles_are_literal_content_without_doubled_backslashes():
    from mlflow_tui.widgets import title

    for raw in ("a\\", "run\\[x]", "[@click=app.quit]x[/]"):
        assert title(raw).plain == raw
    assert title("ok\x1b[31m").plain == "ok␛"


def test_safe_block_keeps_lines_and_tabs_and_shows_every_control():
    from mlflow_tui.widgets import safe_block

    text = ("a\tb\r\nc \x1b[31mred\x1b[0m\n\x1b]52;c;ZXZp\x07 \x1b]8;;u\x1b\\l\x1b]8;;\x1b\\\n"
            "\x9b31m \x9d0;t\x9c \x07\x08\x7f \x1bc\r")
    shown = safe_block(text)
    assert shown == ("a\tb\nc ␛red␛\n␛ ␛l␛\n␛ ␛ ␇␈␡ ␛␍")
    assert safe_block("plain\n\ttext") == "plain\n\ttext"


def test_counted_says_one_without_a_plural():
    from mlflow_tui.text.format import counted

    assert counted(1, "file") == "1 file"
    assert counted(0, "file") == "0 files"
    assert counted(3, "entry", "entries") == "3 entries"
    assert counted(1, "entry", "entries") == "1 entry"
