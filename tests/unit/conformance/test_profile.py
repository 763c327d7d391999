"""Profiles: parsing with field paths, check selection, waivers and their expiry."""

from datetime import UTC, datetime

import pytest

from conformance.catalogue import catalogue
from conformance.findings import Severity
from conformance.profile import ProfileError, builtin_profile, parse_profile


def profile_document(**spec):
    return {
        "apiVersion": "kaico.dev/v1alpha1",
        "kind": "ConformanceProfile",
        "metadata": {"name": "p"},
        "spec": spec,
    }


def test_the_builtin_default_profile_runs_every_check_at_its_default_severity():
    profile = builtin_profile("default")
    specs = catalogue()
    assert profile.name == "default"
    assert set(profile.severities) == set(specs)
    assert all(profile.severities[i] == specs[i].severity for i in specs)


def test_an_unknown_builtin_profile_is_a_profile_error_naming_the_choices():
    with pytest.raises(ProfileError, match="built-in: default"):
        builtin_profile("nope")


def test_a_severity_override_applies_to_that_check_only():
    profile = parse_profile(profile_document(checks=[{"id": "gpu-limits", "severity": "info"}]))
    assert profile.severities["gpu-limits"] is Severity.INFO
    assert profile.severities["gpu-toleration"] == catalogue()["gpu-toleration"].severity


def test_a_disabled_check_is_not_run():
    profile = parse_profile(profile_document(checks=[{"id": "endpoint-ready", "enabled": False}]))
    assert "endpoint-ready" not in profile.severities


def test_include_all_checks_false_runs_only_the_listed_checks():
    profile = parse_profile(
        profile_document(includeAllChecks=False, checks=[{"id": "gpu-limits"}])
    )
    assert list(profile.severities) == ["gpu-limits"]


def test_an_unknown_check_id_is_reported_with_its_field_path():
    with pytest.raises(ProfileError) as error:
        parse_profile(profile_document(checks=[{"id": "gpu-limits"}, {"id": "gpu-limit"}]))
    assert error.value.problems == ["spec.checks[1].id: unknown check 'gpu-limit'"]


def test_a_bad_severity_is_reported_with_its_field_path():
    with pytest.raises(ProfileError) as error:
        parse_profile(profile_document(checks=[{"id": "gpu-limits", "severity": "urgent"}]))
    assert error.value.problems[0].startswith("spec.checks[0].severity:")


def test_a_bad_parameter_is_reported_with_its_field_path():
    with pytest.raises(ProfileError) as error:
        parse_profile(profile_document(parameters={"startupBudgetSeconds": -5}))
    assert error.value.problems[0].startswith("spec.parameters.startupBudgetSeconds:")


def test_an_unknown_parameter_is_rejected_rather_than_ignored():
    with pytest.raises(ProfileError) as error:
        parse_profile(profile_document(parameters={"startupBudget": 5}))
    assert "spec.parameters.startupBudget" in error.value.problems[0]


def test_a_waiver_without_expires_at_is_rejected():
    with pytest.raises(ProfileError) as error:
        parse_profile(profile_document(waivers=[{"check": "gpu-limits", "reason": "pilot"}]))
    assert error.value.problems == ["spec.waivers[0].expiresAt: Field required"]


def test_a_waiver_reason_longer_than_1024_characters_is_rejected():
    waiver = {"check": "gpu-limits", "reason": "x" * 1025, "expiresAt": "2030-01-01T00:00:00Z"}
    with pytest.raises(ProfileError, match=r"spec.waivers\[0\].reason: String should have at most 1024"):
        parse_profile(profile_document(waivers=[waiver]))
    parse_profile(profile_document(waivers=[{**waiver, "reason": "x" * 1024}]))


def test_a_waiver_for_an_unknown_check_is_rejected():
    with pytest.raises(ProfileError, match=r"spec.waivers\[0\].check: unknown check 'nope'"):
        parse_profile(profile_document(
            waivers=[{"check": "nope", "reason": "x", "expiresAt": "2030-01-01T00:00:00Z"}]
        ))


def test_a_document_of_another_kind_is_not_a_profile():
    document = profile_document()
    document["kind"] = "ConformanceReport"
    with pytest.raises(ProfileError, match="kind"):
        parse_profile(document)


def test_a_non_mapping_is_not_a_profile():
    with pytest.raises(ProfileError, match="must be a mapping"):
        parse_profile(["a", "list"])


def test_waivers_match_kind_namespace_and_name_globs():
    profile = parse_profile(profile_document(waivers=[{
        "check": "gpu-limits", "reason": "r", "expiresAt": "2030-01-01T00:00:00Z",
        "target": {"kind": "Deployment", "namespace": "team-*", "name": "llama-*"},
    }]))
    assert profile.waiver_for("gpu-limits", "Deployment", "team-a", "llama-8b") is not None
    assert profile.waiver_for("gpu-limits", "Deployment", "prod", "llama-8b") is None
    assert profile.waiver_for("gpu-limits", "LeaderWorkerSet", "team-a", "llama-8b") is None
    assert profile.waiver_for("gpu-toleration", "Deployment", "team-a", "llama-8b") is None


def test_a_waiver_expiry_without_timezone_is_read_as_utc():
    profile = parse_profile(profile_document(waivers=[
        {"check": "gpu-limits", "reason": "r", "expiresAt": "2030-01-01T00:00:00"},
    ]))
    assert profile.spec.waivers[0].expires_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_target_selection_by_kind_namespace_and_labels():
    profile = parse_profile(profile_document(targets={
        "kinds": ["Deployment"], "namespaces": ["ml-*"],
        "selector": {"matchLabels": {"tier": "prod"}},
    }))
    assert profile.selects("Deployment", "ml-a", {"tier": "prod"})
    assert not profile.selects("Deployment", "ml-a", {"tier": "dev"})
    assert not profile.selects("Deployment", "web", {"tier": "prod"})
    assert not profile.selects("LeaderWorkerSet", "ml-a", {"tier": "prod"})


def test_the_example_profile_parses(repo_root):
    import yaml

    document = yaml.safe_load((repo_root / "examples/profiles/strict-inference.yaml").read_text())
    profile = parse_profile(document)
    assert profile.severities["endpoint-gateway-route"] is Severity.HIGH
    assert profile.parameters.startup_budget_seconds == 900


# --- selectors and versions: rejected with the field path, never ignored ----------------------


@pytest.mark.parametrize("expression, problem", [
    ({"key": "app", "operator": "in", "values": ["x"]},
     "spec.targets.selector.matchExpressions[0].operator: Input should be 'In', 'NotIn', 'Exists' "
     "or 'DoesNotExist'"),
    ({"key": "app", "operator": "NotExists", "values": ["x"]},
     "spec.targets.selector.matchExpressions[0].operator"),
    ({"key": "app", "operator": "Exists", "values": ["x"]},
     "spec.targets.selector.matchExpressions[0].values: must be empty when operator is Exists or "
     "DoesNotExist"),
    ({"key": "app", "operator": "In"},
     "spec.targets.selector.matchExpressions[0].values: must be non-empty when operator is In or "
     "NotIn"),
    ({"key": "app", "operator": "NotIn", "values": []},
     "spec.targets.selector.matchExpressions[0].values: must be non-empty"),
    ({"operator": "Exists"}, "spec.targets.selector.matchExpressions[0].key"),
])
def test_a_selector_requirement_kubernetes_rejects_is_a_profile_error(expression, problem):
    document = profile_document(targets={"selector": {"matchExpressions": [expression]}})
    with pytest.raises(ProfileError) as raised:
        parse_profile(document)
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems


def test_a_valid_selector_selects_only_what_it_names():
    document = profile_document(targets={"selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["vllm"]},
        {"key": "tier", "operator": "DoesNotExist"},
    ]}})
    profile = parse_profile(document)
    assert profile.selects("Deployment", "d", {"app": "vllm"})
    assert not profile.selects("Deployment", "d", {"app": "other"})
    assert not profile.selects("Deployment", "d", {"app": "vllm", "tier": "x"})


def test_kubernetes_version_must_be_a_minor_with_a_checklist():
    from conformance.cluster.catalogue import supported_versions

    for version in ("banana", "1.20", "v2.0", ""):
        with pytest.raises(ProfileError) as raised:
            parse_profile(profile_document(kubernetesVersion=version))
        [problem] = raised.value.problems
        assert problem.startswith("spec.kubernetesVersion: ")
        assert ", ".join(supported_versions()) in problem
    newest = supported_versions()[-1]
    assert parse_profile(profile_document(kubernetesVersion=f"v{newest}.2")).spec.kubernetes_version


def test_an_unknown_key_with_newlines_is_quoted_in_the_field_path():
    with pytest.raises(ProfileError) as raised:
        parse_profile(profile_document(**{"\n\n    ": None}))
    [problem] = raised.value.problems
    assert problem.startswith("spec.'\\n\\n    ': Extra inputs are not permitted") and "\n" not in problem
