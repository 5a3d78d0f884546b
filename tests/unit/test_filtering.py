import pytest

from mlflow_tui.analysis.filtering import is_search_expression, name_matches
from mlflow_tui.tracking.models import Run, RunStatus


@pytest.mark.parametrize("text", [
    "metrics.val_loss < 0.5",
    "metrics.val_loss < 0.5 and params.lr = '0.01'",
    "params.optimizer = 'adam'",
    "tags.mlflow.runName LIKE 'resnet%'",
    "attributes.status = 'RUNNING'",
    "status = 'FAILED'",
    "run_name ILIKE '%bert%'",
    "metrics.`val/loss` > 1",
    "params.lr != '0.1'",
])
def test_search_expressions_go_to_the_server(text):
    assert is_search_expression(text)


@pytest.mark.parametrize("text", ["resnet", "bert base", "lr0.1", "vit-s16", "metrics", "a=b"])
def test_plain_text_is_a_name_match(text):
    assert not is_search_expression(text)


def test_name_matches_every_word_case_insensitively():
    run = Run("abc123", "1", "ResNet18-LR0.1-cosine", RunStatus.RUNNING, 0)
    assert name_matches(run, "resnet cosine")
    assert name_matches(run, "abc1")
    assert not name_matches(run, "resnet adam")
