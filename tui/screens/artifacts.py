"""A run's artifacts (a, from the monitor): the tree of its files, listed a folder at a time,
and a preview of the highlighted file (artifacts_view.py) with the right tool: text and logs
(the head, or the tail of a log, followed while the run is live with f), JSON / YAML / TOML
highlighted, CSV as a table, images inline. MLflow 3 logged models are a folder at the top;
enter on one shows it and lists its own files, previewed and saved the same way.
s saves the highlighted file or folder; y copies the run id, Y its web UI address (OSC 52,
which reaches the laptop's clipboard over SSH).
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Static, Tree
from textual.widgets.tree import TreeNode

from mlflow_tui.screens.artifact_cells import model_label, model_text, table_cells
from mlflow_tui.screens.artifacts_view import (
    FOLLOW_EVERY,
    ArtifactsView,
    is_binary,
    kind_of,
    size_text,
)
from mlflow_tui.text.format import counted
from mlflow_tui.tracking.artifacts import (
    PREVIEW_BYTES,
    Artifact,
    ArtifactError,
    Chunk,
    LoggedModel,
    MissingRoot,
    image_steps,
    save_tree,
)
from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.models import Run
from mlflow_tui.widgets import plain, safe_block, safe_text


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
    HELP = "Artifacts: enter opens a folder or a logged model's files, or previews a file"

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
        """List the folder `path` under `node`: of the run's artifacts, or, under a logged
        model's entry, of that model's files."""
        owner = node.data
        top = owner is None
        try:
            entries = await (self.store if owner is None else
                             self.store_for(owner)).list(self.run, path)
        except MissingRoot as exc:  # not "no artifacts": where they should be, and why not
            self._show_message(f"No artifacts: {exc}", "dim")
            self._head("the artifact root is missing")
            return
        except TrackingError as exc:
            self._show_message(f"✘ {exc}", "bold red")
            return
        for child in list(node.children):
            if child is not self._models_node:  # the logged models stay (another worker's)
                child.remove()
        if not entries and owner is None:
            self._show_message("This run has no artifacts.", "dim")
            return
        if not entries and not path:  # a logged model without files (its facts stay shown)
            node.add_leaf(Text("no files", style="dim"), None)
        if owner is not None and owner.path:  # a folder, listed now: what it holds
            label = plain(owner.name + "/", 60, style="bold")
            label.append(f"  {folder_note(entries)}", style="dim")
            node.set_label(label)
        groups, entries = image_steps(entries)
        for group in groups:
            latest = group.steps[-1][1]
            label = plain(group.key, 50)
            label.append(f"  {counted(len(group.steps), 'step')}, "
                         f"last {group.steps[-1][0]}", style="dim")
            node.add_leaf(label, latest)
            self.image_groups.update((a.path, group) for _, a in group.steps)
        for entry in entries:
            label = plain(entry.name + ("/" if entry.is_dir else ""), 60,
                          style="bold" if entry.is_dir else "")
            if entry.size is not None:
                label.append(f"  {size_text(entry.size)}", style="dim")
            node.add(label, entry, allow_expand=entry.is_dir)
        if top:
            tree = self.query_one("#art-tree", Tree)
            if tree.cursor_line < 0:
                tree.cursor_line = 0  # enter previews the first entry right away
            files = sum(1 for e in entries if not e.is_dir)
            total = sum(e.size or 0 for e in entries)
            self._head(f"{counted(len(entries), 'entry', 'entries')}, {counted(files, 'file')}, "
                       f"{size_text(total)} at the top")
            if self.current is None:
                self._show_message("enter: open a folder or preview a file", "dim")
        self.loaded_folders += 1

    @work(group="models")
    async def _load_models(self) -> None:
        """MLflow 3 logged models of the run (their files are the model's, not the run's):
        a folder at the top of the tree, one entry each, opened like a folder (its files);
        nothing on servers without them."""
        find = getattr(self.store, "logged_models", None)
        files = getattr(self.store, "model_files", None)
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
            if files is None:
                node = folder.add_leaf(model_label(model), None)
            else:
                self.model_stores[model.model_id] = files(model)
                node = folder.add(model_label(model), Artifact("", True, model_id=model.model_id),
                                  allow_expand=True)
            self.models[node.id] = model
        self.models_shown = len(models)

    def _show_model(self, model: LoggedModel) -> None:
        self._show("#art-preview")
        self.shown = safe_block(model_text(model, self.run.run_id))
        self.query_one("#art-text", Static).update(Text(self.shown))
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
        text = Text(self.shown)  # already made safe (safe_block)
        text.highlight_words([self.find_term], style="reverse", case_sensitive=False)
        self.query_one("#art-text", Static).update(text)
        pane = self.query_one("#art-preview", VerticalScroll)
        width = max(pane.scrollable_content_region.width, 1)
        y = sum(max(1, -(-cell_len(line) // width)) for line in lines[:self.find_at])
        pane.scroll_to(y=max(y - 2, 0), animate=False)
        self._head(f"find {self.find_term!r}: line {self.find_at + 1}, match "
                   f"{hits.index(self.find_at) + 1} of {len(hits)} (n: next)")

    def action_tail(self) -> None:
        if self.current is not None and kind_of(self.current.path) not in ("image", "parquet"):
            self.tail = not self.tail
            self.following = False
            self._preview(self.current)

    def action_follow(self) -> None:
        """Follow the file: its new lines appear as the run writes them."""
        if self.current is None or kind_of(self.current.path) in ("image", "table", "parquet"):
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
            chunk = await self.store_for(entry).read(self.run, entry.path,
                                                     start=self._follow_at,
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
        name = entry.name if entry.path else self.where(entry)  # a logged model: its files
        box.value = str(Path(self.save_dir) / plain(name, 200).plain)
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
            files, size = await save_tree(self.store_for(entry), self.run, entry.path, dest,
                                          progress)
        except (ArtifactError, TrackingError) as exc:
            self.notify(safe_text(str(exc), 400), title="Not saved", severity="error",
                        markup=False)
            self._head("")
            return
        took = time.monotonic() - started
        self._head(f"saved {counted(files, 'file')}, {size_text(size)} "
                   f"to {dest} in {took:.1f} s")
        self.notify(f"{counted(files, 'file')} ({size_text(size)}) saved to "
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


def folder_note(entries: list[Artifact]) -> str:
    """What a listed folder holds, at its own level (its folders are listed when opened):
    `3 files, 1.2 MB + 2 folders`; the size left out where the store gives none."""
    files = [e for e in entries if not e.is_dir]
    folders = len(entries) - len(files)
    note = counted(len(files), 'file')
    if files and all(e.size is not None for e in files):
        note += f", {size_text(sum(e.size or 0 for e in files))}"
    elif files:
        note += ", size not reported"
    if folders:
        note += f" + {counted(folders, 'folder')}"
    return note


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


__all__ = ["ArtifactsScreen", "artifacts_screen", "folder_note", "is_binary", "kind_of",
           "model_label", "model_text", "size_text", "table_cells"]
