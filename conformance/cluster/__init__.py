"""Cluster conformance: the CNCF Kubernetes AI Conformance requirements, judged passively on an
inventory of facts read from a cluster (``evaluate_cluster``), plus the PRODUCT.yaml document.

Pure like the rest of ``conformance``: the inventory is gathered elsewhere (``kaico.cluster.reader``
for the CLI, the operator's indexes), and nothing here talks to a cluster.
"""

from conformance.cluster.catalogue import (
    CatalogueError,
    Level,
    Requirement,
    RequirementCatalogue,
    load_catalogue,
    supported_versions,
)
from conformance.cluster.evaluation import (
    ClusterEvaluation,
    Decision,
    ProbeOutcome,
    ProbeResult,
    RequirementResult,
    RequirementStatus,
    StatusTransition,
    WorkloadTally,
    evaluate_cluster,
    status_transitions,
)
from conformance.cluster.inventory import ClusterInventory, InventoryClass

__all__ = [
    "CatalogueError", "ClusterEvaluation", "ClusterInventory", "Decision", "InventoryClass",
    "Level", "ProbeOutcome", "ProbeResult", "Requirement", "RequirementCatalogue",
    "RequirementResult", "RequirementStatus", "StatusTransition", "WorkloadTally",
    "evaluate_cluster", "load_catalogue", "status_transitions", "supported_versions",
]
