"""Per-object facts (the index values) and their merge into ClusterFacts."""

from kaico.kube.resources import FACTS, TARGETS, known_classes
from kaico.workloads.object_facts import facts_of, merge_facts

from conformance.facts import FactClass

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
        "status": {"allocatable": {"nvidia.com/gpu": "8"}}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "ml"},
           "spec": {"selector": {"app": "x"}}}


def test_one_object_gives_one_fact_and_others_give_none():
    node, _ = facts_of(NODE)
    assert [n.name for n in node.nodes] == ["n"] and node.known == frozenset()
    assert facts_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})[0] is None


def test_a_malformed_object_gives_no_fact_and_a_warning():
    facts, warnings = facts_of({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                                "spec": {"taints": "not-a-list"}})
    assert facts is None and warnings


def test_merge_concatenates_and_takes_known_from_the_served_apis():
    parts = [facts_of(NODE)[0], facts_of(SERVICE)[0], facts_of({**NODE, "metadata": {"name": "m"}})[0]]
    merged = merge_facts(parts, frozenset({"nodes", "services", "autoscalers"}))
    assert [n.name for n in merged.nodes] == ["n", "m"]
    assert [s.name for s in merged.services] == ["s"]
    assert merged.knows(FactClass.AUTOSCALERS) and not merged.autoscalers


def test_a_class_is_known_once_any_of_its_apis_is_served():
    assert known_classes({("", "v1", "nodes")}) == frozenset({"nodes"})
    assert known_classes({("inference.networking.k8s.io", "v1", "inferencepools")}) == frozenset({"routes"})
    assert known_classes(set()) == frozenset()


def test_every_fact_kind_the_engine_reads_is_watched_and_every_adapter_kind_is_a_target():
    from conformance.adapters import served_kinds
    from conformance.facts_builder import _READERS

    assert {(r.group, r.kind) for r in FACTS} == set(_READERS)
    assert {(r.group, r.kind) for r in TARGETS} == set(served_kinds())


def test_a_crd_counts_as_served_only_when_established_and_its_version_served():
    import asyncio

    from kaico.kube.discovery import ServedResources, crd_serves

    crd = {"spec": {"group": "monitoring.coreos.com", "names": {"plural": "podmonitors"},
                    "versions": [{"name": "v1", "served": True}]},
           "status": {"conditions": [{"type": "Established", "status": "True"}]}}
    assert crd_serves(crd) == {("monitoring.coreos.com", "v1", "podmonitors"): True}
    assert crd_serves({**crd, "status": {}}) == {("monitoring.coreos.com", "v1", "podmonitors"): False}
    served = ServedResources(lambda: None)
    # Before the first discovery: recorded, but nothing to re-evaluate yet.
    assert asyncio.run(served.update_from_crd(crd)) is False
    assert known_classes(served.resources) == frozenset({"monitors"})
    assert asyncio.run(served.update_from_crd(crd, deleted=True)) is False
    assert served.resources == set()
