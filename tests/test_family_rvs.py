"""Random draws of the component families (``ComponentFamily.rvs``, used by the BLRT).

Property: responses drawn at known parameters are valid for the family and
its maximum likelihood fit recovers those parameters (within 5 standard
errors from the observed information), so the draws follow the density the
family estimates.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from fmmreg.families import get_family
from fmmreg.families.betareg import BetaRegression
from fmmreg.families.glm import glm
from fmmreg.families.intreg import IntervalRegression
from fmmreg.families.ivregress import IVRegress
from fmmreg.families.mlogit import MultinomialLogit
from fmmreg.families.ordinal import ocloglog, ologit, oprobit
from fmmreg.families.pointmass import PointMass
from fmmreg.families.streg import Streg, censoring_times
from fmmreg.families.tobit import Tobit
from fmmreg.families.tpoisson import TruncatedPoisson
from fmmreg.families.truncreg import TruncatedRegression

N = 2000
CASES = [
    ("gaussian", lambda: get_family("gaussian"), [1.0, 0.5, np.log(0.8)]),
    ("lognormal", lambda: get_family("lognormal"), [0.2, 0.3, np.log(0.5)]),
    ("poisson", lambda: get_family("poisson"), [0.5, 0.4]),
    ("logit", lambda: get_family("logit"), [0.2, 0.8]),
    ("probit", lambda: get_family("probit"), [0.1, 0.6]),
    ("cloglog", lambda: get_family("cloglog"), [-0.3, 0.5]),
    ("binomial", lambda: get_family("binomial"), [0.2, 0.5]),
    ("gamma", lambda: get_family("gamma"), [0.5, 0.3, np.log(0.4)]),
    ("igaussian", lambda: glm("igaussian", link="log"), [0.3, 0.2, np.log(0.3)]),
    ("gaussian_log", lambda: glm("gaussian", link="log"), [1.0, 0.2, np.log(0.5)]),
    ("nbinomial_fixed", lambda: glm("nbinomial", alpha=0.5), [0.5, 0.4]),
    ("nbreg", lambda: get_family("nbreg"), [0.5, 0.4, np.log(0.6)]),
    ("nbreg1", lambda: get_family("nbreg1"), [0.5, 0.4, np.log(0.8)]),
    ("tpoisson", lambda: get_family("tpoisson"), [0.2, 0.5]),
    ("betareg", lambda: get_family("betareg"), [0.3, 0.6, np.log(8.0)]),
    ("tobit", lambda: Tobit(lower=0.0), [0.3, 1.0, np.log(1.2)]),
    ("tobit_both", lambda: Tobit(lower=-1.0, upper=1.5), [0.3, 1.0, np.log(1.0)]),
    ("truncreg", lambda: TruncatedRegression(lower=0.0), [0.5, 0.8, np.log(1.0)]),
    ("ologit", lambda: ologit(levels=[1, 2, 3]), [0.8, -0.5, 0.7]),
    ("oprobit", lambda: oprobit(levels=[1, 2, 3]), [0.6, -0.4, 0.5]),
    ("mlogit", lambda: MultinomialLogit(base=0, levels=[0, 1, 2]), [0.2, 0.5, -0.3, 0.9]),
]


def _design(rng, intercept: bool) -> np.ndarray:
    x = rng.normal(size=N)
    return np.column_stack([np.ones(N), x]) if intercept else x[:, None]


@pytest.mark.parametrize("name, make, params", CASES, ids=[c[0] for c in CASES])
def test_rvs_recovers_parameters(name, make, params):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    fam = make()
    X = _design(rng, fam.intercept)
    params = np.asarray(params, dtype=float)
    template = None
    if name == "binomial":
        trials = rng.integers(1, 8, size=N).astype(float)
        template = np.column_stack([np.zeros(N), trials])
    eta, anc = fam.indices(X, params)
    y = fam.rvs(eta, anc, rng, template)
    if name == "binomial":
        np.testing.assert_array_equal(y.sum(axis=1), template[:, 1])
    y = fam.check_endog(y, "y")
    c = np.ones(N)
    est = fam.fit_weighted(y, X, c, start=params)
    _, _, hess = fam.weighted_objective(y, X, c, est)
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    assert np.all(np.abs(est - params) < 5 * se), (est, params, se)


def test_pointmass_draws_its_value():
    fam = PointMass(value=2.0)
    y = fam.rvs(np.zeros((5, 0)), np.zeros(0), np.random.default_rng(0))
    np.testing.assert_array_equal(y, np.full(5, 2.0))


def test_family_without_rvs_names_itself():
    fam = IntervalRegression()
    with pytest.raises(NotImplementedError, match="family 'intreg' has no random draw"):
        fam.rvs(np.zeros((3, 1)), np.zeros(1), np.random.default_rng(0))


# ------------------------------------------- issue 16: families with data columns
# Each case: the family, its parameters (coefficients on (1, x), then ancillaries) and the observed rows
# a draw keeps (the class response's template: limits, censoring times, entry times), built from x.
def _survival_template(rng, x, entry: bool) -> np.ndarray:
    """Records followed from an entry time to an administrative censoring time; failures reported as observed."""
    t0 = rng.uniform(0.0, 0.5, N) * (rng.random(N) < 0.5) if entry else np.zeros(N)
    cens = t0 + rng.uniform(0.5, 4.0, N)
    return np.column_stack([cens, np.zeros(N), t0])


def _limits_template(rng, lower, upper) -> np.ndarray:
    lo = rng.choice(lower, N) if lower is not None else np.full(N, -np.inf)
    hi = rng.choice(upper, N) if upper is not None else np.full(N, np.inf)
    return np.column_stack([np.zeros(N), lo, hi])


COLUMN_CASES = [
    ("weibull_ph", lambda: Streg("weibull", failure="d"), [0.2, 0.5, np.log(1.4)], "survival"),
    ("weibull_aft_entry", lambda: Streg("weibull", "d", "t0", time=True), [0.1, 0.4, np.log(1.3)], "entry"),
    ("exponential", lambda: Streg("exponential", failure="d"), [-0.2, 0.6], "survival"),
    ("lognormal_entry", lambda: Streg("lognormal", "d", "t0"), [0.3, -0.4, np.log(0.8)], "entry"),
    ("loglogistic", lambda: Streg("loglogistic", failure="d"), [0.2, 0.5, np.log(0.5)], "survival"),
    ("gamma_entry", lambda: Streg("gamma", "d", "t0"), [0.1, 0.3, np.log(0.5)], "entry"),
    ("streg_uncensored", lambda: Streg("weibull"), [0.2, 0.5, np.log(1.2)], None),
    ("tobit_columns", lambda: Tobit(lower="lo", upper="hi"), [0.3, 1.0, np.log(1.0)], ((-0.8, 0.0), (1.5, np.inf))),
    ("truncreg_columns", lambda: TruncatedRegression(lower="lo"), [0.5, 0.8, np.log(1.0)], ((-0.5, 0.3), None)),
    ("tpoisson_columns", lambda: TruncatedPoisson(lower="lo"), [0.6, 0.4], "counts"),
    ("tpoisson_ll2", lambda: TruncatedPoisson(lower=2), [0.9, 0.3], None),
    ("betareg_probit", lambda: BetaRegression("probit"), [0.2, 0.4, np.log(10.0)], None),
    ("betareg_loglog", lambda: BetaRegression("loglog"), [0.3, 0.5, np.log(10.0)], None),
    ("ocloglog", lambda: ocloglog(levels=[1, 2, 3]), [0.6, -0.4, 0.5], None),
]


def _template(rng, x, spec):
    if spec == "survival" or spec == "entry":
        return _survival_template(rng, x, spec == "entry")
    if spec == "counts":
        return np.column_stack([np.zeros(N), rng.choice([-1.0, 0.0, 1.0], N)])
    if isinstance(spec, tuple):
        return _limits_template(rng, *spec)
    return None


@pytest.mark.parametrize("name, make, params, spec", COLUMN_CASES, ids=[c[0] for c in COLUMN_CASES])
def test_rvs_of_data_column_families_recovers_parameters(name, make, params, spec):
    """Draws in the class response's layout (limits, censoring, entry kept from the template) fit back."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    fam = make()
    X = _design(rng, fam.intercept)
    params = np.asarray(params, dtype=float)
    template = _template(rng, X[:, -1], spec)
    eta, anc = fam.indices(X, params)
    y = fam.rvs(eta, anc, rng, template)
    if template is not None and np.ndim(y) == 2:
        np.testing.assert_array_equal(y[:, 2:], template[:, 2:])  # entry times / upper limits kept
        if spec not in ("survival", "entry"):
            np.testing.assert_array_equal(y[:, 1], template[:, 1])  # lower limits kept
    if spec in ("survival", "entry"):
        t, d, t0 = y.T
        assert np.all(t > t0) and np.all(t <= template[:, 0]) and 0.1 < d.mean() < 0.95
        assert np.all(t[d == 0] == template[d == 0, 0])  # censored exactly at the record's censoring time
    y = fam.check_endog(y, "y")
    c = np.ones(N)
    est = fam.fit_weighted(y, X, c, start=params)
    _, _, hess = fam.weighted_objective(y, X, c, est)
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    assert np.all(np.abs(est - params) < 5 * se), (est, params, se)


def test_censoring_times_follow_the_censoring_distribution():
    """Failures get censoring times from the reverse Kaplan-Meier given C > t: their mean is the true one."""
    rng = np.random.default_rng(7)
    n = 4000
    t0 = np.where(rng.random(n) < 0.3, rng.uniform(0, 0.4, n), 0.0)
    cens = t0 + rng.uniform(0.2, 3.0, n)
    event = t0 + rng.exponential(1.0, n)  # memoryless: the event time after entry
    y = np.column_stack([np.minimum(event, cens), (event <= cens).astype(float), t0])
    drawn = censoring_times(y, rng)
    fail = y[:, 1] == 1
    np.testing.assert_array_equal(drawn[~fail], y[~fail, 0])
    assert np.all(drawn[fail] >= y[fail, 0])
    se = cens[fail].std() / np.sqrt(fail.sum())
    assert abs(drawn[fail].mean() - cens[fail].mean()) < 4 * se
    assert np.all(censoring_times(y, rng, observed=False) == np.inf)


def test_ivregress_has_no_draw_and_says_why():
    fam = IVRegress("x2 ~ z1")
    with pytest.raises(NotImplementedError, match="family 'ivregress' has no random draw.*'x2'"):
        fam.rvs(np.zeros((3, 2)), np.zeros(3), np.random.default_rng(0))
