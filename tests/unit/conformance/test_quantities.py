"""Quantities are read as the API server reads them; what it cannot represent is an error."""

from fractions import Fraction

import pytest

from conformance.checks.gpu import gpu_limits
from conformance.quantities import QuantityError, parse_quantity


@pytest.mark.parametrize("written, value", [
    ("1", 1), (2, 2), ("500m", Fraction(1, 2)), ("1.5", Fraction(3, 2)), (1.5, Fraction(3, 2)),
    ("1Ki", 1024), ("2Mi", 2 * 2**20), ("1e3", 1000), ("1E3", 1000), ("5e-1", Fraction(1, 2)),
    ("1k", 1000), ("1E", 10**18), (".5", Fraction(1, 2)), ("1.", 1), ("-1", -1), ("+2", 2),
])
def test_kubernetes_quantities_are_read_exactly(written, value):
    assert parse_quantity(written) == value


@pytest.mark.parametrize("written", [
    "1e100", 10**30, 1e100, "9Ei", "1e999999999999", "1" * 5000,
])
def test_a_quantity_kubernetes_cannot_represent_is_an_error(written):
    with pytest.raises(QuantityError, match="Kubernetes can represent|more digits"):
        parse_quantity(written)


@pytest.mark.parametrize("written", [
    "two", "", " 1", "1 ", "0x10", "1_000", "nan", "inf", float("inf"), float("nan"), "1Kb",
    "1e", "1e1.5", True, None, [1], {"a": 1},
])
def test_what_is_not_a_quantity_is_an_error(written):
    with pytest.raises(QuantityError):
        parse_quantity(written)


def _workload_limiting(quantity):
    from conformance.adapters import adapt_object
    from conformance.parameters import Parameters

    body = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "g", "namespace": "d"},
        "spec": {"template": {"spec": {"containers": [{
            "name": "c", "image": "vllm/vllm-openai",
            "resources": {"limits": {"nvidia.com/gpu": quantity}},
        }]}}},
    }
    return adapt_object(body, Parameters())


@pytest.mark.parametrize("quantity, result", [
    ("1e100", "fail"), ("1.5", "fail"), ("500m", "fail"), ("banana", "fail"), ("1Ki", "pass"),
    ("2", "pass"),
])
def test_gpu_limits_judges_the_count_kubernetes_would_store(quantity, result):
    from conformance.facts import ClusterFacts
    from conformance.parameters import Parameters

    outcome = gpu_limits(_workload_limiting(quantity), ClusterFacts(), Parameters())
    assert outcome.result.value == result, outcome.message
