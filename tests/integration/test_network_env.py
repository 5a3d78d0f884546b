"""Issue 14's acceptance, against real servers on 127.0.0.1 (no mocked network): the network
environment MLflow's client honours works the same for mlflow-tui.

1. HTTP_PROXY / http_proxy / ALL_PROXY carry every request through a forward proxy; NO_PROXY
   bypasses it; HTTPS_PROXY tunnels https:// with CONNECT.
2. A TLS reverse proxy with a CA made here, serving MLflow under /mlflow/: an untrusted CA is
   one line naming the variables to set; each CA variable (and MLFLOW_TRACKING_INSECURE_TLS)
   makes it work; a client certificate from MLFLOW_TRACKING_CLIENT_CERT_PATH.
3. MLflow's own basic-auth server: no credentials, a wrong password, the right one.
4. token_command: tokens from a command, rotated while the app runs (the server refuses the
   old one), and a command that fails.
5. Relative local URIs (sqlite:///mlflow.db, file:./mlruns) from the working folder, which is
   left as it was.

Servers are shared per module; `status` runs in-process through `mlflow_tui.cli.main` (the same
code as the console script; one test runs the real command in a subprocess).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from mlflow.entities import Metric

from mlflow_tui.tracking.rest import CREDENTIALS_HINT
from tests.conftest import running, wait_rows, wait_until
from tests.netservers import (
    BasicAuthServer,
    ForwardProxy,
    Listing,
    Pki,
    ReverseProxy,
    make_pki,
)
from tests.server import free_port
from tests.status_cli import one_error_line, run_ids, status

pytestmark = pytest.mark.server

# Everything that steers the client's network: none may leak in from the developer's shell.
NETWORK_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE",
                "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR",
                "MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_CLIENT_CERT_PATH",
                "MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_USERNAME",
                "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_URI",
                "MLFLOW_WORKSPACE", "MLFLOW_ALLOW_FILE_STORE")


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in NETWORK_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # no netrc unless a test writes one
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path




def _log_run(client, experiment_id: str, name: str) -> str:
    rid = client.create_run(experiment_id, run_name=name).info.run_id
    now = int(time.time() * 1000)
    client.log_batch(rid, metrics=[Metric(k, v / (s + 1), now + s, s) for s in range(10)
                                   for k, v in (("train_loss", 1.0), ("val_loss", 1.2))])
    client.set_terminated(rid, "FINISHED")
    return rid


@pytest.fixture(scope="module")
def upstream(mlflow_server):
    """The session's real server with one experiment of one finished run for this module."""
    running(mlflow_server)  # restarted if an earlier module stopped it
    client = mlflow_server.client()
    name = f"net/{uuid.uuid4().hex[:6]}"
    exp = client.create_experiment(name)
    return {"url": mlflow_server.url, "experiment": name, "run_id": _log_run(client, exp, "r"),
            "client": client}


# ---------------------------------------------------------------------- 1. forward proxy
@pytest.fixture(scope="module")
def forward_proxy():
    with ForwardProxy() as proxy:
        yield proxy


@pytest.fixture(scope="module")
def front(upstream):
    """A plain counting reverse proxy standing for "the server": everything that reached
    it, proxied or direct, is recorded, so the forward proxy's record can be compared."""
    with ReverseProxy(upstream["url"]) as rp:
        yield rp


@pytest.mark.parametrize("var", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_http_proxy_carries_every_request(var, upstream, forward_proxy, front, monkeypatch,
                                          capsys):
    forward_proxy.clear()
    front.clear()
    monkeypatch.setenv(var, forward_proxy.url)
    code, out, err = status(capsys, front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}
    proxied = forward_proxy.targets()
    reached = front.seen()
    assert any("/api/2.0/mlflow/runs/search" in t for t in proxied)
    # Every request the server got came through the proxy, as an absolute-form request for
    # the server's URL (what a proxy needs); none went around it.
    assert len(proxied) == len(reached)
    assert proxied == [f"{s.method} {front.url}{s.target}" for s in reached]


@pytest.mark.parametrize("var,value", [
    ("NO_PROXY", "127.0.0.1"),
    ("no_proxy", "127.0.0.1"),
    ("NO_PROXY", "example.com, 127.0.0.0/8"),
    ("NO_PROXY", "*"),
])
def test_no_proxy_bypasses_the_proxy(var, value, upstream, forward_proxy, front, monkeypatch,
                                     capsys):
    forward_proxy.clear()
    front.clear()
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    monkeypatch.setenv(var, value)
    code, out, err = status(capsys, front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}
    assert front.seen(), "the server was reached"
    assert forward_proxy.targets() == []


def test_no_proxy_for_other_hosts_still_proxies(upstream, forward_proxy, front, monkeypatch,
                                                capsys):
    forward_proxy.clear()
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,.corp.example,10.0.0.0/8,127.0.0.10")
    code, out, err = status(capsys, front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert forward_proxy.targets() and all(t.split()[1].startswith(front.url + "/")
                                           for t in forward_proxy.targets())


def test_console_command_honours_lower_case_http_proxy(upstream, forward_proxy, front,
                                                       clean_env):
    """The real command in a subprocess, the proxy in its environment (lower case, as many
    shells set it)."""
    forward_proxy.clear()
    env = {k: v for k, v in os.environ.items()
           if k.upper() not in NETWORK_VARS}
    env.update(http_proxy=forward_proxy.url, XDG_CONFIG_HOME=str(clean_env / "xdg"))
    proc = subprocess.run([sys.executable, "-m", "mlflow_tui", "status", front.url, "-e",
                           upstream["experiment"], "--json"], capture_output=True, text=True,
                          timeout=120, cwd=clean_env, env=env)
    assert proc.returncode == 0, proc.stderr
    assert run_ids(proc.stdout) == {upstream["run_id"]}
    assert any("/api/2.0/mlflow/runs/search" in t for t in forward_proxy.targets())


def test_a_dead_proxy_is_one_line_naming_the_proxy(upstream, front, monkeypatch, capsys):
    """The server is up; the proxy is not: the message must say so, not "is the server
    running?"."""
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("http_proxy", dead)
    front.clear()
    started = time.monotonic()
    code, out, err = status(capsys, front.url, "-e", upstream["experiment"], "--json")
    assert code == 1 and out == ""
    assert one_error_line(err) == (
        f"connection refused by the proxy {dead} (from http_proxy; is it running? "
        "NO_PROXY=127.0.0.1 goes around it)")
    assert front.seen() == []
    assert time.monotonic() - started < 30


@pytest.fixture(scope="module")
def guarded_proxy():
    """A forward proxy that wants a user and password (Proxy-Authorization: Basic)."""
    with ForwardProxy(credentials=("proxy-user", "px-" + secrets.token_hex(6))) as proxy:
        yield proxy


def test_proxy_credentials_from_the_proxy_url(upstream, front, guarded_proxy, monkeypatch,
                                              capsys):
    user, password = guarded_proxy.credentials
    monkeypatch.setenv("HTTP_PROXY", guarded_proxy.url_with(user, password))
    guarded_proxy.clear()
    code, out, err = status(capsys, front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}
    statuses = [s.status for s in guarded_proxy.seen()]
    assert statuses and 407 not in statuses, "the credentials went with the first request"


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("given", ["none", "wrong"])
def test_proxy_that_wants_credentials_is_one_line(scheme, given, upstream, front, tls_front,
                                                  pki, guarded_proxy, monkeypatch, capsys):
    """http:// URLs get the proxy's 407 as an answer; https:// ones as a refused CONNECT.
    Either way: one line that says it is the proxy, and where the credentials go."""
    user, password = guarded_proxy.credentials
    wrong = "wrong-" + secrets.token_hex(6)
    proxy = guarded_proxy.url if given == "none" else guarded_proxy.url_with(user, wrong)
    var = f"{scheme.upper()}_PROXY"
    monkeypatch.setenv(var, proxy)
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(pki.ca))
    target = front if scheme == "http" else tls_front
    target.clear()
    code, out, err = status(capsys, target.url, "-e", upstream["experiment"], "--json")
    assert code == 1 and out == ""
    message = one_error_line(err)
    if given == "none":
        assert message == (f"the proxy {guarded_proxy.url} needs credentials (407) (put them "
                           f"in {var}: http://user:password@host:port)")
    else:
        assert message == (f"the proxy http://***@127.0.0.1:{guarded_proxy.port} refused its "
                           f"credentials (407) (check the user name and password in {var})")
        assert wrong not in err and user not in err
    assert target.seen() == []


# ---------------------------------------------------------------------- 2. TLS under a prefix
@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    """A CA that signed nothing the servers here present."""
    return make_pki(tmp_path_factory.mktemp("other-pki"), name="some other CA").ca


@pytest.fixture(scope="module")
def tls_front(upstream, pki):
    with ReverseProxy(upstream["url"], prefix="/mlflow", ssl_context=pki.server_context()) as rp:
        yield rp


def test_tls_proxy_url_shape(tls_front):
    assert tls_front.url.startswith("https://127.0.0.1:") and tls_front.url.endswith("/mlflow")


def test_untrusted_ca_is_one_line_naming_the_variables(upstream, tls_front, capsys):
    tls_front.clear()
    code, out, err = status(capsys, tls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 1 and out == ""
    message = one_error_line(err)
    assert tls_front.url in message and "not trusted" in message
    assert "MLFLOW_TRACKING_SERVER_CERT_PATH" in message and "REQUESTS_CA_BUNDLE" in message
    assert tls_front.seen() == [], "no request may be sent over an unverified connection"


@pytest.mark.parametrize("var", ["MLFLOW_TRACKING_SERVER_CERT_PATH", "REQUESTS_CA_BUNDLE",
                                 "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_each_ca_variable_makes_it_trusted(var, upstream, tls_front, pki, monkeypatch, capsys):
    if var == "SSL_CERT_DIR":
        if not pki.ca_dir.is_dir():
            pytest.skip("no openssl command to name the CA in a hashed folder")
        monkeypatch.setenv(var, str(pki.ca_dir))
    else:
        monkeypatch.setenv(var, str(pki.ca))
    tls_front.clear()
    code, out, err = status(capsys, tls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}
    seen = tls_front.seen()
    assert seen and all(s.tls and s.target.startswith("/mlflow/") for s in seen)
    assert any(s.target.startswith("/mlflow/api/2.0/mlflow/runs/search") for s in seen)


def test_insecure_tls_skips_the_check(upstream, tls_front, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    code, out, err = status(capsys, tls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "false")
    code, _, err = status(capsys, tls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 1 and "not trusted" in one_error_line(err)


def test_mlflow_cert_path_wins_over_requests_ca_bundle(upstream, tls_front, pki, other_ca,
                                                       monkeypatch, capsys):
    """As in MLflow's client: MLFLOW_TRACKING_SERVER_CERT_PATH is the one used when both are
    set."""
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(pki.ca))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_ca))
    code, out, err = status(capsys, tls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(other_ca))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))
    code, out, err = status(capsys, tls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 1 and "not trusted" in one_error_line(err)


def test_a_ca_file_that_cannot_be_read_is_one_line_naming_it(upstream, tls_front, clean_env,
                                                             monkeypatch, capsys):
    missing = clean_env / "no-such-ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(missing))
    code, out, err = status(capsys, tls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 1 and out == ""
    message = one_error_line(err)
    assert f"REQUESTS_CA_BUNDLE={missing}" in message


def test_the_url_without_its_prefix_says_there_is_no_mlflow_api(upstream, tls_front, pki,
                                                                monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(pki.ca))
    root = tls_front.url.removesuffix("/mlflow")
    code, out, err = status(capsys, root, "-e", upstream["experiment"], "--json")
    assert code == 1 and out == ""
    message = one_error_line(err)
    assert "404" in message and "check the URI" in message, message


@pytest.fixture(scope="module")
def mtls_front(upstream, pki):
    ctx = pki.server_context(require_client_cert=True)
    with ReverseProxy(upstream["url"], prefix="/mlflow", ssl_context=ctx) as rp:
        yield rp


def test_client_certificate_from_mlflow_variable(upstream, mtls_front, pki, monkeypatch,
                                                 capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(pki.ca))
    code, out, err = status(capsys, mtls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 1 and out == ""
    message = one_error_line(err)
    assert mtls_front.url in message and "MLFLOW_TRACKING_CLIENT_CERT_PATH" in message
    assert mtls_front.seen() == []
    monkeypatch.setenv("MLFLOW_TRACKING_CLIENT_CERT_PATH", str(pki.client_pem))
    code, out, err = status(capsys, mtls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}


@pytest.fixture(scope="module")
def localhost_front(upstream, tmp_path_factory):
    """A TLS proxy whose certificate names localhost only (not 127.0.0.1), and its CA."""
    pki = make_pki(tmp_path_factory.mktemp("localhost-pki"), server_names=("localhost",))
    with ReverseProxy(upstream["url"], prefix="/mlflow", ssl_context=pki.server_context()) as rp:
        yield rp, pki.ca


def test_certificate_for_another_name_says_so(upstream, localhost_front, monkeypatch,
                                              capsys):
    front, ca = localhost_front
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    code, out, err = status(capsys, front.url, "-e", upstream["experiment"], "--json")
    assert code == 1 and out == ""
    message = one_error_line(err)
    assert "certificate is for another host name" in message and "127.0.0.1" in message
    assert "REQUESTS_CA_BUNDLE" not in message, "the CA is trusted: another CA will not help"
    code, out, err = status(capsys, front.url.replace("127.0.0.1", "localhost"), "-e",
                            upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}


def test_https_proxy_tunnels_with_connect(upstream, tls_front, forward_proxy, pki,
                                          monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(pki.ca))
    authority = tls_front.origin.removeprefix("https://")
    # HTTP_PROXY alone is for http:// URLs: https:// goes direct.
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    forward_proxy.clear()
    code, out, err = status(capsys, tls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert forward_proxy.targets() == []
    monkeypatch.setenv("HTTPS_PROXY", forward_proxy.url)
    tls_front.clear()
    code, out, err = status(capsys, tls_front.url, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}
    tunnels = forward_proxy.targets()
    assert tunnels and set(tunnels) == {f"CONNECT {authority}"}
    assert tls_front.seen(), "the requests went through the tunnel to the TLS proxy"


# ---------------------------------------------------------------------- 3. basic auth
@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("basic-auth")
    server = BasicAuthServer(root, password="pw-" + secrets.token_hex(8))
    server.start()
    try:
        exp = server.api("POST", "experiments/create", {"name": "guarded"})["experiment_id"]
        run = server.api("POST", "runs/create", {"experiment_id": exp, "run_name": "secret-run",
                                                 "start_time": int(time.time() * 1000)})
        rid = run["run"]["info"]["run_id"]
        server.api("POST", "runs/log-metric", {"run_id": rid, "key": "train_loss",
                                               "value": 0.5, "step": 1,
                                               "timestamp": int(time.time() * 1000)})
        server.run_id = rid  # type: ignore[attr-defined]
        yield server
    finally:
        server.stop(graceful=False)
    # Nothing outside its folder: the config, both databases and HOME are under `root`.
    assert (root / "basic_auth.db").is_file() and (root / "mlflow.db").is_file()


def test_basic_auth_without_credentials_needs_them(auth_server, capsys):
    code, out, err = status(capsys, auth_server.url, "-e", "guarded", "--json")
    assert code == 1 and out == ""
    assert one_error_line(err) == f"{auth_server.url} needs credentials (401) ({CREDENTIALS_HINT})"


def test_basic_auth_wrong_password_is_refused_and_never_shown(auth_server, monkeypatch,
                                                              capsys):
    wrong = "wrong-" + secrets.token_hex(6)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", auth_server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", wrong)
    code, out, err = status(capsys, auth_server.url, "-e", "guarded", "--json")
    assert code == 1 and out == ""
    message = one_error_line(err)
    assert message.startswith(f"{auth_server.url} refused the credentials (401)"), message
    assert wrong not in err and auth_server.password not in err


def test_basic_auth_wrong_password_in_the_uri_is_refused_and_never_shown(auth_server,
                                                                         capsys):
    wrong = "wrong-" + secrets.token_hex(6)
    url = auth_server.url.replace("http://", f"http://{auth_server.username}:{wrong}@")
    code, out, err = status(capsys, url, "-e", "guarded", "--json")
    assert code == 1 and out == ""
    message = one_error_line(err)
    assert "refused the credentials (401)" in message and "***@127.0.0.1" in message
    assert wrong not in err and auth_server.username + ":" not in err


@pytest.mark.parametrize("where", ["environment", "uri"])
def test_basic_auth_right_password_lists_the_runs(where, auth_server, monkeypatch, capsys):
    url = auth_server.url
    if where == "environment":
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", auth_server.username)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", auth_server.password)
    else:
        url = url.replace("http://", f"http://{auth_server.username}:{auth_server.password}@")
    code, out, err = status(capsys, url, "-e", "guarded", "--json")
    assert code == 0, err
    assert run_ids(out) == {auth_server.run_id}
    assert auth_server.password not in out + err
    # The table too (it shows the server nowhere, but nothing may leak either way).
    code, out, err = status(capsys, url, "-e", "guarded")
    assert code == 0 and "secret-run" in out and auth_server.password not in out + err


def _netrc(path: Path, login: str, password: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"machine other.example\n  login someone\n  password elsewhere\n\n"
                    f"machine 127.0.0.1\n  login {login}\n  password {password}\n")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("where", ["NETRC", "HOME"])
def test_basic_auth_from_netrc_lists_the_runs(where, auth_server, clean_env, monkeypatch,
                                              capsys):
    """No credentials given: the tracking host's entry in $NETRC, else ~/.netrc, as
    requests (under MLflow's client) reads it. Its password is never shown."""
    if where == "NETRC":
        path = _netrc(clean_env / "credentials" / "netrc", auth_server.username,
                      auth_server.password)
        monkeypatch.setenv("NETRC", str(path))
    else:
        _netrc(clean_env / "home" / ".netrc", auth_server.username, auth_server.password)
        monkeypatch.setenv("HOME", str(clean_env / "home"))
        monkeypatch.delenv("NETRC")
    code, out, err = status(capsys, auth_server.url, "-e", "guarded", "--json")
    assert code == 0, err
    assert run_ids(out) == {auth_server.run_id}
    assert auth_server.password not in out + err


def test_mlflow_credentials_win_over_netrc(auth_server, clean_env, monkeypatch, capsys):
    """MLFLOW_TRACKING_USERNAME/PASSWORD come first: a wrong pair is refused even with the
    right login in the netrc file."""
    monkeypatch.setenv("NETRC", str(_netrc(clean_env / "netrc", auth_server.username,
                                           auth_server.password)))
    wrong = "wrong-" + secrets.token_hex(6)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", auth_server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", wrong)
    code, out, err = status(capsys, auth_server.url, "-e", "guarded", "--json")
    assert code == 1 and out == ""
    assert "refused the credentials (401)" in one_error_line(err)
    assert wrong not in err and auth_server.password not in err


def test_wrong_netrc_password_is_refused_naming_the_file(auth_server, clean_env, monkeypatch,
                                                         capsys):
    wrong = "wrong-" + secrets.token_hex(6)
    path = _netrc(clean_env / "netrc", auth_server.username, wrong)
    monkeypatch.setenv("NETRC", str(path))
    code, out, err = status(capsys, auth_server.url, "-e", "guarded", "--json")
    assert code == 1 and out == ""
    assert one_error_line(err) == (f"{auth_server.url} refused the credentials (401) "
                                   f"(check the login and password in {path})")
    assert wrong not in err


# ---------------------------------------------------------------------- 4. token_command
class Tokens:
    """A token file, and a command printing its content (and counting its runs)."""

    def __init__(self, folder: Path) -> None:
        self.file = folder / "token.txt"
        self.log = folder / "runs.txt"
        script = textwrap.dedent(f"""\
            import pathlib
            pathlib.Path({str(self.log)!r}).open("a").write("ran\\n")
            print(pathlib.Path({str(self.file)!r}).read_text().strip())""")
        self.command = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"

    def set(self, token: str) -> None:
        self.file.write_text(token + "\n")

    @property
    def runs(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0


@pytest.fixture(scope="module")
def token_front(upstream):
    """An auth-checking proxy: only `Bearer <token_front.token>` gets through."""
    with ReverseProxy(upstream["url"], token="not-yet") as rp:
        yield rp


def _config(path: Path, command: str) -> Path:
    path.write_text(f"token_command = {json.dumps(command)}\n")
    return path


def test_token_command_from_the_config_file(upstream, token_front, clean_env, capsys):
    tokens = Tokens(clean_env)
    first = "tok-" + secrets.token_hex(8)
    tokens.set(first)
    token_front.token = first
    token_front.clear()
    config = _config(clean_env / "config.toml", tokens.command)
    code, out, err = status(capsys, token_front.url, "--config", str(config), "-e",
                            upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}
    seen = token_front.seen()
    assert seen and {s.authorization for s in seen} == {f"Bearer {first}"}
    assert {s.status for s in seen} <= {200, 404}  # no 401: the token was sent from the start
    assert tokens.runs == 1
    assert first not in out + err


async def test_rotated_token_is_renewed_without_the_user(upstream, token_front, clean_env):
    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings

    tokens = Tokens(clean_env)
    old, new = "old-" + secrets.token_hex(8), "new-" + secrets.token_hex(8)
    tokens.set(old)
    token_front.token = old
    client = upstream["client"]
    name = f"net/rotate/{uuid.uuid4().hex[:6]}"
    exp = client.create_experiment(name)
    _log_run(client, exp, "before")
    app = make_app(Settings(uri=token_front.url, experiments=[name], interval=0.5,
                            token_command=tokens.command))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_rows(app, 1, timeout=20)
        await wait_until(lambda: app.session.state == "live", timeout=10)
        assert tokens.runs == 1
        # The token expires: the identity provider hands out a new one, the server refuses
        # the old one from now on.
        tokens.set(new)
        token_front.token = new
        mark = len(token_front.seen())
        _log_run(client, exp, "after")
        states: set[str] = set()

        def second_row() -> bool:
            states.add(app.session.state)
            return app.monitor is not None and app.monitor.query_one(
                "RunTable").row_count == 2

        await wait_until(second_row, timeout=20, message="the run logged after the rotation")
        assert states == {"live"}, f"the user saw {states}"
        after = token_front.seen()[mark:]
        refused = [i for i, s in enumerate(after) if s.status == 401]
        assert refused, "the server refused the old token at least once"
        assert all(after[i].authorization == f"Bearer {old}" for i in refused)
        first_new = next(i for i, s in enumerate(after) if s.authorization == f"Bearer {new}")
        assert first_new > refused[0] and after[first_new].status == 200
        assert all(s.authorization == f"Bearer {new}" for s in after[first_new:])
        assert tokens.runs == 2, "the command ran once more, once"
        await pilot.press("q")


def test_token_command_that_fails_is_one_line_naming_it(upstream, token_front, clean_env,
                                                        capsys):
    script = "import sys; print('please run: login --device', file=sys.stderr); sys.exit(3)"
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    config = _config(clean_env / "config.toml", command)
    token_front.clear()
    code, out, err = status(capsys, token_front.url, "--config", str(config), "-e",
                            upstream["experiment"], "--json")
    assert code == 1 and out == ""
    message = one_error_line(err)
    assert message.startswith("token_command failed (exit 3): please run: login --device")
    assert "token_command" in message
    # (A request of an earlier test, still in flight, may land meanwhile: it has its token.)
    unsigned = [s for s in token_front.seen() if not s.authorization]
    assert unsigned == [], "nothing is sent without a token"


def test_token_the_server_keeps_refusing_is_renewed_once_then_reported(
        upstream, token_front, clean_env, capsys):
    tokens = Tokens(clean_env)
    stale = "stale-" + secrets.token_hex(8)
    tokens.set(stale)
    token_front.token = "something-else"
    token_front.clear()
    config = _config(clean_env / "config.toml", tokens.command)
    code, out, err = status(capsys, token_front.url, "--config", str(config), "-e",
                            upstream["experiment"], "--json")
    assert code == 1 and out == ""
    assert "refused the credentials (401)" in one_error_line(err)
    assert tokens.runs == 2, "one renewal after the 401, no loop"
    # (Only this test's requests: one still in flight from an earlier test may land late.)
    ours = [s for s in token_front.seen() if s.authorization == f"Bearer {stale}"]
    assert ours and all(s.status == 401 for s in ours), ours


# ---------------------------------------------------------------------- 5. relative local URIs
SEED_LOCAL = """\
import sys
from mlflow import MlflowClient
ids = []
for uri, name in (("sqlite:///mlflow.db", "rel/sqlite"), ("file:./mlruns", "rel/file")):
    client = MlflowClient(uri)
    exp = client.create_experiment(name, artifact_location="./artifacts")
    run = client.create_run(exp, run_name=name)
    client.log_metric(run.info.run_id, "train_loss", 0.5, step=1)
    client.set_terminated(run.info.run_id, "FINISHED")
    ids.append(run.info.run_id)
print(" ".join(ids))
"""


@pytest.fixture(scope="module")
def local_folder(tmp_path_factory):
    """A folder with mlflow.db and mlruns, each holding one run, logged by MLflow's client
    with relative URIs from that folder."""
    folder = tmp_path_factory.mktemp("local-stores")
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true", MLFLOW_DISABLE_TELEMETRY="true",
               HOME=str(folder.parent / "seed-home"))
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([sys.executable, "-c", SEED_LOCAL], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    sqlite_run, file_run = done.stdout.split()
    assert (folder / "mlflow.db").is_file() and (folder / "mlruns").is_dir()
    return {"folder": folder, "sqlite": sqlite_run, "file": file_run}


@pytest.mark.parametrize("argv,env,store", [
    (["sqlite:///mlflow.db"], {}, "sqlite"),
    ([], {"MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"}, "sqlite"),
    (["file:./mlruns"], {}, "file"),
    ([], {"MLFLOW_TRACKING_URI": "file:./mlruns"}, "file"),
    (["./mlruns"], {}, "file"),
    ([], {}, "sqlite"),  # nothing named: ./mlflow.db is found first
], ids=["sqlite-arg", "sqlite-env", "file-arg", "file-env", "bare-path", "discovered"])
def test_relative_local_uri_from_the_working_folder(argv, env, store, local_folder,
                                                    monkeypatch, capsys):
    folder = local_folder["folder"]
    monkeypatch.chdir(folder)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = Listing.of(folder)
    code, out, err = status(capsys, *argv, "--json")
    assert code == 0, err
    assert run_ids(out) == {local_folder[store]}
    after = Listing.of(folder)
    assert after == before, "the folder was changed: " + ", ".join(
        sorted(set(after.entries.items()) ^ set(before.entries.items())))


# ---------------------------------------------------------------------- 6. Databricks PAT
@pytest.fixture
def databricks_env(clean_env, monkeypatch):
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_FILE",
                 "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(clean_env))
    return clean_env


@pytest.mark.parametrize("where", ["environment", "profile"])
def test_databricks_uri_sends_the_personal_access_token(where, upstream, token_front,
                                                         databricks_env, monkeypatch, capsys):
    """`databricks` / `databricks://PROFILE` against a front that, like a workspace, lets
    only `Bearer <PAT>` through: the runs come back, EVERY request is a public MLflow REST
    route (no GET /version, no /ajax-api, no get-history-bulk-interval: none of them is in
    Databricks' public API), histories come from get-history, and the token is never
    printed."""
    pat = "dapi" + secrets.token_hex(16)
    token_front.token = pat
    token_front.clear()
    if where == "environment":
        monkeypatch.setenv("DATABRICKS_HOST", token_front.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", pat)
        uri = "databricks"
    else:
        (databricks_env / ".databrickscfg").write_text(
            f"[DEFAULT]\nhost = https://unused.example\ntoken = nope\n\n"
            f"[team]\nhost = {token_front.url}\ntoken = {pat}\n")
        uri = "databricks://team"
    code, out, err = status(capsys, uri, "-e", upstream["experiment"], "--json")
    assert code == 0, err
    assert run_ids(out) == {upstream["run_id"]}
    seen = token_front.seen()
    assert seen and {s.authorization for s in seen} == {f"Bearer {pat}"}
    paths = [s.target.split("?")[0] for s in seen]
    assert all(p.startswith("/api/2.0/mlflow/") for p in paths), paths
    assert not any("bulk-interval" in p for p in paths), paths
    assert "/api/2.0/mlflow/metrics/get-history" in paths  # the warnings' histories
    assert pat not in out + err


def test_databricks_token_refused_says_so(upstream, token_front, databricks_env, monkeypatch,
                                          capsys):
    token_front.token = "dapi-the-right-one"
    monkeypatch.setenv("DATABRICKS_HOST", token_front.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-expired")
    code, out, err = status(capsys, "databricks", "-e", upstream["experiment"], "--json")
    assert code == 1 and out == ""
    line = one_error_line(err)
    assert "refused the credentials (401)" in line and "dapi-expired" not in line


def test_databricks_profile_missing_is_one_line_with_the_fix(databricks_env, capsys):
    (databricks_env / ".databrickscfg").write_text("[DEFAULT]\nhost = https://x.example\n")
    code, out, err = status(capsys, "databricks://nosuch", "--json")
    assert code in (1, 2) and out == ""
    line = one_error_line(err)
    assert "no profile [nosuch]" in line and "DATABRICKS_HOST" in line
