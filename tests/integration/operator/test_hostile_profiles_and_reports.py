"""Hostile input on the real API server: the CRD and the CLI reject the same profiles with the
same field paths (one pydantic model behind both), an invalid profile is Ready=False in the
operator, and a 5,000-container target gets a report under the status ceiling."""

from __future__ import annotations

import json
from typing import Any

import pytest
from operator_harness import Api, wait_for
from operator_manifests import profile, vllm_deployment

from conformance.cluster.catalogue import supported_versions
from conformance.profile import ProfileError, parse_profile

pytestmark = pytest.mark.usefixtures("kaico_crds", "shared_crds")

REJECTED_SELECTORS = [
    ({"key": "app", "operator": "in", "values": ["x"]}, "matchExpressions[0].operator", "In"),
    ({"key": "app", "operator": "NotExists", "values": ["x"]}, "matchExpressions[0].operator", "In"),
    ({"key": "app", "operator": "Exists", "values": ["x"]}, "matchExpressions[0].values",
     "must be empty when operator is Exists or DoesNotExist"),
    ({"key": "app", "operator": "DoesNotExist", "values": ["x"]}, "matchExpressions[0].values",
     "must be empty when operator is Exists or DoesNotExist"),
    ({"key": "app", "operator": "In"}, "matchExpressions[0].values",
     "must be non-empty when operator is In or NotIn"),
    ({"key": "app", "operator": "NotIn", "values": []}, "matchExpressions[0].values",
     "must be non-empty when operator is In or NotIn"),
]


def _server_side_dry_run(api: Api, body: dict[str, Any]) -> tuple[int, str]:
    result = api.cluster.kubectl("apply", "--server-side", "--dry-run=server",
                                 "--field-manager=kaico-tests", "-f", "-",
                                 input=json.dumps(body), check=False)
    return result.returncode, result.stderr


def test_the_crd_and_the_cli_reject_the_same_selectors_at_the_same_field_path(
    api: Api, namespace: str
) -> None:
    for selector in ("selector", "namespaceSelector"):
        for expression, field, words in REJECTED_SELECTORS:
            body = profile(f"p-{namespace}", namespace,
                           targets={selector: {"matchExpressions": [expression]}})
            path = f"spec.targets.{selector}.{field}"
            code, stderr = _server_side_dry_run(api, body)
            assert code != 0 and path in stderr and words in stderr, (expression, stderr)
            with pytest.raises(ProfileError) as raised:
                parse_profile(body)
            assert any(p.startswith(path) and words in p for p in raised.value.problems), (
                expression, raised.value.problems)
    accepted = profile(f"p-{namespace}", namespace, targets={"selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["vllm"]},
        {"key": "tier", "operator": "DoesNotExist"},
        {"key": "team", "operator": "Exists", "values": []},
    ]}})
    code, stderr = _server_side_dry_run(api, accepted)
    assert code == 0, stderr
    parse_profile(accepted)


def test_an_unknown_kubernetes_version_is_ready_false_naming_the_known_ones(
    api: Api, namespace: str, start_operator
) -> None:
    name = f"p-{namespace}"
    api.apply(profile(name, namespace, kubernetesVersion="banana"))
    try:
        operator = start_operator("--namespace", namespace)
        ready = wait_for(lambda: next((c for c in ((api.get("conformanceprofile", name) or {})
                                                   .get("status") or {}).get("conditions") or []
                                       if c["type"] == "Ready"), None),
                         message="the Ready condition")
        assert (ready["status"], ready["reason"]) == ("False", "Invalid")
        assert "spec.kubernetesVersion" in ready["message"]
        assert ", ".join(supported_versions()) in ready["message"]
        operator.assert_alive()
    finally:
        api.delete("conformanceprofile", name, "--wait=false")


def test_a_5000_container_target_gets_a_report_under_the_status_ceiling(
    api: Api, namespace: str, start_operator
) -> None:
    from kaico.workloads.status import MAX_STATUS_BYTES, status_size

    name = f"p-{namespace}"
    deployment = vllm_deployment(namespace, "wide", readiness=False)
    deployment["spec"]["template"]["spec"]["containers"] = [
        {"name": f"c{index}", "image": "vllm/vllm-openai", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
        for index in range(5000)
    ]
    # kubectl create: a client-side apply would copy 5,000 containers into an annotation.
    api.cluster.kubectl("create", "-f", "-", input=json.dumps(deployment), timeout=120)
    api.apply(profile(name, namespace))
    try:
        start_operator("--namespace", namespace)
        report = wait_for(
            lambda: next((r for r in (api.get("conformancereports", "-n", namespace) or {})
                          .get("items", []) if r.get("status")), None),
            timeout=120, message="the report of the 5,000-container Deployment")
        size = status_size(report["status"])
        assert size <= MAX_STATUS_BYTES, size
        messages = {r["check"]: r["message"] for r in report["status"]["results"]}
        # One clause per container was 438 KB at 1,000 containers; now 8 clauses and a count.
        assert messages["gpu-limits"].endswith("and 4,992 more"), messages["gpu-limits"]
    finally:
        api.delete("conformanceprofile", name, "--wait=false")
