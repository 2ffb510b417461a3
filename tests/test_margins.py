"""margins (issue 13): AMEs, discrete changes, predictive margins and their delta-method SEs.

References: statsmodels' ``get_margeff`` for one-class Poisson and logit
fits; for a three-class mixture, finite differences of ``res.predict`` on
moved data (an independent path through formulaic) and a numerical-gradient
delta method over the parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from fmmreg import FMMError, fmm
from fmmreg.postestimation.predict import encode_newdata
from tests.simulate import simulate_poisson_mixture, simulate_single


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def k1_data():
    d = simulate_single("poisson", n=400, seed=11)
    d["f"] = (np.random.default_rng(2).random(len(d)) < 0.4).astype(int)
    d["yb"] = (d["y"] > 1).astype(int)
    return d


@pytest.fixture(scope="module")
def mix3():
    """Three Poisson classes; x enters the components (with its square) and the class formula."""
    d, _ = simulate_poisson_mixture(600, seed=1)
    rng = np.random.default_rng(5)
    d["f"] = rng.integers(0, 2, len(d))
    d["g"] = rng.choice(["a", "b", "c"], len(d))
    res = fmm(3, "y ~ x + I(x**2) + C(g) + f", data=d, family="poisson", class_formula="~ z + x")
    return d, res


# ------------------------------------------------------------- K = 1 vs statsmodels
@pytest.mark.parametrize("family,response", [("poisson", "y"), ("logit", "yb")])
def test_k1_ame_equals_statsmodels(k1_data, family, response):
    formula = f"{response} ~ x1 + x2 + f"
    res = fmm(1, formula, data=k1_data, family=family)
    ref_model = smf.poisson if family == "poisson" else smf.logit
    ref = ref_model(formula, data=k1_data).fit(disp=0, tol=1e-12, maxiter=200)
    me = ref.get_margeff(at="overall")
    m = res.margins(dydx=["x1", "x2", "f"])
    np.testing.assert_allclose(m.frame["dydx"].to_numpy(), me.margeff, rtol=1e-6)
    np.testing.assert_allclose(m.frame["se"].to_numpy(), me.margeff_se, rtol=1e-4)
    # a 0/1 indicator declared a factor: the discrete change, statsmodels' dummy=True
    me_d = ref.get_margeff(at="overall", dummy=True)
    m_d = res.margins(dydx=["x1", "x2", "f"], factors=["f"])
    assert m_d.frame.index.get_level_values("level").tolist() == ["", "", "1"]
    np.testing.assert_allclose(m_d.frame["dydx"].to_numpy(), me_d.margeff, rtol=1e-6)
    np.testing.assert_allclose(m_d.frame["se"].to_numpy(), me_d.margeff_se, rtol=1e-4)


def test_k1_atmeans_with_factor_equals_statsmodels(k1_data):
    """At means, a factor enters through its level proportions, as statsmodels' at='mean' on the dummies."""
    formula = "y ~ x1 + x2 + C(g)"
    res = fmm(1, formula, data=k1_data, family="poisson")
    ref = smf.poisson(formula, data=k1_data).fit(disp=0, tol=1e-12, maxiter=200)
    me = ref.get_margeff(at="mean").summary_frame().loc[["x1", "x2"]]
    m = res.margins(dydx=["x1", "x2"], atmeans=True)
    np.testing.assert_allclose(m.frame["dydx"].to_numpy(), me["dy/dx"], rtol=1e-6)
    np.testing.assert_allclose(m.frame["se"].to_numpy(), me["Std. Err."], rtol=1e-4)
    assert "Conditional marginal effects" in str(m) and "(mean)" in str(m)


# -------------------------------------------------------------- K = 3 mixture
def _moved(d: pd.DataFrame, **values) -> pd.DataFrame:
    return d.assign(**values)


def _predicted_means(res, d: pd.DataFrame) -> np.ndarray:
    """Sample averages of the three class means and of the marginal mean, via predict."""
    cls = res.predict(d).to_numpy().mean(axis=0)
    return np.append(cls, res.predict(d, marginal=True).mean())


def _stacked(frame: pd.DataFrame, variable: str, level: str = "") -> np.ndarray:
    rows = frame.xs((variable, level), level=("variable", "level"))
    return rows.reindex([1, 2, 3, "marginal"], level="class")


def test_k3_ame_equals_finite_differences_of_predictions(mix3):
    d, res = mix3
    m = res.margins(dydx="x")
    h = 1e-4 * d["x"].std()
    fd = (_predicted_means(res, _moved(d, x=d["x"] + h)) - _predicted_means(res, _moved(d, x=d["x"] - h))) / (2 * h)
    np.testing.assert_allclose(_stacked(m.frame, "x")["dydx"].to_numpy(), fd, rtol=1e-6)
    # the marginal effect includes the path through the class probabilities (x is in the class formula)
    no_pi = sum(res.prior.to_numpy()[:, k].mean() * fd[k] for k in range(3))
    assert abs(fd[3] - no_pi) > 0.05


def _ame_at(res, theta: np.ndarray, moved: list, h: float) -> np.ndarray:
    """Class and marginal AMEs of x at parameters theta, from predictions written out here."""
    lik = res.lik
    gamma, comps = lik.unpack(theta)
    out = []
    for enc in moved:
        mu = np.column_stack([f.mean(X, th) for f, X, th in zip(lik.families, enc.designs, comps)])
        pi = np.exp(lik.membership.log_prior(gamma, enc.Z))
        out.append(np.append(mu.mean(axis=0), (pi * mu).sum(axis=1).mean()))
    return (out[0] - out[1]) / (2 * h)


def test_k3_delta_se_equals_numerical_gradient(mix3):
    d, res = mix3
    m = res.margins(dydx="x")
    h = 1e-4 * d["x"].std()
    moved = [encode_newdata(res, _moved(d, x=d["x"] + sign * h), {"x", "z"}) for sign in (1, -1)]
    theta = res.theta.copy()
    steps = 1e-3 * res.bse.to_numpy()
    jac = np.column_stack(
        [
            (_ame_at(res, theta + e * s, moved, h) - _ame_at(res, theta - e * s, moved, h)) / (2 * s)
            for e, s in zip(np.eye(len(theta)), steps)
        ]
    )
    se = np.sqrt(np.diag(jac @ res.cov_params().to_numpy() @ jac.T))
    np.testing.assert_allclose(_stacked(m.frame, "x")["se"].to_numpy(), se, rtol=1e-5)


def test_k3_discrete_changes_are_prediction_differences(mix3):
    d, res = mix3
    m = res.margins(dydx=["f", "g"], factors=["f"])
    diff_f = _predicted_means(res, _moved(d, f=1)) - _predicted_means(res, _moved(d, f=0))
    np.testing.assert_allclose(_stacked(m.frame, "f", "1")["dydx"].to_numpy(), diff_f, rtol=1e-10, atol=1e-12)
    diff_c = _predicted_means(res, _moved(d, g="c")) - _predicted_means(res, _moved(d, g="a"))
    np.testing.assert_allclose(_stacked(m.frame, "g", "c")["dydx"].to_numpy(), diff_c, rtol=1e-10, atol=1e-12)
    # levels of C(g) are the formula's, the base is the first
    assert m.frame.xs("g", level="variable").index.get_level_values("level").unique().tolist() == ["b", "c"]


def test_k3_predictive_margins_and_classpr_at(mix3):
    d, res = mix3
    p = res.margins()
    np.testing.assert_allclose(
        p.frame.reindex([1, 2, 3, "marginal"], level="class")["margin"], _predicted_means(res, d), rtol=1e-12
    )
    np.testing.assert_allclose(p.frame.loc[(1, 1), "se"], res.lcmean().frame.loc[1, "se"], rtol=1e-10)
    c = res.margins(kind="classpr", at={"z": [-1, 1]})
    for at, z in ((1, -1.0), (2, 1.0)):
        direct = res.predict(_moved(d, z=z), kind="classpr").mean().to_numpy()
        np.testing.assert_allclose(c.frame.xs(at, level="at")["margin"].to_numpy(), direct, rtol=1e-12)
    # without at=, the class probability margins are estat lcprob
    lc = res.margins(kind="classpr")
    np.testing.assert_allclose(lc.frame["margin"], res.lcprob().frame["margin"], rtol=1e-12)
    np.testing.assert_allclose(lc.frame["se"], res.lcprob().frame["se"], rtol=1e-10)


def test_k3_effects_zero_where_a_prediction_does_not_read_the_variable(mix3):
    _, res = mix3
    m = res.margins(dydx="z")
    cls = m.frame.xs(("z", ""), level=("variable", "level"))
    assert (cls.loc[[1, 2, 3], ["dydx", "se"]].to_numpy() == 0).all()
    assert cls.xs("marginal", level="class")["se"].iloc[0] > 0
    assert "(omitted)" in str(m)
    # classpr effects are the class formula's variables only
    mp = res.margins(dydx="*", kind="classpr")
    assert mp.frame.index.get_level_values("variable").unique().tolist() == ["x", "z"]


def test_margins_layout_and_exports(mix3):
    _, res = mix3
    m = res.margins(dydx=["x", "g"], at={"z": [0, 1]}, classes=[2, "marginal"])
    text = str(m)
    for piece in ("Average marginal effects", "Delta-method", "dy/dx   std. err.", "1._at: z = 0", "b#2._at"):
        assert piece in text
    assert "discrete change from the base level" in text
    tidy = m.to_frame()
    assert list(tidy.columns) == ["class", "at", "variable", "level", "dydx", "se", "z", "p", "ci_low", "ci_high"]
    assert set(tidy["class"]) == {2, "marginal"} and len(tidy) == 2 * 2 * 3
    assert m.cov.shape == (12, 12) and np.allclose(np.sqrt(np.diag(m.cov)), tidy["se"])
    assert "dy/dx" in m.to_markdown() and "\\begin{tabular}" in m.to_latex() and "<pre" in m._repr_html_()


def test_margins_on_other_data_and_at_statistics(mix3):
    d, res = mix3
    sub = d.iloc[:100]
    m = res.margins(data=sub, classes="marginal")
    np.testing.assert_allclose(m.frame["margin"].iloc[0], res.predict(sub, marginal=True).mean(), rtol=1e-12)
    med = res.margins(at={"x": "median", "g": "b"}, classes=1)
    direct = res.predict(_moved(d, x=d["x"].median(), g="b"))[1].mean()
    np.testing.assert_allclose(med.frame["margin"].iloc[0], direct, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dydx": "w"}, "not variables of the model"),
        ({"at": {"w": 1}}, "not variables of the model"),
        ({"at": {"g": "d"}}, "not a level of factor 'g'"),
        ({"at": {"x": "mode"}}, "not a number or a statistic"),
        ({"kind": "eta"}, "kind='eta'"),
        ({"classes": 4}, "class labels 1..3"),
        ({"classes": "marginal", "kind": "classpr"}, "needs kind='mu'"),
        ({"factors": ["w"]}, "not variables of the model"),
    ],
)
def test_margins_errors_name_the_problem(mix3, kwargs, match):
    _, res = mix3
    with pytest.raises(FMMError, match=match):
        res.margins(**kwargs)


def test_margins_transform_outside_its_domain():
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"x": rng.uniform(0.5, 2, 200)})
    d["y"] = rng.poisson(np.exp(0.2 + 0.5 * np.log(d["x"])))
    res = fmm(1, "y ~ np.log(x)", data=d, family="poisson")
    with pytest.raises(FMMError, match="not defined"):
        res.margins(dydx="x", at={"x": 0.0})
    np.testing.assert_allclose(
        res.margins(dydx="x").frame["dydx"].iloc[0],
        np.mean(res.predict().to_numpy()[:, 0] * res.params.iloc[0] / d["x"].to_numpy()),
        rtol=1e-9,
    )


def test_margins_data_changed_after_fit():
    d = simulate_single("poisson", n=100, seed=3)
    res = fmm(1, "y ~ x1", data=d.copy(), family="poisson")
    res.model.data = d.assign(x1=d["x1"] + 1)
    with pytest.raises(FMMError, match="changed after the fit"):
        res.margins(dydx="x1")
    assert np.isfinite(res.margins(dydx="x1", data=d).frame["dydx"]).all()
