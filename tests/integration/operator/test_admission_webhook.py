"""The admission webhook on the real control plane: the real kube-apiserver calls ``kaico run
--admission`` on 127.0.0.1 through the chart's own ValidatingWebhookConfiguration (rendered by
helm; only the clientConfig points at loopback and the namespace selector at this module's
namespace, so no other test's applies reach it).

kubectl prints kaico's findings as warnings, a Deny profile rejects with its reasons, the stored
object is what was applied, and with kaico stopped applies still succeed (failurePolicy Ignore).
One control plane, one operator, one namespace for the module; the tests run in file order.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kaico_dev.localcluster import LocalCluster, ToolNotFound, find_binary
from operator_harness import REPO, OperatorProcess, free_port, wait_for
from operator_manifests import profile, vllm_deployment

from tests.dependencies import missing

pytestmark = pytest.mark.usefixtures("kaico_crds")

DENY_LABEL = {"kaico.dev/admission-test": "deny"}
# Matches no node of the local control plane: gpu-node-match fails (high) on the live nodes.
NOWHERE = {"gpu-type": "h100-nowhere"}


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A serving certificate for 127.0.0.1 (its own CA: the caBundle is the certificate)."""
    cert, key = directory / "webhook.crt", directory / "webhook.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def chart_webhook_configuration(name: str) -> dict[str, Any]:
    """The ValidatingWebhookConfiguration exactly as the chart renders it with admission on."""
    try:
        helm = find_binary("helm")
    except ToolNotFound as error:
        missing(str(error))
        raise
    done = subprocess.run(
        [str(helm), "template", "kaico", str(REPO / "charts" / "kaico"), "--namespace", "kaico-system",
         "--set", "admission.enabled=true", "--show-only", "templates/admission.yaml"],
        capture_output=True, text=True, check=True, timeout=120)
    (configuration,) = [d for d in yaml.safe_load_all(done.stdout)
                        if d and d["kind"] == "ValidatingWebhookConfiguration"]
    configuration["metadata"] = {"name": name}
    return configuration


def deployment(namespace: str, name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    body = vllm_deployment(namespace, name)
    body["metadata"]["labels"].update(labels or {})
    body["spec"]["template"]["spec"]["nodeSelector"] = dict(NOWHERE)
    return body


@pytest.fixture(scope="module")
def webhook_namespace(local_cluster: LocalCluster) -> Iterator[str]:
    name = f"admission-{secrets.token_hex(3)}"
    local_cluster.create_namespace(name, labels={"kaico.dev/test": "true"})
    yield name
    local_cluster.delete_namespace(name)


@pytest.fixture(scope="module")
def webhook(local_cluster: LocalCluster, kaico_crds: list[str], webhook_namespace: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    """Two profiles (Warn on the namespace, Deny at high on labelled objects), ``kaico run
    --admission`` and the chart's webhook configuration pointing at it."""
    directory = tmp_path_factory.mktemp("admission")
    cert, key = self_signed(directory)
    namespace = webhook_namespace
    warn, deny = f"adm-warn-{namespace}", f"adm-deny-{namespace}"
    local_cluster.apply([
        profile(warn, namespace),
        profile(deny, namespace, targets={"namespaces": [namespace], "selector": {"matchLabels": DENY_LABEL}},
                admission={"enforcement": "Deny", "denyAtSeverity": "high"}),
    ])
    port = free_port()
    operator = OperatorProcess(
        ["--namespace", namespace, "--admission", "--admission-port", str(port),
         "--admission-cert", str(cert), "--admission-key", str(key)],
        directory / "kaico-run.log").start()
    configuration = chart_webhook_configuration(f"kaico-admission-{namespace}")
    (hook,) = configuration["webhooks"]
    hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}/validate",
                            "caBundle": base64.b64encode(cert.read_bytes()).decode()}
    hook["namespaceSelector"]["matchExpressions"].append(
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [namespace]})
    local_cluster.apply([configuration])
    try:
        yield operator
    finally:
        operator.stop()
        local_cluster.kubectl("delete", "validatingwebhookconfiguration",
                              configuration["metadata"]["name"], "--ignore-not-found", check=False)
        local_cluster.kubectl("delete", "conformanceprofile", warn, deny, "--ignore-not-found",
                              "--wait=false", check=False)


def kubectl_apply(cluster: LocalCluster, body: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("apply", "-f", "-", *extra, input=yaml.safe_dump(body), check=False)


def test_kubectl_apply_prints_kaicos_findings_as_warnings_and_stores_the_object_unchanged(
        local_cluster: LocalCluster, webhook: OperatorProcess, webhook_namespace: str):
    namespace = webhook_namespace
    body = deployment(namespace, "llm")
    warning = f"Warning: kaico/adm-warn-{namespace}: gpu-node-match: "
    # The operator answers as soon as it has listed the profiles and nodes: poll with dry runs.
    wait_for(lambda: warning in kubectl_apply(local_cluster, body, "--dry-run=server").stderr,
             timeout=30, message="the webhook's warning on a server-side dry run")
    applied = kubectl_apply(local_cluster, body)
    assert applied.returncode == 0, applied.stderr
    assert "deployment.apps/llm created" in applied.stdout
    lines = [line for line in applied.stderr.splitlines() if line.startswith("Warning: kaico/")]
    assert any(line.startswith(warning) and "gpu-type" in line for line in lines), applied.stderr
    assert all(len(line) <= len("Warning: ") + 256 for line in lines)
    # Validating only: what is stored is what kubectl sent (plus the API server's defaults).
    stored = json.loads(local_cluster.kubectl(
        "get", "deployment", "llm", "-n", namespace, "-o", "json", "--show-managed-fields").stdout)
    assert stored["metadata"]["labels"] == body["metadata"]["labels"]
    assert set(stored["metadata"].get("annotations") or {}) <= {
        "kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision"}
    template = stored["spec"]["template"]["spec"]
    assert template["nodeSelector"] == NOWHERE
    assert template["containers"][0]["resources"] == body["spec"]["template"]["spec"]["containers"][0]["resources"]
    managers = {entry["manager"] for entry in stored["metadata"]["managedFields"]}
    assert not any("kaico" in manager for manager in managers), managers
    assert 'kaico_admission_reviews_total{outcome="warned"}' in webhook.metrics()


def test_a_deny_profile_rejects_the_apply_with_its_reasons(
        local_cluster: LocalCluster, webhook: OperatorProcess, webhook_namespace: str):
    namespace = webhook_namespace
    rejected = kubectl_apply(local_cluster, deployment(namespace, "llm-strict", DENY_LABEL))
    assert rejected.returncode != 0
    assert 'admission webhook "admission.kaico.dev" denied the request' in rejected.stderr
    assert (f"kaico denies Deployment {namespace}/llm-strict: adm-deny-{namespace}: "
            f"gpu-node-match (high): ") in rejected.stderr
    assert local_cluster.kubectl("get", "deployment", "llm-strict", "-n", namespace,
                                 check=False).returncode != 0
    # An update is judged too: labelling the stored Deployment into the Deny profile is refused.
    relabel = local_cluster.kubectl("label", "deployment", "llm", "-n", namespace,
                                    "kaico.dev/admission-test=deny", check=False)
    assert relabel.returncode != 0 and f"kaico denies Deployment {namespace}/llm: " in relabel.stderr


def test_with_the_webhook_stopped_applies_still_succeed(
        local_cluster: LocalCluster, webhook: OperatorProcess, webhook_namespace: str):
    webhook.stop()
    applied = kubectl_apply(local_cluster, deployment(webhook_namespace, "llm-unwatched", DENY_LABEL))
    assert applied.returncode == 0, applied.stderr
    assert "Warning: kaico/" not in applied.stderr
