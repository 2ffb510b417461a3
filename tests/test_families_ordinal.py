"""Ordinal and nominal families: ologit, oprobit, mlogit (issue 4, part B).

K=1 equals statsmodels ``OrderedModel`` / ``MNLogit``; the rest of the family
contract runs through ``tests/family_contract.py``; the two-class references
are stored under ``tests/fixtures/{ologit,oprobit,mlogit}/``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.discrete.discrete_model import MNLogit
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from fmmreg import FMM, fmm, get_family
from fmmreg.families.mlogit import MultinomialLogit
from fmmreg.families.ordinal import OrderedFamily, ocloglog, ologit, oprobit
from tests.family_contract import FamilyCase, FamilyContract, covariates
from tests.mixture_reference import assert_matches_reference, load_reference, scipy_maximise

LEVELS = [0.0, 1.0, 2.0, 3.0]
CUTS = [-1.0, 0.3, 1.5]


# ------------------------------------------------------------------ simulation
def sim_ordinal(noise):
    def sim(rng, n):
        df = covariates(rng, n)
        latent = 0.9 * df["x1"] - 0.6 * df["x2"] + noise(rng, n)
        return df.assign(y=np.digitize(latent, CUTS).astype(float))

    return sim


def sim_mlogit(rng, n):
    df = covariates(rng, n)
    eta = np.column_stack([np.zeros(n), 0.3 + 0.9 * df["x1"] - 0.4 * df["x2"], -0.2 - 0.7 * df["x1"] + 0.8 * df["x2"]])
    p = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return df.assign(y=y.astype(float))


# ------------------------------------------------------------- references
def ordered_reference(distr):
    """statsmodels OrderedModel; its thresholds (first cut, log increments) mapped to the cut points."""

    def fit(y, X):
        model = OrderedModel(y, X, distr=distr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = model.fit(method="bfgs", disp=0, maxiter=2_000).params
        # statsmodels' own optimisers stop at ~1e-7 here: polish its log likelihood with scipy
        params, llf = scipy_maximise(model.loglike, start)
        cuts = model.transform_threshold_params(params)[1:-1]
        return np.concatenate([params[: X.shape[1]], cuts]), llf

    return fit


def mnlogit_reference(y, X):
    """statsmodels MNLogit (base = the smallest outcome); params (p, J-1) flattened by outcome."""
    res = MNLogit(y, X).fit(method="newton", disp=0, tol=1e-13, maxiter=100)
    return np.asarray(res.params).T.ravel(), float(res.llf)


def ordered_density(cdf):
    def logdensity(y, X, params):
        p = X.shape[1]
        eta = X @ params[:p]
        full = np.concatenate([[-np.inf], params[p:], [np.inf]])
        code = np.searchsorted(LEVELS, y)
        return np.log(cdf(full[code + 1] - eta) - cdf(full[code] - eta))

    return logdensity


def mlogit_density(y, X, params):
    p = X.shape[1]
    B = params.reshape(-1, p).T
    eta = np.column_stack([np.zeros(len(y)), X @ B])
    prob = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    onehot = (y[:, None] == np.arange(prob.shape[1])[None, :]).astype(int)
    return stats.multinomial.logpmf(onehot, 1, prob)


CASES = [
    FamilyCase(
        "ologit",
        lambda: ologit(levels=LEVELS),
        sim_ordinal(lambda rng, n: rng.logistic(size=n)),
        ordered_reference("logit"),
        ordered_density(stats.logistic.cdf),
        (("y", 7.0), ("y", 0.5)),
    ),
    FamilyCase(
        "oprobit",
        lambda: oprobit(levels=LEVELS),
        sim_ordinal(lambda rng, n: rng.normal(size=n)),
        ordered_reference("probit"),
        ordered_density(stats.norm.cdf),
        (("y", -1.0),),
    ),
    FamilyCase(
        "ocloglog",
        lambda: ocloglog(levels=LEVELS),
        sim_ordinal(lambda rng, n: -rng.gumbel(size=n)),
        ordered_reference(stats.gumbel_l),
        ordered_density(stats.gumbel_l.cdf),
        (("y", -1.0),),
    ),
    FamilyCase(
        "mlogit",
        lambda: MultinomialLogit(base=0, levels=[0, 1, 2]),
        sim_mlogit,
        mnlogit_reference,
        mlogit_density,
        (("y", 3.0),),
    ),
]


class TestFamilyContract(FamilyContract):
    cases = CASES


# ------------------------------------------------------ two-class references
@pytest.mark.parametrize("name", ["ologit", "oprobit"])
def test_ordinal_two_class_reference(name):
    ref, df, expected = load_reference(name)
    res = fmm(2, "y ~ x", df, family=name, class_formula="~ z")
    assert_matches_reference(res, ref, expected)


def test_mlogit_two_class_reference_flexmix():
    ref, df, expected = load_reference("mlogit")
    res = fmm(2, "y ~ x", df, family=MultinomialLogit(base=1), class_formula="~ z")
    assert_matches_reference(res, ref, expected)
    # flexmix's own EM solution is close but not at the exact maximum
    assert res.llf >= ref["flexmix_llf"] - 1e-6


# -------------------------------------------------------------- interfaces
def test_registry_learns_levels_and_names_the_cut_points():
    df = sim_ordinal(lambda rng, n: rng.logistic(size=n))(np.random.default_rng(0), 300)
    df["y"] = df["y"] * 10 + 5  # any ordered values
    res = fmm(1, "y ~ x1 + x2", df, family="ologit")
    fam = res.families[0]
    assert isinstance(fam, OrderedFamily) and fam.intercept is False
    np.testing.assert_array_equal(fam.levels, [5, 15, 25, 35])
    assert list(res.params.loc["1.y"].index) == ["x1", "x2", "cut1", "cut2", "cut3"]
    text = str(res.summary())
    assert "/cut1" in text and "/cut3" in text and "_cons" not in text
    assert res.model.design.xnames[0] == ["x1", "x2"]
    # recoding the categories does not change the fit
    df2 = df.assign(y=(df["y"] - 5) / 10)
    res2 = fmm(1, "y ~ x1 + x2", df2, family="ologit")
    assert res2.llf == pytest.approx(res.llf, abs=1e-9)
    # the fitted mean is the expected category value
    probs = fam.probabilities(*fam.indices(res.model.design.designs[0], res.params.to_numpy()))
    assert np.allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(fam.mean(res.model.design.designs[0], res.params.to_numpy()), probs @ fam.levels)


def test_mlogit_default_base_is_the_most_frequent_outcome():
    df = sim_mlogit(np.random.default_rng(1), 400)
    counts = df["y"].value_counts()
    res = fmm(1, "y ~ x1 + x2", df, family="mlogit")
    fam = res.families[0]
    base = counts.idxmax()
    assert fam.levels[fam.base_index] == base
    others = [int(v) for v in sorted(counts.index) if v != base]
    assert fam.linear_labels() == [str(v) for v in others]
    # same model as base 0: LL equal and b_j(base) = b_j(0) - b_base(0)
    ref = fmm(1, "y ~ x1 + x2", df, family=MultinomialLogit(base=0))
    assert res.llf == pytest.approx(ref.llf, abs=1e-9)
    b0 = {lab: ref.params.loc["1.y"].filter(like=f"{lab}:").to_numpy() for lab in ("1", "2")}
    b0["0"] = np.zeros(3)
    for lab in fam.linear_labels():
        got = res.params.loc["1.y"].filter(like=f"{lab}:").to_numpy()
        np.testing.assert_allclose(got, b0[lab] - b0[str(int(base))], atol=1e-7)


def test_mixture_of_ordinal_and_nominal_classes():
    """Hybrid ologit + mlogit on the same response: the designs differ (no intercept vs intercept)."""
    df = sim_mlogit(np.random.default_rng(2), 300)
    model = FMM(None, ["y ~ x1", "y ~ x1"], df, family=["ologit", "mlogit"])
    assert model.design.xnames == [["x1"], ["x1", "Intercept"]]
    res = model.fit(draws=6, max_draws=6)
    assert res.converged and np.isfinite(res.llf)
    assert list(res.params.loc["1.y"].index) == ["x1", "cut1", "cut2"]


# ----------------------------------------------------------------- bad input
def test_too_few_categories():
    df = pd.DataFrame({"y": [2.0] * 20, "x": np.arange(20.0)})
    for name in ("ologit", "oprobit", "mlogit"):
        with pytest.raises(ValueError, match=rf"'y' has 1 distinct value.*{name}.*at least 2 categories"):
            FMM(1, "y ~ x", df, family=name)


def test_continuous_response_is_refused():
    df = pd.DataFrame({"y": np.linspace(0, 1, 80), "x": np.arange(80.0)})
    with pytest.raises(ValueError, match="80 distinct values.*ologit.*continuous"):
        FMM(1, "y ~ x", df, family="ologit")


def test_levels_and_base_must_match_the_data():
    df = pd.DataFrame({"y": [0.0, 1.0, 2.0] * 10, "x": np.arange(30.0)})
    with pytest.raises(ValueError, match=r"level\(s\) \[3.0\].*never occur in 'y'"):
        FMM(1, "y ~ x", df, family=ologit(levels=[0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"'y'.*base outcome 5 of family 'mlogit'"):
        FMM(1, "y ~ x", df, family=MultinomialLogit(base=5))
    with pytest.raises(ValueError, match="at least 2 levels"):
        ologit(levels=[1])
    with pytest.raises(ValueError, match="ordered link"):
        OrderedFamily("cauchit")  # cloglog is gsem's ocloglog (issue 16)


def test_family_needs_levels_before_use():
    fam = get_family("oprobit")
    with pytest.raises(ValueError, match="check_endog"):
        fam.loglike_obs(np.array([0.0, 1.0]), np.ones((2, 1)), np.array([0.1, 0.2]))


def test_misordered_cut_points_have_no_density():
    fam = ologit(levels=[0, 1, 2])
    logf = fam.loglike_obs(np.array([0.0, 1.0, 2.0]), np.zeros((3, 1)), np.array([0.0, 1.0, -1.0]))
    assert np.all(logf == -np.inf)
