"""Registry of component families.

A string passed as ``family=`` is looked up here; a statsmodels family
instance is wrapped; a :class:`ComponentFamily` instance is used as is.
Adding a family is one module plus one line in ``_REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Callable

import statsmodels.api as sm

from fmmreg.exceptions import FMMError
from fmmreg.families.base import ComponentFamily
from fmmreg.families.betareg import BetaRegression
from fmmreg.families.gaussian import Gaussian
from fmmreg.families.glm import GLM_FAMILIES, GLMFamily, binomial, cloglog, gamma, glm, logit, poisson, probit
from fmmreg.families.intreg import IntervalRegression
from fmmreg.families.ivregress import IVRegress
from fmmreg.families.lognormal import LogNormal
from fmmreg.families.mlogit import MultinomialLogit
from fmmreg.families.nbreg import NegativeBinomial1, NegativeBinomial2
from fmmreg.families.ordinal import ocloglog, ologit, oprobit
from fmmreg.families.pointmass import PointMass
from fmmreg.families.streg import Streg, exponential, loglogistic, streg, weibull
from fmmreg.families.tobit import Tobit
from fmmreg.families.tpoisson import TruncatedPoisson
from fmmreg.families.truncreg import TruncatedRegression

_REGISTRY: dict[str, Callable[[], ComponentFamily]] = {
    "gaussian": Gaussian,
    "regress": Gaussian,
    "normal": Gaussian,
    "poisson": poisson,
    "logit": logit,
    "probit": probit,
    "cloglog": cloglog,
    "binomial": binomial,
    "glm": glm,
    "gamma": gamma,
    "nbreg": NegativeBinomial2,
    "nbreg1": NegativeBinomial1,
    "tpoisson": TruncatedPoisson,
    "betareg": BetaRegression,
    "lognormal": LogNormal,
    "tobit": Tobit,
    "intreg": IntervalRegression,
    "truncreg": TruncatedRegression,
    "ologit": ologit,
    "oprobit": oprobit,
    "ocloglog": ocloglog,
    "mlogit": MultinomialLogit,
    "pointmass": PointMass,
    "exponential": exponential,
    "weibull": weibull,
    "loglogistic": loglogistic,
    "llogistic": loglogistic,
}


def _negative_binomial(spec) -> ComponentFamily:
    """statsmodels' NegativeBinomial family fixes ``alpha``; a mixture user expects it estimated.

    With the log link it is Stata's ``nbreg`` (NB2), ``alpha`` estimated by ML
    (statsmodels' ``alpha`` is ignored). Other links have no ML version here:
    an error points to ``"nbreg"`` and to ``glm("nbinomial", link=..., alpha=...)``
    for a deliberately fixed ``alpha``.
    """
    if isinstance(spec.link, sm.families.links.Log):
        return NegativeBinomial2()
    raise FMMError(
        f"statsmodels' NegativeBinomial family with the {type(spec.link).__name__} link fixes alpha "
        f"(alpha={spec.alpha:g}) instead of estimating it; use family='nbreg' (log link, alpha estimated "
        "by ML as Stata's nbreg), or fmmreg.families.glm('nbinomial', link=..., alpha=...) to fix alpha on purpose"
    )


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
            raise FMMError(f"unknown family {spec!r}; choose one of {', '.join(available_families())}")
        return _REGISTRY[key]()
    if isinstance(spec, sm.families.Family):
        if isinstance(spec, sm.families.Gaussian) and isinstance(spec.link, sm.families.links.Identity):
            return Gaussian()
        if isinstance(spec, sm.families.NegativeBinomial):
            return _negative_binomial(spec)
        if isinstance(spec, GLM_FAMILIES):
            return GLMFamily(spec)
        raise FMMError(
            f"statsmodels family {type(spec).__name__} has no closed-form likelihood; "
            "use Gaussian, Binomial, Poisson, Gamma, InverseGaussian or NegativeBinomial"
        )
    raise TypeError(f"family must be a name, a statsmodels family or a ComponentFamily, got {type(spec).__name__}")


__all__ = [
    "ComponentFamily",
    "GLMFamily",
    "Gaussian",
    "IVRegress",
    "PointMass",
    "Streg",
    "available_families",
    "get_family",
    "streg",
]
