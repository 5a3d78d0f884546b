"""RestSource's big listings: the runs/search answer decoded in pieces (the event loop runs
between them) and unchanged runs keeping their Run object. Both must give exactly what a plain
json.loads + parse_run gives."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

import mlflow_tui.tracking.jsonstream as jsonstream
import mlflow_tui.tracking.rest as rest
from mlflow_tui.tracking.rest import RestSource, loads_yielding, parse_run

URL = "http://tracking.example:5000"


def raw_run(i: int, *, loss: float = 0.25, status: str = "FINISHED") -> dict[str, object]:
    """A run record as MLflow's runs/search writes it."""
    rid = f"{i:032x}"
    return {
        "info": {"run_uuid": rid, "experiment_id": "1", "run_name": f"run-{i:05d}",
                 "user_id": "me", "status": status, "start_time": 1_700_000_000_000 + i,
                 "end_time": 1_700_000_600_000 + i, "artifact_uri": f"/a/1/{rid}/artifacts",
                 "lifecycle_stage": "active", "run_id": rid},
        "data": {"metrics": [{"key": "train_loss", "value": loss, "timestamp": 17, "step": 99},
                             {"key": "val_loss", "value": "Infinity", "timestamp": 17, "step": 99}],
                 "params": [{"key": "lr", "value": "0.01"}],
                 "tags": [{"key": "mlflow.runName", "value": f"run-{i:05d}"},
                          {"key": "note", "value": "ünï \"quoted\" \\ [bracket] {brace},"}]},
        "inputs": {}, "outputs": {},
    }


def page(n: int, **kw: object) -> dict[str, object]:
    return {"runs": [raw_run(i, **kw) for i in range(n)], "next_page_token": None}


# ---------------------------------------------------------------------- decoding in pieces
@pytest.mark.parametrize("doc", [
    page(600),
    {"runs": []},
    {},
    {"next_page_token": "x", "runs": [raw_run(1)], "extra": [1, [2, {"runs": [3]}]]},
    {"runs": [1, "two", None, True, [], {}, [[]], -0.5e-3]},
    {"runs": {"not": "an array"}},
    {"runs": [1], "runs ": 2},
])
@pytest.mark.parametrize("indent", [None, 2, "\t"])
async def test_loads_yielding_equals_json_loads(doc, indent):
    text = json.dumps(doc, indent=indent, ensure_ascii=False).encode()
    assert await loads_yielding(text, "runs") == json.loads(text)


@pytest.mark.parametrize("text", [
    b'{"runs": [1, 2], "runs": [3]}',  # duplicate keys: the last wins, as json.loads
    b'  {"runs" :[ 1 ,2 ] , "a" : NaN }  \n',
    b'\xef\xbb\xbf{"runs": [1]}',  # a BOM
    b'[{"runs": [1]}]',  # not an object
    b'"runs"',
])
async def test_loads_yielding_odd_documents_as_json_loads(text):
    assert await loads_yielding(text, "runs") == json.loads(text)


@pytest.mark.parametrize("text", [
    b'{"runs": [1, 2,]}', b'{"runs": [1 2]}', b'{"runs": [1], }', b'{"runs": [1]} x',
    b'{"runs": [1]', b'{"runs" [1]}', b"{1: [1]}", b"", b"<html>",
])
async def test_loads_yielding_rejects_what_json_loads_rejects(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        await loads_yielding(text, "runs")


@pytest.mark.parametrize("indent", [None, 2])
async def test_loads_yielding_with_text_gives_each_element_with_its_own_json(indent):
    doc = {"next_page_token": "t", "runs": [raw_run(i) for i in range(5)] + [[], "x", 1.5]}
    text = json.dumps(doc, indent=indent).encode()
    got = await loads_yielding(text, "runs", with_text=True)
    assert got["next_page_token"] == "t"
    assert [value for _, value in got["runs"]] == doc["runs"]
    assert all(json.loads(raw) == value for raw, value in got["runs"])
    # Not decoded piece by piece (a BOM, here): the same values, without their text.
    fallback = await loads_yielding(b"\xef\xbb\xbf" + text, "runs", with_text=True)
    assert fallback["runs"] == [(None, value) for value in doc["runs"]]


async def test_loads_yielding_lets_the_event_loop_run_while_decoding():
    text = json.dumps(page(2000), indent=2).encode()
    assert len(text) > 10 * jsonstream.YIELD_CHARS
    turns = 0
    done = False

    async def other() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    await asyncio.sleep(0)
    before = turns
    got = await loads_yielding(text, "runs")
    during = turns - before
    done = True
    await task
    assert len(got["runs"]) == 2000
    assert during >= len(text) // jsonstream.YIELD_CHARS - 1


# ---------------------------------------------------------------------- search_runs
class Server:
    """Answers runs/search with `self.answer`, pretty-printed as MLflow does."""

    def __init__(self, answer: dict[str, object]) -> None:
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(self.answer, indent=2).encode(),
                              headers={"content-type": "application/json"})


def make(server: Server) -> RestSource:
    return RestSource(URL, environ={}, transport=httpx.MockTransport(server))


async def test_search_runs_of_a_large_page_equals_a_plain_parse():
    server = Server(page(700))
    source = make(server)
    try:
        got = await source.search_runs(["1"])
    finally:
        await source.aclose()
    fresh = [parse_run(r) for r in json.loads(json.dumps(server.answer))["runs"]]
    assert len(json.dumps(server.answer, indent=2)) > 5 * jsonstream.YIELD_CHARS
    assert got == fresh


async def test_unchanged_runs_keep_their_run_object_and_changed_ones_are_parsed_again():
    server = Server(page(300))
    source = make(server)
    try:
        first = await source.search_runs(["1"])
        second = await source.search_runs(["1"])
        assert all(a is b for a, b in zip(first, second, strict=True))
        changed = page(300)
        changed["runs"][5] = raw_run(5, loss=0.125)  # type: ignore[index]
        changed["runs"][7] = raw_run(7, status="RUNNING")  # type: ignore[index]
        server.answer = changed
        third = await source.search_runs(["1"])
    finally:
        await source.aclose()
    fresh = [parse_run(r) for r in json.loads(json.dumps(changed))["runs"]]
    assert third == fresh  # the reuse never shows anything a fresh parse would not
    assert third[5].metrics["train_loss"].value == 0.125
    assert third[7].status.value == "RUNNING"
    assert third[5] is not second[5] and third[7] is not second[7]
    assert all(third[i] is second[i] for i in range(300) if i not in (5, 7))


async def test_the_run_memo_is_bounded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(rest, "RUN_MEMO", 50)
    server = Server(page(120))
    source = make(server)
    try:
        await source.search_runs(["1"])
        assert len(source._memo) == 50
        # The most recently seen are kept: the last 50 of the listing.
        assert set(source._memo) == {f"{i:032x}" for i in range(70, 120)}
        again = await source.search_runs(["1"])
    finally:
        await source.aclose()
    assert again == [parse_run(r) for r in page(120)["runs"]]  # type: ignore[union-attr]


async def test_a_record_without_run_id_is_parsed_every_time():
    server = Server({"runs": [{"info": {"run_name": "x"}, "data": {}}]})
    source = make(server)
    try:
        got = await source.search_runs(["1"])
    finally:
        await source.aclose()
    assert got[0].name == "x"
    assert source._memo == {}


async def test_a_run_with_a_nan_metric_keeps_its_run_object():
    # NaN != NaN: a Run holding one never equals a fresh parse of itself, but MLflow writes
    # NaN as the string "NaN", so the raw records compare equal and the Run is kept.
    nan_page = page(3)
    nan_page["runs"][1]["data"]["metrics"][1]["value"] = "NaN"  # type: ignore[index]
    source = make(Server(nan_page))
    try:
        first = await source.search_runs(["1"])
        second = await source.search_runs(["1"])
    finally:
        await source.aclose()
    assert first[1].metrics["val_loss"].value != first[1].metrics["val_loss"].value
    assert all(a is b for a, b in zip(first, second, strict=True))
