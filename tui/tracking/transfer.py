"""A file's bytes over HTTP, for ApiClient.get_range and stream_to: byte ranges (the head or
the tail of an artifact, never the whole file for a preview), and presigned storage URLs.

A presigned URL (``SignedUrl``) is what an MLflow 3.18+ server started with
``MLFLOW_ARTIFACTS_PRESIGNED_ONLY=true`` gives instead of the file: an S3/GCS/Azure URL whose
query signs the read. It is fetched with none of the tracking server's credentials, headers
or TLS settings (they are the server's, and a signed request carries its own), only the
headers the server listed, with the proxies and the TLS trust MLflow's client uses for storage
(httpenv.network_settings(storage=True)).
Its messages name the host, never the URL: the query is a credential until it expires.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from mlflow_tui.tracking.errors import (
    ConnectionFailed,
    NotFound,
    RangeIgnored,
    ServerError,
    TrackingError,
)

# The most a tail (the end of a file) downloads from a server that ignores byte ranges and
# sends the whole file: past it, RangeIgnored rather than a 5 GB download for 256 KB.
TAIL_LIMIT = 16 * 1024 * 1024


@dataclass(frozen=True)
class SignedUrl:
    """A storage URL a tracking server signed for reading one file, the headers it must be
    sent with, and the file's size when the server said."""

    url: str = field(repr=False)  # its query is a credential until it expires
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    size: int | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc.rpartition("@")[2] or "?"

    async def only_to_its_host(self, request: httpx.Request) -> None:
        """An httpx request hook: the headers the server listed (an SSE-C key, say) go to the
        URL's own host only, never to where a redirect points."""
        if request.url.netloc.decode("ascii", "replace").rpartition("@")[2] != self.host:
            for name in self.headers:
                request.headers.pop(name, None)

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> SignedUrl | None:
        """From a server's answer: ``{"url", "headers", "file_size"}`` (mlflow-artifacts'
        presigned route, a logged model's ``?presigned=true``) or ``{"presigned_url", ...}``
        (``artifacts/presigned-download-url``); None when it holds no http(s) URL."""
        url = answer.get("url") or answer.get("presigned_url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            return None
        headers = answer.get("headers")
        size = answer.get("file_size")
        return cls(url, {str(k): str(v) for k, v in headers.items()}
                   if isinstance(headers, dict) else {},
                   int(size) if isinstance(size, (int, str)) and str(size).isdigit() else None)


def storage_error(target: SignedUrl, status: int, content: bytes) -> TrackingError:
    """The line for a storage's answer other than 200/206 (S3, GCS and Azure answer XML:
    ``<Code>AccessDenied</Code><Message>...</Message>``)."""
    text = content.decode("utf-8", "replace")
    code = _xml_field(text, "Code")
    message = _xml_field(text, "Message")
    what = f"{status} {code}".strip() + (f": {message}" if message else "")
    where = f"the artifact storage {target.host}"
    if status == 404:
        return NotFound(f"{where} has no such file ({what})")
    if status in (400, 401, 403):
        err = TrackingError(f"{where} refused the tracking server's presigned URL ({what})",
                            hint="the server's storage credentials may lack read access, "
                            "or its clock or this machine's is off")
        err.retryable = False
        return err
    err = ServerError(f"{where} answered {what}")
    err.status = status  # type: ignore[attr-defined]
    return err


class StorageUnreachable(ConnectionFailed):
    """The artifact storage behind a presigned URL could not be reached: the tracking server
    itself may be fine (its capabilities are not re-read for this)."""


def storage_transport_error(target: SignedUrl, exc: httpx.HTTPError) -> ConnectionFailed:
    where = f"the artifact storage {target.host}"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return StorageUnreachable(
                f"{where}'s certificate is not trusted "
                f"({cause.verify_message or 'certificate verify failed'})",
                hint="set REQUESTS_CA_BUNDLE to the CA bundle that signed it, or "
                "MLFLOW_S3_IGNORE_TLS=true to skip the check, as for MLflow's client")
        cause = cause.__cause__ or cause.__context__
    kind = ("did not answer in time" if isinstance(exc, httpx.TimeoutException) else
            "could not be reached" if isinstance(exc, httpx.ConnectError) else
            "broke the connection")
    return StorageUnreachable(f"{where} {kind}: {type(exc).__name__}",
                            hint="the server hands out presigned URLs that point there, so "
                            "this machine must reach it; HTTPS_PROXY and NO_PROXY apply")


def _xml_field(text: str, name: str) -> str:
    match = re.search(rf"<{name}>(.*?)</{name}>", text, re.S)
    return " ".join(match.group(1).split())[:200] if match else ""


async def from_whole_file(response: httpx.Response, start: int | None, length: int,
                          count: Any, who: str = "the server"
                          ) -> tuple[bytes, int, int | None]:
    """A byte range's answer from a response holding the whole file: the head read only as
    far as needed; the tail read to the end, but never past TAIL_LIMIT. `count(n)` is told
    the bytes read; `who` sent it (for the message)."""
    chunks: list[bytes] = []
    got = 0
    declared = response.headers.get("content-length")
    size = int(declared) if declared and declared.isdigit() else None
    if start is None and size is not None and size > TAIL_LIMIT:
        raise range_ignored(size, who)
    tail: bytes = b""
    try:
        async for chunk in response.aiter_bytes():
            got += len(chunk)
            if start is None:
                tail = (tail + chunk)[-length:]
                if got > TAIL_LIMIT:
                    raise range_ignored(None, who)
            else:
                chunks.append(chunk)
                if got >= start + length:
                    break
    finally:
        count(got)
    if start is None:
        return tail, max(0, got - len(tail)), size if size is not None else got
    return b"".join(chunks)[start:start + length], start, size


def range_ignored(size: int | None, who: str = "the server") -> RangeIgnored:
    what = f"a {size / 2**20:.1f} MB file" if size is not None else "this file"
    return RangeIgnored(f"{who} sends whole files, not byte ranges: the end of {what} "
                        f"would mean downloading all of it (a tail reads at most "
                        f"{TAIL_LIMIT // 2**20} MB)", hint="t shows its head; s saves it")


def range_total(header: str | None) -> int | None:
    """The size in a Content-Range header (`bytes 0-99/1234` or `bytes */1234`)."""
    if not header or "/" not in header:
        return None
    total = header.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def range_start(header: str | None) -> int | None:
    if not header:
        return None
    match = re.match(r"\s*bytes\s+(\d+)-", header)
    return int(match.group(1)) if match else None
