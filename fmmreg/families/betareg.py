"""Beta regression component (Stata ``betareg``): logit mean, log precision."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln, logit, polygamma

from fmmreg.exceptions import FMMError
from fmmreg.families.base import ComponentFamily
from fmmreg.families.glm import check_single_column


class BetaRegression(ComponentFamily):
    """Beta-distributed proportions in the open interval (0, 1).

    Notes
    -----
    Mean ``mu = expit(eta)``, precision ``phi = exp(l)`` with ``l`` the
    ancillary ``lnphi`` (Stata ``betareg``'s default logit/log links):
    ``y ~ Beta(p, q)``, ``p = mu phi``, ``q = (1 - mu) phi``,
    ``Var y = mu (1 - mu) / (1 + phi)``.

    ``log f = lgamma(phi) - lgamma(p) - lgamma(q) + (p - 1) log y + (q - 1) log(1 - y)``

    With ``y* = logit(y)``, ``mu* = psi(p) - psi(q)``, ``m1 = mu (1 - mu)``,
    ``t_p = psi'(p)``, ``t_q = psi'(q)``:

    - ``d_eta = phi m1 (y* - mu*)``
    - ``d_eta,eta = phi m1 (1 - 2 mu) (y* - mu*) - phi^2 m1^2 (t_p + t_q)``
    - ``d_l = phi [mu (y* - mu*) + log(1 - y) - psi(q) + psi(phi)]``
    - ``d_eta,l = d_eta - phi^2 m1 (mu t_p - (1 - mu) t_q)``
    - ``d_l,l = d_l + phi^2 [psi'(phi) - mu^2 t_p - (1 - mu)^2 t_q]``
    """

    name = "betareg"
    stata_model = "betareg"
    ancillary_names = ("lnphi",)

    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        check_single_column(y, yname, self.name)
        if np.any((y <= 0) | (y >= 1)):
            raise FMMError(
                f"response {yname!r} has values outside the open interval (0, 1) "
                f"(range {float(np.min(y)):g} to {float(np.max(y)):g}); family {self.name!r} models proportions "
                "strictly between 0 and 1"
            )
        return y

    def index_derivatives(self, y, eta, anc, order=2):
        eta = eta[:, 0]
        lnphi = float(anc[0])
        phi = np.exp(lnphi)
        mu = expit(eta)
        p, q = mu * phi, expit(-eta) * phi
        ly, l1y = np.log(y), np.log1p(-y)
        logf = gammaln(phi) - gammaln(p) - gammaln(q) + (p - 1.0) * ly + (q - 1.0) * l1y
        if order == 0:
            return logf, None, None
        m1 = mu * (1.0 - mu)
        dq = digamma(q)
        dev = ly - l1y - (digamma(p) - dq)
        d1 = np.empty((len(eta), 2))
        d1[:, 0] = phi * m1 * dev
        d1[:, 1] = phi * (mu * dev + l1y - dq + digamma(phi))
        if order == 1:
            return logf, d1, None
        tp, tq = polygamma(1, p), polygamma(1, q)
        d2 = np.empty((len(eta), 2, 2))
        d2[:, 0, 0] = d1[:, 0] * (1.0 - 2.0 * mu) - phi * phi * m1 * m1 * (tp + tq)
        d2[:, 0, 1] = d2[:, 1, 0] = d1[:, 0] - phi * phi * m1 * (mu * tp - (1.0 - mu) * tq)
        d2[:, 1, 1] = d1[:, 1] + phi * phi * (polygamma(1, phi) - mu * mu * tp - (1.0 - mu) ** 2 * tq)
        return logf, d1, d2

    def mean_from_index(self, eta, anc):
        return expit(eta[:, 0])

    def rvs(self, eta, anc, rng, y=None):
        mu, phi = expit(eta[:, 0]), np.exp(anc[0])
        return rng.beta(mu * phi, (1.0 - mu) * phi)

    def initial_params(self, y, X, c):
        """Weighted least squares of ``logit(y)`` and a moment estimate of ``phi``."""
        z = logit(y) - self._offset_or_zero()
        xtx = (X.T * c) @ X
        beta = np.linalg.lstsq(xtx, X.T @ (c * z), rcond=None)[0]
        mu = expit(X @ beta + self._offset_or_zero())
        var = float(c @ ((y - mu) ** 2)) / float(c.sum())
        phi = float(c @ (mu * (1.0 - mu))) / float(c.sum()) / max(var, 1e-12) - 1.0
        return np.append(beta, np.log(max(phi, 0.5)))
