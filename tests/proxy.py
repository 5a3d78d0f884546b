"""A small HTTP proxy on 127.0.0.1 that counts, records and breaks traffic on purpose.

Tests and benchmarks put it between the app and a real `mlflow server` to produce the faults a
network and a busy server produce (slow answers, 5xx, an HTML error page, a connection reset
mid-response, a dead port) and to count requests and bytes. It runs its own event loop in a
thread, so synchronous benchmarks and async Pilot tests use it the same way.

    with FaultProxy(server.url) as proxy:
        app = make_app(Settings(uri=proxy.url))
        proxy.fault = Fault(status=503)     # every request answers 503 until cleared
        proxy.fault = None
        proxy.down(); proxy.up()            # the port refuses connections, then listens again
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
            b"</body>\r\n</html>\r\n")
REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


@dataclass
class Fault:
    """What the proxy does to each request while the fault is set."""

    delay: float = 0.0  # seconds added before answering
    status: int | None = None  # answer with this status instead of forwarding
    html: bool = False  # ... with a reverse proxy's HTML page instead of MLflow's JSON
    body: bytes | None = None  # ... with exactly this body
    reset: bool = False  # forward, then cut the connection halfway through the body
    match: str = ""  # only requests whose path contains this


@dataclass
class Record:
    method: str
    path: str
    status: int
    bytes_out: int  # response bytes written to the client (headers and body)
    bytes_in: int  # request bytes read from the client


@dataclass
class FaultProxy:
    upstream: str
    port: int = 0
    fault: Fault | None = None
    records: list[Record] = field(default_factory=list)
    on_request: Callable[[str, str], None] | None = None
    on_header: Callable[[str], None] | None = None  # each request's Authorization header
    drop_headers: tuple[str, ...] = ()  # request headers not forwarded (lower case): "range"

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="fault-proxy")
        self._server: asyncio.AbstractServer | None = None
        self._client: httpx.AsyncClient | None = None
        self._lock = threading.Lock()
        self._writers: set[asyncio.StreamWriter] = set()

    # ------------------------------------------------------------------ control
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._open_client())
        self.up()
        return self

    def up(self) -> None:
        """Listen (again) on the same port."""
        self._call(self._listen())

    def down(self) -> None:
        """Stop listening and drop open connections: the port refuses, as a dead server's does."""
        self._call(self._close())

    def stop(self) -> None:
        self.down()
        if self._client is not None:
            self._call(self._client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ counters
    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    @property
    def requests(self) -> int:
        return len(self.snapshot())

    @property
    def bytes_out(self) -> int:
        return sum(r.bytes_out for r in self.snapshot())

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path.split('?')[0]}" for r in self.snapshot()]

    # ------------------------------------------------------------------ internals
    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(20)

    async def _open_client(self) -> None:
        self._client = httpx.AsyncClient(base_url=self.upstream, timeout=60.0)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._serve, sock=sock)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            _abort(writer)
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            _abort(writer)

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: list[tuple[str, str]] = []
        length = 0
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            value = value.strip()
            if name.lower() == "content-length":
                length = int(value)
            if name.lower() == "authorization" and self.on_header is not None:
                self.on_header(value)
            if name.lower() not in _HOP and name.lower() != "host" and \
                    name.lower() not in self.drop_headers:
                headers.append((name, value))
        body = await reader.readexactly(length) if length else b""
        if self.on_request is not None:
            self.on_request(method, target)
        fault = self.fault
        if fault is not None and fault.match not in target:
            fault = None
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            if fault.html:
                payload, ctype = fault.body or HTML_502, "text/html"
            elif fault.body is not None:
                payload, ctype = fault.body, "application/json"
            else:
                payload = (b'{"error_code": "INTERNAL_ERROR", "message": "injected fault '
                           + str(fault.status).encode() + b'"}')
                ctype = "application/json"
            out = _response(fault.status, [("Content-Type", ctype)], payload)
            writer.write(out)
            await writer.drain()
            self._record(method, target, fault.status, len(out), len(head) + length)
            return True
        assert self._client is not None
        try:
            upstream = await self._client.request(method, target, headers=headers, content=body)
        except httpx.HTTPError:
            _abort(writer)  # the upstream is gone: so is this connection
            self._record(method, target, 0, 0, len(head) + length)
            return False
        out = _response(upstream.status_code,
                        [(k, v) for k, v in upstream.headers.multi_items()
                         if k.lower() not in _HOP and k.lower() != "content-encoding"],
                        upstream.content)
        if fault is not None and fault.reset:
            writer.write(out[: len(out) // 2])
            await writer.drain()
            _abort(writer)
            self._record(method, target, upstream.status_code, len(out) // 2, len(head) + length)
            return False
        writer.write(out)
        await writer.drain()
        self._record(method, target, upstream.status_code, len(out), len(head) + length)
        return True

    def _record(self, method: str, target: str, status: int, out: int, inn: int) -> None:
        with self._lock:
            self.records.append(Record(method, target, status, out, inn))


def _response(status: int, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (SO_LINGER 0), as a crashed peer does, not a polite FIN."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            linger_zero = b"\x01\x00\x00\x00\x00\x00\x00\x00"
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_zero)
    except OSError:
        pass
    writer.transport.abort()
