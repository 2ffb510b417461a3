"""Zero-truncated Poisson component (Stata ``tpoisson``, ``ll(0)``)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from fmmreg.exceptions import FMMError
from fmmreg.families.base import ComponentFamily, log_factorial
from fmmreg.families.glm import check_nonnegative, check_single_column, poisson


class TruncatedPoisson(ComponentFamily):
    """Poisson regression truncated at zero: only ``y >= 1`` is observed.

    Notes
    -----
    With ``mu = exp(eta)`` and ``g = log(1 - exp(-mu))`` (the log
    probability of ``y > 0``):

    ``log f = y eta - mu - lgamma(y + 1) - g``

    - ``d_eta = y - h`` with ``h = mu / (1 - exp(-mu)) = exp(eta - g)``,
      the mean of the truncated distribution;
    - ``d_eta,eta = -h (1 - mu / (exp(mu) - 1))``.

    ``mean`` is the conditional mean ``E[y | y > 0] = h`` (Stata's
    ``predict, cm``); the untruncated Poisson mean is ``exp(eta)``.
    """

    name = "tpoisson"
    stata_model = "tpoisson"

    def support(self, y):
        y = np.asarray(y, dtype=float)
        return y >= 1 if y.ndim == 1 else None

    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        check_single_column(y, yname, self.name)
        check_nonnegative(y, yname, self.name)
        if np.any(y < 1):
            raise FMMError(
                f"response {yname!r} has {int(np.sum(y < 1))} zero value(s); family {self.name!r} is truncated "
                "at zero and models counts >= 1 (drop the zeros, or use poisson/nbreg or a pointmass class)"
            )
        return y

    @staticmethod
    def _log_positive(eta: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """``log(1 - exp(-mu))``; equals ``eta`` where ``mu`` underflows."""
        with np.errstate(divide="ignore"):
            return np.where(mu > 0.0, np.log(-np.expm1(-mu)), eta)

    def index_derivatives(self, y, eta, anc, order=2):
        eta = eta[:, 0]
        mu = np.exp(eta)
        g = self._log_positive(eta, mu)
        # zero density below the truncation point (check_endog rejects such y,
        # but a hurdle-type hybrid with a point mass at 0 may pass them)
        logf = np.where(y >= 1.0, y * eta - mu - log_factorial(y) - g, -np.inf)
        if order == 0:
            return logf, None, None
        h = np.exp(eta - g)
        d1 = (y - h)[:, None]
        if order == 1:
            return logf, d1, None
        with np.errstate(over="ignore", invalid="ignore"):
            ratio = np.where(mu > 0.0, mu / np.expm1(mu), 1.0)
        return logf, d1, (-h * (1.0 - ratio))[:, None, None]

    def mean_from_index(self, eta, anc):
        eta = eta[:, 0]
        return np.exp(eta - self._log_positive(eta, np.exp(eta)))

    def rvs(self, eta, anc, rng, y=None):
        """Inverse-CDF draws above zero: ``F^{-1}(P(0) + u (1 - P(0)))``, no rejection loop for small means."""
        mu = np.exp(eta[:, 0])
        p0 = np.exp(-mu)
        return stats.poisson.ppf(p0 + rng.random(len(mu)) * (1.0 - p0), mu)

    def initial_params(self, y, X, c):
        """One IRLS step of the untruncated Poisson."""
        return poisson().with_offset(self.offset).initial_params(y, X, c)
