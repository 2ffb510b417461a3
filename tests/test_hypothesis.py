"""wald_test / lincom / nlcom and the Stata-style expression parser (issue 13)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fmmreg import FMMError, fmm
from fmmreg.postestimation.blrt import simulate
from fmmreg.postestimation.bootstrap import one_blas_thread, refit, replicate_model
from fmmreg.postestimation.expressions import (
    format_restriction,
    linear_combination,
    linear_restrictions,
    nonlinear_function,
)
from tests.simulate import gaussian_mixture

INDEX = pd.MultiIndex.from_tuples(
    [
        ("2.Class", "z"),
        ("2.Class", "Intercept"),
        ("1.cbind(s, t - s)", "x"),
        ("1.cbind(s, t - s)", "I(x ** 2)"),
        ("1.cbind(s, t - s)", "Intercept"),
        ("2.cbind(s, t - s)", "x"),
        ("2.cbind(s, t - s)", "C(g)[T.b]"),
        ("2.cbind(s, t - s)", "Intercept"),
        ("2.cbind(s, t - s)", "lnphi"),
    ],
    names=["equation", "term"],
)


@pytest.fixture(scope="module")
def sim2():
    data = gaussian_mixture(n=400, seed=0, k=2)
    return fmm(2, "y ~ x + C(g)", data=data, class_formula="~ z")


# ------------------------------------------------------------------ parser
def _row(*pairs) -> np.ndarray:
    r = np.zeros(len(INDEX))
    for pos, v in pairs:
        r[pos] = v
    return r


@pytest.mark.parametrize(
    "text",
    [
        "[1.cbind(s, t - s)]x = [2.cbind(s, t - s)]x",
        "[1.cbind(s,t-s)]x - [2.cbind(s, t - s)]x = 0",
        "_b[1.cbind(s, t - s):x] == _b[2.cbind(s, t - s):x]",
        "[1.cbind(s, t - s)]_b[x] - [2.cbind(s, t - s)]_b[x]",
        "[1.cbind(s, t - s) = 2.cbind(s, t - s)]: x",
    ],
)
def test_spellings_of_one_restriction(text):
    R, q = linear_restrictions(text, INDEX)
    np.testing.assert_array_equal(R, [_row((2, 1), (5, -1))])
    np.testing.assert_array_equal(q, [0.0])


def test_restrictions_terms_constants_and_chains():
    R, q = linear_restrictions(
        ["2*[1.cbind(s, t - s)]I(x**2) - [2.cbind(s, t - s)]C(g)[T.b]/4 + 3 = 1", "[2.Class]_cons = z = 0.5"], INDEX
    )
    np.testing.assert_allclose(R, [_row((3, 2), (6, -0.25)), _row((1, 1), (0, -1)), _row((0, 1))])
    np.testing.assert_allclose(q, [-2, 0, 0.5])
    assert (
        format_restriction(R[0], q[0], INDEX)
        == "2*[1.cbind(s, t - s)]I(x ** 2) - 0.25*[2.cbind(s, t - s)]C(g)[T.b] = -2"
    )
    assert format_restriction(R[1], q[1], INDEX) == "- [2.Class]z + [2.Class]_cons = 0"  # params order, as Stata
    r, c = linear_combination("([2.cbind(s, t - s)]x - [1.cbind(s, t - s)]x) / 2 + 1", INDEX)
    np.testing.assert_allclose(r, _row((5, 0.5), (2, -0.5)))
    assert c == 1.0


def test_nonlinear_function_and_its_parameters():
    f = nonlinear_function("exp([2.Class]_cons) / (1 + exp([2.Class]_cons)) + lnphi^2", INDEX)
    theta = np.linspace(-1, 1, len(INDEX))
    assert f(theta) == pytest.approx(stats.logistic.cdf(theta[1]) + theta[8] ** 2)
    assert f.parameters == (1, 8)
    g = nonlinear_function("normal(invlogit(z)) * sqrt(abs([2.cbind(s, t - s)]_cons))", INDEX)
    assert g(theta) == pytest.approx(stats.norm.cdf(stats.logistic.cdf(theta[0])) * np.sqrt(abs(theta[7])))


@pytest.mark.parametrize(
    "text, match",
    [
        ("[3.y]x = 0", r"unknown equation \[3.y\] in '\[3.y\]x = 0'"),
        ("[2.Class]w = 0", r"equation \[2.Class\] has no term 'w'"),
        ("x = 0", "is in several equations"),
        ("exp([2.Class]z) = 1", "not linear"),
        ("[2.Class]z * [2.Class]_cons = 0", "not linear"),
        ("foo(z) = 0", "'foo' in 'foo\\(z\\) = 0' is neither a parameter nor a function"),
        ("[2.Class]z +", "could not parse"),
        ("3 = 3", "does not involve any parameter"),
        ("[2.Class z", "unbalanced brackets"),
        ("__import__('os') = 0", "neither a parameter nor a function"),
    ],
)
def test_parser_errors_name_the_expression(text, match):
    with pytest.raises(FMMError, match=match):
        linear_restrictions(text, INDEX)


def test_nlcom_rejects_equations_and_unsafe_code():
    with pytest.raises(FMMError, match="contains '='"):
        nonlinear_function("z = 1", INDEX)
    with pytest.raises(FMMError, match="neither a parameter nor a function"):
        nonlinear_function("z.__class__", INDEX)


# ------------------------------------------------------------ on a fit
def test_wald_of_one_restriction_is_lincom_z_squared(sim2):
    w = sim2.wald_test("[1.y]x = [2.y]x")
    lc = sim2.lincom("[1.y]x - [2.y]x")
    assert w.df == 1
    assert w.statistic == pytest.approx((lc.estimate / lc.se) ** 2, rel=1e-12)
    assert w.pvalue == pytest.approx(lc.pvalue, rel=1e-10)
    b, V = sim2.params, sim2.cov_params()
    a, c = ("1.y", "x"), ("2.y", "x")
    assert lc.estimate == pytest.approx(b[a] - b[c], rel=1e-12)
    assert lc.se == pytest.approx(np.sqrt(V.loc[a, a] + V.loc[c, c] - 2 * V.loc[a, c]), rel=1e-12)
    text = str(w)
    assert " ( 1)  [1.y]x - [2.y]x = 0" in text and "chi2(  1) =" in text and "Prob > chi2 =" in text
    assert "(1) |" in str(lc) and "Coefficient  Std. err." in str(lc)


def test_joint_tests_df_dropped_rows_and_arrays(sim2):
    joint = sim2.wald_test(["[1.y]x = [2.y]x", "[1.y]C(g)[T.b] = [2.y]C(g)[T.b]", "[2.Class]z = 0"])
    assert joint.df == 3 and joint.df_num == 3 and joint.distribution == "chi2"
    across = sim2.wald_test("[1.y = 2.y]: x C(g)[T.b]")
    assert across.df == 2
    # a restriction implied by the others is dropped, as Stata does
    dep = sim2.wald_test(["[1.y]x = [2.y]x", "[2.y]x = [1.y]_cons", "[1.y]x = [1.y]_cons"])
    assert dep.df == 2 and dep.dropped == [3] and "Constraint 3 dropped" in str(dep)
    two = sim2.wald_test(["[1.y]x = [2.y]x", "[2.y]x = [1.y]_cons"])
    assert dep.statistic == pytest.approx(two.statistic, rel=1e-10)
    # the arrays (R, q) give the same test
    R, q = linear_restrictions(["[1.y]x = [2.y]x", "[2.Class]z = 0.5"], sim2.params.index)
    direct = sim2.wald_test((R, q))
    d = R @ sim2.params.to_numpy() - q
    stat = d @ np.linalg.solve(R @ sim2.cov_params().to_numpy() @ R.T, d)
    assert direct.statistic == pytest.approx(stat, rel=1e-12)
    assert direct.pvalue == pytest.approx(stats.chi2.sf(stat, 2), rel=1e-12)
    with pytest.raises(FMMError, match="R must have shape"):
        sim2.wald_test((R[:, :3], q))


def test_nlcom_share_equals_lcprob():
    """With constant shares, Pr(class 2) = invlogit([2.Class]_cons): nlcom's delta method is estat lcprob's."""
    data = gaussian_mixture(n=300, seed=4, k=2, membership=False)
    res = fmm(2, "y ~ x", data=data)
    nl = res.nlcom({"share2": "exp([2.Class]_cons) / (1 + exp([2.Class]_cons))", "b": "[2.y]x / [1.y]x"})
    lp = res.lcprob().frame.loc[2]
    assert nl.frame.loc["share2", "coef"] == pytest.approx(lp["margin"], rel=1e-12)
    assert nl.frame.loc["share2", "se"] == pytest.approx(lp["se"], rel=1e-8)
    # the ratio: analytic gradient (1/b1, -b2/b1^2)
    b, V = res.params, res.cov_params()
    b1, b2 = b[("1.y", "x")], b[("2.y", "x")]
    g = np.array([-b2 / b1**2, 1 / b1])
    keys = [("1.y", "x"), ("2.y", "x")]
    assert nl.frame.loc["b", "se"] == pytest.approx(np.sqrt(g @ V.loc[keys, keys].to_numpy() @ g), rel=1e-8)
    assert nl.cov.shape == (2, 2) and "share2: exp([2.Class]_cons)" in str(nl)
    assert list(res.nlcom("[2.y]x").frame.index) == ["_nl_1"]


def test_wald_pvalues_uniform_under_a_true_null():
    """200 simulated one-class Poisson samples with two zero slopes: the joint p-values are uniform."""
    rng = np.random.default_rng(13)
    n = 120
    data = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    data["y"] = rng.poisson(np.exp(0.5 + 0.4 * data["x1"]))
    res = fmm(1, "y ~ x1 + x2 + x3", data=data, family="poisson")
    truth = res.params.copy()
    truth[("1.y", "x2")] = truth[("1.y", "x3")] = 0.0
    res.theta = truth.to_numpy()  # simulate from a model where the null holds exactly
    pvalues = []
    with one_blas_thread():
        for _ in range(200):
            fit = refit(replicate_model(res.model, [0], y=simulate(res, rng)[0]), start=res.theta)
            pvalues.append(fit.wald_test(["[1.y]x2 = 0", "[1.y]x3 = 0"]).pvalue)
    assert stats.kstest(pvalues, "uniform").pvalue > 0.01
