"""System metrics: key parsing, grouping, formatting, the recent window, idle GPUs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlflow_tui.analysis.charting import chart_views, warning_pair
from mlflow_tui.analysis.system_metrics import (
    WINDOW_STEPS,
    advance,
    fetch_window,
    format_value,
    idle,
    is_system,
    panel_metrics,
    panel_rows,
    parse,
    rates,
)
from mlflow_tui.tracking.models import Point
from mlflow_tui.widgets import spark

ONE_GPU = [
    "system/gpu_0_utilization_percentage",
    "system/gpu_0_memory_usage_megabytes",
    "system/gpu_0_memory_usage_percentage",
    "system/gpu_0_power_usage_watts",
    "system/gpu_0_power_usage_percentage",
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
]


def test_parse_labels_and_units():
    util = parse("system/gpu_0_utilization_percentage")
    assert util is not None and util.label == "GPU0 util" and util.unit == "%" and util.gpu_util
    mem = parse("system/gpu_3_memory_usage_megabytes")
    assert mem is not None and (mem.label, mem.unit, mem.gpu_util) == ("GPU3 mem", "MB", False)
    assert parse("system/gpu_1_memory_usage_gigabytes").unit == "GB"  # ROCm
    assert parse("system/gpu_0_power_usage_watts").label == "GPU0 power"
    assert parse("system/cpu_utilization_percentage").label == "CPU"
    assert parse("system/system_memory_usage_percentage").label == "RAM"
    net = parse("system/network_receive_megabytes")
    assert net is not None and net.label == "Net rx" and net.cumulative
    node = parse("system/node_1/gpu_0_utilization_percentage")
    assert node is not None and node.label == "node_1 GPU0 util"
    odd = parse("system/fan_speed")  # a key MLflow might add later: shown as it is
    assert odd is not None and odd.label == "fan speed" and odd.unit == ""
    assert parse("train_loss") is None and parse("systemic_loss") is None
    assert is_system("system/x") and not is_system("val/system")


def test_mlflow_own_keys_are_all_understood():
    """Every key MLflow's monitors log parses to a known label (not the fallback)."""
    import re

    import mlflow.system_metrics.metrics as pkg

    names = set()
    for path in Path(pkg.__file__).parent.glob("*_monitor.py"):
        names |= set(re.findall(r'_metrics\[f?"([a-z_{}]+)"\]', path.read_text()))
    assert "cpu_utilization_percentage" in names and len(names) >= 10
    for name in names:
        metric = parse("system/" + name.replace("{i}", "0"))
        assert metric is not None and metric.unit, name
        assert metric.order[2] != 50 and " " in metric.label or metric.label in {
            "CPU", "RAM", "Disk"}, name


def test_panel_one_row_per_group_percentage_first_gpus_first():
    rows = panel_metrics(ONE_GPU + ["train_loss"])
    assert [m.label for m in rows] == ["GPU0 util", "GPU0 mem", "GPU0 power", "CPU", "RAM",
                                       "Disk", "Net rx", "Net tx"]
    by_label = {m.label: m.key for m in rows}
    assert by_label["GPU0 mem"] == "system/gpu_0_memory_usage_percentage"
    assert by_label["GPU0 power"] == "system/gpu_0_power_usage_percentage"
    assert by_label["RAM"] == "system/system_memory_usage_percentage"
    # Without the percentage the absolute value stands in.
    only_mb = panel_metrics(["system/gpu_0_memory_usage_megabytes"])
    assert [m.key for m in only_mb] == ["system/gpu_0_memory_usage_megabytes"]
    two = panel_metrics(["system/gpu_1_utilization_percentage",
                         "system/cpu_utilization_percentage",
                         "system/gpu_0_utilization_percentage"])
    assert [m.label for m in two] == ["GPU0 util", "GPU1 util", "CPU"]
    assert panel_metrics(["loss", "val_loss"]) == []


def test_system_metrics_stay_out_of_the_loss_views():
    keys = ONE_GPU + ["train_loss", "val_loss", "lr"]
    views = chart_views(keys)
    assert views[0] == ("train_loss", "val_loss")
    assert not any(k.startswith("system/") for view in views for k in view)
    assert chart_views(ONE_GPU) == []
    assert warning_pair(ONE_GPU) is None


@pytest.mark.parametrize(("value", "unit", "text"), [
    (87.4, "%", "87%"), (3.0, "%", "3%"), (12345.0, "MB", "12.3 GB"), (512.0, "MB", "512 MB"),
    (215.2, "W", "215 W"), (3.456, "MB/s", "3.46 MB/s"), (1500.0, "MB/s", "1.50 GB/s"),
    (2_500_000.0, "MB", "2.50 TB"), (math.nan, "%", "NaN"), (math.inf, "W", "inf"),
    (7.0, "", "7.00"),
])
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def _pts(values, start_step=0, every_ms=10_000):
    return [Point(start_step + i, v, 1_000_000 + (start_step + i) * every_ms)
            for i, v in enumerate(values)]


def test_fetch_window_reads_history_only_when_needed():
    latest = Point(100, 1.0, 0)
    assert fetch_window([], latest) == (100 - WINDOW_STEPS + 1, 100)  # first look: the window
    assert fetch_window([], Point(0, 1.0, 0)) is None  # the first sample: nothing more to read
    assert fetch_window([], Point(5, 1.0, 0)) == (0, 5)
    cached = _pts([1.0] * 10, start_step=91)  # steps 91..100
    assert fetch_window(cached, Point(101, 1.0, 0)) is None  # the next sample: free
    assert fetch_window(cached, Point(100, 2.0, 9)) is None  # re-logged at the last step
    assert fetch_window(cached, Point(105, 1.0, 0)) == (100, 105)  # a gap: from the last step
    assert fetch_window(cached, Point(500, 1.0, 0)) == (500 - WINDOW_STEPS + 1, 500)  # bounded
    assert fetch_window(cached, Point(3, 1.0, 0)) == (0, 3)  # logging restarted


def test_advance_keeps_a_bounded_window_newest_per_step():
    cached = _pts(range(WINDOW_STEPS))
    out = advance(cached, Point(WINDOW_STEPS, 99.0, 5))
    assert len(out) == WINDOW_STEPS and out[0].step == 1 and out[-1].value == 99.0
    gap = advance(out, Point(70, 7.0, 7), fetched=_pts([5.0, 6.0], start_step=65))
    assert [p.step for p in gap][-3:] == [65, 66, 70] and gap[0].step == 70 - WINDOW_STEPS + 1
    again = advance(gap, Point(70, 8.0, 8))  # the same step logged again: the newest wins
    assert again[-1].value == 8.0 and len(again) == len(gap)
    restart = advance(gap, Point(2, 1.0, 9), fetched=_pts([0.5, 0.6], start_step=0))
    assert [p.step for p in restart] == [0, 1, 2]


def test_rates_of_a_counter():
    pts = [Point(0, 0.0, 0), Point(1, 50.0, 10_000), Point(2, 50.0, 20_000),
           Point(3, 10.0, 30_000), Point(4, 20.0, 30_000)]
    out = rates(pts)
    assert out[:3] == [5.0, 0.0, 0.0]  # a counter reset reads as 0, not negative
    assert math.isnan(out[3])  # no time between: unknown
    assert rates(pts[:1]) == []


def test_idle_gpu_needs_a_full_minute_below_the_threshold():
    busy_then_idle = _pts([90, 95, 92, 3, 2, 1, 0, 2, 1, 0])  # 10 s apart
    assert idle(busy_then_idle)  # the last 60 s: 3, 2, 1, 0, 2, 1, 0
    assert not idle(_pts([90, 95, 92, 90, 3, 2, 1, 0, 2, 1]))  # 90 is within the last minute
    assert not idle(_pts([0, 1, 0]))  # 20 s of data only: a job starting up
    assert not idle([])
    assert not idle(_pts([0, 0, 0, 0, 0, 0, 0, math.nan]))


def test_panel_rows_values_scale_and_alert():
    series = {
        "system/gpu_0_utilization_percentage": _pts([80, 2, 1, 0, 1, 0, 0, 1]),
        "system/cpu_utilization_percentage": _pts([40, 41]),
        "system/network_receive_megabytes": _pts([0, 30, 60]),
        "system/gpu_0_memory_usage_megabytes": _pts([11_000.0]),
    }
    rows = panel_rows(list(series) + ["system/disk_usage_percentage"],
                      lambda k: series.get(k, []), running=True)
    by_label = {r.label: r for r in rows}
    assert list(by_label) == ["GPU0 util", "GPU0 mem", "CPU", "Net rx"]  # Disk: no points yet
    util = by_label["GPU0 util"]
    assert util.alert and util.value_text == "1%" and (util.low, util.high) == (0.0, 100.0)
    assert by_label["GPU0 mem"].value_text == "11.0 GB"
    assert by_label["Net rx"].values == [3.0, 3.0] and by_label["Net rx"].value_text == "3.00 MB/s"
    assert not by_label["CPU"].alert
    finished = panel_rows(series, lambda k: series.get(k, []), running=False)
    assert not any(r.alert for r in finished)  # a finished run's idle GPU is no news


def test_spark_blocks():
    assert spark([0, 50, 100], 3, 0, 100) == "▁▅█"
    assert spark([1, 2], 4) == "  ▁█"  # left-padded, own range
    assert spark([5, 5, 5], 3) == "▄▄▄"  # flat: no range to show
    assert spark([0, 0], 2, 0, None) == "▁▁"  # e.g. no network traffic
    assert spark([math.nan, 1.0], 2, 0, 1) == " █"
    assert len(spark(list(range(100)), 10)) == 10  # more values than cells: means per cell
    assert spark(list(range(100)), 10, 0, 99)[0] == "▁" and spark([], 3) == "   "
    assert spark([1.0], 0) == ""
