"""Where the API server is and how to authenticate to it: a kubeconfig or the pod's ServiceAccount.

One loader for every command (``kaico run`` logs kopf in with it, ``kaico cluster`` and
``kaico cleanup`` build their ``KubeClient`` from it), so a context that works for one works for
all. It reads what kubectl reads:

* a kubeconfig: an explicit ``--kubeconfig`` file, else every file of ``$KUBECONFIG`` (merged as
  kubectl merges them: the first file to name a cluster, user, context or ``current-context``
  wins), else ``~/.kube/config``; relative paths in a file are relative to that file;
* in a pod, when no kubeconfig is given or found: the ServiceAccount token and CA and
  ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT``.

Users carry a bearer token (``token`` or ``tokenFile``), a client certificate (file or data),
or an ``exec`` credential plugin (``client.authentication.k8s.io/v1`` and ``v1beta1``
ExecCredential: a token or a client certificate, with an optional expiry), which is what EKS and
GKE kubeconfigs use. Every problem is a ``ConfigError`` with a one-line message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import ssl
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_TIMEOUT = 60.0


class ConfigError(Exception):
    """No usable connection configuration; the message is one line for the user."""


@dataclass(frozen=True)
class Credentials:
    """One API server and the identity to use there.

    ``*_data`` fields hold PEM text (already decoded from the kubeconfig's base64)."""

    server: str
    ca_file: str | None = None
    ca_data: str | None = None
    insecure: bool = False
    token: str | None = None
    cert_file: str | None = None
    cert_data: str | None = None
    key_file: str | None = None
    key_data: str | None = None
    namespace: str | None = None
    # When an exec plugin's credential expires (then ``load`` must run again).
    expiration: datetime | None = None
    # Where the credentials came from, for messages ("kubeconfig context kind-x", "in-cluster").
    source: str = ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS settings for aiohttp (``True``: system defaults for an https server without
        a CA; plain http needs none)."""
        if not self.server.startswith("https:"):
            return True
        try:
            context = ssl.create_default_context(cafile=self.ca_file, cadata=self.ca_data)
        except (OSError, ssl.SSLError) as error:
            raise ConfigError(f"{self.source}: cannot load the cluster's CA: {error}") from None
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if (self.cert_file or self.cert_data) and (self.key_file or self.key_data):
            with contextlib.ExitStack() as stack:
                # ssl loads a client certificate and key only from files: data goes through
                # private temporary files that are gone once loaded.
                cert = self.cert_file or _temporary(stack, self.cert_data or "")
                key = self.key_file or _temporary(stack, self.key_data or "")
                try:
                    context.load_cert_chain(certfile=cert, keyfile=key)
                except (OSError, ssl.SSLError) as error:
                    raise ConfigError(f"{self.source}: cannot load the client certificate: {error}") from None
        return context

    def expired(self, now: datetime | None = None, margin: float = 60.0) -> bool:
        if self.expiration is None:
            return False
        now = now or datetime.now(UTC)
        return (self.expiration - now).total_seconds() < margin


def _temporary(stack: contextlib.ExitStack, text: str) -> str:
    handle = stack.enter_context(tempfile.NamedTemporaryFile("w", suffix=".pem"))
    handle.write(text)
    handle.flush()
    return handle.name


def load(kubeconfig: str | None = None, context: str | None = None,
         environ: Mapping[str, str] | None = None,
         service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> Credentials:
    """The credentials kubectl would use: ``kubeconfig``/``context`` when given, else
    $KUBECONFIG, else ~/.kube/config, else the pod's ServiceAccount."""
    environ = os.environ if environ is None else environ
    if kubeconfig:
        files = [Path(kubeconfig).expanduser()]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise ConfigError(f"kubeconfig {missing[0]}: no such file")
    elif environ.get("KUBECONFIG"):
        files = [Path(p).expanduser() for p in environ["KUBECONFIG"].split(os.pathsep) if p]
        files = [f for f in files if f.is_file()]
    else:
        home = Path(environ.get("HOME") or Path.home())
        files = [f for f in (home / ".kube" / "config",) if f.is_file()]
    if not files:
        if context:
            raise ConfigError(f"context {context!r}: no kubeconfig file found")
        if environ.get("KUBERNETES_SERVICE_HOST"):
            return load_in_cluster(environ, service_account_dir)
        raise ConfigError("no kubeconfig ($KUBECONFIG, ~/.kube/config) and not running in a pod "
                          "(KUBERNETES_SERVICE_HOST unset): give --kubeconfig")
    return load_kubeconfig(files, context, environ)


def load_in_cluster(environ: Mapping[str, str] | None = None,
                    service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> Credentials:
    """The pod's ServiceAccount: its token, its CA, and the API server's Service address."""
    environ = os.environ if environ is None else environ
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise ConfigError("in-cluster: KUBERNETES_SERVICE_HOST is not set")
    token_path = service_account_dir / "token"
    try:
        token = token_path.read_text().strip()
    except OSError as error:
        raise ConfigError(f"in-cluster: cannot read the ServiceAccount token: {error.strerror}: "
                          f"{token_path}") from None
    if not token:
        raise ConfigError(f"in-cluster: the ServiceAccount token {token_path} is empty")
    ca = service_account_dir / "ca.crt"
    namespace_file = service_account_dir / "namespace"
    namespace = namespace_file.read_text().strip() if namespace_file.is_file() else None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return Credentials(
        server=f"https://{host}:{port}",
        ca_file=str(ca) if ca.is_file() else None,
        token=token,
        namespace=namespace or None,
        source="in-cluster ServiceAccount",
    )


@dataclass
class _Merged:
    clusters: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    users: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    current: str | None = None


def _read_files(files: list[Path]) -> _Merged:
    merged = _Merged()
    for path in files:
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except OSError as error:
            raise ConfigError(f"kubeconfig {path}: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"kubeconfig {path}: not YAML: {str(error).splitlines()[0]}") from None
        if not isinstance(document, dict):
            raise ConfigError(f"kubeconfig {path}: not a kubeconfig (expected a mapping)")
        base = path.resolve().parent
        for key, target in (("clusters", merged.clusters), ("users", merged.users)):
            for entry in document.get(key) or []:
                if isinstance(entry, dict) and entry.get("name") and entry["name"] not in target:
                    target[entry["name"]] = (entry.get(key[:-1]) or {}, base)
        for entry in document.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name") and entry["name"] not in merged.contexts:
                merged.contexts[entry["name"]] = entry.get("context") or {}
        if merged.current is None and document.get("current-context"):
            merged.current = str(document["current-context"])
    return merged


def load_kubeconfig(files: list[Path], context: str | None = None,
                    environ: Mapping[str, str] | None = None) -> Credentials:
    """The credentials of ``context`` (default: the current context) in the merged ``files``."""
    merged = _read_files(files)
    where = ", ".join(str(f) for f in files)
    name = context or merged.current
    if not name:
        raise ConfigError(f"kubeconfig {where}: no current-context (give --context)")
    if name not in merged.contexts:
        raise ConfigError(f"kubeconfig {where}: no context {name!r}")
    entry = merged.contexts[name]
    source = f"kubeconfig context {name!r}"
    cluster_name, user_name = entry.get("cluster"), entry.get("user")
    if cluster_name not in merged.clusters:
        raise ConfigError(f"{source}: no cluster {cluster_name!r} in {where}")
    cluster, cluster_base = merged.clusters[cluster_name]
    server = str(cluster.get("server") or "")
    if not server.startswith(("https://", "http://")):
        raise ConfigError(f"{source}: cluster {cluster_name!r} has no https:// server")
    credentials = Credentials(
        server=server.rstrip("/"),
        ca_file=_path(cluster.get("certificate-authority"), cluster_base),
        ca_data=_pem(cluster.get("certificate-authority-data"), source, "certificate-authority-data"),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        namespace=entry.get("namespace") or None,
        source=source,
    )
    if user_name is None:
        return credentials
    if user_name not in merged.users:
        raise ConfigError(f"{source}: no user {user_name!r} in {where}")
    user, user_base = merged.users[user_name]
    token = user.get("token") or None
    token_file = _path(user.get("tokenFile"), user_base)
    if token is None and token_file:
        try:
            token = Path(token_file).read_text().strip() or None
        except OSError as error:
            raise ConfigError(f"{source}: tokenFile {token_file}: {error.strerror}") from None
    credentials = replace(
        credentials,
        token=token,
        cert_file=_path(user.get("client-certificate"), user_base),
        cert_data=_pem(user.get("client-certificate-data"), source, "client-certificate-data"),
        key_file=_path(user.get("client-key"), user_base),
        key_data=_pem(user.get("client-key-data"), source, "client-key-data"),
    )
    if user.get("exec"):
        credentials = run_exec_plugin(user["exec"], credentials, user_base, environ)
    if user.get("auth-provider"):
        raise ConfigError(f"{source}: auth-provider {user['auth-provider'].get('name')!r} is not "
                          "supported (use an exec credential plugin)")
    if user.get("username") and not credentials.token:
        raise ConfigError(f"{source}: basic authentication (username/password) is not supported")
    return credentials


def _path(value: Any, base: Path) -> str | None:
    if not value:
        return None
    path = Path(str(value)).expanduser()
    return str(path if path.is_absolute() else base / path)


def _pem(value: Any, source: str, key: str) -> str | None:
    if not value:
        return None
    try:
        return base64.b64decode(str(value), validate=False).decode()
    except (ValueError, UnicodeDecodeError):
        raise ConfigError(f"{source}: {key} is not base64 PEM") from None


def run_exec_plugin(spec: dict[str, Any], credentials: Credentials, base: Path,
                    environ: Mapping[str, str] | None = None) -> Credentials:
    """Run a ``user.exec`` credential plugin and take its token or client certificate."""
    environ = os.environ if environ is None else environ
    source = credentials.source
    api_version = spec.get("apiVersion")
    if api_version not in EXEC_API_VERSIONS:
        raise ConfigError(f"{source}: exec plugin apiVersion {api_version!r} is not one of "
                          f"{', '.join(EXEC_API_VERSIONS)}")
    command = str(spec.get("command") or "")
    if not command:
        raise ConfigError(f"{source}: exec plugin has no command")
    if os.sep in command and not os.path.isabs(command):
        command = str(base / command)  # "./bin/plugin" is relative to the kubeconfig
    request: dict[str, Any] = {"apiVersion": api_version, "kind": "ExecCredential",
                               "spec": {"interactive": False}}
    if spec.get("provideClusterInfo"):
        cluster: dict[str, Any] = {"server": credentials.server,
                                   "insecure-skip-tls-verify": credentials.insecure}
        if credentials.ca_data:
            cluster["certificate-authority-data"] = base64.b64encode(credentials.ca_data.encode()).decode()
        request["spec"]["cluster"] = cluster
    env = dict(environ)
    env.update({str(e.get("name")): str(e.get("value", "")) for e in spec.get("env") or [] if isinstance(e, dict)})
    env["KUBERNETES_EXEC_INFO"] = json.dumps(request)
    hint = f" ({spec['installHint'].strip()})" if spec.get("installHint") else ""
    try:
        done = subprocess.run([command, *[str(a) for a in spec.get("args") or []]], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=EXEC_TIMEOUT, check=False)
    except FileNotFoundError:
        raise ConfigError(f"{source}: exec plugin {command!r} not found{hint}") from None
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ConfigError(f"{source}: exec plugin {command!r}: {error}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1][:300]
        raise ConfigError(f"{source}: exec plugin {command!r} exited with {done.returncode}: {last}")
    try:
        answer = json.loads(done.stdout)
        status = answer["status"]
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{source}: exec plugin {command!r} did not print an ExecCredential") from None
    if not isinstance(answer, dict) or answer.get("kind") != "ExecCredential" \
            or answer.get("apiVersion") != api_version or not isinstance(status, dict):
        raise ConfigError(f"{source}: exec plugin {command!r} printed no {api_version} ExecCredential")
    expiration = None
    if status.get("expirationTimestamp"):
        try:
            expiration = datetime.fromisoformat(str(status["expirationTimestamp"]).replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{source}: exec plugin: bad expirationTimestamp "
                              f"{status['expirationTimestamp']!r}") from None
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
    if status.get("token"):
        return replace(credentials, token=str(status["token"]), expiration=expiration)
    if status.get("clientCertificateData") and status.get("clientKeyData"):
        return replace(credentials, token=None, cert_file=None, key_file=None,
                       cert_data=str(status["clientCertificateData"]),
                       key_data=str(status["clientKeyData"]), expiration=expiration)
    raise ConfigError(f"{source}: exec plugin {command!r} returned neither a token nor a client certificate")
