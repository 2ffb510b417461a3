"""Constraints (issue 12): ``lcinvariant=``, ``constraints=``, ``class_base=``, ``class_labels=``, class_formula lists.

References: an independent direct maximisation of each constrained likelihood
with scipy (the likelihood written here with scipy.stats, its free parameters
written out by hand), R flexmix ``FLXMRglmfix(fixed = ~ x)``
(``tests/fixtures/constraints/``), statsmodels for one-class models where a
constraint is a combined regressor or an offset, and the properties every
constrained fit must have (exact constraints, monotone EM, df counts).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from scipy.special import expit, log_expit

from fmmreg import FMM, fmm
from fmmreg.constraints import parameter_roles
from fmmreg.estimation.engine import run_em
from fmmreg.exceptions import FMMError
from fmmreg.families import get_family
from fmmreg.postestimation.bootstrap import replicate_model
from tests.conftest import FIXTURES

FIT = {"draws": 5, "max_draws": 10}


# ----------------------------------------------------------------- data
def _gaussian_shared(n: int = 300, seed: int = 11) -> pd.DataFrame:
    """Two classes with intercepts -1 and 2, a common slope 1 and a common sigma 0.8; membership on z."""
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    second = rng.random(n) < expit(0.3 + 0.8 * z)
    y = np.where(second, 2.0, -1.0) + x + 0.8 * rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "z": z})


def _gaussian_cons(n: int = 300, seed: int = 12) -> pd.DataFrame:
    """Two classes with a common intercept 0.5, slopes -1.5 and 1.5, sigmas 0.6 and 1.0."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=n)
    second = rng.random(n) < 0.6
    y = 0.5 + np.where(second, 1.5, -1.5) * x + np.where(second, 1.0, 0.6) * rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x})


def _ordinal_cons(n: int = 400, seed: int = 13) -> pd.DataFrame:
    """Ordered logit in two classes with common cut points (-1, 0.5, 2) and slopes 2 and -1.5."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    second = rng.random(n) < 0.45
    latent = np.where(second, -1.5, 2.0) * x + rng.logistic(size=n)
    return pd.DataFrame({"y": np.searchsorted([-1.0, 0.5, 2.0], latent), "x": x})


@pytest.fixture(scope="module")
def shared() -> pd.DataFrame:
    return _gaussian_shared()


@pytest.fixture(scope="module")
def unconstrained(shared):
    return fmm(2, "y ~ x", shared, class_formula="~ z", **FIT)


@pytest.fixture(scope="module")
def coef_fit(shared):
    return fmm(2, "y ~ x", shared, class_formula="~ z", lcinvariant="coef", **FIT)


# ---------------------------------------------- independent likelihoods
def _normal_logpdf(y, mean, lnsigma):
    return -0.5 * np.log(2 * np.pi) - lnsigma - 0.5 * ((y - mean) / np.exp(lnsigma)) ** 2


def _gaussian_loglike(df: pd.DataFrame, theta: np.ndarray, membership: bool) -> float:
    """Two-class Gaussian mixture log likelihood in fmmreg's layout, written out here."""
    y, x = df["y"].to_numpy(), df["x"].to_numpy()
    if membership:
        gz, g0, b1, a1, ls1, b2, a2, ls2 = theta
        eta = g0 + gz * df["z"].to_numpy()
    else:
        g0, b1, a1, ls1, b2, a2, ls2 = theta
        eta = g0
    l1 = log_expit(-eta) + _normal_logpdf(y, a1 + b1 * x, ls1)
    l2 = log_expit(eta) + _normal_logpdf(y, a2 + b2 * x, ls2)
    return float(np.logaddexp(l1, l2).sum())


def _num_hessian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    r = len(x)
    e = np.eye(r) * h
    hess = np.empty((r, r))
    for i in range(r):
        for j in range(i, r):
            hess[i, j] = hess[j, i] = (
                f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j]) + f(x - e[i] - e[j])
            ) / (4 * h * h)
    return hess


def _maximise(f, x0: np.ndarray) -> np.ndarray:
    """scipy BFGS, then Newton steps on central differences until the step is below 1e-9."""

    def neg(p):
        v = f(p)
        return -v if np.isfinite(v) else 1e300

    x = optimize.minimize(neg, x0, method="BFGS", options={"gtol": 1e-7}).x
    for _ in range(12):
        g = np.array([(f(x + e) - f(x - e)) / 2e-5 for e in np.eye(len(x)) * 1e-5])
        step = np.linalg.solve(-_num_hessian(f, x), g)
        x = x + step
        if np.max(np.abs(step)) < 1e-9:
            break
    return x


# free parameters of each keyword, written out: phi -> theta (fmmreg's layout)
GAUSSIAN_FREE = {
    "coef": lambda p: [p[0], p[1], p[2], p[3], p[4], p[2], p[5], p[6]],
    "errvar": lambda p: [p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[4]],
    "coef errvar": lambda p: [p[0], p[1], p[2], p[3], p[4], p[2], p[5], p[4]],
    "cons": lambda p: [p[0], p[1], p[2], p[3], p[4], p[2], p[5]],
}
GAUSSIAN_TRUTH = {
    "coef": [0.8, 0.3, 1.0, -1.0, np.log(0.8), 2.0, np.log(0.8)],
    "errvar": [0.8, 0.3, 1.0, -1.0, np.log(0.8), 1.0, 2.0],
    "coef errvar": [0.8, 0.3, 1.0, -1.0, np.log(0.8), 2.0],
    "cons": [np.log(1.5), -1.5, 0.5, np.log(0.6), 1.5, 0.0],
}


def _direct(loglike, free, truth) -> tuple[np.ndarray, float, np.ndarray]:
    """scipy maximisation over the free parameters; returns theta, the log likelihood and phi."""
    f = lambda p: loglike(np.asarray(free(p), dtype=float))  # noqa: E731
    phi = _maximise(f, np.asarray(truth, dtype=float))
    return np.asarray(free(phi), dtype=float), f(phi), phi


# ----------------------------------------------------- lcinvariant vs scipy
@pytest.mark.parametrize("keyword", ["coef", "errvar", "coef errvar", "cons"])
def test_lcinvariant_gaussian_equals_direct_maximisation(keyword, shared, coef_fit):
    if keyword == "cons":
        df = _gaussian_cons()
        res = fmm(2, "y ~ x", df, lcinvariant="cons", **FIT)
        if res.params[("1.y", "x")] > 0:  # the truth's class 1 has the negative slope
            res = res.relabel([2, 1])
    else:
        df = shared
        res = coef_fit if keyword == "coef" else fmm(2, "y ~ x", df, class_formula="~ z", lcinvariant=keyword, **FIT)
    membership = keyword != "cons"
    theta, ll, _ = _direct(
        lambda t: _gaussian_loglike(df, t, membership), GAUSSIAN_FREE[keyword], GAUSSIAN_TRUTH[keyword]
    )
    assert res.converged
    assert res.llf == pytest.approx(ll, abs=1e-6)
    np.testing.assert_allclose(res.params.to_numpy(), theta, atol=1e-5, rtol=0)
    assert res.df_model == len(GAUSSIAN_TRUTH[keyword])
    assert res.aic == pytest.approx(-2 * ll + 2 * len(GAUSSIAN_TRUTH[keyword]), abs=1e-5)
    assert res.bic == pytest.approx(-2 * ll + len(GAUSSIAN_TRUTH[keyword]) * np.log(len(df)), abs=1e-5)


def test_lcinvariant_cons_ordered_logit_equals_direct_maximisation():
    df = _ordinal_cons()
    res = fmm(2, "y ~ x", df, family="ologit", lcinvariant="cons", **FIT)
    if res.params[("1.y", "x")] < 0:  # the truth's class 1 has the positive slope
        res = res.relabel([2, 1])
    y, x = df["y"].to_numpy(), df["x"].to_numpy()

    def loglike(theta):
        g0, b1, c1, c2, c3, b2, *cuts2 = theta
        cuts = np.array([-np.inf, c1, c2, c3, np.inf])
        if not np.all(np.diff(cuts) > 0) or not np.allclose(cuts2, [c1, c2, c3]):
            return -np.inf
        dens = [expit(cuts[y + 1] - b * x) - expit(cuts[y] - b * x) for b in (b1, b2)]
        with np.errstate(divide="ignore"):
            return float(np.logaddexp(log_expit(-g0) + np.log(dens[0]), log_expit(g0) + np.log(dens[1])).sum())

    def free(p):
        return [p[0], p[1], p[3], p[4], p[5], p[2], p[3], p[4], p[5]]

    theta, ll, _ = _direct(loglike, free, [np.log(0.45 / 0.55), 2.0, -1.5, -1.0, 0.5, 2.0])
    assert res.converged
    assert res.llf == pytest.approx(ll, abs=1e-6)
    np.testing.assert_allclose(res.params.to_numpy(), theta, atol=1e-5, rtol=0)
    cuts = res.params.loc["1.y"].filter(like="cut")
    assert np.array_equal(cuts.to_numpy(), res.params.loc["2.y"].filter(like="cut").to_numpy())
    assert res.df_model == 6


def test_lcinvariant_scale_negative_binomial_equals_direct_maximisation():
    rng = np.random.default_rng(14)
    n = 400
    x = rng.normal(size=n)
    second = rng.random(n) < 0.5
    mu = np.exp(np.where(second, 2.0, 0.2) + np.where(second, -0.3, 0.5) * x)
    y = rng.negative_binomial(1 / 0.5, 1 / (1 + 0.5 * mu))  # NB2 with alpha = 0.5 in both classes
    df = pd.DataFrame({"y": y, "x": x})
    res = fmm(2, "y ~ x", df, family="nbreg", lcinvariant="scale", **FIT)

    def loglike(theta):
        g0, b1, a1, la1, b2, a2, la2 = theta
        parts = []
        for lp, b, a, la in ((log_expit(-g0), b1, a1, la1), (log_expit(g0), b2, a2, la2)):
            m, size = np.exp(a + b * x), np.exp(-la)
            parts.append(lp + stats.nbinom.logpmf(y, size, size / (size + m)))
        return float(np.logaddexp(*parts).sum())

    def free(p):
        return [p[0], p[1], p[2], p[3], p[4], p[5], p[3]]

    theta, ll, _ = _direct(loglike, free, [0.0, 0.5, 0.2, np.log(0.5), -0.3, 2.0])
    assert res.llf == pytest.approx(ll, abs=1e-6)
    np.testing.assert_allclose(res.params.to_numpy(), theta, atol=1e-5, rtol=0)
    assert res.params[("1.y", "lnalpha")] == res.params[("2.y", "lnalpha")]


def test_standard_errors_are_the_inverse_information_in_the_free_parameters(shared, coef_fit):
    """Numerical Hessian of the independent likelihood in the free parameters, inverted, mapped back."""
    free = GAUSSIAN_FREE["coef"]
    theta, _, phi = _direct(lambda t: _gaussian_loglike(shared, t, True), free, GAUSSIAN_TRUTH["coef"])
    hess = _num_hessian(lambda p: _gaussian_loglike(shared, np.asarray(free(p), dtype=float), True), phi)
    J = np.column_stack([np.asarray(free(e), dtype=float) for e in np.eye(len(phi))])  # d theta / d phi (linear)
    cov = J @ np.linalg.inv(-hess) @ J.T
    np.testing.assert_allclose(coef_fit.bse.to_numpy(), np.sqrt(np.diag(cov)), rtol=2e-4)
    # the shared slope has one standard error, perfectly correlated across the classes
    c = coef_fit.cov_params()
    assert c.loc[("1.y", "x"), ("2.y", "x")] == pytest.approx(c.loc[("1.y", "x"), ("1.y", "x")], rel=1e-12)


# ------------------------------------------------------- flexmix reference
def test_lcinvariant_coef_poisson_equals_flexmix_glmfix():
    """R flexmix ``FLXMRglmfix(fixed = ~ x)``: one slope for both classes (script and output in fixtures)."""
    folder = FIXTURES / "constraints"
    ref = json.loads((folder / "flexmix_fixed.json").read_text())
    df = pd.read_csv(folder / "poisson_fixed.csv")
    res = fmm(2, "y ~ x", df, family="poisson", class_formula="~ z", lcinvariant="coef", **FIT)
    assert res.llf == pytest.approx(ref["loglik"], abs=1e-6)
    assert res.df_model == ref["df"] == 5
    comps = sorted(ref["components"], key=lambda c: c["coef.(Intercept)"])  # fmmreg: ascending mean
    for k, comp in enumerate(comps, start=1):
        assert res.params[(f"{k}.y", "Intercept")] == pytest.approx(comp["coef.(Intercept)"], abs=1e-5)
        assert res.params[(f"{k}.y", "x")] == pytest.approx(comp["coef.x"], abs=1e-5)
    conc = ref["concomitant"][1]  # flexmix's base is its class 1, the low-mean class as here
    assert res.params[("2.Class", "z")] == pytest.approx(conc["z"], abs=1e-5)
    assert res.params[("2.Class", "Intercept")] == pytest.approx(conc["(Intercept)"], abs=1e-5)


# --------------------------------------------- one class: statsmodels reference
def test_one_class_constraints_equal_statsmodels_with_combined_regressor_and_offset():
    """K=1: ``[1.y]x1 = [1.y]x2`` is the regressor x1 + x2, ``[1.y]x3 = 0.5`` the offset 0.5 x3."""
    rng = np.random.default_rng(15)
    n = 300
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"])
    df["y"] = rng.poisson(np.exp(0.2 + 0.3 * (df.x1 + df.x2) + 0.5 * df.x3))
    cons = ["[1.y]x1 = [1.y]x2", "[1.y]x3 = 0.5"]
    res = fmm(1, "y ~ x1 + x2 + x3", df, family="poisson", constraints=cons)
    X = sm.add_constant(np.column_stack([df.x1 + df.x2]))
    y, offset = df.y.to_numpy(), 0.5 * df.x3.to_numpy()
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(tol=1e-12)
    robust = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(cov_type="HC0", tol=1e-12)
    b = res.params.loc["1.y"]
    assert b["x1"] == b["x2"] == pytest.approx(ref.params[1], abs=1e-6)
    assert b["x3"] == 0.5
    assert b["Intercept"] == pytest.approx(ref.params[0], abs=1e-6)
    assert res.llf == pytest.approx(ref.llf, abs=1e-8)
    se = res.bse.loc["1.y"]
    assert se["x1"] == se["x2"] == pytest.approx(ref.bse[1], rel=1e-6)
    assert se["x3"] == 0.0
    rob = res.with_vce("robust").bse.loc["1.y"]
    factor = np.sqrt(n / (n - 1.0))
    assert rob["x1"] == pytest.approx(robust.bse[1] * factor, rel=1e-6)
    assert rob["Intercept"] == pytest.approx(robust.bse[0] * factor, rel=1e-6)
    opg = res.with_vce("opg")
    g = res.lik.score_obs(res.theta) @ res.constraints.N  # scores of the free parameters
    direct = res.constraints.expand(np.linalg.inv(g.T @ g))
    np.testing.assert_allclose(opg.cov_params().to_numpy(), direct, rtol=1e-8, atol=1e-14)
    assert res.df_model == 2


# ----------------------------------------------------------- properties
def test_constraints_hold_exactly_and_df_counts_free_parameters(shared):
    cons = ["[1.y]x = [2.y]x", "[2.y]lnsigma = -0.25", "[2.Class]z = 0.5"]
    res = fmm(2, "y ~ x", shared, class_formula="~ z", constraints=cons, **FIT)
    p = res.params
    assert p[("1.y", "x")] == p[("2.y", "x")]
    assert p[("2.y", "lnsigma")] == -0.25
    assert p[("2.Class", "z")] == 0.5
    assert res.df_model == 8 - 3
    assert res.bse[("2.Class", "z")] == 0.0 and res.bse[("2.y", "lnsigma")] == 0.0
    status = res.constraints.status()
    assert status[("1.y", "x")] == "tied" and status[("2.y", "lnsigma")] == "fixed"
    text = str(res.summary())
    assert " ( 1)  [1.y]x - [2.y]x = 0" in text and " ( 3)  [2.Class]z = 0.5" in text
    assert "(constrained)" in text
    assert "1.648721  (constrained)" in str(res.summary(eform=True))  # exp(0.5), as Stata's eform
    assert "[1.y]x - [2.y]x = 0" in res.summary().as_html()
    # the classes are named in the constraints: the fit keeps its order
    assert res.class_labels == ["1", "2"]


def test_lrtest_constrained_against_unconstrained(unconstrained, coef_fit):
    lr = unconstrained.lrtest(coef_fit)
    assert lr.chi2 == pytest.approx(2 * (unconstrained.llf - coef_fit.llf), abs=1e-10)
    assert lr.df == 1
    assert lr.pvalue == pytest.approx(stats.chi2.sf(lr.chi2, 1))
    assert coef_fit.info_criteria().df == 7


def test_em_is_monotone_under_coupled_constraints(shared):
    model = FMM(2, "y ~ x", shared, class_formula="~ z", lcinvariant="coef errvar", constraints="[2.Class]z = 0.6")
    lik = model._likelihood([0, 1])
    start = np.array([0.0, 0.0, 0.5, -0.5, 0.3, 1.5, 1.0, -0.1])  # infeasible: projected first
    for engine in ("fast", "statsmodels"):
        from fmmreg.estimation.engine import FitTrace

        trace = FitTrace()
        theta, ll, _ = run_em(lik, start, maxiter=60, tol=0.0, engine=engine, trace=trace)
        llf = np.array(trace.em_llf)
        assert np.all(np.diff(llf) >= -1e-9 * abs(llf[-1])), engine
        assert llf[-1] - llf[0] > 1.0
        assert lik.constraints.violation(theta) < 1e-12


def test_class_base_changes_only_the_membership_parameterisation(shared, unconstrained):
    res2 = fmm(2, "y ~ x", shared, class_formula="~ z", class_base=2, **FIT)
    assert res2.llf == pytest.approx(unconstrained.llf, abs=1e-8)
    np.testing.assert_allclose(res2.posterior_array, unconstrained.posterior_array, atol=1e-7)
    np.testing.assert_allclose(res2.prior_array, unconstrained.prior_array, atol=1e-7)
    np.testing.assert_allclose(res2.lcprob().frame["margin"], unconstrained.lcprob().frame["margin"], atol=1e-8)
    np.testing.assert_allclose(res2.lcprob().frame["se"], unconstrained.lcprob().frame["se"], rtol=1e-5)
    np.testing.assert_allclose(res2.params.loc["1.Class"], -unconstrained.params.loc["2.Class"], atol=1e-6)
    np.testing.assert_allclose(res2.bse.loc["1.Class"], unconstrained.bse.loc["2.Class"], rtol=1e-5)
    np.testing.assert_allclose(res2.params.loc["2.y"], unconstrained.params.loc["2.y"], atol=1e-6)
    for kind, extra in (("classpr", {}), ("mu", {"dydx": "z"})):
        m1, m2 = unconstrained.margins(kind=kind, **extra).frame, res2.margins(kind=kind, **extra).frame
        np.testing.assert_allclose(m2.iloc[:, 0], m1.iloc[:, 0], atol=1e-7)
        np.testing.assert_allclose(m2["se"], m1["se"], rtol=1e-4)
    assert res2.class_base == 2 and res2.membership_equations == ["1.Class"]
    assert "2.Class      |  (base outcome)" in str(res2.summary())
    assert res2.relabel([2, 1]).llf == pytest.approx(res2.llf, abs=1e-9)


def test_class_formula_list_fixes_left_out_covariates_at_zero(shared):
    df = shared.assign(w=np.random.default_rng(16).normal(size=len(shared)))
    listed = fmm(3, "y ~ x", df, class_formula=[None, "~ z", "~ w"], draws=5, max_draws=10)
    same = fmm(3, "y ~ x", df, class_formula="~ z + w", constraints=["[2.Class]w = 0", "[3.Class]z = 0"], **FIT)
    assert listed.params[("2.Class", "w")] == 0.0 and listed.params[("3.Class", "z")] == 0.0
    assert listed.df_model == 2 * 3 - 2 + 3 * 3
    assert listed.llf == pytest.approx(same.llf, abs=1e-6)
    status = listed.constraints.status()
    assert status[("2.Class", "w")] == "omitted" and listed.constraints.texts() == []
    assert "(omitted)" in str(listed.summary())


def test_relabel_carries_the_constraints(coef_fit, shared):
    res = fmm(2, "y ~ x", shared, class_formula="~ z", constraints="[2.y]x = 1.2", **FIT)
    swapped = res.relabel([2, 1])
    assert swapped.params[("1.y", "x")] == 1.2
    assert swapped.constraints.texts() == ["[1.y]x = 1.2"]
    assert swapped.llf == pytest.approx(res.llf, abs=1e-9)
    assert swapped.df_model == res.df_model
    assert coef_fit.relabel([2, 1]).constraints.texts() == ["[1.y]x - [2.y]x = 0"]


def test_bootstrap_and_replicates_reuse_constraints_and_fit_options(coef_fit):
    assert coef_fit.fit_options["draws"] == FIT["draws"] and coef_fit.fit_options["engine"] == "fast"
    rep = replicate_model(coef_fit.model, coef_fit.class_map)
    assert rep._likelihood([0, 1]).constraints.texts() == coef_fit.constraints.texts()
    boot = coef_fit.bootstrap(reps=4, random_state=1)
    ok = boot.replicates.dropna()
    assert len(ok) >= 3
    assert np.array_equal(ok[("1.y", "x")].to_numpy(), ok[("2.y", "x")].to_numpy())


def test_class_labels_in_summary_estat_and_plots(shared):
    res = fmm(2, "y ~ x", shared, class_formula="~ z", class_labels=["low", "high"], **FIT)
    text = str(res.summary())
    assert "Class:    1 (low)" in text and "Class:    2 (high)" in text
    assert list(res.lcprob().frame.index) == ["low", "high"]
    assert list(res.lcmean().frame.index) == ["low", "high"]
    assert res.relabel([2, 1]).class_labels == ["high", "low"]
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    fig = res.plot_posterior()
    assert [ax.get_title() for ax in fig.axes[:2]] == ["Class 1 (low)", "Class 2 (high)"]


# -------------------------------------------------- constraint building
def test_lcinvariant_ties_only_parameters_several_classes_have():
    rng = np.random.default_rng(17)
    df = pd.DataFrame({"y": rng.normal(size=60), "x": rng.normal(size=60), "w": rng.normal(size=60)})
    model = FMM(["y ~ x", "y ~ x + w", "y ~ w"], data=df, family=["gaussian", "gaussian", "tobit"], lcinvariant="all")
    assert model.constraints.texts() == [
        "[1.y]_cons - [2.y]_cons = 0",
        "[1.y]_cons - [3.y]_cons = 0",
        "[1.y]x - [2.y]x = 0",
        "[2.y]w - [3.y]w = 0",
        "[1.y]lnsigma - [2.y]lnsigma = 0",
        "[1.y]lnsigma - [3.y]lnsigma = 0",
    ]
    poisson = FMM(
        ["y ~ x", "y ~ x"],
        data=df.assign(y=rng.poisson(2, 60)),
        family=["poisson", "nbreg"],
        lcinvariant="errvar scale",
    )
    assert poisson.constraints is None  # lnalpha exists in one class only


def test_parameter_roles_follow_stata():
    assert parameter_roles(get_family("gaussian"), ["x", "Intercept"]) == ["coef", "cons", "errvar"]
    assert parameter_roles(get_family("nbreg"), ["x", "Intercept"]) == ["coef", "cons", "scale"]
    assert parameter_roles(get_family("gamma"), ["x", "Intercept"]) == ["coef", "cons", "scale"]
    ologit = get_family("ologit")
    ologit.check_endog(np.array([0.0, 1, 2]), "y")
    assert parameter_roles(ologit, ["x"]) == ["coef", "cons", "cons"]
    from fmmreg.families.ivregress import IVRegress
    from fmmreg.families.streg import Streg

    assert parameter_roles(Streg("weibull", failure="d"), ["x", "Intercept"]) == ["coef", "cons", "scale"]
    iv, xnames = IVRegress("x2 ~ z1 + z2"), ["x1", "x2", "z1", "z2", "Intercept"]
    iv.bind_design(xnames)
    roles = dict(zip(iv.param_names(xnames), parameter_roles(iv, xnames)))
    assert roles["Intercept"] == roles["x2:Intercept"] == "cons" and roles["x2:z1"] == "coef"
    assert roles["lnsigma"] == roles["lnsigma_x2"] == roles["athrho"] == "errvar"  # Stata: covariances of errors


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"constraints": "[3.y]x = 0"}, "unknown equation [3.y]"),
        ({"constraints": "[1.y]w = 0"}, "has no term 'w'"),
        ({"constraints": ["[1.y]x = 1", "[1.y]x = 2"]}, "constraint '[1.y]x = 2' contradicts constraint '[1.y]x = 1'"),
        ({"constraints": ["[1.y]x = [2.y]x", "[1.y]x = 1", "[2.y]x = 2"]}, "constraint '[2.y]x = 2' contradicts"),
        ({"lcinvariant": "coef", "constraints": ["[1.y]x = 1", "[2.y]x = 2"]}, "contradicts lcinvariant(coef)"),
        ({"constraints": "[1.Class]z = 0"}, "class 1 is the base class"),
        ({"constraints": "[1.Class]z = 0", "class_base": 2}, None),
        ({"constraints": "[2.Class]z = 0", "class_base": 2}, "class 2 is the base class"),
        ({"constraints": "[1.y]x * [2.y]x = 1"}, "not linear"),
        ({"constraints": {("1.y", "x"): "zero"}}, "constraint '[1.y]x = zero': 'zero'"),
        ({"constraints": {("1.y", "x"): [1]}}, "neither a parameter"),
        ({"lcinvariant": "coefs"}, "unknown keyword 'coefs'"),
        ({"class_base": 3}, "class_base=3"),
        ({"class_labels": ["a"]}, "1 names for 2 classes"),
        ({"class_formula": ["~ z", "~ z"]}, "class 1 is the base class"),
        ({"class_formula": [None, "~ z", "~ z"]}, "3 entries for 2 classes"),
        ({"class_formula": [None, "~ 0 + z"]}, "has no constant"),
    ],
)
def test_bad_constraints_raise_naming_the_constraint(shared, options, message):
    options = {"class_formula": "~ z", **options}
    if message is None:
        assert FMM(2, "y ~ x", shared, **options).constraints.n_free == 7
        return
    with pytest.raises(FMMError) as err:
        FMM(2, "y ~ x", shared, **options)
    assert message in str(err.value)


# ------------------------------------------------------------ every family
def _family_case(name: str):
    from fmmreg.families.tobit import Tobit

    data = pd.read_csv(FIXTURES / name / "data.csv")
    spec = {
        "betareg": ("y ~ x", "betareg", None, "coef scale"),
        "binomial": ("cbind(s, m - s) ~ x", "binomial", None, "coef"),
        "gamma": ("y ~ x", "gamma", None, "scale"),
        "intreg": ("lo + hi ~ x", "intreg", None, "errvar"),
        "mlogit": ("y ~ x", "mlogit", "~ z", "cons"),
        "tobit": ("y ~ x", Tobit(lower=0), "~ z", "coef errvar"),
        "tpoisson": ("y ~ x", "tpoisson", None, "cons"),
    }[name]
    return data, spec


@pytest.mark.parametrize("name", ["betareg", "binomial", "gamma", "intreg", "mlogit", "tobit", "tpoisson"])
def test_every_family_reaches_the_constrained_maximum(name):
    """The first-order condition of the constrained problem, by numerical derivatives along the free directions."""
    data, (formula, family, class_formula, keyword) = _family_case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a non-degenerate maximum: a regular information matrix
        res = fmm(2, formula, data, family=family, class_formula=class_formula, lcinvariant=keyword, **FIT)
    cons = res.constraints
    assert res.converged and cons.violation(res.theta) == 0.0
    assert not res.degenerate and res.warnings == []  # judged in the free parameters
    assert res.df_model == cons.n_free == len(res.theta) - len(cons.texts())
    h = 1e-5
    slopes = [(res.lik.loglike(res.theta + h * v) - res.lik.loglike(res.theta - h * v)) / (2 * h) for v in cons.N.T]
    assert np.max(np.abs(slopes)) < 1e-3, slopes
    # the free directions are where the unconstrained score is not zero: the constraints bind
    assert np.max(np.abs(res.score)) > 1e-2
