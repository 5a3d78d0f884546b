"""Real servers on 127.0.0.1 for the network-environment tests (issue 14): an HTTP forward
proxy (what HTTP_PROXY / HTTPS_PROXY name), a reverse proxy (TLS, a path prefix, client
certificates, a bearer-token check that can rotate), a certificate authority made at test time,
and MLflow's own basic-auth server.

The proxies run their own event loop in a thread (like tests/proxy.py), so in-process
`mlflow-tui status`, Pilot tests and subprocesses reach them alike. They only ever connect to
127.0.0.1: a request for any other host is answered 502, never forwarded.

    with ForwardProxy() as proxy:           # HTTP_PROXY=proxy.url
        ...; proxy.targets()                # ["POST http://127.0.0.1:5000/api/...", ...]
    pki = make_pki(tmp)                     # pki.ca, pki.server_context(), pki.client_pem
    with ReverseProxy(server.url, prefix="/mlflow", ssl_context=pki.server_context()) as rp:
        rp.url                              # https://127.0.0.1:PORT/mlflow
        rp.token = "t1"                     # only "Authorization: Bearer t1" gets through
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import ipaddress
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

from tests.server import free_port, stop_process_group

LOOPBACK = "127.0.0.1"
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection",
        "proxy-authorization", "te", "trailer", "upgrade", "content-encoding"}
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           407: "Proxy Authentication Required", 502: "Bad Gateway"}


@dataclass
class Request:
    method: str
    target: str  # as sent: "/path?q", "http://host:port/path", or "host:port" (CONNECT)
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)


@dataclass
class Seen:
    """One request a server handled, as it arrived."""

    method: str
    target: str
    status: int
    authorization: str | None
    tls: bool
    headers: tuple[tuple[str, str], ...] = ()  # every header, as it arrived

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on a connection, or None when the peer closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    length = int(next((v for k, v in headers if k.lower() == "content-length"), "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return Request(method, target, headers, body)


def response_bytes(status: int, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in _HOP]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class Service:
    """An asyncio server on 127.0.0.1 (TLS with `ssl_context`) in its own thread. Subclasses
    implement `handle`: answer one request, return False to end the connection."""

    scheme = "http"

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.port = 0
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        # A refused client certificate or an untrusted server certificate ends a handshake:
        # expected here, not worth a traceback on stderr.
        self._loop.set_exception_handler(lambda loop, context: None)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name=type(self).__name__)
        self._server: asyncio.AbstractServer | None = None
        self._client: httpx.AsyncClient | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def origin(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{LOOPBACK}:{self.port}"

    def start(self):  # type: ignore[no-untyped-def]
        self._thread.start()
        self._call(self._open())
        return self

    def stop(self) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ what it saw
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def record(self, request: Request, status: int) -> None:
        with self._lock:
            self._seen.append(Seen(request.method, request.target, status,
                                   request.header("Authorization"),
                                   self.ssl_context is not None, tuple(request.headers)))

    # ------------------------------------------------------------------ internals
    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(20)

    async def _open(self) -> None:
        # Never the environment's proxies or CA bundles: the proxies talk to 127.0.0.1 only.
        self._client = httpx.AsyncClient(timeout=60.0, trust_env=False)
        extra = {"ssl_handshake_timeout": 10} if self.ssl_context is not None else {}
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0,
                                                  ssl=self.ssl_context, **extra)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await self._server.wait_closed()
        if self._client is not None:
            await self._client.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await read_request(reader)
                if request is None or not await self.handle(request, reader, writer):
                    break
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def answer(self, writer: asyncio.StreamWriter, request: Request, status: int,
                     body: bytes, headers: list[tuple[str, str]] | None = None) -> bool:
        self.record(request, status)  # before the answer: the client may look right after it
        writer.write(response_bytes(status, headers or [("Content-Type", "text/plain")], body))
        await writer.drain()
        return True

    async def forward(self, writer: asyncio.StreamWriter, request: Request, url: str,
                      headers: list[tuple[str, str]]) -> bool:
        """Send `request` on to `url` (on 127.0.0.1) and its answer back."""
        assert self._client is not None
        try:
            upstream = await self._client.request(request.method, url, headers=headers,
                                                  content=request.body)
        except httpx.HTTPError:
            return await self.answer(writer, request, 502, b"upstream unreachable")
        self.record(request, upstream.status_code)
        writer.write(response_bytes(upstream.status_code, list(upstream.headers.multi_items()),
                                    upstream.content))
        await writer.drain()
        return True

    async def handle(self, request: Request, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        raise NotImplementedError


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ForwardProxy(Service):
    """An HTTP forward proxy: absolute-form requests (`GET http://host:port/path`, what a
    client sends for http:// URLs through HTTP_PROXY) are forwarded, CONNECT host:port (https://
    URLs through HTTPS_PROXY) is tunnelled. Both only to 127.0.0.1. An origin-form request (a
    client that took the proxy for the server) gets 400. With `credentials` (user, password),
    a request without that Proxy-Authorization (Basic) gets 407. Records every request."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials

    @property
    def url(self) -> str:
        return self.origin

    def url_with(self, user: str, password: str) -> str:
        return f"http://{quote(user, safe='')}:{quote(password, safe='')}@{LOOPBACK}:{self.port}"

    def targets(self) -> list[str]:
        return [f"{s.method} {s.target}" for s in self.seen()]

    async def handle(self, request: Request, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
            if request.header("Proxy-Authorization") != expected:
                await self.answer(writer, request, 407, b"proxy credentials needed",
                                  [("Content-Type", "text/plain"),
                                   ("Proxy-Authenticate", 'Basic realm="proxy"')])
                return request.method != "CONNECT"
        if request.method == "CONNECT":
            host, _, port = request.target.rpartition(":")
            if not _loopback(host):
                return await self.answer(writer, request, 502, b"loopback only")
            try:
                up_reader, up_writer = await asyncio.open_connection(LOOPBACK, int(port))
            except OSError:
                return await self.answer(writer, request, 502, b"cannot connect")
            self.record(request, 200)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _pipe_both(reader, writer, up_reader, up_writer)
            return False
        parts = urlsplit(request.target)
        if parts.scheme != "http" or not parts.hostname:
            return await self.answer(writer, request, 400,
                                     b"this is a forward proxy: absolute URIs only")
        if not _loopback(parts.hostname):
            return await self.answer(writer, request, 502, b"loopback only")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        # The Host header goes on as the client sent it, as a real proxy does.
        headers = [(k, v) for k, v in request.headers if k.lower() not in _HOP]
        return await self.forward(writer, request, f"http://{LOOPBACK}:{parts.port or 80}{path}",
                                  headers)


async def _pipe_both(r1: asyncio.StreamReader, w1: asyncio.StreamWriter,
                     r2: asyncio.StreamReader, w2: asyncio.StreamWriter) -> None:
    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                dst.close()

    await asyncio.gather(pipe(r1, w2), pipe(r2, w1))


class ReverseProxy(Service):
    """A reverse proxy in front of `upstream` (an http://127.0.0.1 server): serves it under
    `prefix` (the prefix is stripped; anything outside it is an HTML 404, as nginx answers),
    over TLS with `ssl_context`. With `token` set, only `Authorization: Bearer <token>` gets
    through; anything else is a 401 (and is not forwarded). Records every request."""

    def __init__(self, upstream: str, *, prefix: str = "",
                 ssl_context: ssl.SSLContext | None = None, token: str | None = None,
                 refuse_filter: re.Pattern[str] | None = None) -> None:
        super().__init__(ssl_context)
        self.upstream = upstream.rstrip("/")
        assert _loopback(urlsplit(self.upstream).hostname or "")
        self.prefix = prefix.rstrip("/")
        self.token = token
        # A runs/search whose filter matches this gets a 400 INVALID_PARAMETER_VALUE (as
        # Azure ML answers filters it does not support), and is not forwarded.
        self.refuse_filter = refuse_filter

    @property
    def url(self) -> str:
        return self.origin + self.prefix

    async def handle(self, request: Request, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        path = request.target
        if self.prefix:
            if not (path == self.prefix or path.startswith(self.prefix + "/")
                    or path.startswith(self.prefix + "?")):
                return await self.answer(writer, request, 404,
                                         b"<html><title>404 Not Found</title></html>",
                                         [("Content-Type", "text/html")])
            path = path[len(self.prefix):] or "/"
        token = self.token
        if token is not None and request.header("Authorization") != f"Bearer {token}":
            return await self.answer(
                writer, request, 401,
                b'{"error_code": "UNAUTHENTICATED", "message": "invalid or expired token"}',
                [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer")])
        if (self.refuse_filter is not None and path.endswith("/runs/search")
                and self.refuse_filter.search(
                    str(json.loads(request.body or b"{}").get("filter") or ""))):
            return await self.answer(
                writer, request, 400,
                b'{"error_code": "INVALID_PARAMETER_VALUE", '
                b'"message": "This filter is not supported"}',
                [("Content-Type", "application/json")])
        headers = [(k, v) for k, v in request.headers
                   if k.lower() not in _HOP and k.lower() != "host"]
        return await self.forward(writer, request, self.upstream + path, headers)


# ---------------------------------------------------------------------- certificates
@dataclass
class Pki:
    """A CA made for one test module, and what it signed."""

    folder: Path
    ca: Path  # the CA certificate (PEM): what a client must trust
    server_cert: Path  # for 127.0.0.1 and localhost
    server_key: Path
    client_pem: Path  # a client certificate and its key in one PEM file, as requests takes it
    ca_dir: Path  # a folder with the CA under its OpenSSL hash name (SSL_CERT_DIR), if made

    def server_context(self, *, require_client_cert: bool = False) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=self.ca)
        return ctx


def make_pki(folder: Path, name: str = "mlflow-tui test CA",
             server_names: tuple[str, ...] = (LOOPBACK, "localhost")) -> Pki:
    """A fresh CA, a server certificate for `server_names` (IP addresses or host names) and a
    client certificate, written under `folder` (made with `cryptography`, which MLflow
    installs)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    def cert_pem(cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def issue(common: str, usage, sans) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:  # type: ignore[no-untyped-def]
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    def san(text: str) -> x509.GeneralName:
        try:
            return x509.IPAddress(ipaddress.ip_address(text))
        except ValueError:
            return x509.DNSName(text)

    server, server_key = issue(server_names[0], ExtendedKeyUsageOID.SERVER_AUTH,
                               [san(n) for n in server_names])
    client, client_key = issue("mlflow-tui test client", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    pki = Pki(folder, folder / "ca.pem", folder / "server.pem", folder / "server.key",
              folder / "client.pem", folder / "ca-dir")
    pki.ca.write_bytes(cert_pem(ca_cert))
    pki.server_cert.write_bytes(cert_pem(server))
    pki.server_key.write_bytes(key_pem(server_key))
    pki.client_pem.write_bytes(cert_pem(client) + key_pem(client_key))
    # SSL_CERT_DIR wants OpenSSL's hashed names (c_rehash): the CLI computes the hash.
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["openssl", "x509", "-subject_hash", "-noout", "-in",
                               str(pki.ca)], capture_output=True, text=True, timeout=20,
                              check=True)
        pki.ca_dir.mkdir()
        (pki.ca_dir / f"{done.stdout.strip()}.0").write_bytes(pki.ca.read_bytes())
    return pki


# ---------------------------------------------------------------------- basic-auth MLflow
def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


class BasicAuthServer:
    """`mlflow server --app-name basic-auth` on 127.0.0.1 with its own sqlite stores and auth
    config, all under `root` (HOME too, so nothing is written outside it), in its own process
    group. The admin user is `username` / `password` (MLflow ships no default password: it
    creates the admin from the config's admin_password at the first start)."""

    username = "admin"

    def __init__(self, root: Path, password: str) -> None:
        self.root = root
        self.password = password
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log = root / "server.log"
        self.home = root / "home"
        self.config = root / "basic_auth.ini"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = sqlite:///{self.root / 'basic_auth.db'}\n"
            f"admin_username = {self.username}\n"
            f"admin_password = {self.password}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            # Successful checks cached: PBKDF2 costs ~100 ms a request otherwise.
            "auth_cache_ttl_seconds = 300\n"
        )
        env = {k: v for k, v in os.environ.items()
               if not k.upper().endswith("_PROXY") and not k.startswith("MLFLOW_AUTH_")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"),
                   MLFLOW_AUTH_CONFIG_PATH=str(self.config),
                   MLFLOW_FLASK_SERVER_SECRET_KEY=os.urandom(16).hex(),
                   MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
                 "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
                 "--default-artifact-root", str(self.root / "artifacts"), "--workers", "1",
                 "--host", LOOPBACK, "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                cwd=self.root,
            )
        deadline = time.monotonic() + timeout
        while not healthy(self.url):
            if self.proc.poll() is not None:
                raise RuntimeError("mlflow basic-auth server exited:\n"
                                   + self.log.read_text()[-3000:])
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("mlflow basic-auth server did not become healthy:\n"
                                   + self.log.read_text()[-3000:])
            time.sleep(0.2)

    def stop(self, *, graceful: bool = True) -> None:
        """SIGTERM and its graceful timeout; not graceful: SIGKILL at once (a fixture's end)."""
        if self.proc is not None:
            stop_process_group(self.proc, self.port, graceful=graceful)
            self.proc = None

    def api(self, method: str, path: str, body: dict | None = None) -> dict:  # type: ignore[type-arg]
        """One authenticated REST call as the admin (to seed data)."""
        response = httpx.request(method, f"{self.url}/api/2.0/mlflow/{path}", json=body,
                                 auth=(self.username, self.password), timeout=30,
                                 trust_env=False)
        response.raise_for_status()
        return response.json()


@dataclass
class Listing:
    """Every path under a folder with its size and modification time, to show nothing in
    it was created, removed or written."""

    entries: dict[str, tuple[bool, int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, root: Path) -> Listing:
        out = {}
        for path in sorted(root.rglob("*")):
            st = path.lstat()
            out[str(path.relative_to(root))] = (path.is_dir(), 0 if path.is_dir()
                                                else st.st_size, st.st_mtime_ns)
        return cls(out)
