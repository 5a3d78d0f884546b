"""Hostile text from a real server, checked on the screen: run and experiment names, params,
tags and metric keys with Rich markup, ANSI escapes, control characters, 10,000-character
values, right-to-left text and emoji are shown literally, trigger nothing, and put no control
character on the terminal.

MLflow refuses markup and escapes in metric, param and tag *keys* when they are logged, but a
store written by another version, another backend or a hostile server can hold them: those rows
go straight into the server's own database, which the server then serves as it is."""

from __future__ import annotations

import sqlite3
import time
import uuid

from mlflow.entities import Metric, Param, RunTag

from mlflow_tui.app import make_app
from mlflow_tui.screens.compare import CompareScreen
from mlflow_tui.screens.details import RunDetailsScreen
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import MetricChart, RunTable
from tests.conftest import screen_text, wait_rows, wait_until

CLICK = "[@click=app.quit]boom[/]"
LINK = "[link=https://evil.example]home[/link]"
ANSI = "\x1b[2J\x1b[31mred\x1b]0;pwned\x07"
CONTROL = "bell\x07back\x08nul\x00end"
RTL = "\u202eevil\u202c שלום مرحبا"
EMOJI = "🔥 loss 🚀"
LONG = "L" * 10_000
HOSTILE_KEY = "[@click=app.quit]loss"
ESC_KEY = "val\x1b[31m_loss"


def _bad_terminal_bytes(text: str) -> list[str]:
    return sorted({repr(c) for c in text if c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0)})


def _seed(server) -> tuple[str, str]:
    client = server.client()
    name = f"hostile {uuid.uuid4().hex[:6]} [bold red]exp\x1b[31m"
    exp = client.create_experiment(name)
    rid = client.create_run(exp, run_name=f"{CLICK}{ANSI}").info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        rid,
        metrics=[Metric(k, 1.0 / (s + 1), now + s, s) for s in range(20)
                 for k in ("train_loss", "val_loss")],
        params=[Param("markup", LINK), Param("ansi", ANSI), Param("emoji", EMOJI)],
        tags=[RunTag("note", CLICK + LONG), RunTag("rtl", RTL), RunTag("control", CONTROL)],
    )
    other = client.create_run(exp, run_name="plain neighbour").info.run_id
    client.log_batch(other, metrics=[Metric("val_loss", 1.0, now, 0)],
                     params=[Param("markup", "none")])
    client.set_terminated(other, "FINISHED")
    db = sqlite3.connect(server.root / "mlflow.db")
    with db:
        for key in (HOSTILE_KEY, ESC_KEY):
            db.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                [(key, 0.5 + s / 10, now + s, rid, s) for s in range(5)])
            db.execute("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, "
                       "run_uuid) VALUES (?, ?, ?, ?, 0, ?)", (key, 0.9, now + 4, 4, rid))
        db.execute("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                   ("[red]key\x1b[0m", "v", rid))
        db.execute("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                   ("[b]tag\x07", "x", rid))
    db.close()
    return name, rid


async def test_hostile_text_is_literal_everywhere_on_screen(live_server):
    name, rid = _seed(live_server)
    app = make_app(Settings(uri=live_server.url, experiments=[name], interval=0.5))
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_rows(app, 2, timeout=20)
        # The name, literally, escapes visible (once the rows are painted, not only listed).
        await wait_until(lambda: "[@click=app.quit]boom[/]␛" in screen_text(app), timeout=20)
        text = screen_text(app)
        assert text.count("[bold red]exp␛") >= 2  # in the tree and in the table's title
        assert _bad_terminal_bytes(text) == []
        # Clicking the name, or pressing enter on it, runs no action hidden in it.
        table = app.monitor.query_one(RunTable)
        await pilot.click(RunTable, offset=(30, 1))
        await pilot.click(RunTable, offset=(30, 1))
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running

        # Details: params, tags and metric keys, literally; the 10,000 characters cut.
        table.focus()
        table.move_cursor(row=table.get_row_index(rid))
        await wait_until(lambda: app.session.highlighted == rid)
        await pilot.press("i")
        await wait_until(lambda: isinstance(app.screen, RunDetailsScreen))
        await pilot.pause()
        text = screen_text(app)
        assert _bad_terminal_bytes(text) == []
        for shown in ("[link=https://evil.example]home[/link]", "␛red␛", EMOJI,
                      "[@click=app.quit]boom[/]L", "bell␇back␈nul␀end", "evil",
                      "שלום", "[@click=app.quit]loss", "val␛_loss", "[red]key␛",
                      "[b]tag␇"):
            assert shown in text, shown
        assert "\u202e" not in text  # the right-to-left override is removed
        assert "…" in text and LONG not in text
        await pilot.click("#details", offset=(10, 3))
        await pilot.press("escape")
        await wait_until(lambda: not isinstance(app.screen, RunDetailsScreen))

        # The chart of the hostile metric keys: titles and legends literal.
        chart = app.monitor.query_one(MetricChart)
        for _ in range(6):
            if any("[@click" in label for label in chart.series_labels):
                break
            await pilot.press("m")
            await pilot.pause()
        assert any("[@click=app.quit]loss" in label for label in chart.series_labels)
        await pilot.pause()
        assert _bad_terminal_bytes(screen_text(app)) == []

        # Compare: params table and legend.
        table.focus()
        await pilot.press("g", "space", "j", "space")
        await wait_until(lambda: rid in app.session.marked and len(app.session.marked) == 2,
                         message="both runs marked")
        await pilot.press("c")
        await wait_until(lambda: isinstance(app.screen, CompareScreen))
        await wait_until(
            lambda: app.session.compare.frame is not None and len(app.session.compare.frame) == 2,
            timeout=15,
        )
        # The legend, once the curves are in (they load after the table).
        await wait_until(
            lambda: "[@click=app.quit]boom[/]␛␛red␛ · val" in screen_text(app),
            timeout=30,
            message="the legend",
        )
        text = screen_text(app)
        # The params are columns further right: their cells hold the text literally.
        ctable = app.screen.query_one("#compare-table", RunTable)
        column = next(c for c in app.session.compare.frame.columns if "markup" in str(c))
        cell = ctable.get_cell(rid, str(column))
        assert cell.plain == "[link=https://evil.example]home[/link]" and not cell.spans
        cell = ctable.get_cell(
            rid, next(str(c) for c in app.session.compare.frame.columns if "ansi" in str(c))
        )
        assert cell.plain == "␛␛red␛"
        assert _bad_terminal_bytes(text) == []
        await pilot.press("escape")
        await pilot.press("q")
        await wait_until(lambda: not app.is_running)
    assert app.return_code in (0, None)
