"""Tree of experiments, foldered by the "/" in their names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.fuzzy import Matcher
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from .text import plain

__all__ = ["EXPAND_ALL_BELOW", "ExperimentEntry", "ExperimentTree", "best_match"]

EXPAND_ALL_BELOW = 40
"""On the first `set_experiments`, expand every folder if there are fewer experiments."""

RUNNING_STYLE = "bold green"
WARNED_STYLE = "bold yellow"
ERROR_STYLE = "bold red"


@dataclass(frozen=True)
class ExperimentEntry:
    experiment_id: str
    name: str
    run_count: int | None = None
    running: int = 0
    warned: int = 0  # runs with a warning (overfitting, stalled)
    errors: int = 0  # runs failed or diverged


@dataclass(frozen=True)
class NodeInfo:
    """What an `ExperimentTree` node stands for (its `data`)."""

    path: tuple[str, ...]
    experiment_id: str | None = None
    counts: int = 0  # characters of the label's counts ("  (12)  ● 2  ⚠ 1")
    totals: tuple[int | None, int, int, int] = (None, 0, 0, 0)  # runs, running, errors, warned


def split_name(name: str) -> tuple[str, ...]:
    """Folder path of an experiment name: split on "/", parts stripped, empty parts dropped.

    A name with no non-empty part (e.g. "/" or "  ") stays one part: the name itself.
    """
    parts = tuple(p.strip() for p in name.split("/"))
    parts = tuple(p for p in parts if p)
    return parts or (name,)


@dataclass
class _Spec:
    part: str
    path: tuple[str, ...]
    experiment: ExperimentEntry | None = None
    children: dict[str, _Spec] = field(default_factory=dict)
    runs: int | None = None
    running: int = 0
    warned: int = 0
    errors: int = 0

    def sort_key(self) -> tuple[bool, str, str]:
        # Folders first, then experiments; alphabetical ignoring case.
        return (not self.children, self.part.casefold(), self.part)

    def ordered(self) -> list[_Spec]:
        return sorted(self.children.values(), key=_Spec.sort_key)

    def aggregate(self) -> None:
        """Sum the counts of everything below. A folder's run count is shown only when every
        experiment below it has one (the app knows the count of the experiments it lists):
        a partial sum would read as the folder's total."""
        exp = self.experiment
        runs = exp.run_count if exp else 0
        running = exp.running if exp else 0
        warned = exp.warned if exp else 0
        errors = exp.errors if exp else 0
        for child in self.children.values():
            child.aggregate()
            runs = None if runs is None or child.runs is None else runs + child.runs
            running += child.running
            warned += child.warned
            errors += child.errors
        self.runs, self.running, self.warned, self.errors = runs, running, warned, errors

    def label(self) -> Text:
        return plain(self.part, 80) + self.counts()

    def counts(self) -> Text:
        text = Text()
        if self.runs is not None:
            text.append(f"  ({self.runs})", style="dim")
        if self.running > 0:
            text.append(f"  ● {self.running}", style=RUNNING_STYLE)
        if self.errors > 0:
            text.append(f"  ✘ {self.errors}", style=ERROR_STYLE)
        if self.warned > 0:
            text.append(f"  ⚠ {self.warned}", style=WARNED_STYLE)
        return text


def _short_counts(runs: int | None, running: int, errors: int,
                  warned: int) -> list[Text]:
    """The counts of a label that does not fit, from the fullest to the shortest."""
    marks = Text()
    if running:
        marks.append(f" ●{running}", style=RUNNING_STYLE)
    trouble = Text()
    if errors:
        trouble.append(f" ✘{errors}", style=ERROR_STYLE)
    if warned:
        trouble.append(f" ⚠{warned}", style=WARNED_STYLE)
    total = Text(f" ({runs})", style="dim") if runs is not None else Text()
    return [total + marks + trouble, marks + trouble, trouble]


def _build_specs(entries: Sequence[ExperimentEntry]) -> _Spec:
    root = _Spec("", ())
    for entry in entries:
        parts = split_name(entry.name)
        node = root
        for depth, part in enumerate(parts):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Spec(part, parts[: depth + 1])
            node = child
        if node.experiment is not None and node.experiment.experiment_id != entry.experiment_id:
            # Two names that differ only in spaces around "/": keep both, distinguishable.
            part = f"{parts[-1]} [{entry.experiment_id}]"
            path = (*parts[:-1], part)
            parent = root
            for part_ in parts[:-1]:
                parent = parent.children[part_]
            node = parent.children.setdefault(part, _Spec(part, path))
        node.experiment = entry
    root.aggregate()
    return root


def best_match(query: str, names: dict[str, str]) -> str | None:
    """The key of the name in `names` (key -> experiment name) that `query` means: the whole
    name, else a name whose last part starts with it, else any part, else a substring, else
    the best fuzzy match (letters in order). Ties: the shorter name, then alphabetical."""
    q = query.strip().casefold()
    if not q:
        return None
    matcher = Matcher(q)
    ranked: list[tuple[int, float, int, str, str]] = []
    for key, name in names.items():
        low = name.casefold()
        parts = [part.casefold() for part in split_name(name)]
        if low == q:
            tier, score = 0, 0.0
        elif parts and parts[-1].startswith(q):
            tier, score = 1, 0.0
        elif any(part.startswith(q) for part in parts) or low.startswith(q):
            tier, score = 2, 0.0
        elif q in low:
            tier, score = 3, 0.0
        else:
            score = matcher.match(name)
            if score <= 0:
                continue
            tier = 4
        ranked.append((tier, -score, len(name), low, key))
    return min(ranked)[-1] if ranked else None


def _same_label(a: Text, b: Text) -> bool:
    return a.plain == b.plain and a.spans == b.spans and a.style == b.style


class ExperimentTree(Tree[NodeInfo]):
    """Experiments as a folder tree; leaves carry the experiment id.

    Messages: `ExperimentSelected` (enter or click on an experiment node) and
    `ExperimentHighlighted` (cursor moved onto an experiment node).
    """

    DEFAULT_CSS = """
    ExperimentTree {
        width: 1fr;
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="tree.down"),
        Binding("k", "cursor_up", "Up", show=False, id="tree.up"),
        Binding("home", "scroll_home", "Top", show=False, id="tree.top"),
        Binding("g", "jump", "Go to", show=False, id="tree.jump"),
        Binding("G", "scroll_end", "Bottom", show=False, id="tree.bottom"),
        Binding("h", "collapse_or_parent", "Collapse", show=False, id="tree.collapse"),
        Binding("l", "expand_or_child", "Expand", show=False, id="tree.expand"),
    ]

    class _ExperimentMessage(Message):
        def __init__(self, tree: ExperimentTree, experiment_id: str) -> None:
            self.tree = tree
            self.experiment_id = experiment_id
            super().__init__()

        @property
        def control(self) -> ExperimentTree:
            return self.tree

    class ExperimentSelected(_ExperimentMessage):
        """The user chose an experiment (enter or click)."""

    class ExperimentHighlighted(_ExperimentMessage):
        """The cursor moved onto an experiment node."""

    JUMP_PROMPT = "go to: "

    def __init__(
        self,
        label: str | Text = "Experiments",
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's API
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(
            plain(label) if isinstance(label, str) else label,
            NodeInfo(()),
            name=name, id=id, classes=classes, disabled=disabled,
        )
        self.show_root = False
        self.auto_expand = False  # enter selects; space / l / h (un)fold
        self.root.expand()
        self._path_nodes: dict[tuple[str, ...], TreeNode[NodeInfo]] = {}
        self._by_experiment: dict[str, tuple[str, ...]] = {}
        self._loaded = False
        self._expand_new = True
        self._last_highlighted: str | None = None
        self._prev_folders: set[tuple[str, ...]] = set()
        self._prev_expanded: set[tuple[str, ...]] = set()
        self._names: dict[str, str] = {}  # experiment id -> name
        self.jump_query: str | None = None  # typing after g: the name being looked for
        self._subtitle = ""

    def render_label(self, node: TreeNode[NodeInfo], base_style: Style, style: Style) -> Text:
        """The label, its name cut short (…) when the line is wider than the tree: the run
        counts and the ⚠/✘ markers stay in view, and no horizontal scrollbar appears."""
        text = super().render_label(node, base_style, style)
        info = node.data
        if info is None or not info.path:
            return text
        room = self.scrollable_content_region.width - self.guide_depth * (len(info.path) - 1)
        if room <= 0 or text.cell_len <= room:
            return text
        head = text[:len(text) - min(info.counts, len(text))]
        # The counts, shorter and shorter: what matters most (✘, ⚠) goes last.
        for tail in _short_counts(*info.totals):
            keep = room - tail.cell_len - 1
            if keep >= 4:
                break
        if keep < 2:  # no room for a name: the markers, after an ellipsis
            head, tail = Text("…"), tail[1:] if tail.plain.startswith(" ") else tail
        elif head.cell_len > keep:
            head.truncate(keep)
            head.append("…")
        out = head + tail
        out.truncate(room)  # a tree too narrow even for that: cut, never wider
        return out

    # ------------------------------------------------------------------ public API
    def set_experiments(self, entries: Sequence[ExperimentEntry]) -> None:
        """Show `entries`; keeps expansion and the cursor; a no-op when nothing changed."""
        first = not self._loaded
        self._loaded = True
        if first:
            self._expand_new = len(entries) < EXPAND_ALL_BELOW
        cursor = self.cursor_node
        cursor_path = cursor.data.path if cursor is not None and cursor.data else None
        cursor_line = self.cursor_line
        spec = _build_specs(entries)
        self._names = {e.experiment_id: e.name for e in entries}
        self._by_experiment = {}
        self._prev_folders = {p for p, n in self._path_nodes.items() if n.allow_expand}
        self._prev_expanded = {p for p in self._prev_folders if self._path_nodes[p].is_expanded}
        changed = self._sync(self.root, spec)
        if not changed:
            return
        self._invalidate()
        # Rebuild the lines now so nodes know their line numbers, then put the cursor back.
        lines = self._tree_lines
        target = None
        if cursor_path:
            path = cursor_path
            while path and path not in self._path_nodes:
                path = path[:-1]
            target = self._path_nodes.get(path)
        if target is not None:
            if target._line >= 0 and target._line != self.cursor_line:
                self.move_cursor(target)
        elif lines and cursor_line >= 0:
            self.cursor_line = min(cursor_line, len(lines) - 1)

    def select_experiment(self, experiment_id: str) -> bool:
        """Move the cursor to the experiment (expanding its folders); False if unknown."""
        path = self._by_experiment.get(experiment_id)
        node = self._path_nodes.get(path) if path else None
        if node is None:
            return False
        parent = node.parent
        while parent is not None:
            if not parent.is_expanded:
                parent.expand()
            parent = parent.parent
        self._tree_lines  # noqa: B018 - rebuild so node._line is current
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
        return True

    @property
    def current_experiment_id(self) -> str | None:
        node = self.cursor_node
        return node.data.experiment_id if node is not None and node.data else None

    def node_for_path(self, path: tuple[str, ...]) -> TreeNode[NodeInfo] | None:
        return self._path_nodes.get(tuple(path))

    def expanded_paths(self) -> set[tuple[str, ...]]:
        return {path for path, node in self._path_nodes.items() if node.is_expanded}

    # ------------------------------------------------------------------ sync
    def _sync(self, parent: TreeNode[NodeInfo], spec: _Spec) -> bool:
        """Make `parent`'s children match `spec`'s; True if the tree's shape changed."""
        changed = False
        desired = spec.ordered()
        wanted = {child.path for child in desired}
        for old in list(parent.children):
            if old.data is None or old.data.path not in wanted:
                self._forget(old)
                old.remove()
                changed = True
        for index, child in enumerate(desired):
            node = self._path_nodes.get(child.path)
            experiment_id = child.experiment.experiment_id if child.experiment else None
            info = NodeInfo(child.path, experiment_id, len(child.counts().plain),
                            (child.runs, child.running, child.errors, child.warned))
            has_children = bool(child.children)
            if node is not None and node.parent is parent:
                siblings = parent.children
                if index >= len(siblings) or siblings[index] is not node:
                    expanded = node.is_expanded
                    self._forget(node)
                    node.remove()
                    node = None
                    changed = True
                    expand_again = expanded
                else:
                    expand_again = False
            else:
                expand_again = False
            if node is None:
                if child.path in self._prev_folders:
                    expand = expand_again or child.path in self._prev_expanded
                else:
                    expand = has_children and self._expand_new
                before = index if index < len(parent.children) else None
                node = parent.add(
                    child.label(), info, before=before, expand=expand, allow_expand=has_children
                )
                self._path_nodes[child.path] = node
                changed = True
            else:
                label = child.label()
                if not _same_label(node.label if isinstance(node.label, Text) else Text(),
                                   label):
                    node.set_label(label)
                if node.data != info:
                    node.data = info
                if node.allow_expand != has_children:
                    node.allow_expand = has_children
                    if not has_children and node.is_expanded:
                        node.collapse()
                    elif has_children and self._expand_new:
                        node.expand()
                    changed = True
            if info.experiment_id is not None:
                self._by_experiment[info.experiment_id] = child.path
            if self._sync(node, child):
                changed = True
        return changed

    def _forget(self, node: TreeNode[NodeInfo]) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if current.data is not None and self._path_nodes.get(current.data.path) is current:
                del self._path_nodes[current.data.path]
            stack.extend(current.children)

    # ------------------------------------------------------------------ events / actions
    @on(Tree.NodeSelected)
    def _experiment_selected(self, event: Tree.NodeSelected[NodeInfo]) -> None:
        data = event.node.data
        if data is not None and data.experiment_id is not None:
            self.post_message(self.ExperimentSelected(self, data.experiment_id))

    @on(Tree.NodeHighlighted)
    def _experiment_highlighted(self, event: Tree.NodeHighlighted[NodeInfo]) -> None:
        data = event.node.data
        experiment_id = data.experiment_id if data is not None else None
        if experiment_id == self._last_highlighted:
            return
        self._last_highlighted = experiment_id
        if experiment_id is not None:
            self.post_message(self.ExperimentHighlighted(self, experiment_id))

    def action_collapse_or_parent(self) -> None:
        """Collapse the node under the cursor, or go to its parent folder."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_expand_or_child(self) -> None:
        """Expand the folder under the cursor, or go to its first child if expanded."""
        node = self.cursor_node
        if node is None or not node.allow_expand:
            return
        if not node.is_expanded:
            node.expand()
        elif node.children:
            self._tree_lines  # noqa: B018 - rebuild so node._line is current
            self.move_cursor(node.children[0])

    # ------------------------------------------------------------------ g: go to by name
    def action_jump(self) -> None:
        """Start typing a name: each letter moves the cursor to the best match, enter opens
        it, escape goes back; g right away goes to the top (as gg does in vim)."""
        self.jump_query = ""
        self._subtitle = str(self.border_subtitle or "")
        self._show_query()

    def _show_query(self) -> None:
        if self.jump_query is None:
            self.border_subtitle = self._subtitle
            return
        found = best_match(self.jump_query, self._names) if self.jump_query else None
        hint = "" if found or not self.jump_query else " (no match)"
        self.border_subtitle = plain(f"{self.JUMP_PROMPT}{self.jump_query}▏{hint}", 60)
        if found is not None:
            self.select_experiment(found)

    def _end_jump(self) -> None:
        self.jump_query = None
        self._show_query()

    def on_key(self, event: events.Key) -> None:
        if self.jump_query is None:
            return
        event.stop()
        event.prevent_default()
        if event.key == "escape":
            self._end_jump()
        elif event.key == "enter":
            found = best_match(self.jump_query, self._names)
            self._end_jump()
            if found is not None:
                self.select_experiment(found)
                self.post_message(self.ExperimentSelected(self, found))
        elif event.key == "backspace":
            self.jump_query = self.jump_query[:-1]
            self._show_query()
        elif event.key == "g" and not self.jump_query:
            self._end_jump()
            self.action_scroll_home()
        elif event.is_printable and event.character:
            self.jump_query += event.character
            self._show_query()

    def on_blur(self) -> None:
        if self.jump_query is not None:
            self._end_jump()
