"""Rendering evaluations for people and for CI: table, JSON, JUnit XML, PolicyReport YAML.

The JSON shape is stable API (README "JSON output"); the table is for a terminal 80 columns
wide; JUnit is one test suite per target and one test case per check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import yaml

from conformance.engine import Evaluation, Orphan
from conformance.facts import InputMode
from conformance.findings import Finding, Result
from conformance.report import Report, finding_to_dict
from kaico.cli.render import jsonout

WIDTH = 80
_LABEL = {
    Result.PASS: "PASS",
    Result.FAIL: "FAIL",
    Result.WARN: "WARN",
    Result.ERROR: "ERROR",
    Result.SKIP: "SKIP",
}
_SHOWN_BY_DEFAULT = (Result.FAIL, Result.ERROR, Result.WARN)
_MODE_LINE = {
    InputMode.APPLICATION: "input read as the whole application (--partial for a fragment)",
    InputMode.PARTIAL: "input read as a fragment (--partial): absent autoscalers, PDBs, "
    "Services and routes are not judged",
    InputMode.CLUSTER: "input checked against the live cluster's facts (--cluster)",
}


def _wrap(text: str, indent: int) -> list[str]:
    import textwrap  # imported by the formats that use it (json needs neither it nor XML)

    return textwrap.wrap(
        text, WIDTH, initial_indent=" " * indent, subsequent_indent=" " * indent,
        break_on_hyphens=False,
    ) or [" " * indent]


def render_table(evaluation: Evaluation, verbose: bool = False) -> str:
    """One block per workload: a heading with the verdict, then the findings that need
    attention (all of them with ``verbose``), each message wrapped under its check id."""
    lines: list[str] = []
    for report in evaluation.reports:
        verdict = "conformant" if report.conformant else "NOT CONFORMANT"
        heading = report.target.display
        pad = WIDTH - len(heading) - len(verdict)
        lines.append(heading + " " * max(pad, 2) + verdict)
        if report.source:
            lines.append(f"  from {report.source}")
        shown = [
            f for f in report.results
            if verbose or f.result in _SHOWN_BY_DEFAULT
        ]
        for finding in shown:
            mark = _LABEL[finding.result] + (" (waived)" if finding.waived else "")
            lines.append(f"  {mark:<7} {finding.severity.value:<8} {finding.check}")
            lines.extend(_wrap(finding.message, 10))
        counts = ", ".join(f"{n} {r}" for r, n in report.summary.items() if n)
        lines.append(f"  {counts}")
        lines.append("")
    if evaluation.orphans:
        lines.append("Orphan autoscalers")
        for orphan in evaluation.orphans:
            lines.extend(_wrap(orphan.message, 2))
        lines.append("")
    for warning in evaluation.warnings:
        lines.extend(_wrap(f"warning: {warning}", 0))
    conformant = sum(1 for r in evaluation.reports if r.conformant)
    lines.append(
        f"{len(evaluation.reports)} workload(s): {conformant} conformant, "
        f"{len(evaluation.reports) - conformant} not conformant"
        + (f"; {len(evaluation.orphans)} orphan autoscaler(s)" if evaluation.orphans else "")
    )
    lines.append(_MODE_LINE[evaluation.mode])
    return "\n".join(lines) + "\n"


def write_json(evaluation: Evaluation, write: Callable[[str], object],
               reports: Iterable[Report | jsonout.Verbatim] | None = None,
               orphans: Callable[[], Iterable[Orphan]] | None = None) -> None:
    """The JSON document (README "JSON output"), written one report at a time: the same text
    as ``json.dumps(document, indent=2)`` without holding it whole. ``reports``, when given,
    replaces ``evaluation.reports``: reports, and after at least one of them, entries already
    encoded by ``encode_report(..., following=True)`` (in another process). ``orphans``, when
    given, replaces ``evaluation.orphans`` and is called once the reports are written."""

    def fields() -> Iterator[tuple[str, object]]:
        yield "mode", evaluation.mode.value
        yield "reports", None
        yield "orphans", [
            {
                "kind": o.kind, "namespace": o.namespace, "name": o.name,
                "targetKind": o.target_kind, "targetName": o.target_name, "message": o.message,
            }
            for o in (evaluation.orphans if orphans is None else orphans())
        ]
        yield "warnings", list(evaluation.warnings)

    items = (
        r if isinstance(r, jsonout.Verbatim) else r.to_dict(_finding_text)
        for r in (evaluation.reports if reports is None else reports)
    )
    jsonout.write_object(fields(), write, streamed="reports", items=items)


def encode_report(report: Report, following: bool = False) -> str:
    """A report's entry in the JSON document's ``reports`` list as ``write_json`` writes it;
    ``following``: with the separator from the entry before it."""
    return jsonout.encode_item(report.to_dict(_finding_text), following)


# A finding's entry as written in a report's "results" (the report an item of "reports"). The
# engine shares equal findings between reports (10,000 sample files: 100,800 findings, 10,152
# distinct objects), so each is encoded once: by identity, the finding kept with its text so
# its id is not reused. Bounded: the first findings met stay, later ones are encoded each time.
_FINDING_NEWLINE = jsonout.ITEM_NEWLINE + "    "
_FINDINGS_KEPT = 50_000
_finding_texts: dict[int, tuple[Finding, jsonout.Encoded]] = {}


def _finding_text(finding: Finding) -> jsonout.Encoded:
    known = _finding_texts.get(id(finding))
    if known is not None:
        return known[1]
    text = jsonout.Encoded(jsonout.dumps_at(finding_to_dict(finding), _FINDING_NEWLINE))
    if len(_finding_texts) < _FINDINGS_KEPT:
        _finding_texts[id(finding)] = (finding, text)
    return text


def render_json(evaluation: Evaluation) -> str:
    parts: list[str] = []
    write_json(evaluation, parts.append)
    return "".join(parts)


def render_junit(evaluation: Evaluation) -> str:
    from xml.etree import ElementTree

    suites = ElementTree.Element("testsuites", name="kaico")
    for report in evaluation.reports:
        suite = ElementTree.SubElement(
            suites, "testsuite",
            name=report.target.display,
            tests=str(len(report.results)),
            failures=str(report.summary["fail"]),
            errors=str(report.summary["error"]),
            skipped=str(report.summary["skip"]),
        )
        properties = ElementTree.SubElement(suite, "properties")
        ElementTree.SubElement(properties, "property", name="kaico.mode",
                               value=evaluation.mode.value)
        for finding in report.results:
            case = ElementTree.SubElement(
                suite, "testcase", name=finding.check, classname=report.target.display
            )
            detail = f"[{finding.severity.value}] {finding.message}"
            if finding.result is Result.FAIL and not finding.waived:
                ElementTree.SubElement(case, "failure", message=detail, type=finding.severity.value)
            elif finding.result is Result.ERROR and not finding.waived:
                ElementTree.SubElement(case, "error", message=detail, type=finding.severity.value)
            elif finding.result is Result.SKIP:
                ElementTree.SubElement(case, "skipped", message=finding.message)
            else:
                ElementTree.SubElement(case, "system-out").text = detail
    if evaluation.orphans:
        suite = ElementTree.SubElement(
            suites, "testsuite", name="orphan autoscalers",
            tests=str(len(evaluation.orphans)), failures=str(len(evaluation.orphans)),
        )
        for orphan in evaluation.orphans:
            case = ElementTree.SubElement(
                suite, "testcase", name=f"{orphan.kind} {orphan.namespace}/{orphan.name}",
                classname="scaling-target-resolves",
            )
            ElementTree.SubElement(case, "failure", message=orphan.message)
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        suites, encoding="unicode"
    ) + "\n"


def render_policyreport(evaluation: Evaluation) -> str:
    parts: list[str] = []
    write_policyreport(evaluation, parts.append)
    return "".join(parts)


def write_policyreport(evaluation: Evaluation, write: Callable[[str], object]) -> None:
    """One ``wgpolicyk8s.io/v1alpha2`` PolicyReport per target x profile, named like its
    ConformanceReport (so two profiles never collide), as the operator writes them; written
    one document at a time (the text of ``yaml.safe_dump_all`` over all of them)."""
    # Imported here: the operator's API models cost ~50 ms that table and JSON output never need.
    from kaico.api.policyreport import WGPOLICY, policy_report
    from kaico.workloads.status import report_name

    mode = {"kaico.dev/input-mode": evaluation.mode.value}
    separator = ""
    for r in evaluation.reports:
        document = policy_report(report_name(r.target.kind, r.target.name, r.profile,
                                             r.target.api_version.rpartition("/")[0]),
                                 r, WGPOLICY, mode)
        write(separator + yaml.dump(document, Dumper=DUMPER, sort_keys=False, width=1000))
        separator = "---\n"


# libyaml's emitter where PyYAML has it: the pure-Python one took 29 s for the 4,800 reports of
# 10,000 files, libyaml's 4 s. Both write the same text for report-shaped documents (fixed
# keys, any string values; tests/unit/kaico/cli/test_policyreport_output.py); they differ on
# odd keys (an empty key) and a bare top-level scalar, which reports never have.
DUMPER: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
