"""Numerical kernels agree with their plain numpy definitions."""

from __future__ import annotations

import numpy as np

from fmmreg.estimation.linalg import CROSS_BLOCK, logsumexp_rows, matmul_columns, solve_negdef, weighted_cross


def test_blocked_weighted_cross_equals_dense():
    rng = np.random.default_rng(0)
    n = 2 * CROSS_BLOCK + 1234  # forces the blocked path with a ragged last block
    a, b, c = rng.normal(size=(n, 4)), rng.normal(size=(n, 3)), rng.normal(size=n)
    np.testing.assert_allclose(weighted_cross(a, c, b), (a.T * c) @ b, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(weighted_cross(None, c, b), (b.T @ c)[None, :])
    np.testing.assert_allclose(weighted_cross(a, c, None), (a.T @ c)[:, None])
    assert weighted_cross(None, c, None)[0, 0] == np.sum(c)


def test_matmul_columns_and_logsumexp():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(500, 3)), rng.normal(size=(3, 2))
    out = matmul_columns(a, b.T.copy().T)  # a strided right operand too
    np.testing.assert_allclose(out, a @ b)
    assert out.flags.f_contiguous
    x = rng.normal(size=(200, 4)) * 300
    ref = np.log(np.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1)) + x.max(axis=1)
    np.testing.assert_allclose(logsumexp_rows(x), ref)
    x[0] = -np.inf
    assert logsumexp_rows(x)[0] == -np.inf


def test_solve_negdef_handles_indefinite_matrices():
    h = -np.array([[4.0, 1.0], [1.0, 3.0]])
    g = np.array([1.0, 2.0])
    x, pd = solve_negdef(h, g)
    assert pd
    np.testing.assert_allclose(x, np.linalg.solve(-h, g))
    x, pd = solve_negdef(np.diag([1.0, -2.0]), g)
    assert not pd and g @ x > 0  # still an ascent direction


def test_blocked_score_and_hessian_equal_the_dense_evaluation():
    import pandas as pd

    from fmmreg import FMM
    from fmmreg.estimation.mixture import HESSIAN_BLOCK

    rng = np.random.default_rng(3)
    n = 2 * HESSIAN_BLOCK + 777
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["y"] = rng.poisson(np.exp(0.5 + 0.3 * df["x"]))
    lik = FMM(2, "y ~ x", data=df, family="poisson", class_formula="~ z")._likelihood([0, 1])
    theta = rng.normal(scale=0.2, size=lik.n_params)
    ll, g, h = lik.score_hessian(theta)
    ll_d, g_d, h_d = lik._score_hessian_dense(theta, True)
    assert ll == np.float64(ll_d) or abs(ll - ll_d) < 1e-8 * abs(ll_d)
    np.testing.assert_allclose(g, g_d, rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(h, h_d, rtol=1e-9, atol=1e-7)
    # and the log-factorial cache serves row blocks of the response exactly
    from scipy.special import gammaln

    from fmmreg.families.base import log_factorial

    y = lik.y
    log_factorial(y)
    np.testing.assert_array_equal(log_factorial(y[100:200]), gammaln(y[100:200] + 1.0))
