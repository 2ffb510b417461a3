"""Hybrid models: one formula and/or family per class (issue 4).

Stata writes ``fmm: (regress y x1) (regress y x1 x2)``; fmmreg takes lists,
``fmm(["y ~ x1", "y ~ x1 + x2"], data=df, family=[...])``, with ``k``
implied by the list lengths and a scalar formula or family broadcast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmmreg import FMM, fmm
from fmmreg.families import Gaussian, GLMFamily
from tests.family_contract import mixture_central_diff

STATA_1D_LLF = -4713.1378
BASE = "lmedexp ~ income + age + I(age**2) + totchr"


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_stata_example_1d(mus03sub, random_state):
    """[FMM] Example 1d: class 1 without i.sex, classes 2 and 3 with it; lcprob(totchr)."""
    res = fmm(
        [BASE, BASE + " + C(sex)", BASE + " + C(sex)"],
        data=mus03sub,
        family="gaussian",
        class_formula="~ totchr",
        random_state=random_state,
    )
    assert res.k == 3 and res.nobs == 2955
    assert res.converged
    assert res.llf == pytest.approx(STATA_1D_LLF, abs=1e-4)
    # the user's class order is kept: class 1 is the one without sex
    assert "C(sex)[T.1]" not in res.params.loc["1.lmedexp"].index
    for k in (2, 3):
        assert "C(sex)[T.1]" in res.params.loc[f"{k}.lmedexp"].index
    assert list(res.params.loc["2.Class"].index) == ["totchr", "Intercept"]


def _counts(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2, z = rng.normal(size=(3, n))
    cls = rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.8 * z)))
    y = np.where(cls, rng.poisson(np.exp(1.5 + 0.3 * x1 - 0.4 * x2)), rng.poisson(np.exp(0.2 + 0.5 * x1)))
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "z": z})


def test_formulas_first_with_families_per_class():
    df = _counts()
    res = fmm(
        ["y ~ x1", "y ~ x1 + x2"], data=df, family=["gaussian", "poisson"], class_formula="~ z", draws=6, max_draws=6
    )
    assert res.k == 2
    assert isinstance(res.families[0], Gaussian) and isinstance(res.families[1], GLMFamily)
    assert res.model.design.xnames == [["x1", "Intercept"], ["x1", "x2", "Intercept"]]
    assert list(res.params.loc["1.y"].index) == ["x1", "Intercept", "lnsigma"]
    assert list(res.params.loc["2.y"].index) == ["x1", "x2", "Intercept"]
    assert res.converged
    # the same model written with k and formula=, and with data positional
    model_a = FMM(None, ["y ~ x1", "y ~ x1 + x2"], df, family=["gaussian", "poisson"], class_formula="~ z")
    model_b = FMM(["y ~ x1", "y ~ x1 + x2"], df, family=["gaussian", "poisson"], class_formula="~ z")
    theta = res.theta
    assert model_a._likelihood([0, 1]).loglike(theta) == pytest.approx(res.llf, abs=1e-9)
    assert model_b._likelihood([0, 1]).loglike(theta) == pytest.approx(res.llf, abs=1e-9)


def test_scalar_family_and_scalar_formula_are_broadcast():
    df = _counts()
    m = FMM(["y ~ x1", "y ~ x1 + x2", "y ~ x2"], data=df, family="poisson")
    assert m.k == 3 and [f.name for f in m.families] == ["poisson"] * 3
    assert [len(n) for n in m.design.xnames] == [2, 3, 2]
    m = FMM("y ~ x1", data=df, family=["poisson", "gaussian"])
    assert m.k == 2 and [f.name for f in m.families] == ["poisson", "gaussian"]
    # identical formulas share one design array
    assert m.design.designs[0] is m.design.designs[1]
    m = FMM(2, ["y ~ x1", "y ~ x2"], df, family=("poisson", "poisson"))
    assert m.k == 2


def test_hybrid_with_identical_classes_equals_the_plain_model():
    df = _counts()
    plain = fmm(2, "y ~ x1", df, family="poisson", class_formula="~ z", draws=6, max_draws=6)
    hybrid = fmm(
        ["y ~ x1", "y ~ x1"], data=df, family=["poisson", "poisson"], class_formula="~ z", draws=6, max_draws=6
    )
    assert hybrid.llf == pytest.approx(plain.llf, abs=1e-8)


def test_hybrid_keeps_the_class_order():
    """order='mean' sorts only classes of one family and formula; a hybrid stays as listed."""
    df = _counts()
    res = fmm(["y ~ x1 + x2", "y ~ x1"], data=df, family="poisson", class_formula="~ z", draws=6, max_draws=6)
    assert res.model.design.xnames[res.class_map[0]] == ["x1", "x2", "Intercept"]
    assert res.class_map == [0, 1]
    assert list(res.params.loc["1.y"].index) == ["x1", "x2", "Intercept"]


def test_missing_values_drop_rows_for_every_class():
    df = _counts()
    df.loc[[3, 7], "x2"] = np.nan  # x2 appears only in class 2
    m = FMM(["y ~ x1", "y ~ x1 + x2"], data=df, family="poisson")
    assert m.design.n_dropped == 2
    assert all(len(X) == len(df) - 2 for X in m.design.designs) and len(m.y) == len(df) - 2


def test_hybrid_score_and_hessian_equal_numerical():
    df = _counts(200)
    m = FMM(["y ~ x1", "y ~ x1 + x2", "y ~ 1"], data=df, family=["gaussian", "poisson", "poisson"], class_formula="~ z")
    lik = m._likelihood([0, 1, 2])
    theta = np.random.default_rng(1).normal(scale=0.2, size=lik.n_params)
    _, g, h = lik.score_hessian(theta)
    num_g, num_h = mixture_central_diff(lik, theta, eps=1e-6)
    np.testing.assert_allclose(g, num_g, atol=1e-5 * (1 + np.abs(g).max()))
    np.testing.assert_allclose(h, num_h, atol=1e-5 * (1 + np.abs(h).max()))


# ----------------------------------------------------------------- bad input
def test_every_class_must_model_the_same_response():
    df = _counts().assign(w=lambda d: d["y"] + 1)
    with pytest.raises(ValueError, match=r"same response.*\['w', 'y'\]"):
        FMM(["y ~ x1", "w ~ x1"], data=df, family="poisson")


def test_list_lengths_must_agree():
    df = _counts()
    with pytest.raises(ValueError, match=r"list of formulas \(2\).*list of families \(3\)"):
        FMM(["y ~ x1", "y ~ x2"], data=df, family=["poisson"] * 3)
    with pytest.raises(ValueError, match="k=3 but 2 formulas/families"):
        FMM(3, ["y ~ x1", "y ~ x2"], df, family="poisson")
    with pytest.raises(ValueError, match="give the number of classes k"):
        FMM(None, "y ~ x1", df, family="poisson")


def test_formula_given_twice_or_not_at_all():
    df = _counts()
    with pytest.raises(TypeError, match="formula= is given too"):
        FMM(["y ~ x1", "y ~ x2"], formula="y ~ x1", data=df)
    with pytest.raises(TypeError, match="needs a formula"):
        FMM(2, data=df)
    with pytest.raises(TypeError, match="DataFrame"):
        FMM(["y ~ x1", "y ~ x2"], family="poisson")


def test_hybrid_classes_of_one_family_with_different_settings_keep_the_listed_order():
    from fmmreg import FMM
    from fmmreg.families import Tobit

    rng = np.random.default_rng(4)
    n = 600
    x = rng.normal(size=n)
    cls = rng.random(n) < 0.5
    y = np.where(cls, 3 + x, -1 + 0.5 * x) + rng.normal(scale=0.5, size=n)
    df = pd.DataFrame({"y": np.maximum(y, 0.0), "x": x})
    model = FMM(None, "y ~ x", data=df, family=[Tobit(lower=0), Tobit(lower=0)])
    assert model.hybrid
    res = model.fit(draws=6, max_draws=6)
    assert [f for f in res.families] == model.families


def test_hurdle_model_pointmass_plus_truncated_poisson(mus17):
    """Zeros come only from the point mass, positive counts only from tpoisson:
    the likelihood separates into a Bernoulli for y > 0 and a zero-truncated Poisson."""
    from fmmreg import fmm

    res = fmm(None, "docvis ~ private + totchr", data=mus17, family=["pointmass", "tpoisson"])
    pos = mus17["docvis"].to_numpy() > 0
    p1 = pos.mean()
    ll_bernoulli = pos.sum() * np.log(p1) + (~pos).sum() * np.log(1 - p1)
    alone = fmm(1, "docvis ~ private + totchr", data=mus17[pos], family="tpoisson")
    assert res.llf == pytest.approx(ll_bernoulli + alone.llf, abs=1e-6)
    np.testing.assert_allclose(res.params.loc["2.docvis"], alone.params.loc["1.docvis"], atol=1e-6)
    assert res.params[("2.Class", "Intercept")] == pytest.approx(np.log(p1 / (1 - p1)), abs=1e-6)


def test_rows_impossible_in_every_class_are_an_error(mus17):
    from fmmreg import fmm
    from fmmreg.families import PointMass

    with pytest.raises(ValueError, match="'docvis'.*tpoisson"):
        fmm(2, "docvis ~ private", data=mus17, family="tpoisson")
    with pytest.raises(ValueError, match="zero density in every class"):
        fmm(None, "docvis ~ private", data=mus17, family=[PointMass(value=5), "tpoisson"])
