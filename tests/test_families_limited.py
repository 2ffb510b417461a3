"""Censored and truncated normal families: tobit, intreg, truncreg (issue 4, part B).

The family contract (K=1 equals a scipy maximisation of the scipy.stats
likelihood, log density equals scipy.stats, integer weights equal replicated
rows, analytic derivatives equal central differences, impossible responses
raise) runs through ``tests/family_contract.py``; the two-class references
are stored under ``tests/fixtures/{tobit,intreg,truncreg}/``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from fmmreg import FMM, fmm, get_family
from fmmreg.estimation.engine import run_em, theta_from_posterior
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.families.intreg import IntervalRegression
from fmmreg.families.tobit import Tobit
from fmmreg.families.tpoisson import TruncatedPoisson
from fmmreg.families.truncreg import TruncatedRegression
from tests.family_contract import FamilyCase, FamilyContract, covariates, mixture_central_diff
from tests.mixture_reference import assert_matches_reference, load_reference, scipy_maximise

LOWER, UPPER = -0.5, 1.8


# ------------------------------------------------------------------ simulation
def _latent(rng, n):
    df = covariates(rng, n)
    ystar = 0.4 + 0.8 * df["x1"].to_numpy() - 0.5 * df["x2"].to_numpy() + rng.normal(scale=0.9, size=n)
    return df, ystar


def sim_tobit(rng, n):
    df, ystar = _latent(rng, n)
    return df.assign(y=np.clip(ystar, LOWER, UPPER))


def sim_intreg(rng, n):
    df, ystar = _latent(rng, n)
    kind = rng.integers(0, 3, size=n)  # 0 exact, 1-2 unit bins
    lo = np.where(kind == 0, ystar, np.floor(ystar))
    hi = np.where(kind == 0, ystar, np.floor(ystar) + 1.0)
    lo[ystar < -1.0] = np.nan  # left-open: y* < -1
    hi[ystar < -1.0] = -1.0
    hi[ystar > 2.0] = np.nan  # right-open: y* > 2
    lo[ystar > 2.0] = 2.0
    lo[0], hi[0] = -3.0, 3.0  # a closed interval in the first row (the bad-input check edits it)
    return df.assign(lo=lo, hi=hi)


def sim_truncreg(rng, n):
    df, ystar = _latent(rng, 3 * n)
    keep = np.flatnonzero((ystar > LOWER) & (ystar < UPPER))[:n]
    return df.iloc[keep].reset_index(drop=True).assign(y=ystar[keep])


def sim_tobit_columns(rng, n):
    """Tobit with a lower and an upper limit per row (Stata ``ll(varname) ul(varname)``)."""
    df, ystar = _latent(rng, n)
    lo = rng.choice([-0.8, -0.3, 0.2], size=n)
    hi = np.where(rng.random(n) < 0.2, np.inf, rng.choice([1.4, 2.0], size=n))
    return df.assign(y=np.clip(ystar, lo, hi), lo=lo, hi=hi)


def sim_truncreg_columns(rng, n):
    df, ystar = _latent(rng, 4 * n)
    lo = rng.choice([-0.6, -0.1, -np.inf], size=4 * n)
    keep = np.flatnonzero(ystar > lo)[:n]
    return df.iloc[keep].reset_index(drop=True).assign(y=ystar[keep], lo=lo[keep])


def sim_tpoisson_columns(rng, n):
    df = covariates(rng, 4 * n)
    mu = np.exp(0.8 + 0.5 * df["x1"].to_numpy() - 0.4 * df["x2"].to_numpy())
    lo = rng.choice([0, 1, 2], size=4 * n)
    y = rng.poisson(mu)
    keep = np.flatnonzero(y > lo)[:n]
    return df.iloc[keep].reset_index(drop=True).assign(y=y[keep], lo=lo[keep])


# ------------------------------------------------- scipy.stats log densities
def _split(X, params):
    p = X.shape[1]
    return X @ params[:p], float(np.exp(params[p]))


def tobit_density(y, X, params):
    mu, s = _split(X, params)
    return np.where(
        y <= LOWER,
        stats.norm.logcdf(LOWER, mu, s),
        np.where(y >= UPPER, stats.norm.logsf(UPPER, mu, s), stats.norm.logpdf(y, mu, s)),
    )


def intreg_density(y, X, params):
    mu, s = _split(X, params)
    lo, hi = y[:, 0], y[:, 1]
    point = lo == hi
    with np.errstate(divide="ignore", invalid="ignore"):
        closed = np.log(stats.norm.cdf(hi, mu, s) - stats.norm.cdf(lo, mu, s))
    out = np.where(point, stats.norm.logpdf(lo, mu, s), closed)
    out = np.where(np.isneginf(lo), stats.norm.logcdf(hi, mu, s), out)
    return np.where(np.isposinf(hi), stats.norm.logsf(lo, mu, s), out)


def truncreg_density(y, X, params):
    mu, s = _split(X, params)
    return stats.truncnorm.logpdf(y, (LOWER - mu) / s, (UPPER - mu) / s, loc=mu, scale=s)


def tobit_columns_density(y, X, params):
    mu, s = _split(X, params)
    resp, lo, hi = y[:, 0], y[:, 1], y[:, 2]
    return np.where(
        resp <= lo,
        stats.norm.logcdf(lo, mu, s),
        np.where(resp >= hi, stats.norm.logsf(hi, mu, s), stats.norm.logpdf(resp, mu, s)),
    )


def truncreg_columns_density(y, X, params):
    mu, s = _split(X, params)
    return stats.truncnorm.logpdf(y[:, 0], (y[:, 1] - mu) / s, (y[:, 2] - mu) / s, loc=mu, scale=s)


def truncreg_columns_likelihood(y, X, params):
    """The same density with scipy.stats.norm (truncnorm with per-row bounds is slow in a maximisation)."""
    mu, s = _split(X, params)
    mass = np.log(stats.norm.cdf(y[:, 2], mu, s) - stats.norm.cdf(y[:, 1], mu, s))
    return stats.norm.logpdf(y[:, 0], mu, s) - mass


def tpoisson_columns_density(y, X, params):
    mu = np.exp(X @ params)
    return stats.poisson.logpmf(y[:, 0], mu) - stats.poisson.logsf(y[:, 1], mu)


def tpoisson_columns_reference(y, X):
    beta = np.linalg.lstsq(X, np.log(y[:, 0]), rcond=None)[0]
    return scipy_maximise(lambda t: float(tpoisson_columns_density(y, X, t).sum()), beta)


def scipy_reference(density):
    """ML by scipy of the scipy.stats likelihood, from least squares on a point value (once per data set)."""
    fits: dict[bytes, tuple[np.ndarray, float]] = {}

    def fit(y, X):
        key = y.tobytes() + X.tobytes()
        if key not in fits:
            fits[key] = _fit(y, X)
        return fits[key][0].copy(), fits[key][1]

    def _fit(y, X):
        point = y if y.ndim == 1 else np.where(np.isfinite(y[:, 0]), y[:, 0], y[:, 1])
        point = y[:, 0] if y.ndim == 2 and y.shape[1] == 3 else point  # (y, lower, upper) of a limit column
        beta = np.linalg.lstsq(X, point, rcond=None)[0]
        x0 = np.append(beta, np.log(np.std(point - X @ beta)))
        return scipy_maximise(lambda t: float(density(y, X, t).sum()), x0)

    return fit


CASES = [
    FamilyCase(
        "tobit", lambda: Tobit(lower=LOWER, upper=UPPER), sim_tobit, scipy_reference(tobit_density), tobit_density
    ),
    FamilyCase(
        "intreg",
        "intreg",
        sim_intreg,
        scipy_reference(intreg_density),
        intreg_density,
        (("lo", 5.0),),
        formula="lo + hi ~ x1 + x2",
    ),
    FamilyCase(
        "truncreg",
        lambda: TruncatedRegression(lower=LOWER, upper=UPPER),
        sim_truncreg,
        scipy_reference(truncreg_density),
        truncreg_density,
        (("y", LOWER - 0.1), ("y", UPPER + 1.0)),
    ),
    # limits as data columns (Stata's ll(varname) / ul(varname)), issue 16
    FamilyCase(
        "tobit_columns",
        lambda: Tobit(lower="lo", upper="hi"),
        sim_tobit_columns,
        scipy_reference(tobit_columns_density),
        tobit_columns_density,
        (("lo", 5.0),),
        formula="y ~ x1 + x2",
    ),
    FamilyCase(
        "truncreg_columns",
        lambda: TruncatedRegression(lower="lo"),
        sim_truncreg_columns,
        scipy_reference(truncreg_columns_likelihood),
        truncreg_columns_density,
        (("y", -5.0),),
    ),
    FamilyCase(
        "tpoisson_columns",
        lambda: TruncatedPoisson(lower="lo"),
        sim_tpoisson_columns,
        tpoisson_columns_reference,
        tpoisson_columns_density,
        (("y", 0.0),),
    ),
]


class TestFamilyContract(FamilyContract):
    cases = CASES


# ------------------------------------------------------ two-class references
def test_tobit_two_class_reference():
    ref, df, expected = load_reference("tobit")
    res = fmm(2, "y ~ x", df, family=Tobit(lower=0), class_formula="~ z")
    assert_matches_reference(res, ref, expected)


def test_intreg_two_class_reference():
    ref, df, expected = load_reference("intreg")
    assert df["lo"].isna().any() and df["hi"].isna().any() and (df["lo"] == df["hi"]).any()
    res = fmm(2, "lo + hi ~ x", df, family="intreg")
    assert_matches_reference(res, ref, expected)


def test_truncreg_two_class_reference():
    ref, df, expected = load_reference("truncreg")
    res = fmm(2, "y ~ x", df, family=TruncatedRegression(lower=0), class_formula="~ z")
    assert_matches_reference(res, ref, expected)


# -------------------------------------------------------------- interfaces
def test_registry_names_and_defaults():
    tob = get_family("tobit")
    assert isinstance(tob, Tobit) and tob.limits == (0.0, np.inf)
    tr = get_family("truncreg")
    assert isinstance(tr, TruncatedRegression) and (tr.lower, tr.upper) == (0.0, np.inf)
    assert isinstance(get_family("intreg"), IntervalRegression)
    for name in ("tobit", "intreg", "truncreg"):
        assert get_family(name).ancillary_names == ("lnsigma",)


def test_tobit_min_max_limits_are_resolved_from_the_data():
    rng = np.random.default_rng(0)
    df, ystar = _latent(rng, 300)
    df["y"] = np.clip(ystar, -0.3, 1.1)
    model = FMM(1, "y ~ x1 + x2", df, family=Tobit(lower="min", upper="max"))
    assert model.families[0].limits == pytest.approx((-0.3, 1.1))
    explicit = fmm(1, "y ~ x1 + x2", df, family=Tobit(lower=-0.3, upper=1.1))
    assert model.fit().llf == pytest.approx(explicit.llf, abs=1e-9)


def test_tobit_upper_only_and_value_beyond_limit_is_censored():
    rng = np.random.default_rng(1)
    df, ystar = _latent(rng, 300)
    df["y"] = np.minimum(ystar, 1.0)
    fam = Tobit(lower=None, upper=1.0)
    fam.check_endog(df["y"].to_numpy(), "y")
    X = np.column_stack([df["x1"], df["x2"], np.ones(len(df))])
    params = np.array([0.8, -0.5, 0.4, np.log(0.9)])
    y = df["y"].to_numpy().copy()
    y2 = y.copy()
    y2[y2 >= 1.0] = 7.0  # beyond the right limit: censored at the limit, as in Stata
    np.testing.assert_array_equal(fam.loglike_obs(y, X, params), fam.loglike_obs(y2, X, params))
    mu, s = X @ params[:3], 0.9
    expected = np.where(y >= 1.0, stats.norm.logsf(1.0, mu, s), stats.norm.logpdf(y, mu, s))
    np.testing.assert_allclose(fam.loglike_obs(y, X, params), expected, rtol=1e-10)


def test_means_are_those_of_the_observed_response():
    rng = np.random.default_rng(2)
    eta = rng.normal(size=(50, 1))
    lns = np.log(0.7)
    s = 0.7
    # tobit: E[y] of the censored variable, by numerical integration of the latent normal
    tob = Tobit(lower=LOWER, upper=UPPER)
    grid = np.linspace(-12, 12, 200_001)
    for e in eta[:5, 0]:
        dens = stats.norm.pdf(grid, e, s)
        val = integrate.trapezoid(np.clip(grid, LOWER, UPPER) * dens, grid)  # np.trapezoid needs numpy >= 2
        assert tob.mean_from_index(np.array([[e]]), np.array([lns]))[0] == pytest.approx(val, abs=1e-7)
    tr = TruncatedRegression(lower=LOWER, upper=UPPER)
    expected = stats.truncnorm.mean((LOWER - eta[:, 0]) / s, (UPPER - eta[:, 0]) / s, loc=eta[:, 0], scale=s)
    np.testing.assert_allclose(tr.mean_from_index(eta, np.array([lns])), expected, rtol=1e-10)
    np.testing.assert_array_equal(IntervalRegression().mean_from_index(eta, np.array([lns])), eta[:, 0])


def test_intreg_extreme_tails_stay_finite_and_accurate():
    """Intervals far in either tail: the log probability is computed where it does not cancel."""
    fam = IntervalRegression()
    y = np.array([[40.0, 41.0], [-41.0, -40.0], [40.0, np.inf], [-np.inf, -40.0], [3.0, 3.0]])
    eta = np.zeros((5, 1))
    logf, d1, d2 = fam.index_derivatives(y, eta, np.array([0.0]))
    assert np.all(np.isfinite(logf)) and np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))
    # log(Phi(41) - Phi(40)) = log sf(40) + log(1 - sf(41)/sf(40))
    expected = stats.norm.logsf(40.0) + np.log1p(-np.exp(stats.norm.logsf(41.0) - stats.norm.logsf(40.0)))
    assert logf[0] == pytest.approx(expected, rel=1e-12)
    assert logf[1] == pytest.approx(expected, rel=1e-12)
    assert logf[2] == pytest.approx(stats.norm.logsf(40.0), rel=1e-12)
    assert logf[3] == pytest.approx(stats.norm.logcdf(-40.0), rel=1e-12)


def test_intreg_missing_and_infinite_ends_are_the_same():
    rng = np.random.default_rng(3)
    df = sim_intreg(rng, 300)
    as_inf = df.assign(lo=df["lo"].fillna(-np.inf), hi=df["hi"].fillna(np.inf))
    a = fmm(1, "lo + hi ~ x1 + x2", df, family="intreg")
    b = fmm(1, "lo + hi ~ x1 + x2", as_inf, family="intreg")
    assert a.nobs == b.nobs == 300
    assert a.llf == pytest.approx(b.llf, abs=1e-10)
    assert "var(e.lo)" in str(a.summary())


def test_truncreg_hurdle_with_pointmass():
    """pointmass(0) + truncreg(lower=0) is a hurdle: zeros only from the point mass."""
    rng = np.random.default_rng(4)
    n = 600
    x = rng.normal(size=n)
    zero = rng.random(n) < 0.3
    ystar = np.empty(n)
    todo = np.ones(n, dtype=bool)
    while todo.any():
        ystar[todo] = 1.0 + 0.8 * x[todo] + rng.normal(size=todo.sum())
        todo = ystar <= 0
    df = pd.DataFrame({"y": np.where(zero, 0.0, ystar), "x": x})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*truncation limit", category=UserWarning)
        res = fmm(None, ["y ~ 1", "y ~ x"], df, family=["pointmass", "truncreg"])
    # the hurdle likelihood separates: the zero share is the zero frequency, truncreg on the positives
    share = res.class_shares.to_numpy()
    assert share[0] == pytest.approx(zero.mean(), abs=1e-8)
    pos = df[df["y"] > 0]
    ref = fmm(1, "y ~ x", pos, family="truncreg")
    np.testing.assert_allclose(res.params.loc["2.y"].to_numpy(), ref.params.loc["1.y"].to_numpy(), atol=1e-6)
    llf_zero = zero.sum() * np.log(zero.mean()) + (~zero).sum() * np.log(1 - zero.mean())
    assert res.llf == pytest.approx(ref.llf + llf_zero, abs=1e-6)
    # EM alone gets there too: the zeros (density 0 in the truncreg class) do not
    # block its M-step, in either class order
    for order in ([0, 1], [1, 0]):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*truncation limit", category=UserWarning)
            formulas = [["y ~ 1", "y ~ x"][j] for j in order]
            model = FMM(formulas, data=df, family=[["pointmass", "truncreg"][j] for j in order])
        lik = model._likelihood([0, 1])
        theta0 = theta_from_posterior(lik, np.full((n, 2), 0.5))
        _, ll_em, _ = run_em(lik, theta0, maxiter=30, tol=0.0)
        assert ll_em == pytest.approx(res.llf, abs=1e-6)


# ----------------------------------------------------------------- bad input
def _frame(n=50, seed=5):
    rng = np.random.default_rng(seed)
    df, ystar = _latent(rng, n)
    return df.assign(y=np.maximum(ystar, 0.0), lo=np.floor(ystar), hi=np.floor(ystar) + 1)


def test_intreg_lower_above_upper_names_both_variables():
    df = _frame()
    df.loc[3, "lo"] = df.loc[3, "hi"] + 2
    with pytest.raises(ValueError, match=r"'lo'.*above.*'hi'.*intreg"):
        FMM(1, "lo + hi ~ x1", df, family="intreg")


def test_intreg_needs_two_columns_and_an_end():
    df = _frame()
    with pytest.raises(ValueError, match="two response columns.*'y'"):
        FMM(1, "y ~ x1", df, family="intreg")
    df.loc[2, ["lo", "hi"]] = np.nan
    with pytest.raises(ValueError, match=r"both 'lo' and 'hi' missing.*intreg"):
        FMM(1, "lo + hi ~ x1", df, family="intreg")
    df = _frame()
    df.loc[2, ["lo", "hi"]] = np.inf
    with pytest.raises(ValueError, match="empty interval.*intreg"):
        FMM(1, "lo + hi ~ x1", df, family="intreg")


def test_intreg_missing_covariate_still_drops_the_row():
    df = _frame()
    df.loc[4, "x1"] = np.nan
    df.loc[5, "lo"] = np.nan  # an open end keeps its row
    model = FMM(1, "lo + hi ~ x1", df, family="intreg")
    assert model.design.n_dropped == 1 and np.isneginf(model.y[4, 0])


def test_truncreg_values_outside_the_limits():
    df = _frame()
    df.loc[0, "y"] = -1.0
    with pytest.raises(ValueError, match=r"'y'.*outside the truncation limits.*truncreg"):
        FMM(1, "y ~ x1", df, family="truncreg")
    df = _frame()
    with pytest.warns(UserWarning, match="equal a truncation limit"):
        FMM(2, "y ~ x1", df, family="truncreg")
    with pytest.raises(ValueError, match="lower < upper"):
        TruncatedRegression(lower=1.0, upper=0.0)


def test_tobit_bad_limits_and_warnings():
    with pytest.raises(ValueError, match="lower and/or an upper"):
        Tobit(lower=None, upper=None)
    with pytest.raises(ValueError, match="below the upper"):
        Tobit(lower=2.0, upper=1.0)
    with pytest.raises(ValueError, match="number, a column name, True or None"):
        Tobit(lower=False)
    df = _frame()
    df["y"] = df["y"] + 5.0  # nothing at the limit 0
    with pytest.warns(UserWarning, match="tobit class is then a plain normal regression"):
        FMM(1, "y ~ x1", df, family="tobit")
    df["y"] = -1.0
    with pytest.raises(ValueError, match="every observation of 'y' is censored"):
        FMM(1, "y ~ x1", df, family="tobit")


def test_tobit_min_needs_the_data_first():
    with pytest.raises(ValueError, match="check_endog"):
        Tobit(lower="min").limits  # noqa: B018


def test_mixture_derivatives_with_censoring_and_membership_covariate():
    """Three-class tobit with a membership covariate: analytic score and OIM vs central differences."""
    rng = np.random.default_rng(6)
    df = sim_tobit(rng, 200).assign(z=rng.normal(size=200))
    model = FMM(3, "y ~ x1 + x2", df, family=Tobit(lower=LOWER, upper=UPPER), class_formula="~ z")
    lik = model._likelihood([0, 1, 2])
    assert isinstance(lik, MixtureLikelihood)
    theta = rng.normal(scale=0.3, size=lik.n_params)
    _, g, h = lik.score_hessian(theta)
    num_g, num_h = mixture_central_diff(lik, theta, eps=1e-5)
    np.testing.assert_allclose(g, num_g, atol=1e-5 * (1 + np.abs(g).max()))
    np.testing.assert_allclose(h, num_h, atol=1e-5 * (1 + np.abs(h).max()))


# --------------------------------------------- limits as data columns (issue 16)
def test_tobit_per_row_limit_two_class_reference():
    ref, df, expected = load_reference("tobit_varlimit")
    res = fmm(2, "y ~ x", df, family=Tobit(lower="limit"), class_formula="~ z")
    assert_matches_reference(res, ref, expected)


def test_constant_limit_columns_equal_numeric_limits():
    rng = np.random.default_rng(7)
    df = sim_tobit(rng, 200).assign(lo=LOWER, hi=UPPER)
    a = fmm(1, "y ~ x1 + x2", df, family=Tobit(lower=LOWER, upper=UPPER))
    b = fmm(1, "y ~ x1 + x2", df, family=Tobit(lower="lo", upper="hi"))
    assert b.llf == pytest.approx(a.llf, abs=1e-9)
    np.testing.assert_allclose(b.params.to_numpy(), a.params.to_numpy(), atol=1e-8)
    df = sim_truncreg(rng, 200).assign(lo=LOWER)
    a = fmm(1, "y ~ x1", df, family=TruncatedRegression(lower=LOWER, upper=UPPER))
    b = fmm(1, "y ~ x1", df.assign(hi=UPPER), family=TruncatedRegression(lower="lo", upper="hi"))
    assert b.llf == pytest.approx(a.llf, abs=1e-9)
    df = sim_tpoisson_columns(rng, 200)
    df = df[df["y"] > 2].assign(two=2)
    a = fmm(1, "y ~ x1", df, family=TruncatedPoisson(lower=2))
    b = fmm(1, "y ~ x1", df, family=TruncatedPoisson(lower="two"))
    assert b.llf == pytest.approx(a.llf, abs=1e-9)
    # Stata's ll(0) default is the zero-truncated Poisson
    assert fmm(1, "y ~ x1", df, family="tpoisson").llf == pytest.approx(
        fmm(1, "y ~ x1", df, family=TruncatedPoisson(lower=0)).llf, abs=1e-12
    )


def test_bare_limits_are_the_sample_extremes():
    rng = np.random.default_rng(8)
    df = sim_tobit(rng, 200)
    bare = FMM(1, "y ~ x1 + x2", df, family=Tobit(lower=True, upper=True))
    assert bare.families[0].limits == pytest.approx((df["y"].min(), df["y"].max()))


def test_limit_columns_in_predictions_and_errors():
    rng = np.random.default_rng(9)
    df = sim_tobit_columns(rng, 200)
    res = fmm(1, "y ~ x1 + x2", df, family=Tobit(lower="lo", upper="hi"))
    # per-row limits: the fitted mean is the latent x'b (Stata's predict, xb)
    np.testing.assert_allclose(res.predict(kind="mu")[1], res.predict(kind="eta")[1])
    dens = res.predict(df.head(5), kind="density")[1].to_numpy()
    np.testing.assert_allclose(dens, res.predict(kind="density")[1].to_numpy()[:5], rtol=1e-12)
    with pytest.raises(ValueError, match="'hi'"):
        res.predict(df.head(5).drop(columns="hi"), kind="density")
    with pytest.raises(ValueError, match="'lo'.*not found"):
        FMM(1, "y ~ x1", df.drop(columns="lo"), family=Tobit(lower="lo"))
    with pytest.raises(ValueError, match="lower limit must be below the upper"):
        FMM(1, "y ~ x1", df.assign(hi=-1.0), family=Tobit(lower="lo", upper="hi"))
    with pytest.raises(ValueError, match="truncation point lo.*tpoisson"):
        FMM(
            1,
            "y ~ x1",
            pd.DataFrame({"y": [1, 2, 3, 4], "lo": [0, 2, 0, 0], "x1": [0.1, 0.2, 0.3, 0.5]}),
            family=TruncatedPoisson(lower="lo"),
        )
    with pytest.raises(ValueError, match="integer >= -1"):
        TruncatedPoisson(lower=0.5)
