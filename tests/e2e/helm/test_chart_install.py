"""The chart on a real API server: accepted objects, install, upgrade, uninstall, and its RBAC.

The local control plane has no container runtime (kwok marks the operator's pod Running without
running it), so where the operator must act it runs here as `kaico run` with the chart's
ServiceAccount token: the identity and permissions a pod would have, nothing more.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from chartlib import find, run_helm

pytestmark = [pytest.mark.cluster, pytest.mark.helm]

# A Deployment kaico evaluates (it asks for a GPU) and that conforms to nothing in particular.
GPU_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "llm", "labels": {"app": "llm"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "llm"}},
        "template": {
            "metadata": {"labels": {"app": "llm"}},
            "spec": {
                "containers": [
                    {
                        "name": "vllm",
                        "image": "vllm/vllm-openai:v0.11.0",
                        "resources": {"limits": {"nvidia.com/gpu": "1"}},
                    }
                ]
            },
        },
    },
}


def kubectl(cluster, *args: str, **kwargs):
    return cluster.kubectl(*args, **kwargs)


def helm_env(cluster) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}


def helm_run(helm, cluster, *args: str, check: bool = True):
    return run_helm(helm, *args, check=check, env=helm_env(cluster))


def install(helm, cluster, release: str, namespace: str, *sets: str) -> str:
    args = ["install", release, str(find_chart()), "-n", namespace, "--create-namespace"]
    args += ["--wait", "--timeout", "90s"]
    for item in sets:
        args += ["--set", item]
    return helm_run(helm, cluster, *args).stdout


def find_chart() -> Path:
    return Path(__file__).resolve().parents[3] / "charts" / "kaico"


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get_json(cluster, *args: str) -> dict:
    return json.loads(kubectl(cluster, "get", *args, "-o", "json").stdout)


def reports_for(cluster, namespace: str, target: str, profile: str) -> list[dict]:
    items = get_json(cluster, "conformancereports", "-n", namespace)["items"]
    return [
        r
        for r in items
        if r["spec"]["targetRef"]["name"] == target and r["spec"]["profile"] == profile
    ]


def service_account_kubeconfig(cluster, namespace: str, account: str, path: Path) -> Path:
    token = kubectl(cluster, "-n", namespace, "create", "token", account, "--duration=1h").stdout
    return cluster.write_kubeconfig(path, token=token.strip(), user=account)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kaico_executable() -> str:
    kaico = shutil.which("kaico", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    assert kaico, "the kaico console script is not installed (make setup)"
    return kaico


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway serving certificate for 127.0.0.1 (what the chart's Secret holds in a pod)."""
    cert, key = directory / "metrics-tls.crt", directory / "metrics-tls.key"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=60)
    return cert, key


def local_args(args: list[str], directory: Path) -> list[str]:
    """The pod's arguments, with the certificate the pod mounts replaced by a local one."""
    if not any(a.startswith("--metrics-cert=") for a in args):
        return args
    cert, key = self_signed_certificate(directory)
    swapped = {"--metrics-cert": f"--metrics-cert={cert}", "--metrics-key": f"--metrics-key={key}"}
    return [swapped.get(a.partition("=")[0], a) for a in args]


def fetch(url: str, token: str | None = None) -> tuple[int, str]:
    """GET URL (http or https; the self-signed certificate is accepted): status and body."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@contextmanager
def operator_as(kubeconfig: Path, args: list[str], log: Path) -> Iterator[str]:
    """`kaico run ARGS` authenticated by KUBECONFIG; yields its metrics base URL (loopback,
    https when ARGS serve TLS)."""
    kaico = kaico_executable()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    args = local_args(args, log.parent)
    scheme = "https" if any(a.startswith("--metrics-cert=") for a in args) else "http"
    # A free port can be taken by another process before kaico binds it: try a few.
    for _attempt in range(3):
        port = free_port()
        with log.open("w") as out:
            process = subprocess.Popen(
                [kaico, "run", *args, "--metrics-address=127.0.0.1", f"--metrics-port={port}"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def ready(process=process, port=port) -> bool | str:
            if process.poll() is not None:
                return "exited"
            try:
                return fetch(f"{scheme}://127.0.0.1:{port}/readyz")[0] == 200
            except OSError:
                return False

        state = wait_for(ready, 60, "kaico run to be ready")
        if state is True:
            break
        if "address already in use" not in log.read_text():
            raise AssertionError(f"kaico run exited:\n{log.read_text()}")
    else:
        raise AssertionError(f"kaico run found no free port:\n{log.read_text()}")
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def uninstall(helm, cluster, release: str, namespace: str, workdir: Path):
    """`helm uninstall --wait`, playing the kubelet for the chart's post-delete cleanup Pod.

    The local control plane has no kubelet (kwok shows a bare Pod as Running forever), so the
    Pod's own command runs here, authenticated as the Pod's ServiceAccount, and its phase is
    then set from the exit code as a kubelet would. Returns Helm's result and the command's.
    """
    command = [str(helm), "uninstall", release, "-n", namespace, "--wait", "--timeout", "120s"]
    helm_process = subprocess.Popen(
        command, env=helm_env(cluster), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    hook = f"{release}-kaico-cleanup"

    def hook_pod() -> dict | str | None:
        if helm_process.poll() is not None:
            return "helm exited"
        got = kubectl(cluster, "-n", namespace, "get", "pod", hook, "-o", "json", check=False)
        return json.loads(got.stdout) if got.returncode == 0 else None

    pod = wait_for(hook_pod, 90, "the cleanup hook's Pod")
    ran = None
    if isinstance(pod, dict):
        spec = pod["spec"]
        (container,) = spec["containers"]
        assert container["command"][0] == "kaico", container
        kubeconfig = service_account_kubeconfig(
            cluster, namespace, spec["serviceAccountName"], workdir / f"{hook}.kubeconfig"
        )
        ran = subprocess.run(
            [kaico_executable(), *container["command"][1:]],
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
            capture_output=True,
            text=True,
            timeout=180,
        )
        phase = "Succeeded" if ran.returncode == 0 else "Failed"
        status = {"status": {"phase": phase}}
        kubectl(
            cluster,
            "-n",
            namespace,
            "patch",
            "pod",
            hook,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(status),
        )
    out, err = helm_process.communicate(timeout=180)
    done = subprocess.CompletedProcess(command, helm_process.returncode, out, err)
    return done, ran


def deployment_args(cluster, namespace: str, release: str) -> list[str]:
    deployment = get_json(cluster, "deployment", release, "-n", namespace)
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]


# --- every rendered object is accepted --------------------------------------------------------


@pytest.mark.parametrize(
    "sets",
    [
        (),
        (
            "metrics.serviceMonitor.enabled=true",
            "metrics.prometheusRule.enabled=true",
            "operator.watchNamespaces={dryrun-a,dryrun-b}",
            "operator.perTargetMetrics=true",
            "priorityClassName=system-cluster-critical",
            "grafana.enabled=true",
            # A dry run registers no webhook: the API server checks the configuration only.
            "admission.enabled=true",
            "networkPolicy.enabled=true",
        ),
    ],
    ids=["defaults", "everything-on"],
)
def test_every_rendered_object_is_accepted_by_the_api_server(e2e_cluster, render, sets):
    for namespace in ("kaico-dryrun", "dryrun-a", "dryrun-b"):
        e2e_cluster.create_namespace(namespace)
    objects = render(
        *sets, release="dryrun", namespace="kaico-dryrun", include_crds=True, hooks=True
    )
    assert {o["kind"] for o in objects} >= {"CustomResourceDefinition", "Deployment", "Pod"}
    # A Pod is admitted only once its ServiceAccount exists, which a dry run never creates:
    # the hook's Pod goes second, after its ServiceAccount is created for real.
    pods = [o for o in objects if o["kind"] == "Pod"]
    rest = [o for o in objects if o["kind"] != "Pod"]
    assert dry_run(e2e_cluster, rest) == len(rest)
    for pod in pods:
        account = pod["spec"]["serviceAccountName"]
        kubectl(e2e_cluster, "-n", "kaico-dryrun", "create", "serviceaccount", account)
    try:
        assert dry_run(e2e_cluster, pods) == len(pods)
    finally:
        for pod in pods:
            account = pod["spec"]["serviceAccountName"]
            kubectl(e2e_cluster, "-n", "kaico-dryrun", "delete", "serviceaccount", account)


def dry_run(cluster, objects: list[dict]) -> int:
    """`kubectl apply --dry-run=server` of OBJECTS; the number the server accepted."""
    done = kubectl(
        cluster,
        "apply",
        "--dry-run=server",
        "--server-side",
        "--force-conflicts",
        "--field-manager=kaico-dryrun",
        "-f",
        "-",
        input=yaml.safe_dump_all(objects),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return len([line for line in done.stdout.splitlines() if "(server dry run)" in line])


def test_an_upgrade_keeps_the_admission_certificate_and_its_ca_bundle(e2e_cluster, helm, render):
    """The chart generates the webhook's CA and certificate once; an upgrade (Helm's lookup of the
    stored Secret, which `helm template --dry-run=server` performs too) renders the same Secret
    and the same caBundle, so the API server keeps trusting the running operator. Nothing is
    registered: no webhook call leaves loopback."""
    namespace = "kaico-admission-upgrade"
    e2e_cluster.create_namespace(namespace)
    first = render("admission.enabled=true", release="adm", namespace=namespace)
    stored = find(first, "Secret", "adm-kaico-admission-tls")
    e2e_cluster.apply([stored])
    again = run_helm(helm, "template", "adm", str(find_chart()), "--namespace", namespace,
                     "--set", "admission.enabled=true", "--dry-run=server", "--no-hooks",
                     env=helm_env(e2e_cluster))
    objects = [doc for doc in yaml.safe_load_all(again.stdout) if doc]
    assert find(objects, "Secret", "adm-kaico-admission-tls")["data"] == stored["data"]
    (hook,) = find(objects, "ValidatingWebhookConfiguration")["webhooks"]
    assert hook["clientConfig"]["caBundle"] == stored["data"]["ca.crt"]
    # Without the stored Secret (a first install) a new pair is generated.
    fresh = find(render("admission.enabled=true", release="adm", namespace=namespace), "Secret",
                 "adm-kaico-admission-tls")
    assert fresh["data"]["tls.crt"] != stored["data"]["tls.crt"]


# --- install, upgrade, uninstall --------------------------------------------------------------


def test_install_upgrade_and_uninstall(e2e_cluster, helm, tmp_path):
    release, namespace = "lifecycle", "kaico-lifecycle"
    values = ("defaultProfile.name=lifecycle",)
    out = install(helm, e2e_cluster, release, namespace, *values)
    # NOTES name the next command.
    notes = out.split("NOTES:", 1)[1]
    assert "kubectl get conformancereports -A" in notes
    assert f"kubectl -n {namespace} rollout status deployment/{release}-kaico" in notes

    deployment = get_json(e2e_cluster, "deployment", f"{release}-kaico", "-n", namespace)
    assert deployment["status"].get("availableReplicas") == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    profile = get_json(e2e_cluster, "conformanceprofile", "lifecycle")
    assert profile["metadata"]["annotations"]["meta.helm.sh/release-name"] == release
    kubectl(e2e_cluster, "get", "clusterrolebinding", f"{release}-kaico-namespaced")

    # Upgrade: scope to one namespace; the cluster-wide binding gives way to a RoleBinding.
    e2e_cluster.create_namespace("lifecycle-ml")
    helm_run(
        helm,
        e2e_cluster,
        "upgrade",
        release,
        str(find_chart()),
        "-n",
        namespace,
        "--wait",
        "--timeout",
        "90s",
        "--reuse-values",
        "--set",
        "operator.watchNamespaces={lifecycle-ml}",
        "--set",
        "defaultProfile.spec.intervalSeconds=600",
    )
    args = deployment_args(e2e_cluster, namespace, f"{release}-kaico")
    assert "--namespace=lifecycle-ml" in args and "--all-namespaces" not in args
    gone = kubectl(
        e2e_cluster, "get", "clusterrolebinding", f"{release}-kaico-namespaced", check=False
    )
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    kubectl(e2e_cluster, "-n", "lifecycle-ml", "get", "rolebinding", f"{release}-kaico-namespaced")
    assert (
        get_json(e2e_cluster, "conformanceprofile", "lifecycle")["spec"]["intervalSeconds"] == 600
    )
    history = helm_run(helm, e2e_cluster, "history", release, "-n", namespace, "-o", "json")
    assert [h["status"] for h in json.loads(history.stdout)] == ["superseded", "deployed"]

    # Uninstall: everything the chart made goes; the CRDs stay (Helm never deletes crds/).
    done, cleanup = uninstall(helm, e2e_cluster, release, namespace, tmp_path)
    assert done.returncode == 0, done.stderr
    assert cleanup is not None and cleanup.returncode == 0, cleanup
    for kind, name in (
        ("deployment", f"{release}-kaico"),
        ("serviceaccount", f"{release}-kaico"),
        ("service", f"{release}-kaico-metrics"),
    ):
        assert kubectl(e2e_cluster, "-n", namespace, "get", kind, name, check=False).returncode
    assert kubectl(e2e_cluster, "get", "clusterrole", f"{release}-kaico", check=False).returncode
    assert kubectl(e2e_cluster, "get", "conformanceprofile", "lifecycle", check=False).returncode
    crds = {p.stem for p in (find_chart() / "crds").glob("*.yaml")}
    for crd in crds:
        kubectl(e2e_cluster, "get", "crd", crd.split("_", 1)[1] + "." + crd.split("_", 1)[0])


def test_uninstall_after_the_operator_ran_removes_the_profile_and_its_reports(
    e2e_cluster, helm, tmp_path
):
    release, namespace, workloads = "uninstall", "kaico-uninstall", "uninstall-workloads"
    install(helm, e2e_cluster, release, namespace, "defaultProfile.name=uninstall")
    e2e_cluster.create_namespace(workloads)
    e2e_cluster.apply([GPU_DEPLOYMENT], "-n", workloads)
    kubeconfig = service_account_kubeconfig(
        e2e_cluster, namespace, f"{release}-kaico", tmp_path / "sa.kubeconfig"
    )
    args = deployment_args(e2e_cluster, namespace, f"{release}-kaico")
    with operator_as(kubeconfig, args, tmp_path / "operator.log"):
        wait_for(lambda: reports_for(e2e_cluster, workloads, "llm", "uninstall"), 60, "the report")
        wait_for(
            lambda: (
                kubectl(
                    e2e_cluster, "get", "clusterconformancereport", "uninstall", check=False
                ).returncode
                == 0
            ),
            60,
            "the cluster report",
        )
    # As in a cluster, the operator is gone (its Deployment is deleted first) when the hook runs.
    before = get_json(e2e_cluster, "deployment", "llm", "-n", workloads)["metadata"]
    try:
        done, cleanup = uninstall(helm, e2e_cluster, release, namespace, tmp_path)
        assert done.returncode == 0, done.stderr
        assert cleanup is not None, "helm ran no cleanup hook"
        # The hook's command worked with exactly the hook's own ServiceAccount and ClusterRole.
        assert cleanup.returncode == 0, cleanup.stderr
        assert "deleted 1 ConformanceReport(s)" in cleanup.stdout, cleanup.stdout

        assert reports_for(e2e_cluster, workloads, "llm", "uninstall") == []
        for kind, name in (
            ("conformanceprofile", "uninstall"),
            ("clusterconformancereport", "uninstall"),
            ("clusterrole", f"{release}-kaico-cleanup"),
            ("clusterrolebinding", f"{release}-kaico-cleanup"),
        ):
            assert kubectl(e2e_cluster, "get", kind, name, check=False).returncode, (kind, name)
        # hook-succeeded: the hook's own objects are gone too.
        for kind in ("serviceaccount", "pod"):
            gone = kubectl(
                e2e_cluster, "-n", namespace, "get", kind, f"{release}-kaico-cleanup", check=False
            )
            assert gone.returncode, kind
        kubectl(e2e_cluster, "get", "crd", "conformancereports.kaico.dev")
        # The workload was not touched.
        after = get_json(e2e_cluster, "deployment", "llm", "-n", workloads)["metadata"]
        assert after["resourceVersion"] == before["resourceVersion"]
    finally:
        kubectl(e2e_cluster, "delete", "namespace", workloads, "--wait=false", check=False)


# --- RBAC: what the chart's identity may and may not do ----------------------------------------


@pytest.fixture(scope="module")
def rbac_release(e2e_cluster, helm) -> Iterator[tuple[str, str]]:
    """A release watching every namespace, and one watching only `rbac-watched`."""
    for namespace in ("rbac-watched", "rbac-other"):
        e2e_cluster.create_namespace(namespace)
    install(helm, e2e_cluster, "rbac", "kaico-rbac", "defaultProfile.enabled=false")
    install(
        helm,
        e2e_cluster,
        "scoped",
        "kaico-scoped",
        "defaultProfile.enabled=false",
        "operator.watchNamespaces={rbac-watched}",
    )
    yield (
        "system:serviceaccount:kaico-rbac:rbac-kaico",
        "system:serviceaccount:kaico-scoped:scoped-kaico",
    )
    for release, namespace in (("rbac", "kaico-rbac"), ("scoped", "kaico-scoped")):
        helm_run(
            helm, e2e_cluster, "uninstall", release, "-n", namespace, "--no-hooks", check=False
        )


def can_i(cluster, user: str, verb: str, resource: str, *where: str) -> bool:
    done = cluster.kubectl("auth", "can-i", verb, resource, f"--as={user}", *where, check=False)
    return done.stdout.strip() == "yes"


READS = [
    "inferenceservices.serving.kserve.io",
    "llminferenceservices.serving.kserve.io",
    "servingruntimes.serving.kserve.io",
    "leaderworkersets.leaderworkerset.x-k8s.io",
    "rayservices.ray.io",
    "nimservices.apps.nvidia.com",
    "vllmruntimes.production-stack.vllm.ai",
    "deployments.apps",
    "statefulsets.apps",
    "daemonsets.apps",
    "services",
    "horizontalpodautoscalers.autoscaling",
    "scaledobjects.keda.sh",
    "poddisruptionbudgets.policy",
    "httproutes.gateway.networking.k8s.io",
    "inferencepools.inference.networking.k8s.io",
    "podmonitors.monitoring.coreos.com",
    "resourceclaimtemplates.resource.k8s.io",
    "conformancereports.kaico.dev",
    "conformancewaivers.kaico.dev",
]
CLUSTER_READS = [
    "nodes",
    "namespaces",
    "runtimeclasses.node.k8s.io",
    "deviceclasses.resource.k8s.io",
    "clusterservingruntimes.serving.kserve.io",
    "conformanceprofiles.kaico.dev",
    # The cluster conformance requirements.
    "resourceslices.resource.k8s.io",
    "apiservices.apiregistration.k8s.io",
    "gatewayclasses.gateway.networking.k8s.io",
    "validatingwebhookconfigurations.admissionregistration.k8s.io",
    "mutatingwebhookconfigurations.admissionregistration.k8s.io",
    "clusterconformancereports.kaico.dev",
]
WORKLOAD_WRITES = [
    (verb, resource)
    for resource in (
        "deployments.apps",
        "statefulsets.apps",
        "inferenceservices.serving.kserve.io",
        "leaderworkersets.leaderworkerset.x-k8s.io",
        "services",
        "horizontalpodautoscalers.autoscaling",
    )
    for verb in ("create", "update", "patch", "delete")
]


def test_the_identity_reads_everything_watched(e2e_cluster, rbac_release):
    everywhere, _ = rbac_release
    for resource in READS:
        for verb in ("get", "list", "watch"):
            assert can_i(e2e_cluster, everywhere, verb, resource, "-A"), (verb, resource)
    for resource in CLUSTER_READS:
        for verb in ("list", "watch"):
            assert can_i(e2e_cluster, everywhere, verb, resource), (verb, resource)
    assert can_i(e2e_cluster, everywhere, "list", "customresourcedefinitions.apiextensions.k8s.io")


def test_the_identity_writes_only_kaicos_objects_and_events(e2e_cluster, rbac_release):
    user, _ = rbac_release
    ns = ("-n", "rbac-other")
    assert can_i(e2e_cluster, user, "create", "conformancereports.kaico.dev", *ns)
    assert can_i(e2e_cluster, user, "delete", "conformancereports.kaico.dev", *ns)
    status = "--subresource=status"
    assert can_i(e2e_cluster, user, "patch", "conformancereports.kaico.dev", status, *ns)
    assert can_i(e2e_cluster, user, "patch", "conformanceprofiles.kaico.dev", status)
    assert can_i(e2e_cluster, user, "create", "clusterconformancereports.kaico.dev")
    assert can_i(e2e_cluster, user, "create", "events", *ns)
    # The cluster requirements: cluster-autoscaler's status by name, exporters through the proxy.
    assert can_i(
        e2e_cluster, user, "get", "configmaps/cluster-autoscaler-status", "-n", "kube-system"
    )
    assert not can_i(e2e_cluster, user, "get", "configmaps/other", "-n", "kube-system")
    assert can_i(e2e_cluster, user, "get", "services/proxy", *ns)
    assert not can_i(e2e_cluster, user, "create", "services/proxy", *ns)
    for verb, resource in WORKLOAD_WRITES:
        assert not can_i(e2e_cluster, user, verb, resource, *ns), (verb, resource)
    for verb, resource, *extra in (
        ("get", "secrets"),
        ("list", "configmaps"),
        ("list", "pods"),
        ("create", "pods", "--subresource=exec"),
        ("patch", "nodes"),
        ("update", "conformancereports.kaico.dev"),
        ("create", "conformanceprofiles.kaico.dev"),
        ("delete", "conformanceprofiles.kaico.dev"),
        # A profile's status, yes; the profile itself (spec, metadata), no.
        ("patch", "conformanceprofiles.kaico.dev"),
        ("patch", "events"),
        ("create", "clusterkopfpeerings.kopf.dev"),
        # Waivers are the app teams' own: kaico only reads them.
        ("create", "conformancewaivers.kaico.dev"),
        ("patch", "conformancewaivers.kaico.dev"),
    ):
        assert not can_i(e2e_cluster, user, verb, resource, *extra, *ns), (verb, resource)


def test_a_scoped_release_reads_workloads_only_in_its_namespaces(e2e_cluster, rbac_release):
    _, scoped = rbac_release
    assert can_i(e2e_cluster, scoped, "list", "deployments.apps", "-n", "rbac-watched")
    assert can_i(
        e2e_cluster, scoped, "create", "conformancereports.kaico.dev", "-n", "rbac-watched"
    )
    assert not can_i(e2e_cluster, scoped, "list", "deployments.apps", "-n", "rbac-other")
    assert not can_i(e2e_cluster, scoped, "list", "deployments.apps", "-A")
    assert not can_i(
        e2e_cluster, scoped, "create", "conformancereports.kaico.dev", "-n", "rbac-other"
    )
    # Cluster-scoped facts stay readable: nodes decide GPU checks wherever the workload runs.
    assert can_i(e2e_cluster, scoped, "list", "nodes")


def test_the_real_token_is_refused_writes_to_workloads(e2e_cluster, rbac_release, tmp_path):
    e2e_cluster.apply([GPU_DEPLOYMENT], "-n", "rbac-other")
    kubeconfig = service_account_kubeconfig(
        e2e_cluster, "kaico-rbac", "rbac-kaico", tmp_path / "sa.kubeconfig"
    )

    def as_operator(*args: str):
        return e2e_cluster.kubectl(*args, kubeconfig=kubeconfig, check=False)

    assert as_operator("-n", "rbac-other", "get", "deployment", "llm").returncode == 0
    for args in (
        ("-n", "rbac-other", "annotate", "deployment", "llm", "kaico.dev/touched=yes"),
        ("-n", "rbac-other", "scale", "deployment", "llm", "--replicas=0"),
        ("-n", "rbac-other", "delete", "deployment", "llm", "--wait=false"),
        ("-n", "rbac-other", "get", "secrets"),
    ):
        done = as_operator(*args)
        assert done.returncode != 0 and "Forbidden" in done.stderr, (args, done.stderr)


def test_the_operator_works_with_exactly_the_scoped_charts_permissions(e2e_cluster, helm, tmp_path):
    """Scoped to one namespace (RoleBindings, plus the cluster-wide inventory the cluster report
    reads), `kaico run` with the chart's token and flags evaluates a workload there, writes its
    report, and is never refused an API call."""
    release, namespace, watched = "flow", "kaico-flow", "flow-watched"
    e2e_cluster.create_namespace(watched)
    install(
        helm,
        e2e_cluster,
        release,
        namespace,
        "defaultProfile.name=flow",
        f"operator.watchNamespaces={{{watched}}}",
        "rbac.clusterWideInventory=true",
    )
    e2e_cluster.apply([GPU_DEPLOYMENT], "-n", watched)
    before = get_json(e2e_cluster, "deployment", "llm", "-n", watched)["metadata"]
    kubeconfig = service_account_kubeconfig(
        e2e_cluster, namespace, f"{release}-kaico", tmp_path / "sa.kubeconfig"
    )
    args = deployment_args(e2e_cluster, namespace, f"{release}-kaico")
    log = tmp_path / "operator.log"
    with operator_as(kubeconfig, args, log) as base:
        (report,) = wait_for(
            lambda: reports_for(e2e_cluster, watched, "llm", "flow"), 60, "the report"
        )
        wait_for(
            lambda: reports_for(e2e_cluster, watched, "llm", "flow")[0].get("status"),
            30,
            "the report's status",
        )
        status, metrics = fetch(f"{base}/metrics", e2e_cluster.admin_token)
        assert status == 200, metrics
    assert 'kaico_targets{conformant="false",kind="Deployment",profile="flow"} 1.0' in metrics or (
        'kaico_targets{conformant="true",kind="Deployment",profile="flow"} 1.0' in metrics
    ), metrics
    text = log.read_text()
    assert "forbidden" not in text.lower() and " 403" not in text, text
    # The workload itself was not written to.
    after = get_json(e2e_cluster, "deployment", "llm", "-n", watched)["metadata"]
    for field in ("annotations", "labels", "finalizers", "generation"):
        assert after.get(field) == before.get(field), field
    assert find([report], "ConformanceReport")["spec"]["targetRef"]["kind"] == "Deployment"
