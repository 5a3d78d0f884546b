"""The artifacts screen's panes and previews (ArtifactsView; its keys and tree are
ArtifactsScreen's, in artifacts.py): text and logs, JSON / YAML / TOML highlighted, CSV as a
table, images inline through textual-image with the graphics the terminal speaks
(tui/ui/images.py: Kitty, Sixel, else half blocks). Previews read at most PREVIEW_BYTES (a byte
range): a 5 GB checkpoint is never downloaded to look at.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import PurePosixPath
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static, Tree
from textual.widgets.tree import TreeNode

from mlflow_tui.screens.artifact_cells import table_cells
from mlflow_tui.tracking.artifacts import (
    PREVIEW_BYTES,
    Artifact,
    Artifacts,
    Chunk,
    ImageSteps,
    LoggedModel,
)
from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.models import Run
from mlflow_tui.tracking.parquet import ParquetUnavailable, TooMuch, parquet_head
from mlflow_tui.ui.images import decode_image, found, image_widget
from mlflow_tui.widgets import KeyFooter, RunTable, plain, safe_block

SYNTAX = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".py": "python",
          ".sh": "bash", ".md": "markdown", ".ini": "ini", ".cfg": "ini", ".xml": "xml",
          ".html": "html", ".js": "javascript", ".sql": "sql"}
TABLES = {".csv": ",", ".tsv": "\t"}
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"}
LOGS = {".log", ".out", ".err"}
MAX_IMAGE = 20 * 1024 * 1024  # bytes read to show an image
PREVIEW_LINES = 5_000  # lines of text drawn at most (of the PREVIEW_BYTES read)
FOLLOW_EVERY = 2.0  # s between reads of a followed file
TABLE_ROWS = 200


def size_text(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def kind_of(path: str) -> str:
    """How to preview a file: text, log, syntax, table, parquet, image."""
    name = PurePosixPath(path).name.lower()
    suffix = PurePosixPath(name).suffix
    if suffix in IMAGES:
        return "image"
    if suffix in TABLES:
        return "table"
    if suffix == ".parquet":
        return "parquet"
    if suffix in SYNTAX or name in ("mlmodel", "mlproject", "conda.yaml"):
        return "syntax"
    if suffix in LOGS or "stdout" in name or "stderr" in name or "log" in name:
        return "log"
    return "text"


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


class ArtifactTree(Tree[Artifact]):
    """The run's files: Textual's tree with the keys of the app's other lists (j/k, G)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="art-tree.down"),
        Binding("k", "cursor_up", "Up", show=False, id="art-tree.up"),
        Binding("G", "scroll_end", "Bottom", show=False, id="art-tree.bottom"),
    ]


class ArtifactsView(Screen[None]):
    """The artifacts screen's panes and previews; its keys are ArtifactsScreen's."""

    DEFAULT_CSS = """
    ArtifactsView #art-head { height: 1; padding: 0 1; background: $boost; }
    ArtifactsView #art-body { height: 1fr; }
    ArtifactsView #art-tree { width: 40%; max-width: 60; border: round $primary-darken-2; }
    ArtifactsView #art-tree:focus { border: round $accent; }
    ArtifactsView #art-right { width: 1fr; }
    ArtifactsView #art-preview { height: 1fr; border: round $primary-darken-2; }
    ArtifactsView #art-table { height: 1fr; border: round $primary-darken-2; display: none; }
    ArtifactsView #art-image { height: 1fr; border: round $primary-darken-2; display: none; }
    ArtifactsView #art-image > * { width: auto; height: auto; }
    ArtifactsView #art-save { height: 3; display: none; border: round $accent; }
    ArtifactsView #art-find { height: 3; display: none; border: round $accent; }
    """
    def __init__(self, run: Run, store: Artifacts, *, web_url: str | None = None,
                 save_dir: str = ".") -> None:
        super().__init__()
        self.run = run
        self.store = store
        self.web_url = web_url
        self.save_dir = save_dir
        self.current: Artifact | None = None
        self.shown = ""  # what the preview shows (tests)
        self.tail = False  # t: the end of the file rather than its start
        self.following = False
        self._follow_at: int | None = None  # next byte to read while following
        self._follow_text = ""
        self.loaded_folders = 0
        self.copied = ""
        # Logged images (MLflow 3, log_image(key=, step=)): one tree entry per key, [ and ]
        # move through its steps. Path of any step's file -> its key's steps.
        self.image_groups: dict[str, ImageSteps] = {}
        self.models: dict[int, LoggedModel] = {}  # tree node id -> the logged model it shows
        self.model_stores: dict[str, Artifacts] = {}  # model id -> its files (MLflow 3)
        self.models_shown = 0
        self._models_node: TreeNode[Artifact] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="art-head")
        with Horizontal(id="art-body"):
            tree: Tree[Artifact] = ArtifactTree(plain(self.run.name or self.run.run_id, 40),
                                                id="art-tree")
            tree.border_title = "Artifacts"
            tree.show_root = False  # the run is named above; its files start at the top
            yield tree
            with Vertical(id="art-right"):
                with VerticalScroll(id="art-preview"):
                    yield Static(Text("Loading…", style="dim"), id="art-text")
                yield RunTable(id="art-table")
                yield Vertical(id="art-image")
                yield Input(id="art-save", placeholder="save to (enter saves, escape cancels)")
                yield Input(id="art-find", placeholder="find in the preview (enter finds, n: the "
                                                       "next match, escape closes)")
        yield KeyFooter()

    def _head(self, note: str) -> None:
        text = Text(" Artifacts of ", style="bold")
        text.append_text(plain(self.run.name or self.run.run_id, 60, style="bold"))
        text.append(f"  ·  {self.run.run_id}", style="dim")
        if note:
            text.append("  ·  ")
            text.append_text(plain(note, 120))
        self.query_one("#art-head", Static).update(text)

    def store_for(self, entry: Artifact) -> Artifacts:
        """Where `entry` is read: the run's artifacts, or a logged model's files."""
        return self.model_stores.get(entry.model_id, self.store) if entry.model_id else \
            self.store

    def where(self, entry: Artifact) -> str:
        """`entry`'s path as the header shows it (a logged model's files under its name)."""
        if not entry.model_id:
            return entry.path
        model = next((m for m in self.models.values() if m.model_id == entry.model_id), None)
        name = model.name if model is not None and model.name else entry.model_id
        return f"{name} (logged model)/{entry.path}" if entry.path else name

    # ------------------------------------------------------------------ previews
    def _show(self, widget_id: str) -> None:
        for other in ("#art-preview", "#art-table", "#art-image"):
            self.query_one(other).display = other == widget_id

    def _show_message(self, message: str, style: str = "") -> None:
        self._show("#art-preview")
        self.shown = safe_block(message)  # an error's text may hold the server's words
        self.query_one("#art-text", Static).update(Text(self.shown, style=style))

    @work(group="preview", exclusive=True)
    async def _preview(self, entry: Artifact) -> None:
        kind = kind_of(entry.path)
        try:
            if kind == "image":
                await self._preview_image(entry)
                return
            if kind == "parquet":
                await self._preview_parquet(entry)
                return
            chunk = await self.store_for(entry).read(self.run, entry.path,
                                          start=None if self.tail else 0,
                                          length=PREVIEW_BYTES)
        except TrackingError as exc:
            self._show_message(f"✘ {exc}", "bold red")
            return
        self._follow_at = (chunk.start + len(chunk.data))
        if is_binary(chunk.data):
            self._show_message(f"{entry.name}: a binary file of {size_text(chunk.total)}; "
                               "s saves it.", "dim")
            return
        if kind == "table":
            await self._preview_table(entry, chunk)
            return
        text = chunk.data.decode("utf-8", "replace")
        if chunk.start > 0:  # started mid-line: drop the broken first line
            text = text.split("\n", 1)[1] if "\n" in text else text
        self._show_text(entry, kind, text, chunk)

    def _show_text(self, entry: Artifact, kind: str, text: str, chunk: Chunk) -> None:
        self._show("#art-preview")
        self._follow_text = text
        cut = not chunk.complete
        where = ("the last " if chunk.start > 0 else "the first ") + size_text(len(chunk.data))
        note = f"{where} of {size_text(chunk.total)} (t: {'head' if self.tail else 'tail'})" \
            if cut else size_text(chunk.total)
        if self.following:
            note += " · following (f stops)"
        suffix = PurePosixPath(entry.path.lower()).suffix
        language = SYNTAX.get(suffix) or ("yaml" if kind == "syntax" else None)
        if language == "json" and not cut:
            try:
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        lines = text.splitlines(keepends=True)
        if len(lines) > PREVIEW_LINES:
            # Drawing a preview takes time in proportion to its lines, on the UI's thread: a
            # 256 KB read of short lines (24,000) froze the app for 2 s, 5 s on a busy machine.
            tail = self.tail or self.following
            text = "".join(lines[-PREVIEW_LINES:] if tail else lines[:PREVIEW_LINES])
            note += f" · the {'last' if tail else 'first'} {PREVIEW_LINES:,} lines shown"
            cut = True
        self._head(f"{self.where(entry)} · {note}")
        # The file's contents are the server's text: every escape sequence and control
        # character made visible before anything draws it (rich.Syntax passes ESC through).
        text = safe_block(text)
        self.shown = text
        widget = self.query_one("#art-text", Static)
        if language and not cut:
            widget.update(Syntax(text, language, theme="ansi_dark", word_wrap=True,
                                 line_numbers=False))
        else:
            widget.update(Text(text))
        if self.tail or self.following:
            self.query_one("#art-preview", VerticalScroll).scroll_end(animate=False)

    async def _preview_table(self, entry: Artifact, chunk: Chunk) -> None:
        sep = TABLES[PurePosixPath(entry.path.lower()).suffix]
        data = chunk.data
        if not chunk.complete and b"\n" in data:
            data = data[: data.rfind(b"\n") + 1]  # whole rows only
        try:  # pandas (its import too) in a thread: the UI stays responsive
            frame = await asyncio.to_thread(_read_csv, data, sep)
        except Exception as exc:  # noqa: BLE001 - a malformed file is shown as text
            self._show_text(entry, "text", data.decode("utf-8", "replace") +
                            f"\n\n(not a table: {exc})", chunk)
            return
        self._show("#art-table")
        table = self.query_one("#art-table", RunTable)
        table.set_rows(*table_cells(frame))
        if chunk.complete:  # the whole file read: its rows counted (lines, less the header)
            rows = data.count(b"\n") - (1 if data.endswith(b"\n") else 0)
            count = (f"the first {len(frame):,} of {rows:,} rows" if rows > len(frame) else
                     f"{len(frame):,} rows")
        else:
            count = f"the first {len(frame):,} rows (of the first {size_text(len(data))} read)"
        self.shown = ",".join(str(c) for c in frame.columns)
        self._head(f"{self.where(entry)} · {count} · {size_text(chunk.total)}")

    async def _preview_parquet(self, entry: Artifact) -> None:
        """The first rows of a Parquet file: its footer and first row group, read by byte
        ranges (tracking/parquet.py), the table drawn like a CSV's."""
        try:
            head = await parquet_head(self.store_for(entry), self.run, entry, TABLE_ROWS)
        except ParquetUnavailable as exc:
            self._show_message(f"{entry.name}: {exc}; s saves it.", "dim")
            return
        except TooMuch as exc:
            self._show_message(f"{entry.name}: {exc} (its first row group is too large); "
                               "s saves it.", "dim")
            return
        self._show("#art-table")
        table = self.query_one("#art-table", RunTable)
        table.set_rows(*table_cells(head.frame))
        self.shown = ",".join(str(c) for c in head.frame.columns)
        groups = f"{head.row_groups} row group{'s' if head.row_groups != 1 else ''}"
        self._head(f"{self.where(entry)} · Parquet: the first {len(head.frame):,} of "
                   f"{head.rows:,} rows ({groups}) · read {size_text(head.moved)} of "
                   f"{size_text(head.size)}")

    async def _preview_image(self, entry: Artifact) -> None:
        if entry.size is not None and entry.size > MAX_IMAGE:
            self._show_message(f"{entry.name}: {size_text(entry.size)}, too large to show "
                               f"(over {size_text(MAX_IMAGE)}); s saves it.", "dim")
            return
        chunk = await self.store_for(entry).read(self.run, entry.path, start=0,
                                                 length=MAX_IMAGE)
        if chunk.total is not None and chunk.total > MAX_IMAGE:
            self._show_message(f"{entry.name}: {size_text(chunk.total)}, too large to show "
                               f"(over {size_text(MAX_IMAGE)}); s saves it.", "dim")
            return
        holder = self.query_one("#art-image", Vertical)
        try:
            # Decoding (and shrinking a large picture to what a terminal can show) in a
            # thread: a big PNG took the UI for a while.
            image = image_widget(await asyncio.to_thread(decode_image, chunk.data))
            await holder.remove_children()
            await holder.mount(image)
        except ImportError:
            self._show_message(f"{entry.name}: an image of {size_text(chunk.total)}. "
                               "pip install 'mlflow-tui[images]' shows it here; s saves it.",
                               "dim")
            return
        except Exception as exc:  # noqa: BLE001 - a broken image is a message, not a crash
            self._show_message(f"{entry.name}: cannot show this image ({exc})", "dim")
            return
        self._show("#art-image")
        self.shown = f"image {entry.name}"
        graphics = found()
        how = graphics.kind.replace("halfblocks", "half blocks")
        holder.border_subtitle = graphics.note  # e.g. an older Kitty: why half blocks
        group = self.image_groups.get(entry.path)
        index = group.index_of(entry.path) if group is not None else None
        if group is not None and index is not None:
            self.shown = f"image {group.key} step {group.steps[index][0]}"
            self._head(f"{group.key} · step {group.steps[index][0]} ({index + 1} of "
                       f"{len(group.steps)}: [ and ] move) · {size_text(chunk.total)} · {how}")
        else:
            self._head(f"{self.where(entry)} · {size_text(chunk.total)} · {how}")


def _read_csv(data: bytes, sep: str) -> Any:
    """The first TABLE_ROWS rows of a CSV/TSV head (pandas; run in a thread)."""
    import pandas as pd

    return pd.read_csv(io.BytesIO(data), sep=sep, nrows=TABLE_ROWS)
