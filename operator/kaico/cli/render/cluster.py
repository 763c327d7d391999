"""Rendering a cluster evaluation: the 80-column table, JSON/YAML, and the PRODUCT.yaml text."""

from __future__ import annotations

import textwrap
from typing import Any

import yaml

from conformance.cluster.evaluation import ClusterEvaluation, RequirementStatus
from kaico.cli.render import jsonout

WIDTH = 80
_ID_WIDTH = 28
_LEVEL_WIDTH = 7
_STATUS_WIDTH = 21


def render_table(evaluation: ClusterEvaluation, verbose: bool = False) -> str:
    """One line per requirement, then the notes of every requirement not met (of all with
    ``verbose``), wrapped to 80 columns, then the MUST/SHOULD tally."""
    lines = [
        f"Kubernetes AI Conformance v{evaluation.kubernetes_version}"
        + (f" (cluster {evaluation.cluster_version})" if evaluation.cluster_version else ""),
        f"{'REQUIREMENT':<{_ID_WIDTH}}{'LEVEL':<{_LEVEL_WIDTH}}{'STATUS':<{_STATUS_WIDTH}}CATEGORY",
    ]
    for result in evaluation.results:
        lines.append(
            f"{result.id:<{_ID_WIDTH}}{result.level.value:<{_LEVEL_WIDTH}}"
            f"{result.status.value:<{_STATUS_WIDTH}}{result.category}"[:WIDTH]
        )
    detailed = [r for r in evaluation.results if verbose or not r.met
                or r.status is RequirementStatus.NOT_APPLICABLE]
    if detailed:
        lines.append("")
    for result in detailed:
        lines.append(f"{result.id} ({result.status.value}):")
        lines.extend(textwrap.wrap(result.notes, WIDTH, initial_indent="  ",
                                   subsequent_indent="  ", break_on_hyphens=False))
        if verbose:
            for item in result.evidence:
                lines.extend(textwrap.wrap(f"- {item}", WIDTH, initial_indent="    ",
                                           subsequent_indent="      "))
    for warning in evaluation.warnings:
        lines.extend(textwrap.wrap(f"warning: {warning}", WIDTH, subsequent_indent="  "))
    must_met, must_total = evaluation.must
    should_met, should_total = evaluation.should
    lines.append("")
    lines.append(f"MUST {must_met}/{must_total} met, SHOULD {should_met}/{should_total} met")
    return "\n".join(lines) + "\n"


def render_json(evaluation: ClusterEvaluation) -> str:
    return jsonout.dumps(evaluation.to_dict()) + "\n"


def render_yaml(evaluation: ClusterEvaluation) -> str:
    return yaml.safe_dump(evaluation.to_dict(), sort_keys=False, width=100)


def render_product_yaml(document: dict[str, Any], evaluation: ClusterEvaluation) -> str:
    header = (
        f"# Kubernetes AI Conformance v{evaluation.kubernetes_version} checklist, filled in by "
        "`kaico cluster`"
        + (f" on a {evaluation.cluster_version} cluster" if evaluation.cluster_version else "")
        + ".\n# Statuses come from kaico's checks; review every entry, add public evidence URLs,"
        "\n# and fill any [placeholder] metadata before submitting.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)
