"""Find in an artifact's preview (/ then n): the matching line scrolled into view and
highlighted, the count of matches in the header, from the top again after the last."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Input, Static, Tree

from mlflow_tui.screens.artifacts import ArtifactsScreen
from tests.conftest import wait_until
from tests.snapshots.test_artifacts_snapshot import FILES, RUN, FakeStore

LOG = "".join(f"step {i}: loss {1 / (i + 1):.4f}\n" for i in range(400))
LOG = LOG.replace("step 120:", "step 120: WARNING nan in grad;").replace(
    "step 333:", "step 333: warning lr dropped;")


class Host(App[None]):
    def on_mount(self) -> None:
        self.push_screen(ArtifactsScreen(RUN, FakeStore()))


def _head(screen: ArtifactsScreen) -> str:
    return str(screen.query_one("#art-head", Static).render())


async def test_find_scrolls_to_each_match_and_wraps(monkeypatch):
    monkeypatch.setitem(FILES, "train.log", LOG.encode())
    app = Host()
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ArtifactsScreen))
        screen = app.screen
        await wait_until(lambda: screen.loaded_folders >= 1)
        tree = screen.query_one("#art-tree", Tree)
        tree.select_node(next(n for n in tree.root.children if n.data.name == "train.log"))
        await wait_until(lambda: screen.shown.startswith("step 0:"))  # the whole file fits
        await pilot.press("slash")
        box = screen.query_one("#art-find", Input)
        await wait_until(lambda: box.display and box.has_focus)
        box.value = "warning"
        await pilot.press("enter")
        await wait_until(lambda: screen.find_at == 120)
        assert "match 1 of 2" in _head(screen) and not box.display
        pane = screen.query_one("#art-preview")
        await wait_until(lambda: 100 < pane.scroll_y <= 120)
        await pilot.press("n")
        await wait_until(lambda: screen.find_at == 333)
        assert "match 2 of 2" in _head(screen)
        await wait_until(lambda: 310 < pane.scroll_y <= 333)
        await pilot.press("n")  # from the top again
        await wait_until(lambda: screen.find_at == 120)
        # A word that is not there: said, nothing moves.
        await pilot.press("slash")
        box.value = "no-such-word"
        await pilot.press("enter")
        await wait_until(lambda: "not in what is shown" in _head(screen))
        assert screen.find_at == -1
        await pilot.press("slash", "escape")
        await wait_until(lambda: not box.display)
        assert isinstance(app.screen, ArtifactsScreen), "escape closed the box, not the screen"
