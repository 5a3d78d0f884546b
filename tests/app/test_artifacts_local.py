"""The artifacts screen on a local store's artifact root (LocalArtifacts, real files): the UI
keeps answering while a big file is saved or a big folder listed (the file system is read in
threads), and the errors of item 5 of issue 18 (a missing root, a root elsewhere, permission
denied) are one clear line each."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Static, Tree

from mlflow_tui.screens.artifacts import ArtifactsScreen
from mlflow_tui.tracking import artifacts as artifacts_module
from mlflow_tui.tracking.artifacts import LocalArtifacts
from mlflow_tui.tracking.models import Run, RunStatus
from tests.conftest import wait_until

RUN_ID = "a" * 32
BIG = 40 << 20  # bytes saved through a named pipe
FIRST = 4 << 20  # of them, written before the test presses a key
GIVE_UP = 20.0  # s a blocked pipe or folder waits for the test before going on anyway


def _run(root: Path | str) -> Run:
    return Run(RUN_ID, "1", "local-run", RunStatus.RUNNING, 1_700_000_000_000,
               artifact_uri=str(root))


class Host(App[None]):
    def __init__(self, run: Run, save_dir: str = ".") -> None:
        super().__init__()
        self.run_ = run
        self.save_dir = save_dir

    def on_mount(self) -> None:
        self.push_screen(ArtifactsScreen(self.run_, LocalArtifacts(), save_dir=self.save_dir))


async def _screen(app: Host) -> ArtifactsScreen:
    await wait_until(lambda: isinstance(app.screen, ArtifactsScreen))
    return app.screen  # type: ignore[return-value]


def _head(screen: ArtifactsScreen) -> str:
    return str(screen.query_one("#art-head", Static).render())


def _child(tree: Tree, name: str):
    return next(n for n in tree.root.children if n.data is not None and n.data.name == name)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
async def test_a_key_is_answered_while_a_big_local_file_is_saved(tmp_path):
    """The file is a named pipe fed by a thread: 4 MB, then the rest only once the app has
    answered a key (y). A save that blocks the event loop cannot answer it: the pipe then
    waits GIVE_UP seconds, the save ends first, and the test fails."""
    root = tmp_path / "root"
    root.mkdir()
    pipe = root / "big.bin"
    os.mkfifo(pipe)
    release = threading.Event()

    def feed() -> None:
        with open(pipe, "wb") as sink:
            sink.write(b"\0" * FIRST)
            release.wait(GIVE_UP)
            for _ in range((BIG - FIRST) >> 20):
                sink.write(b"\0" * (1 << 20))

    feeder = threading.Thread(target=feed, daemon=True)
    dest = tmp_path / "saved.bin"
    app = Host(_run(root), save_dir=str(tmp_path))
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            screen = await _screen(app)
            await wait_until(lambda: screen.loaded_folders >= 1)
            tree = screen.query_one("#art-tree", Tree)
            tree.move_cursor(_child(tree, "big.bin"))
            feeder.start()
            await pilot.press("s")
            box = screen.query_one("#art-save", Input)
            await wait_until(lambda: box.display)
            box.value = str(dest)
            await pilot.press("enter")
            # The progress is redrawn during the save...
            await wait_until(lambda: "saving big.bin: 4.0 MB" in _head(screen))
            # ... and a key is answered before it ends.
            await pilot.press("y")
            await wait_until(lambda: screen.copied == RUN_ID)
            assert not dest.exists(), "the save ended before the key was answered"
            release.set()
            await wait_until(lambda: dest.exists(), timeout=60)
            assert dest.stat().st_size == BIG
            await wait_until(lambda: "saved 1 file, 40.0 MB" in _head(screen))
    finally:
        release.set()
        feeder.join(GIVE_UP * 2) if feeder.is_alive() else None


async def test_a_key_is_answered_while_a_big_local_folder_is_listed(tmp_path, monkeypatch):
    """Listing a folder of many files: os.scandir of that folder held until the app has
    answered a key (at most GIVE_UP seconds, when the listing blocks the event loop)."""
    root = tmp_path / "root"
    many = root / "many"
    many.mkdir(parents=True)
    for i in range(2000):
        (many / f"sample-{i:05d}.json").write_text("{}")
    release = threading.Event()
    real_scandir = os.scandir

    def held_scandir(path=".", *args, **kwargs):
        if Path(path) == many:
            release.wait(GIVE_UP)
        return real_scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", held_scandir)
    app = Host(_run(root))
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            screen = await _screen(app)
            await wait_until(lambda: screen.loaded_folders >= 1)
            tree = screen.query_one("#art-tree", Tree)
            folder = _child(tree, "many")
            folder.expand()
            await pilot.press("y")
            await wait_until(lambda: screen.copied == RUN_ID)
            assert not folder.children, "the listing ended before the key was answered"
            release.set()
            await wait_until(lambda: len(folder.children) == 2000)
    finally:
        release.set()


async def test_a_missing_artifact_root_is_named_not_called_empty(tmp_path):
    gone = tmp_path / "moved-away" / "artifacts"
    app = Host(_run(gone))
    async with app.run_test(size=(140, 30)):
        screen = await _screen(app)
        await wait_until(lambda: "does not exist" in screen.shown)
        assert "This run has no artifacts" not in screen.shown
        assert f"artifact root {gone} does not exist" in screen.shown
        assert "artifact root is missing" in _head(screen)


async def test_a_root_on_s3_says_which_client_reads_it(tmp_path):
    app = Host(_run("s3://bucket/mlflow/1/abc/artifacts"))
    async with app.run_test(size=(140, 30)):
        screen = await _screen(app)
        await wait_until(lambda: "s3://" in screen.shown)
        assert "artifacts at s3:// are not on this machine" in screen.shown
        assert "--serve-artifacts" in screen.shown


def _denied(monkeypatch, paths: set[Path]) -> None:
    """Running as root, chmod 000 denies nothing: open and os.scandir refuse these paths as
    the system would."""
    real_open, real_scandir = open, os.scandir

    def refuse(path) -> None:
        if Path(path) in paths:
            raise PermissionError(13, "Permission denied", str(path))

    def denying_open(path, *args, **kwargs):
        refuse(path)
        return real_open(path, *args, **kwargs)

    def denying_scandir(path=".", *args, **kwargs):
        refuse(path)
        return real_scandir(path, *args, **kwargs)

    monkeypatch.setattr(artifacts_module, "open", denying_open, raising=False)
    monkeypatch.setattr(os, "scandir", denying_scandir)


@pytest.mark.parametrize("how", ["chmod", "patched"])
async def test_permission_denied_is_one_clear_line(tmp_path, monkeypatch, how):
    root = tmp_path / "root"
    locked = root / "locked"
    locked.mkdir(parents=True)
    (locked / "inside.txt").write_text("x")
    secret = root / "secret.txt"
    secret.write_text("top secret\n")
    if how == "chmod":
        if os.geteuid() == 0:
            pytest.skip("root reads files whatever their mode (the 'patched' case covers it)")
        secret.chmod(0)
        locked.chmod(0)
    else:
        _denied(monkeypatch, {secret, locked})
    app = Host(_run(root), save_dir=str(tmp_path))
    try:
        async with app.run_test(size=(160, 30)):
            screen = await _screen(app)
            await wait_until(lambda: screen.loaded_folders >= 1)
            tree = screen.query_one("#art-tree", Tree)
            tree.select_node(_child(tree, "secret.txt"))
            await wait_until(lambda: screen.shown.startswith("✘"))
            assert screen.shown == f"✘ cannot read {secret}: Permission denied"
            _child(tree, "locked").expand()
            await wait_until(lambda: "cannot list" in screen.shown)
            assert screen.shown == f"✘ cannot list {locked}: Permission denied"
    finally:
        secret.chmod(0o644)
        locked.chmod(0o755)


async def test_a_folder_shows_its_file_count_and_size_once_listed(tmp_path):
    root = tmp_path / "root"
    (root / "conf" / "deeper").mkdir(parents=True)
    for name, size in (("a.json", 10), ("b.json", 20), ("c.yaml", 2000)):
        (root / "conf" / name).write_bytes(b"x" * size)
    app = Host(_run(root))
    async with app.run_test(size=(140, 30)):
        screen = await _screen(app)
        await wait_until(lambda: screen.loaded_folders >= 1)
        tree = screen.query_one("#art-tree", Tree)
        folder = _child(tree, "conf")
        assert str(folder.label) == "conf/"  # not listed yet: nothing known
        folder.expand()
        await wait_until(lambda: len(folder.children) == 4)
        await wait_until(lambda: str(folder.label) == "conf/  3 files, 2.0 KB + 1 folder")


async def test_j_and_k_move_in_the_files_as_in_the_apps_other_lists(tmp_path):
    root = tmp_path / "root"
    (root / "conf").mkdir(parents=True)
    for name in ("a.txt", "b.txt"):
        (root / name).write_text(name)
    app = Host(_run(root))
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await _screen(app)
        await wait_until(lambda: screen.loaded_folders >= 1)
        tree = screen.query_one("#art-tree", Tree)
        tree.focus()
        await pilot.pause()
        names = []
        for key in ("j", "j", "k", "G"):
            await pilot.press(key)
            names.append(tree.cursor_node.data.name if tree.cursor_node else None)
        assert names == ["a.txt", "b.txt", "a.txt", "b.txt"]
