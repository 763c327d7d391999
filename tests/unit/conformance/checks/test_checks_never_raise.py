"""Every registered check returns an Outcome for any type-valid workload and facts, however odd:
None where allowed, zero and negative counts, empty templates, quantities like "abc" or "500m".
The engine would turn an exception into an ``error`` finding, but a check must not rely on it."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.catalogue import catalogue
from conformance.facts import (
    AutoscalerFacts,
    ClusterFacts,
    FactClass,
    LabelSelector,
    NodeFacts,
    NodeTaint,
    RouteFacts,
    SelectingObject,
    ServingRuntimeFacts,
)
from conformance.findings import Outcome
from conformance.parameters import Parameters
from conformance.relations import orphan_autoscalers
from conformance.workload import (
    Container,
    InlineAutoscaler,
    NodeSelectorRequirement,
    PodTemplate,
    Port,
    Probe,
    Readiness,
    Replicas,
    ResourceClaimRef,
    ScaleTargetRef,
    ServingRuntimeRef,
    ServingWorkload,
    Toleration,
)

# Small alphabets so that names, labels and targets collide often enough to exercise matching.
names = st.sampled_from(["", "llm", "llm-predictor", "gpu", "nvidia", "main", "a b", "Ünï"])
maybe_names = st.none() | names
namespaces = st.sampled_from(["", "ml", "default", "other"])
kinds = st.sampled_from(
    ["Deployment", "InferenceService", "LeaderWorkerSet", "StatefulSet", "Service", ""]
)
counts = st.none() | st.integers(min_value=-3, max_value=12)
quantities = st.sampled_from(
    ["1", "0", "-1", "1.5", "500m", "abc", "", " 2 ", "1e3", "1/2", "inf", "nan", "8", "0.0"]
)
resources = st.sampled_from(
    [
        "nvidia.com/gpu",
        "amd.com/gpu",
        "nvidia.com/mig-1g.10gb",
        "nvidia.com/gpumem",
        "cpu",
        "memory",
        "example.com/thing",
    ]
)
labels = st.dictionaries(
    st.sampled_from(["app", "role", "gpu", "pool", ""]),
    st.sampled_from(["llm", "leader", "h100", "1", "", "80000"]),
    max_size=3,
)
paths = st.none() | st.sampled_from(
    ["", "/", "/v1/models", "/v1/models/x", "/health", "?", "/ready/"]
)
metrics = st.lists(
    st.sampled_from(
        [
            "cpu",
            "memory",
            "DCGM_FI_DEV_GPU_UTIL",
            "vllm:num_requests_waiting",
            "",
            "sum(rate(x[1m]))",
            "wva",
            "concurrency",
        ]
    ),
    max_size=3,
).map(tuple)

probes = st.none() | st.builds(
    Probe,
    handler=st.sampled_from(["httpGet", "tcpSocket", "grpc", "exec", "unknown"]),
    path=paths,
    port=st.none() | st.integers(-1, 70000) | names,
    initial_delay_seconds=st.integers(-10, 2000),
    period_seconds=st.integers(-5, 100),
    failure_threshold=st.integers(-5, 200),
    timeout_seconds=st.integers(-1, 10),
)
containers = st.builds(
    Container,
    name=names,
    image=maybe_names,
    requests=st.dictionaries(resources, quantities, max_size=3),
    limits=st.dictionaries(resources, quantities, max_size=3),
    claims=st.lists(names, max_size=2).map(tuple),
    ports=st.lists(st.builds(Port, number=counts, name=maybe_names), max_size=2).map(tuple),
    readiness_probe=probes,
    liveness_probe=probes,
    startup_probe=probes,
    path=st.sampled_from(["", "spec.containers[0]"]),
)
requirements = st.builds(
    NodeSelectorRequirement,
    key=st.sampled_from(["gpu", "pool", "", "80000"]),
    operator=st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Bogus"]),
    values=st.lists(st.sampled_from(["h100", "1", "x", "", "-5"]), max_size=2).map(tuple),
)
templates = st.builds(
    PodTemplate,
    role=names,
    containers=st.lists(containers, max_size=3).map(tuple),
    init_containers=st.lists(containers, max_size=1).map(tuple),
    pods_per_replica=st.integers(-2, 5),
    labels=labels,
    annotations=st.dictionaries(
        st.sampled_from(["gpu-fraction", "prometheus.io/scrape", "kai.scheduler/gpu-memory"]),
        st.sampled_from(["true", "0.5", "", "TRUE"]),
        max_size=2,
    ),
    node_selector=labels,
    required_node_terms=st.lists(st.lists(requirements, max_size=2).map(tuple), max_size=2).map(
        tuple
    ),
    tolerations=st.lists(
        st.builds(
            Toleration,
            key=maybe_names,
            operator=st.sampled_from(["Equal", "Exists", ""]),
            value=maybe_names,
            effect=st.none() | st.sampled_from(["NoSchedule", "NoExecute"]),
        ),
        max_size=2,
    ).map(tuple),
    runtime_class_name=maybe_names,
    scheduler_name=maybe_names,
    resource_claims=st.lists(
        st.builds(
            ResourceClaimRef,
            name=names,
            resource_claim_name=maybe_names,
            resource_claim_template_name=maybe_names,
            device_classes=st.lists(names, max_size=2).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
    serving_container=maybe_names,
    serves_traffic=st.booleans(),
    path=st.sampled_from(["", "spec.template"]),
)
workloads = st.builds(
    ServingWorkload,
    api_version=st.sampled_from(["apps/v1", "serving.kserve.io/v1beta1", "v1", ""]),
    kind=kinds,
    name=names,
    namespace=st.none() | namespaces,
    annotations=st.dictionaries(
        st.sampled_from(["serving.kserve.io/enable-prometheus-scraping", "prometheus.io/scrape"]),
        st.sampled_from(["true", "false", ""]),
        max_size=1,
    ),
    pod_templates=st.lists(templates, max_size=3).map(tuple),
    replicas=st.builds(Replicas, fixed=counts, minimum=counts, maximum=counts),
    autoscaler=st.none()
    | st.builds(
        InlineAutoscaler,
        mechanism=st.sampled_from(["kserve-hpa", "kserve-keda", "knative", "external", "none", ""]),
        minimum=counts,
        maximum=counts,
        metrics=metrics,
        buffers_requests=st.booleans(),
    ),
    scale_targets=st.lists(
        st.builds(
            ScaleTargetRef,
            kind=kinds,
            name=names,
            api_group=st.none() | st.sampled_from(["apps", "", "x"]),
        ),
        max_size=2,
    ).map(tuple),
    group_size=st.integers(-2, 6),
    gang_mechanisms=st.lists(names, max_size=2).map(tuple),
    declared_urls=st.lists(names, max_size=1).map(tuple),
    managed_services=st.lists(names, max_size=1).map(tuple),
    declares_metrics_scraping=st.booleans(),
    declares_gateway_route=st.booleans(),
    readiness=st.none()
    | st.builds(Readiness, ready=st.booleans(), reason=maybe_names, message=maybe_names),
    serving_runtime=st.none()
    | st.builds(
        ServingRuntimeRef,
        name=maybe_names,
        model_format=maybe_names,
        cluster_scoped=st.none() | st.booleans(),
    ),
    errors=st.just(()),
)

selectors = st.builds(
    LabelSelector,
    match_labels=labels,
    match_expressions=st.lists(
        st.tuples(
            st.sampled_from(["app", "gpu", ""]),
            st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Odd"]),
            st.lists(st.sampled_from(["llm", "h100", ""]), max_size=2).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
)
selecting_objects = st.builds(
    SelectingObject,
    kind=st.sampled_from(
        ["Service", "PodDisruptionBudget", "InferencePool", "PodMonitor", "ServiceMonitor"]
    ),
    name=names,
    namespace=namespaces,
    selector=selectors,
    ports=st.lists(st.integers(-1, 9000) | names, max_size=2).map(tuple),
    named_ports=st.booleans(),
    selects_services=st.booleans(),
    namespaces=st.none()
    | st.lists(st.sampled_from(["*", "ml", "default", ""]), max_size=2).map(tuple),
    labels=labels,
)
cluster_facts = st.builds(
    ClusterFacts,
    known=st.frozensets(st.sampled_from([c.value for c in FactClass])),
    nodes=st.lists(
        st.builds(
            NodeFacts,
            name=names,
            labels=labels,
            taints=st.lists(
                st.builds(
                    NodeTaint,
                    key=st.sampled_from(["nvidia.com/gpu", "x", ""]),
                    value=maybe_names,
                    effect=st.sampled_from(["NoSchedule", "NoExecute", "PreferNoSchedule", ""]),
                ),
                max_size=2,
            ).map(tuple),
            allocatable=st.dictionaries(resources, st.integers(-4, 16), max_size=3),
            unschedulable=st.booleans(),
        ),
        max_size=3,
    ).map(tuple),
    autoscalers=st.lists(
        st.builds(
            AutoscalerFacts,
            kind=st.sampled_from(["HorizontalPodAutoscaler", "ScaledObject", "HTTPScaledObject"]),
            name=names,
            namespace=namespaces,
            target_kind=kinds,
            target_name=names,
            target_api_version=st.none() | st.sampled_from(["apps/v1", "v1", "", "a/b/c"]),
            minimum=counts,
            maximum=counts,
            metrics=metrics,
            buffers_requests=st.booleans(),
            owner_kind=st.none() | kinds,
            owner_name=maybe_names,
        ),
        max_size=3,
    ).map(tuple),
    disruption_budgets=st.lists(selecting_objects, max_size=2).map(tuple),
    services=st.lists(selecting_objects, max_size=2).map(tuple),
    inference_pools=st.lists(selecting_objects, max_size=2).map(tuple),
    http_routes=st.lists(
        st.builds(
            RouteFacts,
            name=names,
            namespace=namespaces,
            backends=st.lists(
                st.tuples(
                    st.sampled_from(["", "core", "inference.networking.k8s.io", "x"]),
                    st.sampled_from(["", "Service", "InferencePool"]),
                    names,
                ),
                max_size=2,
            ).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
    monitors=st.lists(selecting_objects, max_size=2).map(tuple),
    runtime_classes=st.frozensets(names, max_size=2),
    device_classes=st.frozensets(names, max_size=2),
    claim_templates=st.frozensets(st.tuples(namespaces, names), max_size=2),
    claim_template_device_classes=st.dictionaries(
        st.tuples(namespaces, names), st.lists(names, max_size=2).map(tuple), max_size=2
    ),
    serving_runtimes=st.lists(
        st.builds(
            ServingRuntimeFacts,
            name=names,
            namespace=st.none() | namespaces,
            model_formats=st.lists(names, max_size=2).map(tuple),
            auto_select_formats=st.lists(names, max_size=2).map(tuple),
            containers=st.lists(containers, max_size=2).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
)
parameters = st.sampled_from(
    [
        Parameters(),
        Parameters(
            model_aware_paths=("", "/"),
            inference_metrics=("",),
            startup_budget_seconds=0,
            liveness_min_initial_delay_seconds=0,
            gpu_resource_prefixes=("",),
        ),
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads, facts=cluster_facts, params=parameters)
def test_every_check_returns_an_outcome_for_odd_input(workload, facts, params):
    for check_id, spec in catalogue().items():
        outcome = spec.function(workload, facts, params)
        assert isinstance(outcome, Outcome), check_id
        assert isinstance(outcome.message, str) and outcome.message, check_id


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    workloads=st.lists(workloads, max_size=3),
    facts=cluster_facts,
    present=st.lists(st.tuples(kinds, namespaces, names), max_size=3),
)
def test_orphan_detection_never_raises(workloads, facts, present):
    orphans = orphan_autoscalers(workloads, facts, present)
    assert all(orphan in facts.autoscalers for orphan in orphans)
