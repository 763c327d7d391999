"""What the operator watches: the serving kinds (targets) and the kinds cluster facts come from.

Targets are the kinds an adapter reads (``conformance.adapters.served_kinds``), watched at every
version the adapter reads (its ``VERSIONS``). Fact kinds are listed with the ``FactClass`` they
make *known* once their API is served. Every watch names its version: kopf resolves a versionless
selector only against the group's preferred version, and several kinds live elsewhere
(ServingRuntimes and LLMInferenceServices are not in ``serving.kserve.io``'s preferred v1beta1).
A kind served at two watched versions (LLMInferenceService v1alpha1 and v1alpha2) is seen twice;
both land on the same index entry and the writer's comparison makes the second a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.adapters import ADAPTERS, served_kinds
from conformance.facts import FactClass


@dataclass(frozen=True)
class WatchedResource:
    group: str
    plural: str
    kind: str
    version: str
    fact_class: FactClass | None = None  # None for targets

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.group, self.version, self.plural)

    def selector(self) -> dict[str, str]:
        """Keyword arguments for kopf's resource selector."""
        return {"group": self.group, "version": self.version, "plural": self.plural}


# (group, kind) -> plural for every kind an adapter reads. A kind missing here fails the unit
# test that compares this table with the adapter registry.
TARGET_PLURALS: dict[tuple[str, str], str] = {
    ("serving.kserve.io", "InferenceService"): "inferenceservices",
    ("serving.kserve.io", "LLMInferenceService"): "llminferenceservices",
    ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"): "leaderworkersets",
    ("ray.io", "RayService"): "rayservices",
    ("apps.nvidia.com", "NIMService"): "nimservices",
    ("production-stack.vllm.ai", "VLLMRuntime"): "vllmruntimes",
    ("apps", "Deployment"): "deployments",
    ("apps", "StatefulSet"): "statefulsets",
}

def _adapter_versions(group: str, kind: str) -> tuple[str, ...]:
    module = __import__(ADAPTERS[(group, kind)].__module__, fromlist=["VERSIONS"])
    return tuple(module.VERSIONS)


TARGETS: tuple[WatchedResource, ...] = tuple(
    WatchedResource(group, TARGET_PLURALS[(group, kind)], kind, version)
    for group, kind in served_kinds()
    for version in _adapter_versions(group, kind)
)

FACTS: tuple[WatchedResource, ...] = (
    WatchedResource("", "nodes", "Node", "v1", FactClass.NODES),
    WatchedResource("autoscaling", "horizontalpodautoscalers", "HorizontalPodAutoscaler", "v2",
                    FactClass.AUTOSCALERS),
    WatchedResource("keda.sh", "scaledobjects", "ScaledObject", "v1alpha1", FactClass.AUTOSCALERS),
    WatchedResource("http.keda.sh", "httpscaledobjects", "HTTPScaledObject", "v1alpha1",
                    FactClass.AUTOSCALERS),
    WatchedResource("policy", "poddisruptionbudgets", "PodDisruptionBudget", "v1",
                    FactClass.DISRUPTION_BUDGETS),
    WatchedResource("", "services", "Service", "v1", FactClass.SERVICES),
    WatchedResource("gateway.networking.k8s.io", "httproutes", "HTTPRoute", "v1", FactClass.ROUTES),
    WatchedResource("inference.networking.k8s.io", "inferencepools", "InferencePool", "v1",
                    FactClass.ROUTES),
    WatchedResource("inference.networking.x-k8s.io", "inferencepools", "InferencePool", "v1alpha2",
                    FactClass.ROUTES),
    WatchedResource("monitoring.coreos.com", "servicemonitors", "ServiceMonitor", "v1",
                    FactClass.MONITORS),
    WatchedResource("monitoring.coreos.com", "podmonitors", "PodMonitor", "v1", FactClass.MONITORS),
    WatchedResource("node.k8s.io", "runtimeclasses", "RuntimeClass", "v1", FactClass.RUNTIME_CLASSES),
    WatchedResource("resource.k8s.io", "deviceclasses", "DeviceClass", "v1", FactClass.DEVICE_CLASSES),
    WatchedResource("resource.k8s.io", "resourceclaimtemplates", "ResourceClaimTemplate", "v1",
                    FactClass.CLAIM_TEMPLATES),
    WatchedResource("serving.kserve.io", "servingruntimes", "ServingRuntime", "v1alpha1",
                    FactClass.SERVING_RUNTIMES),
    WatchedResource("serving.kserve.io", "clusterservingruntimes", "ClusterServingRuntime",
                    "v1alpha1", FactClass.SERVING_RUNTIMES),
)

# kaico's own kinds.
PROFILES = WatchedResource("kaico.dev", "conformanceprofiles", "ConformanceProfile", "v1alpha1")
REPORTS = WatchedResource("kaico.dev", "conformancereports", "ConformanceReport", "v1alpha1")
WAIVERS = WatchedResource("kaico.dev", "conformancewaivers", "ConformanceWaiver", "v1alpha1")

# The report APIs kaico may write with --policy-reports (docs/operator.md): OpenReports first,
# else wg-policy. Discovered like the watched kinds, so a CRD installed later is noticed.
POLICY_REPORTS: tuple[WatchedResource, ...] = (
    WatchedResource("openreports.io", "reports", "Report", "v1alpha1"),
    WatchedResource("wgpolicyk8s.io", "policyreports", "PolicyReport", "v1alpha2"),
)

CLUSTER_POLICY_REPORTS: tuple[WatchedResource, ...] = (
    WatchedResource("openreports.io", "clusterreports", "ClusterReport", "v1alpha1"),
    WatchedResource("wgpolicyk8s.io", "clusterpolicyreports", "ClusterPolicyReport", "v1alpha2"),
)

WATCHED: frozenset[tuple[str, str, str]] = frozenset(
    r.key for r in (*TARGETS, *FACTS, *POLICY_REPORTS)
)


def known_classes(served: set[tuple[str, str, str]]) -> frozenset[str]:
    """The fact classes whose API is served: a class is known (possibly with zero objects)
    once any of its kinds can be watched, and unknown otherwise (checks then skip)."""
    return frozenset(r.fact_class.value for r in FACTS if r.fact_class and r.key in served)
