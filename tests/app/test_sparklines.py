"""The system-metrics panel beside the chart, on fake data."""

from __future__ import annotations

from mlflow_tui.tracking.models import Point, Run, RunStatus
from mlflow_tui.widgets import Sparklines, SparkRow
from tests.conftest import screen_text, wait_rows, wait_until
from tests.sample_data import NOW, T0, curves, fake_app, sample_source

SAMPLES = 30  # 10 s apart: five minutes
UTIL = "system/gpu_0_utilization_percentage"


def _system_series(samples: int, end_ms: int) -> dict[str, list[Point]]:
    """GPU busy, then idle for the last two minutes (a stuck data loader)."""
    start = end_ms - (samples - 1) * 10_000

    def pts(f):
        return [Point(i, float(f(i)), start + i * 10_000) for i in range(samples)]

    return {
        UTIL: pts(lambda i: 95 if i < samples - 12 else 2),
        "system/gpu_0_memory_usage_percentage": pts(lambda i: 60 + i % 3),
        "system/gpu_0_memory_usage_megabytes": pts(lambda i: 14_500 + i),
        "system/cpu_utilization_percentage": pts(lambda i: 40),
        "system/system_memory_usage_percentage": pts(lambda i: 33),
        "system/network_receive_megabytes": pts(lambda i: 2.0 * i),
        "system/[red]evil[/red]_thing": pts(lambda i: 1),  # a key is data, never markup
    }


def _source_with_gpu_run():
    src = sample_source()
    recent = int(NOW * 1000) - 10_000
    src.add_run(Run("g1", "2", "gpu-run", RunStatus.RUNNING, T0 + 30 * 60_000), curves(20),
                t0=recent - 19_000)
    run = src.runs[-1]
    latest = dict(run.metrics)
    for key, pts in _system_series(SAMPLES, recent).items():
        src.history[("g1", key)] = pts
        latest[key] = pts[-1]
    src.runs[-1] = Run(run.run_id, run.experiment_id, run.name, run.status, run.start_time,
                       run.end_time, latest, run.params, run.tags)
    return src


def _log_sample(src, value: float) -> None:
    """The next system sample of g1, as MLflow's monitor logs it: every key at the next step."""
    run = next(r for r in src.runs if r.run_id == "g1")
    latest = dict(run.metrics)
    for key in [k for k in latest if k.startswith("system/")]:
        prev = latest[key]
        point = Point(prev.step + 1, value if key == UTIL else prev.value,
                      prev.timestamp + 10_000)
        src.history[("g1", key)].append(point)
        latest[key] = point
    src.runs = [Run(r.run_id, r.experiment_id, r.name, r.status, r.start_time, r.end_time,
                    latest, r.params, r.tags) if r is run else r for r in src.runs]


def _calls(src) -> list[tuple[str, int | None, int | None]]:
    """Record the history windows asked of the fake."""
    calls: list[tuple[str, int | None, int | None]] = []
    original = src.get_history_window

    async def recording(run_ids, key, *, start_step, end_step, max_results):
        calls.append((key, start_step, end_step))
        return await original(run_ids, key, start_step=start_step, end_step=end_step,
                              max_results=max_results)

    src.get_history_window = recording
    return calls


def _panel(app):
    return app.monitor.query_one("#system")


def _rows(app) -> dict[str, SparkRow]:
    return {r.label: r for r in app.monitor.query_one(Sparklines).rows}


async def test_panel_shows_labels_values_and_an_idle_gpu_and_hides_without_them():
    src = _source_with_gpu_run()
    calls = _calls(src)
    app = fake_app(src)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_rows(app, 7)
        assert not _panel(app).display  # a6 (scheduled, no metrics) is highlighted first
        await pilot.press("j")
        await wait_until(lambda: app.session.highlighted == "g1")
        await wait_until(lambda: _panel(app).display and len(
            _rows(app).get("GPU0 util", SparkRow("")).values) == SAMPLES,
            message="the GPU run's system window")
        rows = _rows(app)
        assert list(rows)[:5] == ["GPU0 util", "GPU0 mem", "CPU", "RAM", "Net rx"]
        assert rows["GPU0 util"].value == "2%" and rows["GPU0 util"].alert
        assert rows["GPU0 mem"].value == "62%" and rows["CPU"].value == "40%"
        assert rows["Net rx"].value == "0.20 MB/s"
        text = screen_text(app)
        for label in ("GPU0 util", "GPU0 mem", "CPU", "RAM", "Net rx", "2%", "40%"):
            assert label in text, label
        assert "GPU0 util idle" in text  # the panel's title says it at a glance
        assert "[red]evil[" in text  # shown literally (cut to the label width)
        assert "▁" in text and "█" in text
        # The loss chart is not flooded: its views hold no system metric.
        assert not any(
            k.startswith("system/") for k in app.session.view_for(app.session.poller.runs["g1"])
        )
        # The window was read once per shown key; the next sample costs no history request.
        system_calls = [c for c in calls if c[0].startswith("system/")]
        assert len(system_calls) == len(rows)
        assert all(c[1] is not None and c[2] is not None for c in system_calls)  # bounded
        _log_sample(src, 97.0)
        await wait_until(lambda: _rows(app)["GPU0 util"].value == "97%", message="new sample")
        assert not _rows(app)["GPU0 util"].alert
        assert [c for c in calls if c[0].startswith("system/")] == system_calls
        # Runs without system metrics: no panel; the chart has the space.
        await pilot.press("j")
        await wait_until(lambda: app.session.highlighted == "a1")
        await wait_until(lambda: not _panel(app).display)
        assert "GPU0 util" not in screen_text(app)
        assert app.session.system_points == {} or all(
            k[0] == "a1" for k in app.session.system_points
        )


async def test_panel_hides_on_a_narrow_terminal():
    app = fake_app(_source_with_gpu_run())
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_rows(app, 7)
        await pilot.press("j")
        await wait_until(lambda: app.session.highlighted == "g1" and _panel(app).display)
        await pilot.resize_terminal(100, 40)
        await wait_until(lambda: not _panel(app).display, message="hidden when narrow")
        await pilot.resize_terminal(150, 40)
        await wait_until(lambda: _panel(app).display, message="back when wide again")
        assert _rows(app)["CPU"].value == "40%"


def test_sparklines_widget_renders_rows_literally():
    widget = Sparklines()
    widget.set_rows(
        [
            SparkRow("GPU0 util", [0, 50, 100], "100%", 0, 100, alert=True),
            SparkRow("[b]x[/b]", [1, 2, 3], "3.00 W"),
        ]
    )
    text = widget.render_rows(30)
    lines = text.plain.split("\n")
    assert lines[0].startswith("GPU0 util") and lines[0].endswith("100%")
    assert lines[1].startswith("[b]x[/b]") and lines[1].endswith("3.00 W")
    assert "▁▅█" in lines[0] and all(len(line) == 30 for line in lines)
