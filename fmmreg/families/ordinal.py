"""Ordered logit and probit (Stata ``ologit``, ``oprobit``), cut points ``/cut1 ...``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit, log_ndtr, logit, ndtr, ndtri

from fmmreg.exceptions import FMMError
from fmmreg.families._intervals import log_diff_cdf, normal_logpdf
from fmmreg.families.base import ComponentFamily, draw_categories

#: More distinct values than this is almost surely a continuous response.
MAX_CATEGORIES = 50


def _logistic_logcdf(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def _logistic_logpdf(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    return -ax - 2.0 * np.log1p(np.exp(-ax))


def _logistic_dlogpdf(x: np.ndarray) -> np.ndarray:
    return -np.tanh(0.5 * x)


def _gumbel_min_logcdf(x: np.ndarray) -> np.ndarray:
    """``log F`` of the complementary log-log link, ``F(x) = 1 - exp(-e^x)``."""
    with np.errstate(over="ignore"):
        return np.log(-np.expm1(-np.exp(x)))


def _gumbel_min_logsf(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return -np.exp(x)


def _gumbel_min_logpdf(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return x - np.exp(x)


def _gumbel_min_dlogpdf(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 - np.exp(x)


_LINKS = {
    # name: (logcdf, logpdf, d log pdf / dx, cdf, quantile, log survival (None: symmetric), median)
    "logit": (_logistic_logcdf, _logistic_logpdf, _logistic_dlogpdf, expit, logit, None, 0.0),
    "probit": (log_ndtr, normal_logpdf, lambda x: -x, ndtr, ndtri, None, 0.0),
    "cloglog": (
        _gumbel_min_logcdf,
        _gumbel_min_logpdf,
        _gumbel_min_dlogpdf,
        lambda x: -np.expm1(-np.exp(x)),
        lambda p: np.log(-np.log1p(-p)),
        _gumbel_min_logsf,
        float(np.log(np.log(2.0))),
    ),
}
_NAMES = {"logit": "ologit", "probit": "oprobit", "cloglog": "ocloglog"}


def category_levels(y: np.ndarray, yname: str, family: str, levels=None, min_levels: int = 2) -> np.ndarray:
    """Sorted category values of ``y``, checked; shared with ``mlogit``.

    Raises
    ------
    ValueError
        Naming ``yname`` and ``family`` for too few or too many categories,
        or values outside the declared ``levels``.
    """
    observed = np.unique(y)
    if levels is None:
        lv = observed
    else:
        lv = np.unique(np.asarray(levels, dtype=float))
        extra = np.setdiff1d(observed, lv)
        if extra.size:
            raise FMMError(
                f"response {yname!r} has value(s) {extra[:5].tolist()} not among the levels {lv.tolist()} "
                f"given to family {family!r}"
            )
        unused = np.setdiff1d(lv, observed)
        if unused.size:
            raise FMMError(
                f"level(s) {unused.tolist()} given to family {family!r} never occur in {yname!r}; "
                "their parameters would not be identified"
            )
    if lv.size < min_levels:
        raise FMMError(
            f"response {yname!r} has {lv.size} distinct value(s) {lv.tolist()}; family {family!r} needs at "
            f"least {min_levels} categories"
        )
    if lv.size > MAX_CATEGORIES:
        raise FMMError(
            f"response {yname!r} has {lv.size} distinct values; family {family!r} takes at most "
            f"{MAX_CATEGORIES} categories (is the response continuous?)"
        )
    return lv


def level_label(v: float) -> str:
    """``2.0 -> '2'``; other values as printed by Python."""
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


class OrderedFamily(ComponentFamily):
    """Ordered-response regression with cumulative link ``F`` (logistic or normal).

    Parameters
    ----------
    link : {"logit", "probit", "cloglog"}
        Cumulative link: Stata's ``ologit``, ``oprobit`` and the
        complementary log-log of ``gsem``'s ordinal family (``ocloglog``,
        ``F(x) = 1 - exp(-e^x)``).
    levels : sequence of float, optional
        The ordered category values. By default they are the distinct values
        of the response in the estimation sample (sorted), learned when the
        model checks the response.

    Notes
    -----
    With categories ``1..J`` (the sorted distinct values of ``y``), cut
    points ``c_1 < ... < c_{J-1}`` (``c_0 = -inf``, ``c_J = inf``) and the
    linear index ``eta = x'b`` (the design has no intercept: the cut points
    take its role, Stata's parametrisation)::

        P(y = j) = F(c_j - eta) - F(c_{j-1} - eta).

    With ``u = c_j - eta``, ``l = c_{j-1} - eta``, ``r_u = f(u)/P``,
    ``r_l = f(l)/P``, ``s_u = f'(u)/P``, ``s_l = f'(l)/P`` the non-zero index
    derivatives of ``log P`` are::

        d eta = r_l - r_u,        d c_j = r_u,        d c_{j-1} = -r_l,
        d eta eta = s_u - s_l - (d eta)^2,
        d eta c_j = -s_u - (d eta) r_u,      d eta c_{j-1} = s_l + (d eta) r_l,
        d c_j c_j = s_u - r_u^2,  d c_{j-1} c_{j-1} = -s_l - r_l^2,  d c_j c_{j-1} = r_u r_l.

    ``f'/f`` is ``-x`` for the normal, ``-tanh(x/2)`` for the logistic and
    ``1 - e^x`` for the complementary log-log.
    Interval probabilities are computed in log space from the tail where they
    do not cancel. The cut points are estimated unconstrained, shown as
    ``/cut1``, ``/cut2``, ... ; cut points that are not strictly increasing
    give density zero to every observation (so a Newton step that would
    reorder them is rejected, and in a mixture such a class cannot borrow
    probability it does not have). A response with
    fewer than two distinct values is a ``ValueError``. The fitted mean is
    ``sum_j v_j P(y = j)`` with ``v_j`` the category values.
    """

    intercept = False

    def __init__(self, link: str = "logit", levels: Sequence[float] | None = None):
        if link not in _LINKS:
            raise FMMError(f"ordered link must be one of {sorted(_LINKS)}, got {link!r}")
        self.link = link
        self.name = _NAMES[link]
        self.stata_model = self.name
        self._logcdf, self._logpdf, self._dlogpdf, self._cdf, self._ppf, self._logsf, self._median = _LINKS[link]
        self._fixed_levels = None if levels is None else np.unique(np.asarray(levels, dtype=float))
        self.levels: np.ndarray | None = self._fixed_levels
        if self.levels is not None and self.levels.size < 2:
            raise FMMError(f"family {self.name!r} needs at least 2 levels, got {self.levels.tolist()}")

    def __repr__(self) -> str:
        return f"<fmmreg family {self.name!r} levels={None if self.levels is None else self.levels.tolist()}>"

    @property
    def ancillary_names(self) -> tuple[str, ...]:  # type: ignore[override]
        if self.levels is None:
            return ()
        return tuple(f"cut{j}" for j in range(1, len(self.levels)))

    def _codes(self, y: np.ndarray) -> np.ndarray:
        if self.levels is None:
            raise ValueError(f"family {self.name!r} does not know the categories yet: call check_endog(y) first")
        y = np.asarray(y, dtype=float)
        codes = np.searchsorted(self.levels, y)
        codes = np.minimum(codes, len(self.levels) - 1)
        if not np.array_equal(self.levels[codes], y):
            raise FMMError(f"response values outside the levels {self.levels.tolist()} of family {self.name!r}")
        return codes

    # ------------------------------------------------------------------ checks
    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        if y.ndim != 1:
            raise FMMError(f"family {self.name!r} needs a single response column, {yname!r} has {y.shape[1]}")
        self.levels = category_levels(y, yname, self.name, self._fixed_levels)
        return y

    # ----------------------------------------------------------------- density
    def _ends(self, codes: np.ndarray, eta: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = np.concatenate([[-np.inf], cuts, [np.inf]])
        return full[codes + 1] - eta, full[codes] - eta

    def index_derivatives(self, y, eta, anc, order=2):
        codes = self._codes(y)
        e = eta[:, 0]
        cuts = np.asarray(anc, dtype=float)
        n, ncut = len(e), len(cuts)
        if not np.all(np.diff(cuts) > 0):
            # misordered cut points do not define a distribution: no density
            # anywhere (in a mixture the class then explains no observation)
            logp = np.full(n, -np.inf)
            d1 = np.zeros((n, 1 + ncut)) if order >= 1 else None
            d2 = np.zeros((n, 1 + ncut, 1 + ncut)) if order >= 2 else None
            return logp, d1, d2
        u, l = self._ends(codes, e, cuts)
        with np.errstate(invalid="ignore"):
            logp = log_diff_cdf(l, u, self._logcdf, self._logsf, self._median)
            logp = np.where(np.isnan(logp), -np.inf, logp)
        if order == 0:
            return logp, None, None
        fu, fl = np.isfinite(u), np.isfinite(l)
        us, ls = np.where(fu, u, 0.0), np.where(fl, l, 0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            ru = np.where(fu, np.exp(self._logpdf(us) - logp), 0.0)
            rl = np.where(fl, np.exp(self._logpdf(ls) - logp), 0.0)
        rows = np.arange(n)
        up, lo = codes < ncut, codes > 0
        d1 = np.zeros((n, 1 + ncut))
        g = rl - ru
        d1[:, 0] = g
        d1[rows[up], 1 + codes[up]] = ru[up]
        d1[rows[lo], codes[lo]] = -rl[lo]
        if order == 1:
            return logp, d1, None
        su = ru * self._dlogpdf(us)
        sl = rl * self._dlogpdf(ls)
        d2 = np.zeros((n, 1 + ncut, 1 + ncut))
        d2[:, 0, 0] = su - sl - g * g
        iu, il = rows[up], rows[lo]
        cu, cl = 1 + codes[up], codes[lo]
        d2[iu, 0, cu] = d2[iu, cu, 0] = -su[up] - g[up] * ru[up]
        d2[il, 0, cl] = d2[il, cl, 0] = sl[lo] + g[lo] * rl[lo]
        d2[iu, cu, cu] = su[up] - ru[up] ** 2
        d2[il, cl, cl] = -sl[lo] - rl[lo] ** 2
        both = up & lo
        ib, cbu, cbl = rows[both], 1 + codes[both], codes[both]
        d2[ib, cbu, cbl] = d2[ib, cbl, cbu] = ru[both] * rl[both]
        return logp, d1, d2

    def probabilities(self, eta: np.ndarray, anc: np.ndarray) -> np.ndarray:
        """Category probabilities, shape (n, J), columns in the order of ``levels``."""
        cum = self._cdf(np.asarray(anc, dtype=float)[None, :] - eta[:, [0]])
        cum = np.column_stack([np.zeros(len(cum)), cum, np.ones(len(cum))])
        return np.diff(cum, axis=1)

    def rvs(self, eta, anc, rng, y=None):
        return self.levels[draw_categories(rng, self.probabilities(eta, anc))]

    def mean_from_index(self, eta, anc):
        return self.probabilities(eta, anc) @ self.levels

    # ---------------------------------------------------------------- fitting
    def initial_params(self, y, X, c):
        """``b = 0`` and the cut points of the weighted marginal distribution."""
        codes = self._codes(y)
        J = len(self.levels)
        share = np.bincount(codes, weights=c, minlength=J) / max(float(np.sum(c)), 1e-300)
        cum = np.clip(np.cumsum(share)[:-1], 1e-4, 1.0 - 1e-4)
        cuts = self._ppf(cum)
        # keep them strictly increasing even for empty categories
        for j in range(1, len(cuts)):
            cuts[j] = max(cuts[j], cuts[j - 1] + 1e-3)
        return np.concatenate([np.zeros(X.shape[1]), cuts])


def ologit(levels: Sequence[float] | None = None) -> OrderedFamily:
    """Ordered logit (Stata ``ologit``)."""
    return OrderedFamily("logit", levels)


def oprobit(levels: Sequence[float] | None = None) -> OrderedFamily:
    """Ordered probit (Stata ``oprobit``)."""
    return OrderedFamily("probit", levels)


def ocloglog(levels: Sequence[float] | None = None) -> OrderedFamily:
    """Ordered complementary log-log (Stata ``gsem``'s ``ocloglog``, ``family(ordinal) link(cloglog)``)."""
    return OrderedFamily("cloglog", levels)
