"""Reusable Textual widgets for mlflow-tui. They take plain data and know nothing of MLflow.

Text from users' data is never parsed as markup: see `widgets.text`.
"""

from .chart import PALETTE, MetricChart, downsample, finite_segments
from .experiment_tree import ExperimentEntry, ExperimentTree, NodeInfo, split_name
from .run_table import RunTable
from .text import plain, safe_text

__all__ = [
    "PALETTE",
    "ExperimentEntry",
    "ExperimentTree",
    "MetricChart",
    "NodeInfo",
    "RunTable",
    "downsample",
    "finite_segments",
    "plain",
    "safe_text",
    "split_name",
]
