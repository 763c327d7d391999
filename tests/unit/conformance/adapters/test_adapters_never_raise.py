"""Property: no body, however malformed, makes an adapter or the facts builder raise.

Bodies are real samples (plus small facts objects) with random JSON-like values spliced in at
every depth, fields removed, types swapped and versions changed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.adapters import ADAPTERS, adapt_object
from conformance.facts_builder import facts_from_objects_with_warnings
from conformance.parameters import Parameters
from conformance.workload import ServingWorkload

PARAMS = Parameters()
SHARED = Path(__file__).resolve().parents[4].parent / "shared"

FACT_OBJECTS: list[dict[str, Any]] = [
    {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n"},
        "spec": {"taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]},
        "status": {"allocatable": {"nvidia.com/gpu": "8", "cpu": "64"}},
    },
    {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "d"},
            "maxReplicas": 3,
            "metrics": [{"type": "Pods", "pods": {"metric": {"name": "m"}}}],
        },
    },
    {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "s"},
        "spec": {
            "scaleTargetRef": {"name": "d"},
            "triggers": [{"type": "prometheus", "metadata": {"query": "q"}}],
        },
    },
    {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "m"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "endpoints": [{"port": "metrics"}]},
    },
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {"rules": [{"backendRefs": [{"name": "svc"}]}]},
    },
    {
        "apiVersion": "inference.networking.x-k8s.io/v1alpha2",
        "kind": "InferencePool",
        "metadata": {"name": "p"},
        "spec": {"selector": {"app": "x"}, "targetPortNumber": 8000},
    },
    {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaimTemplate",
        "metadata": {"name": "t"},
        "spec": {
            "spec": {
                "devices": {"requests": [{"name": "g", "exactly": {"deviceClassName": "gpu"}}]}
            }
        },
    },
]


def _samples() -> list[dict[str, Any]]:
    import os

    root = Path(os.environ.get("KAICO_SHARED") or SHARED) / "samples"
    documents = []
    for path in sorted(root.rglob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    kinds = {kind for _, kind in ADAPTERS}
    return [d for d in documents if d.get("kind") in kinds] + FACT_OBJECTS


SAMPLES = _samples()

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["", "true", "false", "v1", "-1", "0.5", "500m", "{{"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3),
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a document (dict keys and list indexes), the document root included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _set(document: Any, path: tuple, value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return document


@st.composite
def malformed_bodies(draw) -> Any:
    document = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        if path and path[:1] in (("apiVersion",), ("kind",)) and draw(st.booleans()):
            continue  # keep most bodies routed to their adapter
        document = _set(document, path, draw(json_values), delete=draw(st.booleans()))
        if not isinstance(document, (dict, list)):
            break
    if isinstance(document, dict) and draw(st.integers(0, 9)) == 0:
        group = str(document.get("apiVersion", "")).rpartition("/")[0]
        document["apiVersion"] = f"{group}/v9alpha9"
    return document


def _assert_workload_or_none(result: object) -> None:
    assert result is None or isinstance(result, ServingWorkload)
    if result is not None:
        assert all(isinstance(message, str) for message in result.errors)


COMMON = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(malformed_bodies())
def test_adapt_object_never_raises_on_spliced_samples(body):
    _assert_workload_or_none(adapt_object(body, PARAMS))


@COMMON
@given(st.sampled_from(sorted(ADAPTERS)), json_values)
def test_every_adapter_survives_any_spec_value(key, value):
    group, kind = key
    version = {"apps": "v1"}.get(group, "v1")
    for api_version in (
        f"{group}/{version}",
        f"{group}/v1alpha1",
        f"{group}/v1alpha2",
        f"{group}/v1beta1",
    ):
        body = {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": "x"},
            "spec": value,
            "status": value,
        }
        _assert_workload_or_none(ADAPTERS[key](body, PARAMS))


@COMMON
@given(st.sampled_from(sorted(ADAPTERS)), json_values)
def test_every_adapter_survives_any_metadata(key, value):
    group, kind = key
    _assert_workload_or_none(
        ADAPTERS[key]({"apiVersion": f"{group}/v1", "kind": kind, "metadata": value}, PARAMS)
    )


@COMMON
@given(st.lists(malformed_bodies(), max_size=4))
def test_facts_builder_never_raises(objects):
    facts, warnings = facts_from_objects_with_warnings(objects, PARAMS)
    assert all(isinstance(warning, str) for warning in warnings)
    assert isinstance(facts.known, frozenset)
