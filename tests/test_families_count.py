"""Count families beyond the contract (issue 4, part A): NB2/NB1 at the Poisson boundary, tpoisson.

A mixture class of an NB family often has (almost) no overdispersion: its
dispersion then heads to zero. The log density and derivatives must stay
exact there, or the optimiser "finds" likelihood that is rounding error.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest
from scipy import stats

from fmmreg import get_family
from fmmreg.families.nbreg import digamma_ratio, lgamma_ratio, trigamma_diff_r2


def _exact(y: int, r: float) -> tuple[float, float, float]:
    """The three gamma-function differences for integer ``y`` by finite sums (50-digit where needed)."""
    getcontext().prec = 50
    lg = math.fsum(math.log1p(j / r) for j in range(y))  # lgamma(y + r) - lgamma(r) - y log r
    big_r = Decimal(r)
    psi_diff = sum((Decimal(1) / (big_r + j) for j in range(y)), Decimal(0))  # psi(y + r) - psi(r)
    dh = float(psi_diff - (Decimal(1) + Decimal(y) / big_r).ln())
    tg = -math.fsum((r / (r + j)) ** 2 for j in range(y))  # r^2 (psi'(y + r) - psi'(r))
    return lg, dh, tg


@pytest.mark.parametrize("r", [0.3, 2.0, 50.0, 9.9e3, 1.01e4, 1e5, 1e8, 1e12, 1e20])
def test_gamma_function_differences_are_accurate(r):
    y = np.array([0.0, 1.0, 3.0, 17.0, 250.0])
    got = np.column_stack([lgamma_ratio(y, r), digamma_ratio(y, r), trigamma_diff_r2(y, r)])
    want = np.array([_exact(int(v), r) for v in y])
    # as they enter the NB2 derivatives: D and r^2 dpsi' absolutely, dH multiplied by r
    np.testing.assert_allclose(got[:, 0], want[:, 0], atol=1e-10, rtol=0)
    np.testing.assert_allclose(got[:, 1] * r, want[:, 1] * r, atol=1e-10, rtol=0)
    np.testing.assert_allclose(got[:, 2], want[:, 2], atol=1e-10, rtol=0)
    # the same with an array of sizes (NB1's m varies by observation), straddling the switch
    sizes = np.full(len(y), r)
    np.testing.assert_allclose(lgamma_ratio(y, sizes), got[:, 0], rtol=0, atol=0)


@pytest.mark.parametrize(("name", "term"), [("nbreg", "lnalpha"), ("nbreg1", "lndelta")])
@pytest.mark.parametrize("lndisp", [-30.0, -60.0, -800.0])
def test_nb_tends_to_poisson(name, term, lndisp):
    """At dispersion <= e^-30 the NB log density is the Poisson one to ~1e-10 (and must be computed so)."""
    fam = get_family(name)
    rng = np.random.default_rng(0)
    eta = rng.normal(0.5, 1.0, size=200)
    y = rng.poisson(np.exp(eta)).astype(float)
    logf, d1, d2 = fam.index_derivatives(y, eta[:, None], np.array([lndisp]), order=2)
    np.testing.assert_allclose(logf, stats.poisson.logpmf(y, np.exp(eta)), atol=1e-9, rtol=0)
    np.testing.assert_allclose(d1[:, 0], y - np.exp(eta), atol=1e-8, rtol=0)
    np.testing.assert_allclose(d2[:, 0, 0], -np.exp(eta), atol=1e-8, rtol=0)
    assert np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))
    assert np.max(np.abs(d1[:, 1])) < 1e-4  # the likelihood is flat in the dispersion there


@pytest.mark.parametrize("name", ["nbreg", "nbreg1"])
@pytest.mark.parametrize("seed", [5, 6, 7])
def test_nb_fit_on_poisson_data_does_not_invent_likelihood(name, seed):
    """Equidispersed data: the NB fit may approach the Poisson, never beat its own limit by rounding."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=400)
    y = rng.poisson(np.exp(0.5 + 0.3 * x)).astype(float)
    X = np.column_stack([x, np.ones_like(x)])
    one = np.ones_like(x)
    fam, pois = get_family(name), get_family("poisson")
    nb = fam.fit_weighted(y, X, one)
    p = pois.fit_weighted(y, X, one)
    ll_nb, ll_p = fam.loglike_obs(y, X, nb).sum(), pois.loglike_obs(y, X, p).sum()
    assert ll_nb >= ll_p - 1e-6
    # the NB likelihood exceeds the Poisson one only through real overdispersion, bounded by the LR statistic
    assert ll_nb - ll_p < 2.0
    if nb[-1] < -10:
        assert ll_nb == pytest.approx(ll_p, abs=1e-6)
        np.testing.assert_allclose(nb[:-1], p, atol=1e-4)


@pytest.mark.parametrize(("family", "term", "shown"), [("nbreg", "lnalpha", "alpha"), ("nbreg1", "lndelta", "delta")])
def test_nb_summary_shows_the_log_and_the_dispersion_like_stata(family, term, shown):
    """Stata's nbreg: /lnalpha (no z, P), a rule, then alpha with a delta-method SE and the exp of the CI."""
    import pandas as pd

    from fmmreg import fmm

    rng = np.random.default_rng(4)
    x = rng.normal(size=400)
    y = rng.poisson(rng.gamma(2.0, 0.5 * np.exp(0.5 + 0.4 * x)))
    res = fmm(1, "y ~ x", data=pd.DataFrame({"y": y, "x": x}), family=family)
    b, se = res.params[("1.y", term)], res.bse[("1.y", term)]
    lines = res.summary().as_text().splitlines()
    i = next(j for j, line in enumerate(lines) if line.startswith(f"{'/' + term:>12} |"))
    log_row = [float(v) for v in lines[i].split("|")[1].split()]
    assert lines[i + 1].startswith("-------------+")
    assert lines[i + 2].startswith(f"{shown:>12} |")
    row = [float(v) for v in lines[i + 2].split("|")[1].split()]
    assert len(log_row) == len(row) == 4  # coefficient, SE and the CI; no z and P, as Stata
    np.testing.assert_allclose(log_row, [b, se, b - 1.959964 * se, b + 1.959964 * se], rtol=1e-5)
    np.testing.assert_allclose(row, np.exp([b, b, b - 1.959964 * se, b + 1.959964 * se]) * [1, se, 1, 1], rtol=1e-5)


def test_tpoisson_mean_is_the_truncated_mean():
    fam = get_family("tpoisson")
    eta = np.array([[-30.0], [-2.0], [0.0], [1.5], [6.0]])
    mu = np.exp(eta[:, 0])
    np.testing.assert_allclose(fam.mean_from_index(eta, np.array([])), mu / -np.expm1(-mu), rtol=1e-12)
    assert fam.mean_from_index(eta, np.array([]))[0] == pytest.approx(1.0)  # E[y | y > 0] -> 1 as mu -> 0


def test_tpoisson_far_tails_stay_finite():
    fam = get_family("tpoisson")
    eta = np.linspace(-40, 6, 47)[:, None]
    y = np.ones(47)
    logf, d1, d2 = fam.index_derivatives(y, eta, np.array([]), order=2)
    assert np.all(np.isfinite(logf)) and np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))
    # P(y = 1 | y > 0) -> 1 as mu -> 0
    assert logf[0] == pytest.approx(0.0, abs=1e-12)


def test_tpoisson_density_is_zero_below_the_truncation_point():
    fam = get_family("tpoisson")
    logf = fam.index_derivatives(np.array([0.0, 1.0]), np.array([[0.3], [0.3]]), np.array([]), order=0)[0]
    assert logf[0] == -np.inf and np.isfinite(logf[1])
