"""``ivregress`` components (Stata ``fmm: ivregress``), by maximum likelihood (issue 16).

The family contract: K = 1 equals an independent ML fit (the likelihood
factorised as ``f(x2) f(y | x2)`` with scipy.stats.norm, maximised by scipy);
log density equals scipy's bivariate normal; integer weights equal
replicated rows; analytic derivatives equal central differences. The
two-class reference (direct ML, many starts) is ``tests/fixtures/ivregress2``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fmmreg import FMM, FMMError, fmm
from fmmreg.families import IVRegress
from tests.family_contract import FamilyCase, FamilyContract
from tests.mixture_reference import FIXTURES, assert_matches_reference, load_reference, scipy_maximise

# the class design of "y ~ x1 + x2" with the instruments added: x1, x2, z1, z2, Intercept
STRUCT, FIRST = [0, 1, 4], [0, 2, 3, 4]


def sim_iv(rng, n):
    x1, z1, z2 = rng.normal(size=(3, n))
    u = rng.normal(size=n)
    v = 0.6 * u + 0.8 * rng.normal(size=n)
    x2 = 0.5 + 0.3 * x1 + 0.8 * z1 - 0.5 * z2 + v
    return pd.DataFrame({"y": 1.0 + 0.5 * x1 + 1.2 * x2 + u, "x1": x1, "x2": x2, "z1": z1, "z2": z2})


def _unpack(X, params):
    b, g = params[:3], params[3:7]
    s1, s2, r = np.exp(params[7]), np.exp(params[8]), np.tanh(params[9])
    return X[:, STRUCT] @ b, X[:, FIRST] @ g, s1, s2, r


def factorised_density(y, X, params):
    """``log f(x2) + log f(y | x2)``: the reference likelihood."""
    mu_y, mu_x, s1, s2, r = _unpack(X, params)
    v = y[:, 1] - mu_x
    return stats.norm.logpdf(y[:, 1], mu_x, s2) + stats.norm.logpdf(
        y[:, 0], mu_y + r * s1 / s2 * v, s1 * np.sqrt(1 - r * r)
    )


def bivariate_density(y, X, params):
    """scipy's bivariate normal, row by row."""
    mu_y, mu_x, s1, s2, r = _unpack(X, params)
    cov = [[s1 * s1, r * s1 * s2], [r * s1 * s2, s2 * s2]]
    return stats.multivariate_normal(mean=[0.0, 0.0], cov=cov).logpdf(np.column_stack([y[:, 0] - mu_y, y[:, 1] - mu_x]))


def _factorised_loglike(y, X, params) -> float:
    """The factorised likelihood in plain numpy (scipy.stats' per-call overhead dominates a maximisation)."""
    mu_y, mu_x, s1, s2, r = _unpack(X, params)
    v = y[:, 1] - mu_x
    sc = s1 * np.sqrt(1 - r * r)
    zy = (y[:, 0] - mu_y - r * s1 / s2 * v) / sc
    return float(np.sum(-0.5 * (v / s2) ** 2 - np.log(s2) - 0.5 * zy**2 - np.log(sc)) - len(v) * np.log(2 * np.pi))


_FITS: dict[bytes, tuple[np.ndarray, float]] = {}


def iv_reference(y, X):
    """Independent ML: scipy on the factorised likelihood, from OLS of each equation (computed once)."""
    key = y.tobytes() + X.tobytes()
    if key not in _FITS:
        b = np.linalg.lstsq(X[:, STRUCT], y[:, 0], rcond=None)[0]
        g = np.linalg.lstsq(X[:, FIRST], y[:, 1], rcond=None)[0]
        x0 = np.concatenate([b, g, [0.0, 0.0, 0.0]])
        params, llf = scipy_maximise(lambda t: _factorised_loglike(y, X, t), x0)
        assert llf == pytest.approx(float(factorised_density(y, X, params).sum()), abs=1e-9)
        _FITS[key] = (params, llf)
    return _FITS[key][0].copy(), _FITS[key][1]


CASES = [
    FamilyCase(
        "ivregress",
        lambda: IVRegress("x2 ~ z1 + z2"),
        sim_iv,
        iv_reference,
        bivariate_density,
        formula="y ~ x1 + x2",
    )
]


class TestIVRegressContract(FamilyContract):
    cases = CASES


def test_names_display_and_2sls_start():
    df = sim_iv(np.random.default_rng(0), 300)
    res = fmm(1, "y ~ x1 + x2", df, family=IVRegress("x2 ~ z1 + z2"))
    assert list(res.params.index.get_level_values("term")) == [
        "x1",
        "x2",
        "Intercept",
        "x2:x1",
        "x2:z1",
        "x2:z2",
        "x2:Intercept",
        "lnsigma",
        "lnsigma_x2",
        "athrho",
    ]
    text = str(res.summary())
    assert "var(e.y)" in text and "var(e.x2)" in text and "Model:    ivregress" in text
    # the endogeneity is real here: ML moves the x2 coefficient away from OLS, towards the truth 1.2
    ols = np.linalg.lstsq(np.column_stack([df["x1"], df["x2"], np.ones(len(df))]), df["y"], rcond=None)[0]
    assert abs(res.params[("1.y", "x2")] - 1.2) < abs(ols[1] - 1.2)


def test_bad_specifications_are_clear_errors():
    df = sim_iv(np.random.default_rng(1), 100)
    with pytest.raises(FMMError, match="'endog ~ instruments'"):
        IVRegress("x2")
    with pytest.raises(FMMError, match="no excluded instrument"):
        IVRegress("x2 ~ 1")
    with pytest.raises(FMMError, match="'x2' of IVRegress must be on the right-hand side"):
        FMM(1, "y ~ x1", df, family=IVRegress("x2 ~ z1"))
    with pytest.raises(ValueError, match="'z9'.*not found"):
        FMM(1, "y ~ x1 + x2", df, family=IVRegress("x2 ~ z9"))


def test_two_class_ivregress_reference():
    ref, df, expected = load_reference("ivregress2")
    res = fmm(2, "y ~ x1 + x2", df, family=IVRegress("x2 ~ z1 + z2"), class_formula="~ w")
    assert_matches_reference(res, ref, expected)
    # predictions on new data need the instruments and the endogenous regressor
    dens = res.predict(df.head(4), kind="density")
    np.testing.assert_allclose(dens.to_numpy(), res.predict(kind="density").to_numpy()[:4], rtol=1e-12)
    assert (FIXTURES / "ivregress2" / "make.py").exists()
