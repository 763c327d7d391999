"""One copy of the equal parts of the extracted workloads.

The operator keeps one ``ServingWorkload`` per target for as long as the target exists (5,000 at
5,000 targets, about 2.8 KiB each). Most of it is the same from target to target: the replicas of
a model share their containers (image, requests and limits, ports, probes) and tolerations. The
workload is a frozen value (``conformance.workload``), so targets may share equal parts:
``WorkloadSharing.share`` rebuilds a workload's pod templates from one canonical copy of each
equal container and toleration. The ``ServingWorkload`` itself stays a new object per event (the
controller's skip-if-evaluated test compares workloads by identity), and so does each
``PodTemplate`` (its labels name the target).

The canonical copies are held weakly: one that no workload uses any more goes away.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

from conformance.workload import PodTemplate, ServingWorkload

_FIELDS: dict[type, tuple[str, ...]] = {}


def _key(value: Any) -> Any:
    """A hashable key for a frozen dataclass whose fields are hashable or dicts of hashables;
    equal keys mean equal values (a dict's items in their order: an equal dict in another order
    is only not shared)."""
    names = _FIELDS.get(type(value))
    if names is None:
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    parts = []
    for name in names:
        part = getattr(value, name)
        parts.append(tuple(part.items()) if isinstance(part, dict) else part)
    key = (type(value), *parts)
    hash(key)  # TypeError: something unhashable, not shared
    return key


class WorkloadSharing:
    def __init__(self) -> None:
        self._canonical: weakref.WeakValueDictionary[Any, Any] = weakref.WeakValueDictionary()

    def _one(self, value: Any) -> Any:
        try:
            key = _key(value)
        except TypeError:
            return value
        found = self._canonical.get(key)
        if found is not None:
            return found
        self._canonical[key] = value
        return value

    def _template(self, template: PodTemplate) -> PodTemplate:
        containers = tuple(self._one(c) for c in template.containers)
        init_containers = tuple(self._one(c) for c in template.init_containers)
        tolerations = tuple(self._one(t) for t in template.tolerations)
        return dataclasses.replace(template, containers=containers, init_containers=init_containers,
                                   tolerations=tolerations)

    def share(self, workload: ServingWorkload) -> ServingWorkload:
        """``workload`` with its containers and tolerations replaced by their canonical copies."""
        if not workload.pod_templates:
            return workload
        return dataclasses.replace(workload, pod_templates=tuple(self._template(t) for t in workload.pod_templates))

    def __len__(self) -> int:
        return len(self._canonical)

