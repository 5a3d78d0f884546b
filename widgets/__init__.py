"""Reusable Textual widgets for mlflow-tui. They take plain data and know nothing of MLflow.

Text from users' data is never parsed as markup: see `mlflow_tui.widgets.text`.
"""

from .chart import (
    PALETTE,
    X_MODES,
    ChartOptions,
    MetricChart,
    downsample,
    ema,
    finite_segments,
    format_relative,
    format_wall,
    last_n,
    log_safe,
    y_range,
)
from .experiment_tree import ExperimentEntry, ExperimentTree, NodeInfo, split_name
from .footer import KeyFooter
from .run_table import RunTable
from .sparklines import Sparklines, SparkRow, spark
from .text import plain, safe_block, safe_text, title

__all__ = [
    "KeyFooter",
    "title",
    "PALETTE",
    "X_MODES",
    "ChartOptions",
    "ExperimentEntry",
    "ExperimentTree",
    "MetricChart",
    "NodeInfo",
    "RunTable",
    "Sparklines",
    "SparkRow",
    "downsample",
    "ema",
    "finite_segments",
    "format_relative",
    "format_wall",
    "last_n",
    "log_safe",
    "plain",
    "safe_block",
    "safe_text",
    "spark",
    "split_name",
    "y_range",
]
