"""Lognormal component: a Gaussian regression of ``log y``, with the density of ``y``.

``fmm(2, "y ~ x", data=df, family="lognormal")`` and
``fmm(2, "np.log(y) ~ x", data=df, family="gaussian")`` (Stata
``fmm 2: regress lny x``) give the same estimates, standard errors and
posteriors; their log likelihoods differ by the Jacobian ``sum_i w_i log y_i``
(the lognormal one is the likelihood of ``y``, comparable with ``gamma`` or
``glm`` classes on the same ``y`` by AIC/BIC). The lognormal family's fitted
mean is ``E[y] = exp(x'b + sigma^2/2)`` rather than the mean of ``log y``.
"""

from __future__ import annotations

import numpy as np

from fmmreg.exceptions import FMMError
from fmmreg.families.gaussian import Gaussian
from fmmreg.families.glm import check_single_column


class LogNormal(Gaussian):
    """``log y`` normal with mean ``x'b`` and ancillary ``lnsigma``.

    Notes
    -----
    ``log f(y) = log phi((log y - x'b)/s) - ln s - log y``: the Gaussian log
    density of ``log y`` minus ``log y``, so every index derivative is the
    Gaussian one evaluated at ``log y`` (see :class:`Gaussian`), and the
    weighted M-step is weighted least squares of ``log y``. Shown like Stata's
    ``regress lny ...``: the variance of ``log y`` as ``var(e.lny)``.
    """

    name = "lognormal"
    stata_model = "lognormal (regress on log y)"

    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        check_single_column(y, yname, self.name)
        if np.any(y <= 0):
            raise FMMError(
                f"response {yname!r} has values <= 0 (minimum {float(np.min(y)):g}); "
                f"family {self.name!r} models positive y"
            )
        return y

    def index_derivatives(self, y, eta, anc, order=2):
        ly = np.log(y)
        logf, d1, d2 = super().index_derivatives(ly, eta, anc, order)
        return logf - ly, d1, d2

    def mean_from_index(self, eta, anc):
        return np.exp(eta[:, 0] + 0.5 * np.exp(2.0 * anc[0]))

    def rvs(self, eta, anc, rng, y=None):
        return np.exp(super().rvs(eta, anc, rng, y))

    def ancillary_display(self, term, yname):
        label, f, df = super().ancillary_display(term, yname)
        return f"var(e.ln{yname})", f, df

    def fit_weighted(self, y, X, c, start=None, tol=1e-12, maxiter=200):
        return super().fit_weighted(np.log(y), X, c, start, tol, maxiter)

    def mstep_statsmodels(self, y, X, c, params):
        return super().mstep_statsmodels(np.log(y), X, c, params)
