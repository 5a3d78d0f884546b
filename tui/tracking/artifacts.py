"""A run's artifacts, read-only: list a folder, read part of a file, save to a local path.

- Tracking servers: ``artifacts/list`` (every version; for proxied ``mlflow-artifacts:`` roots
  and roots the server can read) and ``/get-artifact`` for file contents, asked as a byte
  range (the head of a file, or its tail for logs), so previewing a 5 GB checkpoint moves a few
  KB. Saving streams the file to disk.
- Local stores: the run's artifact root when it is a local folder (``file:`` or a path),
  read directly. Roots elsewhere (``s3://``, ``gs://``...) say which client can read them.
- MLflow 3 logged models keep their files under the model, not the run: ModelArtifacts lists
  them with ``GET /api/2.0/mlflow/logged-models/{id}/artifacts/directories`` and reads them
  (a byte range too) with ``GET /ajax-api/2.0/mlflow/logged-models/{id}/artifacts/files``,
  the routes the 3.x server serves its web UI's model page with (the files route exists only
  under ``/ajax-api``). Both work for proxied roots and roots the server can read.
- A server that serves files only as presigned storage URLs (MLflow 3.18+ with
  ``MLFLOW_ARTIFACTS_PRESIGNED_ONLY=true``; listing still works) refuses those reads with a 403
  that says so: the file is then read, the same byte range, from the URL the server signs
  (``GET /api/2.0/mlflow-artifacts/presigned/<path>`` for proxied ``mlflow-artifacts:`` roots,
  ``POST /api/2.0/mlflow/artifacts/presigned-download-url`` for roots in cloud storage, a
  logged model's files route with ``presigned=true``), and later reads ask for the URL first.

Names from the server are kept as given; showing them safely is the UI's job.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, unquote, urlsplit

from mlflow_tui.tracking.errors import (
    AuthError,
    BadRequest,
    ConnectionFailed,
    MissingRoute,
    NotFound,
    PresignedOnly,
    TrackingError,
)
from mlflow_tui.tracking.models import Run
from mlflow_tui.tracking.transfer import SignedUrl

PREVIEW_BYTES = 256 * 1024  # what a preview reads at most (head or tail)
LIST_PAGE = 1000
SAVE_BLOCK = 1 << 20  # bytes copied a step when saving from a local store
MAX_LIST_PAGES = 1000

Progress = Callable[[int, int | None], None]  # (bytes done, total when known)
T = TypeVar("T")


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the run's artifact root (or the model's), "/"-separated
    is_dir: bool
    size: int | None = None  # bytes; None for folders or when not reported
    model_id: str = ""  # the MLflow 3 logged model whose file it is; "" for the run's own

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name or self.path


def listed(item: Mapping[str, Any], model_id: str = "") -> Artifact:
    """One entry of MLflow's artifact listings ({"path", "is_dir", "file_size"}), the run's
    own (list-artifacts) or a logged model's (logged-models/.../artifacts/directories)."""
    size = item.get("file_size")
    return Artifact(str(item.get("path", "")), bool(item.get("is_dir")),
                    int(size) if isinstance(size, (int, str)) and str(size).isdigit() else None,
                    model_id)


@dataclass(frozen=True)
class Chunk:
    data: bytes
    start: int  # offset of `data` in the file
    total: int | None  # the file's size, when known

    @property
    def complete(self) -> bool:
        """The chunk is the whole file."""
        return self.start == 0 and self.total is not None and len(self.data) >= self.total



@dataclass(frozen=True)
class LoggedModel:
    """An MLflow 3 logged model of a run (mlflow.<flavor>.log_model, create_logged_model):
    its files live under the model, not in the run's artifacts."""

    model_id: str
    name: str
    status: str  # READY, PENDING, FAILED
    artifact_uri: str
    metrics: tuple[tuple[str, float, int], ...] = ()  # (key, value, step), as logged
    params: tuple[tuple[str, str], ...] = ()
    created_ms: int | None = None

    @property
    def step(self) -> int | None:
        """The training step it was logged at (its metrics'), if known."""
        return max((s for _, _, s in self.metrics), default=None)


def logged_model(item: dict[str, Any]) -> LoggedModel:
    """One model of a logged-models/search answer ({"info": {...}, "data": {...}})."""
    info, data = item.get("info") or {}, item.get("data") or {}
    metrics = []
    for m in data.get("metrics") or []:
        try:
            metrics.append((str(m["key"]), float(m["value"]), int(m.get("step") or 0)))
        except (KeyError, TypeError, ValueError):
            continue
    params = tuple((str(p.get("key", "")), str(p.get("value", "")))
                   for p in data.get("params") or [])
    created = info.get("creation_timestamp_ms")
    return LoggedModel(str(info.get("model_id", "")), str(info.get("name", "")),
                       str(info.get("status", "")).removeprefix("LOGGED_MODEL_"),
                       str(info.get("artifact_uri", "")), tuple(metrics), params,
                       int(created) if isinstance(created, (int, str)) and str(created).isdigit()
                       else None)

class ArtifactError(TrackingError):
    """An artifact cannot be listed or read; one line with the fix."""

    retryable = False


class Artifacts(Protocol):
    async def list(self, run: Run, path: str = "") -> list[Artifact]: ...

    async def read(self, run: Run, path: str, *, start: int | None = 0,
                   length: int = PREVIEW_BYTES) -> Chunk:
        """`length` bytes from `start`, or the last `length` bytes when `start` is None."""
        ...

    async def save_file(self, run: Run, path: str, dest: Path,
                        progress: Progress | None = None) -> int: ...


def sort_entries(entries: list[Artifact]) -> list[Artifact]:
    """Folders first, then files, each by name (case-insensitive)."""
    return sorted(entries, key=lambda a: (not a.is_dir, a.name.casefold(), a.name))


def check_relative(path: str) -> str:
    """A relative artifact path, "/"-separated, refusing anything that climbs out."""
    clean = PurePosixPath(path.replace("\\", "/"))
    if clean.is_absolute() or ".." in clean.parts:
        raise ArtifactError(f"not an artifact path: {path!r}")
    text = str(clean)
    return "" if text == "." else text


class RestArtifacts:
    """Artifacts through a tracking server (an ApiClient: RestSource)."""

    def __init__(self, api: Any) -> None:
        self.api = api

    async def list(self, run: Run, path: str = "") -> list[Artifact]:
        path = check_relative(path)
        out: list[Artifact] = []
        token: str | None = None
        for _ in range(MAX_LIST_PAGES):
            params: dict[str, Any] = {"run_id": run.run_id}
            if path:
                params["path"] = path
            if token:
                params["page_token"] = token
            try:
                data = await self.api._call("GET", "/api/2.0/mlflow/artifacts/list",
                                            params=params)
            except (NotFound, BadRequest) as exc:
                raise ArtifactError(f"cannot list the artifacts of {run.name or run.run_id}: "
                                    f"{exc.message}",
                                    hint="the run's artifact root may be out of the server's "
                                    "reach (start it with --serve-artifacts, or give it the "
                                    "storage credentials)") from None
            out += [listed(item) for item in data.get("files", []) or []]
            token = data.get("next_page_token")
            if not token:
                break
        return sort_entries(out)

    async def read(self, run: Run, path: str, *, start: int | None = 0,
                   length: int = PREVIEW_BYTES) -> Chunk:
        path = check_relative(path)
        params = {"run_id": run.run_id, "path": path}
        try:
            data, first, total = await _served(
                self.api, lambda: self.api.get_range("/get-artifact", params=params, start=start,
                                                 length=length),
                lambda url: self.api.get_range(url, start=start, length=length),
                lambda: self._signed(run, path))
        except NotFound as exc:
            raise ArtifactError(f"no artifact {path!r}: {exc.message}") from None
        return Chunk(data, first, total)

    async def _signed(self, run: Run, path: str) -> SignedUrl:
        """The presigned storage URL of one of the run's files."""
        proxied = proxied_path(run.artifact_uri)
        if proxied is not None:
            where = quote(f"{proxied}/{path}".strip("/"), safe="/")
            ask = self.api._call("GET", f"/api/2.0/mlflow-artifacts/presigned/{where}")
        else:
            ask = self.api._call("POST", "/api/2.0/mlflow/artifacts/presigned-download-url",
                                 body={"run_id": run.run_id, "path": path})
        return await _signed_url(ask, path)

    async def logged_models(self, run: Run) -> Sequence[LoggedModel]:
        """The run's MLflow 3 logged models; [] from a server without them (2.x: 404)."""
        try:
            data = await self.api._call(
                "POST", "/api/2.0/mlflow/logged-models/search",
                body={"experiment_ids": [run.experiment_id], "max_results": 100,
                      "filter": f"source_run_id = '{run.run_id}'"})
        except (NotFound, BadRequest, MissingRoute):
            return []
        return [logged_model(m) for m in data.get("models") or []]

    def model_files(self, model: LoggedModel) -> ModelArtifacts:
        """The files of one of the run's logged models, read like the run's own."""
        return ModelArtifacts(self.api, model)

    async def save_file(self, run: Run, path: str, dest: Path,
                        progress: Progress | None = None) -> int:
        path = check_relative(path)
        params = {"run_id": run.run_id, "path": path}
        return await _write_new(dest, lambda sink: _served(
            self.api, lambda: self.api.stream_to("/get-artifact", sink, params=params,
                                             progress=progress),
            lambda url: self.api.stream_to(url, sink, progress=progress),
            lambda: self._signed(run, path)))


class ModelArtifacts:
    """The files of an MLflow 3 logged model (MLmodel, the model's files, requirements.txt,
    ...) through the tracking server; the same interface as a run's artifacts (the run is
    not needed: the model's id says where)."""

    def __init__(self, api: Any, model: LoggedModel) -> None:
        self.api = api
        self.model = model
        base = quote(model.model_id, safe="")
        self._list_path = f"/api/2.0/mlflow/logged-models/{base}/artifacts/directories"
        self._file_path = f"/ajax-api/2.0/mlflow/logged-models/{base}/artifacts/files"

    def _what(self) -> str:
        return f"logged model {self.model.name or self.model.model_id}"

    async def list(self, run: Run, path: str = "") -> list[Artifact]:
        path = check_relative(path)
        params = {"artifact_directory_path": path} if path else None
        try:
            data = await self.api._call("GET", self._list_path, params=params)
        except MissingRoute:
            raise ArtifactError(f"cannot list the files of the {self._what()}: this server "
                                "does not serve logged models' files",
                                hint="MLflow 3 servers do") from None
        except (NotFound, BadRequest) as exc:
            raise ArtifactError(f"cannot list the files of the {self._what()}: "
                                f"{exc.message}",
                                hint="the model's artifact location may be out of the "
                                "server's reach") from None
        return sort_entries([listed(item, self.model.model_id)
                             for item in data.get("files", []) or []])

    async def read(self, run: Run, path: str, *, start: int | None = 0,
                   length: int = PREVIEW_BYTES) -> Chunk:
        path = check_relative(path)
        params = {"artifact_file_path": path}
        try:
            data, first, total = await _served(
                self.api, lambda: self.api.get_range(self._file_path, params=params,
                                                     start=start, length=length),
                lambda url: self.api.get_range(url, start=start, length=length),
                lambda: self._signed(path))
        except (NotFound, MissingRoute) as exc:
            raise ArtifactError(f"no file {path!r} in the {self._what()}: "
                                f"{exc.message}") from None
        return Chunk(data, first, total)

    async def _signed(self, path: str) -> SignedUrl:
        return await _signed_url(self.api._call(
            "GET", self._file_path, params={"artifact_file_path": path, "presigned": "true"}),
            path)

    async def save_file(self, run: Run, path: str, dest: Path,
                        progress: Progress | None = None) -> int:
        path = check_relative(path)
        params = {"artifact_file_path": path}
        return await _write_new(dest, lambda sink: _served(
            self.api, lambda: self.api.stream_to(self._file_path, sink, params=params,
                                                 progress=progress),
            lambda url: self.api.stream_to(url, sink, progress=progress),
            lambda: self._signed(path)))


async def _served(api: Any, plain: Callable[[], Awaitable[T]],
                  from_url: Callable[[SignedUrl], Awaitable[T]],
                  sign: Callable[[], Awaitable[SignedUrl]]) -> T:
    """A file the server sends (`plain`), or, from a server that serves files only as
    presigned storage URLs, from the URL it signs (`sign`, then `from_url`). The server's
    refusal is remembered on its ApiClient: later reads ask for the URL first. A signed URL
    expires (in 5 minutes by default), so each read asks for a new one."""
    if not getattr(api, "artifacts_presigned_only", False):
        try:
            return await plain()
        except PresignedOnly:
            api.artifacts_presigned_only = True
    return await from_url(await sign())


async def _signed_url(ask: Awaitable[dict[str, Any]], path: str) -> SignedUrl:
    """The SignedUrl a presigned-URL request answers; an ArtifactError when it answers none.
    The server already accepted this client (it refused the plain read for a presigned URL),
    so a 401/403 now is about signing: MLflow maps the storage's own refusal, a file the
    server's storage credentials cannot read, to 401/403 too."""
    try:
        answer = await ask
    except (NotFound, ConnectionFailed, PresignedOnly):
        raise
    except AuthError as exc:
        raise ArtifactError(f"the server did not sign a URL to read {path!r}: {exc.message}",
                            hint="the experiment may not be readable with these "
                            "credentials, or the server's own storage credentials may "
                            "not read the file") from None
    except TrackingError as exc:
        unsupported = getattr(exc, "status", None) == 501 or "presigned" in exc.message.lower()
        raise ArtifactError(f"the server did not sign a URL to read {path!r}: {exc.message}",
                            hint="the server serves files only as presigned storage URLs, "
                            "and its artifact storage must support them (S3, GCS, Azure)"
                            if unsupported else "") from None
    signed = SignedUrl.from_answer(answer)
    if signed is None:
        raise ArtifactError(f"the server's answer to a presigned-URL request for {path!r} "
                            "has no http(s) URL")
    return signed


def proxied_path(artifact_uri: str) -> str | None:
    """Where a proxied artifact root is in the server's artifact destination
    (``mlflow-artifacts:/1/<run>/artifacts`` or ``http://host/api/2.0/mlflow-artifacts/
    artifacts/1/<run>/artifacts``: ``1/<run>/artifacts``); None for any other root."""
    parts = urlsplit(artifact_uri)
    if parts.scheme == "mlflow-artifacts":
        return unquote(parts.path).strip("/")
    if parts.scheme in ("http", "https") and "/mlflow-artifacts/artifacts" in parts.path:
        return unquote(parts.path.partition("/mlflow-artifacts/artifacts")[2]).strip("/")
    return None


class MissingRoot(ArtifactError):
    """The run's artifact root is not there (nothing logged yet, or the store was moved)."""


class LocalArtifacts:
    """Artifacts of a local store, read from the run's artifact root on this machine. Every
    file-system call runs in a thread (asyncio.to_thread): listing 10,000 files or copying
    300 MB took the event loop (the UI) for a second or more."""

    async def list(self, run: Run, path: str = "") -> list[Artifact]:
        return await asyncio.to_thread(_list_local, run, path)

    async def read(self, run: Run, path: str, *, start: int | None = 0,
                   length: int = PREVIEW_BYTES) -> Chunk:
        return await asyncio.to_thread(self._read, run, path, start, length)

    def _read(self, run: Run, path: str, start: int | None, length: int) -> Chunk:
        file = self._where(run, path)
        try:
            with open(file, "rb") as f:
                total = os.fstat(f.fileno()).st_size
                first = max(0, total - length) if start is None else start
                f.seek(first)
                return Chunk(f.read(length), first, total)
        except IsADirectoryError:
            raise ArtifactError(f"{path!r} is a folder") from None
        except OSError as exc:
            raise ArtifactError(f"cannot read {file}: {exc.strerror or exc}") from None

    async def save_file(self, run: Run, path: str, dest: Path,
                        progress: Progress | None = None) -> int:
        file = self._where(run, path)

        async def copy(sink: Any) -> int:
            try:
                total = (await asyncio.to_thread(file.stat)).st_size
                source = await asyncio.to_thread(open, file, "rb")
            except OSError as exc:
                raise ArtifactError(f"cannot read {file}: {exc.strerror or exc}") from None

            def step() -> int:  # one block, in a thread
                block = source.read(SAVE_BLOCK)
                sink.write(block)
                return len(block)

            done = 0
            try:
                while moved := await asyncio.to_thread(step):
                    done += moved
                    if progress is not None:  # on the event loop: the UI redraws it
                        progress(done, total)
            finally:
                source.close()
            return done

        return await _write_new(dest, copy)

    @staticmethod
    def _where(run: Run, path: str) -> Path:
        return local_root(run.artifact_uri) / check_relative(path)


def _list_local(run: Run, path: str) -> list[Artifact]:
    """LocalArtifacts.list's work (in a thread)."""
    folder = LocalArtifacts._where(run, path)
    if not folder.is_dir():
        if not path:
            root = local_root(run.artifact_uri)
            raise MissingRoot(f"the run's artifact root {root} does not exist",
                              hint="MLflow creates it with the run's first artifact; if "
                              "files were logged, the store was moved or is not mounted")
        raise ArtifactError(f"no artifact folder {path!r} at {folder}")
    out = []
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise ArtifactError(f"cannot list {folder}: {exc.strerror or exc}") from None
    base = check_relative(path)
    for entry in entries:
        rel = f"{base}/{entry.name}" if base else entry.name
        try:
            is_dir = entry.is_dir()
            size = None if is_dir else entry.stat().st_size
        except OSError:
            is_dir, size = False, None
        out.append(Artifact(rel, is_dir, size))
    return sort_entries(out)


def local_root(uri: str) -> Path:
    """The local folder of an artifact root URI (`file:///...`, `file:...` or a plain path),
    or an ArtifactError saying which client reads it."""
    if not uri:
        raise ArtifactError("the store gives no artifact location for this run")
    parts = urlsplit(uri)
    if parts.scheme in ("", "file") or len(parts.scheme) == 1:  # a Windows drive letter
        return Path(unquote(parts.path) if parts.scheme == "file" else uri)
    raise ArtifactError(f"artifacts at {parts.scheme}:// are not on this machine",
                        hint="open the tracking server's URL instead (mlflow server "
                        "--serve-artifacts), or MLflow's own client with its credentials")


async def _write_new(dest: Path, fill: Callable[[Any], Any]) -> int:
    """Create `dest` (its folder too) and fill it; never overwrites a file; a failed or
    cancelled save leaves no partial file."""
    if dest.exists():
        raise ArtifactError(f"{dest} exists already: choose another path")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtifactError(f"cannot create {dest.parent}: {exc.strerror or exc}") from None
    part = dest.with_name(dest.name + ".part")
    try:
        with open(part, "xb") as sink:
            done = await fill(sink)
        os.replace(part, dest)
        return int(done)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ArtifactError(f"cannot write {dest}: {exc.strerror or exc}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise


async def save_tree(store: Artifacts, run: Run, path: str, dest: Path,
                    progress: Progress | None = None) -> tuple[int, int]:
    """Save a file or a whole folder under `dest`: (files, bytes)."""
    entries = await store.list(run, path) if path == "" else None
    if entries is None:
        parent = str(PurePosixPath(path).parent)
        siblings = await store.list(run, "" if parent == "." else parent)
        me = next((e for e in siblings if e.path == path), None)
        if me is None:
            raise ArtifactError(f"no artifact {path!r}")
        if not me.is_dir:
            return 1, await store.save_file(run, path, dest, progress)
        entries = await store.list(run, path)
    files = size = 0
    stack = list(entries)
    while stack:
        entry = stack.pop(0)
        rel = PurePosixPath(entry.path).relative_to(path) if path else PurePosixPath(entry.path)
        if entry.is_dir:
            stack.extend(await store.list(run, entry.path))
            continue
        size += await store.save_file(run, entry.path, dest / rel, progress)
        files += 1
    return files, size



# MLflow 3's log_image(image, key=, step=) writes two files per step under images/:
# "{key}+step+{step}+timestamp+{ms}+{uuid}.png" and the same with "+compressed.webp" (older
# 3.x: "%" instead of "+"; "/" in the key as "~", once "#"). mlflow/tracking/client.py,
# MlflowClient.log_image.
_LOGGED_IMAGE = re.compile(
    r"^(?P<key>.+?)[+%]step[+%](?P<step>\d+)[+%]timestamp[+%](?P<ts>\d+)[+%][0-9a-fA-F-]+"
    r"(?P<compressed>[+%]compressed)?\.(?:png|webp|jpe?g)$")


@dataclass(frozen=True)
class ImageSteps:
    """One key of a run's logged images: its file at each step, in step order."""

    key: str
    steps: tuple[tuple[int, Artifact], ...]

    def index_of(self, path: str) -> int | None:
        return next((i for i, (_, a) in enumerate(self.steps) if a.path == path), None)


def image_steps(entries: Sequence[Artifact]) -> tuple[list[ImageSteps], list[Artifact]]:
    """Group the logged images of a folder's `entries` by key (the full-resolution file of
    each step; the compressed copy only where it is the only one); return (the groups by key,
    the other entries as they were)."""
    found: dict[str, dict[int, tuple[bool, int, Artifact]]] = {}
    rest: list[Artifact] = []
    for entry in entries:
        match = None if entry.is_dir else _LOGGED_IMAGE.match(entry.name)
        if match is None:
            rest.append(entry)
            continue
        key = match["key"].replace("~", "/").replace("#", "/")
        rank = (match["compressed"] is None, int(match["ts"]), entry)
        steps = found.setdefault(key, {})
        step = int(match["step"])
        if step not in steps or rank[:2] > steps[step][:2]:
            steps[step] = rank
    groups = [ImageSteps(key, tuple((step, found[key][step][2]) for step in sorted(found[key])))
              for key in sorted(found)]
    return groups, rest

__all__ = ["Artifact", "ArtifactError", "Artifacts", "Chunk", "ImageSteps", "LocalArtifacts",
           "LoggedModel", "MissingRoot", "ModelArtifacts", "logged_model",
           "PREVIEW_BYTES", "RestArtifacts", "check_relative", "local_root", "save_tree",
           "image_steps", "sort_entries"]
