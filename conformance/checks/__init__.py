"""The check catalogue, by category. Importing this package registers every check with
``conformance.registry``; the import order below is the catalogue's order."""

# isort: skip_file
# Registration happens on import, so the order is meaningful: gpu, scaling, endpoints.
from conformance.checks import gpu  # noqa: F401
from conformance.checks import scaling  # noqa: F401
from conformance.checks import endpoints  # noqa: F401
