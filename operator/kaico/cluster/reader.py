"""Reading a live cluster into a ``ClusterInventory`` for the cluster conformance requirements.

Read-only: discovery, a handful of cluster-wide lists (reduced to facts at once by the shared
``conformance.cluster.inventory`` extractors), the well-known ConfigMaps by name, and exporter
scrapes. Scrapes go only where the user points (``--metrics-endpoint``) or through the API
server's service proxy, so kaico never opens connections to pod IPs itself.

The gatherer is async over a small ``ApiReader``; ``ClientReader`` is the one over kaico's
``KubeClient`` that the CLI and the operator both use (a test may pass another). A read that
fails with 401/403/5xx (after the client's retries) leaves its class of facts unknown and
records why, so the requirements that need it say ``Unknown``.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.cluster.inventory import (
    WATCHED_CONFIG_MAPS,
    ClusterInventory,
    InventoryClass,
    MetricsScrape,
    api_service_from_body,
    config_map_from_body,
    crd_from_body,
    gateway_class_from_body,
    node_from_body,
    resource_slice_from_body,
    runtime_class_from_body,
    service_from_body,
    webhooks_from_body,
    workload_from_body,
)
from conformance.cluster.requirements import looks_like_accelerator_exporter
from kaico.kube.client import ApiError, KubeClient
from kaico.kube.config import Credentials
from kaico.kube.discovery import served_api_resources

# Exporter pages of a big GPU node are ~100 KiB; anything far beyond is not an exporter page.
MAX_SCRAPE_BYTES = 8 * 1024 * 1024
PAGE_SIZE = 500


class ReadError(Exception):
    """A read the API answered with an error (``status``), or could not answer (status 0)."""

    def __init__(self, path: str, status: int, message: str):
        self.path = path
        self.status = status
        super().__init__(f"GET {path}: {status or 'no answer'}: {message}")


class ApiReader(Protocol):
    async def get_json(self, path: str, *, accept: str | None = None) -> dict[str, Any]:
        """GET ``path`` (with its query string) on the API server; raise ``ReadError``."""

    async def get_text(self, path: str) -> str:
        """GET a non-JSON document (a service-proxied /metrics page); raise ``ReadError``."""


class ClientReader:
    """An ``ApiReader`` over kaico's ``KubeClient`` (the CLI's, or the operator's: then the
    cluster reads carry the same credentials as every other request)."""

    def __init__(self, client: KubeClient):
        self._client = client

    async def _get(self, path: str, accept: str, limit: int | None = None) -> str:
        try:
            status, text = await self._client.send("GET", path, accept=accept, limit=limit)
        except ApiError as error:  # no answer after the client's retries
            raise ReadError(path, 0, error.message) from None
        if status >= 300:
            raise ReadError(path, status, _message(text.encode()))
        return text

    async def get_json(self, path: str, *, accept: str | None = None) -> dict[str, Any]:
        text = await self._get(path, accept or "application/json")
        try:
            parsed = json.loads(text or "{}")
        except ValueError:
            raise ReadError(path, 0, "not JSON") from None
        return parsed if isinstance(parsed, dict) else {}

    async def get_text(self, path: str) -> str:
        return (await self._get(path, "text/plain,*/*", MAX_SCRAPE_BYTES))[:MAX_SCRAPE_BYTES]


def _message(data: bytes | None) -> str:
    try:
        return str(json.loads(data or b"{}").get("message", ""))[:300]
    except (ValueError, AttributeError):
        return (data or b"")[:300].decode(errors="replace")


@dataclass(frozen=True)
class GatherOptions:
    # Full URLs the user vouches for ("http://127.0.0.1:9400/metrics").
    metrics_endpoints: tuple[str, ...] = ()
    # "namespace/name:port" Services scraped through the API server's service proxy.
    metrics_services: tuple[str, ...] = ()
    # Also scrape, through the service proxy, Services labelled as accelerator exporters
    # (``looks_like_accelerator_exporter``). The CLI does by default (the user's own rights);
    # the operator only with --discover-exporters (it needs services/proxy everywhere then).
    scrape_discovered: bool = True
    scrape_timeout: float = 5.0


@dataclass
class _Collector:
    known: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    async def read(self, inventory_class: InventoryClass, reading: Callable[[], Any]) -> Any:
        """Run one class's reads; on failure leave the class unknown and say why."""
        try:
            result = await reading()
        except ReadError as error:
            self.problems.append(f"{inventory_class.value} not read: {error}")
            return None
        self.known.add(inventory_class.value)
        return result


async def list_all(reader: ApiReader, path: str) -> list[dict[str, Any]]:
    """Every item of a list, page by page (``limit``/``continue``)."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        query = f"limit={PAGE_SIZE}" + (f"&continue={urllib.parse.quote(token)}" if token else "")
        page = await reader.get_json(f"{path}?{query}")
        items.extend(i for i in page.get("items") or [] if isinstance(i, dict))
        token = str((page.get("metadata") or {}).get("continue") or "")
        if not token:
            return items


def _with_kind(items: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    # List responses omit each item's kind; the extractors branch on it.
    return [{**item, "kind": kind} for item in items]


async def read_discovery(reader: ApiReader) -> dict[str, frozenset[str]]:
    """Served group/versions and resources (``kaico.kube.discovery``, shared with the operator)."""
    return await served_api_resources(reader, (ReadError,))


def _preferred(api_resources: dict[str, frozenset[str]], group: str, resource: str,
               versions: tuple[str, ...]) -> str | None:
    return next((f"{group}/{v}" for v in versions if resource in api_resources.get(f"{group}/{v}", ())), None)


async def _list_if_served(reader: ApiReader, api_resources: dict[str, frozenset[str]],
                          group: str, resource: str, versions: tuple[str, ...]) -> list[dict[str, Any]]:
    """Items of a resource at its best served version; none when the API is not served (which
    is a fact: there are no such objects)."""
    group_version = _preferred(api_resources, group, resource, versions)
    if group_version is None:
        return []
    return await list_all(reader, f"/apis/{group_version}/{resource}")


def _fetch_url(url: str, timeout: float) -> str:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ReadError(url, 0, "only http(s) metrics endpoints are read")
    request = urllib.request.Request(url, headers={"Accept": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - user-given URL
            return response.read(MAX_SCRAPE_BYTES).decode(errors="replace")
    except urllib.error.HTTPError as error:
        raise ReadError(url, error.code, str(error.reason)) from None
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise ReadError(url, 0, str(getattr(error, "reason", error))) from None


def service_proxy_path(reference: str) -> tuple[str, str]:
    """("service ns/name:port", API path) for "ns/name:port"; ValueError when malformed."""
    namespace, _, rest = reference.partition("/")
    name, _, port = rest.partition(":")
    if not namespace or not name:
        raise ValueError(f"{reference!r}: expected namespace/name:port")
    target = f"{name}:{port}" if port else name
    return f"service {namespace}/{target}", f"/api/v1/namespaces/{namespace}/services/{target}/proxy/metrics"


async def scrape(reader: ApiReader, options: GatherOptions, services: Iterable[Any]) -> list[MetricsScrape]:
    scrapes: list[MetricsScrape] = []
    for url in options.metrics_endpoints:
        try:
            text = await asyncio.to_thread(_fetch_url, url, options.scrape_timeout)
            scrapes.append(MetricsScrape(url, text=text))
        except ReadError as error:
            scrapes.append(MetricsScrape(url, error=str(error)))
    references = list(options.metrics_services)
    if options.scrape_discovered:
        for service in services:
            if looks_like_accelerator_exporter(service):
                port = next((p for _, p in service.ports if p == 9400), None) or (
                    service.ports[0][1] if service.ports else 9400)
                reference = f"{service.namespace}/{service.name}:{port}"
                if reference not in references:
                    references.append(reference)
    for reference in references:
        try:
            source, path = service_proxy_path(reference)
        except ValueError as error:
            scrapes.append(MetricsScrape(reference, error=str(error)))
            continue
        try:
            scrapes.append(MetricsScrape(source, text=await reader.get_text(path)))
        except ReadError as error:
            scrapes.append(MetricsScrape(source, error=str(error)))
    return scrapes


async def gather_inventory(reader: ApiReader, options: GatherOptions | None = None) -> ClusterInventory:
    """Read the cluster into an inventory. Raises ``ReadError`` only when the API server
    cannot be reached at all (``/version``); partial failures become unknown classes."""
    options = options or GatherOptions()
    version = await reader.get_json("/version")
    collector = _Collector()
    api_resources = await collector.read(InventoryClass.DISCOVERY, lambda: read_discovery(reader)) or {}

    async def crds() -> Any:
        items = await list_all(reader, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        return tuple(crd_from_body(i) for i in items)

    async def api_services() -> Any:
        items = await list_all(reader, "/apis/apiregistration.k8s.io/v1/apiservices")
        return tuple(api_service_from_body(i) for i in items)

    async def gateway_classes() -> Any:
        items = await _list_if_served(reader, api_resources, "gateway.networking.k8s.io",
                                      "gatewayclasses", ("v1", "v1beta1"))
        return tuple(gateway_class_from_body(i) for i in items)

    async def workloads() -> Any:
        found = []
        for kind, resource in (("Deployment", "deployments"), ("DaemonSet", "daemonsets"),
                               ("StatefulSet", "statefulsets")):
            items = await list_all(reader, f"/apis/apps/v1/{resource}")
            found.extend(workload_from_body(i) for i in _with_kind(items, kind))
        return tuple(found)

    async def services() -> Any:
        return tuple(service_from_body(i) for i in await list_all(reader, "/api/v1/services"))

    async def config_maps() -> Any:
        found = []
        for namespace, name in WATCHED_CONFIG_MAPS:
            try:
                body = await reader.get_json(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
            except ReadError as error:
                if error.status == 404:
                    continue
                raise
            found.append(config_map_from_body(body))
        return tuple(found)

    async def runtime_classes() -> Any:
        items = await list_all(reader, "/apis/node.k8s.io/v1/runtimeclasses")
        return tuple(runtime_class_from_body(i) for i in items)

    async def nodes() -> Any:
        return tuple(node_from_body(i) for i in await list_all(reader, "/api/v1/nodes"))

    dra_versions = ("v1", "v1beta2", "v1beta1")

    async def device_classes() -> Any:
        items = await _list_if_served(reader, api_resources, "resource.k8s.io", "deviceclasses", dra_versions)
        return frozenset(str((i.get("metadata") or {}).get("name", "")) for i in items)

    async def resource_slices() -> Any:
        items = await _list_if_served(reader, api_resources, "resource.k8s.io", "resourceslices", dra_versions)
        return tuple(resource_slice_from_body(i) for i in items)

    async def webhooks() -> Any:
        found = []
        for kind, resource in (("ValidatingWebhookConfiguration", "validatingwebhookconfigurations"),
                               ("MutatingWebhookConfiguration", "mutatingwebhookconfigurations")):
            items = await list_all(reader, f"/apis/admissionregistration.k8s.io/v1/{resource}")
            for item in _with_kind(items, kind):
                found.extend(webhooks_from_body(item))
        return tuple(found)

    # Classes that depend on discovery (which versions to list) only count as known when
    # discovery itself was read.
    needs_discovery = {InventoryClass.GATEWAY_CLASSES, InventoryClass.DEVICE_CLASSES,
                       InventoryClass.RESOURCE_SLICES}
    readings = {
        InventoryClass.CRDS: crds, InventoryClass.API_SERVICES: api_services,
        InventoryClass.GATEWAY_CLASSES: gateway_classes, InventoryClass.WORKLOADS: workloads,
        InventoryClass.SERVICES: services, InventoryClass.CONFIG_MAPS: config_maps,
        InventoryClass.RUNTIME_CLASSES: runtime_classes, InventoryClass.NODES: nodes,
        InventoryClass.DEVICE_CLASSES: device_classes, InventoryClass.RESOURCE_SLICES: resource_slices,
        InventoryClass.WEBHOOKS: webhooks,
    }
    facts: dict[InventoryClass, Any] = {}
    for inventory_class, reading in readings.items():
        if inventory_class in needs_discovery and InventoryClass.DISCOVERY.value not in collector.known:
            continue
        facts[inventory_class] = await collector.read(inventory_class, reading)

    scrapes = await scrape(reader, options, facts.get(InventoryClass.SERVICES) or ())
    return ClusterInventory(
        known=frozenset(collector.known),
        server_version=str(version.get("gitVersion") or "") or None,
        api_resources=api_resources,
        crds=facts.get(InventoryClass.CRDS) or (),
        api_services=facts.get(InventoryClass.API_SERVICES) or (),
        gateway_classes=facts.get(InventoryClass.GATEWAY_CLASSES) or (),
        workloads=facts.get(InventoryClass.WORKLOADS) or (),
        services=facts.get(InventoryClass.SERVICES) or (),
        config_maps=facts.get(InventoryClass.CONFIG_MAPS) or (),
        runtime_classes=facts.get(InventoryClass.RUNTIME_CLASSES) or (),
        nodes=facts.get(InventoryClass.NODES) or (),
        device_classes=facts.get(InventoryClass.DEVICE_CLASSES) or frozenset(),
        resource_slices=facts.get(InventoryClass.RESOURCE_SLICES) or (),
        webhooks=facts.get(InventoryClass.WEBHOOKS) or (),
        metrics_scrapes=tuple(scrapes),
        problems=tuple(collector.problems),
    )


def gather_inventory_sync(credentials: Credentials, options: GatherOptions | None = None) -> ClusterInventory:
    """``gather_inventory`` for synchronous callers, over a client of its own."""

    async def gather() -> ClusterInventory:
        async with KubeClient(credentials) as client:
            return await gather_inventory(ClientReader(client), options)

    return asyncio.run(gather())
