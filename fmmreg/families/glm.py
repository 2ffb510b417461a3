"""GLM components built on statsmodels family objects (Stata ``glm``).

Poisson (Stata ``poisson``), Bernoulli and binomial (Stata ``logit``,
``probit``, ``cloglog``, ``glm, family(binomial n)``), and the families with
a dispersion parameter -- Gaussian with any link, gamma, inverse Gaussian --
plus the negative binomial with a fixed ``alpha`` (Stata
``glm, family(nbinomial k)``). Links and variance functions come from
``statsmodels.genmod.families``, so a user may pass any statsmodels family
instance with a proper likelihood (every one except ``Tweedie``).

Binomial responses with trials are written as in R, successes and failures
in two columns: ``fmm(2, "cbind(deaths, total - deaths) ~ dose", data=df,
family="binomial")``; a single 0/1 column is the Bernoulli case.
"""

from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm
from scipy.special import digamma, expit, gammaln, log_ndtr, polygamma, xlogy
from statsmodels.tools.sm_exceptions import DomainWarning

from fmmreg.exceptions import FMMError
from fmmreg.families.base import ComponentFamily, log_factorial

_L = sm.families.links
_F = sm.families
_LOG_2PI = float(np.log(2.0 * np.pi))

#: statsmodels families with a proper likelihood that :class:`GLMFamily` accepts.
GLM_FAMILIES = (_F.Poisson, _F.Binomial, _F.Gaussian, _F.Gamma, _F.InverseGaussian, _F.NegativeBinomial)
#: Families whose dispersion ``phi`` is estimated by ML as the ancillary ``lnphi``.
DISPERSION_FAMILIES = (_F.Gaussian, _F.Gamma, _F.InverseGaussian)

#: Stata's names for ``glm(family=..., link=...)``.
_FAMILY_NAMES = {
    "gaussian": _F.Gaussian,
    "normal": _F.Gaussian,
    "bernoulli": _F.Binomial,
    "binomial": _F.Binomial,
    "poisson": _F.Poisson,
    "gamma": _F.Gamma,
    "igaussian": _F.InverseGaussian,
    "inverse_gaussian": _F.InverseGaussian,
    "nbinomial": _F.NegativeBinomial,
}
_LINK_NAMES = {
    "identity": _L.Identity,
    "log": _L.Log,
    "logit": _L.Logit,
    "probit": _L.Probit,
    "cloglog": _L.CLogLog,
    "loglog": _L.LogLog,
    "logc": _L.LogC,
    "cauchit": _L.Cauchy,
    "inverse": _L.InversePower,
    "reciprocal": _L.InversePower,
    "inverse_squared": _L.InverseSquared,
    "sqrt": _L.Sqrt,
}


def _family_label(sm_family) -> str:
    return {
        _F.Binomial: "bernoulli",
        _F.InverseGaussian: "igaussian",
        _F.NegativeBinomial: "nbinomial",
    }.get(type(sm_family), type(sm_family).__name__.lower())


def _times(a: np.ndarray | float, b: np.ndarray) -> np.ndarray:
    """``a * b`` with ``0 * (+-inf) = 0`` (a count of zero times a log of zero)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(a) == 0, 0.0, a * b)


def check_nonnegative(y: np.ndarray, yname: str, family: str, minimum: float = 0.0, what: str = "counts") -> None:
    """Raise a ``ValueError`` naming variable and family when ``y < minimum``."""
    if np.any(y < minimum):
        bad = float(np.min(y))
        raise FMMError(
            f"response {yname!r} has values below {minimum:g} (minimum {bad:g}); family {family!r} models {what}"
        )


def check_single_column(y: np.ndarray, yname: str, family: str) -> None:
    """Raise a ``ValueError`` when a one-column family gets a matrix response."""
    if y.ndim != 1:
        raise FMMError(f"response {yname!r} has {y.shape[1]} columns; family {family!r} needs a single response")


class GLMFamily(ComponentFamily):
    """A GLM class: any statsmodels family and link with a proper likelihood.

    Parameters
    ----------
    sm_family : statsmodels.genmod.families.Family
        ``Poisson``, ``Binomial``, ``Gaussian``, ``Gamma``,
        ``InverseGaussian`` or ``NegativeBinomial`` (fixed ``alpha``), with
        any link.
    name : str, optional
        Registry name shown by ``repr``; defaults to ``"family(link)"``.
    stata_model : str, optional
        Model line of the summary; defaults to Stata's ``glm`` syntax.

    Notes
    -----
    With ``mu = g^{-1}(eta)``, ``m1 = dmu/deta``, ``m2 = d2mu/deta2``,
    variance function ``V`` and dispersion ``phi``:

    ``d_eta = (y - mu) m1 / (phi V)``,
    ``d_eta,eta = [-m1^2/V - (y - mu) V'(mu) m1^2 / V^2 + (y - mu) m2 / V] / phi``

    (the observed second derivative; it reduces to ``-V(mu)`` for a
    canonical link and ``phi = 1``).

    *Dispersion families* (Gaussian, gamma, inverse Gaussian) estimate
    ``l = ln phi`` by ML as the ancillary ``lnphi``. Their log density is
    ``log f = -D(y, mu) / (2 phi) + k(phi, y)`` with unit deviance ``D``:

    - Gaussian: ``D = (y - mu)^2``, ``k = -(log(2 pi) + l)/2``
      (``phi = sigma^2``);
    - inverse Gaussian: ``D = (y - mu)^2 / (mu^2 y)``,
      ``k = -(log(2 pi) + l)/2 - 3/2 log y`` (``Var y = phi mu^3``);
    - gamma: ``D = 2 [(y - mu)/mu - log(y/mu)]``, shape ``nu = 1/phi``,
      ``k = nu log nu - nu - log y - lgamma(nu)`` (``Var y = phi mu^2``).

    Hence ``d_l = D/(2 phi) + dk/dl``, ``d_l,l = -D/(2 phi) + d2k/dl2`` and
    ``d_eta,l = -d_eta``; for the gamma ``dk/dl = -nu (log nu - psi(nu))``
    and ``d2k/dl2 = nu (log nu - psi(nu)) + nu - nu^2 psi'(nu)`` (Stirling
    series above ``nu = 1e4``, where these differences cancel). Stata's
    ``glm`` reports a Pearson-based dispersion instead of the ML one; the
    coefficients are the same in a one-class fit.

    *Binomial* responses are one 0/1 column (Bernoulli) or two columns
    ``(s, f)`` of successes and failures, ``m = s + f`` trials, as in R's
    ``cbind(s, f) ~ x`` and statsmodels' two-column ``endog``:
    ``log f = log C(m, s) + s log mu + f log(1 - mu)``. Writing
    ``A = log mu`` and ``B = log(1 - mu)`` as functions of ``eta``,
    ``d_eta = s A' + f B'`` and ``d_eta,eta = s A'' + f B''``; the probit
    (``A = log Phi(eta)``, via ``log_ndtr``) and complementary log-log
    (``A = log(1 - exp(-e^eta))``, ``B = -e^eta``) pieces are written out
    for numerical stability in the tails. The fitted mean is the success
    probability ``mu`` (R's ``type = "response"``).
    """

    ancillary_names = ()

    def __init__(self, sm_family, name: str | None = None, stata_model: str | None = None):
        if isinstance(sm_family, _F.Tweedie) or not isinstance(sm_family, GLM_FAMILIES):
            raise TypeError(
                "GLMFamily needs a statsmodels family with a proper likelihood (Poisson, Binomial, Gaussian, "
                f"Gamma, InverseGaussian, NegativeBinomial), got {type(sm_family).__name__}"
            )
        self.sm_family = sm_family
        link = type(sm_family.link)
        self.dispersion = isinstance(sm_family, DISPERSION_FAMILIES)
        self.binary = isinstance(sm_family, _F.Binomial)
        if self.dispersion:
            self.ancillary_names = ("lnphi",)
        self._kind = "edf"
        if isinstance(sm_family, _F.Poisson) and link is _L.Log:
            self._kind = "poisson_log"
        elif isinstance(sm_family, _F.Binomial):
            self._kind = {_L.Logit: "logit", _L.Probit: "probit", _L.CLogLog: "cloglog"}.get(link, "binomial")
        fam = _family_label(sm_family)
        lname = link.__name__.lower()
        self.name = name or f"{fam}({lname})"
        if stata_model is None:
            # Stata writes a fixed negative binomial alpha into the family: family(nbinomial 1)
            stata_fam = f"{fam} {sm_family.alpha:g}" if isinstance(sm_family, _F.NegativeBinomial) else fam
            stata_model = "poisson" if self._kind == "poisson_log" else f"glm, family({stata_fam}) link({lname})"
        self.stata_model = stata_model

    @property
    def fixed_ancillaries(self) -> dict[str, float]:
        """The negative binomial's ``alpha`` is fixed here (Stata ``family(nbinomial #)``), not estimated."""
        if isinstance(self.sm_family, _F.NegativeBinomial):
            return {"alpha": float(self.sm_family.alpha)}
        return {}

    # ------------------------------------------------------------------ checks
    def check_endog(self, y, yname):
        y = super().check_endog(y, yname)
        fam = self.sm_family
        if isinstance(fam, _F.Binomial):
            if y.ndim == 2 and y.shape[1] == 2:
                check_nonnegative(y, yname, self.name, what="successes and failures (cbind(s, f) ~ x)")
            elif y.ndim != 1:
                raise FMMError(
                    f"response {yname!r} has {y.shape[1]} columns; family {self.name!r} needs a 0/1 response "
                    "or two columns of successes and failures, cbind(successes, trials - successes) ~ x"
                )
            elif not np.all((y == 0) | (y == 1)):
                raise FMMError(
                    f"response {yname!r} must be 0/1 for family {self.name!r}; recode it (e.g. y > 0) first, "
                    "or give successes and failures as cbind(successes, trials - successes) ~ x"
                )
            return y
        check_single_column(y, yname, self.name)
        if isinstance(fam, (_F.Poisson, _F.NegativeBinomial)):
            check_nonnegative(y, yname, self.name)
        elif isinstance(fam, (_F.Gamma, _F.InverseGaussian)) and np.any(y <= 0):
            raise FMMError(
                f"response {yname!r} has values <= 0 (minimum {float(np.min(y)):g}); "
                f"family {self.name!r} models positive y"
            )
        return y

    # ----------------------------------------------------------------- density
    def index_derivatives(self, y, eta, anc, order=2):
        eta = eta[:, 0]
        if self._kind == "poisson_log":
            mu = np.exp(eta)
            logf = y * eta - mu - log_factorial(y)
            if order == 0:
                return logf, None, None
            d1 = (y - mu)[:, None]
            d2 = None if order == 1 else (-mu)[:, None, None]
            return logf, d1, d2
        if self._kind == "edf":
            return self._edf_derivatives(y, eta, anc, order)
        return self._binomial_derivatives(y, eta, order)

    @staticmethod
    def _trials(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | float, np.ndarray | float]:
        """Successes, failures, trials and ``log C(m, s)`` of a binomial response."""
        if y.ndim == 1:
            return y, 1.0 - y, 1.0, 0.0
        s, f = y[:, 0], y[:, 1]
        m = s + f
        return s, f, m, gammaln(m + 1.0) - gammaln(s + 1.0) - gammaln(f + 1.0)

    def _binomial_derivatives(self, y, eta, order):
        s, f, m, lc = self._trials(y)
        kind = self._kind
        if kind == "logit":
            logf = lc + s * eta - m * np.logaddexp(0.0, eta)
            if order == 0:
                return logf, None, None
            mu = expit(eta)
            d1 = (s - m * mu)[:, None]
            d2 = None if order == 1 else (-m * mu * (1.0 - mu))[:, None, None]
            return logf, d1, d2
        if kind == "probit":
            a, b = log_ndtr(eta), log_ndtr(-eta)
        elif kind == "cloglog":
            t = np.exp(eta)
            with np.errstate(divide="ignore"):  # t = 0 below eta = -745: log(1 - exp(-t)) = eta there
                a, b = np.where(t > 0.0, np.log(-np.expm1(-t)), eta), -t
        else:
            mu = self.sm_family.link.inverse(eta)
            with np.errstate(divide="ignore"):
                a, b = np.log(mu), np.log1p(-mu)
        logf = lc + _times(s, a) + _times(f, b)
        if order == 0:
            return logf, None, None
        if kind == "probit":
            # Mills ratios lambda(t) = phi(t) / Phi(t), finite far in the tails
            la = np.exp(-0.5 * eta * eta - 0.5 * _LOG_2PI - a)
            lb = np.exp(-0.5 * eta * eta - 0.5 * _LOG_2PI - b)
            a1, b1 = la, -lb
            a2, b2 = -la * (eta + la), -lb * (lb - eta)
        elif kind == "cloglog":
            with np.errstate(over="ignore", invalid="ignore"):
                a1 = np.exp(eta - t - a)  # t exp(-t) / (1 - exp(-t))
                a2 = np.where(a1 == 0.0, 0.0, a1 * (1.0 - np.exp(eta - a)))
            b1 = b2 = -t
        else:
            link = self.sm_family.link
            m1, m2 = link.inverse_deriv(eta), link.inverse_deriv2(eta)
            a1, b1 = m1 / mu, -m1 / (1.0 - mu)
            a2, b2 = m2 / mu - a1 * a1, -m2 / (1.0 - mu) - b1 * b1
        d1 = (s * a1 + f * b1)[:, None]
        if order == 1:
            return logf, d1, None
        return logf, d1, (s * a2 + f * b2)[:, None, None]

    def _edf_derivatives(self, y, eta, anc, order):
        fam = self.sm_family
        link = fam.link
        mu = link.inverse(eta)
        if self.dispersion:
            lnphi = float(anc[0])
            phi = np.exp(lnphi)
            dev = self._unit_deviance(y, mu)
            k0, k1, k2 = self._dispersion_terms(y, lnphi, order)
            logf = -dev / (2.0 * phi) + k0
        else:
            phi = 1.0
            if isinstance(fam, _F.Poisson):
                logf = xlogy(y, mu) - mu - log_factorial(y)
            else:  # negative binomial with fixed alpha
                alpha = fam.alpha
                r = 1.0 / alpha
                logf = gammaln(y + r) - gammaln(r) - log_factorial(y)
                logf += xlogy(y, alpha * mu) - (y + r) * np.log1p(alpha * mu)
        if order == 0:
            return logf, None, None
        v = fam.variance(mu)
        m1 = link.inverse_deriv(eta)
        resid = y - mu
        d_eta = resid * m1 / (v * phi)
        if self.dispersion:
            d1 = np.column_stack([d_eta, dev / (2.0 * phi) + k1])
        else:
            d1 = d_eta[:, None]
        if order == 1:
            return logf, d1, None
        m2 = link.inverse_deriv2(eta)
        dv = fam.variance.deriv(mu)
        d_ee = (-m1 * m1 / v - resid * dv * m1 * m1 / (v * v) + resid * m2 / v) / phi
        if not self.dispersion:
            return logf, d1, d_ee[:, None, None]
        d2 = np.empty((len(eta), 2, 2))
        d2[:, 0, 0] = d_ee
        d2[:, 0, 1] = d2[:, 1, 0] = -d_eta
        d2[:, 1, 1] = -dev / (2.0 * phi) + k2
        return logf, d1, d2

    def _unit_deviance(self, y, mu):
        fam = self.sm_family
        if isinstance(fam, _F.Gaussian):
            return (y - mu) ** 2
        if isinstance(fam, _F.InverseGaussian):
            return (y - mu) ** 2 / (mu * mu * y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * ((y - mu) / mu - np.log(y / mu))

    def _dispersion_terms(self, y, lnphi, order):
        """``k(phi, y)`` and its first two derivatives in ``l = ln phi``."""
        fam = self.sm_family
        if isinstance(fam, _F.Gamma):
            nu = np.exp(-lnphi)
            if nu <= 1e4:
                g = np.log(nu) - digamma(nu)  # log nu - psi(nu)
                k0 = nu * np.log(nu) - nu - gammaln(nu)
                k2 = nu - nu * nu * polygamma(1, nu) if order == 2 else None
            else:
                # Stirling series: the direct differences of huge values lose
                # ~eps * nu log nu at large shapes (a tight class)
                g = 1.0 / (2.0 * nu) + 1.0 / (12.0 * nu**2) - 1.0 / (120.0 * nu**4)
                k0 = 0.5 * np.log(nu) - 0.5 * _LOG_2PI - 1.0 / (12.0 * nu) + 1.0 / (360.0 * nu**3)
                k2 = -0.5 - 1.0 / (6.0 * nu) + 1.0 / (30.0 * nu**3)
            k1 = -nu * g
            k2 = None if k2 is None else nu * g + k2
            return k0 - np.log(y), k1, k2
        k0 = -0.5 * (_LOG_2PI + lnphi)
        if isinstance(fam, _F.InverseGaussian):
            k0 = k0 - 1.5 * np.log(y)
        return k0, -0.5, 0.0

    def mean_from_index(self, eta, anc):
        return self.sm_family.link.inverse(eta[:, 0])

    def rvs(self, eta, anc, rng, y=None):
        """Draws from the family at the mean ``g^{-1}(eta)``.

        A binomial response with trials (two columns) keeps each row's
        number of trials from ``y`` and returns ``(successes, failures)``.
        """
        fam = self.sm_family
        mu = self.mean_from_index(eta, anc)
        phi = float(np.exp(anc[0])) if self.dispersion else 1.0
        if isinstance(fam, _F.Binomial):
            if y is not None and np.ndim(y) == 2:
                m = np.asarray(y, dtype=float).sum(axis=1)
                s = rng.binomial(m.astype(np.int64), mu).astype(float)
                return np.column_stack([s, m - s])
            return (rng.random(len(mu)) < mu).astype(float)
        if isinstance(fam, _F.Poisson):
            return rng.poisson(mu).astype(float)
        if isinstance(fam, _F.NegativeBinomial):
            r = 1.0 / fam.alpha
            return rng.negative_binomial(r, r / (r + mu)).astype(float)
        if isinstance(fam, _F.Gaussian):
            return mu + np.sqrt(phi) * rng.standard_normal(len(mu))
        if isinstance(fam, _F.Gamma):
            return rng.gamma(1.0 / phi, mu * phi)
        # inverse Gaussian: Var y = phi mu^3, i.e. shape lambda = 1/phi
        return rng.wald(mu, 1.0 / phi)

    # ---------------------------------------------------------------- fitting
    def initial_params(self, y, X, c):
        """One IRLS step from ``mu0 = (y + ybar)/2`` (the GLM textbook start).

        Binomial responses with trials start from the proportions with
        prior weights ``m``; dispersion families append the Pearson estimate
        of ``ln phi``.
        """
        prior = c
        if isinstance(self.sm_family, _F.Binomial) and y.ndim == 2:
            m = y.sum(axis=1)
            prior = c * m
            yy = (y[:, 0] + 0.5) / (m + 1.0)
        else:
            yy = y
        ybar = float(prior @ yy) / float(prior.sum())
        mu0 = 0.5 * (yy + ybar)
        link = self.sm_family.link
        with np.errstate(divide="ignore", invalid="ignore"):
            eta0 = link(mu0)
            if not np.all(np.isfinite(eta0)):  # e.g. log link with y <= 0: start flat
                eta0 = np.full_like(mu0, float(link(np.array([ybar]))[0]))
        m1 = link.inverse_deriv(eta0)
        wts = prior * m1 * m1 / self.sm_family.variance(mu0)
        xtx = (X.T * wts) @ X
        offset = self._offset_or_zero()
        beta = np.linalg.lstsq(xtx, X.T @ (wts * (eta0 - offset)), rcond=None)[0]
        if not self.dispersion:
            return beta
        mu = link.inverse(X @ beta + offset)
        pearson = float(c @ ((y - mu) ** 2 / self.sm_family.variance(mu))) / float(c.sum())
        if not np.isfinite(pearson) or pearson <= 0:
            pearson = 1.0
        return np.append(beta, np.log(pearson))

    def _lnphi_ml(self, y, X, c, beta, lnphi):
        """ML ``ln phi`` given the coefficients: Newton on a concave 1-D problem."""
        eta = (X @ beta + self._offset_or_zero())[:, None]
        for _ in range(100):
            _, d1, d2 = self.index_derivatives(y, eta, np.array([lnphi]), order=2)
            g, h = float(c @ d1[:, 1]), float(c @ d2[:, 1, 1])
            step = -g / h if h < 0 else np.sign(g)
            step = float(np.clip(step, -2.0, 2.0))
            lnphi += step
            if abs(step) < 1e-12:
                break
        return lnphi

    def mstep_statsmodels(self, y, X, c, params):
        beta, anc = self.split(params, X.shape[1])
        with warnings.catch_warnings():
            # a link outside its family's domain (gamma with the inverse link)
            # is the user's explicit choice: no warning in every M-step
            warnings.simplefilter("ignore", DomainWarning)
            model = sm.GLM(y, X, family=self.sm_family, freq_weights=c, offset=self.offset)
        res = model.fit(start_params=beta[:, 0], tol=1e-12, maxiter=100)
        beta = np.asarray(res.params, dtype=float)
        if not self.dispersion:
            return beta
        return np.append(beta, self._lnphi_ml(y, X, c, beta, float(anc[0])))


#: ``fmm: glm`` families statsmodels has no GLM for: family -> links Stata allows (first: default)
_OWN_FAMILIES = {
    "beta": ("logit", "probit", "cloglog", "loglog"),
    "exponential": ("log",),
    "weibull": ("log",),
    "lognormal": ("log",),
    "lnormal": ("log",),
    "loglogistic": ("log",),
    "llogistic": ("log",),
}


def _own_family(key: str, link, options: dict) -> ComponentFamily:
    """``glm`` families with a likelihood of their own: beta (:class:`BetaRegression`), survival (:class:`Streg`)."""
    allowed = _OWN_FAMILIES[key]
    lkey = allowed[0] if link is None else str(link).strip().lower()
    if lkey not in allowed:
        raise FMMError(f"glm family {key!r} takes link {' or '.join(map(repr, allowed))}, got {link!r}")
    if key == "beta":
        from fmmreg.families.betareg import BetaRegression

        if options:
            raise FMMError(f"glm family 'beta' takes no options besides link, got {sorted(options)}")
        return BetaRegression(lkey)
    from fmmreg.families.streg import Streg

    return Streg(key, **options)


def glm(family="gaussian", link=None, alpha: float = 1.0, **options) -> ComponentFamily:
    """A GLM component by Stata's names (Stata ``glm, family() link()``).

    Parameters
    ----------
    family : str or statsmodels family
        ``"gaussian"``, ``"bernoulli"``/``"binomial"``, ``"poisson"``,
        ``"gamma"``, ``"igaussian"``, ``"nbinomial"``, or a statsmodels
        family instance (then ``link`` and ``alpha`` are ignored). The
        families of Stata's ``fmm: glm`` that statsmodels lacks are built on
        fmmreg's own components: ``"beta"`` (:class:`BetaRegression`, links
        logit, probit, cloglog, loglog) and ``"exponential"``,
        ``"weibull"``, ``"lognormal"``, ``"loglogistic"`` (log link;
        :class:`~fmmreg.families.streg.Streg`, uncensored unless
        ``failure=`` is given; ``time=True`` for the AFT metric of the
        exponential and Weibull).
    link : str or statsmodels link, optional
        ``"identity"``, ``"log"``, ``"logit"``, ``"probit"``, ``"cloglog"``,
        ``"loglog"``, ``"logc"``, ``"cauchit"``, ``"inverse"``,
        ``"inverse_squared"``, ``"sqrt"``; the family's canonical link by
        default.
    alpha : float
        Fixed dispersion of ``"nbinomial"`` (Stata ``family(nbinomial #)``;
        use ``family="nbreg"`` to estimate it).
    **options
        ``failure``, ``entry``, ``time`` of the survival families.

    Examples
    --------
    >>> fmm(2, "cost ~ age", data=df, family=glm("gamma", link="log"))  # doctest: +SKIP
    >>> fmm(2, "share ~ x", data=df, family=glm("beta", link="probit"))  # doctest: +SKIP
    """
    if isinstance(family, _F.Family):
        return GLMFamily(family)
    key = str(family).strip().lower()
    if key in _OWN_FAMILIES:
        return _own_family(key, link, options)
    if options:
        raise FMMError(f"glm family {key!r} takes no options {sorted(options)}")
    if key not in _FAMILY_NAMES:
        known = sorted(set(_FAMILY_NAMES) | set(_OWN_FAMILIES))
        raise FMMError(f"unknown glm family {family!r}; choose one of {', '.join(known)}")
    fam_cls = _FAMILY_NAMES[key]
    if link is None:
        link_obj = None
    elif isinstance(link, _L.Link):
        link_obj = link
    else:
        lkey = str(link).strip().lower()
        if lkey not in _LINK_NAMES:
            raise FMMError(f"unknown link {link!r}; choose one of {', '.join(sorted(_LINK_NAMES))}")
        link_obj = _LINK_NAMES[lkey]()
    kwargs = {"alpha": alpha} if fam_cls is _F.NegativeBinomial else {}
    return GLMFamily(fam_cls(link=link_obj, **kwargs) if link_obj is not None else fam_cls(**kwargs))


def poisson() -> GLMFamily:
    """Poisson regression with log link (Stata ``poisson``)."""
    return GLMFamily(sm.families.Poisson(), name="poisson", stata_model="poisson")


def logit() -> GLMFamily:
    """Bernoulli regression with logit link (Stata ``logit``)."""
    return GLMFamily(sm.families.Binomial(), name="logit", stata_model="logit")


def probit() -> GLMFamily:
    """Bernoulli regression with probit link (Stata ``probit``)."""
    return GLMFamily(sm.families.Binomial(_L.Probit()), name="probit", stata_model="probit")


def cloglog() -> GLMFamily:
    """Bernoulli regression with complementary log-log link (Stata ``cloglog``)."""
    return GLMFamily(sm.families.Binomial(_L.CLogLog()), name="cloglog", stata_model="cloglog")


def binomial() -> GLMFamily:
    """Binomial regression with logit link and trials (Stata ``glm, family(binomial n)``).

    The response is R's two-column ``cbind(successes, trials - successes)``;
    a 0/1 response is the Bernoulli case (``logit``).
    """
    return GLMFamily(sm.families.Binomial(), name="binomial", stata_model="glm, family(binomial) link(logit)")


def gamma() -> GLMFamily:
    """Gamma regression with log link, dispersion by ML (Stata ``glm, family(gamma) link(log)``).

    The ancillary ``lnphi`` is ``ln(1/shape)``: ``Var y = phi mu^2``, the
    coefficient of variation is ``sqrt(phi)``.
    """
    return GLMFamily(sm.families.Gamma(_L.Log()), name="gamma", stata_model="glm, family(gamma) link(log)")
