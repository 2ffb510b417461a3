"""estat lcprob / lcmean / ic, predict, lrtest and the tidy frame (issue 5)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from fmmreg import fmm
from tests.conftest import EXAMPLE_1B_FORMULA
from tests.simulate import gaussian_mixture, poisson_mixture


@pytest.fixture(scope="module")
def ex1b(mus03sub):
    return fmm(3, EXAMPLE_1B_FORMULA, data=mus03sub, class_formula="~ totchr")


@pytest.fixture(scope="module")
def sim2():
    data = gaussian_mixture(n=400, seed=0, k=2)
    return data, fmm(2, "y ~ x + C(g)", data=data, class_formula="~ z")


@pytest.fixture(scope="module")
def pois_w():
    data = poisson_mixture()
    return data, fmm(2, "y ~ x", data=data, family="poisson", class_formula="~ z", weights="w")


@pytest.fixture(scope="module")
def const3():
    data = gaussian_mixture(n=450, seed=5, k=3, membership=False)
    return data, fmm(3, "y ~ x", data=data)


def _jacobian(f, theta: np.ndarray) -> np.ndarray:
    """Central differences, step scaled to each coordinate."""
    cols = []
    for j in range(len(theta)):
        h = 1e-5 * max(1.0, abs(theta[j]))
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        cols.append((f(up) - f(dn)) / (2 * h))
    return np.column_stack(cols)


def _numerical_delta_se(res, f) -> np.ndarray:
    g = _jacobian(f, res.theta.copy())
    return np.sqrt(np.diag(g @ res.cov_params().to_numpy() @ g.T))


def _shares_at(res, theta):
    gamma, _ = res.lik.unpack(theta)
    pi = np.exp(res.lik.membership.log_prior(gamma))
    return res.lik.w @ pi / res.lik.w.sum()


def _means_at(res, theta):
    _, comps = res.lik.unpack(theta)
    w = res.lik.w
    return np.array([w @ fam.mean(X, th) / w.sum() for fam, X, th in zip(res.lik.families, res.lik.designs, comps)])


# ----------------------------------------------------------------- lcprob
@pytest.mark.parametrize("name", ["ex1b", "sim2", "pois_w"])
def test_lcprob_point_and_delta_se(name, request):
    res = request.getfixturevalue(name)
    res = res[1] if isinstance(res, tuple) else res
    lp = res.lcprob()
    w = res.lik.w
    direct = w @ res.prior.to_numpy() / w.sum()
    np.testing.assert_allclose(lp.frame["margin"], direct, rtol=1e-12)
    np.testing.assert_allclose(lp.frame["margin"], res.class_shares, rtol=1e-12)
    num = _numerical_delta_se(res, lambda th: _shares_at(res, th))
    np.testing.assert_allclose(lp.frame["se"], num, rtol=1e-6)
    assert (lp.frame["ci_low"] < lp.frame["margin"]).all() and (lp.frame["margin"] < lp.frame["ci_high"]).all()
    assert (lp.frame["ci_low"] > 0).all() and (lp.frame["ci_high"] < 1).all()


def test_lcprob_constant_shares_two_classes_is_logit_transform():
    data = gaussian_mixture(n=300, seed=2, k=2, membership=False)
    res = fmm(2, "y ~ x", data=data)
    g, se_g = res.params[("2.Class", "Intercept")], res.bse[("2.Class", "Intercept")]
    lp = res.lcprob().frame
    p2 = expit(g)
    assert lp.loc[2, "margin"] == pytest.approx(p2, rel=1e-12)
    # the share implied by the logit parameterisation: d expit(g)/dg = p(1-p)
    assert lp.loc[2, "se"] == pytest.approx(p2 * (1 - p2) * se_g, rel=1e-10)
    assert lp.loc[1, "se"] == pytest.approx(lp.loc[2, "se"], rel=1e-10)
    # the logit-scale CI of class 2 is exactly expit(g -+ z se(g))
    q = stats.norm.ppf(0.975)
    assert lp.loc[2, "ci_low"] == pytest.approx(expit(g - q * se_g), rel=1e-10)
    assert lp.loc[2, "ci_high"] == pytest.approx(expit(g + q * se_g), rel=1e-10)


def test_lcprob_constant_shares_three_classes_softmax(const3):
    _, res = const3
    gam = np.concatenate([[0.0], res.params.loc["2.Class"].to_numpy(), res.params.loc["3.Class"].to_numpy()])
    pi = np.exp(gam) / np.exp(gam).sum()
    jac = np.diag(pi) - np.outer(pi, pi)  # d softmax / d gamma
    v = res.cov_params().loc[["2.Class", "3.Class"], ["2.Class", "3.Class"]].to_numpy()
    se = np.sqrt(np.diag(jac[:, 1:] @ v @ jac[:, 1:].T))
    lp = res.lcprob().frame
    np.testing.assert_allclose(lp["margin"], pi, rtol=1e-12)
    np.testing.assert_allclose(lp["se"], se, rtol=1e-10)


def test_lcprob_text_layout(sim2):
    _, res = sim2
    text = str(res.lcprob())
    assert "Latent class marginal probabilities" in text
    assert "Delta-method" in text and "P>|z|" not in text
    assert "Number of obs     =        400" in text


# ----------------------------------------------------------------- lcmean
@pytest.mark.parametrize("name", ["ex1b", "sim2", "pois_w"])
def test_lcmean_point_and_delta_se(name, request):
    res = request.getfixturevalue(name)
    res = res[1] if isinstance(res, tuple) else res
    lm = res.lcmean()
    mu = res.predict(kind="mu").to_numpy()
    w = res.lik.w
    np.testing.assert_allclose(lm.frame["margin"], w @ mu / w.sum(), rtol=1e-12)
    num = _numerical_delta_se(res, lambda th: _means_at(res, th))
    np.testing.assert_allclose(lm.frame["se"], num, rtol=1e-6)
    np.testing.assert_allclose(lm.frame["z"], lm.frame["margin"] / lm.frame["se"], rtol=1e-12)


def test_lcmean_gaussian_equals_linear_combination(sim2):
    """For an identity link, M_k = xbar' b_k and its SE is exact linear algebra."""
    _, res = sim2
    X = res.lik.designs[0]
    xbar = X.mean(axis=0)
    for k in (1, 2):
        eq = f"{k}.y"
        b = res.params.loc[eq].drop("lnsigma").to_numpy()
        v = res.cov_params().loc[eq, eq].drop(index="lnsigma", columns="lnsigma").to_numpy()
        row = res.lcmean().frame.loc[k]
        assert row["margin"] == pytest.approx(xbar @ b, rel=1e-12)
        assert row["se"] == pytest.approx(np.sqrt(xbar @ v @ xbar), rel=1e-10)


# --------------------------------------------------------------------- ic
def test_ic_formulas(pois_w):
    _, res = pois_w
    ic = res.ic()
    n, p, ll = res.nobs, res.df_model, res.llf
    assert n == res.lik.w.sum()  # frequency weights count
    tau = res.posterior.to_numpy()
    en = float(res.lik.w @ (-tau * np.log(tau)).sum(axis=1))
    assert ic.aic == pytest.approx(-2 * ll + 2 * p) and ic.aic == pytest.approx(res.aic)
    assert ic.bic == pytest.approx(-2 * ll + p * np.log(n)) and ic.bic == pytest.approx(res.bic)
    assert ic.caic == pytest.approx(-2 * ll + p * (np.log(n) + 1))
    assert ic.sabic == pytest.approx(-2 * ll + p * np.log((n + 2) / 24))
    assert ic.aicc == pytest.approx(ic.aic + 2 * p * (p + 1) / (n - p - 1))
    assert ic.entropy == pytest.approx(1 - en / (n * np.log(2)))
    assert ic.icl == pytest.approx(ic.bic + 2 * en)
    assert 0 < ic.entropy < 1
    assert res.info_criteria() == ic
    assert list(ic.frame.columns) == ["N", "K", "ll", "df", "AIC", "BIC", "CAIC", "SABIC", "AICc", "Entropy", "ICL"]


def test_ic_layout_and_separation(sim2):
    _, res = sim2
    ic = res.ic()
    text = str(ic)
    assert "Akaike's information criterion and Bayesian information criterion" in text
    assert "ll(null)  ll(model)      df        AIC        BIC" in text
    assert ic.entropy > 0.95  # well-separated classes


def test_ic_one_class_entropy_undefined():
    data = gaussian_mixture(n=200, seed=1, k=2)
    res = fmm(1, "y ~ x", data=data)
    ic = res.ic()
    assert np.isnan(ic.entropy)
    assert ic.icl == pytest.approx(ic.bic)


# ---------------------------------------------------------------- predict
KINDS = ["mu", "eta", "classpr", "classposteriorpr", "density", "scores"]


@pytest.mark.parametrize("kind", KINDS)
def test_predict_newdata_equals_in_sample(ex1b, mus03sub, kind):
    full = ex1b.predict(kind=kind)
    new = ex1b.predict(newdata=mus03sub.iloc[:10], kind=kind)
    pd.testing.assert_frame_equal(new, full.iloc[:10], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("kind", "weighting"), [("mu", "prior"), ("mu", "posterior"), ("eta", "prior")])
def test_predict_marginal_newdata(ex1b, mus03sub, kind, weighting):
    full = ex1b.predict(kind=kind, marginal=True, weighting=weighting)
    new = ex1b.predict(newdata=mus03sub.iloc[:10], kind=kind, marginal=True, weighting=weighting)
    pd.testing.assert_series_equal(new, full.iloc[:10], rtol=1e-10)


def test_predict_identities(sim2):
    _, res = sim2
    pd.testing.assert_frame_equal(res.predict(kind="classposteriorpr"), res.posterior, rtol=1e-12)
    pd.testing.assert_frame_equal(res.predict(kind="classpr"), res.prior, rtol=1e-12)
    mu = res.predict(kind="mu")
    prior, post = res.prior, res.posterior
    np.testing.assert_allclose(res.predict(kind="mu", marginal=True), (mu * prior).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(
        res.predict(kind="mu", marginal=True, weighting="posterior"), (mu * post).sum(axis=1), rtol=1e-12
    )
    # the marginal (mixture) density gives back the log likelihood
    dens = res.predict(kind="density", marginal=True)
    assert np.log(dens).sum() == pytest.approx(res.llf, rel=1e-12)
    # Gaussian class densities by hand
    sig = np.exp(res.params[("1.y", "lnsigma")])
    np.testing.assert_allclose(res.predict(kind="density", cls=1), stats.norm.pdf(res.lik.y, mu[1], sig), rtol=1e-10)
    # identity link: eta == mu
    pd.testing.assert_frame_equal(res.predict(kind="eta"), mu)
    scores = res.predict(kind="scores")
    assert list(scores.columns) == list(res.params.index)
    np.testing.assert_allclose(scores.sum().to_numpy(), res.score, atol=1e-8)


def test_predict_classpr_needs_only_class_variables(sim2):
    data, res = sim2
    out = res.predict(newdata=data[["z"]].iloc[:5], kind="classpr")
    pd.testing.assert_frame_equal(out, res.prior.iloc[:5], rtol=1e-12)
    with pytest.raises(ValueError, match="'x'"):
        res.predict(newdata=data[["z"]].iloc[:5], kind="mu")


def test_predict_errors_name_the_problem(sim2):
    data, res = sim2
    with pytest.raises(ValueError, match="lacks column.*'g'"):
        res.predict(newdata=data.drop(columns="g"))
    with pytest.raises(ValueError, match="lacks column.*'y'"):
        res.predict(newdata=data.drop(columns="y"), kind="classposteriorpr")
    bad = data.iloc[:4].copy()
    bad["g"] = ["a", "b", "zz", "c"]
    with pytest.raises(ValueError, match=r"column 'g' has level\(s\) \['zz'\] not seen"):
        res.predict(newdata=bad)
    with pytest.raises(ValueError, match="kind"):
        res.predict(kind="nonsense")
    with pytest.raises(ValueError, match="marginal"):
        res.predict(kind="classpr", marginal=True)


def test_predict_missing_values_give_nan_not_baseline(sim2):
    data, res = sim2
    new = data.iloc[:4].copy().astype({"g": object})
    new.loc[new.index[1], "g"] = None
    new.loc[new.index[2], "x"] = np.nan
    out = res.predict(newdata=new)
    assert out.iloc[[1, 2]].isna().all().all()
    pd.testing.assert_frame_equal(out.iloc[[0, 3]], res.predict().iloc[[0, 3]], rtol=1e-12)


def test_predict_poisson_mean_and_cls(pois_w):
    data, res = pois_w
    eta = res.predict(kind="eta")
    pd.testing.assert_frame_equal(res.predict(kind="mu"), np.exp(eta), rtol=1e-12)
    s = res.predict(kind="mu", cls=2)
    assert isinstance(s, pd.Series) and s.name == "mu2"
    with pytest.raises(ValueError, match="poisson"):
        res.predict(newdata=data.assign(y=-1).iloc[:3], kind="density")


# ----------------------------------------------------------------- lrtest
def test_lrtest_nested_same_k():
    data = gaussian_mixture(n=400, seed=0, k=2)
    full = fmm(2, "y ~ x + C(g)", data=data, class_formula="~ z")
    restricted = fmm(2, "y ~ x + C(g)", data=data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lr = full.lrtest(restricted)
    assert lr.df == 1
    assert lr.chi2 == pytest.approx(2 * (full.llf - restricted.llf))
    assert lr.pvalue == pytest.approx(stats.chi2.sf(lr.chi2, 1))
    assert restricted.lrtest(full).chi2 == pytest.approx(lr.chi2)  # order does not matter
    assert "LR chi2(1)" in str(lr)


def test_lrtest_warns_for_different_k(sim2):
    data, res = sim2
    one = fmm(1, "y ~ x + C(g)", data=data)
    with pytest.warns(UserWarning, match="invalid"):
        lr = res.lrtest(one)
    assert not lr.same_k
    other = fmm(2, "y ~ x + C(g)", data=data.iloc[:300], class_formula="~ z")
    with pytest.raises(ValueError, match="different samples"):
        res.lrtest(other)


# -------------------------------------------------------------- to_frame
def test_to_frame_one_row_per_parameter(ex1b):
    tidy = ex1b.to_frame()
    assert list(tidy.columns) == [
        *("equation", "class", "term", "variable", "level"),
        *("coef", "se", "z", "p", "ci_low", "ci_high"),
    ]
    # full names stay in term; variable / level say what they are (from the formula's ModelSpec)
    row = tidy.set_index(["equation", "term"]).loc[("1.lmedexp", "C(sex)[T.1]")]
    assert (row["variable"], row["level"]) == ("sex", "1")
    row = tidy.set_index(["equation", "term"]).loc[("2.Class", "Intercept")]
    assert row["variable"] == "_cons" and pd.isna(row["level"])
    assert tidy.loc[tidy["term"] == "income", "level"].isna().all()
    assert len(tidy) == len(ex1b.params)
    idx = pd.MultiIndex.from_arrays([tidy["equation"], tidy["term"]])
    assert list(idx) == list(ex1b.params.index)
    np.testing.assert_allclose(tidy["coef"], ex1b.params)
    np.testing.assert_allclose(tidy["se"], ex1b.bse)
    np.testing.assert_allclose(tidy["p"], ex1b.pvalues)
    np.testing.assert_allclose(tidy[["ci_low", "ci_high"]], ex1b.conf_int())
    assert tidy.loc[tidy["equation"] == "3.Class", "class"].eq(3).all()
    assert tidy.loc[tidy["equation"] == "1.lmedexp", "class"].eq(1).all()


# ------------------------------------------------- families beyond Gaussian/GLM
def _other_family_data(name: str) -> tuple[pd.DataFrame, str, object]:
    rng = np.random.default_rng(7)
    n = 300
    x, z = rng.normal(size=n), rng.normal(size=n)
    cls = rng.random(n) < 1 / (1 + np.exp(-z))
    ystar = np.where(cls, 1 + x, -1 - 0.5 * x) + rng.normal(size=n) * 0.7
    df = pd.DataFrame({"x": x, "z": z})
    if name == "tobit":  # the mean depends on lnsigma: central-difference path with an ancillary
        return df.assign(y=np.maximum(ystar, 0)), "y ~ x", "tobit"
    if name == "intreg":  # two-column response through cbind()
        return df.assign(lo=np.floor(ystar), hi=np.floor(ystar) + 1), "cbind(lo, hi) ~ x", "intreg"
    if name == "mlogit":  # several linear predictors per class
        return df.assign(y=np.digitize(ystar, [-0.5, 0.5])), "y ~ x", "mlogit"
    y = np.where(cls, 0, rng.poisson(np.exp(1 + 0.3 * x)))  # a class without parameters
    return df.assign(y=y), "y ~ x", ["pointmass", "poisson"]


@pytest.mark.parametrize("name", ["tobit", "intreg", "mlogit", "pointmass"])
def test_other_families_delta_and_newdata(name):
    data, formula, family = _other_family_data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fmm(2, formula, data, family=family, class_formula="~ z", draws=4, max_draws=4)
    lm, lp = res.lcmean().frame, res.lcprob().frame
    mu = res.predict(kind="mu").to_numpy()
    np.testing.assert_allclose(lm["margin"], mu.mean(axis=0), rtol=1e-12)
    num = _numerical_delta_se(res, lambda th: _means_at(res, th))
    np.testing.assert_allclose(lm["se"], num, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(lp["se"], _numerical_delta_se(res, lambda th: _shares_at(res, th)), rtol=1e-6)
    for kind in KINDS:
        pd.testing.assert_frame_equal(
            res.predict(newdata=data.iloc[:10], kind=kind), res.predict(kind=kind).iloc[:10], rtol=1e-10, atol=1e-12
        )


def test_lcprob_lcmean_mus17_reference(mus17):
    """MUS ch. 17, ``fmm 2: poisson docvis``: Stata's class 1 probability is .699."""
    res = fmm(2, "docvis ~ 1", data=mus17, family="poisson", draws=5, max_draws=5)
    lp, lm = res.lcprob().frame, res.lcmean().frame
    assert round(lp.loc[1, "margin"], 3) == 0.699
    # intercept-only Poisson: the class mean is exp(_cons), its SE exp(_cons) se(_cons)
    for k in (1, 2):
        b, se = res.params[(f"{k}.docvis", "Intercept")], res.bse[(f"{k}.docvis", "Intercept")]
        assert lm.loc[k, "margin"] == pytest.approx(np.exp(b), rel=1e-12)
        assert lm.loc[k, "se"] == pytest.approx(np.exp(b) * se, rel=1e-10)
