"""Gaussian component (Stata ``regress``), identity link, ``lnsigma`` ancillary."""

from __future__ import annotations

import numpy as np

from fmmreg.estimation.linalg import weighted_gram
from fmmreg.families.base import ComponentFamily

_LOG_2PI = float(np.log(2.0 * np.pi))


def _wls(y: np.ndarray, X: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Weighted least squares by the normal equations, with an lstsq fallback."""
    xtx = weighted_gram(X, c)
    xty = X.T @ (c * y)
    try:
        return np.linalg.solve(xtx, xty)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(xtx, xty, rcond=None)[0]


class Gaussian(ComponentFamily):
    """Normal linear regression within a class.

    Notes
    -----
    ``log f = -0.5 log(2 pi) - ln s - r^2 / (2 s^2)`` with ``r = y - x'b`` and
    ``ln s`` the ancillary ``lnsigma``. Index derivatives (``eta = x'b``,
    ``l = ln s``): ``d_eta = r/s^2``, ``d_l = r^2/s^2 - 1``,
    ``d_eta,eta = -1/s^2``, ``d_eta,l = -2r/s^2``, ``d_l,l = -2 r^2/s^2``.
    The weighted M-step is closed form: weighted least squares for ``b`` and
    the ML variance ``s^2 = sum c r^2 / sum c`` (no degrees-of-freedom
    correction, unlike flexmix's default).
    """

    name = "gaussian"
    stata_model = "regress"
    ancillary_names = ("lnsigma",)

    def index_derivatives(self, y, eta, anc, order=2):
        lns = anc[0]
        inv_s2 = np.exp(-2.0 * lns)
        r = y - eta[:, 0]
        r2s = r * r * inv_s2
        logf = -0.5 * _LOG_2PI - lns - 0.5 * r2s
        if order == 0:
            return logf, None, None
        d1 = np.empty((len(y), 2))
        d1[:, 0] = r * inv_s2
        d1[:, 1] = r2s - 1.0
        if order == 1:
            return logf, d1, None
        d2 = np.empty((len(y), 2, 2))
        d2[:, 0, 0] = -inv_s2
        d2[:, 0, 1] = d2[:, 1, 0] = -2.0 * d1[:, 0]
        d2[:, 1, 1] = -2.0 * r2s
        return logf, d1, d2

    def mean_from_index(self, eta, anc):
        return eta[:, 0]

    def rvs(self, eta, anc, rng, y=None):
        return eta[:, 0] + np.exp(anc[0]) * rng.standard_normal(eta.shape[0])

    def ancillary_display(self, term, yname):
        # Stata reports var(e.y) = exp(2 lnsigma), delta-method SE, CI from lnsigma's
        return (f"var(e.{yname})", lambda a: np.exp(2.0 * a), lambda a: 2.0 * np.exp(2.0 * a))

    def initial_params(self, y, X, c):
        return self.fit_weighted(y, X, c)

    def _sigma_ml(self, y, X, c, beta):
        # y is net of the offset here
        r = y - X @ beta
        s2 = float(c @ (r * r)) / float(c.sum())
        # A class that collapses onto a few exact fits has s2 -> 0 and an
        # unbounded likelihood; keep the log finite so the caller can warn.
        return 0.5 * np.log(max(s2, 1e-300))

    def fit_weighted(self, y, X, c, start=None, tol=1e-12, maxiter=200):
        y = self._net_response(y)
        beta = _wls(y, X, c)
        return np.append(beta, self._sigma_ml(y, X, c, beta))

    def mstep(self, y, X, c, params):
        return self.fit_weighted(y, X, c)

    def mstep_statsmodels(self, y, X, c, params):
        import statsmodels.api as sm

        y = self._net_response(y)
        beta = sm.WLS(y, X, weights=c).fit().params
        beta = np.asarray(beta, dtype=float)
        return np.append(beta, self._sigma_ml(y, X, c, beta))
