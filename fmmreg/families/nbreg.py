"""Negative binomial components: NB2 (Stata ``nbreg``) and NB1 (``nbreg, dispersion(constant)``).

Both tend to the Poisson as their dispersion goes to zero, a boundary that a
class of a mixture reaches easily. The textbook formulas then subtract huge
``lgamma``/``psi`` values and lose every digit (at ``alpha = 1e-12`` the log
density is off by more than 1), so the gamma-function differences are
computed by :func:`lgamma_ratio`, :func:`digamma_ratio` and
:func:`trigamma_diff_r2`, which switch to asymptotic series for large sizes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import digamma, expit, gammaln, polygamma

from fmmreg.families.base import AncillaryDisplay, ComponentFamily, log_factorial
from fmmreg.families.glm import check_nonnegative, check_single_column, poisson

#: Size above which the gamma-function differences use their asymptotic series
#: (truncation error below 1e-17 there; the direct formulas lose ~eps * r log r).
_ASYMPTOTIC = 1e4

_Fn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _piecewise(y: np.ndarray, r: float | np.ndarray, direct: _Fn, series: _Fn) -> np.ndarray:
    """``direct(y, r)`` where ``r <= _ASYMPTOTIC``, ``series(y, r)`` elsewhere."""
    r = np.broadcast_to(np.asarray(r, dtype=float), np.shape(y))
    big = r > _ASYMPTOTIC
    if not big.any():
        return direct(y, r)
    if big.all():
        return series(y, r)
    out = np.empty(np.shape(y))
    out[big] = series(y[big], r[big])
    out[~big] = direct(y[~big], r[~big])
    return out


def lgamma_ratio(y: np.ndarray, r: float | np.ndarray) -> np.ndarray:
    """``lgamma(y + r) - lgamma(r) - y log r``, accurate also for ``r >> y``.

    Notes
    -----
    For large ``r`` the difference of the Stirling series,
    ``(w - 1/2) log(1 + y/r) - y + S(w) - S(r)`` with ``w = r + y`` and
    ``S(z) = 1/(12 z) - 1/(360 z^3)``, replaces the difference of two huge
    ``lgamma`` values.
    """

    def direct(y, r):
        return gammaln(y + r) - gammaln(r) - y * np.log(r)

    def series(y, r):
        w = r + y
        return (w - 0.5) * np.log1p(y / r) - y + (1.0 / w - 1.0 / r) / 12.0 - (w**-3 - r**-3) / 360.0

    return _piecewise(y, r, direct, series)


def digamma_ratio(y: np.ndarray, r: float | np.ndarray) -> np.ndarray:
    """``[psi(y + r) - log(y + r)] - [psi(r) - log r]``, accurate for large ``r``.

    Notes
    -----
    From ``psi(z) - log z = -1/(2 z) - 1/(12 z^2) + O(z^-4)``, for large ``r``
    it is ``y/(2 r w) + y (1 + r/w)/(12 r^2 w)`` with ``w = r + y``.
    """

    def direct(y, r):
        return digamma(y + r) - np.log(y + r) - digamma(r) + np.log(r)

    def series(y, r):
        w = r + y
        return y / (2.0 * w) / r + y * (1.0 + r / w) / (12.0 * w) / r / r

    return _piecewise(y, r, direct, series)


def trigamma_diff_r2(y: np.ndarray, r: float | np.ndarray) -> np.ndarray:
    """``r^2 [psi'(y + r) - psi'(r)]``, accurate for large ``r`` (where it tends to ``-y``).

    Notes
    -----
    From ``psi'(z) = 1/z + 1/(2 z^2) + 1/(6 z^3) + O(z^-5)``, for large ``r``
    (``w = r + y``, ``rho = r/w``) it is
    ``-rho y - y (1 + rho)/(2 w) - y (1 + rho + rho^2)/(6 r w)``.
    """

    def direct(y, r):
        return r * r * (polygamma(1, y + r) - polygamma(1, r))

    def series(y, r):
        w = r + y
        rho = r / w
        return -rho * y - y * (1.0 + rho) / (2.0 * w) - y * (1.0 + rho + rho * rho) / (6.0 * w) / r

    return _piecewise(y, r, direct, series)


def _poisson_start(y: np.ndarray, X: np.ndarray, c: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
    """Coefficients of a weighted Poisson fit (a few Newton steps)."""
    return poisson().with_offset(offset).fit_weighted(y, X, c, maxiter=10)


class _NegativeBinomial(ComponentFamily):
    """What NB2 and NB1 share: a nonnegative count response with mean ``exp(eta)``."""

    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        check_single_column(y, yname, self.name)
        check_nonnegative(y, yname, self.name)
        return y

    def mean_from_index(self, eta, anc):
        return np.exp(eta[:, 0])

    def ancillary_display(self, term, yname):
        # Stata's nbreg prints /lnalpha (or /lndelta), a rule, then alpha (delta) = exp(.)
        return AncillaryDisplay(term[2:], np.exp, np.exp, keep_estimate=True)


def _gamma_poisson(rng: np.random.Generator, size: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Negative binomial draws with the given size and mean (Poisson once the size is huge)."""
    size = np.broadcast_to(np.asarray(size, dtype=float), mu.shape)
    out = rng.poisson(mu).astype(float)
    finite = size < 1e12
    if finite.any():
        s = size[finite]
        out[finite] = rng.negative_binomial(s, s / (s + mu[finite]))
    return out


class NegativeBinomial2(_NegativeBinomial):
    """Negative binomial with mean dispersion, NB2 (Stata ``nbreg``).

    Notes
    -----
    ``Var y = mu (1 + alpha mu)`` with ``mu = exp(eta)`` and ancillary
    ``a = ln alpha`` (Stata's ``/lnalpha``; ``alpha = exp(lnalpha)``). With
    ``r = 1/alpha`` and ``L = log(1 + alpha mu)``:

    ``log f = lgamma(y + r) - lgamma(r) - lgamma(y + 1) - r L + y (log(alpha mu) - L)
    = D(y, r) - lgamma(y + 1) - r L + y (eta - L)``

    with ``D = lgamma(y + r) - lgamma(r) - y log r`` (:func:`lgamma_ratio`).
    Index derivatives, with ``p = alpha mu / (1 + alpha mu)``, ``q = 1 - p``,
    ``t = (y - mu)/(r + mu)`` and ``dH`` of :func:`digamma_ratio`:

    - ``d_eta = (y - mu)/(1 + alpha mu) = y q - r p``
    - ``d_eta,eta = -mu (1 + alpha y)/(1 + alpha mu)^2 = -r p q (1 + alpha y)``
    - ``d_a = -r G``, ``G = psi(y + r) - psi(r) - L + 1 - (1 + alpha y) q
      = log(1 + t) - t + dH``
    - ``d_eta,a = -p d_eta``
    - ``d_a,a = r G + r^2 (psi'(y + r) - psi'(r)) + (mu^2/r + y) q^2``

    (observed, not expected, second derivatives). The rewritten forms stay
    accurate as ``alpha -> 0`` (the Poisson limit); ``ln alpha`` below -700
    is evaluated at -700, the Poisson to machine precision.
    """

    name = "nbreg"
    stata_model = "nbreg"
    ancillary_names = ("lnalpha",)

    def index_derivatives(self, y, eta, anc, order=2):
        eta = eta[:, 0]
        a = max(float(anc[0]), -700.0)
        r = np.exp(-a)
        x = eta + a
        L = np.logaddexp(0.0, x)
        logf = lgamma_ratio(y, r) - log_factorial(y) - r * L + y * (eta - L)
        if order == 0:
            return logf, None, None
        p, q = expit(x), expit(-x)
        mu = np.exp(eta)
        t = (y - mu) / (r + mu)
        G = np.log1p(t) - t + digamma_ratio(y, r)
        d1 = np.empty((len(eta), 2))
        d1[:, 0] = y * q - r * p
        d1[:, 1] = -r * G
        if order == 1:
            return logf, d1, None
        d2 = np.empty((len(eta), 2, 2))
        d2[:, 0, 0] = -r * p * q * (1.0 + np.exp(a) * y)
        d2[:, 0, 1] = d2[:, 1, 0] = -p * d1[:, 0]
        d2[:, 1, 1] = r * G + trigamma_diff_r2(y, r) + (mu * mu / r + y) * q * q
        return logf, d1, d2

    def rvs(self, eta, anc, rng, y=None):
        """Gamma-Poisson draws with size ``r = 1/alpha``."""
        return _gamma_poisson(rng, np.exp(-max(float(anc[0]), -700.0)), np.exp(eta[:, 0]))

    def initial_params(self, y, X, c):
        """Poisson coefficients and the moment estimate of ``alpha``."""
        beta = _poisson_start(y, X, c, self.offset)
        mu = np.exp(X @ beta + self._offset_or_zero())
        alpha = float(c @ ((y - mu) ** 2 - mu)) / float(c @ (mu * mu))
        return np.append(beta, np.log(max(alpha, 0.05)))


class NegativeBinomial1(_NegativeBinomial):
    """Negative binomial with constant dispersion, NB1 (Stata ``nbreg, dispersion(constant)``).

    Notes
    -----
    ``Var y = mu (1 + delta)`` with ``mu = exp(eta)`` and ancillary
    ``d = ln delta`` (Stata's ``/lndelta``). ``y`` is negative binomial with
    size ``m = mu/delta = exp(eta - d)`` and success probability
    ``1/(1 + delta)``. With ``Ld = log(1 + delta)``, ``pd = delta/(1 + delta)``
    and the accurate differences ``D`` (:func:`lgamma_ratio`) and ``dH``
    (:func:`digamma_ratio`):

    ``log f = lgamma(y + m) - lgamma(m) - lgamma(y + 1) - m Ld + y (d - Ld)
    = D(y, m) - lgamma(y + 1) - m Ld + y (eta - Ld)``

    and, with ``P = m (psi(y + m) - psi(m)) = m log(1 + y/m) + m dH``:

    - ``d_eta = P - m Ld``
    - ``d_eta,eta = P + m^2 (psi'(y + m) - psi'(m)) - m Ld``
    - ``d_d = -d_eta - m pd + y (1 - pd)``
    - ``d_eta,d = -d_eta,eta - m pd``
    - ``d_d,d = -d_eta,d + m pd^2 - y pd (1 - pd)``

    This is ``statsmodels`` ``NegativeBinomialP(p=1)`` with ``alpha = delta``.
    As ``delta -> 0`` it tends to the Poisson; ``ln delta`` below -500 is
    evaluated at -500.
    """

    name = "nbreg1"
    stata_model = "nbreg, dispersion(constant)"
    ancillary_names = ("lndelta",)

    def index_derivatives(self, y, eta, anc, order=2):
        eta = eta[:, 0]
        d = max(float(anc[0]), -500.0)
        m = np.exp(eta - d)
        Ld = np.logaddexp(0.0, d)
        logf = lgamma_ratio(y, m) - log_factorial(y) - m * Ld + y * (eta - Ld)
        if order == 0:
            return logf, None, None
        pd = expit(d)
        P = m * (np.log1p(y / m) + digamma_ratio(y, m))
        d1 = np.empty((len(eta), 2))
        d1[:, 0] = P - m * Ld
        d1[:, 1] = -d1[:, 0] - m * pd + y * (1.0 - pd)
        if order == 1:
            return logf, d1, None
        d2 = np.empty((len(eta), 2, 2))
        d2[:, 0, 0] = P + trigamma_diff_r2(y, m) - m * Ld
        d2[:, 0, 1] = d2[:, 1, 0] = -d2[:, 0, 0] - m * pd
        d2[:, 1, 1] = -d2[:, 0, 1] + m * pd * pd - y * pd * (1.0 - pd)
        return logf, d1, d2

    def rvs(self, eta, anc, rng, y=None):
        """Negative binomial draws with size ``mu/delta``."""
        mu = np.exp(eta[:, 0])
        return _gamma_poisson(rng, mu / np.exp(max(float(anc[0]), -500.0)), mu)

    def initial_params(self, y, X, c):
        """Poisson coefficients and the moment estimate of ``delta``."""
        beta = _poisson_start(y, X, c, self.offset)
        mu = np.exp(X @ beta + self._offset_or_zero())
        delta = float(c @ ((y - mu) ** 2)) / float(c @ mu) - 1.0
        return np.append(beta, np.log(max(delta, 0.05)))
