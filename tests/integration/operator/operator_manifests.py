"""Manifests the operator tests apply: a profile scoped to the test's namespace, a GPU vLLM
Deployment that passes the checks (with its HPA, PDB and Service), and a KServe InferenceService
that fails some (no PodDisruptionBudget)."""

from __future__ import annotations

from typing import Any


def profile(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    """Scoped to one namespace; the gateway-route check is off so a Deployment can pass without
    Gateway API; re-evaluates every 10 s (the minimum) so tests see periodic passes."""
    body = {
        "apiVersion": "kaico.dev/v1alpha1",
        "kind": "ConformanceProfile",
        "metadata": {"name": name},
        "spec": {
            "targets": {"namespaces": [namespace]},
            "checks": [{"id": "endpoint-gateway-route", "enabled": False}],
            "intervalSeconds": 10,
        },
    }
    body["spec"].update(spec)
    return body


def vllm_container(readiness: bool = True) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "vllm",
        "image": "vllm/vllm-openai:v0.11.0",
        "ports": [{"name": "http", "containerPort": 8000}],
        "resources": {
            "limits": {"nvidia.com/gpu": "1", "memory": "48Gi"},
            "requests": {"nvidia.com/gpu": "1", "cpu": "4", "memory": "48Gi"},
        },
        "startupProbe": {"httpGet": {"path": "/v1/models", "port": "http"}, "periodSeconds": 10,
                         "failureThreshold": 90},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10},
    }
    if readiness:
        container["readinessProbe"] = {"httpGet": {"path": "/v1/models", "port": "http"}, "periodSeconds": 5}
    return container


def vllm_deployment(namespace: str, name: str = "llama", readiness: bool = True) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {"nvidia.com/gpu.present": "true"},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "containers": [vllm_container(readiness)],
                },
            },
        },
    }


def vllm_companions(namespace: str, name: str = "llama") -> list[dict[str, Any]]:
    """The HPA on an inference signal, the PDB and the Service a serving Deployment wants."""
    labels = {"app.kubernetes.io/name": name}
    return [
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": 2,
                "maxReplicas": 4,
                "metrics": [{"type": "Pods", "pods": {
                    "metric": {"name": "vllm:num_requests_waiting"},
                    "target": {"type": "AverageValue", "averageValue": "5"}}}],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
    ]


def inference_service(namespace: str, name: str = "qwen", predictor: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace,
                     "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
        "spec": {
            "predictor": predictor if predictor is not None else {
                "minReplicas": 1,
                "maxReplicas": 3,
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "runtime": "kserve-huggingfaceserver",
                    "storageUri": "hf://Qwen/Qwen2.5-7B-Instruct",
                    "resources": {
                        "limits": {"nvidia.com/gpu": "1", "memory": "32Gi"},
                        "requests": {"nvidia.com/gpu": "1", "cpu": "4", "memory": "32Gi"},
                    },
                },
            }
        },
    }


POD_MONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "podmonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "names": {"kind": "PodMonitor", "listKind": "PodMonitorList", "plural": "podmonitors",
                  "singular": "podmonitor"},
        "scope": "Namespaced",
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        }],
    },
}


def pod_monitor(namespace: str, name: str = "llama") -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                 "podMetricsEndpoints": [{"port": "http"}]},
    }
