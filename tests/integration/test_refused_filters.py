"""A server whose search refuses run-attribute filters, as Azure ML documents ("Expressions
containing attributes.status ... are not supported"; filtering by run fields such as
start_time and LIKE/ILIKE are not in its support matrix): a reverse proxy in front of the
session's real MLflow server answers such searches with a 400, everything else goes through.

The app's own filters use exactly those clauses (active runs, runs newer than a start time,
the plain-text name search); against this server they must give the same runs as against the
real server directly, with a note in the header, never an error."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

import pytest
from mlflow.entities import Metric

from mlflow_tui.analysis.filtering import name_search
from mlflow_tui.cli import main
from mlflow_tui.tracking.models import RunStatus
from mlflow_tui.tracking.poller import ACTIVE, Poller
from mlflow_tui.tracking.rest import RestSource
from tests.conftest import running, screen_text, wait_until
from tests.netservers import ReverseProxy

pytestmark = pytest.mark.server

# What Azure ML's support matrix leaves out: attributes.status, run fields, LIKE/ILIKE.
AZURE_REFUSES = re.compile(r"(?i)\bstatus\b|start_time|end_time|\bi?like\b")


def _log(client, rid: str, steps: range) -> None:
    now = int(time.time() * 1000)
    client.log_batch(rid, metrics=[Metric(k, v / (s + 1), now + s, s) for s in steps
                                   for k, v in (("train_loss", 1.0), ("val_loss", 1.2))])


@pytest.fixture(scope="module")
def azure_like(mlflow_server):
    running(mlflow_server)  # restarted if an earlier module stopped it
    client = mlflow_server.client()
    name = f"refused/{uuid.uuid4().hex[:6]}"
    exp = client.create_experiment(name)
    ids = {}
    for run, status in (("alpha-done", "FINISHED"), ("beta-failed", "FAILED"),
                        ("gamma-live", None), ("delta-live", None)):
        rid = client.create_run(exp, run_name=run).info.run_id
        _log(client, rid, range(5))
        if status:
            client.set_terminated(rid, status)
        ids[run] = rid
    with ReverseProxy(mlflow_server.url, refuse_filter=AZURE_REFUSES) as rp:
        yield {"url": rp.url, "direct": mlflow_server.url, "client": client, "exp": exp,
               "name": name, "ids": ids, "proxy": rp}


async def _search(url: str, exp: str, flt: str) -> list[str]:
    source = RestSource(url)
    try:
        return sorted(r.run_id for r in await source.search_runs([exp], filter_string=flt))
    finally:
        await source.aclose()


@pytest.mark.parametrize("flt", [
    ACTIVE,
    "attributes.status = 'FAILED'",
    "attributes.start_time > 0 and attributes.status != 'FINISHED'",
    name_search("LIVE"),
    name_search("a live"),
    "attributes.run_name = 'alpha-done'",
])
async def test_refused_attribute_filters_give_the_servers_answer(azure_like, flt):
    want = await _search(azure_like["direct"], azure_like["exp"], flt)
    assert want, "the filter selects something on the real server"
    azure_like["proxy"].clear()
    source = RestSource(azure_like["url"])
    try:
        got = sorted(r.run_id for r in await source.search_runs([azure_like["exp"]],
                                                                filter_string=flt))
        assert got == want
        refused = AZURE_REFUSES.search(flt) is not None
        if not refused:  # run_name = '...': the server answers it, nothing to learn
            assert {s.status for s in azure_like["proxy"].seen()} == {200}
            assert (await source.capabilities()).attribute_filters is True
            return
        assert 400 in {s.status for s in azure_like["proxy"].seen()}  # it was refused
        # Learnt once: the next search does not ask the refused filter again.
        azure_like["proxy"].clear()
        again = sorted(r.run_id for r in await source.search_runs([azure_like["exp"]],
                                                                  filter_string=flt))
        assert again == want
        assert {s.status for s in azure_like["proxy"].seen()} == {200}
        caps = await source.capabilities()
        assert caps.attribute_filters is False and "filters those runs itself" in caps.note
    finally:
        await source.aclose()


async def test_a_refused_filter_that_is_not_an_attribute_is_the_servers_error(azure_like):
    """A clause the client cannot evaluate stays with the server; its 400 is shown."""
    from mlflow_tui.tracking.errors import BadRequest

    source = RestSource(azure_like["url"])
    try:
        with pytest.raises(BadRequest, match="not supported"):
            await source.search_runs([azure_like["exp"]],
                                     filter_string="tags.status = 'x'")
    finally:
        await source.aclose()


async def test_poller_sees_new_and_finished_runs(azure_like):
    """Every kind of tick (full listing, active listing, runs newer than a start time)
    through the refusing server: a new run appears, a finished one is seen finished."""
    client, exp = azure_like["client"], azure_like["exp"]
    source = RestSource(azure_like["url"])
    poller = Poller(source, full_every=3600, active_every=0)
    try:
        await poller.tick([exp])
        assert {r.name for r in poller.runs.values()} >= set(azure_like["ids"])
        new = client.create_run(exp, run_name="epsilon-new").info.run_id
        _log(client, new, range(3))
        await poller.tick([exp])
        assert new in poller.runs
        client.set_terminated(azure_like["ids"]["gamma-live"], "KILLED")
        await poller.tick([exp])
        assert poller.runs[azure_like["ids"]["gamma-live"]].status is RunStatus.KILLED
        assert poller.capabilities.attribute_filters is False
    finally:
        client.set_terminated(new, "FINISHED")
        await source.aclose()


def test_status_lists_every_run(azure_like, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    code = main(["status", azure_like["url"], "-e", azure_like["name"], "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    names = {row["run"] for row in json.loads(out)}
    assert names >= set(azure_like["ids"])


async def test_app_shows_the_note_and_live_points(azure_like):
    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings
    from mlflow_tui.widgets import RunTable

    rid = azure_like["ids"]["delta-live"]
    app = make_app(Settings(uri=azure_like["url"], experiments=[azure_like["name"]],
                            interval=0.5))
    async with app.run_test(size=(160, 40)):
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: table.row_count >= 4, timeout=30, message="the runs")
        await wait_until(lambda: "runs filtered here" in screen_text(app), timeout=30,
                         message="the header note")
        await wait_until(lambda: len(app.session.poller.points((rid, "val_loss"))) == 5, timeout=30,
                         message="the live run's points")
        await asyncio.to_thread(_log, azure_like["client"], rid, range(5, 9))
        await wait_until(lambda: app.session.poller.points((rid, "val_loss"))[-1].step == 8,
                         timeout=30, message="new points of the live run")
        assert app.session.state == "live", app.session.state_detail
