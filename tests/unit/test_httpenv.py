"""The network environment MLflow's client honours, read for httpx (tui/tracking/httpenv.py)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from mlflow_tui.tracking.httpenv import network_settings, proxy_for


def test_defaults_verify_with_system_and_certifi():
    net = network_settings({})
    assert net.verify.verify_mode is ssl.CERT_REQUIRED and net.verify.check_hostname
    assert net.ca_source == "" and net.proxies == {} and net.client_cert is None
    # certifi's bundle is loaded on top of the system store: far more than a handful of CAs
    assert net.verify.cert_store_stats()["x509_ca"] > 50


def test_insecure_tls_wins():
    net = network_settings({"MLFLOW_TRACKING_INSECURE_TLS": "true",
                            "REQUESTS_CA_BUNDLE": "/nonexistent.pem"})
    assert net.verify.verify_mode is ssl.CERT_NONE and not net.verify.check_hostname
    assert net.ca_source == "MLFLOW_TRACKING_INSECURE_TLS"


@pytest.mark.parametrize("name", ["MLFLOW_TRACKING_SERVER_CERT_PATH", "REQUESTS_CA_BUNDLE",
                                  "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_ca_bundle_variables(name):
    import certifi

    net = network_settings({name: certifi.where()})
    assert net.ca_source == name
    assert net.verify.verify_mode is ssl.CERT_REQUIRED


def test_mlflow_variable_before_requests_variable(tmp_path: Path):
    import certifi

    net = network_settings({"REQUESTS_CA_BUNDLE": str(tmp_path / "missing.pem"),
                            "MLFLOW_TRACKING_SERVER_CERT_PATH": certifi.where()})
    assert net.ca_source == "MLFLOW_TRACKING_SERVER_CERT_PATH"


def test_storage_urls_get_none_of_the_tracking_servers_tls_settings(tmp_path: Path):
    """A presigned storage URL (S3, GCS, Azure) is read as MLflow's client reads one:
    requests' defaults and MLFLOW_S3_IGNORE_TLS, never the tracking server's CA, its
    insecure switch or its client certificate."""
    import certifi

    bad = tmp_path / "client.pem"
    bad.write_text("not a certificate: never loaded for storage")
    tracking_only = {"MLFLOW_TRACKING_INSECURE_TLS": "true",
                     "MLFLOW_TRACKING_SERVER_CERT_PATH": str(tmp_path / "private-ca.pem"),
                     "MLFLOW_TRACKING_CLIENT_CERT_PATH": str(bad),
                     "HTTPS_PROXY": "http://proxy.example:3128"}
    net = network_settings(tracking_only, storage=True)
    assert net.verify.verify_mode is ssl.CERT_REQUIRED and net.verify.check_hostname
    assert net.ca_source == "" and net.client_cert is None
    assert net.verify.cert_store_stats()["x509_ca"] > 50
    assert net.proxies == {"https": "http://proxy.example:3128"}
    assert network_settings({"REQUESTS_CA_BUNDLE": certifi.where()},
                            storage=True).ca_source == "REQUESTS_CA_BUNDLE"
    insecure = network_settings({"MLFLOW_S3_IGNORE_TLS": "true"}, storage=True)
    assert insecure.verify.verify_mode is ssl.CERT_NONE
    assert insecure.ca_source == "MLFLOW_S3_IGNORE_TLS"
    assert network_settings({"MLFLOW_S3_IGNORE_TLS": "true"}).verify.verify_mode is (
        ssl.CERT_REQUIRED), "the S3 switch is not the tracking server's"


def test_ssl_cert_dir(tmp_path: Path):
    net = network_settings({"SSL_CERT_DIR": str(tmp_path)})
    assert net.ca_source == "SSL_CERT_DIR"


def test_unreadable_bundle_names_the_variable(tmp_path: Path):
    with pytest.raises(ValueError) as info:
        network_settings({"REQUESTS_CA_BUNDLE": str(tmp_path / "nope.pem")})
    assert str(info.value).startswith(f"REQUESTS_CA_BUNDLE={tmp_path / 'nope.pem'}: ")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ValueError) as info:
        network_settings({"MLFLOW_TRACKING_CLIENT_CERT_PATH": str(bad)})
    assert "MLFLOW_TRACKING_CLIENT_CERT_PATH" in str(info.value)


def test_proxies_upper_and_lower_case_and_all_proxy():
    net = network_settings({"https_proxy": "proxy.corp:3128", "HTTP_PROXY": "http://p:80"})
    assert net.proxies == {"http": "http://p:80", "https": "http://proxy.corp:3128"}
    net = network_settings({"ALL_PROXY": "http://all:1"})
    assert net.proxies == {"http": "http://all:1", "https": "http://all:1"}
    assert proxy_for("https://mlflow.corp/x", net) == "http://all:1"


@pytest.mark.parametrize(("no_proxy", "url", "bypassed"), [
    ("localhost,127.0.0.1", "http://127.0.0.1:5000", True),
    ("localhost,127.0.0.1", "http://10.0.0.1:5000", False),
    (".corp.example", "https://mlflow.corp.example", True),
    ("corp.example", "https://mlflow.corp.example", True),
    ("corp.example", "https://notcorp.example", False),
    ("10.0.0.0/8", "http://10.1.2.3", True),
    ("mlflow.corp:443", "https://mlflow.corp", True),
    ("*", "https://anything", True),
    ("", "https://anything", False),
])
def test_no_proxy(no_proxy, url, bypassed):
    net = network_settings({"HTTPS_PROXY": "http://p:1", "HTTP_PROXY": "http://p:1",
                            "NO_PROXY": no_proxy})
    assert (proxy_for(url, net) is None) is bypassed


def test_netrc_login_as_requests_reads_it(tmp_path):
    """$NETRC, else ~/.netrc then ~/_netrc; the host's entry, else `default`; the account when
    there is no login; an unreadable or malformed file is ignored (no credentials)."""
    from mlflow_tui.tracking.httpenv import netrc_login

    home = tmp_path / "home"
    home.mkdir()
    assert netrc_login("h.example", {"HOME": str(home)}) is None
    (home / "_netrc").write_text("machine h.example login u2 password p2\n")
    assert netrc_login("h.example", {"HOME": str(home)}) == ("u2", "p2", str(home / "_netrc"))
    (home / ".netrc").write_text("machine h.example login u1 password p1\n"
                                 "default login anyone password any\n")
    assert netrc_login("h.example", {"HOME": str(home)})[:2] == ("u1", "p1")
    assert netrc_login("other.example", {"HOME": str(home)})[:2] == ("anyone", "any")
    named = tmp_path / "n"
    named.write_text("machine h.example account acct password p3\n")
    assert netrc_login("h.example", {"HOME": str(home), "NETRC": str(named)})[:2] == (
        "acct", "p3")
    named.write_text("machine h.example login\n")  # nothing in the entry
    assert netrc_login("h.example", {"HOME": str(home), "NETRC": str(named)}) is None
    named.write_text("machine h.example frobnicate x\n")  # malformed
    assert netrc_login("h.example", {"HOME": str(home), "NETRC": str(named)}) is None
    assert netrc_login("h.example", {"NETRC": str(tmp_path / "none")}) is None
    assert netrc_login(None, {"HOME": str(home)}) is None
