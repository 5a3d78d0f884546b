"""The first rows of a Parquet artifact, read by byte ranges: a Parquet file ends with its
footer (the schema and where each row group's columns are), so the footer and the first row
group's column chunks are all a preview needs, whatever the file's size. pyarrow reads them
through RangeFile, a file object whose reads are byte-range reads of the artifact store
(`Artifacts.read`), in a thread; at most PARQUET_MAX bytes are moved.

pyarrow comes with mlflow (the [local] extra); without it, ParquetUnavailable says what to
install.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlflow_tui.tracking.artifacts import Artifact, ArtifactError, Artifacts
from mlflow_tui.tracking.errors import TrackingError
from mlflow_tui.tracking.models import Run

PARQUET_MAX = 32 * 1024 * 1024  # bytes a preview may read (footer + first row group)
READ_AHEAD = 64 * 1024  # bytes asked at least per range read (pyarrow reads in small bits)


class ParquetUnavailable(ArtifactError):
    """pyarrow is not installed."""


class TooMuch(ArtifactError):
    """The preview would read more than PARQUET_MAX."""


@dataclass(frozen=True)
class ParquetHead:
    frame: Any  # pandas.DataFrame: the first rows
    rows: int  # rows in the file
    row_groups: int
    size: int  # the file's size
    moved: int  # bytes read to show it


class RangeFile(io.RawIOBase):
    """A read-only, seekable file of `size` bytes whose reads call `fetch(start, length)`
    (blocking: meant for a thread), at least READ_AHEAD bytes at a time; past `limit` bytes
    read in all, TooMuch."""

    def __init__(self, fetch: Callable[[int, int], bytes], size: int,
                 limit: int = PARQUET_MAX) -> None:
        super().__init__()
        self._fetch = fetch
        self._size = size
        self._limit = limit
        self._pos = 0
        self._cache_at = 0
        self._cache = b""
        self.moved = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def size(self) -> int:
        return self._size

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        if end <= self._pos:
            return b""
        cached_end = self._cache_at + len(self._cache)
        if not (self._cache_at <= self._pos and end <= cached_end):
            want = max(end - self._pos, READ_AHEAD)
            want = min(want, self._size - self._pos)
            if self.moved + want > self._limit:
                raise TooMuch(f"the preview would read more than {self._limit >> 20} MB")
            self._cache = self._fetch(self._pos, want)
            self._cache_at = self._pos
            self.moved += len(self._cache)
            if len(self._cache) < end - self._pos:
                end = self._pos + len(self._cache)  # the file is shorter than said
        data = self._cache[self._pos - self._cache_at: end - self._cache_at]
        self._pos += len(data)
        return data


def _head(file: RangeFile, rows: int) -> ParquetHead:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ParquetUnavailable("Parquet previews need pyarrow: pip install pyarrow "
                                 "(it comes with mlflow-tui[local])") from None
    try:
        parquet = pq.ParquetFile(file)
        meta = parquet.metadata
        if meta.num_row_groups == 0:
            frame = parquet.schema_arrow.empty_table().to_pandas()
        else:
            batch = next(parquet.iter_batches(batch_size=rows, row_groups=[0]), None)
            frame = (batch.to_pandas() if batch is not None else
                     parquet.schema_arrow.empty_table().to_pandas())
    except TrackingError:  # the store's (TooMuch, a lost connection...), through pyarrow
        raise
    except Exception as exc:  # noqa: BLE001 - pyarrow's errors: a broken or odd file
        raise ArtifactError(f"not a readable Parquet file: {exc}") from None
    return ParquetHead(frame, meta.num_rows, meta.num_row_groups, file.size(), file.moved)


async def parquet_head(store: Artifacts, run: Run, entry: Artifact, rows: int,
                       limit: int = PARQUET_MAX) -> ParquetHead:
    """The first `rows` rows of the Parquet file `entry` (its footer and first row group read
    by byte ranges, at most `limit` bytes). ParquetUnavailable without pyarrow, TooMuch when
    the first row group is larger than the limit, ArtifactError for a broken file."""
    size = entry.size
    if size is None:
        size = (await store.read(run, entry.path, start=None, length=8)).total
    if not size:
        raise ArtifactError("an empty file, not Parquet")
    loop = asyncio.get_running_loop()

    def fetch(start: int, length: int) -> bytes:  # in the worker thread
        chunk = asyncio.run_coroutine_threadsafe(
            store.read(run, entry.path, start=start, length=length), loop).result()
        return chunk.data

    return await asyncio.to_thread(_head, RangeFile(fetch, size, limit), rows)


__all__ = ["PARQUET_MAX", "ParquetHead", "ParquetUnavailable", "RangeFile", "TooMuch",
           "parquet_head"]
