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

A facts value is immutable, so it indexes itself on first use (nodes in classes, autoscalers
by target, selecting objects by label, routes by backend, monitors by watched namespace): a
check's cost for one workload does not grow with the size of the cluster.

The CLI builds facts from the objects in its input (``conformance.facts_from_objects``); the
operator builds them from its kopf indexes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from heapq import merge

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


@dataclass(frozen=True, eq=False)
class NodeClass:
    """Nodes that a pod template whose node selection reads only some label keys cannot tell
    apart: the same values for those keys (``labels`` holds just them), the same taints, the
    same extended allocatable. ``members`` are their positions in ``ClusterFacts.nodes``,
    ascending. The node checks judge a class once instead of every node in it."""

    labels: dict[str, str]
    taints: tuple[NodeTaint, ...]
    allocatable: dict[str, int]
    members: tuple[int, ...]


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

    @cached_property
    def derived(self) -> dict:
        """What the engine derived from this facts value and keeps while it lives (the memo of
        check outcomes, ``conformance.scope``): a new facts value starts with none."""
        return {}

    def knows(self, fact_class: FactClass) -> bool:
        # A StrEnum member hashes and compares as its value.
        return fact_class in self.known

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

    # --- indexes, built once per facts value on first use ------------------------------------
    # Checks look things up by what they point at or select instead of scanning, so the cost
    # of judging one workload does not grow with the size of the cluster.

    @cached_property
    def _node_classes(self) -> dict[frozenset[str], tuple[NodeClass, ...]]:
        return {}

    def node_classes(self, keys: frozenset[str]) -> tuple[NodeClass, ...]:
        """The nodes grouped into classes for a template whose node selection reads the label
        ``keys``, in the order of each class's first node. Memoised per key set."""
        classes = self._node_classes.get(keys)
        if classes is None:
            ordered = sorted(keys)
            groups: dict[tuple, list[int]] = {}
            for position, node in enumerate(self.nodes):
                labels = tuple((key, node.labels[key]) for key in ordered if key in node.labels)
                signature = (labels, node.taints, tuple(sorted(node.allocatable.items())))
                groups.setdefault(signature, []).append(position)
            classes = tuple(
                NodeClass(dict(labels), taints, dict(allocatable), tuple(members))
                for (labels, taints, allocatable), members in groups.items()
            )
            self._node_classes[keys] = classes
        return classes

    def node_names(self, classes: Iterable[NodeClass], limit: int) -> list[str]:
        """The names of the first ``limit`` nodes (in ``nodes`` order) of ``classes``."""
        names = []
        for position in merge(*(c.members for c in classes)):
            if len(names) == limit:
                break
            names.append(self.nodes[position].name)
        return names

    @cached_property
    def _autoscalers_by_reference(self) -> dict[tuple[str, str, str], tuple[int, ...]]:
        """(namespace, kind, name) -> positions, within the namespace's autoscalers, of those
        whose scale target or owner is that kind and name."""
        index: dict[tuple[str, str, str], list[int]] = {}
        for namespace, autoscalers in self._by_namespace.get("autoscalers", {}).items():
            for position, autoscaler in enumerate(autoscalers):
                references = {(autoscaler.target_kind, autoscaler.target_name)}
                if autoscaler.owner_kind is not None and autoscaler.owner_name is not None:
                    references.add((autoscaler.owner_kind, autoscaler.owner_name))
                for kind, name in references:
                    index.setdefault((namespace, kind, name), []).append(position)
        return {key: tuple(positions) for key, positions in index.items()}

    def autoscalers_referencing(
        self, namespace: str | None, references: Iterable[tuple[str, str]]
    ) -> tuple[AutoscalerFacts, ...]:
        """The autoscalers in ``namespace`` whose scale target or owner is one of the (kind,
        name) ``references``, in the order ``in_namespace`` lists them."""
        namespace = namespace or "default"
        positions: set[int] = set()
        for kind, name in references:
            positions.update(self._autoscalers_by_reference.get((namespace, kind, name), ()))
        if not positions:
            return ()
        autoscalers = self.in_namespace("autoscalers", namespace)
        return tuple(autoscalers[p] for p in sorted(positions))

    @cached_property
    def _selecting_by_label(
        self,
    ) -> dict[tuple[str, str], tuple[dict[tuple[str, str], tuple[int, ...]], tuple[int, ...]]]:
        """(attribute, namespace) -> (label (key, value) -> positions, positions of the rest).

        An object whose selector has matchLabels can only select pods carrying its first
        (sorted) matchLabels pair, so it is filed under that pair; the others (expressions
        only, or empty) are candidates for every pod."""
        index = {}
        for attribute in ("services", "disruption_budgets", "inference_pools"):
            for namespace, objects in self._by_namespace.get(attribute, {}).items():
                by_label: dict[tuple[str, str], list[int]] = {}
                rest: list[int] = []
                for position, obj in enumerate(objects):
                    if obj.selector.match_labels:
                        pair = min(obj.selector.match_labels.items())
                        by_label.setdefault(pair, []).append(position)
                    else:
                        rest.append(position)
                index[(attribute, namespace)] = (
                    {pair: tuple(p) for pair, p in by_label.items()}, tuple(rest)
                )
        return index

    def selecting_candidates(
        self, attribute: str, namespace: str | None, label_sets: Iterable[dict[str, str]]
    ) -> tuple:
        """The ``attribute`` objects (``"services"``, ``"disruption_budgets"``,
        ``"inference_pools"``) in ``namespace`` that might select pods with one of
        ``label_sets``, in ``in_namespace`` order: a superset of those that do."""
        namespace = namespace or "default"
        entry = self._selecting_by_label.get((attribute, namespace))
        if entry is None:
            return ()
        by_label, rest = entry
        positions = set(rest)
        for labels in label_sets:
            for pair in labels.items():
                positions.update(by_label.get(pair, ()))
        objects = self.in_namespace(attribute, namespace)
        return tuple(objects[p] for p in sorted(positions))

    @cached_property
    def _routes_by_backend(self) -> dict[tuple[str, str], tuple[int, ...]]:
        """(namespace, backend name) -> positions of the HTTPRoutes with such a backendRef."""
        index: dict[tuple[str, str], list[int]] = {}
        for namespace, routes in self._by_namespace.get("http_routes", {}).items():
            for position, route in enumerate(routes):
                for name in dict.fromkeys(backend[2] for backend in route.backends):
                    index.setdefault((namespace, name), []).append(position)
        return {key: tuple(positions) for key, positions in index.items()}

    def routes_naming(self, namespace: str | None, names: Iterable[str]) -> tuple[RouteFacts, ...]:
        """HTTPRoutes in ``namespace`` with a backendRef named one of ``names``, in order."""
        namespace = namespace or "default"
        positions: set[int] = set()
        for name in names:
            positions.update(self._routes_by_backend.get((namespace, name), ()))
        routes = self.in_namespace("http_routes", namespace)
        return tuple(routes[p] for p in sorted(positions))

    @cached_property
    def _monitors_by_watched_namespace(self) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
        """(namespace -> positions of the monitors watching it, positions of those watching
        every namespace)."""
        index: dict[str, list[int]] = {}
        everywhere: list[int] = []
        for position, monitor in enumerate(self.monitors):
            if monitor.namespaces is None:
                index.setdefault(monitor.namespace or "default", []).append(position)
            elif "*" in monitor.namespaces:
                everywhere.append(position)
            else:
                for namespace in dict.fromkeys(monitor.namespaces):
                    index.setdefault(namespace, []).append(position)
        return {ns: tuple(p) for ns, p in index.items()}, tuple(everywhere)

    def monitors_watching(self, namespace: str | None) -> tuple[SelectingObject, ...]:
        """The monitors that watch ``namespace`` (their own, one they list, or every one), in
        ``monitors`` order."""
        by_namespace, everywhere = self._monitors_by_watched_namespace
        positions = sorted({*by_namespace.get(namespace or "default", ()), *everywhere})
        return tuple(self.monitors[p] for p in positions)

    @cached_property
    def _serving_runtimes_by_namespace(self) -> dict[str | None, tuple[ServingRuntimeFacts, ...]]:
        """Namespace (None: cluster-scoped) -> its (Cluster)ServingRuntimes, in order."""
        index: dict[str | None, list[ServingRuntimeFacts]] = {}
        for runtime in self.serving_runtimes:
            namespace = None if runtime.namespace is None else runtime.namespace or "default"
            index.setdefault(namespace, []).append(runtime)
        return {namespace: tuple(runtimes) for namespace, runtimes in index.items()}

    def serving_runtimes_in(self, namespace: str | None) -> tuple[ServingRuntimeFacts, ...]:
        """ClusterServingRuntimes (``namespace`` None) or the ServingRuntimes of a namespace."""
        return self._serving_runtimes_by_namespace.get(namespace, ())

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
