"""Registry of component families.

A string passed as ``family=`` is looked up here; a statsmodels family
instance is wrapped; a :class:`ComponentFamily` instance is used as is.
Adding a family is one module plus one line in ``_REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Callable

import statsmodels.api as sm

from fmmreg.families.base import ComponentFamily
from fmmreg.families.gaussian import Gaussian
from fmmreg.families.glm import GLMFamily, logit, poisson
from fmmreg.families.intreg import IntervalRegression
from fmmreg.families.mlogit import MultinomialLogit
from fmmreg.families.ordinal import ologit, oprobit
from fmmreg.families.pointmass import PointMass
from fmmreg.families.tobit import Tobit
from fmmreg.families.truncreg import TruncatedRegression

_REGISTRY: dict[str, Callable[[], ComponentFamily]] = {
    "gaussian": Gaussian,
    "regress": Gaussian,
    "normal": Gaussian,
    "poisson": poisson,
    "logit": logit,
    "tobit": Tobit,
    "intreg": IntervalRegression,
    "truncreg": TruncatedRegression,
    "ologit": ologit,
    "oprobit": oprobit,
    "mlogit": MultinomialLogit,
    "pointmass": PointMass,
}


def available_families() -> list[str]:
    """Names accepted by ``family=``."""
    return sorted(_REGISTRY)


def get_family(spec) -> ComponentFamily:
    """Turn a family specification into a :class:`ComponentFamily`.

    Parameters
    ----------
    spec : str, ComponentFamily or statsmodels family instance
    """
    if isinstance(spec, ComponentFamily):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key not in _REGISTRY:
            raise ValueError(f"unknown family {spec!r}; choose one of {', '.join(available_families())}")
        return _REGISTRY[key]()
    if isinstance(spec, sm.families.Family):
        if isinstance(spec, sm.families.Gaussian) and isinstance(spec.link, sm.families.links.Identity):
            return Gaussian()
        if isinstance(spec, (sm.families.Poisson, sm.families.Binomial)):
            return GLMFamily(spec)
        raise ValueError(
            f"statsmodels family {type(spec).__name__} with link {type(spec.link).__name__} "
            "is not supported yet; use gaussian (identity), poisson or binomial"
        )
    raise TypeError(f"family must be a name, a statsmodels family or a ComponentFamily, got {type(spec).__name__}")


__all__ = ["ComponentFamily", "GLMFamily", "Gaussian", "available_families", "get_family"]
