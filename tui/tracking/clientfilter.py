"""Run-attribute filters evaluated here, for servers whose search refuses them.

Azure ML's MLflow endpoint documents that `attributes.status` filters, filters on run fields
such as `start_time`, and LIKE/ILIKE are not supported ("Support matrix for querying runs and
experiments", learn.microsoft.com/azure/machine-learning/how-to-track-experiments-mlflow),
while metrics, params, tags, `=`/`!=` on strings and `attributes.run_id IN` are. The app's
own filters use exactly those refused clauses (active runs, new runs since a start time, the
plain-text name search), so when a search with them is refused, RestSource sends the rest of
the filter and applies these clauses to what comes back. No I/O here, no UI.

Only clauses this module can evaluate exactly are ever taken off the server's filter:
`status`, `start_time`, `end_time` with a comparison, and `run_name` with =, !=, LIKE, ILIKE;
with or without the `attributes.` prefix. Anything else stays with the server.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlflow_tui.tracking.models import Run

_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_CLAUSE = re.compile(
    r"\s*(?:attributes\.|attribute\.|attr\.|run\.)?(?P<name>status|start_time|end_time|run_name)"
    r"\s*(?P<op>!=|>=|<=|=|>|<|\bI?LIKE\b)\s*"
    rf"(?P<value>{_STRING}|-?\d+)\s*",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
    "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Clause:
    """One attribute comparison: `name` (status, start_time, end_time, run_name), `op`
    (=, !=, >, >=, <, <=, LIKE, ILIKE) and its constant."""

    name: str
    op: str
    value: str | int

    def matches(self, run: Run) -> bool:
        if self.name == "status":
            return _compare(run.status.value, self.op, str(self.value).upper())
        if self.name == "run_name":
            return _compare(run.name or "", self.op, str(self.value))
        got = run.start_time if self.name == "start_time" else run.end_time
        if got is None or not isinstance(self.value, int):
            return False  # MLflow's SQL: a comparison with NULL is not true
        return _OPS.get(self.op, operator.eq)(got, self.value)


def _compare(got: str, op: str, want: str) -> bool:
    if op in ("LIKE", "ILIKE"):
        return like(want, got, ignore_case=op == "ILIKE")
    if op == "=":
        return got == want
    if op == "!=":
        return got != want
    return _OPS[op](got, want)


def like(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """SQL LIKE: % is any run of characters, _ one character, a backslash escapes either."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch("".join(out), text, flags) is not None


def _unquote(text: str) -> str | int:
    if text[:1] in ("'", '"'):
        body = text[1:-1]
        return re.sub(r"\\(.)", r"\1", body)
    return int(text)


def split_conjuncts(filter_string: str) -> list[str]:
    """The filter's `and`-joined parts, never splitting inside a quoted string."""
    parts, start, quote, i = [], 0, "", 0
    text = filter_string
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in ("'", '"', "`"):
            quote = c
        else:
            m = _AND.match(text, i)
            if m is not None and i > start:
                parts.append(text[start:i])
                start = i = m.end()
                continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def take_attribute_clauses(filter_string: str) -> tuple[str, list[Clause]]:
    """(the filter without the clauses evaluated here, those clauses). ("", []) for ""."""
    kept: list[str] = []
    taken: list[Clause] = []
    for part in split_conjuncts(filter_string):
        m = _CLAUSE.fullmatch(part)
        if m is None:
            kept.append(part)
            continue
        op = m["op"].upper()
        value = _unquote(m["value"])
        name = m["name"].lower()
        if (name in ("status", "run_name")) != isinstance(value, str) or (
                name in ("start_time", "end_time") and op in ("LIKE", "ILIKE")):
            kept.append(part)  # not a comparison MLflow itself accepts: the server says so
            continue
        taken.append(Clause(name, op, value))
    return " and ".join(kept), taken


def apply(runs: Sequence[Run], clauses: Sequence[Clause]) -> list[Run]:
    """The runs every clause holds for, in their order."""
    return [r for r in runs if all(c.matches(r) for c in clauses)]


__all__ = ["Clause", "apply", "like", "split_conjuncts", "take_attribute_clauses"]
