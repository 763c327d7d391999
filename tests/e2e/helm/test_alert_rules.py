"""The PrometheusRule passes `promtool check rules` and fires, or not, as alerts_test.yaml says.

promtool comes from Debian's `prometheus` package (.ci/run installs it). The rules are taken from
`helm template` output, so the test covers what users deploy, not a hand-kept copy.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from chartlib import find

HERE = Path(__file__).resolve().parent


@pytest.fixture
def rules_dir(render, tmp_path: Path) -> Path:
    """rules.yaml (the rendered rule groups) and alerts_test.yaml side by side."""
    rule = find(render("metrics.prometheusRule.enabled=true"), "PrometheusRule")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    shutil.copy(HERE / "alerts_test.yaml", tmp_path / "alerts_test.yaml")
    return tmp_path


def run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.helm
def test_promtool_accepts_the_rules(promtool, rules_dir):
    done = run(promtool, "check", "rules", "rules.yaml", cwd=rules_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


@pytest.mark.helm
def test_each_alert_fires_and_stays_silent_as_specified(promtool, rules_dir):
    done = run(promtool, "test", "rules", "alerts_test.yaml", cwd=rules_dir)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.helm
def test_every_alert_has_a_firing_and_a_silent_case():
    spec = yaml.safe_load((HERE / "alerts_test.yaml").read_text())
    fired: set[str] = set()
    silent: set[str] = set()
    for case in spec["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else silent).add(check["alertname"])
    alerts = {
        "KaicoWorkloadNonConformant",
        "KaicoCriticalCheckFailing",
        "KaicoOperatorDown",
        "KaicoOperatorErrors",
        "KaicoReportRepairs",
        "KaicoWatchDown",
    }
    assert fired == alerts and silent == alerts
