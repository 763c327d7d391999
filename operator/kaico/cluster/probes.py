"""Active probes for the requirements passive detection cannot settle, run as the upstream
``kubernetes-sigs/ai-conformance`` tests run them. Off unless asked (``--active-probes`` or a
profile's ``spec.activeProbes``): they create pods and Jobs, take accelerators and may make an
autoscaler add nodes.

* secure_accelerator_access: a pod granted one accelerator must see exactly one device; a pod
  without a grant pinned to the same node must see none; in a two-container pod only the
  granted container sees it. Device nodes are counted as ``/dev/nvidia[0-9]*`` and printed as
  ``RESULT: ACCELERATOR_COUNT=<n>``. DRA is preferred when the ``gpu.nvidia.com`` DeviceClass
  and slices exist, else the device plugin's ``nvidia.com/gpu``.
* gang_scheduling: a Job of 2 must Complete with both pods bound; a Job of 1000 must keep zero
  pods bound or Running for the whole window (a gang scheduler holds it back whole).

Every probe runs in its own namespace (or the gang namespace the user prepared), has a
deadline, and cleans up in ``finally``. A namespace kaico creates is labelled
``kaico.dev/probe=true`` and Pod Security ``restricted``, and every probe pod satisfies
``restricted`` (non-root, no privilege escalation, no capabilities, seccomp ``RuntimeDefault``):
the chart's admission policy admits nothing else from kaico. With ``--probe-role`` kaico binds
that ClusterRole to itself in each namespace it creates, so its pod and Job rights exist only
there (the chart grants none cluster-wide). A probe that cannot reach a verdict (no accelerator node,
no readable output) is ``inconclusive``, never a pass.

The probes are blocking code over a ``ProbeApi``; ``LoopProbeApi`` sends each request to the
event loop that runs kaico's ``KubeClient`` (the operator's loop, or the loop thread of
``kaico.kube.blocking.BlockingClient`` in ``kaico cluster``), so the probes use the same client,
credentials and retries as every other call.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.cluster.evaluation import ProbeOutcome, ProbeResult
from conformance.cluster.inventory import ClusterInventory

if TYPE_CHECKING:
    import asyncio

SECURE_ACCESS = "secure_accelerator_access"
GANG = "gang_scheduling"
DRA_DEVICE_CLASS = "gpu.nvidia.com"
GPU_RESOURCE = "nvidia.com/gpu"
PROBE_LABEL = "kaico.dev/probe"
# The labels of a namespace kaico creates; the chart's ValidatingAdmissionPolicy requires both.
PROBE_NAMESPACE_LABELS = {PROBE_LABEL: "true", "pod-security.kubernetes.io/enforce": "restricted"}
PROBE_ROLE_BINDING = "kaico-probe"
# Pod Security "restricted", which the probes need nothing beyond: counting /dev/nvidia* and
# sleeping need no root and no capability.
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
COUNT_SCRIPT = (
    'n=0; for d in /dev/nvidia[0-9]*; do [ -e "$d" ] && n=$((n+1)); done; '
    'echo "RESULT: ACCELERATOR_COUNT=$n"'
)
_COUNT = re.compile(r"RESULT: ACCELERATOR_COUNT=(\d+)")

Log = Callable[[str], None]


@dataclass(frozen=True)
class ProbeOptions:
    image: str = "busybox:1.36"
    timeout: float = 120.0
    gang_namespace: str | None = None
    gang_job_labels: dict[str, str] = field(default_factory=dict)
    gang_negative_window: float = 30.0
    gang_negative_size: int = 1000
    poll_interval: float = 1.0
    # A ClusterRole kaico binds to itself in each namespace it creates (``--probe-role``).
    namespace_role: str | None = None

    @classmethod
    def from_args(cls, args: Any) -> ProbeOptions:
        labels = {}
        for item in getattr(args, "gang_job_label", None) or []:
            key, _, value = item.partition("=")
            if not key or not _:
                raise ValueError(f"--gang-job-label {item!r}: expected KEY=VALUE")
            labels[key] = value
        return cls(image=args.probe_image, timeout=args.probe_timeout,
                   gang_namespace=args.gang_namespace, gang_job_labels=labels,
                   gang_negative_window=args.gang_negative_window,
                   namespace_role=getattr(args, "probe_role", None) or None)


# One request's budget; the probes poll, so a slow answer only delays the next poll.
REQUEST_TIMEOUT = 30.0


class ProbeApi:
    """The few raw calls the probes make. A subclass sends one request (``send``: status and
    raw body); this class reads the answer, so every transport answers the probes alike.

    ``stopping`` ends the probes early (the operator shutting down): the next pause raises
    ``ProbeError``, and each probe's ``finally`` still deletes what it created."""

    def __init__(self, stopping: threading.Event | None = None):
        self.stopping = stopping or threading.Event()

    def send(self, method: str, path: str, body: dict[str, Any] | None,
             accept: str) -> tuple[int, bytes | str]:
        raise NotImplementedError

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             accept: str = "application/json") -> tuple[int, Any]:
        try:
            status, raw = self.send(method, path, body, accept)
        except ProbeError:
            raise
        except Exception as error:  # noqa: BLE001 - connection errors end the probe, not the run
            raise ProbeError(f"{method} {path.partition('?')[0]}: {str(error) or type(error).__name__}") from None
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        if accept != "application/json":
            return status, text
        try:
            return status, json.loads(text) if text else {}
        except ValueError:
            return status, {"message": text[:300]}

    def pause(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise ProbeError("stopped before a verdict (kaico is shutting down)")

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = self.call("POST", path, body)
        if status >= 300:
            raise ProbeError(f"creating {body.get('kind')} {body['metadata'].get('name')}: "
                             f"{status} {answer.get('message', '')}")
        return answer

    def get(self, path: str) -> dict[str, Any] | None:
        status, answer = self.call("GET", path)
        return answer if status < 300 else None

    def delete(self, path: str) -> None:
        """Best effort: cleanup runs in ``finally`` and must not hide the probe's own error."""
        try:
            self.call("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1",
                                       "propagationPolicy": "Background"})
        except ProbeError:
            pass


class ProbeError(Exception):
    """The probe could not set up; its result is inconclusive."""


def refused(results: tuple[ProbeResult, ...]) -> bool:
    """Whether the API server refused to create a probe's objects (403): the identity lacks
    the probes' permissions, which deserves a plainer word than "inconclusive"."""
    return any(r.outcome is ProbeOutcome.INCONCLUSIVE and ": 403 " in r.detail for r in results)


# (method, path with query, JSON body, Accept) -> (status, body text), on an event loop.
LoopRequest = Callable[[str, str, dict[str, Any] | None, str], Awaitable[tuple[int, str]]]


class LoopProbeApi(ProbeApi):
    """Requests sent by a coroutine on ``loop`` (the operator's: its authenticated session),
    from the probe thread. Never call it on ``loop``'s own thread: it would wait on itself."""

    def __init__(self, loop: asyncio.AbstractEventLoop, request: LoopRequest,
                 stopping: threading.Event | None = None):
        super().__init__(stopping)
        self._loop = loop
        self._request = request

    def send(self, method: str, path: str, body: dict[str, Any] | None,
             accept: str) -> tuple[int, bytes | str]:
        import asyncio  # here, not at the top: the CLI's parser imports this module

        future = asyncio.run_coroutine_threadsafe(self._request(method, path, body, accept), self._loop)
        try:
            return future.result(REQUEST_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise ProbeError(f"{method} {path.partition('?')[0]}: no answer within "
                             f"{REQUEST_TIMEOUT:g}s") from None


def _subject(api: ProbeApi) -> dict[str, str]:
    """Who kaico is (a SelfSubjectReview, which every authenticated identity may create), as a
    RoleBinding subject."""
    answer = api.create("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                         "metadata": {"name": "kaico-probe"}})
    username = str(((answer.get("status") or {}).get("userInfo") or {}).get("username") or "")
    prefix, _, account = username.partition("system:serviceaccount:")
    namespace, _, name = account.partition(":")
    if not prefix and namespace and name:
        return {"kind": "ServiceAccount", "namespace": namespace, "name": name}
    if not username:
        raise ProbeError("the API server did not say who kaico is (SelfSubjectReview)")
    return {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": username}


def _role_binding(role: str, subject: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": PROBE_ROLE_BINDING},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [subject]}


def _namespace(api: ProbeApi, prefix: str, options: ProbeOptions) -> str:
    api.pause(0)  # a stopping operator creates nothing more
    name = f"{prefix}-{secrets.token_hex(3)}"
    api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": name, "labels": PROBE_NAMESPACE_LABELS}})
    # Pods are refused until the namespace's default ServiceAccount exists. The caller only
    # learns the name on return, so a wait that ends otherwise (a timeout, the operator
    # stopping) deletes the namespace here. With a probe role, reading the ServiceAccount is
    # itself granted by the new RoleBinding: the wait also covers its propagation.
    deadline = time.monotonic() + 30
    try:
        if options.namespace_role:
            api.create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{name}/rolebindings",
                       _role_binding(options.namespace_role, _subject(api)))
        while api.get(f"/api/v1/namespaces/{name}/serviceaccounts/default") is None:
            if time.monotonic() > deadline:
                raise ProbeError(f"namespace {name} got no default ServiceAccount")
            api.pause(0.5)
    except ProbeError:
        api.delete(f"/api/v1/namespaces/{name}")
        raise
    return name


def _until(api: ProbeApi, deadline: float, interval: float, check: Callable[[], Any]) -> Any:
    """Poll ``check`` until it returns something truthy or the deadline passes (None)."""
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        api.pause(interval)


# --- secure accelerator access -------------------------------------------------------------------


def accelerator_mode(inventory: ClusterInventory) -> tuple[str, str] | None:
    """("dra"|"device-plugin", node) to probe on, preferring DRA like the upstream test."""
    ready = {n.name for n in inventory.nodes if n.ready}
    if DRA_DEVICE_CLASS in inventory.device_classes:
        for s in inventory.resource_slices:
            if s.driver == DRA_DEVICE_CLASS and s.devices and s.node in ready:
                return "dra", s.node
    for node in inventory.nodes:
        if node.ready and node.allocatable.get(GPU_RESOURCE, "0") not in ("0", ""):
            return "device-plugin", node.name
    return None


def _probe_container(name: str, image: str, granted: bool, mode: str) -> dict[str, Any]:
    container: dict[str, Any] = {"name": name, "image": image, "command": ["sh", "-c", COUNT_SCRIPT],
                                 "securityContext": CONTAINER_SECURITY}
    if granted:
        container["resources"] = ({"limits": {GPU_RESOURCE: "1"}} if mode == "device-plugin"
                                  else {"claims": [{"name": "accelerator"}]})
    return container


def _probe_pod(name: str, containers: list[dict[str, Any]], mode: str,
               node: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "securityContext": POD_SECURITY,
        "containers": containers,
        "tolerations": [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
    }
    if node:
        spec["nodeName"] = node  # the negative pod must share the granted pod's node
    if mode == "dra" and any("claims" in c.get("resources", {}) for c in containers):
        spec["resourceClaims"] = [{"name": "accelerator",
                                   "resourceClaimTemplateName": "accelerator-claim-template"}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {PROBE_LABEL: "secure-accelerator-access"}},
            "spec": spec}


def _claim_template() -> dict[str, Any]:
    return {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
        "metadata": {"name": "accelerator-claim-template"},
        "spec": {"spec": {"devices": {"requests": [{
            "name": "single-accelerator",
            "exactly": {"deviceClassName": DRA_DEVICE_CLASS, "allocationMode": "ExactCount",
                        "count": 1},
        }]}}},
    }


def _finished_pod(api: ProbeApi, namespace: str, name: str, options: ProbeOptions) -> dict[str, Any] | None:
    def done() -> dict[str, Any] | None:
        pod = api.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
        phase = ((pod or {}).get("status") or {}).get("phase")
        return pod if phase in ("Succeeded", "Failed") else None

    return _until(api, time.monotonic() + options.timeout, options.poll_interval, done)


def _count(api: ProbeApi, namespace: str, pod: str, container: str) -> int | None:
    status, text = api.call("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log?container={container}",
                            accept="text/plain")
    match = _COUNT.search(text) if status < 300 and isinstance(text, str) else None
    return int(match.group(1)) if match else None


def secure_access_probes(api: ProbeApi, inventory: ClusterInventory, options: ProbeOptions,
                         log: Log) -> list[ProbeResult]:
    def result(name: str, outcome: ProbeOutcome, detail: str) -> ProbeResult:
        log(f"probe secure-accelerator-access/{name}: {outcome.value}: {detail}")
        return ProbeResult(SECURE_ACCESS, f"secure-accelerator-access/{name}", outcome, detail)

    target = accelerator_mode(inventory)
    if target is None:
        return [result("positive", ProbeOutcome.INCONCLUSIVE,
                       "no Ready node offers a DRA gpu.nvidia.com device or nvidia.com/gpu")]
    mode, _ = target
    namespace = None
    try:
        namespace = _namespace(api, "kaico-probe-access", options)
        if mode == "dra":
            api.create(f"/apis/resource.k8s.io/v1/namespaces/{namespace}/resourceclaimtemplates",
                       _claim_template())
        pods = f"/api/v1/namespaces/{namespace}/pods"
        api.create(pods, _probe_pod("granted", [_probe_container("probe", options.image, True, mode)],
                                    mode, None))
        granted = _finished_pod(api, namespace, "granted", options)
        if granted is None:
            return [result("positive", ProbeOutcome.INCONCLUSIVE,
                           f"the granted pod did not finish within {options.timeout:.0f}s ({mode})")]
        node = (granted.get("spec") or {}).get("nodeName")
        results = []
        seen = _count(api, namespace, "granted", "probe")
        results.append(_verdict("positive", seen, 1, f"granted pod on {node} ({mode})", result))
        api.create(pods, _probe_pod("ungranted", [_probe_container("probe", options.image, False, mode)],
                                    mode, node))
        api.create(pods, _probe_pod("shared", [
            _probe_container("authorized", options.image, True, mode),
            _probe_container("unauthorized", options.image, False, mode)], mode, None))
        if _finished_pod(api, namespace, "ungranted", options) is None:
            results.append(result("negative", ProbeOutcome.INCONCLUSIVE, "pod did not finish"))
        else:
            results.append(_verdict("negative", _count(api, namespace, "ungranted", "probe"), 0,
                                    f"pod without a grant on {node}", result))
        if _finished_pod(api, namespace, "shared", options) is None:
            results.append(result("multi-container", ProbeOutcome.INCONCLUSIVE, "pod did not finish"))
        else:
            authorized = _count(api, namespace, "shared", "authorized")
            unauthorized = _count(api, namespace, "shared", "unauthorized")
            if authorized is None or unauthorized is None:
                results.append(result("multi-container", ProbeOutcome.INCONCLUSIVE,
                                      "probe output unreadable"))
            else:
                ok = authorized == 1 and unauthorized == 0
                results.append(result("multi-container",
                                      ProbeOutcome.PASSED if ok else ProbeOutcome.FAILED,
                                      f"authorized container saw {authorized}, unauthorized saw {unauthorized}"))
        return results
    except ProbeError as error:
        return [result("positive", ProbeOutcome.INCONCLUSIVE, str(error))]
    finally:
        if namespace:
            api.delete(f"/api/v1/namespaces/{namespace}")


def _verdict(name: str, seen: int | None, expected: int, what: str,
             result: Callable[[str, ProbeOutcome, str], ProbeResult]) -> ProbeResult:
    if seen is None:
        return result(name, ProbeOutcome.INCONCLUSIVE, f"{what}: probe output unreadable")
    outcome = ProbeOutcome.PASSED if seen == expected else ProbeOutcome.FAILED
    return result(name, outcome, f"{what} saw {seen} device(s), expected {expected}")


# --- gang scheduling -------------------------------------------------------------------------------


def _gang_job(name: str, size: int, options: ProbeOptions) -> dict[str, Any]:
    labels = {PROBE_LABEL: "gang-scheduling", **options.gang_job_labels}
    resources = {"cpu": "100m", "memory": "128Mi"}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "parallelism": size, "completions": size, "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {"restartPolicy": "Never", "securityContext": POD_SECURITY, "containers": [{
                    "name": "worker", "image": options.image, "command": ["sh", "-c", "sleep 1"],
                    "resources": {"requests": resources, "limits": resources},
                    "securityContext": CONTAINER_SECURITY,
                }]},
            },
        },
    }


def _job_pods(api: ProbeApi, namespace: str, job: str) -> list[dict[str, Any]]:
    selector = urllib.parse.quote(f"job-name={job}")
    listed = api.get(f"/api/v1/namespaces/{namespace}/pods?labelSelector={selector}") or {}
    return [p for p in listed.get("items") or [] if isinstance(p, dict)]


def _job_condition(api: ProbeApi, namespace: str, job: str) -> str | None:
    body = api.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{job}") or {}
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return str(condition["type"])
    return None


def gang_probes(api: ProbeApi, options: ProbeOptions, log: Log) -> list[ProbeResult]:
    def result(name: str, outcome: ProbeOutcome, detail: str) -> ProbeResult:
        log(f"probe gang-scheduling/{name}: {outcome.value}: {detail}")
        return ProbeResult(GANG, f"gang-scheduling/{name}", outcome, detail)

    created_namespace = None
    namespace = options.gang_namespace
    suffix = secrets.token_hex(3)
    jobs: list[str] = []
    try:
        if namespace is None:
            namespace = created_namespace = _namespace(api, "kaico-probe-gang", options)
        jobs_path = f"/apis/batch/v1/namespaces/{namespace}/jobs"
        positive = f"kaico-gang-positive-{suffix}"
        api.create(jobs_path, _gang_job(positive, 2, options))
        jobs.append(positive)
        state = _until(api, time.monotonic() + options.timeout, options.poll_interval,
                       lambda: _job_condition(api, namespace, positive))
        unbound = [p["metadata"]["name"] for p in _job_pods(api, namespace, positive)
                   if not (p.get("spec") or {}).get("nodeName")]
        if state == "Complete" and not unbound:
            results = [result("positive", ProbeOutcome.PASSED,
                              f"Job {namespace}/{positive} of 2 completed with both pods bound")]
        else:
            results = [result("positive", ProbeOutcome.FAILED,
                              f"Job {namespace}/{positive} of 2 is {state or 'not complete'} after "
                              f"{options.timeout:.0f}s" + (f"; unbound: {', '.join(unbound)}" if unbound else ""))]
        negative = f"kaico-gang-negative-{suffix}"
        api.create(jobs_path, _gang_job(negative, options.gang_negative_size, options))
        jobs.append(negative)

        def placed() -> list[str]:
            return [p["metadata"]["name"] for p in _job_pods(api, namespace, negative)
                    if (p.get("spec") or {}).get("nodeName")
                    or (p.get("status") or {}).get("phase") == "Running"]

        # Fail at the first bound pod; pass only when the whole window stays empty.
        bound = _until(api, time.monotonic() + options.gang_negative_window, options.poll_interval, placed)
        if bound:
            results.append(result("negative", ProbeOutcome.FAILED,
                                  f"Job {namespace}/{negative} of {options.gang_negative_size} had "
                                  f"{len(bound)} pod(s) bound: capacity was granted piecemeal"))
        else:
            results.append(result("negative", ProbeOutcome.PASSED,
                                  f"Job {namespace}/{negative} of {options.gang_negative_size} kept "
                                  f"zero pods bound for {options.gang_negative_window:.0f}s"))
        return results
    except ProbeError as error:
        return [result("positive", ProbeOutcome.INCONCLUSIVE, str(error))]
    finally:
        for job in jobs:
            api.delete(f"/apis/batch/v1/namespaces/{namespace}/jobs/{job}")
        if created_namespace:
            api.delete(f"/api/v1/namespaces/{created_namespace}")


def run_probes(api: ProbeApi, inventory: ClusterInventory, options: ProbeOptions,
               log: Log = lambda line: None) -> tuple[ProbeResult, ...]:
    """Run every active probe; each cleans up after itself whatever happens. Blocking: the
    operator runs it in a thread (``LoopProbeApi``)."""
    return (*secure_access_probes(api, inventory, options, log), *gang_probes(api, options, log))
