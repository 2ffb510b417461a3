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
    lower : float, str or None, default 0.0
        Truncation from below: a number (Stata ``ll(#)``), a column name
        (Stata ``ll(varname)``, a limit per row; ``-inf`` in a row means none
        there) or ``None`` for none.
    upper : float, str or None, default None
        Truncation from above (Stata ``ul(#)``, ``ul(varname)``); ``None``
        for none.

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
    a hurdle mixture but make a one-class fit impossible. With constant
    limits the fitted mean is
    ``E[y | L < y < U] = x'b + s (phi(a) - phi(b)) / (Phi(b) - Phi(a))``; with
    a per-row limit it is the latent mean ``x'b`` (Stata's default
    ``predict, xb``). Limit columns are read per row through
    :meth:`ComponentFamily.data_columns` (a missing limit drops the row).
    """

    name = "truncreg"
    stata_model = "truncreg"
    ancillary_names = ("lnsigma",)
    #: a limit column's -inf / inf is "no truncation on that side in this row"
    infinite_data_roles = ("lower", "upper")

    def __init__(self, lower: float | str | None = 0.0, upper: float | str | None = None):
        self._columns = {side: v for side, v in (("lower", lower), ("upper", upper)) if isinstance(v, str)}
        lo = -np.inf if lower is None or "lower" in self._columns else float(lower)
        hi = np.inf if upper is None or "upper" in self._columns else float(upper)
        if np.isnan(lo) or np.isnan(hi) or not lo < hi:
            raise FMMError(f"truncreg needs lower < upper, got lower={lower!r}, upper={upper!r}")
        #: constant limits (``-inf``/``inf`` for none or for a side given as a column)
        self.lower, self.upper = lo, hi

    def __repr__(self) -> str:
        lo = self._columns.get("lower", f"{self.lower:g}")
        hi = self._columns.get("upper", f"{self.upper:g}")
        return f"<fmmreg family 'truncreg' lower={lo} upper={hi}>"

    # ------------------------------------------------------------- data
    def data_columns(self) -> dict[str, str]:
        return dict(self._columns)

    def class_response(self, y, columns):
        """``y`` itself with constant limits; else the columns ``(y, L, U)``."""
        if not columns:
            return y
        y = np.asarray(y, dtype=float)
        if y.ndim != 1:
            raise FMMError("family 'truncreg' needs a single response column")
        n = len(y)
        lo = columns.get("lower", np.full(n, self.lower))
        hi = columns.get("upper", np.full(n, self.upper))
        return np.column_stack([y, lo, hi])

    def _row_limits(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | float, np.ndarray | float]:
        y = np.asarray(y, dtype=float)
        if y.ndim == 1:
            return y, self.lower, self.upper
        return y[:, 0], y[:, 1], y[:, 2]

    def _limit_names(self) -> str:
        lo = self._columns.get("lower", f"{self.lower:g}")
        hi = self._columns.get("upper", f"{self.upper:g}")
        return f"({lo}, {hi})"

    # ------------------------------------------------------------------ checks
    def check_endog(self, y, yname):
        y = np.asarray(y, dtype=float)
        if y.ndim != 1 and not self._columns:
            raise FMMError(f"family 'truncreg' needs a single response column, {yname!r} has {y.shape[1]}")
        resp, lo, hi = self._row_limits(y)
        super().check_endog(resp, yname)
        if not np.all(np.asarray(lo) < np.asarray(hi)):
            raise FMMError(f"truncreg limits {self._limit_names()} of {yname!r}: lower must be below upper in each row")
        outside = (resp < lo) | (resp > hi)
        if outside.any():
            raise FMMError(
                f"{int(outside.sum())} value(s) of {yname!r} lie outside the truncation limits "
                f"{self._limit_names()} of family 'truncreg'; a truncated response cannot be there"
            )
        at = (resp == lo) | (resp == hi)
        if at.all():
            raise FMMError(f"every value of {yname!r} sits at a truncation limit of family 'truncreg'")
        if at.any():
            warnings.warn(
                f"{int(at.sum())} value(s) of {yname!r} equal a truncation limit {self._limit_names()}; "
                "a truncreg class gives them density zero, so another class (e.g. pointmass) must explain them "
                "(Stata's truncreg drops them)",
                UserWarning,
                stacklevel=3,
            )
        return y

    # ----------------------------------------------------------------- density
    def index_derivatives(self, y, eta, anc, order=2):
        resp, lo, hi = self._row_limits(y)
        e = eta[:, 0]
        lns = float(anc[0])
        logf, d1, d2 = interval_normal(resp, resp, e, lns, order)
        n = len(resp)
        trunc = interval_normal(np.broadcast_to(lo, (n,)), np.broadcast_to(hi, (n,)), e, lns, order)
        logf = logf - trunc[0]
        if order >= 1:
            d1 = d1 - trunc[1]
        if order >= 2:
            d2 = d2 - trunc[2]
        out = (resp <= lo) | (resp >= hi)
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
        resp, lo, hi = self._row_limits(y)
        return (resp > lo) & (resp < hi)

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
        if self._columns:
            return eta[:, 0].copy()
        return normal_interval_mean(self.lower, self.upper, eta[:, 0], float(anc[0]))

    def rvs(self, eta, anc, rng, y=None):
        """Normal draws restricted to ``(lower, upper)`` (``scipy.stats.truncnorm``).

        With limit columns each row keeps its limits from ``y`` (the observed
        ``(y, L, U)`` rows) and the draws are ``(y*, L, U)`` rows; without
        ``y`` those rows have no limit on the column's side.
        """
        e, s = eta[:, 0], float(np.exp(anc[0]))
        if not self._columns:
            return stats.truncnorm.rvs((self.lower - e) / s, (self.upper - e) / s, loc=e, scale=s, random_state=rng)
        n = eta.shape[0]
        if y is None:
            lo = np.full(n, -np.inf if "lower" in self._columns else self.lower)
            hi = np.full(n, np.inf if "upper" in self._columns else self.upper)
        else:
            _, lo, hi = self._row_limits(y)
            lo, hi = np.broadcast_to(lo, (n,)), np.broadcast_to(hi, (n,))
        draw = stats.truncnorm.rvs((lo - e) / s, (hi - e) / s, loc=e, scale=s, random_state=rng)
        return np.column_stack([draw, lo, hi])

    def response_parts(self, y):
        if not self._columns:
            return y, {}
        y = np.asarray(y, dtype=float)
        return y[:, 0], {side: y[:, 1 if side == "lower" else 2] for side in self._columns}

    def ancillary_display(self, term, yname):
        return (f"var(e.{yname})", lambda a: np.exp(2.0 * a), lambda a: 2.0 * np.exp(2.0 * a))

    # ---------------------------------------------------------------- fitting
    def initial_params(self, y, X, c):
        """Least squares on the rows inside the limits."""
        resp, _, _ = self._row_limits(y)
        inside = self._inside(y)
        return Gaussian().with_offset(self.offset).fit_weighted(np.where(inside, resp, 0.0), X, c * inside)
