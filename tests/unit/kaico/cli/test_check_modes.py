"""`kaico check` reads its input as the whole application unless `--partial` says it is a
fragment; every output records which."""

import io
import json
from pathlib import Path
from xml.etree import ElementTree

import yaml
from kaico.cli import main
from kaico.cli.common import EXIT_FAILED, EXIT_OK

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = ROOT / "examples" / "workloads" / "vllm-deployment.yaml"
NODES = ROOT / "examples" / "cluster" / "gpu-nodes.yaml"


def deployment_alone() -> str:
    """The example's Deployment without its HPA, PDB, Service, HTTPRoute and PodMonitor."""
    (deployment,) = [d for d in yaml.safe_load_all(EXAMPLE.read_text())
                     if d and d["kind"] == "Deployment"]
    return yaml.safe_dump(deployment)


def run(*argv, stdin_text):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stdin=io.StringIO(stdin_text), stderr=err)
    return code, out.getvalue()


def test_the_whole_example_passes_in_both_modes():
    for extra in ((), ("--partial",)):
        code, _ = run("check", "-f", str(EXAMPLE), "--cluster-facts", str(NODES), *extra,
                      stdin_text="")
        assert code == EXIT_OK


def test_a_deployment_without_its_companions_fails_as_an_application_and_passes_as_a_fragment():
    code, out = run("check", "-f", "-", "--cluster-facts", str(NODES), "-o", "json",
                    stdin_text=deployment_alone())
    assert code == EXIT_FAILED
    document = json.loads(out)
    assert document["mode"] == "application"
    failed = {r["check"] for r in document["reports"][0]["results"] if r["result"] == "fail"}
    assert {"scaling-autoscaler", "scaling-disruption-budget", "endpoint-service"} <= failed

    code, out = run("check", "-f", "-", "--cluster-facts", str(NODES), "-o", "json", "--partial",
                    stdin_text=deployment_alone())
    assert code == EXIT_OK
    assert json.loads(out)["mode"] == "partial"


def test_junit_policyreport_and_table_record_the_mode():
    _, out = run("check", "-f", "-", "-o", "junit", "--partial", stdin_text=deployment_alone())
    suite = ElementTree.fromstring(out).find("testsuite")
    (prop,) = suite.find("properties").findall("property")
    assert (prop.get("name"), prop.get("value")) == ("kaico.mode", "partial")

    _, out = run("check", "-f", "-", "-o", "policyreport", stdin_text=deployment_alone())
    (report,) = yaml.safe_load_all(out)
    assert report["metadata"]["annotations"]["kaico.dev/input-mode"] == "application"

    _, out = run("check", "-f", "-", stdin_text=deployment_alone())
    assert out.rstrip().endswith("input read as the whole application (--partial for a fragment)")
