"""Truncated normal regression (Stata ``truncreg``), ancillary ``lnsigma``."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from fmmreg.exceptions import FMMError
from fmmreg.families._intervals import interval_normal, normal_interval_mean
from fmmreg.families.base import ComponentFamily
from fmmreg.families.gaussian import Gaussian


class TruncatedRegression(ComponentFamily):
    """Normal linear regression for a response observed only inside ``(lower, upper)``.

    Parameters
    ----------
    lower : float or None, default 0.0
        Truncation from below (Stata ``ll(#)``); ``None`` for none.
    upper : float or None, default None
        Truncation from above (Stata ``ul(#)``); ``None`` for none.

    Notes
    -----
    With ``y* ~ N(x'b, s^2)`` observed only when ``L < y* < U``::

        log f = log phi((y - x'b)/s) - log s - log(Phi((U - x'b)/s) - Phi((L - x'b)/s)).

    Its index derivatives are the Gaussian ones minus those of the interval
    probability (:func:`fmmreg.families._intervals.interval_normal` on
    ``(L, U)``). ``family="truncreg"`` means ``TruncatedRegression(lower=0)``
    (a positive response, as in Stata's ``tpoisson`` default ``ll(0)``).

    The support is the open interval ``(L, U)``, as in Stata (which drops
    ``y <= ll``): a value *at* a limit has density zero in this class, so in
    a mixture it must come from another class -- a ``pointmass`` class at the
    limit gives a hurdle model. A value strictly outside ``[L, U]`` is a
    ``ValueError``; values at a limit only warn, since they are legitimate in
    a hurdle mixture but make a one-class fit impossible. The fitted mean is
    ``E[y | L < y < U] = x'b + s (phi(a) - phi(b)) / (Phi(b) - Phi(a))``.
    """

    name = "truncreg"
    stata_model = "truncreg"
    ancillary_names = ("lnsigma",)

    def __init__(self, lower: float | None = 0.0, upper: float | None = None):
        lo = -np.inf if lower is None else float(lower)
        hi = np.inf if upper is None else float(upper)
        if np.isnan(lo) or np.isnan(hi) or not lo < hi:
            raise FMMError(f"truncreg needs lower < upper, got lower={lower!r}, upper={upper!r}")
        self.lower, self.upper = lo, hi

    def __repr__(self) -> str:
        return f"<fmmreg family 'truncreg' lower={self.lower:g} upper={self.upper:g}>"

    # ------------------------------------------------------------------ checks
    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        if y.ndim != 1:
            raise FMMError(f"family 'truncreg' needs a single response column, {yname!r} has {y.shape[1]}")
        outside = (y < self.lower) | (y > self.upper)
        if outside.any():
            raise FMMError(
                f"{int(outside.sum())} value(s) of {yname!r} lie outside the truncation limits "
                f"({self.lower:g}, {self.upper:g}) of family 'truncreg'; a truncated response cannot be there"
            )
        at = (y == self.lower) | (y == self.upper)
        if at.all():
            raise FMMError(f"every value of {yname!r} sits at a truncation limit of family 'truncreg'")
        if at.any():
            warnings.warn(
                f"{int(at.sum())} value(s) of {yname!r} equal a truncation limit ({self.lower:g}, {self.upper:g}); "
                "a truncreg class gives them density zero, so another class (e.g. pointmass) must explain them "
                "(Stata's truncreg drops them)",
                UserWarning,
                stacklevel=3,
            )
        return y

    # ----------------------------------------------------------------- density
    def index_derivatives(self, y, eta, anc, order=2):
        y = np.asarray(y, dtype=float)
        e = eta[:, 0]
        lns = float(anc[0])
        logf, d1, d2 = interval_normal(y, y, e, lns, order)
        n = len(y)
        trunc = interval_normal(np.full(n, self.lower), np.full(n, self.upper), e, lns, order)
        logf = logf - trunc[0]
        if order >= 1:
            d1 = d1 - trunc[1]
        if order >= 2:
            d2 = d2 - trunc[2]
        out = (y <= self.lower) | (y >= self.upper)
        if out.any():
            logf[out] = -np.inf
            if order >= 1:
                d1[out] = 0.0
            if order >= 2:
                d2[out] = 0.0
        return logf, d1, d2

    # Rows at a truncation limit have density zero whatever the parameters
    # (their posterior in this class is 0): they carry no information about
    # the class, and leaving them out of the weighted fits keeps
    # ``sum c log f`` finite instead of ``0 * -inf`` (hurdle mixtures).
    def _inside(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return (y > self.lower) & (y < self.upper)

    def weighted_objective(self, y, X, c, params, order=2):
        keep = self._inside(y)
        if keep.all():
            return super().weighted_objective(y, X, c, params, order)
        # the offset follows the rows kept
        inner = super(TruncatedRegression, self.rows(keep))
        return inner.weighted_objective(y[keep], X[keep], np.asarray(c)[keep], params, order)

    def mstep(self, y, X, c, params):
        keep = self._inside(y)
        if keep.all():
            return super().mstep(y, X, c, params)
        return super(TruncatedRegression, self.rows(keep)).mstep(y[keep], X[keep], np.asarray(c)[keep], params)

    def fit_weighted(self, y, X, c, start=None, tol=1e-12, maxiter=200):
        keep = self._inside(y)
        if keep.all():
            return super().fit_weighted(y, X, c, start, tol, maxiter)
        inner = super(TruncatedRegression, self.rows(keep))
        return inner.fit_weighted(y[keep], X[keep], np.asarray(c)[keep], start, tol, maxiter)

    def mean_from_index(self, eta, anc):
        return normal_interval_mean(self.lower, self.upper, eta[:, 0], float(anc[0]))

    def rvs(self, eta, anc, rng, y=None):
        """Normal draws restricted to ``(lower, upper)`` (``scipy.stats.truncnorm``)."""
        e, s = eta[:, 0], float(np.exp(anc[0]))
        return stats.truncnorm.rvs((self.lower - e) / s, (self.upper - e) / s, loc=e, scale=s, random_state=rng)

    def ancillary_display(self, term, yname):
        return (f"var(e.{yname})", lambda a: np.exp(2.0 * a), lambda a: 2.0 * np.exp(2.0 * a))

    # ---------------------------------------------------------------- fitting
    def initial_params(self, y, X, c):
        """Least squares on the rows inside the limits."""
        y = np.asarray(y, dtype=float)
        inside = (y > self.lower) & (y < self.upper)
        return Gaussian().with_offset(self.offset).fit_weighted(np.where(inside, y, 0.0), X, c * inside)
