"""Benchmark data: fixed-seed simulated mixtures and a common starting posterior.

The same CSV files feed fmmreg and R flexmix so both start from the same
posterior (flexmix's ``cluster=`` argument).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEED = 20261127

POISSON_FORMULA = "y ~ x1 + x2 + x3 + x4 + x5"
POISSON_CLASS_FORMULA = "~ z1 + z2"
GAUSSIAN_FORMULA = "y ~ x1 + x2 + x3"


def poisson_mixture(n: int, seed: int = SEED) -> tuple[pd.DataFrame, np.ndarray]:
    """K = 3 Poisson mixture, 5 covariates + intercept, class model on z1, z2.

    Returns the data and an informative starting posterior (the true class
    probabilities blurred with noise), shared by every implementation.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=0.5, size=(n, 5))
    z = rng.normal(size=(n, 2))
    betas = np.array(
        [
            [0.2, 0.3, -0.2, 0.1, 0.0, 0.2],
            [1.2, -0.2, 0.1, 0.3, -0.1, 0.0],
            [2.2, 0.1, 0.2, -0.2, 0.2, -0.1],
        ]
    )  # intercept first
    gammas = np.array([[0.0, 0.0, 0.0], [0.3, 0.5, -0.4], [-0.4, -0.3, 0.6]])
    eta = gammas[:, 0] + z @ gammas[:, 1:].T
    pi = np.exp(eta - eta.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    cls = (rng.random(n)[:, None] > np.cumsum(pi, axis=1)).sum(axis=1)
    mu = np.exp(betas[cls, 0] + np.einsum("ij,ij->i", x, betas[cls, 1:]))
    y = rng.poisson(mu)
    df = pd.DataFrame(x, columns=[f"x{j}" for j in range(1, 6)])
    df[["z1", "z2"]] = z
    df["y"] = y
    post = 0.5 * np.eye(3)[cls] + 0.5 * rng.dirichlet(np.ones(3), size=n)
    return df, post


def gaussian_mixture(n: int, seed: int = SEED + 1) -> tuple[pd.DataFrame, np.ndarray]:
    """K = 2 Gaussian mixture with 3 covariates, constant class shares."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    cls = (rng.random(n) < 0.35).astype(int)
    betas = np.array([[0.0, 1.0, -0.5, 0.3], [2.0, 0.5, 0.4, -0.6]])
    sig = np.array([1.0, 0.6])
    y = betas[cls, 0] + np.einsum("ij,ij->i", x, betas[cls, 1:]) + rng.normal(size=n) * sig[cls]
    df = pd.DataFrame(x, columns=["x1", "x2", "x3"])
    df["y"] = y
    post = 0.5 * np.eye(2)[cls] + 0.5 * rng.dirichlet(np.ones(2), size=n)
    return df, post


PANEL_FORMULA = "y ~ t + I(t**2) + x"
PANEL_CLASS_FORMULA = "~ z"


def poisson_panel(n: int, waves: int = 10, seed: int = SEED + 2) -> tuple[pd.DataFrame, np.ndarray]:
    """K = 3 group-based trajectory model: ``n / waves`` subjects, Poisson counts over time.

    Each subject ``id`` has one class (membership logit on the subject-level
    ``z``); its counts follow the class's quadratic trajectory in ``t`` with
    a time-varying covariate ``x``. Returns the data (sorted by ``id``, then
    ``t``) and a starting posterior (true classes blurred with noise, per
    subject, repeated on its rows).
    """
    rng = np.random.default_rng(seed)
    g = n // waves
    ids = np.repeat(np.arange(g), waves)
    t = np.tile(np.arange(waves, dtype=float), g) / (waves - 1)  # time scaled to [0, 1]
    x = rng.normal(scale=0.5, size=n)
    z = rng.normal(size=g)
    gammas = np.array([[0.0, 0.0], [0.2, 0.6], [-0.3, -0.5]])
    eta = gammas[:, 0] + z[:, None] * gammas[:, 1]
    pi = np.exp(eta - eta.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    cls = (rng.random(g)[:, None] > np.cumsum(pi, axis=1)).sum(axis=1)
    betas = np.array([[0.3, 0.2, -0.1, 0.2], [1.2, 1.0, -0.8, -0.1], [2.0, -1.2, 0.6, 0.1]])  # 1, t, t^2, x
    b = betas[cls[ids]]
    mu = np.exp(b[:, 0] + b[:, 1] * t + b[:, 2] * t**2 + b[:, 3] * x)
    df = pd.DataFrame({"id": ids, "t": t, "x": x, "z": z[ids], "y": rng.poisson(mu)})
    post = 0.5 * np.eye(3)[cls] + 0.5 * rng.dirichlet(np.ones(3), size=g)
    return df, post[ids]
