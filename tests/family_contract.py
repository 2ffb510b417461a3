"""Shared harness of the component-family contract test (issue 4).

A family joins the contract with one :class:`FamilyCase` entry in
``tests/test_family_contract.py`` (or a module of its own): how to simulate
one-class data, the matching single-class fit by statsmodels/scipy, the
scipy.stats log density and a few impossible responses. A test module runs
the checks over its cases with
``class TestFamilyContract(FamilyContract): cases = CASES``. The checks below
are family-agnostic:

- ``check_k1``: ``fmm(1, ...)`` equals the reference fit (LL and params);
- ``check_logdensity``: ``loglike_obs`` equals the scipy.stats density;
- ``check_integer_weights``: integer weights equal replicated rows, for the
  weighted single-class fit and for a two-class mixture likelihood;
- ``check_derivatives``: the analytic score and Hessian of the weighted
  single-class objective and of a two-class mixture equal central
  differences;
- ``check_bad_response``: impossible ``y`` raises a ``ValueError`` naming
  the response and the family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fmmreg import FMM, fmm
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.families import ComponentFamily, get_family


@dataclass(frozen=True)
class FamilyCase:
    """One family in the contract test.

    Parameters
    ----------
    id : str
        Test id.
    family : str, statsmodels family or callable
        Anything ``fmm(family=...)`` accepts, or a zero-argument factory of
        a :class:`ComponentFamily` (a fresh instance per test).
    simulate : callable
        ``simulate(rng, n) -> DataFrame`` with the columns the formula uses.
    reference_fit : callable
        ``reference_fit(y, X) -> (params, llf)``: the one-class ML fit by
        statsmodels/scipy on fmmreg's arrays, params in fmmreg's layout
        (coefficients in the columns' order, then the ancillary ones).
    logdensity : callable
        ``logdensity(y, X, params) -> (n,)`` written with scipy.stats.
    bad : tuple of (column, value)
        Impossible responses: ``value`` put in the first row of ``column``.
    formula : str
        Component formula; the default uses ``x1`` and ``x2``.
    """

    id: str
    family: Any
    simulate: Callable[[np.random.Generator, int], pd.DataFrame]
    reference_fit: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, float]]
    logdensity: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    bad: tuple[tuple[str, float], ...] = ()
    formula: str = "y ~ x1 + x2"
    n: int = 300
    seed: int = 20240
    params_tol: float = 1e-5
    llf_tol: float = 1e-6

    def make_family(self) -> ComponentFamily:
        spec = self.family
        if callable(spec) and not isinstance(spec, ComponentFamily):
            spec = spec()
        return get_family(spec)

    def data(self) -> pd.DataFrame:
        return self.simulate(np.random.default_rng(self.seed), self.n)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, ComponentFamily]:
        """``(y, X, family)`` exactly as the engine sees them: the class response (with the
        family's data columns), the class design and the family after the model checked and bound it."""
        model = FMM(1, self.formula, self.data(), family=self.make_family())
        return model.y, model.design.designs[0], model.families[0]


def covariates(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """The covariates of the default formula: ``x1`` standard normal, ``x2`` uniform on (-1, 1)."""
    return pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.uniform(-1, 1, size=n)})


def _central_diff(f: Callable[[np.ndarray], Any], x: np.ndarray, rel: float = 1e-5) -> np.ndarray:
    """Central differences of a scalar or vector function, one column per coordinate."""
    cols = []
    for j in range(len(x)):
        h = rel * max(1.0, abs(x[j]))
        e = np.zeros_like(x)
        e[j] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2.0 * h))
    return np.array(cols).T


def mixture_central_diff(lik: MixtureLikelihood, theta: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Central differences with the absolute step ``eps`` of ``lik``'s log likelihood and of its analytic score.

    Returns ``(num_g, num_h)``, to compare with ``lik.score_hessian(theta)``.
    """
    eye = np.eye(len(theta))
    num_g = np.array([(lik.loglike(theta + eps * e) - lik.loglike(theta - eps * e)) / (2 * eps) for e in eye])
    num_h = np.array(
        [
            (
                lik.score_hessian(theta + eps * e, hessian=False)[1]
                - lik.score_hessian(theta - eps * e, hessian=False)[1]
            )
            / (2 * eps)
            for e in eye
        ]
    )
    return num_g, num_h


def _perturbed(params: np.ndarray, rng: np.random.Generator, scale: float = 0.05) -> np.ndarray:
    return params + scale * rng.standard_normal(len(params))


def check_k1(case: FamilyCase) -> None:
    """``fmm(1, ...)`` equals the single-class statsmodels/scipy fit."""
    df = case.data()
    res = fmm(1, case.formula, df, family=case.make_family())
    y, X = res.model.y, res.model.design.designs[0]
    ref_params, ref_llf = case.reference_fit(y, X)
    assert res.converged
    assert res.llf == pytest.approx(ref_llf, abs=case.llf_tol)
    np.testing.assert_allclose(res.params.to_numpy(), ref_params, atol=case.params_tol, rtol=0)


def check_logdensity(case: FamilyCase) -> None:
    """Per-observation log density equals scipy.stats at a point off the optimum."""
    y, X, fam = case.arrays()
    params, _ = case.reference_fit(y, X)
    params = _perturbed(params, np.random.default_rng(1))
    ours = fam.loglike_obs(y, X, params)
    assert ours.shape == (len(y),)
    np.testing.assert_allclose(ours, case.logdensity(y, X, params), rtol=1e-9, atol=1e-9)


def check_integer_weights(case: FamilyCase) -> None:
    """Integer weights equal replicated rows: single-class fit and mixture likelihood."""
    y, X, fam = case.arrays()
    rng = np.random.default_rng(2)
    w = rng.integers(0, 4, size=len(y)).astype(float)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    p_w = fam.fit_weighted(y, X, w)
    p_rep = fam.fit_weighted(y[rows], X[rows], np.ones(len(rows)))
    np.testing.assert_allclose(p_w, p_rep, atol=1e-8, rtol=0)
    q_w = fam.weighted_objective(y, X, w, p_w, order=0)[0]
    assert q_w == pytest.approx(float(fam.loglike_obs(y[rows], X[rows], p_w).sum()), abs=1e-8)

    theta = _two_class_theta(fam, p_w, rng)
    Z = np.ones((len(y), 1))
    lik_w = MixtureLikelihood(y, [X, X], Z, [fam, fam], w)
    lik_rep = MixtureLikelihood(y[rows], [X[rows], X[rows]], Z[rows], [fam, fam])
    ll_w, g_w, h_w = lik_w.score_hessian(theta)
    ll_r, g_r, h_r = lik_rep.score_hessian(theta)
    assert ll_w == pytest.approx(ll_r, abs=1e-8)
    np.testing.assert_allclose(g_w, g_r, atol=1e-7 * (1 + np.abs(g_r).max()))
    np.testing.assert_allclose(h_w, h_r, atol=1e-7 * (1 + np.abs(h_r).max()))


def _two_class_theta(fam: ComponentFamily, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A two-class point: membership logit 0.3, two perturbed copies of ``params``."""
    return np.concatenate([[0.3], _perturbed(params, rng, 0.1), _perturbed(params, rng, 0.1)])


def check_derivatives(case: FamilyCase) -> None:
    """Analytic score/Hessian equal central differences (one class and a two-class mixture)."""
    y, X, fam = case.arrays()
    rng = np.random.default_rng(3)
    params, _ = case.reference_fit(y, X)
    params = _perturbed(params, rng)
    c = rng.uniform(0.2, 2.0, size=len(y))

    _, grad, hess = fam.weighted_objective(y, X, c, params)
    num_grad = _central_diff(lambda t: fam.weighted_objective(y, X, c, t, order=0)[0], params)
    num_hess = _central_diff(lambda t: fam.weighted_objective(y, X, c, t, order=1)[1], params)
    scale = 1.0 + np.abs(grad).max()
    np.testing.assert_allclose(grad, num_grad, atol=1e-6 * scale, rtol=0)
    np.testing.assert_allclose(hess, num_hess, atol=1e-6 * (1.0 + np.abs(hess).max()), rtol=0)
    np.testing.assert_allclose(fam.score_obs(y, X, params).T @ c, grad, atol=1e-8 * scale, rtol=0)

    lik = MixtureLikelihood(y, [X, X], np.ones((len(y), 1)), [fam, fam], c)
    theta = _two_class_theta(fam, params, rng)
    _, g, h = lik.score_hessian(theta)
    num_g = _central_diff(lik.loglike, theta)
    num_h = _central_diff(lambda t: lik.score_hessian(t, hessian=False)[1], theta)
    np.testing.assert_allclose(g, num_g, atol=1e-6 * (1.0 + np.abs(g).max()), rtol=0)
    np.testing.assert_allclose(h, num_h, atol=1e-6 * (1.0 + np.abs(h).max()), rtol=0)


def check_bad_response(case: FamilyCase) -> None:
    """Impossible responses raise a ValueError naming the response and the family."""
    if not case.bad:
        pytest.skip(f"{case.id}: every finite response is possible")
    fam = case.make_family()
    good = case.data()
    yname = FMM(1, case.formula, good, family=fam).design.yname
    for column, value in case.bad:
        df = good.copy()
        df[column] = df[column].astype(float)
        df.loc[df.index[0], column] = value
        with pytest.raises(ValueError) as err:
            FMM(1, case.formula, df, family=case.make_family())
        msg = str(err.value)
        assert yname in msg and fam.name in msg, msg


class FamilyContract:
    """The contract tests over ``cases``; a test module subclasses it with its own list.

    ``class TestFamilyContract(FamilyContract): cases = CASES`` runs every
    check once per case, with the case's id as the test id.
    """

    cases: list[FamilyCase] = []

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        metafunc.parametrize("case", self.cases, ids=[c.id for c in self.cases])

    def test_k1_equals_single_class_reference(self, case):
        check_k1(case)

    def test_logdensity_equals_scipy(self, case):
        check_logdensity(case)

    def test_integer_weights_equal_replicated_rows(self, case):
        check_integer_weights(case)

    def test_analytic_derivatives_equal_numerical(self, case):
        check_derivatives(case)

    def test_impossible_response_is_a_clear_error(self, case):
        check_bad_response(case)
