"""How the artifacts screen shows things that are not files: a table's cells, a logged model
in the tree and in full."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from mlflow_tui.text import format as fmt
from mlflow_tui.tracking.artifacts import LoggedModel
from mlflow_tui.widgets import plain, safe_text


def table_cells(frame: Any) -> tuple[list[tuple[str, str]], list[tuple[str, list[Any]]]]:
    """A pandas frame as RunTable columns and rows (numbers formatted, text plain)."""
    columns = [(f"c{i}", plain(str(c), 40).plain) for i, c in enumerate(frame.columns)]
    rows = [(str(i), [fmt.number(v) if isinstance(v, float) else plain(v, 40) for v in record])
            for i, record in enumerate(frame.itertuples(index=False))]
    return columns, rows


def model_label(model: LoggedModel) -> Text:
    """A logged model in the tree: name, status, its first metrics and the step logged at."""
    text = plain(model.name or model.model_id, 40)
    shown = ", ".join(f"{k} {fmt.number(v)}" for k, v, _ in model.metrics[:2])
    step = model.step
    # Status and metric keys are the server's text too: made safe like the name.
    text.append(safe_text(f"  {model.status.lower()}" + (f" · {shown}" if shown else "") +
                          (f" @{step}" if step is not None else ""), 200), style="dim")
    return text


def model_text(model: LoggedModel, run_id: str) -> str:
    """Everything about a logged model, one fact a line."""
    lines = [f"logged model  {model.name}", f"id            {model.model_id}",
             f"status        {model.status.lower()}", f"source run    {run_id}"]
    if model.step is not None:
        lines.append(f"logged at     step {model.step}")
    lines += [f"metric        {k} = {fmt.number(v)} @{step}" for k, v, step in model.metrics]
    lines += [f"param         {k} = {v}" for k, v in model.params]
    lines.append(f"files         {model.artifact_uri}")
    return "\n".join(lines)
