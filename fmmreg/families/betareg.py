"""Beta regression component (Stata ``betareg``): logit/probit/cloglog/loglog mean, log precision."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln, logit, ndtr, ndtri, polygamma

from fmmreg.exceptions import FMMError
from fmmreg.families._intervals import normal_logpdf
from fmmreg.families.base import ComponentFamily
from fmmreg.families.glm import check_single_column


def _logit(eta):
    mu = expit(eta)
    m1 = mu * (1.0 - mu)
    return mu, expit(-eta), m1, m1 * (1.0 - 2.0 * mu)


def _probit(eta):
    pdf = np.exp(normal_logpdf(eta))
    return ndtr(eta), ndtr(-eta), pdf, -eta * pdf


def _cloglog(eta):
    # mu = 1 - exp(-e^eta)
    with np.errstate(over="ignore"):
        e = np.exp(eta)
    surv = np.exp(-e)
    m1 = np.where(np.isfinite(e), e * surv, 0.0)
    return -np.expm1(-e), surv, m1, m1 * (1.0 - e)


def _loglog(eta):
    # mu = exp(-e^-eta)
    with np.errstate(over="ignore"):
        e = np.exp(-eta)
    mu = np.exp(-e)
    m1 = np.where(np.isfinite(e), e * mu, 0.0)
    return mu, -np.expm1(-e), m1, m1 * (e - 1.0)


#: link name -> (mu, 1 - mu, dmu/deta, d2mu/deta2) as functions of eta, and the link g(mu)
LINKS = {
    "logit": (_logit, logit),
    "probit": (_probit, ndtri),
    "cloglog": (_cloglog, lambda mu: np.log(-np.log1p(-mu))),
    "loglog": (_loglog, lambda mu: -np.log(-np.log(mu))),
}


class BetaRegression(ComponentFamily):
    """Beta-distributed proportions in the open interval (0, 1).

    Parameters
    ----------
    link : {"logit", "probit", "cloglog", "loglog"}, default "logit"
        Link of the mean (Stata ``betareg, link()``).

    Notes
    -----
    Mean ``mu = g^{-1}(eta)``, precision ``phi = exp(l)`` with ``l`` the
    ancillary ``lnphi`` (Stata's default ``slink(log)``):
    ``y ~ Beta(p, q)``, ``p = mu phi``, ``q = (1 - mu) phi``,
    ``Var y = mu (1 - mu) / (1 + phi)``.

    ``log f = lgamma(phi) - lgamma(p) - lgamma(q) + (p - 1) log y + (q - 1) log(1 - y)``

    With ``y* = logit(y)``, ``mu* = psi(p) - psi(q)``, ``t_p = psi'(p)``,
    ``t_q = psi'(q)`` and the link's ``m1 = dmu/deta``, ``m2 = d2mu/deta2``:

    - ``d_eta = phi m1 (y* - mu*)``
    - ``d_eta,eta = phi m2 (y* - mu*) - phi^2 m1^2 (t_p + t_q)``
    - ``d_l = phi [mu (y* - mu*) + log(1 - y) - psi(q) + psi(phi)]``
    - ``d_eta,l = d_eta - phi^2 m1 (mu t_p - (1 - mu) t_q)``
    - ``d_l,l = d_l + phi^2 [psi'(phi) - mu^2 t_p - (1 - mu)^2 t_q]``

    ``m1 = mu (1 - mu)``, ``m2 = m1 (1 - 2 mu)`` for the logit;
    ``phi(eta)``, ``-eta phi(eta)`` for the probit; for the cloglog
    (``mu = 1 - exp(-e^eta)``) ``m1 = e^eta exp(-e^eta)``, ``m2 = m1 (1 - e^eta)``;
    for the loglog (``mu = exp(-e^-eta)``) ``m1 = e^-eta mu``,
    ``m2 = m1 (e^-eta - 1)``. ``1 - mu`` is computed from its own tail.
    """

    stata_model = "betareg"
    ancillary_names = ("lnphi",)

    def __init__(self, link: str = "logit"):
        key = str(link).strip().lower()
        if key not in LINKS:
            raise FMMError(f"betareg link must be one of {', '.join(LINKS)}, got {link!r}")
        self.link = key
        self._inverse, self._link = LINKS[key]
        self.name = "betareg" if key == "logit" else f"betareg({key})"
        self.stata_model = "betareg" if key == "logit" else f"betareg, link({key})"

    def __repr__(self) -> str:
        return f"<fmmreg family 'betareg' link={self.link!r}>"

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
        mu, cmu, m1, m2 = self._inverse(eta)
        p, q = mu * phi, cmu * phi
        ly, l1y = np.log(y), np.log1p(-y)
        logf = gammaln(phi) - gammaln(p) - gammaln(q) + (p - 1.0) * ly + (q - 1.0) * l1y
        if order == 0:
            return logf, None, None
        dq = digamma(q)
        dev = ly - l1y - (digamma(p) - dq)
        d1 = np.empty((len(eta), 2))
        d1[:, 0] = phi * m1 * dev
        d1[:, 1] = phi * (mu * dev + l1y - dq + digamma(phi))
        if order == 1:
            return logf, d1, None
        tp, tq = polygamma(1, p), polygamma(1, q)
        d2 = np.empty((len(eta), 2, 2))
        d2[:, 0, 0] = phi * m2 * dev - phi * phi * m1 * m1 * (tp + tq)
        d2[:, 0, 1] = d2[:, 1, 0] = d1[:, 0] - phi * phi * m1 * (mu * tp - cmu * tq)
        d2[:, 1, 1] = d1[:, 1] + phi * phi * (polygamma(1, phi) - mu * mu * tp - cmu * cmu * tq)
        return logf, d1, d2

    def mean_from_index(self, eta, anc):
        return self._inverse(eta[:, 0])[0]

    def rvs(self, eta, anc, rng, y=None):
        mu, phi = self._inverse(eta[:, 0])[0], np.exp(anc[0])
        return rng.beta(mu * phi, (1.0 - mu) * phi)

    def initial_params(self, y, X, c):
        """Weighted least squares of ``g(y)`` and a moment estimate of ``phi``."""
        z = self._link(y) - self._offset_or_zero()
        xtx = (X.T * c) @ X
        beta = np.linalg.lstsq(xtx, X.T @ (c * z), rcond=None)[0]
        mu = self._inverse(X @ beta + self._offset_or_zero())[0]
        var = float(c @ ((y - mu) ** 2)) / float(c.sum())
        phi = float(c @ (mu * (1.0 - mu))) / float(c.sum()) / max(var, 1e-12) - 1.0
        return np.append(beta, np.log(max(phi, 0.5)))
