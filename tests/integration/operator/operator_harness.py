"""Helpers for the operator integration tests: ``kaico run`` as a subprocess, polling, and
JSON access through kubectl."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kaico_dev.localcluster import LocalCluster
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float = 30, interval: float = 0.3,
             message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@dataclass
class OperatorProcess:
    """``kaico run`` in a subprocess; ``stop`` sends SIGTERM and waits."""

    args: list[str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> OperatorProcess:
        """Start ``kaico run`` without waiting for it."""
        command = [sys.executable, "-m", "kaico", "run", "--metrics-address", "127.0.0.1",
                   "--metrics-port", str(self.port), *self.args]
        handle = self.log.open("ab")
        self.process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT,
                                        env={**os.environ}, cwd=REPO)
        return self

    def start(self) -> OperatorProcess:
        self.spawn()
        wait_for(self.ready, timeout=60, message=f"kaico run to become ready (log: {self.log})")
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, as a lost node or an OOM kill."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""
        except OSError:
            return 0, ""

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"kaico run exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
        return self.get("/readyz")[0] == 200

    def metrics(self) -> str:
        status, text = self.get("/metrics")
        assert status == 200, status
        return text

    def counter(self, name: str, label: str = "") -> dict[str, float]:
        """A counter's samples summed by one of its labels (no label: the total under "")."""
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(self.metrics()):
            for sample in family.samples:
                if sample.name == name:
                    key = sample.labels.get(label, "") if label else ""
                    found[key] = found.get(key, 0.0) + sample.value
        return found

    def total(self, name: str) -> float:
        return self.counter(name).get("", 0.0)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def assert_alive(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()[-3000:]


class Api:
    """JSON reads and writes through kubectl (the harness's kubeconfig)."""

    def __init__(self, cluster: LocalCluster):
        self.cluster = cluster

    def get(self, *args: str) -> dict[str, Any] | None:
        result = self.cluster.kubectl("get", *args, "-o", "json", check=False)
        if result.returncode != 0:
            if "NotFound" in result.stderr or "not found" in result.stderr:
                return None
            raise AssertionError(result.stderr)
        return json.loads(result.stdout)

    def apply(self, *documents: dict[str, Any]) -> None:
        self.cluster.apply(list(documents))

    def delete(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl("delete", *args, check=False, timeout=60)

    def kubectl(self, *args: str) -> str:
        return self.cluster.kubectl(*args).stdout


def deployment_versions(api: Api, namespace: str) -> dict[str, str] | None:
    """name -> resourceVersion of the namespace's Deployments, or None while the deployment
    controller has not yet seen the latest generation of one of them (its status is still the
    empty one the API server gives a new object, or describes an older spec)."""
    listing = api.get("deployments", "-n", namespace) or {"items": []}
    versions = {}
    for item in listing["items"]:
        metadata, status = item["metadata"], item.get("status") or {}
        if status.get("observedGeneration") != metadata.get("generation"):
            return None
        versions[metadata["name"]] = metadata["resourceVersion"]
    return versions


def wait_steady(api: Api, namespace: str, operator: OperatorProcess | None, quiet: float,
                timeout: float = 300) -> None:
    """Until the namespace holds still: every Deployment's status is its controller's answer to
    its latest spec, and for ``quiet`` seconds no Deployment changed (status included) and kaico
    (``operator``, when one runs) wrote nothing. kaico reports what targets say about themselves
    (``endpoint-ready`` reads a Deployment's status), so while kube-controller-manager still works
    through new Deployments a report changes for a real reason: a window that must see zero
    writes, or only the writes a fault left undone, starts after this."""
    deadline = time.monotonic() + timeout
    last: tuple[Any, float | None] | None = None
    quiet_since = time.monotonic()
    while True:
        now = (deployment_versions(api, namespace),
               operator.total("kaico_writes_total") if operator is not None else None)
        if now[0] is None or now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{namespace} did not hold still for {quiet}s within {timeout}s")
        time.sleep(0.5)
