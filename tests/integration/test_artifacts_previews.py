"""Previews of hostile and awkward files on a real `mlflow server --serve-artifacts`: file
contents carrying terminal escape sequences (drawn as visible symbols, whatever the file's
kind), CSV tables, Parquet, binary files, images too large to show."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from textual.widgets import Tree

from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from tests.conftest import running, wait_until
from tests.integration.test_artifacts_server import _open_artifacts

PREFIX = f"previews-{uuid.uuid4().hex[:6]}"  # unique on the session server

# What a hostile file may carry: colours (CSI ... m), a clipboard write (OSC 52), a hyperlink
# (OSC 8), 8-bit C1 controls (CSI, OSC, ST as U+009B, U+009D, U+009C), BEL, backspace, and
# a lone ESC c (full reset).
EVIL = ("plain \x1b[31mred\x1b[0m text\n"
        "osc52 \x1b]52;c;ZXZpbA==\x07 after\n"
        "osc8 \x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\ after\n"
        "c1 \u009b31m csi \u009d0;title\u009c st\n"
        "bell \x07 backspace \x08 reset \x1bc end\n")
HOSTILE = {
    "evil.yaml": "key: value\n" + EVIL,
    "evil.toml": "[table]\nkey = 1\n" + EVIL,
    "evil.py": "def f():\n    return 1\n" + EVIL,
    "bad.json": "{not json\n" + EVIL,
    # Valid JSON: pretty-printing decodes its strings, and json.dumps escapes C0 controls
    # again (\u001b) but writes C1 controls (U+009B: CSI) as they are.
    "good.json": json.dumps({"colour": "\x1b[31mred", "c1": "\u009b31m csi"}),
    "evil.txt": EVIL,
    "model/MLmodel": "flavors:\n  python_function: {}\n" + EVIL,
    "evil.csv": "name,value\n\x1b[31mred\x1b[0m,1\n\x1b]52;c;ZXZpbA==\x07,2\nc1\u009b31m,3\n",
}
# Control characters a terminal acts on (line breaks are the drawing's own, not the file's).
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def drawn(app) -> tuple[str, str]:
    """What Textual would write for the whole screen now: the characters of every cell (the
    text of the segments, which the driver writes as they are), and the bytes with the styles
    and cursor moves Textual adds."""
    update = app.screen._compositor.render_full_update()
    cells = "\n".join("".join(segment.text for strip in line for segment in strip)
                      for line in update.strips)
    return cells, update.render_segments(app.console)


@pytest.fixture(scope="module")
def previews(mlflow_server, tmp_path_factory):
    server = running(mlflow_server)
    root = tmp_path_factory.mktemp("previews")
    client = server.client()
    exp = client.create_experiment(f"{PREFIX}/hostile")
    rid = client.create_run(exp, run_name="hostile-files").info.run_id
    for name, body in HOSTILE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body.encode())
        client.log_artifact(rid, str(path), name.rsplit("/", 1)[0] if "/" in name else None)
    return {"server": server, "client": client, "experiment": exp, "run_id": rid,
            "root": root}


def _node(tree: Tree, *names: str):
    node = tree.root
    for name in names:
        node = next(n for n in node.children if n.data is not None and n.data.name == name)
    return node


async def test_escape_sequences_in_file_contents_never_reach_the_terminal(previews, tmp_path):
    """YAML, TOML, Python, MLmodel (highlighted), invalid and valid JSON, plain text and CSV
    cells: every escape sequence and control character is drawn as a visible symbol."""
    app = make_app(Settings(uri=previews["server"].url, experiments=[f"{PREFIX}/hostile"],
                            interval=0.5, export_dir=str(tmp_path)))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        model = _node(tree, "model")
        model.expand()
        await wait_until(lambda: len(model.children) == 1, timeout=20)
        for name in HOSTILE:
            node = _node(tree, *name.split("/"))
            tree.select_node(node)
            if name.endswith(".csv"):
                await wait_until(lambda: screen.query_one("#art-table").display
                                 and screen.shown == "name,value", timeout=20)
            else:
                marker = '"c1"' if name == "good.json" else "reset"
                await wait_until(lambda m=marker: m in screen.shown, timeout=20)
            await pilot.pause()
            cells, written = drawn(app)
            assert not CONTROL.search(cells), (name, CONTROL.findall(cells))
            # Textual's own output holds its colours and cursor moves (CSI), never an OSC, a
            # BEL or an 8-bit control.
            assert "\x1b]" not in written and "\x07" not in written, name
            assert not re.search("[\x80-\x9f]", written), name
            # The visible replacements, as names get them (safe_text).
            if name == "good.json":
                assert '"c1": "␛ csi"' in screen.shown
            elif not name.endswith(".csv"):
                assert "red␛ text" in screen.shown and "reset ␛ end" in screen.shown
            assert "␛" in cells, f"{name}: the escapes are shown as ␛"


# ---------------------------------------------------------------------- tables and odd files
CSV_ROWS = 500
PARQUET_ROWS = 200_000


@pytest.fixture(scope="module")
def tables(previews):
    """A run with a CSV longer than the table shows, a Parquet file of many row groups, a
    file named .parquet that is not one, a binary file and an image."""
    import numpy as np
    import pandas as pd
    from PIL import Image as PILImage

    root, client = previews["root"] / "tables", previews["client"]
    root.mkdir()
    exp = client.create_experiment(f"{PREFIX}/tables")
    rid = client.create_run(exp, run_name="tables").info.run_id
    (root / "metrics.csv").write_text("step,loss,note\n" + "".join(
        f"{i},{1 / (i + 1):.4f},n{i}\n" for i in range(CSV_ROWS)))
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"step": np.arange(PARQUET_ROWS),
                          "loss": rng.random(PARQUET_ROWS),
                          "label": [f"class-{i % 97}" for i in range(PARQUET_ROWS)]})
    frame.to_parquet(root / "preds.parquet", row_group_size=5_000)
    (root / "fake.parquet").write_bytes(b"PAR1" + b"not really" * 100)
    (root / "weights.bin").write_bytes(bytes(range(256)) * 64)
    PILImage.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        root / "noise.png")
    for name in ("metrics.csv", "preds.parquet", "fake.parquet", "weights.bin", "noise.png"):
        client.log_artifact(rid, str(root / name))
    return {"experiment": f"{PREFIX}/tables", "parquet_size":
            (root / "preds.parquet").stat().st_size}


async def _open_tables(previews, tables, tmp_path):
    app = make_app(Settings(uri=previews["server"].url, experiments=[tables["experiment"]],
                            interval=0.5, export_dir=str(tmp_path)))
    return app


def _head(screen) -> str:
    return str(screen.query_one("#art-head").render())


async def test_a_csv_shows_its_first_rows_and_how_many_there_are(previews, tables, tmp_path):
    from mlflow_tui.screens.artifacts_view import TABLE_ROWS
    from mlflow_tui.widgets import RunTable

    app = await _open_tables(previews, tables, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        tree.select_node(_node(tree, "metrics.csv"))
        table = screen.query_one("#art-table", RunTable)
        await wait_until(lambda: table.display and screen.shown == "step,loss,note", timeout=20)
        assert table.row_count == TABLE_ROWS < CSV_ROWS
        assert f"the first {TABLE_ROWS} of {CSV_ROWS} rows" in _head(screen)
        assert [str(c) for c in table.get_row_at(0)][:3] == ["0", "1.0000", "n0"]


async def test_a_parquet_file_shows_its_first_rows_reading_only_what_it_needs(
        previews, tables, tmp_path):
    from mlflow_tui.screens.artifacts_view import TABLE_ROWS
    from mlflow_tui.widgets import RunTable

    app = await _open_tables(previews, tables, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        before = app.source.bytes_in
        tree.select_node(_node(tree, "preds.parquet"))
        table = screen.query_one("#art-table", RunTable)
        await wait_until(lambda: table.display and screen.shown == "step,loss,label",
                         timeout=30)
        moved = app.source.bytes_in - before
        assert table.row_count == TABLE_ROWS
        assert [str(c) for c in table.get_row_at(1)][2] == "class-1"
        head = _head(screen)
        assert f"Parquet: the first {TABLE_ROWS} of {PARQUET_ROWS:,} rows (40 row groups)" \
            in head
        # The footer and the first of 40 row groups: a small part of the file.
        assert moved < tables["parquet_size"] / 5, (moved, tables["parquet_size"])
        # f (follow) and t (head/tail) mean nothing for a table of rows: nothing changes.
        for key in ("f", "t"):
            await pilot.press(key)
            await pilot.pause()
            assert not screen.following and not screen.tail, key
            assert table.display and screen.shown == "step,loss,label"
        # Not Parquet after all: said in one line.
        tree.select_node(_node(tree, "fake.parquet"))
        await wait_until(lambda: "not a readable Parquet file" in screen.shown, timeout=20)


async def test_without_pyarrow_a_parquet_file_names_what_to_install(previews, tables,
                                                                    tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow: ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    app = await _open_tables(previews, tables, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        tree.select_node(_node(tree, "preds.parquet"))
        await wait_until(lambda: "pip install pyarrow" in screen.shown, timeout=20)
        assert "\n" not in screen.shown


async def test_a_binary_file_and_an_image_too_large_say_so(previews, tables, tmp_path,
                                                           monkeypatch):
    from mlflow_tui.screens import artifacts_view

    monkeypatch.setattr(artifacts_view, "MAX_IMAGE", 1000)  # noise.png is ~12 KB
    app = await _open_tables(previews, tables, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        tree.select_node(_node(tree, "weights.bin"))
        await wait_until(lambda: "binary file" in screen.shown, timeout=20)
        assert screen.shown == "weights.bin: a binary file of 16.0 KB; s saves it."
        tree.select_node(_node(tree, "noise.png"))
        await wait_until(lambda: "too large to show" in screen.shown, timeout=20)
        assert "(over 1000 B); s saves it." in screen.shown
        assert not screen.query_one("#art-image").display


async def test_a_tail_from_a_server_that_ignores_ranges_is_capped_and_said(
        previews, tmp_path, monkeypatch):
    """Behind a proxy that drops the Range header the server sends whole files: the tail of
    a log (the default preview of a .log) must not download the whole file; the preview
    says why it stopped, and the head (t) still shows."""
    from mlflow_tui.tracking import transfer
    from tests.proxy import FaultProxy

    monkeypatch.setattr(transfer, "TAIL_LIMIT", 1 << 20)  # 1 MB, for a 3 MB log
    client = previews["client"]
    exp = client.create_experiment(f"{PREFIX}/no-ranges")
    rid = client.create_run(exp, run_name="big-log").info.run_id
    log = tmp_path / "train.log"
    log.write_text("".join(f"step {i:08d} loss 0.5\n" for i in range(120_000)))
    size = log.stat().st_size
    assert size > 2 << 20
    client.log_artifact(rid, str(log))
    with FaultProxy(previews["server"].url, drop_headers=("range",)) as proxy:
        app = make_app(Settings(uri=proxy.url, experiments=[f"{PREFIX}/no-ranges"],
                                interval=0.5, export_dir=str(tmp_path)))
        async with app.run_test(size=(160, 45)) as pilot:
            screen = await _open_artifacts(app, pilot)
            await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
            tree = screen.query_one("#art-tree", Tree)
            before = app.source.bytes_in
            tree.select_node(_node(tree, "train.log"))
            await wait_until(lambda: "not byte ranges" in screen.shown, timeout=20)
            assert "a tail reads at most 1 MB" in screen.shown and "t shows its head" in \
                screen.shown
            assert app.source.bytes_in - before < 1 << 20
            await pilot.press("t")
            await wait_until(lambda: screen.shown.startswith("step 00000000 loss"), timeout=20)


# ---------------------------------------------------------------------- copy (OSC 52)
def _osc52(text: str) -> str:
    import base64

    return f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\a"


async def test_y_and_shift_y_write_the_run_id_and_its_web_address_as_osc_52(
        previews, tmp_path, monkeypatch):
    app = make_app(Settings(uri=previews["server"].url, experiments=[f"{PREFIX}/hostile"],
                            interval=0.5, export_dir=str(tmp_path)))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        written: list[str] = []
        monkeypatch.setattr(app._driver, "write", written.append)  # what reaches the terminal
        await pilot.press("y")
        await wait_until(lambda: _osc52(previews["run_id"]) in written)
        url = (f"{previews['server'].url}/#/experiments/{previews['experiment']}/runs/"
               f"{previews['run_id']}")
        await pilot.press("Y")
        await wait_until(lambda: _osc52(url) in written)
        assert screen.copied == url


async def test_a_local_stores_artifacts_through_the_screen(tmp_path, monkeypatch):
    """A sqlite store with a local artifact root, opened as the CLI opens it: the artifacts
    screen lists, previews, copies the run id (OSC 52) and says there is no web address."""
    import os
    import subprocess
    import sys

    from tests.integration.test_artifacts_server import SEED_LOCAL

    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", HOME=str(tmp_path))
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([sys.executable, "-c", SEED_LOCAL], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    rid = done.stdout.split()[-1]
    app = make_app(Settings(uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
                            experiments=["local/artifacts"], interval=0.5,
                            export_dir=str(tmp_path)))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open_artifacts(app, pilot)
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=30)
        tree = screen.query_one("#art-tree", Tree)
        logs = _node(tree, "logs")
        logs.expand()
        await wait_until(lambda: len(logs.children) == 1, timeout=20)
        tree.select_node(_node(tree, "logs", "out.txt"))
        await wait_until(lambda: screen.shown == "hello\n" * 1000, timeout=20)
        written: list[str] = []
        monkeypatch.setattr(app._driver, "write", written.append)
        await pilot.press("y")
        await wait_until(lambda: _osc52(rid) in written)
        await pilot.press("Y")
        await wait_until(lambda: any("No web UI for a local store" in str(n.message)
                                     for n in app._notifications))
        assert not any("]52;" in w for w in written[1:])
