"""Truncated Poisson component (Stata ``tpoisson``, ``ll(#)`` or ``ll(varname)``; default ``ll(0)``)."""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import gammainc, gammaincc, gammaln

from fmmreg.exceptions import FMMError
from fmmreg.families.base import ComponentFamily, log_factorial
from fmmreg.families.glm import check_nonnegative, poisson


def log_poisson_tail(lower: np.ndarray | float, eta: np.ndarray) -> np.ndarray:
    """``log P(Y > L)`` for ``Y ~ Poisson(exp(eta))`` and integer ``L >= -1``, without cancellation.

    ``P(Y > L) = P(L + 1, mu)``, the lower regularised incomplete gamma
    function; from its complement where it is close to one, and from the
    series ``p(L + 1) (1 + mu/(L + 2) + mu^2/((L + 2)(L + 3)) + ...)`` where it
    underflows (``mu`` far below ``L``). ``L = 0`` is the zero-truncated case
    ``log(1 - exp(-mu))``.
    """
    mu = np.exp(eta)
    a = np.broadcast_to(np.asarray(lower, dtype=float) + 1.0, mu.shape)
    out = np.zeros_like(mu)  # L = -1: no truncation, P = 1
    pos = a > 0
    if not pos.any():
        return out
    ap, mp = a[pos], mu[pos]
    q = gammaincc(ap, mp)
    with np.errstate(divide="ignore"):
        val = np.where(q < 0.5, np.log1p(-q), np.log(gammainc(ap, mp)))
    tiny = ~np.isfinite(val) | (val < -690.0)
    if tiny.any():
        at, mt, et = ap[tiny], mp[tiny], eta[pos][tiny]
        term, series = np.ones_like(mt), np.ones_like(mt)
        for j in range(1, 40):
            term = term * mt / (at + j)
            series = series + term
        val[tiny] = at * et - mt - gammaln(at + 1.0) + np.log(series)
    out[pos] = val
    return out


class TruncatedPoisson(ComponentFamily):
    """Poisson regression truncated from below: only ``y > lower`` is observed.

    Parameters
    ----------
    lower : int or str, default 0
        Truncation point (Stata's ``ll(#)``): a number, or a column name for
        a truncation point per row (Stata's ``ll(varname)``). The default
        ``ll(0)`` is the zero-truncated Poisson.

    Notes
    -----
    With ``mu = exp(eta)``, ``L`` the truncation point and
    ``g = log P(Y > L)`` (:func:`log_poisson_tail`):

    ``log f = y eta - mu - lgamma(y + 1) - g``

    Since ``dP(Y > L)/dmu = p(L)``, the Poisson probability of ``L``, with
    ``r = mu p(L) / P(Y > L)``:

    - ``d_eta = y - mu - r`` (``mu + r = E[y | y > L]``);
    - ``d_eta,eta = -mu - r (L + 1 - mu - r)``.

    ``mean`` is the conditional mean ``E[y | y > L] = mu + r`` (Stata's
    ``predict, cm``) for a constant truncation point, and the untruncated
    ``exp(eta)`` (Stata's ``predict, n``) for a truncation point per row.
    """

    name = "tpoisson"
    stata_model = "tpoisson"

    def __init__(self, lower: float | str = 0):
        self._column = lower if isinstance(lower, str) else None
        if self._column is None:
            lower = float(lower)
            if not (np.isfinite(lower) and lower.is_integer() and lower >= -1):
                raise FMMError(f"tpoisson lower (Stata's ll()) must be an integer >= -1 or a column, got {lower!r}")
        self.lower = lower

    def __repr__(self) -> str:
        return f"<fmmreg family 'tpoisson' lower={self.lower!r}>"

    # ------------------------------------------------------------- data
    def data_columns(self) -> dict[str, str]:
        return {} if self._column is None else {"lower": self._column}

    def class_response(self, y, columns):
        if not columns:
            return y
        y = np.asarray(y, dtype=float)
        if y.ndim != 1:
            raise FMMError("family 'tpoisson' needs a single response column")
        return np.column_stack([y, columns["lower"]])

    def _split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | float]:
        y = np.asarray(y, dtype=float)
        if self._column is None:
            return y, self.lower
        return y[:, 0], y[:, 1]

    def support(self, y):
        resp, lower = self._split(y)
        return resp > lower

    def check_endog(self, y, yname):
        y = np.asarray(y, dtype=float)
        if y.ndim != 1 and self._column is None:
            raise FMMError(f"response {yname!r} has {y.shape[1]} columns; family 'tpoisson' needs a single response")
        resp, lower = self._split(y)
        super().check_endog(resp, yname)
        check_nonnegative(resp, yname, self.name)
        if self._column is not None:
            lo = np.asarray(lower)
            if not np.all(np.isfinite(lo) & (lo == np.round(lo)) & (lo >= -1)):
                raise FMMError(f"truncation points {self._column!r} of family 'tpoisson' must be integers >= -1")
        below = resp <= lower
        if np.any(below):
            what = self._column if self._column is not None else f"{self.lower:g}"
            raise FMMError(
                f"response {yname!r} has {int(np.sum(below))} value(s) at or below the truncation point {what} of "
                f"family {self.name!r}; a truncated count is above it (drop them, or use poisson/nbreg or a "
                "pointmass class)"
            )
        return y

    # ----------------------------------------------------------- density
    def index_derivatives(self, y, eta, anc, order=2):
        resp, lower = self._split(y)
        eta = eta[:, 0]
        mu = np.exp(eta)
        g = log_poisson_tail(lower, eta)
        # zero density at or below the truncation point (check_endog rejects such y,
        # but a hurdle-type hybrid with a point mass at 0 may pass them)
        lf = log_factorial(y) if self._column is None else gammaln(resp + 1.0)
        logf = np.where(resp > lower, resp * eta - mu - lf - g, -np.inf)
        if order == 0:
            return logf, None, None
        lo = np.broadcast_to(np.asarray(lower, dtype=float), eta.shape)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # r = mu p(L) / P(Y > L) = exp(eta + L eta - mu - lgamma(L + 1) - g); 0 without truncation
            r = np.where(lo >= 0, np.exp((lo + 1.0) * eta - mu - gammaln(np.maximum(lo, 0.0) + 1.0) - g), 0.0)
        d1 = (resp - mu - r)[:, None]
        if order == 1:
            return logf, d1, None
        return logf, d1, (-mu - r * (lo + 1.0 - mu - r))[:, None, None]

    def mean_from_index(self, eta, anc):
        eta = eta[:, 0]
        mu = np.exp(eta)
        if self._column is not None:
            return mu
        lo = float(self.lower)
        if lo < 0:
            return mu
        g = log_poisson_tail(lo, eta)
        return mu + np.exp((lo + 1.0) * eta - mu - gammaln(lo + 1.0) - g)

    def rvs(self, eta, anc, rng, y=None):
        """Inverse-CDF draws above the truncation point: ``F^{-1}(F(L) + u (1 - F(L)))``, no rejection loop.

        With a truncation column each row keeps its point from ``y`` (the
        observed ``(y, L)`` rows) and the draws are ``(y*, L)`` rows; without
        ``y`` those rows are not truncated (``L = -1``).
        """
        mu = np.exp(eta[:, 0])
        n = len(mu)
        if self._column is None:
            lower = np.full(n, float(self.lower))
        else:
            lower = np.full(n, -1.0) if y is None else np.asarray(y, dtype=float)[:, 1]
        below = stats.poisson.cdf(lower, mu)  # F(-1) = 0
        draw = stats.poisson.ppf(below + rng.random(n) * (1.0 - below), mu)
        # F(L) + u (1 - F(L)) rounds to F(L) when the tail is tiny: the first count above L
        draw = np.maximum(draw, lower + 1.0)
        return draw if self._column is None else np.column_stack([draw, lower])

    def response_parts(self, y):
        if self._column is None:
            return y, {}
        y = np.asarray(y, dtype=float)
        return y[:, 0], {"lower": y[:, 1]}

    def initial_params(self, y, X, c):
        """One IRLS step of the untruncated Poisson."""
        resp, _ = self._split(y)
        return poisson().with_offset(self.offset).initial_params(resp, X, c)
