"""SVG snapshot of the artifacts pane (a): the tree and a JSON preview, on a fake store (the
data path is tested against a real server in tests/integration/test_artifacts_server.py)."""

from __future__ import annotations

import json

import pytest
from textual.app import App

from mlflow_tui.screens.artifacts import ArtifactsScreen
from mlflow_tui.tracking.artifacts import Artifact, Chunk
from mlflow_tui.tracking.models import Run, RunStatus
from tests.conftest import wait_until

FILES = {
    "config.json": json.dumps({"lr": 0.001, "layers": [128, 64], "optimizer": "adamw"}).encode(),
    "stdout.txt": "".join(f"epoch {i}: loss {1 / (i + 1):.4f}\n" for i in range(30)).encode(),
    "model/MLmodel": b"flavors:\n  python_function: {}\n",
    "evil\x1b[31m[bold]name.txt": b"x",
}


class FakeStore:
    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = FILES if files is None else files

    async def list(self, run, path=""):
        out = {}
        for name, data in self.files.items():
            if path and not name.startswith(path + "/"):
                continue
            rest = name[len(path) + 1:] if path else name
            head = rest.split("/", 1)[0]
            full = f"{path}/{head}" if path else head
            out[full] = Artifact(full, "/" in rest, None if "/" in rest else len(data))
        return sorted(out.values(), key=lambda a: (not a.is_dir, a.name))

    async def read(self, run, path, *, start=0, length=1 << 18):
        data = self.files[path]
        first = max(0, len(data) - length) if start is None else start
        return Chunk(data[first:first + length], first, len(data))

    async def save_file(self, run, path, dest, progress=None):
        raise AssertionError("not in a snapshot")


RUN = Run("f" * 32, "1", "resnet18-lr0.1", RunStatus.RUNNING, 1_700_000_000_000)


class Host(App[None]):
    def __init__(self, store: FakeStore | None = None) -> None:
        super().__init__()
        self.store = store or FakeStore()

    def on_mount(self) -> None:
        self.push_screen(ArtifactsScreen(RUN, self.store))


def test_artifacts_pane_with_a_json_preview(snap_compare):
    async def before(pilot):
        app = pilot.app
        await wait_until(lambda: isinstance(app.screen, ArtifactsScreen))
        screen = app.screen
        await wait_until(lambda: screen.loaded_folders >= 1)
        tree = screen.query_one("#art-tree")
        node = next(n for n in tree.root.children if n.data.name == "config.json")
        tree.select_node(node)
        await wait_until(lambda: '"optimizer": "adamw"' in screen.shown)
        await pilot.pause()

    assert snap_compare(Host(), terminal_size=(110, 24), run_before=before)


async def test_an_image_is_shown_inline_or_named_with_the_extra_to_install():
    import io

    pil = __import__("importlib").util.find_spec("PIL")
    if pil is not None:
        from PIL import Image as PILImage

        buffer = io.BytesIO()
        PILImage.new("RGB", (32, 16), (200, 30, 30)).save(buffer, "PNG")
        FILES["plots/confusion.png"] = buffer.getvalue()
    else:
        FILES["plots/confusion.png"] = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    app = Host()
    try:
        async with app.run_test(size=(110, 30)) as pilot:
            await wait_until(lambda: isinstance(app.screen, ArtifactsScreen))
            screen = app.screen
            await wait_until(lambda: screen.loaded_folders >= 1)
            tree = screen.query_one("#art-tree")
            folder = next(n for n in tree.root.children if n.data.name == "plots")
            folder.expand()
            await wait_until(lambda: len(folder.children) == 1)
            tree.select_node(folder.children[0])
            try:
                import textual_image  # noqa: F401
            except ImportError:
                await wait_until(lambda: "mlflow-tui[images]" in screen.shown)
            else:
                await wait_until(lambda: screen.shown == "image confusion.png")
                holder = screen.query_one("#art-image")
                assert holder.display and len(holder.children) == 1
            await pilot.pause()
    finally:
        FILES.pop("plots/confusion.png", None)


def _select(name: str):
    """A run_before: the file `name` (at the top) previewed once `shown` says `done`."""
    async def before(pilot, done):
        app = pilot.app
        await wait_until(lambda: isinstance(app.screen, ArtifactsScreen))
        screen = app.screen
        await wait_until(lambda: screen.loaded_folders >= 1)
        tree = screen.query_one("#art-tree")
        tree.select_node(next(n for n in tree.root.children if n.data.name == name))
        await wait_until(lambda: done(screen))
        await pilot.pause()
    return before


def test_artifacts_pane_with_a_csv_table(snap_compare):
    files = {"metrics.csv": b"step,train_loss,val_loss,note\n" + b"".join(
        f"{i},{1 / (i + 1):.4f},{1.2 / (i + 1):.4f},epoch {i}\n".encode() for i in range(40)),
        "stdout.txt": b"x\n"}

    async def before(pilot):
        await _select("metrics.csv")(
            pilot, lambda screen: screen.shown == "step,train_loss,val_loss,note")

    assert snap_compare(Host(FakeStore(files)), terminal_size=(110, 24), run_before=before)


def test_artifacts_pane_with_an_image_in_half_blocks(snap_compare, monkeypatch):
    """A small generated PNG (left half green, right half red), drawn in half blocks (the
    graphics every colour terminal has; forced here, with a fixed cell size)."""
    import io

    pytest.importorskip("textual_image")
    from PIL import Image as PILImage
    from textual_image import _terminal

    from mlflow_tui.ui import images

    monkeypatch.setattr(images, "_found", images.Graphics(images.HALFBLOCKS, (10, 20)))
    monkeypatch.setattr(_terminal.get_cell_size, "_result", _terminal.CellSize(10, 20),
                        raising=False)
    picture = PILImage.new("RGB", (120, 60), (200, 30, 30))
    picture.paste(PILImage.new("RGB", (60, 60), (20, 200, 40)), (0, 0))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    files = {"sample.png": buffer.getvalue(), "stdout.txt": b"x\n"}

    async def before(pilot):
        await _select("sample.png")(pilot, lambda screen: screen.shown == "image sample.png")

    assert snap_compare(Host(FakeStore(files)), terminal_size=(110, 24), run_before=before)
