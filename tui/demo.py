"""A simulated training session for `mlflow-tui --demo`.

`DemoSession` writes to a temporary local MLflow store (sqlite) through MLflow's own client,
from a daemon thread, while the app watches the store through its normal read path. Nothing is
written outside `root`. mlflow is imported lazily: importing this module is instant.

Timeline at speed 1 (script seconds after start()):

* history, present before start(): `resnet18-baseline` FINISHED (40 epochs),
  `resnet18-adam-lr3e-3` KILLED at epoch 14, `distilbert-baseline` FINISHED (40 epochs);
* t=0    `resnet18-cosine` healthy, one epoch every 0.6 s, FINISHED after 60 epochs (~36 s);
* t=0.5  `bert-base-finetune` endless: train_loss every 10 steps, val_* every 100 steps, one
  eval every 1 s, slowly decreasing loss; after 100 epochs (~17 min) it finishes and a fresh
  run takes over, so something is always live;
* t=3    `vit-s16-no-aug` overfits: train falls, val bottoms out near epoch 14 and rises +30%
  by epoch 35; FINISHED after 40 epochs (~31 s);
* t=6    `resnet18-lr0.8` diverges, loss NaN at epoch 9, FAILED (~12 s);
* t=10   `vit-s16-wd0.1` early-stopped, FINISHED after 18 of 50 epochs (~19 s).

Every run has artifacts for `a` to show, written into its artifact root under `root` as a
training script leaves them (tui/demo_files.py): `config.yaml` (its params), `train.log` (a
line per tick, growing while it runs: `f` follows it; a FAILED run's ends with its error) and,
once it ends, `metrics.csv` (a row per logged step) and, unless it failed,
`confusion_matrix.png`.
"""

from __future__ import annotations

import logging
import math
import os
import random
import shutil
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow_tui.demo_files import MetricRow, confusion_png, log_line, metrics_csv

_log = logging.getLogger(__name__)

RESNET = "demo/vision/resnet18-cifar10"
VIT = "demo/vision/vit-small-sweep"
BERT = "demo/nlp/bert-sentiment"
# Created in this order: the app opens the experiment with running runs created last, so the
# demo opens on RESNET (every status, a diverging run) whenever its first listing comes, also
# on a busy machine after BERT's and VIT's runs have started.
EXPERIMENTS: dict[str, str] = {
    BERT: "BERT fine-tuning on SST-2 sentiment",
    VIT: "ViT-S/16 on CIFAR-100: augmentation and weight-decay sweep",
    RESNET: "ResNet-18 on CIFAR-10: learning-rate schedules",
}
FEATURED = RESNET

# One tick of a simulated run: the metrics to log now, and the final status (None: keep going).
Tick = tuple[list[MetricRow], "str | None"]


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _noisy(rng: random.Random, value: float, rel: float) -> float:
    return value * (1.0 + rng.gauss(0.0, rel))


def _clip(value: float, low: float = 0.0, high: float = 0.999) -> float:
    return min(high, max(low, value))


# ---------------------------------------------------------------------------- curves
def _healthy(rng: random.Random, epochs: int, lr: float) -> Iterator[Tick]:
    """Val tracks train down, a stable gap, cosine learning rate."""
    for e in range(epochs):
        train = 0.08 + 2.2 * math.exp(-e / 9.0)
        val = 0.30 + 2.0 * math.exp(-e / 10.0)
        rows = [
            ("train_loss", _noisy(rng, train, 0.025), e),
            ("val_loss", _noisy(rng, val, 0.03), e),
            ("train_acc", _clip(0.10 + 0.88 * (1 - math.exp(-e / 8.0)) + rng.gauss(0, 0.006)), e),
            ("val_acc", _clip(0.10 + 0.81 * (1 - math.exp(-e / 9.0)) + rng.gauss(0, 0.008)), e),
            ("lr", lr * 0.5 * (1 + math.cos(math.pi * e / epochs)), e),
        ]
        yield rows, ("FINISHED" if e == epochs - 1 else None)


def _overfit(rng: random.Random, epochs: int, lr: float) -> Iterator[Tick]:
    """Train keeps falling; val bottoms out near epoch 14 and then rises steadily."""
    for e in range(epochs):
        train = 0.02 + 2.25 * math.exp(-e / 7.0)
        val = 0.60 + 1.75 * math.exp(-e / 4.0) + 0.0095 * max(0, e - 10) ** 1.1
        val_acc = 0.05 + 0.60 * (1 - math.exp(-e / 5.0)) - 0.0035 * max(0, e - 14)
        rows = [
            ("train_loss", _noisy(rng, train, 0.02), e),
            ("val_loss", _noisy(rng, val, 0.025), e),
            ("train_acc", _clip(0.05 + 0.94 * (1 - math.exp(-e / 9.0)) + rng.gauss(0, 0.005)), e),
            ("val_acc", _clip(val_acc + rng.gauss(0, 0.007)), e),
            ("lr", lr if e >= 5 else lr * (e + 1) / 5, e),
        ]
        yield rows, ("FINISHED" if e == epochs - 1 else None)


def _diverging(rng: random.Random, nan_epoch: int, lr: float) -> Iterator[Tick]:
    """Too high a learning rate: loss falls, then explodes, then goes NaN -> FAILED."""
    for e in range(nan_epoch + 1):
        if e == nan_epoch:
            rows = [("train_loss", math.nan, e), ("val_loss", math.nan, e), ("lr", lr, e)]
            yield rows, "FAILED"
            return
        blowup = max(0, e - (nan_epoch - 4))
        train = (0.9 + 1.4 * math.exp(-e / 3.0)) * (1.9**blowup)
        val = (1.05 + 1.3 * math.exp(-e / 3.0)) * (2.0**blowup)
        rows = [
            ("train_loss", _noisy(rng, train, 0.04), e),
            ("val_loss", _noisy(rng, val, 0.05), e),
            ("train_acc", _clip(0.42 - 0.09 * blowup + rng.gauss(0, 0.02), 0.1), e),
            ("val_acc", _clip(0.38 - 0.09 * blowup + rng.gauss(0, 0.02), 0.1), e),
            ("lr", lr, e),
        ]
        yield rows, None


def _early_stopped(rng: random.Random, stop_epoch: int, lr: float) -> Iterator[Tick]:
    """Val plateaus; early stopping ends the run well before its planned epochs."""
    for e in range(stop_epoch):
        train = 0.35 + 1.9 * math.exp(-e / 4.0)
        val = 0.78 + 1.6 * math.exp(-e / 3.5)
        rows = [
            ("train_loss", _noisy(rng, train, 0.02), e),
            ("val_loss", _noisy(rng, val, 0.02), e),
            ("train_acc", _clip(0.05 + 0.80 * (1 - math.exp(-e / 5.0)) + rng.gauss(0, 0.006)), e),
            ("val_acc", _clip(0.05 + 0.62 * (1 - math.exp(-e / 4.0)) + rng.gauss(0, 0.008)), e),
            ("lr", lr, e),
        ]
        yield rows, ("FINISHED" if e == stop_epoch - 1 else None)


def _endless(rng: random.Random, evals: int, lr: float, first_step: int = 0) -> Iterator[Tick]:
    """Batch-level train_loss every 10 steps, val_* every 100 steps, slowly improving."""
    warmup = 300
    for k in range(evals):
        rows: list[MetricRow] = []
        base = first_step + k * 100
        for s in range(base + 10, base + 101, 10):
            train = 0.12 + 0.58 / (1 + s / 600) ** 0.7
            rows.append(("train_loss", max(0.01, _noisy(rng, train, 0.08)), s))
        step = base + 100
        val = 0.21 + 0.50 / (1 + step / 600) ** 0.6
        rows += [
            ("val_loss", _noisy(rng, val, 0.015), step),
            ("val_acc", _clip(0.93 - 0.35 * val / 0.71 + rng.gauss(0, 0.004)), step),
            ("train_acc", _clip(0.97 - 0.4 * val / 0.71 + rng.gauss(0, 0.006)), step),
            ("lr", lr * min(step / warmup, (warmup / step) ** 0.5), step),
        ]
        yield rows, ("FINISHED" if k == evals - 1 else None)


@dataclass
class _Plan:
    name: str
    experiment: str
    start: float  # script seconds after start()
    period: float  # script seconds between ticks
    curve: Callable[[random.Random], Iterator[Tick]]
    params: dict[str, str]
    source: str
    user: str
    tags: dict[str, str] = field(default_factory=dict)
    on_failure: str = ""  # tag value "error" for a FAILED end
    repeat: bool = False  # start a fresh run when this one finishes


def _plans() -> list[_Plan]:
    def params(lr: float, batch: int, opt: str, epochs: int, **extra: str) -> dict[str, str]:
        return {"lr": str(lr), "batch_size": str(batch), "optimizer": opt,
                "epochs": str(epochs), **extra}

    return [
        _Plan("resnet18-cosine", RESNET, 0.0, 0.6, lambda r: _healthy(r, 60, 0.1),
              params(0.1, 128, "sgd", 60, momentum="0.9", scheduler="cosine"),
              "train_resnet.py", "ana"),
        _Plan("bert-base-finetune", BERT, 0.5, 1.0, lambda r: _endless(r, 1000, 3e-5),
              params(3e-5, 32, "adamw", 100, warmup_steps="300", steps_per_epoch="1000"),
              "finetune_bert.py", "li", repeat=True),
        _Plan("vit-s16-no-aug", VIT, 3.0, 0.7, lambda r: _overfit(r, 40, 1e-3),
              params(1e-3, 256, "adamw", 40, weight_decay="0.0", augment="none"),
              "train_vit.py", "sam"),
        _Plan("resnet18-lr0.8", RESNET, 6.0, 0.6, lambda r: _diverging(r, 9, 0.8),
              params(0.8, 128, "sgd", 60, momentum="0.9", scheduler="constant"),
              "train_resnet.py", "ana", on_failure="loss is NaN at epoch 9"),
        _Plan("vit-s16-wd0.1", VIT, 10.0, 0.5, lambda r: _early_stopped(r, 18, 5e-4),
              params(5e-4, 256, "adamw", 50, weight_decay="0.1", augment="randaug",
                     early_stopping_patience="5"),
              "train_vit.py", "sam", tags={"early_stopped": "true"}),
    ]


# (plan, status, age of its start in seconds, seconds per tick, ticks to log)
def _history() -> list[tuple[_Plan, str, float, float, int]]:
    plans = {
        "baseline": _Plan("resnet18-baseline", RESNET, 0, 0, lambda r: _healthy(r, 40, 0.1),
                          {"lr": "0.1", "batch_size": "128", "optimizer": "sgd", "epochs": "40",
                           "momentum": "0.9", "scheduler": "cosine"}, "train_resnet.py", "ana"),
        "adam": _Plan("resnet18-adam-lr3e-3", RESNET, 0, 0, lambda r: _healthy(r, 40, 3e-3),
                      {"lr": "0.003", "batch_size": "128", "optimizer": "adam", "epochs": "40"},
                      "train_resnet.py", "ana"),
        "distil": _Plan("distilbert-baseline", BERT, 0, 0, lambda r: _healthy(r, 40, 5e-5),
                        {"lr": "5e-05", "batch_size": "32", "optimizer": "adamw",
                         "epochs": "40"}, "finetune_bert.py", "li"),
    }
    return [
        (plans["baseline"], "FINISHED", 6 * 3600, 95.0, 40),
        (plans["adam"], "KILLED", 2 * 3600, 95.0, 14),
        (plans["distil"], "FINISHED", 26 * 3600, 60.0, 40),
    ]


# ---------------------------------------------------------------------------- quiet mlflow
_WARNING_FILTERS = (r"mlflow(\.|$)", r"alembic(\.|$)", r"mlflow_tui\.demo$")
_QUIET_LOGGERS = ("mlflow", "alembic")


def _silence_warnings() -> None:
    for module in _WARNING_FILTERS:
        warnings.filterwarnings("ignore", module=module)


class _Live:
    def __init__(self, plan: _Plan, run_id: str, ticks: Iterator[Tick], due: float) -> None:
        self.plan = plan
        self.run_id = run_id
        self.ticks = ticks
        self.due = due
        self.generation = 1
        self.rows: list[MetricRow] = []  # everything logged, for metrics.csv at the end


class DemoSession:
    """A simulated training session written to a local MLflow store from a daemon thread."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *, speed: float = 1.0,
                 seed: int = 7) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        if root is None:
            self._root = Path(tempfile.mkdtemp(prefix="mlflow-tui-demo-"))
            self._owns_root = True
            # If stop() is never called, the folder still goes at interpreter exit.
            self._finalizer: weakref.finalize | None = weakref.finalize(
                self, shutil.rmtree, str(self._root), True)
        else:
            self._root = Path(root).expanduser().resolve()
            self._owns_root = False
            self._finalizer = None
        self.speed = float(speed)
        self.seed = seed
        self._client: Any = None
        self._experiment_ids: dict[str, str] = {}
        self._prepare_lock = threading.Lock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._live: dict[str, _Live] = {}
        self._folders: dict[str, Path] = {}  # run id -> its artifact root (under root)
        self._saved_levels: dict[str, int] | None = None
        self._stopped = False

    # ------------------------------------------------------------------ properties
    @property
    def root(self) -> Path:
        return self._root

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self._root / 'demo.db'}"

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def ready(self) -> bool:
        """True once prepare() has finished: the store can be opened by a reader."""
        return self._client is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ lifecycle
    def prepare(self) -> str:
        """Create the store, the experiments and the history runs. Blocking (~2 s); idempotent."""
        with self._prepare_lock:
            if self._stop.is_set():
                raise RuntimeError("the demo session was stopped")
            if self._client is not None:
                return self.tracking_uri
            self._quiet()
            self._root.mkdir(parents=True, exist_ok=True)
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=self.tracking_uri)
            fresh = False
            for name, description in EXPERIMENTS.items():
                found = client.get_experiment_by_name(name)
                if found is not None:
                    self._experiment_ids[name] = found.experiment_id
                    continue
                fresh = True
                slug = name.replace("/", "-")
                self._experiment_ids[name] = client.create_experiment(
                    name, artifact_location=(self._root / "artifacts" / slug).as_uri(),
                    tags={"mlflow.note.content": description, "team": name.split("/")[1]})
            if fresh:
                self._seed_history(client)
                try:  # only the demo's experiments on screen
                    client.delete_experiment("0")
                except Exception:  # noqa: BLE001 - cosmetic
                    _log.debug("could not delete the Default experiment", exc_info=True)
            self._client = client
            return self.tracking_uri

    def start(self) -> None:
        """Run the script in a daemon thread (preparing the store first if needed)."""
        with self._lock:
            if self._stop.is_set() or self._thread is not None:
                return
            self._thread = threading.Thread(target=self._main, name="mlflow-tui-demo",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the script, mark runs still RUNNING as KILLED, remove a temporary root."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = thread is not None and thread.is_alive()
        if self._prepare_lock.acquire(timeout=max(0.01, deadline - time.monotonic())):
            try:
                if self._client is not None:
                    self._kill_running()
            finally:
                self._prepare_lock.release()
        self._restore_logging()
        if self._owns_root and not alive:
            shutil.rmtree(self._root, ignore_errors=True)
            if self._finalizer is not None:
                self._finalizer.detach()

    def remove_store(self) -> None:
        """Remove the temporary store now, from any thread, whatever the writer is doing (the
        last resort of an exit that cannot finish); a store given by the caller stays."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> DemoSession:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ logging
    def _quiet(self) -> None:
        """Keep MLflow's INFO logs and warnings off the terminal while the demo lives."""
        _silence_warnings()
        if self._saved_levels is None:
            import mlflow  # noqa: F401 - configures its loggers on import; override after

            self._saved_levels = {}
            for name in _QUIET_LOGGERS:
                logger = logging.getLogger(name)
                self._saved_levels[name] = logger.level
                logger.setLevel(logging.WARNING)

    def _restore_logging(self) -> None:
        if self._saved_levels is not None:
            for name, level in self._saved_levels.items():
                logging.getLogger(name).setLevel(level)
            self._saved_levels = None

    # ------------------------------------------------------------------ writing
    def _rng(self, name: str, generation: int = 1) -> random.Random:
        return random.Random(f"{self.seed}/{name}/{generation}")

    def _tags(self, plan: _Plan) -> dict[str, str]:
        return {"mlflow.source.name": plan.source, "mlflow.source.type": "LOCAL",
                "mlflow.user": plan.user, **plan.tags}

    def _create_run(self, client: Any, plan: _Plan, name: str, start_ms: int) -> str:
        from mlflow.entities import Param

        run = client.create_run(self._experiment_ids[plan.experiment], start_time=start_ms,
                                tags=self._tags(plan), run_name=name)
        run_id: str = run.info.run_id
        client.log_batch(run_id, params=[Param(k, v) for k, v in plan.params.items()])
        from urllib.parse import urlsplit
        from urllib.request import url2pathname

        parts = urlsplit(run.info.artifact_uri or "")
        folder = Path(url2pathname(parts.path)).resolve()
        if parts.scheme in ("", "file") and self._root.resolve() in folder.parents:
            self._folders[run_id] = folder
            self._write(run_id, "config.yaml", f"# {plan.source}, run {name}\n" + "".join(
                f"{key}: {value}\n" for key, value in plan.params.items()))
        return run_id

    def _write(self, run_id: str, name: str, text: str | bytes, append: bool = False) -> None:
        """A file among the run's artifacts, as the training script would write it."""
        folder = self._folders.get(run_id)
        if folder is None:
            return
        data = text.encode() if isinstance(text, str) else text
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / name, "ab" if append else "wb") as f:
                f.write(data)
        except OSError:
            _log.debug("demo: could not write %s of %s", name, run_id, exc_info=True)

    def _ended(self, run_id: str, rows: list[MetricRow], error: str = "") -> None:
        if error:
            self._write(run_id, "train.log", f"RuntimeError: {error}\n", append=True)
        self._write(run_id, "metrics.csv", metrics_csv(rows))
        accuracy = [v for k, v, _s in rows if k == "val_acc" and math.isfinite(v)]
        if accuracy and not error:  # the classifier's last evaluation, as a heat map
            self._write(run_id, "confusion_matrix.png",
                        confusion_png(self._rng(run_id), accuracy[-1]))

    def _log(self, client: Any, run_id: str, rows: list[MetricRow], when_ms: int) -> None:
        from mlflow.entities import Metric

        client.log_batch(run_id, metrics=[Metric(k, v, when_ms, s) for k, v, s in rows])

    def _seed_history(self, client: Any) -> None:
        now = time.time()
        for plan, status, age, per_tick, ticks in _history():
            start = now - age
            run_id = self._create_run(client, plan, plan.name, _ms(start))
            from mlflow.entities import Metric

            metrics = []
            logged: list[MetricRow] = []
            lines = []
            rng = self._rng(plan.name)
            for i, (rows, _status) in enumerate(plan.curve(rng)):
                if i >= ticks:
                    break
                when = _ms(start + (i + 1) * per_tick)
                metrics += [Metric(k, v, when, s) for k, v, s in rows]
                logged += rows
                lines.append(log_line(rows, start + (i + 1) * per_tick))
            client.log_batch(run_id, metrics=metrics)
            self._write(run_id, "train.log", "".join(lines))
            self._ended(run_id, logged)
            client.set_terminated(run_id, status, end_time=_ms(start + ticks * per_tick + 5))

    def _kill_running(self) -> None:
        client = self._client
        ids = set(self._live)
        try:
            found = client.search_runs(list(self._experiment_ids.values()),
                                       filter_string="attributes.status = 'RUNNING'",
                                       max_results=1000)
            ids |= {run.info.run_id for run in found}
        except Exception:  # noqa: BLE001
            _log.debug("demo: searching RUNNING runs failed", exc_info=True)
        for run_id in ids:
            try:
                client.set_terminated(run_id, "KILLED")
            except Exception:  # noqa: BLE001
                _log.debug("demo: could not mark %s KILLED", run_id, exc_info=True)
        self._live.clear()

    # ------------------------------------------------------------------ the script
    def _main(self) -> None:
        try:
            self.prepare()
            self._script()
        except BaseException as exc:  # noqa: BLE001 - reported through .error
            if not self._stop.is_set():
                self._error = exc
                _log.debug("demo session failed", exc_info=True)

    def _script(self) -> None:
        client = self._client
        t0 = time.monotonic()
        pending = sorted(_plans(), key=lambda p: p.start)

        def now() -> float:
            return (time.monotonic() - t0) * self.speed

        while not self._stop.is_set():
            while pending and pending[0].start <= now():
                plan = pending.pop(0)
                self._begin(client, plan, 1, plan.start)
            due = [live for live in self._live.values() if live.due <= now()]
            for live in sorted(due, key=lambda x: x.due):
                if self._stop.is_set():
                    return
                self._tick(client, live, now())
            upcoming = [p.start for p in pending] + [x.due for x in self._live.values()]
            if not upcoming:
                return
            delay = (min(upcoming) - now()) / self.speed
            if delay > 0 and self._stop.wait(delay):
                return

    def _begin(self, client: Any, plan: _Plan, generation: int, at: float) -> None:
        name = plan.name if generation == 1 else f"{plan.name}-r{generation}"
        run_id = self._create_run(client, plan, name, _ms(time.time()))
        live = _Live(plan, run_id, plan.curve(self._rng(plan.name, generation)),
                     at + min(0.3, plan.period))
        live.generation = generation
        self._live[run_id] = live

    def _tick(self, client: Any, live: _Live, at: float) -> None:
        try:
            rows, status = next(live.ticks)
        except StopIteration:
            rows, status = [], "FINISHED"
        if rows:
            self._log(client, live.run_id, rows, _ms(time.time()))
            self._write(live.run_id, "train.log", log_line(rows, time.time()), append=True)
            live.rows += rows
        # Writing slower than the schedule: do not build up a backlog to burst through later.
        live.due = max(live.due + live.plan.period, at)
        if status is None:
            return
        if status == "FAILED" and live.plan.on_failure:
            client.set_tag(live.run_id, "error", live.plan.on_failure)
        self._ended(live.run_id, live.rows, live.plan.on_failure if status == "FAILED" else "")
        client.set_terminated(live.run_id, status)
        del self._live[live.run_id]
        if live.plan.repeat:
            self._begin(client, live.plan, live.generation + 1, at)
