"""Simulated panels for the grouped-model tests (``tests/test_panel.py``) and ``benchmarks/panel_robust_se.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: True parameters of :func:`trajectories`, in fmmreg's layout (classes in ascending mean, fmmreg's default order).
TRAJECTORY_TRUTH = {
    ("2.Class", "z"): 0.8,
    ("2.Class", "Intercept"): -0.5,
    ("3.Class", "z"): -0.6,
    ("3.Class", "Intercept"): -0.9,
    ("1.y", "t"): 0.1,
    ("1.y", "I(t ** 2)"): 0.0,
    ("1.y", "Intercept"): 1.0,
    ("1.y", "lnsigma"): np.log(0.8),
    ("2.y", "t"): 1.2,
    ("2.y", "I(t ** 2)"): -0.1,
    ("2.y", "Intercept"): 0.5,
    ("2.y", "lnsigma"): np.log(1.0),
    ("3.y", "t"): -0.5,
    ("3.y", "I(t ** 2)"): 0.02,
    ("3.y", "Intercept"): 6.0,
    ("3.y", "lnsigma"): np.log(0.9),
}
TRAJECTORY_FORMULA = "y ~ t + I(t**2) | id"


def trajectories(n_groups: int = 500, waves: int = 6, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A 3-class group-based trajectory panel: quadratic Gaussian trajectories in ``t = 0..waves-1``.

    Subject ``id`` has a subject-level ``z`` (class membership logit,
    ``class_formula="~ z"``) and one class for all its waves. Returns the
    long data (sorted by id and t) and the true class (0-based) of each subject.
    """
    rng = np.random.default_rng(seed)
    tr = TRAJECTORY_TRUTH
    z = rng.normal(size=n_groups)
    eta = np.column_stack(
        [np.zeros(n_groups)] + [tr[(f"{k}.Class", "Intercept")] + tr[(f"{k}.Class", "z")] * z for k in (2, 3)]
    )
    pi = np.exp(eta - eta.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    cls = (rng.random(n_groups)[:, None] > np.cumsum(pi, axis=1)).sum(axis=1)
    ids = np.repeat(np.arange(1, n_groups + 1), waves)
    t = np.tile(np.arange(waves, dtype=float), n_groups)
    c = cls[ids - 1] + 1
    b = {name: np.array([tr[(f"{k}.y", name)] for k in (1, 2, 3)])[c - 1] for name in ("Intercept", "t", "I(t ** 2)")}
    sigma = np.exp(np.array([tr[(f"{k}.y", "lnsigma")] for k in (1, 2, 3)]))[c - 1]
    y = b["Intercept"] + b["t"] * t + b["I(t ** 2)"] * t**2 + sigma * rng.normal(size=len(ids))
    return pd.DataFrame({"id": ids, "t": t, "z": z[ids - 1], "y": y}), cls


def poisson_panel(n_groups: int = 150, waves: int = 4, seed: int = 0) -> pd.DataFrame:
    """A small 2-class Poisson panel, ``y ~ t | id`` with constant class shares (0.6, 0.4)."""
    rng = np.random.default_rng(seed)
    cls = rng.random(n_groups) < 0.4
    ids = np.repeat(np.arange(n_groups), waves)
    t = np.tile(np.arange(waves, dtype=float), n_groups) / waves
    mu = np.exp(np.where(cls[ids], 1.5 - 0.6 * t, 0.3 + 0.8 * t))
    return pd.DataFrame({"id": ids, "t": t, "y": rng.poisson(mu)})


#: True parameters of :func:`poisson_panel` (class 1 = the lower mean).
POISSON_TRUTH = {
    ("2.Class", "Intercept"): np.log(0.4 / 0.6),
    ("1.y", "t"): 0.8,
    ("1.y", "Intercept"): 0.3,
    ("2.y", "t"): -0.6,
    ("2.y", "Intercept"): 1.5,
}
