"""policyReports.enabled: the operator runs with --policy-reports and may write exactly the four
report kinds (namespaced ones through the namespaced role, cluster ones cluster-wide); off, it
can touch none of them."""

from __future__ import annotations

import pytest
from chartlib import find

REPORT_GROUPS = {"openreports.io", "wgpolicyk8s.io"}


def report_rules(objects, role):
    return [r for r in find(objects, "ClusterRole", role)["rules"]
            if set(r["apiGroups"]) & REPORT_GROUPS]


def args_of(objects):
    (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container["args"]


@pytest.mark.helm
def test_enabled_grants_exactly_the_report_kinds_and_passes_the_flag(render):
    objects = render("policyReports.enabled=true")
    assert "--policy-reports" in args_of(objects)
    verbs = ["get", "list", "watch", "create", "update", "delete"]
    assert report_rules(objects, "kaico-namespaced") == [
        {"apiGroups": ["openreports.io"], "resources": ["reports"], "verbs": verbs},
        {"apiGroups": ["wgpolicyk8s.io"], "resources": ["policyreports"], "verbs": verbs},
    ]
    assert report_rules(objects, "kaico") == [
        {"apiGroups": ["openreports.io"], "resources": ["clusterreports"], "verbs": verbs},
        {"apiGroups": ["wgpolicyk8s.io"], "resources": ["clusterpolicyreports"], "verbs": verbs},
    ]


@pytest.mark.helm
def test_off_by_default_with_no_report_rights(render):
    objects = render()
    assert "--policy-reports" not in args_of(objects)
    assert report_rules(objects, "kaico-namespaced") == [] and report_rules(objects, "kaico") == []
