"""Shared numerics of the censored, truncated and ordinal families.

Probabilities of intervals ``F(b) - F(a)`` of a symmetric distribution are
computed in log space from the tail on the side where they do not cancel, and
the log density of an interval-censored normal observation comes with its
first and second derivatives with respect to ``(eta, ln sigma)``. The tobit,
intreg and truncreg families are thin wrappers around
:func:`interval_normal`; the ordinal families use :func:`log_diff_cdf`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import log_ndtr

LOG_SQRT_2PI = 0.5 * float(np.log(2.0 * np.pi))


def log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate at both ends (Maechler 2012)."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    near = x > -np.log(2.0)
    with np.errstate(divide="ignore"):
        out[near] = np.log(-np.expm1(x[near]))
        out[~near] = np.log1p(-np.exp(x[~near]))
    return out


def log_diff_cdf(
    a: np.ndarray,
    b: np.ndarray,
    logcdf: Callable[[np.ndarray], np.ndarray],
    logsf: Callable[[np.ndarray], np.ndarray] | None = None,
    median: float = 0.0,
) -> np.ndarray:
    """``log(F(b) - F(a))`` for ``a < b``, from the tail where it does not cancel.

    Where the interval lies in the upper half (``(a + b)/2 > median``) it is
    ``log(S(a) - S(b))`` with the survival function ``S = 1 - F``, so that
    neither end is computed as ``1 - tiny``. ``logsf`` defaults to the
    symmetric ``log S(x) = log F(-x)`` (``median = 0``); an asymmetric
    distribution (the complementary log-log) passes its own. Either end may
    be infinite.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if logsf is None:
        logsf = lambda x: logcdf(-x)  # noqa: E731
    with np.errstate(invalid="ignore"):
        upper = (a + b) > 2.0 * median
    # upper: log S(a) + log(1 - S(b)/S(a)); lower: log F(b) + log(1 - F(a)/F(b))
    near = np.where(upper, a, b)
    far = np.where(upper, b, a)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        log_near = np.where(upper, logsf(near), logcdf(near))
        log_far = np.where(upper, logsf(far), logcdf(far))
        diff = log_far - log_near
    diff = np.where(np.isneginf(log_far), -np.inf, diff)
    return log_near + log1mexp(np.minimum(diff, 0.0))


def normal_logpdf(x: np.ndarray) -> np.ndarray:
    """Standard normal log density (``-inf`` at infinite ``x``)."""
    with np.errstate(over="ignore"):
        return -0.5 * x * x - LOG_SQRT_2PI


def _ratio_moments(x: np.ndarray, logp: np.ndarray) -> tuple[np.ndarray, ...]:
    """``x^j phi(x) / p`` for ``j = 0..3``, zero where ``x`` is infinite."""
    fin = np.isfinite(x)
    xs = np.where(fin, x, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        r0 = np.where(fin, np.exp(normal_logpdf(xs) - logp), 0.0)
    return r0, xs * r0, xs * xs * r0, xs * xs * xs * r0


def interval_normal(
    lo: np.ndarray, hi: np.ndarray, eta: np.ndarray, lnsigma: float, order: int = 2
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Log likelihood of ``y* ~ N(eta, sigma^2)`` observed as ``lo <= y* <= hi``.

    Parameters
    ----------
    lo, hi : ndarray, shape (n,)
        Interval ends; ``lo == hi`` is an exactly observed value (log
        density), ``lo = -inf`` / ``hi = +inf`` are open ends.
    eta : ndarray, shape (n,)
        Mean of the latent normal.
    lnsigma : float
        Log standard deviation.
    order : {0, 1, 2}
        Highest derivative wanted.

    Returns
    -------
    logf, d1, d2
        As :meth:`ComponentFamily.index_derivatives` with indices
        ``(eta, lnsigma)``.

    Notes
    -----
    With ``s = exp(lnsigma)``, ``a = (lo - eta)/s``, ``b = (hi - eta)/s`` and
    ``p = Phi(b) - Phi(a)``, an interval contributes ``log p``. Writing
    ``R_j = (b^j phi(b) - a^j phi(a)) / p`` (terms at infinite ends are 0)::

        d eta        = -R_0 / s
        d lns        = -R_1
        d eta eta    = -R_1 / s^2            - (d eta)^2
        d eta lns    = (R_0 - R_2) / s       - (d eta)(d lns)
        d lns lns    = R_1 - R_3             - (d lns)^2

    (each first term is the second derivative of ``p`` divided by ``p``).
    A point ``lo == hi = y`` contributes the normal log density with the
    Gaussian family's derivatives.
    """
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    n = len(eta)
    s = float(np.exp(lnsigma))
    point = lo == hi
    interval = ~point
    logf = np.empty(n)
    d1 = np.zeros((n, 2)) if order >= 1 else None
    d2 = np.zeros((n, 2, 2)) if order >= 2 else None

    if point.any():
        z = (lo[point] - eta[point]) / s
        logf[point] = normal_logpdf(z) - lnsigma
        if order >= 1:
            d1[point, 0] = z / s
            d1[point, 1] = z * z - 1.0
        if order >= 2:
            d2[point, 0, 0] = -1.0 / (s * s)
            d2[point, 0, 1] = d2[point, 1, 0] = -2.0 * z / s
            d2[point, 1, 1] = -2.0 * z * z

    if interval.any():
        e = eta[interval]
        a = (lo[interval] - e) / s
        b = (hi[interval] - e) / s
        logp = log_diff_cdf(a, b, log_ndtr)
        logf[interval] = logp
        if order >= 1:
            a0, a1, a2, a3 = _ratio_moments(a, logp)
            b0, b1, b2, b3 = _ratio_moments(b, logp)
            r0, r1 = b0 - a0, b1 - a1
            g_eta = -r0 / s
            g_lns = -r1
            d1[interval, 0] = g_eta
            d1[interval, 1] = g_lns
            if order >= 2:
                r2, r3 = b2 - a2, b3 - a3
                d2[interval, 0, 0] = -r1 / (s * s) - g_eta * g_eta
                d2[interval, 0, 1] = d2[interval, 1, 0] = (r0 - r2) / s - g_eta * g_lns
                d2[interval, 1, 1] = r1 - r3 - g_lns * g_lns
    return logf, d1, d2


def normal_interval_mean(lo: float, hi: float, eta: np.ndarray, lnsigma: float) -> np.ndarray:
    """``E[y* | lo < y* < hi]`` for ``y* ~ N(eta, s^2)`` (scalar limits, may be infinite)."""
    s = float(np.exp(lnsigma))
    a = (lo - eta) / s
    b = (hi - eta) / s
    logp = log_diff_cdf(a, b, log_ndtr)
    a0 = _ratio_moments(a, logp)[0]
    b0 = _ratio_moments(b, logp)[0]
    return eta + s * (a0 - b0)
