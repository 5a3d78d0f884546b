"""A stand-in for SageMaker managed MLflow's front door, for tests: a reverse proxy on 127.0.0.1
that checks every request's AWS Signature Version 4 the way AWS does, and passes only good
ones on to a real `mlflow server`.

The check is written here from AWS's published specification, with hashlib and hmac only (no
botocore: the verifier must not share code with the client it checks):

- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
  (canonical request, string to sign, signing key, signature)

For each request it rebuilds the canonical request from what arrived (method, path, query,
the headers named in SignedHeaders, the SHA-256 of the body), the string to sign, and the
signature with the secret key of the access key named in the Credential, then compares. A
request without a signature, with an unknown access key, scoped to another region or service,
dated more than 15 minutes away, without the tracking server ARN header, or whose signature
differs, gets a 403 with AWS's error type and message; nothing of it reaches MLflow.

    with SigV4Front(server.url, keys={"AKID...": "secret"}, region="eu-west-1", arn=ARN) as f:
        f.url          # SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT=f.url
        f.refusals     # ["InvalidSignatureException: ...", ...]
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from tests.netservers import Request, Service

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "sagemaker-mlflow"
ARN_HEADER = "x-mlflow-sm-tracking-server-arn"
MAX_SKEW = 15 * 60  # seconds: AWS refuses a request dated further from its clock
_AUTH = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
                   r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection",
        "te", "trailer", "upgrade", "host", "authorization"}


def uri_encode(text: str) -> str:
    """The spec's UriEncode: every byte but the unreserved A-Z a-z 0-9 - _ . ~ as %XY
    (upper-case hex; a space is %20)."""
    return quote(text, safe="-_.~")


def canonical_uri(path: str) -> str:
    """The path, each segment URI-encoded twice (every service but S3); "/" when empty.
    `path` is as it arrived, already encoded once by the client: decoded first."""
    segments = (path or "/").split("/")
    return "/".join(uri_encode(uri_encode(unquote(s))) for s in segments) or "/"


def canonical_query(query: str) -> str:
    """Names and values URI-encoded, sorted by name then value, joined with &."""
    pairs = [(uri_encode(k), uri_encode(v)) for k, v in parse_qsl(query, keep_blank_values=True)]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_headers(headers: Sequence[tuple[str, str]], signed: Sequence[str]) -> str:
    """`name:value\\n` for each signed header, names lower case, values trimmed with inner runs
    of spaces as one, several values of a name joined with commas, sorted by name."""
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(" ".join(value.split()))
    return "".join(f"{name}:{','.join(values.get(name, []))}\n" for name in sorted(signed))


def canonical_request(method: str, path: str, query: str,
                      headers: Sequence[tuple[str, str]], signed: Sequence[str],
                      body: bytes) -> str:
    return "\n".join([method.upper(), canonical_uri(path), canonical_query(query),
                      canonical_headers(headers, signed), ";".join(sorted(signed)),
                      hashlib.sha256(body).hexdigest()])


def string_to_sign(amz_date: str, scope: str, request: str) -> str:
    return "\n".join([ALGORITHM, amz_date, scope,
                      hashlib.sha256(request.encode()).hexdigest()])


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
    "aws4_request")."""
    k_date = _hmac(("AWS4" + secret).encode(), date)
    return _hmac(_hmac(_hmac(k_date, region), service), "aws4_request")


def signature(secret: str, date: str, region: str, service: str, to_sign: str) -> str:
    return hmac.new(signing_key(secret, date, region, service), to_sign.encode(),
                    hashlib.sha256).hexdigest()


def verify(method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes, *,
           keys: Mapping[str, str], region: str, service: str = SERVICE,
           now: float | None = None) -> tuple[str, str] | None:
    """None when the request is signed right; else (AWS's error type, its message)."""
    def header(name: str) -> str | None:
        return next((v for k, v in headers if k.lower() == name), None)

    auth = header("authorization")
    if not auth:
        return "MissingAuthenticationTokenException", "Missing Authentication Token"
    m = _AUTH.match(auth.strip())
    if m is None:
        return ("IncompleteSignatureException",
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.")
    access_key, _, scope = m["credential"].partition("/")
    parts = scope.split("/")
    if len(parts) != 4 or parts[3] != "aws4_request":
        return "IncompleteSignatureException", f"Credential scope is malformed: {scope}"
    date, scope_region, scope_service, _ = parts
    if access_key not in keys:
        return ("UnrecognizedClientException",
                "The security token included in the request is invalid.")
    if scope_region != region:
        return ("InvalidSignatureException",
                f"Credential should be scoped to a valid region, not '{scope_region}'.")
    if scope_service != service:
        return ("InvalidSignatureException",
                f"Credential should be scoped to correct service: '{service}'.")
    signed = m["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return ("InvalidSignatureException",
                "'Host' and 'X-Amz-Date' must be signed headers.")
    amz_date = header("x-amz-date") or ""
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return "IncompleteSignatureException", "X-Amz-Date is not YYYYMMDDTHHMMSSZ."
    if amz_date[:8] != date:
        return "InvalidSignatureException", "Date in Credential scope does not match X-Amz-Date."
    if abs((time.time() if now is None else now) - when) > MAX_SKEW:
        return "InvalidSignatureException", "Signature expired or not yet current."
    parts_url = urlsplit(target)
    request = canonical_request(method, parts_url.path, parts_url.query, headers, signed, body)
    expected = signature(keys[access_key], date, region, service,
                         string_to_sign(amz_date, scope, request))
    if not hmac.compare_digest(expected, m["signature"]):
        return ("InvalidSignatureException",
                "The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method. Consult the "
                "service documentation for details.")
    return None


class SigV4Front(Service):
    """SageMaker managed MLflow's front door in miniature (see the module's docstring): a
    request signed right for `region` and `sagemaker-mlflow`, carrying the tracking server
    ARN, goes on to `upstream`; any other gets a 403 and is recorded in `refusals`."""

    def __init__(self, upstream: str, *, keys: Mapping[str, str], region: str, arn: str,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.keys = dict(keys)
        self.region = region
        self.arn = arn
        self.clock = clock
        self.refusals: list[str] = []

    @property
    def url(self) -> str:
        return self.origin

    async def handle(self, request: Request, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        refused = verify(request.method, request.target, request.headers, request.body,
                         keys=self.keys, region=self.region, now=self.clock())
        if refused is None and request.header(ARN_HEADER) != self.arn:
            refused = ("ValidationException",
                       f"{ARN_HEADER} must name the tracking server ({self.arn})")
        elif refused is None and ARN_HEADER not in (
                request.header("Authorization") or "").split("SignedHeaders=", 1)[-1]:
            refused = ("InvalidSignatureException", f"{ARN_HEADER} must be signed")
        if refused is not None:
            kind, message = refused
            self.refusals.append(f"{kind}: {message}")
            return await self.answer(
                writer, request, 403, json.dumps({"message": message}).encode(),
                [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind)])
        headers = [(k, v) for k, v in request.headers
                   if k.lower() not in _HOP and not k.lower().startswith("x-amz-")]
        return await self.forward(writer, request, self.upstream + request.target, headers)
