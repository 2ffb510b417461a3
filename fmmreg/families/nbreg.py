"""Negative binomial components: NB2 (Stata ``nbreg``) and NB1 (``nbreg, dispersion(constant)``)."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln, polygamma

from fmmreg.families.base import ComponentFamily
from fmmreg.families.glm import check_nonnegative, check_single_column, poisson


def _count_check(family: ComponentFamily, y: np.ndarray, yname: str) -> np.ndarray:
    y = ComponentFamily.check_endog(family, y, yname)
    check_single_column(y, yname, family.name)
    check_nonnegative(y, yname, family.name)
    return y


def _poisson_start(y: np.ndarray, X: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Coefficients of a weighted Poisson fit (a few Newton steps)."""
    return poisson().fit_weighted(y, X, c, maxiter=10)


class NegativeBinomial2(ComponentFamily):
    """Negative binomial with mean dispersion, NB2 (Stata ``nbreg``).

    Notes
    -----
    ``Var y = mu (1 + alpha mu)`` with ``mu = exp(eta)`` and ancillary
    ``a = ln alpha`` (Stata's ``/lnalpha``; ``alpha = exp(lnalpha)``). With
    ``r = 1/alpha``, ``x = eta + a`` (so ``alpha mu = e^x``) and
    ``L = log(1 + alpha mu)``:

    ``log f = lgamma(y + r) - lgamma(r) - lgamma(y + 1) - r L + y (x - L)``

    Index derivatives, with ``p = expit(x) = alpha mu / (1 + alpha mu)`` and
    ``q = 1 - p``:

    - ``d_eta = (y - mu)/(1 + alpha mu) = y q - r p``
    - ``d_eta,eta = -mu (1 + alpha y)/(1 + alpha mu)^2 = -r p q (1 + alpha y)``
    - ``d_a = -r G`` with ``G = psi(y + r) - psi(r) - L + 1 - (1 + alpha y) q``
    - ``d_eta,a = -p d_eta``
    - ``d_a,a = r G + r^2 (psi'(y + r) - psi'(r)) + r - 2 r q + q^2 (r + y)``

    (observed, not expected, second derivatives).
    """

    name = "nbreg"
    stata_model = "nbreg"
    ancillary_names = ("lnalpha",)

    def check_endog(self, y, yname):
        return _count_check(self, y, yname)

    def index_derivatives(self, y, eta, anc, order=2):
        eta = eta[:, 0]
        a = float(anc[0])
        r = np.exp(-a)
        x = eta + a
        L = np.logaddexp(0.0, x)
        logf = gammaln(y + r) - gammaln(r) - gammaln(y + 1.0) - r * L + y * (x - L)
        if order == 0:
            return logf, None, None
        p, q = expit(x), expit(-x)
        ay1 = 1.0 + np.exp(a) * y
        G = digamma(y + r) - digamma(r) - L + 1.0 - ay1 * q
        d1 = np.empty((len(eta), 2))
        d1[:, 0] = y * q - r * p
        d1[:, 1] = -r * G
        if order == 1:
            return logf, d1, None
        d2 = np.empty((len(eta), 2, 2))
        d2[:, 0, 0] = -r * p * q * ay1
        d2[:, 0, 1] = d2[:, 1, 0] = -p * d1[:, 0]
        d2[:, 1, 1] = r * G + r * r * (polygamma(1, y + r) - polygamma(1, r)) + r - 2.0 * r * q + q * q * (r + y)
        return logf, d1, d2

    def mean_from_index(self, eta, anc):
        return np.exp(eta[:, 0])

    def initial_params(self, y, X, c):
        """Poisson coefficients and the moment estimate of ``alpha``."""
        beta = _poisson_start(y, X, c)
        mu = np.exp(X @ beta)
        alpha = float(c @ ((y - mu) ** 2 - mu)) / float(c @ (mu * mu))
        return np.append(beta, np.log(max(alpha, 0.05)))


class NegativeBinomial1(ComponentFamily):
    """Negative binomial with constant dispersion, NB1 (Stata ``nbreg, dispersion(constant)``).

    Notes
    -----
    ``Var y = mu (1 + delta)`` with ``mu = exp(eta)`` and ancillary
    ``d = ln delta`` (Stata's ``/lndelta``). ``y`` is negative binomial with
    size ``m = mu/delta = exp(eta - d)`` and success probability
    ``1/(1 + delta)``:

    ``log f = lgamma(y + m) - lgamma(m) - lgamma(y + 1) - m log(1 + delta) + y (d - log(1 + delta))``

    With ``P = m (psi(y + m) - psi(m))``, ``pd = delta/(1 + delta)`` and
    ``Ld = log(1 + delta)``:

    - ``d_eta = P - m Ld``
    - ``d_eta,eta = P + m^2 (psi'(y + m) - psi'(m)) - m Ld``
    - ``d_d = -d_eta - m pd + y (1 - pd)``
    - ``d_eta,d = -d_eta,eta - m pd``
    - ``d_d,d = -d_eta,d + m pd^2 - y pd (1 - pd)``

    This is ``statsmodels`` ``NegativeBinomialP(p=1)`` with ``alpha = delta``.
    """

    name = "nbreg1"
    stata_model = "nbreg, dispersion(constant)"
    ancillary_names = ("lndelta",)

    def check_endog(self, y, yname):
        return _count_check(self, y, yname)

    def index_derivatives(self, y, eta, anc, order=2):
        eta = eta[:, 0]
        d = float(anc[0])
        m = np.exp(eta - d)
        Ld = np.logaddexp(0.0, d)
        logf = gammaln(y + m) - gammaln(m) - gammaln(y + 1.0) - m * Ld + y * (d - Ld)
        if order == 0:
            return logf, None, None
        pd = expit(d)
        P = m * (digamma(y + m) - digamma(m))
        d1 = np.empty((len(eta), 2))
        d1[:, 0] = P - m * Ld
        d1[:, 1] = -d1[:, 0] - m * pd + y * (1.0 - pd)
        if order == 1:
            return logf, d1, None
        d2 = np.empty((len(eta), 2, 2))
        d2[:, 0, 0] = P + m * m * (polygamma(1, y + m) - polygamma(1, m)) - m * Ld
        d2[:, 0, 1] = d2[:, 1, 0] = -d2[:, 0, 0] - m * pd
        d2[:, 1, 1] = -d2[:, 0, 1] + m * pd * pd - y * pd * (1.0 - pd)
        return logf, d1, d2

    def mean_from_index(self, eta, anc):
        return np.exp(eta[:, 0])

    def initial_params(self, y, X, c):
        """Poisson coefficients and the moment estimate of ``delta``."""
        beta = _poisson_start(y, X, c)
        mu = np.exp(X @ beta)
        delta = float(c @ ((y - mu) ** 2)) / float(c @ mu) - 1.0
        return np.append(beta, np.log(max(delta, 0.05)))
