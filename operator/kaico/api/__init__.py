"""kaico's own API, ``kaico.dev/v1alpha1``: the CRD models (``models``) and the conventions every
object kaico writes follows (``conventions``)."""

# Plain constants, so that `kaico.api.policyreport` and the like do not import the models
# (pydantic) with the package.
GROUP = "kaico.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "kaico"

__all__ = ["API_VERSION", "CATEGORY", "GROUP", "VERSION"]
