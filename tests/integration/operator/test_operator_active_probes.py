"""``kaico run`` runs the active probes for a profile with ``spec.activeProbes`` (in the background,
with the operator's own credentials), writes their verdicts into that profile's
ClusterConformanceReport only, and leaves no probe namespace behind, even when it is stopped in
the middle of a run.

On this control plane kwok pods print no logs (secure access is inconclusive) and the default
scheduler binds the 1000-pod Job piecemeal (the gang negative probe fails), as in
tests/integration/cluster/test_active_probes.py for the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from operator_harness import Api, wait_for
from operator_manifests import profile

pytestmark = pytest.mark.usefixtures("kaico_crds")



@pytest.fixture
def profiles(api: Api, namespace: str) -> Iterator[tuple[str, str]]:
    names = (f"probed-{namespace}", f"plain-{namespace}")
    yield names
    for name in names:
        api.delete("conformanceprofile", name, "--wait=false")


def requirement(report: dict[str, Any], requirement_id: str) -> dict[str, Any]:
    return next(r for r in report["status"]["requirements"] if r["id"] == requirement_id)


def probe_namespaces(api: Api, phase: str | None = None) -> list[str]:
    """Probe namespaces (a deleted one stays, Terminating, until its pods are gone)."""
    listed = api.get("namespaces", "-l", "kaico.dev/probe=true") or {"items": []}
    return [n["metadata"]["name"] for n in listed["items"]
            if phase is None or (n.get("status") or {}).get("phase") == phase]


@pytest.mark.timeout(480)
def test_the_operator_probes_for_the_profile_that_asks_and_cleans_up_when_stopped(
    api: Api, namespace: str, start_operator, profiles: tuple[str, str]
) -> None:
    probed, plain = profiles
    assert probe_namespaces(api) == [], "probe namespaces left over from an earlier test"
    api.apply(profile(probed, namespace, activeProbes=True), profile(plain, namespace))
    operator = start_operator("--namespace", namespace, "--probe-timeout", "15",
                              "--gang-negative-window", "10")

    def probed_report() -> dict[str, Any] | None:
        report = api.get("clusterconformancereport", probed)
        requirements = ((report or {}).get("status") or {}).get("requirements") or []
        done = any("Probe gang-scheduling/negative" in r["notes"] for r in requirements)
        return report if done else None

    report = wait_for(probed_report, timeout=240, interval=1, message="the probe results in the report")
    gang = requirement(report, "gang_scheduling")
    assert gang["status"] == "NotImplemented"
    assert "Probe gang-scheduling/positive passed" in gang["notes"]
    assert "Probe gang-scheduling/negative failed" in gang["notes"]
    assert "capacity was granted piecemeal" in gang["notes"]
    assert "probe gang-scheduling/negative (failed)" in gang["evidence"]
    access = requirement(report, "secure_accelerator_access")
    assert "Probe secure-accelerator-access/positive inconclusive" in access["notes"]
    warnings = report["status"]["warnings"]
    assert any(w.startswith("activeProbes: probe results of the run that ended at") for w in warnings)
    assert not any("403" in w for w in warnings), warnings

    # The profile without activeProbes, judged in the same passes, never sees a probe.
    other = api.get("clusterconformancereport", plain)
    assert other and other["status"]["requirements"]
    assert not any("Probe " in r["notes"] or any(e.startswith("probe ") for e in r["evidence"])
                   for r in other["status"]["requirements"])
    assert not any("activeProbes" in w for w in other["status"]["warnings"])
    log = operator.log.read_text()
    assert "forbidden" not in log.lower()

    # The first run deleted its namespaces before its results were written. The 10 s interval
    # brings a second run: stop the operator while that run's namespace is in use.
    assert probe_namespaces(api, "Active") == []
    wait_for(lambda: probe_namespaces(api, "Active"), timeout=90, interval=0.2,
             message="a second probe run")
    operator.stop()
    assert operator.process is not None and operator.process.returncode is not None
    log = operator.log.read_text()
    assert "shutting down" in log, log[-3000:]
    assert "not cleaned up within" not in log
    # The cleanup went through the operator's own client before it closed (a request after the
    # close would open a new session that nobody closes).
    assert "Unclosed" not in log, log[-3000:]
    # The probes deleted their namespaces on the way out; the namespace controller removes them.
    try:
        wait_for(lambda: probe_namespaces(api) == [], timeout=180, interval=1,
                 message="no kaico.dev/probe=true namespace left")
    except AssertionError:
        left = {n: (api.get("namespace", n) or {}).get("status") for n in probe_namespaces(api)}
        raise AssertionError(f"probe namespaces left after the stop: {left}\n{operator.log.read_text()[-4000:]}") from None
