"""ConformanceWaivers under ``kaico run`` on the real control plane: a waiver in the target's
namespace waives a failing check where the profile allows it (the report names the waiver),
editing or deleting it re-evaluates that namespace at once (not at the next interval), and a
waiver longer than the profile allows is shown as not honoured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from operator_harness import Api, wait_for
from operator_manifests import inference_service, profile, vllm_companions, vllm_deployment
from test_operator import reports

pytestmark = pytest.mark.usefixtures("kaico_crds", "shared_crds")

CHECK = "scaling-disruption-budget"  # qwen (the InferenceService) has no PodDisruptionBudget


def waiver(namespace: str, days: int) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceWaiver",
        "metadata": {"name": "no-pdb-yet", "namespace": namespace},
        "spec": {"checks": [CHECK], "target": {"kind": "InferenceService", "name": "qwen"},
                 "reason": "single replica during the pilot, TEAM-7", "expiresAt": expires},
    }


def qwen_result(api: Api, namespace: str) -> dict[str, Any] | None:
    report = reports(api, namespace).get("qwen")
    if report is None:
        return None
    return next(r for r in report["status"]["results"] if r["check"] == CHECK) | {
        "conformant": report["status"]["conformant"]}


def test_a_namespace_waiver_is_honoured_shown_and_withdrawn(api: Api, namespace: str, start_operator):
    name = f"w-{namespace}"
    # A long interval: whatever changes below comes from the waiver's own watch event.
    api.apply(profile(name, namespace, intervalSeconds=3600,
                      namespaceWaivers={"allowed": True, "maxDurationDays": 30}),
              vllm_deployment(namespace), *vllm_companions(namespace), inference_service(namespace))
    try:
        start_operator("--namespace", namespace)
        failing = wait_for(lambda: qwen_result(api, namespace), message="qwen's report")
        assert failing["result"] == "fail" and not failing.get("waived")
        assert failing["conformant"] is False

        api.apply(waiver(namespace, days=10))
        waived = wait_for(lambda: (r := qwen_result(api, namespace)) and r.get("waived") and r,
                          timeout=15, message="the waiver to be honoured")
        assert waived["properties"]["waivedBy"] == f"{namespace}/no-pdb-yet"
        assert waived["properties"]["waiverReason"] == "single replica during the pilot, TEAM-7"
        assert waived["result"] == "fail" and waived["conformant"] is True

        api.apply(waiver(namespace, days=60))  # longer than maxDurationDays: not honoured
        refused = wait_for(lambda: (r := qwen_result(api, namespace)) and not r.get("waived") and r,
                           timeout=15, message="the too-long waiver to be refused")
        assert "maxDurationDays 30" in refused["properties"]["waiverNotHonoured"]
        assert refused["conformant"] is False

        api.apply(waiver(namespace, days=10))
        wait_for(lambda: (r := qwen_result(api, namespace)) and r.get("waived"), timeout=15,
                 message="the waiver to be honoured again")
        api.delete("conformancewaiver", "no-pdb-yet", "-n", namespace)
        back = wait_for(lambda: (r := qwen_result(api, namespace)) and not r.get("waived") and r,
                        timeout=15, message="the deleted waiver to stop counting")
        assert "waivedBy" not in (back.get("properties") or {})
    finally:
        api.delete("conformanceprofile", name, "--wait=false")
