"""`kaico cleanup` on the local control plane: it deletes the reports kaico wrote (and only
those), in the namespaces it is given, and says plainly when it may not."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from kaico_dev.localcluster import LocalCluster
from operator_harness import REPO, Api, wait_for
from operator_manifests import profile, vllm_deployment

pytestmark = pytest.mark.usefixtures("kaico_crds")

MANAGED = {"app.kubernetes.io/managed-by": "kaico"}


def report(namespace: str, name: str, labels: dict[str, str]) -> dict:
    return {
        "apiVersion": "kaico.dev/v1alpha1",
        "kind": "ConformanceReport",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "profile": "cleanup",
        },
    }


def cleanup(cluster: LocalCluster, *args: str, kubeconfig: Path | None = None):
    env = {**os.environ, "KUBECONFIG": str(kubeconfig or cluster.kubeconfig)}
    return subprocess.run(
        [sys.executable, "-m", "kaico", "cleanup", "--settle", "0.5", *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )


def names(cluster: LocalCluster, *args: str) -> set[str]:
    out = cluster.kubectl("get", *args, "-o", "name").stdout
    return {line.split("/", 1)[1] for line in out.split()}


def test_cleanup_deletes_kaicos_reports_in_the_selected_namespaces_only(local_cluster: LocalCluster):
    for namespace in ("cleanup-a", "cleanup-b", "cleanup-keep"):
        local_cluster.create_namespace(namespace)
    local_cluster.apply([
        report("cleanup-a", "one", MANAGED),
        report("cleanup-a", "two", MANAGED),
        report("cleanup-b", "three", MANAGED),
        # Not kaico's (no label): someone else's object of the same kind is left alone.
        report("cleanup-b", "foreign", {"team": "ml"}),
        # Outside the selected namespaces.
        report("cleanup-keep", "kept", MANAGED),
        {"apiVersion": "kaico.dev/v1alpha1", "kind": "ClusterConformanceReport",
         "metadata": {"name": "cleanup", "labels": MANAGED}, "spec": {"profile": "cleanup"}},
    ])

    # ClusterConformanceReports are cluster-scoped: kaico's from earlier tests on this shared
    # control plane (their profiles deleted, the garbage collector not done yet) go too.
    managed = names(local_cluster, "clusterconformancereports", "-l", "app.kubernetes.io/managed-by=kaico")
    done = cleanup(local_cluster, "--namespace", "cleanup-*", "--namespace", "!cleanup-keep")

    assert done.returncode == 0, done.stderr
    counted = re.fullmatch(r"kaico: deleted 3 ConformanceReport\(s\) in 2 namespace\(s\) and (\d+) "
                           r"ClusterConformanceReport\(s\)\n", done.stdout)
    assert counted and 1 <= int(counted[1]) <= len(managed), (done.stdout, managed)
    assert not names(local_cluster, "clusterconformancereports", "-l", "app.kubernetes.io/managed-by=kaico")
    assert names(local_cluster, "conformancereports", "-n", "cleanup-a") == set()
    assert names(local_cluster, "conformancereports", "-n", "cleanup-b") == {"foreign"}
    assert names(local_cluster, "conformancereports", "-n", "cleanup-keep") == {"kept"}
    assert "cleanup" not in names(local_cluster, "clusterconformancereports")

    # Run again: nothing left to delete is a success, not an error.
    again = cleanup(local_cluster, "--namespace", "cleanup-a")
    assert again.returncode == 0, again.stderr
    assert "deleted 0 ConformanceReport(s) in 0 namespace(s)" in again.stdout


def test_after_the_operator_stops_cleanup_removes_what_it_wrote(
    local_cluster: LocalCluster, api: Api, namespace: str, start_operator
):
    name = f"p-{namespace}"
    api.apply(profile(name, namespace), vllm_deployment(namespace))
    operator = start_operator("--namespace", namespace)
    wait_for(lambda: names(local_cluster, "conformancereports", "-n", namespace), 60,
             message="the operator's report")
    operator.stop()
    assert name in names(local_cluster, "clusterconformancereports")

    done = cleanup(local_cluster, "--namespace", namespace)

    assert done.returncode == 0, done.stderr
    assert names(local_cluster, "conformancereports", "-n", namespace) == set()
    assert name not in names(local_cluster, "clusterconformancereports")
    # The workload and the profile are not kaico's to delete.
    assert names(local_cluster, "deployments", "-n", namespace) == {"llama"}
    assert name in names(local_cluster, "conformanceprofiles")
    api.delete("conformanceprofile", name, "--wait=false")


def test_an_identity_without_permission_gets_a_clear_error_and_exit_1(
    local_cluster: LocalCluster, tmp_path: Path
):
    namespace = "cleanup-denied"
    local_cluster.create_namespace(namespace)
    local_cluster.kubectl("-n", namespace, "create", "serviceaccount", "nobody")
    token = local_cluster.kubectl("-n", namespace, "create", "token", "nobody").stdout.strip()
    kubeconfig = local_cluster.write_kubeconfig(tmp_path / "nobody.kubeconfig", token=token, user="nobody")

    done = cleanup(local_cluster, kubeconfig=kubeconfig)

    assert done.returncode == 1
    assert done.stderr.startswith("kaico: cleanup: listing conformancereports: 403 Forbidden"), done.stderr
    assert "Traceback" not in done.stderr


def test_no_cluster_configuration_is_exit_2(tmp_path: Path):
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    done = subprocess.run([sys.executable, "-m", "kaico", "cleanup"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("kaico: cannot reach the cluster:"), done.stderr
