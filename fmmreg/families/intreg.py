"""Interval-censored normal regression (Stata ``intreg``), ancillary ``lnsigma``."""

from __future__ import annotations

import numpy as np

from fmmreg.exceptions import FMMError
from fmmreg.families._intervals import interval_normal
from fmmreg.families.base import ComponentFamily
from fmmreg.families.gaussian import Gaussian


def _column_names(yname: str) -> tuple[str, str]:
    parts = [p.strip() for p in yname.split("+")]
    if len(parts) == 2:
        return parts[0], parts[1]
    return f"{yname}[lower]", f"{yname}[upper]"


class IntervalRegression(ComponentFamily):
    """Normal linear regression for a response known only to lie in an interval.

    The response has two columns, the lower and the upper end, written as
    ``"lo + hi ~ x1 + x2"`` (the order of Stata's ``intreg lo hi x1 x2``).

    Notes
    -----
    Per observation, with ``y* ~ N(x'b, s^2)``:

    - ``lo == hi``: the value is observed exactly, ``log f = log phi((lo - x'b)/s) - log s``;
    - ``lo < hi``: ``log f = log(Phi((hi - x'b)/s) - Phi((lo - x'b)/s))``;
    - ``lo`` missing (NaN) or ``-inf``: left-censored at ``hi`` (``Phi(-inf) = 0``);
    - ``hi`` missing or ``+inf``: right-censored at ``lo``.

    Rows with both ends missing carry no information; Stata drops them, here
    they are an error (drop them before fitting) because the formula layer
    keeps rows with a missing response for this family. ``lo > hi`` is an
    error naming both variables. ``ln s`` is the ancillary ``lnsigma``, shown
    as ``var(e.lo)``. The fitted mean is that of the latent ``y*``, ``x'b``.
    The derivatives are in :func:`fmmreg.families._intervals.interval_normal`.
    """

    name = "intreg"
    stata_model = "intreg"
    ancillary_names = ("lnsigma",)
    response_missing_ok = True

    # ------------------------------------------------------------------ checks
    def check_endog(self, y, yname):
        y = np.asarray(y, dtype=float)
        if y.ndim != 2 or y.shape[1] != 2:
            raise FMMError(
                f"family 'intreg' needs two response columns (lower and upper end), "
                f"written as 'lo + hi ~ x'; got {yname!r}"
            )
        lo_name, hi_name = _column_names(yname)
        lo = np.where(np.isnan(y[:, 0]), -np.inf, y[:, 0])
        hi = np.where(np.isnan(y[:, 1]), np.inf, y[:, 1])
        both = np.isnan(y[:, 0]) & np.isnan(y[:, 1])
        if both.any():
            raise FMMError(
                f"response {yname!r}: {int(both.sum())} row(s) have both {lo_name!r} and {hi_name!r} missing; "
                "they carry no information for family 'intreg' (Stata drops them): drop them first"
            )
        bad = lo > hi
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FMMError(
                f"response {yname!r}: {int(bad.sum())} row(s) have the lower end {lo_name!r} above the upper end "
                f"{hi_name!r} "
                f"(first: {lo[i]:g} > {hi[i]:g}); family 'intreg' needs {lo_name} <= {hi_name}"
            )
        empty = (lo == hi) & ~np.isfinite(lo)
        empty |= np.isposinf(lo) | np.isneginf(hi)
        if empty.any():
            raise FMMError(
                f"response {yname!r}: {int(empty.sum())} row(s) describe an empty interval at infinity; "
                "family 'intreg' needs lo < inf and hi > -inf"
            )
        return np.column_stack([lo, hi])

    # ----------------------------------------------------------------- density
    def index_derivatives(self, y, eta, anc, order=2):
        y = np.asarray(y, dtype=float)
        lo = np.where(np.isnan(y[:, 0]), -np.inf, y[:, 0])
        hi = np.where(np.isnan(y[:, 1]), np.inf, y[:, 1])
        return interval_normal(lo, hi, eta[:, 0], float(anc[0]), order)

    def mean_from_index(self, eta, anc):
        return eta[:, 0]

    def ancillary_display(self, term, yname):
        lo_name = _column_names(yname)[0]
        return (f"var(e.{lo_name})", lambda a: np.exp(2.0 * a), lambda a: 2.0 * np.exp(2.0 * a))

    # ---------------------------------------------------------------- fitting
    def initial_params(self, y, X, c):
        """Least squares on a point value per row: the midpoint, or the finite end."""
        y = np.asarray(y, dtype=float)
        lo = np.where(np.isfinite(y[:, 0]), y[:, 0], np.nan)
        hi = np.where(np.isfinite(y[:, 1]), y[:, 1], np.nan)
        mid = np.where(np.isnan(lo), hi, np.where(np.isnan(hi), lo, 0.5 * (lo + hi)))
        params = Gaussian().with_offset(self.offset).fit_weighted(mid, X, c)
        # a crude sd when many rows are censored or all intervals are wide
        width = np.where(np.isfinite(lo) & np.isfinite(hi), hi - lo, np.nan)
        if np.isfinite(params[-1]) and np.any(np.isfinite(width)):
            params[-1] = max(params[-1], float(np.log(np.nanmean(width) / 4.0 + 1e-12)))
        return params
