"""Renderers, one module per thing rendered: workload evaluations, the catalogue, cluster evaluations."""
