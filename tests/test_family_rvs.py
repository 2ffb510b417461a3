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
from fmmreg.families.glm import glm
from fmmreg.families.intreg import IntervalRegression
from fmmreg.families.mlogit import MultinomialLogit
from fmmreg.families.ordinal import ologit, oprobit
from fmmreg.families.pointmass import PointMass
from fmmreg.families.tobit import Tobit
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
