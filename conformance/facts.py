"""What the checks need to know about the cluster beyond the workload itself.

``ClusterFacts`` holds *extracted facts* (never whole bodies): GPU-relevant node data, the
autoscalers by their scale targets, PDB/Service/route/monitor selectors, and the names of
RuntimeClasses, DeviceClasses, ResourceClaimTemplates and ServingRuntimes.

Each class of facts is either *known* (the input carried that kind of object, possibly zero of
them, e.g. a cluster that really has no RuntimeClasses) or *unknown* (the input could not say).
A check that needs an unknown class returns ``skip`` and names what was missing: never guess.
``known`` holds the names of the classes that are known (the ``FactClass`` values).

Offline input is read as the *whole application* by default (``InputMode.APPLICATION``), as
kube-score and Polaris read theirs: an application carries its own autoscaler, PDB, Services and
routes (``APPLICATION_FACT_CLASSES``), so when the input holds none of one of those classes it is
known to have none (``assumed_absent`` names them, so a finding can say the input held none).
Nodes and the other cluster-level classes are never assumed: nobody's chart contains Nodes.

The CLI builds facts from the objects in its input (``conformance.facts_from_objects``); the
operator builds them from its kopf indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from conformance.workload import Toleration


class FactClass(StrEnum):
    NODES = "nodes"
    AUTOSCALERS = "autoscalers"  # HPAs and KEDA ScaledObjects
    DISRUPTION_BUDGETS = "poddisruptionbudgets"
    SERVICES = "services"
    ROUTES = "routes"  # HTTPRoutes and InferencePools
    MONITORS = "monitors"  # ServiceMonitors and PodMonitors
    RUNTIME_CLASSES = "runtimeclasses"
    DEVICE_CLASSES = "deviceclasses"
    CLAIM_TEMPLATES = "resourceclaimtemplates"
    SERVING_RUNTIMES = "servingruntimes"  # ServingRuntimes and ClusterServingRuntimes


class InputMode(StrEnum):
    """How the objects being checked relate to the application and the cluster."""

    APPLICATION = "application"  # the input is the whole application (offline default)
    PARTIAL = "partial"  # the input is a fragment: an absent class is unknown (skip)
    CLUSTER = "cluster"  # the input over the live cluster's facts (``kaico check --cluster``)


# The classes an application brings itself: with the whole application in the input, none of
# them in it means there are none.
APPLICATION_FACT_CLASSES: tuple[FactClass, ...] = (
    FactClass.AUTOSCALERS,
    FactClass.DISRUPTION_BUDGETS,
    FactClass.SERVICES,
    FactClass.ROUTES,
)


_WHAT_IS_MISSING = {
    FactClass.NODES: "Node objects",
    FactClass.AUTOSCALERS: "HorizontalPodAutoscalers or ScaledObjects",
    FactClass.DISRUPTION_BUDGETS: "PodDisruptionBudgets",
    FactClass.SERVICES: "Services",
    FactClass.ROUTES: "HTTPRoutes or InferencePools",
    FactClass.MONITORS: "ServiceMonitors or PodMonitors",
    FactClass.RUNTIME_CLASSES: "RuntimeClasses",
    FactClass.DEVICE_CLASSES: "DeviceClasses",
    FactClass.CLAIM_TEMPLATES: "ResourceClaimTemplates",
    FactClass.SERVING_RUNTIMES: "ServingRuntimes or ClusterServingRuntimes",
}


def missing_facts_message(missing: list[FactClass]) -> str:
    """The skip message of a check that cannot judge without these classes of facts."""
    names = " and ".join(_WHAT_IS_MISSING[m] for m in missing)
    return f"not judged: the input has no {names} (add them, or pass --cluster-facts)"


def absent_in_input_message(absent: list[FactClass]) -> str:
    """The note on a finding judged from a class the whole-application input held none of."""
    names = " or ".join(_WHAT_IS_MISSING[a] for a in absent)
    return (
        f"the input held no {names} and is read as the whole application; "
        "pass --partial if it is a fragment"
    )


@dataclass(frozen=True)
class NodeTaint:
    key: str
    value: str | None = None
    effect: str = "NoSchedule"


@dataclass(frozen=True)
class NodeFacts:
    """A node reduced to scheduling facts. ``allocatable`` keeps only extended resources
    (names with a '/'), as integers; CPU and memory are not judged by the GPU checks."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[NodeTaint, ...] = ()
    allocatable: dict[str, int] = field(default_factory=dict)
    unschedulable: bool = False


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes label selector (matchLabels + matchExpressions)."""

    match_labels: dict[str, str] = field(default_factory=dict)
    # (key, operator In|NotIn|Exists|DoesNotExist, values)
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return False
        for key, operator, values in self.match_expressions:
            present = key in labels
            if operator == "In" and (not present or labels[key] not in values):
                return False
            if operator == "NotIn" and present and labels[key] in values:
                return False
            if operator == "Exists" and not present:
                return False
            if operator == "DoesNotExist" and present:
                return False
        return True

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    @classmethod
    def from_spec(cls, spec: object) -> LabelSelector | None:
        """Read a Kubernetes ``LabelSelector`` mapping; None when it is not one."""
        if not isinstance(spec, dict):
            return None
        labels = spec.get("matchLabels") or {}
        expressions = spec.get("matchExpressions") or []
        if not isinstance(labels, dict) or not isinstance(expressions, list):
            return None
        parsed = []
        for expression in expressions:
            if not isinstance(expression, dict) or not isinstance(expression.get("key"), str):
                return None
            values = expression.get("values") or []
            if not isinstance(values, list):
                return None
            parsed.append((expression["key"], str(expression.get("operator", "In")),
                           tuple(str(v) for v in values)))
        return cls({str(k): str(v) for k, v in labels.items()}, tuple(parsed))


@dataclass(frozen=True)
class AutoscalerFacts:
    """An HPA or a KEDA ScaledObject, keyed by what it scales.

    ``metrics`` are normalized signal names as in ``InlineAutoscaler.metrics``.
    ``buffers_requests``: a KEDA HTTP add-on (HTTPScaledObject) or similar holds requests.
    """

    kind: str  # HorizontalPodAutoscaler | ScaledObject | HTTPScaledObject
    name: str
    namespace: str
    target_kind: str
    target_name: str
    target_api_version: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    metrics: tuple[str, ...] = ()
    buffers_requests: bool = False
    # KServe creates "<isvc>-predictor" ScaledObjects/HPAs itself; set by the owner reference.
    owner_kind: str | None = None
    owner_name: str | None = None


@dataclass(frozen=True)
class SelectingObject:
    """A namespaced object that picks pods by labels: a Service, PDB, InferencePool, monitor.

    ``ports`` lists the Service's target ports (numbers or names); ``named_ports`` whether any
    Service port has a name. For monitors, ``ports`` are the endpoint port names.
    """

    kind: str
    name: str
    namespace: str
    selector: LabelSelector
    ports: tuple[int | str, ...] = ()
    named_ports: bool = False
    # ServiceMonitor: the selector picks Services, not pods.
    selects_services: bool = False
    # monitors: namespaces they watch (None: their own only; ("*",): any)
    namespaces: tuple[str, ...] | None = None
    # The object's own metadata labels: a ServiceMonitor selects Services by these.
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteFacts:
    """An HTTPRoute, reduced to its backends: (group, kind, name) per backendRef."""

    name: str
    namespace: str
    backends: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class ServingRuntimeFacts:
    """A KServe (Cluster)ServingRuntime: its model formats and the container it supplies."""

    name: str
    namespace: str | None  # None for ClusterServingRuntime
    model_formats: tuple[str, ...] = ()
    auto_select_formats: tuple[str, ...] = ()
    containers: tuple = ()  # tuple[conformance.workload.Container, ...]


@dataclass(frozen=True)
class ClusterFacts:
    known: frozenset[str] = frozenset()
    # Known only because the input is the whole application and held none (InputMode.APPLICATION).
    assumed_absent: frozenset[str] = frozenset()
    nodes: tuple[NodeFacts, ...] = ()
    autoscalers: tuple[AutoscalerFacts, ...] = ()
    disruption_budgets: tuple[SelectingObject, ...] = ()
    services: tuple[SelectingObject, ...] = ()
    inference_pools: tuple[SelectingObject, ...] = ()
    http_routes: tuple[RouteFacts, ...] = ()
    monitors: tuple[SelectingObject, ...] = ()
    runtime_classes: frozenset[str] = frozenset()
    device_classes: frozenset[str] = frozenset()
    # (namespace, name)
    claim_templates: frozenset[tuple[str, str]] = frozenset()
    # (namespace, name) of a ResourceClaimTemplate -> the DeviceClass names its requests use,
    # so ``gpu-dra-claims`` can check them against ``device_classes``.
    claim_template_device_classes: dict[tuple[str, str], tuple[str, ...]] = field(
        default_factory=dict
    )
    serving_runtimes: tuple[ServingRuntimeFacts, ...] = ()

    def knows(self, fact_class: FactClass) -> bool:
        return fact_class.value in self.known

    # Per-namespace views, built once per facts value: checks look up the objects of the
    # workload's namespace instead of scanning the whole cluster (O(1) per workload rather
    # than O(objects), which matters at 10,000 workloads).
    @cached_property
    def _by_namespace(self) -> dict[str, dict[str, tuple]]:
        index: dict[str, dict[str, list]] = {}
        for attribute in ("autoscalers", "disruption_budgets", "services", "inference_pools",
                          "http_routes", "monitors"):
            for item in getattr(self, attribute):
                namespace = item.namespace or "default"
                index.setdefault(attribute, {}).setdefault(namespace, []).append(item)
        return {a: {ns: tuple(items) for ns, items in by_ns.items()} for a, by_ns in index.items()}

    def in_namespace(self, attribute: str, namespace: str | None) -> tuple:
        """The ``attribute`` objects (``"services"``, ``"autoscalers"``, ...) in ``namespace``
        (an object or workload that names no namespace is in ``default``)."""
        return self._by_namespace.get(attribute, {}).get(namespace or "default", ())

    @cached_property
    def allocatable_totals(self) -> dict[str, int]:
        """Allocatable extended resources summed over all nodes (cluster capacity)."""
        totals: dict[str, int] = {}
        for node in self.nodes:
            for resource, count in node.allocatable.items():
                totals[resource] = totals.get(resource, 0) + max(count, 0)
        return totals


def tolerates(tolerations: tuple[Toleration, ...], taint: NodeTaint) -> bool:
    """Kubernetes toleration matching, as the scheduler does it."""
    for toleration in tolerations:
        if toleration.effect and toleration.effect != taint.effect:
            continue
        if toleration.key is None or toleration.key == "":
            if toleration.operator == "Exists":
                return True
            continue
        if toleration.key != taint.key:
            continue
        if toleration.operator == "Exists":
            return True
        if (toleration.value or "") == (taint.value or ""):
            return True
    return False
