"""kwok Stage configuration: the fake kubelet behaviour of the local cluster's nodes and pods.

Standalone ``kwok`` does nothing without Stage objects (it exits with "no stages found"). These are
kaico's own, deliberately small: a node becomes Ready, a bound pod becomes Running and Ready (and
Ready again when the node lifecycle controller marked it not ready), a Job's pod then Succeeds,
and a pod being deleted goes away (there is no kubelet to confirm the deletion).
Templates are Go templates rendered by kwok against the object; the result is applied to the
``status`` subresource as a strategic merge patch, so fields we do not mention (notably a node's
``capacity``/``allocatable`` with ``nvidia.com/gpu``) are kept as the creator wrote them.
"""

from __future__ import annotations

from typing import Any

import yaml

STAGE_API = "kwok.x-k8s.io/v1alpha1"

# Node status. Capacity is only defaulted when the creator gave none: GPU nodes bring their own.
_NODE_STATUS = """\
{{ $now := Now }}
phase: Running
conditions:
{{ range $type, $status := dict "Ready" "True" "MemoryPressure" "False" "DiskPressure" "False" "PIDPressure" "False" "NetworkUnavailable" "False" }}
- type: {{ $type }}
  status: {{ $status | Quote }}
  reason: {{ if eq $status "True" }}KubeletReady{{ else }}KubeletHasNo{{ $type }}{{ end }}
  message: "simulated by kwok for kaico's local cluster"
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
addresses:
- type: InternalIP
  address: {{ NodeIP | Quote }}
- type: Hostname
  address: {{ .metadata.name | Quote }}
daemonEndpoints:
  kubeletEndpoint:
    Port: {{ NodePort }}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: __KUBE_VERSION__
  kubeProxyVersion: __KUBE_VERSION__
  containerRuntimeVersion: "kwok://simulated"
  kernelVersion: "simulated"
  osImage: "kaico local cluster (kwok)"
  machineID: {{ .metadata.uid | Quote }}
  systemUUID: {{ .metadata.uid | Quote }}
  bootID: {{ .metadata.uid | Quote }}
{{ if not .status.capacity }}
capacity: {cpu: "16", memory: "64Gi", pods: "110"}
allocatable: {cpu: "16", memory: "64Gi", pods: "110"}
{{ end }}
"""

# A bound pod starts. Init containers run to completion (sidecars, restartPolicy Always, keep
# running); every regular container is running and ready, and so are the readiness gates.
_POD_RUNNING = """\
{{ $now := Now }}
phase: Running
startTime: {{ $now | Quote }}
conditions:
- {type: PodReadyToStartContainers, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ range .spec.readinessGates }}
- {type: {{ .conditionType | Quote }}, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ printf "simulated://%s" .image | Quote }}
  restartCount: 0
  {{ if eq (or .restartPolicy "") "Always" }}
  ready: true
  started: true
  state: {running: {startedAt: {{ $now | Quote }}}}
  {{ else }}
  ready: true
  state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
  {{ end }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ printf "simulated://%s" .image | Quote }}
  ready: true
  started: true
  restartCount: 0
  state: {running: {startedAt: {{ $now | Quote }}}}
{{ end }}
{{ with NodeIPWith .spec.nodeName }}
hostIP: {{ . | Quote }}
hostIPs: [{ip: {{ . | Quote }}}]
{{ end }}
{{ with PodIPWith .spec.nodeName (or .spec.hostNetwork false) (or .metadata.uid "") (or .metadata.name "") (or .metadata.namespace "") }}
podIP: {{ . | Quote }}
podIPs: [{ip: {{ . | Quote }}}]
{{ end }}
"""

# A running pod whose Ready condition someone else turned off becomes ready again. The node
# lifecycle controller does that to every pod of a node whose lease lapsed (as kwok's leases do
# while the API server is down, or lag under load); a real kubelet, back in touch, reports its
# pods ready again at once. Without this stage they would stay not ready for good (their
# Deployments unavailable) after any API server outage. Conditions merge by type: only Ready and
# ContainersReady change.
_POD_READY_AGAIN = """\
{{ $now := Now }}
conditions:
- {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
"""

# A Job's pod finishes successfully a moment after it started, so Jobs complete.
_POD_SUCCEEDED = """\
{{ $now := Now }}
phase: Succeeded
conditions:
- {type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ printf "simulated://%s" .image | Quote }}
  ready: false
  started: false
  restartCount: 0
  state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
{{ end }}
"""


def _expr(key: str, op: str, *values: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": op}
    if values:
        out["values"] = list(values)
    return out


def _stage(name: str, kind: str, exprs: list[dict[str, Any]], nxt: dict[str, Any],
           delay_ms: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "resourceRef": {"apiGroup": "v1", "kind": kind},
        "selector": {"matchExpressions": exprs},
        "next": nxt,
    }
    if delay_ms is not None:
        spec["delay"] = {"durationMilliseconds": delay_ms}
    return {"apiVersion": STAGE_API, "kind": "Stage", "metadata": {"name": name}, "spec": spec}


def _status_patch(template: str) -> dict[str, Any]:
    return {"patches": [{"subresource": "status", "root": "status", "template": template}]}


def stages(kube_version: str) -> list[dict[str, Any]]:
    """The Stage objects, with the nodes' reported kubelet version set to the control plane's."""
    not_deleting = _expr(".metadata.deletionTimestamp", "DoesNotExist")
    ready_status = '.status.conditions.[] | select(.type == "Ready") | .status'
    return [
        _stage("kaico-node-ready", "Node",
               [not_deleting, _expr(ready_status, "NotIn", "True")],
               _status_patch(_NODE_STATUS.replace("__KUBE_VERSION__", kube_version))),
        _stage("kaico-pod-running", "Pod",
               [not_deleting, _expr(".status.phase", "In", "Pending"),
                _expr(ready_status, "NotIn", "True")],
               _status_patch(_POD_RUNNING)),
        _stage("kaico-pod-ready-again", "Pod",
               [not_deleting, _expr(".status.phase", "In", "Running"),
                _expr(ready_status, "In", "False")],
               _status_patch(_POD_READY_AGAIN)),
        _stage("kaico-pod-job-succeeded", "Pod",
               [not_deleting, _expr(".status.phase", "In", "Running"),
                _expr(".metadata.ownerReferences.[].kind", "In", "Job")],
               _status_patch(_POD_SUCCEEDED), delay_ms=1000),
        # No kubelet confirms a graceful deletion, so the pod object would stay Terminating forever.
        _stage("kaico-pod-gone", "Pod",
               [_expr(".metadata.deletionTimestamp", "Exists")],
               {"delete": True}),
    ]


def stages_yaml(kube_version: str) -> str:
    return yaml.safe_dump_all(stages(kube_version), sort_keys=False)
