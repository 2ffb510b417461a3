"""Interfaces of the GLM-type families (issue 4, part A).

The numbers of every family are checked by ``test_family_contract.py``
(one class) and ``test_family_references.py`` (mixtures); here: how users
name families (``glm()``, statsmodels instances, ``cbind``), the lognormal
equivalence, the statsmodels M-step engine, and numerical stability far in
the tails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from fmmreg import FMM, fmm, get_family
from fmmreg.families import GLMFamily, available_families
from fmmreg.families.glm import glm
from tests.test_family_references import FIXTURES, family_of, load


@pytest.mark.parametrize(
    ("name", "stata", "ancillary"),
    [
        ("probit", "probit", ()),
        ("cloglog", "cloglog", ()),
        ("binomial", "glm, family(binomial) link(logit)", ()),
        ("gamma", "glm, family(gamma) link(log)", ("lnphi",)),
        ("nbreg", "nbreg", ("lnalpha",)),
        ("nbreg1", "nbreg, dispersion(constant)", ("lndelta",)),
        ("tpoisson", "tpoisson", ()),
        ("betareg", "betareg", ("lnphi",)),
        ("lognormal", "lognormal (regress on log y)", ("lnsigma",)),
        ("glm", "glm, family(gaussian) link(identity)", ("lnphi",)),
    ],
)
def test_registry_entries(name, stata, ancillary):
    fam = get_family(name)
    assert name in available_families()
    assert fam.stata_model == stata
    assert tuple(fam.ancillary_names) == ancillary


def test_core_glm_entries_unchanged():
    pois, logit = get_family("poisson"), get_family("logit")
    assert (pois.name, pois.stata_model, pois.ancillary_names) == ("poisson", "poisson", ())
    assert (logit.name, logit.stata_model, logit.ancillary_names) == ("logit", "logit", ())


def test_glm_by_stata_names_and_statsmodels_instances():
    fam = glm("igaussian", link="log")
    assert isinstance(fam.sm_family, sm.families.InverseGaussian)
    assert isinstance(fam.sm_family.link, sm.families.links.Log)
    assert fam.ancillary_names == ("lnphi",)
    assert glm("nbinomial", alpha=0.5).sm_family.alpha == 0.5
    assert glm("gamma").sm_family.link.__class__ is sm.families.links.InversePower
    wrapped = get_family(sm.families.Gamma(sm.families.links.Log()))
    assert isinstance(wrapped, GLMFamily) and wrapped.ancillary_names == ("lnphi",)
    # the identity-link Gaussian keeps the regress family (lnsigma)
    assert get_family(sm.families.Gaussian()).ancillary_names == ("lnsigma",)
    assert get_family(sm.families.Gaussian(sm.families.links.Log())).ancillary_names == ("lnphi",)


def test_glm_rejects_what_has_no_likelihood_or_is_unknown():
    with pytest.raises(ValueError, match="Tweedie"):
        get_family(sm.families.Tweedie())
    with pytest.raises(TypeError, match="Tweedie"):
        GLMFamily(sm.families.Tweedie())
    with pytest.raises(ValueError, match="unknown glm family"):
        glm("gompertz")  # glm("weibull") is a survival class (issue 16)
    with pytest.raises(ValueError, match="unknown link"):
        glm("gamma", link="logitt")


def _binomial_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    m = rng.integers(1, 9, size=n)
    return pd.DataFrame({"x": x, "m": m, "s": rng.binomial(m, 1 / (1 + np.exp(-0.3 - 0.7 * x)))})


def test_cbind_response_matches_replicated_bernoulli_rows():
    """cbind(s, m - s) is the same likelihood (up to log C(m, s)) as m Bernoulli rows."""
    df = _binomial_data()
    res = fmm(1, "cbind(s, m - s) ~ x", df, family="binomial")
    rows = df.loc[df.index.repeat(df["m"])].copy()
    rows["y"] = np.concatenate([np.r_[np.ones(s), np.zeros(m - s)] for s, m in zip(df["s"], df["m"])])
    bern = fmm(1, "y ~ x", rows, family="logit")
    np.testing.assert_allclose(res.params.to_numpy(), bern.params.to_numpy(), atol=1e-8)
    np.testing.assert_allclose(res.bse.to_numpy(), bern.bse.to_numpy(), rtol=1e-6)
    from scipy.special import gammaln

    logc = gammaln(df["m"] + 1) - gammaln(df["s"] + 1) - gammaln(df["m"] - df["s"] + 1)
    assert res.llf == pytest.approx(bern.llf + logc.sum(), abs=1e-8)
    assert res.yname == "cbind(s, m - s)"


def test_binomial_family_takes_a_01_response_as_bernoulli():
    df = _binomial_data().assign(y=lambda d: (d["s"] > d["m"] / 2).astype(int))
    a = fmm(1, "y ~ x", df, family="binomial")
    b = fmm(1, "y ~ x", df, family="logit")
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), atol=1e-10)
    assert a.llf == pytest.approx(b.llf, abs=1e-10)


def test_two_column_response_needs_a_family_that_takes_it():
    df = _binomial_data()
    with pytest.raises(ValueError, match=r"2 columns; family 'poisson'"):
        FMM(1, "cbind(s, m - s) ~ x", df, family="poisson")
    with pytest.raises(ValueError, match=r"'cbind\(s, m - s\)'.*'probit'"):
        FMM(1, "cbind(s, m - s) ~ x", df.assign(s=-df["s"]), family="probit")


def test_lognormal_is_gaussian_on_log_y():
    df = pd.read_csv(FIXTURES / "lognormal" / "data.csv")
    ln = fmm(2, "y ~ x", df, family="lognormal")
    ga = fmm(2, "np.log(y) ~ x", df, family="gaussian")
    np.testing.assert_allclose(ln.params.to_numpy(), ga.params.to_numpy(), atol=1e-7)
    np.testing.assert_allclose(ln.bse.to_numpy(), ga.bse.to_numpy(), rtol=1e-6)
    assert ln.llf == pytest.approx(ga.llf - np.log(df["y"]).sum(), abs=1e-8)
    # E[y] of a lognormal class is exp(x'b + sigma^2 / 2)
    fam = ln.families[0]
    b = ln.params.loc["1.y"]
    X = np.column_stack([df["x"], np.ones(len(df))])
    np.testing.assert_allclose(
        fam.mean(X, b.to_numpy()), np.exp(X @ b.to_numpy()[:2] + 0.5 * np.exp(2 * b["lnsigma"])), rtol=1e-12
    )


@pytest.mark.parametrize("name", ["gamma", "binomial", "glm_gamma_inverse"])
def test_statsmodels_engine_reaches_the_same_maximum(name):
    """The literal statsmodels GLM M-step (+ ML ln phi) and the fast Newton M-step agree."""
    ref, df = load(name)
    family = family_of(ref["family"])
    opts = {"draws": 4, "max_draws": 4, "emopts": {"iterate": 10}}
    fast = fmm(ref["k"], ref["formula"], df, family=family, **opts)
    slow = fmm(ref["k"], ref["formula"], df, family=family, engine="statsmodels", **opts)
    assert slow.llf == pytest.approx(fast.llf, abs=1e-6)
    np.testing.assert_allclose(slow.params.to_numpy(), fast.params.to_numpy(), atol=1e-5)


@pytest.mark.parametrize("name", ["probit", "cloglog"])
def test_bernoulli_tails_stay_finite(name):
    """Far in the tails (|eta| up to 40, where the CDF rounds to 0 or 1) values and derivatives stay finite."""
    fam = get_family(name)
    eta = np.linspace(-40, 40, 81)[:, None]
    y = np.r_[np.zeros(40), np.ones(41)]
    for yy in (y, 1 - y):
        logf, d1, d2 = fam.index_derivatives(yy, eta[:, :], np.array([]), order=2)
        assert np.all(np.isfinite(logf)) and np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))
        assert np.all(logf <= 0)
    if name == "probit":
        # log Phi(-40) ~ -804.6: no underflow to log(0)
        logf = fam.index_derivatives(np.array([1.0]), np.array([[-40.0]]), np.array([]), order=0)[0]
        assert logf[0] == pytest.approx(-804.60844, abs=1e-4)


@pytest.mark.parametrize("shape", [9.99e3, 1.001e4, 1e8])
def test_gamma_tight_class_is_exact(shape):
    """Large shapes (a tight class) switch to Stirling series: density and derivatives stay consistent."""
    fam = get_family("gamma")
    rng = np.random.default_rng(4)
    eta = rng.normal(0.5, 0.3, size=50)
    y = np.exp(eta) * (1 + rng.normal(scale=1 / np.sqrt(shape), size=50))
    lnphi = -np.log(shape)
    logf, d1, d2 = fam.index_derivatives(y, eta[:, None], np.array([lnphi]), order=2)
    if shape < 1e5:  # scipy's gamma logpdf is itself exact enough here
        from scipy import stats

        want = stats.gamma.logpdf(y, shape, scale=np.exp(eta) / shape)
        np.testing.assert_allclose(logf, want, atol=1e-8, rtol=0)
    h = 1e-4
    up = fam.index_derivatives(y, eta[:, None], np.array([lnphi + h]), order=1)
    dn = fam.index_derivatives(y, eta[:, None], np.array([lnphi - h]), order=1)
    np.testing.assert_allclose(d1[:, 1], (up[0] - dn[0]) / (2 * h), atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(d2[:, 1, 1], (up[1][:, 1] - dn[1][:, 1]) / (2 * h), atol=1e-6, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:Negative binomial dispersion parameter alpha not set")
def test_statsmodels_negative_binomial_family_estimates_alpha_like_nbreg():
    """sm.families.NegativeBinomial() fixes alpha in a GLM; fmmreg estimates it by ML (Stata's nbreg)."""
    import statsmodels.api as sm

    from fmmreg import FMMError
    from fmmreg.families import NegativeBinomial2, get_family

    assert isinstance(get_family(sm.families.NegativeBinomial()), NegativeBinomial2)
    assert isinstance(get_family(sm.families.NegativeBinomial(alpha=2.0)), NegativeBinomial2)
    with pytest.raises(FMMError, match=r"fixes alpha.*family='nbreg'.*glm\('nbinomial'"):
        get_family(sm.families.NegativeBinomial(sm.families.links.Identity()))
    rng = np.random.default_rng(7)
    x = rng.normal(size=300)
    df = pd.DataFrame({"x": x, "y": rng.poisson(rng.gamma(2.0, 0.5 * np.exp(0.3 + 0.5 * x)))})
    a = fmm(1, "y ~ x", data=df, family=sm.families.NegativeBinomial())
    b = fmm(1, "y ~ x", data=df, family="nbreg")
    assert a.llf == pytest.approx(b.llf, abs=1e-9)
    assert "lnalpha" in a.params.index.get_level_values(1)


def test_fixed_alpha_is_shown_as_fixed():
    """glm('nbinomial', alpha=...) keeps alpha fixed on purpose: the summary says so, as Stata's family(nbinomial #)."""
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"x": rng.normal(size=200)})
    df["y"] = rng.poisson(np.exp(0.5 + 0.3 * df["x"]))
    res = fmm(1, "y ~ x", data=df, family=glm("nbinomial", alpha=0.7))
    text = res.summary().as_text()
    assert "Model:    glm, family(nbinomial 0.7) link(log)" in text
    assert "       alpha |         .7  (constrained)" in text
    assert "alpha" not in " ".join(res.params.index.get_level_values(1))  # not an estimated parameter
