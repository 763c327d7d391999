"""The operator's assembly: kopf, the handlers feeding both pipelines, metrics and health."""
