"""`kaico check` reads ConformanceWaivers from its -f input: honoured under a profile that allows
them, exit 2 with one line for an invalid one."""

import io
import json
from datetime import UTC, datetime, timedelta

from kaico.cli import main
from kaico.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm, namespace: team-a}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.8.0
          resources:
            requests: {nvidia.com/gpu: "2"}
            limits: {nvidia.com/gpu: "1"}
"""

PROFILE = """
apiVersion: kaico.dev/v1alpha1
kind: ConformanceProfile
metadata: {name: self-service}
spec:
  includeAllChecks: false
  checks: [{id: gpu-limits}]
  namespaceWaivers: {allowed: %s, maxDurationDays: 30}
"""


def waiver(days=10, reason="vendor image, TEAM-7"):
    expires = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""
apiVersion: kaico.dev/v1alpha1
kind: ConformanceWaiver
metadata: {{name: vendor-image, namespace: team-a}}
spec:
  checks: [gpu-limits]
  target: {{kind: Deployment, name: llm}}
  reason: "{reason}"
  expiresAt: "{expires}"
"""


def run(tmp_path, allowed, waiver_text):
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE % ("true" if allowed else "false"))
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", "-f", "-", "--profile", str(profile), "-o", "json"],
                stdout=out, stderr=err, stdin=io.StringIO(DEPLOYMENT + "---" + waiver_text))
    return code, out.getvalue(), err.getvalue()


def test_a_waiver_in_the_input_is_honoured_when_the_profile_allows_it(tmp_path):
    code, out, _ = run(tmp_path, True, waiver())
    (result,) = json.loads(out)["reports"][0]["results"]
    assert code == EXIT_OK
    assert result["waived"] is True
    assert result["properties"]["waivedBy"] == "team-a/vendor-image"


def test_a_waiver_in_the_input_is_not_honoured_when_the_profile_forbids_it(tmp_path):
    code, out, _ = run(tmp_path, False, waiver())
    (result,) = json.loads(out)["reports"][0]["results"]
    assert code == EXIT_FAILED
    assert "does not allow namespace waivers" in result["properties"]["waiverNotHonoured"]


def test_a_waiver_beyond_the_maximum_duration_fails_the_check(tmp_path):
    code, out, _ = run(tmp_path, True, waiver(days=45))
    (result,) = json.loads(out)["reports"][0]["results"]
    assert code == EXIT_FAILED
    assert "maxDurationDays 30" in result["properties"]["waiverNotHonoured"]


def test_a_waiver_without_a_reason_exits_2_with_one_line(tmp_path):
    code, out, err = run(tmp_path, True, waiver(reason=""))
    assert code == EXIT_UNUSABLE and out == ""
    assert err.count("\n") == 1 and "spec.reason" in err and "Traceback" not in err


def test_a_waiver_with_a_pasted_log_as_its_reason_exits_2_with_one_line(tmp_path):
    code, out, err = run(tmp_path, True, waiver(reason="line of a log " * 200))
    assert code == EXIT_UNUSABLE and out == ""
    assert err.count("\n") == 1 and "spec.reason" in err and "at most 1024" in err
