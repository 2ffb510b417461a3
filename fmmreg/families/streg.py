"""Parametric survival components (Stata ``streg``): right censoring and delayed entry.

``fmm(2, "time ~ age", data=df, family=Streg("weibull", failure="died"))``
is Stata's ``stset time, failure(died)`` followed by
``fmm 2: streg age, distribution(weibull)``. The response of the formula is
the analysis time; the failure indicator and the entry time are data columns
the family reads (:meth:`ComponentFamily.data_columns`), named as in
``stset``: ``failure=`` (nonzero means failure, as Stata's ``failure()``;
without it every record ends in a failure) and ``entry=`` (delayed entry,
left truncation: Stata's ``enter()``/``_t0``). An R user reads
``Streg("weibull", failure="died", entry="t0")`` with ``"time ~ x"`` as
``Surv(t0, time, died) ~ x``.

A cure model (Stata's FMM Example 4) is a point mass at "never fails" plus a
survival class: ``family=[PointMass(0, response="died"), Streg("weibull",
failure="died")]`` -- the point-mass class puts all its probability on
``died == 0`` (censored rows), so a censored row is explained either by the
cured class or by surviving in the survival class, a failure only by the
survival class.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import (
    digamma,
    expit,
    gammainc,
    gammaincc,
    gammainccinv,
    gammaln,
    log_ndtr,
    ndtri_exp,
    polygamma,
)

from fmmreg.exceptions import FMMError
from fmmreg.families._intervals import normal_logpdf
from fmmreg.families.base import ComponentFamily

_EULER = 0.5772156649015329
_ALIASES = {"llogistic": "loglogistic", "lnormal": "lognormal", "exp": "exponential"}
#: distribution -> (ancillary name, sign s with p = exp(s a)), Stata's streg names
_ANCILLARY = {
    "exponential": None,
    "weibull": ("ln_p", 1.0),
    "loglogistic": ("ln_gam", -1.0),
    "lognormal": ("ln_sig", -1.0),
    "gamma": ("logs", None),
}
#: distributions Stata fits in the proportional-hazards metric by default
_PH = ("exponential", "weibull")
DISTRIBUTIONS = tuple(_ANCILLARY)

Triple = tuple[np.ndarray, np.ndarray, np.ndarray]


# ------------------------------------------- standard log-scale distributions
# Each returns (log f0, d/dz, d2/dz2) and (log S0, d/dz, d2/dz2) of the
# standardised log time z; the time density is f0(z) dz/dt.
def _extreme(z: np.ndarray) -> tuple[Triple, Triple]:
    with np.errstate(over="ignore"):
        ez = np.exp(z)
    return (z - ez, 1.0 - ez, -ez), (-ez, -ez, -ez)


def _normal(z: np.ndarray) -> tuple[Triple, Triple]:
    logs = log_ndtr(-z)
    lam = np.exp(normal_logpdf(z) - logs)  # inverse Mills ratio phi(z) / Phi(-z)
    return (normal_logpdf(z), -z, -np.ones_like(z)), (logs, -lam, -lam * (lam - z))


def _logistic(z: np.ndarray) -> tuple[Triple, Triple]:
    e = expit(z)
    v = e * (1.0 - e)
    az = np.abs(z)
    return (-az - 2.0 * np.log1p(np.exp(-az)), -np.tanh(0.5 * z), -2.0 * v), (-np.logaddexp(0.0, z), -e, -v)


_STANDARD: dict[str, Callable[[np.ndarray], tuple[Triple, Triple]]] = {
    "exponential": _extreme,
    "weibull": _extreme,
    "lognormal": _normal,
    "loglogistic": _logistic,
}
#: ``z`` from ``log S0(z)``: the inverse of each standard log-survival function
_Z_FROM_LOGSF: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exponential": lambda ls: np.log(-ls),
    "weibull": lambda ls: np.log(-ls),
    "lognormal": lambda ls: -ndtri_exp(ls),
    "loglogistic": lambda ls: np.log(np.expm1(-ls)),
}
#: median of the standardised z: S0(z) = 1/2
_Z_MEDIAN = {"exponential": np.log(np.log(2.0)), "weibull": np.log(np.log(2.0)), "lognormal": 0.0, "loglogistic": 0.0}


# -------------------------------------------------------------- gamma pieces
def gamma_logsf(k: float, x: np.ndarray) -> np.ndarray:
    """``log Q(k, x)``, the log upper regularised incomplete gamma, without underflow.

    Computed from the side where it does not cancel; far in the upper tail,
    where ``Q`` underflows, from the asymptotic series
    ``Q ~ x^(k-1) e^-x / Gamma(k) (1 + (k-1)/x + (k-1)(k-2)/x^2 + ...)``.
    """
    x = np.asarray(x, dtype=float)
    q = gammaincc(k, x)
    with np.errstate(divide="ignore"):
        out = np.where(q > 0.5, np.log1p(-gammainc(k, x)), np.log(q))
    tiny = q < 1e-280
    if np.any(tiny):
        xt = x[tiny]
        term, series = np.ones_like(xt), np.ones_like(xt)
        for j in range(1, 12):
            term = term * (k - j) / xt
            series = series + term
        out[tiny] = (k - 1.0) * np.log(xt) - xt - gammaln(k) + np.log(np.abs(series))
    return out


#: step of the central differences in ``logs`` for the gamma shape derivatives of ``log S``
_GAMMA_H = 2e-3


def _gamma_logsf_derivatives(u: np.ndarray, eta: np.ndarray, a: float, order: int) -> tuple[np.ndarray, ...]:
    """``G = log S(t)`` of the gamma AFT model and its derivatives in ``(eta, a = logs)``.

    ``S(t) = Q(k, x)`` with shape ``k = exp(-a)`` and ``x = k t exp(-eta)``.
    The derivatives in ``eta`` are analytic: ``G_e = r`` with the hazard-like
    ``r = x^k e^-x / (Gamma(k) Q)`` and ``G_ee = r (x - k - r)``. Those in the
    shape have no closed form (the shape derivative of the incomplete gamma
    function) and are five-point central differences in ``a`` with step
    ``2e-3`` (of ``G`` and of the analytic ``G_e``), exact to about 1e-9.
    Returns ``(G, G_e, G_a, G_ee, G_ea, G_aa)`` up to ``order``.
    """

    def value(aa: float) -> np.ndarray:
        kk = np.exp(-aa)
        return gamma_logsf(kk, kk * np.exp(u - eta))

    def r_of(aa: float, g: np.ndarray) -> np.ndarray:
        kk = np.exp(-aa)
        x = kk * np.exp(u - eta)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return np.where(x > 0, np.exp(kk * np.log(x) - x - gammaln(kk) - g), 0.0)

    g = value(a)
    if order == 0:
        return (g,)
    h = _GAMMA_H
    offsets = (-2.0, -1.0, 1.0, 2.0)
    gs = {s: value(a + s * h) for s in offsets}
    r = r_of(a, g)
    g_a = (gs[-2.0] - 8.0 * gs[-1.0] + 8.0 * gs[1.0] - gs[2.0]) / (12.0 * h)
    if order == 1:
        return g, r, g_a
    k = np.exp(-a)
    x = k * np.exp(u - eta)
    rs = {s: r_of(a + s * h, gs[s]) for s in offsets}
    g_ee = r * (x - k - r)
    g_ea = (rs[-2.0] - 8.0 * rs[-1.0] + 8.0 * rs[1.0] - rs[2.0]) / (12.0 * h)
    g_aa = (-gs[-2.0] + 16.0 * gs[-1.0] - 30.0 * g + 16.0 * gs[1.0] - gs[2.0]) / (12.0 * h * h)
    return g, r, g_a, g_ee, g_ea, g_aa


# ------------------------------------------------------------ random draws
def censoring_times(y: np.ndarray, rng: np.random.Generator, observed: bool = True) -> np.ndarray:
    """A censoring time for every record of ``(time, failure, entry)`` rows, for a parametric bootstrap.

    A censored record keeps its own censoring time. A failure at ``t_i``
    hides its censoring time, known only to exceed ``t_i``: it is drawn from
    the reverse Kaplan-Meier estimate of the censoring distribution (the
    censored records are its events, failures its losses; risk sets respect
    delayed entry) conditional on ``C > t_i``. The mass the estimate leaves
    beyond the last record goes to the largest observed time, the end of
    follow-up. With ``observed=False`` (no failure column: nothing was ever
    censored) every censoring time is infinite.
    """
    y = np.asarray(y, dtype=float)
    t, d, t0 = y[:, 0], y[:, 1], y[:, 2]
    if not observed:
        return np.full(len(t), np.inf)
    out = t.copy()
    fail = d > 0
    if not fail.any():
        return out
    times = np.unique(t[~fail])  # event times of the censoring distribution
    if times.size == 0:
        out[fail] = t.max()
        return out
    # risk set at s: entry < s <= t (censorings at s come before failures tied at s)
    t_sorted, t0_sorted = np.sort(t), np.sort(t0)
    at_risk = (len(t) - np.searchsorted(t_sorted, times, side="left")) - (
        len(t) - np.searchsorted(t0_sorted, times, side="left")
    )
    events = np.searchsorted(np.sort(t[~fail]), times, side="right") - np.searchsorted(
        np.sort(t[~fail]), times, side="left"
    )
    surv = np.cumprod(1.0 - events / np.maximum(at_risk, 1))  # S_C at each censoring time
    # S_C just at each failure time t_i (censorings at t_i count: C > t_i is needed)
    idx = np.searchsorted(times, t[fail], side="right")
    s_ti = np.where(idx > 0, surv[np.maximum(idx - 1, 0)], 1.0)
    target = s_ti * (1.0 - rng.random(int(fail.sum())))  # S_C(C) <= target
    # first censoring time after t_i whose survival drops to the target
    pos = np.searchsorted(-surv, -target, side="left")
    pos = np.maximum(pos, idx)
    c = np.where(pos < len(times), times[np.minimum(pos, len(times) - 1)], t.max())
    out[fail] = np.maximum(c, t[fail])
    return out


# ------------------------------------------------------------------- family
class Streg(ComponentFamily):
    """Parametric survival regression with right censoring and delayed entry.

    Parameters
    ----------
    distribution : {"exponential", "weibull", "gamma", "loglogistic", "lognormal"}
        Stata's ``distribution()`` (``"llogistic"`` and ``"lnormal"`` are
        synonyms). ``"gamma"`` is the two-parameter gamma of Stata's
        ``fmm: streg``/``mestreg``/``gsem`` (not ``streg``'s three-parameter
        generalised gamma).
    failure : str, optional
        Column of the failure indicator (Stata ``stset ..., failure()``):
        nonzero is a failure, zero a right-censored record. Without it every
        record ends in a failure.
    entry : str, optional
        Column of the entry time (Stata ``enter()``/``_t0``): the record is
        at risk, and observed, only from this time on (delayed entry, left
        truncation). Without it every record enters at time 0.
    time : bool, optional
        Accelerated-failure-time metric (Stata's ``time``). The exponential
        and Weibull models are in the proportional-hazards metric by default,
        as in Stata; gamma, loglogistic and lognormal are AFT models only.

    Notes
    -----
    With ``t`` the analysis time, ``d`` the failure indicator and ``t0`` the
    entry time, the contribution of a record is::

        log L = d log f(t) + (1 - d) log S(t) - log S(t0)      (S(0) = 1).

    Except the gamma, every model is a location-scale model of ``u = log t``:
    ``S(t) = S0(z)``, ``f(t) = f0(z) p / t`` with ``p = 1/sigma`` and

    - AFT (``time=True``): ``z = p (u - x'b)``, ``x'b`` the mean of log time;
    - PH (exponential, Weibull): ``z = p u + x'b``, hazard ``h = p t^(p-1) exp(x'b)``,
      so the PH coefficients are ``-p`` times the AFT ones.

    ``S0`` is ``exp(-e^z)`` (extreme value: Weibull with ``p = exp(ln_p)``,
    exponential with ``p = 1``), ``1 - Phi(z)`` (lognormal, ``sigma =
    exp(ln_sig)``) or ``1 / (1 + e^z)`` (loglogistic, Stata's ``gamma =
    exp(ln_gam)``). Writing ``F = log f0``, ``S = log S0`` and their ``z``
    derivatives, ``G1 = d F' + (1 - d) S'`` and ``G2 = d F'' + (1 - d) S''``,
    the index derivatives are ``G1 z_i - S'(z0) z0_i`` (plus ``d s`` for the
    ancillary, from ``log p = s a``) and ``G2 z_i z_j + G1 z_ij -
    S''(z0) z0_i z0_j - S'(z0) z0_ij``, with ``z_i`` the derivatives of ``z``
    in ``(x'b, a)``.

    The gamma model is ``t = exp(x'b) g`` with ``g ~ Gamma(k, 1/k)``,
    ``k = exp(-logs)``: ``E t = exp(x'b)``, ``Var t = exp(2 x'b) / k`` (the
    ``glm, family(gamma) link(log)`` density for uncensored rows) and
    ``S(t) = Q(k, k t e^-x'b)``; see :func:`_gamma_logsf_derivatives`.

    The ancillary parameters carry the names of Stata's ``streg`` output --
    ``/ln_p`` (Weibull), ``/ln_sig`` (lognormal), ``/ln_gam`` (loglogistic)
    -- and, for the two-parameter gamma that ``streg`` does not have,
    ``mestreg``'s ``/logs``; they are shown as estimated, with z and P.

    The fitted mean (:meth:`mean_from_index`) is the mean survival time of
    the class (infinite for a loglogistic with ``gamma >= 1``);
    :meth:`median_from_index`, :meth:`log_survival` and :meth:`log_hazard`
    serve ``predict(kind="median" / "survival" / "hazard")``. With delayed
    entry, each class's density is conditional on its own survival to entry.
    """

    def __init__(
        self,
        distribution: str = "weibull",
        failure: str | None = None,
        entry: str | None = None,
        time: bool | None = None,
    ):
        dist = str(distribution).strip().lower()
        dist = _ALIASES.get(dist, dist)
        if dist not in _ANCILLARY:
            raise FMMError(f"unknown streg distribution {distribution!r}; choose one of {', '.join(DISTRIBUTIONS)}")
        if time is None:
            time = dist not in _PH
        if not time and dist not in _PH:
            raise FMMError(
                f"streg distribution {dist!r} is an accelerated-failure-time model only (as in Stata); drop time=False"
            )
        for what, col in (("failure", failure), ("entry", entry)):
            if col is not None and not isinstance(col, str):
                raise FMMError(f"streg {what}= must be a column name of the data, got {col!r}")
        self.distribution = dist
        self.failure = failure
        self.entry = entry
        self.time = bool(time)
        self.name = dist
        metric = " time" if self.time and dist in _PH else ""
        self.stata_model = f"streg, distribution({dist}){metric}"
        anc = _ANCILLARY[dist]
        self.ancillary_names = () if anc is None else (anc[0],)
        self._sign = 0.0 if anc is None else anc[1]

    def __repr__(self) -> str:
        return (
            f"<fmmreg family 'streg' distribution={self.distribution!r} failure={self.failure!r} "
            f"entry={self.entry!r} time={self.time}>"
        )

    # ------------------------------------------------------------- data
    def data_columns(self) -> dict[str, str]:
        return {role: col for role, col in (("failure", self.failure), ("entry", self.entry)) if col is not None}

    def class_response(self, y, columns):
        y = np.asarray(y, dtype=float)
        if y.ndim != 1:
            raise FMMError(
                f"family {self.name!r} (streg) needs the analysis time as its single response column, 'time ~ x'; "
                "give the failure indicator and the entry time as Streg(..., failure='died', entry='t0')"
            )
        n = len(y)
        failed = np.ones(n)
        if "failure" in columns:
            f = np.asarray(columns["failure"], dtype=float)
            failed = np.where(np.isnan(f), np.nan, (f != 0).astype(float))
        t0 = np.asarray(columns["entry"], dtype=float) if "entry" in columns else np.zeros(n)
        return np.column_stack([y, failed, t0])

    def check_endog(self, y, yname):
        y = np.asarray(y, dtype=float)
        if y.ndim != 2 or y.shape[1] != 3:
            raise FMMError(
                f"family {self.name!r} (streg) reads (time, failure, entry) built from {yname!r}; "
                "pass the response through FMM/fmm"
            )
        t, d, t0 = y[:, 0], y[:, 1], y[:, 2]
        entry = self.entry or "the entry time"
        if not np.all(np.isfinite(t)) or np.any(t <= 0):
            bad = t[~(np.isfinite(t) & (t > 0))][0]
            raise FMMError(
                f"analysis time {yname!r} must be positive and finite for family {self.name!r} (streg); "
                f"found {bad:g} (Stata's stset drops such records: drop them first)"
            )
        if not np.all(np.isfinite(t0)) or np.any(t0 < 0):
            raise FMMError(f"entry time {entry!r} of family {self.name!r} must be finite and >= 0")
        if np.any(t0 >= t):
            i = int(np.flatnonzero(t0 >= t)[0])
            raise FMMError(
                f"{int(np.sum(t0 >= t))} record(s) enter at or after they end: {entry!r} ({t0[i]:g}) >= {yname!r} "
                f"({t[i]:g}); family {self.name!r} needs entry < time (drop such records, as Stata's stset does)"
            )
        if not np.any(d > 0):
            what = f"failure indicator {self.failure!r}" if self.failure else "failure indicator"
            raise FMMError(
                f"no record of {yname!r} ends in a failure ({what} is 0 everywhere); "
                f"family {self.name!r} cannot be estimated without failures"
            )
        return y

    def response_parts(self, y):
        y = np.asarray(y, dtype=float)
        parts = {"failure": y[:, 1], "entry": y[:, 2]}
        return y[:, 0], {role: parts[role] for role in self.data_columns()}

    # --------------------------------------------------------- random draws
    def rvs_baseline(self, y, rng):
        """Every record as censored at its censoring time (:func:`censoring_times`), entry kept."""
        y = np.asarray(y, dtype=float)
        c = censoring_times(y, rng, observed=self.failure is not None)
        if not np.all(np.isfinite(c)):
            return None  # nothing is censored: the draws need no common censoring time
        return np.column_stack([c, np.zeros(len(c)), y[:, 2]])

    def event_times(self, eta: np.ndarray, anc: np.ndarray, log_s: np.ndarray) -> np.ndarray:
        """The time ``t`` with ``log S(t | x) = log_s`` (the inverse survival function)."""
        e = eta[:, 0]
        if self.distribution == "gamma":
            k = float(np.exp(-anc[0]))
            return np.exp(e) * gammainccinv(k, np.exp(log_s)) / k
        p = self._p(anc)
        with np.errstate(divide="ignore", over="ignore"):
            z = _Z_FROM_LOGSF[self.distribution](log_s)
            return np.exp(e + z / p) if self.time else np.exp((z - e) / p)

    def rvs(self, eta, anc, rng, y=None):
        """Event times, censored and truncated as the observed records were.

        ``y`` holds the observed ``(time, failure, entry)`` rows. The event
        time is drawn from the class's distribution given survival to entry,
        ``log S(T) = log S(t0) + log U``; it is censored at the record's
        censoring time (a censored record's own time; for a failure, a draw
        from the censoring distribution, :func:`censoring_times`). Without
        ``y`` the records enter at 0 and are not censored. Returns
        ``(time, failure, entry)`` rows.
        """
        n = eta.shape[0]
        if y is None:
            y = np.column_stack([np.full(n, np.inf), np.ones(n), np.zeros(n)])
            cens = np.full(n, np.inf)
        else:
            y = np.asarray(y, dtype=float)
            cens = censoring_times(y, rng, observed=self.failure is not None)
        t0 = y[:, 2]
        log_s0 = np.zeros(n)
        late = t0 > 0
        if late.any():
            log_s0[late] = self.log_survival(t0[late], eta[late], anc)
        log_u = np.log(rng.random(n))
        t = self.event_times(eta, anc, log_s0 + log_u)
        # keep the draw inside (entry, inf): rounding at extreme parameters
        t = np.maximum(t, np.maximum(np.nextafter(t0, np.inf), np.finfo(float).tiny))
        failed = t <= cens
        return np.column_stack([np.where(failed, t, cens), failed.astype(float), t0])

    # --------------------------------------------------------- the z map
    def _p(self, anc: np.ndarray) -> float:
        return 1.0 if self._sign == 0.0 else float(np.exp(self._sign * anc[0]))

    def _z(self, u: np.ndarray, e: np.ndarray, p: float) -> tuple[np.ndarray, ...]:
        """``z`` and its derivatives ``(z, z_e, z_a, z_ee, z_ea, z_aa)`` in ``(eta, a)``."""
        s = self._sign
        if self.time:
            z = p * (u - e)
            return z, np.full_like(z, -p), s * z, np.zeros_like(z), np.full_like(z, -s * p), z
        z = p * u + e
        return z, np.ones_like(z), s * (z - e), np.zeros_like(z), np.zeros_like(z), z - e

    # ----------------------------------------------------------- density
    def index_derivatives(self, y, eta, anc, order=2):
        y = np.asarray(y, dtype=float)
        t, d, t0 = y[:, 0], y[:, 1], y[:, 2]
        e = eta[:, 0]
        anc = np.asarray(anc, dtype=float)
        if self.distribution == "gamma":
            return self._gamma_derivatives(t, d, t0, e, float(anc[0]), order)
        m = 1 + self.n_ancillary
        p = self._p(anc)
        u = np.log(t)
        z, *dz = self._z(u, e, p)
        (f0, f1, f2), (s0, s1, s2) = _STANDARD[self.distribution](z)
        fail = d > 0
        logf = np.where(fail, f0 + np.log(p) - u, s0)
        late = t0 > 0
        if late.any():
            z0, *dz0 = self._z(np.log(t0[late]), e[late], p)
            _, (e0, e1, e2) = _STANDARD[self.distribution](z0)
            logf[late] -= e0
        if order == 0:
            return logf, None, None
        g1 = np.where(fail, f1, s1)
        zi = [dz[0], dz[1]][:m]  # z_e (, z_a)
        d1 = np.empty((len(e), m))
        for i in range(m):
            d1[:, i] = g1 * zi[i]
        if m == 2:
            d1[:, 1] += self._sign * fail
        if late.any():
            z0i = [dz0[0], dz0[1]][:m]
            for i in range(m):
                d1[late, i] -= e1 * z0i[i]
        if order == 1:
            return logf, d1, None
        g2 = np.where(fail, f2, s2)
        pairs = {(0, 0): 2, (0, 1): 3, (1, 1): 4}  # position of z_ij in the derivatives of _z
        d2 = np.empty((len(e), m, m))
        for i in range(m):
            for j in range(i, m):
                d2[:, i, j] = g2 * zi[i] * zi[j] + g1 * dz[pairs[(i, j)]]
                if late.any():
                    d2[late, i, j] -= e2 * z0i[i] * z0i[j] + e1 * dz0[pairs[(i, j)]]
                d2[:, j, i] = d2[:, i, j]
        return logf, d1, d2

    def _gamma_derivatives(self, t, d, t0, e, a, order):
        """The gamma AFT model: analytic for failures, see :func:`_gamma_logsf_derivatives` otherwise."""
        n = len(t)
        k = float(np.exp(-a))
        u = np.log(t)
        fail = d > 0
        v = np.exp(u - e)
        # failures: log f = k log k - lgamma(k) + (k - 1) u - k eta - k v
        logf = np.empty(n)
        logf[fail] = k * np.log(k) - gammaln(k) + (k - 1.0) * u[fail] - k * e[fail] - k * v[fail]
        cens = ~fail
        late = t0 > 0
        gc = _gamma_logsf_derivatives(u[cens], e[cens], a, order)
        logf[cens] = gc[0]
        if late.any():
            gl = _gamma_logsf_derivatives(np.log(t0[late]), e[late], a, order)
            logf[late] -= gl[0]
        if order == 0:
            return logf, None, None
        # failures in (eta, k): F_e = k (v - 1), F_k = log k + 1 - psi(k) + u - eta - v,
        # F_ee = -k v, F_ek = v - 1, F_kk = 1/k - psi'(k); then a = -log k
        vf, uf, ef = v[fail], u[fail], e[fail]
        f_k = np.log(k) + 1.0 - digamma(k) + uf - ef - vf
        d1 = np.empty((n, 2))
        d1[fail, 0] = k * (vf - 1.0)
        d1[fail, 1] = -k * f_k
        d1[cens, 0], d1[cens, 1] = gc[1], gc[2]
        if late.any():
            d1[late, 0] -= gl[1]
            d1[late, 1] -= gl[2]
        if order == 1:
            return logf, d1, None
        d2 = np.empty((n, 2, 2))
        d2[fail, 0, 0] = -k * vf
        d2[fail, 0, 1] = -k * (vf - 1.0)
        d2[fail, 1, 1] = k * f_k + k * k * (1.0 / k - polygamma(1, k))
        d2[cens, 0, 0], d2[cens, 0, 1], d2[cens, 1, 1] = gc[3], gc[4], gc[5]
        if late.any():
            d2[late, 0, 0] -= gl[3]
            d2[late, 0, 1] -= gl[4]
            d2[late, 1, 1] -= gl[5]
        d2[:, 1, 0] = d2[:, 0, 1]
        return logf, d1, d2

    # ------------------------------------------------------- predictions
    def log_survival(self, t: np.ndarray, eta: np.ndarray, anc: np.ndarray) -> np.ndarray:
        """``log S(t | x)`` of the class (unconditional on entry)."""
        e = eta[:, 0]
        if self.distribution == "gamma":
            k = float(np.exp(-anc[0]))
            return gamma_logsf(k, k * t * np.exp(-e))
        z = self._z(np.log(t), e, self._p(anc))[0]
        return _STANDARD[self.distribution](z)[1][0]

    def log_hazard(self, t: np.ndarray, eta: np.ndarray, anc: np.ndarray) -> np.ndarray:
        """``log h(t | x) = log f(t) - log S(t)``."""
        n = len(t)
        y = np.column_stack([t, np.ones(n), np.zeros(n)])
        return self.index_derivatives(y, eta, anc, order=0)[0] - self.log_survival(t, eta, anc)

    def median_from_index(self, eta: np.ndarray, anc: np.ndarray) -> np.ndarray:
        """Median survival time of the class, ``S(t) = 1/2``."""
        e = eta[:, 0]
        if self.distribution == "gamma":
            k = float(np.exp(-anc[0]))
            return np.exp(e) * gammainccinv(k, 0.5) / k
        p, zm = self._p(anc), _Z_MEDIAN[self.distribution]
        return np.exp(e + zm / p) if self.time else np.exp((zm - e) / p)

    def mean_from_index(self, eta, anc):
        e = eta[:, 0]
        dist = self.distribution
        if dist == "gamma":
            return np.exp(e)
        p = self._p(anc)
        loc = e if self.time else -e / p  # mean of log time for the AFT form: log t = loc + z / p
        if dist in _PH:
            return np.exp(loc + gammaln(1.0 + 1.0 / p))
        if dist == "lognormal":
            return np.exp(loc + 0.5 / (p * p))
        g = 1.0 / p  # loglogistic: E t = e^loc pi g / sin(pi g) for g < 1
        if g >= 1.0:
            return np.full(len(e), np.inf)
        return np.exp(loc) * np.pi * g / np.sin(np.pi * g)

    # ------------------------------------------------------------ starts
    def initial_params(self, y, X, c):
        """Weighted least squares of ``log t`` on ``X`` and the moment scale of the distribution."""
        y = np.asarray(y, dtype=float)
        u = np.log(y[:, 0])
        xtx = (X.T * c) @ X
        beta = np.linalg.lstsq(xtx, X.T @ (c * u), rcond=None)[0]
        r = u - X @ beta
        sd = float(np.sqrt(max(float(c @ (r * r)) / max(float(c.sum()), 1e-300), 1e-6)))
        icpt = X.shape[1] - 1 if X.shape[1] and np.allclose(X[:, -1], 1.0) else None
        dist = self.distribution
        if self.offset is not None:
            # the offset is part of the index: of log t's location (AFT), or of -p times it (PH)
            scale = 1.0 if self.time or dist == "exponential" else sd * np.sqrt(6.0) / np.pi
            u = u - self.offset if self.time else u + scale * self.offset
            beta = np.linalg.lstsq(xtx, X.T @ (c * u), rcond=None)[0]
            r = u - X @ beta
            sd = float(np.sqrt(max(float(c @ (r * r)) / max(float(c.sum()), 1e-300), 1e-6)))
        if dist == "gamma":
            k = 1.0 / max(sd * sd, 1e-3)
            if icpt is not None:
                beta[icpt] -= digamma(k) - np.log(k)
            return np.append(beta, -np.log(k))
        if dist == "lognormal":
            return np.append(beta, np.log(sd))
        if dist == "loglogistic":
            return np.append(beta, np.log(sd * np.sqrt(3.0) / np.pi))
        sigma = 1.0 if dist == "exponential" else sd * np.sqrt(6.0) / np.pi
        if icpt is not None:
            beta[icpt] += _EULER * sigma  # E[log t] = loc - Euler sigma
        if not self.time:
            beta = -beta / sigma
        return beta if dist == "exponential" else np.append(beta, -np.log(sigma))


def streg(
    distribution: str = "weibull", failure: str | None = None, entry: str | None = None, time: bool | None = None
) -> Streg:
    """A survival component by Stata's names: ``streg, distribution() [time]`` after ``stset``.

    See :class:`Streg`. ``streg("weibull", failure="died")`` with the formula
    ``"time ~ x"`` is ``stset time, failure(died)`` + ``streg x, distribution(weibull)``.
    """
    return Streg(distribution, failure=failure, entry=entry, time=time)


def exponential(failure: str | None = None, entry: str | None = None, time: bool = False) -> Streg:
    """Exponential survival (Stata ``streg, distribution(exponential)``), PH metric by default."""
    return Streg("exponential", failure, entry, time)


def weibull(failure: str | None = None, entry: str | None = None, time: bool = False) -> Streg:
    """Weibull survival (Stata ``streg, distribution(weibull)``), PH metric by default, ancillary ``ln_p``."""
    return Streg("weibull", failure, entry, time)


def loglogistic(failure: str | None = None, entry: str | None = None) -> Streg:
    """Loglogistic survival (Stata ``streg, distribution(loglogistic)``), AFT, ancillary ``ln_gam``."""
    return Streg("loglogistic", failure, entry, True)


__all__ = ["DISTRIBUTIONS", "Streg", "exponential", "gamma_logsf", "loglogistic", "streg", "weibull"]
