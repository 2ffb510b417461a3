"""Censored normal regression (Stata ``tobit``), ancillary ``lnsigma``."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import ndtr

from fmmreg.exceptions import FMMError
from fmmreg.families._intervals import interval_normal, normal_logpdf
from fmmreg.families.base import ComponentFamily
from fmmreg.families.gaussian import Gaussian


def _limit(value, what: str, auto: str) -> float | str | None:
    if value is None or value == auto:
        return value
    if isinstance(value, str):
        raise FMMError(f"tobit {what} must be a number, None or {auto!r}, got {value!r}")
    value = float(value)
    if np.isnan(value):
        raise FMMError(f"tobit {what} must not be NaN")
    return value


class Tobit(ComponentFamily):
    """Normal linear regression with a left- and/or right-censored response.

    Parameters
    ----------
    lower : float, "min" or None, default 0.0
        Left-censoring limit (Stata ``ll(#)``). Observations with
        ``y <= lower`` are censored: only ``y* <= lower`` is known. ``"min"``
        takes the smallest observed ``y`` (Stata's ``ll`` without a number);
        ``None`` means no left censoring.
    upper : float, "max" or None, default None
        Right-censoring limit (Stata ``ul(#)``); ``y >= upper`` is censored.
        ``"max"`` takes the largest observed ``y``.

    Notes
    -----
    The latent response is ``y* ~ N(x'b, s^2)`` and, with limits ``L < U``,
    ``y = L`` if ``y* <= L``, ``y = U`` if ``y* >= U`` and ``y = y*`` else::

        log f = log Phi((L - x'b)/s)                 if y <= L
              = log Phi((x'b - U)/s)                 if y >= U
              = log phi((y - x'b)/s) - log s         otherwise.

    ``ln s`` is the ancillary ``lnsigma`` and is shown as ``var(e.y)`` like
    the Gaussian family. ``family="tobit"`` means ``Tobit(lower=0)``, the
    textbook model for a response with a corner at zero; pass
    ``Tobit(lower=..., upper=...)`` for other limits. As in Stata, a value
    beyond a limit is treated as censored at that limit. Limits are constants
    (Stata also allows a variable). The fitted mean (:meth:`mean_from_index`)
    is that of the observed, censored response,
    ``E[y] = L Phi(a) + U Phi(-b) + (Phi(b) - Phi(a)) x'b + s (phi(a) - phi(b))``
    with ``a = (L - x'b)/s`` and ``b = (U - x'b)/s``.
    The derivatives are those of :func:`fmmreg.families._intervals.interval_normal`
    with the censored observations as half-open intervals.
    """

    name = "tobit"
    stata_model = "tobit"
    ancillary_names = ("lnsigma",)

    def __init__(self, lower: float | str | None = 0.0, upper: float | str | None = None):
        self.lower = _limit(lower, "lower", "min")
        self.upper = _limit(upper, "upper", "max")
        if self.lower is None and self.upper is None:
            raise FMMError("Tobit needs a lower and/or an upper censoring limit; without both use 'gaussian'")
        if isinstance(self.lower, float) and isinstance(self.upper, float) and not self.lower < self.upper:
            raise FMMError(f"tobit lower limit ({self.lower}) must be below the upper limit ({self.upper})")
        self._ll = self.lower if isinstance(self.lower, float) else (None if self.lower is None else np.nan)
        self._ul = self.upper if isinstance(self.upper, float) else (None if self.upper is None else np.nan)

    @property
    def limits(self) -> tuple[float, float]:
        """Resolved ``(L, U)``; ``-inf``/``inf`` where there is no censoring."""
        lo = -np.inf if self._ll is None else self._ll
        hi = np.inf if self._ul is None else self._ul
        if np.isnan(lo) or np.isnan(hi):
            raise ValueError("tobit limit 'min'/'max' is resolved from the data: call check_endog(y) first")
        return float(lo), float(hi)

    def __repr__(self) -> str:
        return f"<fmmreg family 'tobit' lower={self.lower!r} upper={self.upper!r}>"

    # ------------------------------------------------------------------ checks
    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        if y.ndim != 1:
            raise FMMError(f"family 'tobit' needs a single response column, {yname!r} has {y.shape[1]}")
        if self.lower == "min":
            self._ll = float(y.min())
        if self.upper == "max":
            self._ul = float(y.max())
        lo, hi = self.limits
        if not lo < hi:
            raise FMMError(
                f"tobit limits for {yname!r}: lower ({lo:g}) must be below upper ({hi:g}); "
                "the response does not vary between them"
            )
        n_cens = int(np.sum(y <= lo) + np.sum(y >= hi))
        if n_cens == 0:
            warnings.warn(
                f"no observation of {yname!r} is at or beyond the tobit limits ({lo:g}, {hi:g}); "
                "the tobit class is then a plain normal regression",
                UserWarning,
                stacklevel=3,
            )
        if n_cens == len(y):
            raise FMMError(f"every observation of {yname!r} is censored; family 'tobit' cannot be estimated")
        return y

    # ----------------------------------------------------------------- density
    def _bounds(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo_lim, hi_lim = self.limits
        left = y <= lo_lim
        right = y >= hi_lim
        lo = np.where(left, -np.inf, np.where(right, hi_lim, y))
        hi = np.where(left, lo_lim, np.where(right, np.inf, y))
        return lo, hi

    def index_derivatives(self, y, eta, anc, order=2):
        lo, hi = self._bounds(np.asarray(y, dtype=float))
        return interval_normal(lo, hi, eta[:, 0], float(anc[0]), order)

    def mean_from_index(self, eta, anc):
        lo, hi = self.limits
        e = eta[:, 0]
        s = float(np.exp(anc[0]))
        a = (lo - e) / s
        b = (hi - e) / s
        pa, pb = ndtr(a), ndtr(b)
        out = (pb - pa) * e + s * (np.exp(normal_logpdf(a)) - np.exp(normal_logpdf(b)))
        if np.isfinite(lo):
            out = out + lo * pa
        if np.isfinite(hi):
            out = out + hi * (1.0 - pb)
        return out

    def rvs(self, eta, anc, rng, y=None):
        """The latent normal response, censored at the limits."""
        lo, hi = self.limits
        latent = eta[:, 0] + np.exp(anc[0]) * rng.standard_normal(eta.shape[0])
        return np.clip(latent, lo, hi)

    def ancillary_display(self, term, yname):
        return (f"var(e.{yname})", lambda a: np.exp(2.0 * a), lambda a: 2.0 * np.exp(2.0 * a))

    # ---------------------------------------------------------------- fitting
    def initial_params(self, y, X, c):
        """Least squares on the observed values, censored ones included."""
        return Gaussian().with_offset(self.offset).fit_weighted(np.asarray(y, dtype=float), X, c)
