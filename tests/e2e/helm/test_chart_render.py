"""`helm lint --strict` and `helm template`: the fields that matter, read from the rendered YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from chartlib import find, kinds, run_helm

WORKLOAD_GROUPS = {
    "serving.kserve.io",
    "leaderworkerset.x-k8s.io",
    "ray.io",
    "apps.nvidia.com",
    "production-stack.vllm.ai",
    "apps",
}
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}
READ = ["get", "list", "watch"]


def operator_container(objects):
    deployment = find(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def rules_of(objects, name):
    return find(objects, "ClusterRole", name)["rules"]


@pytest.mark.helm
@pytest.mark.parametrize(
    "sets",
    [
        (),
        (
            "metrics.serviceMonitor.enabled=true",
            "metrics.prometheusRule.enabled=true",
            "operator.watchNamespaces={serving,ml}",
            "operator.perTargetMetrics=true",
        ),
    ],
    ids=["defaults", "everything-on"],
)
def test_the_chart_passes_strict_lint(helm, chart_dir, sets):
    args = ["lint", "--strict", str(chart_dir)]
    for item in sets:
        args += ["--set", item]
    done = run_helm(helm, *args, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.helm
def test_defaults_render_the_operator_its_identity_rbac_service_and_profile(render):
    objects = render()
    assert kinds(objects) == [
        "ClusterRole",
        "ClusterRole",
        # The reports in the built-in view and edit roles (rbac-user-roles.yaml).
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",  # <fullname>-metrics-reader, for whoever scrapes /metrics
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "ConformanceProfile",
        "Deployment",
        "Secret",  # the self-signed serving certificate of /metrics
        "Service",
        "ServiceAccount",
    ]
    for obj in objects:
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding", "ConformanceProfile"):
            assert obj["metadata"]["namespace"] == "kaico-system"


@pytest.mark.helm
def test_one_replica_replaced_not_rolled_and_standalone(render):
    deployment = find(render(), "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    args = operator_container([deployment])["args"]
    assert "--standalone" in args
    assert "--all-namespaces" in args
    assert "--metrics-port=8080" in args
    # kaico run listens on loopback unless told otherwise; probes come through the pod IP.
    assert "--metrics-address=0.0.0.0" in args
    assert "--log-level=info" in args
    assert not any(a.startswith("--namespace") for a in args)
    assert "--per-target-metrics" not in args


@pytest.mark.helm
def test_the_pod_runs_locked_down_with_a_writable_tmp(render):
    deployment = find(render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = operator_container([deployment])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    (tmp,) = [v for v in pod["volumes"] if v["name"] == "tmp"]
    assert tmp["emptyDir"] == {"sizeLimit": "64Mi"}
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    assert container["resources"]["limits"] == {"memory": "512Mi"}


@pytest.mark.helm
def test_probes_and_the_metrics_port_line_up(render):
    objects = render("metrics.port=9100", "metrics.service.port=9200")
    container = operator_container(objects)
    assert "--metrics-port=9100" in container["args"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] == "metrics"
        assert container[probe]["httpGet"]["scheme"] == "HTTPS"
    service = find(objects, "Service")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9200, "targetPort": "metrics", "protocol": "TCP",
         "appProtocol": "https"}
    ]
    pod_labels = find(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


@pytest.mark.helm
def test_the_pod_uses_the_charts_service_account(render):
    objects = render()
    account = find(objects, "ServiceAccount")["metadata"]["name"]
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account == "kaico"
    for binding in (o for o in objects if o["kind"].endswith("Binding")):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": "kaico-system"}
        ]


@pytest.mark.helm
def test_image_tag_defaults_to_the_app_version_and_a_digest_pins_it(render, chart_dir):
    app_version = yaml.safe_load((chart_dir / "Chart.yaml").read_text())["appVersion"]
    assert operator_container(render())["image"] == f"ghcr.io/kaico-dev/kaico:{app_version}"
    assert operator_container(render("image.tag=e2e"))["image"] == "ghcr.io/kaico-dev/kaico:e2e"
    digest = "sha256:" + "a" * 64
    pinned = operator_container(
        render("image.repository=reg.example/kaico", f"image.digest={digest}")
    )
    assert pinned["image"] == f"reg.example/kaico@{digest}"


@pytest.mark.helm
def test_scheduling_values_reach_the_pod(render):
    values = {
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "infra", "operator": "Exists", "effect": "NoSchedule"}],
        "priorityClassName": "system-cluster-critical",
        "podAnnotations": {"a": "b"},
    }
    deployment = find(render(values=values), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == values["nodeSelector"]
    assert pod["tolerations"] == values["tolerations"]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {"a": "b"}
    assert "priorityClassName" not in find(render(), "Deployment")["spec"]["template"]["spec"]


@pytest.mark.helm
def test_per_target_metrics_is_a_flag(render):
    assert (
        "--per-target-metrics"
        in operator_container(render("operator.perTargetMetrics=true"))["args"]
    )


@pytest.mark.helm
def test_rbac_reads_what_is_watched_and_writes_only_kaicos_own_objects(render):
    objects = render()
    reviews = [{"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"],
                "verbs": ["create"]},
               {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"],
                "verbs": ["create"]}]
    for role in (o for o in objects if o["kind"] in ("ClusterRole", "Role")):
        for rule in role["rules"]:
            if "nonResourceURLs" in rule:  # <fullname>-metrics-reader, bound to no one here
                assert role["metadata"]["name"] == "kaico-metrics-reader"
                assert rule == {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}
                continue
            assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], rule
            writes = set(rule["verbs"]) & WRITE_VERBS
            if not writes or rule in reviews:  # a review is a question, stored nowhere
                continue
            # Writes: kaico.dev objects, and Events (create/patch only).
            if rule["apiGroups"] == [""]:
                assert rule["resources"] == ["events"] and writes == {"create"}, rule
            else:
                assert rule["apiGroups"] == ["kaico.dev"], rule
    assert all(r in rules_of(objects, "kaico") for r in reviews)
    assert not any(r in rules_of(render("metrics.secure=false"), "kaico") for r in reviews)
    granted = {}
    # The operator's own roles: not those that extend the built-in user roles by aggregation.
    bound = {b["roleRef"]["name"] for b in objects if b["kind"] in ("ClusterRoleBinding", "RoleBinding")}
    for role in (o for o in objects if o["kind"] == "ClusterRole" and o["metadata"]["name"] in bound):
        for rule in role["rules"]:
            if "nonResourceURLs" in rule:
                continue
            if rule.get("resourceNames"):
                # Named objects only: cluster-autoscaler's status ConfigMap, get only.
                assert rule == {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "resourceNames": ["cluster-autoscaler-status"],
                    "verbs": ["get"],
                }, rule
                continue
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    granted.setdefault((group, resource), set()).update(rule["verbs"])
    # No secrets, pods or exec: kaico reads manifests, not workloads' data. No service proxy
    # either: by default kaico reads no exporter (acceleratorExporters.services names them).
    assert not {r for _, r in granted} & {"secrets", "pods", "pods/exec", "configmaps",
                                          "services/proxy"}
    for (group, resource), verbs in granted.items():
        if group in WORKLOAD_GROUPS:
            assert verbs == set(READ), (group, resource, verbs)
    assert granted[("kaico.dev", "conformancereports")] == {*READ, "create", "delete"}
    assert granted[("kaico.dev", "conformancereports/status")] == {"patch"}
    # Profiles are only read; their status is written through the subresource.
    assert granted[("kaico.dev", "conformanceprofiles")] == set(READ)
    assert granted[("kaico.dev", "conformanceprofiles/status")] == {"patch"}
    assert granted[("apiextensions.k8s.io", "customresourcedefinitions")] == {"list", "watch"}
    # --standalone: no kopf peering objects.
    assert not any(group == "kopf.dev" for group, _ in granted)


@pytest.mark.helm
def test_watching_named_namespaces_binds_namespaced_rights_only_there(render):
    objects = render("operator.watchNamespaces={serving,ml}")
    args = operator_container(objects)["args"]
    assert "--namespace=serving" in args and "--namespace=ml" in args
    assert "--all-namespaces" not in args
    cluster_bindings = [o for o in objects if o["kind"] == "ClusterRoleBinding"]
    assert [b["roleRef"]["name"] for b in cluster_bindings] == ["kaico"]
    role_bindings = {
        (o["metadata"]["namespace"], o["roleRef"]["kind"], o["roleRef"]["name"])
        for o in objects
        if o["kind"] == "RoleBinding"
    }
    assert role_bindings == {
        ("serving", "ClusterRole", "kaico-namespaced"),
        ("ml", "ClusterRole", "kaico-namespaced"),
        # Events about cluster-scoped ClusterConformanceReports are posted in "default".
        ("default", "Role", "kaico-events"),
    }
    events_role = find(objects, "Role", "kaico-events")
    assert events_role["rules"] == [
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}
    ]
    # Cluster-wide listing of workloads for the cluster report only when asked for.
    assert "ClusterRole" not in {o["kind"] for o in objects if "inventory" in o["metadata"]["name"]}
    inventory = render("operator.watchNamespaces={serving}", "rbac.clusterWideInventory=true")
    rules = find(inventory, "ClusterRole", "kaico-inventory")["rules"]
    assert {v for rule in rules for v in rule["verbs"]} == {"list", "watch"}
    assert find(inventory, "ClusterRoleBinding", "kaico-inventory")["roleRef"]["name"] == (
        "kaico-inventory"
    )
    # Watching every namespace already lists them everywhere: the value changes nothing then.
    names = {o["metadata"]["name"] for o in render("rbac.clusterWideInventory=true")}
    assert "kaico-inventory" not in names


@pytest.mark.helm
def test_a_scoped_install_targets_its_default_profile_at_the_watched_namespaces(render):
    """So the install covers its own profile and writes its counts and cluster report."""
    profile = find(render("operator.watchNamespaces={serving,ml}"), "ConformanceProfile", "default")
    assert profile["spec"]["targets"]["namespaces"] == ["serving", "ml"]
    assert "targets" not in find(render(), "ConformanceProfile", "default")["spec"] or (
        "namespaces" not in find(render(), "ConformanceProfile", "default")["spec"]["targets"])
    chosen = render("operator.watchNamespaces={serving,ml}",
                    "defaultProfile.spec.targets.namespaces={serving}",
                    "defaultProfile.spec.targets.kinds={Deployment}")
    targets = find(chosen, "ConformanceProfile", "default")["spec"]["targets"]
    assert targets == {"namespaces": ["serving"], "kinds": ["Deployment"]}


@pytest.mark.helm
def test_rbac_can_be_left_to_the_user(render):
    objects = render("rbac.create=false", "serviceAccount.create=false", "serviceAccount.name=ops")
    assert kinds(objects) == ["ConformanceProfile", "Deployment", "Secret", "Service"]
    assert find(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "ops"


@pytest.mark.helm
def test_the_default_profile_is_the_builtin_one_with_overrides_merged(render, repo_root: Path):
    builtin = yaml.safe_load((repo_root / "conformance" / "profiles" / "default.yaml").read_text())
    profile = find(render(), "ConformanceProfile")
    assert profile["metadata"]["name"] == "default"
    assert profile["spec"] == builtin["spec"]
    values = {"defaultProfile": {"name": "platform", "spec": {"intervalSeconds": 60}}}
    custom = find(render(values=values), "ConformanceProfile")
    assert custom["metadata"]["name"] == "platform"
    assert custom["spec"]["intervalSeconds"] == 60
    assert custom["spec"]["parameters"] == builtin["spec"]["parameters"]
    assert "ConformanceProfile" not in kinds(render("defaultProfile.enabled=false"))


@pytest.mark.helm
def test_service_monitor_scrapes_the_metrics_service(render):
    objects = render(
        "metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom"
    )
    monitor = find(objects, "ServiceMonitor")
    service = find(objects, "Service")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["kaico-system"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    # The secure endpoint: HTTPS, Prometheus' own token, the self-signed certificate accepted.
    assert endpoint["scheme"] == "https"
    assert endpoint["bearerTokenFile"] == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert endpoint["tlsConfig"] == {"insecureSkipVerify": True}
    ca = {"ca": {"secret": {"name": "kaico-ca", "key": "ca.crt"}}, "serverName": "kaico"}
    values = {"metrics": {"serviceMonitor": {"enabled": True, "tlsConfig": ca}}}
    (endpoint,) = find(render(values=values), "ServiceMonitor")["spec"]["endpoints"]
    assert endpoint["tlsConfig"] == ca
    (plain,) = find(render("metrics.serviceMonitor.enabled=true", "metrics.secure=false"),
                    "ServiceMonitor")["spec"]["endpoints"]
    assert not {"scheme", "bearerTokenFile", "tlsConfig"} & plain.keys()


@pytest.mark.helm
def test_prometheus_rule_has_the_six_alerts_with_configured_durations(render):
    objects = render(
        "metrics.prometheusRule.enabled=true",
        "metrics.prometheusRule.nonConformantFor=2h",
        "metrics.prometheusRule.alertLabels.team=ml-platform",
        "metrics.prometheusRule.repairsThreshold=3",
        "metrics.prometheusRule.watchDownFor=15m",
    )
    (group,) = find(objects, "PrometheusRule")["spec"]["groups"]
    alerts = {rule["alert"]: rule for rule in group["rules"]}
    assert set(alerts) == {
        "KaicoWorkloadNonConformant",
        "KaicoCriticalCheckFailing",
        "KaicoOperatorDown",
        "KaicoOperatorErrors",
        "KaicoReportRepairs",
        "KaicoWatchDown",
    }
    assert alerts["KaicoWorkloadNonConformant"]["for"] == "2h"
    assert alerts["KaicoReportRepairs"]["expr"].endswith("> 3")
    assert alerts["KaicoWatchDown"]["for"] == "15m"
    assert all(rule["labels"]["team"] == "ml-platform" for rule in alerts.values())
    assert 'job="kaico-metrics"' in alerts["KaicoOperatorDown"]["expr"]
    assert "ServiceMonitor" not in kinds(objects)


@pytest.mark.helm
def test_rbac_reads_exactly_what_the_operator_watches(render):
    """Every kind the operator watches (kaico.kube.resources for workloads and their facts,
    kaico.cluster.controller for the cluster requirements) is readable from the right role, and
    nothing else is."""
    from kaico.cluster.watch import CLUSTER_WATCHES
    from kaico.kube.resources import FACTS, PROFILES, REPORTS, TARGETS, WAIVERS

    objects = render()

    def read_set(role_name):
        return {
            (group, resource)
            for rule in rules_of(objects, role_name)
            if set(READ) <= set(rule["verbs"])
            for group in rule["apiGroups"]
            for resource in rule["resources"]
        }

    watched = {(r.group, r.plural) for r in (*TARGETS, *FACTS, PROFILES, REPORTS, WAIVERS)}
    watched |= {(w.resource.group, w.resource.plural) for w in CLUSTER_WATCHES}
    # Cluster-scoped kinds are bound cluster-wide; everything else only where it is watched.
    cluster_scoped = {
        ("", "nodes"),
        ("node.k8s.io", "runtimeclasses"),
        ("resource.k8s.io", "deviceclasses"),
        ("resource.k8s.io", "resourceslices"),
        ("serving.kserve.io", "clusterservingruntimes"),
        ("kaico.dev", "conformanceprofiles"),
        ("apiregistration.k8s.io", "apiservices"),
        ("gateway.networking.k8s.io", "gatewayclasses"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
        # list/watch only (below), for kopf's discovery of kinds installed later.
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    }
    # kopf's discovery of namespaces (and the namespace-label index) and kaico's cluster reports.
    extra = {("", "namespaces"), ("kaico.dev", "clusterconformancereports")}
    assert (
        read_set("kaico")
        == (watched & cluster_scoped) - {("apiextensions.k8s.io", "customresourcedefinitions")}
        | extra
    )
    assert read_set("kaico-namespaced") == watched - cluster_scoped
    crds = [
        r for r in rules_of(objects, "kaico") if r["resources"] == ["customresourcedefinitions"]
    ]
    assert crds == [
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": ["list", "watch"],
        }
    ]


# --- the uninstall hook -----------------------------------------------------------------------


def hook_objects(objects):
    return [o for o in objects if "helm.sh/hook" in (o["metadata"].get("annotations") or {})]


@pytest.mark.helm
def test_uninstall_runs_kaico_cleanup_after_the_operator_is_gone(render):
    objects = render(hooks=True)
    hooks = hook_objects(objects)
    assert kinds(hooks) == ["ClusterRole", "ClusterRoleBinding", "Pod", "ServiceAccount"]
    for obj in hooks:
        annotations = obj["metadata"]["annotations"]
        # post-delete: the release's objects (the operator among them) are already deleted.
        assert annotations["helm.sh/hook"] == "post-delete"
        # hook-failed too: a hook that fails or times out leaves no ClusterRole behind.
        assert annotations["helm.sh/hook-delete-policy"] == (
            "before-hook-creation,hook-succeeded,hook-failed"
        )
        assert obj["metadata"]["name"] == "kaico-cleanup"
    # Its identity and permissions exist before the Pod that uses them.
    weight = {o["kind"]: int(o["metadata"]["annotations"]["helm.sh/hook-weight"]) for o in hooks}
    assert weight["ServiceAccount"] < weight["ClusterRoleBinding"] < weight["Pod"]
    assert weight["ClusterRole"] < weight["ClusterRoleBinding"]
    # Exactly: list and delete-collection kaico's two report kinds. No profiles, no CRDs.
    assert find(hooks, "ClusterRole")["rules"] == [
        {
            "apiGroups": ["kaico.dev"],
            "resources": ["conformancereports", "clusterconformancereports"],
            "verbs": ["list", "deletecollection"],
        }
    ]
    binding = find(hooks, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == "kaico-cleanup"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kaico-cleanup", "namespace": "kaico-system"}
    ]
    pod = find(hooks, "Pod")["spec"]
    assert pod["serviceAccountName"] == "kaico-cleanup"
    # Retried in place by the kubelet; Helm waits for it to succeed.
    assert pod["restartPolicy"] == "OnFailure"
    (container,) = pod["containers"]
    assert container["command"] == ["kaico", "cleanup", "--timeout=120"]
    assert container["image"] == operator_container(objects)["image"]
    assert container["securityContext"] == operator_container(objects)["securityContext"]
    # Its labels match none of the operator's selectors (a ReplicaSet would adopt a bare Pod).
    selector = find(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    labels = find(hooks, "Pod")["metadata"]["labels"]
    assert not selector.items() <= labels.items()
    assert labels["app.kubernetes.io/component"] == "cleanup"


@pytest.mark.helm
def test_a_scoped_release_cleans_up_only_its_namespaces(render):
    objects = render(
        "operator.watchNamespaces={serving,ml}", "cleanup.timeoutSeconds=30", hooks=True
    )
    (container,) = find(hook_objects(objects), "Pod")["spec"]["containers"]
    assert container["command"] == [
        "kaico",
        "cleanup",
        "--timeout=30",
        "--namespace=serving",
        "--namespace=ml",
    ]


@pytest.mark.helm
@pytest.mark.parametrize("sets", [("cleanup.enabled=false",), ("rbac.create=false",)])
def test_no_hook_when_cleanup_is_off_or_rbac_is_left_to_the_user(render, sets):
    assert hook_objects(render(*sets, hooks=True)) == []
