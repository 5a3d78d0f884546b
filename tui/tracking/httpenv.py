"""The network environment MLflow's own client honours, for httpx: proxies, CA bundles, client
certificates, TLS verification switches. "mlflow works in this shell" should mean mlflow-tui
does too.

MLflow's client is `requests` with `trust_env`: HTTP_PROXY / HTTPS_PROXY / ALL_PROXY /
NO_PROXY, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, plus MLflow's MLFLOW_TRACKING_SERVER_CERT_PATH,
MLFLOW_TRACKING_CLIENT_CERT_PATH and MLFLOW_TRACKING_INSECURE_TLS
(mlflow/utils/rest_utils.py, mlflow/utils/request_utils.py), and the tracking host's login in
$NETRC or ~/.netrc when no credentials are given (netrc_login; tui/tracking/api.py decides).
OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR are honoured too, as httpx and most command-line tools
do.

Everything is read from the `environ` mapping given (the process environment by default), so
that tests can hand in their own.
"""

from __future__ import annotations

import ipaddress
import netrc
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

__all__ = ["NetworkSettings", "TLS_HINT", "netrc_login", "network_settings", "proxy_for"]

_TRUE = {"1", "true", "yes", "on"}

TLS_HINT = ("set MLFLOW_TRACKING_SERVER_CERT_PATH (or REQUESTS_CA_BUNDLE) to the CA bundle that "
            "signed it, or MLFLOW_TRACKING_INSECURE_TLS=true to skip the check")


def _get(environ: Mapping[str, str], name: str) -> str:
    """An environment variable, upper or lower case (proxies are often set lower case)."""
    return _named(environ, name)[1]


def _named(environ: Mapping[str, str], name: str) -> tuple[str, str]:
    """(the spelling found, its value): NAME, else name; ("", "") when neither is set."""
    for spelling in (name, name.lower()):
        value = (environ.get(spelling) or "").strip()
        if value:
            return spelling, value
    return "", ""


@dataclass(frozen=True)
class NetworkSettings:
    verify: ssl.SSLContext
    ca_source: str  # which variable gave the CA bundle, "" for the defaults, "insecure"
    proxies: Mapping[str, str]  # "http" / "https" -> proxy URL
    no_proxy: tuple[str, ...]
    client_cert: str | None
    # "http" / "https" -> the variable the proxy came from (HTTP_PROXY, https_proxy, ...)
    proxy_sources: Mapping[str, str] = field(default_factory=dict)


# Where the trust for TLS comes from, in order: the tracking server's own variable, then the
# generic ones requests and OpenSSL read.
_CA_VARS = ("MLFLOW_TRACKING_SERVER_CERT_PATH", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
            "SSL_CERT_FILE", "SSL_CERT_DIR")


def _context(environ: Mapping[str, str], *, insecure: str = "MLFLOW_TRACKING_INSECURE_TLS",
             ca_vars: tuple[str, ...] = _CA_VARS) -> tuple[ssl.SSLContext, str]:
    """The TLS context and the variable its trust came from."""
    if _get(environ, insecure).lower() in _TRUE:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx, insecure
    for name in ca_vars:
        path = _get(environ, name)
        if not path:
            continue
        try:
            if os.path.isdir(path):
                return ssl.create_default_context(capath=path), name
            return ssl.create_default_context(cafile=path), name
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"{name}={path}: cannot read a CA bundle there "
                             f"({getattr(exc, 'strerror', None) or exc})") from None
    # The defaults: the system's trust store and certifi's bundle (requests' default), so
    # that a corporate CA installed in either is trusted, as MLflow's client trusts it.
    ctx = ssl.create_default_context()
    try:
        import certifi

        ctx.load_verify_locations(cafile=certifi.where())
    except (ImportError, OSError, ssl.SSLError):
        pass
    return ctx, ""


def network_settings(environ: Mapping[str, str] | None = None, *,
                     storage: bool = False) -> NetworkSettings:
    """Read the environment. Raises ValueError (one line, naming the variable) when a
    certificate file it names cannot be used.

    `storage`: the settings for a presigned storage URL (S3, GCS, Azure) instead of the
    tracking server, as MLflow's client reads one (requests' defaults, verify=not
    MLFLOW_S3_IGNORE_TLS): the same proxies and generic CA variables, but none of the
    tracking server's TLS settings (its CA, MLFLOW_TRACKING_INSECURE_TLS, its client
    certificate), which are for that server alone."""
    env = os.environ if environ is None else environ
    if storage:
        ctx, source = _context(env, insecure="MLFLOW_S3_IGNORE_TLS", ca_vars=_CA_VARS[1:])
    else:
        ctx, source = _context(env)
    cert = None if storage else _get(env, "MLFLOW_TRACKING_CLIENT_CERT_PATH") or None
    if cert:
        try:
            ctx.load_cert_chain(cert)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"MLFLOW_TRACKING_CLIENT_CERT_PATH={cert}: cannot use it as a "
                             f"client certificate ({getattr(exc, 'strerror', None) or exc})"
                             ) from None
    proxies: dict[str, str] = {}
    sources: dict[str, str] = {}
    all_proxy = _named(env, "ALL_PROXY")
    for scheme in ("http", "https"):
        name, value = _named(env, f"{scheme.upper()}_PROXY")
        if not value:
            name, value = all_proxy
        if value:
            proxies[scheme] = value if "://" in value else f"http://{value}"
            sources[scheme] = name
    no_proxy = tuple(h.strip().lower() for h in _get(env, "NO_PROXY").split(",") if h.strip())
    return NetworkSettings(ctx, source, proxies, no_proxy, cert, sources)


def _bypassed(host: str, no_proxy: tuple[str, ...]) -> bool:
    """NO_PROXY as curl and requests read it: "*", host names and domain suffixes (with or
    without a leading dot), IP addresses and CIDR blocks; a ":port" is ignored."""
    host = host.lower().strip("[]")
    for entry in no_proxy:
        if entry == "*":
            return True
        entry = entry.strip("[]")
        name = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                return True
            continue
        except ValueError:
            pass
        name = name.lstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def proxy_for(url: str, settings: NetworkSettings) -> str | None:
    """The proxy URL to reach `url` through, or None for a direct connection."""
    parts = urlsplit(url)
    proxy = settings.proxies.get(parts.scheme)
    if proxy is None or _bypassed(parts.hostname or "", settings.no_proxy):
        return None
    return proxy


def transport(url: str, settings: NetworkSettings, **kwargs: object) -> httpx.AsyncHTTPTransport:
    """An httpx transport for `url` with the TLS context and the proxy (if any) it needs."""
    proxy = proxy_for(url, settings)
    return httpx.AsyncHTTPTransport(verify=settings.verify, proxy=proxy, **kwargs)  # type: ignore[arg-type]


def netrc_login(host: str | None, env: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(login, password, the file) of `host`'s entry, or of the default entry, in the netrc
    file requests reads: $NETRC, else the first of ~/.netrc and ~/_netrc that exists. None
    when there is none, or the file cannot be read or parsed (requests ignores it then)."""
    if not host:
        return None
    named = (env.get("NETRC") or "").strip()
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    places = [Path(named).expanduser()] if named else [home / ".netrc", home / "_netrc"]
    path = next((p for p in places if p.is_file()), None)
    if path is None:
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (OSError, UnicodeDecodeError, netrc.NetrcParseError):
        return None
    if not entry or not (entry[0] or entry[1] or entry[2]):
        return None
    login, account, password = entry
    return (login or account or ""), (password or ""), str(path)
