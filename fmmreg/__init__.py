"""fmmreg: finite mixture (latent class) regression, checked against Stata.

>>> from fmmreg import fmm
>>> res = fmm(2, "y ~ x", data=df, family="poisson")   # doctest: +SKIP
>>> print(res.summary())                                # doctest: +SKIP
"""

from fmmreg import datasets
from fmmreg.exceptions import (
    ConvergenceWarning,
    DataWarning,
    DegenerateClassWarning,
    FMMError,
    LocalMaximumWarning,
)
from fmmreg.families import available_families, get_family
from fmmreg.model import FMM, fmm
from fmmreg.postestimation.blrt import blrt
from fmmreg.postestimation.compare import compare, select_k
from fmmreg.results import FMMResults

__all__ = [
    "FMM",
    "FMMError",
    "ConvergenceWarning",
    "DataWarning",
    "DegenerateClassWarning",
    "FMMResults",
    "LocalMaximumWarning",
    "available_families",
    "blrt",
    "compare",
    "datasets",
    "fmm",
    "get_family",
    "select_k",
]
__version__ = "0.1.0"
