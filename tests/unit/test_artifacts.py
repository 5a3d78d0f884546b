

# The names MLflow 3's MlflowClient.log_image(key=, step=) writes (mlflow/tracking/client.py:
# "images/{key with / as ~}+step+{step}+timestamp+{ms}+{uuid}.png" and "+compressed.webp";
# 3.0-3.x before mlflow#21085: "%" separators).
def test_logged_images_grouped_by_key_in_step_order():
    from mlflow_tui.tracking.artifacts import Artifact, image_steps

    uuid = "0b5c6f2e-8a1d-4c3e-9f7a-1234567890ab"
    names = [
        f"samples~pred+step+10+timestamp+1700000000100+{uuid}.png",
        f"samples~pred+step+10+timestamp+1700000000100+{uuid}+compressed.webp",
        f"samples~pred+step+2+timestamp+1700000000000+{uuid}.png",
        f"samples~pred+step+2+timestamp+1700000000000+{uuid}+compressed.webp",
        f"confusion%step%5%timestamp%1700000000050%{uuid}%compressed.webp",  # only a copy
        "notes.txt",
    ]
    entries = [Artifact(f"images/{n}", False, 100) for n in names] + [
        Artifact("images/sub", True)]
    groups, rest = image_steps(entries)
    assert [g.key for g in groups] == ["confusion", "samples/pred"]
    confusion, pred = groups
    assert [s for s, _ in pred.steps] == [2, 10]
    assert all(a.path.endswith(".png") for _, a in pred.steps), "the full-resolution file"
    assert [a.path.endswith(".webp") for _, a in confusion.steps] == [True]
    assert [a.path for a in rest] == ["images/notes.txt", "images/sub"]
    assert pred.index_of(pred.steps[1][1].path) == 1 and pred.index_of("nope") is None


# A logged-models/search answer recorded from a real MLflow 3.17.2 server (create_logged_model,
# then a metric logged with model_id, then finalize_logged_model(READY)).
RECORDED_SEARCH = {"models": [{
    "info": {"model_id": "m-313706523bd8413d9b79d8921b33ffb5", "experiment_id": "1",
             "name": "classifier", "creation_timestamp_ms": 1796354040908,
             "last_updated_timestamp_ms": 1796354040953,
             "artifact_uri": "/tmp/artifacts/1/models/m-313706523bd8413d9b79d8921b33ffb5"
                             "/artifacts",
             "status": "LOGGED_MODEL_READY", "model_type": "",
             "source_run_id": "befe77ab89c248d3bf4a7dfd6b26edd8"},
    "data": {"metrics": [{"key": "accuracy", "value": 0.91, "timestamp": 1700000000000,
                          "step": 5, "model_id": "m-313706523bd8413d9b79d8921b33ffb5",
                          "run_id": "befe77ab89c248d3bf4a7dfd6b26edd8"}]}}]}


def test_a_logged_model_from_the_search_answer():
    from mlflow_tui.screens.artifacts import model_label, model_text
    from mlflow_tui.tracking.artifacts import logged_model

    model = logged_model(RECORDED_SEARCH["models"][0])
    assert (model.model_id, model.name, model.status) == (
        "m-313706523bd8413d9b79d8921b33ffb5", "classifier", "READY")
    assert model.metrics == (("accuracy", 0.91, 5),) and model.step == 5
    assert model.created_ms == 1796354040908 and model.params == ()
    assert str(model_label(model)) == "classifier  ready · accuracy 0.9100 @5"
    assert "metric        accuracy = 0.9100 @5" in model_text(model, "r1")
    # Missing or odd fields: no crash, what is known is kept.
    odd = logged_model({"info": {"model_id": "m-1", "status": "LOGGED_MODEL_PENDING"},
                        "data": {"metrics": [{"key": "x"}, {"key": "y", "value": "nan"}]}})
    assert odd.status == "PENDING" and [k for k, _, _ in odd.metrics] == ["y"]
    assert odd.step == 0 and odd.created_ms is None


def test_a_parquet_head_reads_by_ranges_and_stops_at_its_limit(tmp_path):
    """RangeFile (tracking/parquet.py): pyarrow reads the footer and the first row group
    through it; past its limit it refuses (TooMuch) instead of reading the whole file."""
    import pandas as pd
    import pytest

    from mlflow_tui.tracking.parquet import RangeFile, TooMuch, _head

    path = tmp_path / "t.parquet"
    pd.DataFrame({"x": range(100_000), "y": [f"v{i}" for i in range(100_000)]}).to_parquet(
        path, row_group_size=10_000)
    data = path.read_bytes()
    asked: list[tuple[int, int]] = []

    def fetch(start: int, length: int) -> bytes:
        asked.append((start, length))
        return data[start:start + length]

    head = _head(RangeFile(fetch, len(data)), 5)
    assert list(head.frame["x"]) == [0, 1, 2, 3, 4] and head.rows == 100_000
    assert head.row_groups == 10 and head.moved < len(data) / 3
    with pytest.raises(TooMuch):
        _head(RangeFile(fetch, len(data), limit=len(data) // 20), 5)


def test_a_parquet_head_passes_the_stores_errors_on(tmp_path):
    """A read that fails (a lost connection) is said as such, not as a broken file."""
    import io

    import pandas as pd
    import pytest

    from mlflow_tui.tracking.errors import ConnectionFailed
    from mlflow_tui.tracking.parquet import RangeFile, _head

    buffer = io.BytesIO()
    pd.DataFrame({"x": range(300_000)}).to_parquet(buffer, row_group_size=50_000)
    data = buffer.getvalue()
    calls = []

    def fetch(start: int, length: int) -> bytes:
        calls.append(start)
        if len(calls) > 1:
            raise ConnectionFailed("the server went away")
        return data[start:start + length]

    with pytest.raises(ConnectionFailed):
        _head(RangeFile(fetch, len(data)), 5)


def test_a_logged_models_label_shows_escapes_in_its_status_and_metrics_visibly():
    from mlflow_tui.screens.artifact_cells import model_label
    from mlflow_tui.tracking.artifacts import LoggedModel

    model = LoggedModel("m-1", "clf\x1b[2J", "READY\x1b]52;c;eA==\x07", "",
                        metrics=(("acc\x1b[31m", 0.5, 3),))
    label = model_label(model).plain
    assert "\x1b" not in label and "\x07" not in label
    assert label == "clf␛  ready␛ · acc␛ 0.5000 @3"
