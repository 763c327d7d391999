"""Offline input is the whole application by default; ``PARTIAL`` restores "absent is unknown".

An application carries its own autoscaler, PDB, Services and routes, so with the whole
application in the input, none of them means none; Nodes are never assumed (no chart has them).
"""

from datetime import UTC, datetime

import pytest
import yaml

from conformance.catalogue import catalogue
from conformance.engine import LOOKS_FOR, evaluate_objects
from conformance.facts import APPLICATION_FACT_CLASSES, FactClass, InputMode
from conformance.facts_builder import facts_from_objects
from conformance.findings import Result
from conformance.profile import builtin_profile

NOW = datetime(2026, 11, 23, tzinfo=UTC)

DEPLOYMENT = yaml.safe_load("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm, namespace: ml}
spec:
  replicas: 3
  selector: {matchLabels: {app: llm}}
  template:
    metadata: {labels: {app: llm}}
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai
          ports: [{name: http, containerPort: 8000}]
          resources: {limits: {nvidia.com/gpu: "1"}}
""")

SERVICE = yaml.safe_load("""
apiVersion: v1
kind: Service
metadata: {name: llm, namespace: ml}
spec:
  selector: {app: llm}
  ports: [{name: http, port: 80, targetPort: http}]
""")

LOOKING_CHECKS = ("scaling-autoscaler", "scaling-disruption-budget", "endpoint-service",
                  "endpoint-gateway-route")


def findings(objects, mode):
    evaluation = evaluate_objects([(o, "test") for o in objects], builtin_profile(), NOW, mode=mode)
    (report,) = evaluation.reports
    return evaluation, {f.check: f for f in report.results}


def test_whole_application_input_without_autoscaler_pdb_service_or_route_fails_those_checks():
    evaluation, found = findings([DEPLOYMENT], InputMode.APPLICATION)
    assert evaluation.mode is InputMode.APPLICATION
    for check in LOOKING_CHECKS:
        assert found[check].result is Result.FAIL, (check, found[check].message)
        assert "the input held no" in found[check].message
        assert "--partial" in found[check].message
    assert "HorizontalPodAutoscalers" in found["scaling-autoscaler"].message
    assert "PodDisruptionBudgets" in found["scaling-disruption-budget"].message


def test_a_fragment_skips_the_same_checks_as_before():
    evaluation, found = findings([DEPLOYMENT], InputMode.PARTIAL)
    assert evaluation.mode is InputMode.PARTIAL
    for check in LOOKING_CHECKS:
        assert found[check].result is Result.SKIP, (check, found[check].message)
        assert "the input held no" not in found[check].message


def test_node_checks_skip_without_nodes_in_either_mode():
    for mode in (InputMode.APPLICATION, InputMode.PARTIAL):
        _, found = findings([DEPLOYMENT], mode)
        assert found["gpu-node-match"].result is Result.SKIP
        assert "Node objects" in found["gpu-node-match"].message


def test_a_class_present_in_the_input_is_judged_without_the_whole_application_note():
    _, found = findings([DEPLOYMENT, SERVICE], InputMode.APPLICATION)
    assert found["endpoint-service"].result is Result.PASS
    # the route check still fails, and only names the class the input lacked
    assert found["endpoint-gateway-route"].result is Result.FAIL
    assert "HTTPRoutes or InferencePools" in found["endpoint-gateway-route"].message
    assert "Services" not in found["endpoint-gateway-route"].message.split("held no")[1]


def test_only_the_application_classes_absent_from_the_input_are_assumed_absent():
    facts = facts_from_objects([SERVICE], whole_application=True)
    assert facts.assumed_absent == {
        FactClass.AUTOSCALERS.value, FactClass.DISRUPTION_BUDGETS.value, FactClass.ROUTES.value
    }
    assert FactClass.NODES.value not in facts.known
    assert FactClass.RUNTIME_CLASSES.value not in facts.known
    assert facts_from_objects([SERVICE]).assumed_absent == frozenset()


@pytest.mark.parametrize("check", sorted(LOOKS_FOR))
def test_every_check_that_looks_for_an_application_object_exists(check):
    assert check in catalogue()
    assert LOOKS_FOR[check] in APPLICATION_FACT_CLASSES
