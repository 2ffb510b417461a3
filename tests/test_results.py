"""Results object: statsmodels names, relabelling, summary layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fmmreg import fmm
from tests.simulate import simulate_poisson_mixture


@pytest.fixture(scope="module")
def res():
    df, _ = simulate_poisson_mixture(3000, seed=5)
    return fmm(3, "y ~ x", data=df, family="poisson", class_formula="~ z")


def test_statsmodels_attribute_names(res):
    p = res.params
    assert isinstance(p.index, pd.MultiIndex) and p.index.names == ["equation", "term"]
    assert list(p.index.get_level_values(0).unique()) == ["2.Class", "3.Class", "1.y", "2.y", "3.y"]
    np.testing.assert_allclose(res.tvalues, p / res.bse)
    np.testing.assert_allclose(res.pvalues, 2 * stats.norm.sf(np.abs(p / res.bse)))
    ci = res.conf_int(0.1)
    np.testing.assert_allclose(ci[1] - ci[0], 2 * stats.norm.ppf(0.95) * res.bse)
    cov = res.cov_params()
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), res.bse)
    assert res.aic == pytest.approx(-2 * res.llf + 2 * len(p))
    assert res.bic == pytest.approx(-2 * res.llf + len(p) * np.log(3000))
    assert res.df_model == len(p) == 10
    assert res.n_iter > 0 and res.converged


def test_posterior_prior_and_shares(res):
    post, prior = res.posterior, res.prior
    assert post.shape == prior.shape == (3000, 3)
    assert list(post.columns) == [1, 2, 3]
    np.testing.assert_allclose(post.sum(axis=1), 1)
    np.testing.assert_allclose(res.class_shares, prior.mean())
    # at the MLE the average posterior equals the average prior (membership score = 0)
    np.testing.assert_allclose(post.mean(), prior.mean(), atol=1e-7)


def test_start_llfs_record_every_start(res):
    llfs = res.start_llfs
    assert len(llfs) == len(res.starts) and llfs.notna().all()
    assert llfs.max() == pytest.approx(res.llf)
    # the search stops once the best maximum is reached from `replicate` (2) distinct starts
    assert res.starts["refined"].sum() >= 2 and res.n_replicated >= 2


def test_relabel_permutes_and_rebases(res):
    new = res.relabel([3, 1, 2])
    assert new.llf == pytest.approx(res.llf, abs=1e-9)
    np.testing.assert_allclose(new.params.loc["1.y"], res.params.loc["3.y"])
    np.testing.assert_allclose(new.posterior.to_numpy(), res.posterior[[3, 1, 2]].to_numpy(), atol=1e-10)
    # membership re-based on the new class 1 (old class 3)
    g = res.params
    np.testing.assert_allclose(new.params.loc["2.Class"], -g.loc["3.Class"], atol=1e-10)
    np.testing.assert_allclose(new.params.loc["3.Class"], g.loc["2.Class"] - g.loc["3.Class"], atol=1e-10)
    # unchanged classes keep their standard errors
    np.testing.assert_allclose(new.bse.loc["1.y"], res.bse.loc["3.y"], rtol=1e-6)
    back = new.relabel([2, 3, 1])
    np.testing.assert_allclose(back.params, res.params, atol=1e-10)
    with pytest.raises(ValueError, match="permutation"):
        res.relabel([1, 1, 2])


def test_summary_layout(res):
    text = res.summary().as_text()
    lines = text.splitlines()
    assert lines[0].startswith("Finite mixture model") and lines[0].endswith("3,000")
    assert lines[1].startswith("Log likelihood = ")
    assert "1.Class      |  (base outcome)" in text
    assert text.index("2.Class") < text.index("Class:    1")
    for k in (1, 2, 3):
        assert f"Class:    {k}\nResponse: y\nModel:    poisson" in text
    head = "             | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]"
    assert head in lines
    assert all(len(line) <= 80 for line in lines if "|" in line)
    html = res._repr_html_()
    assert '<table class="fmmreg-table fmmreg-coef">' in html and "(base outcome)" in html


def test_gaussian_variance_row_is_delta_method():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=500)})
    df["y"] = 1 + df["x"] + rng.normal(scale=2.0, size=500)
    r = fmm(1, "y ~ x", data=df)
    lns, se = r.params[("1.y", "lnsigma")], r.bse[("1.y", "lnsigma")]
    row = next(line for line in r.summary().as_text().splitlines() if line.startswith("var(e.y)"))
    values = [float(v) for v in row.split("|")[1].split()]
    assert values[0] == pytest.approx(np.exp(2 * lns), rel=1e-6)
    assert values[1] == pytest.approx(2 * np.exp(2 * lns) * se, rel=1e-5)
    assert values[2] == pytest.approx(np.exp(2 * (lns - 1.959964 * se)), rel=1e-5)
    assert len(values) == 4  # no z and P for the variance, as Stata


def test_progress_option_changes_nothing_but_the_display(capsys):
    df, _ = simulate_poisson_mixture(800, seed=9)
    quiet = fmm(2, "y ~ x", data=df, family="poisson", draws=5, max_draws=5)
    shown = fmm(2, "y ~ x", data=df, family="poisson", draws=5, max_draws=5, progress=True)
    np.testing.assert_allclose(quiet.params, shown.params)
    pytest.importorskip("tqdm")
    assert "starts" in capsys.readouterr().err


def test_oim_handed_over_by_the_fit_equals_a_fresh_computation(res):
    """The fit reuses its last Hessian, mapped through the relabelling."""
    ll, grad, hess = res.lik.score_hessian(res.theta)
    assert ll == pytest.approx(res.llf, abs=1e-9)
    np.testing.assert_allclose(res.hessian, hess, rtol=1e-7, atol=1e-8 * np.abs(hess).max())
    np.testing.assert_allclose(res.score, grad, atol=1e-6)


def test_oim_mapping_through_an_explicit_relabelling():
    df, _ = simulate_poisson_mixture(1500, seed=21)
    r = fmm(3, "y ~ x", data=df, family="poisson", class_formula="~ z", order=[3, 1, 2], draws=6, max_draws=6)
    assert r.trace.final is not None
    ll, grad, hess = r.lik.score_hessian(r.theta)
    np.testing.assert_allclose(r.hessian, hess, rtol=1e-7, atol=1e-8 * np.abs(hess).max())


def test_posterior_and_prior_are_computed_once_and_handed_out_as_copies(res):
    post = res.posterior
    post.iloc[0, 0] = -1.0  # the user's frame is theirs to change
    assert res.posterior.iloc[0, 0] >= 0
    assert res.posterior_array is res.posterior_array  # cached, not recomputed
    with pytest.raises(ValueError):
        res.prior_array[0, 0] = 0.0
    _, tau, _ = res.lik.estep(res.theta)
    np.testing.assert_allclose(res.posterior_array, tau)
