"""``kaico check --cluster``: manifests judged against the live cluster's facts (read-only), an
input object replacing its live counterpart, on the local control plane."""

from __future__ import annotations

import io
import json
from pathlib import Path

import yaml
from kaico.cli import main

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: llm, namespace: {ns}}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: llm}}}}
  template:
    metadata: {{labels: {{app: llm}}}}
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai
          ports: [{{name: http, containerPort: 8000}}]
          resources: {{limits: {{nvidia.com/gpu: "1"}}}}
"""

LIVE = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: llm, namespace: {ns}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: llm}}
  minReplicas: 2
  maxReplicas: 4
  metrics:
    - type: Pods
      pods:
        metric: {{name: "vllm:num_requests_waiting"}}
        target: {{type: AverageValue, averageValue: "5"}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: llm, namespace: {ns}}}
spec:
  maxUnavailable: 1
  selector: {{matchLabels: {{app: llm}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: llm, namespace: {ns}}}
spec:
  selector: {{app: llm}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""

# The same Service, as the chart upgrade being checked would leave it: selecting other pods.
CHANGED_SERVICE = """
---
apiVersion: v1
kind: Service
metadata: {{name: llm, namespace: {ns}}}
spec:
  selector: {{app: something-else}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def check(*argv: str, stdin_text: str) -> tuple[int, dict | str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", "-f", "-", *argv], stdout=out, stdin=io.StringIO(stdin_text), stderr=err)
    text = out.getvalue()
    return code, (json.loads(text) if "-o" in argv and text else text), err.getvalue()


def results(document: dict) -> dict[str, dict]:
    (report,) = document["reports"]
    return {r["check"]: r for r in report["results"]}


def test_the_live_clusters_facts_judge_the_input(local_cluster, namespace):
    local_cluster.apply(LIVE.format(ns=namespace))
    kubeconfig = str(local_cluster.kubeconfig)
    deployment = DEPLOYMENT.format(ns=namespace)

    code, document, err = check("--kubeconfig", kubeconfig, "-o", "json", stdin_text=deployment)
    assert document["mode"] == "cluster", err
    found = results(document)
    # the live HPA, PDB and Service of the namespace count
    for passing in ("scaling-autoscaler", "scaling-disruption-budget", "endpoint-service",
                    "scaling-inference-metric"):
        assert found[passing]["result"] == "pass", found[passing]
    # the live GPU nodes are judged (offline, with no Nodes in the input, this check skips)
    assert found["gpu-node-match"]["result"] != "skip", found["gpu-node-match"]

    # Offline, the same Deployment is the whole application: no HPA, PDB or Service; no Nodes.
    _, offline, _ = check("-o", "json", stdin_text=deployment)
    offline_found = results(offline)
    assert offline_found["scaling-autoscaler"]["result"] == "fail"
    assert offline_found["gpu-node-match"]["result"] == "skip"


def test_an_input_object_replaces_its_live_counterpart(local_cluster, namespace):
    local_cluster.apply(LIVE.format(ns=namespace))
    upgrade = DEPLOYMENT.format(ns=namespace) + CHANGED_SERVICE.format(ns=namespace)
    _, document, _ = check("--kubeconfig", str(local_cluster.kubeconfig), "-o", "json",
                           stdin_text=upgrade)
    found = results(document)
    # The upgraded Service selects other pods, and the live one (which selected them) is gone
    # from the judgement; the live HPA is still there.
    assert found["endpoint-service"]["result"] == "fail", found["endpoint-service"]
    assert found["scaling-autoscaler"]["result"] == "pass"
    # nothing was written to the cluster: the live Service still selects app=llm
    live = json.loads(local_cluster.kubectl("get", "service", "llm", "-n", namespace, "-o", "json").stdout)
    assert live["spec"]["selector"] == {"app": "llm"}


def test_no_reachable_cluster_or_partial_with_cluster_exits_2(local_cluster, tmp_path: Path):
    config = yaml.safe_load(local_cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    closed = tmp_path / "kubeconfig"
    closed.write_text(yaml.safe_dump(config))
    code, _, err = check("--kubeconfig", str(closed), stdin_text=DEPLOYMENT.format(ns="x"))
    assert code == 2 and "cannot read the cluster" in err
    code, _, err = check("--cluster", "--partial", stdin_text=DEPLOYMENT.format(ns="x"))
    assert code == 2 and "--partial" in err
    code, _, err = check("--kubeconfig", str(tmp_path / "none"), stdin_text="")
    assert code == 2 and "kubeconfig" in err
