"""Simulated mixtures: the estimator recovers the truth and its OIM SEs are calibrated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmmreg import FMM, fmm
from tests.simulate import simulate_poisson_mixture


def test_large_sample_recovers_true_parameters():
    df, truth = simulate_poisson_mixture(20_000, seed=123)
    res = fmm(3, "y ~ x", data=df, family="poisson", class_formula="~ z", random_state=0)
    assert res.converged
    truth = pd.Series(truth).reindex(res.params.index)
    z = (res.params - truth) / res.bse
    assert np.all(np.abs(z) < 3), z


def test_oim_standard_errors_match_sampling_variability():
    n_rep, n = 120, 2000
    estimates, ses = [], []
    rng = np.random.default_rng(2024)
    for _ in range(n_rep):
        df, truth = simulate_poisson_mixture(n, seed=int(rng.integers(2**31)))
        model = FMM(3, "y ~ x", data=df, family="poisson", class_formula="~ z")
        res = model.fit(start=pd.Series(truth), order="fit")
        assert res.converged
        estimates.append(res.params.to_numpy())
        ses.append(res.bse.to_numpy())
    ratio = np.std(estimates, axis=0, ddof=1) / np.mean(ses, axis=0)
    labels = res.params.index
    bad = {labels[i]: round(r, 3) for i, r in enumerate(ratio) if not 0.8 <= r <= 1.25}
    assert not bad, bad
    # and the estimator is centred on the truth (bias well inside the Monte Carlo error)
    truth_vec = pd.Series(truth).reindex(labels).to_numpy()
    mc_se = np.std(estimates, axis=0, ddof=1) / np.sqrt(n_rep)
    assert np.all(np.abs(np.mean(estimates, axis=0) - truth_vec) < 4 * mc_se + 0.02)


@pytest.mark.parametrize("seed", [0, 1])
def test_class_order_is_deterministic_and_by_mean(seed):
    df, _ = simulate_poisson_mixture(3000, seed=7)
    a = fmm(3, "y ~ x", data=df, family="poisson", class_formula="~ z", random_state=seed)
    b = fmm(3, "y ~ x", data=df, family="poisson", class_formula="~ z", random_state=seed + 10)
    np.testing.assert_allclose(a.params, b.params, atol=1e-6)
    means = [a.families[k].mean(a.lik.designs[k], a.lik.unpack(a.theta)[1][k]).mean() for k in range(3)]
    assert means == sorted(means)
