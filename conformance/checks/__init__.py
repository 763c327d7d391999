"""The checks, one module per category (``gpu``, ``scaling``, ``endpoints``). Each check registers
itself with ``conformance.registry.check``; ``conformance.catalogue`` composes the catalogue."""
