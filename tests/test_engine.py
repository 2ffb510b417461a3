"""Properties of the estimation engine: monotone EM, exact derivatives, engines agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.optimize import approx_fprime

from fmmreg import FMM
from fmmreg.estimation.engine import FitTrace, fit_from, run_em, theta_from_posterior
from fmmreg.estimation.membership import Membership
from fmmreg.families import get_family


def _mixture_data(family: str, n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    cls = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.8 * z)))).astype(int)
    eta = np.where(cls == 1, 1.0 + 0.5 * x, -0.5 - 0.7 * x)
    if family == "gaussian":
        y = eta + rng.normal(scale=np.where(cls == 1, 0.5, 1.0))
    elif family == "poisson":
        y = rng.poisson(np.exp(eta))
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-3 * eta))).astype(int)
    return pd.DataFrame({"y": y, "x": x, "z": z})


def _likelihood(family: str, k: int = 2, seed: int = 1):
    df = _mixture_data(family, seed=seed)
    model = FMM(k, "y ~ x", data=df, family=family, class_formula="~ z")
    return model, model._likelihood(list(range(k)))


@pytest.mark.parametrize("engine", ["fast", "statsmodels"])
@pytest.mark.parametrize("family", ["gaussian", "poisson", "logit"])
def test_em_log_likelihood_never_decreases(family, engine):
    _, lik = _likelihood(family, k=3)
    rng = np.random.default_rng(5)
    tau = rng.dirichlet(np.ones(3), size=lik.n)
    theta = theta_from_posterior(lik, tau)
    trace = FitTrace()
    run_em(lik, theta, maxiter=60 if engine == "fast" else 15, tol=0.0, engine=engine, trace=trace)
    ll = np.asarray(trace.em_llf)
    assert len(ll) >= 10
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:])), np.diff(ll).min()
    assert ll[-1] > ll[0]


@pytest.mark.parametrize("family", ["gaussian", "poisson", "logit"])
def test_analytic_score_and_hessian_match_numerical(family):
    _, lik = _likelihood(family, k=3)
    rng = np.random.default_rng(11)
    theta = rng.normal(scale=0.3, size=lik.n_params)
    ll, grad, hess = lik.score_hessian(theta)
    assert ll == pytest.approx(lik.loglike(theta), rel=1e-12)
    num_grad = approx_fprime(theta, lik.loglike, 1e-6)
    np.testing.assert_allclose(grad, num_grad, rtol=1e-4, atol=1e-4 * np.abs(grad).max())
    num_hess = np.array(
        [
            approx_fprime(theta, lambda t, i=i: lik.score_hessian(t, hessian=False)[1][i], 1e-6)
            for i in range(len(theta))
        ]
    )
    np.testing.assert_allclose(hess, num_hess, rtol=1e-4, atol=1e-4 * np.abs(hess).max())
    # per-observation scores add up to the score
    np.testing.assert_allclose(lik.score_obs(theta).T @ lik.w, grad, rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("family", ["gaussian", "poisson", "logit"])
def test_both_mstep_engines_reach_the_same_mle(family):
    model, lik = _likelihood(family)
    theta0 = theta_from_posterior(lik, np.random.default_rng(2).dirichlet(np.ones(2), size=lik.n))
    fast, ll_fast, tr_fast = fit_from(lik, theta0, engine="fast")
    slow, ll_slow, tr_slow = fit_from(lik, theta0, engine="statsmodels")
    assert tr_fast.converged and tr_slow.converged
    # the same start may reach the same maximum with classes in the same order
    np.testing.assert_allclose(fast, slow, atol=1e-6)
    assert ll_fast == pytest.approx(ll_slow, abs=1e-8)
    # and through the public API
    a = model.fit(engine="fast", draws=4, max_draws=4, random_state=3)
    b = model.fit(engine="statsmodels", draws=4, max_draws=4, random_state=3)
    np.testing.assert_allclose(a.params, b.params, atol=1e-6)


def test_soft_label_multinomial_logit_equals_mnlogit_on_hard_labels():
    rng = np.random.default_rng(3)
    n = 800
    Z = np.column_stack([rng.normal(size=n), rng.uniform(size=n), np.ones(n)])
    eta = np.column_stack([np.zeros(n), Z @ [0.5, -1.0, 0.2], Z @ [-0.7, 0.8, -0.3]])
    p = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    labels = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    tau = np.eye(3)[labels]
    mem = Membership(Z, 3)
    gamma = mem.fit(tau, np.ones(n))
    ref = sm.MNLogit(labels, Z).fit(disp=0, method="newton", tol=1e-12)
    np.testing.assert_allclose(gamma, np.asarray(ref.params), atol=1e-7)


def test_constant_shares_closed_form_is_the_maximiser():
    rng = np.random.default_rng(4)
    tau = rng.dirichlet([1, 2, 3], size=500)
    mem = Membership(np.ones((500, 1)), 3)
    gamma = mem.mstep(tau, np.ones(500), np.zeros((1, 2)))
    shares = np.exp(mem.log_prior(gamma)[0])
    np.testing.assert_allclose(shares, tau.mean(axis=0), rtol=1e-12)


def test_mixture_loglike_is_logsumexp_of_weighted_densities():
    """Direct evaluation with scipy densities, independent of the engine."""
    from scipy import stats

    _, lik = _likelihood("poisson", k=2)
    theta = np.array([0.1, -0.2, 0.3, 0.5, -0.4, 1.1])
    gamma, comps = lik.unpack(theta)
    Z, X, y = lik.membership.Z, lik.designs[0], lik.y
    pi2 = 1 / (1 + np.exp(-(Z @ gamma[:, 0])))
    dens = (1 - pi2) * stats.poisson.pmf(y, np.exp(X @ comps[0])) + pi2 * stats.poisson.pmf(y, np.exp(X @ comps[1]))
    assert lik.loglike(theta) == pytest.approx(np.log(dens).sum(), rel=1e-12)


def test_family_registry_accepts_statsmodels_instances():
    fam = get_family(sm.families.Poisson())
    assert fam.stata_model == "poisson"
    with pytest.raises(ValueError, match="unknown family"):
        get_family("poison")


@pytest.mark.parametrize("family", ["gaussian", "poisson"])
def test_fit_large_reaches_the_maximum_fit_from_reaches(family):
    """The subsample ladder of ``fit_large`` changes the path to the full-data maximum, not the maximum."""
    from fmmreg.estimation import engine

    df = pd.concat([_mixture_data(family, seed=s) for s in range(1, 11)], ignore_index=True)  # 6,000 rows

    lik = FMM(2, "y ~ x", data=df, family=family, class_formula="~ z")._likelihood([0, 1])
    rng = np.random.default_rng(8)
    sub = lik.subset(lik.sample_rows(200, rng))
    theta_sub, _, trace_sub = fit_from(sub, theta_from_posterior(sub, rng.dirichlet(np.ones(2), size=sub.n)))
    assert trace_sub.converged
    # a rung of 632 rows (2,000 would be above a third of the rows), then all rows
    rungs = []
    polish = engine.newton_polish
    engine_polish = lambda lik_, *a, **k: rungs.append(lik_.n) or polish(lik_, *a, **k)  # noqa: E731
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "newton_polish", engine_polish)
        mp.setattr(engine, "LADDER_FACTOR", 10**0.5)
        mp.setattr(engine, "LADDER_TOP", 1 / 3)
        theta, ll, trace = engine.fit_large(lik, theta_sub, rng, sub.n)
    assert rungs == [632, lik.n]
    ref, ll_ref, trace_ref = fit_from(lik, theta_sub)
    assert trace.converged and trace_ref.converged and not trace.em_llf
    assert ll == pytest.approx(ll_ref, rel=1e-12)
    np.testing.assert_allclose(theta, ref, atol=1e-6)
    # the exact score and Hessian at the returned point, for the OIM
    _, grad, hess = lik.score_hessian(theta)
    np.testing.assert_allclose(trace.final[3], hess, rtol=1e-10)
    assert np.all(np.isfinite(grad))


def test_fit_large_first_step_reads_the_rung_hessian():
    """All rows: one score pass with the top rung's scaled Hessian replaces the first full Hessian.

    A step that does not ascend is dropped and Newton starts where it was.
    """
    from fmmreg.estimation import engine

    df = pd.concat([_mixture_data("poisson", seed=s) for s in range(1, 11)], ignore_index=True)
    lik = FMM(2, "y ~ x", data=df, family="poisson", class_formula="~ z")._likelihood([0, 1])
    rng = np.random.default_rng(8)
    sub = lik.subset(lik.sample_rows(200, rng))
    theta_sub, _, _ = fit_from(sub, theta_from_posterior(sub, rng.dirichlet(np.ones(2), size=sub.n)))
    calls = []
    score_hessian = type(lik).score_hessian

    def counted(self, theta, hessian=True):
        if self.n == lik.n:
            calls.append(hessian)
        return score_hessian(self, theta, hessian)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(lik), "score_hessian", counted)
        mp.setattr(engine, "LADDER_FACTOR", 10**0.5)
        mp.setattr(engine, "LADDER_TOP", 1 / 3)
        theta, ll, trace = engine.fit_large(lik, theta_sub, rng, sub.n)
    ref, ll_ref, _ = fit_from(lik, theta_sub)
    assert trace.converged and ll == pytest.approx(ll_ref, rel=1e-12)
    np.testing.assert_allclose(theta, ref, atol=1e-6)
    assert calls[0] is False and all(calls[1:])  # a score pass first, then exact Newton
    # the step with the true Hessian ascends and hands over its score and Hessian
    ll0, grad0, hess0 = lik.score_hessian(theta_sub)
    state, moved = engine._rung_step(lik, theta_sub, hess0, engine.FitTrace())
    assert state is not None and state[0] >= ll0
    np.testing.assert_allclose(state[2], lik.score_hessian(moved)[2], rtol=1e-12)
    # a Hessian a thousand times too flat overshoots: no step
    state, kept = engine._rung_step(lik, theta_sub, hess0 / 1000.0, engine.FitTrace())
    assert state is None and kept is theta_sub


def test_class_means_by_row_chunks_equal_one_pass_with_offsets_and_weights():
    """The class means of the default order, by row chunks in threads (large data), equal one pass."""
    from fmmreg.estimation import mixture
    from fmmreg.estimation.relabel import class_means

    df = _mixture_data("poisson", n=1000, seed=3)
    df["t"] = np.random.default_rng(4).uniform(0.5, 2.0, size=len(df))
    df["w"] = np.random.default_rng(5).integers(1, 4, size=len(df))
    model = FMM(3, "y ~ x", data=df, family="poisson", class_formula="~ z", exposure="t", weights="w")
    lik = model._likelihood([0, 1, 2])
    rng = np.random.default_rng(6)
    theta = theta_from_posterior(lik, rng.dirichlet(np.ones(3), size=lik.n))
    _, comps = lik.unpack(theta)
    one_pass = np.array([lik.w @ f.mean(X, th) for f, X, th in zip(lik.families, lik.designs, comps)]) / lik.w.sum()
    assert not lik._chunked()
    np.testing.assert_allclose(class_means(lik, theta), one_pass, rtol=1e-14)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mixture, "HESSIAN_BLOCK", 128)  # 1,000 rows in 8 chunks
        assert lik._chunked()
        np.testing.assert_allclose(class_means(lik, theta), one_pass, rtol=1e-12)
    # the exposure enters the means: without it they differ
    plain = FMM(3, "y ~ x", data=df, family="poisson", class_formula="~ z", weights="w")._likelihood([0, 1, 2])
    assert not np.allclose(class_means(plain, theta), one_pass, rtol=1e-3)


def test_canonical_order_sorts_by_class_mean_and_breaks_ties_by_share():
    from fmmreg.estimation.relabel import canonical_order

    _, lik = _likelihood("poisson", k=3)
    const = int(np.flatnonzero(lik.membership.Z.std(axis=0) == 0)[0])  # the intercept's row of gamma
    gamma = np.zeros((lik.membership.q, 2))
    gamma[const] = [0.5, -0.4]  # shares: class 2 largest, class 3 smallest
    a, b = np.array([1.0, 0.5]), np.array([0.2, -0.3])
    # means: class 1 (a) above class 2 (b); classes 1 and 3 tie
    assert canonical_order(lik, lik.pack(gamma, [a, b, a])) == [1, 0, 2]
    gamma[const] = [0.5, 0.9]  # now class 3 has the larger share of the tie
    assert canonical_order(lik, lik.pack(gamma, [a, b, a])) == [1, 2, 0]
    assert canonical_order(lik, lik.pack(gamma, [b, a, a + [0.1, 0.0]])) == [0, 1, 2]
