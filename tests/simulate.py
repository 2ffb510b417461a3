"""Simulated data sets used by several tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_single(family: str, n: int = 400, seed: int = 0) -> pd.DataFrame:
    """One-class data for each core family with two covariates and a factor."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-1, 1, size=n)
    g = rng.choice(["a", "b", "c"], size=n)
    eta = 0.3 + 0.5 * x1 - 0.4 * x2 + 0.2 * (g == "b")
    if family == "gaussian":
        y = eta + rng.normal(scale=0.7, size=n)
    elif family == "poisson":
        y = rng.poisson(np.exp(eta))
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g})


def simulate_poisson_mixture(n: int, seed: int, truth: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Three-class Poisson mixture with a membership covariate ``z``.

    ``truth`` maps (equation, term) in fmmreg's params layout to the value
    used; classes are numbered in ascending mean, fmmreg's default order.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    betas = np.array([[0.0, 0.3], [1.2, -0.2], [2.3, 0.4]])  # (intercept, slope) per class
    gammas = np.array([[0.0, 0.0], [0.3, 0.8], [-0.5, -0.6]])  # (intercept, z-slope) per class
    eta_c = gammas[:, 0][None, :] + z[:, None] * gammas[:, 1][None, :]
    pi = np.exp(eta_c - eta_c.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    cls = (rng.random(n)[:, None] > np.cumsum(pi, axis=1)).sum(axis=1)
    mu = np.exp(betas[cls, 0] + betas[cls, 1] * x)
    y = rng.poisson(mu)
    truth = {}
    for k in (2, 3):
        truth[(f"{k}.Class", "z")] = gammas[k - 1, 1]
        truth[(f"{k}.Class", "Intercept")] = gammas[k - 1, 0]
    for k in (1, 2, 3):
        truth[(f"{k}.y", "x")] = betas[k - 1, 1]
        truth[(f"{k}.y", "Intercept")] = betas[k - 1, 0]
    return pd.DataFrame({"y": y, "x": x, "z": z}), truth
