"""The point-mass family: a class without parameters (issue 4, part B).

A zero-inflated Poisson written as ``pointmass`` + ``poisson`` equals
statsmodels' ``ZeroInflatedPoisson``; the engine copes with a class whose
parameter vector is empty (scores, OIM, weights, summary); the three-class
reference (flexmix ``FLXMRziglm``) is stored under ``tests/fixtures/pointmass``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.discrete.count_model import ZeroInflatedPoisson

from fmmreg import FMM, fmm, get_family
from fmmreg.families.pointmass import PointMass
from tests.family_contract import mixture_central_diff
from tests.mixture_reference import assert_matches_reference, load_reference


def _zip_data(n=800, seed=3, value=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    y = rng.poisson(np.exp(0.5 + 0.6 * x))
    inflated = rng.random(n) < 1 / (1 + np.exp(-(-0.8 + 0.7 * z)))
    return pd.DataFrame({"y": np.where(inflated, value, y), "x": x, "z": z})


def _statsmodels_zip(df, exog_infl):
    X = sm.add_constant(df["x"].to_numpy())
    model = ZeroInflatedPoisson(df["y"].to_numpy(), X, exog_infl=exog_infl, inflation="logit")
    res = model.fit(method="bfgs", maxiter=5000, disp=0)
    return model.fit(start_params=res.params, method="newton", maxiter=100, tol=1e-12, disp=0)


def test_zero_inflated_poisson_equals_statsmodels():
    df = _zip_data()
    res = fmm(["y ~ 1", "y ~ x"], data=df, family=["pointmass", "poisson"])
    ref = _statsmodels_zip(df, np.ones((len(df), 1)))
    assert res.converged
    assert res.llf == pytest.approx(ref.llf, abs=1e-6)
    # statsmodels' inflation logit is P(point mass); fmmreg's class 2 logit is P(Poisson) vs class 1
    infl, b_const, b_x = ref.params
    assert res.params[("2.Class", "Intercept")] == pytest.approx(-infl, abs=1e-5)
    assert res.params[("2.y", "x")] == pytest.approx(b_x, abs=1e-5)
    assert res.params[("2.y", "Intercept")] == pytest.approx(b_const, abs=1e-5)
    assert len(res.params) == 3  # the point-mass class has no parameters


def test_zero_inflated_poisson_with_inflation_covariate():
    df = _zip_data()
    res = fmm(["y ~ 1", "y ~ x"], data=df, family=["pointmass", "poisson"], class_formula="~ z")
    ref = _statsmodels_zip(df, sm.add_constant(df["z"].to_numpy()))
    assert res.llf == pytest.approx(ref.llf, abs=1e-6)
    infl_const, infl_z = ref.params[:2]
    assert res.params[("2.Class", "z")] == pytest.approx(-infl_z, abs=1e-5)
    assert res.params[("2.Class", "Intercept")] == pytest.approx(-infl_const, abs=1e-5)


def test_pointmass_as_second_class_and_at_another_value():
    df = _zip_data(value=4)
    first = fmm(["y ~ 1", "y ~ x"], data=df, family=[PointMass(value=4), "poisson"])
    second = fmm(["y ~ x", "y ~ 1"], data=df, family=["poisson", PointMass(4)])
    assert second.converged
    assert second.llf == pytest.approx(first.llf, abs=1e-8)
    assert second.params[("2.Class", "Intercept")] == pytest.approx(-first.params[("2.Class", "Intercept")], abs=1e-6)
    np.testing.assert_allclose(second.params.loc["1.y"], first.params.loc["2.y"], atol=1e-6)
    # the posterior of the point-mass class is 0 wherever y differs from the value
    post = first.posterior.to_numpy()
    assert np.all(post[df["y"].to_numpy() != 4, 0] == 0.0)


def test_three_class_reference_flexmix_ziglm():
    ref, df, expected = load_reference("pointmass")
    res = fmm(
        ["y ~ 1", "y ~ x", "y ~ x"],
        data=df,
        family=["pointmass", "poisson", "poisson"],
        class_formula="~ z",
    )
    assert_matches_reference(res, ref, expected, fixed=(1,))
    assert res.llf >= ref["flexmix_llf"] - 1e-6


def test_engine_with_a_zero_parameter_class():
    df = _zip_data(300)
    model = FMM(["y ~ 1", "y ~ x"], data=df, family=["pointmass", "poisson"], class_formula="~ z")
    lik = model._likelihood([0, 1])
    assert lik.comp_sizes == [0, 2]
    assert model.families[0].designs(model.design.designs[0]) == []
    assert lik.comp_slices[0].start == lik.comp_slices[0].stop
    theta = np.array([0.4, -0.2, 0.3, 0.1])
    gamma, comps = lik.unpack(theta)
    assert comps[0].shape == (0,)
    ll, g, h = lik.score_hessian(theta)
    num_g, num_h = mixture_central_diff(lik, theta, eps=1e-6)
    np.testing.assert_allclose(g, num_g, atol=1e-6 * (1 + np.abs(g).max()))
    np.testing.assert_allclose(h, num_h, atol=1e-6 * (1 + np.abs(h).max()))
    assert lik.score_obs(theta).shape == (len(df), 4)
    res = model.fit(draws=6, max_draws=6)
    text = str(res.summary())
    assert "Model:    pointmass" in text
    assert res.bse.notna().all() and np.all(res.bse > 0)


def test_integer_weights_equal_replicated_rows():
    df = _zip_data(300)
    w = np.random.default_rng(5).integers(1, 4, size=len(df))
    rep = df.loc[df.index.repeat(w)].reset_index(drop=True)
    a = fmm(["y ~ 1", "y ~ x"], data=df.assign(w=w), family=["pointmass", "poisson"], weights="w")
    b = fmm(["y ~ 1", "y ~ x"], data=rep, family=["pointmass", "poisson"])
    assert a.llf == pytest.approx(b.llf, abs=1e-8)
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), atol=1e-7)


def test_log_density_and_mean():
    fam = get_family("pointmass")
    assert isinstance(fam, PointMass) and fam.value == 0.0 and fam.n_params(3) == 0
    y = np.array([0.0, 1.0, 0.0, 2.5])
    X = np.ones((4, 1))
    np.testing.assert_array_equal(fam.loglike_obs(y, X, np.zeros(0)), [0.0, -np.inf, 0.0, -np.inf])
    np.testing.assert_array_equal(fam.mean(X, np.zeros(0)), np.zeros(4))
    assert fam.fit_weighted(y, X, np.ones(4)).shape == (0,)
    assert fam.param_names(["Intercept"]) == []


def test_value_never_observed_is_an_error():
    df = _zip_data(100)
    with pytest.raises(ValueError, match=r"no observation of 'y' equals 7.*'pointmass'"):
        FMM(["y ~ 1", "y ~ x"], data=df, family=[PointMass(7), "poisson"])
    with pytest.raises(ValueError, match="finite"):
        PointMass(np.inf)
    df2 = df.assign(hi=df["y"] + 1.0)
    with pytest.raises(ValueError, match=r"pointmass.*single response column.*'y \+ hi'"):
        FMM(1, "y + hi ~ 1", df2, family="pointmass")
