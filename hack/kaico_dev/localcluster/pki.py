"""Throwaway credentials for one local cluster, made with the ``openssl`` command.

A cluster CA, the API server's serving certificate for 127.0.0.1/localhost, an admin client
certificate in ``system:masters``, a bearer token for the same identity, the aggregation layer's
front-proxy client certificate, and the service-account signing key pair. openssl (present on Debian, installed by .ci/run otherwise) avoids a Python
crypto dependency; EC P-256 keys keep generation in the tens of milliseconds.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ADMIN_USER = "kaico-admin"
ADMIN_GROUP = "system:masters"
FRONT_PROXY_USER = "front-proxy-client"
# The in-cluster names a real API server certificate covers, plus loopback for us.
_SERVING_SANS = (
    "IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,"
    "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
)


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    admin_token: str
    front_proxy_cert: Path
    front_proxy_key: Path
    token_file: Path
    sa_key: Path
    sa_pub: Path


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise RuntimeError("openssl is required for the local cluster (apt-get install openssl)")
    res = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {res.stderr.strip()}")


def _ec_key(path: Path, cwd: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", str(path), cwd=cwd)


def _signed_cert(name: str, subj: str, ext: str, d: Path) -> tuple[Path, Path]:
    key, csr, crt, extfile = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.crt", d / f"{name}.ext"
    _ec_key(key, d)
    _openssl("req", "-new", "-key", str(key), "-subj", subj, "-out", str(csr), cwd=d)
    extfile.write_text(ext)
    _openssl("x509", "-req", "-in", str(csr), "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "30", "-extfile", str(extfile), "-out", str(crt), cwd=d)
    return crt, key


def generate(d: Path) -> Pki:
    d.mkdir(parents=True, exist_ok=True)
    _ec_key(d / "ca.key", d)
    _openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=kaico-local-ca", "-days", "30",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.crt", cwd=d)
    serving_crt, serving_key = _signed_cert(
        "apiserver", "/CN=kube-apiserver",
        f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName={_SERVING_SANS}\n", d)
    admin_crt, admin_key = _signed_cert(
        "admin", f"/O={ADMIN_GROUP}/CN={ADMIN_USER}",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        d)
    # The aggregation layer's client identity. Configuring request-header authentication also
    # publishes the CA that kube-controller-manager and kube-scheduler expect for delegated authn.
    proxy_crt, proxy_key = _signed_cert(
        "front-proxy-client", f"/CN={FRONT_PROXY_USER}",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        d)
    # The service-account token signer: RSA, the algorithm every consumer of projected tokens
    # (and kube-controller-manager's legacy token controller) accepts.
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key",
             cwd=d)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
    token = secrets.token_hex(16)
    token_file = d / "tokens.csv"
    # token,user,uid,"group1,group2"
    token_file.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"{ADMIN_GROUP}"\n')
    for p in d.iterdir():
        if p.suffix in (".key", ".csv"):
            p.chmod(0o600)
    return Pki(ca_cert=d / "ca.crt", ca_key=d / "ca.key", serving_cert=serving_crt,
               serving_key=serving_key, admin_cert=admin_crt, admin_key=admin_key,
               admin_token=token, front_proxy_cert=proxy_crt, front_proxy_key=proxy_key, token_file=token_file, sa_key=d / "sa.key", sa_pub=d / "sa.pub")
