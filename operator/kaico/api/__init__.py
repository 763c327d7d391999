"""kaico's own API, ``kaico.dev/v1alpha1``: the CRD models (``models``) and the conventions every
object kaico writes follows (``conventions``)."""

from kaico.api.models import API_VERSION, CATEGORY, GROUP, VERSION

__all__ = ["API_VERSION", "CATEGORY", "GROUP", "VERSION"]
