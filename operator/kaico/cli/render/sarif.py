"""SARIF 2.1.0 (``kaico check -o sarif``) for code scanning: one rule per catalogue check, one
result per finding that needs action (fail, warn, error), located at the file and line of the
object's YAML document.

Waived findings are kept as results with an external suppression (code scanning shows them as
dismissed), passes and skips are left out. A finding of a custom (CEL) check has no catalogue
rule, so its rule is described from the finding alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import Any

from conformance.catalogue import catalogue
from conformance.engine import Evaluation
from conformance.findings import Finding, Result, Severity
from conformance.registry import PROJECT_URL, CheckSpec
from kaico.cli.render import jsonout

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# Where each object came from: the loader's "path#document" source -> (path, line).
Locations = Mapping[str, tuple[str, int | None]]

_ACTIONABLE = (Result.FAIL, Result.WARN, Result.ERROR)


def _level(finding: Finding) -> str:
    if finding.result is Result.WARN:
        return "warning"
    if finding.severity in (Severity.CRITICAL, Severity.HIGH) or finding.result is Result.ERROR:
        return "error"
    return "warning" if finding.severity is Severity.MEDIUM else "note"


def _default_level(spec: CheckSpec) -> str:
    if spec.severity in (Severity.CRITICAL, Severity.HIGH):
        return "error"
    return "warning" if spec.severity is Severity.MEDIUM else "note"


def _rule(spec: CheckSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "name": "".join(part.capitalize() for part in spec.id.split("-")),
        "shortDescription": {"text": spec.title},
        "fullDescription": {"text": spec.rationale},
        "help": {"text": spec.remediation,
                 "markdown": f"{spec.remediation}\n\n[Documentation]({spec.docs_url})"},
        "helpUri": spec.docs_url,
        "defaultConfiguration": {"level": _default_level(spec)},
        "properties": {
            "category": spec.category.value,
            "tags": ["kubernetes", "ai-conformance", spec.category.value],
            **({"requirement": spec.requirement} if spec.requirement else {}),
        },
    }


def _custom_rule(finding: Finding) -> dict[str, Any]:
    return {"id": finding.check, "shortDescription": {"text": f"custom check {finding.check}"},
            "defaultConfiguration": {"level": _level(finding)},
            "properties": {"category": finding.category}}


def render_sarif(evaluation: Evaluation, locations: Locations | None = None) -> str:
    locations = locations or {}
    specs = catalogue()
    rules = [_rule(spec) for spec in specs.values()]
    index = {spec.id: i for i, spec in enumerate(specs.values())}
    results: list[dict[str, Any]] = []
    for report in evaluation.reports:
        path, line = locations.get(report.source or "", (None, None))
        if path is None and report.source:
            path = report.source.partition("#")[0] or None
        logical = {"kind": "resource", "fullyQualifiedName": report.target.display,
                   "name": report.target.name}
        for finding in report.results:
            if finding.result not in _ACTIONABLE:
                continue
            if finding.check not in index:
                index[finding.check] = len(rules)
                rules.append(_custom_rule(finding))
            location: dict[str, Any] = {"logicalLocations": [logical]}
            if path and path not in ("-", "<stdin>"):
                physical: dict[str, Any] = {"artifactLocation": {"uri": path}}
                if line:
                    physical["region"] = {"startLine": line}
                location["physicalLocation"] = physical
            result: dict[str, Any] = {
                "ruleId": finding.check,
                "ruleIndex": index[finding.check],
                "level": _level(finding),
                "message": {"text": f"{report.target.display} (profile {report.profile}): "
                                    f"{finding.message}"},
                "locations": [location],
                "partialFingerprints": {
                    "kaico/v1": f"{report.target.kind}/{report.target.namespace or ''}/"
                                f"{report.target.name}/{report.profile}/{finding.check}"},
                "properties": {"severity": finding.severity.value, "result": finding.result.value,
                               "profile": report.profile},
            }
            if finding.waived:
                result["suppressions"] = [{
                    "kind": "external", "status": "accepted",
                    "justification": (finding.properties or {}).get("waiverReason", "waived by the profile"),
                }]
            results.append(result)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "kaico", "version": _version(),
                                "informationUri": PROJECT_URL, "rules": rules}},
            "results": results,
            "properties": {"mode": evaluation.mode.value},
            "invocations": [{"executionSuccessful": True,
                             "toolExecutionNotifications": [
                                 {"level": "warning", "message": {"text": w}}
                                 for w in evaluation.warnings]}],
        }],
    }
    return jsonout.dumps(log) + "\n"


def _version() -> str:
    try:
        return metadata.version("kaico")
    except metadata.PackageNotFoundError:
        return "0.0.0"
