"""The family contract over the registry (issue 4): one ``FamilyCase`` per family.

To add a family, append one entry to ``CASES``; the checks live in
``tests/family_contract.py``. Each reference is the plain single-class fit of
statsmodels (GLM, Probit, NegativeBinomial, NegativeBinomialP,
TruncatedLFPoisson, BetaModel, OLS) or, for a dispersion that statsmodels
does not estimate by ML, the GLM coefficients (which do not depend on the
dispersion) plus a scipy maximisation of the scipy.stats likelihood in
``ln phi``.
"""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
from scipy import optimize, stats
from scipy.special import expit
from statsmodels.discrete.discrete_model import NegativeBinomial, NegativeBinomialP, Probit
from statsmodels.discrete.truncated_model import TruncatedLFPoisson
from statsmodels.othermod.betareg import BetaModel

from fmmreg.families.betareg import BetaRegression
from fmmreg.families.glm import glm
from tests.family_contract import FamilyCase, FamilyContract, covariates

_F, _L = sm.families, sm.families.links


# ------------------------------------------------------------------ simulation
def _eta(df, b=(0.4, -0.5), c=0.3):
    return c + b[0] * df["x1"].to_numpy() + b[1] * df["x2"].to_numpy()


def sim_bernoulli(cdf):
    def sim(rng, n):
        df = covariates(rng, n)
        return df.assign(y=(rng.random(n) < cdf(_eta(df, (0.9, -0.6), 0.2))).astype(float))

    return sim


def sim_binomial(rng, n):
    df = covariates(rng, n)
    m = rng.integers(1, 13, size=n)
    return df.assign(m=m, s=rng.binomial(m, expit(_eta(df))))


def sim_poisson(rng, n):
    df = covariates(rng, n)
    return df.assign(y=rng.poisson(np.exp(_eta(df))))


def sim_nb2(rng, n, alpha=0.6):
    df = covariates(rng, n)
    mu = np.exp(_eta(df, c=0.8))
    return df.assign(y=rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu)))


def sim_nb1(rng, n, delta=0.8):
    df = covariates(rng, n)
    mu = np.exp(_eta(df, c=0.8))
    return df.assign(y=rng.negative_binomial(mu / delta, 1 / (1 + delta)))


def sim_tpoisson(rng, n):
    df = covariates(rng, n)
    mu = np.exp(_eta(df))
    y = rng.poisson(mu)
    while np.any(y == 0):
        zero = y == 0
        y[zero] = rng.poisson(mu[zero])
    return df.assign(y=y)


def sim_gamma(rng, n, shape=2.5):
    df = covariates(rng, n)
    mu = np.exp(_eta(df, c=0.5))
    return df.assign(y=rng.gamma(shape, mu / shape))


def sim_igaussian(rng, n, phi=0.4):
    df = covariates(rng, n)
    return df.assign(y=rng.wald(np.exp(_eta(df)), 1 / phi))


def sim_gaussian_log(rng, n):
    df = covariates(rng, n)
    return df.assign(y=np.exp(_eta(df, c=1.0)) + rng.normal(scale=0.5, size=n))


def sim_gaussian(rng, n):
    df = covariates(rng, n)
    return df.assign(y=_eta(df) + rng.normal(scale=0.7, size=n))


def sim_beta(rng, n, phi=8.0):
    df = covariates(rng, n)
    mu = expit(_eta(df))
    return df.assign(y=rng.beta(mu * phi, (1 - mu) * phi))


def sim_lognormal(rng, n):
    df = covariates(rng, n)
    return df.assign(y=np.exp(_eta(df) + rng.normal(scale=0.6, size=n)))


# ------------------------------------------------------------- reference fits
def _split(X, params):
    p = X.shape[1]
    return X @ params[:p], params[p:]


def glm_reference(sm_family):
    """Coefficients and log likelihood of ``statsmodels.GLM`` (scale fixed at one)."""

    def fit(y, X):
        res = sm.GLM(y, X, family=sm_family).fit(tol=1e-13, maxiter=200)
        return np.asarray(res.params), float(res.llf)

    return fit


def glm_ml_dispersion_reference(sm_family, logdensity):
    """GLM coefficients plus the ML ``ln phi`` found by scipy on the scipy.stats density."""

    def fit(y, X):
        beta = np.asarray(sm.GLM(y, X, family=sm_family).fit(tol=1e-13, maxiter=200).params)
        nll = lambda l: -logdensity(y, X, np.append(beta, l)).sum()  # noqa: E731
        opt = optimize.minimize_scalar(nll, bracket=(-2.0, 0.0), tol=1e-12)
        return np.append(beta, opt.x), -float(opt.fun)

    return fit


def probit_reference(y, X):
    res = Probit(y, X).fit(method="newton", tol=1e-13, maxiter=100, disp=0)
    return np.asarray(res.params), float(res.llf)


def nb2_reference(y, X):
    res = NegativeBinomial(y, X, loglike_method="nb2").fit(method="newton", tol=1e-13, maxiter=100, disp=0)
    params = np.asarray(res.params)
    return np.append(params[:-1], np.log(params[-1])), float(res.llf)


def nb1_reference(y, X):
    res = NegativeBinomialP(y, X, p=1).fit(method="newton", tol=1e-13, maxiter=100, disp=0)
    params = np.asarray(res.params)
    return np.append(params[:-1], np.log(params[-1])), float(res.llf)


def tpoisson_reference(y, X):
    res = TruncatedLFPoisson(y, X, truncation=0).fit(method="newton", tol=1e-13, maxiter=100, disp=0)
    return np.asarray(res.params), float(res.llf)


def beta_reference(y, X, link=None):
    # statsmodels' precision equation has a log link: its constant is ln(phi)
    model = BetaModel(y, X) if link is None else BetaModel(y, X, link=link)
    res = model.fit(method="newton", maxiter=100, tol=1e-13, disp=0)
    return np.asarray(res.params), float(res.llf)


def ols_reference(logy):
    """OLS on ``y`` (or ``log y``) with the ML ``ln sigma``; llf of ``y`` (with the Jacobian for log y)."""

    def fit(y, X):
        z = np.log(y) if logy else y
        res = sm.OLS(z, X).fit()
        lnsigma = 0.5 * np.log(np.mean(res.resid**2))
        return np.append(res.params, lnsigma), float(res.llf) - (np.log(y).sum() if logy else 0.0)

    return fit


# --------------------------------------------------------------- log densities
def bernoulli_density(cdf):
    return lambda y, X, params: stats.bernoulli.logpmf(y, cdf(X @ params))


def binomial_density(y, X, params):
    return stats.binom.logpmf(y[:, 0], y.sum(axis=1), expit(X @ params))


def poisson_density(y, X, params):
    return stats.poisson.logpmf(y, np.exp(X @ params))


def nb2_density(y, X, params):
    eta, (lnalpha,) = _split(X, params)
    alpha = np.exp(lnalpha)
    return stats.nbinom.logpmf(y, 1 / alpha, 1 / (1 + alpha * np.exp(eta)))


def nb_fixed_density(alpha):
    return lambda y, X, params: stats.nbinom.logpmf(y, 1 / alpha, 1 / (1 + alpha * np.exp(X @ params)))


def nb1_density(y, X, params):
    eta, (lndelta,) = _split(X, params)
    delta = np.exp(lndelta)
    return stats.nbinom.logpmf(y, np.exp(eta) / delta, 1 / (1 + delta))


def tpoisson_density(y, X, params):
    mu = np.exp(X @ params)
    return stats.poisson.logpmf(y, mu) - stats.poisson.logsf(0, mu)


def gamma_density(y, X, params):
    eta, (lnphi,) = _split(X, params)
    shape = np.exp(-lnphi)
    return stats.gamma.logpdf(y, shape, scale=np.exp(eta) / shape)


def igaussian_density(y, X, params):
    # inverse Gaussian with mean m and shape lambda = 1/phi is scipy's invgauss(m / lambda, scale=lambda)
    eta, (lnphi,) = _split(X, params)
    lam = np.exp(-lnphi)
    return stats.invgauss.logpdf(y, np.exp(eta) / lam, scale=lam)


def gaussian_log_density(y, X, params):
    eta, (lnphi,) = _split(X, params)
    return stats.norm.logpdf(y, np.exp(eta), np.exp(0.5 * lnphi))


def gaussian_density(y, X, params):
    eta, (lnsigma,) = _split(X, params)
    return stats.norm.logpdf(y, eta, np.exp(lnsigma))


def beta_density(y, X, params, inverse=expit):
    eta, (lnphi,) = _split(X, params)
    mu, phi = inverse(eta), np.exp(lnphi)
    return stats.beta.logpdf(y, mu * phi, (1 - mu) * phi)


#: betareg's other mean links (issue 16): statsmodels link, inverse link
_BETA_LINKS = {
    "probit": (_L.Probit(), stats.norm.cdf),
    "cloglog": (_L.CLogLog(), lambda e: 1 - np.exp(-np.exp(e))),
    "loglog": (_L.LogLog(), lambda e: np.exp(-np.exp(-e))),
}


def sim_beta_link(inverse):
    def sim(rng, n, phi=8.0):
        df = covariates(rng, n)
        mu = inverse(_eta(df, c=-0.2))
        return df.assign(y=rng.beta(mu * phi, (1 - mu) * phi))

    return sim


def lognormal_density(y, X, params):
    eta, (lnsigma,) = _split(X, params)
    return stats.lognorm.logpdf(y, np.exp(lnsigma), scale=np.exp(eta))


def _cloglog_cdf(eta):
    return -np.expm1(-np.exp(eta))


_COUNT_BAD = (("y", -1.0),)
_BINARY_BAD = (("y", 2.0), ("y", 0.5))
_POSITIVE_BAD = (("y", 0.0), ("y", -2.0))

CASES = [
    FamilyCase("gaussian", "gaussian", sim_gaussian, ols_reference(False), gaussian_density),
    FamilyCase("poisson", "poisson", sim_poisson, glm_reference(_F.Poisson()), poisson_density, _COUNT_BAD),
    FamilyCase(
        "logit", "logit", sim_bernoulli(expit), glm_reference(_F.Binomial()), bernoulli_density(expit), _BINARY_BAD
    ),
    FamilyCase(
        "probit",
        "probit",
        sim_bernoulli(stats.norm.cdf),
        probit_reference,
        bernoulli_density(stats.norm.cdf),
        _BINARY_BAD,
    ),
    FamilyCase(
        "cloglog",
        "cloglog",
        sim_bernoulli(_cloglog_cdf),
        glm_reference(_F.Binomial(_L.CLogLog())),
        bernoulli_density(_cloglog_cdf),
        _BINARY_BAD,
    ),
    FamilyCase(
        "binomial",
        "binomial",
        sim_binomial,
        glm_reference(_F.Binomial()),
        binomial_density,
        (("s", -1.0),),
        formula="cbind(s, m - s) ~ x1 + x2",
    ),
    FamilyCase(
        "glm_bernoulli_cauchit",
        lambda: glm("bernoulli", "cauchit"),
        sim_bernoulli(stats.cauchy.cdf),
        glm_reference(_F.Binomial(_L.Cauchy())),
        bernoulli_density(stats.cauchy.cdf),
        _BINARY_BAD,
    ),
    FamilyCase(
        "glm_nbinomial_fixed",
        lambda: glm("nbinomial", "log", alpha=0.6),
        sim_nb2,
        glm_reference(_F.NegativeBinomial(alpha=0.6)),
        nb_fixed_density(0.6),
        _COUNT_BAD,
    ),
    FamilyCase(
        "gamma",
        "gamma",
        sim_gamma,
        glm_ml_dispersion_reference(_F.Gamma(_L.Log()), gamma_density),
        gamma_density,
        _POSITIVE_BAD,
    ),
    FamilyCase(
        "glm_igaussian_log",
        lambda: glm("igaussian", "log"),
        sim_igaussian,
        glm_ml_dispersion_reference(_F.InverseGaussian(_L.Log()), igaussian_density),
        igaussian_density,
        _POSITIVE_BAD,
    ),
    FamilyCase(
        "glm_gaussian_log",
        _F.Gaussian(_L.Log()),
        sim_gaussian_log,
        glm_ml_dispersion_reference(_F.Gaussian(_L.Log()), gaussian_log_density),
        gaussian_log_density,
    ),
    FamilyCase("nbreg", "nbreg", sim_nb2, nb2_reference, nb2_density, _COUNT_BAD),
    FamilyCase("nbreg1", "nbreg1", sim_nb1, nb1_reference, nb1_density, _COUNT_BAD),
    FamilyCase("tpoisson", "tpoisson", sim_tpoisson, tpoisson_reference, tpoisson_density, (("y", 0.0), ("y", -1.0))),
    FamilyCase("betareg", "betareg", sim_beta, beta_reference, beta_density, (("y", 0.0), ("y", 1.0), ("y", 1.5))),
    FamilyCase("lognormal", "lognormal", sim_lognormal, ols_reference(True), lognormal_density, _POSITIVE_BAD),
    *[
        FamilyCase(
            f"betareg_{link}",
            lambda link=link: BetaRegression(link),
            sim_beta_link(inverse),
            lambda y, X, sm_link=sm_link: beta_reference(y, X, sm_link),
            lambda y, X, params, inverse=inverse: beta_density(y, X, params, inverse),
            (("y", 1.0),),
        )
        for link, (sm_link, inverse) in _BETA_LINKS.items()
    ],
    FamilyCase(
        "glm_bernoulli_loglog",
        lambda: glm("bernoulli", "loglog"),
        sim_bernoulli(lambda e: np.exp(-np.exp(-e))),
        glm_reference(_F.Binomial(_L.LogLog())),
        bernoulli_density(lambda e: np.exp(-np.exp(-e))),
        _BINARY_BAD,
    ),
]


class TestFamilyContract(FamilyContract):
    cases = CASES
