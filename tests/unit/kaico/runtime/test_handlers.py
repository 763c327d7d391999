"""The safety rule on other people's objects, checked on the real handler registry: only index
and event handlers on kinds kaico does not own, and no timer or daemon at all (a kopf timer
would put a finalizer on every ConformanceProfile, blocking its deletion while kaico is down)."""

from kaico.cli import build_parser
from kaico.kube.resources import FACTS, TARGETS
from kaico.runtime.runner import Operator


def selectors(registry_part) -> set[tuple[str | None, str | None]]:
    return {(s.group, s.plural) for s in registry_part.get_all_selectors()}


def test_no_timer_daemon_or_changing_handler_touches_a_kind_we_do_not_own():
    registry = Operator().registry
    assert selectors(registry._changing) == set()  # on.create/update/resume/field/delete
    assert selectors(registry._spawning) == set()  # no timers or daemons, not even on profiles


def test_every_target_and_fact_kind_is_indexed_and_watched_at_a_pinned_version():
    registry = Operator().registry
    watched = {(s.group, s.version, s.plural) for s in registry._watching.get_all_selectors()}
    indexed = {(s.group, s.version, s.plural) for s in registry._indexing.get_all_selectors()}
    for resource in (*TARGETS, *FACTS):
        assert resource.key in watched and resource.key in indexed


def test_kaico_run_flags():
    args = build_parser().parse_args(["run", "-n", "a", "-n", "b", "--metrics-port", "9000",
                                      "--per-target-metrics", "--peering"])
    assert (args.namespace, args.metrics_port, args.per_target_metrics, args.peering) == (
        ["a", "b"], 9000, True, True)
    defaults = build_parser().parse_args(["run"])
    assert (defaults.namespace, defaults.all_namespaces, defaults.peering, defaults.metrics_address) == (
        [], False, False, "127.0.0.1")


def test_a_profile_event_hands_its_status_and_resource_version_to_the_controller():
    """Through kopf's own Body: the stored status and its resourceVersion are what the writer
    compares with (a hand edit of the status is seen as such)."""
    import asyncio

    import kopf
    from kaico.runtime.handlers import WorkloadHandlers
    from kaico.workloads.indexes import FACTS, NAMESPACES, PROFILES, REPORTS, WAIVERS, WORKLOADS

    seen = []

    class Writer:
        def profile_observed(self, name, version):
            seen.append(("observed", name, version))

    class Controller:
        writer = Writer()

        def remember(self, indexes):
            return indexes

        async def profile_changed(self, entry, status, indexes, version):
            seen.append(("changed", entry.name, status, version))

    body = {"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
            "metadata": {"name": "p", "uid": "u", "generation": 1, "resourceVersion": "42"},
            "spec": {}, "status": {"conformant": 3}}
    from kaico.runtime.handlers import profile_entry

    kwargs = {WORKLOADS: {}, FACTS: {}, PROFILES: {"p": [profile_entry(body)]}, NAMESPACES: {},
              REPORTS: {}, WAIVERS: {}}
    handlers = WorkloadHandlers(Controller(), None)
    asyncio.run(handlers.on_profile(event={"type": "MODIFIED"}, body=kopf.Body(body), **kwargs))
    assert seen == [("observed", "p", "42"), ("changed", "p", {"conformant": 3}, "42")]
