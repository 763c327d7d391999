"""Profile selection and the parameters used to adapt bodies into the index."""

from kaico.runtime.handlers import profile_entry
from kaico.state import ProfileEntry
from kaico.workloads.controller import adaptation_parameters, selects

from conformance.workload import ServingWorkload


def entry(spec: dict, name: str = "p") -> ProfileEntry:
    body = {"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
            "metadata": {"name": name, "uid": "u", "generation": 2}, "spec": spec}
    return profile_entry(body)


WORKLOAD = ServingWorkload("apps/v1", "Deployment", "llm", "team-a", labels={"tier": "gold"})


def test_an_invalid_profile_becomes_an_entry_with_its_problems_not_an_exception():
    unknown = entry({"checks": [{"id": "gpu-limit"}]})
    assert unknown.profile is None and unknown.generation == 2
    assert unknown.error.problems == ["spec.checks[0].id: unknown check 'gpu-limit'"]
    too_often = entry({"intervalSeconds": 1})
    assert too_often.profile is None
    assert too_often.error.problems[0].startswith("spec.intervalSeconds:")


def test_namespace_selector_is_applied_with_the_namespace_labels():
    chosen = entry({"targets": {"namespaceSelector": {"matchLabels": {"ai": "true"}}}})
    assert selects(chosen, WORKLOAD, {"ai": "true"})
    assert not selects(chosen, WORKLOAD, {})
    assert not selects(chosen, WORKLOAD, None)


def test_kinds_namespaces_and_labels_select():
    assert selects(entry({"targets": {"kinds": ["Deployment"], "namespaces": ["team-*"]}}), WORKLOAD, {})
    assert not selects(entry({"targets": {"kinds": ["InferenceService"]}}), WORKLOAD, {})
    assert not selects(entry({"targets": {"selector": {"matchLabels": {"tier": "bronze"}}}}), WORKLOAD, {})


def test_adaptation_parameters_unite_the_accelerator_names_of_all_profiles():
    custom = entry({"parameters": {"gpuResourceNames": ["example.com/npu"]}})
    params = adaptation_parameters([custom, entry({}, "default")])
    assert "example.com/npu" in params.gpu_resource_names and "nvidia.com/gpu" in params.gpu_resource_names
    # An invalid profile contributes nothing.
    assert adaptation_parameters([]) == adaptation_parameters([entry({"checks": "bad"})])


def test_the_periodic_pass_publishes_no_status_while_the_profiles_full_pass_runs():
    """After a start the profile's own event evaluates every workload under it; a periodic tick
    meanwhile would publish partial counts (then the full ones: two needless writes)."""
    import asyncio
    from datetime import UTC, datetime

    from kaico.state import Results
    from kaico.workloads.controller import Controller

    class Writer:
        def __init__(self):
            self.published = []

        def stored_profile_status(self, name, watched, watched_version):
            return watched

        async def write_profile_status(self, name, status, stored):
            self.published.append(name)
            return True

    async def scenario():
        writer = Writer()
        controller = Controller(writer, Results(), None, None, lambda: datetime.now(UTC))
        release = asyncio.Event()

        async def full_pass(entry_, indexes, periodic=True):
            await release.wait()

        controller._run_profile = full_pass
        profile = entry({"intervalSeconds": 3600})
        running = asyncio.create_task(controller.run_profile(profile, None))
        await asyncio.sleep(0)
        await controller.profile_tick(profile, None, None)
        assert writer.published == []
        release.set()
        await running
        await controller.profile_tick(profile, None, None)
        assert writer.published == ["p"]

    asyncio.run(scenario())


def test_the_audit_repairs_reports_the_watch_shows_but_the_cluster_lost_and_those_of_gone_profiles():
    """A relist after a watch gap reports no deletion: the audit compares the watched reports
    with a listing, marks the lost ones suspect and evaluates their targets again; a report whose
    profile no longer exists is deleted; one created after the listing was served is left alone."""
    import asyncio
    from datetime import UTC, datetime

    from kaico.state import Results
    from kaico.workloads.controller import Controller
    from kaico.workloads.indexes import Indexes, StoredReport

    def stored(name: str, profile: str, version: str) -> StoredReport:
        return StoredReport.from_body({
            "metadata": {"namespace": "ns", "name": name, "resourceVersion": version},
            "spec": {"profile": profile, "targetRef": {"kind": "Deployment", "name": name}},
        })

    watched = [stored("kept", "p", "5"), stored("lost", "p", "6"), stored("newer", "p", "50"),
               stored("orphan", "gone", "7")]

    class Writer:
        def __init__(self):
            self.suspects, self.deleted, self.listed = [], [], None

        async def list_reports(self, namespaces):
            self.listed = namespaces
            return {("ns", "kept"): "5", ("ns", "orphan"): "7"}, "40"

        def suspect(self, namespace, name):
            self.suspects.append(name)

        async def delete(self, namespace, name):
            self.deleted.append(name)

    async def scenario():
        writer = Writer()
        controller = Controller(writer, Results(), None, None, lambda: datetime.now(UTC))
        scheduled = []
        controller.schedule = lambda indexes, keys=(), everything=False: scheduled.extend(keys)
        indexes = Indexes({}, {}, {"p": [entry({})]}, {}, {r.key: r for r in watched}, {})
        found = await controller.audit_reports(False, indexes)
        return writer, scheduled, found

    writer, scheduled, found = asyncio.run(scenario())
    assert writer.listed == ["ns"]  # namespaced: only where the watch shows reports
    assert found == 1 and writer.suspects == ["lost"] and scheduled == [("Deployment", "ns", "lost")]
    assert writer.deleted == ["orphan"]
