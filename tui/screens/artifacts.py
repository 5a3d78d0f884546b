"""A run's artifacts (a, from the monitor): the tree of its files, listed a folder at a time,
and a preview of the highlighted file with the right tool: text and logs (the head, or the
tail of a log, followed while the run is live with f), JSON / YAML / TOML highlighted, CSV as
a table, images inline (textual-image: Kitty, Sixel or half blocks, when installed). Previews
read at most PREVIEW_BYTES (a byte range): a 5 GB checkpoint is never downloaded to look at.
s saves the highlighted file or folder; y copies the run id, Y its web UI address (OSC 52,
which reaches the laptop's clipboard over SSH).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path, PurePosixPath

from rich.cells import cell_len
from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, Tree
from textual.widgets.tree import TreeNode

from mlflow_tui.screens.artifact_cells import model_label, model_text, table_cells
from mlflow_tui.tracking.artifacts import (
    PREVIEW_BYTES,
    Artifact,
    ArtifactError,
    Artifacts,
    Chunk,
    ImageSteps,
    LoggedModel,
    image_steps,
    save_tree,
)
from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.models import Run
from mlflow_tui.widgets import RunTable, plain

SYNTAX = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".py": "python",
          ".sh": "bash", ".md": "markdown", ".ini": "ini", ".cfg": "ini", ".xml": "xml",
          ".html": "html", ".js": "javascript", ".sql": "sql"}
TABLES = {".csv": ",", ".tsv": "\t"}
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"}
LOGS = {".log", ".out", ".err"}
MAX_IMAGE = 20 * 1024 * 1024  # bytes read to show an image
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
        self.models_shown = 0
        self._models_node: TreeNode[Artifact] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="art-head")
        with Horizontal(id="art-body"):
            tree: Tree[Artifact] = Tree(plain(self.run.name or self.run.run_id, 40),
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
        yield Footer()

    def _head(self, note: str) -> None:
        text = Text(" Artifacts of ", style="bold")
        text.append_text(plain(self.run.name or self.run.run_id, 60, style="bold"))
        text.append(f"  ·  {self.run.run_id}", style="dim")
        if note:
            text.append("  ·  ")
            text.append_text(plain(note, 120))
        self.query_one("#art-head", Static).update(text)

    # ------------------------------------------------------------------ previews
    def _show(self, widget_id: str) -> None:
        for other in ("#art-preview", "#art-table", "#art-image"):
            self.query_one(other).display = other == widget_id

    def _show_message(self, message: str, style: str = "") -> None:
        self._show("#art-preview")
        self.shown = message
        self.query_one("#art-text", Static).update(Text(message, style=style))

    @work(group="preview", exclusive=True)
    async def _preview(self, entry: Artifact) -> None:
        kind = kind_of(entry.path)
        try:
            if kind == "image":
                await self._preview_image(entry)
                return
            chunk = await self.store.read(self.run, entry.path,
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
            self._preview_table(entry, chunk)
            return
        if kind == "parquet":
            self._show_message("Parquet previews need the whole file and pyarrow: s saves it, "
                               "then open it with pandas.", "dim")
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
        self._head(f"{entry.path} · {note}")
        suffix = PurePosixPath(entry.path.lower()).suffix
        language = SYNTAX.get(suffix) or ("yaml" if kind == "syntax" else None)
        self.shown = text
        widget = self.query_one("#art-text", Static)
        if language == "json" and not cut:
            try:
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
                self.shown = text
            except ValueError:
                pass
        if language and not cut:
            widget.update(Syntax(text, language, theme="ansi_dark", word_wrap=True,
                                 line_numbers=False))
        else:
            widget.update(Text(_visible(text)))
        if self.tail or self.following:
            self.query_one("#art-preview", VerticalScroll).scroll_end(animate=False)

    def _preview_table(self, entry: Artifact, chunk: Chunk) -> None:
        import pandas as pd

        sep = TABLES[PurePosixPath(entry.path.lower()).suffix]
        data = chunk.data
        if not chunk.complete and b"\n" in data:
            data = data[: data.rfind(b"\n") + 1]  # whole rows only
        try:
            frame = pd.read_csv(io.BytesIO(data), sep=sep, nrows=TABLE_ROWS)
        except Exception as exc:  # noqa: BLE001 - a malformed file is shown as text
            self._show_text(entry, "text", data.decode("utf-8", "replace") +
                            f"\n\n(not a table: {exc})", chunk)
            return
        self._show("#art-table")
        table = self.query_one("#art-table", RunTable)
        table.set_rows(*table_cells(frame))
        more = "" if chunk.complete else f" (the first {size_text(len(data))})"
        self.shown = ",".join(str(c) for c in frame.columns)
        self._head(f"{entry.path} · {len(frame)} rows shown{more} of {size_text(chunk.total)}")

    async def _preview_image(self, entry: Artifact) -> None:
        if entry.size is not None and entry.size > MAX_IMAGE:
            self._show_message(f"{entry.name}: {size_text(entry.size)}, too large to show; "
                               "s saves it.", "dim")
            return
        chunk = await self.store.read(self.run, entry.path, start=0, length=MAX_IMAGE)
        try:
            from textual_image.widget import Image
        except ImportError:
            self._show_message(f"{entry.name}: an image of {size_text(chunk.total)}. "
                               "pip install 'mlflow-tui[images]' shows it here; s saves it.",
                               "dim")
            return
        holder = self.query_one("#art-image", Vertical)
        await holder.remove_children()
        try:
            await holder.mount(Image(io.BytesIO(chunk.data)))
        except Exception as exc:  # noqa: BLE001 - a broken image is a message, not a crash
            self._show_message(f"{entry.name}: cannot show this image ({exc})", "dim")
            return
        self._show("#art-image")
        self.shown = f"image {entry.name}"
        group = self.image_groups.get(entry.path)
        index = group.index_of(entry.path) if group is not None else None
        if group is not None and index is not None:
            self.shown = f"image {group.key} step {group.steps[index][0]}"
            self._head(f"{group.key} · step {group.steps[index][0]} ({index + 1} of "
                       f"{len(group.steps)}: [ and ] move) · {size_text(chunk.total)}")
        else:
            self._head(f"{entry.path} · {size_text(chunk.total)}")



class ArtifactsScreen(ArtifactsView):
    """A run's artifacts: the tree (and its logged models), previews, follow, save, copy."""

    HELP_TITLE = "Artifacts"
    BINDINGS = [
        Binding("escape,a", "close", "Back", id="artifacts.close"),
        Binding("f", "follow", "Follow", id="artifacts.follow"),
        Binding("t", "tail", "Head/tail", id="artifacts.tail"),
        Binding("s", "save", "Save", id="artifacts.save"),
        Binding("y", "copy_id", "Copy run id", id="artifacts.copy_id"),
        Binding("Y", "copy_url", "Copy web URL", show=False, id="artifacts.copy_url"),
        Binding("left_square_bracket", "step(-1)", "Earlier step", show=False,
                id="artifacts.step_back"),
        Binding("right_square_bracket", "step(1)", "Later step", show=False,
                id="artifacts.step_on"),
        Binding("slash", "find", "Find", show=False, id="artifacts.find"),
        Binding("n", "find_next", "Next match", show=False, id="artifacts.find_next"),
    ]
    HELP = "Artifacts: enter opens a folder or previews a file"

    def on_mount(self) -> None:
        self.title = "Artifacts"
        self._head("")
        tree = self.query_one("#art-tree", Tree)
        tree.root.expand()
        tree.focus()
        self._load(tree.root, "")
        self._load_models()
        self.set_interval(FOLLOW_EVERY, self._follow_tick)

    # ------------------------------------------------------------------ the tree
    @work(group="list")
    async def _load(self, node: TreeNode[Artifact], path: str) -> None:
        try:
            entries = await self.store.list(self.run, path)
        except TrackingError as exc:
            self._show_message(f"✘ {exc}", "bold red")
            return
        for child in list(node.children):
            if child is not self._models_node:  # the logged models stay (another worker's)
                child.remove()
        if not entries and not path:
            self._show_message("This run has no artifacts.", "dim")
            return
        groups, entries = image_steps(entries)
        for group in groups:
            latest = group.steps[-1][1]
            label = plain(group.key, 50)
            label.append(f"  {len(group.steps)} step{'s' if len(group.steps) > 1 else ''}, "
                         f"last {group.steps[-1][0]}", style="dim")
            node.add_leaf(label, latest)
            self.image_groups.update((a.path, group) for _, a in group.steps)
        for entry in entries:
            label = plain(entry.name + ("/" if entry.is_dir else ""), 60,
                          style="bold" if entry.is_dir else "")
            if entry.size is not None:
                label.append(f"  {size_text(entry.size)}", style="dim")
            node.add(label, entry, allow_expand=entry.is_dir)
        if not path:
            tree = self.query_one("#art-tree", Tree)
            if tree.cursor_line < 0:
                tree.cursor_line = 0  # enter previews the first entry right away
            files = sum(1 for e in entries if not e.is_dir)
            total = sum(e.size or 0 for e in entries)
            self._head(f"{len(entries)} entries, {files} files, {size_text(total)} at the top")
            if self.current is None:
                self._show_message("enter: open a folder or preview a file", "dim")
        self.loaded_folders += 1

    @work(group="models")
    async def _load_models(self) -> None:
        """MLflow 3 logged models of the run (their files are the model's, not the run's):
        a folder at the top of the tree, one entry each; nothing on servers without them."""
        find = getattr(self.store, "logged_models", None)
        if find is None:
            return
        try:
            models = await find(self.run)
        except TrackingError:
            return
        if not models:
            return
        tree = self.query_one("#art-tree", Tree)
        label = plain(f"logged models ({len(models)})", 40, style="bold")
        folder = tree.root.add(label, None, before=0 if tree.root.children else None,
                               expand=True)
        self._models_node = folder
        for model in models:
            self.models[folder.add_leaf(model_label(model), None).id] = model
        self.models_shown = len(models)

    def _show_model(self, model: LoggedModel) -> None:
        self._show("#art-preview")
        self.shown = model_text(model, self.run.run_id)
        self.query_one("#art-text", Static).update(Text(_visible(self.shown)))
        self._head(f"logged model {model.name} · {model.model_id}")

    @on(Tree.NodeExpanded, "#art-tree")
    def _expanded(self, event: Tree.NodeExpanded[Artifact]) -> None:
        entry = event.node.data
        if entry is not None and entry.is_dir and not event.node.children:
            self._load(event.node, entry.path)

    @on(Tree.NodeSelected, "#art-tree")
    def _selected(self, event: Tree.NodeSelected[Artifact]) -> None:
        model = self.models.get(event.node.id)
        if model is not None:
            self.current = None
            self.following = False
            self._show_model(model)
            return
        entry = event.node.data
        if entry is None or entry.is_dir:
            return
        self.current = entry
        self.following = False
        self.tail = kind_of(entry.path) == "log"
        self._preview(entry)

    # ------------------------------------------------------------------ keys
    def action_step(self, delta: int) -> None:
        """[ / ]: the logged image of the key shown, at the step before or after."""
        group = self.image_groups.get(self.current.path) if self.current else None
        index = group.index_of(self.current.path) if group and self.current else None
        if group is None or index is None:
            return
        target = min(max(index + delta, 0), len(group.steps) - 1)
        if target != index:
            self.current = group.steps[target][1]
            self._preview(self.current)

    def action_close(self) -> None:
        for box in self.query("#art-save, #art-find").results(Input):
            if box.display:
                box.display = False
                self.query_one("#art-tree").focus()
                return
        self.dismiss(None)

    # ------------------------------------------------------------------ find in the preview
    find_term = ""
    find_at = -1  # the line of the match shown

    def action_find(self) -> None:
        """/: find a word in the text shown (a log's tail, a file's head)."""
        if self.query_one("#art-preview").display and self.shown:
            box = self.query_one("#art-find", Input)
            box.value = self.find_term
            box.display = True
            box.focus()

    @on(Input.Submitted, "#art-find")
    def _find_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.query_one("#art-tree").focus()
        self.find_term, self.find_at = event.value.strip(), -1
        self.action_find_next()

    def action_find_next(self) -> None:
        """n: the next line holding the word (from the top again after the last)."""
        term = self.find_term.casefold()
        if not term or not self.shown:
            return
        lines = self.shown.splitlines()
        hits = [i for i, line in enumerate(lines) if term in line.casefold()]
        if not hits:
            self._head(f"find {self.find_term!r}: not in what is shown")
            return
        self.find_at = next((i for i in hits if i > self.find_at), hits[0])
        text = Text(_visible(self.shown))
        text.highlight_words([self.find_term], style="reverse", case_sensitive=False)
        self.query_one("#art-text", Static).update(text)
        pane = self.query_one("#art-preview", VerticalScroll)
        width = max(pane.scrollable_content_region.width, 1)
        y = sum(max(1, -(-cell_len(line) // width)) for line in lines[:self.find_at])
        pane.scroll_to(y=max(y - 2, 0), animate=False)
        self._head(f"find {self.find_term!r}: line {self.find_at + 1}, match "
                   f"{hits.index(self.find_at) + 1} of {len(hits)} (n: next)")

    def action_tail(self) -> None:
        if self.current is not None and kind_of(self.current.path) != "image":
            self.tail = not self.tail
            self.following = False
            self._preview(self.current)

    def action_follow(self) -> None:
        """Follow the file: its new lines appear as the run writes them."""
        if self.current is None or kind_of(self.current.path) in ("image", "table"):
            return
        self.following = not self.following
        if self.following and not self.tail:
            self.tail = True
            self._preview(self.current)
        else:
            self._head(f"{self.current.path} · {'following' if self.following else 'stopped'}")

    @work(group="follow", exclusive=True)
    async def _follow_tick(self) -> None:
        entry = self.current
        if not self.following or entry is None or self._follow_at is None:
            return
        try:
            chunk = await self.store.read(self.run, entry.path, start=self._follow_at,
                                          length=PREVIEW_BYTES)
        except TrackingError:
            return  # the next tick tries again
        if not chunk.data:
            return
        self._follow_at = chunk.start + len(chunk.data)
        text = (self._follow_text + chunk.data.decode("utf-8", "replace"))[-PREVIEW_BYTES:]
        self._show_text(entry, "log", text, Chunk(text.encode(), max(0, self._follow_at -
                                                                     len(text)), chunk.total))

    def action_save(self) -> None:
        entry = self._highlighted()
        if entry is None:
            return
        box = self.query_one("#art-save", Input)
        box.value = str(Path(self.save_dir) / entry.name)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#art-save")
    def _save_submitted(self, event: Input.Submitted) -> None:
        entry = self._highlighted()
        event.input.display = False
        self.query_one("#art-tree").focus()
        if entry is not None and event.value.strip():
            self._save(entry, Path(event.value.strip()).expanduser())

    @work(group="save", exclusive=True)
    async def _save(self, entry: Artifact, dest: Path) -> None:
        started = time.monotonic()

        def progress(done: int, total: int | None) -> None:
            share = f" of {size_text(total)}" if total else ""
            self._head(f"saving {entry.path}: {size_text(done)}{share}")

        try:
            files, size = await save_tree(self.store, self.run, entry.path, dest, progress)
        except (ArtifactError, TrackingError) as exc:
            self.notify(str(exc), title="Not saved", severity="error", markup=False)
            self._head("")
            return
        took = time.monotonic() - started
        self._head(f"saved {files} file{'s' if files != 1 else ''}, {size_text(size)} "
                   f"to {dest} in {took:.1f} s")
        self.notify(f"{files} file{'s' if files != 1 else ''} ({size_text(size)}) saved to "
                    f"{dest}", title="Saved", markup=False)

    def _highlighted(self) -> Artifact | None:
        node = self.query_one("#art-tree", Tree).cursor_node
        return node.data if node is not None else None

    def action_copy_id(self) -> None:
        self._copy(self.run.run_id, "run id")

    def action_copy_url(self) -> None:
        if self.web_url:
            self._copy(self.web_url, "web UI address")
        else:
            self.notify("No web UI for a local store.", severity="warning")

    def _copy(self, text: str, what: str) -> None:
        self.app.copy_to_clipboard(text)  # Textual's OSC 52: the laptop's clipboard over SSH
        self.copied = text
        self.notify(f"Copied the {what}: {text}", title="Clipboard", markup=False)


def artifacts_screen(run: Run, source: object, save_dir: str) -> ArtifactsScreen | None:
    """The artifacts screen of `run`, read the way its source reaches them: through the
    tracking server (RestSource), or from the local store's artifact root."""
    from mlflow_tui.tracking.artifacts import LocalArtifacts, RestArtifacts
    from mlflow_tui.tracking.rest import RestSource

    if source is None:
        return None
    if isinstance(source, RestSource):
        url = f"{source.base_url}/#/experiments/{run.experiment_id}/runs/{run.run_id}"
        return ArtifactsScreen(run, RestArtifacts(source), web_url=url, save_dir=save_dir)
    return ArtifactsScreen(run, LocalArtifacts(), save_dir=save_dir)


def _visible(text: str) -> str:
    """Terminal escape sequences and control characters in a file shown as visible symbols
    (a log with colours must not repaint the screen)."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t":
            out.append(ch)
        elif code < 32:
            out.append(chr(0x2400 + code))
        elif code == 127 or 0x80 <= code < 0xA0:
            out.append("�")
        else:
            out.append(ch)
    return "".join(out)


__all__ = ["ArtifactsScreen", "artifacts_screen", "is_binary", "kind_of", "model_label",
           "model_text", "size_text", "table_cells"]
