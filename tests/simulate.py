"""Simulated data sets used by several tests (and by ``tests/fixtures/golden/make_golden.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def draw_classes(rng: np.random.Generator, eta: np.ndarray) -> np.ndarray:
    """One 0-based class per row of ``eta`` (n, K), drawn with probabilities ``softmax(eta)``."""
    pi = np.exp(eta - eta.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    return (rng.random(len(eta))[:, None] > np.cumsum(pi, axis=1)).sum(axis=1)


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
    cls = draw_classes(rng, eta_c)
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


def gaussian_mixture(n: int = 400, seed: int = 0, k: int = 2, membership: bool = True) -> pd.DataFrame:
    """Well-separated K-class Gaussian regression mixture.

    Columns ``y`` (response), ``x`` (continuous), ``g`` (3-level factor) and
    ``z`` (membership covariate, used only when ``membership``). Class ``j``
    (0-based) has intercept ``-4 + 4j``, slope ``0.5 + 0.5j`` on ``x``, a
    ``g == "b"`` effect ``0.3`` and standard deviation ``0.5 + 0.25j``.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    g = rng.choice(np.array(["a", "b", "c"]), size=n)
    gam = np.column_stack([np.zeros(n)] + [0.2 * j + (0.8 * j * z if membership else 0.0 * z) for j in range(1, k)])
    cls = np.minimum(draw_classes(rng, gam), k - 1)
    mu = -4.0 + 4.0 * cls + (0.5 + 0.5 * cls) * x + 0.3 * (g == "b")
    y = mu + rng.normal(size=n) * (0.5 + 0.25 * cls)
    return pd.DataFrame({"y": y, "x": x, "g": g, "z": z})


def poisson_mixture(n: int = 500, seed: int = 3) -> pd.DataFrame:
    """Two-class Poisson regression mixture with a membership covariate ``z``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    cls = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.9 * z)))).astype(int)
    eta = np.where(cls == 1, 1.8 + 0.3 * x, 0.2 - 0.4 * x)
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "z": z, "w": rng.integers(1, 4, size=n)})


def zero_inflated_nb(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Zero-inflated NB2 counts with factor covariates (golden summary of a pointmass + nbreg model).

    Columns ``y`` (count), ``household_income`` (continuous, a long name),
    ``region`` (``north``/``south``/``west``) and ``smoker`` (``no``/``yes``,
    membership covariate). Structural zeros have probability
    ``expit(-0.8 + 1.0 * smoker)``; the NB2 part has ``alpha = 0.5``.
    """
    rng = np.random.default_rng(seed)
    income = rng.normal(size=n)
    region = rng.choice(np.array(["north", "south", "west"]), size=n)
    smoker = rng.choice(np.array(["no", "yes"]), size=n)
    zero = rng.random(n) < 1 / (1 + np.exp(-(-0.8 + 1.0 * (smoker == "yes"))))
    mu = np.exp(1.0 + 0.4 * income + 0.5 * (region == "south") - 0.3 * (region == "west"))
    alpha = 0.5
    counts = rng.poisson(rng.gamma(1 / alpha, alpha * mu))
    y = np.where(zero, 0, counts)
    return pd.DataFrame({"y": y, "household_income": income, "region": region, "smoker": smoker})
