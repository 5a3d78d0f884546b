"""How values look on screen. Returns rich Text built without markup parsing."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text

from mlflow_tui.text.numbers import number  # noqa: F401 (re-exported: fmt.number)
from mlflow_tui.tracking.models import RunStatus

STATUS_STYLE: dict[RunStatus, tuple[str, str]] = {
    RunStatus.RUNNING: ("●", "bold cyan"),
    RunStatus.SCHEDULED: ("◌", "dim"),
    RunStatus.FINISHED: ("✔", "green"),
    RunStatus.FAILED: ("✘", "bold red"),
    RunStatus.KILLED: ("■", "yellow"),
}


def status_text(status: RunStatus) -> Text:
    icon, style = STATUS_STYLE[status]
    return Text(f"{icon} {status.value}", style=style)


def duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    seconds = int(ms // 1000)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def start_time(ms: int | None, now_ms: int) -> str:
    if not ms:
        return "—"
    local = time.localtime(ms / 1000)
    if now_ms - ms < 20 * 3600 * 1000:
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%Y-%m-%d %H:%M", local)


def clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


# Run colours in the compare view: (plotext colour, rich style), the same run the same colour in
# the chart, the tables and the mark column; they repeat after eight runs. Each pair names the
# same ANSI colour (plotext "orange" is ANSI yellow, "gray" bright black), which Textual maps
# through its dark or light terminal palette: white and bright yellow vanish on a light
# background and the dim colours on a dark one, so each kind of theme has its own list.
RUN_COLOURS_DARK: tuple[tuple[str, str], ...] = (
    ("cyan+", "bright_cyan"), ("orange", "yellow"), ("green+", "bright_green"),
    ("blue+", "bright_blue"), ("orange+", "bright_yellow"), ("red+", "bright_red"),
    ("white", "bright_white"), ("gray", "bright_black"),
)
RUN_COLOURS_LIGHT: tuple[tuple[str, str], ...] = (
    ("cyan", "cyan"), ("orange", "yellow"), ("green", "green"), ("magenta", "magenta"),
    ("blue", "blue"), ("red", "red"), ("magenta+", "bright_magenta"), ("gray", "bright_black"),
)
RUN_COLOURS = RUN_COLOURS_DARK


def run_colour(index: int, dark: bool = True) -> tuple[str, str]:
    """(plotext colour, rich style) of the index-th marked run, readable on the theme."""
    colours = RUN_COLOURS_DARK if dark else RUN_COLOURS_LIGHT
    return colours[index % len(colours)]


def one_toast_per_run(fresh: Sequence[tuple[Any, Any]], run_of: Callable[[Any], str]
                      ) -> list[tuple[Any, list[Any]]]:
    """New warnings grouped by run, in order: one toast a run, however many of its metric
    pairs (loss and accuracy, say) raised a warning in the same refresh. `run_of(item)` names
    an item's run."""
    groups: dict[str, tuple[Any, list[Any]]] = {}
    for item, warning in fresh:
        groups.setdefault(run_of(item), (item, []))[1].append(warning)
    return list(groups.values())


def toast_title(warnings: Sequence[Any]) -> str:
    """'Overfitting', or 'Overfitting, diverged' for several kinds."""
    kinds = list(dict.fromkeys(w.kind.value for w in warnings))
    return ", ".join(kinds).capitalize()



def counted(n: int, word: str, many: str | None = None) -> str:
    """'1 file', '3 files', '1 entry', '2 entries' (`many`: an irregular plural)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
