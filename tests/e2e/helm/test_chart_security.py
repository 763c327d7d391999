"""Issue 11's least privilege beyond the probes, proven with the chart's own identities: /metrics
behind TokenReview and SubjectAccessReview over HTTPS (plain HTTP only as an explicit opt-out),
the service proxy only to the exporter Services named in values, an opt-in NetworkPolicy, and
the uninstall hook's RBAC gone even when the hook fails."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from chartlib import find, kinds
from test_chart_install import (
    can_i,
    deployment_args,
    fetch,
    get_json,
    helm_env,
    helm_run,
    install,
    operator_as,
    service_account_kubeconfig,
    wait_for,
)


def operator_args(objects) -> list[str]:
    (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container["args"]


def proxy_rules(objects) -> list[tuple[str, str, dict]]:
    """(kind, namespace, rule) of every rule that grants services/proxy."""
    return [(o["kind"], o["metadata"].get("namespace", ""), rule)
            for o in objects if o["kind"] in ("Role", "ClusterRole")
            for rule in o["rules"] if "services/proxy" in rule.get("resources", [])]


# --- rendering ------------------------------------------------------------------------------------


@pytest.mark.helm
def test_metrics_are_served_over_https_to_reviewed_tokens_by_default(render):
    objects = render()
    args = operator_args(objects)
    assert {"--metrics-auth", "--metrics-cert=/etc/kaico/metrics-tls/tls.crt",
            "--metrics-key=/etc/kaico/metrics-tls/tls.key"} <= set(args)
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "metrics-tls"]
    assert volume == {"name": "metrics-tls", "secret": {"secretName": "kaico-metrics-tls"}}
    secret = find(objects, "Secret", "kaico-metrics-tls")
    assert secret["type"] == "kubernetes.io/tls" and set(secret["data"]) == {"tls.crt", "tls.key"}
    assert find(objects, "ClusterRole", "kaico-metrics-reader")["rules"] == [
        {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    # A certificate of the user's own (cert-manager): mounted, none generated.
    own = render("metrics.tls.secretName=kaico-serving")
    assert "Secret" not in kinds(own)
    (volume,) = [v for v in find(own, "Deployment")["spec"]["template"]["spec"]["volumes"]
                 if v["name"] == "metrics-tls"]
    assert volume["secret"]["secretName"] == "kaico-serving"


@pytest.mark.helm
def test_plain_http_metrics_are_an_explicit_opt_out(render):
    objects = render("metrics.secure=false")
    args = operator_args(objects)
    assert not [a for a in args if a.startswith(("--metrics-auth", "--metrics-cert", "--metrics-key"))]
    assert "Secret" not in kinds(objects)
    assert not [o for o in objects if o["metadata"]["name"] == "kaico-metrics-reader"]
    (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["scheme"] == "HTTP"


@pytest.mark.helm
def test_the_service_proxy_reaches_only_the_exporters_named_in_values(render, render_error):
    # Default: no services/proxy at all, and the operator discovers nothing to proxy to.
    assert proxy_rules(render()) == []
    assert proxy_rules(render("operator.watchNamespaces={a}", "rbac.clusterWideInventory=true")) == []
    assert not [a for a in operator_args(render()) if "exporter" in a or "metrics-service" in a]
    values = {"acceleratorExporters": {"services": [
        {"namespace": "gpu-operator", "name": "nvidia-dcgm-exporter", "port": 9400},
        {"namespace": "gpu-operator", "name": "nvidia-dcgm-exporter", "port": 9500},
        {"namespace": "monitoring", "name": "dcgm", "port": 9400},
    ]}}
    objects = render(values=values)
    assert sorted(proxy_rules(objects), key=lambda r: r[1]) == [
        ("Role", "gpu-operator", {"apiGroups": [""], "resources": ["services/proxy"],
                                  "resourceNames": ["nvidia-dcgm-exporter", "nvidia-dcgm-exporter:9400",
                                                    "nvidia-dcgm-exporter:9500"],
                                  "verbs": ["get"]}),
        ("Role", "monitoring", {"apiGroups": [""], "resources": ["services/proxy"],
                                "resourceNames": ["dcgm", "dcgm:9400"], "verbs": ["get"]}),
    ]
    bindings = [o for o in objects if o["kind"] == "RoleBinding" and "exporters" in o["metadata"]["name"]]
    assert {b["metadata"]["namespace"] for b in bindings} == {"gpu-operator", "monitoring"}
    assert all(b["subjects"] == [{"kind": "ServiceAccount", "name": "kaico", "namespace": "kaico-system"}]
               for b in bindings)
    assert [a for a in operator_args(objects) if a.startswith("--metrics-service")] == [
        "--metrics-service=gpu-operator/nvidia-dcgm-exporter:9400",
        "--metrics-service=gpu-operator/nvidia-dcgm-exporter:9500",
        "--metrics-service=monitoring/dcgm:9400"]
    # Discovery by label is the explicit, documented exception.
    discover = render("acceleratorExporters.discover=true")
    assert proxy_rules(discover) == [("ClusterRole", "", {"apiGroups": [""], "resources": ["services/proxy"],
                                                          "verbs": ["get"]})]
    assert "--discover-exporters" in operator_args(discover)
    assert "acceleratorExporters" in render_error("acceleratorExporters.services[0].name=x")


@pytest.mark.helm
def test_the_network_policy_is_opt_in_and_opens_only_the_metrics_port(render):
    assert "NetworkPolicy" not in kinds(render())
    prometheus = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    values = {"networkPolicy": {"enabled": True, "metricsFrom": prometheus,
                                "apiServer": [{"cidr": "10.0.0.1/32", "ports": [443]}]},
              "metrics": {"port": 9100}}
    objects = render(values=values)
    policy = find(objects, "NetworkPolicy")["spec"]
    pod_labels = find(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"ports": [{"port": 9100, "protocol": "TCP"}], "from": prometheus}]
    assert policy["egress"] == [{"to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}],
                                 "ports": [{"port": 443, "protocol": "TCP"}]}]
    open_egress = find(render("networkPolicy.enabled=true"), "NetworkPolicy")["spec"]
    assert open_egress["policyTypes"] == ["Ingress"] and "egress" not in open_egress


# --- on the API server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secure_release(e2e_cluster, helm) -> Iterator[str]:
    """The default chart (secure metrics), naming one exporter Service."""
    for namespace in ("gpu-operator", "sec-other"):
        e2e_cluster.create_namespace(namespace)
    install(helm, e2e_cluster, "sec", "kaico-sec", "defaultProfile.enabled=false",
            "acceleratorExporters.services[0].namespace=gpu-operator",
            "acceleratorExporters.services[0].name=nvidia-dcgm-exporter",
            "acceleratorExporters.services[0].port=9400")
    yield "system:serviceaccount:kaico-sec:sec-kaico"
    helm_run(helm, e2e_cluster, "uninstall", "sec", "-n", "kaico-sec", "--no-hooks", check=False)


@pytest.mark.cluster
@pytest.mark.helm
def test_the_service_proxy_is_allowed_only_to_the_named_exporter(e2e_cluster, secure_release):
    user = secure_release
    for service in ("nvidia-dcgm-exporter", "nvidia-dcgm-exporter:9400"):
        assert can_i(e2e_cluster, user, "get", f"services/{service}", "--subresource=proxy",
                     "-n", "gpu-operator"), service
    # A Service anyone names "...dcgm-exporter" elsewhere, another port, any other Service: no.
    for service, namespace in (("nvidia-dcgm-exporter", "sec-other"),
                               ("evil-dcgm-exporter", "gpu-operator"),
                               ("nvidia-dcgm-exporter:9401", "gpu-operator"),
                               ("kubernetes", "default")):
        assert not can_i(e2e_cluster, user, "get", f"services/{service}", "--subresource=proxy",
                         "-n", namespace), (service, namespace)
    assert not can_i(e2e_cluster, user, "get", "services", "--subresource=proxy", "-A")
    assert not can_i(e2e_cluster, user, "create", "services/nvidia-dcgm-exporter",
                     "--subresource=proxy", "-n", "gpu-operator")
    # And still nothing else: no Secrets, no writes to workloads.
    for verb, resource in (("get", "secrets"), ("list", "secrets"), ("patch", "deployments.apps"),
                           ("delete", "deployments.apps"), ("create", "pods"),
                           ("create", "namespaces"), ("delete", "namespaces")):
        assert not can_i(e2e_cluster, user, verb, resource, "-n", "sec-other"), (verb, resource)


def account_token(cluster, namespace: str, account: str) -> str:
    cluster.kubectl("-n", namespace, "create", "serviceaccount", account)
    return cluster.kubectl("-n", namespace, "create", "token", account, "--duration=1h").stdout.strip()


@pytest.mark.cluster
@pytest.mark.helm
@pytest.mark.timeout(300)
def test_metrics_need_a_token_allowed_to_get_metrics(e2e_cluster, secure_release, tmp_path):
    """`kaico run` with the chart's token and arguments: 401 without a token or with a bad one,
    403 for an identity without `get /metrics`, 200 once it is bound to the chart's
    metrics-reader role; /healthz and /readyz answer anyone."""
    kubeconfig = service_account_kubeconfig(e2e_cluster, "kaico-sec", "sec-kaico",
                                            tmp_path / "sa.kubeconfig")
    args = deployment_args(e2e_cluster, "kaico-sec", "sec-kaico")
    scraper = account_token(e2e_cluster, "kaico-sec", "scraper")
    stranger = account_token(e2e_cluster, "kaico-sec", "stranger")
    e2e_cluster.kubectl("create", "clusterrolebinding", "sec-scraper",
                        "--clusterrole=sec-kaico-metrics-reader",
                        "--serviceaccount=kaico-sec:scraper")
    log = tmp_path / "operator.log"
    try:
        with operator_as(kubeconfig, args, log) as base:
            assert base.startswith("https://")
            status, body = fetch(f"{base}/metrics")
            assert status == 401, body
            assert fetch(f"{base}/metrics", "not-a-token")[0] == 401
            assert fetch(f"{base}/metrics", stranger)[0] == 403
            status, body = wait_for(lambda: (lambda got: got if got[0] == 200 else None)(
                fetch(f"{base}/metrics", scraper)), 30, "the reader's binding to take effect")
            assert "kaico_evaluations_total" in body or "kaico_targets" in body, body[:500]
            # Probes carry no token.
            assert fetch(f"{base}/healthz") == (200, "ok\n")
            assert fetch(f"{base}/readyz")[0] == 200
            # Plain HTTP is not served on the port at all.
            with pytest.raises(OSError):
                fetch(base.replace("https://", "http://") + "/healthz")
        text = log.read_text()
        assert "forbidden" not in text.lower() and " 403" not in text, text[-3000:]

        # metrics.secure=false, the explicit opt-out: plain HTTP, no token asked.
        plain = [a for a in args if not a.startswith(("--metrics-auth", "--metrics-cert", "--metrics-key"))]
        with operator_as(kubeconfig, plain, tmp_path / "plain.log") as base:
            assert base.startswith("http://")
            status, body = fetch(f"{base}/metrics")
            assert status == 200 and "kaico_" in body
    finally:
        e2e_cluster.kubectl("delete", "clusterrolebinding", "sec-scraper", check=False)


# --- the uninstall hook, failing ------------------------------------------------------------------


@pytest.mark.cluster
@pytest.mark.helm
@pytest.mark.timeout(300)
def test_a_failed_cleanup_hook_leaves_no_rbac_behind(e2e_cluster, helm):
    """Nobody runs the hook's Pod here (kwok keeps it Running), so Helm times out waiting for
    it: the hook fails. Its ServiceAccount, ClusterRole, binding and Pod are deleted anyway."""
    release, namespace = "hookfail", "kaico-hookfail"
    install(helm, e2e_cluster, release, namespace, "defaultProfile.enabled=false")
    done = subprocess.run([str(helm), "uninstall", release, "-n", namespace, "--wait", "--timeout", "15s"],
                          env=helm_env(e2e_cluster), capture_output=True, text=True, timeout=240)
    assert done.returncode != 0, done.stdout  # the hook did fail
    name = f"{release}-kaico-cleanup"

    def gone() -> bool:
        cluster_scoped = [e2e_cluster.kubectl("get", kind, name, check=False).returncode
                          for kind in ("clusterrole", "clusterrolebinding")]
        namespaced = [e2e_cluster.kubectl("-n", namespace, "get", kind, name, check=False).returncode
                      for kind in ("serviceaccount", "pod")]
        return all(cluster_scoped + namespaced)

    wait_for(gone, 60, "the hook's objects to be deleted")
    left = get_json(e2e_cluster, "clusterroles", "-l", f"app.kubernetes.io/instance={release}")
    assert left["items"] == [], json.dumps([i["metadata"]["name"] for i in left["items"]])
