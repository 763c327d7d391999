"""Results that several checks of one evaluation need, computed once per evaluation.

Checks keep their plain signature ``(workload, facts, params)``; the ones that need the same
derived value (a template's accelerator asks, the node classes it can land on, the workload's
autoscalers) ask ``shared(workload, facts, params)`` for it. The memo belongs to the last
(workload, facts, params) seen on the current thread, compared by identity: all three are
immutable values and the memo holds them, so an identity match is the same evaluation's
inputs. Another evaluation replaces it, so memory stays one evaluation's worth per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from conformance.facts import ClusterFacts
from conformance.parameters import Parameters
from conformance.workload import ServingWorkload

_local = threading.local()


class Shared:
    __slots__ = ("workload", "facts", "params", "_values")

    def __init__(self, workload: ServingWorkload, facts: ClusterFacts, params: Parameters):
        self.workload = workload
        self.facts = facts
        self.params = params
        self._values: dict[Hashable, Any] = {}

    def value(self, key: Hashable, compute: Callable[..., Any], *arguments: Any) -> Any:
        """``compute(*arguments)``, computed the first time ``key`` is asked for. A key that
        depends on a pod template or container uses its ``id``: the memo holds the workload,
        so those objects live as long as the memo."""
        try:
            return self._values[key]
        except KeyError:
            result = self._values[key] = compute(*arguments)
            return result


def shared(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Shared:
    """The memo of the evaluation of ``workload`` against ``facts`` with ``params``."""
    current = getattr(_local, "current", None)
    if (
        current is None
        or current.workload is not workload
        or current.facts is not facts
        or current.params is not params
    ):
        current = _local.current = Shared(workload, facts, params)
    return current
