"""The run details (`i`): every value beside its key at the widths users have, 80 columns too."""

from __future__ import annotations

from rich.console import Console

from mlflow_tui.analysis.judge import Judgement
from mlflow_tui.analysis.pairing import MetricPair
from mlflow_tui.screens.details import KEY_CELLS, details_table
from mlflow_tui.tracking.models import Point, Run, RunStatus

RUN_ID = "4444372721c74a1ab9c5f4844c7548eb"


def _run(tags: dict[str, str] | None = None) -> Run:
    return Run(run_id=RUN_ID, experiment_id="1", name="resnet18-cosine",
               status=RunStatus.RUNNING, start_time=1_000, end_time=None,
               metrics={"train_loss": Point(3, 0.5), "val_loss": Point(3, 0.7)},
               params={"lr": "0.1"}, tags=tags or {"mlflow.source.name": "train.py"})


def _lines(run: Run, width: int, judgement: Judgement | None = None) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(details_table(run, "demo/vision", 10_000, judgement))
    return console.export_text().splitlines()


def _two_pairs() -> Judgement:
    pairs = (MetricPair("train_loss", "val_loss", False, why="names: train / val"),
             MetricPair("train_acc", "val_acc", True, why="names: train / val"))
    return Judgement(pairs=pairs, warnings=(), best={"val_loss": Point(2, 0.6)})


def test_values_sit_beside_their_keys_at_80_columns():
    # The dialog is 95% of 80 columns less its border and padding: about 72 cells. A section
    # title as long as the judged pairs' one used to widen the key column to its own width and
    # leave the values no room at all.
    for width in (72, 98):
        lines = _lines(_run(), width, _two_pairs())
        by_key = {line.split()[0] + (" " + line.split()[1] if line.startswith("run id") else ""):
                  line for line in lines if line.strip()}
        assert RUN_ID in by_key["run id"], lines
        assert "resnet18-cosine" in by_key["name"], lines
        assert any(line.startswith("lr") and "0.1" in line for line in lines), lines
        assert any(line.startswith("pair") and "val_loss vs train_loss" in line
                   for line in lines), lines
        # The long title still shows whole, folded on its own lines.
        assert "Judged pairs (2)" in "\n".join(lines)
        assert "fills the table's" in "\n".join(lines)


def test_one_key_column_width_in_every_section():
    lines = _lines(_run(), 100)
    starts = {line.index("0.1") for line in lines if line.startswith("lr ")}
    starts |= {line.index(RUN_ID) for line in lines if line.startswith("run id")}
    starts |= {line.index("train.py") for line in lines if line.startswith("mlflow.source")}
    assert len(starts) == 1, lines


def test_a_very_long_key_is_cut_not_the_values():
    run = _run(tags={"k" * 200: "v"})
    lines = _lines(run, 80)
    row = next(line for line in lines if line.startswith("kkk"))
    assert row.rstrip().endswith("v"), row
    assert row.index(" ") <= KEY_CELLS, row


def test_a_quiet_pair_says_why_it_has_no_warning():
    """The details screen tells why a pair is not warned, in the detector's own terms: here a
    real run's validation at 9% above its best, under the 10% a warning needs (the bump of
    tests/data/curves/f0261.json at epoch 29)."""
    import json
    from pathlib import Path

    from mlflow_tui.analysis.judge import judge

    data = json.loads((Path(__file__).parent.parent / "data" / "curves" / "f0261.json")
                      .read_text())
    val = [Point(int(s), v) for s, v in data["val"][:29]]
    train = [Point(int(s), v) for s, v in data["train"] if s <= val[-1].step]
    run = Run(run_id=RUN_ID, experiment_id="1", name="mlp-friedman",
              status=RunStatus.RUNNING, start_time=1_000, end_time=None,
              metrics={"train_loss": train[-1], "val_loss": val[-1]}, params={}, tags={})
    series = {"train_loss": train, "val_loss": val}
    judgement = judge(run, lambda key: series[key[1]], 10_000)
    text = " ".join(" ".join(_lines(run, 140, judgement)).split())
    assert "no overfitting: validation is 9% worse than its best; a warning needs 10%" in text
    # Series not read yet: nothing to explain.
    bare = Judgement(pairs=judgement.pairs, warnings=(), best={})
    assert "no overfitting found" in " ".join(_lines(run, 140, bare))
