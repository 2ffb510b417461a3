"""Families that read data columns (issue 16) with the rest of the package (issue 9, 11, 13, 14).

Survival classes (failure indicator, entry time), cure models (a point mass on
the failure column), limits as columns (tobit, truncreg, tpoisson) and
``ivregress`` together with offsets/exposures, the data checks, predictions on
new data, margins, the bootstrap and the BLRT, and the Stata-style summary.
The K = 1 offset property of every such family is in
``tests/test_inference.py::test_offset_is_absorbed_by_its_coefficient`` and
the random draws of each family in ``tests/test_family_rvs.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmmreg import FMM, FMMError, blrt, fmm
from fmmreg.families import IVRegress, PointMass, Streg
from fmmreg.families.tobit import Tobit
from fmmreg.families.tpoisson import TruncatedPoisson
from fmmreg.postestimation.blrt import simulate
from fmmreg.postestimation.bootstrap import refit, replicate_model
from tests.mixture_reference import load_reference
from tests.test_families_ivregress import sim_iv


@pytest.fixture(scope="module")
def weibull2():
    _, df, _ = load_reference("streg_weibull2")
    return df, fmm(2, "t ~ x", df, family=Streg("weibull", failure="died"), class_formula="~ z")


@pytest.fixture(scope="module")
def cure():
    _, df, _ = load_reference("streg_cure")
    families = [PointMass(0, response="died"), Streg("weibull", failure="died")]
    return df, fmm(["t ~ 1", "t ~ x"], df, family=families, class_formula="~ z")


def _tpoisson_columns(n=400, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=4 * n)
    cls = rng.random(4 * n) < 0.4
    mu = np.exp(np.where(cls, 1.6 + 0.5 * x, 0.2 - 0.4 * x))
    lo = rng.choice([0, 1], size=4 * n)
    y = rng.poisson(mu)
    keep = np.flatnonzero(y > lo)[:n]
    return pd.DataFrame({"y": y[keep], "x": x[keep], "lo": lo[keep], "u": rng.normal(size=4 * n)[keep]})


# ------------------------------------------------------------------ offsets
def test_offset_in_a_two_class_survival_mixture(weibull2):
    """A two-class Weibull (PH): the offset 0.3 x is absorbed by each class's slope, nothing else moves."""
    df, plain = weibull2
    shifted = fmm(2, "t ~ x", df, family=Streg("weibull", failure="died"), class_formula="~ z", offset=0.3 * df["x"])
    expected = plain.params.copy()
    for k in (1, 2):
        expected[(plain.component_equation(k), "x")] -= 0.3
    np.testing.assert_allclose(shifted.params, expected, atol=1e-6)
    assert shifted.llf == pytest.approx(plain.llf, abs=1e-8)


def test_exposure_of_a_two_class_truncated_poisson_with_a_truncation_column():
    """tpoisson with ll(varname): the exposure exp(0.4 u) is absorbed by the coefficient of u."""
    df = _tpoisson_columns()
    df["t"] = np.exp(0.4 * df["u"])
    plain = fmm(2, "y ~ x + u", df, family=TruncatedPoisson(lower="lo"), draws=6, max_draws=6)
    shifted = fmm(2, "y ~ x + u", df, family=TruncatedPoisson(lower="lo"), exposure="t", draws=6, max_draws=6)
    expected = plain.params.copy()
    for k in (1, 2):
        expected[(plain.component_equation(k), "u")] -= 0.4
    np.testing.assert_allclose(shifted.params, expected, atol=1e-5)
    assert shifted.llf == pytest.approx(plain.llf, abs=1e-7)
    # predictions on new data read the exposure and the truncation column
    dens = shifted.predict(df.head(5), kind="density")
    np.testing.assert_allclose(dens, shifted.predict(kind="density").head(5), rtol=1e-12)
    with pytest.raises(FMMError, match="newdata lacks column 't'"):
        shifted.predict(df.head(5).drop(columns="t"))


def test_survival_prediction_with_an_offset_on_new_data():
    """Exponential PH with an exposure: S(t | x) = exp(-t exposure exp(x'b)), read from the new rows."""
    rng = np.random.default_rng(5)
    n = 300
    x, expo = rng.normal(size=n), rng.uniform(0.5, 3.0, n)
    event = rng.exponential(1.0 / (expo * np.exp(-0.5 + 0.7 * x)))
    cens = rng.uniform(0.5, 2.0, n)
    df = pd.DataFrame({"t": np.minimum(event, cens), "died": (event <= cens).astype(int), "x": x, "e": expo})
    res = fmm(1, "t ~ x", df, family=Streg("exponential", failure="died"), exposure="e")
    b = res.params["1.t"]
    new = df.head(8).assign(e=2.0, t=1.0)
    hazard = 2.0 * np.exp(b["Intercept"] + b["x"] * new["x"].to_numpy())
    np.testing.assert_allclose(res.predict(new, kind="survival")[1], np.exp(-hazard), rtol=1e-12)
    np.testing.assert_allclose(res.predict(new, kind="hazard")[1], hazard, rtol=1e-10)
    np.testing.assert_allclose(res.predict(new, kind="median")[1], np.log(2.0) / hazard, rtol=1e-12)
    # nooffset: as if the exposure were 1
    np.testing.assert_allclose(res.predict(new, kind="median", nooffset=True)[1], 2 * np.log(2.0) / hazard)


def test_ivregress_offset_enters_the_structural_equation():
    df = sim_iv(np.random.default_rng(2), 300)
    plain = fmm(1, "y ~ x1 + x2", df, family=IVRegress("x2 ~ z1 + z2"))
    shifted = fmm(1, "y ~ x1 + x2", df, family=IVRegress("x2 ~ z1 + z2"), offset=0.5 * df["x1"])
    expected = plain.params.copy()
    expected[("1.y", "x1")] -= 0.5  # the first stage's x2:x1 does not move
    np.testing.assert_allclose(shifted.params, expected, atol=1e-6)
    assert shifted.llf == pytest.approx(plain.llf, abs=1e-8)


# -------------------------------------------------------------- data checks
def _surv(n=150, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.weibull(1.3, n) * np.exp(0.4 * x)
    return pd.DataFrame({"t": t, "died": (rng.random(n) < 0.7).astype(int), "x": x, "t0": 0.2 * t})


def test_data_checks_of_family_columns():
    df = _surv()
    before = df.copy()
    fam = lambda: Streg("weibull", failure="died", entry="t0")  # noqa: E731
    base = fmm(1, "t ~ x", df, family=fam())
    # a boolean failure indicator is 0/1; the DataFrame is not touched
    flagged = fmm(1, "t ~ x", df.assign(died=df["died"] == 1), family=fam())
    np.testing.assert_allclose(flagged.params, base.params, rtol=1e-12)
    pd.testing.assert_frame_equal(df, before)
    # ±inf in an entry time or a failure indicator: refused, naming the column and its role
    with pytest.raises(FMMError, match="column 't0' \\(entry time of family 'weibull'\\) has 1 infinite"):
        FMM(1, "t ~ x", df.assign(t0=np.r_[np.inf, df["t0"].to_numpy()[1:]]), family=fam())
    with pytest.raises(FMMError, match="column 'died' \\(failure indicator of family 'weibull'\\) has 1 infinite"):
        FMM(1, "t ~ x", df.assign(died=np.r_[-np.inf, df["died"].to_numpy()[1:]]), family=fam())
    # text is not guessed at
    with pytest.raises(FMMError, match="'died' \\(failure indicator of family 'weibull'\\) must hold numbers"):
        FMM(1, "t ~ x", df.assign(died=np.where(df["died"] == 1, "yes", "no")), family=fam())
    # a missing value drops the row, listwise
    holes = df.assign(t0=np.r_[np.nan, df["t0"].to_numpy()[1:]])
    assert FMM(1, "t ~ x", holes, family=fam()).design.n_dropped == 1
    # duplicated column names
    dup = pd.concat([df, df[["died"]]], axis=1)
    with pytest.raises(FMMError, match="'died' \\(2 times\\)"):
        FMM(1, "t ~ x", dup, family=fam())
    # a truncation point of tpoisson must be finite (-1 means no truncation)
    counts = _tpoisson_columns(100)
    with pytest.raises(FMMError, match="'lo' \\(lower limit of family 'tpoisson'\\) has 1 infinite"):
        FMM(1, "y ~ x", counts.assign(lo=np.r_[-np.inf, counts["lo"].to_numpy()[1:]]), family=TruncatedPoisson("lo"))


def test_tobit_limit_column_may_say_no_limit_with_inf():
    """-inf / inf in a tobit limit column is "no limit in this row": the same fit as a far-away limit."""
    rng = np.random.default_rng(4)
    n = 300
    x = rng.normal(size=n)
    lo = np.where(rng.random(n) < 0.3, -np.inf, rng.choice([-0.5, 0.0], n))
    hi = np.where(rng.random(n) < 0.5, np.inf, 1.5)
    y = np.clip(0.3 + x + rng.normal(size=n), lo, hi)
    df = pd.DataFrame({"y": y, "x": x, "lo": lo, "hi": hi})
    res = fmm(1, "y ~ x", df, family=Tobit(lower="lo", upper="hi"))
    far = df.assign(lo=df["lo"].replace(-np.inf, -1e6), hi=df["hi"].replace(np.inf, 1e6))
    ref = fmm(1, "y ~ x", far, family=Tobit(lower="lo", upper="hi"))
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-9)
    # in the formula the same column is an ordinary variable: ±inf is refused there
    with pytest.raises(FMMError, match="column 'lo' .*infinite"):
        FMM(1, "y ~ x + lo", df, family=Tobit(lower="lo", upper="hi"))


# ---------------------------------------------------- margins and predictions
def test_margins_of_a_survival_mixture_are_derivatives_of_predictions(weibull2):
    """dE[t]/dx (class means and the marginal mean) equals a central difference of predict(kind='mu')."""
    df, res = weibull2
    m = res.margins(dydx="x").frame
    h = 1e-5
    up = res.predict(df.assign(x=df["x"] + h))
    dn = res.predict(df.assign(x=df["x"] - h))
    num = ((up - dn) / (2 * h)).mean()
    for k in (1, 2):
        assert m.loc[(k, 1, "x", ""), "dydx"] == pytest.approx(num[k], rel=1e-6)
    up_m = res.predict(df.assign(x=df["x"] + h), marginal=True)
    dn_m = res.predict(df.assign(x=df["x"] - h), marginal=True)
    assert m.loc[("marginal", 1, "x", ""), "dydx"] == pytest.approx(((up_m - dn_m) / (2 * h)).mean(), rel=1e-6)
    # the failure column rides along with the rows; new data need not have it
    assert res.margins(at={"x": 0.5}, data=df.drop(columns="died")).frame["margin"].notna().all()


def test_cure_model_has_no_marginal_mean(cure):
    """A cured class models the failure indicator, the other the time: their mix is no mean."""
    df, res = cure
    m = res.margins(dydx="x")
    assert list(m.frame.index.get_level_values("class").unique()) == [1, 2]
    assert m.frame.loc[(1, 1, "x", ""), "dydx"] == 0.0  # the point mass reads no covariate
    with pytest.raises(FMMError, match="model different variables \\(.died., .t.\\)"):
        res.margins(classes="marginal")
    with pytest.raises(FMMError, match="model different variables"):
        res.predict(marginal=True)


# ------------------------------------------------------- bootstrap and BLRT
def test_simulated_survival_data_keep_the_censoring_pattern(cure):
    """Draws from the cure model: censored where observed censored (or earlier failures), refit works."""
    df, res = cure
    rng = np.random.default_rng(0)
    y, columns = simulate(res, rng)
    t, died = df["t"].to_numpy(), df["died"].to_numpy()
    d = columns["died"]
    assert set(np.unique(d)) == {0.0, 1.0} and np.all(y > 0)
    # a record censored at c: the draw fails before c or is censored at c
    obs_cens = died == 0
    assert np.all(y[obs_cens & (d == 0)] == t[obs_cens & (d == 0)])
    assert np.all(y[obs_cens & (d == 1)] <= t[obs_cens & (d == 1)])
    # a failure's censoring time lies beyond its failure time
    assert np.all(y[~obs_cens & (d == 0)] >= t[~obs_cens & (d == 0)])
    # about the observed share of censoring (the fitted model reproduces the data)
    assert abs(d.mean() - died.mean()) < 0.08
    rep = replicate_model(res.model, res.class_map, y=y, columns=columns)
    np.testing.assert_array_equal(rep.ys[0], d)  # the cured class reads the simulated failure indicator
    fit = refit(rep, start=res.theta)
    assert fit is not None and np.all(np.abs(fit.params - res.params) < 5 * res.bse)


def test_bootstrap_of_models_with_data_columns_and_offsets():
    df = _tpoisson_columns(200)
    res = fmm(1, "y ~ x", df, family=TruncatedPoisson(lower="lo"), exposure=np.exp(0.1 * df["u"]))
    boot = res.bootstrap(reps=5, random_state=1)
    assert boot.n_failed == 0 and np.all(boot.bse > 0)
    surv = fmm(1, "t ~ x", _surv(), family=Streg("weibull", failure="died", entry="t0"))
    boot = surv.bootstrap(reps=5, random_state=1)
    assert boot.n_failed == 0
    assert np.all((boot.bse / surv.bse).between(0.2, 5.0))


def test_blrt_of_a_cure_model_against_one_survival_class():
    """The BLRT simulates from the one-class survival fit and refits the cure model to each draw."""
    _, df, _ = load_reference("streg_cure")
    df = df.iloc[:250]
    one = fmm(1, "t ~ x", df, family=Streg("weibull", failure="died"))
    two = fmm(["t ~ 1", "t ~ x"], df, family=[PointMass(0, response="died"), Streg("weibull", failure="died")])
    out = blrt(one, two, reps=3, draws=2)
    assert out.reps == 3 and out.lr > 0 and 0 < out.pvalue <= 1


# ------------------------------------------------------------------- display
def test_summary_rows_of_the_new_families(cure):
    df, res = cure
    blocks = res.summary().blocks
    cured = blocks[1]
    assert cured.title_lines[1] == "Response: died"
    assert [(r.label, r.kind) for r in cured.rows[:2]] == [("died", "header"), ("_cons", "coef")]
    assert cured.rows[1].coef == 0.0 and cured.rows[1].note == "(constrained)"
    surv = blocks[2]
    ln_p = next(r for r in surv.rows if r.label == "/ln_p")
    assert ln_p.coef == pytest.approx(res.params[("2.t", "ln_p")]) and np.isfinite(ln_p.p)

    iv = fmm(1, "y ~ x1 + x2", sim_iv(np.random.default_rng(0), 300), family=IVRegress("x2 ~ z1 + z2"))
    rows = iv.summary().blocks[0].rows
    headers = [r.label for r in rows if r.kind == "header"]
    assert headers == ["y", "x2"]
    first = rows.index(next(r for r in rows if r.label == "x2" and r.kind == "header"))
    assert [r.label for r in rows[1:first] if r.kind == "coef"] == ["x1", "x2", "_cons"]
    assert [r.label for r in rows[first + 1 :] if r.kind == "coef"] == ["x1", "z1", "z2", "_cons"]
    coef = {r.label: r for r in rows if r.kind == "anc"}
    a = iv.params["1.y"]
    assert coef["var(e.y)"].coef == pytest.approx(np.exp(2 * a["lnsigma"]))
    assert coef["var(e.x2)"].coef == pytest.approx(np.exp(2 * a["lnsigma_x2"]))
    assert coef["corr(e.y,e.x2)"].coef == pytest.approx(np.tanh(a["athrho"]))
    se = iv.bse[("1.y", "athrho")] * (1 - np.tanh(a["athrho"]) ** 2)
    assert coef["corr(e.y,e.x2)"].se == pytest.approx(se)
    assert "corr(e.y,e.x2)" in iv.summary().as_html()
    robust = iv.with_vce("robust").summary()
    assert "Robust" in str(robust)
    assert next(r for r in robust.blocks[0].rows if r.label == "var(e.y)").se != coef["var(e.y)"].se


def test_robust_se_of_a_survival_class_equal_a_numeric_sandwich(weibull2):
    from tests.numeric_vce import numeric_scores

    _, res = weibull2
    robust = res.with_vce("robust")
    scores = numeric_scores(res.lik, res.theta)
    bread = np.linalg.inv(-res.lik.score_hessian(res.theta)[2])
    n = len(scores)
    cov = bread @ (scores.T @ scores) @ bread * n / (n - 1)
    np.testing.assert_allclose(robust.bse.to_numpy(), np.sqrt(np.diag(cov)), rtol=1e-5)


def test_constrained_em_reads_each_class_response(cure):
    """Constrained EM on a cure model (class 1 reads ``died``, class 2 the survival time): monotone, at the maximum."""
    from fmmreg.estimation.engine import FitTrace, run_em

    df, free = cure
    slope = free.params[(free.component_equation(2), "x")]
    families = [PointMass(0, response="died"), Streg("weibull", failure="died")]
    res = fmm(["t ~ 1", "t ~ x"], df, family=families, class_formula="~ z", constraints=f"[2.t]x = {slope + 0.2:.6f}")
    assert res.llf < free.llf
    trace = FitTrace()
    start = res.theta + 0.05 * res.lik.constraints.N @ np.ones(res.lik.constraints.N.shape[1])
    theta, ll, _ = run_em(res.lik, start, maxiter=500, tol=0.0, trace=trace)
    assert np.min(np.diff(trace.em_llf)) > -1e-9
    assert ll == pytest.approx(res.llf, abs=1e-5)
