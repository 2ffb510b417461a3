"""The start search's stopping statistic (issue 10): two estimates of the unseen share of maxima.

The search stops once the best maximum is replicated and the mean of
Good-Turing's and Boender & Rinnooy Kan's estimates of the chance that one more
start finds a new maximum is at most ``StartOptions.unseen``. The formulas are
checked on hand-made search records; the threshold against the profiles that
decided it on the hard-case panel (benchmarks/hard_cases/results.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from fmmreg.estimation.starts import Candidate, StartOptions, StartSearch


def _search(counts: list[int], moves: int = 0) -> StartSearch:
    """A search record whose random starts reached distinct maxima ``counts`` times each."""
    search = object.__new__(StartSearch)
    search.opts = StartOptions()
    search.cands = []
    for m, count in enumerate(counts):
        first = len(search.cands)
        search.cands.append(Candidate("jitter", 0, llf=-100.0 - m, status="refined"))
        for _ in range(count - 1):
            search.cands.append(Candidate("randompr", 0, llf=-100.0 - m, status="same", same_as=first))
    for _ in range(moves):  # split-merge moves are not random draws: left out of both estimates
        search.cands.append(Candidate("smem", 1, llf=-50.0, status="refined", source_llf=-100.0))
    search.cands.append(Candidate("kmeans", 0, status="collapsed"))  # no maximum: not counted
    return search


def test_good_turing_and_bayes_estimates():
    s = _search([3, 1, 1], moves=4)
    assert s.random_maxima() == ([3, 1, 1], 5)
    assert s.good_turing() == pytest.approx(2 / 5)
    # Boender & Rinnooy Kan: w (w + 1) / (N (N - 1)) for w = 3 maxima from N = 5 starts
    assert s.bayes_unseen() == pytest.approx(3 * 4 / (5 * 4))
    assert s.unseen_mass() == pytest.approx(0.5 * (0.4 + 0.6))


def test_no_random_start_means_nothing_is_known():
    s = _search([])
    assert s.good_turing() == 1.0 and s.bayes_unseen() == 1.0
    assert np.isfinite(s.unseen_mass())


@pytest.mark.parametrize(
    ("counts", "stops"),
    [
        # Example 1b, random_state 0, first batch: best 6 of 10 starts, 3 maxima -> stop after 13 starts
        ([6, 3, 1], True),
        # Example 1b, most seeds: 2 maxima in 10 starts
        ([7, 3], True),
        # mus03_gauss4 (4 classes), seed 7 after 44 starts: 7 maxima from 20 random starts, 4 seen once;
        # Good-Turing alone (4/20 = 0.2) stopped there at -4698.70, 10 below the best known, silently
        ([7, 7, 2, 1, 1, 1, 1], False),
        # mus03_gauss4, seed 15 after 22 starts: 5 maxima from 10 starts, 2 seen once (Good-Turing 0.2)
        ([4, 2, 2, 1, 1], False),
    ],
)
def test_stopping_rule_on_recorded_profiles(counts, stops):
    s = _search(counts)
    assert s.satisfied(hits=2) is stops
    assert s.satisfied(hits=1) is False  # never before the best is replicated
