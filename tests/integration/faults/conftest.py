"""The fault suite's fixture: one ``Fleet`` (fault_fleet.py) per module."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest
from fault_fleet import TARGETS, TIMINGS, Api, Fleet, wait_for
from kaico_dev.localcluster import LocalCluster
from operator_manifests import profile, vllm_deployment


@pytest.fixture(scope="module")
def fleet(local_cluster: LocalCluster, kaico_crds: list[str], tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Fleet]:
    namespace = f"faults-{int(time.time()) % 100000}"
    local_cluster.create_namespace(namespace, labels={"kaico.dev/test": "true"})
    api = Api(local_cluster)
    fleet = Fleet(local_cluster, api, namespace, tmp_path_factory.mktemp("faults"))
    api.apply(profile(fleet.profile, namespace, intervalSeconds=300),
              *[vllm_deployment(namespace, name) for name in sorted(fleet.targets)])
    # The truth is recorded from the first reports, and endpoint-ready follows each Deployment's
    # readiness: every pod runs first (their 16 GPUs may still be held by pods of namespaces
    # earlier tests are deleting), so no report changes later for a reason no fault caused.
    local_cluster.kubectl("wait", "--for=condition=Available", "deployment", "--all", "-n", namespace,
                          "--timeout=110s")
    fleet.start()
    wait_for(lambda: len(fleet.reports()) == TARGETS and all(
        r[0].get("status") for r in fleet.reports().values()), timeout=60, message="the first reports")
    fleet.record_truth()
    try:
        yield fleet
    finally:
        fleet.stop()
        if fleet.operator is not None and os.environ.get("CI"):
            print(fleet.operator.log.read_text()[-4000:])
        api.delete("conformanceprofile", fleet.profile, "--wait=false")
        local_cluster.delete_namespace(namespace)
        out = os.environ.get("KAICO_FAULT_TIMINGS")
        if out:
            with open(out, "a") as handle:
                handle.write(json.dumps(TIMINGS) + "\n")
