"""The kubeconfig and in-cluster loader (``kaico.kube.config``): real files in a temporary
directory, a real exec credential plugin (a small shell script printing an ExecCredential), and
the ServiceAccount layout with a temporary token directory."""

from __future__ import annotations

import base64
import json
import os
import ssl
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from kaico.kube import config
from kaico.kube.config import ConfigError, Credentials


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kubeconfig(path: Path, *, current: str | None = "dev", clusters=None, users=None, contexts=None) -> Path:
    document = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in (clusters or {}).items()],
        "users": [{"name": n, "user": u} for n, u in (users or {}).items()],
        "contexts": [{"name": n, "context": c} for n, c in (contexts or {}).items()],
    }
    if current:
        document["current-context"] = current
    path.write_text(yaml.safe_dump(document))
    return path


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_token_user_and_a_relative_ca_file(tmp_path: Path):
    (tmp_path / "ca.crt").write_text("ca")
    path = kubeconfig(tmp_path / "config",
                      clusters={"c": {"server": "https://127.0.0.1:6443/", "certificate-authority": "ca.crt"}},
                      users={"u": {"token": "s3cret"}},
                      contexts={"dev": {"cluster": "c", "user": "u", "namespace": "team-a"}})
    credentials = config.load(str(path), environ={})
    assert credentials.server == "https://127.0.0.1:6443"
    assert credentials.ca_file == str(tmp_path / "ca.crt")
    assert credentials.headers() == {"Authorization": "Bearer s3cret"}
    assert credentials.namespace == "team-a"
    assert credentials.source == "kubeconfig context 'dev'"


def test_data_fields_are_decoded_and_insecure_and_token_file_are_read(tmp_path: Path):
    (tmp_path / "token").write_text("from-file\n")
    path = kubeconfig(tmp_path / "config",
                      clusters={"c": {"server": "https://h:1", "certificate-authority-data": b64("CA PEM"),
                                      "insecure-skip-tls-verify": True}},
                      users={"u": {"tokenFile": "token", "client-certificate-data": b64("CERT"),
                                   "client-key-data": b64("KEY")}},
                      contexts={"dev": {"cluster": "c", "user": "u"}})
    credentials = config.load(str(path), environ={})
    assert (credentials.ca_data, credentials.cert_data, credentials.key_data) == ("CA PEM", "CERT", "KEY")
    assert credentials.insecure is True
    assert credentials.token == "from-file"


def test_kubeconfig_files_merge_first_wins_and_context_selects(tmp_path: Path):
    first = kubeconfig(tmp_path / "a", current="one",
                       clusters={"c": {"server": "https://first:1"}},
                       users={"u": {"token": "first"}},
                       contexts={"one": {"cluster": "c", "user": "u"}})
    second = kubeconfig(tmp_path / "b", current="two",
                        clusters={"c": {"server": "https://ignored:1"}, "d": {"server": "https://second:2"}},
                        users={"u": {"token": "ignored"}, "v": {"token": "second"}},
                        contexts={"two": {"cluster": "d", "user": "v"}})
    environ = {"KUBECONFIG": os.pathsep.join([str(first), str(tmp_path / "missing"), str(second)])}
    current = config.load(environ=environ)
    assert (current.server, current.token) == ("https://first:1", "first")
    other = config.load(context="two", environ=environ)
    assert (other.server, other.token) == ("https://second:2", "second")


def test_home_kube_config_is_the_default(tmp_path: Path):
    (tmp_path / ".kube").mkdir()
    kubeconfig(tmp_path / ".kube" / "config", clusters={"c": {"server": "http://127.0.0.1:8001"}},
               contexts={"dev": {"cluster": "c"}})
    credentials = config.load(environ={"HOME": str(tmp_path)})
    assert credentials.server == "http://127.0.0.1:8001"
    assert credentials.headers() == {}
    assert credentials.ssl_context() is True  # plain http: no TLS settings


@pytest.mark.parametrize(("change", "message"), [
    ({"current": None}, "no current-context"),
    ({"contexts": {"dev": {"cluster": "nope", "user": "u"}}}, "no cluster 'nope'"),
    ({"contexts": {"dev": {"cluster": "c", "user": "nobody"}}}, "no user 'nobody'"),
    ({"clusters": {"c": {"server": "ftp://x"}}}, "no https:// server"),
    ({"users": {"u": {"auth-provider": {"name": "gcp"}}}}, "auth-provider 'gcp' is not supported"),
    ({"users": {"u": {"username": "a", "password": "b"}}}, "basic authentication"),
])
def test_broken_kubeconfigs_are_one_line_errors(tmp_path: Path, change, message):
    arguments = {"clusters": {"c": {"server": "https://h:1"}}, "users": {"u": {}},
                 "contexts": {"dev": {"cluster": "c", "user": "u"}}, **change}
    path = kubeconfig(tmp_path / "config", **arguments)
    with pytest.raises(ConfigError, match=message) as caught:
        config.load(str(path), environ={})
    assert "\n" not in str(caught.value)


def test_missing_files_and_unknown_contexts(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such file"):
        config.load(str(tmp_path / "nope"), environ={})
    path = kubeconfig(tmp_path / "config", clusters={"c": {"server": "https://h:1"}},
                      contexts={"dev": {"cluster": "c"}})
    with pytest.raises(ConfigError, match="no context 'prod'"):
        config.load(str(path), "prod", environ={})
    (tmp_path / "bad").write_text("{not: [yaml")
    with pytest.raises(ConfigError, match="not YAML"):
        config.load(str(tmp_path / "bad"), environ={})
    with pytest.raises(ConfigError, match="not running in a pod"):
        config.load(environ={"HOME": str(tmp_path / "empty")})


def exec_kubeconfig(tmp_path: Path, api_version: str, plugin: Path, **extra) -> Path:
    return kubeconfig(tmp_path / "config", clusters={"c": {"server": "https://eks.example:443",
                                                          "certificate-authority-data": b64("CA")}},
                      users={"u": {"exec": {"apiVersion": api_version, "command": f"./{plugin.name}",
                                            "args": ["--cluster", "prod"],
                                            "env": [{"name": "PLUGIN_MODE", "value": "token"}], **extra}}},
                      contexts={"dev": {"cluster": "c", "user": "u"}})


@pytest.mark.parametrize("api_version", config.EXEC_API_VERSIONS)
def test_an_exec_plugin_token_with_its_arguments_env_and_cluster_info(tmp_path: Path, api_version: str):
    seen = tmp_path / "seen.json"
    plugin = script(tmp_path / "plugin.sh", f"""
echo "$KUBERNETES_EXEC_INFO" > {seen}
echo "$PLUGIN_MODE $1 $2" > {tmp_path / "args"}
cat <<JSON
{{"apiVersion": "{api_version}", "kind": "ExecCredential",
  "status": {{"token": "exec-token", "expirationTimestamp": "2030-01-02T03:04:05Z"}}}}
JSON
""")
    path = exec_kubeconfig(tmp_path, api_version, plugin, provideClusterInfo=True)
    credentials = config.load(str(path), environ={"PATH": os.environ["PATH"]})
    assert credentials.token == "exec-token"
    assert credentials.expiration == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert not credentials.expired(datetime(2029, 1, 1, tzinfo=UTC))
    assert credentials.expired(datetime(2030, 1, 2, 3, 4, 0, tzinfo=UTC))
    assert (tmp_path / "args").read_text().split() == ["token", "--cluster", "prod"]
    request = json.loads(seen.read_text())
    assert request["apiVersion"] == api_version and request["kind"] == "ExecCredential"
    assert request["spec"]["interactive"] is False
    assert request["spec"]["cluster"]["server"] == "https://eks.example:443"
    assert base64.b64decode(request["spec"]["cluster"]["certificate-authority-data"]) == b"CA"


def test_an_exec_plugin_client_certificate(tmp_path: Path):
    plugin = script(tmp_path / "plugin.sh", """
printf '%s' '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
  "status": {"clientCertificateData": "CERT PEM", "clientKeyData": "KEY PEM"}}'
""")
    credentials = config.load(str(exec_kubeconfig(tmp_path, "client.authentication.k8s.io/v1", plugin)),
                              environ={})
    assert (credentials.cert_data, credentials.key_data, credentials.token) == ("CERT PEM", "KEY PEM", None)
    assert credentials.expiration is None


@pytest.mark.parametrize(("body", "message"), [
    ("echo 'aws: not logged in' >&2; exit 3", r"exited with 3: aws: not logged in"),
    ("echo not json", "did not print an ExecCredential"),
    ('echo \'{"apiVersion": "client.authentication.k8s.io/v1alpha1", "kind": "ExecCredential", "status": {}}\'',
     "printed no client.authentication.k8s.io/v1 ExecCredential"),
    ('echo \'{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {}}\'',
     "neither a token nor a client certificate"),
])
def test_a_failing_exec_plugin_is_a_one_line_error(tmp_path: Path, body: str, message: str):
    plugin = script(tmp_path / "plugin.sh", body + "\n")
    path = exec_kubeconfig(tmp_path, "client.authentication.k8s.io/v1", plugin)
    with pytest.raises(ConfigError, match=message) as caught:
        config.load(str(path), environ={})
    assert "\n" not in str(caught.value)


def test_a_missing_exec_plugin_names_the_install_hint(tmp_path: Path):
    path = kubeconfig(tmp_path / "config", clusters={"c": {"server": "https://h:1"}},
                      users={"u": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                            "command": "kaico-no-such-plugin",
                                            "installHint": "install it from your cloud's docs"}}},
                      contexts={"dev": {"cluster": "c", "user": "u"}})
    with pytest.raises(ConfigError, match="not found .install it from your cloud's docs."):
        config.load(str(path), environ={"PATH": str(tmp_path)})
    path = kubeconfig(tmp_path / "config", clusters={"c": {"server": "https://h:1"}},
                      users={"u": {"exec": {"apiVersion": "client.authentication.k8s.io/v1alpha1",
                                            "command": "x"}}},
                      contexts={"dev": {"cluster": "c", "user": "u"}})
    with pytest.raises(ConfigError, match="apiVersion 'client.authentication.k8s.io/v1alpha1'"):
        config.load(str(path), environ={})


def service_account(tmp_path: Path, token: str = "sa-token\n", ca: bool = True) -> Path:
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text(token)
    (directory / "namespace").write_text("kaico-system\n")
    if ca:
        (directory / "ca.crt").write_text("ca")
    return directory


def test_in_cluster_when_no_kubeconfig_is_found(tmp_path: Path):
    directory = service_account(tmp_path)
    environ = {"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    credentials = config.load(environ=environ, service_account_dir=directory)
    assert credentials.server == "https://10.96.0.1:443"
    assert credentials.token == "sa-token"
    assert credentials.ca_file == str(directory / "ca.crt")
    assert credentials.namespace == "kaico-system"
    assert credentials.source == "in-cluster ServiceAccount"
    ipv6 = config.load_in_cluster({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"},
                                  directory)
    assert ipv6.server == "https://[fd00::1]:6443"


def test_in_cluster_problems_are_one_line_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read the ServiceAccount token"):
        config.load_in_cluster({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, tmp_path / "absent")
    with pytest.raises(ConfigError, match="is empty"):
        config.load_in_cluster({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, service_account(tmp_path, token=""))
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST is not set"):
        config.load_in_cluster({}, tmp_path)


def test_a_kubeconfig_wins_over_the_service_account(tmp_path: Path):
    path = kubeconfig(tmp_path / "config", clusters={"c": {"server": "https://h:1"}},
                      contexts={"dev": {"cluster": "c"}})
    environ = {"KUBECONFIG": str(path), "KUBERNETES_SERVICE_HOST": "10.96.0.1"}
    assert config.load(environ=environ, service_account_dir=service_account(tmp_path)).server == "https://h:1"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    directory = tmp_path_factory.mktemp("pki")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", "/CN=kaico-test", "-days", "1",
                    "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
                   check=True, capture_output=True)
    return (directory / "cert.pem").read_text(), (directory / "key.pem").read_text()


def test_tls_context_loads_client_certificates_and_cas_from_data(certificate):
    cert, key = certificate
    credentials = Credentials(server="https://127.0.0.1:6443", ca_data=cert, cert_data=cert, key_data=key)
    context = credentials.ssl_context()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 1
    insecure = Credentials(server="https://127.0.0.1:6443", insecure=True).ssl_context()
    assert insecure.verify_mode is ssl.CERT_NONE and not insecure.check_hostname
    with pytest.raises(ConfigError, match="cannot load the client certificate"):
        Credentials(server="https://h:1", cert_data=cert, key_data="not a key", source="x").ssl_context()
    with pytest.raises(ConfigError, match="cannot load the cluster's CA"):
        Credentials(server="https://h:1", ca_data="garbage", source="x").ssl_context()
