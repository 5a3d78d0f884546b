"""Run-attribute clauses evaluated on the client (servers that refuse them, e.g. Azure ML)."""

from __future__ import annotations

import pytest

from mlflow_tui.analysis.filtering import name_search
from mlflow_tui.tracking.clientfilter import (
    Clause,
    apply,
    like,
    split_conjuncts,
    take_attribute_clauses,
)
from mlflow_tui.tracking.models import Run, RunStatus
from mlflow_tui.tracking.poller import ACTIVE


def _run(name: str, status: RunStatus = RunStatus.RUNNING, start: int | None = 100,
         end: int | None = None) -> Run:
    return Run(run_id=name, experiment_id="1", name=name, status=status, start_time=start,
               end_time=end)


@pytest.mark.parametrize("pattern,text,ci,want", [
    ("%live%", "gamma-live", False, True),
    ("%LIVE%", "gamma-live", False, False),
    ("%LIVE%", "gamma-live", True, True),
    ("a_c", "abc", False, True),
    ("a_c", "abbc", False, False),
    ("100\\%", "100%", False, True),
    ("100\\%", "1000", False, False),
    ("[x]%", "[x] run (1)", False, True),  # regex characters are plain text
    ("%", "", False, True),
])
def test_like(pattern, text, ci, want):
    assert like(pattern, text, ignore_case=ci) is want


def test_and_inside_quotes_is_not_a_separator():
    flt = "params.x = 'this and that' and metrics.loss < 1 AND tags.t = \"a AND b\""
    assert split_conjuncts(flt) == ["params.x = 'this and that'", "metrics.loss < 1",
                                    'tags.t = "a AND b"']


def test_the_apps_own_filters_are_taken_whole():
    rest, clauses = take_attribute_clauses(ACTIVE)
    assert rest == "" and [c.op for c in clauses] == ["!=", "!=", "!="]
    rest, clauses = take_attribute_clauses(name_search("gpu run") or "")
    assert rest == "" and clauses == [Clause("run_name", "ILIKE", "%gpu%"),
                                      Clause("run_name", "ILIKE", "%run%")]


def test_other_clauses_stay_with_the_server():
    flt = ("metrics.val_loss < 0.5 and attributes.status = 'RUNNING' and params.lr = '0.1' "
           "and start_time >= 1700 and tags.`mlflow.runName` LIKE '%x%'")
    rest, clauses = take_attribute_clauses(flt)
    assert rest == ("metrics.val_loss < 0.5 and params.lr = '0.1' and "
                    "tags.`mlflow.runName` LIKE '%x%'")
    assert clauses == [Clause("status", "=", "RUNNING"), Clause("start_time", ">=", 1700)]


@pytest.mark.parametrize("flt", ["attributes.status > 3", "start_time LIKE '5'",
                                 "run_name = 3", "attributes.run_id IN ('a')"])
def test_clauses_mlflow_itself_would_refuse_are_not_taken(flt):
    assert take_attribute_clauses(flt) == (flt, [])


def test_apply():
    runs = [_run("a-live"), _run("b-done", RunStatus.FINISHED, 50, 90),
            _run("c-killed", RunStatus.KILLED, None), _run("d-sched", RunStatus.SCHEDULED, 300)]
    assert [r.name for r in apply(runs, take_attribute_clauses(ACTIVE)[1])] == ["a-live",
                                                                                 "d-sched"]
    newer = take_attribute_clauses("attributes.start_time > 60")[1]
    assert [r.name for r in apply(runs, newer)] == ["a-live", "d-sched"]  # None never matches
    ended = take_attribute_clauses("end_time <= 90 and status = 'finished'")[1]
    assert [r.name for r in apply(runs, ended)] == ["b-done"]
    named = take_attribute_clauses("run_name != 'a-live' and run_name LIKE '%-%'")[1]
    assert [r.name for r in apply(runs, named)] == ["b-done", "c-killed", "d-sched"]
