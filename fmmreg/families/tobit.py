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
    """A limit option: a number, ``None``, ``auto`` (bare: the sample extreme) or a column name."""
    if value is None:
        return None
    if value is True:
        return auto
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise FMMError(f"tobit {what} must be a number, a column name, True or None, got {value!r}")
    value = float(value)
    if np.isnan(value):
        raise FMMError(f"tobit {what} must not be NaN")
    return value


class Tobit(ComponentFamily):
    """Normal linear regression with a left- and/or right-censored response.

    Parameters
    ----------
    lower : float, str, True or None, default 0.0
        Left-censoring limit. A number is Stata's ``ll(#)``: observations
        with ``y <= lower`` are censored, only ``y* <= lower`` is known. A
        column name is Stata's ``ll(varname)``, a limit per row (``-inf`` in
        a row means no limit there). ``True`` (or ``"min"``) takes the
        smallest observed ``y``, Stata's bare ``ll``. ``None`` means no left
        censoring.
    upper : float, str, True or None, default None
        Right-censoring limit (Stata ``ul(#)``, ``ul(varname)``, bare ``ul``
        as ``True`` or ``"max"``); ``y >= upper`` is censored.

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
    beyond a limit is treated as censored at that limit. Limits given as
    columns are read per row (:meth:`ComponentFamily.data_columns`; a
    missing limit drops the row, like any model variable). With constant
    limits the fitted mean (:meth:`mean_from_index`) is that of the
    observed, censored response,
    ``E[y] = L Phi(a) + U Phi(-b) + (Phi(b) - Phi(a)) x'b + s (phi(a) - phi(b))``
    with ``a = (L - x'b)/s`` and ``b = (U - x'b)/s``; with a per-row limit it
    is the latent mean ``x'b`` (Stata's default ``predict, xb``), since the
    limits of a row are not part of the mean's arguments.
    The derivatives are those of :func:`fmmreg.families._intervals.interval_normal`
    with the censored observations as half-open intervals.
    """

    name = "tobit"
    stata_model = "tobit"
    ancillary_names = ("lnsigma",)
    #: a limit column's -inf / inf is "no limit in this row"
    infinite_data_roles = ("lower", "upper")

    def __init__(self, lower: float | str | bool | None = 0.0, upper: float | str | bool | None = None):
        self.lower = _limit(lower, "lower", "min")
        self.upper = _limit(upper, "upper", "max")
        if self.lower is None and self.upper is None:
            raise FMMError("Tobit needs a lower and/or an upper censoring limit; without both use 'gaussian'")
        if isinstance(self.lower, float) and isinstance(self.upper, float) and not self.lower < self.upper:
            raise FMMError(f"tobit lower limit ({self.lower}) must be below the upper limit ({self.upper})")
        #: limit columns (Stata's ll(varname) / ul(varname)), by side
        self._columns = {
            side: v
            for side, v, auto in (("lower", self.lower, "min"), ("upper", self.upper, "max"))
            if isinstance(v, str) and v != auto
        }
        self._ll = self._scalar(self.lower, "lower")
        self._ul = self._scalar(self.upper, "upper")

    def _scalar(self, value, side: str) -> float | None:
        """The constant limit of a side: the number, NaN until "min"/"max" is resolved, ``None`` else."""
        if value is None or side in self._columns:
            return None
        return value if isinstance(value, float) else np.nan

    @property
    def limits(self) -> tuple[float, float]:
        """Resolved constant ``(L, U)``; ``-inf``/``inf`` where there is no (constant) censoring."""
        lo = -np.inf if self._ll is None else self._ll
        hi = np.inf if self._ul is None else self._ul
        if np.isnan(lo) or np.isnan(hi):
            raise FMMError("tobit limit 'min'/'max' is resolved from the data: call check_endog(y) first")
        return float(lo), float(hi)

    # ------------------------------------------------------------- data
    def data_columns(self) -> dict[str, str]:
        return dict(self._columns)

    def class_response(self, y, columns):
        """``y`` itself with constant limits; else the columns ``(y, L, U)`` (``-inf``/``inf``: no limit)."""
        if not columns:
            return y
        y = np.asarray(y, dtype=float)
        if y.ndim != 1:
            raise FMMError("family 'tobit' needs a single response column")
        n = len(y)
        lo = columns.get("lower", np.full(n, -np.inf))
        hi = columns.get("upper", np.full(n, np.inf))
        return np.column_stack([y, lo, hi])

    def _row_limits(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | float, np.ndarray | float]:
        """Response and the lower and upper limits of every row (arrays or resolved constants)."""
        if y.ndim == 1:
            lo, hi = self.limits
            return y, lo, hi
        lo_c, hi_c = self.limits
        lo = y[:, 1] if "lower" in self._columns else lo_c
        hi = y[:, 2] if "upper" in self._columns else hi_c
        return y[:, 0], lo, hi

    def __repr__(self) -> str:
        return f"<fmmreg family 'tobit' lower={self.lower!r} upper={self.upper!r}>"

    # ------------------------------------------------------------------ checks
    def check_endog(self, y, yname):
        y = np.asarray(y, dtype=float)
        if y.ndim != 1 and not self._columns:
            raise FMMError(f"family 'tobit' needs a single response column, {yname!r} has {y.shape[1]}")
        resp = y if y.ndim == 1 else y[:, 0]
        super().check_endog(resp, yname)
        if self.lower == "min":
            self._ll = float(resp.min())
        if self.upper == "max":
            self._ul = float(resp.max())
        resp, lo, hi = self._row_limits(y)
        if np.any(np.isnan(lo)) or np.any(np.isnan(hi)):
            raise FMMError(f"tobit limits of {yname!r} must not be missing")
        bad = ~(np.asarray(lo) < np.asarray(hi))
        if np.any(bad):
            names = f"{self.lower!r} and {self.upper!r}"
            raise FMMError(
                f"tobit limits for {yname!r} ({names}): the lower limit must be below the upper one "
                f"in every row ({int(np.sum(bad)) if np.ndim(bad) else 'all'} row(s) are not); "
                "the response does not vary between them"
            )
        n_cens = int(np.sum(resp <= lo) + np.sum(resp >= hi))
        if n_cens == 0:
            warnings.warn(
                f"no observation of {yname!r} is at or beyond the tobit limits ({lo:g}, {hi:g}); "
                "the tobit class is then a plain normal regression",
                UserWarning,
                stacklevel=3,
            )
        if n_cens == len(resp):
            raise FMMError(f"every observation of {yname!r} is censored; family 'tobit' cannot be estimated")
        return y

    # ----------------------------------------------------------------- density
    def _bounds(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y, lo_lim, hi_lim = self._row_limits(y)
        left = y <= lo_lim
        right = y >= hi_lim
        lo = np.where(left, -np.inf, np.where(right, hi_lim, y))
        hi = np.where(left, lo_lim, np.where(right, np.inf, y))
        return lo, hi

    def index_derivatives(self, y, eta, anc, order=2):
        lo, hi = self._bounds(np.asarray(y, dtype=float))
        return interval_normal(lo, hi, eta[:, 0], float(anc[0]), order)

    def mean_from_index(self, eta, anc):
        e = eta[:, 0]
        if self._columns:
            return e.copy()
        lo, hi = self.limits
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
        """The latent normal response, censored at the limits.

        With limit columns the draw keeps each row's limits from ``y`` (the
        observed ``(y, L, U)`` rows) and returns ``(y*, L, U)`` rows; without
        ``y`` those rows have no limit on the column's side.
        """
        latent = eta[:, 0] + np.exp(anc[0]) * rng.standard_normal(eta.shape[0])
        if not self._columns:
            lo, hi = self.limits
            return np.clip(latent, lo, hi)
        n = eta.shape[0]
        template = np.column_stack([np.zeros(n), np.full(n, -np.inf), np.full(n, np.inf)]) if y is None else y
        _, lo, hi = self._row_limits(np.asarray(template, dtype=float))
        lo, hi = np.broadcast_to(lo, (n,)), np.broadcast_to(hi, (n,))
        return np.column_stack([np.clip(latent, lo, hi), lo, hi])

    def response_parts(self, y):
        if not self._columns:
            return y, {}
        y = np.asarray(y, dtype=float)
        return y[:, 0], {side: y[:, 1 if side == "lower" else 2] for side in self._columns}

    def ancillary_display(self, term, yname):
        return (f"var(e.{yname})", lambda a: np.exp(2.0 * a), lambda a: 2.0 * np.exp(2.0 * a))

    # ---------------------------------------------------------------- fitting
    def initial_params(self, y, X, c):
        """Least squares on the observed values, censored ones included."""
        y = np.asarray(y, dtype=float)
        return Gaussian().with_offset(self.offset).fit_weighted(y if y.ndim == 1 else y[:, 0], X, c)
