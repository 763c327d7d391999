"""The outcome memo (``conformance.scope``) never changes a finding.

Every report judged with the memo (one facts value shared by the whole run, so later workloads
reuse what earlier ones left) must equal the report judged without it (a fresh facts value per
workload, so the memo is empty). The corpora: clones that differ only in name, namespace and
labels, and near-clones that take exactly one field, of the workload or of a pod template,
from another workload (a check that reads a field it does not declare shows up here).
"""

import dataclasses
import importlib.util
import random
from datetime import UTC, datetime

import pytest

from conformance import scope
from conformance.engine import evaluate, prepare_objects
from conformance.facts import ClusterFacts
from conformance.findings import Severity
from conformance.profile import CheckSetting, Profile, Spec, builtin_profile
from conformance.scope import MAX_MEMO_ENTRIES, OutcomeMemo, outcome_memo
from conformance.workload import (
    Container,
    NodeSelectorRequirement,
    PodTemplate,
    Port,
    Probe,
    ResourceClaimRef,
    ServingWorkload,
    Toleration,
)
from tests.conftest import REPO_ROOT
from tests.unit.conformance.test_samples_corpus import load_objects

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture(autouse=True)
def memo_in_every_evaluation(monkeypatch):
    """The memo steps aside when it finds little to reuse; here it must judge every time."""
    monkeypatch.setattr(scope, "PROBE_EVERY", 1)


def bench_module(name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


engine_bench = bench_module("engine_bench")
engine_regression = bench_module("engine_regression")


def with_memo(workloads, facts, profile):
    facts = dataclasses.replace(facts)  # a memo of its own for this run
    return [evaluate(w, facts, profile, NOW).to_dict() for w in workloads]


def without_memo(workloads, facts, profile):
    return [evaluate(w, dataclasses.replace(facts), profile, NOW).to_dict() for w in workloads]


def assert_memo_changes_nothing(workloads, facts, profile=None):
    profile = profile or builtin_profile()
    judged = with_memo(workloads, facts, profile)
    for workload, memo, plain in zip(workloads, judged, without_memo(workloads, facts, profile),
                                     strict=True):
        assert memo == plain, workload.ref


def clone(workload: ServingWorkload, copy: int) -> ServingWorkload:
    """The workload under another name, namespace, uid and labels (its templates' too)."""
    name = f"{workload.name}-copy{copy}"
    return dataclasses.replace(
        workload, name=name, namespace=f"copies-{copy % 3}", uid=f"uid-{name}",
        labels={**workload.labels, "copy": str(copy)},
        pod_templates=tuple(
            dataclasses.replace(t, labels={**t.labels, "app": name})
            for t in workload.pod_templates
        ),
    )


def transplants(workload: ServingWorkload, donor: ServingWorkload):
    """``workload`` with one field taken from ``donor``: each workload field, then each field of
    each pod template (from the donor's template in the same place, or its first)."""
    for field in dataclasses.fields(ServingWorkload):
        value = getattr(donor, field.name)
        if value != getattr(workload, field.name):
            yield dataclasses.replace(workload, **{field.name: value})
    if not donor.pod_templates:
        return
    for index, template in enumerate(workload.pod_templates):
        source = donor.pod_templates[min(index, len(donor.pod_templates) - 1)]
        for field in dataclasses.fields(PodTemplate):
            value = getattr(source, field.name)
            if value == getattr(template, field.name):
                continue
            templates = list(workload.pod_templates)
            templates[index] = dataclasses.replace(template, **{field.name: value})
            yield dataclasses.replace(workload, pod_templates=tuple(templates))


def near_clones(workloads, seed):
    r = random.Random(seed)
    out = []
    for workload in workloads:
        for donor in r.sample(workloads, min(3, len(workloads))):
            out.extend(transplants(workload, donor))
    return out


def prepared(objects, facts_objects=()):
    result = prepare_objects([(o, None) for o in objects], builtin_profile(), facts_objects)
    return [w for w, _ in result.targets], result.facts


def random_corpus(seed):
    corpus = engine_regression.Corpus(seed)
    return prepared(corpus.objects(40, corpus.random.choice((3, 12, 40))))


def bench_corpus():
    bodies = [engine_bench.synthetic_workload(i) for i in range(24)]
    nodes = [engine_bench.mixed_node(n) for n in range(12)]
    return prepared(bodies, engine_bench.synthetic_facts_objects(24, nodes))


@pytest.mark.parametrize("seed", [7, 11, 12, 13])
def test_clones_and_near_clones_of_random_workloads_are_judged_as_without_the_memo(seed):
    workloads, facts = random_corpus(seed)
    copies = [clone(w, copy) for copy in range(3) for w in workloads]
    assert_memo_changes_nothing([*workloads, *copies, *near_clones(workloads, seed)], facts)


def test_clones_and_near_clones_of_the_bench_workloads_are_judged_as_without_the_memo():
    workloads, facts = bench_corpus()
    copies = [clone(w, copy) for copy in range(4) for w in workloads]
    assert_memo_changes_nothing([*workloads, *copies, *near_clones(workloads, 5)], facts)


def test_clones_and_near_clones_of_third_party_samples_are_judged_as_without_the_memo(shared_dir):
    objects = [body for body, _ in load_objects(sorted((shared_dir / "samples").rglob("*.yaml")))]
    nodes = [engine_bench.mixed_node(n) for n in range(8)]
    workloads, facts = prepared(objects, nodes)
    assert len(workloads) > 10
    copies = [clone(w, copy) for copy in range(2) for w in workloads]
    assert_memo_changes_nothing([*workloads, *copies, *near_clones(workloads, 3)], facts)


def test_clones_share_one_judgement_per_check():
    workloads, facts = bench_corpus()
    deployment = next(w for w in workloads if w.kind == "Deployment")
    profile = builtin_profile()
    facts = dataclasses.replace(facts)
    for copy in range(50):
        evaluate(clone(deployment, copy), facts, profile, NOW)
    memo = outcome_memo(facts, profile.parameters)
    # One entry per check that declares what it reads (in each generation), not one per clone.
    assert 0 < len(memo.recent) <= len(profile.severities)
    assert memo.reused.keys() == memo.recent.keys()


def test_a_new_facts_value_starts_with_an_empty_memo():
    workloads, facts = bench_corpus()
    profile = builtin_profile()
    for _ in range(2):  # an entry is kept the second time it is offered
        evaluate(workloads[0], facts, profile, NOW)
    assert outcome_memo(facts, profile.parameters)
    untainted = dataclasses.replace(
        facts, nodes=tuple(dataclasses.replace(n, taints=()) for n in facts.nodes))
    assert not outcome_memo(untainted, profile.parameters)
    # And what is judged against it is judged against its own nodes.
    assert evaluate(workloads[0], untainted, profile, NOW) == evaluate(
        workloads[0], dataclasses.replace(untainted), profile, NOW)


def test_the_memo_is_bounded():
    workloads, facts = bench_corpus()
    profile = builtin_profile()
    facts = dataclasses.replace(facts)
    template = workloads[0].pod_templates[0]
    for index in range(MAX_MEMO_ENTRIES // 4):
        varied = dataclasses.replace(template, path=f"spec.template{index}")
        evaluate(dataclasses.replace(workloads[0], pod_templates=(varied,)), facts, profile, NOW)
        memo = outcome_memo(facts, profile.parameters)
        assert len(memo.recent) <= MAX_MEMO_ENTRIES and len(memo.reused) <= MAX_MEMO_ENTRIES


def test_each_profile_has_its_own_memo():
    facts = ClusterFacts()
    first, second = builtin_profile(), builtin_profile()
    assert outcome_memo(facts, first.parameters) is outcome_memo(facts, first.parameters)
    if first.parameters is not second.parameters:
        assert outcome_memo(facts, first.parameters) is not outcome_memo(facts, second.parameters)


def test_the_memo_steps_aside_while_it_finds_little_and_probes_now_and_then(monkeypatch):
    monkeypatch.setattr(scope, "PROBE_EVERY", 4)
    memo = OutcomeMemo(builtin_profile().parameters)
    assert memo.in_use()  # nothing looked up yet
    for index in range(100):
        memo.get(("never", index))
    used = [memo.in_use() for _ in range(8)]
    assert used.count(True) == 2
    memo.remember("k", "finding")
    memo.remember("k", "finding")
    for _ in range(200):
        memo.get("k")
    assert all(memo.in_use() for _ in range(8))


# A value for every field of a container and of a pod template that differs from BASE's.
CONTAINER_CHANGES = {
    "name": "other", "image": "other:1", "requests": {"cpu": "2"}, "limits": {"nvidia.com/gpu": "2"},
    "claims": ("gpu",), "ports": (Port(9000, "metrics"),),
    "readiness_probe": Probe("httpGet", "/ready"), "liveness_probe": Probe("tcpSocket"),
    "startup_probe": Probe("grpc"), "path": "spec.other",
}
TEMPLATE_CHANGES = {
    "role": "worker", "containers": (Container("extra"),), "init_containers": (Container("init"),),
    "pods_per_replica": 3, "annotations": {"a": "b"}, "node_selector": {"pool": "gpu"},
    "required_node_terms": ((NodeSelectorRequirement("zone", "Exists"),),),
    "tolerations": (Toleration("nvidia.com/gpu", "Exists"),), "runtime_class_name": "nvidia",
    "scheduler_name": "volcano", "resource_claims": (ResourceClaimRef("gpu"),),
    "serving_container": "main", "serves_traffic": False, "path": "spec.other",
    "scheduling_group": "group",
}
BASE_CONTAINER = Container("main", image="vllm:1", requests={"nvidia.com/gpu": "1"})
BASE_TEMPLATE = PodTemplate("pod", containers=(BASE_CONTAINER,), labels={"app": "a"})


def test_the_template_shape_holds_every_field_but_the_labels():
    # A field left out of the shape would let two templates that differ in it share findings.
    assert TEMPLATE_CHANGES.keys() == {f.name for f in dataclasses.fields(PodTemplate)} - {"labels"}
    assert CONTAINER_CHANGES.keys() == {f.name for f in dataclasses.fields(Container)}
    base = scope.template_shape(BASE_TEMPLATE)
    assert scope.template_shape(dataclasses.replace(BASE_TEMPLATE, labels={"app": "b"})) == base
    for name, value in TEMPLATE_CHANGES.items():
        changed = dataclasses.replace(BASE_TEMPLATE, **{name: value})
        assert scope.template_shape(changed) != base, name
    for name, value in CONTAINER_CHANGES.items():
        container = dataclasses.replace(BASE_CONTAINER, **{name: value})
        for where in ("containers", "init_containers"):
            changed = dataclasses.replace(BASE_TEMPLATE, **{where: (container,)})
            assert scope.template_shape(changed) != scope.template_shape(
                dataclasses.replace(BASE_TEMPLATE, **{where: (BASE_CONTAINER,)})), (where, name)


def test_profiles_sharing_a_memo_keep_their_own_severities_and_checks():
    workloads, facts = bench_corpus()
    facts = dataclasses.replace(facts)

    def only(*checks):
        # Profiles of one parameters object: they share the memo of a facts value.
        return Profile("p", Spec(include_all_checks=False, checks=checks))

    profiles = [only(CheckSetting("gpu-limits", severity=Severity.LOW)),
                only(CheckSetting("gpu-limits", severity=Severity.CRITICAL)),
                only(CheckSetting("gpu-limits"), CheckSetting("gpu-toleration")),
                only(CheckSetting("gpu-toleration"))]
    assert len({id(p.parameters) for p in profiles}) == 1
    for workload in workloads[:6]:
        for profile in profiles:
            with_shared_memo = evaluate(workload, facts, profile, NOW)
            alone = evaluate(workload, dataclasses.replace(facts), profile, NOW)
            assert with_shared_memo == alone
            assert [f.check for f in with_shared_memo.results] == list(profile.severities)


def test_the_memo_keeps_an_entry_the_second_time_it_is_offered():
    memo = OutcomeMemo(builtin_profile().parameters)
    memo.remember(("group", "shape"), "findings")
    assert memo.get(("group", "shape")) is None and not memo
    memo.remember(("group", "shape"), "findings")
    assert memo.get(("group", "shape")) == "findings"
