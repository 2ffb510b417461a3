"""Scale-free GLM components built on statsmodels family objects.

Poisson (Stata ``poisson``) and Bernoulli (Stata ``logit``, ``probit``,
``cloglog``) classes. Links and variance functions come from
``statsmodels.genmod.families`` so that a user may pass any statsmodels
family instance whose scale is fixed at one.
"""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
from scipy.special import expit, gammaln

from fmmreg.families.base import ComponentFamily

_L = sm.families.links


class GLMFamily(ComponentFamily):
    """A GLM class with fixed dispersion (Poisson, Bernoulli).

    Parameters
    ----------
    sm_family : statsmodels.genmod.families.Family
        Poisson or Binomial family instance with any link.

    Notes
    -----
    With ``mu = g^{-1}(eta)``, ``m1 = dmu/deta``, ``m2 = d2mu/deta2`` and
    variance function ``V``:
    ``d_eta = (y - mu) m1 / V``,
    ``d_eta,eta = -m1^2/V - (y - mu) V'(mu) m1^2 / V^2 + (y - mu) m2 / V``
    (the observed second derivative; it reduces to ``-V(mu)`` for a
    canonical link).
    """

    ancillary_names = ()

    def __init__(self, sm_family, name: str | None = None, stata_model: str | None = None):
        if not isinstance(sm_family, (sm.families.Poisson, sm.families.Binomial)):
            raise TypeError(
                f"GLMFamily needs a statsmodels Poisson or Binomial family, got {type(sm_family).__name__}"
            )
        self.sm_family = sm_family
        link = type(sm_family.link)
        self._kind = None
        if isinstance(sm_family, sm.families.Poisson) and link is _L.Log:
            self._kind = "poisson_log"
        elif isinstance(sm_family, sm.families.Binomial) and link is _L.Logit:
            self._kind = "bernoulli_logit"
        fam = "poisson" if isinstance(sm_family, sm.families.Poisson) else "bernoulli"
        self.name = name or f"{fam}({link.__name__.lower()})"
        self.stata_model = stata_model or ("poisson" if fam == "poisson" else "glm")

    # ------------------------------------------------------------------ checks
    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        if isinstance(self.sm_family, sm.families.Poisson):
            if np.any(y < 0):
                raise ValueError(
                    f"response {yname!r} has negative values; family {self.name!r} models counts >= 0"
                )
        elif not np.all((y == 0) | (y == 1)):
            raise ValueError(
                f"response {yname!r} must be 0/1 for family {self.name!r}; recode it (e.g. y > 0) first"
            )
        return y

    # ----------------------------------------------------------------- density
    def index_derivatives(self, y, eta, anc, order=2):
        eta = eta[:, 0]
        if self._kind == "poisson_log":
            mu = np.exp(eta)
            logf = y * eta - mu - gammaln(y + 1.0)
            if order == 0:
                return logf, None, None
            d1 = (y - mu)[:, None]
            d2 = None if order == 1 else (-mu)[:, None, None]
            return logf, d1, d2
        if self._kind == "bernoulli_logit":
            logf = y * eta - np.logaddexp(0.0, eta)
            if order == 0:
                return logf, None, None
            mu = expit(eta)
            d1 = (y - mu)[:, None]
            d2 = None if order == 1 else (-mu * (1.0 - mu))[:, None, None]
            return logf, d1, d2
        return self._generic_derivatives(y, eta, order)

    def _generic_derivatives(self, y, eta, order):
        fam = self.sm_family
        link = fam.link
        mu = link.inverse(eta)
        if isinstance(fam, sm.families.Poisson):
            logf = y * np.log(mu) - mu - gammaln(y + 1.0)
        else:
            logf = y * np.log(mu) + (1.0 - y) * np.log1p(-mu)
            logf = np.where((y == 1) & (mu == 1) | (y == 0) & (mu == 0), 0.0, logf)
        if order == 0:
            return logf, None, None
        v = fam.variance(mu)
        m1 = link.inverse_deriv(eta)
        r = y - mu
        d1 = (r * m1 / v)[:, None]
        if order == 1:
            return logf, d1, None
        m2 = link.inverse_deriv2(eta)
        dv = fam.variance.deriv(mu)
        d2 = -m1 * m1 / v - r * dv * m1 * m1 / (v * v) + r * m2 / v
        return logf, d1, d2[:, None, None]

    def mean_from_index(self, eta, anc):
        return self.sm_family.link.inverse(eta[:, 0])

    # ---------------------------------------------------------------- fitting
    def initial_params(self, y, X, c):
        """One IRLS step from ``mu0 = (y + ybar)/2`` (the GLM textbook start)."""
        ybar = float(c @ y) / float(c.sum())
        mu0 = 0.5 * (y + ybar)
        link = self.sm_family.link
        eta0 = link(mu0)
        m1 = link.inverse_deriv(eta0)
        wts = c * m1 * m1 / self.sm_family.variance(mu0)
        z = eta0
        xtx = (X.T * wts) @ X
        return np.linalg.lstsq(xtx, X.T @ (wts * z), rcond=None)[0]

    def mstep_statsmodels(self, y, X, c, params):
        res = sm.GLM(y, X, family=self.sm_family, freq_weights=c).fit(start_params=params, tol=1e-12, maxiter=100)
        return np.asarray(res.params, dtype=float)


def poisson() -> GLMFamily:
    """Poisson regression with log link (Stata ``poisson``)."""
    return GLMFamily(sm.families.Poisson(), name="poisson", stata_model="poisson")


def logit() -> GLMFamily:
    """Bernoulli regression with logit link (Stata ``logit``)."""
    return GLMFamily(sm.families.Binomial(), name="logit", stata_model="logit")
