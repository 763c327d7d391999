"""values.schema.json: a bad value fails `helm install` with a message naming the value."""

from __future__ import annotations

import pytest


@pytest.mark.helm
@pytest.mark.parametrize(
    ("sets", "values", "message"),
    [
        (("operater.watchNamespaces={a}",), None, "additional properties 'operater' not allowed"),
        (("operator.watchNamespaces={Serving}",), None, "/operator/watchNamespaces/0"),
        (("operator.watchNamespaces={ml-*}",), None, "/operator/watchNamespaces/0"),
        ((), {"operator": {"watchNamespaces": ["a", "a"]}}, "/operator/watchNamespaces"),
        (("operator.perTargetMetrics=yes",), None, "/operator/perTargetMetrics"),
        (("metrics.port=0",), None, "/metrics/port"),
        (("metrics.port=70000",), None, "/metrics/port"),
        (("metrics.prometheusRule.nonConformantFor=30",), None, "nonConformantFor"),
        (("metrics.prometheusRule.nonConformantFor=half-an-hour",), None, "nonConformantFor"),
        (("metrics.prometheusRule.errorRateThreshold=-1",), None, "errorRateThreshold"),
        (("image.pullPolicy=Sometimes",), None, "/image/pullPolicy"),
        (("image.digest=latest",), None, "/image/digest"),
        (("metrics.service.type=Headless",), None, "/metrics/service/type"),
        (("tmpSizeLimit=lots",), None, "/tmpSizeLimit"),
        ((), {"tolerations": {"key": "x"}}, "/tolerations"),
        ((), {"resources": {"request": {"cpu": "1"}}}, "additional properties 'request'"),
        ((), {"nodeSelector": {"gpu": True}}, "/nodeSelector/gpu"),
    ],
)
def test_bad_values_are_rejected_with_the_path_of_the_value(render_error, sets, values, message):
    stderr = render_error(*sets, values=values)
    assert "values don't meet the specifications of the schema" in stderr
    assert message in stderr, stderr


@pytest.mark.helm
def test_a_service_monitor_without_the_service_says_why(render_error):
    stderr = render_error("metrics.serviceMonitor.enabled=true", "metrics.service.enabled=false")
    assert "a ServiceMonitor scrapes through the Service" in stderr
