"""The files the demo's runs leave among their artifacts, as a training script would: a line of
training log per tick, metrics.csv, and a confusion matrix image. Standard library only (the
PNG is written by hand), so that importing the demo stays instant."""

from __future__ import annotations

import random
import struct
import time
import zlib

# (key, value, step)
MetricRow = tuple[str, float, int]


def log_line(rows: list[MetricRow], when: float) -> str:
    """A tick as a training script prints it: the time, the step, each metric's last value."""
    last: dict[str, float] = {}
    for key, value, _step in rows:
        last[key] = value
    step = max(s for _k, _v, s in rows)
    shown = "  ".join(f"{k} {v:.4g}" for k, v in last.items())
    return f"{time.strftime('%H:%M:%S', time.localtime(when))}  step {step:>5}  {shown}\n"


def metrics_csv(rows: list[MetricRow]) -> str:
    """metrics.csv: a row per step, a column per key (empty where a step has no value)."""
    keys = list(dict.fromkeys(k for k, _v, _s in rows))
    table: dict[int, dict[str, float]] = {}
    for key, value, step in rows:
        table.setdefault(step, {})[key] = value
    lines = [",".join(["step", *keys])]
    lines += [",".join([str(step), *(f"{table[step][k]:.6g}" if k in table[step] else ""
                                     for k in keys)]) for step in sorted(table)]
    return "\n".join(lines) + "\n"


def confusion_png(rng: random.Random, accuracy: float, classes: int = 10,
                  cell: int = 24) -> bytes:
    """A confusion matrix of a classifier with this accuracy, as a PNG heat map (rows: true
    class, columns: predicted; dark blue to yellow), `classes` x `cell` pixels a side."""
    rows = []
    for i in range(classes):
        wrong = [rng.random() ** 3 for _ in range(classes)]
        wrong[i] = 0.0
        spread = sum(wrong) or 1.0
        rows.append([accuracy if j == i else (1.0 - accuracy) * w / spread
                     for j, w in enumerate(wrong)])
    top = max(max(r) for r in rows) or 1.0

    def colour(x: float) -> bytes:  # 0 -> dark blue, 1 -> yellow
        x = (x / top) ** 0.5
        return bytes((int(30 + 220 * x), int(30 + 190 * x), int(110 - 80 * x)))

    raw = bytearray()
    for r in rows:
        line = b"\x00" + b"".join(colour(x) * cell for x in r)  # filter byte 0, then RGB
        raw += line * cell
    side = classes * cell

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))
