"""What a check's outcome depends on, and the memo of outcomes keyed by it.

Real fleets run many copies of one chart: the same pod template and scaling configuration
under other names, namespaces and labels. A check declares the parts of its input it reads
(``@check(reads=...)``, names from ``PARTS``); the engine keys the findings of the checks that
read the same parts on the values of exactly those parts (one lookup per such group), so a copy
that differs only elsewhere reuses the findings instead of judging again. A part covers what the check reads through the facts too: ``autoscalers`` is the
autoscalers that scale the workload, not the name and namespace they were found by.

Correctness rests on two rules. A check that reads a field of the workload must name a part
that holds it (a message naming the workload's namespace reads ``namespace``); the regression
corpus of clones and near-clones (``tests/unit/conformance/test_outcome_memo.py``) compares
every finding with one judged without the memo. And the memo lives on the facts value
(``ClusterFacts.derived``), per parameters object: the operator builds a new facts value when
any fact changes, so nothing judged against old facts is reused. Bounded: emptied when full,
and an entry is kept only the second time it is offered (``SeenOnce``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from conformance.facts import ClusterFacts
from conformance.parameters import Parameters
from conformance.relations import (
    disruption_budgets_for,
    namespace_of,
    serving_runtime_for,
    shared_autoscalers_for,
)
from conformance.shared import Shared
from conformance.workload import Container, PodTemplate

# Findings kept per (facts value, parameters) in each generation of ``OutcomeMemo``.
MAX_MEMO_ENTRIES = 4096
# The memo is used while at least this share of lookups finds a finding, else on every
# PROBE_EVERY-th evaluation; the share is of about the last RECENT_LOOKUPS lookups. (Half was
# measured slower both with and without copies: docs/benchmarks.md.)
MIN_HIT_SHARE = 0.25
PROBE_EVERY = 16
RECENT_LOOKUPS = 8192
# Parameters objects a facts value keeps memos for (profiles evaluated against it).
MAX_MEMO_PARAMETERS = 8
# Hashes a ``SeenOnce`` keeps (plain ints: nothing for the garbage collector to walk).
MAX_SEEN_ONCE = 65536


class SeenOnce:
    """The hashes of keys seen once: a table admits a key the second time it is offered, so a
    key that never comes back (a workload unlike any other) costs an int in a set instead of
    an entry. What a table holds lives long, and the garbage collector walks every long-lived
    object on each full collection: a fleet without copies filled the tables with one-off keys
    and paid for them there (docs/benchmarks.md). Bounded: emptied when full."""

    __slots__ = ("hashes",)

    def __init__(self) -> None:
        self.hashes: set[int] = set()

    def again(self, key_hash: int) -> bool:
        """Whether a key of this hash was offered before (and note it if not)."""
        hashes = self.hashes
        if key_hash in hashes:
            return True
        if len(hashes) >= MAX_SEEN_ONCE:
            hashes.clear()
        hashes.add(key_hash)
        return False


class Shape:
    """A deep, hashable value with its hash computed once (a memo key holds it in every
    lookup). Equal shapes are interned to one object, so lookups mostly compare identities."""

    __slots__ = ("hash", "value")

    def __init__(self, value: tuple) -> None:
        self.value = value
        self.hash = hash(value)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Shape) and self.hash == other.hash and self.value == other.value
        )


_interned: dict[Shape, Shape] = {}
_interned_offered = SeenOnce()


# The shape of a container and of a pod template: every field but the template's labels (only
# lookups in the facts read them, a Service or PDB selecting the pods: parts that need them name
# them separately), dicts as their items in order (order shows in messages). Written out field
# by field, which is several times cheaper than walking the dataclass fields;
# ``tests/unit/conformance/test_outcome_memo.py`` changes every field of both classes and
# requires a different shape, so a field added to either and left out here fails it.
def _container_shape(c: Container) -> tuple:
    return (c.name, c.image, tuple(c.requests.items()), tuple(c.limits.items()), c.claims,
            c.ports, c.readiness_probe, c.liveness_probe, c.startup_probe, c.path)


def template_shape(t: PodTemplate) -> tuple:
    """Every field of the template but its labels, hashable."""
    return (
        t.role, tuple(map(_container_shape, t.containers)),
        tuple(map(_container_shape, t.init_containers)), t.pods_per_replica,
        tuple(t.annotations.items()), tuple(t.node_selector.items()), t.required_node_terms,
        t.tolerations, t.runtime_class_name, t.scheduler_name, t.resource_claims,
        t.serving_container, t.serves_traffic, t.path, t.scheduling_group,
    )


def _interned_shape(value: tuple) -> Shape:
    """The interned ``Shape`` of ``value`` (interned the second time it is seen);
    ``TypeError`` when something in it is unhashable."""
    shape = Shape(value)
    found = _interned.get(shape)
    if found is not None:
        return found
    if _interned_offered.again(shape.hash):
        if len(_interned) >= MAX_MEMO_ENTRIES:
            _interned.clear()
        _interned[shape] = shape
    return shape


# --- the parts a check may read ---------------------------------------------------------------


def _templates(memo: Shared) -> Shape:
    return _interned_shape(tuple(map(template_shape, memo.workload.pod_templates)))


def _template_labels(memo: Shared) -> tuple:
    return tuple(tuple(t.labels.items()) for t in memo.workload.pod_templates)


def _claims_namespace(memo: Shared) -> str | None:
    # Only a workload that references DRA claims has its namespace read (claim templates are
    # looked up there); the rest share one key whatever their namespace.
    templates = memo.workload.pod_templates
    if any(t.resource_claims or any(c.claims for c in (*t.containers, *t.init_containers))
           for t in templates):
        return namespace_of(memo.workload.namespace)
    return None


def _scaling(memo: Shared) -> tuple:
    workload = memo.workload
    return (workload.replicas, workload.autoscaler)


def _autoscalers(memo: Shared) -> tuple[int, ...]:
    # Objects of the facts value that holds the memo, so their identities are stable.
    return tuple(map(id, shared_autoscalers_for(memo)))


def _disruption_budgets(memo: Shared) -> tuple[int, ...]:
    # Objects of the facts value that holds the memo, so their identities are stable.
    return tuple(id(b) for b in disruption_budgets_for(memo.workload, memo.facts))


def _group(memo: Shared) -> tuple:
    return (memo.workload.group_size, memo.workload.gang_mechanisms)


def _probe_sources(memo: Shared) -> tuple:
    workload = memo.workload
    runtime = None
    if workload.serving_runtime is not None:
        runtime = id(serving_runtime_for(workload, memo.facts))
    return (workload.platform_probes, workload.serving_runtime, runtime)


def _readiness(memo: Shared) -> Hashable:
    return memo.workload.readiness


PARTS: dict[str, Callable[[Shared], Hashable]] = {
    # The pod templates, every field but their labels (containers, resources, probes, node
    # selection, tolerations, annotations, roles and paths).
    "templates": _templates,
    # The pod templates' labels.
    "template_labels": _template_labels,
    # The workload's namespace (``default`` when it names none) when it references DRA
    # resource claims (in any template or container); None when it references none.
    "claims_namespace": _claims_namespace,
    # Replicas as declared and the inline autoscaler.
    "scaling": _scaling,
    # The HPAs and ScaledObjects that scale the workload (``relations.autoscalers_for``).
    "autoscalers": _autoscalers,
    # The PodDisruptionBudgets that select its pods.
    "disruption_budgets": _disruption_budgets,
    # Group size and the gang mechanisms declared.
    "group": _group,
    # Who supplies probes the manifest leaves out: the platform, or a KServe ServingRuntime
    # (as referenced, and the one of the facts it resolves to).
    "probe_sources": _probe_sources,
    # The target's own readiness.
    "readiness": _readiness,
}


class OutcomeMemo:
    """Findings by (check group, scope key), in two generations: ``recent`` takes a new entry
    the second time it is offered (``SeenOnce``) and is emptied when full; an entry found there
    again moves to ``reused``, which a stream of one-off entries (workloads unlike any other)
    therefore cannot empty. Each holds at most ``MAX_MEMO_ENTRIES``."""

    __slots__ = ("evaluations", "hits", "lookups", "offered", "params", "recent", "reused")

    def __init__(self, params: Parameters) -> None:
        self.params = params
        self.recent: dict[Hashable, Any] = {}
        self.reused: dict[Hashable, Any] = {}
        self.offered = SeenOnce()
        self.evaluations = self.lookups = self.hits = 0

    def in_use(self) -> bool:
        """Whether an evaluation should use the memo. Keys and misses cost: a fleet without
        copies would pay for nothing. So the memo is used while at least ``MIN_HIT_SHARE`` of
        the recent lookups found a finding, and on every ``PROBE_EVERY``-th evaluation
        otherwise (to notice when copies arrive)."""
        self.evaluations += 1
        return (self.hits >= self.lookups * MIN_HIT_SHARE
                or self.evaluations % PROBE_EVERY == 0)

    def get(self, key: Hashable) -> Any:
        self.lookups += 1
        found = self.reused.get(key)
        if found is None:
            found = self.recent.get(key)
            if found is not None:
                _bounded_set(self.reused, key, found)
        if found is not None:
            self.hits += 1
        if self.lookups >= RECENT_LOOKUPS:  # the share counts recent lookups most
            self.lookups //= 2
            self.hits //= 2
        return found

    def remember(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key`` if the key was offered before."""
        if self.offered.again(hash(key)):
            _bounded_set(self.recent, key, value)

    def __len__(self) -> int:
        return len(self.recent) + len(self.reused)


def _bounded_set(table: dict[Hashable, Any], key: Hashable, value: Any) -> None:
    if len(table) >= MAX_MEMO_ENTRIES:
        table.clear()
    table[key] = value


def kept_by_identity(table: dict[int, tuple[Any, Any]], owner: object,
                     build: Callable[[object], Any], limit: int) -> Any:
    """``build(owner)``, kept in ``table`` by the identity of ``owner`` (at most ``limit``
    entries: emptied when full). The entry holds ``owner``, so the identity it is found by
    cannot be reused by another object while it is kept."""
    entry = table.get(id(owner))
    if entry is None or entry[0] is not owner:
        if len(table) >= limit:
            table.clear()
        entry = table[id(owner)] = (owner, build(owner))
    return entry[1]


def outcome_memo(facts: ClusterFacts, params: Parameters) -> OutcomeMemo:
    """The memo of what was judged against ``facts`` with ``params``."""
    return kept_by_identity(facts.derived.setdefault("outcomes", {}), params, OutcomeMemo,
                            MAX_MEMO_PARAMETERS)
