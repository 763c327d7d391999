"""Which gang-scheduling mechanisms a workload declares, from labels, annotations and pod specs.

One reading for every kind (reference §B6): Kueue (queue-name label, or the plain pod-group label
and total-count annotation), Volcano (``schedulerName: volcano``, group/queue keys), KAI
(``schedulerName: kai-scheduler`` or the ``kai.scheduler/queue`` label), the native
``schedulingGroup``, and the scheduler-plugins pod-group label (KubeRay).
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.workload import PodTemplate

KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_POD_GROUP_LABEL = "kueue.x-k8s.io/pod-group-name"
KUEUE_POD_GROUP_COUNT = "kueue.x-k8s.io/pod-group-total-count"
VOLCANO_KEYS = (
    "scheduling.k8s.io/group-name",
    "scheduling.volcano.sh/queue-name",
    "volcano.sh/queue-name",
    "scheduling.volcano.sh/group-name",
)
KAI_QUEUE_LABEL = "kai.scheduler/queue"
SCHEDULER_PLUGINS_LABEL = "scheduling.x-k8s.io/pod-group"

# Stable order, so reports do not change when a manifest lists things differently.
_ORDER = ("kueue", "volcano", "kai", "native", "scheduler-plugins")


def gang_mechanisms(
    object_labels: dict[str, str],
    object_annotations: dict[str, str],
    templates: Iterable[PodTemplate],
    *,
    kueue_queue_is_gang: bool = True,
) -> tuple[str, ...]:
    """The mechanisms found, in a stable order.

    ``kueue_queue_is_gang``: a queue-name label gangs the kinds Kueue admits as one workload
    (LWS groups, RayService, KServe). For a Deployment or StatefulSet Kueue admits pods one by
    one, so only the pod-group label with its total-count annotation counts there.
    """
    found: set[str] = set()
    scopes = [(object_labels, object_annotations, None)]
    scopes += [(t.labels, t.annotations, t) for t in templates]
    for labels, notes, template in scopes:
        keys = set(labels) | set(notes)
        if kueue_queue_is_gang and KUEUE_QUEUE_LABEL in labels:
            found.add("kueue")
        if KUEUE_POD_GROUP_LABEL in labels and KUEUE_POD_GROUP_COUNT in notes:
            found.add("kueue")
        if any(key in keys for key in VOLCANO_KEYS):
            found.add("volcano")
        if KAI_QUEUE_LABEL in labels:
            found.add("kai")
        if SCHEDULER_PLUGINS_LABEL in labels:
            found.add("scheduler-plugins")
        if template is not None:
            if template.scheduler_name == "volcano":
                found.add("volcano")
            if template.scheduler_name == "kai-scheduler":
                found.add("kai")
            if template.scheduling_group:
                found.add("native")
    return tuple(name for name in _ORDER if name in found)
