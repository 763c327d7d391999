"""Development tools, not part of the product (not in the wheel or the image): the local control
plane (``localcluster``), ``make demo`` (``demo``) and the CRD generator (``crdgen``)."""
