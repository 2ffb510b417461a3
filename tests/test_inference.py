"""Issue 11: vce (OPG / robust / cluster), fweights / pweights / iweights, offset and exposure, eform.

References: sandwiches built from numerically differentiated per-observation
log likelihoods (tests/numeric_vce.py), statsmodels at K = 1, row
replication, Cameron & Trivedi's MUS chapter 17 (Stata ``vce(robust)``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from fmmreg import FMMError, fmm
from fmmreg.estimation import engine, mixture
from fmmreg.estimation import vce as vce_numerics
from fmmreg.estimation.starts import StartOptions, multistart
from tests.numeric_vce import numeric_vce
from tests.simulate import gaussian_mixture, poisson_mixture


@pytest.fixture(scope="module")
def pois2():
    data = poisson_mixture(n=400)
    return data, fmm(2, "y ~ x", data=data, family="poisson", draws=8, max_draws=8)


@pytest.fixture(scope="module")
def gauss3():
    data = gaussian_mixture(n=450, seed=5, k=3)
    return data, fmm(3, "y ~ x", data=data, class_formula="~ z", draws=8, max_draws=8)


@pytest.fixture(scope="module")
def exposure_data():
    rng = np.random.default_rng(11)
    n = 400
    x, t = rng.normal(size=n), rng.uniform(0.5, 4.0, size=n)
    high = rng.random(n) < 0.4
    mu = t * np.exp(np.where(high, 1.5 + 0.3 * x, 0.1 - 0.4 * x))
    return pd.DataFrame({"y": rng.poisson(mu), "x": x, "t": t, "id": np.repeat(np.arange(80), 5)})


def _se(cov: np.ndarray) -> np.ndarray:
    return np.sqrt(np.diag(cov))


# ------------------------------------------------------------------ vce
@pytest.mark.parametrize("case", ["pois2", "gauss3"])
@pytest.mark.parametrize("kind", ["opg", "robust"])
def test_robust_and_opg_equal_numeric_construction(case, kind, request):
    _, res = request.getfixturevalue(case)
    ref = numeric_vce(res.lik, res.theta, kind)
    other = res.with_vce(kind)
    assert other.cov_type == kind and res.cov_type == "oim"
    np.testing.assert_allclose(other.bse.to_numpy(), _se(ref), rtol=1e-5)
    np.testing.assert_allclose(other.cov_params().to_numpy(), ref, rtol=1e-4, atol=1e-5 * _se(ref).max() ** 2)
    assert not np.allclose(other.bse, res.bse, rtol=1e-3)  # not the OIM


def test_cluster_one_row_per_cluster_equals_robust(gauss3):
    data, res = gauss3
    robust = res.with_vce("robust")
    singletons = res.with_vce("cluster", cluster=np.arange(len(data)))
    np.testing.assert_allclose(singletons.cov_params(), robust.cov_params(), rtol=1e-10, atol=1e-14)
    assert singletons.n_clusters == len(data)


@pytest.mark.parametrize("case", ["pois2", "gauss3"])
def test_cluster_on_panel_equals_numeric_construction(case, request):
    data, res = request.getfixturevalue(case)
    panel = data.assign(pid=np.arange(len(data)) // 5)
    clustered = res.with_vce("cluster", cluster=panel["pid"])
    ref = numeric_vce(res.lik, res.theta, "cluster", groups=panel["pid"].to_numpy())
    np.testing.assert_allclose(clustered.bse.to_numpy(), _se(ref), rtol=1e-5)
    assert clustered.n_clusters == len(data) // 5 and clustered.vce_spec.cluster_name == "pid"
    assert np.max(np.abs(clustered.bse / res.with_vce("robust").bse - 1)) > 0.01  # the panel matters


def test_k1_robust_and_cluster_equal_statsmodels_after_stata_factors(exposure_data):
    df = exposure_data
    n, G = len(df), df["id"].nunique()
    res = fmm(1, "y ~ x", data=df, family="poisson")
    glm = sm.GLM(df["y"], sm.add_constant(df["x"]), family=sm.families.Poisson())
    order = [1, 0]  # statsmodels: const first; fmmreg: x, then _cons
    # robust: ours = statsmodels HC0 * N/(N-1) (Stata's factor)
    hc0 = glm.fit(cov_type="HC0").bse.to_numpy()[order]
    np.testing.assert_allclose(res.with_vce("robust").bse, hc0 * np.sqrt(n / (n - 1)), rtol=1e-7)
    # cluster: ours = statsmodels' uncorrected cluster * G/(G-1) (Stata's factor; no (N-1)/(N-k) for ml)
    raw = glm.fit(cov_type="cluster", cov_kwds={"groups": df["id"], "use_correction": False}).bse.to_numpy()[order]
    ours = res.with_vce("cluster", cluster="id").bse
    np.testing.assert_allclose(ours, raw * np.sqrt(G / (G - 1)), rtol=1e-7)
    # equivalently statsmodels' default correction G/(G-1) (N-1)/(N-k) times (N-k)/(N-1)
    corrected = glm.fit(cov_type="cluster", cov_kwds={"groups": df["id"]}).bse.to_numpy()[order]
    np.testing.assert_allclose(ours, corrected * np.sqrt((n - 2) / (n - 1)), rtol=1e-7)


def test_mus17_poisson_mixture_vce_robust(mus17):
    """MUS ch. 17: ``fmm 2, vce(robust): poisson docvis``, Log pseudolikelihood = -12434.33."""
    res = fmm(2, "docvis ~ 1", data=mus17, family="poisson", vce="robust", draws=6, max_draws=6)
    assert res.llf == pytest.approx(-12434.33, abs=0.005)
    b = res.params
    assert b[("1.docvis", "Intercept")] == pytest.approx(1.2111, abs=1e-4)
    assert b[("2.docvis", "Intercept")] == pytest.approx(2.6986, abs=1e-4)
    assert b[("2.Class", "Intercept")] == pytest.approx(-0.8411, abs=1e-4)
    assert res.cov_type == "robust"
    ref = numeric_vce(res.lik, res.theta, "robust")
    np.testing.assert_allclose(res.bse.to_numpy(), _se(ref), rtol=1e-5)
    text = str(res.summary())
    assert "Log pseudolikelihood = -12434.33" in text
    assert f"{'':13}|{'':15}Robust\n{'':13}| Coefficient  std. err.      z    P>|z|" in text
    assert "Robust std. err." in res.summary().as_markdown()


def test_cluster_summary_layout_and_pseudolikelihood(exposure_data):
    res = fmm(1, "y ~ x", data=exposure_data, family="poisson", vce="cluster", cluster="id")
    lines = str(res.summary()).splitlines()
    note = "(Std. err. adjusted for 80 clusters in id)"
    i = lines.index(f"{note:>78}")
    assert lines[i + 1] == "-" * 78 and lines[i + 2].endswith("Robust")
    assert lines[1].startswith("Log pseudolikelihood")
    summ = res.summary()
    assert note in summ.as_html() and note in summ.as_markdown() and "adjusted for 80 clusters" in summ.as_latex()
    opg = res.with_vce("opg").summary()
    assert f"{'':13}|{'':17}OPG\n" in str(opg) and "Log likelihood" in str(opg)
    assert "(Std. err. adjusted" not in str(opg)


def test_vce_reaches_postestimation(gauss3):
    _, res = gauss3
    robust = res.with_vce("robust")
    cov = robust.cov_params().to_numpy()
    lc = robust.lcprob()
    np.testing.assert_allclose(lc.frame["se"], np.sqrt(np.einsum("ij,jk,ik->i", lc.gradient, cov[:4, :4], lc.gradient)))
    assert not np.allclose(lc.frame["se"], res.lcprob().frame["se"])
    lm = robust.lcmean()
    np.testing.assert_allclose(lm.frame["se"], np.sqrt(np.einsum("ij,jk,ik->i", lm.gradient, cov, lm.gradient)))
    # relabelling keeps the VCE; the original result is untouched
    swapped = robust.relabel([2, 1, 3])
    assert swapped.cov_type == "robust" and res.cov_type == "oim"
    from fmmreg import compare

    note = compare({"oim": res, "robust": robust}, coefs=True).as_text()
    assert "oim OIM, robust Robust" in note
    with pytest.raises(FMMError, match="LR test likely invalid"):
        robust.lrtest(res)


def test_vce_option_errors(pois2):
    data, res = pois2
    with pytest.raises(FMMError, match="vce='sandwich' is not known"):
        res.with_vce("sandwich")
    with pytest.raises(FMMError, match="needs cluster="):
        res.with_vce("cluster")
    with pytest.raises(FMMError, match="vce='cluster'"):
        res.with_vce("robust", cluster=np.arange(len(data)))
    with pytest.raises(FMMError, match="'g' is missing in 1"):
        res.with_vce("cluster", cluster=pd.Series(np.r_[np.nan, np.arange(len(data) - 1)], name="g"))


def test_blocked_scores_equal_unblocked(pois2, monkeypatch):
    data, res = pois2
    groups = np.arange(len(data)) // 7
    full = [res.with_vce("robust").cov_params(), res.with_vce("cluster", cluster=groups).cov_params()]
    monkeypatch.setattr(vce_numerics, "SCORE_BLOCK", 64)
    blocked = [res.with_vce("robust").cov_params(), res.with_vce("cluster", cluster=groups).cov_params()]
    for a, b in zip(full, blocked):
        np.testing.assert_allclose(a, b, rtol=1e-10)


# -------------------------------------------------------------- weights
def test_fweights_equal_replicated_rows():
    data = poisson_mixture(n=300, seed=4)
    rep = data.loc[data.index.repeat(data["w"])].reset_index(drop=True)
    a = fmm(2, "y ~ x", data=data, family="poisson", class_formula="~ z", fweights="w", draws=5, max_draws=5)
    b = fmm(2, "y ~ x", data=rep, family="poisson", class_formula="~ z", start=a.params)
    assert a.nobs == len(rep) and a.weight_type == "fweight"
    assert a.llf == pytest.approx(b.llf, abs=1e-8)
    np.testing.assert_allclose(a.params, b.params, atol=1e-8)
    for kind in ("oim", "opg", "robust"):
        np.testing.assert_allclose(a.with_vce(kind).bse, b.with_vce(kind).bse, rtol=1e-6)
    np.testing.assert_allclose(a.bic, b.bic, rtol=1e-12)


def test_pweights_equal_iweight_estimates_with_robust_se():
    data = poisson_mixture(n=300, seed=8)
    data["pw"] = np.random.default_rng(2).uniform(0.5, 2.0, size=len(data))
    pw = fmm(2, "y ~ x", data=data, family="poisson", pweights="pw", draws=5, max_draws=5)
    iw = fmm(2, "y ~ x", data=data, family="poisson", iweights=data["pw"].to_numpy(), draws=5, max_draws=5)
    np.testing.assert_allclose(pw.params, iw.params, atol=1e-8)
    assert pw.cov_type == "robust" and iw.cov_type == "oim"
    np.testing.assert_allclose(pw.bse, _se(numeric_vce(pw.lik, pw.theta, "robust")), rtol=1e-5)
    np.testing.assert_allclose(pw.bse, iw.with_vce("robust").bse, rtol=1e-10)
    # Stata's N: rows after pweights (and BIC with it), the sum of weights after iweights
    assert pw.nobs == len(data) and iw.nobs == pytest.approx(data["pw"].sum())
    assert pw.bic == pytest.approx(-2 * pw.llf + pw.df_model * np.log(len(data)))
    assert pw.ic().bic == pytest.approx(pw.bic)
    assert "Log pseudolikelihood" in str(pw.summary())
    with pytest.raises(FMMError, match="not allowed with pweights"):
        pw.with_vce("oim")
    with pytest.raises(FMMError, match="LR test likely invalid"):
        pw.lrtest(fmm(1, "y ~ x", data=data, family="poisson", pweights="pw"))


def test_weight_errors_name_the_column():
    data = poisson_mixture(n=100, seed=1).assign(u=lambda d: np.linspace(0.5, 2.0, len(d)))
    with pytest.raises(FMMError, match="fweights 'u' must hold non-negative integers"):
        fmm(2, "y ~ x", data=data, family="poisson", fweights="u")
    with pytest.raises(FMMError, match=r"weights 'u' must hold .*\(weights= means fweights=\)"):
        fmm(2, "y ~ x", data=data, family="poisson", weights="u")
    with pytest.raises(ValueError, match="fweights must hold non-negative integers"):
        fmm(2, "y ~ x", data=data, family="poisson", fweights=data["u"].to_numpy())
    with pytest.raises(FMMError, match="pweights 'x' has negative values"):
        fmm(2, "y ~ x", data=data, family="poisson", pweights="x")
    with pytest.raises(FMMError, match="at most one kind of weights"):
        fmm(2, "y ~ x", data=data, family="poisson", fweights="w", pweights="u")


# ------------------------------------------------------ offset, exposure
def test_exposure_equals_log_offset_and_statsmodels(exposure_data):
    df = exposure_data
    a = fmm(2, "y ~ x", data=df, family="poisson", exposure="t", draws=6, max_draws=6)
    b = fmm(2, "y ~ x", data=df, family="poisson", offset=np.log(df["t"].to_numpy()), draws=6, max_draws=6)
    np.testing.assert_allclose(a.params, b.params, atol=1e-8)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-8)
    assert a.llf != pytest.approx(fmm(2, "y ~ x", data=df, family="poisson", draws=4, max_draws=4).llf, abs=1.0)
    k1 = fmm(1, "y ~ x", data=df, family="poisson", exposure="t")
    # exposure as an array: statsmodels 0.14.0 returns a NaN coefficient for a pandas Series
    ref = sm.GLM(df["y"], sm.add_constant(df["x"]), family=sm.families.Poisson(), exposure=df["t"].to_numpy()).fit()
    np.testing.assert_allclose(k1.params, ref.params.to_numpy()[[1, 0]], rtol=1e-8)
    np.testing.assert_allclose(k1.bse, ref.bse.to_numpy()[[1, 0]], rtol=1e-6)
    assert k1.llf == pytest.approx(ref.llf, abs=1e-8)
    # predictions on new data use the new exposure; nooffset drops it
    new = df.iloc[:6]
    ratio = a.predict(new.assign(t=2 * new["t"])) / a.predict(new)
    np.testing.assert_allclose(ratio, 2.0, rtol=1e-12)
    np.testing.assert_allclose(a.predict(new, nooffset=True) * new["t"].to_numpy()[:, None], a.predict(new))
    np.testing.assert_allclose(a.predict(), a.predict(df))
    # the literal statsmodels M-step (GLM with offset) finds the same maximum
    ref_engine = fmm(2, "y ~ x", data=df, family="poisson", exposure="t", engine="statsmodels", start=a.params)
    np.testing.assert_allclose(ref_engine.params, a.params, atol=1e-7)
    with pytest.raises(FMMError, match="newdata lacks column 't'"):
        a.predict(new.drop(columns="t"))
    with pytest.raises(FMMError, match="given as an array"):
        b.predict(new)
    # Stata's table row of the offset: ln(t) | 1 (exposure), also with irr
    for text in (str(a.summary()), str(a.summary(irr=True))):
        assert text.count(" ln(t) |          1  (exposure)") == 2
    assert str(b.summary()).count(" offset |          1  (offset)") == 2


def test_nooffset_drops_the_offset_from_means_not_from_posteriors(exposure_data):
    df = exposure_data
    a = fmm(2, "y ~ x", data=df, family="poisson", exposure="t", draws=6, max_draws=6)
    # the posterior describes the observed counts, which the exposure produced
    np.testing.assert_allclose(a.predict(kind="classposteriorpr", nooffset=True), a.posterior, atol=1e-12)
    rates = a.predict(nooffset=True).to_numpy()
    pmarginal = a.predict(marginal=True, weighting="posterior", nooffset=True)
    np.testing.assert_allclose(pmarginal, (a.posterior.to_numpy() * rates).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(rates * df["t"].to_numpy()[:, None], a.predict(), rtol=1e-12)


def test_margins_with_exposure_equal_averaged_predictions(exposure_data):
    df = exposure_data.assign(g=lambda d: (d["x"] > 0).map({True: "hi", False: "lo"}))
    res = fmm(2, "y ~ x + C(g)", data=df, family="poisson", exposure="t", draws=6, max_draws=6)
    effect = res.margins(dydx="g", classes=["marginal"]).frame["dydx"].iloc[0]
    at_hi = res.predict(df.assign(g="hi"), marginal=True).mean()
    at_lo = res.predict(df.assign(g="lo"), marginal=True).mean()
    assert effect == pytest.approx(at_lo - at_hi, rel=1e-10)  # "hi" is the base level
    # at means the exposure sits at its geometric mean (the offset log t at its mean)
    t_bar = float(np.exp(np.log(df["t"]).mean()))
    point = df.iloc[:1].assign(x=df["x"].mean(), t=t_bar)
    at_means = res.margins(dydx="x", atmeans=True, at={"g": "lo"}, classes=["marginal"]).frame["dydx"].iloc[0]
    h = 1e-5
    numeric = (
        res.predict(point.assign(g="lo", x=point["x"] + h), marginal=True).iloc[0]
        - res.predict(point.assign(g="lo", x=point["x"] - h), marginal=True).iloc[0]
    ) / (2 * h)
    assert at_means == pytest.approx(numeric, rel=1e-6)
    with pytest.raises(FMMError, match="needs the offset as a column"):
        fmm(1, "y ~ x", data=df, family="poisson", offset=np.log(df["t"].to_numpy())).margins(dydx="x")


def test_offset_in_em_starts_subsample_and_blocked_hessian(exposure_data, monkeypatch):
    df = exposure_data
    full = fmm(2, "y ~ x", data=df, family="poisson", exposure="t", draws=6, max_draws=6)
    lik = full.lik
    # row blocks and subsets carry their offsets
    monkeypatch.setattr(mixture, "HESSIAN_BLOCK", 50)
    ll, grad, hess = lik.score_hessian(full.theta)
    assert ll == pytest.approx(full.llf, abs=1e-9)
    np.testing.assert_allclose(hess, full.hessian, rtol=1e-9)
    rows = np.arange(0, len(df), 3)
    assert lik.subset(rows).loglike(full.theta) == pytest.approx(lik.estep(full.theta)[2][rows].sum())
    # the start search on a row subsample, and a posterior start on a subsample, reach the same maximum
    found = multistart(lik, StartOptions(draws=6, max_draws=6, subsample=150), np.random.default_rng(0))
    assert found.llf == pytest.approx(full.llf, abs=1e-6)
    monkeypatch.setattr(engine, "POSTERIOR_START_ROWS", 120)
    theta0 = engine.theta_from_posterior(lik, full.posterior_array)
    assert engine.fit_from(lik, theta0)[1] == pytest.approx(full.llf, abs=1e-6)


@pytest.mark.parametrize("family", ["gaussian", "logit", "nbreg"])
def test_offset_k1_equals_statsmodels(family):
    rng = np.random.default_rng(3)
    n = 300
    x, o = rng.normal(size=n), rng.uniform(-0.5, 0.5, size=n)
    eta = 0.3 + 0.6 * x + o
    if family == "gaussian":
        y = eta + rng.normal(size=n)
    elif family == "logit":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    else:
        y = rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(eta)))
    df = pd.DataFrame({"y": y, "x": x, "o": o})
    res = fmm(1, "y ~ x", data=df, family=family, offset="o")
    X = sm.add_constant(df["x"])
    if family == "gaussian":
        ref = sm.OLS(df["y"] - df["o"], X).fit().params.to_numpy()
    elif family == "logit":
        ref = sm.GLM(df["y"], X, family=sm.families.Binomial(), offset=df["o"]).fit().params.to_numpy()
    else:
        fit = sm.NegativeBinomial(df["y"], X, offset=df["o"]).fit(method="newton", disp=0, maxiter=100, tol=1e-12)
        ref = fit.params.to_numpy()[:2]
        assert res.params[("1.y", "lnalpha")] == pytest.approx(np.log(fit.params.iloc[2]), abs=1e-5)
    np.testing.assert_allclose(res.params.to_numpy()[:2], ref[[1, 0]], atol=1e-6)


def test_offset_options_and_errors(exposure_data):
    df = exposure_data.assign(zero=lambda d: (d["y"] == 0).astype(float))
    hurdle_all = fmm(["y ~ 1", "y ~ x"], data=df, family=["pointmass", "tpoisson"], exposure="t")
    hurdle_one = fmm(["y ~ 1", "y ~ x"], data=df, family=["pointmass", "tpoisson"], exposure=[None, "t"])
    np.testing.assert_allclose(hurdle_all.params, hurdle_one.params, atol=1e-8)
    assert hurdle_all.model.offsets[0] is None
    with pytest.raises(FMMError, match="an offset\\(...\\) term.*offset='column'"):
        fmm(2, "y ~ x + offset(np.log(t))", data=df, family="poisson")
    with pytest.raises(FMMError, match="exposure 't' has 1 value\\(s\\) <= 0"):
        fmm(2, "y ~ x", data=df.assign(t=np.r_[0.0, df["t"].to_numpy()[1:]]), family="poisson", exposure="t")
    with pytest.raises(FMMError, match="not both"):
        fmm(2, "y ~ x", data=df, family="poisson", exposure="t", offset="x")
    with pytest.raises(FMMError, match="one entry per class"):
        fmm(2, "y ~ x", data=df, family="poisson", exposure=["t"])
    with pytest.raises(FMMError, match="family 'mlogit'"):
        fmm(2, "y ~ x", data=df.assign(y=df["y"].clip(upper=2)), family="mlogit", offset="x")
    # a missing exposure drops the row, listwise
    holes = df.assign(t=np.r_[np.nan, df["t"].to_numpy()[1:]])
    assert fmm(1, "y ~ x", data=holes, family="poisson", exposure="t").n_dropped == 1


# ----------------------------------------------------------------- eform
def test_eform_rows_are_exp_of_coefficients_and_endpoints(gauss3):
    _, res = gauss3
    plain = res.summary()
    ci = res.conf_int()
    for title, kwargs in (("exp(b)", {"eform": True}), ("IRR", {"irr": True}), ("Odds ratio", {"or_": True})):
        summ = res.summary(**kwargs)
        assert f"{title:>11}   Std. err." in str(summ)
        for b_plain, b_eform in zip(plain.blocks, summ.blocks):
            for r0, r1 in zip(b_plain.rows, b_eform.rows):
                if r0.kind != "coef":
                    assert r1 == r0  # ancillary rows (var(e.y)) as without eform
                    continue
                assert r1.coef == pytest.approx(np.exp(r0.coef), rel=1e-14)
                assert r1.se == pytest.approx(np.exp(r0.coef) * r0.se, rel=1e-14)
                assert (r1.lo, r1.hi) == pytest.approx((np.exp(r0.lo), np.exp(r0.hi)), rel=1e-14)
                assert (r1.z, r1.p) == (r0.z, r0.p)
    # the endpoints are those of conf_int()
    row = next(r for r in res.summary(eform=True).blocks[0].rows if r.label == "z")
    assert (row.lo, row.hi) == pytest.approx(tuple(np.exp(ci.loc[("2.Class", "z")])), rel=1e-12)
    assert "Odds ratio" in res.summary(or_=True).as_html()
    assert "my ratio" in str(res.summary(eform="my ratio"))
    with pytest.raises(FMMError, match="one of eform=, irr=, or_="):
        res.summary(eform=True, irr=True)


def _contract_cases():
    from tests.test_families_ivregress import CASES as ivregress
    from tests.test_families_limited import CASES as limited
    from tests.test_families_ordinal import CASES as ordinal
    from tests.test_families_streg import CASES as survival
    from tests.test_family_contract import CASES as core

    # limited: also the limits given as columns (tobit, truncreg, tpoisson); survival: every
    # distribution and metric, with censoring and delayed entry; ivregress: the structural equation
    return core + limited + ordinal + survival + ivregress


@pytest.mark.parametrize("case", _contract_cases(), ids=lambda c: c.id)
def test_offset_is_absorbed_by_its_coefficient(case):
    """Every family: an offset ``0.3 x1`` moves the coefficient of ``x1`` by -0.3 and nothing else.

    Starting values, EM, Newton and the likelihood all see the offset, or the
    two fits would differ elsewhere.
    """
    data = case.simulate(np.random.default_rng(case.seed), case.n)
    offset = 0.3 * data["x1"].to_numpy()
    plain = fmm(1, case.formula, data=data, family=case.make_family())
    fam = plain.families[0]
    if not fam.accepts_offset:
        with pytest.raises(FMMError, match="linear indices"):
            fmm(1, case.formula, data=data, family=case.make_family(), offset=offset)
        return
    shifted = fmm(1, case.formula, data=data, family=case.make_family(), offset=offset)
    expected = plain.params.copy()
    expected[(plain.component_equation(1), "x1")] -= 0.3
    np.testing.assert_allclose(shifted.params, expected, atol=case.params_tol)
    assert shifted.llf == pytest.approx(plain.llf, abs=case.llf_tol)


def test_offset_in_a_two_class_gaussian_mixture():
    """The closed-form M-step (weighted least squares) with an offset: absorbed by each class's slope."""
    data = gaussian_mixture(n=400, seed=1, k=2)
    plain = fmm(2, "y ~ x", data=data, class_formula="~ z", draws=6, max_draws=6)
    shifted = fmm(2, "y ~ x", data=data, class_formula="~ z", offset=0.3 * data["x"], draws=6, max_draws=6)
    expected = plain.params.copy()
    for k in (1, 2):
        expected[(plain.component_equation(k), "x")] -= 0.3
    np.testing.assert_allclose(shifted.params, expected, atol=1e-6)
    assert shifted.llf == pytest.approx(plain.llf, abs=1e-8)
