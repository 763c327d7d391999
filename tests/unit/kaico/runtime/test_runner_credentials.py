"""``kaico run`` takes its credentials from ``kaico.kube.config``: without any it exits 2 with
one line (no traceback), and kopf receives the same credentials the client uses."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from kaico.kube.config import Credentials
from kaico.runtime.runner import connection_info

REPO = Path(__file__).resolve().parents[4]


def test_no_cluster_configuration_is_one_line_and_exit_2(tmp_path: Path):
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    done = subprocess.run([sys.executable, "-m", "kaico.cli", "run", "--metrics-port", "0"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("kaico: no kubeconfig"), done.stderr
    assert "Traceback" not in done.stderr


def test_bad_leader_election_timings_are_exit_2(tmp_path: Path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: x\n"
                          "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
                          "contexts: [{name: x, context: {cluster: c}}]\n")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    done = subprocess.run([sys.executable, "-m", "kaico.cli", "run", "--metrics-port", "0",
                           "--leader-elect", "--lease-duration", "0"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("kaico: leader election needs"), done.stderr


def test_kopf_gets_the_same_credentials_data_winning_over_files():
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    info = connection_info(Credentials(server="https://h:6443", ca_file="/ca", ca_data="PEM", token="t",
                                       cert_data="C", key_data="K", cert_file="/c", key_file="/k",
                                       namespace="ns", insecure=True, expiration=expires))
    assert (info.server, info.token, info.default_namespace, info.expiration) == ("https://h:6443", "t", "ns", expires)
    assert (info.ca_path, info.ca_data) == (None, "PEM")
    assert (info.certificate_path, info.certificate_data, info.private_key_path, info.private_key_data) == \
        (None, "C", None, "K")
    assert info.insecure is True
    files = connection_info(Credentials(server="https://h:1", ca_file="/ca", cert_file="/c", key_file="/k"))
    assert (files.ca_path, files.certificate_path, files.private_key_path) == ("/ca", "/c", "/k")
