"""The run filter (/): MLflow search syntax goes to the server, plain text matches names here."""

from __future__ import annotations

import re

from mlflow_tui.tracking.models import Run

# An MLflow search expression names an entity (metrics.x, params.x, tags.x, attributes.x, or a
# bare attribute) and compares it: `metrics.val_loss < 0.5 and params.lr = '0.01'`.
_ENTITY = r"(?:metrics?|params?|tags?|attributes?|attr|run|dataset|datasets)\.[\w.`\"/-]+"
_ATTRIBUTE = r"(?:run_name|run_id|status|start_time|end_time|user_id|artifact_uri)"
_OPERATOR = r"(?:=|!=|<=|>=|<|>|\s+(?:not\s+)?(?:i?like|in)\b|\s+is\b)"
_SEARCH = re.compile(rf"(?:{_ENTITY}|`[^`]+`|\b{_ATTRIBUTE})\s*{_OPERATOR}", re.IGNORECASE)


def is_search_expression(text: str) -> bool:
    return bool(_SEARCH.search(text))


def name_matches(run: Run, text: str) -> bool:
    """Plain-text filter: every word appears in the run name (or starts its id)."""
    words = text.casefold().split()
    name = run.name.casefold()
    return all(w in name or run.run_id.startswith(w) for w in words)


def name_search(text: str) -> str | None:
    """The server-side form of a plain-text filter, for experiments larger than what is loaded:
    every word in the run name (`attributes.run_name ILIKE '%word%'`, MLflow 2.0+). None when a
    word cannot be quoted in MLflow's search syntax (a quote in it): the filter then stays on
    the loaded runs."""
    words = text.split()
    if not words or any("'" in w or "\\" in w for w in words):
        return None
    return " and ".join(f"attributes.run_name ILIKE '%{w}%'" for w in words)
