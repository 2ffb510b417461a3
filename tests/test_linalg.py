"""Numerical kernels agree with their plain numpy definitions."""

from __future__ import annotations

import numpy as np
import pytest

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


@pytest.mark.parametrize("cache", [True, False])
def test_pair_crosses_equal_the_weighted_cross_products(cache, monkeypatch):
    from fmmreg.estimation import linalg

    if not cache:  # the Khatri-Rao products built block by block, never kept
        monkeypatch.setattr(linalg, "KR_CACHE_DOUBLES", 0)
    rng = np.random.default_rng(4)
    n = linalg.PAIR_BLOCK + 321  # a ragged last block
    Z = rng.normal(size=(n, 2))  # row-major
    X = np.asfortranarray(rng.normal(size=(n, 3)))  # column-major, as the formula layer makes them
    designs = [Z, X, None]
    pairs = [(0, 0), (0, 1), (1, 1), (1, 1), (0, 2), (1, 2), (2, 2)]
    plan = linalg.PairCrosses(designs, pairs)
    assert (plan._kr is not None) == cache
    for _ in range(2):  # the second call reuses the kept products (new weights, same designs)
        c = np.asfortranarray(rng.normal(size=(n, len(pairs))))
        got = plan(c)
        for r, (a, b) in enumerate(pairs):
            want = weighted_cross(designs[a], c[:, plan.slot[r]], designs[b])
            np.testing.assert_allclose(got[r], want, rtol=1e-11, atol=1e-9)


def _louis_reference(lik, theta):
    """The observed information block by block from the documented index weights (``_index_hessian``)."""
    ll, tau, pi, d1s, d2s = lik._index_scores(theta)
    h = np.empty((lik.n_params, lik.n_params))
    for a, p in enumerate(lik._indices):
        for q in lik._indices[a:]:
            blk = weighted_cross(p.design, lik.w * lik._index_hessian(p, q, tau, pi, d1s, d2s), q.design)
            h[p.sl, q.sl] = blk
            h[q.sl, p.sl] = blk.T
    return h


def test_fast_observed_information_equals_the_pairwise_louis_formula():
    import pandas as pd

    from fmmreg import FMM

    rng = np.random.default_rng(5)
    n = 900
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "w": rng.uniform(0.5, 2.0, n)})
    df["y"] = 1.0 + df["x"] + rng.normal(size=n) * np.where(rng.random(n) < 0.4, 0.5, 2.0)
    # three classes with a class formula (membership pairs), two indices per class (mean and
    # lnsigma on the constant design) and weights: every kind of index pair
    lik = FMM(3, "y ~ x", data=df, family="gaussian", class_formula="~ z", iweights="w")._likelihood([0, 1, 2])
    theta = rng.normal(scale=0.3, size=lik.n_params)
    _, _, h = lik.score_hessian(theta)
    np.testing.assert_allclose(h, _louis_reference(lik, theta), rtol=1e-10, atol=1e-8)


def test_row_chunks_and_threads_give_the_unchunked_values(monkeypatch):
    import pandas as pd

    from fmmreg import FMM
    from fmmreg.estimation import linalg, mixture

    rng = np.random.default_rng(6)
    n = 5000
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["y"] = rng.poisson(np.exp(0.3 + 0.5 * df["x"]))
    lik = FMM(3, "y ~ x", data=df, family="poisson", class_formula="~ z")._likelihood([0, 1, 2])
    theta = rng.normal(scale=0.2, size=lik.n_params)
    dense = lik.score_hessian(theta), lik.estep(theta)
    gamma, comps = lik.unpack(theta)
    eta, anc = lik.families[0].indices(lik.designs[0], comps[0])
    derivs = lik.families[0].derivatives_by_rows(lik.y, eta, anc, order=2)
    prior = lik.membership.prior(gamma)
    monkeypatch.setattr(mixture, "HESSIAN_BLOCK", 700)
    monkeypatch.setattr(linalg, "ROW_CHUNK", 300)
    monkeypatch.setattr(linalg, "THREADS", 2)
    from fmmreg.estimation import membership
    from fmmreg.families import base

    monkeypatch.setattr(membership, "ROW_CHUNK", 300)
    monkeypatch.setattr(base, "ROW_CHUNK", 300)
    (ll, g, h), (ll_e, tau, ll_obs) = lik.score_hessian(theta), lik.estep(theta)
    assert abs(ll - dense[0][0]) < 1e-9 * abs(ll) and abs(ll_e - dense[1][0]) < 1e-9 * abs(ll)
    np.testing.assert_allclose(g, dense[0][1], rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(h, dense[0][2], rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(tau, dense[1][1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ll_obs, dense[1][2], rtol=1e-12)
    for got, want in zip(lik.families[0].derivatives_by_rows(lik.y, eta, anc, order=2), derivs):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(lik.membership.prior(gamma), prior):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


def test_full_column_rank_agrees_with_matrix_rank():
    from fmmreg.estimation.linalg import full_column_rank

    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 4))
    assert full_column_rank(X) and full_column_rank(np.asfortranarray(X))
    X[:, 3] = X[:, 0] - 2.0 * X[:, 1]  # exactly collinear
    assert not full_column_rank(X)
    X[:, 3] += 1e-9 * rng.normal(size=400)  # nearly collinear: the SVD decides, as before
    assert full_column_rank(X) == (np.linalg.matrix_rank(X) == 4)
    assert not full_column_rank(np.zeros((10, 2)))


def test_row_chunk_threads_keep_the_callers_errstate(monkeypatch):
    import warnings

    from fmmreg.estimation import linalg

    monkeypatch.setattr(linalg, "THREADS", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="ignore"):
            out = linalg.map_rows(lambda rows: np.log(np.zeros(rows.stop - rows.start)), 10, size=2)
    assert len(out) == 5 and all(np.all(o == -np.inf) for o in out)


def test_weighted_gram_equals_the_weighted_cross_product_and_follows_its_design():
    from fmmreg.estimation import linalg

    rng = np.random.default_rng(9)
    for layout in ("C", "F"):
        x = np.asarray(rng.normal(size=(500, 4)), order=layout)
        for _ in range(2):  # the second call reads the kept products
            c = rng.uniform(size=500)
            np.testing.assert_allclose(linalg.weighted_gram(x, c), weighted_cross(x, c, x), rtol=1e-12)
        assert id(x) in linalg._GRAMS
        key = id(x)
        del x  # the kept products go with their design: a new array with the same id is not confused
        assert key not in linalg._GRAMS
        y = np.asarray(rng.normal(size=(500, 4)), order=layout)
        c = rng.uniform(size=500)
        np.testing.assert_allclose(linalg.weighted_gram(y, c), weighted_cross(y, c, y), rtol=1e-12)
    # a design too large to keep is multiplied directly
    big = np.ones((linalg.KR_CACHE_DOUBLES // 3 + 1, 2))
    assert linalg.weighted_gram(big, np.ones(len(big)))[0, 0] == len(big) and id(big) not in linalg._GRAMS
